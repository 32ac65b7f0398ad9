"""`memoire encode FILE [--out FILE.npy] [--model FILE.ts]`: an audio file to its latent
trajectory.

The audio is read (any format libsndfile reads), mixed to mono and resampled to the model's
rate, encoded to (frames, latent_dim) float32 (one frame per hop_samples), saved as .npy
(default: next to the input, same name) and its mean vector printed, ready to paste as a
clip anchor in a level file.
"""

import argparse
from pathlib import Path

import numpy as np

from memoire.world.errors import UserError
from memoire.world.paths import DEFAULT_MODEL



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="audio file (wav, flac, ogg, ...)")
    parser.add_argument("--out", default=None, help="output .npy (default: FILE with .npy suffix)")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="TorchScript model (default assets/models/hutong.ts)")


def encode_file(path: Path, model_path: Path) -> np.ndarray:
    """(frames, latent_dim) float32 latent trajectory of an audio file."""
    import torch

    from memoire.audio.model import inspect_model
    from memoire.rave.data import load_audio

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such audio file.")
    info = inspect_model(model_path)  # UserError for a missing or foreign model file
    module = torch.jit.load(str(model_path), map_location="cpu").eval()
    if not hasattr(module, "encode"):
        raise UserError(f"{model_path}: this model has no encode method (a decoder-only export); "
                        "use a full RAVE/Memoire export.")
    audio = load_audio(path, info.sample_rate_hz)
    if len(audio) < info.hop_samples:
        raise UserError(f"{path}: {len(audio) / info.sample_rate_hz:.3f} s is shorter than one latent "
                        f"frame ({info.hop_samples / info.sample_rate_hz:.3f} s).")
    with torch.inference_mode():
        z = module.encode(torch.from_numpy(audio).view(1, 1, -1))
    return z[0].T.contiguous().numpy().astype(np.float32)


def run(args: argparse.Namespace) -> int:
    src = Path(args.file)
    out = Path(args.out) if args.out else src.with_suffix(".npy")
    z = encode_file(src, Path(args.model))
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, z)
    mean = ", ".join(f"{v:.3f}" for v in z.mean(axis=0))
    print(f"{src}: {z.shape[0]} frames x {z.shape[1]} dims -> {out}")
    print(f"mean = [{mean}]")
    return 0
