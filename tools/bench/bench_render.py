"""Frame time of the 3D renderer on this machine's OpenGL (headless EGL).

    python -m tools.bench.bench_render [--size 1280x720] [--frames 60] [--scale 1.0] [--blocky]
                                       [--zones] [--gl-threads 1] [--quality low|high]
                                       [--time golden|dusk|midday]

Prints milliseconds per frame (median and 90th percentile, wall clock and CPU) over a walk that
visits the lane, the courtyards, a gate, the tea courtyard and the garden of the default level,
drawing the scene and the minimap overlay and waiting for GL to finish (ctx.finish) each frame,
as a presented frame would. On software Mesa (llvmpipe) the time depends on the cores it may
use: the game sets LP_NUM_THREADS=1 (memoire/game/window.py) to leave the other core to the neural
decoder, and so does this benchmark unless --gl-threads says otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720", help="output size WIDTHxHEIGHT in pixels")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--scale", type=float, default=1.0, help="render_scale of the 3D scene (0.1 .. 1)")
    ap.add_argument("--zones", action="store_true", help="draw with the zone hint on the ground")
    ap.add_argument("--blocky", action="store_true", help="nearest-pixel upscaling when --scale < 1")
    ap.add_argument("--quality", choices=("low", "high"), default="low", help="picture quality (memoire/render/look.py)")
    ap.add_argument("--time", choices=("golden", "dusk", "midday"), help="time of day (default: the level's)")
    ap.add_argument("--gl-threads", default="1", help="LP_NUM_THREADS for llvmpipe (the game uses 1)")
    ap.add_argument("--level", default=str(ROOT / "levels" / "hutong.toml"))
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    os.environ["LP_NUM_THREADS"] = str(args.gl_threads)  # read by Mesa when the context is made

    from memoire.world.level import load_level
    from memoire.render.camera import Camera
    from memoire.render.context import describe, headless_context
    from memoire.render.minimap import minimap_image, stamp_player
    from memoire.render.renderer import Renderer
    from tools.screenshots import VIEWS

    level = load_level(args.level)
    ctx = headless_context()
    t0 = time.perf_counter()
    renderer = Renderer(ctx, level, (w, h), render_scale=args.scale, smooth_upscale=not args.blocky,
                        quality=args.quality, time=args.time)
    ctx.finish()
    setup_ms = (time.perf_counter() - t0) * 1e3
    px_per_m = 3.0
    base = minimap_image(level, px_per_m)
    views = list(VIEWS.values())
    warmup = len(views)  # the first draw with each material's program compiles it (JIT)
    wall, cpu = [], []
    for i in range(args.frames + warmup):
        x, y, heading, pitch = views[i % len(views)]
        sway = 20.0 * math.sin(i * 0.37)  # look around a little, as a player does
        cam = Camera(x, y, math.radians(heading + sway), math.radians(pitch))
        t, c = time.perf_counter(), time.process_time()
        renderer.draw(cam, show_zones=args.zones)
        renderer.draw_overlay(stamp_player(base, x, y, cam.heading_rad, px_per_m), w - base.shape[1] - 12, 12)
        ctx.finish()
        if i >= warmup:
            wall.append((time.perf_counter() - t) * 1e3)
            cpu.append((time.process_time() - c) * 1e3)
    wall_ms, cpu_ms = np.array(wall), np.array(cpu)
    print(f"GL: {describe(ctx)}, LP_NUM_THREADS={args.gl_threads}")
    print(f"level: {level.name}, {renderer.mesh.triangle_count} triangles; renderer setup {setup_ms:.0f} ms")
    print(f"quality {renderer.quality} (MSAA x{renderer.msaa_samples}), time {renderer.look.name}")
    print(f"{w}x{h}, render_scale {args.scale:g}{' blocky' if args.blocky else ''}, zones {'on' if args.zones else 'off'}, {len(wall_ms)} frames: "
          f"median {np.median(wall_ms):.1f} ms/frame wall (p90 {np.percentile(wall_ms, 90):.1f}), "
          f"{np.median(cpu_ms):.1f} ms CPU; {1e3 / np.median(wall_ms):.0f} fps")


if __name__ == "__main__":
    main()
