"""Static props as triangles: bicycles, a vendor's cart, flower pots, washing lines, wires, shop
signs, a screen wall (yingbi), a moon gate's round opening (pure numpy, no GL).

Shapes (sizes in metres, colours) come from assets/props/shapes.toml; where a prop stands and
which way it faces come from the level (docs/levels.md, [[props]]). Called from
``memoire.render.meshes.build_scene``; vertices in the layout of ``memoire.render.geometry``.
Local frames follow ``Builder.extend``: +x is the prop's right, -z its front (``facing_deg``).
"""

from __future__ import annotations

import functools
import math
import tomllib

import numpy as np

from memoire.world.level import Prop, TileMap
from memoire.world.paths import ROOT
from memoire.render.geometry import Builder, Material

SHAPES_FILE = ROOT / "assets" / "props" / "shapes.toml"

# colours (sRGB) that are not a prop's own choice
METAL = (0.55, 0.56, 0.58)  # a bicycle's chrome rims and bars
TYRE = (0.07, 0.07, 0.07)
CORD = (0.80, 0.78, 0.72)
CABLE = (0.06, 0.06, 0.07)
WOOD = (0.40, 0.28, 0.17)
STONE = (0.63, 0.61, 0.58)
LIGHT_STONE = (0.74, 0.72, 0.68)
LACQUER_RED = (0.62, 0.12, 0.08)
GOLD = (0.82, 0.62, 0.22)
EARTH = (0.28, 0.20, 0.14)
LEAF_GREENS = ((0.22, 0.40, 0.15), (0.28, 0.46, 0.18), (0.18, 0.34, 0.14))
FRUIT = ((0.90, 0.45, 0.10), (0.80, 0.15, 0.10), (0.55, 0.70, 0.20), (0.92, 0.78, 0.25))
PARASOL = ((0.85, 0.20, 0.15), (0.92, 0.90, 0.85))
CRATE = (0.60, 0.45, 0.28)


@functools.cache
def prop_shapes() -> dict:
    """The shapes file, read once (a dict of tables by prop kind)."""
    with open(SHAPES_FILE, "rb") as f:
        return tomllib.load(f)


def _rng(prop: Prop) -> np.random.Generator:
    seed = int(round(prop.at[0] * 1000)) * 100003 + int(round(prop.at[1] * 1000)) + len(prop.kind)
    return np.random.default_rng(abs(seed))


def rod(b: Builder, p, q, thick_m: float, colour, material: Material = Material.PLAIN) -> None:
    """A square rod of side ``thick_m`` from point p to q (4 sides, no caps: 8 triangles)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    d = q - p
    length = float(np.linalg.norm(d))
    if length < 1e-6:
        return
    d /= length
    ref = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    a = np.cross(d, ref)
    a /= np.linalg.norm(a)
    c = np.cross(d, a)
    h = thick_m / 2
    for u, v in ((a, c), (c, -a), (-a, -c), (-c, a)):
        b.quad(p + h * (u - v), q + h * (u - v), q + h * (u + v), p + h * (u + v), colour, material, outward=u)


def wheel(b: Builder, centre, radius_m: float, axis: str = "x", tyre_m: float = 0.035, segments: int = 16) -> None:
    """A spoked wheel standing in the plane across ``axis`` ('x': the wheel rolls along z):
    tyre and rim as a two-sided ring, four spokes, a hub."""
    cx, cy, cz = centre
    ang = np.linspace(0.0, 2 * math.pi, segments + 1)

    def at(r: float, a: float, off: float = 0.0):
        if axis == "x":
            return (cx + off, cy + r * math.sin(a), cz + r * math.cos(a))
        return (cx + r * math.cos(a), cy + r * math.sin(a), cz + off)

    normal = (1.0, 0.0, 0.0) if axis == "x" else (0.0, 0.0, 1.0)
    for i in range(segments):
        a0, a1 = ang[i], ang[i + 1]
        b.quad(at(radius_m, a0), at(radius_m, a1), at(radius_m - tyre_m, a1), at(radius_m - tyre_m, a0), TYRE,
               Material.PLAIN, outward=normal, two_sided=True)
        b.quad(at(radius_m - tyre_m, a0), at(radius_m - tyre_m, a1), at(radius_m - 1.6 * tyre_m, a1),
               at(radius_m - 1.6 * tyre_m, a0), METAL, Material.PLAIN, outward=normal, two_sided=True)
    for k in range(4):
        a = k * math.pi / 4
        rod(b, at(radius_m - tyre_m, a), at(radius_m - tyre_m, a + math.pi), 0.006, METAL)
    rod(b, at(0.0, 0.0, -0.05), at(0.0, 0.0, 0.05), 0.05, METAL)


def _tilt_about_z(local: Builder, angle_rad: float) -> Builder:
    """The builder's triangles turned about the local z axis (the line along the ground through
    the origin, front to back): positive tips the top toward +x."""
    v = local.vertices().copy()
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    rot = np.array([[c, s], [-s, c]])  # (x, y) -> x cos + y sin, y cos - x sin
    v[:, 0:2] = v[:, 0:2] @ rot.T
    v[:, 3:5] = v[:, 3:5] @ rot.T
    v[:, 1] -= min(0.0, float(v[:, 1].min()))  # the tyres' sides would dip under the paving: stand on it
    out = Builder()
    out.add_triangles(v[:, 0:3], v[:, 3:6], v[:, 6:9], Material.PLAIN)
    return out


def _wall_to_the_right(prop: Prop, tiles: TileMap, reach_m: float = 1.2) -> float:
    """+1 if the nearest wall within ``reach_m`` is on the prop's right, -1 if on its left (or none)."""
    h = math.radians(prop.facing_deg)
    right = (math.cos(h), math.sin(h))  # the forward vector (sin h, -cos h) turned a quarter right
    for d in np.arange(0.2, reach_m + 1e-9, 0.2):
        for side in (1.0, -1.0):
            x, y = prop.at[0] + side * d * right[0], prop.at[1] + side * d * right[1]
            if tiles.kind_at(*tiles.cell_of(x, y)) in ("wall", "house"):
                return side
    return -1.0


