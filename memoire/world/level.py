"""Level files: parse, validate, and hold them as an immutable ``Level``.

The format is specified for designers in docs/levels.md. The loader checks everything and
reports every problem at once, each with file, line and field, and what would be valid:

    levels/hutong.toml:42: zone 'pigeons': falloff_m must be > 0 m, got -3

Units: metres, seconds, compass degrees (0 = north = up the grid, 90 = east). x grows east
(right along a grid row), y grows south (down the grid rows).

One long job, so one module past the ~600-line guide: the format's data model, its limits and
the reader that checks every table against them belong together (a field's type, its limit and
its message change as one). The TOML reading itself is world/tomlfile.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from memoire.world import bezier
from memoire.world.errors import UserError
from memoire.world.materials import load_materials
from memoire.world.paths import ROOT
from memoire.world.rooms import label_grid
from memoire.world.tomlfile import (Problem, ProblemsError, TomlReader, clean_text, control_char, parse_toml,
                                    read_text_file, show)

# ---------------------------------------------------------------------------------------------
# The data model (immutable: a Level crosses threads as a snapshot)

TILE_KINDS = ("wall", "house", "floor", "garden", "gate", "door", "tree", "lantern", "bench", "void")
SOLID_TILES = frozenset({"wall", "house", "void"})
PROP_TILES = frozenset({"tree", "lantern", "bench"})
PROP_KINDS = ("tree", "lantern", "bench", "bicycle", "cart", "pot", "washing_line", "wire", "sign", "screen_wall",
              "moon_gate", "flock", "rain")
# The fields each [[props]] kind takes (docs/levels.md, [[props]]); any other is refused by name.
PROP_FIELDS = {
    "tree": ("kind", "at"), "lantern": ("kind", "at", "facing_deg"), "bench": ("kind", "at", "facing_deg"),
    "bicycle": ("kind", "at", "facing_deg", "leaning"), "cart": ("kind", "at", "facing_deg"), "pot": ("kind", "at"),
    "washing_line": ("kind", "from", "to", "height_m"), "wire": ("kind", "from", "to", "height_m"),
    "sign": ("kind", "at", "facing_deg", "height_m"), "screen_wall": ("kind", "at", "facing_deg", "width_m"),
    "moon_gate": ("kind", "at"),
    "flock": ("kind", "zone", "center", "radius_m", "height_m", "birds", "speed_mps"),
    "rain": ("kind", "zone", "wet"),
}
LINE_PROPS = frozenset({"washing_line", "wire"})  # strung between two points ``from`` and ``to``
ZONE_PROPS = frozenset({"flock", "rain"})  # over a zone (``zone = "name"``)
# Props strung overhead, metres: a washing line at head height and a little above (2.2 m clears a
# 1.9 m visitor), wires from wall top (3 m) to a house's eave; longer than a lane is a typo.
line_height_range_m = (1.0, 12.0)
max_line_span_m = 40.0
default_line_height_m = {"washing_line": 2.3, "wire": 3.6}
# A shop sign on a wall, its board's centre (m): above a door's lintel (2.35 m) by default.
default_sign_height_m = 2.7
# A screen wall (yingbi) inside a gate: as wide as a gate (3 m, two cells) by default.
default_screen_wall_width_m = 3.2
screen_wall_half_thickness_m = 0.25  # a brick screen 0.45 m thick on a 0.5 m plinth (assets/props/shapes.toml)
screen_wall_width_range_m = (1.0, 8.0)
# A pigeon keepers' flock (gezi) circling over its courtyard: above the roofs (ridges ~5 m) and
# seen from the ground; birds circle slower than a pigeon's 15-20 m/s cruise so one turn over a
# courtyard lasts a few seconds, long enough to follow with the eye.
default_flock_height_m = 11.0
flock_height_range_m = (3.0, 60.0)
default_flock_birds = 14
max_flock_birds = 64
default_flock_speed_mps = 7.0
max_flock_speed_mps = 30.0
max_flock_radius_m = 60.0
CURVES = ("linear", "smooth", "exponential")
FIELDS = ("zones", "terrain", "mix")
# Spatial sound (docs/levels.md, Spatial sound; memoire/world/acoustics.py): the output layouts,
# the distance curves, where a zone's sound comes from, and the surfaces a [[rooms]] table may dress.
OUTPUTS = ("binaural", "stereo", "quad", "5.1", "ring8")
DISTANCE_CURVES = ("linear", "logarithmic", "inverse", "natural")
EMITTER_MODES = ("center", "nearest", "points")
ROOM_SURFACES = ("floor", "walls")
SPATIAL_SOUND_KEYS = ("output", "voices", "distance_curve", "wall_db", "wall_lowpass_hz", "air_absorption",
                      "portal_db")
max_voices = 32  # each real voice is one decoder stream on the synth thread
max_emitters = 16  # emitter points per zone: each is traced every audio block
max_rooms = 200
max_wall_db = 60.0  # a wall this thick silences a sound anyway
max_portal_db = 30.0
lowpass_range_hz = (20.0, 20_000.0)  # the audible band
max_air_absorption = 10.0  # times ISO air: beyond that a few metres of air is a wall
rt60_range_s = (0.1, 5.0)  # an open courtyard's half second to a large church's five
max_emitter_speed_mps = 50.0  # a swift's dive; a flock circles at 5 to 15 m/s
closed_path_tolerance_m = 1e-3  # a path whose ends are this close is a loop
# [look] time: the light of each is data in assets/look/times.toml (memoire/render/look.py)
LOOK_TIMES = ("golden", "dusk", "midday")

# Solid props, metres: a tree trunk's radius and a bench's half-extents (x, y); the physics
# (memoire/sim/physics.py) uses the same figures. A person is a 0.25 m radius circle (0.5 m across).
tree_trunk_radius_m = 0.3
bench_half_size_m = (0.8, 0.3)
person_radius_m = 0.25

# ---------------------------------------------------------------------------------------------
# Limits (docs/levels.md, Limits): checked before anything is built from a level, so a typo or a
# hostile file is a message, never a machine out of memory or a game that never starts. Each is
# far above what a designed level needs: the default level is 48 x 23 cells of 1.5 m (72 x 34.5 m),
# 10 zones, 1 tour, 11 KB.

# A level file is text written by hand; the default is 11 KB, a 200 x 200 grid about 40 KB.
max_level_file_bytes = 4 * 2**20
# Grid: the picture and the physics build a few objects per cell (the default's 1,104 cells build
# in a fraction of a second); 40,000 cells, walls everywhere, took 8 s to mesh on a 2-core machine:
# 25,000 (23 times the default, a long lane 400 x 60) keeps the worst load to about 5 s.
max_grid_columns = 400
max_grid_rows = 400
max_grid_cells = 25_000
# One cell: 10 cm (a fine grid of small cells) to 20 m (a whole house block as one character).
min_cell_m = 0.1
max_cell_m = 20.0
# The map's extent: the ground textures are 4 px per metre, the minimap's zone layers too (9 bytes
# a pixel per zone), the terrain grid 16 nodes per m2: 400 m a side and 40,000 m2 (16 times the
# default) keep them to tens of MB, and under the 16,384 px textures OpenGL allows.
max_map_side_m = 400.0
max_map_area_m2 = 40_000.0
# Points (zone centres and corners, props, paths) lie within this of the map: a handle may reach
# off the map, a point at 1e300 m cannot (its arithmetic overflows to inf and NaN).
max_off_map_m = 100.0
# Sizes and times in metres and seconds: larger is a typo (a zone ten times the largest map).
max_zone_size_m = 4_000.0
max_time_s = 600.0  # fades, smoothing, a tour's pause: ten minutes
max_priority = 1_000.0  # weights multiply: a huge one overflows the blend's sums
# Counts: every zone is evaluated for every audio block and painted into the ground and minimap
# textures; tours, trajectories, props and path points are drawn and checked point by point.
max_zones = 100
max_tours = 32
max_trajectories = 64
max_props = 2_000
max_polygon_points = 256
max_path_points = 1_000  # a Bezier chain of 333 segments
# A tour the walker can walk: shorter than half a metre is all its points in one place.
min_tour_length_m = 0.5
# Names are shown in the window title and the HUD on one line.
max_name_chars = 80
# A latent vector (RAVE models have 4 to 128 dimensions) and a latent clip from `memoire encode`
# (an hour at 21 frames/s x 16 dimensions is 5 MB).
max_latent_dim = 1024
max_clip_bytes = 256 * 2**20
# The terrain network (nn.terrain's defaults: width 128, mapping_size 128) and its training: a
# training step costs ~width^2 x 256 points, 1,500 steps take seconds, 100,000 about an hour.
max_terrain_width = 1024
max_terrain_mapping_size = 1024
max_terrain_steps = 100_000
max_terrain_anchor_samples = 4096  # training points per zone (x max_zones: 400,000 at most)

# Paths a level names (model, clips, terrain source) must resolve, symlinks followed, to one of:
# the level's folder (or a folder inside it), the assets/ folder beside the level's folder (the
# project layout levels/ + assets/), or Memoire's own assets/. Anything else needs
# --allow-outside-paths (``allow_outside=True``): a level from elsewhere cannot make Memoire read,
# or run as a model, a file the user did not put beside it. See docs/levels.md, Paths.
OUTSIDE_PATHS_FLAG = "--allow-outside-paths"
def allowed_roots(level_path: Path) -> tuple[Path, ...]:
    """The folders a level's paths may point into (see OUTSIDE_PATHS_FLAG)."""
    folder = Path(level_path).parent.resolve()
    roots = [folder, folder.parent / "assets", (ROOT / "assets").resolve()]
    out: list[Path] = []
    for root in roots:
        try:
            root = root.resolve()
        except (OSError, RuntimeError):
            continue
        if root not in out:
            out.append(root)
    return tuple(out)


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
    # Where the zone's sound comes from (docs/levels.md, Spatial sound): EMITTER_MODES; "points"
    # uses ``emitters``; ``emitter_path`` (a [[emitter_paths]] name) moves one emitter along it.
    emitter: str = "center"
    emitters: tuple[tuple[float, float], ...] = ()
    emitter_path: str = ""
    emitter_speed_mps: float = 0.0


