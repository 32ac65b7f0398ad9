"""Per-level maps and meshes for the look, baked once per level (pure numpy, no GL).

    lantern_pool_map     the lanterns' light on the ground (a ground map channel)
    shadow_caster_boxes  closed boxes of the solid cells, drawn only into the sun's shadow map

Why the casters: a garden wall's mesh is only its visible faces (memoire/render/meshes.py builds
the face toward a walkable cell), so a low sun's ray from the foot of a wall, on the shaded side,
enters the wall and leaves through a face that does not exist: the only occluder is the face it
entered, which the shadow map's slope-scaled depth bias pushes behind the ground. That was the
thin lit seam of grass along the foot of the garden walls. A closed box per solid cell, as tall as
a wall, occludes that ray wherever it leaves.
"""

from __future__ import annotations

import numpy as np

from memoire.world.level import SOLID_TILES, Level

# The lanterns' light on the ground: a lantern hangs ~2.25 m up (memoire/render/meshes.py), so its
# pool on the paving is a soft disc about its height across; falls off as 1 / (1 + (d / r)^2).
lantern_pool_radius_m = 1.6
lantern_pool_reach_m = 5.0  # beyond this the pool is cut to zero (smoothly)


def lantern_pool_map(level: Level, px_per_m: float) -> np.ndarray:
    """How much lantern light reaches each ground pixel, (h, w) float32 in [0, 1], row 0 = north
    edge, level-aligned like the other ground maps (pixel centres at (i + 0.5) / px_per_m)."""
    w_m, h_m = level.tiles.size_m
    w_px, h_px = max(1, int(round(w_m * px_per_m))), max(1, int(round(h_m * px_per_m)))
    x = (np.arange(w_px) + 0.5) / px_per_m
    y = (np.arange(h_px) + 0.5) / px_per_m
    out = np.zeros((h_px, w_px))
    for prop in level.all_props():
        if prop.kind != "lantern":
            continue
        d2 = (x[None, :] - prop.at[0]) ** 2 + (y[:, None] - prop.at[1]) ** 2
        fade = np.clip(1.0 - d2 / lantern_pool_reach_m ** 2, 0.0, 1.0) ** 2
        out += fade / (1.0 + d2 / lantern_pool_radius_m ** 2)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def shadow_caster_boxes(level: Level, height_m: float) -> np.ndarray:
    """Positions (n, 3) float32 of the triangles of one closed box per solid cell (wall, house,
    void) from the ground to ``height_m``, in render coordinates (x east, y up, z south). Winding
    is irrelevant: the shadow pass draws both sides. Neighbouring solid cells share faces; the
    shared ones are left out (they never occlude)."""
    tiles = level.tiles
    kinds = tiles.kinds()
    solid = np.isin(kinds, list(SOLID_TILES))
    c = tiles.cell_m
    tris: list[np.ndarray] = []

    def quad(a, b, cc, d) -> None:
        tris.append(np.array([a, b, cc, a, cc, d], dtype=np.float32))

    h = float(height_m)
    for row, col in zip(*np.nonzero(solid)):
        x0, x1, z0, z1 = col * c, (col + 1) * c, row * c, (row + 1) * c
        quad((x0, h, z0), (x1, h, z0), (x1, h, z1), (x0, h, z1))  # top
        for dr, dc, a, b in ((-1, 0, (x0, z0), (x1, z0)), (1, 0, (x0, z1), (x1, z1)),
                             (0, -1, (x0, z0), (x0, z1)), (0, 1, (x1, z0), (x1, z1))):
            r2, c2 = row + dr, col + dc
            if 0 <= r2 < tiles.height and 0 <= c2 < tiles.width and solid[r2, c2]:
                continue
            quad((a[0], 0.0, a[1]), (b[0], 0.0, b[1]), (b[0], h, b[1]), (a[0], h, a[1]))
    if not tris:
        return np.zeros((0, 3), dtype=np.float32)
    return np.concatenate(tris).reshape(-1, 3)