def bicycle(b: Builder, prop: Prop, tiles: TileMap) -> None:
    """A roadster: two spoked wheels, a diamond frame, saddle, upright bars, a rear rack.
    ``leaning``: tipped toward the nearest wall beside it, else standing on its kickstand."""
    s = prop_shapes()["bicycle"]
    rng = _rng(prop)
    colour = tuple(s["colours"][int(rng.integers(len(s["colours"])))])
    r, wb, t = float(s["wheel_radius_m"]), float(s["wheelbase_m"]), float(s["tube_m"])
    local = Builder()
    front, rear = (0.0, r, -wb / 2), (0.0, r, wb / 2)
    wheel(local, front, r)
    wheel(local, rear, r)
    bb = (0.0, r - 0.02, 0.05)  # bottom bracket, a little ahead of the middle
    seat = (0.0, float(s["saddle_height_m"]) - 0.08, wb / 2 - 0.42)
    head = (0.0, float(s["saddle_height_m"]) - 0.1, -wb / 2 + 0.2)
    for p, q in ((bb, seat), (bb, head), (seat, head), (bb, rear), (seat, rear), (head, front)):
        rod(local, p, q, t, colour)
    rod(local, head, (0.0, float(s["bar_height_m"]), -wb / 2 + 0.24), t, METAL)
    half = float(s["bar_width_m"]) / 2
    bar_y, bar_z = float(s["bar_height_m"]), -wb / 2 + 0.3
    rod(local, (-half, bar_y, bar_z), (half, bar_y, bar_z), 0.022, METAL)
    local.box((-0.08, seat[1] + 0.06, seat[2] - 0.12), (0.08, seat[1] + 0.12, seat[2] + 0.12), (0.12, 0.08, 0.06),
              Material.PLAIN)
    rack_y = r + 0.08
    local.box((-0.09, rack_y, wb / 2 - 0.35), (0.09, rack_y + 0.02, wb / 2 + 0.05), METAL, Material.PLAIN)
    rod(local, (0.0, rack_y, wb / 2 - 0.35), seat, 0.012, METAL)
    if prop.leaning:
        side = _wall_to_the_right(prop, tiles)
        local = _tilt_about_z(local, side * math.radians(float(s["lean_deg"])))
    else:  # on the kickstand: tipped a few degrees onto the stand, to the left
        rod(local, bb, (-0.18, 0.0, 0.2), 0.015, METAL)
        local = _tilt_about_z(local, -math.radians(4.0))
    b.extend(local, prop.at, math.radians(prop.facing_deg))


