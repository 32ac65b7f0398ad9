"""Level files: parse, validate, and hold them as an immutable ``Level``.

The format is specified for designers in docs/levels.md. The loader checks everything and
reports every problem at once, each with file, line and field, and what would be valid:

    levels/hutong.toml:42: zone 'pigeons': falloff_m must be > 0 m, got -3

Units: metres, seconds, compass degrees (0 = north = up the grid, 90 = east). x grows east
(right along a grid row), y grows south (down the grid rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memoire.world import bezier
from memoire.world.errors import UserError
from memoire.world.tomlfile import Problem, ProblemsError, TomlReader, parse_toml

# ---------------------------------------------------------------------------------------------
# The data model (immutable: a Level crosses threads as a snapshot)

TILE_KINDS = ("wall", "house", "floor", "garden", "gate", "door", "tree", "lantern", "bench", "void")
SOLID_TILES = frozenset({"wall", "house", "void"})
PROP_TILES = frozenset({"tree", "lantern", "bench"})
PROP_KINDS = ("tree", "lantern", "bench")
CURVES = ("linear", "smooth", "exponential")
FIELDS = ("zones", "terrain", "mix")

# Solid props, metres: a tree trunk's radius and a bench's half-extents (x, y); the physics
# (memoire/sim/physics.py) uses the same figures. A person is a 0.25 m radius circle (0.5 m across).
tree_trunk_radius_m = 0.3
bench_half_size_m = (0.8, 0.3)
person_radius_m = 0.25

DEFAULT_LEGEND = {
    "#": "wall",
    "H": "house",
    ".": "floor",
    ",": "garden",
    "G": "gate",
    "D": "door",
    "T": "tree",
    "L": "lantern",
    "B": "bench",
    " ": "void",
}


@dataclass(frozen=True)
class Circle:
    center: tuple[float, float]
    radius_m: float

    def distance_outside(self, xy: np.ndarray) -> np.ndarray:
        """Distance (m) from points (k, 2) to the circle's inner region; 0 inside."""
        d = np.linalg.norm(np.asarray(xy, dtype=np.float64) - np.asarray(self.center), axis=-1)
        return np.maximum(d - self.radius_m, 0.0)

    def bounds(self) -> tuple[float, float, float, float]:
        cx, cy = self.center
        r = self.radius_m
        return cx - r, cy - r, cx + r, cy + r


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]

    def distance_outside(self, xy: np.ndarray) -> np.ndarray:
        """Distance (m) from points (k, 2) to the polygon's inner region; 0 inside."""
        p = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        v = np.asarray(self.points, dtype=np.float64)
        a, b = v, np.roll(v, -1, axis=0)  # edges a->b, (n, 2)
        ab = b - a
        ap = p[:, None, :] - a[None]  # (k, n, 2)
        t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
        nearest = a[None] + t[..., None] * ab[None]
        dist = np.linalg.norm(p[:, None, :] - nearest, axis=-1).min(axis=1)
        # even-odd rule for inside
        y = p[:, 1:2]
        crosses = ((a[None, :, 1] > y) != (b[None, :, 1] > y)) & (
            p[:, 0:1] < (b[None, :, 0] - a[None, :, 0]) * (y - a[None, :, 1])
            / np.where(b[None, :, 1] - a[None, :, 1] == 0, 1e-12, b[None, :, 1] - a[None, :, 1])
            + a[None, :, 0]
        )
        inside = crosses.sum(axis=1) % 2 == 1
        out = np.where(inside, 0.0, dist)
        return out.reshape(np.shape(xy)[:-1])

    def bounds(self) -> tuple[float, float, float, float]:
        v = np.asarray(self.points)
        return float(v[:, 0].min()), float(v[:, 1].min()), float(v[:, 0].max()), float(v[:, 1].max())


Shape = Circle | Polygon


