"""The ring under concurrent writes and reads; the callback path zero-fills and counts shortfalls."""

from __future__ import annotations

import threading
import time

import numpy as np

from memoire.audio.ring import Ring


def test_concurrent_producer_consumer_preserves_every_sample():
    ring = Ring(1000, 1)
    total = 200_000
    received = np.empty(total, np.float32)
    got = 0

    def produce():
        i = 0
        while i < total:
            n = min(137, total - i)
            block = np.arange(i, i + n, dtype=np.float32)
            w = ring.write(block)
            i += w
            if w == 0:
                time.sleep(0)

    t = threading.Thread(target=produce)
    t.start()
    out = np.empty((64, 1), np.float32)
    deadline = time.time() + 30
    while got < total and time.time() < deadline:
        n = ring.read_into(out)
        received[got:got + n] = out[:n, 0]
        got += n
    t.join()
    assert got == total
    np.testing.assert_array_equal(received, np.arange(total, dtype=np.float32))


def test_shortfall_writes_silence_and_counts():
    ring = Ring(256, 2)
    out = np.full((64, 2), 9.0, np.float32)
    ring.read_into(out)
    assert ring.underruns == 0  # before the first write: priming, not an underrun
    assert np.all(out == 0)
    ring.write(np.ones((10, 2), np.float32))
    out[:] = 9.0
    n = ring.read_into(out)
    assert n == 10
    assert np.all(out[:10] == 1) and np.all(out[10:] == 0)
    assert ring.underruns == 1 and ring.missing_frames == 54


def test_writer_never_overwrites_unread_audio():
    ring = Ring(100, 1)
    assert ring.write(np.ones(150, np.float32)) == 100
    assert ring.free() == 0
    assert ring.write(np.ones(5, np.float32)) == 0


def test_wraparound():
    ring = Ring(10, 1)
    out = np.empty((7, 1), np.float32)
    ring.write(np.arange(7, dtype=np.float32))
    ring.read_into(out)
    ring.write(np.arange(7, 14, dtype=np.float32))
    ring.read_into(out)
    np.testing.assert_array_equal(out[:, 0], np.arange(7, 14))


def test_priming_is_not_an_underrun():
    """A device that pulls its buffer in one burst at start must not count the synth's first
    blocks as underruns: playback starts once the producer has queued what it keeps queued."""
    ring = Ring(8192, 1)
    out = np.empty((512, 1), np.float32)
    ring.write(np.ones(2048, np.float32), prime_frames=4096)
    for _ in range(5):  # the burst drains 2560 > 2048 frames
        ring.read_into(out)
    assert ring.underruns == 0
    ring.write(np.ones(4096, np.float32), prime_frames=4096)
    assert ring.started
    for _ in range(9):
        ring.read_into(out)
    assert ring.underruns == 1  # after priming, a shortfall counts