def cart(b: Builder, prop: Prop) -> None:
    """A vendor's flatbed tricycle: the bed on two wheels, the front wheel and the rider's bars
    ahead of it, crates of fruit, a striped parasol on a pole."""
    s = prop_shapes()["cart"]
    rng = _rng(prop)
    L, W, H, r = float(s["bed_length_m"]), float(s["bed_width_m"]), float(s["bed_height_m"]), float(s["wheel_radius_m"])
    local = Builder()  # the bed's centre over the origin; the rider's end toward -z (the cart's front)
    local.box((-W / 2, H - 0.06, -L / 2), (W / 2, H, L / 2), WOOD, Material.PLAIN)
    for x in (-W / 2, W / 2 - 0.04):  # low side boards
        local.box((x, H, -L / 2), (x + 0.04, H + 0.15, L / 2), WOOD, Material.PLAIN)
    for x in (-W / 2 - 0.05, W / 2 + 0.05):
        wheel(local, (x, r, 0.15), r, tyre_m=0.04)
    rod(local, (-W / 2 - 0.05, r, 0.15), (W / 2 + 0.05, r, 0.15), 0.04, METAL)
    reach = float(s["front_reach_m"])
    fw = (0.0, r + 0.05, -L / 2 - reach)
    wheel(local, fw, r + 0.05)
    rod(local, (-0.2, H - 0.05, -L / 2), (0.0, 0.95, -L / 2 - reach + 0.15), 0.035, (0.15, 0.25, 0.20))
    rod(local, (0.2, H - 0.05, -L / 2), (0.0, 0.95, -L / 2 - reach + 0.15), 0.035, (0.15, 0.25, 0.20))
    rod(local, (0.0, 0.95, -L / 2 - reach + 0.15), fw, 0.03, METAL)
    rod(local, (-0.3, 1.05, -L / 2 - reach + 0.2), (0.3, 1.05, -L / 2 - reach + 0.2), 0.022, METAL)
    local.box((-0.12, 0.9, -L / 2 - 0.35), (0.12, 0.96, -L / 2 - 0.12), (0.12, 0.08, 0.06), Material.PLAIN)
    rod(local, (0.0, 0.6, -L / 2 - 0.25), (0.0, 0.9, -L / 2 - 0.25), 0.03, METAL)
    # crates in a row along the bed, heaped with fruit
    n = int(s["crates"])
    cl = (L - 0.1) / n
    for i in range(n):
        z0 = -L / 2 + 0.05 + i * cl
        local.box((-W / 2 + 0.08, H, z0 + 0.02), (W / 2 - 0.08, H + 0.22, z0 + cl - 0.02), CRATE, Material.PLAIN)
        fruit = FRUIT[int(rng.integers(len(FRUIT)))]
        for _ in range(5):
            fx, fz = float(rng.uniform(-W / 2 + 0.2, W / 2 - 0.2)), float(rng.uniform(z0 + 0.1, z0 + cl - 0.1))
            local.ellipsoid((fx, H + 0.24, fz), (0.11, 0.07, 0.11), fruit, Material.PLAIN, n_lon=6, n_lat=3)
    # the parasol: a pole at the bed's back corner, an 8-panel striped canopy
    top = float(s["parasol_height_m"])
    pole = (W / 2 - 0.1, H, L / 2 - 0.15)
    rod(local, pole, (pole[0], top, pole[2]), 0.03, METAL)
    R = float(s["parasol_radius_m"])
    apex = np.array([pole[0], top + 0.05, pole[2]])
    panels = 8
    for i in range(panels):
        a0, a1 = 2 * math.pi * i / panels, 2 * math.pi * (i + 1) / panels
        p0 = apex + (R * math.cos(a0), -0.35, R * math.sin(a0))
        p1 = apex + (R * math.cos(a1), -0.35, R * math.sin(a1))
        c = PARASOL[i % 2]
        local.tri(apex, p0, p1, c, Material.PLAIN, outward=(0, 1, 0))
        local.tri(apex, p1, p0, c, Material.PLAIN, outward=(0, -1, 0))
    b.extend(local, prop.at, math.radians(prop.facing_deg))