@dataclass(frozen=True)
class Prop:
    """A thing placed in the level (docs/levels.md, [[props]]). ``at`` is where it stands (for a
    line, its midpoint; over a zone, the zone's centre). The fields after ``facing_deg`` belong to
    some kinds only (PROP_FIELDS); for the others they keep their defaults."""

    kind: str
    at: tuple[float, float]
    facing_deg: float = 0.0
    leaning: bool = False  # bicycle: leaning on a wall (True) or standing on its kickstand
    ends: tuple[tuple[float, float], tuple[float, float]] | None = None  # washing_line, wire: from, to
    height_m: float = 0.0  # washing_line, wire, sign, flock: height above the ground, metres
    width_m: float = 0.0  # screen_wall: along its face, metres
    zone: str = ""  # flock, rain: the zone they belong to
    area: tuple[tuple[float, float], ...] = ()  # rain: the ground it falls on (the zone's inner outline)
    radius_m: float = 0.0  # flock: radius of the circle it flies, metres
    birds: int = 0  # flock: how many
    speed_mps: float = 0.0  # flock: flying speed along the circle
    wet: bool = False  # rain: the ground under it drawn wet
    line: int = 0  # the [[props]] table's line in the level file


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
class RoomSpec:
    """A [[rooms]] table: names (and tunes) the room found from the map that holds ``at``."""

    at: tuple[float, float]
    name: str = ""  # "" keeps the found name
    rt60_s: float | None = None  # designer-set reverberation time; None: computed from the materials
    materials: tuple[tuple[str, str], ...] = ()  # (surface, material): surfaces ROOM_SURFACES
    line: int = 0


@dataclass(frozen=True)
class EmitterPath:
    """An [[emitter_paths]] table: a path a zone's sound moves along. Closed (a loop, its first and
    last points equal) it circles; open it goes back and forth."""

    name: str
    path: Path2D

    @property
    def closed(self) -> bool:
        return math.dist(self.path.points[0], self.path.points[-1]) <= closed_path_tolerance_m


@dataclass(frozen=True)
class SpatialSettings:
    """Where the sounds are and how they reach the listener (docs/levels.md, Spatial sound): the
    spatial fields of [sound], the [[rooms]] and the [[emitter_paths]]. Every field has a default,
    so a level without any of them plays as a stereo mix with these."""

    output: str = "stereo"  # one of OUTPUTS
    voices: int = 8  # voice budget: zones decoded as real voices at once
    distance_curve: str = "natural"  # one of DISTANCE_CURVES
    # Per wall crossed: 12 dB and a low-pass at 1.5 kHz (each further wall an octave lower): the
    # Maekawa barrier loss of a 3 m wall between two people 5 m either side of it is 9 dB at 125
    # Hz, 14 dB at 500 Hz, 20 dB at 2 kHz, 23 dB at 4 kHz; 12 dB and a first-order low-pass at
    # 1.5 kHz give 12, 12.5, 16 and 21 dB there (docs/levels.md, Spatial sound).
    wall_db: float = 12.0
    wall_lowpass_hz: float = 1500.0
    # Air absorption: 1 = ISO 9613-1 air at 20 C and 50 % relative humidity; 0 = none; more
    # exaggerates it (a small map made to sound larger).
    air_absorption: float = 1.0
    # Sound bending through a gate or door loses a little: 3 dB per opening on the path.
    portal_db: float = 3.0
    rooms: tuple[RoomSpec, ...] = ()
    paths: tuple[EmitterPath, ...] = ()

    def path(self, name: str) -> EmitterPath | None:
        return next((p for p in self.paths if p.name == name), None)


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
class LookSettings:
    """How the level is lit (see docs/levels.md, [look])."""

    time: str = "golden"  # one of LOOK_TIMES


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
    look: LookSettings = LookSettings()
    spatial: SpatialSettings = SpatialSettings()

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
    """A level file with problems. ``partial``: what could be read despite them (a ``Partial``), so
    `memoire check` can check the anchors against the model in the same pass."""

    partial: "Partial | None" = None


