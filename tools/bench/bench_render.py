"""Frame time of the 3D renderer on this machine's OpenGL (headless EGL).

    python -m tools.bench.bench_render [--size 1280x720] [--frames 40] [--scale 1.0] [--zones]

Prints milliseconds per frame (median and 90th percentile) for a walk down the lane of the
default level, drawing the scene and one minimap overlay, waiting for the GPU (ctx.finish) each
frame as a presented frame would. On software Mesa (llvmpipe) the figure depends on the number
of free CPU cores (LP_NUM_THREADS).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720", help="output size WIDTHxHEIGHT in pixels")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--scale", type=float, default=1.0, help="render_scale of the 3D scene (0.1 .. 1)")
    ap.add_argument("--zones", action="store_true", help="draw with the zone hint on the ground")
    ap.add_argument("--level", default=str(ROOT / "levels" / "hutong.toml"))
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))

    from game.level import load_level
    from game.render.camera import Camera
    from game.render.context import describe, headless_context
    from game.render.minimap import minimap_image, stamp_player
    from game.render.renderer import Renderer

    level = load_level(args.level)
    ctx = headless_context()
    t0 = time.perf_counter()
    renderer = Renderer(ctx, level, (w, h), render_scale=args.scale)
    ctx.finish()
    setup_ms = (time.perf_counter() - t0) * 1e3
    base = minimap_image(level, 3.0)
    x0, y0 = level.spawn_xy
    times = []
    for i in range(args.frames + 3):
        x = x0 + 40.0 * i / max(args.frames, 1)
        cam = Camera(x, y0, math.radians(90.0 + 25.0 * math.sin(i * 0.2)), math.radians(4.0))
        t = time.perf_counter()
        renderer.draw(cam, show_zones=args.zones)
        renderer.draw_overlay(stamp_player(base, x, y0, cam.heading_rad, 3.0), 10, 10)
        ctx.finish()
        if i >= 3:  # the first frames compile shader variants
            times.append((time.perf_counter() - t) * 1e3)
    ms = np.array(times)
    print(f"GL: {describe(ctx)}")
    print(f"level: {level.name}, {renderer.mesh.triangle_count} triangles; setup {setup_ms:.0f} ms")
    print(f"size {w}x{h}, render_scale {args.scale:g}, zones {'on' if args.zones else 'off'}: "
          f"median {np.median(ms):.1f} ms/frame, p90 {np.percentile(ms, 90):.1f} ms "
          f"({1e3 / np.median(ms):.0f} fps) over {len(ms)} frames")


if __name__ == "__main__":
    main()
