"""A model card: what the game needs to know about a model file, as plain numpy.

Read once from the TorchScript file in a process that has torch (memoire.audio.card), then shared:
the game, the editor and ``memoire check`` use it without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ModelCard:
    """What the game needs to know about a model file (immutable, safe to share across threads and
    processes)."""

    path: Path
    latent_dim: int
    hop_samples: int  # audio samples per latent frame (2048 for RAVE)
    channels: int
    sample_rate_hz: int
    class_names: tuple[str, ...]
    class_mean: np.ndarray  # (classes, latent_dim) float32, read-only
    class_std: np.ndarray  # (classes, latent_dim) float32, read-only
    rate_assumed: bool = False  # True when the file carries no sampling rate
    # Encoded corpus audio per class, (classes, frames, latent_dim) float32, read-only, or None:
    # the synth plays a class anchor as this motion around the class mean, so sparse sounds
    # (a bell, a bird, a call) keep their events; a static mean of such a class is near silence.
    class_frames: np.ndarray | None = None
    # The load-time test decode (memoire/audio/model.py check_decode): False when decoding in two
    # calls differs from decoding in one (a non-streaming export: it clicks at every block edge);
    # streaming_error is that difference, max |halves - whole| / RMS(whole).
    streaming: bool = True
    streaming_error: float = 0.0

    def class_index(self, name: str) -> int | None:
        try:
            return self.class_names.index(name)
        except ValueError:
            return None