@dataclass(frozen=True)
class Partial:
    """The parts of a level with problems that were read well: zones and the rest anchor (for
    checking anchors against a model), the model the level names and the line naming it."""

    path: Path
    zones: tuple[Zone, ...]
    rest: Anchor | None
    model: Path | None
    model_line: int
    terrain_source: Path | None = None
    terrain_line: int = 0


_TOP_KEYS = ("level", "map", "spawn", "sound", "zones", "props", "tours", "trajectories", "terrain", "look",
             "rooms", "emitter_paths")


def read_level_text(path: str | Path) -> str:
    """The text of a level file, checked before it is read (a folder, a pipe, over
    ``max_level_file_bytes``, not UTF-8: a UserError saying so); a byte-order mark and CRLF line
    ends are read as the editor meant them."""
    path = Path(path)
    return read_text_file(path, "level file", max_level_file_bytes,
                          f"{path}: no such level file (levels live in levels/, e.g. levels/hutong.toml)")


def load_level(path: str | Path, *, allow_outside: bool = False) -> Level:
    """Read and validate a level file. Raises ``LevelError`` listing every problem found (a
    UserError for a file that cannot be read). ``allow_outside``: may the level name files outside
    its folders (OUTSIDE_PATHS_FLAG); every caller passes what its user asked for."""
    path = Path(path)
    return parse_level(read_level_text(path), path, allow_outside=allow_outside)


def parse_level(text: str, path: Path, *, allow_outside: bool = False) -> Level:
    """Validate level source ``text`` (from ``path``, used in messages and for relative files)."""
    text = clean_text(text)
    if len(text) > max_level_file_bytes:  # text from the editor: the same limit as a file's
        raise LevelError([Problem(path, 0, "", f"the level is {len(text) / 2**20:.1f} MiB of text; a level file is at "
                                               f"most {max_level_file_bytes / 2**20:g} MiB (docs/levels.md, Limits)")])
    data = parse_toml(text, path, LevelError)
    r = TomlReader(path, text)
    r.unknown_keys(data, _TOP_KEYS, (), "")
    base = path.parent
    r.files = _Files(base, None if allow_outside else allowed_roots(path))

    # [level]
    level_t = _table(r, data, "level")
    name = r.text(level_t, "name", ("level",), "[level]", default=path.stem) or path.stem
    cell_m = r.number(level_t, "cell_m", ("level",), "[level]", default=1.0, unit="m", minimum=min_cell_m,
                      maximum=max_cell_m)
    r.unknown_keys(level_t, ("name", "cell_m"), ("level",), "[level]")
    if name != path.stem and len(name) > max_name_chars:
        r.problem(("level", "name"), "[level]", f"name is {len(name)} characters long; at most {max_name_chars} "
                                                "(it is the window's title)")

    tiles = _read_map(r, _table(r, data, "map", required=True), cell_m, required="map" in data)
    props = _read_props(r, data.get("props", []), tiles)
    grid_props = _grid_props(tiles) if tiles is not None else []

    # [spawn]
    spawn_t = _table(r, data, "spawn", required=True)
    spawn_xy = r.point(spawn_t.get("at"), ("spawn", "at"), "[spawn]", "at") if "at" in spawn_t else None
    if "at" not in spawn_t and "spawn" in data:
        r.problem(("spawn",), "[spawn]", "missing field 'at' (the start point [x, y] in metres)")
    facing = r.number(spawn_t, "facing_deg", ("spawn",), "[spawn]", default=0.0, unit="degrees",
                      minimum=-3600.0, maximum=3600.0)
    r.unknown_keys(spawn_t, ("at", "facing_deg"), ("spawn",), "[spawn]")
    if spawn_xy is not None and tiles is not None and not tiles.is_walkable(*spawn_xy):
        col, row = tiles.cell_of(*spawn_xy)
        r.problem(("spawn", "at"), "[spawn]",
                  f"at {list(spawn_xy)} is inside a solid tile ('{tiles.kind_at(col, row)}' at column {col}, "
                  f"row {row}); move it onto a floor, garden, gate or door cell")
    elif spawn_xy is not None and tiles is not None:
        hit = _prop_clearance([*grid_props, *props], np.asarray([spawn_xy]))
        if hit is not None:
            prop = hit[0]
            r.problem(("spawn", "at"), "[spawn]",
                      f"at {list(spawn_xy)} is inside a {prop.kind} at [{prop.at[0]:.2f}, {prop.at[1]:.2f}] (its "
                      f"{'trunk' if prop.kind == 'tree' else 'seat'} is solid, and a person is {2 * person_radius_m:g} m "
                      "across); move the spawn a metre away from it")

    sound = _read_sound(r, _table(r, data, "sound"), base)
    zones = _read_zones(r, data.get("zones", []), base, tiles)
    spatial = _read_spatial(r, _table(r, data, "sound"), data, tiles)
    zones = _read_zone_emitters(r, data.get("zones", []), zones, spatial, tiles)
    props = _props_over_zones(r, props, zones, data.get("zones", []))
    tours = _read_tours(r, data.get("tours", []), tiles, [*grid_props, *props])
    trajectories = _read_trajectories(r, data.get("trajectories", []), base, tiles)
    terrain = _read_terrain(r, data.get("terrain"), base, sound)
    look = _read_look(r, _table(r, data, "look"))

    if r.problems:
        err = LevelError(sorted(r.problems, key=lambda p: p.line))
        err.partial = Partial(path, zones, sound.rest if sound is not None else None,
                              sound.model if sound is not None else None, r.lines.line("sound", "model"),
                              terrain.source_path if terrain is not None else None, r.lines.line("terrain", "source"))
        raise err
    assert tiles is not None and spawn_xy is not None and sound is not None
    return Level(path=path, name=name, tiles=tiles, spawn_xy=spawn_xy, spawn_facing_deg=float(facing),
                 zones=zones, props=props, tours=tours, trajectories=trajectories, sound=sound,
                 terrain=terrain, source_text=text, look=look, spatial=spatial)


def _read_look(r: TomlReader, t: dict) -> LookSettings:
    r.unknown_keys(t, ("time",), ("look",), "[look]")
    time = r.text(t, "time", ("look",), "[look]", default=LookSettings.time, choices=LOOK_TIMES)
    return LookSettings(time=time)


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


def _char(ch: str) -> str:
    """A grid character as a message shows it: 'x', or U+0009 for an invisible one."""
    return f"'{ch}'" if ch.isprintable() and not ch.isspace() or ch == " " else f"U+{ord(ch):04X}"


