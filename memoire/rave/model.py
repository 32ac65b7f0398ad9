"""The hutong synth: a small multiband autoencoder in the RAVE family.

Signal path (shapes for batch B, T samples at ``sample_rate_hz``, n = T // hop_samples):

    audio (B, 1, T) -> PQMF analysis (B, M, T/M) -> Encoder -> z (B, D, n)
    z (B, D, n) -> Decoder -> bands (B, M, T/M) = waveform branch + filtered-noise branch
               -> PQMF synthesis -> audio (B, 1, T)

with M = ``n_bands`` and hop_samples = M * prod(ratios) = 2048 by default (one latent frame
per 46.4 ms at 44.1 kHz). The encoder is non-causal (it runs offline on whole clips); the
decoder is causal and cacheable (memoire.rave.layers) so it streams block by block.

The noise branch reads a fixed table of white noise (one row per band, at the band rate),
filters it through a learnable bank of ``noise_subbands`` FIR band-passes per band and mixes
the sub-bands with gains predicted by the decoder at ``noise_steps_per_frame`` per latent
frame. In streaming mode the read position lives in the buffer ``noise_pos``, so the noise
continues across calls and a block-wise decode is sample-identical to a whole decode.
"""


from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from memoire.rave.layers import LEAK, CachedConv1d, ResidualUnit, Upsample
from memoire.rave.pqmf import PQMF


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (saved in checkpoints; all sizes in steps/samples)."""

    sample_rate_hz: int = 44100
    n_bands: int = 16
    pqmf_taps_per_band: int = 8
    latent_dim: int = 12
    # Down/up-sampling ratios between the band rate and the latent rate; their product
    # times n_bands is hop_samples.
    ratios: tuple = (4, 4, 4, 2)
    encoder_channels: tuple = (48, 64, 96, 128, 192)
    # Decoder channels at the latent rate, then after each upsampling (coarse to fine).
    decoder_channels: tuple = (192, 128, 64, 32, 24)
    # Dilations of the residual units at each decoder level (after each upsampling).
    decoder_dilations: tuple = ((1, 3), (1, 3), (1, 3), (1,))
    noise_subbands: int = 4
    noise_fir_taps: int = 16
    # Decoder level (index into ratios) whose output drives the noise gains.
    noise_level: int = 1
    noise_table_steps: int = 65536  # band-rate steps: 23.8 s period at 44.1 kHz / 16
    noise_seed: int = 1234

    @property
    def hop_samples(self) -> int:
        return self.n_bands * int(np.prod(self.ratios))

    @property
    def band_steps_per_frame(self) -> int:
        return int(np.prod(self.ratios))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        for key in ("ratios", "encoder_channels", "decoder_channels"):
            if key in d:
                d[key] = tuple(d[key])
        if "decoder_dilations" in d:
            d["decoder_dilations"] = tuple(tuple(x) for x in d["decoder_dilations"])
        return cls(**d)


def mod_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Positive amplitude with a wide dynamic range (RAVE's modified sigmoid)."""
    return 2.0 * torch.sigmoid(x).pow(2.3) + 1e-7


class _EncoderUnit(nn.Module):
    def __init__(self, ch: int, dilation: int) -> None:
        super().__init__()
        self.leak = LEAK
        self.conv = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.leaky_relu(self.conv(F.leaky_relu(x, self.leak)), self.leak))


