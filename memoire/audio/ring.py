"""A preallocated single-producer single-consumer ring of audio frames, in this process or shared.

Threads (or processes): the synth's mix thread is the only writer (``write``, ``write_index``,
``started``); the consumer (the device callback, in this process or in the device process of
memoire/audio/relay.py, or the silent clock) is the only reader (``read_into``, ``read_index``,
``underruns``, ``missing_frames``, ``last_read``). Indices count frames since the start and never
wrap; positions in the buffer are index % capacity.

Storage: the counters live in one int64 array and ``last_read``'s time in one float64 slot, so the
same ring can sit in memory another process maps (``Ring.shared`` makes one in an anonymous memory
file, ``memfd_create``: no name on any file system, nothing left behind when a process is killed;
its descriptor ``fd`` is handed to the device process, which maps it with ``Ring.from_fd``). Each counter is one aligned 8-byte
store written by one side only, which x86-64 and arm64 write whole, so the reader never waits and
never sees half a value. Order: the producer copies the frames, then publishes ``write_index``;
x86-64 keeps stores in program order for other cores (arm64 would need a barrier here: numpy
gives none, and Memoire's machines are x86-64). ``last_read`` is three values, written under a
sequence count (odd while the consumer writes) so the reader takes a consistent triple.
"""

from __future__ import annotations

import mmap
import os
import time
import weakref

import numpy as np

# The counters' slots (int64): producer's, then consumer's.
_WRITE, _STARTED, _READ, _UNDERRUNS, _MISSING, _LR_SEQ, _LR_FIRST, _LR_END, _N_COUNTERS = range(9)
# Header: the counters, then last_read's time (float64), padded to a cache line pair so the
# audio starts aligned.
_header_bytes = 128

# ``last_read`` retries this often while the consumer writes it (it takes a few hundred ns; a
# reader that finds it odd this long is reading a consumer that died mid-write).
_last_read_tries = 10000


def _size(capacity_frames: int, channels: int) -> int:
    return _header_bytes + 4 * int(capacity_frames) * int(channels)