def _read_map(r: TomlReader, t: dict, cell_m: float | None, required: bool = True) -> TileMap | None:
    where = "[map]"
    r.unknown_keys(t, ("grid", "legend"), ("map",), where)
    legend = dict(DEFAULT_LEGEND)
    user_legend = t.get("legend", {})
    if not isinstance(user_legend, dict):
        r.problem(("map", "legend"), where, "legend must be a table of character = \"kind\"")
        user_legend = {}
    for ch, kind in user_legend.items():
        if len(ch) != 1:
            r.problem(("map", "legend", ch), where, f"legend key {show(ch)} must be a single character")
        elif ch in "\n\r" or control_char(ch):
            r.problem(("map", "legend", ch), where, f"legend key {_char(ch)} is a control character; use a visible one")
        elif kind not in TILE_KINDS:
            r.problem(("map", "legend", ch), where,
                      f"legend {_char(ch)} = {show(kind)} is not a tile kind; use one of {', '.join(TILE_KINDS)}")
        else:
            legend[ch] = kind
    grid = t.get("grid")
    if grid is None:
        if required:
            r.problem(("map",), where, 'missing field \'grid\': the map, one character per cell, as a multi-line '
                                       'string grid = """ ... """ (see docs/levels.md, [map])')
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
    width = max(len(row) for row in rows)
    if len(rows) > max_grid_rows or width > max_grid_columns or len(rows) * width > max_grid_cells:
        r.problem(("map", "grid"), where,
                  f"grid is {width} columns x {len(rows)} rows ({width * len(rows)} cells); at most {max_grid_columns} "
                  f"columns, {max_grid_rows} rows and {max_grid_cells} cells (docs/levels.md, Limits): draw fewer, "
                  "larger cells (cell_m)")
        return None
    if cell_m is not None:
        w_m, h_m = width * cell_m, len(rows) * cell_m
        if max(w_m, h_m) > max_map_side_m or w_m * h_m > max_map_area_m2:
            r.problem(("level", "cell_m") if ("level", "cell_m") in r.lines._lines else ("map", "grid"), where,
                      f"the map is {w_m:g} m x {h_m:g} m ({width} x {len(rows)} cells of {cell_m:g} m); at most "
                      f"{max_map_side_m:g} m a side and {max_map_area_m2:g} m2 (docs/levels.md, Limits): use a "
                      "smaller cell_m or a smaller grid")
            return None
    grid_line = r.lines.line("map", "grid")
    first_row_line = grid_line + (1 if grid.startswith("\n") or grid_line else 0)
    rows = [row.ljust(width) for row in rows]
    bad = 0
    for i, row in enumerate(rows):
        for j, ch in enumerate(row):
            if ch not in legend and bad < 10:
                bad += 1
                r.problems.append(Problem(r.path, first_row_line + i, where,
                                          f"grid row {i}, column {j}: unknown character {_char(ch)}; add it to "
                                          f"[map.legend] or use one of {''.join(sorted(legend))!r}"))
    if bad or cell_m is None:
        return None
    return TileMap(cell_m=float(cell_m), rows=tuple(rows), legend=tuple(sorted(legend.items())))


class _Files:
    """The files a level names: resolved from its folder, kept inside ``roots`` (None: anywhere)."""

    def __init__(self, base: Path, roots: tuple[Path, ...] | None):
        self.base = base
        self.roots = roots

    def resolve(self, r: TomlReader, raw: str, kp: tuple, where: str, label: str) -> Path | None:
        """``raw`` (as written in the level) -> an absolute path with symlinks resolved, or None after
        a problem (outside the allowed folders, a symlink loop)."""
        try:
            path = (self.base / Path(raw).expanduser()).resolve()
        except (OSError, RuntimeError) as e:
            r.problem(kp, where, f"{label} '{raw}' cannot be followed ({e}); is it a symlink loop?")
            return None
        if self.roots is not None and not any(path.is_relative_to(root) for root in self.roots):
            r.problem(kp, where,
                      f"{label} '{raw}' is outside the level's folder (it leads to {path}); a level may name files "
                      f"in its own folder {self.roots[0]} (or below it) and in the assets/ folder beside it: move the "
                      f"file there, or pass {OUTSIDE_PATHS_FLAG} if you trust this level")
            return None
        return path

    def clip(self, r: TomlReader, raw: str, kp: tuple, where: str, label: str) -> Path | None:
        """A latent clip (.npy from `memoire encode`): inside the allowed folders, a file, a 2-D array
        of finite numbers (frames x latent dimensions). Its width is checked against the model later."""
        path = self.resolve(r, raw, kp, where, label)
        if path is None:
            return None
        make = "make one with `memoire encode AUDIO --out FILE.npy`"
        if not path.exists():
            r.problem(kp, where, f"{label} '{raw}' not found (looked for {path}); {make}")
            return None
        if not path.is_file():
            r.problem(kp, where, f"{label} '{raw}' is a folder, not a clip; name the .npy file ({make})")
            return None
        size = path.stat().st_size
        if size > max_clip_bytes:
            r.problem(kp, where, f"{label} '{raw}' is {size / 2**20:.0f} MiB; a latent clip is at most "
                                 f"{max_clip_bytes / 2**20:g} MiB (docs/levels.md, Limits)")
            return None
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            r.problem(kp, where, f"{label} '{raw}' is not a latent clip (.npy): {str(e)[:120]}; {make}")
            return None
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.dtype.kind not in "fiu" or not len(a) \
                or not 1 <= a.shape[1] <= max_latent_dim:
            shape = getattr(a, "shape", "?")
            r.problem(kp, where, f"{label} '{raw}' holds an array of shape {shape} ({getattr(a, 'dtype', '?')}); a "
                                 f"latent clip is frames x latent dimensions of numbers; {make}")
            return None
        if not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).any(axis=1).sum())
            r.problem(kp, where, f"{label} '{raw}' has {bad} of {len(a)} frames with NaN or infinite values; encode it "
                                 f"again ({make})")
            return None
        return path


def _read_anchor(r: TomlReader, v: Any, keypath: tuple, where: str, base: Path) -> Anchor | None:
    if isinstance(v, str):
        if not v.strip() or control_char(v) or len(v) > max_name_chars:
            r.problem(keypath, where, f"anchor must name a sound class of the model, e.g. \"pigeons\"; got {show(v)}")
            return None
        return Anchor(class_name=v)
    if isinstance(v, list):
        if not v or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in v):
            r.problem(keypath, where, f"anchor vector must be a list of numbers (one per latent dimension), got {show(v)}")
            return None
        if len(v) > max_latent_dim:
            r.problem(keypath, where, f"anchor vector has {len(v)} numbers; a model has at most {max_latent_dim} latent "
                                      "dimensions (docs/levels.md, Limits)")
            return None
        return Anchor(vector=tuple(float(c) for c in v))
    if isinstance(v, dict) and set(v) == {"clip"} and isinstance(v["clip"], str):
        if control_char(v["clip"]) or not v["clip"].strip():
            r.problem(keypath, where, f"anchor clip must be a file name, got {show(v['clip'])}")
            return None
        clip = r.files.clip(r, v["clip"], keypath, where, "anchor clip")
        return Anchor(clip=clip) if clip is not None else None
    r.problem(keypath, where, f"anchor must be a class name (\"birds\"), a vector [..] or {{ clip = \"file.npy\" }}, "
                              f"got {show(v)}")
    return None


