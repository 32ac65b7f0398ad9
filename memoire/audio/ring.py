"""A preallocated single-producer single-consumer ring of audio frames.

Threads: the synth thread is the only writer (``write``, ``write_index``); the audio callback is
the only reader (``read_into``, ``read_index``). Each index is a plain int written by one thread
only and read by the other; under CPython an int attribute store is atomic, so no lock is needed
and the reader never waits. Indices count frames since the start and never wrap; positions in
the buffer are index % capacity.
"""

from __future__ import annotations

import time

import numpy as np


class Ring:
    """Ring of float32 frames, shape (capacity, channels)."""

    def __init__(self, capacity_frames: int, channels: int):
        if capacity_frames < 1 or channels < 1:
            raise ValueError("ring capacity and channels must be positive")
        self.capacity = int(capacity_frames)
        self.channels = int(channels)
        self.buffer = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self.write_index = 0  # written by the producer only
        self.read_index = 0  # written by the consumer only
        self.underruns = 0  # callbacks that found fewer frames than asked (consumer only)
        self.missing_frames = 0  # frames of silence written on shortfall (consumer only)
        # Set by the producer once it has queued what it means to keep queued (``prime_frames``
        # given to ``write``, default: the first write): shortfalls before that are priming, not
        # underruns. A device may pull its whole buffer in one burst at start.
        self.started = False
        # (index of the first frame the last read took, index after it, time.perf_counter() of the
        # read): one tuple stored at once (consumer only), so the latency meter knows when a frame
        # left the ring without polling at that moment (memoire/audio/synth.py LatencyMeter).
        self.last_read = (0, 0, 0.0)

    def available(self) -> int:
        """Frames written and not yet read."""
        return self.write_index - self.read_index

    def free(self) -> int:
        """Frames the producer may write without overwriting unread audio."""
        return self.capacity - (self.write_index - self.read_index)

    def write(self, frames: np.ndarray, prime_frames: int = 0) -> int:
        """Producer: append frames (n, channels) or mono (n,); returns frames written (<= free()).
        Playback counts as started once ``prime_frames`` are queued (at once when 0)."""
        if frames.ndim == 1:
            frames = frames[:, None]
        n = min(len(frames), self.free())
        if n <= 0:
            return 0
        start = self.write_index % self.capacity
        first = min(n, self.capacity - start)
        self.buffer[start : start + first] = frames[:first]
        if n > first:
            self.buffer[: n - first] = frames[first:n]
        self.write_index += n  # publish after the copy
        if not self.started and self.write_index - self.read_index >= prime_frames:
            self.started = True
        return n

    def read_into(self, out: np.ndarray) -> int:
        """Consumer: fill ``out`` (n, channels) from the ring; zero-fill and count any shortfall.

        Never blocks, never allocates audio buffers, never raises for a shortfall.
        Returns the frames copied from the ring.
        """
        n_out = out.shape[0]
        n = min(n_out, self.write_index - self.read_index)
        if n > 0:
            index = self.read_index
            start = index % self.capacity
            first = min(n, self.capacity - start)
            out[:first] = self.buffer[start : start + first]
            if n > first:
                out[first:n] = self.buffer[: n - first]
            self.last_read = (index, index + n, time.perf_counter())
            self.read_index = index + n
        else:
            n = 0
        if n < n_out:
            out[n:] = 0.0
            if self.started:
                self.underruns += 1
                self.missing_frames += n_out - n
        return n
