"""The sound device in its own process (memoire/audio/relay.py) on the PulseAudio null sink: it plays
the shared ring, follows the gain stage's controls, takes a new ring, reports its own death, and
never outlives the audio process that opened it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from memoire.audio.output import MasterGain
from memoire.audio.relay import RelayOutput, open_output
from memoire.audio.ring import Ring

from test_pulse import pulse_running

pytestmark = [pytest.mark.pulse,
              pytest.mark.skipif(not pulse_running(), reason="no PulseAudio server (run `bash tools/install.sh test`)")]
RATE = 44100


def _wait(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_shared_ring_is_one_memory_for_two_mappings():
    ring = Ring.shared(1000, 2)
    other = Ring.from_fd(os.dup(ring.fd), 1000, 2)  # what the device process maps
    ring.write(np.full((300, 2), 0.5, np.float32), prime_frames=200)
    assert other.available() == 300 and other.started
    out = np.zeros((512, 2), np.float32)
    assert other.read_into(out) == 300
    assert np.all(out[:300] == 0.5) and np.all(out[300:] == 0.0)
    assert ring.read_index == 300 and ring.underruns == 1 and ring.missing_frames == 212
    assert ring.last_read[:2] == (0, 300) and ring.last_read[2] == pytest.approx(time.perf_counter(), abs=1.0)
    with pytest.raises(OSError, match="8128 bytes, not 16128"):
        Ring.from_fd(os.dup(ring.fd), 2000, 2)


def test_relay_plays_the_ring_at_the_gain_set_here():
    ring = Ring.shared(16384, 2)
    gain = MasterGain(0.0)
    out, reason = open_output(ring, RATE, gain=gain)
    try:
        assert reason is None and isinstance(out, RelayOutput), reason
        pid = out._proc.pid
        assert pid != os.getpid() and _alive(pid)
        tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(4096) / RATE)).astype(np.float32)
        block = np.stack([tone, tone], axis=1)

        def fed(condition) -> bool:
            # the null sink may take ~2 s to start pulling a new stream (measured: 1.6-1.8 s at times)
            end = time.monotonic() + 15.0
            while time.monotonic() < end and not condition():
                ring.write(block[: max(0, min(len(block), ring.free()))])
                time.sleep(0.01)
            return condition()

        # what the sink plays, recorded from its monitor (the tone at 0.7, then the gain at 0)
        rec = subprocess.Popen(["parec", "-d", "@DEFAULT_MONITOR@", "--format=float32le", "--channels=1",
                                f"--rate={RATE}", "--raw", "--latency-msec=20"], stdout=subprocess.PIPE)
        gain.set(0.7)  # the controlling side's value is the device process's, in shared memory
        assert fed(lambda: out.frames_played > 0.5 * RATE)  # the device process's callback took the audio
        assert out.check() is None
        gain.set(0.0)
        at = out.frames_played
        assert fed(lambda: out.frames_played > at + 1.0 * RATE)
        rec.terminate()
        mono = np.frombuffer(rec.communicate(timeout=10)[0], np.float32)
        windows = mono[: len(mono) // 4410 * 4410].reshape(-1, 4410)  # 100 ms
        rms = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1))
        assert rms.max() == pytest.approx(0.7 * 0.5 / np.sqrt(2), rel=0.05)  # the tone at the gain set here
        assert rms[int(rms.argmax()):].min() < 1e-4  # then silent, once the gain was set to 0
        assert ring.read_index > 0.5 * RATE and out.played_delay_s > 0.0
        assert gain.target == 0.0
        assert _wait(lambda: out.check() is None and out.priority is not None)
        # a restarted synth writes a new ring: the device process reads it from its next block
        new = Ring.shared(16384, 2)
        out.ring = new
        assert out.check() is None
        before = new.read_index
        new.write(block)
        assert _wait(lambda: new.read_index > before)
    finally:
        out.close()
    assert not _alive(pid)
    assert gain.target == 0.0  # the controls came back to this process with their values
    gain.set(0.3)
    assert gain.target == 0.3


def test_a_device_process_that_dies_is_a_failed_output():
    ring = Ring.shared(16384, 2)
    out = RelayOutput(ring, RATE)
    try:
        assert out.check() is None
        out._proc.kill()
        assert _wait(lambda: out.check() is not None)
        assert "process ended" in out.check()
    finally:
        out.close()


def test_a_bad_device_is_refused_with_portaudios_reason():
    ring = Ring.shared(4096, 2)
    with pytest.raises(OSError, match="no-such-device-anywhere"):
        RelayOutput(ring, RATE, device="no-such-device-anywhere")


def test_the_device_process_ends_with_the_audio_process():
    """A killed audio process (the game's watchdog kills a stalled one) leaves no device process
    playing behind: its socket reads end-of-file."""
    script = textwrap.dedent("""
        import os, sys, time
        from memoire.audio.relay import RelayOutput
        from memoire.audio.ring import Ring
        out = RelayOutput(Ring.shared(16384, 2), 44100)
        print(out._proc.pid, flush=True)
        time.sleep(0.5)
        os._exit(0)  # no close(): as a SIGKILL would leave it
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    pid = int(proc.stdout.split()[0])
    assert _wait(lambda: not _alive(pid), 5.0), f"device process {pid} still running"


def test_the_game_audio_reopens_the_device_when_its_process_dies(default_level_path, tiny_model_path):
    """Killing the device process under the shipped audio (``AudioProcess``) is a lost device: the
    silent clock keeps time, and a new device process plays again."""
    from test_pulse import _device_processes

    from memoire.audio.process import AudioProcess
    from memoire.world.level import load_level

    audio = AudioProcess(load_level(default_level_path), tiny_model_path)
    audio.start()
    try:
        said = audio.poll_events()
        assert audio.stats().alive and audio.silent_reason is None, said
        first = _device_processes(audio.pid)
        assert len(first) == 1
        os.kill(first[0], 9)

        def reopened() -> bool:
            audio.poll_events()
            now = _device_processes(audio.pid)
            return audio.stats().device_losses == 1 and len(now) == 1 and now[0] != first[0]

        assert _wait(reopened, 20.0), audio.stats()
        played = audio.stats().frames_played
        assert _wait(lambda: audio.poll_events() is not None and audio.stats().frames_played > played + RATE, 15.0)
        assert audio.stats().output not in ("silent clock", "none")
        assert audio.stats().process_restarts == 0  # the audio process itself played on
    finally:
        audio.close()
