"""Spectral distances used for training and evaluation.

All take audio (B, 1, T) or (B, T) float tensors at the model rate.
"""

from typing import Sequence

import numpy as np
import torch

# STFT sizes of the multi-resolution loss (samples at 44.1 kHz: 46 ms down to 2.9 ms);
# hops are a quarter of each size. RAVE uses a similar set.
MRSTFT_SIZES = (2048, 1024, 512, 256, 128)
LOG_EPS = 1e-7  # floor inside log magnitudes (about -140 dB)


def _mag(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x.reshape(-1, x.shape[-1]), n_fft, n_fft // 4, window=window,
                      center=True, return_complex=True)
    return spec.abs()


def multiscale_stft_distance(pred: torch.Tensor, target: torch.Tensor,
                             sizes: Sequence[int] = MRSTFT_SIZES) -> torch.Tensor:
    """Mean over resolutions of spectral convergence + L1 of log magnitudes (scalar)."""
    total = pred.new_zeros(())
    for n_fft in sizes:
        p, t = _mag(pred, n_fft), _mag(target, n_fft)
        convergence = torch.linalg.norm(p - t) / (torch.linalg.norm(t) + 1e-7)
        log_l1 = (torch.log(p + LOG_EPS) - torch.log(t + LOG_EPS)).abs().mean()
        total = total + convergence + log_l1
    return total / len(sizes)


def mel_filterbank(sample_rate_hz: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """Slaney-style triangular mel filters (n_mels, n_fft // 2 + 1), HTK mel scale."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate_hz / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(20.0), hz_to_mel(sample_rate_hz / 2), n_mels + 2))
    fb = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[i] = np.maximum(0.0, np.minimum(up, down)) * 2.0 / (hi - lo)
    return torch.tensor(fb, dtype=torch.float32)


# log-mel settings for evaluation: 2048-sample window, 512 hop, 80 mel bands, log10 with a
# 1e-5 floor (the common TTS/vocoder convention for "log-mel L1").
MEL_FFT = 2048
MEL_HOP = 512
MEL_BANDS = 80
MEL_FLOOR = 1e-5


def log_mel(x: torch.Tensor, sample_rate_hz: int) -> torch.Tensor:
    """(B, T) or (B, 1, T) -> (B, MEL_BANDS, frames), log10 magnitude mel spectrogram."""
    window = torch.hann_window(MEL_FFT, device=x.device, dtype=x.dtype)
    spec = torch.stft(x.reshape(-1, x.shape[-1]), MEL_FFT, MEL_HOP, window=window,
                      center=True, return_complex=True).abs()
    fb = mel_filterbank(sample_rate_hz, MEL_FFT, MEL_BANDS).to(x.device)
    return torch.log10(torch.clamp(fb @ spec, min=MEL_FLOOR))


def log_mel_l1(pred: torch.Tensor, target: torch.Tensor, sample_rate_hz: int) -> torch.Tensor:
    """Mean absolute difference of log10 mel magnitudes (scalar)."""
    return (log_mel(pred, sample_rate_hz) - log_mel(target, sample_rate_hz)).abs().mean()