def _read_sound(r: TomlReader, t: dict, base: Path) -> SoundSettings | None:
    where = "[sound]"
    kp = ("sound",)
    r.unknown_keys(t, ("model", "field", "terrain_mix", "smoothing_s", "rest", "gain_db", *SPATIAL_SOUND_KEYS), kp,
                   where)
    model = r.text(t, "model", kp, where, default="")
    field_ = r.text(t, "field", kp, where, default="zones", choices=FIELDS)
    mix = r.number(t, "terrain_mix", kp, where, default=0.5, minimum=0.0, maximum=1.0)
    smoothing = r.number(t, "smoothing_s", kp, where, default=0.5, unit="s", minimum=0.0, exclusive_min=True,
                         maximum=max_time_s)
    gain = r.number(t, "gain_db", kp, where, default=0.0, unit="dB", minimum=-120.0, maximum=12.0)
    rest = _read_anchor(r, t.get("rest", "courtyard"), (*kp, "rest"), where, base)
    model_path = r.files.resolve(r, model, (*kp, "model"), where, "model") if model else None
    if rest is None or field_ is None or (model and model_path is None):
        return None
    return SoundSettings(model=model_path, field=field_,
                         terrain_mix=float(mix), smoothing_s=float(smoothing), rest=rest, gain_db=float(gain))


def _list_of_tables(r: TomlReader, v: Any, key: str, limit: int | None = None) -> list[dict]:
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        r.problem((key,), f"[[{key}]]", f"'{key}' must be written as [[{key}]] tables")
        return []
    if limit is not None and len(v) > limit:
        r.problem((key,), f"[[{key}]]", f"{len(v)} [[{key}]] tables; a level has at most {limit} (docs/levels.md, Limits)")
        return []
    return v


def _near_map(r: TomlReader, pts: Any, tiles: TileMap | None, kp: tuple, where: str, label: str) -> bool:
    """True when every point lies within ``max_off_map_m`` of the map (always, without a map)."""
    if tiles is None or pts is None:
        return True
    w, h = tiles.size_m
    m = max_off_map_m
    for x, y in pts:
        if not (-m <= x <= w + m and -m <= y <= h + m):
            r.problem(kp, where, f"{label} [{x:g}, {y:g}] is far off the map (0..{w:g} m east, 0..{h:g} m south); "
                                 f"points lie within {m:g} m of it (docs/levels.md, Limits)")
            return False
    return True


_ZONE_KEYS = ("name", "shape", "center", "radius_m", "points", "falloff_m", "curve", "priority", "fade_s", "anchor",
              "emitter", "emitters", "emitter_path", "emitter_speed_mps")


def _unique_name(r: TomlReader, t: dict, kp: tuple, kind: str, seen: set[str]) -> tuple[str, str]:
    """(name, "kind 'name'") of the ``kp[1]``-th [[kind]] table; a missing or repeated name is a
    problem (an unnamed one is called #1, #2, ...)."""
    name = t.get("name") if isinstance(t.get("name"), str) else f"#{kp[1] + 1}"
    bad = isinstance(t.get("name"), str) and (control_char(name) or len(name) > max_name_chars or not name.strip())
    if bad:
        name = f"#{kp[1] + 1}"
    where = f"{kind} '{name}'"
    if "name" not in t:
        r.problem(kp, where, "missing field 'name'")
    elif bad:
        r.problem((*kp, "name"), where, f"name must be plain text of 1 to {max_name_chars} characters (no control "
                                        f"characters), got {show(t['name'])}")
    elif not isinstance(t["name"], str):
        r.problem((*kp, "name"), where, f"name must be text in quotes, got {show(t['name'])}")
    elif name in seen:
        r.problem((*kp, "name"), where, f"another {kind} has the same name; names must be unique")
    seen.add(name)
    return name, where


def _read_zones(r: TomlReader, v: Any, base: Path, tiles: TileMap | None) -> tuple[Zone, ...]:
    zones = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(r, v, "zones", max_zones)):
        kp = ("zones", i)
        name, where = _unique_name(r, t, kp, "zone", seen)
        r.unknown_keys(t, _ZONE_KEYS, kp, where)
        shape_kind = r.text(t, "shape", kp, where, default="circle", choices=("circle", "polygon"))
        shape: Shape | None = None
        if shape_kind == "circle":
            center = r.point(t["center"], (*kp, "center"), where, "center") if "center" in t else None
            if "center" not in t:
                r.problem(kp, where, "missing field 'center' ([x, y] in metres) for a circle")
            radius = r.number(t, "radius_m", kp, where, unit="m", minimum=0.0, maximum=max_zone_size_m)
            if "points" in t:
                r.problem((*kp, "points"), where, "points belong to shape = \"polygon\"; a circle has center and radius_m")
            if center is not None and radius is not None:
                shape = Circle(center, float(radius))
        elif shape_kind == "polygon":
            pts = r.points(t, "points", kp, where, min_count=3, max_count=max_polygon_points)
            if not _near_map(r, pts, tiles, (*kp, "points"), where, "corner"):
                pts = None
            if pts is not None:
                area = 0.5 * sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(pts, pts[1:] + pts[:1]))
                if abs(area) < 1e-9:
                    r.problem((*kp, "points"), where, "polygon has no area (its points lie on a line)")
                else:
                    shape = Polygon(pts)
        falloff = r.number(t, "falloff_m", kp, where, unit="m", minimum=0.0, exclusive_min=True, maximum=max_zone_size_m)
        curve = r.text(t, "curve", kp, where, default="smooth", choices=CURVES)
        priority = r.number(t, "priority", kp, where, default=1.0, minimum=0.0, exclusive_min=True,
                            maximum=max_priority)
        fade = r.number(t, "fade_s", kp, where, default=1.0, unit="s", minimum=0.0, exclusive_min=True,
                        maximum=max_time_s)
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


