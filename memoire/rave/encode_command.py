"""`memoire encode FILE [--out FILE.npy] [--model FILE.ts]`: an audio file to its latent
trajectory.

The audio is read (any format libsndfile reads), mixed to mono and resampled to the model's
rate, encoded to (frames, latent_dim) float32 (one frame per hop_samples), saved as .npy
(default: next to the input, same name) and its mean vector printed, ready to paste as a
clip anchor in a level file.

Refused before anything is written (exit 2): an output that is the input audio or the model
(memoire/world/files.py ``check_output_path``); audio that is empty, silent throughout, or holds
NaN or infinite samples; a model whose encoder answers with NaN. The .npy is written whole or
not at all (``atomic_output``); a full disk is said as such.
"""

import argparse
from pathlib import Path

import numpy as np

from memoire.world.errors import UserError
from memoire.world.files import atomic_output, cannot_write, check_output_path
from memoire.world.paths import DEFAULT_MODEL

# Audio whose peak stays below this (-120 dBFS) is silence: nothing to place in a level.
silence_peak = 1e-6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="audio file (wav, flac, ogg, ...)")
    parser.add_argument("--out", default=None, help="output .npy (default: FILE with .npy suffix)")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="TorchScript model (default assets/models/hutong.ts)")


def check_samples(path: Path) -> None:
    """Refuse audio with nothing to encode: no samples, NaN or infinite samples, silence only."""
    import soundfile as sf

    try:
        audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:  # unreadable or unsupported file
        raise UserError(f"{path}: cannot read this audio file ({exc}). "
                        "Use WAV, FLAC or another format libsndfile reads.") from None
    if audio.size == 0:
        raise UserError(f"{path}: the file holds no samples (0 s of audio); nothing to encode.")
    bad = ~np.isfinite(audio)
    if bad.any():
        n_nan, n_inf = int(np.isnan(audio).sum()), int(np.isinf(audio).sum())
        kinds = " and ".join(k for k, n in ((f"{n_nan} NaN", n_nan), (f"{n_inf} infinite", n_inf)) if n)
        first = int(np.argmax(bad.any(axis=1)))
        raise UserError(f"{path}: {kinds} of {audio.size} samples (the first at sample frame {first}); a damaged "
                        "or floating-point file the encoder cannot use. Repair or re-export the audio.")
    if float(np.abs(audio).max()) < silence_peak:
        raise UserError(f"{path}: silent throughout (peak below -120 dBFS); encoding silence gives no sound "
                        "to place in a level.")


def load_encoder(model_path: Path):
    """(TorchScript module, model card) of a model that encodes; UserError for a missing or foreign
    file, or a decoder-only export."""
    import torch

    from memoire.audio.model import inspect_model

    model_path = Path(model_path)
    if model_path.is_dir():
        raise UserError(f"{model_path} is a folder, not a model file (a TorchScript .ts)")
    info = inspect_model(model_path)  # UserError for a missing or foreign model file
    module = torch.jit.load(str(model_path), map_location="cpu").eval()
    if not hasattr(module, "encode"):
        raise UserError(f"{model_path}: this model has no encode method (a decoder-only export); "
                        "use a full RAVE/Memoire export.")
    return module, info


def encode_with(path: Path, module, info) -> np.ndarray:
    """(frames, latent_dim) float32 latent trajectory of the audio file ``path``, encoded by
    ``module`` (from ``load_encoder``). UserError for unusable audio or a broken encoder."""
    import torch

    from memoire.rave.data import load_audio

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such audio file.")
    check_samples(path)
    audio = load_audio(path, info.sample_rate_hz)
    if len(audio) < info.hop_samples:
        raise UserError(f"{path}: {len(audio) / info.sample_rate_hz:.3f} s is shorter than one latent "
                        f"frame ({info.hop_samples / info.sample_rate_hz:.3f} s).")
    with torch.inference_mode():
        z = module.encode(torch.from_numpy(audio).view(1, 1, -1))
    z = z[0].T.contiguous().numpy().astype(np.float32)
    if z.ndim != 2 or not len(z) or z.shape[1] != info.latent_dim:
        raise UserError(f"{info.path}: the model's encoder gave an array of shape {z.shape} for {path}, not "
                        f"(frames, {info.latent_dim}); the model is broken")
    if not np.isfinite(z).all():
        raise UserError(f"{info.path}: the model's encoder gave {int((~np.isfinite(z)).sum())} NaN or infinite "
                        f"values for {path}; nothing written. The model is broken; retrain or re-export it.")
    return z


def encode_file(path: Path, model_path: Path) -> np.ndarray:
    """(frames, latent_dim) float32 latent trajectory of an audio file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such audio file.")
    check_samples(path)  # the audio's own problems before the model loads
    module, info = load_encoder(model_path)
    return encode_with(path, module, info)


def run(args: argparse.Namespace) -> int:
    src = Path(args.file)
    model = Path(args.model)
    out = Path(args.out) if args.out else src.with_suffix(".npy")
    if out.suffix.lower() != ".npy":
        raise UserError(f"--out {out}: give a .npy file (numpy saves the trajectory under that name)")
    check_output_path(out, [("the input audio", src), ("the model", model)], flag="--out")
    z = encode_file(src, model)
    try:
        with atomic_output(out) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, z)
    except OSError as e:
        raise cannot_write(out, e) from None
    mean = ", ".join(f"{v:.3f}" for v in z.mean(axis=0))
    print(f"{src}: {z.shape[0]} frames x {z.shape[1]} dims -> {out}")
    print(f"mean = [{mean}]")
    return 0
