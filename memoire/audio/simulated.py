"""A simulated sound device for the soak and the fault tests: time is given, not measured.

In the audio process's simulated mode (memoire/audio/process.py ``AudioProcess(simulated=True)``)
the outputs are ``SimOutput``s: nothing plays and no thread consumes; the game process sends
``simulate(now_s, seconds)`` and the control loop takes that much audio out of the ring in
512-frame blocks, exactly as the PortAudio callback does (``Ring.read_into``, then the gain
stage), waking the synth thread and giving it up to ``sim_wait_s`` of real time per block. A
block the synth did not deliver is an underrun, counted by the ring as in play. ``SimDevice``
can be unplugged and plugged back (fault injection): while unplugged the current output reports
itself failed and opening one raises, as PortAudio does for a vanished device.

Threads: the audio process's control loop only (it opens, pulls and unplugs).
"""

from __future__ import annotations

import time

import numpy as np

from memoire.audio.output import callback_block_frames

# Real time the simulated device gives the synth to deliver one 512-frame block: generous (the
# tiny model decodes a 2048-frame hop in ~2 ms); a dead or stuck synth shows up as underruns.
sim_wait_s = 1.0


class SimOutput:
    """An output read by the simulated clock: ``pull(frames)`` consumes like the callback does."""

    def __init__(self, ring, rate_hz: int, gain, name: str):
        self.ring = ring  # written by the engine on a synth restart; read in pull()
        self.gain = gain
        self.name = name
        self.latency_s = 0.0
        self.status_flags = 0
        self.frames_played = 0
        self.failed: str | None = None
        self.closed = False
        self._rate = rate_hz
        self._owed = 0.0
        self._block = np.zeros((callback_block_frames, ring.channels), np.float32)
        self.sum_sq = 0.0
        self.peak = 0.0

    def pull(self, frames: float, wake, writer_alive=lambda: True) -> None:
        """Consume ``frames`` (fractional frames carry over) in callback-sized blocks, waiting for
        the synth (``wake`` it, up to ``sim_wait_s`` a block) unless its thread is dead."""
        self._owed += frames
        n = callback_block_frames
        while self._owed >= n and not self.closed:
            deadline = time.perf_counter() + sim_wait_s
            if self.ring.available() < n:
                wake()
            while self.ring.available() < n and time.perf_counter() < deadline and writer_alive():
                time.sleep(0.0005)
            self.ring.read_into(self._block)
            if self.gain is not None:
                self.gain.apply(self._block, self._rate)
            self.sum_sq += float(np.square(self._block, dtype=np.float64).sum())
            self.peak = max(self.peak, float(np.abs(self._block).max()))
            self.frames_played += n
            self._owed -= n
        wake()  # refill now, while the game draws its next frame

    def check(self) -> str | None:
        return self.failed

    def close(self) -> None:
        self.closed = True


class SimDevice:
    """A sound device that can be unplugged: opens ``SimOutput``s while present."""

    def __init__(self):
        self.present = True
        self.current: SimOutput | None = None  # the output opened last (device or fallback)
        self.opens = 0

    def open(self, ring, rate_hz, gain) -> SimOutput:
        if not self.present:
            raise OSError("simulated device unplugged")
        self.opens += 1
        self.current = SimOutput(ring, rate_hz, gain, "simulated device")
        return self.current

    def open_fallback(self, ring, rate_hz, gain) -> SimOutput:
        """The silent clock's stand-in: consumed by the simulated clock as well."""
        self.current = SimOutput(ring, rate_hz, gain, "silent clock (simulated)")
        return self.current

    def unplug(self) -> None:
        self.present = False
        if self.current is not None and self.current.name == "simulated device":
            self.current.failed = "unplugged (simulated)"

    def plug(self) -> None:
        self.present = True
