"""Measure corpus audio against its recipes: level, spectral centroid, band energies, onsets.

``python -m memoire.corpus.measure [CORPUS_DIR] [--plots DIR]`` (or ``memoire corpus --measure``)
prints one table row per corpus file, then the recipe checks, and optionally draws one
spectrogram PNG per class. Exit status 1 when a check fails.

The checks (``RECIPE_CHECKS``) state what each recipe promises in measurable terms; tests
render short clips and apply the checks whose ``min_duration_s`` fits.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
from scipy import signal

# Analysis frame: 2048 samples (46 ms at 44.1 kHz, 21.5 Hz bins), hop 512 (11.6 ms).
FRAME_SAMPLES = 2048
HOP_SAMPLES = 512
# Bands of the table (Hz): sub/low, low-mid, speech/whistle, insect carriers, air, top.
BANDS_HZ = ((0, 250), (250, 1000), (1000, 2500), (2500, 6000), (6000, 12000), (12000, 22050))
# Steady tones (carriers, whistles) put their power into a few bins; sweeps and noise spread it.
CONCENTRATION_BINS = 20
# Onsets closer than this are one event (a rotary bell's strikes at ~20/s still count apart).
MIN_ONSET_GAP_S = 0.04


@dataclass(frozen=True)
class Measurement:
    """Figures for one clip. Band fractions are shares of total power (they sum to 1)."""

    duration_s: float
    rms_dbfs: float
    peak_dbfs: float
    centroid_hz: float
    peak_freq_hz: float
    band_fractions: tuple[float, ...]  # one per BANDS_HZ entry
    onsets_per_s: float
    flatness: float  # spectral flatness of the mean spectrum 100 Hz-16 kHz (1 = white)
    level_spread_db: float  # std of 0.5 s RMS levels (dB): how much the level moves
    concentration: float  # share of power in the 20 strongest bins (~430 Hz) of the mean spectrum

    def band(self, low_hz: float, high_hz: float) -> float:
        """Share of power between low_hz and high_hz (computed from the stored spectrum)."""
        return float(np.sum(self._band_power(low_hz, high_hz)))

    # The mean power spectrum as shares of the total, for band(); filled by measure().
    _freqs_hz: np.ndarray = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    _power_share: np.ndarray = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def _band_power(self, low_hz, high_hz):
        mask = (self._freqs_hz >= low_hz) & (self._freqs_hz < high_hz)
        return self._power_share[mask]


def measure(audio: np.ndarray, sample_rate_hz: int) -> Measurement:
    """Measure one mono clip (float, full scale 1.0)."""
    audio = np.asarray(audio, dtype=np.float64)
    freqs_hz, _, stft = signal.stft(audio, fs=sample_rate_hz, window="hann", nperseg=FRAME_SAMPLES,
                                    noverlap=FRAME_SAMPLES - HOP_SAMPLES, boundary=None, padded=False)
    power = np.abs(stft) ** 2  # (freq, frame)
    mean_power = power.mean(axis=1)
    total = float(mean_power.sum()) + 1e-30
    share = mean_power / total
    centroid_hz = float(np.sum(freqs_hz * share))
    audible = freqs_hz >= 50.0
    peak_freq_hz = float(freqs_hz[audible][np.argmax(mean_power[audible])])
    bands = tuple(float(share[(freqs_hz >= lo) & (freqs_hz < hi)].sum()) for lo, hi in BANDS_HZ)
    flat_mask = (freqs_hz >= 100.0) & (freqs_hz <= 16000.0)
    sub = mean_power[flat_mask] + 1e-30
    flatness = float(np.exp(np.mean(np.log(sub))) / np.mean(sub))
    rms = float(np.sqrt(np.mean(audio ** 2)))
    concentration = float(np.sort(share)[-CONCENTRATION_BINS:].sum())
    block = int(0.5 * sample_rate_hz)
    n_blocks = audio.size // block
    if n_blocks >= 2:
        block_rms = np.sqrt(np.mean(audio[: n_blocks * block].reshape(n_blocks, block) ** 2, axis=1))
        spread = float(np.std(20 * np.log10(block_rms + 1e-9)))
    else:
        spread = 0.0
    return Measurement(
        duration_s=audio.size / sample_rate_hz,
        rms_dbfs=20 * np.log10(rms + 1e-12),
        peak_dbfs=20 * np.log10(float(np.max(np.abs(audio))) + 1e-12),
        centroid_hz=centroid_hz,
        peak_freq_hz=peak_freq_hz,
        band_fractions=bands,
        onsets_per_s=_onset_rate(power, sample_rate_hz, audio.size),
        flatness=flatness,
        level_spread_db=spread,
        concentration=concentration,
        _freqs_hz=freqs_hz,
        _power_share=share,
    )


def _onset_rate(power: np.ndarray, sample_rate_hz: int, n_samples: int) -> float:
    """Onsets per second: peaks of the positive log-spectral flux above an adaptive threshold.

    Flux = sum over bins of the rise in log power (dB, floored 60 dB under the loudest frame
    so that the noise of near-silence does not count). A frame is an onset when its flux is a
    local maximum, exceeds median + 4 x MAD of the surrounding 1.5 s, and exceeds an absolute
    floor of 1.5 dB per bin on average over the bins that rose.
    """
    if power.shape[1] < 3:
        return 0.0
    log_p = 10 * np.log10(power + 1e-20)
    log_p = np.maximum(log_p, log_p.max() - 60.0)
    rise = np.maximum(np.diff(log_p, axis=1), 0.0)
    flux = rise.mean(axis=0)
    win = max(3, int(1.5 * sample_rate_hz / HOP_SAMPLES) | 1)
    pad = win // 2
    padded = np.pad(flux, pad, mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, win)
    med = np.median(windows, axis=1)
    mad = np.median(np.abs(windows - med[:, None]), axis=1)
    threshold = np.maximum(med + 4.0 * mad, 1.5)
    local_max = np.r_[False, (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]), False]
    candidates = np.flatnonzero(local_max & (flux > threshold))
    min_gap = max(1, int(MIN_ONSET_GAP_S * sample_rate_hz / HOP_SAMPLES))
    kept, last = 0, -min_gap
    for frame in candidates:
        if frame - last >= min_gap:
            kept += 1
            last = frame
    return kept / (n_samples / sample_rate_hz)


@dataclass(frozen=True)
class Check:
    """One measurable promise of a recipe; meaningful from ``min_duration_s`` of audio on."""

    description: str
    passes: Callable[[Measurement], bool]
    min_duration_s: float = 0.0


# What each recipe promises (see recipes.py docstrings for the physics behind the numbers).
RECIPE_CHECKS: dict[str, tuple[Check, ...]] = {
    "pigeons": (
        Check("85 % of power in 0.45-4.5 kHz (closed-pipe whistles)", lambda m: m.band(450, 4500) >= 0.85),
        Check("strongest frequency 450-1400 Hz (a whistle fundamental)", lambda m: 450 <= m.peak_freq_hz <= 1400),
        Check("tonal: spectral flatness < 0.05", lambda m: m.flatness < 0.05),
    ),
    "bells": (
        Check("strongest frequency within 12 % of 2.6 kHz", lambda m: abs(m.peak_freq_hz / 2600 - 1) <= 0.12),
        Check("40 % of power in 2.2-3.0 kHz (fundamental mode)", lambda m: m.band(2200, 3000) >= 0.4),
        Check("upper modes present: 5 % of power in 5-10 kHz", lambda m: m.band(5000, 10000) >= 0.05),
        Check("struck: at least 0.3 onsets/s", lambda m: m.onsets_per_s >= 0.3, min_duration_s=10),
    ),
    "vendors": (
        Check("band-limited call: 90 % of power in 0.2-4 kHz", lambda m: m.band(200, 4000) >= 0.9),
        Check("voice centroid 400-2000 Hz", lambda m: 400 <= m.centroid_hz <= 2000),
        Check("calls come and go: level spread >= 3 dB", lambda m: m.level_spread_db >= 3, min_duration_s=10),
    ),
    "birds": (
        Check("75 % of power in 1.5-8 kHz (songbird range)", lambda m: m.band(1500, 8000) >= 0.75),
        Check("centroid 2-6 kHz", lambda m: 2000 <= m.centroid_hz <= 6000),
        Check("chirpy: at least 0.5 onsets/s", lambda m: m.onsets_per_s >= 0.5, min_duration_s=10),
    ),
    "insects": (
        Check("80 % of power in 2.5-6 kHz (carriers)", lambda m: m.band(2500, 6000) >= 0.8),
        Check("strongest frequency 2.5-6 kHz", lambda m: 2500 <= m.peak_freq_hz <= 6000),
        Check("narrowband carriers: 15 % of power within 3 % of the strongest frequency",
              lambda m: m.band(m.peak_freq_hz * 0.97, m.peak_freq_hz * 1.03) >= 0.15),
        Check("steady carriers: 30 % of power in the 20 strongest bins", lambda m: m.concentration >= 0.3),
    ),
    "wind": (
        Check("80 % of power below 1 kHz", lambda m: m.band(0, 1000) >= 0.8),
        Check("centroid under 800 Hz", lambda m: m.centroid_hz < 800),
        Check("gusting: level spread >= 2 dB", lambda m: m.level_spread_db >= 2, min_duration_s=20),
    ),
    "rain": (
        Check("broadband: >= 10 % of power in each of 0.25-1, 1-2.5, 2.5-6, 6-12 kHz",
              lambda m: min(m.band(250, 1000), m.band(1000, 2500), m.band(2500, 6000), m.band(6000, 12000)) >= 0.1),
        Check("noise-like: spectral flatness > 0.2", lambda m: m.flatness > 0.2),
        Check("steady: level spread < 3 dB", lambda m: m.level_spread_db < 3, min_duration_s=10),
    ),
    "footsteps": (
        # Heel and toe read as ~1.6 onsets per step; 1-3 walkers at 1.5-2.2 steps/s each.
        Check("0.5-10 onsets/s (steps)", lambda m: 0.5 <= m.onsets_per_s <= 10.0, min_duration_s=10),
        Check("heel thumps: 15 % of power below 250 Hz", lambda m: m.band(0, 250) >= 0.15),
        Check("impulsive: peak at least 15 dB over RMS", lambda m: m.peak_dbfs - m.rms_dbfs >= 15),
    ),
    "chatter": (
        Check("blurred: 90 % of power below 2 kHz", lambda m: m.band(0, 2000) >= 0.9),
        Check("speech range: 60 % of power in 100-1000 Hz", lambda m: m.band(100, 1000) >= 0.6),
    ),
    "grinder": (
        Check("iron plates and voice: 85 % of power in 0.5-6 kHz", lambda m: m.band(500, 6000) >= 0.85),
        Check("struck: at least 0.5 onsets/s", lambda m: m.onsets_per_s >= 0.5, min_duration_s=10),
    ),
    "courtyard": (
        Check("quiet bed: RMS at most -30 dBFS", lambda m: m.rms_dbfs <= -30),
        Check("distant city: 60 % of power below 300 Hz", lambda m: m.band(0, 300) >= 0.6),
        Check("no events: peak at most 18 dB over RMS (Gaussian peaks + slow swells)",
              lambda m: m.peak_dbfs - m.rms_dbfs <= 18),
    ),
}


def failed_checks(class_name: str, m: Measurement) -> list[str]:
    """Descriptions of the class's checks (those meaningful at this duration) that fail."""
    return [c.description for c in RECIPE_CHECKS[class_name]
            if m.duration_s >= c.min_duration_s and not c.passes(m)]


