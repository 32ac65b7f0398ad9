"""Nothing a user hands it breaks it: outputs never overwrite inputs, a full disk is said as such
(and leaves a valid partial recording, or no file), Ctrl+C and SIGTERM end cleanly, kiosk log
folders that cannot be used are one clear message, audio that cannot be encoded is refused."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest

from memoire.world.errors import UserError
from memoire.world.files import cannot_write, check_output_path, why_not_written

ROOT = Path(__file__).resolve().parents[1]


# -- helpers ----------------------------------------------------------------------------------------

def _tiny_tmpfs(path: Path, size: str = "64k", ro: bool = False) -> Path:
    """A tiny tmpfs at ``path`` (root only): a disk that fills up, or a read-only one."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if ro else "")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    return path


@pytest.fixture
def full_disk(tmp_path):
    mnt = _tiny_tmpfs(tmp_path / "full")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def readonly_disk(tmp_path):
    mnt = _tiny_tmpfs(tmp_path / "ro", ro=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def _tone(path: Path, seconds: float = 0.5, rate: int = 44100, subtype: str = "PCM_16") -> Path:
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, subtype=subtype)
    return path


def _encode_args(src, out=None, model="nope.ts"):
    return argparse.Namespace(file=str(src), out=None if out is None else str(out), model=str(model))


# -- 1. outputs never overwrite inputs ----------------------------------------------------------

def test_an_output_that_is_an_input_is_refused_by_path_symlink_and_hard_link(tmp_path):
    level = tmp_path / "level.toml"
    level.write_text("x")
    (tmp_path / "sym.png").symlink_to(level)
    os.link(level, tmp_path / "hard.png")
    for out in (level, tmp_path / "sym.png", tmp_path / "hard.png", tmp_path / "sub" / ".." / "level.toml"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(UserError, match="is the level file .*would destroy that file"):
            check_output_path(out, [("the level file", level)], flag="--screenshot")
    assert level.read_text() == "x"
    assert check_output_path(tmp_path / "new.png", [level, None]) == tmp_path / "new.png"


def test_an_output_that_is_a_folder_a_device_or_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="is a folder"):
        check_output_path(tmp_path)
    with pytest.raises(UserError, match="not a regular file"):
        check_output_path("/dev/null")  # an atomic write would rename over the device
    assert check_output_path("/dev/null", device_ok=True)  # a recording may stream to one
    with pytest.raises(UserError, match="the folder .*nope does not exist"):
        check_output_path(tmp_path / "nope" / "x.wav")
    (tmp_path / "afile").write_text("")
    with pytest.raises(UserError, match="does not exist|is not a folder"):
        check_output_path(tmp_path / "afile" / "x.wav")


def test_an_output_on_a_read_only_disk_is_refused(readonly_disk):
    with pytest.raises(UserError, match="cannot write in the folder"):
        check_output_path(readonly_disk / "x.wav", flag="--record")


def test_encode_never_writes_over_its_input_or_the_model(tmp_path):
    from memoire.rave import encode_command

    src = _tone(tmp_path / "clip.wav")
    before = src.read_bytes()
    link = tmp_path / "clip.npy"
    link.symlink_to(src)  # encode's default output for clip.wav is clip.npy: here, the input itself
    with pytest.raises(UserError, match="is the input audio"):
        encode_command.run(_encode_args(src))
    with pytest.raises(UserError, match="is the input audio"):
        encode_command.run(_encode_args(src, link))
    model = tmp_path / "m.npy"
    model.write_bytes(b"model")
    with pytest.raises(UserError, match="is the model"):
        encode_command.run(_encode_args(src, model, model=model))
    with pytest.raises(UserError, match="give a .npy"):
        encode_command.run(_encode_args(src, src))  # `encode IN --out IN`
    assert src.read_bytes() == before and model.read_bytes() == b"model"


