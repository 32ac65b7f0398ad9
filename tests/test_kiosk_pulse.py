"""A real sound server vanishing and coming back: the supervisor falls back to the silent clock,
then reopens the device (PortAudio's device list refreshed) without restarting anything.

Runs its own PulseAudio server with a null sink on a private socket, and kills it (the way a
sound server crash or an unplugged USB interface ends the stream); skipped without pulseaudio."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from test_soak import SMALL_LEVEL

pytestmark = [pytest.mark.pulse, pytest.mark.slow]


class PrivatePulse:
    def __init__(self, folder):
        self.folder = folder
        self.socket = folder / "native"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.folder), "PULSE_RUNTIME_PATH": str(self.folder / "run")}
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--log-level=error",
             f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1",
             "--load=module-null-sink sink_name=venue"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            r = subprocess.run(["pactl", "info"], capture_output=True, env={**env, "PULSE_SERVER": f"unix:{self.socket}"})
            if r.returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        pytest.skip("the private PulseAudio server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None


@pytest.fixture
def pulse(tmp_path, monkeypatch):
    if not (shutil.which("pulseaudio") and shutil.which("pactl")):
        pytest.skip("pulseaudio is not installed")
    server = PrivatePulse(tmp_path)
    server.start()
    monkeypatch.setenv("PULSE_SERVER", f"unix:{server.socket}")
    try:
        yield server
    finally:
        server.stop()


def _wait(cond, timeout_s, engine) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        engine.poll()
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_sound_server_dies_and_comes_back(pulse, tmp_path, tiny_model_path):
    from memoire.audio.output import ClockOutput, DeviceOutput
    from memoire.audio.supervisor import SupervisedEngine
    from memoire.world.level import load_level

    (tmp_path / "lane.toml").write_text(SMALL_LEVEL)
    eng = SupervisedEngine(load_level(tmp_path / "lane.toml"), tiny_model_path, gain=0.5)
    eng.start()
    try:
        out = eng.local.output
        if not isinstance(out, DeviceOutput):
            pytest.skip(f"no PortAudio device reaches PulseAudio here: {eng.local.silent_reason}")
        assert _wait(lambda: out.frames_played > 44100 // 2, 10, eng)
        pulse.stop()  # the server (and with it the device) vanishes
        assert _wait(lambda: isinstance(eng.local.output, ClockOutput), 5, eng), "no fallback"
        clock = eng.local.output
        assert _wait(lambda: clock.frames_played > 4096, 2, eng)  # the synth keeps its pace, silently
        pulse.start()
        assert _wait(lambda: isinstance(eng.local.output, DeviceOutput), 20, eng), "device not reopened"
        back = eng.local.output
        assert _wait(lambda: back.frames_played > 44100 // 4, 10, eng)  # playing again
        msgs = " | ".join(eng.poll_messages())
        assert "sound lost on" in msgs and "sound is back on" in msgs, msgs
        s = eng.summary()
        assert s["device_losses"] == 1 and s["device_reopens"] == 1
    finally:
        eng.close()
