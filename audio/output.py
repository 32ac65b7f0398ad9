"""Audio output: a sounddevice (PortAudio) stream that plays the ring, or a silent clock.

sounddevice is imported here only. The callback runs on PortAudio's thread: it only copies from
the preallocated ring (``Ring.read_into``), which zero-fills and counts a shortfall; it never
blocks, logs, allocates audio buffers or raises.

Without PortAudio or an output device the game still runs: ``open_output`` returns a
``ClockOutput`` that drains the ring at real-time pace (so recordings, latency figures and the
synth's pacing behave the same) and a reason, said once, why it is silent.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from audio.ring import Ring

# PortAudio block: 512 frames = 11.6 ms at 44.1 kHz, small next to one latent frame (2048).
callback_block_frames = 512
# Device buffer: 100 ms. The callback needs Python's GIL, which the render thread can hold for
# a whole software-rendered frame (tens of ms on llvmpipe); the buffer rides that out.
device_latency_s = 0.1


class DeviceOutput:
    """A running sounddevice OutputStream reading the ring."""

    def __init__(self, ring: Ring, sample_rate_hz: int, device: int | str | None = None):
        import sounddevice as sd  # imported here: PortAudio may be missing (see open_output)

        self.ring = ring
        self.frames_played = 0  # consumer-side count (callback thread only)
        self.status_flags = 0  # PortAudio underflow flags seen (callback thread only)

        def callback(outdata: np.ndarray, frames: int, time_info, status) -> None:
            if status:
                self.status_flags += 1
            ring.read_into(outdata)
            self.frames_played += frames

        self.stream = sd.OutputStream(samplerate=sample_rate_hz, channels=ring.channels, dtype="float32",
                                      blocksize=callback_block_frames, latency=device_latency_s, device=device,
                                      callback=callback)
        self.stream.start()
        self.name = str(sd.query_devices(self.stream.device)["name"])

    @property
    def latency_s(self) -> float:
        return float(self.stream.latency)

    def close(self) -> None:
        try:
            self.stream.stop()
            self.stream.close()
        except Exception:
            pass  # closing a stream whose device vanished: nothing left to release


class ClockOutput:
    """No device: drains the ring at real-time pace from a thread, playing nothing."""

    def __init__(self, ring: Ring, sample_rate_hz: int):
        self.ring = ring
        self.name = "silent clock"
        self.latency_s = 0.0
        self.frames_played = 0
        self.status_flags = 0
        self._rate = sample_rate_hz
        self._stop = threading.Event()
        self._scratch = np.zeros((callback_block_frames, ring.channels), np.float32)
        self._thread = threading.Thread(target=self._run, name="memoire-clock-output", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period_s = callback_block_frames / self._rate
        next_t = time.perf_counter()
        while not self._stop.is_set():
            self.ring.read_into(self._scratch)
            self.frames_played += callback_block_frames
            next_t += period_s
            delay = next_t - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -1.0:
                next_t = time.perf_counter()  # fell far behind (suspended): do not race to catch up

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)


def open_output(ring: Ring, sample_rate_hz: int, device: int | str | None = None,
                enabled: bool = True) -> tuple[DeviceOutput | ClockOutput, str | None]:
    """Open the sound device, or a silent clock. Returns (output, reason it is silent or None)."""
    if not enabled:
        return ClockOutput(ring, sample_rate_hz), "sound is off (--mute)"
    try:
        import sounddevice  # noqa: F401
    except OSError as e:
        return ClockOutput(ring, sample_rate_hz), (
            f"no sound: the PortAudio library is missing ({e}); install it with `apt-get install libportaudio2`")
    try:
        return DeviceOutput(ring, sample_rate_hz, device), None
    except Exception as e:  # sounddevice.PortAudioError and ValueError for a bad device
        return ClockOutput(ring, sample_rate_hz), (
            f"no sound: no usable output device ({e}); the game runs silently. "
            "Plug in headphones or check `python -m sounddevice`")