def test_cli_exit_2_for_an_output_over_the_input(tmp_path, capsys):
    from memoire.cli import main

    src = _tone(tmp_path / "clip.wav")
    (tmp_path / "o.npy").symlink_to(src)
    assert main(["encode", str(src), "--out", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memoire: --out ") and "is the input audio" in err and "Traceback" not in err


def test_build_demo_force_over_its_own_level_is_refused(tmp_path):
    from memoire.kiosk.build_command import build_demo

    (tmp_path / "levels").mkdir()
    level = tmp_path / "levels" / "hutong.toml"
    level.write_text((ROOT / "levels" / "hutong.toml").read_text()
                     .replace('field = "mix"', 'field = "zones"').replace('model = "../assets/models/hutong.ts"',
                                                                           'model = "m.ts"'))
    (tmp_path / "levels" / "m.ts").write_bytes(b"x")
    before = level.read_text()
    with pytest.raises(UserError, match="is the level file"):
        build_demo(level, tmp_path, force=True)  # out/levels/hutong.toml is the level itself
    assert level.read_text() == before


# -- 2. a full disk, an unwritable output -------------------------------------------------------

def test_a_failed_write_is_said_in_words():
    e = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(cannot_write("walk.wav", e, verb="record")) == (
        "cannot write walk.wav: the disk is full (No space left on device); free some space or record elsewhere")
    assert "permission denied" in why_not_written(PermissionError(errno.EACCES, "Permission denied"))
    assert "read-only" in why_not_written(OSError(errno.EROFS, "Read-only file system"))
    assert "[Errno" not in why_not_written(IsADirectoryError(errno.EISDIR, "Is a directory"))


def test_a_recording_that_fills_the_disk_stops_and_leaves_a_valid_partial_wav(full_disk):
    import soundfile as sf

    from memoire.audio.recorder import Recorder

    said = []
    rec = Recorder(full_disk / "walk.wav", 44100, 2, report=said.append)
    block = np.full((2048, 2), 0.25, np.float32)
    for _ in range(40):  # 40 blocks of 8 KiB: far more than the 64 KiB disk holds
        rec.write(block)  # never raises
    assert not rec.recording and len(said) == 1
    assert said[0].startswith("recording stopped: cannot write ") and "the disk is full" in said[0]
    assert "record elsewhere" in said[0] and "The game plays on" in said[0]
    rec.close()
    info = sf.info(str(full_disk / "walk.wav"))
    size = (full_disk / "walk.wav").stat().st_size
    assert info.frames > 0 and info.frames == (size - 44) // 4  # the header says what is there
    audio, _ = sf.read(full_disk / "walk.wav")
    assert len(audio) == info.frames and np.allclose(audio[100], 0.25, atol=1e-3)


def test_recording_to_dev_full_is_one_message_never_a_hang(tmp_path):
    from memoire.audio.recorder import Recorder

    (tmp_path / "x.wav").symlink_to("/dev/full")
    said = []
    started = time.monotonic()
    rec = Recorder(tmp_path / "x.wav", 44100, 2, report=said.append)
    for _ in range(5):
        rec.write(np.zeros((2048, 2), np.float32))
    rec.close()
    assert time.monotonic() - started < 2.0
    assert len(said) == 1 and "not recording" in said[0] and "device or a pipe" in said[0]


def test_encode_to_a_full_disk_is_a_message_and_no_file(tmp_path, full_disk, tiny_codec_path):
    from memoire.rave import encode_command

    src = _tone(tmp_path / "long.wav", seconds=6.0)
    with open(full_disk / "filler", "wb") as f:  # the disk filled up to the last byte
        try:
            f.write(b"\0" * (128 * 1024))
        except OSError:
            pass
    out = full_disk / "long.npy"
    with pytest.raises(UserError) as e:
        encode_command.run(_encode_args(src, out, model=tiny_codec_path))
    assert str(e.value).startswith(f"cannot write {out}: the disk is full (No space left on device)")
    assert not out.exists() and not list(full_disk.glob(".long.npy*"))  # no file, no temporary


# -- 5. audio that cannot be encoded ------------------------------------------------------------

@pytest.mark.parametrize("case, expected", [
    ("nan", r"3 NaN of 22050 samples \(the first at sample frame 100\)"),
    ("inf", "2 infinite of 22050 samples"),
    ("silent", "silent throughout"),
    ("empty", "holds no samples"),
])
def test_encode_refuses_audio_it_cannot_use(tmp_path, case, expected):
    import soundfile as sf

    from memoire.rave import encode_command

    audio = (0.1 * np.sin(np.arange(22050) / 10.0)).astype(np.float32)
    if case == "nan":
        audio[[100, 2000, 3000]] = np.nan
    elif case == "inf":
        audio[[5, 6]] = [np.inf, -np.inf]
    elif case == "silent":
        audio[:] = 0.0
    elif case == "empty":
        audio = audio[:0]
    src = tmp_path / "in.wav"
    sf.write(src, audio, 44100, subtype="FLOAT")
    with pytest.raises(UserError, match=expected):
        encode_command.run(_encode_args(src, tmp_path / "out.npy"))
    assert not (tmp_path / "out.npy").exists()


# -- 4. kiosk log folders -----------------------------------------------------------------------

def test_kiosk_log_folder_problems_are_one_clear_message(tmp_path):
    from memoire.kiosk.logs import KioskLogs, check_trace_folder

    (tmp_path / "afile").write_text("")
    (tmp_path / "l2" / "memoire.log").mkdir(parents=True)
    (tmp_path / "l3").mkdir()
    (tmp_path / "l3" / "memoire.log.2").mkdir()
    cases = [(tmp_path / "afile", "log folder .*afile is a file, not a folder"),
             (tmp_path / "l2", "log file .*memoire.log is a folder, not a file"),
             (tmp_path / "l3", "old log file .*memoire.log.2 is a folder")]
    for folder, expected in cases:
        with pytest.raises(UserError, match=expected) as e:
            KioskLogs(folder, 1000, 3, echo=False)
        assert "[Errno" not in str(e.value) and "log_dir" in str(e.value)
    (tmp_path / "t1").mkdir()
    (tmp_path / "t1" / "traces").write_text("")
    with pytest.raises(UserError, match="trace folder .*traces is a file, not a folder.*trace = false"):
        check_trace_folder(tmp_path / "t1")
    from datetime import date

    (tmp_path / "t2" / "traces" / "2024-07-01.csv").mkdir(parents=True)
    with pytest.raises(UserError, match="trace file .*2024-07-01.csv is a folder"):
        check_trace_folder(tmp_path / "t2", date(2024, 7, 1))


def test_kiosk_log_folder_on_a_read_only_disk(readonly_disk):
    from memoire.kiosk.logs import KioskLogs

    with pytest.raises(UserError, match="cannot write in the log folder") as e:
        KioskLogs(readonly_disk, 1000, 1, echo=False)
    assert "[Errno" not in str(e.value)
    with pytest.raises(UserError, match="cannot create the log folder .*read-only") as e:
        KioskLogs(readonly_disk / "sub", 1000, 1, echo=False)


@pytest.mark.slow
def test_kiosk_with_a_log_folder_that_is_a_file_exits_2_before_it_starts(tmp_path, default_level_path,
                                                                          tiny_model_path):
    (tmp_path / "logs").write_text("")
    (tmp_path / "k.toml").write_text('[kiosk]\nlog_dir = "logs"\n')
    r = _memoire("play", str(_level(tmp_path, default_level_path)), "--model", str(tiny_model_path), "--kiosk",
                 "--config", str(tmp_path / "k.toml"), "--headless", "--mute", "--frames", "3")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"memoire: the log folder {tmp_path / 'logs'} is a file, not a folder; move that file away, or set "
        "log_dir in the kiosk config to a folder this user can write"]


# -- 3. Ctrl+C and SIGTERM ------------------------------------------------------------------------

def test_ctrl_c_in_a_command_is_one_line_and_130(monkeypatch, capsys):
    from memoire import cli
    from memoire.rave import encode_command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(encode_command, "run", interrupted)
    assert cli.main(["encode", "x.wav"]) == 130
    assert capsys.readouterr().err == "memoire: interrupted (Ctrl+C)\n"


def _env():
    return dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")


def _memoire(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "memoire", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=_env())


def _level(tmp_path, default_level_path) -> Path:
    text = default_level_path.read_text().replace('field = "mix"', 'field = "zones"')
    p = tmp_path / "hutong.toml"
    p.write_text(text.replace('model = "../assets/models/hutong.ts"', 'model = ""'))
    return p


def _start(args, tmp_path):
    """A memoire command in its own process group (as a terminal runs it: Ctrl+C reaches the
    whole group, the audio process too); stderr to a file we can watch."""
    err = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "memoire", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=err, text=True, env=_env(), start_new_session=True)
    return proc, err


