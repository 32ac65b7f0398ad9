"""Pseudo-quadrature mirror filter bank (PQMF): splits audio into ``n_bands`` critically
sampled sub-bands and joins them back.

Conventions: audio tensors are (batch, 1, samples); band tensors are (batch, n_bands, steps)
with ``steps = samples // n_bands``. The prototype is a Kaiser-windowed low-pass of
``n_bands * taps_per_band`` taps whose cut-off is tuned so that the cosine-modulated bank
reconstructs almost perfectly (Lin & Vaidyanathan 1998, "A Kaiser window approach for the
design of prototype filters of cosine modulated filterbanks").

Delay convention: analysis looks ``n_taps - 1`` samples ahead (it is only ever run offline,
on whole clips), synthesis is causal. The round trip analysis -> synthesis therefore has
zero delay, which lets the training loss compare the decoder's output with its input
sample for sample, while the decoder side streams with a cache of past band samples only.
"""


import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from memoire.rave.layers import conv_valid


def _kaiser_lowpass(n_taps: int, cutoff_rad: float, beta: float) -> np.ndarray:
    """Windowed-sinc low-pass, cut-off in radians per sample (pi = Nyquist)."""
    n = np.arange(n_taps) - (n_taps - 1) / 2.0
    ideal = cutoff_rad / math.pi * np.sinc(cutoff_rad / math.pi * n)
    return ideal * np.kaiser(n_taps, beta)


def design_prototype(n_bands: int, n_taps: int, beta: float = 9.0) -> np.ndarray:
    """Prototype low-pass whose cut-off minimises the bank's aliasing/distortion.

    The objective is the worst |autocorrelation| of the prototype at non-zero multiples of
    2 * n_bands: it vanishes exactly for a perfect-reconstruction cosine-modulated bank.
    """
    best_h, best_err = None, float("inf")
    centre = n_taps - 1
    for cutoff in np.linspace(0.6, 1.4, 801) * math.pi / (2 * n_bands):
        h = _kaiser_lowpass(n_taps, cutoff, beta)
        auto = np.correlate(h, h, mode="full")  # length 2 * n_taps - 1, peak at n_taps - 1
        lags = np.arange(2 * n_bands, n_taps, 2 * n_bands)
        err = float(np.max(np.abs(auto[centre + lags]))) if len(lags) else 0.0
        err = err / auto[centre]
        if err < best_err:
            best_err, best_h = err, h
    assert best_h is not None
    # Normalise so that sum over the band filters' power is unity at DC.
    return best_h / math.sqrt(2 * n_bands * float(np.sum(best_h ** 2)))


def _band_filters(n_bands: int, taps_per_band: int) -> tuple[np.ndarray, np.ndarray]:
    """Analysis and synthesis filters, each (n_bands, n_taps)."""
    n_taps = n_bands * taps_per_band
    h = design_prototype(n_bands, n_taps)
    n = np.arange(n_taps) - (n_taps - 1) / 2.0
    k = np.arange(n_bands)[:, None]
    phase = (-1.0) ** k * math.pi / 4
    arg = (2 * k + 1) * math.pi / (2 * n_bands) * n[None, :]
    analysis = 2 * h[None, :] * np.cos(arg + phase)
    synthesis = 2 * h[None, :] * np.cos(arg - phase)
    return analysis, synthesis


class PQMF(nn.Module):
    """Analysis (offline, zero-delay round trip) and streaming synthesis.

    ``synthesis`` is causal over band steps and keeps ``taps_per_band - 1`` past band
    frames in the buffer ``cache`` when ``streaming`` is set, so calling it block by block
    gives the same samples as calling it once on the whole band signal.
    """

    def __init__(self, n_bands: int = 16, taps_per_band: int = 8) -> None:
        super().__init__()
        self.n_bands = n_bands
        self.taps_per_band = taps_per_band
        self.n_taps = n_bands * taps_per_band
        self.streaming = False
        analysis, synthesis = _band_filters(n_bands, taps_per_band)
        # Analysis as a strided correlation: out[k, m] = sum_i w[k, i] x[m*M + i], with the
        # filter flipped so that it is a convolution looking n_taps - 1 samples ahead.
        self.register_buffer(
            "analysis_weight",
            torch.tensor(analysis[:, ::-1].copy(), dtype=torch.float32).unsqueeze(1),
        )
        # Polyphase synthesis: y[q*M + r] = M * sum_k sum_p u_k[q - p] g_k[p*M + r], a causal
        # conv over q with out channel r and kernel index i = P - 1 - p.
        poly = synthesis.reshape(n_bands, taps_per_band, n_bands)  # (k, p, r)
        weight = n_bands * poly.transpose(2, 0, 1)[:, :, ::-1]  # (r, k, P - 1 - p)
        self.register_buffer("synthesis_weight", torch.tensor(weight.copy(), dtype=torch.float32))
        self.register_buffer("cache", torch.zeros(1, n_bands, taps_per_band - 1))

    @torch.jit.ignore
    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) -> (B, n_bands, T // n_bands); T must be a multiple of n_bands."""
        if x.shape[-1] % self.n_bands:
            raise ValueError(f"length {x.shape[-1]} is not a multiple of {self.n_bands} bands")
        x = F.pad(x, (0, self.n_taps - 1))
        return F.conv1d(x, self.analysis_weight, stride=self.n_bands)

    @torch.jit.export
    def reset(self) -> None:
        """Empty the synthesis cache (batch size 1)."""
        self.cache = torch.zeros(1, self.n_bands, self.taps_per_band - 1,
                                 dtype=self.cache.dtype, device=self.cache.device)

    def synthesis(self, bands: torch.Tensor) -> torch.Tensor:
        """(B, n_bands, Q) -> (B, 1, Q * n_bands)."""
        pad = self.taps_per_band - 1
        if self.streaming:
            if self.cache.shape[0] != bands.shape[0]:
                self.cache = torch.zeros(
                    bands.shape[0], self.n_bands, pad, dtype=bands.dtype, device=bands.device
                )
            padded = torch.cat([self.cache, bands], -1)
            self.cache = padded[:, :, padded.shape[-1] - pad :].detach()
        else:
            padded = F.pad(bands, (pad, 0))
        y = conv_valid(padded, self.synthesis_weight, None)  # (B, M, Q), channel = phase r
        return y.transpose(1, 2).reshape(y.shape[0], 1, -1)
