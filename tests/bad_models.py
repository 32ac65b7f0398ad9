"""Misbehaving TorchScript models for tests/test_model_faults.py: each wraps tests/tiny_model.py's
``TinyDecoder`` (so it carries the class statistics a level's anchors need) and breaks one thing."""

from __future__ import annotations

from pathlib import Path
from typing import List

import torch

from tiny_model import TinyDecoder


class _Wrapped(torch.nn.Module):
    def __init__(self, latent_dim: int = 4):
        super().__init__()
        inner = TinyDecoder(latent_dim)
        self.inner = inner
        self.sampling_rate = inner.sampling_rate
        self.hop = inner.hop
        self.register_buffer("decode_params", inner.decode_params.clone())
        self.latent_class_names: List[str] = list(inner.latent_class_names)
        self.register_buffer("latent_class_mean", inner.latent_class_mean.clone())
        self.register_buffer("latent_class_std", inner.latent_class_std.clone())
        self.register_buffer("latent_class_trajectory", inner.latent_class_trajectory.clone())
        self.register_buffer("calls", torch.zeros(1))


class WrongSignature(_Wrapped):
    @torch.jit.export
    def decode(self, z: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        return self.inner.decode(z) * pitch


class WrongShape(_Wrapped):
    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(1, 2, 100)


class NaNAfter(_Wrapped):
    """Plays the tiny model's sound, then NaN from call ``after`` on (0: always)."""

    def __init__(self, after: int = 0):
        super().__init__()
        self.after = after

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        y = self.inner.decode(z)
        if float(self.calls[0]) >= self.after:
            y = y * float("nan")
        return y


class RaiseAt(_Wrapped):
    """Raises on call ``at`` and every call after it."""

    def __init__(self, at: int = 3):
        super().__init__()
        self.at = at

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if float(self.calls[0]) >= self.at:
            raise RuntimeError("the decoder's cache overflowed")
        return self.inner.decode(z)


class ShapeAfter(_Wrapped):
    """Returns half a block from call ``after`` on."""

    def __init__(self, after: int = 10):
        super().__init__()
        self.after = after

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        y = self.inner.decode(z)
        if float(self.calls[0]) >= self.after:
            y = y[:, :, : y.shape[2] // 2]
        return y


class Slow(_Wrapped):
    """The tiny model's sound after ``work`` products of two 256 x 256 matrices per frame."""

    def __init__(self, work: int = 10):
        super().__init__()
        self.work = work
        self.register_buffer("m", torch.randn(256, 256) / 16.0)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        x = self.m
        for _ in range(self.work * z.shape[2]):
            x = torch.tanh(x @ self.m)
        return self.inner.decode(z) + 0.0 * x[0, 0]


class NonStreaming(_Wrapped):
    """A non-causal smoothing of the latent over each call, zero-padded at the call's edges (as a
    non-streaming conv with "same" padding): the loudness at a block edge depends on the call."""

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        a = torch.sigmoid(z[:, :1])  # (1, 1, n)
        a = torch.nn.functional.avg_pool1d(a, 3, 1, 1, count_include_pad=True)
        env = a.repeat_interleave(self.hop, dim=2)
        return self.inner.decode(z) * env * 4.0


def save(module: torch.nn.Module, path: Path) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    return path


def slow_work_for(decode_s: float) -> int:
    """Products per frame that take about ``decode_s`` here (measured now, one thread)."""
    import time

    m = torch.randn(256, 256) / 16.0
    x = m
    t0 = time.perf_counter()
    for _ in range(50):
        x = torch.tanh(x @ m)
    per = (time.perf_counter() - t0) / 50
    return max(1, int(decode_s / per))
