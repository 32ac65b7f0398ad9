"""Measure an offline tour render: level, spectral centroid per zone, clicks, spectral flux, spectrogram.

    python -m tools.sound_report LEVEL --tour NAME [--model FILE] [--seconds S] [--out-dir DIR]

Renders the tour with the synth (memoire.offline.render.render_tour), then prints and writes (as markdown
table rows and a spectrogram PNG):
- overall RMS and peak level (dBFS);
- per zone, over the blocks where that zone's weight is above 0.8: RMS level and spectral centroid;
- the largest sample-to-sample jump, beside the largest jump inside a smooth reference (the 99.99th
  percentile), to show there is no click;
- spectral flux per STFT frame (mean and max of the L2 change of the normalised magnitude
  spectrum), a measure of how abruptly the timbre changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# STFT for centroid, flux and the picture: 2048-sample frames (46 ms) hopping 512 (11.6 ms).
stft_frame = 2048
stft_hop = 512
zone_weight_threshold = 0.8


def stft_mag(x: np.ndarray) -> np.ndarray:
    """Magnitude spectrogram (frames, bins) of a mono signal, Hann window."""
    from scipy.signal import stft

    _, _, z = stft(x, nperseg=stft_frame, noverlap=stft_frame - stft_hop, window="hann", boundary=None,
                   padded=False)
    return np.abs(z).T


def centroid_hz(mag: np.ndarray, sample_rate_hz: int) -> float:
    freqs = np.fft.rfftfreq(stft_frame, 1 / sample_rate_hz)
    power = mag.sum(axis=0)
    return float((power * freqs).sum() / max(power.sum(), 1e-12))


def spectral_flux(mag: np.ndarray) -> np.ndarray:
    norm = mag / np.maximum(np.linalg.norm(mag, axis=1, keepdims=True), 1e-9)
    return np.linalg.norm(np.diff(norm, axis=0), axis=1)


def db(v: float) -> float:
    return 20 * np.log10(max(v, 1e-12))


def spectrogram_png(mono: np.ndarray, sample_rate_hz: int, path: Path, title: str,
                    marks: list[tuple[float, str]] = ()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mag = stft_mag(mono)
    t = np.arange(len(mag)) * stft_hop / sample_rate_hz
    f = np.fft.rfftfreq(stft_frame, 1 / sample_rate_hz)
    fig, ax = plt.subplots(figsize=(12, 4), dpi=90)
    ax.pcolormesh(t, f / 1000, 20 * np.log10(mag.T + 1e-6), shading="auto", cmap="magma", vmin=-80, vmax=20)
    ax.set_ylim(0, 16)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("kHz")
    ax.set_title(title)
    for t_s, label in marks:
        ax.axvline(t_s, color="white", lw=0.6, alpha=0.6)
        ax.text(t_s, 15.2, label, color="white", fontsize=7, rotation=90, va="top")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(level_path: Path, tour: str, model: Path | None, seconds: float | None, out_dir: Path) -> str:
    from memoire.world.field import build_zone_blend
    from memoire.audio.model import inspect_model
    from memoire.world.level import load_level
    from memoire.offline.render import render_tour
    from memoire.world.paths import default_model

    level = load_level(level_path)
    model_path = default_model(level, model)
    r = render_tour(level, tour, model_path, seconds)
    sr = r.sample_rate_hz
    mono = r.audio.mean(axis=1)
    blend = build_zone_blend(level, inspect_model(model_path))
    w, _ = blend.weights(r.block_poses[:, :2])
    hop = r.hop_samples
    rows = []
    marks = []
    for zi, name in enumerate(blend.names):
        blocks = np.flatnonzero(w[:, zi] > zone_weight_threshold)
        blocks = blocks[blocks * hop + hop <= len(mono)]
        if len(blocks) == 0:
            rows.append((name, 0.0, float("nan"), float("nan")))
            continue
        marks.append((float(r.block_times_s[blocks[0]]), name))
        seg = np.concatenate([mono[b * hop:(b + 1) * hop] for b in blocks])
        rms = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
        rows.append((name, len(blocks) * hop / sr, db(rms), centroid_hz(stft_mag(seg), sr)))
    jumps = np.abs(np.diff(r.audio, axis=0)).max(axis=1)
    # Jumps where the sound changes zone (the dominant weight changes hands, +-1 block) against
    # the rest: a click from the synth would sit at those places.
    dominant = np.where(w.max(axis=1) > 1 - w.sum(axis=1), w.argmax(axis=1), -1)
    change = np.flatnonzero(np.diff(dominant) != 0) + 1
    near = np.zeros(len(jumps), bool)
    for b in change:
        near[max(0, (b - 1) * hop):min(len(jumps), (b + 2) * hop)] = True
    jump_near = float(jumps[near].max()) if near.any() else float("nan")
    jump_far = float(jumps[~near].max()) if (~near).any() else float("nan")
    mag = stft_mag(mono)
    flux = spectral_flux(mag)
    rms_all = float(np.sqrt(np.mean(mono.astype(np.float64) ** 2)))
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"sound_{level_path.stem}_{tour}.png"
    spectrogram_png(mono, sr, png, f"{level.name}: tour '{tour}' ({model_path.name})", marks)
    lines = [
        f"Render: {len(mono) / sr:.1f} s of tour '{tour}' on {level_path} with {model_path.name}, "
        f"{r.realtime_factor:.1f}x faster than real time.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| RMS level | {db(rms_all):.1f} dBFS |",
        f"| peak level | {db(float(np.abs(r.audio).max())):.1f} dBFS |",
        f"| largest sample-to-sample jump | {jumps.max():.4f} (at {np.argmax(jumps) / sr:.2f} s) |",
        f"| 99.99th percentile of jumps | {np.percentile(jumps, 99.99):.4f} |",
        f"| largest jump within a block of a zone change ({len(change)} changes) | {jump_near:.4f} |",
        f"| largest jump elsewhere | {jump_far:.4f} |",
        f"| spectral flux per 11.6 ms frame, mean / max | {flux.mean():.4f} / {flux.max():.4f} |",
        "",
        "| zone | time inside (s) | RMS (dBFS) | spectral centroid (Hz) |",
        "| --- | --- | --- | --- |",
    ]
    for name, dur, level_db, cent in rows:
        lines.append(f"| {name} | {dur:.1f} | {level_db:.1f} | {cent:.0f} |")
    lines.append("")
    lines.append(f"Spectrogram: {png}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.sound_report", description=__doc__.split("\n")[0])
    p.add_argument("level", type=Path)
    p.add_argument("--tour", required=True)
    p.add_argument("--model", type=Path)
    p.add_argument("--seconds", type=float)
    p.add_argument("--out-dir", type=Path, default=Path("docs/img"))
    a = p.parse_args(argv)
    print(report(a.level, a.tour, a.model, a.seconds, a.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
