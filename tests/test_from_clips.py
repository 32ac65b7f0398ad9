"""`memoire level from-clips DIR --model M.ts --out L.toml` (memoire/offline/from_clips.py).

Three short WAVs made here, encoded with the tests' tiny decoder (tests/tiny_model.py, the
conftest ``tiny_model_path``) given an encoder; the level written must pass `memoire check` and
play headless.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import List

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sf = pytest.importorskip("soundfile")

from memoire import cli
from memoire.offline import from_clips as FC
from memoire.world.errors import UserError
from memoire.world.level import load_level

ROOT = Path(__file__).resolve().parents[1]
RATE = 44100


@pytest.fixture(scope="module")
def codec_path(tmp_path_factory, tiny_model_path) -> Path:
    """The conftest's tiny model (``tiny_model_path``: a decoder) with an encoder added: one latent
    frame per hop from the frame's level, peak and zero crossings, so different clips differ."""
    from tiny_model import TinyDecoder

    assert Path(tiny_model_path).exists()  # the same decoder, here with encode

    class TinyCodec(TinyDecoder):
        @torch.jit.export
        def encode(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[-1] // self.hop
            frames = x[0, 0, : n * self.hop].reshape(n, self.hop)
            rms = torch.sqrt(torch.mean(frames * frames, dim=1))
            peak = frames.abs().max(dim=1).values
            zc = (frames[:, 1:] * frames[:, :-1] < 0).float().mean(dim=1) * 10.0
            return torch.stack([rms * 4.0, peak * 2.0, zc, rms - zc], dim=0)[None, : self.latent_dim, :]

        @torch.jit.export
        def get_methods(self) -> List[str]:
            return ["encode", "decode"]

    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("codec") / "codec.ts"
    torch.jit.save(torch.jit.script(TinyCodec()), str(path))
    return path


def write_clips(folder: Path, names=("rain", "bells", "wind"), seconds: float = 0.5) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    out = []
    for i, name in enumerate(names):
        tone = 0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t) * (1 + 0.5 * np.sin(2 * np.pi * (i + 1) * t))
        p = folder / f"{name}.wav"
        sf.write(p, tone.astype(np.float32), RATE)
        out.append(p)
    return out


def gallery(tmp_path: Path, codec_path: Path) -> tuple[Path, Path]:
    """(level folder with the model copied in, clips folder)."""
    folder = tmp_path / "gallery"
    folder.mkdir()
    model = folder / "artist.ts"
    model.write_bytes(codec_path.read_bytes())
    return folder, model