def _running_in_group(pgid: int) -> list[str]:
    """Processes of group ``pgid`` still running (an exited one that nobody reaped, a zombie, is not)."""
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            running.append(stat.parent.name)
    return running


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_game_and_its_audio_process_cleanly(tmp_path, default_level_path, tiny_model_path, sig):
    import soundfile as sf

    rec = tmp_path / "x.wav"
    proc, err = _start(["play", str(_level(tmp_path, default_level_path)), "--model", str(tiny_model_path),
                        "--headless", "--mute", "--record", str(rec), "--frames", "100000", "--size", "160", "90"],
                       tmp_path)
    try:
        # running: the audio plays (the recording grows past its header)
        assert _wait_for(lambda: rec.exists() and rec.stat().st_size > 44100, 90), \
            (tmp_path / "stderr.txt").read_text()
        if sig == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C: the terminal signals the whole group
        else:
            os.kill(proc.pid, signal.SIGTERM)  # kill PID, systemd stop: the game only
        sent = time.monotonic()
        out, _ = proc.communicate(timeout=15)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err.seek(0)
    stderr = err.read()
    assert took < 8, f"took {took:.1f} s to stop"
    assert proc.returncode == (130 if sig == signal.SIGINT else 0), stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "session:" in out  # the summary still printed
    info = sf.info(str(rec))
    assert info.frames > 11000 and info.frames == (rec.stat().st_size - 44) // 4  # closed: header fixed
    time.sleep(0.5)
    assert not _running_in_group(proc.pid), "left running"  # the audio process went with the game