def pot(b: Builder, prop: Prop) -> None:
    """A glazed courtyard pot with a shrub in it."""
    s = prop_shapes()["pot"]
    rng = _rng(prop)
    x, z = prop.at
    glaze = tuple(s["glazes"][int(rng.integers(len(s["glazes"])))])
    h, rim, foot = float(s["height_m"]), float(s["rim_radius_m"]), float(s["foot_radius_m"])
    b.cylinder((x, 0.0, z), foot, rim, h, glaze, Material.PLAIN, sides=10, caps=False)
    b.cylinder((x, h - 0.03, z), rim + 0.02, rim + 0.02, 0.04, glaze, Material.PLAIN, sides=10, caps=False)
    b.cylinder((x, h - 0.04, z), rim, rim, 0.001, EARTH, Material.PLAIN, sides=10, caps=True)
    pr = float(s["plant_radius_m"]) * float(rng.uniform(0.8, 1.2))
    for k in range(3):
        a = 2 * math.pi * k / 3 + float(rng.uniform(0, 1))
        c = LEAF_GREENS[int(rng.integers(len(LEAF_GREENS)))]
        b.ellipsoid((x + 0.12 * math.cos(a), h + pr * 0.7 + 0.08 * k, z + 0.12 * math.sin(a)), (pr * 0.7, pr * 0.6, pr * 0.7),
                    c, Material.LEAVES, n_lon=7, n_lat=4)


def _sagging(a, b_, y: float, sag_m: float, n: int = 8) -> np.ndarray:
    """Points (n + 1, 3) of a cord from level point a to b at height y, sagging ``sag_m`` in the middle."""
    t = np.linspace(0.0, 1.0, n + 1)
    xz = np.outer(1 - t, a) + np.outer(t, b_)
    return np.c_[xz[:, 0], y - 4.0 * sag_m * t * (1 - t), xz[:, 1]]


def _end_posts(b: Builder, ends, top_m: float, tiles: TileMap) -> None:
    """A thin pole under an end that is not tied to a wall (its cell is walkable)."""
    for x, y in ends:
        if tiles.is_walkable(x, y):
            rod(b, (x, 0.0, y), (x, top_m + 0.1, y), 0.06, WOOD)


def washing_line(b: Builder, prop: Prop, tiles: TileMap) -> None:
    """A cord between two points with clothes pegged along it."""
    s = prop_shapes()["washing_line"]
    rng = _rng(prop)
    a, c = prop.ends
    pts = _sagging(a, c, prop.height_m, float(s["sag_m"]))
    for p, q in zip(pts[:-1], pts[1:]):
        rod(b, p, q, 0.012, CORD)
    _end_posts(b, prop.ends, prop.height_m, tiles)
    span = math.dist(a, c)
    d = (np.asarray(c) - np.asarray(a)) / span
    nrm = np.array([-d[1], 0.0, d[0]])  # across the line, horizontal (world x, z)
    step = float(s["cloth_every_m"])
    for k in range(1, int(span / step)):
        if rng.random() < 0.2:
            continue  # a gap on the line
        t = k * step / span
        w = float(rng.uniform(*s["cloth_width_m"]))
        drop = float(rng.uniform(*s["cloth_drop_m"]))
        col = tuple(s["cloth_colours"][int(rng.integers(len(s["cloth_colours"])))])
        mid = np.array([a[0] + t * (c[0] - a[0]), a[1] + t * (c[1] - a[1])])
        y = prop.height_m - 4.0 * float(s["sag_m"]) * t * (1 - t)
        u = np.array([d[0], 0.0, d[1]]) * w / 2
        top = np.array([mid[0], y, mid[1]])
        swing = nrm * float(rng.uniform(-0.06, 0.06))  # hanging a little off the vertical (a breeze)
        bottom = top + np.array([0.0, -drop, 0.0]) + swing
        b.quad(top - u, top + u, bottom + u, bottom - u, col, Material.PLAIN, outward=nrm, two_sided=True)


def wire(b: Builder, prop: Prop, tiles: TileMap) -> None:
    """A few black cables strung side by side between two points, sagging."""
    s = prop_shapes()["wire"]
    a, c = prop.ends
    span = math.dist(a, c)
    d = (np.asarray(c) - np.asarray(a)) / span
    across = np.array([-d[1], d[0]])
    n = int(s["cables"])
    for k in range(n):
        off = (k - (n - 1) / 2) * float(s["spacing_m"])
        pa, pc = np.asarray(a) + across * off, np.asarray(c) + across * off
        pts = _sagging(pa, pc, prop.height_m - 0.05 * k, float(s["sag_per_m"]) * span * (1 + 0.2 * k))
        for p, q in zip(pts[:-1], pts[1:]):
            rod(b, p, q, float(s["thickness_m"]), CABLE)
    _end_posts(b, prop.ends, prop.height_m, tiles)


