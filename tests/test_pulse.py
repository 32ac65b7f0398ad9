"""A real sounddevice stream to a PulseAudio null sink: 10 s with zero underruns while frames render.

Needs a PulseAudio server (tools/install.sh test starts one with a null sink); skipped with the
reason when none answers. ALSA's own null device is not real-time paced, so it is not used.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time

import pytest

from memoire.world.level import load_level

pytestmark = [pytest.mark.pulse, pytest.mark.slow]


def pulse_running() -> bool:
    if not shutil.which("pactl"):
        return False
    return subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode == 0


@pytest.mark.skipif(not pulse_running(), reason="no PulseAudio server (run `bash tools/install.sh test`)")
def test_ten_seconds_on_pulse_null_sink_without_underruns(default_level_path, tiny_model_path):
    from memoire.audio.process import AudioProcess
    from memoire.render.camera import Camera
    from memoire.render.context import headless_context
    from memoire.render.renderer import Renderer

    level = load_level(default_level_path)
    audio = AudioProcess(level, tiny_model_path)
    ctx = headless_context()
    renderer = Renderer(ctx, level, (640, 360))
    audio.start()
    said = audio.poll_events()
    assert audio.stats().alive and audio.silent_reason is None, said
    rate = audio.card.sample_rate_hz
    frames = 0
    t0 = time.perf_counter()
    # the device plays from a process of its own, the audio process's child (memoire/audio/relay.py)
    relays = _device_processes(audio.pid)
    assert len(relays) == 1, relays
    try:
        # until the device has played 10 s of audio (a loaded machine's sound server may run late)
        while audio.stats().frames_played < 10.0 * rate and time.perf_counter() - t0 < 60.0:
            t = time.perf_counter() - t0
            x, y = 4.0 + 1.4 * t, 18.75  # walk east down the lane
            audio.set_listener(x, y, math.pi / 2)
            renderer.draw(Camera(x_m=x, y_m=y, heading_rad=math.pi / 2, pitch_rad=0.0))
            ctx.finish()
            said += audio.poll_events()
            frames += 1
        played_s = audio.stats().frames_played / rate
    finally:
        audio.close()
        renderer.release()
    s = audio.stats()
    print(f"pulse: {frames} frames drawn, {played_s:.1f} s played, underruns {s.underruns}, device underflows "
          f"{s.device_underflows}, synth {s.synth_rtf:.0f}x real time, latency {s.latency_s * 1000:.0f} ms "
          f"(p95 {s.latency_p95_s * 1000:.0f} ms), output {s.output}, {s.priority}")
    assert frames >= 10
    assert played_s >= 10.0  # the device really consumed 10 s of audio
    assert s.underruns == 0, said
    assert s.device_underflows == 0  # and PortAudio reported no underflow either
    assert s.output not in ("silent clock", "none")
    assert s.synth_restarts == 0 and s.process_restarts == 0 and s.device_losses == 0, said
    deadline = time.monotonic() + 5.0
    while relays[0] in _device_processes(None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert relays[0] not in _device_processes(None)  # closed with the audio


def _device_processes(parent: int | None) -> list[int]:
    """Pids of running device processes (``python -m memoire.audio.relay``), children of ``parent``
    (any parent: None)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if b"memoire.audio.relay" in cmdline and fields[0] != "Z" and (parent is None or int(fields[1]) == parent):
            found.append(int(entry))
    return found