def memoire(*args, timeout=300):
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    return subprocess.run([sys.executable, "-m", "memoire", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_level_from_three_clips(tmp_path, codec_path, capsys):
    folder, model = gallery(tmp_path, codec_path)
    clips = write_clips(tmp_path / "clips")
    out = folder / "art.toml"
    assert cli.main(["level", "from-clips", str(tmp_path / "clips"), "--model", str(model), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "the clips repeat in order" in captured.err
    raw = tomllib.loads(out.read_text())
    template = tomllib.loads((ROOT / "levels" / "hutong.toml").read_text())
    assert raw["map"] == template["map"] and raw["spawn"] == template["spawn"] and raw["tours"] == template["tours"]
    assert len(raw["zones"]) == len(template["zones"])
    for zone, tz in zip(raw["zones"], template["zones"]):
        assert {k: v for k, v in zone.items() if k not in ("name", "anchor")} == \
            {k: v for k, v in tz.items() if k not in ("name", "anchor")}
    # sorted by name: bells, rain, wind; zone i gets clip i % 3
    order = ["bells", "rain", "wind"]
    for i, zone in enumerate(raw["zones"]):
        assert zone["anchor"] == {"clip": f"art.clips/{order[i % 3]}.npy"}
        assert zone["name"].split(" (")[0] == order[i % 3]
    assert raw["sound"]["model"] == "artist.ts"
    latents = {n: np.load(folder / "art.clips" / f"{n}.npy") for n in order}
    assert all(z.shape == (RATE // 2 // 2048, 4) and np.isfinite(z).all() for z in latents.values())
    assert not np.allclose(latents["bells"].mean(0), latents["wind"].mean(0))
    rest = np.mean([z.mean(0) for z in latents.values()], axis=0)
    np.testing.assert_allclose(raw["sound"]["rest"], rest, rtol=1e-6, atol=1e-6)
    level = load_level(out, allow_outside=False)
    assert [z.anchor.clip.name for z in level.zones[:3]] == ["bells.npy", "rain.npy", "wind.npy"]
    assert all(c.exists() for c in clips)  # inputs untouched
    assert cli.main(["check", str(out), "--model", str(model)]) == 0


@pytest.mark.slow
def test_the_level_passes_check_and_plays_headless(tmp_path, codec_path):
    folder, model = gallery(tmp_path, codec_path)
    write_clips(tmp_path / "clips")
    out = folder / "art.toml"
    r = memoire("level", "from-clips", tmp_path / "clips", "--model", model, "--out", out)
    assert r.returncode == 0, r.stderr
    r = memoire("check", out, "--model", model)
    assert r.returncode == 0, r.stderr
    assert "ok (10 zones" in r.stdout
    r = memoire("play", out, "--headless", "--mute", "--frames", 30, "--size", 320, 180)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "30 frames" in r.stdout


def test_more_clips_than_zones_names_the_ones_left_out(tmp_path, codec_path, capsys):
    folder, model = gallery(tmp_path, codec_path)
    names = [f"c{i:02d}" for i in range(12)]
    write_clips(tmp_path / "many", names, seconds=0.1)
    out = folder / "many.toml"
    assert FC.from_clips(tmp_path / "many", model, out) == 0
    err = capsys.readouterr().err
    assert "2 clips left out (the map has 10 zones): c10.wav, c11.wav" in err
    raw = tomllib.loads(out.read_text())
    assert [z["anchor"]["clip"] for z in raw["zones"]] == [f"many.clips/c{i:02d}.npy" for i in range(10)]
    assert sorted(p.name for p in (folder / "many.clips").iterdir()) == [f"c{i:02d}.npy" for i in range(10)]


def test_model_outside_the_level_folder(tmp_path, codec_path, capsys):
    """A model elsewhere: the level names it relatively and says the level needs the flag (or
    --copy-model, which makes the folder self-contained)."""
    write_clips(tmp_path / "clips")
    (tmp_path / "gallery").mkdir()
    out = tmp_path / "gallery" / "art.toml"
    assert FC.from_clips(tmp_path / "clips", codec_path, out) == 0
    assert "outside the level's folder" in capsys.readouterr().err
    assert tomllib.loads(out.read_text())["sound"]["model"] == os.path.relpath(codec_path.resolve(),
                                                                                out.parent.resolve())
    assert cli.main(["check", str(out), "--allow-outside-paths"]) == 0
    assert FC.from_clips(tmp_path / "clips", codec_path, out, copy_model=True) == 0
    assert "outside" not in capsys.readouterr().err
    assert tomllib.loads(out.read_text())["sound"]["model"] == codec_path.name
    assert (out.parent / codec_path.name).read_bytes() == codec_path.read_bytes()
    assert cli.main(["check", str(out)]) == 0


def test_clear_errors(tmp_path, codec_path, tiny_model_path):
    folder, model = gallery(tmp_path, codec_path)
    out = folder / "x.toml"
    with pytest.raises(UserError, match="no such folder"):
        FC.from_clips(tmp_path / "missing", model, out)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="is empty"):
        FC.from_clips(tmp_path / "empty", model, out)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    with pytest.raises(UserError, match=r"no audio files in it \(found readme.txt\)"):
        FC.from_clips(tmp_path / "notes", model, out)

    clips = tmp_path / "clips"
    write_clips(clips, ("a", "b"))
    (clips / "broken.wav").write_bytes(b"RIFF not really a wav")
    sf.write(clips / "silent.wav", np.zeros(RATE // 4, np.float32), RATE)
    with pytest.raises(UserError) as e:
        FC.from_clips(clips, model, out)
    msg = str(e.value)
    assert "2 of 4 audio files cannot be used; nothing written" in msg
    assert "broken.wav: cannot read this audio file" in msg and "silent.wav: silent throughout" in msg
    assert "--skip-unreadable" in msg
    assert not out.exists() and not (folder / "x.clips").exists()
    assert FC.from_clips(clips, model, out, skip_unreadable=True) == 0
    assert sorted(p.name for p in (folder / "x.clips").iterdir()) == ["a.npy", "b.npy"]

    fake = tmp_path / "fake.ts"
    fake.write_text("not a model")
    with pytest.raises(UserError, match="fake.ts"):
        FC.from_clips(clips, fake, folder / "y.toml")
    with pytest.raises(UserError, match="no encode method"):  # the plain decoder cannot encode clips
        FC.from_clips(clips, tiny_model_path, folder / "y.toml")
    with pytest.raises(UserError, match="no such model file"):
        FC.from_clips(clips, tmp_path / "nope.ts", folder / "y.toml")
    assert not (folder / "y.toml").exists()
    template = folder / "template.toml"
    template.write_text((ROOT / "levels" / "hutong.toml").read_text().replace("../assets/models/hutong.ts", "artist.ts"))
    before = template.read_bytes()
    with pytest.raises(UserError, match="is the template level"):
        FC.from_clips(clips, model, template, template=template)
    assert template.read_bytes() == before
    with pytest.raises(UserError, match=r"\.toml"):
        FC.from_clips(clips, model, folder / "y.txt")
    assert cli.main(["level", "from-clips", str(tmp_path / "empty"), "--model", str(model), "--out", str(out)]) == 2


def test_toml_writer_round_trips_the_default_level():
    raw = tomllib.loads((ROOT / "levels" / "hutong.toml").read_text())
    assert tomllib.loads(FC.dump_toml(raw)) == raw
    odd = {"map": {"grid": "ab\ncd\n", "legend": {"#": "wall", "x y": "tree"}}, "zones": [{"anchor": {"clip": "a\"b"}}],
           "sound": {"rest": [0.1, -2.0, 1e-05]}}
    assert tomllib.loads(FC.dump_toml(odd)) == odd


@pytest.mark.slow
@pytest.mark.pulse
def test_a_48_khz_artist_model_plays_its_clips_at_its_rate(tmp_path, tiny_model_path):
    """An artist's model at 48 kHz (the rate RAVE's v2_small exports use) and a folder of 48 kHz
    clips: `memoire level from-clips` makes the level and `memoire play` opens the sound device at
    the model's rate (PulseAudio's null sink: a real, real-time device) with no underrun."""
    from tiny_model import TinyDecoder

    class Codec48k(TinyDecoder):
        @torch.jit.export
        def encode(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[-1] // self.hop
            frames = x[0, 0, : n * self.hop].reshape(n, self.hop)
            rms = torch.sqrt(torch.mean(frames * frames, dim=1))
            return torch.stack([rms * 4.0, rms * 2.0, rms, -rms], dim=0)[None, : self.latent_dim, :]

        @torch.jit.export
        def get_methods(self) -> List[str]:
            return ["encode", "decode"]

    folder = tmp_path / "gallery"
    folder.mkdir()
    model = folder / "artist48k.ts"
    torch.jit.save(torch.jit.script(Codec48k(sample_rate=48000)), str(model))
    clips = tmp_path / "clips"
    clips.mkdir()
    t = np.arange(int(0.5 * 48000)) / 48000
    for i, name in enumerate(("gong", "drone", "hiss")):
        sf.write(clips / f"{name}.wav", (0.2 * (i + 1) * np.sin(2 * np.pi * 330 * (i + 1) * t)).astype(np.float32),
                 48000)
    out = folder / "art48k.toml"
    r = memoire("level", "from-clips", clips, "--model", model, "--out", out)
    assert r.returncode == 0, r.stderr
    r = memoire("play", out, "--headless", "--frames", 90, "--size", 160, 90)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    line = next(s for s in r.stdout.splitlines() if "session:" in s)
    assert "audio underruns 0 (device 0)" in line, line
    assert "silent clock" not in line, line  # the device opened at 48 kHz