def sign(b: Builder, prop: Prop) -> None:
    """A lacquered shop board with a gold edge, its face toward ``facing_deg``, on two brackets
    back to the wall behind it."""
    s = prop_shapes()["sign"]
    w, h, t, off = float(s["width_m"]), float(s["height_m"]), float(s["thickness_m"]), float(s["off_wall_m"])
    y = prop.height_m
    local = Builder()  # the face toward local -z; the wall behind, at +z
    local.box((-w / 2, y - h / 2, -t / 2), (w / 2, y + h / 2, t / 2), LACQUER_RED, Material.LACQUER)
    e = 0.04
    for lo, hi in (((-w / 2 - e, y + h / 2, -t / 2 - 0.01), (w / 2 + e, y + h / 2 + e, t / 2 + 0.01)),
                   ((-w / 2 - e, y - h / 2 - e, -t / 2 - 0.01), (w / 2 + e, y - h / 2, t / 2 + 0.01)),
                   ((-w / 2 - e, y - h / 2, -t / 2 - 0.01), (-w / 2, y + h / 2, t / 2 + 0.01)),
                   ((w / 2, y - h / 2, -t / 2 - 0.01), (w / 2 + e, y + h / 2, t / 2 + 0.01))):
        local.box(lo, hi, GOLD, Material.PLAIN)
    for k in range(3):  # three gold characters' worth of marks on the board
        cx = (k - 1) * w / 3.4
        local.box((cx - 0.1, y - 0.12, -t / 2 - 0.012), (cx + 0.1, y + 0.12, -t / 2 - 0.002), GOLD, Material.PLAIN)
    for x in (-w / 3, w / 3):
        local.box((x - 0.02, y + h / 2, -0.02), (x + 0.02, y + h / 2 + 0.04, t / 2 + off), (0.1, 0.1, 0.1),
                  Material.PLAIN)
    b.extend(local, prop.at, math.radians(prop.facing_deg))


def screen_wall(b: Builder, prop: Prop) -> None:
    """A yingbi: a brick screen on a stone plinth under a small tiled roof, with a framed
    lozenge panel on each face. It stands across ``facing_deg`` (its faces look that way and back)."""
    s = prop_shapes()["screen_wall"]
    w, h, t, pl, ov = prop.width_m, float(s["height_m"]), float(s["thickness_m"]), float(s["plinth_m"]), float(
        s["roof_overhang_m"])
    local = Builder()
    local.box((-w / 2 - 0.06, 0.0, -t / 2 - 0.06), (w / 2 + 0.06, pl, t / 2 + 0.06), STONE, Material.PLAIN, skip="y")
    local.box((-w / 2, pl, -t / 2), (w / 2, h, t / 2), (0.56, 0.57, 0.58), Material.BRICK, skip="y")
    local.box((-w / 2 - 0.05, h, -t / 2 - 0.05), (w / 2 + 0.05, h + 0.12, t / 2 + 0.05), (0.27, 0.28, 0.30),
              Material.PLAIN)
    # the little roof: two slopes along the wall, its ridge a dark beam
    local.gable_roof(-w / 2 - ov, w / 2 + ov, -t / 2 - ov, t / 2 + ov, h + 0.1, h + 0.45, (0.34, 0.35, 0.37),
                     Material.ROOF, underside=True)
    local.box((-w / 2 - ov - 0.05, h + 0.42, -0.06), (w / 2 + ov + 0.05, h + 0.55, 0.06), (0.24, 0.25, 0.27),
              Material.PLAIN)
    for z, out in ((-t / 2 - 0.01, -1.0), (t / 2 + 0.01, 1.0)):
        cy, half = pl + (h - pl) / 2, min(w, h - pl) * 0.36
        sq = [(-half, cy - half), (half, cy - half), (half, cy + half), (-half, cy + half)]
        local.quad(*[(x, y, z) for x, y in sq], LIGHT_STONE, Material.PLAIN, outward=(0, 0, out))
        zz = z + 0.005 * out
        dia = [(0.0, cy - half * 0.8), (half * 0.8, cy), (0.0, cy + half * 0.8), (-half * 0.8, cy)]
        local.quad(*[(x, y, zz) for x, y in dia], (0.50, 0.48, 0.45), Material.PLAIN, outward=(0, 0, out))
        local.ellipsoid((0.0, cy, zz), (half * 0.25, half * 0.25, 0.03), (0.40, 0.38, 0.36), Material.PLAIN,
                        n_lon=8, n_lat=4)
    b.extend(local, prop.at, math.radians(prop.facing_deg))


