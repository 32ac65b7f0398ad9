"""Pictures of a level from fixed viewpoints, rendered headless (EGL), for the docs.

    python -m tools.screenshots [--level levels/hutong.toml] [--out docs/img] [--size 960x540]
                                [--quality low|high] [--time golden|dusk|midday]
    python -m tools.screenshots --look [--time ...] --size 1280x720

Writes render_<view>.png for each viewpoint below (the default level's places), and
render_zones.png: the lane with the zone hint on the ground and the minimap in the corner.
``--look``: instead, look_<time>_<place>.png at the five TOUR_PLACES of the default tour, for each
time of day (or the one --time names): the pictures of docs/look.md.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name: (x_m, y_m, heading_deg, pitch_deg) in the default level
VIEWS = {
    "lane": (4.0, 18.75, 90.0, 2.0),  # the spawn point, looking east down the lane
    "courtyard": (40.5, 14.0, 315.0, 10.0),  # the pigeon keepers' courtyard: halls, roofs, tree
    "gate": (36.0, 19.2, 0.0, 9.0),  # in the lane before the middle courtyard's red gate
    "garden": (5.0, 31.0, 45.0, 3.0),  # the garden's south-west corner
    "tea": (40.0, 23.5, 120.0, 5.0),  # the tea courtyard along its long hall
}
# name: seconds into the default level's tour "gallery" (memoire.world.tour camera_pose_at), five
# places a visitor of the default tour passes: the pigeon courtyard's gate and screen wall, inside that
# courtyard, the lane going east, the tea courtyard, the garden
TOUR = "gallery"
TOUR_PLACES = {"gate": 1.5, "pigeons": 10.1, "lane": 22.0, "tea": 56.0, "garden": 94.0}
MINIMAP_PX_PER_M = 3.0
MAX_PNG_BYTES = 280_000  # keep the repository light: pictures above this are palette-quantised


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", default=str(ROOT / "levels" / "hutong.toml"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--size", default="960x540", help="WIDTHxHEIGHT in pixels")
    ap.add_argument("--quality", choices=("low", "high"), default="high")
    ap.add_argument("--time", choices=("golden", "dusk", "midday"), help="time of day (default: the level's)")
    ap.add_argument("--look", action="store_true", help="the tour places at each time of day (docs/look.md)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))

    from PIL import Image

    from memoire.world.level import load_level
    from memoire.render.camera import Camera
    from memoire.render.context import headless_context
    from memoire.render.minimap import minimap_image, stamp_player
    from memoire.render.renderer import Renderer

    level = load_level(args.level)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = headless_context()
    renderer = Renderer(ctx, level, (w, h), quality=args.quality, time=args.time)

    def save(name: str, prefix: str = "render") -> None:
        path = out / f"{prefix}_{name}.png"
        pic = Image.fromarray(renderer.read_pixels())
        pic.save(path, optimize=True)
        if path.stat().st_size > MAX_PNG_BYTES:  # grass and foliage compress badly: use a palette
            pic.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
                path, optimize=True)
        print(f"{path} ({path.stat().st_size // 1024} KB)")

    if args.look:
        from memoire.world.tour import camera_pose_at, plan_tour

        plan = plan_tour(level, level.tour(TOUR))
        renderer.release()
        for time in [args.time] if args.time else ["golden", "dusk", "midday"]:
            renderer = Renderer(ctx, level, (w, h), quality=args.quality, time=time)
            for name, t_s in TOUR_PLACES.items():
                x, y, heading, pitch = camera_pose_at(plan, t_s)
                renderer.draw(Camera(x, y, heading, pitch))
                save(f"{time}_{name}", "look")
            renderer.release()
        return
    for name, (x, y, heading, pitch) in VIEWS.items():
        renderer.draw(Camera(x, y, math.radians(heading), math.radians(pitch)))
        save(name)
    x, y = level.spawn_xy
    cam = Camera(x + 6.0, y, math.radians(level.spawn_facing_deg), math.radians(2.0))
    renderer.draw(cam, show_zones=True)
    base = minimap_image(level, MINIMAP_PX_PER_M, names=True)
    renderer.draw_overlay(stamp_player(base, cam.x_m, cam.y_m, cam.heading_rad, MINIMAP_PX_PER_M),
                          w - base.shape[1] - 12, 12)
    save("zones")
    renderer.release()


if __name__ == "__main__":
    main()
