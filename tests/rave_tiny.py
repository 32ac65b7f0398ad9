"""Shared tiny configurations for the audio/rave tests (fast on one CPU thread)."""

import numpy as np

from memoire.rave.model import ModelConfig
from memoire.rave.train import TrainConfig

# Same rate, bands and ratios as the shipped model (hop 2048), far fewer channels.
TINY_MODEL = ModelConfig(latent_dim=4, encoder_channels=(8, 8, 8, 8, 8), decoder_channels=(16, 8, 8, 8, 8),
                         noise_table_steps=4096)
TINY_TRAIN = TrainConfig(batch_size=2, segment_frames=2, learning_rate=3e-3, final_learning_rate=1e-3,
                         checkpoint_every=10)


def write_tiny_corpus(folder, seconds: float = 1.5, sample_rate_hz: int = 44100) -> None:
    """Two classes (a tone and band noise), one file each, with a manifest."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sample_rate_hz)) / sample_rate_hz
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    noise = 0.1 * rng.standard_normal(len(t))
    sf.write(folder / "tone.wav", tone.astype(np.float32), sample_rate_hz)
    sf.write(folder / "hiss.flac", noise.astype(np.float32), sample_rate_hz)
    (folder / "manifest.csv").write_text("class,file,duration_s,seed\ntone,tone.wav,1.5,0\nhiss,hiss.flac,1.5,1\n")
