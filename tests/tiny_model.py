"""A tiny TorchScript model with the RAVE/nn~ decoder interface, for tests.

Each latent dimension drives one sine partial: frequency 220 * (d + 1) * 2 ** tanh(z_d) Hz and
amplitude 0.08 * sigmoid(z_d); the latent is linearly interpolated between frames. The phase and
the previous frame are the streaming cache, so consecutive decode calls continue the sound and
decoding in blocks equals decoding the whole sequence.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import torch

CLASSES = ["pigeons", "bells", "vendors", "birds", "insects", "wind", "rain", "footsteps", "chatter",
           "grinder", "courtyard"]


class TinyDecoder(torch.nn.Module):
    def __init__(self, latent_dim: int = 4, hop: int = 2048, sample_rate: int = 44100):
        super().__init__()
        self.latent_dim = latent_dim
        self.hop = hop
        self.sampling_rate = sample_rate
        self.register_buffer("decode_params", torch.tensor([latent_dim, hop, 1, 1]))
        self.register_buffer("phase", torch.zeros(latent_dim, 1))
        self.register_buffer("last_z", torch.zeros(latent_dim, 1))
        self.register_buffer("primed", torch.zeros(1))
        gen = torch.Generator().manual_seed(0)
        means = torch.randn(len(CLASSES), latent_dim, generator=gen) * 1.5
        self.latent_class_names: List[str] = list(CLASSES)
        self.register_buffer("latent_class_mean", means)
        self.register_buffer("latent_class_std", torch.full_like(means, 0.3))
        # encoded-audio stand-in per class: a slow sine wander around the mean, 200 frames
        t = torch.arange(200, dtype=torch.float32)
        wander = 0.8 * torch.sin(2 * 3.141592653589793 * t / 37.0)[None, None, :] \
            * torch.linspace(0.5, 1.0, latent_dim)[None, :, None]
        self.register_buffer("latent_class_trajectory", means[:, :, None] + wander)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        zb = z[0]  # (D, n); batch 1 as nn~ uses
        n = zb.shape[1]
        if float(self.primed[0]) == 0.0:
            self.last_z.copy_(zb[:, :1])
            self.primed.fill_(1.0)
        prev = torch.cat([self.last_z, zb[:, :-1]], dim=1)  # (D, n)
        t = (torch.arange(self.hop, dtype=torch.float32) + 1.0) / self.hop  # (hop,)
        zs = prev[:, :, None] + (zb - prev)[:, :, None] * t[None, None, :]  # (D, n, hop)
        zs = zs.reshape(self.latent_dim, n * self.hop)
        base = 220.0 * (torch.arange(self.latent_dim, dtype=torch.float32) + 1.0)[:, None]
        freq = base * torch.pow(2.0, torch.tanh(zs))
        ph = self.phase + torch.cumsum(2.0 * 3.141592653589793 * freq / self.sampling_rate, dim=1)
        self.phase.copy_(torch.remainder(ph[:, -1:], 2.0 * 3.141592653589793))
        self.last_z.copy_(zb[:, -1:])
        y = (0.08 * torch.sigmoid(zs) * torch.sin(ph)).sum(dim=0)
        return y[None, None, :]

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["decode"]


class NoInterface(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


def save_tiny(path: Path, latent_dim: int = 4) -> Path:
    torch.jit.save(torch.jit.script(TinyDecoder(latent_dim)), str(path))
    return path


def save_no_interface(path: Path) -> Path:
    torch.jit.save(torch.jit.script(NoInterface()), str(path))
    return path