@pytest.mark.slow
def test_ctrl_c_during_a_render_exits_130_with_one_line_and_no_file(tmp_path, default_level_path, tiny_model_path):
    out = tmp_path / "tour.wav"
    proc, err = _start(["render", str(_level(tmp_path, default_level_path)), "--tour", "gallery", "--seconds", "3000",
                        "--out", str(out), "--model", str(tiny_model_path)], tmp_path)
    try:
        time.sleep(4.0)  # torch imported, the model loaded, rendering
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err.seek(0)
    stderr = err.read()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "memoire: interrupted (Ctrl+C)" and "Traceback" not in stderr
    assert not out.exists() and not list(tmp_path.glob(".tour.wav*"))


# -- an encode-capable tiny model -------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_codec_path(tmp_path_factory) -> Path:
    """tests/tiny_model.py's decoder with an encoder: one latent frame per hop, a sine of the input."""
    import torch

    from tiny_model import TinyDecoder

    class TinyCodec(TinyDecoder):
        @torch.jit.export
        def encode(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[-1] // self.hop
            frames = x[0, 0, : n * self.hop].reshape(n, self.hop)
            rms = torch.sqrt(torch.mean(frames * frames, dim=1))  # (n,)
            return rms[None, None, :].repeat(1, self.latent_dim, 1)

        @torch.jit.export
        def get_methods(self) -> List[str]:
            return ["encode", "decode"]

    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("codec") / "codec.ts"
    torch.jit.save(torch.jit.script(TinyCodec()), str(path))
    return path


def test_encode_writes_a_finite_trajectory_atomically(tmp_path, tiny_codec_path):
    from memoire.rave import encode_command

    src = _tone(tmp_path / "tone.wav", seconds=1.0)
    assert encode_command.run(_encode_args(src, model=tiny_codec_path)) == 0
    z = np.load(tmp_path / "tone.npy")
    assert z.shape == (44100 // 2048, 4) and np.isfinite(z).all()
    assert not list(tmp_path.glob(".tone.npy*"))


@pytest.mark.slow
def test_ctrl_c_during_training_exits_130_with_one_line_and_no_torn_checkpoint(tmp_path):
    from rave_tiny import write_tiny_corpus

    write_tiny_corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    proc, err = _start(["train", "--data", str(tmp_path / "corpus"), "--out", str(run), "--steps", "100000",
                        "--quiet", "--threads", "1"], tmp_path)
    try:
        time.sleep(10.0)  # torch imported, the corpus loaded, training
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err.seek(0)
    stderr = err.read()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "memoire: interrupted (Ctrl+C)" and "Traceback" not in stderr
    assert not list(run.glob(".*.part*"))  # no temporary left; a checkpoint there is a whole one
    if (run / "checkpoint.pt").exists():
        import torch

        torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)


def test_train_and_corpus_outputs_never_land_on_their_inputs(tmp_path, capsys):
    """`memoire train` into its own data folder, or --export over one of its training files, and
    `memoire corpus --out` over its voice clips' folder: refused before any work, exit 2."""
    import soundfile as sf

    from memoire.cli import main

    data = tmp_path / "audio"
    data.mkdir()
    clip = data / "bells_train.wav"
    sf.write(clip, np.zeros(4410, np.float32) + 0.1, 44100)
    before = clip.read_bytes()
    assert main(["train", "--data", str(data), "--out", str(data), "--steps", "1", "--quiet"]) == 2
    assert "training data folder" in capsys.readouterr().err
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--export", str(clip),
                 "--steps", "1", "--quiet"]) == 2
    assert "a training file" in capsys.readouterr().err
    assert clip.read_bytes() == before and not (tmp_path / "run").exists()
    voice = tmp_path / "voice"
    voice.mkdir()
    assert main(["corpus", "--out", str(voice), "--voice-dir", str(voice), "--classes", "bells"]) == 2
    assert "voice clips' folder" in capsys.readouterr().err