def _read_props(r: TomlReader, v: Any, tiles: TileMap | None = None) -> tuple[Prop, ...]:
    """[[props]]: each kind with its own fields (PROP_FIELDS). Flocks and rain over a zone are
    finished by ``_props_over_zones`` once the zones are read."""
    props = []
    for i, t in enumerate(_list_of_tables(r, v, "props", max_props)):
        kp = ("props", i)
        where = f"prop #{i + 1}"
        kind = r.text(t, "kind", kp, where, choices=PROP_KINDS)
        if kind is None:
            continue
        where = f"prop #{i + 1} ({kind})"
        r.unknown_keys(t, PROP_FIELDS[kind], kp, where)
        line = r.lines.line(*kp)
        facing = r.number(t, "facing_deg", kp, where, default=0.0, unit="degrees", minimum=-3600.0, maximum=3600.0)
        if kind in LINE_PROPS:
            ends = []
            for key in ("from", "to"):
                p = r.point(t[key], (*kp, key), where, key) if key in t else None
                if key not in t:
                    r.problem(kp, where, f"missing field '{key}' ([x, y] in metres: where the {kind} is tied)")
                if p is not None and not _near_map(r, [p], tiles, (*kp, key), where, key):
                    p = None
                ends.append(p)
            height = r.number(t, "height_m", kp, where, default=default_line_height_m[kind], unit="m",
                              minimum=line_height_range_m[0], maximum=line_height_range_m[1])
            if None in ends or height is None:
                continue
            span = math.dist(ends[0], ends[1])
            if span < 0.5 or span > max_line_span_m:
                r.problem((*kp, "to"), where, f"from and to are {span:.2f} m apart; a {kind} spans 0.5 to "
                                              f"{max_line_span_m:g} m")
                continue
            mid = (0.5 * (ends[0][0] + ends[1][0]), 0.5 * (ends[0][1] + ends[1][1]))
            props.append(Prop(kind, mid, ends=(ends[0], ends[1]), height_m=float(height), line=line))
            continue
        if kind in ZONE_PROPS:
            zp = _read_zone_prop(r, t, kind, kp, where, tiles, line)
            if zp is not None:
                props.append(zp)
            continue
        at = r.point(t["at"], (*kp, "at"), where, "at") if "at" in t else None
        if "at" not in t:
            r.problem(kp, where, "missing field 'at' ([x, y] in metres)")
        if not _near_map(r, [at] if at else None, tiles, (*kp, "at"), where, "at"):
            at = None
        leaning = False
        if "leaning" in t:
            if isinstance(t["leaning"], bool):
                leaning = t["leaning"]
            else:
                r.problem((*kp, "leaning"), where, f"leaning must be true or false, got {show(t['leaning'])}")
        height = width = 0.0
        if kind == "sign":
            height = r.number(t, "height_m", kp, where, default=default_sign_height_m, unit="m", minimum=0.5,
                              maximum=line_height_range_m[1])
        if kind == "screen_wall":
            width = r.number(t, "width_m", kp, where, default=default_screen_wall_width_m, unit="m",
                             minimum=screen_wall_width_range_m[0], maximum=screen_wall_width_range_m[1])
        if kind == "moon_gate" and at and tiles is not None:
            if tiles.kind_at(*tiles.cell_of(*at)) not in ("gate", "door"):
                col, row = tiles.cell_of(*at)
                r.problem((*kp, "at"), where, f"at {list(at)} is on a '{tiles.kind_at(col, row)}' cell (column {col}, "
                                              f"row {row}); a moon gate is put on a gate (G) or door (D) cell, and "
                                              "the whole opening becomes round")
                at = None
        if at and height is not None and width is not None:
            props.append(Prop(kind, at, float(facing), leaning=leaning, height_m=float(height), width_m=float(width),
                              line=line))
    return tuple(props)


def _read_zone_prop(r: TomlReader, t: dict, kind: str, kp: tuple, where: str, tiles: TileMap | None,
                    line: int) -> Prop | None:
    """A flock or rain: ``zone = "name"`` (finished in ``_props_over_zones``), or for a flock a
    ``center`` and ``radius_m`` of its own."""
    zone = r.text(t, "zone", kp, where, default="") if "zone" in t else ""
    center = r.point(t["center"], (*kp, "center"), where, "center") if "center" in t else None
    if center is not None and not _near_map(r, [center], tiles, (*kp, "center"), where, "center"):
        return None
    if kind == "rain":
        if "zone" not in t:
            r.problem(kp, where, "missing field 'zone' (the name of the [[zones]] zone the rain falls on)")
            return None
        wet = t.get("wet", True)
        if not isinstance(wet, bool):
            r.problem((*kp, "wet"), where, f"wet must be true or false, got {show(wet)}")
            return None
        return Prop(kind, (0.0, 0.0), zone=zone, wet=wet, line=line) if zone else None
    if ("zone" in t) == ("center" in t):
        r.problem(kp, where, "a flock circles over a zone (zone = \"name\") or a point of its own "
                             "(center = [x, y] and radius_m); give one of the two")
        return None
    if "center" in t and "radius_m" not in t:
        r.problem(kp, where, "missing field 'radius_m' (the circle the flock flies around center, metres)")
        return None
    radius = r.number(t, "radius_m", kp, where, default=0.0, unit="m", minimum=0.0, exclusive_min="radius_m" in t,
                      maximum=max_flock_radius_m)
    height = r.number(t, "height_m", kp, where, default=default_flock_height_m, unit="m",
                      minimum=flock_height_range_m[0], maximum=flock_height_range_m[1])
    birds = r.number(t, "birds", kp, where, default=default_flock_birds, minimum=1, maximum=max_flock_birds,
                     integer=True)
    speed = r.number(t, "speed_mps", kp, where, default=default_flock_speed_mps, unit="m/s", minimum=0.0,
                     exclusive_min=True, maximum=max_flock_speed_mps)
    if None in (radius, height, birds, speed) or (zone == "" and center is None):
        return None
    return Prop(kind, center or (0.0, 0.0), zone=zone, radius_m=float(radius), height_m=float(height),
                birds=int(birds), speed_mps=float(speed), line=line)


def _props_over_zones(r: TomlReader, props: tuple[Prop, ...], zones: tuple[Zone, ...],
                      zone_tables: Any) -> tuple[Prop, ...]:
    """Flocks and rain named by zone: placed at the zone's centre (a flock circling its inner
    region unless it gives radius_m, rain falling on its inner outline)."""
    by_name = {z.name: z for z in zones}
    named = [t.get("name") for t in zone_tables if isinstance(t, dict)] if isinstance(zone_tables, list) else []
    out = []
    for p in props:
        if p.kind not in ZONE_PROPS or not p.zone:
            out.append(p)
            continue
        z = by_name.get(p.zone)
        if z is None:
            if p.zone not in named:  # a zone with problems of its own is reported there
                choices = ", ".join(n for n in named if isinstance(n, str)) or "(none)"
                r.problems.append(Problem(r.path, p.line, f"prop {p.kind}",
                                          f"zone '{p.zone}' is not a zone of this level; zones: {choices}"))
            continue
        outline = _outline(z.shape)
        xy = np.asarray(outline)
        centre = (float(xy[:, 0].mean()), float(xy[:, 1].mean())) if isinstance(z.shape, Polygon) else z.shape.center
        if p.kind == "rain":
            out.append(Prop(p.kind, centre, zone=p.zone, area=outline, wet=p.wet, line=p.line))
        else:
            x0, y0, x1, y1 = z.shape.bounds()
            radius = p.radius_m or max(1.0, 0.5 * min(x1 - x0, y1 - y0))
            out.append(Prop(p.kind, centre, zone=p.zone, radius_m=float(radius), height_m=p.height_m, birds=p.birds,
                            speed_mps=p.speed_mps, line=p.line))
    return tuple(out)


# a circle zone's outline for rain: enough corners that the edge reads round
_circle_outline_corners = 32


def _outline(shape: Shape) -> tuple[tuple[float, float], ...]:
    """A zone's inner region as polygon corners (a circle as a 32-gon)."""
    if isinstance(shape, Polygon):
        return tuple(shape.points)
    (cx, cy), rad = shape.center, max(shape.radius_m, 0.5)
    a = np.linspace(0.0, 2 * math.pi, _circle_outline_corners, endpoint=False)
    return tuple((float(cx + rad * math.cos(v)), float(cy + rad * math.sin(v))) for v in a)


def _read_path(r: TomlReader, t: dict, kp: tuple, where: str, name: str, tiles: TileMap | None = None
               ) -> Path2D | None:
    pts = r.points(t, "points", kp, where, min_count=4, max_count=max_path_points)
    if pts is None or not _near_map(r, pts, tiles, (*kp, "points"), where, "point"):
        return None
    if (len(pts) - 1) % 3:
        r.problem((*kp, "points"), where,
                  f"a cubic Bezier path has 3n+1 control points (anchor, handle, handle, anchor, ...: "
                  f"4, 7, 10, ...), got {len(pts)}")
        return None
    return Path2D(name, pts)


