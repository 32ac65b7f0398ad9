"""`memoire render ... --out FILE.mp4`: picture and sound muxed, in sync, streams as asked."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from memoire.world.errors import UserError
from test_soak import SMALL_LEVEL


def _streams(path: Path) -> str:
    import imageio_ffmpeg

    r = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                       text=True)
    return r.stderr


@pytest.mark.gl
def test_mp4_has_video_and_audio_of_the_tour(tmp_path, tiny_model_path):
    import imageio_ffmpeg
    import soundfile as sf

    from memoire.cli import main
    from memoire.world.level import load_level
    from memoire.offline.render import render_tour

    level_path = tmp_path / "lane.toml"
    level_path.write_text(SMALL_LEVEL)
    out = tmp_path / "lane.mp4"
    rc = main(["render", str(level_path), "--tour", "lane", "--out", str(out), "--model", str(tiny_model_path),
               "--size", "96", "54", "--fps", "12", "--seconds", "2"])
    assert rc == 0 and out.exists()
    assert not list(tmp_path.glob(".lane*")), "temporary files left behind"
    info = _streams(out)
    assert re.search(r"Video: h264.*96x54", info), info
    assert re.search(r"12 fps", info), info
    assert re.search(r"Audio: aac.*44100 Hz, stereo", info), info
    assert re.search(r"Duration: 00:00:02\.0", info), info
    # the picture: 24 frames of the lane, not blank, and moving (the tour walks)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    assert len(frames) == 24
    assert frames[0].std() > 10
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 2
    # the sound: the synth's render of the same tour (AAC is lossy: compare loudness, within 1 dB)
    wav = tmp_path / "sound.wav"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(out), str(wav)], check=True)
    muxed, rate = sf.read(wav)
    ref = render_tour(load_level(level_path), "lane", tiny_model_path, 2.0, progress=False).audio
    assert rate == 44100 and abs(len(muxed) - len(ref)) < 2048
    db = lambda a: 20 * np.log10(np.sqrt(np.mean(np.square(a))))  # noqa: E731
    assert abs(db(muxed) - db(ref)) < 1.0


def test_bad_sizes_and_rates_are_user_errors(tmp_path, tiny_model_path):
    from memoire.world.level import load_level
    from memoire.offline.video import render_video

    level_path = tmp_path / "lane.toml"
    level_path.write_text(SMALL_LEVEL)
    level = load_level(level_path)
    with pytest.raises(UserError, match="even sizes; try --size 98 54"):
        render_video(level, "lane", tiny_model_path, tmp_path / "x.mp4", size_px=(97, 54))
    with pytest.raises(UserError, match="--fps 0"):
        render_video(level, "lane", tiny_model_path, tmp_path / "x.mp4", fps=0)
    with pytest.raises(UserError, match="no tour named 'nope'.*lane"):
        render_video(level, "nope", tiny_model_path, tmp_path / "x.mp4", size_px=(96, 54))
