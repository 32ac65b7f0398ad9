"""The model card for the game process, without torch: ``read_card(path) -> ModelCard``.

Reading a TorchScript file needs torch, which costs the game process ~300 MB and seconds of
import for a handful of numbers. So the card is read once in a short child process
(``python -m memoire.audio.probe MODEL OUT.npz``, memoire/audio/probe.py, which runs
``memoire.audio.model.inspect_model``) and kept as a small .npz in a cache folder, keyed by the
file's sha256 and the card's format version (``card_format``, bumped whenever the card gains or
changes a field): ``$XDG_CACHE_HOME/memoire/cards/<sha256>-v<format>.npz`` (else under
``~/.cache``). The next read of the same bytes costs one hash. A file that changed gets a new
hash, and a card written by an older Memoire has another version in its name (and inside it), so
a stale card is never used. Where the cache folder cannot be written, the card is read each time.

Errors are UserErrors with the same messages ``inspect_model`` gives (a missing file and a file
that is not a zip are told here, before any process starts; the rest come from the probe).

This module imports no torch (nor anything that does); memoire/audio/client.py relies on it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from memoire.world.card import ModelCard
from memoire.world.errors import UserError

MAKE_MODEL_HINT = (
    "make it with `memoire corpus` then `memoire train` (about an hour on a CPU), "
    "or pass --model with an artist's RAVE model exported with --streaming"
)
# The probe imports torch and loads the model: ~2-5 s on a 2-core machine; 120 s is a hung one.
probe_timeout_s = 120.0
# Exit status of the probe for a UserError (its message is the probe's stdout).
probe_user_error_status = 2
# The card's format in the cache: 2 added the load-time test decode (streaming, streaming_error).
card_format = 2


def check_model_file(path: Path) -> None:
    """The checks that need no torch: the file exists and is a zip (TorchScript files are).
    Raises UserError with inspect_model's messages."""
    if not path.exists():
        raise UserError(f"model file {path} not found; {MAKE_MODEL_HINT}")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a TorchScript model file (expected a .ts/.pt zip written by "
                        "torch.jit.save, as RAVE's export writes)")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "memoire" / "cards"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def card_to_npz(card: ModelCard, out: Path) -> None:
    """Write ``card`` (without its path: the card belongs to the bytes, not the name) as .npz."""
    from memoire.world.files import atomic_output

    arrays = dict(card_format=card_format, latent_dim=card.latent_dim, hop_samples=card.hop_samples,
                  channels=card.channels, sample_rate_hz=card.sample_rate_hz, rate_assumed=card.rate_assumed,
                  class_names=np.array(card.class_names, dtype=str), class_mean=card.class_mean,
                  class_std=card.class_std, streaming=card.streaming, streaming_error=card.streaming_error)
    if card.class_frames is not None:
        arrays["class_frames"] = card.class_frames
    with atomic_output(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def card_from_npz(source: Path, path: Path) -> ModelCard:
    """Read a card written by ``card_to_npz``; ``path`` is the model file it describes. Raises
    ValueError for a card of another format (written by another version of Memoire)."""
    with np.load(source, allow_pickle=False) as z:
        if "card_format" not in z.files or int(z["card_format"]) != card_format:
            raise ValueError(f"{source}: a model card of another format")
        def frozen(a):
            a = np.ascontiguousarray(a, dtype=np.float32)
            a.setflags(write=False)
            return a

        latent_dim = int(z["latent_dim"])
        names = tuple(str(n) for n in z["class_names"])
        mean = frozen(z["class_mean"]).reshape(len(names), latent_dim)
        std = frozen(z["class_std"]).reshape(len(names), latent_dim)
        frames = frozen(z["class_frames"]) if "class_frames" in z.files else None
        return ModelCard(path=Path(path), latent_dim=latent_dim, hop_samples=int(z["hop_samples"]),
                         channels=int(z["channels"]), sample_rate_hz=int(z["sample_rate_hz"]),
                         class_names=names, class_mean=mean, class_std=std,
                         rate_assumed=bool(z["rate_assumed"]), class_frames=frames,
                         streaming=bool(z["streaming"]), streaming_error=float(z["streaming_error"]))


def _probe(path: Path, out: Path) -> None:
    """Run the probe in a child process; raises UserError with its message."""
    import memoire

    env = dict(os.environ)
    root = str(Path(memoire.__file__).resolve().parents[1])  # the folder holding the memoire package
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        r = subprocess.run([sys.executable, "-m", "memoire.audio.probe", str(path), str(out)], env=env,
                           capture_output=True, text=True, timeout=probe_timeout_s)
    except subprocess.TimeoutExpired:
        raise UserError(f"{path}: reading the model took over {probe_timeout_s:g} s; is the file on a "
                        "working disk?") from None
    if r.returncode == probe_user_error_status:
        raise UserError(r.stdout.strip())
    if r.returncode != 0 or not out.exists():
        lines = (r.stderr or r.stdout).strip().splitlines()
        raise UserError(f"{path}: reading the model failed ({lines[-1] if lines else f'status {r.returncode}'})")


def read_card(path: str | Path) -> ModelCard:
    """The card of the model file ``path`` (cached by content). Raises UserError, as inspect_model."""
    path = Path(path)
    check_model_file(path)
    digest = file_sha256(path)
    folder = cache_dir()
    cached = folder / f"{digest}-v{card_format}.npz"
    if cached.exists():
        try:
            return card_from_npz(cached, path)
        except Exception:  # a torn, foreign or older cache file: read the model again
            pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _probe(path, cached)
        return card_from_npz(cached, path)
    except OSError:  # no writable cache folder: read it into a temporary one
        with tempfile.TemporaryDirectory(prefix="memoire-card-") as tmp:
            out = Path(tmp) / "card.npz"
            _probe(path, out)
            return card_from_npz(out, path)


def streaming_warning(card: ModelCard) -> str | None:
    """What to tell a person about a non-streaming model, once (None for a streaming one)."""
    if card.streaming:
        return None
    err = card.streaming_error
    size = f"{err * 100:.0f}%" if err >= 0.01 else f"{20 * np.log10(max(err, 1e-12)):.0f} dB"
    every_ms = card.hop_samples / card.sample_rate_hz * 1000
    return (f"{card.path.name} is not a streaming export: decoded in blocks it differs from one decode by "
            f"{size} of its own level at the block edges, so it will click at every block (every "
            f"{every_ms:.0f} ms or more); re-export it with `rave export --streaming`")
