"""Draw a level's spatial sound: rooms coloured (with their RT60), portals, emitters and emitter
paths, and each zone's inner region; written to docs/img/spatial_map.png.

    .venv/bin/python tools/spatial_map.py [LEVEL] [--out PNG]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Circle as CirclePatch, Polygon as PolygonPatch  # noqa: E402

from memoire.world.acoustics import Acoustics  # noqa: E402
from memoire.world.level import SOLID_TILES, Circle, load_level  # noqa: E402
from memoire.world.paths import DEFAULT_LEVEL, DOCS_IMG_DIR  # noqa: E402

path_samples = 200  # points drawn along a moving emitter's path
marked_times_s = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)  # moving emitters drawn where they are then


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("level", nargs="?", default=str(DEFAULT_LEVEL))
    ap.add_argument("--out", default=str(DOCS_IMG_DIR / "spatial_map.png"))
    args = ap.parse_args()
    level = load_level(args.level)
    ac = Acoustics.build(level)
    tiles = level.tiles
    h, w = tiles.height, tiles.width
    cell = tiles.cell_m
    kinds = tiles.kinds()
    img = np.ones((h, w, 3))
    colours = plt.get_cmap("Pastel1")(np.arange(len(ac.rooms)) % 9)[:, :3]
    for i, room in enumerate(ac.rooms):
        for r, c in room.cells:
            img[r, c] = colours[i]
    img[np.isin(kinds, list(SOLID_TILES))] = (0.35, 0.35, 0.38)
    img[np.isin(kinds, ["house"])] = (0.55, 0.52, 0.50)
    fig, ax = plt.subplots(figsize=(14, 7.5), dpi=110)
    ax.imshow(img, extent=(0, w * cell, h * cell, 0), interpolation="nearest")
    emitters_now = np.concatenate([ac.emitters(i, 0.0) for i in range(len(level.zones))])
    for room in ac.rooms:
        # label in the room's north-west or north-east corner, whichever is clearer of the emitters
        rows, cols = zip(*room.cells)
        corners = [((min(cols) * cell + 0.3, min(rows) * cell + 0.3), "left"),
                   (((max(cols) + 1) * cell - 0.3, min(rows) * cell + 0.3), "right")]
        (x, y), ha = max(corners, key=lambda c: np.hypot(*(emitters_now - c[0]).T).min())
        ax.text(x, y, f"{room.name}\nRT60 {room.rt60_s:.2f} s", ha=ha, va="top", fontsize=8,
                color="0.15", bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.7))
    for p in ac.portals:
        (x, y), half = p.center_xy, p.width_m / 2
        ax.plot([x - half, x + half], [y, y], color="crimson", lw=5, solid_capstyle="butt")
        ax.plot(x, y, "o", color="crimson", ms=4)
    for i, zone in enumerate(level.zones):
        colour = plt.get_cmap("tab10")(i % 10)
        if isinstance(zone.shape, Circle):
            ax.add_patch(CirclePatch(zone.shape.center, zone.shape.radius_m, fill=False, ec=colour, ls="--", lw=1))
        else:
            ax.add_patch(PolygonPatch(zone.shape.points, closed=True, fill=False, ec=colour, ls="--", lw=1))
        if zone.emitter_path:
            table = level.spatial.path(zone.emitter_path).path.table()
            ax.plot(table.points[:, 0], table.points[:, 1], color=colour, lw=1.5)
            at = np.concatenate([ac.emitters(i, t) for t in marked_times_s])
            ax.plot(at[:, 0], at[:, 1], "o", color=colour, ms=3, alpha=0.6)
        if zone.emitter == "nearest":
            label_xy = zone.shape.center if isinstance(zone.shape, Circle) else np.mean(zone.shape.points, axis=0)
            ax.text(*label_xy, f"{zone.name}\n(nearest)", color=colour, fontsize=8, ha="center", va="center",
                    weight="bold")
            continue
        pts = ac.emitters(i, 0.0)
        ax.plot(pts[:, 0], pts[:, 1], "*", color=colour, ms=13, mec="black", mew=0.6)
        ax.annotate(zone.name, pts[0], xytext=(5, 5), textcoords="offset points", color=colour, fontsize=8,
                    weight="bold")
    ax.set_xlabel("x (m, east)")
    ax.set_ylabel("y (m, south)")
    ax.set_title(f"{level.name}: rooms (RT60), portals (red), emitters (stars; moving ones on their paths, "
                 f"dots every 0.5 s), zones' inner regions (dashed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
