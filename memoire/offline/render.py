"""Offline rendering of a tour: the synth driven by the tour walker, faster than real time.

`memoire render LEVEL --tour NAME --out FILE.wav [--seconds S]` writes the sound a visitor
walking that tour would hear; with --out FILE.mp4 it also renders the picture offscreen and
muxes both (see memoire/offline/video.py).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memoire.world.errors import UserError
from memoire.world.files import atomic_output
from memoire.world.level import Level, load_level
from memoire.world.paths import default_model
from memoire.world.tour import plan_tour, pose_at


@dataclass(frozen=True)
class TourRender:
    audio: np.ndarray  # (samples, 2) float32
    sample_rate_hz: int
    block_times_s: np.ndarray  # (blocks,) start time of each decoded block
    block_poses: np.ndarray  # (blocks, 3) x_m, y_m, heading_rad
    realtime_factor: float  # audio seconds per wall second for the whole render
    hop_samples: int


def build_field(level: Level, info, *, train_terrain: bool = True, log=print):
    """The level's latent field for a model: the zone blend, plus its terrain when it uses one."""
    from memoire.world.field import LatentField, build_zone_blend, field_mix

    field = LatentField(build_zone_blend(level, info))
    if level.uses_terrain and train_terrain:
        from memoire.terrain.inprocess import terrain_grid_for_level

        grid = terrain_grid_for_level(level, info, log=log)
        field = field.with_terrain(grid, field_mix(level))
    return field


def render_tour(level: Level, tour_name: str, model_path: Path, seconds: float | None = None,
                torch_threads: int = 1, progress: bool = True) -> TourRender:
    from memoire.audio.model import NeuralDecoder, inspect_model, set_torch_threads
    from memoire.audio.synth import Listener, SynthCore, SynthSettings

    set_torch_threads(torch_threads)
    tour = level.tour(tour_name)
    plan = plan_tour(level, tour)
    info = inspect_model(model_path)
    field = build_field(level, info, log=(lambda m: print(m, file=sys.stderr)) if progress else (lambda m: None))
    settings = SynthSettings(gain_db=level.sound.gain_db)
    x, y, h = pose_at(plan, 0.0)
    core = SynthCore(lambda: NeuralDecoder(model_path, info), info, field, settings, Listener(x, y, h))
    total_s = plan.duration_s if seconds is None else seconds
    block_s = settings.frames_per_block * core.frame_s
    blocks = max(1, math.ceil(total_s / block_s))
    out = np.empty((blocks * settings.frames_per_block * core.hop, 2), np.float32)
    times = np.arange(blocks) * block_s
    poses = np.empty((blocks, 3))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=blocks, unit="block", desc=f"render {tour_name}", file=sys.stderr, leave=False)
    t0 = time.perf_counter()
    n = settings.frames_per_block * core.hop
    for b in range(blocks):
        poses[b] = pose_at(plan, times[b])
        out[b * n:(b + 1) * n] = core.render(Listener(*poses[b], seq=b))
        if bar is not None:
            bar.update(1)
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    samples = int(round(total_s * core.sample_rate_hz))
    return TourRender(out[:samples], core.sample_rate_hz, times, poses,
                      (samples / core.sample_rate_hz) / max(wall, 1e-9), core.hop)


def render_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".wav", ".flac", ".mp4"):
        raise UserError(f"--out {out}: give a .wav or .flac file for sound, or .mp4 for sound and picture")
    if args.seconds is not None and args.seconds <= 0:
        raise UserError(f"--seconds must be > 0, got {args.seconds:g}")
    level = load_level(args.level)
    model = default_model(level, args.model)
    if not out.parent.exists():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist")
    if suffix == ".mp4":
        from memoire.offline.video import render_video

        return render_video(level, args.tour, model, out, seconds=args.seconds, size_px=tuple(args.size),
                            fps=args.fps, torch_threads=args.torch_threads)
    result = render_tour(level, args.tour, model, args.seconds, torch_threads=args.torch_threads)
    write_audio(out, result.audio, result.sample_rate_hz)
    peak = float(np.abs(result.audio).max()) if len(result.audio) else 0.0
    rms = float(np.sqrt(np.mean(result.audio.astype(np.float64) ** 2))) if len(result.audio) else 0.0
    print(f"{out}: {len(result.audio) / result.sample_rate_hz:.1f} s, rms {20 * np.log10(max(rms, 1e-12)):.1f} dBFS, "
          f"peak {20 * np.log10(max(peak, 1e-12)):.1f} dBFS, rendered {result.realtime_factor:.1f}x faster than real time")
    return 0


def write_audio(path: Path, audio: np.ndarray, sample_rate_hz: int) -> None:
    """Write atomically (memoire.world.files.atomic_output): the old file or the whole new one."""
    import soundfile as sf

    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    with atomic_output(path) as tmp:
        sf.write(str(tmp), audio, sample_rate_hz, subtype="PCM_16", format=fmt)
