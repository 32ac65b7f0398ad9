"""The hutong as triangles: walls, houses, gates, paving, garden, trees, lanterns, benches.

Pure numpy (no GL): ``build_scene(level)`` turns a validated ``Level`` into one triangle soup
in the vertex layout of ``memoire.render.geometry`` (position, normal, colour, material id).
Surface detail (bricks, roof tiles, paving, lattice windows) is drawn by the fragment shader
from world position, so the geometry stays at a few tens of thousands of triangles, which
software rasterisers (Mesa llvmpipe) draw quickly.

One long job (a mesh builder, a function per kind of building part), so one module past the
~600-line guide.

World frame (docs/architecture.md): X = level x (east), Z = level y (south), Y up, metres.
Grid cells are ``tiles.cell_m`` square; cell (col, row) spans x in [col, col+1) * cell_m and
z in [row, row+1) * cell_m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memoire.world.level import SOLID_TILES, Level, TileMap
from memoire.render.geometry import VERTEX_FLOATS, Builder, Material
from memoire.render.props import build_props, moon_gate_local, rod
from memoire.render.zones import pixel_centres

# --- dimensions (metres), from the look of Beijing hutong courtyards ---------------------------
WALL_HEIGHT_M = 3.0  # the brief: grey brick walls 3 m high
CAP_OVERHANG_M = 0.12  # capping tiles overhang the brick face on both sides
CAP_SLAB_M = 0.10  # flat course of tiles laid on the wall top
CAP_RISE_M = 0.30  # the little tiled gable running along the wall top
HALL_EAVE_M = 3.4  # main halls (ridge along x, i.e. facing north/south) stand a bit taller...
WING_EAVE_M = 3.15  # ...than side wings (ridge along z), as in a siheyuan
ROOF_SLOPE = 0.58  # mean rise per run of the roof (about 30 degrees)
ROOF_SAG = 0.12  # the roof's mid-slope kink sags by this fraction of its rise (a concave profile)
ROOF_MAX_RISE_M = 2.0
EAVE_OVERHANG_M = 0.55  # roof beyond the facade on the long sides
GABLE_OVERHANG_M = 0.25  # roof beyond the gable walls
EAVE_CORNER_LIFT_M = 0.32  # the eave edge turns up this much at a roof's corners...
EAVE_CORNER_REACH_M = 1.6  # ...starting this far in from them (hutong houses: a gentle upsweep)
EAVE_CORNER_STEPS = 4  # cuts of the eave strip along each corner's upsweep
# a ridge end's horn, (along the ridge inward, up) metres from the ridge end's top: rising,
# then curling back over the ridge
RIDGE_HORN = ((0.05, 0.25), (-0.04, 0.52), (0.02, 0.74), (0.18, 0.84), (0.32, 0.76))
DRUM_RADIUS_M = 0.3  # baogushi: a drum about 0.6 m across, on its side...
DRUM_LENGTH_M = 0.24  # ...0.24 m thick, its round faces along the wall
DRUM_BASE_M = (0.36, 0.5, 0.42)  # its carved base: across the wall's line, through it, height
GATE_POST_M = 0.28  # square vermilion posts of a gate
GATE_LINTEL_Y_M = (2.55, 2.85)
DOOR_LINTEL_Y_M = (2.15, 2.35)
LANTERN_Y_M = 2.25  # centre of a hanging lantern
LANTERN_BRACKET_Y_M = 2.75
TREE_TRUNK_M = 2.6
WHITEWASH_M = 0.7  # lime-washed foot of the trunk, common on Beijing street trees
TREE_TIERS = (2, 4)  # tiers of foliage in a crown, fewest and most
# frustum culling (renderer.py): the static scene is cut into squares of this side, one draw range
# per material and square, and only the squares whose triangles' box is in view are drawn. Most
# of the level is behind or beside the camera, and software GL (llvmpipe) shades every vertex of
# a draw before clipping; 8 m (a lane's width and a bit, 81 squares on the 72 m default level)
# keeps the draw calls per frame in the tens. Measured: tools/bench/bench_render.py, docs/look.md.
CULL_CHUNK_M = 8.0

# --- colours (sRGB) ----------------------------------------------------------------------------
BRICK_GREY = (0.56, 0.57, 0.58)  # "blue-grey" fired brick
CAP_GREY = (0.27, 0.28, 0.30)
ROOF_GREY = (0.34, 0.35, 0.37)
RIDGE_GREY = (0.24, 0.25, 0.27)
FACADE_RED = (0.58, 0.13, 0.08)
VERMILION = (0.78, 0.14, 0.08)
DOOR_RED = (0.55, 0.10, 0.07)
TEAL = (0.10, 0.42, 0.44)  # painted beam band (caihua)
BLUE = (0.14, 0.25, 0.55)
STONE = (0.63, 0.61, 0.58)
PAVING = (0.60, 0.59, 0.56)
GRASS = (0.34, 0.47, 0.22)
EARTH = (0.42, 0.33, 0.24)
TRUNK = (0.33, 0.26, 0.20)
WHITEWASH = (0.78, 0.78, 0.74)
LEAVES = ((0.24, 0.42, 0.16), (0.30, 0.48, 0.18), (0.20, 0.36, 0.15), (0.34, 0.50, 0.22))
LANTERN_RED = (0.95, 0.16, 0.07)
GOLD = (0.82, 0.62, 0.22)
DARK_WOOD = (0.28, 0.18, 0.12)
BENCH_WOOD = (0.48, 0.32, 0.19)


@dataclass(frozen=True)
class HouseBlock:
    """A rectangle of house cells (inclusive) with one pitched roof."""

    col0: int
    row0: int
    col1: int
    row1: int
    ridge_along_x: bool
    eave_m: float

    def rect_m(self, cell_m: float) -> tuple[float, float, float, float]:
        return self.col0 * cell_m, self.row0 * cell_m, (self.col1 + 1) * cell_m, (self.row1 + 1) * cell_m

    def ridge_m(self, cell_m: float) -> float:
        x0, z0, x1, z1 = self.rect_m(cell_m)
        half_span = 0.5 * ((z1 - z0) if self.ridge_along_x else (x1 - x0))
        return self.eave_m + min(half_span * ROOF_SLOPE, ROOF_MAX_RISE_M)


@dataclass(frozen=True)
class Opening:
    """A run of gate or door cells in a wall. ``wall_along_x``: the wall runs east-west, so one
    walks through north-south."""

    kind: str  # "gate" or "door"
    col0: int
    row0: int
    col1: int
    row1: int
    wall_along_x: bool
    street_side: int = -1  # -1: the street is north (or west) of the wall, +1: south (or east)


@dataclass(frozen=True)
class SceneMesh:
    """The level's triangles. ``vertices``: (3 * triangles, VERTEX_FLOATS) float32, read-only,
    sorted by material and, within a material, by the CULL_CHUNK_M square its triangles' centres
    fall in (row by row), so that every chunk is one contiguous range of vertices."""

    vertices: np.ndarray  # sorted by material, then by chunk
    size_m: tuple[float, float]  # level extent (x, y) in metres
    top_m: float  # highest point (for the shadow camera)
    material_ranges: tuple[tuple[Material, int, int], ...]  # (material, first vertex, vertex count)
    # the chunks in vertex order: (n, 3) int64 rows (material id, first vertex, vertex count),
    # and their triangles' bounding boxes, (n, 2, 3) float32 (min corner, max corner; world metres)
    chunk_ranges: np.ndarray
    chunk_boxes: np.ndarray

    @property
    def triangle_count(self) -> int:
        return len(self.vertices) // 3


# ---------------------------------------------------------------------------------------------
# Reading the grid


def _solid_mask(kinds: np.ndarray) -> np.ndarray:
    return np.isin(kinds, list(SOLID_TILES))


def house_blocks(tiles: TileMap) -> list[HouseBlock]:
    """Cover the house cells with rectangles, largest first (each gets one pitched roof)."""
    free = tiles.kinds() == "house"
    blocks: list[HouseBlock] = []
    while free.any():
        best = _largest_rectangle(free)
        r0, c0, r1, c1 = best
        free[r0 : r1 + 1, c0 : c1 + 1] = False
        along_x = (c1 - c0) >= (r1 - r0)
        blocks.append(HouseBlock(c0, r0, c1, r1, bool(along_x), HALL_EAVE_M if along_x else WING_EAVE_M))
    return blocks


def _largest_rectangle(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Largest all-True axis-aligned rectangle (r0, c0, r1, c1 inclusive); histogram method."""
    h, w = mask.shape
    heights = np.zeros(w, dtype=int)
    best_area, best = 0, (0, 0, 0, 0)
    for r in range(h):
        heights = np.where(mask[r], heights + 1, 0)
        stack: list[int] = []
        for c in range(w + 1):
            cur = heights[c] if c < w else 0
            while stack and heights[stack[-1]] >= cur:
                top = stack.pop()
                height = heights[top]
                left = stack[-1] + 1 if stack else 0
                area = height * (c - left)
                if area > best_area:
                    best_area, best = area, (r - height + 1, left, r, c - 1)
            stack.append(c)
    return tuple(int(v) for v in best)  # type: ignore[return-value]