class Encoder(nn.Module):
    """Bands (B, M, S) -> latent (B, D, S // prod(ratios)); non-causal, offline."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.leak = LEAK
        ch = cfg.encoder_channels
        self.inp = nn.Conv1d(cfg.n_bands, ch[0], 7, padding=3)
        blocks = []
        for i, r in enumerate(cfg.ratios):
            blocks.append(_EncoderUnit(ch[i], 1))
            blocks.append(_EncoderUnit(ch[i], 3))
            blocks.append(nn.LeakyReLU(LEAK))
            blocks.append(nn.Conv1d(ch[i], ch[i + 1], 2 * r, stride=r, padding=r // 2))
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Conv1d(ch[-1], cfg.latent_dim, 3, padding=1)

    def forward(self, bands: torch.Tensor) -> torch.Tensor:
        # log-compressed band magnitudes help the quiet textures (insects, distant wind)
        x = self.inp(bands)
        x = self.blocks(x)
        return self.out(F.leaky_relu(x, self.leak))


class Decoder(nn.Module):
    """Latent (B, D, n) -> bands (B, M, n * prod(ratios)); causal and cacheable."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.leak = LEAK
        ch = cfg.decoder_channels
        m, k = cfg.n_bands, cfg.noise_subbands
        self.n_bands = m
        self.noise_subbands = k
        self.noise_level = cfg.noise_level
        self.noise_repeat = int(np.prod(cfg.ratios[cfg.noise_level + 1 :]))
        self.table_steps = cfg.noise_table_steps
        self.streaming = False

        self.inp = CachedConv1d(cfg.latent_dim, ch[0], 3)
        ups = []
        levels = []
        for i, r in enumerate(cfg.ratios):
            ups.append(Upsample(ch[i], ch[i + 1], r))
            levels.append(nn.ModuleList([ResidualUnit(ch[i + 1], 3, d) for d in cfg.decoder_dilations[i]]))
        self.ups = nn.ModuleList(ups)
        self.levels = nn.ModuleList(levels)
        self.wave_head = CachedConv1d(ch[-1], 2 * m, 3)
        self.noise_head = CachedConv1d(ch[cfg.noise_level + 1], m * k, 3)
        # Learnable FIR bank, (band, fir tap, sub-band): sub-band j of band b is
        # sum_i noise[b, t - taps + 1 + i] * noise_fir[b, i, j].
        self.noise_fir = nn.Parameter(_subband_firs(m, k, cfg.noise_fir_taps))
        self.noise_fir_taps = cfg.noise_fir_taps
        self.register_buffer("cache", torch.zeros(1, m, cfg.noise_fir_taps - 1))
        with torch.no_grad():
            # start with quiet noise so the waveform branch is not drowned early on
            self.noise_head.conv.bias.fill_(-2.0)
        gen = np.random.default_rng(cfg.noise_seed)
        table = gen.standard_normal((m, cfg.noise_table_steps)).astype(np.float32)
        self.register_buffer("noise_table", torch.from_numpy(table))
        self.register_buffer("noise_pos", torch.zeros(1, dtype=torch.long))

    @torch.jit.export
    def reset(self) -> None:
        """Empty every cache and rewind the noise table (streaming state for batch 1)."""
        self.inp.reset()
        for level in self.levels:
            for unit in level:
                unit.conv.reset()
        self.wave_head.reset()
        self.noise_head.reset()
        self.cache = torch.zeros(1, self.n_bands, self.noise_fir_taps - 1,
                                 dtype=self.cache.dtype, device=self.cache.device)
        self.noise_pos = torch.zeros_like(self.noise_pos)

    def _noise(self, batch: int, steps: int, offsets: Optional[torch.Tensor]) -> torch.Tensor:
        """White noise (B, M, steps) read from the table."""
        ramp = torch.arange(steps, device=self.noise_table.device)
        if offsets is None:
            # streaming or deterministic: one running position shared by the batch
            idx = (self.noise_pos + ramp) % self.table_steps
            if self.streaming:
                self.noise_pos = (self.noise_pos + steps) % self.table_steps
            noise = self.noise_table.index_select(1, idx)
            return noise.unsqueeze(0).expand(batch, -1, -1)
        idx = (offsets.view(-1, 1) + ramp.view(1, -1)) % self.table_steps  # (B, steps)
        noise = self.noise_table[:, idx.reshape(-1)].view(self.n_bands, batch, steps)
        return noise.transpose(0, 1)

    def forward(self, z: torch.Tensor, noise_offsets: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.inp(z)
        gains = torch.zeros(0)
        for i, (up, level) in enumerate(zip(self.ups, self.levels)):
            x = up(F.leaky_relu(x, self.leak))
            for unit in level:
                x = unit(x)
            if i == self.noise_level:
                gains = mod_sigmoid(self.noise_head(F.leaky_relu(x, self.leak)))
        head = self.wave_head(F.leaky_relu(x, self.leak))
        wave = torch.tanh(head[:, : self.n_bands]) * mod_sigmoid(head[:, self.n_bands :])

        b, steps = z.shape[0], x.shape[-1]
        noise = self._filtered_noise(self._noise(b, steps, noise_offsets))  # (B, M, K, steps)
        gains = gains.repeat_interleave(self.noise_repeat, dim=-1)
        noise = (noise * gains.view(b, self.n_bands, self.noise_subbands, steps)).sum(2)
        return wave + noise

    def _filtered_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """(B, M, steps) white noise -> (B, M, K, steps) sub-band noise (causal FIR, cached)."""
        pad = self.noise_fir_taps - 1
        if self.streaming:
            if self.cache.shape[0] != noise.shape[0]:
                self.cache = torch.zeros(noise.shape[0], self.n_bands, pad, dtype=noise.dtype, device=noise.device)
            padded = torch.cat([self.cache, noise], -1)
            self.cache = padded[:, :, padded.shape[-1] - pad :].detach()
        else:
            padded = F.pad(noise, (pad, 0))
        b, steps = noise.shape[0], noise.shape[-1]
        # (B*M, steps, taps) made contiguous: a plain bmm is faster on CPU than a broadcast
        # matmul over the strided unfold view or a grouped convolution at these sizes
        windows = padded.unfold(-1, self.noise_fir_taps, 1).reshape(b * self.n_bands, steps, self.noise_fir_taps)
        fir = self.noise_fir if b == 1 else self.noise_fir.repeat(b, 1, 1)
        out = torch.bmm(windows.contiguous(), fir)  # (B*M, steps, K)
        return out.view(b, self.n_bands, steps, self.noise_subbands).transpose(2, 3)


def _subband_firs(n_bands: int, k: int, taps: int) -> torch.Tensor:
    """Initial FIR band-passes splitting each band's baseband into k equal sub-bands.

    Returns (n_bands, taps, k), taps in time order (oldest first), for ``Decoder.noise_fir``.
    """
    n = np.arange(taps) - (taps - 1) / 2.0
    win = np.hanning(taps + 2)[1:-1]
    rows = []
    for j in range(k):
        lo, hi = j / k, (j + 1) / k  # fractions of the band's Nyquist
        h = hi * np.sinc(hi * n) - lo * np.sinc(lo * n)
        rows.append(h * win)
    bank = np.stack(rows)  # (k, taps)
    bank = bank / np.sqrt(np.sum(bank ** 2, axis=1, keepdims=True))
    w = np.tile(bank.T[None], (n_bands, 1, 1))  # symmetric taps: time order is irrelevant
    return torch.tensor(w, dtype=torch.float32)


class AutoEncoder(nn.Module):
    """PQMF + encoder + decoder. ``forward`` is the training pass."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.pqmf = PQMF(cfg.n_bands, cfg.pqmf_taps_per_band)
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) -> (B, D, T // hop); T is cut down to a multiple of hop_samples."""
        hop = self.cfg.hop_samples
        n = audio.shape[-1] // hop
        return self.encoder(self.pqmf.analysis(audio[..., : n * hop]))

    def decode(self, z: torch.Tensor, noise_offsets: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, D, n) -> (B, 1, n * hop)."""
        return self.pqmf.synthesis(self.decoder(z, noise_offsets))

    def forward(self, audio: torch.Tensor, latent_noise_std: float = 0.0):
        """Training pass: returns (reconstruction, clean latent)."""
        z = self.encode(audio)
        zin = z + latent_noise_std * torch.randn_like(z) if latent_noise_std > 0 else z
        offsets = torch.randint(0, self.cfg.noise_table_steps, (audio.shape[0],), device=audio.device)
        return self.decode(zin, offsets), z