def moon_gate_local(width_m: float, depth_m: float, wall_height_m: float, cap_grey, brick_grey) -> Builder:
    """A wall piece filling an opening, with a round hole through it: local u = 0..width_m along
    the wall, w = 0..depth_m through it, y up (the frame of meshes' openings)."""
    s = prop_shapes()["moon_gate"]
    ring, seg = float(s["ring_m"]), int(s["segments"])
    R = min(width_m / 2 - ring - 0.05, wall_height_m / 2 - ring - 0.1)
    cu, cy = width_m / 2, R + ring + 0.02  # the ring's foot just clear of the ground
    b = Builder()
    # angles around the circle plus the face's corners, so the rays from the centre reach them
    corners = [(0.0, 0.0), (width_m, 0.0), (width_m, wall_height_m), (0.0, wall_height_m)]
    angs = sorted(set(np.linspace(0.0, 2 * math.pi, seg, endpoint=False).tolist()
                      + [math.atan2(y - cy, x - cu) % (2 * math.pi) for x, y in corners]))
    angs.append(angs[0] + 2 * math.pi)

    def edge(a: float) -> tuple[float, float]:
        dx, dy = math.cos(a), math.sin(a)
        ts = [t for t in ((0 - cu) / dx if dx < -1e-9 else None, (width_m - cu) / dx if dx > 1e-9 else None,
                          (0 - cy) / dy if dy < -1e-9 else None, (wall_height_m - cy) / dy if dy > 1e-9 else None)
              if t is not None]
        t = min(ts)
        return cu + t * dx, cy + t * dy

    for w, out in ((0.0, -1.0), (depth_m, 1.0)):
        for a0, a1 in zip(angs[:-1], angs[1:]):
            c0 = (cu + R * math.cos(a0), cy + R * math.sin(a0))
            c1 = (cu + R * math.cos(a1), cy + R * math.sin(a1))
            r0 = (cu + (R + ring) * math.cos(a0), cy + (R + ring) * math.sin(a0))
            r1 = (cu + (R + ring) * math.cos(a1), cy + (R + ring) * math.sin(a1))
            e0, e1 = edge(a0), edge(a1)
            b.quad((r0[0], r0[1], w), (r1[0], r1[1], w), (e1[0], e1[1], w), (e0[0], e0[1], w), brick_grey,
                   Material.BRICK, outward=(0, 0, out))
            wr = w + 0.02 * out  # the ring stands proud of the face
            b.quad((c0[0], c0[1], wr), (c1[0], c1[1], wr), (r1[0], r1[1], wr), (r0[0], r0[1], wr), LIGHT_STONE,
                   Material.PLAIN, outward=(0, 0, out))
    # the hole's round inner face, through the wall
    angs_c = np.linspace(0.0, 2 * math.pi, seg * 2 + 1)
    for a0, a1 in zip(angs_c[:-1], angs_c[1:]):
        p0 = (cu + R * math.cos(a0), cy + R * math.sin(a0))
        p1 = (cu + R * math.cos(a1), cy + R * math.sin(a1))
        mid = 0.5 * (a0 + a1)
        b.quad((p0[0], p0[1], -0.02), (p1[0], p1[1], -0.02), (p1[0], p1[1], depth_m + 0.02),
               (p0[0], p0[1], depth_m + 0.02), STONE, Material.PLAIN, outward=(-math.cos(mid), -math.sin(mid), 0))
    o = 0.12
    b.box((-0.01, wall_height_m, -o), (width_m + 0.01, wall_height_m + 0.1, depth_m + o), cap_grey, Material.PLAIN)
    # turn (u, y, w) -> the x, y, z of the opening's local frame: already so (u = x, w = z)
    return b


def build_props(b: Builder, props, tiles: TileMap) -> None:
    """Add every static prop of the new kinds (trees, lanterns, benches, moon gates are drawn by
    meshes.py; flocks and rain by animated.py)."""
    for p in props:
        if p.kind == "bicycle":
            bicycle(b, p, tiles)
        elif p.kind == "cart":
            cart(b, p)
        elif p.kind == "pot":
            pot(b, p)
        elif p.kind == "washing_line":
            washing_line(b, p, tiles)
        elif p.kind == "wire":
            wire(b, p, tiles)
        elif p.kind == "sign":
            sign(b, p)
        elif p.kind == "screen_wall":
            screen_wall(b, p)