@dataclass(frozen=True)
class Anchor:
    """Where a zone sits in the model's latent space: a class name, a vector, or a clip file."""

    class_name: str | None = None
    vector: tuple[float, ...] | None = None
    clip: Path | None = None  # a .npy latent trajectory from `memoire encode`; its mean is used

    def describe(self) -> str:
        if self.class_name is not None:
            return f"class '{self.class_name}'"
        if self.vector is not None:
            return f"vector of {len(self.vector)}"
        return f"clip {self.clip}"


@dataclass(frozen=True)
class Zone:
    name: str
    shape: Shape
    falloff_m: float
    curve: str
    priority: float
    fade_s: float
    anchor: Anchor
    line: int = 0


@dataclass(frozen=True)
class Prop:
    kind: str
    at: tuple[float, float]
    facing_deg: float = 0.0


@dataclass(frozen=True)
class Path2D:
    """A named cubic Bezier chain (3n+1 control points, metres)."""

    name: str
    points: tuple[tuple[float, float], ...]

    def table(self) -> bezier.ArcLengthTable:
        return bezier.flatten(np.asarray(self.points))


@dataclass(frozen=True)
class Tour:
    name: str
    path: Path2D
    speed_mps: float
    pause_s: float


@dataclass(frozen=True)
class Trajectory:
    """A latent sequence (clip) laid along a path, for training the terrain."""

    name: str
    path: Path2D
    clip: Path


@dataclass(frozen=True)
class SoundSettings:
    model: Path | None
    field: str
    terrain_mix: float
    smoothing_s: float
    rest: Anchor
    gain_db: float


@dataclass(frozen=True)
class TerrainSettings:
    """The latent terrain of a level (see docs/levels.md, [terrain])."""

    source: str  # "train" or a path to an nn.terrain checkpoint / saved terrain
    source_path: Path | None
    map_from: tuple[tuple[float, float], tuple[float, float]] | None  # level rectangle, metres
    map_to: tuple[tuple[float, float], tuple[float, float]] | None  # control-space rectangle
    gauss: float
    width: int
    mapping_size: int
    steps: int
    seed: int
    anchor_samples: int


@dataclass(frozen=True)
class TileMap:
    cell_m: float
    rows: tuple[str, ...]  # rows padded to equal width
    legend: tuple[tuple[str, str], ...]  # (character, kind)

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def size_m(self) -> tuple[float, float]:
        return self.width * self.cell_m, self.height * self.cell_m

    def kind_at(self, col: int, row: int) -> str:
        """Tile kind of a cell; outside the grid is 'void' (solid)."""
        if 0 <= row < self.height and 0 <= col < self.width:
            return dict(self.legend)[self.rows[row][col]]
        return "void"

    def kinds(self) -> np.ndarray:
        """Tile kinds as an array of strings, shape (height, width)."""
        lut = dict(self.legend)
        return np.array([[lut[ch] for ch in row] for row in self.rows], dtype=object)

    def cell_of(self, x_m: float, y_m: float) -> tuple[int, int]:
        return int(math.floor(x_m / self.cell_m)), int(math.floor(y_m / self.cell_m))

    def is_walkable(self, x_m: float, y_m: float) -> bool:
        return self.kind_at(*self.cell_of(x_m, y_m)) not in SOLID_TILES

    def cell_center(self, col: int, row: int) -> tuple[float, float]:
        return (col + 0.5) * self.cell_m, (row + 0.5) * self.cell_m


@dataclass(frozen=True)
class Level:
    path: Path
    name: str
    tiles: TileMap
    spawn_xy: tuple[float, float]
    spawn_facing_deg: float
    zones: tuple[Zone, ...]
    props: tuple[Prop, ...]
    tours: tuple[Tour, ...]
    trajectories: tuple[Trajectory, ...]
    sound: SoundSettings
    terrain: TerrainSettings | None
    source_text: str = field(repr=False, default="")

    def tour(self, name: str) -> Tour:
        for t in self.tours:
            if t.name == name:
                return t
        names = ", ".join(t.name for t in self.tours) or "(none)"
        raise UserError(f"{self.path}: no tour named '{name}'; tours in this level: {names}")

    @property
    def uses_terrain(self) -> bool:
        """True when the level's sound comes (wholly or partly) from a latent terrain: a [terrain]
        table and [sound] field = "terrain" or "mix"."""
        return self.terrain is not None and self.sound.field != "zones"

    def all_props(self) -> tuple[Prop, ...]:
        """Props placed by grid characters (cell centres) plus those listed in [[props]]."""
        return tuple(_grid_props(self.tiles)) + self.props


