"""Audio corpus loading for training and evaluation.

A corpus is a folder of WAV/FLAC files (searched recursively). If it holds a
``manifest.csv`` with columns ``class`` and ``file`` (and optionally ``split``), those give
each file's class and split; otherwise a file's class is its sub-folder's name (or the file
name for files at the top), and the last ``HELDOUT_FRACTION`` of every file is held out.

Audio arrays are float32 mono at the model rate, shape (samples,).
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from memoire.world.errors import UserError

AUDIO_SUFFIXES = (".wav", ".flac")
HELDOUT_FRACTION = 0.15  # tail of each file kept for evaluation when there is no split column
TRAIN_SPLIT = "train"


@dataclass(frozen=True)
class Clip:
    """One file's audio. ``split`` is "train" or a held-out split name."""

    path: Path
    cls: str
    split: str
    audio: np.ndarray  # float32 (samples,), mono at the model rate


def find_audio_files(folder: Path) -> List[Path]:
    """All WAV/FLAC files under ``folder``, sorted; UserError if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder. Give --data a folder of .wav/.flac files.")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise UserError(f"{folder}: no .wav or .flac files in this folder or below it. "
                        "Put training audio there or point --data elsewhere.")
    return files


def load_audio(path: Path, sample_rate_hz: int) -> np.ndarray:
    """Read an audio file as float32 mono at ``sample_rate_hz`` (polyphase resampling)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:  # unreadable or unsupported file
        raise UserError(f"{path}: cannot read this audio file ({exc}). "
                        "Use WAV, FLAC or another format libsndfile reads.") from exc
    audio = audio.mean(axis=1)
    if rate != sample_rate_hz:
        g = math.gcd(int(rate), int(sample_rate_hz))
        audio = resample_poly(audio, sample_rate_hz // g, rate // g).astype(np.float32)
    return np.ascontiguousarray(audio, dtype=np.float32)


def read_manifest(folder: Path) -> Optional[Dict[str, Tuple[str, str]]]:
    """{relative file path: (class, split)} from folder/manifest.csv, or None if absent."""
    path = Path(folder) / "manifest.csv"
    if not path.is_file():
        return None
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        for col in ("class", "file"):
            if col not in fields:
                raise UserError(f"{path}: missing column '{col}' (found {', '.join(fields) or 'none'}). "
                                "The manifest needs at least the columns class and file.")
        rows = {}
        for line, row in enumerate(reader, start=2):
            if not row["file"] or not row["class"]:
                raise UserError(f"{path}, line {line}: empty 'file' or 'class'.")
            rows[row["file"]] = (row["class"], (row.get("split") or TRAIN_SPLIT).strip())
    return rows


def load_corpus(folder: Path, sample_rate_hz: int, min_samples: int = 0) -> List[Clip]:
    """Load every audio file of a corpus folder with its class and split."""
    folder = Path(folder)
    files = find_audio_files(folder)
    manifest = read_manifest(folder)
    clips = []
    for path in files:
        rel = path.relative_to(folder).as_posix()
        if manifest is not None:
            if rel not in manifest and path.name not in manifest:
                continue  # not listed: not part of the corpus
            cls, split = manifest.get(rel) or manifest[path.name]
        else:
            cls = path.parent.name if path.parent != folder else path.stem
            split = TRAIN_SPLIT
        audio = load_audio(path, sample_rate_hz)
        if len(audio) < min_samples:
            continue
        clips.append(Clip(path, cls, split, audio))
    if not clips:
        raise UserError(f"{folder}: no usable audio (files listed in manifest.csv and at least "
                        f"{min_samples / sample_rate_hz:.2f} s long).")
    return clips


def split_train_heldout(clips: Sequence[Clip]) -> Tuple[List[Clip], List[Clip]]:
    """Training and held-out clips.

    With a split column the held-out clips are those not in "train"; without one (every clip
    is "train") each clip's last HELDOUT_FRACTION becomes a held-out clip.
    """
    train = [c for c in clips if c.split == TRAIN_SPLIT]
    held = [c for c in clips if c.split != TRAIN_SPLIT]
    if held and train:
        return train, held
    train, held = [], []
    for c in clips:
        cut = int(len(c.audio) * (1.0 - HELDOUT_FRACTION))
        train.append(Clip(c.path, c.cls, TRAIN_SPLIT, c.audio[:cut]))
        held.append(Clip(c.path, c.cls, "heldout", c.audio[cut:]))
    return train, held


class SegmentSampler:
    """Random training crops: a class uniformly, then a clip of it (by length), then an offset.

    Sampling classes uniformly keeps rare classes from being starved.
    """

    def __init__(self, clips: Sequence[Clip], segment_samples: int, seed: int) -> None:
        usable = [c for c in clips if len(c.audio) >= segment_samples]
        if not usable:
            raise UserError(f"no training file is at least {segment_samples} samples long; "
                            "use longer recordings.")
        self.segment_samples = segment_samples
        self.by_class: Dict[str, List[Clip]] = {}
        for c in usable:
            self.by_class.setdefault(c.cls, []).append(c)
        self.classes = sorted(self.by_class)
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int) -> Tuple[np.ndarray, np.ndarray]:
        """Audio (batch_size, 1, segment_samples) float32 and class indices (batch_size,)
        into ``self.classes``."""
        out = np.empty((batch_size, 1, self.segment_samples), dtype=np.float32)
        labels = np.empty(batch_size, dtype=np.int64)
        for i in range(batch_size):
            labels[i] = self.rng.integers(len(self.classes))
            clips = self.by_class[self.classes[labels[i]]]
            weights = np.array([len(c.audio) for c in clips], dtype=np.float64)
            clip = clips[self.rng.choice(len(clips), p=weights / weights.sum())]
            start = self.rng.integers(0, len(clip.audio) - self.segment_samples + 1)
            out[i, 0] = clip.audio[start : start + self.segment_samples]
        return out, labels
