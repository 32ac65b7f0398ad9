"""Render the corpus classes and write the corpus folder (FLAC files + manifest.csv).

Seeds: the corpus seed N and a class/split are hashed (numpy ``SeedSequence``) into one
32-bit file seed; ``render_file(name, duration_s, file_seed)`` reproduces a file exactly, and
the manifest records that file seed. Train and test files of a class use different file seeds,
so the held-out audio is a different performance of the same recipe, not a cut of the train one.

A file longer than ``SEGMENT_S`` is several performances joined by crossfades, each with its
own seed drawn from the file seed: a model must learn the class (any flock's pitches, any
vendor's call), not one performance of it, so a training file holds several flocks, vendors
and bells rather than one long take of each.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import soundfile as sf

from memoire.world.errors import UserError
from memoire.world.paths import CORPUS_DIR, VOICE_DIR
from memoire.corpus import dsp
from memoire.corpus.recipes import RECIPES, RecipeContext

SAMPLE_RATE_HZ = 44_100
CLASS_NAMES = tuple(RECIPES)
SPLITS = ("train", "test")
MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("class", "file", "duration_s", "seed", "split")
# Where the committed corpus and the espeak clips live, relative to the repository root.
DEFAULT_OUT_DIR = CORPUS_DIR
DEFAULT_VOICE_DIR = VOICE_DIR


@dataclass(frozen=True)
class ClassLevel:
    """Target loudness of a class: RMS in dBFS, but never a peak above peak_dbfs."""

    rms_dbfs: float
    peak_dbfs: float = -1.0


# Levels chosen to keep the classes' natural loudness order (a bell near by is loud, the
# courtyard bed is quiet) and to keep the noise-like classes compact in FLAC: every 6 dB
# less is one bit per sample less to code (see docs/corpus.md, "Size").
CLASS_LEVELS = {
    "pigeons": ClassLevel(-22.0),
    "bells": ClassLevel(-22.0),
    "vendors": ClassLevel(-22.0),
    "birds": ClassLevel(-24.0),
    "insects": ClassLevel(-26.0),
    "wind": ClassLevel(-26.0),
    "rain": ClassLevel(-30.0),
    "footsteps": ClassLevel(-26.0),
    "chatter": ClassLevel(-28.0),
    "grinder": ClassLevel(-22.0),
    "courtyard": ClassLevel(-34.0),
}


def check_class_name(name: str) -> None:
    if name not in RECIPES:
        raise UserError(f"unknown corpus class '{name}'; the classes are: {', '.join(CLASS_NAMES)}")


def file_seed(corpus_seed: int, class_name: str, split: str) -> int:
    """The 32-bit seed of one corpus file, derived from the corpus seed, class and split."""
    check_class_name(class_name)
    sequence = np.random.SeedSequence([int(corpus_seed), CLASS_NAMES.index(class_name), SPLITS.index(split)])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def render_class(name: str, duration_s: float, seed: int, voice_dir: Path = DEFAULT_VOICE_DIR,
                 sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """``duration_s`` of class ``name`` as float32 mono at ``sample_rate_hz``, peak <= 1.

    A pure function of (name, duration_s, seed, voice clips): same arguments, same samples.
    The result is scaled to the class's ``CLASS_LEVELS`` target.
    """
    check_class_name(name)
    if not duration_s > 0:
        raise UserError(f"corpus duration must be positive seconds, got {duration_s}")
    n_samples = int(round(duration_s * sample_rate_hz))
    rng = np.random.default_rng(seed)
    ctx = RecipeContext(sample_rate_hz=sample_rate_hz, voice_dir=Path(voice_dir))
    audio = RECIPES[name](n_samples, rng, ctx)
    # Recipes may write a sample or two past a tail; trim/pad to the exact length.
    audio = np.resize(audio, n_samples) if audio.size >= n_samples else np.pad(audio, (0, n_samples - audio.size))
    # Fade 5 ms at both ends so files start and end at zero (no clicks when looped or chained).
    fade = min(int(0.005 * sample_rate_hz), n_samples // 2)
    ramp = np.linspace(0.0, 1.0, fade)
    audio[:fade] *= ramp
    audio[n_samples - fade:] *= ramp[::-1]
    level = CLASS_LEVELS[name]
    rms = np.sqrt(np.mean(audio ** 2))
    peak = np.max(np.abs(audio))
    if not (np.isfinite(rms) and rms > 0):
        raise RuntimeError(f"recipe '{name}' produced silence or non-finite samples (seed {seed})")
    gain = min(dsp.db_to_gain(level.rms_dbfs) / rms, dsp.db_to_gain(level.peak_dbfs) / peak)
    return (audio * gain).astype(np.float32)


# One performance per SEGMENT_S of a file (the last one may be shorter); joined by equal-power
# crossfades of SEGMENT_XFADE_S (the performances are independent, so their powers add).
# 12 s holds 2-4 events of the sparsest classes (vendors call every 3-9 s).
SEGMENT_S = 12.0
SEGMENT_XFADE_S = 0.5


def render_file(name: str, duration_s: float, seed: int, voice_dir: Path = DEFAULT_VOICE_DIR,
                sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """``duration_s`` of class ``name``: ceil(duration_s / SEGMENT_S) performances, each
    ``render_class`` with its own seed spawned from ``seed``, crossfaded into one signal.

    A pure function of its arguments. A file of at most SEGMENT_S is one performance
    rendered with ``seed`` itself (``render_class(name, duration_s, seed)``).
    """
    if not duration_s > 0:  # render_class says so too; NaN must not reach ceil below
        raise UserError(f"corpus duration must be positive seconds, got {duration_s}")
    n_segments = int(np.ceil(duration_s / SEGMENT_S - 1e-9))
    if n_segments <= 1:
        return render_class(name, duration_s, seed, voice_dir, sample_rate_hz)
    n_samples = int(round(duration_s * sample_rate_hz))
    xfade = int(SEGMENT_XFADE_S * sample_rate_hz)
    seg = int(np.ceil(n_samples / n_segments))
    seeds = np.random.SeedSequence(seed).generate_state(n_segments, dtype=np.uint32)
    out = np.zeros(n_samples + xfade, dtype=np.float64)
    fade = np.linspace(0.0, np.pi / 2, xfade)
    fade_in, fade_out = np.sin(fade), np.cos(fade)
    for k, seg_seed in enumerate(seeds):
        lo = k * seg
        length = min(seg, n_samples - lo) + xfade
        part = render_class(name, length / sample_rate_hz, int(seg_seed), voice_dir, sample_rate_hz).astype(np.float64)
        if k > 0:
            part[:xfade] *= fade_in
        if k < n_segments - 1:
            part[-xfade:] *= fade_out
        out[lo:lo + part.size] += part[: out.size - lo]
    return out[:n_samples].astype(np.float32)


@dataclass(frozen=True)
class ManifestRow:
    class_name: str
    file: str
    duration_s: float
    seed: int
    split: str


def write_corpus(out_dir: Path, train_seconds: float, test_seconds: float, corpus_seed: int,
                 classes: Iterable[str] = CLASS_NAMES, voice_dir: Path = DEFAULT_VOICE_DIR,
                 on_file: Callable[[str], None] | None = None) -> list[ManifestRow]:
    """Render every class's train (and, if test_seconds > 0, test) file into ``out_dir``.

    Files are ``<class>_<split>.flac``, 16-bit PCM FLAC at 44.1 kHz mono; ``manifest.csv``
    lists them. Rows of classes not rendered now are kept from an existing manifest, so
    re-rendering one class leaves the rest of the corpus listed. Returns the rows written now.
    ``on_file(label)`` is called after each file (progress display).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = list(classes)
    for name in classes:
        check_class_name(name)
    rows = []
    for name in classes:
        for split, seconds in (("train", train_seconds), ("test", test_seconds)):
            if seconds <= 0:
                continue
            seed = file_seed(corpus_seed, name, split)
            audio = render_file(name, seconds, seed, voice_dir=voice_dir)
            file_name = f"{name}_{split}.flac"
            sf.write(out_dir / file_name, audio, SAMPLE_RATE_HZ, subtype="PCM_16", format="FLAC")
            rows.append(ManifestRow(name, file_name, round(audio.size / SAMPLE_RATE_HZ, 3), seed, split))
            if on_file is not None:
                on_file(f"{name}/{split}")
    manifest_path = out_dir / MANIFEST_NAME
    kept = [r for r in read_manifest(manifest_path) if r.class_name not in classes] \
        if manifest_path.is_file() else []
    order = {name: i for i, name in enumerate(CLASS_NAMES)}
    listed = sorted(kept + rows, key=lambda r: (order.get(r.class_name, len(order)), SPLITS.index(r.split)
                                                if r.split in SPLITS else len(SPLITS)))
    write_manifest(manifest_path, listed)
    return rows


def write_manifest(path: Path, rows: list[ManifestRow]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MANIFEST_COLUMNS)
        for row in rows:
            writer.writerow([row.class_name, row.file, f"{row.duration_s:.3f}", row.seed, row.split])


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a corpus manifest; raises UserError for a missing file or wrong columns."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"corpus manifest {path} not found; generate the corpus with 'memoire corpus'.")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != MANIFEST_COLUMNS:
            raise UserError(f"{path}: columns are {reader.fieldnames}, expected {list(MANIFEST_COLUMNS)}")
        rows = []
        for line_no, rec in enumerate(reader, start=2):
            try:
                rows.append(ManifestRow(rec["class"], rec["file"], float(rec["duration_s"]),
                                        int(rec["seed"]), rec["split"]))
            except ValueError as err:
                raise UserError(f"{path}, line {line_no}: {err}") from None
    return rows