# ---------------------------------------------------------------------------------------------
# Parsing with validation (memoire/world/tomlfile.py: the reader, its problems and their lines)


class LevelError(ProblemsError):
    """A level file with problems."""


_TOP_KEYS = ("level", "map", "spawn", "sound", "zones", "props", "tours", "trajectories", "terrain")


def load_level(path: str | Path) -> Level:
    """Read and validate a level file. Raises ``LevelError`` listing every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such level file (levels live in levels/, e.g. levels/hutong.toml)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the level file: {e}") from None
    return parse_level(text, path)


def parse_level(text: str, path: Path) -> Level:
    """Validate level source ``text`` (from ``path``, used in messages and for relative files)."""
    data = parse_toml(text, path, LevelError)
    r = TomlReader(path, text)
    r.unknown_keys(data, _TOP_KEYS, (), "")
    base = path.parent

    # [level]
    level_t = _table(r, data, "level")
    name = r.text(level_t, "name", ("level",), "[level]", default=path.stem) or path.stem
    cell_m = r.number(level_t, "cell_m", ("level",), "[level]", default=1.0, unit="m", minimum=0.0,
                      exclusive_min=True)
    r.unknown_keys(level_t, ("name", "cell_m"), ("level",), "[level]")

    tiles = _read_map(r, _table(r, data, "map", required=True), cell_m)

    # [spawn]
    spawn_t = _table(r, data, "spawn", required=True)
    spawn_xy = r.point(spawn_t.get("at"), ("spawn", "at"), "[spawn]", "at") if "at" in spawn_t else None
    if "at" not in spawn_t and "spawn" in data:
        r.problem(("spawn",), "[spawn]", "missing field 'at' (the start point [x, y] in metres)")
    facing = r.number(spawn_t, "facing_deg", ("spawn",), "[spawn]", default=0.0, unit="degrees")
    r.unknown_keys(spawn_t, ("at", "facing_deg"), ("spawn",), "[spawn]")
    if spawn_xy is not None and tiles is not None and not tiles.is_walkable(*spawn_xy):
        col, row = tiles.cell_of(*spawn_xy)
        r.problem(("spawn", "at"), "[spawn]",
                  f"at {list(spawn_xy)} is inside a solid tile ('{tiles.kind_at(col, row)}' at column {col}, "
                  f"row {row}); move it onto a floor, garden, gate or door cell")

    sound = _read_sound(r, _table(r, data, "sound"), base)
    zones = _read_zones(r, data.get("zones", []), base, tiles)
    props = _read_props(r, data.get("props", []))
    grid_props = _grid_props(tiles) if tiles is not None else []
    tours = _read_tours(r, data.get("tours", []), tiles, [*grid_props, *props])
    trajectories = _read_trajectories(r, data.get("trajectories", []), base)
    terrain = _read_terrain(r, data.get("terrain"), base, sound)

    if r.problems:
        raise LevelError(r.problems)
    assert tiles is not None and spawn_xy is not None and sound is not None
    return Level(path=path, name=name, tiles=tiles, spawn_xy=spawn_xy, spawn_facing_deg=float(facing),
                 zones=zones, props=props, tours=tours, trajectories=trajectories, sound=sound,
                 terrain=terrain, source_text=text)


def _table(r: TomlReader, data: dict, key: str, required: bool = False) -> dict:
    v = data.get(key)
    if v is None:
        if required:
            r.problem((), "", f"missing table [{key}] (see docs/levels.md)")
        return {}
    if not isinstance(v, dict):
        r.problem((key,), f"[{key}]", f"'{key}' must be a table [{key}], got {type(v).__name__}")
        return {}
    return v


def _read_map(r: TomlReader, t: dict, cell_m: float) -> TileMap | None:
    where = "[map]"
    r.unknown_keys(t, ("grid", "legend"), ("map",), where)
    legend = dict(DEFAULT_LEGEND)
    user_legend = t.get("legend", {})
    if not isinstance(user_legend, dict):
        r.problem(("map", "legend"), where, "legend must be a table of character = \"kind\"")
        user_legend = {}
    for ch, kind in user_legend.items():
        if len(ch) != 1:
            r.problem(("map", "legend", ch), where, f"legend key '{ch}' must be a single character")
        elif kind not in TILE_KINDS:
            r.problem(("map", "legend", ch), where,
                      f"legend '{ch}' = '{kind}' is not a tile kind; use one of {', '.join(TILE_KINDS)}")
        else:
            legend[ch] = kind
    grid = t.get("grid")
    if grid is None:
        if t or "map" in r.lines._lines:
            r.problem(("map",), where, 'missing field \'grid\' (the map as a multi-line string """ ... """)')
        return None
    if not isinstance(grid, str):
        r.problem(("map", "grid"), where, "grid must be a multi-line string in triple quotes")
        return None
    rows = [row.rstrip() for row in grid.split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    while rows and not rows[0]:
        rows.pop(0)
    if not rows:
        r.problem(("map", "grid"), where, "grid is empty; draw the map with one character per cell")
        return None
    grid_line = r.lines.line("map", "grid")
    first_row_line = grid_line + (1 if grid.startswith("\n") or grid_line else 0)
    width = max(len(row) for row in rows)
    rows = [row.ljust(width) for row in rows]
    bad = 0
    for i, row in enumerate(rows):
        for j, ch in enumerate(row):
            if ch not in legend and bad < 10:
                bad += 1
                r.problems.append(Problem(r.path, first_row_line + i, where,
                                          f"grid row {i}, column {j}: unknown character '{ch}'; add it to "
                                          f"[map.legend] or use one of {''.join(sorted(legend))!r}"))
    if bad:
        return None
    return TileMap(cell_m=float(cell_m), rows=tuple(rows), legend=tuple(sorted(legend.items())))


def _read_anchor(r: TomlReader, v: Any, keypath: tuple, where: str, base: Path) -> Anchor | None:
    if isinstance(v, str):
        if not v.strip():
            r.problem(keypath, where, "anchor must name a sound class of the model, e.g. \"pigeons\"")
            return None
        return Anchor(class_name=v)
    if isinstance(v, list):
        if not v or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in v):
            r.problem(keypath, where, f"anchor vector must be a list of numbers (one per latent dimension), got {v!r}")
            return None
        return Anchor(vector=tuple(float(c) for c in v))
    if isinstance(v, dict) and set(v) == {"clip"} and isinstance(v["clip"], str):
        clip = (base / v["clip"]).resolve()
        if not clip.exists():
            r.problem(keypath, where, f"anchor clip '{v['clip']}' not found (looked for {clip}); make one with "
                                      "`memoire encode AUDIO --out FILE.npy`")
            return None
        return Anchor(clip=clip)
    r.problem(keypath, where, f"anchor must be a class name (\"birds\"), a vector [..] or {{ clip = \"file.npy\" }}, got {v!r}")
    return None


def _read_sound(r: TomlReader, t: dict, base: Path) -> SoundSettings | None:
    where = "[sound]"
    kp = ("sound",)
    r.unknown_keys(t, ("model", "field", "terrain_mix", "smoothing_s", "rest", "gain_db"), kp, where)
    model = r.text(t, "model", kp, where, default="")
    field_ = r.text(t, "field", kp, where, default="zones", choices=FIELDS)
    mix = r.number(t, "terrain_mix", kp, where, default=0.5, minimum=0.0, maximum=1.0)
    smoothing = r.number(t, "smoothing_s", kp, where, default=0.5, unit="s", minimum=0.0, exclusive_min=True)
    gain = r.number(t, "gain_db", kp, where, default=0.0, unit="dB", maximum=12.0)
    rest = _read_anchor(r, t.get("rest", "courtyard"), (*kp, "rest"), where, base)
    if rest is None or field_ is None:
        return None
    return SoundSettings(model=(base / model).resolve() if model else None, field=field_,
                         terrain_mix=float(mix), smoothing_s=float(smoothing), rest=rest, gain_db=float(gain))


def _list_of_tables(r: TomlReader, v: Any, key: str) -> list[dict]:
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        r.problem((key,), f"[[{key}]]", f"'{key}' must be written as [[{key}]] tables")
        return []
    return v


_ZONE_KEYS = ("name", "shape", "center", "radius_m", "points", "falloff_m", "curve", "priority", "fade_s", "anchor")


def _unique_name(r: TomlReader, t: dict, kp: tuple, kind: str, seen: set[str]) -> tuple[str, str]:
    """(name, "kind 'name'") of the ``kp[1]``-th [[kind]] table; a missing or repeated name is a
    problem (an unnamed one is called #1, #2, ...)."""
    name = t.get("name") if isinstance(t.get("name"), str) else f"#{kp[1] + 1}"
    where = f"{kind} '{name}'"
    if "name" not in t:
        r.problem(kp, where, "missing field 'name'")
    elif name in seen:
        r.problem((*kp, "name"), where, f"another {kind} has the same name; names must be unique")
    seen.add(name)
    return name, where


def _read_zones(r: TomlReader, v: Any, base: Path, tiles: TileMap | None) -> tuple[Zone, ...]:
    zones = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(r, v, "zones")):
        kp = ("zones", i)
        name, where = _unique_name(r, t, kp, "zone", seen)
        r.unknown_keys(t, _ZONE_KEYS, kp, where)
        shape_kind = r.text(t, "shape", kp, where, default="circle", choices=("circle", "polygon"))
        shape: Shape | None = None
        if shape_kind == "circle":
            center = r.point(t["center"], (*kp, "center"), where, "center") if "center" in t else None
            if "center" not in t:
                r.problem(kp, where, "missing field 'center' ([x, y] in metres) for a circle")
            radius = r.number(t, "radius_m", kp, where, unit="m", minimum=0.0)
            if "points" in t:
                r.problem((*kp, "points"), where, "points belong to shape = \"polygon\"; a circle has center and radius_m")
            if center is not None and radius is not None:
                shape = Circle(center, float(radius))
        elif shape_kind == "polygon":
            pts = r.points(t, "points", kp, where, min_count=3)
            if pts is not None:
                area = 0.5 * sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(pts, pts[1:] + pts[:1]))
                if abs(area) < 1e-9:
                    r.problem((*kp, "points"), where, "polygon has no area (its points lie on a line)")
                else:
                    shape = Polygon(pts)
        falloff = r.number(t, "falloff_m", kp, where, unit="m", minimum=0.0, exclusive_min=True)
        curve = r.text(t, "curve", kp, where, default="smooth", choices=CURVES)
        priority = r.number(t, "priority", kp, where, default=1.0, minimum=0.0, exclusive_min=True)
        fade = r.number(t, "fade_s", kp, where, default=1.0, unit="s", minimum=0.0, exclusive_min=True)
        anchor = _read_anchor(r, t["anchor"], (*kp, "anchor"), where, base) if "anchor" in t else None
        if "anchor" not in t:
            r.problem(kp, where, "missing field 'anchor' (a sound class like \"birds\", or a latent vector)")
        if shape is not None and tiles is not None:
            x0, y0, x1, y1 = shape.bounds()
            w, h = tiles.size_m
            if x1 < 0 or y1 < 0 or x0 > w or y0 > h:
                r.problem(kp, where, f"the zone lies entirely outside the map (0..{w:g} m east, 0..{h:g} m south)")
        if None not in (shape, falloff, curve, priority, fade, anchor):
            zones.append(Zone(name, shape, float(falloff), curve, float(priority), float(fade), anchor,
                              line=r.lines.line(*kp)))
    return tuple(zones)


