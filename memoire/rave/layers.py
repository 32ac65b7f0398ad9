"""Causal, cacheable building blocks for the streaming decoder.

Shapes are (batch, channels, steps). A module in ``streaming`` mode keeps the inputs it
still needs from earlier calls in a buffer named ``cache`` and updates it on each call, so
that running it on consecutive blocks gives the same output as running it once on the
concatenation. Out of streaming mode (training) the past is zeros, which is exactly what an
empty cache holds, so a fresh streaming module reproduces the training-mode output.
"""


from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

LEAK = 0.2  # LeakyReLU slope used throughout (as in RAVE)
# Up to this many steps, a batch-1 pointwise conv is computed as x^T W^T (F.linear): MKL's
# matrix product with a 2-8 column right operand is 3-4x slower than with that operand on the
# left (one thread, 128 channels x 4 steps: 71 us as a conv, 19 us as linear; measured with
# torch 2.13 on the development machine, see docs/model.md, "Decode speed").
LINEAR_MAX_STEPS = 8


def pointwise(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
              linear_max_steps: int = LINEAR_MAX_STEPS) -> torch.Tensor:
    """``F.conv1d(x, weight, bias)`` for a kernel-1 ``weight`` (out, in, 1); x (B, in, T).

    Batch 1 (the streaming decoder, in the game and in nn~) goes through a plain matrix
    product, which PyTorch's single-thread CPU convolution does not use for 1x1 kernels (its
    fallback copies through im2col); the result equals the convolution up to float rounding.
    The output may be a transposed view: callers reshape, never view.
    """
    if x.shape[0] != 1:
        return F.conv1d(x, weight, bias)
    w = weight.squeeze(-1)
    steps = x.shape[-1]
    if 1 < steps <= linear_max_steps:
        return F.linear(x.transpose(1, 2), w, bias).transpose(1, 2)
    if bias is None:
        return torch.mm(w, x[0]).unsqueeze(0)
    return torch.addmm(bias.unsqueeze(1), w, x[0]).unsqueeze(0)


def conv_valid(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    """``F.conv1d(x, weight, bias)`` (stride 1, no padding; weight (out, in, k), groups 1).

    Batch 1 gathers the k taps interleaved (channel c * k + tap), so that the weight is used
    as it lies, (out, in * k), in one ``pointwise`` product: faster than the convolution's
    single-thread fallback at the decoder's sizes (128 channels x 4 steps: 86 us -> ~25 us).
    """
    if x.shape[0] != 1:
        return F.conv1d(x, weight, bias)
    out_ch, in_ch, k = weight.shape[0], weight.shape[1], weight.shape[2]
    steps = x.shape[-1] - k + 1
    taps = torch.stack([x[:, :, i : i + steps] for i in range(k)], 2)
    return pointwise(taps.reshape(1, in_ch * k, steps), weight.reshape(out_ch, in_ch * k, 1), bias)


class CachedConv1d(nn.Module):
    """Causal Conv1d (stride 1): output step t sees inputs t - (k-1)*dilation .. t."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, dilation: int = 1, groups: int = 1) -> None:
        super().__init__()
        if dilation > 1 and groups != 1:
            raise ValueError("dilated CachedConv1d supports groups=1 only")
        # A dilated conv is stored as a pointwise conv over the k gathered taps (channel
        # index tap * in_ch + c): PyTorch's CPU kernel for small dilated convolutions is
        # several times slower than one gather and one pointwise convolution.
        if dilation == 1:
            self.conv = nn.Conv1d(in_ch, out_ch, kernel, groups=groups)
        else:
            self.conv = nn.Conv1d(in_ch * kernel, out_ch, 1)
        self.kernel = kernel
        self.dilation = dilation
        self.pad = (kernel - 1) * dilation
        self.in_ch = in_ch
        self.groups = groups
        self.streaming = False
        self.register_buffer("cache", torch.zeros(1, in_ch, self.pad))

    @torch.jit.export
    def reset(self) -> None:
        """Empty the cache (batch size 1)."""
        self.cache = torch.zeros(1, self.in_ch, self.pad, dtype=self.cache.dtype, device=self.cache.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad == 0:
            return self.conv(x)
        if self.streaming:
            if self.cache.shape[0] != x.shape[0]:
                self.cache = torch.zeros(x.shape[0], self.in_ch, self.pad, dtype=x.dtype, device=x.device)
            padded = torch.cat([self.cache, x], -1)
            self.cache = padded[:, :, padded.shape[-1] - self.pad :].detach()
        else:
            padded = F.pad(x, (self.pad, 0))
        if self.dilation == 1:
            if self.groups != 1:
                return self.conv(padded)
            return conv_valid(padded, self.conv.weight, self.conv.bias)
        steps = x.shape[-1]
        taps = [padded[:, :, i * self.dilation : i * self.dilation + steps] for i in range(self.kernel)]
        return pointwise(torch.cat(taps, 1), self.conv.weight, self.conv.bias)


class Upsample(nn.Module):
    """Upsampling by ``factor``: a transposed conv whose kernel equals its stride, computed
    as a pointwise conv to out_ch * factor channels (index o * factor + j) and a 1-D pixel
    shuffle (faster on CPU than PyTorch's transposed-conv kernel at these sizes).

    The kernels do not overlap, so each input step makes exactly ``factor`` output steps on
    its own: no cache is needed and block-wise calls are exact.
    """

    def __init__(self, in_ch: int, out_ch: int, factor: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch * factor, 1)
        self.out_ch = out_ch
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = pointwise(x, self.conv.weight, self.conv.bias)  # (B, out_ch * factor, n)
        b, n = y.shape[0], y.shape[-1]
        y = y.reshape(b, self.out_ch, self.factor, n).transpose(2, 3)
        return y.reshape(b, self.out_ch, n * self.factor)


class ResidualUnit(nn.Module):
    """x + conv1x1(lrelu(dilated causal conv(lrelu(x))))."""

    def __init__(self, ch: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.leak = LEAK
        self.conv = CachedConv1d(ch, ch, kernel, dilation)
        self.mix = nn.Conv1d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.leaky_relu(x, self.leak))
        return x + pointwise(F.leaky_relu(y, self.leak), self.mix.weight, self.mix.bias)


def set_streaming(module: nn.Module, streaming: bool) -> None:
    """Switch every cacheable submodule of ``module`` into or out of streaming mode and
    empty its cache."""
    for m in module.modules():
        if hasattr(m, "streaming"):
            m.streaming = streaming
        if isinstance(getattr(m, "cache", None), torch.Tensor):
            cache = m.cache
            m.cache = torch.zeros(1, *cache.shape[1:], dtype=cache.dtype, device=cache.device)
        if isinstance(getattr(m, "noise_pos", None), torch.Tensor):
            m.noise_pos.zero_()
