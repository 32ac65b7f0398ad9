"""TorchScript export with the RAVE / nn~ interface, plus per-class latent statistics.

The exported module (see ``ScriptedSynth``) offers:

* ``encode(x)``: (B, 1, T) -> (B, D, T // hop_samples), stateless;
* ``decode(z)``: (B, D, n) -> (B, 1, n * hop_samples), STREAMING: caches of past inputs and
  the noise read position live in buffers, so consecutive calls continue one sound; call
  ``reset()`` to start a new one;
* ``forward(x)`` = ``decode(encode(x))``;
* buffers ``encode_params`` [1, 1, D, hop], ``decode_params`` [D, hop, 1, 1],
  ``forward_params`` [1, 1, 1, 1] (in_channels, in_ratio, out_channels, out_ratio, as
  nn_tilde's ``register_method`` stores them);
* ``get_methods()`` / ``get_attributes()`` -> List[str];
* attributes ``sampling_rate`` (Hz) and ``latent_class_names`` (List[str]); buffers
  ``latent_class_mean`` and ``latent_class_std`` (C, D) float32, from the encoder over the
  corpus, in the order of ``latent_class_names``; optionally ``latent_class_trajectory``
  (C, D, T) float32, each class's encoded corpus audio, which the game plays as the class's
  motion around its mean (a sparse class's static mean decodes to near silence).
"""


import copy
from pathlib import Path
from typing import List, Optional

import torch
from torch import nn

from memoire.rave.layers import set_streaming
from memoire.rave.model import AutoEncoder


class ScriptedSynth(nn.Module):
    """Wrapper scripted by ``export_torchscript``; not meant for training."""

    sampling_rate: int
    hop_samples: int
    latent_dim: int
    latent_class_names: List[str]
    methods: List[str]
    attributes: List[str]

    def __init__(self, model: AutoEncoder, class_names: List[str], class_mean: torch.Tensor,
                 class_std: torch.Tensor, class_trajectory: Optional[torch.Tensor] = None) -> None:
        super().__init__()
        model = copy.deepcopy(model).cpu().eval()
        for p in model.parameters():
            p.requires_grad_(False)
        set_streaming(model.decoder, True)
        set_streaming(model.pqmf, True)
        cfg = model.cfg
        self.pqmf = model.pqmf
        self.encoder = model.encoder
        self.decoder = model.decoder
        self.sampling_rate = int(cfg.sample_rate_hz)
        self.hop_samples = int(cfg.hop_samples)
        self.latent_dim = int(cfg.latent_dim)
        d, hop = self.latent_dim, self.hop_samples
        self.register_buffer("encode_params", torch.tensor([1, 1, d, hop]))
        self.register_buffer("decode_params", torch.tensor([d, hop, 1, 1]))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
        self.methods = ["encode", "decode", "forward"]
        self.attributes = ["sampling_rate", "latent_class_names"]
        if class_mean.shape != (len(class_names), d) or class_std.shape != class_mean.shape:
            raise ValueError("class statistics must be (classes, latent_dim)")
        self.latent_class_names = list(class_names)
        self.register_buffer("latent_class_mean", class_mean.detach().float().cpu().contiguous())
        self.register_buffer("latent_class_std", class_std.detach().float().cpu().contiguous())
        if class_trajectory is not None:
            if class_trajectory.dim() != 3 or class_trajectory.shape[:2] != (len(class_names), d):
                raise ValueError("class trajectories must be (classes, latent_dim, frames)")
            self.register_buffer("latent_class_trajectory", class_trajectory.detach().float().cpu().contiguous())

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1] // self.hop_samples
        x = x[:, :, : n * self.hop_samples]
        x = torch.nn.functional.pad(x, (0, self.pqmf.n_taps - 1))
        bands = torch.nn.functional.conv1d(x, self.pqmf.analysis_weight, stride=self.pqmf.n_bands)
        return self.encoder(bands)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.pqmf.synthesis(self.decoder(z, None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.jit.export
    def reset(self) -> None:
        """Forget the streaming state (caches and noise position)."""
        self.pqmf.reset()
        self.decoder.reset()

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return self.methods

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return self.attributes


def export_torchscript(model: AutoEncoder, path: Path, class_names: List[str],
                       class_mean: torch.Tensor, class_std: torch.Tensor,
                       class_trajectory: Optional[torch.Tensor] = None) -> torch.jit.ScriptModule:
    """Script ``model`` with the nn~ interface, save it to ``path`` and return it."""
    scripted = torch.jit.script(ScriptedSynth(model, class_names, class_mean, class_std, class_trajectory))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scripted.save(str(path))
    return scripted
