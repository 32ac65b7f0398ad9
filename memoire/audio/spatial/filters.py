"""Per-slot low-pass filters (air absorption and occlusion) for the spatializer, synth thread.

Each slot is a one-pole low-pass y[n] = y[n-1] + a (x[n] - y[n-1]) with a = 1 - exp(-2 pi fc / fs)
(-3 dB near fc for fc well below Nyquist, 6 dB per octave above it; the standard smoothing
filter, as in OpenAL's air absorption). A cutoff at or above Nyquist opens it fully (a = 1: the
signal passes untouched). Its state is its last output, so a coefficient change never steps the
output; on top of that the cutoff glides: each block is cut into ``lowpass_subblocks`` pieces
whose cutoffs step geometrically from the last block's to this one's.

Run through scipy.signal.lfilter, one call per slot and piece: its transposed direct form keeps
z = (1 - a) y[n-1] as the state, which is rescaled whenever a changes so that y stays continuous.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

lowpass_subblocks = 4  # a 2048-frame block: 512-frame (11.6 ms) steps of the cutoff


def one_pole_coefficient(cutoff_hz: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """a in (0, 1] per cutoff; 1 (open) at or above Nyquist."""
    fc = np.asarray(cutoff_hz, np.float64)
    a = 1.0 - np.exp(-2.0 * math.pi * np.maximum(fc, 1.0) / sample_rate_hz)
    return np.where(fc >= sample_rate_hz / 2, 1.0, a)


class LowpassBank:
    """``slots`` independent one-pole low-passes, filtering (S, N) blocks in place."""

    def __init__(self, slots: int, sample_rate_hz: int):
        self.rate = int(sample_rate_hz)
        self.nyquist_hz = self.rate / 2
        self.last_y = np.zeros(slots)  # each slot's last output
        self.last_hz = np.full(slots, self.nyquist_hz)  # each slot's cutoff at the end of the last block
        self._zi = np.zeros(1)
        self._b = np.zeros(1)
        self._a = np.array([1.0, 0.0])

    def reset(self, i: int, cutoff_hz: float | None = None) -> None:
        """Slot ``i`` starts afresh: silent state, the cutoff taken at once (no glide)."""
        self.last_y[i] = 0.0
        self.last_hz[i] = self.nyquist_hz if cutoff_hz is None else float(cutoff_hz)

    def process(self, x: np.ndarray, cutoff_hz: np.ndarray) -> None:
        """Filter ``x`` (S, N) float32 in place, slot s gliding from its last cutoff to ``cutoff_hz[s]``."""
        s_count, n = x.shape
        target = np.clip(np.asarray(cutoff_hz, np.float64)[:s_count], 1.0, self.nyquist_hz)
        k = lowpass_subblocks
        edges = [n * j // k for j in range(k + 1)]
        for s in range(s_count):
            f0, f1 = self.last_hz[s], target[s]
            y = self.last_y[s]
            if f0 >= self.nyquist_hz and f1 >= self.nyquist_hz:  # open all block: untouched
                if n:
                    self.last_y[s] = x[s, -1]
                continue
            for j in range(k):
                f = f0 * (f1 / f0) ** ((j + 1) / k)  # geometric glide, the last piece at the target
                a = float(one_pole_coefficient(f, self.rate))
                lo, hi = edges[j], edges[j + 1]
                if hi <= lo:
                    continue
                if a >= 1.0:
                    y = float(x[s, hi - 1])
                    continue
                self._b[0] = a
                self._a[1] = a - 1.0
                self._zi[0] = (1.0 - a) * y
                seg, _ = lfilter(self._b, self._a, x[s, lo:hi], zi=self._zi)
                x[s, lo:hi] = seg
                y = float(seg[-1])
            self.last_y[s] = y
        self.last_hz[:s_count] = target