def _read_props(r: TomlReader, v: Any) -> tuple[Prop, ...]:
    props = []
    for i, t in enumerate(_list_of_tables(r, v, "props")):
        kp = ("props", i)
        where = f"prop #{i + 1}"
        r.unknown_keys(t, ("kind", "at", "facing_deg"), kp, where)
        kind = r.text(t, "kind", kp, where, choices=PROP_KINDS)
        at = r.point(t["at"], (*kp, "at"), where, "at") if "at" in t else None
        if "at" not in t:
            r.problem(kp, where, "missing field 'at' ([x, y] in metres)")
        facing = r.number(t, "facing_deg", kp, where, default=0.0, unit="degrees")
        if kind and at:
            props.append(Prop(kind, at, float(facing)))
    return tuple(props)


def _read_path(r: TomlReader, t: dict, kp: tuple, where: str, name: str) -> Path2D | None:
    pts = r.points(t, "points", kp, where, min_count=4)
    if pts is None:
        return None
    if (len(pts) - 1) % 3:
        r.problem((*kp, "points"), where,
                  f"a cubic Bezier path has 3n+1 control points (anchor, handle, handle, anchor, ...: "
                  f"4, 7, 10, ...), got {len(pts)}")
        return None
    return Path2D(name, pts)


def _prop_clearance(props: list[Prop], pts: np.ndarray) -> tuple[Prop, np.ndarray] | None:
    """The first solid prop (tree, bench) that a person walking through ``pts`` (k, 2) would hit."""
    for prop in props:
        d = pts - np.asarray(prop.at)
        if prop.kind == "tree":
            hit = np.hypot(d[:, 0], d[:, 1]) < tree_trunk_radius_m + person_radius_m
        elif prop.kind == "bench":
            hx, hy = bench_half_size_m
            hit = (np.abs(d[:, 0]) < hx + person_radius_m) & (np.abs(d[:, 1]) < hy + person_radius_m)
        else:
            continue
        if hit.any():
            return prop, pts[np.argmax(hit)]
    return None