def wall_runs(tiles: TileMap) -> list[tuple[int, int, int, int, bool]]:
    """Wall cells as straight runs (col0, row0, col1, row1, along_x): east-west runs of two or
    more cells first, the remaining cells as north-south runs. Each run gets one capping ridge."""
    wall = tiles.kinds() == "wall"
    h, w = wall.shape
    used = np.zeros_like(wall)
    runs = []
    for r in range(h):
        c = 0
        while c < w:
            if wall[r, c]:
                c1 = c
                while c1 + 1 < w and wall[r, c1 + 1]:
                    c1 += 1
                if c1 > c:
                    runs.append((c, r, c1, r, True))
                    used[r, c : c1 + 1] = True
                c = c1 + 1
            else:
                c += 1
    rest = wall & ~used
    for c in range(w):
        r = 0
        while r < h:
            if rest[r, c]:
                r1 = r
                while r1 + 1 < h and rest[r1 + 1, c]:
                    r1 += 1
                runs.append((c, r, c, r1, r1 == r))
                r = r1 + 1
            else:
                r += 1
    return runs


def openings(tiles: TileMap) -> list[Opening]:
    """Gate and door cells grouped into runs along the wall they pierce."""
    kinds = tiles.kinds()
    solid = _solid_mask(kinds)
    h, w = kinds.shape

    def is_solid(r: int, c: int) -> bool:
        return bool(solid[r, c]) if 0 <= r < h and 0 <= c < w else True

    def same(r: int, c: int, kind: str) -> bool:
        return 0 <= r < h and 0 <= c < w and kinds[r, c] == kind

    out: list[Opening] = []
    seen = np.zeros((h, w), dtype=bool)
    for r in range(h):
        for c in range(w):
            kind = kinds[r, c]
            if kind not in ("gate", "door") or seen[r, c]:
                continue
            # the wall runs east-west if the run's ends meet solid cells east and west
            c1 = c
            while same(r, c1 + 1, kind):
                c1 += 1
            r1 = r
            while same(r1 + 1, c, kind):
                r1 += 1
            along_x_ok = is_solid(r, c - 1) and is_solid(r, c1 + 1)
            along_z_ok = is_solid(r - 1, c) and is_solid(r1 + 1, c)
            if along_z_ok and not along_x_ok:
                side = _street_side(solid, (r, c - 1), (r, c + 1), along_x=False)
                out.append(Opening(kind, c, r, c, r1, False, side))
                seen[r : r1 + 1, c] = True
            else:
                side = _street_side(solid, (r - 1, c), (r + 1, c), along_x=True)
                out.append(Opening(kind, c, r, c1, r, True, side))
                seen[r, c : c1 + 1] = True
    return out


def _open_run(solid: np.ndarray, r: int, c: int, along_x: bool) -> int:
    """Length of the straight walkable run through cell (r, c), along x or along z."""
    h, w = solid.shape
    if not (0 <= r < h and 0 <= c < w) or solid[r, c]:
        return 0
    line = solid[r, :] if along_x else solid[:, c]
    i = c if along_x else r
    lo = i
    while lo - 1 >= 0 and not line[lo - 1]:
        lo -= 1
    hi = i
    while hi + 1 < len(line) and not line[hi + 1]:
        hi += 1
    return hi - lo + 1


def _street_side(solid: np.ndarray, before: tuple[int, int], after: tuple[int, int], *, along_x: bool) -> int:
    """Which side of an opening is the street: the side whose open run along the wall is longer
    (a lane runs far along the wall, a courtyard or garden stops sooner). -1 = before, +1 = after."""
    return -1 if _open_run(solid, *before, along_x) >= _open_run(solid, *after, along_x) else 1


