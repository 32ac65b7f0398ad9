"""Causal, cacheable building blocks for the streaming decoder.

Shapes are (batch, channels, steps). A module in ``streaming`` mode keeps the inputs it
still needs from earlier calls in a buffer named ``cache`` and updates it on each call, so
that running it on consecutive blocks gives the same output as running it once on the
concatenation. Out of streaming mode (training) the past is zeros, which is exactly what an
empty cache holds, so a fresh streaming module reproduces the training-mode output.
"""


import torch
import torch.nn.functional as F
from torch import nn

LEAK = 0.2  # LeakyReLU slope used throughout (as in RAVE)


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
            return self.conv(padded)
        steps = x.shape[-1]
        taps = [padded[:, :, i * self.dilation : i * self.dilation + steps] for i in range(self.kernel)]
        return self.conv(torch.cat(taps, 1))


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
        y = self.conv(x)  # (B, out_ch * factor, n)
        b, n = y.shape[0], y.shape[-1]
        y = y.view(b, self.out_ch, self.factor, n).transpose(2, 3)
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
        return x + self.mix(F.leaky_relu(y, self.leak))


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