def _check_path_walkable(r: TomlReader, path: Path2D, tiles: TileMap | None, kp: tuple, where: str,
                         props: list[Prop] = ()) -> None:
    """A walked path must stay on walkable cells and clear of solid props (checked every ~10 cm)."""
    if tiles is None:
        return
    pts = path.table().points
    for x, y in pts:
        if not tiles.is_walkable(x, y):
            col, row = tiles.cell_of(x, y)
            r.problem((*kp, "points"), where,
                      f"the path passes through a solid cell ('{tiles.kind_at(col, row)}' at column {col}, row {row}, "
                      f"near [{x:.1f}, {y:.1f}] m); move its points or handles onto walkable cells")
            return
    hit = _prop_clearance(list(props), pts)
    if hit is not None:
        prop, (x, y) = hit
        r.problem((*kp, "points"), where,
                  f"the path runs into a {prop.kind} at [{prop.at[0]:.2f}, {prop.at[1]:.2f}] (near [{x:.1f}, {y:.1f}] m); "
                  f"move its points or handles around it")


def _grid_props(tiles: TileMap) -> list[Prop]:
    """Props placed by grid characters, at their cells' centres."""
    lut = dict(tiles.legend)
    return [Prop(lut[ch], tiles.cell_center(col, row))
            for row, line in enumerate(tiles.rows) for col, ch in enumerate(line) if lut[ch] in PROP_TILES]


