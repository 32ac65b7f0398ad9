"""`memoire render LEVEL --tour NAME --out FILE`: a tour's sound (WAV/FLAC) or a trailer (MP4), offline.

The command's one job is to check its arguments and pick the renderer: memoire/offline/render.py
for sound, memoire/offline/video.py for picture and sound.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from memoire.offline.render import render_tour, write_audio
from memoire.offline.video import render_video
from memoire.world.errors import UserError
from memoire.world.files import cannot_write, check_output_path, is_write_failure, level_inputs
from memoire.world.level import load_level
from memoire.world.paths import default_model


def render_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".wav", ".flac", ".mp4"):
        raise UserError(f"--out {out}: give a .wav or .flac file for sound, or .mp4 for sound and picture")
    if args.seconds is not None and args.seconds <= 0:
        raise UserError(f"--seconds must be > 0, got {args.seconds:g}")
    level = load_level(args.level, allow_outside=getattr(args, "allow_outside_paths", False))
    model = default_model(level, args.model)
    check_output_path(out, level_inputs(level, model), flag="--out")  # never over an input; a folder we can write
    start_s = _start(level, args)
    if suffix == ".mp4":
        try:
            return render_video(level, args.tour, model, out, seconds=args.seconds, size_px=tuple(args.size),
                                fps=args.fps, torch_threads=args.torch_threads, start_s=start_s,
                                quality=getattr(args, "quality", "high"))
        except OSError as e:
            if is_write_failure(e):  # a full disk, a read-only one: said as such (the MP4 is written whole or not)
                raise cannot_write(out, e) from None
            raise
    result = render_tour(level, args.tour, model, args.seconds, torch_threads=args.torch_threads, start_s=start_s,
                         output=getattr(args, "output", None))
    try:
        write_audio(out, result.audio, result.sample_rate_hz, result.layout)  # atomic: whole or not at all
    except (OSError, RuntimeError) as e:  # soundfile's LibsndfileError is a RuntimeError
        raise cannot_write(out, e) from None
    peak = float(np.abs(result.audio).max()) if len(result.audio) else 0.0
    rms = float(np.sqrt(np.mean(result.audio.astype(np.float64) ** 2))) if len(result.audio) else 0.0
    print(f"{out}: {len(result.audio) / result.sample_rate_hz:.1f} s, {result.layout} "
          f"({result.audio.shape[1]} channels), rms {20 * np.log10(max(rms, 1e-12)):.1f} dBFS, "
          f"peak {20 * np.log10(max(peak, 1e-12)):.1f} dBFS, rendered {result.realtime_factor:.1f}x faster than real time")
    return 0


def _start(level, args: argparse.Namespace) -> float:
    """--start / --start-zone as a tour time (0 without them); said on the terminal when not 0."""
    start_s, start_zone = getattr(args, "start", None), getattr(args, "start_zone", None)
    if start_s is None and start_zone is None:
        return 0.0
    from memoire.world.tour import plan_tour
    from memoire.world.tour_start import tour_start_s

    t = tour_start_s(level, plan_tour(level, level.tour(args.tour)), args.tour, start_s=start_s, start_zone=start_zone)
    if start_zone is not None:
        print(f"memoire: the tour '{args.tour}' first stands in '{start_zone}' at {t:.1f} s: starting there",
              file=sys.stderr)
    return t