class Ring:
    """Ring of float32 frames, shape (capacity, channels). ``Ring(capacity, channels)`` lives in
    this process; ``Ring.shared`` / ``Ring.attach`` in memory two processes map."""

    def __init__(self, capacity_frames: int, channels: int, *, _memory=None):
        if capacity_frames < 1 or channels < 1:
            raise ValueError("ring capacity and channels must be positive")
        self.capacity = int(capacity_frames)
        self.channels = int(channels)
        self.fd: int | None = None  # the shared memory file's descriptor (None: this process only)
        if _memory is None:
            _memory = bytearray(_size(self.capacity, self.channels))
        self._memory = _memory
        self._counters = np.frombuffer(_memory, np.int64, _N_COUNTERS, 0)
        self._read_time = np.frombuffer(_memory, np.float64, 1, 8 * _N_COUNTERS)
        self.buffer = np.frombuffer(_memory, np.float32, self.capacity * self.channels,
                                    _header_bytes).reshape(self.capacity, self.channels)

    # -- shared rings -------------------------------------------------------------------------------

    @classmethod
    def shared(cls, capacity_frames: int, channels: int) -> "Ring":
        """A zeroed ring in an anonymous memory file another process can map (``fd``, handed over
        a Unix socket, then ``Ring.from_fd``). The descriptor stays open while this ring lives, so
        the ring can be handed to a reopened device again."""
        if capacity_frames < 1 or channels < 1:
            raise ValueError("ring capacity and channels must be positive")
        fd = os.memfd_create("memoire-ring", os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, _size(capacity_frames, channels))  # a new file reads as zeros
            ring = cls.from_fd(fd, capacity_frames, channels)
        except BaseException:
            os.close(fd)
            raise
        return ring

    @classmethod
    def from_fd(cls, fd: int, capacity_frames: int, channels: int) -> "Ring":
        """Map the shared ring behind ``fd`` (this ring owns ``fd`` from now: closed when it is
        collected). Raises OSError when the file is not a ring of that shape."""
        size = _size(capacity_frames, channels)
        have = os.fstat(fd).st_size
        if have != size:
            raise OSError(f"the shared ring is {have} bytes, not {size} ({capacity_frames} x {channels})")
        ring = cls(capacity_frames, channels, _memory=mmap.mmap(fd, size))
        ring.fd = fd
        weakref.finalize(ring, os.close, fd)
        return ring

    # -- the counters (each written by one side) ----------------------------------------------------

    @property
    def write_index(self) -> int:
        return int(self._counters[_WRITE])

    @property
    def read_index(self) -> int:
        return int(self._counters[_READ])

    @property
    def started(self) -> bool:
        """Set by the producer once it has queued what it means to keep queued (``prime_frames``
        given to ``write``, default: the first write): shortfalls before that are priming, not
        underruns. A device may pull its whole buffer in one burst at start."""
        return bool(self._counters[_STARTED])

    @property
    def underruns(self) -> int:
        """Reads that found fewer frames than asked, once started (consumer only)."""
        return int(self._counters[_UNDERRUNS])

    @property
    def missing_frames(self) -> int:
        """Frames of silence written on shortfall (consumer only)."""
        return int(self._counters[_MISSING])

    @property
    def last_read(self) -> tuple[int, int, float]:
        """(index of the first frame the last read took, index after it, time.perf_counter() of
        the read; CLOCK_MONOTONIC, the same clock in every process), so the latency meter knows
        when a frame left the ring without polling at that moment (memoire/audio/synth.py
        LatencyMeter)."""
        c = self._counters
        for _ in range(_last_read_tries):
            seq = int(c[_LR_SEQ])
            if seq & 1:
                continue  # the consumer is writing it: a few instructions
            value = (int(c[_LR_FIRST]), int(c[_LR_END]), float(self._read_time[0]))
            if int(c[_LR_SEQ]) == seq:
                return value
        # a consumer killed in the middle of writing it (the device process): what is there
        return (int(c[_LR_FIRST]), int(c[_LR_END]), float(self._read_time[0]))

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
        c = self._counters
        write_index = int(c[_WRITE])
        read_index = int(c[_READ])
        n = min(len(frames), self.capacity - (write_index - read_index))
        if n <= 0:
            return 0
        start = write_index % self.capacity
        first = min(n, self.capacity - start)
        self.buffer[start : start + first] = frames[:first]
        if n > first:
            self.buffer[: n - first] = frames[first:n]
        c[_WRITE] = write_index + n  # publish after the copy
        if not c[_STARTED] and write_index + n - read_index >= prime_frames:
            c[_STARTED] = 1
        return n

    def read_into(self, out: np.ndarray) -> int:
        """Consumer: fill ``out`` (n, channels) from the ring; zero-fill and count any shortfall.

        Never blocks, never allocates audio buffers, never raises for a shortfall.
        Returns the frames copied from the ring.
        """
        c = self._counters
        n_out = out.shape[0]
        index = int(c[_READ])
        n = min(n_out, int(c[_WRITE]) - index)
        if n > 0:
            start = index % self.capacity
            first = min(n, self.capacity - start)
            out[:first] = self.buffer[start : start + first]
            if n > first:
                out[first:n] = self.buffer[: n - first]
            c[_LR_SEQ] += 1  # odd: last_read is being written
            c[_LR_FIRST] = index
            c[_LR_END] = index + n
            self._read_time[0] = time.perf_counter()
            c[_LR_SEQ] += 1
            c[_READ] = index + n
        else:
            n = 0
        if n < n_out:
            out[n:] = 0.0
            if c[_STARTED]:
                c[_UNDERRUNS] += 1
                c[_MISSING] += n_out - n
        return n