def _read_tours(r: TomlReader, v: Any, tiles: TileMap | None = None, props: list[Prop] = ()) -> tuple[Tour, ...]:
    tours = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(r, v, "tours")):
        kp = ("tours", i)
        name, where = _unique_name(r, t, kp, "tour", seen)
        r.unknown_keys(t, ("name", "points", "speed_mps", "pause_s"), kp, where)
        path = _read_path(r, t, kp, where, name)
        speed = r.number(t, "speed_mps", kp, where, default=1.2, unit="m/s", minimum=0.0, exclusive_min=True,
                         maximum=20.0)
        pause = r.number(t, "pause_s", kp, where, default=0.0, unit="s", minimum=0.0)
        if path is not None:
            _check_path_walkable(r, path, tiles, kp, where, props)
        if path and speed is not None and pause is not None:
            tours.append(Tour(name, path, float(speed), float(pause)))
    return tuple(tours)


def _read_trajectories(r: TomlReader, v: Any, base: Path) -> tuple[Trajectory, ...]:
    out = []
    for i, t in enumerate(_list_of_tables(r, v, "trajectories")):
        kp = ("trajectories", i)
        name = t.get("name") if isinstance(t.get("name"), str) else f"#{i + 1}"
        where = f"trajectory '{name}'"
        r.unknown_keys(t, ("name", "points", "clip"), kp, where)
        path = _read_path(r, t, kp, where, name)
        clip_s = r.text(t, "clip", kp, where)
        clip = None
        if clip_s is not None:
            clip = (base / clip_s).resolve()
            if not clip.exists():
                r.problem((*kp, "clip"), where, f"clip '{clip_s}' not found (looked for {clip}); make a latent clip "
                                                "with `memoire encode AUDIO --out FILE.npy`")
                clip = None
        if path and clip:
            out.append(Trajectory(name, path, clip))
    return tuple(out)


