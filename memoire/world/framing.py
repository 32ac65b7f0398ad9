"""The tour's camera work: what stands where at eye height, and where a tour's camera looks.

Pure numpy. Three parts, each a pure function of the level (and, for the last, the walker):

- ``level_solids(level)``: what a camera at eye height (1.6 m) can run into, seen from above:
  solid cells as rectangles, the gate and door jambs (post and folded leaf, standing inside the
  walkable opening cell), and the props in the way (tree trunks, benches, screen walls, and
  lanterns, which hang at head height). The physics
  (memoire/sim/physics.py) collides with the same shapes, so the eye never enters what is drawn.
- ``clearance_field(level)``: the distance (m) from every point of the map to the nearest solid,
  sampled on a ``field_step_m`` raster once per level; ``view_depth`` casts rays through it
  (sphere tracing: the field is a true distance, so a step of its value never crosses a solid).
- ``clear_path(field, points)``: a tour's path moved out to ``min_clearance_m`` where it comes
  closer (memoire/world/tour.py walks the moved path: the walker, the listener and the camera).
- ``frame_walk(level, times, xy, path_heading, speed)``: the camera along a sampled walk: its
  heading chosen among
  open views and weighted toward points of interest (the zones' sound places, the gates), eased
  by a critically damped filter with a turn-rate cap, a slow look-around where the walker
  lingers, and a slight upward look in open courtyards. The result is sampled at a fixed step;
  memoire/world/tour.py interpolates it, so the camera is a pure function of tour time.

Conventions (docs/architecture.md): level metres, x east, y south; compass headings in radians
(0 = north = -y, forward = (sin h, -cos h)); pitch in radians, > 0 looks up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memoire.world.level import (SOLID_TILES, Circle, Level, bench_half_size_m, screen_wall_half_thickness_m,
                                 tree_trunk_radius_m)

# --- what is solid at eye height (metres) ----------------------------------------------------
# The jambs of an opening, from the wall's end into the opening: a gate's square post (0.28 m,
# memoire/render/meshes.py GATE_POST_M) or a door's (0.2 m), plus the open leaf folded back
# against it (0.07 m thick). Drawn inside the walkable gate or door cell, so without them the eye
# could walk into a post: the column that filled the screen (issue 14).
gate_jamb_m = 0.28 + 0.07
door_jamb_m = 0.20 + 0.07
# A hanging lantern's silk body is 0.27 m in radius (meshes.py _lantern) and hangs from 1.65 m
# (tassel tip) to 2.55 m: at a 1.6 m eye height a walker's head meets it, so it is solid.
lantern_radius_m = 0.27
# What of the props stands in the way (docs/levels.md, [[props]]): tree trunks, benches and screen
# walls (as memoire/world/level.py checks tours), and hanging lanterns. Bicycles, carts and pots do
# not block walking (the level format says so); signs hang on walls, lines overhead, a moon gate
# is drawn in an opening whose walls are solid already. Round footprints (m):
prop_radius_m = {"tree": tree_trunk_radius_m, "lantern": lantern_radius_m}
# Boxes: half extents (along the prop's own x, its y), turned by facing_deg; None: from the prop.
prop_half_size_m = {"bench": bench_half_size_m, "screen_wall": None}
# Props lower than the eye (a bench's seat is 0.45 m): the camera keeps clear of them but looks
# over them, so they do not end a view.
low_prop_kinds = frozenset({"bench"})

# --- the clearance field ---------------------------------------------------------------------
# 10 cm raster: finer than a person's radius (0.25 m); the default level (72 x 34.5 m) is 720 x 345.
field_step_m = 0.1
# Distances are kept up to 12 m (farther makes no difference to framing; it bounds the work).
field_max_m = 12.0

# --- the camera ------------------------------------------------------------------------------
# The camera keeps at least 0.6 m from any solid: with its 70-degree vertical field of view a wall
# at 0.6 m fills 0.84 m of height, a door leaf or lantern no longer fills the frame, and the near
# plane (0.05 m, memoire/render/camera.py) is far off.
min_clearance_m = 0.6
# Through a gate or door the walk keeps 1 m: a gate's clear opening is 2.3 m (1.15 m from its
# middle to a post), and its folded leaves, 2.5 m tall and 1.2 m deep, fill the side of the view
# when passed at 0.6 m. A door's opening is narrower: its middle.
gateway_clearance_m = 1.0
# The push aims 5 cm past it: the field is sampled (bilinear between 10 cm samples), the shapes exact.
push_margin_m = 0.05
# Where a tour's path comes closer than that (it cuts a gate's post), the walk is moved out: once
# no longer needed the push fades by 0.5 m per metre of path (back onto the path at about 27
# degrees, a gentle swerve), and it is smoothed over +-1.5 m of path (a stride or two).
push_fade_m_per_m = 0.5
push_smooth_m = 1.5
# Sampled every 50 ms (20 Hz): at the turn-rate cap a step is under 2.5 degrees, so linear
# interpolation between samples is smooth at any frame rate.
framing_step_s = 0.05
# The look is chosen every 0.25 s among 72 headings (5 degrees apart); the filter runs at 20 Hz.
choose_step_s = 0.25
candidate_count = 72
# A view is open when what it looks at is at least 6 m off; a wall nearer than 1.5 m is no view.
# Openness is averaged over +-20 degrees (the middle of the 100-degree horizontal field).
wall_near_m = 1.5
open_far_m = 6.0
open_half_width_deg = 20.0
# A view whose centre meets a wall (or trunk, post) nearer than 2 m is a stare at it: penalised
# outright (the figure tests/test_framing.py measures).
wall_stare_m = 2.0
weight_wall = 3.0
# Anything nearer than 2.2 m anywhere across the middle +-40 degrees of the view (the 100-degree
# horizontal field less its outer edges) looms at the frame's side: a gate's folded leaf (2.5 m
# tall) passed at 1.8 m, a house front walked along, a trunk. Such a heading is penalised, fully
# under 1.2 m; in the 4.5 m lane the walls at +-40 degrees are 3.5 m off.
side_half_width_deg = 40.0
side_near_m = (1.2, 2.2)
weight_side = 1.0
view_max_m = 30.0  # rays are cast this far (the level's courtyards are 18 m across)
# How much each wish counts in choosing the look (dimensionless; openness dominates so the
# camera never settles on a wall, the path's direction keeps it looking where it walks).
weight_path = 1.0
weight_interest = 1.2
weight_open = 1.6
# A turn between choices costs this per candidate step squared (5 degrees: 0.05; 15: 0.45):
# the camera holds a view unless another is clearly better.
turn_cost = 0.05
# Walking, the camera looks at most 70 degrees off the way it walks (more reads as walking blind).
max_off_path_deg = 70.0
# Points of interest pull within about 12 m (exp(-r / 12 m)); a zone's pull eases to 0 at its centre.
interest_reach_m = 12.0
interest_near_m = 2.0
interest_lobe_power = 3.0  # cos-lobe sharpness: half weight at about 50 degrees off
# The heading filter: critically damped with a 0.25 s time constant (it rounds the corners of the
# chosen headings' path; a head turn takes about half a second), its rate capped at 45 deg/s: a panning camera at 30 fps judders beyond ~1 frame width
# (100 degrees) in 2-3 s, and a walker's head turns into a lane at about that speed.
heading_time_constant_s = 0.25
max_turn_dps = 45.0
# Lingering (the walker slower than 0.5 m/s: easing into, standing at and leaving a pause): a
# slow look around the point of interest, +-18 degrees over 4 s (peak 28 deg/s, under the cap).
linger_speed_mps = 0.5
look_around_deg = 18.0
look_around_period_s = 4.0
# Pitch: level in the lanes, a slight 6-degree look up at the roofs and the sky (the flock) in
# courtyards, eased over 1.5 s. Which is which: the median view depth all round (at eye height):
# in the 4.5 m lane most directions meet a wall within 4 m; in the 18 m courtyards, even by their
# edge, half the directions see 8 m or more.
lane_open_m = 4.0
courtyard_open_m = 8.0
courtyard_pitch_deg = 6.0
pitch_time_constant_s = 1.5
# Tree crowns hang over the eye (memoire/render/meshes.py _tree: tiers of leafy lumps from about
# 2.2 m up, reaching 2.5 m from the trunk, 3.1 m at most), so rays at eye height pass under them,
# but a crown within a few metres fills the top of a 70-degree view (more when it looks up): a
# heading toward a crown is penalised, fully within its reach and fading 3 m beyond it, in a
# cos-lobe about as wide as the crown seen from there, and the courtyard's upward look is taken
# back under one and within a metre of its edge (tours stopped by a tree looked at its leaves
# from below); farther off, the look up shows the crown against the sky, as a courtyard should.
crown_radius_m = 2.5
crown_clear_m = 3.0
crown_pitch_clear_m = 1.0
weight_crown = 1.2


@dataclass(frozen=True)
class Solids:
    """Eye-height obstacles seen from above: ``boxes`` (k, 4) x0, y0, x1, y1 and oriented boxes
    given as centre, half sizes and angle in ``obbs`` (m, 5) cx, cy, hx, hy, angle_rad (angle:
    compass facing, the box's hx axis turned with it), and ``circles`` (n, 3) x, y, r. Metres."""

    boxes: np.ndarray
    obbs: np.ndarray
    circles: np.ndarray


def _solid_rectangles(level: Level) -> list[tuple[float, float, float, float]]:
    """Solid cells as rectangles (row runs, stacked where rows repeat), plus the map's outside."""
    tiles = level.tiles
    c = tiles.cell_m
    kinds = tiles.kinds()
    solid = np.isin(kinds, list(SOLID_TILES))
    runs: dict[tuple[int, int], list[int]] = {}  # (col0, col1) -> rows
    for row in range(solid.shape[0]):
        col = 0
        while col < solid.shape[1]:
            if solid[row, col]:
                start = col
                while col + 1 < solid.shape[1] and solid[row, col + 1]:
                    col += 1
                runs.setdefault((start, col), []).append(row)
            col += 1
    rects = []
    for (c0, c1), rows in runs.items():
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            rects.append((c0 * c, start * c, (c1 + 1) * c, (prev + 1) * c))
            if r is not None:
                start = prev = r
    w, h = tiles.size_m
    far = field_max_m + 1.0
    rects += [(-far, -far, 0.0, h + far), (w, -far, w + far, h + far), (-far, -far, w + far, 0.0),
              (-far, h, w + far, h + far)]  # outside the map is solid (void)
    return rects


def _jambs(level: Level) -> list[tuple[float, float, float, float]]:
    """The posts and folded leaves of every gate and door, as strips along the cell's edges that
    meet a solid cell (an opening's ends abut its wall, memoire/render/meshes.py openings)."""
    tiles = level.tiles
    c = tiles.cell_m
    kinds = tiles.kinds()
    out = []
    for row in range(kinds.shape[0]):
        for col in range(kinds.shape[1]):
            k = kinds[row, col]
            if k not in ("gate", "door"):
                continue
            j = gate_jamb_m if k == "gate" else door_jamb_m
            x0, y0, x1, y1 = col * c, row * c, (col + 1) * c, (row + 1) * c
            for dc, dr, rect in ((-1, 0, (x0, y0, x0 + j, y1)), (1, 0, (x1 - j, y0, x1, y1)),
                                 (0, -1, (x0, y0, x1, y0 + j)), (0, 1, (x0, y1 - j, x1, y1))):
                if tiles.kind_at(col + dc, row + dr) in SOLID_TILES:
                    out.append(rect)
    return out


def level_solids(level: Level, *, low: bool = True) -> Solids:
    """What a camera (or a walker's head) at eye height can run into in ``level``; ``low=False``:
    only what rises to eye height (what ends a view: benches are looked over)."""
    boxes = _solid_rectangles(level) + _jambs(level)
    obbs, circles = [], []
    for prop in level.all_props():
        if not low and prop.kind in low_prop_kinds:
            continue
        if prop.kind in prop_half_size_m:
            size = prop_half_size_m[prop.kind]
            if size is None:  # a screen wall: its width across its facing, its thickness
                size = (prop.width_m / 2, screen_wall_half_thickness_m)
            obbs.append((prop.at[0], prop.at[1], size[0], size[1], math.radians(prop.facing_deg)))
        elif prop.kind in prop_radius_m:
            circles.append((prop.at[0], prop.at[1], prop_radius_m[prop.kind]))
    return Solids(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(obbs, dtype=np.float64).reshape(-1, 5),
                  np.asarray(circles, dtype=np.float64).reshape(-1, 3))


def solid_distance(solids: Solids, xy: np.ndarray) -> np.ndarray:
    """Exact distance (m) from points (k, 2) to the nearest solid; 0 inside one. O(k x shapes)."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    best = np.full(len(p), np.inf)
    for x0, y0, x1, y1 in solids.boxes:
        dx = np.maximum(np.maximum(x0 - p[:, 0], p[:, 0] - x1), 0.0)
        dy = np.maximum(np.maximum(y0 - p[:, 1], p[:, 1] - y1), 0.0)
        np.minimum(best, np.hypot(dx, dy), out=best)
    for cx, cy, hx, hy, a in solids.obbs:
        # into the box's frame: u along its hx axis (east when facing north), v along hy
        ex, ey = math.cos(a), math.sin(a)
        dxw, dyw = p[:, 0] - cx, p[:, 1] - cy
        u, v = dxw * ex + dyw * ey, -dxw * ey + dyw * ex
        np.minimum(best, np.hypot(np.maximum(np.abs(u) - hx, 0.0), np.maximum(np.abs(v) - hy, 0.0)), out=best)
    for cx, cy, r in solids.circles:
        np.minimum(best, np.maximum(np.hypot(p[:, 0] - cx, p[:, 1] - cy) - r, 0.0), out=best)
    return best


@dataclass(frozen=True)
class ClearanceField:
    """Distance to the nearest solid (m), sampled at cell centres of a ``step_m`` raster whose
    first sample is at (x0_m, y0_m); ``dist`` (rows = y, cols = x) float32, capped at field_max_m."""

    x0_m: float
    y0_m: float
    step_m: float
    dist: np.ndarray

    def at(self, xy: np.ndarray) -> np.ndarray:
        """Bilinear distance (m) at points (k, 2); outside the raster 0 (solid)."""
        p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        fx = (p[:, 0] - self.x0_m) / self.step_m
        fy = (p[:, 1] - self.y0_m) / self.step_m
        h, w = self.dist.shape
        inside = (fx >= 0) & (fy >= 0) & (fx <= w - 1) & (fy <= h - 1)
        fx, fy = np.clip(fx, 0, w - 1.000001), np.clip(fy, 0, h - 1.000001)
        i, j = fy.astype(int), fx.astype(int)
        ty, tx = fy - i, fx - j
        d = self.dist
        v = ((d[i, j] * (1 - tx) + d[i, j + 1] * tx) * (1 - ty) + (d[i + 1, j] * (1 - tx) + d[i + 1, j + 1] * tx) * ty)
        return np.where(inside, v, 0.0)

    def gradient(self, xy: np.ndarray) -> np.ndarray:
        """Unit direction (k, 2) in which the distance grows fastest (away from the nearest solid)."""
        p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        e = self.step_m
        gx = self.at(p + (e, 0.0)) - self.at(p - (e, 0.0))
        gy = self.at(p + (0.0, e)) - self.at(p - (0.0, e))
        g = np.stack([gx, gy], axis=-1)
        n = np.linalg.norm(g, axis=-1, keepdims=True)
        return np.where(n > 1e-9, g / np.where(n > 1e-9, n, 1.0), 0.0)


def clearance_field(level: Level, solids: Solids | None = None) -> ClearanceField:
    """The level's clearance field (computed once per level: about 0.1-0.3 s for the default)."""
    solids = level_solids(level) if solids is None else solids
    w, h = level.tiles.size_m
    s = field_step_m
    xs = np.arange(s / 2, w, s)
    ys = np.arange(s / 2, h, s)
    gx, gy = np.meshgrid(xs, ys)
    best = np.full(gx.shape, field_max_m)
    reach = field_max_m
    # each shape touches only the window within field_max_m of it (the rest is capped anyway)
    shapes = ([("box", b) for b in solids.boxes] + [("obb", o) for o in solids.obbs]
              + [("circle", c) for c in solids.circles])
    for kind, sh in shapes:
        if kind == "box":
            lo_x, lo_y, hi_x, hi_y = sh
        elif kind == "obb":
            r = math.hypot(sh[2], sh[3])
            lo_x, lo_y, hi_x, hi_y = sh[0] - r, sh[1] - r, sh[0] + r, sh[1] + r
        else:
            lo_x, lo_y, hi_x, hi_y = sh[0] - sh[2], sh[1] - sh[2], sh[0] + sh[2], sh[1] + sh[2]
        c0, c1 = np.searchsorted(xs, [lo_x - reach, hi_x + reach])
        r0, r1 = np.searchsorted(ys, [lo_y - reach, hi_y + reach])
        if c0 >= c1 or r0 >= r1:
            continue
        pts = np.stack([gx[r0:r1, c0:c1].ravel(), gy[r0:r1, c0:c1].ravel()], axis=-1)
        one = Solids(np.asarray([sh] if kind == "box" else []).reshape(-1, 4),
                     np.asarray([sh] if kind == "obb" else []).reshape(-1, 5),
                     np.asarray([sh] if kind == "circle" else []).reshape(-1, 3))
        d = solid_distance(one, pts).reshape(r1 - r0, c1 - c0)
        np.minimum(best[r0:r1, c0:c1], d, out=best[r0:r1, c0:c1])
    dist = best.astype(np.float32)
    dist.setflags(write=False)
    return ClearanceField(float(xs[0]), float(ys[0]), s, dist)


def view_depth(field: ClearanceField, xy: np.ndarray, heading_rad: np.ndarray, max_m: float = view_max_m) -> np.ndarray:
    """How far (m) a ray from each point (k, 2) along its compass heading (k,) runs before it meets
    a solid, at most ``max_m``: the depth of what the camera looks at. Sphere tracing: each step is
    the distance to the nearest solid (never across one), at least 5 cm."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    h = np.asarray(heading_rad, dtype=np.float64).reshape(-1)
    d = np.stack([np.sin(h), -np.cos(h)], axis=-1)
    t = np.zeros(len(p))
    active = np.ones(len(p), dtype=bool)
    hit_m, min_step_m = 0.05, 0.05
    for _ in range(200):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        dist = field.at(p[idx] + t[idx, None] * d[idx])
        hit = dist < hit_m
        t[idx] += np.where(hit, 0.0, np.maximum(dist, min_step_m))
        active[idx[hit | (t[idx] >= max_m)]] = False
    return np.minimum(t, max_m)


# ---------------------------------------------------------------------------------------------
# Points of interest


@dataclass(frozen=True)
class Interest:
    """A place the camera likes to look at: (x, y) metres, a weight, and whether it is a zone's
    sound place (its pull fades near its centre, where its direction means nothing)."""

    xy: tuple[float, float]
    weight: float
    zone: bool


def _shape_centre(shape) -> tuple[float, float]:
    if isinstance(shape, Circle):
        return tuple(map(float, shape.center))
    v = np.asarray(shape.points, dtype=np.float64)
    x, y = v[:, 0], v[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2
    if abs(area) < 1e-9:
        return float(x.mean()), float(y.mean())
    return float(((x + xn) * cross).sum() / (6 * area)), float(((y + yn) * cross).sum() / (6 * area))


def _openings(level: Level) -> list[tuple[float, float, bool]]:
    """Gates and doors: (x, y) of each run of gate/door cells' centre and whether one walks through
    it north-south (its wall runs east-west: the cells' neighbours east and west are solid)."""
    tiles = level.tiles
    kinds = tiles.kinds()
    seen = np.zeros(kinds.shape, dtype=bool)
    out = []
    for row in range(kinds.shape[0]):
        for col in range(kinds.shape[1]):
            if seen[row, col] or kinds[row, col] not in ("gate", "door"):
                continue
            stack, cells = [(row, col)], []
            seen[row, col] = True
            while stack:
                r, c = stack.pop()
                cells.append((r, c))
                for rn, cn in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                    if (0 <= rn < kinds.shape[0] and 0 <= cn < kinds.shape[1] and not seen[rn, cn]
                            and kinds[rn, cn] == kinds[row, col]):
                        seen[rn, cn] = True
                        stack.append((rn, cn))
            rc = np.asarray(cells, dtype=np.int64)
            r0, c0 = rc.min(axis=0)
            r1, c1 = rc.max(axis=0)
            north_south = (tiles.kind_at(c0 - 1, r0) in SOLID_TILES or tiles.kind_at(c1 + 1, r0) in SOLID_TILES
                           or (c1 - c0) > (r1 - r0))
            out.append(((rc[:, 1].mean() + 0.5) * tiles.cell_m, (rc[:, 0].mean() + 0.5) * tiles.cell_m, north_south))
    return out


# A tour pauses at least 1.5 m from any solid, and from any tree crown's edge, where its zone allows:
# out of the gateways (a gate's clear opening is 2.3 m, 1.15 m from its middle to a post) and from
# under the trees, where a look around shows the place, not a door leaf or leaves (stop_room).
stop_clearance_m = 1.5

# The camera looks through a gate at a point this far beyond it on either side (a courtyard's
# near half, a lane's far side): the view through the opening, not at its posts.
through_gate_m = 4.0


def interests(level: Level) -> list[Interest]:
    """The level's points of interest: each zone's sound place (a circle's centre, a polygon's
    centroid), and for each gate or door a point ``through_gate_m`` beyond it on both sides (the
    camera looks through the opening as it comes: the one ahead is seen through it, the one behind
    is out of sight)."""
    out = [Interest(_shape_centre(z.shape), 1.0, True) for z in level.zones]
    for x, y, north_south in _openings(level):
        dx, dy = (0.0, through_gate_m) if north_south else (through_gate_m, 0.0)
        out += [Interest((x + dx, y + dy), 0.8, False), Interest((x - dx, y - dy), 0.8, False)]
    return out


# ---------------------------------------------------------------------------------------------
# The camera along a walk


@dataclass(frozen=True)
class TourCamera:
    """The camera along a tour, sampled every ``step_s`` from t = 0: ``heading_rad`` (k,) unwrapped
    (continuous: interpolate it linearly), ``pitch_rad`` (k,). It stands where the walker does."""

    step_s: float
    heading_rad: np.ndarray
    pitch_rad: np.ndarray


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    u = np.clip((np.asarray(x, dtype=np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _wrap(a: np.ndarray) -> np.ndarray:
    return (np.asarray(a) + math.pi) % (2 * math.pi) - math.pi


def _push_out(field: ClearanceField, q: np.ndarray, clearance_m: float) -> np.ndarray:
    """Points (k, 2) moved out toward ``clearance_m`` from the nearest solid by gradient steps,
    each kept only where it gains clearance (so a passage narrower than twice the clearance, a
    door, keeps the point on its middle line instead of throwing it across)."""
    q = np.array(q, dtype=np.float64).reshape(-1, 2)
    for _ in range(12):
        d = field.at(q)
        short = np.flatnonzero(d < clearance_m)
        if not len(short):
            break
        step = field.gradient(q[short]) * (0.5 * (clearance_m - d[short]))[:, None]
        gains = field.at(q[short] + step) > d[short] + 1e-4
        if not gains.any():
            break
        q[short[gains]] += step[gains]
    return q


def clearance_wanted(level: Level, points: np.ndarray) -> np.ndarray:
    """How far (m) a walk's points (k, 2) keep from solids: min_clearance_m, and gateway_clearance_m
    in a gate or door cell (its middle, as far as the opening allows)."""
    tiles = level.tiles
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cols = np.floor(p[:, 0] / tiles.cell_m).astype(int)
    rows = np.floor(p[:, 1] / tiles.cell_m).astype(int)
    gateway = np.array([tiles.kind_at(c, r) in ("gate", "door") for c, r in zip(cols, rows)], dtype=bool)
    return np.where(gateway, gateway_clearance_m, min_clearance_m)


def clear_path(field: ClearanceField, points: np.ndarray, clearance_m: float | np.ndarray = min_clearance_m
               ) -> np.ndarray:
    """A walk's polyline (k, 2) moved out to ``clearance_m`` (one figure, or one per point) from
    the nearest solid where it comes closer, and left exactly as it is elsewhere. The push is carried from each point to the next
    (fading by push_fade_m_per_m along the path) and only then pushed out, so the walk slides past a post on
    the side it came from instead of jumping across where it cuts through it; the pushes are then
    smoothed over push_smooth_m of path so the walk bends, not kinks, around what it passes."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) < 2:
        return p.copy()
    seg = np.r_[0.0, np.hypot(*np.diff(p, axis=0).T)]
    push = np.zeros_like(p)
    carry = np.zeros(2)
    target = np.broadcast_to(np.asarray(clearance_m, dtype=np.float64), (len(p),)) + push_margin_m
    for i in range(len(p)):
        size = math.hypot(*carry)
        if size > 0:  # the carried push fades linearly along the path
            carry = carry * (max(0.0, size - seg[i] * push_fade_m_per_m) / size)
        carry = _push_out(field, p[i] + carry, float(target[i]))[0] - p[i]
        push[i] = carry
    if not push.any():
        return p.copy()
    # smoothing by arc length: a raised-cosine window of +-push_smooth_m; each point takes the largest
    # of its own push and the smoothed one, so smoothing never gives clearance back
    s = np.cumsum(seg)
    smooth = np.zeros_like(push)
    pushed = np.flatnonzero(np.hypot(*push.T) > 0)
    near = np.zeros(len(p), dtype=bool)  # the points within push_smooth_m of a pushed one
    for lo, hi in zip(np.searchsorted(s, s[pushed] - push_smooth_m), np.searchsorted(s, s[pushed] + push_smooth_m)):
        near[lo:hi] = True
    for i in np.flatnonzero(near):
        lo, hi = np.searchsorted(s, [s[i] - push_smooth_m, s[i] + push_smooth_m])
        w = np.clip(1.0 - np.abs(s[lo:hi] - s[i]) / push_smooth_m, 0.0, None)
        w = w * w * (3 - 2 * w)
        smooth[i] = (push[lo:hi] * w[:, None]).sum(axis=0) / max(w.sum(), 1e-12)
    mine = np.hypot(*push.T) > np.hypot(*smooth.T)
    out = p + np.where(mine[:, None], push, smooth)
    for t in np.unique(target):  # a last settle where the smoothing pulled a point in
        at = target == t
        out[at] = _push_out(field, out[at], float(t))
    return out


def tree_crowns(level: Level) -> np.ndarray:
    """Where the level's tree crowns stand: (n, 2) trunk positions (x, y metres)."""
    return np.asarray([p.at for p in level.all_props() if p.kind == "tree"], dtype=np.float64).reshape(-1, 2)


def crown_nearness(xy: np.ndarray, crowns: np.ndarray, clear_m: float = crown_clear_m) -> np.ndarray:
    """(k, n): how much each crown (n, 2) looms over each point (k, 2): 1 within crown_radius_m of
    its trunk, fading to 0 ``clear_m`` beyond."""
    r = np.hypot(*(crowns[None, :, :] - np.asarray(xy, dtype=np.float64).reshape(-1, 1, 2)).transpose(2, 0, 1))
    return 1.0 - _smoothstep(crown_radius_m, crown_radius_m + clear_m, r)


def stop_room(field: ClearanceField, crowns: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """How roomy (m) each point (k, 2) is for a pause: its distance to the nearest solid, or to the
    nearest tree crown's edge (crowns (n, 2): trunks; crown_radius_m) where that is nearer (a pause
    under or beside a crown looked at leaves from below)."""
    room = field.at(xy)
    if len(crowns):
        r = np.hypot(*(crowns[None, :, :] - np.asarray(xy, dtype=np.float64).reshape(-1, 1, 2)).transpose(2, 0, 1))
        room = np.minimum(room, np.maximum(r.min(axis=1) - crown_radius_m, 0.0))
    return room


def choose_looks(view: ClearanceField, xy: np.ndarray, path_heading: np.ndarray, lingering: np.ndarray,
                 places: list[Interest], crowns: np.ndarray | None = None) -> np.ndarray:
    """The heading (k,) the camera wants at each of k places, in order (each choice leans toward
    the one before it): the best-scoring of ``candidate_count`` headings by openness, the path's
    direction, the points of interest and away from near tree ``crowns`` (n, 2), within
    max_off_path_deg of the path unless ``lingering``, chosen together along the walk so that the
    turns between them are few and within the cap."""
    k = len(xy)
    cands = np.arange(candidate_count) * (2 * math.pi / candidate_count)
    depth = view_depth(view, np.repeat(xy, candidate_count, axis=0), np.tile(cands, k)).reshape(k, candidate_count)
    openness = _smoothstep(wall_near_m, open_far_m, depth)
    half = int(round(open_half_width_deg / (360.0 / candidate_count)))
    window = np.stack([np.roll(openness, s, axis=1) for s in range(-half, half + 1)])
    openness = window.mean(axis=0)
    score = weight_open * openness - np.where(depth < wall_stare_m, weight_wall, 0.0)
    side = int(round(side_half_width_deg / (360.0 / candidate_count)))
    nearest = np.min(np.stack([np.roll(depth, s, axis=1) for s in range(-side, side + 1)]), axis=0)
    score -= weight_side * (1.0 - _smoothstep(side_near_m[0], side_near_m[1], nearest))
    score += weight_path * 0.5 * (1 + np.cos(cands[None, :] - path_heading[:, None]))
    off_path = np.abs(_wrap(cands[None, :] - path_heading[:, None])) > math.radians(max_off_path_deg)
    score -= np.where(off_path & ~lingering[:, None], 10.0, 0.0)
    if places:
        pts = np.asarray([p.xy for p in places], dtype=np.float64)
        wts = np.asarray([p.weight for p in places])
        is_zone = np.asarray([p.zone for p in places])
        v = pts[None, :, :] - xy[:, None, :]  # (k, n, 2)
        r = np.hypot(v[..., 0], v[..., 1])
        ang = np.arctan2(v[..., 0], -v[..., 1])
        pull = wts[None, :] * np.exp(-r / interest_reach_m)
        pull = np.where(is_zone[None, :], pull * np.clip(r / interest_near_m, 0.0, 1.0), pull)
        # a place behind a wall pulls a third as much (the ray toward it stops short)
        seen = view_depth(view, np.repeat(xy, len(places), axis=0), ang.ravel()).reshape(k, len(places))
        pull = np.where(seen >= r - 1.0, pull, pull / 3)
        lobe = (0.5 * (1 + np.cos(cands[None, None, :] - ang[:, :, None]))) ** interest_lobe_power  # (k, n, c)
        score += weight_interest * (pull[:, :, None] * lobe).sum(axis=1) / max(1e-9, float(wts.max()))
    if crowns is not None and len(crowns):
        v = crowns[None, :, :] - xy[:, None, :]  # (k, n, 2)
        r = np.hypot(v[..., 0], v[..., 1])
        ang = np.arctan2(v[..., 0], -v[..., 1])
        # the lobe as wide as the crown seen from here (all round when under it): cos^p halves at
        # about the crown's angular radius
        half = np.where(r > crown_radius_m, np.arcsin(np.clip(crown_radius_m / np.maximum(r, 1e-6), 0.0, 1.0)),
                        0.5 * math.pi)
        power = np.log(0.5) / np.log(np.cos(half / 2.0) ** 2 + 1e-9)
        lobe = (0.5 * (1 + np.cos(cands[None, None, :] - ang[:, :, None]))) ** power[:, :, None]
        score -= weight_crown * (crown_nearness(xy, crowns)[:, :, None] * lobe).sum(axis=1)
    # the best sequence of headings (Viterbi over the candidates): the sum of scores less a cost
    # for each turn, each step turning at most the cap (so it anticipates corners and never whips)
    cand_step = 2 * math.pi / candidate_count
    reach = max(1, int(math.radians(max_turn_dps) * choose_step_s / cand_step))
    turns = np.arange(-reach, reach + 1)
    total = score[0].copy()
    back = np.zeros((k, candidate_count), dtype=np.int64)
    for i in range(1, k):
        # came[j, c]: the total arriving at candidate c from candidate c - turns[j]
        came = np.stack([np.roll(total, d) - turn_cost * d * d for d in turns])
        best = np.argmax(came, axis=0)
        back[i] = (np.arange(candidate_count) - turns[best]) % candidate_count
        total = score[i] + came[best, np.arange(candidate_count)]
    out = np.empty(k, dtype=np.int64)
    out[-1] = int(np.argmax(total))
    for i in range(k - 1, 0, -1):
        out[i - 1] = back[i, out[i]]
    return np.unwrap(cands[out])


def ease_heading(target: np.ndarray, step_s: float, start_rad: float) -> np.ndarray:
    """The target headings (k,) followed by a critically damped filter (time constant
    heading_time_constant_s) whose turn rate never exceeds max_turn_dps; unwrapped output."""
    k = 1.0 / heading_time_constant_s
    cap = math.radians(max_turn_dps)
    out = np.empty(len(target))
    h, w = start_rad, 0.0
    for i, tgt in enumerate(target):
        err = math.atan2(math.sin(tgt - h), math.cos(tgt - h))
        w += (k * k * err - 2 * k * w) * step_s
        w = max(-cap, min(cap, w))
        h += w * step_s
        out[i] = h
    return out


def frame_walk(level: Level, times_s: np.ndarray, xy: np.ndarray, path_heading_rad: np.ndarray,
               speed_mps: np.ndarray, field: ClearanceField | None = None) -> TourCamera:
    """The camera along a walk sampled every framing_step_s from t = 0: walker positions (k, 2)
    (already clear: ``clear_path``), the path's own look-ahead heading (k,) and the walker's speed
    (k,); ``field``: the level's clearance field, when the caller has it."""
    field = clearance_field(level) if field is None else field
    view = clearance_field(level, level_solids(level, low=False))
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    times_s = np.asarray(times_s, dtype=np.float64)
    cam = xy
    lingering = np.asarray(speed_mps) < linger_speed_mps
    every = max(1, int(round(choose_step_s / framing_step_s)))
    pick = np.arange(0, len(xy), every)
    crowns = tree_crowns(level)
    looks = choose_looks(view, cam[pick], np.asarray(path_heading_rad)[pick], lingering[pick], interests(level),
                         crowns)
    # between choices linearly (the choices are unwrapped: the short way round)
    target = np.interp(times_s, times_s[pick], looks)
    # lingering: a slow look around the chosen view, from the moment the walker slows
    started = np.maximum.accumulate(np.where(lingering & ~np.r_[False, lingering[:-1]], times_s, -np.inf))
    sweep = math.radians(look_around_deg) * np.sin(2 * math.pi * (times_s - started) / look_around_period_s)
    target = target + np.where(lingering, sweep, 0.0)
    # forward and backward (zero phase: the camera turns into a corner as it comes, not after it);
    # the mean of two rate-capped paths is rate-capped too
    forward = ease_heading(target, framing_step_s, float(target[0]))
    backward = ease_heading(target[::-1], framing_step_s, float(target[-1]))[::-1]
    heading = 0.5 * (forward + backward)
    around = np.median(view_depth(view, np.repeat(cam[pick], candidate_count // 3, axis=0),
                                  np.tile(np.arange(candidate_count // 3) * (6 * math.pi / candidate_count), len(pick))
                                  ).reshape(len(pick), -1), axis=1)
    openness = _smoothstep(lane_open_m, courtyard_open_m, around)
    if len(crowns):  # no looking up into a crown's leaves
        openness = openness * (1.0 - crown_nearness(cam[pick], crowns, crown_pitch_clear_m).max(axis=1))
    openness = np.interp(times_s, times_s[pick], openness)
    pitch_target = math.radians(courtyard_pitch_deg) * openness
    pitch = np.empty(len(xy))
    p = float(pitch_target[0])
    a = 1.0 - math.exp(-framing_step_s / pitch_time_constant_s)
    for i, tgt in enumerate(pitch_target):
        p += (tgt - p) * a
        pitch[i] = p
    for arr in (heading, pitch):
        arr.setflags(write=False)
    return TourCamera(framing_step_s, heading, pitch)