def _prop_clearance(props: list[Prop], pts: np.ndarray) -> tuple[Prop, np.ndarray] | None:
    """The first solid prop (tree, bench, screen wall) that a person walking through ``pts`` (k, 2)
    would hit."""
    for prop in props:
        d = pts - np.asarray(prop.at)
        if prop.kind == "tree":
            hit = np.hypot(d[:, 0], d[:, 1]) < tree_trunk_radius_m + person_radius_m
        elif prop.kind == "bench":
            hx, hy = bench_half_size_m
            hit = (np.abs(d[:, 0]) < hx + person_radius_m) & (np.abs(d[:, 1]) < hy + person_radius_m)
        elif prop.kind == "screen_wall":  # a rectangle across its facing: width_m by its thickness
            h = math.radians(prop.facing_deg)
            along = d[:, 0] * math.cos(h) + d[:, 1] * math.sin(h)
            across = -d[:, 0] * math.sin(h) + d[:, 1] * math.cos(h)
            hit = ((np.abs(along) < prop.width_m / 2 + person_radius_m)
                   & (np.abs(across) < screen_wall_half_thickness_m + person_radius_m))
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
    for i, t in enumerate(_list_of_tables(r, v, "tours", max_tours)):
        kp = ("tours", i)
        name, where = _unique_name(r, t, kp, "tour", seen)
        r.unknown_keys(t, ("name", "points", "speed_mps", "pause_s"), kp, where)
        path = _read_path(r, t, kp, where, name, tiles)
        speed = r.number(t, "speed_mps", kp, where, default=1.2, unit="m/s", minimum=0.0, exclusive_min=True,
                         maximum=20.0)
        pause = r.number(t, "pause_s", kp, where, default=0.0, unit="s", minimum=0.0, maximum=max_time_s)
        if path is not None and path.table().length_m < min_tour_length_m:
            r.problem((*kp, "points"), where,
                      f"the path is {path.table().length_m:.2g} m long (its points are all in one place); a tour is at "
                      f"least {min_tour_length_m:g} m: move its last anchor to where the walk should end")
            path = None
        if path is not None:
            _check_path_walkable(r, path, tiles, kp, where, props)
        if path and speed is not None and pause is not None:
            tours.append(Tour(name, path, float(speed), float(pause)))
    return tuple(tours)


def _read_trajectories(r: TomlReader, v: Any, base: Path, tiles: TileMap | None = None) -> tuple[Trajectory, ...]:
    out = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(r, v, "trajectories", max_trajectories)):
        kp = ("trajectories", i)
        if "name" in t:
            name, where = _unique_name(r, t, kp, "trajectory", seen)
        else:
            name, where = f"#{i + 1}", f"trajectory '#{i + 1}'"
        r.unknown_keys(t, ("name", "points", "clip"), kp, where)
        path = _read_path(r, t, kp, where, name, tiles)
        if path is not None and path.table().length_m <= 0:
            r.problem((*kp, "points"), where, "the path has no length (its points are all in one place); the clip's "
                                              "frames are laid along it")
            path = None
        clip_s = r.text(t, "clip", kp, where)
        clip = r.files.clip(r, clip_s, (*kp, "clip"), where, "clip") if clip_s else None
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
        source_path = r.files.resolve(r, source, (*kp, "source"), where, "source")
        use = "use \"train\" or the path of an nn.terrain .pt or a saved .terrain.npz"
        if source_path is None:
            source = None
        elif not source_path.exists():
            r.problem((*kp, "source"), where, f"source '{source}' not found (looked for {source_path}); {use}")
        elif not source_path.is_file():
            r.problem((*kp, "source"), where, f"source '{source}' is a folder, not a terrain file; {use}")
            source = None
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
    width = r.number(v, "width", kp, where, default=128, minimum=1, maximum=max_terrain_width, integer=True)
    mapping = r.number(v, "mapping_size", kp, where, default=128, minimum=1, maximum=max_terrain_mapping_size,
                       integer=True)
    steps = r.number(v, "steps", kp, where, default=1500, minimum=1, maximum=max_terrain_steps, integer=True)
    seed = r.number(v, "seed", kp, where, default=0, minimum=0, maximum=2**63 - 1, integer=True)
    samples = r.number(v, "anchor_samples", kp, where, default=64, minimum=1, maximum=max_terrain_anchor_samples,
                       integer=True)
    if source is None or None in (gauss, width, mapping, steps, seed, samples):
        return None
    return TerrainSettings(source=source, source_path=source_path, map_from=rects[0], map_to=rects[1],
                           gauss=float(gauss), width=int(width), mapping_size=int(mapping), steps=int(steps),
                           seed=int(seed), anchor_samples=int(samples))


# ---------------------------------------------------------------------------------------------
# Spatial sound: [sound] output .. portal_db, [[rooms]], [[emitter_paths]] and the zones'
# emitter fields (docs/levels.md, Spatial sound; used by memoire/world/acoustics.py)


def _read_spatial(r: TomlReader, t: dict, data: dict, tiles: TileMap | None) -> SpatialSettings:
    """The level's spatial settings; every field defaults (SpatialSettings), problems go to ``r``."""
    kp, where = ("sound",), "[sound]"
    d = SpatialSettings()
    output = r.text(t, "output", kp, where, default=d.output, choices=OUTPUTS)
    voices = r.number(t, "voices", kp, where, default=d.voices, minimum=1, maximum=max_voices, integer=True)
    curve = r.text(t, "distance_curve", kp, where, default=d.distance_curve, choices=DISTANCE_CURVES)
    wall_db = r.number(t, "wall_db", kp, where, default=d.wall_db, unit="dB", minimum=0.0, maximum=max_wall_db)
    wall_lp = r.number(t, "wall_lowpass_hz", kp, where, default=d.wall_lowpass_hz, unit="Hz",
                       minimum=lowpass_range_hz[0], maximum=lowpass_range_hz[1])
    portal_db = r.number(t, "portal_db", kp, where, default=d.portal_db, unit="dB", minimum=0.0,
                         maximum=max_portal_db)
    air = t.get("air_absorption", d.air_absorption)
    if isinstance(air, bool):
        air = 1.0 if air else 0.0
    else:
        air = r.number(t, "air_absorption", kp, where, default=d.air_absorption, minimum=0.0,
                       maximum=max_air_absorption)
    paths = _read_emitter_paths(r, data.get("emitter_paths", []), tiles)
    rooms = _read_rooms(r, data.get("rooms", []), tiles)
    return SpatialSettings(output=output or d.output, voices=int(voices or d.voices),
                           distance_curve=curve or d.distance_curve, wall_db=float(wall_db),
                           wall_lowpass_hz=float(wall_lp), air_absorption=float(air), portal_db=float(portal_db),
                           rooms=rooms, paths=paths)


def _read_emitter_paths(r: TomlReader, v: Any, tiles: TileMap | None) -> tuple[EmitterPath, ...]:
    out = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(r, v, "emitter_paths", max_tours)):
        kp = ("emitter_paths", i)
        name, where = _unique_name(r, t, kp, "emitter path", seen)
        r.unknown_keys(t, ("name", "points"), kp, where)
        path = _read_path(r, t, kp, where, name, tiles)
        if path is not None and path.table().length_m <= 0:
            r.problem((*kp, "points"), where, "the path has no length (its points are all in one place); an "
                                              "emitter moves along it")
            path = None
        if path is not None:
            out.append(EmitterPath(name, path))
    return tuple(out)


