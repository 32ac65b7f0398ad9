"""Mono sources -> the output layout's channels, one block at a time, on the synth thread.

``Spatializer.process`` takes one block of S mono sources (one per slot) with each slot's
azimuth, gain and low-pass cutoff now, and writes the layout's channels. Per slot it keeps the
last block's gain, direction and cutoff and glides from them over the block, so no change ever
steps the signal:

- the low-pass (memoire/audio/spatial/filters.py) glides its cutoff in sub-blocks;
- the gain ramps linearly across the block;
- speakers (stereo, quad, 5.1, ring8): the direction moves along the shorter arc in
  ``pan_subblocks`` steps, the speaker gains ramping linearly between the steps;
- binaural: each block is convolved with both the last block's head-related response and this
  block's, the input crossfaded between them (linear, across the block: x (1 - w) through the old
  response plus x w through the new). Both are done in the frequency domain and summed over
  sources before the inverse transform (convolution is linear), so the whole mix costs two
  inverse FFTs per block whatever S is; the responses' tails overlap-add into the next block.

Loudness: the speaker gains have unit power (memoire/audio/spatial/panning.py); the HRTF is scaled
by one factor so that, averaged over the horizontal plane, the two ears' summed energy is 1 too,
so switching layout keeps the level (the raw KEMAR set is 0.3 dB hotter than that).

Slots keep their state by index: ``reset_slot(i)`` when a slot is given to a new voice (its gain
then ramps up from 0 over the first block and its direction is taken at once).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from memoire.world.errors import UserError
from memoire.audio.spatial.filters import LowpassBank
from memoire.audio.spatial.hrtf import Hrtf
from memoire.audio.spatial.panning import Panner, layout as get_layout

pan_subblocks = 4  # direction steps per block for speaker layouts (512 frames = 11.6 ms at 2048)
# Binaural: a slot's direction that moved less than this keeps its response (1e-4 rad: far below
# the KEMAR set's 5-degree spacing, so the interpolated response would be the same to ~1e-5).
hrir_same_rad = 1e-4


def wrap_rad(a: np.ndarray) -> np.ndarray:
    """Angles wrapped to (-pi, pi]."""
    return np.pi - np.mod(np.pi - np.asarray(a, np.float64), 2 * np.pi)


class Spatializer:
    """See the module docstring. Synth thread only; state per slot index."""

    def __init__(self, layout: str, sample_rate_hz: int, max_sources: int, block_frames: int,
                 hrtf: Hrtf | None = None):
        self.layout = get_layout(layout)
        self.name = layout
        self.channels = self.layout.channels
        self.rate = int(sample_rate_hz)
        self.max_sources = int(max_sources)
        self.block = int(block_frames)
        s, n = self.max_sources, self.block
        self._x = np.zeros((s, n), np.float32)  # the block being placed (filtered, gained)
        self._gain = np.zeros(s)  # each slot's gain at the end of the last block
        self._az = np.zeros(s)  # and its direction
        self._fresh = np.ones(s, bool)  # no block yet since reset: take the direction at once
        self._ramp = (np.arange(1, n + 1, dtype=np.float64) / n)  # (i + 1) / n
        self._ramp32 = self._ramp.astype(np.float32)
        self._scratch = np.zeros((s, n), np.float32)
        self.lowpass = LowpassBank(s, self.rate)
        self.binaural = layout == "binaural"
        if self.binaural:
            if hrtf is None:
                hrtf = Hrtf.load(sample_rate_hz=self.rate)
            if hrtf.sample_rate_hz != self.rate:
                raise UserError(f"{hrtf.source}: an HRTF measured at {hrtf.sample_rate_hz} Hz cannot place sound "
                                f"at {self.rate} Hz; use the set for {self.rate} Hz (default-{self.rate}.mhr)")
            self.hrtf = hrtf
            ring = hrtf.rings[len(hrtf.rings) // 2]  # the horizontal plane
            az = 2 * math.pi * np.arange(ring.count) / ring.count
            power = float((hrtf.hrirs(az) ** 2).sum(axis=(1, 2)).mean())
            self.hrtf_scale = 1.0 / math.sqrt(power)
            self.hrtf_power_db = 10 * math.log10(power)
            taps = hrtf.taps
            self.fft_size = int(2 ** math.ceil(math.log2(n + taps - 1)))
            bins = self.fft_size // 2 + 1
            self._h_last = np.zeros((s, 2, bins), np.complex128)  # last block's responses, per slot
            self._h_az = np.zeros(s)  # the direction each slot's last response was worked out for
            self._tail = np.zeros((2, taps - 1))  # the mix's convolution tail into the next block
            self._pad = np.zeros((2, s, self.fft_size))  # inputs (old-response part, new-response part)
            self._acc = np.zeros((2, bins), np.complex128)
        else:
            self.panner = Panner(layout)
            self._g_last = np.zeros((s, self.channels))  # speaker gains at the end of the last block
            self._seg = np.zeros((n, self.channels), np.float32)

    def reset_slot(self, i: int) -> None:
        """Slot ``i`` now carries a new voice: no filter memory, gain from 0, direction at once."""
        self._gain[i] = 0.0
        self._fresh[i] = True
        self.lowpass.reset(i)
        self._x[i] = 0.0

    def process(self, sources: np.ndarray, azimuth_rad: np.ndarray, gain: np.ndarray,
                lowpass_hz: np.ndarray, out: np.ndarray) -> None:
        """One block: ``sources`` (S, N) float32 mono per slot, ``azimuth_rad``/``gain``/``lowpass_hz``
        (S,) per slot, the values to reach by the block's end; ``out`` (N, channels) overwritten."""
        s = sources.shape[0]
        n = self.block
        if s > self.max_sources or sources.shape[1] != n or out.shape != (n, self.channels):
            raise ValueError(f"process: sources {sources.shape}, out {out.shape}; expected (<= {self.max_sources}, {n}) "
                             f"and ({n}, {self.channels})")
        x = self._x[:s]
        np.copyto(x, sources)
        az1 = wrap_rad(azimuth_rad[:s])
        g1 = np.maximum(np.asarray(gain, np.float64)[:s], 0.0)
        fresh = self._fresh[:s]
        for i in np.flatnonzero(fresh):  # a new voice: its cutoff from the start
            self.lowpass.reset(int(i), float(lowpass_hz[i]))
        self.lowpass.process(x, lowpass_hz)
        # the gain ramp, from the last block's gain to this one's
        g0 = self._gain[:s]
        ramp = self._scratch[:s]
        np.multiply(self._ramp32[None, :], (g1 - g0).astype(np.float32)[:, None], out=ramp)
        ramp += g0.astype(np.float32)[:, None]
        x *= ramp
        az0 = np.where(fresh, az1, self._az[:s])
        # Only the slots heard in this block (gain above 0 at either end) are placed: a slot silent
        # all block adds nothing (its response and speaker gains are taken afresh when it sounds again).
        idx = np.flatnonzero((g1 > 0.0) | (g0 > 0.0))
        if len(idx) == s:
            idx = slice(0, s)
        if self.binaural:
            self._binaural(x[idx], idx, az0[idx], az1[idx], fresh[idx], out)
        else:
            self._speakers(x[idx], idx, az0[idx], az1[idx], fresh[idx], out)
        quiet = np.ones(s, bool)
        quiet[idx] = False
        fresh[quiet] = True  # not placed this block: its direction is taken at once next time
        self._gain[:s] = g1
        self._az[:s] = az1
        fresh[:] = False

    def _speakers(self, x: np.ndarray, idx, az0: np.ndarray, az1: np.ndarray, fresh: np.ndarray,
                  out: np.ndarray) -> None:
        """``x`` (S', N) the placed slots' block; ``idx`` their slot indices (or a slice of all)."""
        s, n = x.shape
        d = wrap_rad(az1 - az0)  # the shorter way round
        g_prev = self._g_last[idx]
        if s and fresh.any():
            g_prev[fresh] = self.panner.gains(az1[fresh])
        out[:] = 0.0
        k = pan_subblocks
        for j in range(k):
            lo, hi = n * j // k, n * (j + 1) // k
            if hi <= lo or s == 0:
                continue
            g_next = self.panner.gains(az0 + d * ((j + 1) / k)) if s else g_prev
            seg = x[:, lo:hi]
            t = (np.arange(1, hi - lo + 1, dtype=np.float32) / np.float32(hi - lo))
            # out[i, c] = sum_s x[s, i] (g_prev[s, c] + t[i] (g_next - g_prev)[s, c])
            out[lo:hi] = seg.T @ g_prev.astype(np.float32)
            out[lo:hi] += (seg * t).T @ (g_next - g_prev).astype(np.float32)
            g_prev = g_next
        self._g_last[idx] = g_prev

    def _binaural(self, x: np.ndarray, idx, az0: np.ndarray, az1: np.ndarray, fresh: np.ndarray,
                  out: np.ndarray) -> None:
        """``x`` (S', N) the placed slots' block; ``idx`` their slot indices (or a slice of all)."""
        s, n = x.shape
        fft = self.fft_size
        taps1 = self._tail.shape[1]
        y = np.zeros((2, fft))
        if s:
            h_old = self._h_last[idx]  # a copy when idx is an index array: written back below
            # a response is worked out only for a direction that moved (a still listener and still
            # emitters keep theirs: the HRIR interpolation and its FFT are most of the cost)
            h_new = h_old.copy()
            moved = fresh | (np.abs(wrap_rad(az1 - self._h_az[idx])) > hrir_same_rad)
            if moved.any():
                h_new[moved] = scipy.fft.rfft(self.hrtf.hrirs(az1[moved]) * self.hrtf_scale, fft, axis=2)
                az_done = self._h_az[idx]
                az_done[moved] = az1[moved]
                self._h_az[idx] = az_done
            if fresh.any():
                h_old[fresh] = h_new[fresh]
            pad = self._pad[:, :s]
            np.multiply(x, 1.0 - self._ramp[None, :], out=pad[0, :, :n])
            np.multiply(x, self._ramp[None, :], out=pad[1, :, :n])
            spec = scipy.fft.rfft(pad, axis=2)  # (2, S, bins): the block through the old, the new response
            acc = self._acc
            acc[:] = np.einsum("sf,sef->ef", spec[0], h_old)
            acc += np.einsum("sf,sef->ef", spec[1], h_new)
            y = scipy.fft.irfft(acc, fft, axis=1)  # (2, fft): the block's full convolution
            self._h_last[idx] = h_new
        y[:, :taps1] += self._tail
        out[:, 0] = y[0, :n]
        out[:, 1] = y[1, :n]
        self._tail[:] = y[:, n:n + taps1]
