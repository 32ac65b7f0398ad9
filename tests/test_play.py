"""`memoire play` and `memoire render` as a user runs them: headless, a tour, a screenshot, a recording."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def memoire(*args, root, timeout=300, env_extra=None):
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "memoire", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout, env=env)


def zones_only_level(tmp_path, default_level_path):
    """The default level with the zone blend only (no terrain training in a short test)."""
    text = default_level_path.read_text().replace('field = "mix"', 'field = "zones"')
    text = text.replace('model = "../assets/models/hutong.ts"', 'model = ""')
    p = tmp_path / "hutong.toml"
    p.write_text(text)
    return p


def test_play_tour_headless_writes_screenshot_and_recording(tmp_path, root, default_level_path, tiny_model_path):
    import soundfile as sf
    from PIL import Image

    level = zones_only_level(tmp_path, default_level_path)
    shot, rec = tmp_path / "shot.png", tmp_path / "walk.wav"
    # from where the tour walks the lane east toward the vendors: sky above, paving below
    r = memoire("play", str(level), "--model", str(tiny_model_path), "--tour", "gallery", "--start-zone", "vendors",
                "--frames", "40", "--headless", "--mute", "--screenshot", str(shot), "--record", str(rec),
                "--size", "480", "270", root=root)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    line = [ln for ln in r.stdout.splitlines() if "session:" in ln]
    assert line and "40 frames" in line[0] and "underruns" in line[0] and "latency" in line[0], r.stdout
    assert "sound is off (--mute)" in r.stderr  # said once why it is silent
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (270, 480, 3)
    top, bottom = img[:40].reshape(-1, 3).mean(0), img[-40:].reshape(-1, 3).mean(0)
    assert top[2] > top[0]  # sky above: blue over red
    assert np.abs(top - bottom).sum() > 30  # the ground is not the sky
    audio, sr = sf.read(rec)
    # as long as the session played (40 fast headless frames: a fraction of a second), at least a latent frame
    assert sr == 44100 and audio.ndim == 2 and len(audio) >= 2048
    assert np.sqrt(np.mean(audio ** 2)) > 1e-3  # it played sound


def test_missing_model_names_the_file_and_the_command(tmp_path, root, default_level_path):
    level = zones_only_level(tmp_path, default_level_path)
    r = memoire("play", str(level), "--model", str(tmp_path / "nope.ts"), "--headless", "--frames", "2",
                root=root)
    assert r.returncode == 2
    assert "nope.ts not found" in r.stderr and "memoire train" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_arguments_are_clear(tmp_path, root, default_level_path, tiny_model_path):
    r = memoire("play", str(default_level_path), "--tour", "nowhere", "--headless", "--frames", "1",
                "--model", str(tiny_model_path), root=root)
    assert r.returncode == 2 and "no tour named 'nowhere'" in r.stderr and "gallery" in r.stderr
    r = memoire("play", "--frames", "0", root=root)
    assert r.returncode == 2 and "--frames must be at least 1" in r.stderr


def test_render_wav_offline(tmp_path, root, default_level_path, tiny_model_path):
    import soundfile as sf

    level = zones_only_level(tmp_path, default_level_path)
    out = tmp_path / "tour.wav"
    r = memoire("render", str(level), "--tour", "gallery", "--out", str(out), "--seconds", "8",
                "--model", str(tiny_model_path), root=root)
    assert r.returncode == 0, r.stderr
    assert "faster than real time" in r.stdout
    audio, sr = sf.read(out)
    assert audio.shape == (8 * 44100, 2)
    r = memoire("render", str(level), "--tour", "gallery", "--out", str(tmp_path / "x.ogg"), root=root)
    assert r.returncode == 2 and "give a .wav" in r.stderr


def test_render_starts_where_asked(tmp_path, default_level_path, tiny_model_path):
    """--start / --start-zone in the offline render: its first block is the walker at that moment."""
    from memoire.offline.render import render_tour
    from memoire.world.level import load_level
    from memoire.world.tour import plan_tour, pose_at
    from memoire.world.tour_start import tour_start_s

    level = load_level(zones_only_level(tmp_path, default_level_path))
    plan = plan_tour(level, level.tour("gallery"))
    t = tour_start_s(level, plan, "gallery", start_zone="chatter")
    r = render_tour(level, "gallery", tiny_model_path, seconds=2.0, progress=False, start_s=t)
    assert r.audio.shape == (2 * 44100, 2)
    assert r.block_poses[0] == pytest.approx(pose_at(plan, t))
    assert r.block_poses[-1] == pytest.approx(pose_at(plan, t + r.block_times_s[-1]))
    tail = render_tour(level, "gallery", tiny_model_path, progress=False, start_s=plan.duration_s - 1.5)
    assert len(tail.audio) == pytest.approx(1.5 * 44100, abs=2)  # by default to the tour's end


def test_no_output_device_falls_back_to_a_silent_clock():
    from memoire.audio.output import ClockOutput
    from memoire.audio.relay import open_output
    from memoire.audio.ring import Ring

    ring = Ring(4096, 2)
    out, reason = open_output(ring, 44100, device="no-such-device-anywhere")
    try:
        assert isinstance(out, ClockOutput)
        assert reason and "no usable output device" in reason
    finally:
        out.close()