def _read_rooms(r: TomlReader, v: Any, tiles: TileMap | None) -> tuple[RoomSpec, ...]:
    """[[rooms]]: each names the room (found from the map) holding its point ``at``."""
    tables = _list_of_tables(r, v, "rooms", max_rooms)
    if not tables:
        return ()
    grid = label_grid(tiles.kinds(), SOLID_TILES) if tiles is not None else None
    materials = load_materials()
    out = []
    names: set[str] = set()
    taken: dict[int, int] = {}  # room label -> line of the [[rooms]] table naming it
    for i, t in enumerate(tables):
        kp = ("rooms", i)
        where = f"room #{i + 1}"
        r.unknown_keys(t, ("at", "name", "rt60_s", "materials"), kp, where)
        name = r.text(t, "name", kp, where, default="", max_length=max_name_chars)
        if name:
            where = f"room '{name}'"
            if name in names:
                r.problem((*kp, "name"), where, "another [[rooms]] table has the same name; names must be unique")
            names.add(name)
        at = r.point(t["at"], (*kp, "at"), where, "at") if "at" in t else None
        if "at" not in t:
            r.problem(kp, where, "missing field 'at' (a point [x, y] inside the room, metres)")
        if at is not None and grid is not None and tiles is not None:
            col, row = tiles.cell_of(*at)
            inside = 0 <= row < tiles.height and 0 <= col < tiles.width
            label = int(grid.room[row, col]) if inside else -1
            if label < 0:
                kind = tiles.kind_at(col, row)
                why = ("a gate or door joins two rooms; put the point on one side of it" if kind in ("gate", "door")
                       else "a room is the floor, garden and prop cells between walls, gates and doors")
                r.problem((*kp, "at"), where, f"at {list(at)} is on a '{kind}' cell (column {col}, row {row}), in no "
                                              f"room; {why}")
                at = None
            elif label in taken:
                r.problem((*kp, "at"), where, f"at {list(at)} is in the same room as the [[rooms]] table at line "
                                              f"{taken[label]}; one table per room")
                at = None
            else:
                taken[label] = r.lines.line(*kp)
        rt60 = None
        if "rt60_s" in t:
            rt60 = r.number(t, "rt60_s", kp, where, unit="s", minimum=rt60_range_s[0], maximum=rt60_range_s[1])
        mats: list[tuple[str, str]] = []
        m = t.get("materials", {})
        if not isinstance(m, dict):
            r.problem((*kp, "materials"), where, f"materials must be a table {{ floor = \"grass\", walls = \"brick\" }}, "
                                                 f"got {show(m)}")
            m = {}
        for surface, mat in m.items():
            if surface not in ROOM_SURFACES:
                r.problem((*kp, "materials"), where, f"materials: unknown surface '{surface}'; surfaces are "
                                                     f"{', '.join(ROOM_SURFACES)}")
            elif not isinstance(mat, str) or mat not in materials.names:
                r.problem((*kp, "materials"), where, f"materials: {surface} = {show(mat)} is not a material; materials "
                                                     f"are {', '.join(materials.names)} (assets/acoustics/materials.toml)")
            else:
                mats.append((surface, mat))
        if at is not None and ("rt60_s" not in t or rt60 is not None):
            out.append(RoomSpec(at=at, name=name or "", rt60_s=None if rt60 is None else float(rt60),
                                materials=tuple(mats), line=r.lines.line(*kp)))
    return tuple(out)


def emitter_outside_message(x: float, y: float) -> str:
    """What is wrong with an emitter point [x, y] outside its zone's inner region (the loader's
    problem, and the editor's when a dragged emitter leaves its zone)."""
    return (f"emitter [{x:g}, {y:g}] is outside the zone's inner region; emitters sit inside their zone "
            "(within radius_m of center, or inside the polygon)")


def _read_zone_emitters(r: TomlReader, tables: Any, zones: tuple[Zone, ...], spatial: SpatialSettings,
                        tiles: TileMap | None) -> tuple[Zone, ...]:
    """The zones with their emitter fields read (emitter, emitters, emitter_path, emitter_speed_mps)."""
    if not isinstance(tables, list):
        return zones
    index = {t.get("name"): i for i, t in enumerate(tables) if isinstance(t, dict)}
    out = []
    for zone in zones:
        i = index.get(zone.name)
        t = tables[i] if i is not None else {}
        kp, where = ("zones", i), f"zone '{zone.name}'"
        mode = r.text(t, "emitter", kp, where, default="center", choices=("center", "nearest"))
        points: tuple[tuple[float, float], ...] = ()
        if "emitters" in t:
            if "emitter" in t:
                r.problem((*kp, "emitters"), where, "give emitter (\"center\" or \"nearest\") or emitters (points), "
                                                    "not both")
            pts = r.points(t, "emitters", kp, where, min_count=1, max_count=max_emitters)
            if pts is not None:
                outside = [p for p in pts if float(zone.shape.distance_outside(np.asarray([p]))[0]) > 1e-6]
                if outside:
                    x, y = outside[0]
                    r.problem((*kp, "emitters"), where, emitter_outside_message(x, y))
                else:
                    points, mode = pts, "points"
        path_name = r.text(t, "emitter_path", kp, where, default="")
        speed = 0.0
        if path_name:
            if "emitters" in t or t.get("emitter") == "nearest":
                r.problem((*kp, "emitter_path"), where, "a zone's sound moves along emitter_path from the path's "
                                                        "start: it goes without emitters and emitter = \"nearest\"")
            ep = spatial.path(path_name)
            if ep is None:
                names = ", ".join(p.name for p in spatial.paths) or "(none: add an [[emitter_paths]] table)"
                r.problem((*kp, "emitter_path"), where, f"emitter_path '{path_name}' is not an [[emitter_paths]] name; "
                                                        f"emitter paths: {names}")
                path_name = ""
            else:
                reach = zone.falloff_m
                far = zone.shape.distance_outside(ep.path.table().points) > reach
                if far.any():
                    x, y = ep.path.table().points[int(np.argmax(far))]
                    r.problem((*kp, "emitter_path"), where,
                              f"emitter path '{path_name}' leaves the zone's reach near [{x:.1f}, {y:.1f}] m (more than "
                              f"falloff_m = {reach:g} m beyond its inner region); keep it where the zone is heard")
                    path_name = ""
            speed = r.number(t, "emitter_speed_mps", kp, where, default=1.0, unit="m/s", minimum=0.0,
                             exclusive_min=True, maximum=max_emitter_speed_mps)
        elif "emitter_speed_mps" in t:
            r.problem((*kp, "emitter_speed_mps"), where, "emitter_speed_mps goes with emitter_path (the path the "
                                                         "sound moves along)")
        out.append(replace(zone, emitter=mode or "center", emitters=points, emitter_path=path_name or "",
                           emitter_speed_mps=float(speed or 0.0)))
    return tuple(out)
