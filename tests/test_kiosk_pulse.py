"""A real sound server vanishing and coming back: the supervisor inside the audio process falls back
to the silent clock, then reopens the device (PortAudio's device list refreshed) without
restarting anything.

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


def _wait(cond, timeout_s, audio, seen) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        seen += audio.poll_events()
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_sound_server_dies_and_comes_back(pulse, tmp_path, tiny_model_path):
    from memoire.audio.process import AudioProcess
    from memoire.world.level import load_level

    (tmp_path / "lane.toml").write_text(SMALL_LEVEL)
    # the audio process that ships: the supervisor inside it sees the device go and come back
    audio = AudioProcess(load_level(tmp_path / "lane.toml"), tiny_model_path, gain=0.5)
    seen: list = []
    audio.start()
    try:
        seen += audio.poll_events()
        if audio.silent_reason:
            pytest.skip(f"no PortAudio device reaches PulseAudio here: {audio.silent_reason}")
        assert _wait(lambda: audio.stats().output not in ("none", "silent clock"), 5, audio, seen)
        assert _wait(lambda: audio.stats().frames_played > 44100 // 2, 10, audio, seen)
        pulse.stop()  # the server (and with it the device) vanishes
        lost_at = time.time()
        assert _wait(lambda: audio.stats().output == "silent clock", 5, audio, seen), "no fallback"
        played = audio.stats().frames_played
        assert _wait(lambda: audio.stats().frames_played > played + 4096, 2, audio, seen)  # the synth keeps its pace
        pulse.start()
        assert _wait(lambda: audio.stats().output != "silent clock", 20, audio, seen), "device not reopened"
        back_s = time.time() - lost_at
        played = audio.stats().frames_played
        assert _wait(lambda: audio.stats().frames_played > played + 44100 // 4, 10, audio, seen)  # playing again
        texts = " | ".join(e.text for e in seen)
        assert "sound lost on" in texts and "sound is back on" in texts, texts
        s = audio.stats()
        assert s.device_losses == 1 and s.device_reopens == 2, s  # the first open counts
        assert s.synth_restarts == 0 and s.process_restarts == 0, s
        print(f"kiosk pulse: device back {back_s:.1f} s after the server died; {s}")
    finally:
        audio.close()