_TERRAIN_KEYS = ("source", "map_from", "map_to", "gauss", "width", "mapping_size", "steps", "seed", "anchor_samples")


def _read_terrain(r: TomlReader, v: Any, base: Path, sound: SoundSettings | None) -> TerrainSettings | None:
    if v is None:
        if sound is not None and sound.field != "zones":
            r.problem(("sound", "field"), "[sound]",
                      f"field = \"{sound.field}\" needs a [terrain] table (see docs/levels.md)")
        return None
    if not isinstance(v, dict):
        r.problem(("terrain",), "[terrain]", "terrain must be a table [terrain]")
        return None
    kp = ("terrain",)
    where = "[terrain]"
    r.unknown_keys(v, _TERRAIN_KEYS, kp, where)
    source = r.text(v, "source", kp, where, default="train")
    source_path = None
    if source and source != "train":
        source_path = (base / source).resolve()
        if not source_path.exists():
            r.problem((*kp, "source"), where, f"source '{source}' not found (looked for {source_path}); "
                                              "use \"train\" or the path of an nn.terrain .pt or a saved terrain")
    rects = []
    for key in ("map_from", "map_to"):
        if key in v:
            pts = r.points(v, key, kp, where, min_count=2)
            if pts is not None and len(pts) != 2:
                r.problem((*kp, key), where, f"{key} must be two corners [[x0, y0], [x1, y1]]")
                pts = None
            if pts is not None and (pts[0][0] == pts[1][0] or pts[0][1] == pts[1][1]):
                r.problem((*kp, key), where, f"{key} corners must differ in both x and y")
                pts = None
            rects.append(pts)
        else:
            rects.append(None)
    if (rects[0] is None) != (rects[1] is None) and ("map_from" in v) != ("map_to" in v):
        r.problem(kp, where, "map_from and map_to go together: the level rectangle and the control rectangle it maps to")
    gauss = r.number(v, "gauss", kp, where, default=0.08, minimum=0.0)
    width = r.number(v, "width", kp, where, default=128, minimum=1, integer=True)
    mapping = r.number(v, "mapping_size", kp, where, default=128, minimum=1, integer=True)
    steps = r.number(v, "steps", kp, where, default=1500, minimum=1, integer=True)
    seed = r.number(v, "seed", kp, where, default=0, minimum=0, integer=True)
    samples = r.number(v, "anchor_samples", kp, where, default=64, minimum=1, integer=True)
    if source is None or None in (gauss, width, mapping, steps, seed, samples):
        return None
    return TerrainSettings(source=source, source_path=source_path, map_from=rects[0], map_to=rects[1],
                           gauss=float(gauss), width=int(width), mapping_size=int(mapping), steps=int(steps),
                           seed=int(seed), anchor_samples=int(samples))