def ground_kinds(tiles: TileMap) -> np.ndarray:
    """Surface of each walkable cell: 'garden' or 'floor' (None for solid cells). Prop cells
    take the surface most of their neighbours have."""
    kinds = tiles.kinds()
    h, w = kinds.shape
    out = np.full((h, w), None, dtype=object)
    for r in range(h):
        for c in range(w):
            k = kinds[r, c]
            if k in SOLID_TILES:
                continue
            if k == "garden":
                out[r, c] = "garden"
            elif k in ("tree", "lantern", "bench"):
                nb = [kinds[rr, cc] for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                      if 0 <= rr < h and 0 <= cc < w]
                out[r, c] = "garden" if sum(k2 == "garden" for k2 in nb) >= 2 else "floor"
            else:
                out[r, c] = "floor"
    return out


# ---------------------------------------------------------------------------------------------
# Building


def build_scene(level: Level) -> SceneMesh:
    """All static geometry of the level, in world coordinates."""
    tiles = level.tiles
    cell = tiles.cell_m
    b = Builder()
    blocks = house_blocks(tiles)
    _ground(b, tiles)
    _vertical_faces(b, tiles, blocks)
    for run in wall_runs(tiles):
        _wall_cap(b, run, cell)
    for block in blocks:
        _house_roof(b, block, tiles)
    moon_cells = {tiles.cell_of(*p.at) for p in level.props if p.kind == "moon_gate"}
    for op in openings(tiles):
        cells = {(c, r) for c in range(op.col0, op.col1 + 1) for r in range(op.row0, op.row1 + 1)}
        if cells & moon_cells:
            _moon_gate(b, op, cell)
        else:
            _opening(b, op, cell)
    surface = ground_kinds(tiles)
    for prop in level.all_props():
        if prop.kind == "tree":
            _tree(b, prop.at, tiles, surface)
        elif prop.kind == "lantern":
            _lantern(b, prop.at, prop.facing_deg, tiles)
        elif prop.kind == "bench":
            _bench(b, prop.at, prop.facing_deg)
    build_props(b, level.props, tiles)  # bicycles, carts, pots, lines, wires, signs, screen walls
    v = b.vertices()
    # sort whole triangles by material so each material is one contiguous draw range, and within
    # it by chunk (the renderer draws only the chunks in view)
    tri = v.reshape(-1, 3, VERTEX_FLOATS)
    tri_mat = tri[:, 0, 9].round().astype(int)
    centre = tri[:, :, [0, 2]].mean(axis=1)
    n_cols = max(1, math.ceil(tiles.size_m[0] / CULL_CHUNK_M))
    col_row = np.clip((centre // CULL_CHUNK_M).astype(int), 0, None)
    tri_chunk = col_row[:, 1] * n_cols + np.minimum(col_row[:, 0], n_cols - 1)
    # a triangle longer than a chunk (a wall's face, a row of paving, a roof's slope) would stretch
    # its chunk's box over the level: those go in one chunk of their own per material (-1: first)
    xz = tri[:, :, [0, 2]]
    tri_chunk[(xz.max(axis=1) - xz.min(axis=1)).max(axis=1) > CULL_CHUNK_M] = -1
    order = np.lexsort((tri_chunk, tri_mat))
    tri, tri_mat, tri_chunk = tri[order], tri_mat[order], tri_chunk[order]
    v = tri.reshape(-1, VERTEX_FLOATS)
    ranges = []
    for m in Material:
        idx = np.flatnonzero(tri_mat == int(m))
        if len(idx):
            ranges.append((m, int(idx[0]) * 3, len(idx) * 3))
    # chunks: runs of triangles with the same material and chunk
    starts = np.flatnonzero(np.r_[True, (tri_mat[1:] != tri_mat[:-1]) | (tri_chunk[1:] != tri_chunk[:-1])])
    counts = np.diff(np.r_[starts, len(tri)])
    chunk_ranges = np.stack([tri_mat[starts] if len(tri) else starts, starts * 3, counts * 3], axis=1).astype(np.int64)
    pos = tri[:, :, 0:3]
    chunk_boxes = np.stack([np.minimum.reduceat(pos.min(axis=1), starts), np.maximum.reduceat(pos.max(axis=1), starts)],
                           axis=1) if len(tri) else np.zeros((0, 2, 3), dtype=np.float32)
    v.setflags(write=False)
    top = float(v[:, 1].max()) if len(v) else WALL_HEIGHT_M
    return SceneMesh(vertices=v, size_m=tiles.size_m, top_m=top, material_ranges=tuple(ranges),
                     chunk_ranges=chunk_ranges, chunk_boxes=chunk_boxes.astype(np.float32))


def _ground(b: Builder, tiles: TileMap) -> None:
    """Walkable cells as horizontal quads at y = 0, merged along rows by surface."""
    cell = tiles.cell_m
    surf = ground_kinds(tiles)
    h, w = surf.shape
    for r in range(h):
        c = 0
        while c < w:
            k = surf[r, c]
            if k is None:
                c += 1
                continue
            c1 = c
            while c1 + 1 < w and surf[r, c1 + 1] == k:
                c1 += 1
            x0, x1, z0, z1 = c * cell, (c1 + 1) * cell, r * cell, (r + 1) * cell
            mat, col = (Material.GARDEN, GRASS) if k == "garden" else (Material.PAVING, PAVING)
            b.quad((x0, 0, z0), (x0, 0, z1), (x1, 0, z1), (x1, 0, z0), col, mat, outward=(0, 1, 0))
            c = c1 + 1


def _vertical_faces(b: Builder, tiles: TileMap, blocks: list[HouseBlock]) -> None:
    """Faces of solid cells toward their neighbours, merged into runs.

    wall/void next to walkable: brick, 0 .. WALL_HEIGHT_M.
    house next to walkable: facade, 0 .. eave.  house next to wall: brick, wall top .. eave.
    house next to a lower house block: brick, the lower eave .. this eave.
    Nothing between two cells of the same kind, and nothing at the map's edge (outside is void).
    """
    cell = tiles.cell_m
    kinds = tiles.kinds()
    h, w = kinds.shape
    solid = _solid_mask(kinds)
    eave = np.zeros((h, w))
    block_id = np.full((h, w), -1)
    for i, bl in enumerate(blocks):
        eave[bl.row0 : bl.row1 + 1, bl.col0 : bl.col1 + 1] = bl.eave_m
        block_id[bl.row0 : bl.row1 + 1, bl.col0 : bl.col1 + 1] = i

    def face_key(r: int, c: int, rn: int, cn: int):
        """(material, colour, y0, y1) of the face of cell (r, c) toward (rn, cn), or None."""
        if not (0 <= rn < h and 0 <= cn < w) or not solid[r, c]:
            return None
        k, kn = kinds[r, c], kinds[rn, cn]
        if k in ("wall", "void"):
            return (Material.BRICK, BRICK_GREY, 0.0, WALL_HEIGHT_M) if not solid[rn, cn] else None
        # house
        if not solid[rn, cn]:
            return (Material.FACADE, FACADE_RED, 0.0, float(eave[r, c]))
        if kn in ("wall", "void"):
            return (Material.BRICK, BRICK_GREY, WALL_HEIGHT_M, float(eave[r, c]))
        if block_id[rn, cn] != block_id[r, c] and eave[rn, cn] < eave[r, c]:
            return (Material.BRICK, BRICK_GREY, float(eave[rn, cn]), float(eave[r, c]))
        return None

    # (dr, dc, normal): faces toward north (-z), south (+z), west (-x), east (+x)
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        along_c = dr != 0  # north/south faces merge along columns
        outer, inner = (h, w) if along_c else (w, h)
        for i in range(outer):
            j = 0
            while j < inner:
                r, c = (i, j) if along_c else (j, i)
                key = face_key(r, c, r + dr, c + dc)
                if key is None:
                    j += 1
                    continue
                j1 = j
                while j1 + 1 < inner:
                    r2, c2 = (i, j1 + 1) if along_c else (j1 + 1, i)
                    if face_key(r2, c2, r2 + dr, c2 + dc) != key:
                        break
                    j1 += 1
                mat, col, y0, y1 = key
                if y1 > y0:
                    if along_c:
                        z = (i + (1 if dr > 0 else 0)) * cell
                        x0, x1 = j * cell, (j1 + 1) * cell
                        b.quad((x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z), col, mat, outward=(0, 0, dr))
                    else:
                        x = (i + (1 if dc > 0 else 0)) * cell
                        z0, z1 = j * cell, (j1 + 1) * cell
                        b.quad((x, y0, z0), (x, y0, z1), (x, y1, z1), (x, y1, z0), col, mat, outward=(dc, 0, 0))
                j = j1 + 1


def _wall_cap(b: Builder, run: tuple[int, int, int, int, bool], cell: float) -> None:
    """Capping tiles on a wall run: a flat overhanging course and a small tiled ridge on top."""
    c0, r0, c1, r1, along_x = run
    x0, z0, x1, z1 = c0 * cell, r0 * cell, (c1 + 1) * cell, (r1 + 1) * cell
    o = CAP_OVERHANG_M
    y0, y1 = WALL_HEIGHT_M, WALL_HEIGHT_M + CAP_SLAB_M
    b.box((x0 - o, y0, z0 - o), (x1 + o, y1, z1 + o), CAP_GREY, Material.PLAIN)
    # build the ridge in a local frame with the ridge along local x, then rotate into place
    length = (x1 - x0) if along_x else (z1 - z0)
    width = (z1 - z0) if along_x else (x1 - x0)
    local = Builder()
    local.gable_roof(-o, length + o, -width / 2 - o, width / 2 + o, y1, y1 + CAP_RISE_M, CAP_GREY, Material.ROOF)
    for u in (-o, length + o):  # gable ends of the little ridge
        local.tri((u, y1, -width / 2 - o), (u, y1, width / 2 + o), (u, y1 + CAP_RISE_M, 0.0), CAP_GREY,
                  Material.PLAIN, outward=(-1 if u < 0 else 1, 0, 0))
    local.box((-o, y1 + CAP_RISE_M - 0.05, -0.09), (length + o, y1 + CAP_RISE_M + 0.07, 0.09), RIDGE_GREY,
              Material.PLAIN)
    if along_x:
        b.extend(local, (x0, 0.5 * (z0 + z1)), 0.0)
    else:  # heading 90 degrees: local +x becomes +z (south)
        b.extend(local, (0.5 * (x0 + x1), z0), math.pi / 2)


def roof_profile(half_m: float, overhang_m: float, wall_y: float, ridge_y: float) -> tuple[np.ndarray, np.ndarray]:
    """Cross-section of one slope of a Chinese roof, from the ridge (w = 0) out to the eave edge.

    Returns (w, y) points at: the ridge, a kink halfway to the wall line (sagging by ROOF_SAG of
    the rise, so the upper roof is steeper), the wall line (y = wall_y exactly, so walls meet the
    underside), and the eave edge, flatter still: the concave, lifted-eave profile of a hutong roof.
    """
    wk = 0.5 * half_m
    yk = 0.5 * (ridge_y + wall_y) - ROOF_SAG * (ridge_y - wall_y)
    slope_low = (yk - wall_y) / (half_m - wk)
    y_edge = wall_y - overhang_m * slope_low * 0.75
    return np.array([0.0, wk, half_m, half_m + overhang_m]), np.array([ridge_y, yk, wall_y, y_edge])


def corner_lift(u: np.ndarray | float, u0: float, u1: float) -> np.ndarray:
    """How far the eave edge is turned up at ``u`` along a roof from u0 to u1 (metres): 0 along the
    middle, rising as a square toward each corner (the upswept corners, qiao jiao, of a hipped
    hall are steeper; a hutong house's are gentle)."""
    d = np.minimum(np.asarray(u, dtype=np.float64) - u0, u1 - np.asarray(u, dtype=np.float64))
    reach = min(EAVE_CORNER_REACH_M, 0.5 * (u1 - u0))
    return EAVE_CORNER_LIFT_M * np.clip(1.0 - d / reach, 0.0, 1.0) ** 2


def _eave_us(u0: float, u1: float) -> np.ndarray:
    """Breakpoints along a roof where the eave edge bends up toward its corners."""
    reach = min(EAVE_CORNER_REACH_M, 0.5 * (u1 - u0))
    ramp = np.linspace(0.0, reach, EAVE_CORNER_STEPS + 1)
    return np.unique(np.concatenate([u0 + ramp, u1 - ramp]))


def _curved_roof(b: Builder, u0: float, u1: float, ws: np.ndarray, ys: np.ndarray, colour) -> None:
    """Both slopes of a roof with the ridge along local x from u0 to u1 and the profile (ws, ys)
    mirrored about w = 0; tiles on top, rafters underneath (two-sided). The eave strip (wall line
    to edge) is cut along u so its edge can turn up toward the corners (``corner_lift``)."""
    us = _eave_us(u0, u1)
    lift = corner_lift(us, u0, u1)
    for side in (-1.0, 1.0):
        for i in range(len(ws) - 2):
            wa, wb = side * ws[i], side * ws[i + 1]
            b.quad((u0, ys[i], wa), (u1, ys[i], wa), (u1, ys[i + 1], wb), (u0, ys[i + 1], wb), colour, Material.ROOF,
                   outward=(0, 1, side), two_sided=True)
        wa, wb = side * ws[-2], side * ws[-1]
        for j in range(len(us) - 1):
            ua, ub = us[j], us[j + 1]
            b.quad((ua, ys[-2], wa), (ub, ys[-2], wa), (ub, ys[-1] + lift[j + 1], wb), (ua, ys[-1] + lift[j], wb),
                   colour, Material.ROOF, outward=(0, 1, side), two_sided=True)


def _gable(b: Builder, u: float, outward: float, ws: np.ndarray, ys: np.ndarray, half_m: float, bottom_y: float,
           material: Material = Material.BRICK) -> None:
    """The end wall under a roof at local x = u, from bottom_y up to just under the roof profile."""
    inner = ws <= half_m + 1e-9
    top_w = np.concatenate([-ws[inner][::-1], ws[inner][1:]])
    top_y = np.concatenate([ys[inner][::-1], ys[inner][1:]]) - 0.02
    pts = [(u, bottom_y, -half_m)] + [(u, y, w) for w, y in zip(top_w, top_y)] + [(u, bottom_y, half_m)]
    centre = (u, bottom_y, 0.0)
    for a, c in zip(pts[:-1], pts[1:]):
        b.tri(centre, a, c, BRICK_GREY, material, outward=(outward, 0, 0))


def _edge_boards(b: Builder, u0: float, u1: float, ws: np.ndarray, ys: np.ndarray, gable_us: list[tuple[float, float]],
                 board_m: float = 0.13) -> None:
    """Dark boards along the eave edges and over the gable ends (give the thin roof an edge)."""
    w_e, y_e = ws[-1], ys[-1]
    us = _eave_us(u0, u1)
    lift = corner_lift(us, u0, u1)
    for side in (-1.0, 1.0):
        for j in range(len(us) - 1):  # the eave board follows the upturned edge
            ua, ub, la, lb = us[j], us[j + 1], y_e + lift[j], y_e + lift[j + 1]
            b.quad((ua, la - board_m, side * w_e), (ub, lb - board_m, side * w_e), (ub, lb, side * w_e),
                   (ua, la, side * w_e), RIDGE_GREY, Material.PLAIN, outward=(0, 0, side), two_sided=True)
        for u, out in gable_us:
            end_lift = float(corner_lift(u, u0, u1))
            for i in range(len(ws) - 1):
                wa, wb = side * ws[i], side * ws[i + 1]
                ya, yb = ys[i], ys[i + 1] + (end_lift if i + 1 == len(ws) - 1 else 0.0)
                b.quad((u, ya - board_m, wa), (u, yb - board_m, wb), (u, yb, wb), (u, ya, wa),
                       RIDGE_GREY, Material.PLAIN, outward=(out, 0, 0), two_sided=True)


def _ridge(b: Builder, u0: float, u1: float, ridge_y: float, half_width_m: float = 0.13) -> None:
    """The ridge beam with raised ends."""
    rb = half_width_m
    b.box((u0, ridge_y - 0.08, -rb), (u1, ridge_y + 0.22, rb), RIDGE_GREY, Material.PLAIN)
    # upturned ridge ends: a horn rising at each end and curling back over the ridge (a plain
    # stand-in for the chiwen, the ridge beasts of grander roofs); sized to the ridge's width
    k = half_width_m / 0.13
    for u, inward in ((u0, 1.0), (u1, -1.0)):
        b.box((min(u, u + inward * 0.4 * k), ridge_y + 0.2, -rb), (max(u, u + inward * 0.4 * k), ridge_y + 0.32, rb),
              RIDGE_GREY, Material.PLAIN)
        curve = [(u + inward * du * k, ridge_y + dy * k) for du, dy in RIDGE_HORN]
        for (ua, ya), (ub, yb), t in zip(curve[:-1], curve[1:], np.linspace(0.2, 0.11, len(curve) - 1)):
            rod(b, (ua, ya, 0.0), (ub, yb, 0.0), t * k, RIDGE_GREY)


def _house_roof(b: Builder, block: HouseBlock, tiles: TileMap) -> None:
    """Curved roof with the ridge along the block's long side, gable walls (where the block's end
    is not against another house), edge boards, ridge beam with raised ends."""
    cell = tiles.cell_m
    x0, z0, x1, z1 = block.rect_m(cell)
    length = (x1 - x0) if block.ridge_along_x else (z1 - z0)
    span = (z1 - z0) if block.ridge_along_x else (x1 - x0)
    eave, ridge = block.eave_m, block.ridge_m(cell)
    ov, og = EAVE_OVERHANG_M, GABLE_OVERHANG_M
    w_half = span / 2
    ws, ys = roof_profile(w_half, ov, eave, ridge)
    local = Builder()  # local frame: u along the ridge (local x, 0..length), w across (local z)
    _curved_roof(local, -og, length + og, ws, ys, ROOF_GREY)
    _ridge(local, -og - 0.1, length + og + 0.1, ridge)
    kinds = tiles.kinds()
    h, w = kinds.shape
    boards = []
    for end in (0, 1):
        if block.ridge_along_x:
            cc = block.col0 - 1 if end == 0 else block.col1 + 1
            beyond = [kinds[r, cc] if 0 <= cc < w else "void" for r in range(block.row0, block.row1 + 1)]
        else:
            rr = block.row0 - 1 if end == 0 else block.row1 + 1
            beyond = [kinds[rr, c] if 0 <= rr < h else "void" for c in range(block.col0, block.col1 + 1)]
        out = -1.0 if end == 0 else 1.0
        boards.append((-og if end == 0 else length + og, out))
        if all(k == "house" for k in beyond):
            continue  # the end is hidden inside the neighbouring house
        _gable(local, 0.0 if end == 0 else length, out, ws, ys, w_half, eave)
    _edge_boards(local, -og, length + og, ws, ys, boards)
    if block.ridge_along_x:
        b.extend(local, (x0, 0.5 * (z0 + z1)), 0.0)
    else:
        b.extend(local, (0.5 * (x0 + x1), z0), math.pi / 2)


def _opening(b: Builder, op: Opening, cell: float) -> None:
    """A red gate (posts, lintels, painted beams, open door leaves, threshold, little tiled roof)
    or a door (posts, lintel, open leaves, brick over the lintel, capping)."""
    c0, r0, c1, r1 = op.col0, op.row0, op.col1, op.row1
    width = (c1 - c0 + 1) * cell if op.wall_along_x else (r1 - r0 + 1) * cell  # along the wall
    depth = cell  # through the wall
    is_gate = op.kind == "gate"
    post = GATE_POST_M if is_gate else 0.2
    red = VERMILION if is_gate else DOOR_RED
    lintel = GATE_LINTEL_Y_M if is_gate else DOOR_LINTEL_Y_M
    local = Builder()  # local: u = x along the wall 0..width, w = z through the wall 0..depth
    inset = 0.1
    for u in (0.0, width - post):
        for w in (inset, depth - inset - post):
            local.box((u, 0.0, w), (u + post, WALL_HEIGHT_M, w + post), red, Material.LACQUER)
    for w in (inset, depth - inset - post):  # lintels front and back
        local.box((0.0, lintel[0], w - 0.02), (width, lintel[1], w + post + 0.02), red, Material.LACQUER)
    # open door leaves folded back against the jambs, threshold stone between them
    leaf_w = min((width - 2 * post) / 2, depth - 0.2)
    leaf_h = lintel[0] - 0.05
    for u in (post, width - post - 0.07):
        _door_leaf(local, u, 0.07, depth / 2 - leaf_w / 2, depth / 2 + leaf_w / 2, 0.02, leaf_h, studs=is_gate)
    local.box((post, 0.0, depth / 2 - 0.12), (width - post, 0.12, depth / 2 + 0.12), STONE, Material.PLAIN)
    if is_gate:
        # a pair of stone drums (mendun) guarding the gate on the street side
        # local w grows southward for an east-west wall, westward for a north-south one
        s = float(op.street_side if op.wall_along_x else -op.street_side)
        w_face = 0.0 if s < 0 else depth
        for u in (post + 0.25, width - post - 0.25):
            _drum_stone(local, u, w_face, s)
        # painted beam band above the lintels, a ceiling board, and the gate roof
        for w, s in ((0.0, -1), (depth, 1)):
            wb = w - 0.02 * s
            local.quad((0.0, lintel[1], wb), (width, lintel[1], wb), (width, WALL_HEIGHT_M + 0.2, wb),
                       (0.0, WALL_HEIGHT_M + 0.2, wb), TEAL, Material.PLAIN, outward=(0, 0, s), two_sided=True)
            local.quad((0.0, lintel[1] + 0.08, wb - 0.01 * s), (width, lintel[1] + 0.08, wb - 0.01 * s),
                       (width, lintel[1] + 0.16, wb - 0.01 * s), (0.0, lintel[1] + 0.16, wb - 0.01 * s), BLUE,
                       Material.PLAIN, outward=(0, 0, s), two_sided=True)
        local.box((0.0, WALL_HEIGHT_M - 0.05, -0.02), (width, WALL_HEIGHT_M + 0.2, depth + 0.02), DOOR_RED,
                  Material.PLAIN, skip="zZ")
        ov_w, ov_u = 0.75, 0.45
        wall_y = WALL_HEIGHT_M + 0.2 + ov_w * ROOF_SLOPE  # roof height over the wall faces
        ridge = wall_y + (depth / 2) * ROOF_SLOPE * 1.2
        ws, ys = roof_profile(depth / 2, ov_w, wall_y, ridge)
        roof = Builder()
        _curved_roof(roof, -ov_u, width + ov_u, ws, ys, ROOF_GREY)
        for u, out in ((0.0, -1.0), (width, 1.0)):  # gable walls from the wall top up under the roof
            _gable(roof, u, out, ws, ys, depth / 2, WALL_HEIGHT_M)
        _edge_boards(roof, -ov_u, width + ov_u, ws, ys, [(-ov_u, -1.0), (width + ov_u, 1.0)])
        _ridge(roof, -ov_u - 0.08, width + ov_u + 0.08, ridge, 0.12)
        local.extend(roof, (0.0, depth / 2), 0.0)
    else:
        local.box((0.0, lintel[1], 0.0), (width, WALL_HEIGHT_M, depth), BRICK_GREY, Material.PLAIN, skip="xX")
        o = CAP_OVERHANG_M
        local.box((-0.01, WALL_HEIGHT_M, -o), (width + 0.01, WALL_HEIGHT_M + CAP_SLAB_M, depth + o), CAP_GREY,
                  Material.PLAIN)
    if op.wall_along_x:
        b.extend(local, (c0 * cell, r0 * cell), 0.0)
    else:  # local u runs south (+z), local w runs west (-x) from the cell's east edge
        b.extend(local, ((c0 + 1) * cell, r0 * cell), math.pi / 2)


def _moon_gate(b: Builder, op: Opening, cell: float) -> None:
    """A round opening through the wall (yuedongmen) in place of a gate's or door's frame."""
    width = (op.col1 - op.col0 + 1) * cell if op.wall_along_x else (op.row1 - op.row0 + 1) * cell
    local = moon_gate_local(width, cell, WALL_HEIGHT_M, CAP_GREY, BRICK_GREY)
    if op.wall_along_x:
        b.extend(local, (op.col0 * cell, op.row0 * cell), 0.0)
    else:
        b.extend(local, ((op.col0 + 1) * cell, op.row0 * cell), math.pi / 2)


def _drum_stone(b: Builder, u: float, w_face: float, s: float) -> None:
    """A baogushi at ``u`` along the wall, standing out from the wall face at ``w_face`` toward
    ``s`` (+1/-1 along local w): a stepped, carved base, a drum on its side with nail rings at its
    rims, a small crouching beast on top."""
    bw, bd, bh = DRUM_BASE_M
    w0 = w_face
    w1 = w_face + s * bd
    lo_w, hi_w = sorted((w0, w1))
    b.box((u - bw / 2, 0.0, lo_w), (u + bw / 2, 0.12, hi_w), STONE, Material.PLAIN, skip="y")  # the foot
    b.box((u - bw / 2 + 0.03, 0.12, lo_w), (u + bw / 2 - 0.03, bh - 0.08, hi_w - 0.03 if s > 0 else hi_w),
          (0.58, 0.56, 0.53), Material.PLAIN, skip="y")  # the carved panel (a shade darker)
    b.box((u - bw / 2, bh - 0.08, lo_w), (u + bw / 2, bh, hi_w), STONE, Material.PLAIN, skip="y")  # the cushion
    r, ln = DRUM_RADIUS_M, DRUM_LENGTH_M
    wc = w_face + s * bd * 0.5
    drum = Builder()  # a vertical drum, then laid on its side with its axis along u
    drum.cylinder((0.0, -ln / 2, 0.0), r * 0.92, r * 0.92, ln, STONE, Material.PLAIN, sides=12)
    for y0 in (-ln / 2 - 0.005, ln / 2 - 0.035):
        drum.cylinder((0.0, y0, 0.0), r, r, 0.04, (0.55, 0.53, 0.50), Material.PLAIN, sides=12, caps=False)
    v = drum.vertices().copy()
    v[:, [0, 1]] = v[:, [1, 0]] * np.array([1.0, -1.0], dtype=np.float32)  # (x, y) -> (y, -x): axis along u
    v[:, [3, 4]] = v[:, [4, 3]] * np.array([1.0, -1.0], dtype=np.float32)
    v[:, 0:3] += np.array([u, bh + r * 0.92, wc], dtype=np.float32)
    b.add_triangles(v[:, 0:3], v[:, 3:6], v[:, 6:9], Material.PLAIN)
    top = bh + 2 * r * 0.92
    b.ellipsoid((u, top + 0.08, wc), (0.09, 0.1, 0.13), STONE, Material.PLAIN, n_lon=8, n_lat=4)  # the beast
    b.ellipsoid((u, top + 0.19, wc + s * 0.07), (0.06, 0.06, 0.06), STONE, Material.PLAIN, n_lon=6, n_lat=3)


def _door_leaf(b: Builder, u0: float, thick_m: float, w0: float, w1: float, y0: float, y1: float, *,
               studs: bool) -> None:
    """An open door leaf standing in the plane u = u0 .. u0 + thick_m, spanning w0..w1, y0..y1.

    The two broad faces use Material.DOOR with the leaf's own coordinates in the vertex colour
    (r = across the leaf 0..1, g = up the leaf 0..1, b = 1 if it has gold studs), so the shader
    can lay out panels and rows of studs that fit the leaf exactly."""
    flag = 1.0 if studs else 0.0
    for u, out in ((u0, -1.0), (u0 + thick_m, 1.0)):
        corners = [(u, y0, w0), (u, y0, w1), (u, y1, w1), (u, y1, w0)]
        uv = [(0.0, 0.0, flag), (1.0, 0.0, flag), (1.0, 1.0, flag), (0.0, 1.0, flag)]
        p = np.array(corners, dtype=np.float64)
        c = np.array(uv)
        n = np.cross(p[1] - p[0], p[3] - p[0])
        order = [0, 1, 2, 0, 2, 3] if np.dot(n, (out, 0, 0)) > 0 else [0, 2, 1, 0, 3, 2]
        normal = np.tile((out, 0.0, 0.0), (6, 1))
        b.add_triangles(p[order], normal, c[order], Material.DOOR)
    # the thin edges: plain lacquer
    b.box((u0, y0, w0), (u0 + thick_m, y1, w1), DOOR_RED, Material.LACQUER, skip="xX")


def _rng_for(at: tuple[float, float]) -> np.random.Generator:
    """A generator seeded by a position, so a prop looks the same on every load."""
    seed = int(round(at[0] * 1000)) * 100003 + int(round(at[1] * 1000))
    return np.random.default_rng(abs(seed))


def _tree(b: Builder, at: tuple[float, float], tiles: TileMap, surface: np.ndarray) -> None:
    """A broad courtyard tree (locust/scholar tree): trunk with lime-washed foot, leafy blobs.
    On paving it stands in a square earth pit with a stone kerb."""
    x, z = at
    rng = _rng_for(at)
    col, row = tiles.cell_of(x, z)
    on_paving = tiles.kind_at(col, row) not in SOLID_TILES and surface[row, col] == "floor"
    if on_paving:
        s = 0.55
        b.quad((x - s, 0.01, z - s), (x - s, 0.01, z + s), (x + s, 0.01, z + s), (x + s, 0.01, z - s), EARTH,
               Material.PLAIN, outward=(0, 1, 0))
        k = 0.08
        for lo, hi in (((x - s - k, 0, z - s - k), (x + s + k, 0.1, z - s)),
                       ((x - s - k, 0, z + s), (x + s + k, 0.1, z + s + k)),
                       ((x - s - k, 0, z - s), (x - s, 0.1, z + s)),
                       ((x + s, 0, z - s), (x + s + k, 0.1, z + s))):
            b.box(lo, hi, STONE, Material.PLAIN, skip="y")
    trunk_h = TREE_TRUNK_M * float(rng.uniform(0.9, 1.15))
    b.cylinder((x, 0.0, z), 0.2, 0.17, WHITEWASH_M, WHITEWASH, Material.PLAIN, sides=7, caps=False)
    b.cylinder((x, WHITEWASH_M, z), 0.17, 0.11, trunk_h - WHITEWASH_M + 0.4, TRUNK, Material.PLAIN, sides=7,
               caps=False)
    # two branches leaning out into the crown
    for ang in rng.uniform(0, 2 * math.pi, 2):
        local = Builder()
        local.cylinder((0.0, 0.0, 0.0), 0.08, 0.05, 1.4, TRUNK, Material.PLAIN, sides=5, caps=False)
        v = local.vertices().copy()
        # lean the branch by shearing it toward its direction
        lean = v[:, 1:2] * np.array([[math.cos(ang), 0.0, math.sin(ang)]]) * 0.5
        v[:, 0:3] += lean
        v[:, 0:3] += np.array([x, trunk_h - 0.5, z])
        b.add_triangles(v[:, 0:3], v[:, 3:6], v[:, 6:9], Material.PLAIN)
    # the crown in tiers (a scholar tree's leaves grow in flat sprays along its branches): each
    # tier a ring of flattened lumps around an offset centre, narrower going up; how many tiers,
    # how wide and which way they lean vary per tree (its seeded generator)
    tiers = int(rng.integers(TREE_TIERS[0], TREE_TIERS[1] + 1))
    lean = rng.uniform(-0.35, 0.35, 2)
    y = trunk_h + 0.3
    width = float(rng.uniform(2.0, 2.6))
    for k in range(tiers):
        t = k / max(tiers - 1, 1)
        cx, cz = x + lean[0] * (k + 0.5), z + lean[1] * (k + 0.5)
        ring = width * (1.0 - 0.45 * t)
        lumps = max(3, int(round(5 - 2 * t)))
        a0 = float(rng.uniform(0, 2 * math.pi))
        for i in range(lumps):
            a = a0 + 2 * math.pi * i / lumps + float(rng.uniform(-0.3, 0.3))
            d = ring * float(rng.uniform(0.45, 0.65))
            r = ring * float(rng.uniform(0.42, 0.55))
            colour = LEAVES[int(rng.integers(len(LEAVES)))]
            b.ellipsoid((cx + d * math.cos(a), y + float(rng.uniform(-0.2, 0.2)), cz + d * math.sin(a)),
                        (r, r * 0.55, r), colour, Material.LEAVES, n_lon=8, n_lat=5)
        colour = LEAVES[int(rng.integers(len(LEAVES)))]  # the tier's middle, filling the ring
        b.ellipsoid((cx, y + 0.15, cz), (ring * 0.6, ring * 0.35, ring * 0.6), colour, Material.LEAVES, n_lon=8, n_lat=5)
        y += float(rng.uniform(0.8, 1.1)) * (1.0 - 0.2 * t)


def _wall_side(at: tuple[float, float], tiles: TileMap, reach_m: float = 1.0) -> tuple[float, float] | None:
    """(compass heading toward the nearest wall face within ``reach_m``, distance) or None."""
    x, z = at
    col, row = tiles.cell_of(x, z)
    cell = tiles.cell_m
    best = None
    # (heading, neighbour cell, distance from the point to the shared edge)
    for heading, (dc, dr), dist in ((0.0, (0, -1), z - row * cell), (math.pi, (0, 1), (row + 1) * cell - z),
                                    (1.5 * math.pi, (-1, 0), x - col * cell), (0.5 * math.pi, (1, 0), (col + 1) * cell - x)):
        if tiles.kind_at(col + dc, row + dr) in ("wall", "house") and dist <= reach_m:
            if best is None or dist < best[1]:
                best = (heading, dist)
    return best


def _lantern(b: Builder, at: tuple[float, float], facing_deg: float, tiles: TileMap) -> None:
    """A red silk lantern with gold caps and a tassel, hung from a wall bracket (or from a post's
    arm if no wall is within reach)."""
    local = Builder()  # lantern at the local origin; the support is toward local north (-z)
    y = LANTERN_Y_M
    local.ellipsoid((0.0, y, 0.0), (0.27, 0.3, 0.27), LANTERN_RED, Material.LANTERN, n_lon=12, n_lat=7)
    local.cylinder((0.0, y + 0.25, 0.0), 0.15, 0.13, 0.08, GOLD, Material.PLAIN, sides=8)
    local.cylinder((0.0, y - 0.33, 0.0), 0.13, 0.15, 0.08, GOLD, Material.PLAIN, sides=8)
    local.cylinder((0.0, y - 0.6, 0.0), 0.0, 0.06, 0.27, GOLD, Material.PLAIN, sides=6, caps=False)
    local.box((-0.012, y + 0.33, -0.012), (0.012, LANTERN_BRACKET_Y_M, 0.012), DARK_WOOD, Material.PLAIN)
    wall = _wall_side(at, tiles)
    if wall is not None:
        heading, dist = wall
        local.box((-0.03, LANTERN_BRACKET_Y_M, -dist), (0.03, LANTERN_BRACKET_Y_M + 0.06, 0.05), DARK_WOOD,
                  Material.PLAIN)
        local.box((-0.08, LANTERN_BRACKET_Y_M - 0.25, -dist), (0.08, LANTERN_BRACKET_Y_M + 0.1, -dist + 0.04),
                  DARK_WOOD, Material.PLAIN)
    else:
        heading = math.radians(facing_deg)
        local.box((-0.06, 0.0, -0.66), (0.06, LANTERN_BRACKET_Y_M + 0.3, -0.54), DARK_WOOD, Material.PLAIN)
        local.box((-0.03, LANTERN_BRACKET_Y_M, -0.6), (0.03, LANTERN_BRACKET_Y_M + 0.06, 0.05), DARK_WOOD,
                  Material.PLAIN)
    b.extend(local, at, heading)


def _bench(b: Builder, at: tuple[float, float], facing_deg: float) -> None:
    """A wooden bench on two stone feet; the sitter faces ``facing_deg``."""
    local = Builder()
    length, depth, seat_y = 1.6, 0.42, 0.45
    local.box((-length / 2, seat_y - 0.06, -depth / 2), (length / 2, seat_y, depth / 2), BENCH_WOOD, Material.PLAIN)
    for u in (-length / 2 + 0.15, length / 2 - 0.35):
        local.box((u, 0.0, -depth / 2 + 0.04), (u + 0.2, seat_y - 0.06, depth / 2 - 0.04), STONE, Material.PLAIN,
                  skip="y")
    b.extend(local, at, math.radians(facing_deg))



def ground_occlusion(level: Level, px_per_m: float, reach_m: float = 1.2) -> np.ndarray:
    """Ambient light reaching the ground, (h, w) float32 in [0, 1], row 0 = north edge.

    Ground near a wall sees less of the sky: the fraction of solid cells within ``reach_m``
    (a box blur of the solid mask, applied twice for a softer, roughly Gaussian edge) darkens
    it, corners twice as much as a straight wall foot. Cheap stand-in for ambient occlusion.
    """
    tiles = level.tiles
    w_m, h_m = tiles.size_m
    w_px, h_px = max(1, int(round(w_m * px_per_m))), max(1, int(round(h_m * px_per_m)))
    cols = np.minimum((np.arange(w_px) + 0.5) / px_per_m // tiles.cell_m, tiles.width - 1).astype(int)
    rows = np.minimum((np.arange(h_px) + 0.5) / px_per_m // tiles.cell_m, tiles.height - 1).astype(int)
    solid = _solid_mask(tiles.kinds())[rows[:, None], cols[None, :]].astype(np.float64)
    k = max(1, int(round(reach_m * px_per_m / 2)))
    blurred = solid
    for _ in range(2):
        pad = np.pad(blurred, k, mode="edge")
        c = np.cumsum(np.cumsum(np.pad(pad, ((1, 0), (1, 0))), axis=0), axis=1)
        n = 2 * k + 1
        blurred = (c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]) / (n * n)
    return np.clip(1.0 - 0.75 * blurred, 0.0, 1.0).astype(np.float32)


def ground_earth(level: Level, px_per_m: float, radius_m: float = 1.1) -> np.ndarray:
    """Bare earth on the garden ground, (h, w) float32 in [0, 1], row 0 = north edge: a soft
    disc under each tree standing on grass (grass does not grow in a tree's shade)."""
    xy = pixel_centres(level, px_per_m)
    out = np.zeros(xy.shape[:2])
    surface = ground_kinds(level.tiles)
    for prop in level.all_props():
        if prop.kind != "tree":
            continue
        col, row = level.tiles.cell_of(*prop.at)
        if not (0 <= row < level.tiles.height and 0 <= col < level.tiles.width) or surface[row, col] != "garden":
            continue
        d = np.hypot(xy[..., 0] - prop.at[0], xy[..., 1] - prop.at[1])
        out = np.maximum(out, np.clip((radius_m - d) / (0.4 * radius_m), 0.0, 1.0))
    return out.astype(np.float32)
