"""A small triangle-soup builder for the level meshes (pure numpy, no GL).

Vertex layout (float32, 10 per vertex; ``VERTEX_FLOATS``):
    position xyz (world metres: X = level x east, Y up, Z = level y south),
    normal xyz (unit), colour rgb (sRGB, 0..1), material id (a ``Material`` value as a float).
Triangles are not indexed: every three consecutive vertices make one triangle, wound
counter-clockwise when seen from the side the normal points to. The renderer culls back
faces (half the rasterising on software GL), so a surface seen from both sides (a roof's
overhang, a thin board) is emitted twice, once per side.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

VERTEX_FLOATS = 10


class Material(IntEnum):
    """How the fragment shader colours a surface (procedural patterns from world position)."""

    PLAIN = 0  # vertex colour, lit
    BRICK = 1  # grey brick courses with mortar lines
    ROOF = 2  # rows of grey roof tiles running down the slope
    FACADE = 3  # courtyard front of a house: brick plinth, red columns, lattice windows, painted beam
    PAVING = 4  # square grey paving bricks
    GARDEN = 5  # grass with patches of earth
    LEAVES = 6  # foliage: colour noise
    LANTERN = 7  # glowing red silk with ribs (emissive, unlit)
    LACQUER = 8  # red lacquered wood of gates and doors (slightly glossy)
    DOOR = 9  # a door leaf: colour carries leaf coordinates (see meshes._door_leaf); panels, studs


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


class Builder:
    """Collects triangles; ``vertices()`` returns the (n, VERTEX_FLOATS) float32 array."""

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []

    # -- raw triangles -------------------------------------------------------------------------

    def add_triangles(self, pos: np.ndarray, nrm: np.ndarray, colour, material: Material) -> None:
        """pos, nrm: (3k, 3) positions and normals of k triangles (CCW seen from the normal side)."""
        pos = np.asarray(pos, dtype=np.float32).reshape(-1, 3)
        nrm = np.asarray(nrm, dtype=np.float32).reshape(-1, 3)
        out = np.empty((len(pos), VERTEX_FLOATS), dtype=np.float32)
        out[:, 0:3] = pos
        out[:, 3:6] = nrm
        out[:, 6:9] = np.broadcast_to(np.asarray(colour, dtype=np.float32).reshape(-1, 3), (len(pos), 3))
        out[:, 9] = float(material)
        self._chunks.append(out)

    def extend(self, other: "Builder", origin_xz=(0.0, 0.0), heading_rad: float = 0.0) -> None:
        """Add ``other``'s triangles rotated by a compass heading and moved to ``origin_xz``.

        Local frame: +x is "right", -z is "forward"; heading h turns local forward (0, -1) into
        the level direction (sin h, -cos h). A proper rotation, so windings stay counter-clockwise.
        """
        v = other.vertices()
        if not len(v):
            return
        c, s = math.cos(heading_rad), math.sin(heading_rad)
        rot = np.array([[c, -s], [s, c]], dtype=np.float32)  # acts on (x, z) column vectors
        v = v.copy()
        v[:, [0, 2]] = v[:, [0, 2]] @ rot.T + np.asarray(origin_xz, dtype=np.float32)
        v[:, [3, 5]] = v[:, [3, 5]] @ rot.T
        self._chunks.append(v)

    def vertices(self) -> np.ndarray:
        if not self._chunks:
            return np.zeros((0, VERTEX_FLOATS), dtype=np.float32)
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0]

    # -- flat primitives -----------------------------------------------------------------------

    def tri(self, a, b, c, colour, material: Material, outward=None) -> None:
        """One flat triangle; if ``outward`` is given the winding is made to face it."""
        p = np.array([a, b, c], dtype=np.float64)
        n = _unit(np.cross(p[1] - p[0], p[2] - p[0]))
        if outward is not None and float(np.dot(n, outward)) < 0:
            p = p[[0, 2, 1]]
            n = -n
        self.add_triangles(p, np.tile(n, (3, 1)), colour, material)

    def quad(self, a, b, c, d, colour, material: Material, outward=None, two_sided: bool = False) -> None:
        """A flat quad a-b-c-d (in order around its edge), as two triangles facing ``outward``;
        ``two_sided`` adds the same quad facing the other way (the renderer culls back faces)."""
        p = np.array([a, b, c, d], dtype=np.float64)
        n = _unit(np.cross(p[1] - p[0], p[3] - p[0]))
        if outward is not None and float(np.dot(n, outward)) < 0:
            p = p[[0, 3, 2, 1]]
            n = -n
        self.add_triangles(p[[0, 1, 2, 0, 2, 3]], np.tile(n, (6, 1)), colour, material)
        if two_sided:
            self.add_triangles(p[[0, 2, 1, 0, 3, 2]], np.tile(-n, (6, 1)), colour, material)

    def box(self, lo, hi, colour, material: Material, skip: str = "") -> None:
        """Axis-aligned box from corner ``lo`` to ``hi`` (x, y, z). ``skip``: faces to leave out,
        letters of 'xXyYzZ' (lower case = the face at the low coordinate)."""
        x0, y0, z0 = lo
        x1, y1, z1 = hi
        faces = {
            "x": ([(x0, y0, z0), (x0, y0, z1), (x0, y1, z1), (x0, y1, z0)], (-1, 0, 0)),
            "X": ([(x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)], (1, 0, 0)),
            "y": ([(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)], (0, -1, 0)),
            "Y": ([(x0, y1, z0), (x0, y1, z1), (x1, y1, z1), (x1, y1, z0)], (0, 1, 0)),
            "z": ([(x0, y0, z0), (x0, y1, z0), (x1, y1, z0), (x1, y0, z0)], (0, 0, -1)),
            "Z": ([(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)], (0, 0, 1)),
        }
        for key, (pts, out) in faces.items():
            if key not in skip:
                self.quad(*pts, colour, material, outward=out)

    def gable_roof(self, u0: float, u1: float, w0: float, w1: float, eave_y: float, ridge_y: float,
                   colour, material: Material, underside: bool = False) -> None:
        """Two roof slopes with the ridge along x (u) at z = (w0 + w1) / 2, eaves at z = w0, w1.
        ``underside``: also the downward-facing side (seen under the eaves)."""
        wm = 0.5 * (w0 + w1)
        self.quad((u0, eave_y, w0), (u1, eave_y, w0), (u1, ridge_y, wm), (u0, ridge_y, wm), colour, material,
                  outward=(0, 1, -1), two_sided=underside)
        self.quad((u0, eave_y, w1), (u0, ridge_y, wm), (u1, ridge_y, wm), (u1, eave_y, w1), colour, material,
                  outward=(0, 1, 1), two_sided=underside)

    # -- smooth primitives ---------------------------------------------------------------------

    def ellipsoid(self, centre, radii, colour, material: Material, n_lon: int = 10, n_lat: int = 6) -> None:
        """A UV ellipsoid with smooth normals (n_lon * (n_lat - 1) * 2 triangles)."""
        c = np.asarray(centre, dtype=np.float64)
        r = np.asarray(radii, dtype=np.float64)
        lat = np.linspace(0.0, math.pi, n_lat + 1)  # from the top pole down
        lon = np.linspace(0.0, 2.0 * math.pi, n_lon + 1)
        sl, cl = np.sin(lat)[:, None], np.cos(lat)[:, None]
        unit = np.stack([sl * np.cos(lon)[None], np.broadcast_to(cl, (n_lat + 1, n_lon + 1)),
                         sl * np.sin(lon)[None]], axis=-1)  # (lat, lon, 3) on the unit sphere
        pos = c + unit * r
        nrm = _unit(unit / r)
        tris_p, tris_n = [], []
        for i in range(n_lat):
            for j in range(n_lon):
                a, b, cc, d = (i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)
                # CCW seen from outside: top-left, top-right (next lon), bottom-right, bottom-left
                for tri in ((a, d, cc), (a, cc, b)):
                    tris_p.extend(pos[k] for k in tri)
                    tris_n.extend(nrm[k] for k in tri)
        p = np.array(tris_p)
        n = np.array(tris_n)
        # drop degenerate triangles at the poles
        area = np.linalg.norm(np.cross(p[1::3] - p[0::3], p[2::3] - p[0::3]), axis=1)
        keep = np.repeat(area > 1e-10, 3)
        p, n = p[keep], n[keep]
        # make sure windings face the normals (the lon direction above may run either way)
        face_n = np.cross(p[1::3] - p[0::3], p[2::3] - p[0::3])
        flip = (face_n * n[0::3]).sum(1) < 0
        if flip.any():
            idx = np.arange(len(p)).reshape(-1, 3)
            idx[flip] = idx[flip][:, [0, 2, 1]]
            p, n = p[idx.ravel()], n[idx.ravel()]
        self.add_triangles(p, n, colour, material)

    def cylinder(self, base, radius_bottom: float, radius_top: float, height: float, colour,
                 material: Material, sides: int = 8, caps: bool = True) -> None:
        """A vertical (frustum) cylinder standing on ``base`` (x, y, z); smooth side normals."""
        bx, by, bz = base
        ang = np.linspace(0.0, 2.0 * math.pi, sides + 1)
        ca, sa = np.cos(ang), np.sin(ang)
        slope = (radius_bottom - radius_top) / max(height, 1e-9)
        ring_n = _unit(np.stack([ca, np.full_like(ca, slope), sa], axis=-1))
        bot = np.stack([bx + radius_bottom * ca, np.full_like(ca, by), bz + radius_bottom * sa], axis=-1)
        top = np.stack([bx + radius_top * ca, np.full_like(ca, by + height), bz + radius_top * sa], axis=-1)
        p, n = [], []
        for j in range(sides):
            # CCW seen from outside (angle grows from +x toward +z, i.e. clockwise seen from above)
            p += [bot[j], top[j], top[j + 1], bot[j], top[j + 1], bot[j + 1]]
            n += [ring_n[j], ring_n[j], ring_n[j + 1], ring_n[j], ring_n[j + 1], ring_n[j + 1]]
        p = np.array(p)
        n = np.array(n)
        face_n = np.cross(p[1::3] - p[0::3], p[2::3] - p[0::3])
        if (face_n * n[0::3]).sum(1).mean() < 0:
            idx = np.arange(len(p)).reshape(-1, 3)[:, [0, 2, 1]].ravel()
            p, n = p[idx], n[idx]
        self.add_triangles(p, n, colour, material)
        if caps:
            for ring, y, out in ((top, by + height, (0, 1, 0)), (bot, by, (0, -1, 0))):
                if (radius_top if out[1] > 0 else radius_bottom) <= 0:
                    continue
                centre = (bx, y, bz)
                for j in range(sides):
                    self.tri(centre, ring[j], ring[j + 1], colour, material, outward=out)

    def cone(self, base, radius: float, height: float, colour, material: Material, sides: int = 8) -> None:
        self.cylinder(base, radius, 0.0, height, colour, material, sides=sides, caps=True)