def table_header() -> str:
    bands = " ".join(f"{_band_label(lo, hi):>7s}" for lo, hi in BANDS_HZ)
    return (f"{'file':24s} {'dur s':>6s} {'rms dB':>7s} {'peak dB':>7s} {'centr Hz':>8s} "
            f"{'peak Hz':>7s} {'flat':>5s} {'ons/s':>5s} {'spread':>6s} {'conc':>5s} {bands}")


def table_row(label: str, m: Measurement) -> str:
    bands = " ".join(f"{100 * b:6.1f}%" for b in m.band_fractions)
    return (f"{label:24s} {m.duration_s:6.1f} {m.rms_dbfs:7.1f} {m.peak_dbfs:7.1f} {m.centroid_hz:8.0f} "
            f"{m.peak_freq_hz:7.0f} {m.flatness:5.2f} {m.onsets_per_s:5.2f} {m.level_spread_db:6.1f} "
            f"{m.concentration:5.2f} {bands}")


def _band_label(lo, hi):
    def k(f):
        return f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"
    return f"{k(lo)}-{k(hi)}"


def spectrogram_png(audio: np.ndarray, sample_rate_hz: int, title: str, path: Path,
                    seconds: float = 20.0) -> None:
    """Draw the first ``seconds`` of ``audio`` as a dB spectrogram (0-16 kHz) into a small PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clip = audio[: int(seconds * sample_rate_hz)]
    freqs_hz, times_s, stft = signal.stft(clip, fs=sample_rate_hz, nperseg=1024, noverlap=768)
    db = 20 * np.log10(np.abs(stft) + 1e-9)
    keep = freqs_hz <= 16000
    fig, ax = plt.subplots(figsize=(8, 3), dpi=80)
    ax.pcolormesh(times_s, freqs_hz[keep] / 1000, db[keep], vmin=db.max() - 80, vmax=db.max(),
                  cmap="magma", shading="auto", rasterized=True)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    # A 64-colour palette keeps a noisy spectrogram's PNG well under 150 KB (docs budget).
    from PIL import Image

    buffer.seek(0)
    Image.open(buffer).convert("RGB").quantize(colors=64).save(path, optimize=True)


def measure_corpus_command(corpus_dir: Path, plots_dir: Path | None) -> int:
    """Measure every file listed in corpus_dir/manifest.csv; print table and checks.

    Returns 0 when every check passes, 1 otherwise.
    """
    from memoire.corpus.generate import MANIFEST_NAME, read_manifest
    from memoire.world.errors import UserError

    rows = read_manifest(Path(corpus_dir) / MANIFEST_NAME)
    print(table_header())
    failures = []
    for row in rows:
        path = Path(corpus_dir) / row.file
        if not path.is_file():
            raise UserError(f"{path} is listed in the manifest but missing; regenerate with 'memoire corpus'.")
        audio, rate_hz = sf.read(path, dtype="float64")
        m = measure(audio, rate_hz)
        print(table_row(row.file, m))
        if row.class_name in RECIPE_CHECKS:
            failures += [f"{row.file}: {d}" for d in failed_checks(row.class_name, m)]
        if plots_dir is not None and row.split == "train":
            spectrogram_png(audio, rate_hz, f"{row.class_name} ({row.file}, first 20 s)",
                            Path(plots_dir) / f"corpus_{row.class_name}.png")
    print()
    n_checks = sum(len(RECIPE_CHECKS.get(r.class_name, ())) for r in rows)
    print(f"recipe checks: {n_checks - len(failures)} of {n_checks} pass")
    for f in failures:
        print(f"  FAIL {f}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    from memoire.corpus.generate import DEFAULT_OUT_DIR

    parser = argparse.ArgumentParser(prog="python -m memoire.corpus.measure", description=__doc__.split("\n")[0])
    parser.add_argument("corpus_dir", nargs="?", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--plots", type=Path, default=None, help="write corpus_<class>.png into this folder")
    args = parser.parse_args(argv)
    return measure_corpus_command(args.corpus_dir, args.plots)


if __name__ == "__main__":
    sys.exit(main())
