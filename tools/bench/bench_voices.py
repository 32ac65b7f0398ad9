"""Synth cost by voice budget: the real-time factor of SynthCore on one torch thread.

    .venv/bin/python tools/bench/bench_voices.py [--model assets/models/hutong.ts] [--seconds 6]

For each budget (1, 4, 8, 16 voices; the decoder's batch is budget + 1: the bed) and layout
(stereo, binaural) it renders ``--seconds`` of the default level at the busiest place of the
map (where the most zones are audible), walking east through it, with the shipped model, and
prints audio seconds per wall second for the whole render (decode, voices, spatial stage, mix)
and for the batched decode alone. Real time needs > 1; the live synth wants a wide margin (the
device callback, the game and the renderer share the machine). Figures are noisy on a loaded
machine: say what else was running.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", default=str(ROOT / "levels" / "hutong.toml"))
    ap.add_argument("--model", default=str(ROOT / "assets" / "models" / "hutong.ts"))
    ap.add_argument("--seconds", type=float, default=6.0, help="audio rendered per configuration")
    ap.add_argument("--voices", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--layouts", nargs="+", default=["stereo", "binaural"])
    args = ap.parse_args()

    from memoire.audio.engine import settings_for
    from memoire.audio.model import NeuralDecoder, inspect_model, set_torch_threads
    from memoire.audio.scene import level_acoustics
    from memoire.audio.synth import Listener, SynthCore
    from memoire.world.field import build_zone_blend, level_field
    from memoire.world.level import load_level

    set_torch_threads(1)
    level = load_level(args.level)
    info = inspect_model(args.model)
    field = level_field(level, info)  # the zones and the rest (no terrain: its cost is a lookup)
    acoustics = level_acoustics(level)
    blend = build_zone_blend(level, info)
    w, h = level.tiles.size_m
    xs, ys = np.meshgrid(np.arange(0.5, w, 1.0), np.arange(0.5, h, 1.0))
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    counts = (blend.coverage(pts) > 1e-3).sum(axis=1)
    bx, by = pts[int(np.argmax(counts))]
    print(f"model {Path(args.model).name}, one torch thread, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; busiest place ({bx:.1f}, {by:.1f}) m: {counts.max()} zones audible")
    print(f"{'voices':>6} {'batch':>5} {'layout':>9} {'real':>5} {'synth RTF':>10} {'decode RTF':>11} {'ms/block':>9}")
    for layout in args.layouts:
        for budget in args.voices:
            settings = dataclasses.replace(settings_for(level, output=layout), voices=budget)
            start = Listener(bx - 6.0, by, math.pi / 2)
            core = SynthCore(lambda: NeuralDecoder(args.model, info), info, field, settings, start, acoustics)
            blocks = max(1, round(args.seconds / core.frame_s))
            for k in range(3):  # warm: the first blocks at this batch size
                core.render(start)
            core.stats.decode_s = 0.0
            real = []
            t0 = time.perf_counter()
            for k in range(blocks):
                core.render(Listener(bx - 6.0 + 12.0 * k / blocks, by, math.pi / 2, seq=k))
                real.append(core.stats.voices_real)
            wall = time.perf_counter() - t0
            audio_s = blocks * core.frame_s
            print(f"{budget:>6} {core.slots:>5} {layout:>9} {max(real):>5} {audio_s / wall:>9.1f}x "
                  f"{audio_s / core.stats.decode_s:>10.1f}x {1000 * wall / blocks:>9.2f}")


if __name__ == "__main__":
    main()
