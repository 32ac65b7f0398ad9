"""Sound with a place: where each zone's sound is, and how it reaches the listener (pure numpy).

``Acoustics.build(level)`` finds the level's rooms and portals from its map
(memoire/world/rooms.py), works out each room's reverberation time from its size and materials
(Sabine), and lays out each zone's emitters. ``reach(listener, zone, t)`` then says how that zone's
sound arrives now: its gain, a low-pass cutoff, the direction it seems to come from, the path
length and the walls on it. It runs on the synth thread every audio block (46 ms), so everything
that depends on the level alone is precomputed here, and ``reach`` is a few small numpy steps.

Conventions: level metres, x east, y south; grid arrays are (rows, columns) indexed [row, col].
Gains are linear amplitudes in 0..1. Formulas (docs/levels.md, Spatial sound):

Distance. Each emitter has an *inner region* where the zone plays at full gain: for a circle zone
the disc of radius_m around the emitter (so ``emitter = "center"`` is today's circle), for a
polygon the polygon itself; ``emitter = "nearest"`` puts the emitter at the nearest point of the
zone's shape (the listener's own position inside it). ``e`` is the distance beyond the inner region
along the path the sound takes (a path through gates adds its detour: e = e_direct + L_path -
L_direct). With u = clip(e / falloff_m, 0, 1) and the reference distance r0 = max(inner radius,
1 m) (a polygon's inner radius: sqrt(area / pi)), the distance curves are, each 1 at e = 0 and 0
at e = falloff_m, decreasing in between:

    linear        g = 1 - u
    logarithmic   g = (10^(-3u) - 10^-3) / (1 - 10^-3)      level falls evenly in dB, to -60 dB
    inverse       g = (1 - u) * r0 / (r0 + e)               the 1/r law, tapered to 0 over the falloff
    natural       g = r0 / (r0 + e) * taper(u)              the 1/r law (-6 dB per doubling of r0 + e),
                  taper = 1 below u = 0.7, then 1 - smoothstep((u - 0.7) / 0.3) to silence at the edge

Air. ISO 9613-1 gives the air's attenuation alpha(f) in dB/m (20 C, 50 % RH, 101.325 kPa: 4.7
dB/km at 1 kHz, 30 at 4 kHz, 105 at 8 kHz). Over a path of L metres the air has taken 3 dB at
the frequency where alpha(f) * L * air_absorption = 3 dB; that frequency is the cutoff of a
low-pass standing for the air: about 8 kHz at 30 m, 4.4 kHz at 100 m (``air_cutoff_hz``).

Walls. The straight segment listener -> emitter is traced over the grid cells (an exact grid
traversal: every cell the segment passes through, in order); each separate run of solid cells on
it is one wall (a run holding an end of the segment does not count: an emitter on a roof sits on
it). n walls attenuate by n * wall_db and low-pass at wall_lowpass_hz / 2^(n-1).

Gates. Rooms meet at portals (gates and doors). The portal graph (nodes: portal centres; edges:
straight lines between portals of one room) gives the shortest path listener -> portals ->
emitter (all-pairs shortest paths, precomputed per level); its apparent direction is toward the
first portal on it, its gain the distance curve at its length times 10^(-portal_db * portals / 20).
``reach`` takes the louder of the direct (occluded) path and the portal path.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from memoire.world import bezier
from memoire.world.level import (Circle, Level, Polygon, SpatialSettings, SOLID_TILES, Zone)
from memoire.world.materials import Materials, load_materials
from memoire.world.rooms import PORTAL_TILES, label_grid

__all__ = ["Acoustics", "Portal", "Reach", "Room", "SpatialSettings", "air_absorption_db_per_m",
           "air_cutoff_hz", "distance_gain"]

# The walls' and rooms' height for reverberation: the brick walls are 3 m (memoire/render/meshes.py
# WALL_HEIGHT_M; world cannot import render, tests/test_acoustics.py checks the two agree).
wall_height_m = 3.0
# Sabine: T60 = 24 ln(10) / c * V / A = 0.161 s/m * V / A, c = 343 m/s (air at 20 C).
sabine_s_per_m = 24.0 * math.log(10.0) / 343.0
# RT60 quoted for a room: the mean of its 500 Hz and 1 kHz bands ("T_mid").
mid_bands_hz = (500.0, 1000.0)
# A low-pass at or above this is open (the Nyquist frequency at 48 kHz).
open_lowpass_hz = 24_000.0
lowest_lowpass_hz = 20.0
# The air's share of the sound taken at the air low-pass cutoff, dB (a filter's -3 dB point).
air_cutoff_db = 3.0
# ISO 9613-1's reference atmosphere for the air: 20 C, 50 % relative humidity, sea level.
air_temperature_c = 20.0
air_humidity_pct = 50.0
air_pressure_kpa = 101.325
# The 1/r curves' reference distance is at least this (a circle of radius 0 is a point source).
min_reference_m = 1.0
# "natural": the 1/r law holds to this fraction of the falloff, then fades smoothly to silence.
natural_taper_start = 0.7
# "logarithmic": the level falls evenly in dB to this at the falloff edge (then to silence).
logarithmic_floor_db = -60.0
# Tile kinds -> materials (assets/acoustics/materials.toml) where a room's surfaces meet them.
floor_material = {"garden": "grass"}  # every other walkable cell: paving
default_floor_material = "paving"
wall_material = {"wall": "brick", "house": "wood", "void": "open"}  # houses face courtyards in timber
opening_material = "open"  # a gate or door in a room's side, and the sky over it
# A listener right on an emitter: the sound is everywhere; its direction falls back to north.
_fallback_direction = (0.0, -1.0)


def air_absorption_db_per_m(f_hz: np.ndarray | float, *, temperature_c: float = air_temperature_c,
                            humidity_pct: float = air_humidity_pct, pressure_kpa: float = air_pressure_kpa
                            ) -> np.ndarray:
    """Pure-tone attenuation of air, dB per metre, at frequencies ``f_hz`` (ISO 9613-1:1993, eq. 5
    with the relaxation frequencies of eqs. 3 and 4 and the water vapour of Annex B)."""
    f = np.asarray(f_hz, dtype=np.float64)
    t = temperature_c + 273.15
    t0, t01, pr = 293.15, 273.16, 101.325
    pa = pressure_kpa / pr
    h = humidity_pct * 10.0 ** (-6.8346 * (t01 / t) ** 1.261 + 4.6151) / pa  # molar water vapour, %
    fr_o = pa * (24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    fr_n = pa * (t / t0) ** -0.5 * (9.0 + 280.0 * h * math.exp(-4.170 * ((t / t0) ** (-1.0 / 3.0) - 1.0)))
    return 8.686 * f * f * (1.84e-11 / pa * (t / t0) ** 0.5 + (t / t0) ** -2.5 * (
        0.01275 * math.exp(-2239.1 / t) / (fr_o + f * f / fr_o) + 0.1068 * math.exp(-3352.0 / t) / (fr_n + f * f / fr_n)))


_air_f_hz = np.geomspace(lowest_lowpass_hz, open_lowpass_hz, 256)
_air_log_f = np.log(_air_f_hz)
_air_log_alpha = np.log(air_absorption_db_per_m(_air_f_hz))  # increasing in f


def air_cutoff_hz(distance_m: float, factor: float = 1.0) -> float:
    """The air's low-pass cutoff over ``distance_m``: where ``factor`` x ISO air has taken 3 dB
    (``open_lowpass_hz`` when the air takes less than that anywhere below it)."""
    loss = distance_m * factor
    if loss <= 0.0:
        return open_lowpass_hz
    target = math.log(air_cutoff_db / loss)
    if target >= _air_log_alpha[-1]:
        return open_lowpass_hz
    return float(math.exp(np.interp(target, _air_log_alpha, _air_log_f)))


def distance_gain(curve: str, excess_m: np.ndarray | float, falloff_m: np.ndarray | float,
                  reference_m: np.ndarray | float) -> np.ndarray:
    """Gain 0..1 at ``excess_m`` beyond the inner region (module docstring: the four curves);
    ``falloff_m`` and ``reference_m`` broadcast against it."""
    e = np.maximum(np.asarray(excess_m, dtype=np.float64), 0.0)
    u = np.minimum(e / falloff_m, 1.0)
    r0 = np.maximum(reference_m, min_reference_m)
    if curve == "linear":
        return 1.0 - u
    if curve == "logarithmic":
        floor = 10.0 ** (logarithmic_floor_db / 20.0)
        return (10.0 ** (logarithmic_floor_db / 20.0 * u) - floor) / (1.0 - floor)
    if curve == "inverse":
        return (1.0 - u) * r0 / (r0 + e)
    if curve == "natural":
        s = np.minimum(np.maximum((u - natural_taper_start) / (1.0 - natural_taper_start), 0.0), 1.0)
        return np.where(u >= 1.0, 0.0, r0 / (r0 + e) * (1.0 - s * s * (3.0 - 2.0 * s)))
    raise ValueError(f"unknown distance curve {curve!r}")


@dataclass(frozen=True)
class Room:
    """One room found from the map. ``materials``: (surface, material, area m2) with surfaces
    "floor", "walls", "openings" (gates, doors, the map's edge) and "sky" (the open top);
    ``absorption``: the mean absorption coefficient over all of them at the mid bands, consistent
    with ``rt60_s`` by Sabine; ``rt60_bands_s`` per band of ``bands_hz``."""

    name: str
    cells: frozenset[tuple[int, int]]  # (row, col)
    area_m2: float
    size_m: tuple[float, float, float]  # bounding width (x), depth (y), height: metres
    rt60_s: float
    materials: tuple[tuple[str, str, float], ...]
    absorption: float
    rt60_bands_s: tuple[float, ...]
    bands_hz: tuple[float, ...]
    center_xy: tuple[float, float]  # the centroid of its cells
    designed: bool = False  # rt60_s set in the level ([[rooms]] rt60_s)


@dataclass(frozen=True)
class Portal:
    """A run of gate/door cells joining two rooms: its centre, its width across (metres)."""

    center_xy: tuple[float, float]
    width_m: float
    rooms: tuple[int, int]
    cells: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class Reach:
    """How one zone's sound reaches the listener now."""

    gain: float  # linear 0..1: distance curve x walls x portal path
    lowpass_hz: float  # air absorption and occlusion together (open_lowpass_hz = open)
    direction_xy: tuple[float, float]  # unit vector listener -> apparent source (the gate, via a portal)
    distance_m: float  # path length (through portals where it goes through them)
    walls: int  # walls crossed on the path used
    via_portal: bool
    room: int  # the source's room (a source on a solid cell: the nearest room; -1: the level has none)


_SILENT = Reach(0.0, lowest_lowpass_hz, _fallback_direction, math.inf, 0, False, -1)


@dataclass(frozen=True)
class _Source:
    """A zone's emitters, laid out once per level (immutable)."""

    mode: str  # "center" | "points" | "nearest" | "path"
    points: np.ndarray  # (k, 2) static emitters (empty for nearest / path)
    rooms: np.ndarray  # (k,) their rooms
    to_portal_m: np.ndarray  # (k, P) shortest length from each portal (as the path's first) to the emitter
    hops: np.ndarray  # (k, P) portals on that path
    inner_m: float  # circle: the inner disc's radius around each emitter; polygon: 0 (the polygon is inner)
    reference_m: float
    falloff_m: float
    shape: Circle | Polygon
    path: bezier.ArcLengthTable | None = None
    speed_mps: float = 0.0
    closed: bool = True
    path_xy: tuple[tuple[float, float], ...] = ()  # the path resampled every path_step_m (for lookups)


class Acoustics:
    """A level's rooms, portals and emitters, and how each zone's sound reaches a listener.
    Immutable after ``build``; ``reach`` may be called from any one thread (the synth's)."""

    def __init__(self) -> None:  # use Acoustics.build
        self.rooms: tuple[Room, ...] = ()
        self.portals: tuple[Portal, ...] = ()
        self.settings = SpatialSettings()
        self._last: tuple | None = None

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def build(cls, level: Level, materials: Materials | None = None) -> "Acoustics":
        self = cls()
        self.settings = level.spatial
        self._materials = materials or load_materials()
        tiles = level.tiles
        self._cell_m = tiles.cell_m
        kinds = tiles.kinds()
        self._shape = kinds.shape
        grid = label_grid(kinds, SOLID_TILES)
        solid = np.isin(kinds, list(SOLID_TILES))
        self._solid_padded = np.pad(solid, 1, constant_values=True)  # beyond the grid is solid
        self._room_of_cell = self._snap_rooms(grid.room, solid)
        self._room_list = self._room_of_cell.tolist()  # the same, for one-point lookups without numpy
        self.portals = self._find_portals(grid, kinds)
        self.rooms = self._find_rooms(grid, kinds, level)
        self._portal_xy = np.array([p.center_xy for p in self.portals], dtype=np.float64).reshape(-1, 2)
        self._portal_dist, self._portal_hops = self._portal_paths()
        n_rooms = len(self.rooms)
        self._room_portals = tuple(
            np.array([i for i, p in enumerate(self.portals) if r in p.rooms], dtype=np.int64) for r in range(n_rooms))
        self._sources = tuple(self._layout(z) for z in level.zones)
        self._zone_names = tuple(z.name for z in level.zones)
        self._static_block()
        self._last = None  # (listener x, y, t) -> its reach_all: the synth asks each zone in turn
        return self

    @staticmethod
    def _snap_rooms(room: np.ndarray, solid: np.ndarray) -> np.ndarray:
        """The room each cell counts as in: a room cell its own; a gate/door or solid cell the room
        reached first by a breadth-first walk from every room at once (the nearest, in cells)."""
        h, w = room.shape
        out = room.copy()
        queue = deque(zip(*np.nonzero(room >= 0)))
        while queue:
            r, c = queue.popleft()
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < h and 0 <= cc < w and out[rr, cc] < 0:
                    out[rr, cc] = out[r, c]
                    queue.append((rr, cc))
        out.setflags(write=False)
        return out

    def _find_portals(self, grid, kinds: np.ndarray) -> tuple[Portal, ...]:
        cell = self._cell_m
        out = []
        for i, rooms in enumerate(grid.portal_rooms):
            rows, cols = np.nonzero(grid.portal == i)
            cells = frozenset((int(r), int(c)) for r, c in zip(rows, cols))
            centre = (float((cols.mean() + 0.5) * cell), float((rows.mean() + 0.5) * cell))
            width = float((max(np.ptp(cols), np.ptp(rows)) + 1) * cell)
            for a in range(len(rooms)):
                for b in range(a + 1, len(rooms)):  # a gate touching three rooms joins each pair
                    out.append(Portal(centre, width, (rooms[a], rooms[b]), cells))
        return tuple(out)

    def _find_rooms(self, grid, kinds: np.ndarray, level: Level) -> tuple[Room, ...]:
        cell, h_m = self._cell_m, wall_height_m
        mats = self._materials
        specs = {}
        for spec in level.spatial.rooms:
            col, row = level.tiles.cell_of(*spec.at)
            specs[int(grid.room[row, col])] = spec
        designer_names = {s.name for s in specs.values() if s.name}
        names = self._auto_names(grid, kinds, designer_names)
        h, w = kinds.shape
        rooms = []
        for i in range(grid.room_count):
            rows, cols = np.nonzero(grid.room == i)
            spec = specs.get(i)
            override = dict(spec.materials) if spec else {}
            areas: dict[tuple[str, str], float] = {}

            def add(surface: str, material: str, area: float) -> None:
                areas[(surface, material)] = areas.get((surface, material), 0.0) + area

            for r, c in zip(rows, cols):
                add("floor", override.get("floor", floor_material.get(kinds[r, c], default_floor_material)), cell * cell)
                add("sky", opening_material, cell * cell)
                for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    rr, cc = r + dr, c + dc
                    kind = kinds[rr, cc] if 0 <= rr < h and 0 <= cc < w else "void"
                    if grid.room[rr, cc] == i if 0 <= rr < h and 0 <= cc < w else False:
                        continue
                    if kind in PORTAL_TILES or kind == "void" or kind not in SOLID_TILES:
                        add("openings", opening_material, cell * h_m)
                    else:
                        add("walls", override.get("walls", wall_material[kind]), cell * h_m)
            area = float(len(rows) * cell * cell)
            volume = area * h_m
            bands = np.asarray(mats.bands_hz)
            absorb = np.zeros(len(bands))
            for (_, material), s in areas.items():
                absorb += s * np.asarray(mats.coefficients(material))
            # Sabine with the air's own absorption 4 m V (m: energy attenuation per metre, 1/m)
            air_m = air_absorption_db_per_m(bands) / (10.0 * math.log10(math.e))
            t_bands = sabine_s_per_m * volume / (absorb + 4.0 * air_m * volume)
            t_mid = float(np.interp(np.log(mid_bands_hz), np.log(bands), t_bands).mean())
            designed = spec is not None and spec.rt60_s is not None
            if designed:
                t_bands = t_bands * (spec.rt60_s / t_mid)
                t_mid = float(spec.rt60_s)
            total = sum(areas.values())
            rooms.append(Room(
                name=(spec.name if spec and spec.name else names[i]),
                cells=frozenset((int(r), int(c)) for r, c in zip(rows, cols)),
                area_m2=area,
                size_m=(float((np.ptp(cols) + 1) * cell), float((np.ptp(rows) + 1) * cell), h_m),
                rt60_s=t_mid,
                materials=tuple((s, m, float(a)) for (s, m), a in sorted(areas.items())),
                absorption=float(min(1.0, sabine_s_per_m * volume / (t_mid * total))),
                rt60_bands_s=tuple(float(t) for t in t_bands),
                bands_hz=tuple(float(b) for b in bands),
                center_xy=(float((cols.mean() + 0.5) * cell), float((rows.mean() + 0.5) * cell)),
                designed=designed))
        return tuple(rooms)

    @staticmethod
    def _auto_names(grid, kinds: np.ndarray, taken: set[str]) -> list[str]:
        """Names by shape and ground: a long thin room is a lane, one mostly of garden cells a
        garden, the others courtyards numbered in scan order (north-west first); a name a
        designer gave another room is skipped."""
        names, counts = [], {}
        for i in range(grid.room_count):
            rows, cols = np.nonzero(grid.room == i)
            w, d = np.ptp(cols) + 1, np.ptp(rows) + 1
            garden = np.mean(kinds[rows, cols] == "garden")
            base = "lane" if max(w, d) >= lane_aspect * min(w, d) else "garden" if garden > 0.5 else "courtyard"
            while True:
                counts[base] = counts.get(base, 0) + 1
                n = counts[base]
                name = f"{base} {n}" if base == "courtyard" or n > 1 else base
                if name not in taken:
                    break
            names.append(name)
        return names

    def _portal_paths(self) -> tuple[np.ndarray, np.ndarray]:
        """All-pairs shortest paths over the portal graph (P, P) metres and portals on each (both
        ends counted); inf where unreachable. Floyd-Warshall: P is a few dozen at most."""
        p = len(self.portals)
        xy = self._portal_xy
        dist = np.full((p, p), np.inf)
        hops = np.zeros((p, p), dtype=np.int64)
        for a in range(p):
            for b in range(p):
                if a == b:
                    dist[a, b], hops[a, b] = 0.0, 1
                elif set(self.portals[a].rooms) & set(self.portals[b].rooms):
                    dist[a, b], hops[a, b] = float(np.hypot(*(xy[a] - xy[b]))), 2
        for k in range(p):
            via = dist[:, k:k + 1] + dist[k:k + 1, :]
            better = via < dist
            dist = np.where(better, via, dist)
            hops = np.where(better, hops[:, k:k + 1] + hops[k:k + 1, :] - 1, hops)
        return dist, hops

    def _to_portals(self, xy: np.ndarray, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For emitters ``xy`` (k, 2) in rooms (k,): the shortest length from each portal a (as the
        path's first, next to the listener) through the graph to the emitter, (k, P), and its
        portals (k, P); inf where none leads there."""
        k, p = len(xy), len(self.portals)
        length = np.full((k, p), np.inf)
        hops = np.zeros((k, p), dtype=np.int64)
        for j in range(k):
            if room[j] < 0 or p == 0:
                continue
            ends = self._room_portals[room[j]]
            if len(ends) == 0:
                continue
            last = np.hypot(*(self._portal_xy[ends] - xy[j]).T)  # (B,)
            total = self._portal_dist[:, ends] + last[None, :]  # (P, B)
            best = np.argmin(total, axis=1)
            length[j] = total[np.arange(p), best]
            hops[j] = self._portal_hops[np.arange(p), ends[best]]
        return length, hops

    def _layout(self, zone: Zone) -> _Source:
        shape = zone.shape
        if isinstance(shape, Circle):
            inner, reference, centre = shape.radius_m, shape.radius_m, shape.center
        else:
            pts = np.asarray(shape.points)
            x, y = pts[:, 0], pts[:, 1]
            cross = x * np.roll(y, -1) - np.roll(x, -1) * y
            area = 0.5 * cross.sum()
            centre = (float(((x + np.roll(x, -1)) * cross).sum() / (6 * area)),
                      float(((y + np.roll(y, -1)) * cross).sum() / (6 * area)))
            inner, reference = 0.0, math.sqrt(abs(area) / math.pi)
        common = dict(inner_m=inner, reference_m=reference, falloff_m=zone.falloff_m, shape=shape)
        if zone.emitter_path:
            ep = self.settings.path(zone.emitter_path)
            assert ep is not None  # the level reader checked the name
            none = np.zeros((0, 2))
            table = ep.path.table()
            n = max(2, int(math.ceil(table.length_m / path_step_m)) + 1)
            even = bezier.sample_at(table, np.linspace(0.0, table.length_m, n))[0]
            return _Source("path", none, np.zeros(0, np.int64), np.zeros((0, len(self.portals))),
                           np.zeros((0, len(self.portals)), np.int64), path=table,
                           speed_mps=zone.emitter_speed_mps, closed=ep.closed,
                           path_xy=tuple(map(tuple, even.tolist())), **common)
        if zone.emitter == "nearest":
            # per portal b, the emitter is the zone's point nearest b, when that point is in one
            # of b's rooms (not behind a wall); the path's length from portal a is stored per a
            k = len(self.portals)
            if k:
                near = self._nearest(shape, self._portal_xy)
                near_room = self._rooms_at(near)
                ok = np.array([near_room[b] in self.portals[b].rooms for b in range(k)])
                last = np.where(ok, np.hypot(*(near - self._portal_xy).T), np.inf)
                total = self._portal_dist + last[None, :]
                best = np.argmin(total, axis=1)
                length = total[np.arange(k), best][None]
                hops = self._portal_hops[np.arange(k), best][None]
            else:
                length, hops = np.zeros((1, 0)), np.zeros((1, 0), np.int64)
            return _Source("nearest", np.zeros((0, 2)), np.zeros(0, np.int64), length, hops, **common)
        pts = np.asarray(zone.emitters if zone.emitter == "points" else [centre], dtype=np.float64).reshape(-1, 2)
        rooms = self._rooms_at(pts)
        length, hops = self._to_portals(pts, rooms)
        return _Source(zone.emitter if zone.emitter == "points" else "center", pts, rooms, length, hops, **common)

    # -- queries --------------------------------------------------------------------------------
    def _rooms_at(self, xy: np.ndarray) -> np.ndarray:
        """Snapped rooms (k,) of points (k, 2): a point on a gate, door or solid cell counts as in
        the nearest room (-1 only when the level has no room)."""
        xy = np.atleast_2d(xy)
        h, w = self._shape
        col = np.clip(np.floor(xy[:, 0] / self._cell_m).astype(np.int64), 0, w - 1)
        row = np.clip(np.floor(xy[:, 1] / self._cell_m).astype(np.int64), 0, h - 1)
        return self._room_of_cell[row, col]

    def _room_of(self, x_m: float, y_m: float) -> int:
        """``_rooms_at`` of one point, without arrays."""
        h, w = self._shape
        col = min(max(math.floor(x_m / self._cell_m), 0), w - 1)
        row = min(max(math.floor(y_m / self._cell_m), 0), h - 1)
        return self._room_list[row][col]

    def room_at(self, x_m: float, y_m: float) -> int:
        """The room holding the point: -1 inside a wall or house (or off the map); on a gate or door
        cell, the room on the nearer side."""
        col, row = math.floor(x_m / self._cell_m), math.floor(y_m / self._cell_m)
        h, w = self._shape
        if not (0 <= row < h and 0 <= col < w) or self._solid_padded[row + 1, col + 1]:
            return -1
        return int(self._room_of_cell[row, col])

    @staticmethod
    def _nearest(shape: Circle | Polygon, xy: np.ndarray) -> np.ndarray:
        """The point of the shape's inner region nearest each point (k, 2) (the point itself inside)."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        if isinstance(shape, Circle):
            d = xy - np.asarray(shape.center)
            r = np.hypot(d[:, 0], d[:, 1])
            scale = np.where(r > shape.radius_m, shape.radius_m / np.maximum(r, 1e-12), 1.0)
            return np.asarray(shape.center) + d * scale[:, None]
        v = np.asarray(shape.points, dtype=np.float64)
        a, ab = v, np.roll(v, -1, axis=0) - v
        ap = xy[:, None, :] - a[None]
        t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
        cand = a[None] + t[..., None] * ab[None]  # (k, n, 2)
        best = np.argmin(np.hypot(*(cand - xy[:, None, :]).transpose(2, 0, 1)), axis=1)
        near = cand[np.arange(len(xy)), best]
        inside = shape.distance_outside(xy).reshape(-1) <= 0.0
        return np.where(inside[:, None], xy, near)

    def walls_between(self, a_xy: np.ndarray, b_xy: np.ndarray) -> np.ndarray:
        """Walls (k,) on the segments a -> b (each (k, 2)): separate runs of solid cells they pass
        through, not counting a run holding either end. Exact: the segment is cut at every grid
        line it crosses and each piece looked up (a piece of zero length, at a corner, is skipped)."""
        a = np.atleast_2d(np.asarray(a_xy, dtype=np.float64)) / self._cell_m
        b = np.atleast_2d(np.asarray(b_xy, dtype=np.float64)) / self._cell_m
        d = b - a
        h, w = self._shape
        with np.errstate(divide="ignore", invalid="ignore"):
            tx = (np.arange(w + 1)[None, :] - a[:, :1]) / d[:, :1]
            ty = (np.arange(h + 1)[None, :] - a[:, 1:]) / d[:, 1:]
        t = np.concatenate([np.zeros((len(a), 1)), tx, ty, np.ones((len(a), 1))], axis=1)
        t = np.where((t >= 0.0) & (t <= 1.0), t, 2.0)  # off the segment (and NaN): sorted past its end
        t.sort(axis=1)
        lo, hi = t[:, :-1], t[:, 1:]
        piece = (hi <= 1.0) & (hi - lo > 1e-12)
        mid = 0.5 * (lo + np.minimum(hi, 1.0))
        col = np.clip(np.floor(a[:, :1] + mid * d[:, :1]).astype(np.int64) + 1, 0, w + 1)
        row = np.clip(np.floor(a[:, 1:] + mid * d[:, 1:]).astype(np.int64) + 1, 0, h + 1)
        hit = self._solid_padded[row, col] & piece
        # zero-length pieces take the value of the piece before them (a corner does not split a run)
        idx = np.where(piece, np.arange(piece.shape[1])[None, :], 0)
        np.maximum.accumulate(idx, axis=1, out=idx)
        hit = np.take_along_axis(hit, idx, axis=1) & (np.cumsum(piece, axis=1) > 0)
        valid = np.take_along_axis(piece, idx, axis=1) & (np.cumsum(piece, axis=1) > 0)
        rising = hit[:, 1:] & ~hit[:, :-1] & valid[:, 1:]
        walls = rising.sum(axis=1)
        last = np.where(piece.any(axis=1), piece.shape[1] - 1 - np.argmax(piece[:, ::-1], axis=1), 0)
        last_hit = hit[np.arange(len(a)), last]
        opened = (~hit & valid).any(axis=1)
        return walls - (last_hit & opened).astype(np.int64)

    def emitters(self, zone_index: int, t_s: float) -> np.ndarray:
        """The zone's emitter positions now, (k, 2) metres (a moving one where it is at ``t_s``;
        for ``emitter = "nearest"``, which depends on the listener, the zone's centre)."""
        src = self._sources[zone_index]
        if src.mode == "path":
            return self._path_position(src, t_s)[None]
        if src.mode == "nearest":
            return self._nearest(src.shape, np.asarray([src.shape.center if isinstance(src.shape, Circle)
                                                         else src.shape.points[0]]))
        return src.points.copy()

    @staticmethod
    def _path_position(src: _Source, t_s: float) -> np.ndarray:
        """Where a moving emitter is at ``t_s``: ``speed_mps * t_s`` along its path from the start,
        round and round a closed one, back and forth along an open one."""
        length = src.path.length_m
        s = src.speed_mps * t_s
        s = s % length if src.closed else length - abs(s % (2.0 * length) - length)
        pts = src.path_xy
        f = s / length * (len(pts) - 1)
        i = min(int(f), len(pts) - 2)
        f -= i
        (x0, y0), (x1, y1) = pts[i], pts[i + 1]
        return np.array([x0 + f * (x1 - x0), y0 + f * (y1 - y0)])

    def reach(self, listener_xy: tuple[float, float], zone_index: int, t_s: float) -> Reach:
        """How zone ``zone_index``'s sound reaches a listener at ``listener_xy`` at time ``t_s``
        (seconds on the level's clock: where moving emitters are). Several emitters add by power
        (gain = sqrt(sum g^2), at most 1) and seem to come from their power-weighted mean
        direction; the loudest gives the low-pass, distance, walls and room. Every zone is worked
        out at once and kept for the next call with the same listener and time (the synth asks
        for each zone in turn each block)."""
        return self.reach_all(listener_xy, t_s)[zone_index]

    def reach_all(self, listener_xy: tuple[float, float], t_s: float) -> tuple[Reach, ...]:
        """``reach`` of every zone, in the level's order (one batched pass over all emitters)."""
        key = (float(listener_xy[0]), float(listener_xy[1]), float(t_s))
        last = self._last  # one read: another thread may replace it, never half of it
        if last is not None and last[0] == key:
            return last[1]
        result = self._evaluate(np.array(key[:2]), t_s)
        self._last = (key, result)
        return result

    def reach_point(self, listener_xy: tuple[float, float], source_xy: tuple[float, float], *,
                    inner_m: float = 0.0, falloff_m: float = 40.0) -> Reach:
        """``reach`` for one point source at ``source_xy``: a circle zone of radius ``inner_m`` and
        ``falloff_m`` there (for benchmarks and tests: a sound at a bearing)."""
        l = np.asarray(listener_xy, dtype=np.float64)
        pts = np.asarray(source_xy, dtype=np.float64).reshape(1, 2)
        rooms = self._rooms_at(pts)
        length, hops = self._to_portals(pts, rooms)
        excess = np.maximum(np.hypot(*(pts - l).T) - inner_m, 0.0)
        return self._trace(l, pts, excess, np.array([falloff_m]), np.array([max(inner_m, min_reference_m)]),
                           rooms, length, hops, np.zeros(1, bool), [(0, 1)])[0]

    def _static_block(self) -> None:
        """The emitters that do not move, of every zone, concatenated once (``_evaluate`` adds the
        moving and nearest ones each call)."""
        idx = [i for i, src in enumerate(self._sources) if src.mode in ("center", "points")]
        srcs = [self._sources[i] for i in idx]
        p = len(self.portals)
        cat = lambda parts, shape: np.concatenate(parts) if parts else np.zeros(shape)  # noqa: E731
        self._static_pts = cat([src.points for src in srcs], (0, 2))
        self._static_rooms = cat([src.rooms for src in srcs], (0,)).astype(np.int64)
        self._static_len = cat([src.to_portal_m for src in srcs], (0, p))
        self._static_hops = cat([src.hops for src in srcs], (0, p)).astype(np.int64)
        self._static_falloff = cat([np.full(len(src.points), src.falloff_m) for src in srcs], (0,))
        self._static_ref = cat([np.full(len(src.points), max(src.reference_m, min_reference_m)) for src in srcs], (0,))
        self._static_inner = cat([np.full(len(src.points), src.inner_m) for src in srcs], (0,))
        # polygon zones measure the excess from the polygon, not from each emitter
        self._static_poly = cat([np.full(len(src.points), isinstance(src.shape, Polygon)) for src in srcs],
                                (0,)).astype(bool)
        self._static_slices = {}
        self._static_polys = []  # (zone index, first, end) of the polygon zones in the block
        start = 0
        for i, src in zip(idx, srcs):
            self._static_slices[i] = (start, start + len(src.points))
            if isinstance(src.shape, Polygon):
                self._static_polys.append((i, start, start + len(src.points)))
            start += len(src.points)

    def _evaluate(self, l: np.ndarray, t_s: float) -> tuple[Reach, ...]:
        """Every zone's emitters now, traced to the listener at ``l`` (2,)."""
        x, y = float(l[0]), float(l[1])
        delta = self._static_pts - l
        excess = np.maximum(np.hypot(delta[:, 0], delta[:, 1]) - self._static_inner, 0.0)
        for i, a, b in self._static_polys:
            excess[a:b] = _polygon_nearest(self._sources[i].shape.points, x, y)[2]
        pts, exc, rooms, length, hops = [self._static_pts], [excess], [self._static_rooms], [self._static_len], \
            [self._static_hops]
        falloff, reference, nearest = [self._static_falloff], [self._static_ref], [np.zeros(len(excess), bool)]
        slices = [self._static_slices.get(i, (0, 0)) for i in range(len(self._sources))]
        start = len(excess)
        for i, src in enumerate(self._sources):
            if src.mode == "nearest":
                if isinstance(src.shape, Circle):
                    nx, ny, e = _circle_nearest(src.shape, x, y)
                else:
                    nx, ny, e = _polygon_nearest(src.shape.points, x, y)
                p = np.array([[nx, ny]])
                r, ln, hp = np.array([self._room_of(nx, ny)]), src.to_portal_m, src.hops
                e_arr = np.array([e])
            elif src.mode == "path":
                p = self._path_position(src, t_s)[None]
                r = np.array([self._room_of(float(p[0, 0]), float(p[0, 1]))])
                ln, hp = self._to_portals(p, r)
                if isinstance(src.shape, Circle):
                    e_arr = np.array([max(math.hypot(p[0, 0] - x, p[0, 1] - y) - src.inner_m, 0.0)])
                else:
                    e_arr = np.array([_polygon_nearest(src.shape.points, x, y)[2]])
            else:
                continue
            pts.append(p)
            exc.append(e_arr)
            rooms.append(r)
            length.append(ln)
            hops.append(hp)
            falloff.append(np.array([src.falloff_m]))
            reference.append(np.array([max(src.reference_m, min_reference_m)]))
            nearest.append(np.array([src.mode == "nearest"]))
            slices[i] = (start, start + 1)
            start += 1
        if start == 0:
            return tuple(_SILENT for _ in self._sources)
        cat = np.concatenate
        return self._trace(l, cat(pts), cat(exc), cat(falloff), cat(reference), cat(rooms),
                           cat(length), cat(hops), cat(nearest), slices)

    def _trace(self, l: np.ndarray, pts: np.ndarray, excess: np.ndarray, falloff: np.ndarray,
               reference: np.ndarray, rooms: np.ndarray, to_portal: np.ndarray, hops: np.ndarray,
               nearest: np.ndarray, slices: list[tuple[int, int]]) -> tuple[Reach, ...]:
        """Emitters (k, 2) with their excess distances, falloffs, references, rooms and portal
        paths (k, P) -> one Reach per slice of them (a zone's emitters)."""
        s = self.settings
        k = len(pts)
        delta = pts - l
        direct_m = np.hypot(delta[:, 0], delta[:, 1])
        walls = self.walls_between(np.broadcast_to(l, pts.shape), pts)
        gain = distance_gain(s.distance_curve, excess, falloff, reference) * 10.0 ** (-s.wall_db * walls / 20.0)
        portal = np.full(k, -1)
        path_m = direct_m
        mine = self._room_portals[self._room_of(float(l[0]), float(l[1]))] if self.rooms else np.zeros(0, np.int64)
        if len(mine) and len(to_portal.shape) == 2 and to_portal.shape[1] and (walls > 0).any():
            first = np.hypot(*(self._portal_xy[mine] - l).T)  # (A,) listener -> each portal of its room
            total = first[None, :] + to_portal[:, mine]  # (k, A)
            best = np.argmin(total, axis=1)
            via_m = total[np.arange(k), best]
            n = hops[:, mine][np.arange(k), best]
            with np.errstate(invalid="ignore"):
                via_excess = np.where(nearest, via_m, excess + np.maximum(via_m - direct_m, 0.0))
                via_gain = (distance_gain(s.distance_curve, np.where(np.isfinite(via_m), via_excess, np.inf), falloff,
                                          reference) * 10.0 ** (-s.portal_db * n / 20.0))
            via_gain = np.where(np.isfinite(via_m) & (walls > 0), via_gain, 0.0)
            better = via_gain > gain
            gain = np.where(better, via_gain, gain)
            portal = np.where(better, mine[best], -1)
            path_m = np.where(better, via_m, direct_m)
            walls = np.where(better, 0, walls)
        aim = np.where((portal >= 0)[:, None], self._portal_xy[np.maximum(portal, 0)] - l if len(self.portals)
                       else delta, delta)
        norm = np.hypot(aim[:, 0], aim[:, 1])
        unit = np.where(norm[:, None] > 1e-9, aim / np.maximum(norm, 1e-9)[:, None], np.asarray(_fallback_direction))
        # air: the 3 dB point of alpha(f) * path; walls: wall_lowpass_hz, an octave lower per further wall
        with np.errstate(divide="ignore"):
            target = np.log(air_cutoff_db / np.maximum(path_m * s.air_absorption, 1e-12))
        air = np.where(target >= _air_log_alpha[-1], open_lowpass_hz,
                       np.exp(np.interp(target, _air_log_alpha, _air_log_f)))
        wall_lp = np.where(walls > 0, s.wall_lowpass_hz / 2.0 ** np.maximum(walls - 1, 0), open_lowpass_hz)
        lowpass = np.minimum(air, wall_lp)
        g, pm, w, po, lp, rm = (a.tolist() for a in (gain, path_m, walls, portal, lowpass, rooms))
        ux, uy = unit[:, 0].tolist(), unit[:, 1].tolist()
        out = []
        for a, b in slices:
            if a == b:
                out.append(_SILENT)
                continue
            loud = max(range(a, b), key=g.__getitem__)
            if g[loud] <= 0.0:
                out.append(Reach(0.0, lowest_lowpass_hz, (ux[a], uy[a]), pm[a], w[a], False, rm[a]))
                continue
            power = sum(g[j] * g[j] for j in range(a, b))
            direction = (ux[loud], uy[loud])
            if b - a > 1:
                mx = sum(g[j] * g[j] * ux[j] for j in range(a, b))
                my = sum(g[j] * g[j] * uy[j] for j in range(a, b))
                n = math.hypot(mx, my)
                if n > 1e-9 * power:
                    direction = (mx / n, my / n)
            out.append(Reach(gain=min(1.0, math.sqrt(power)), lowpass_hz=lp[loud], direction_xy=direction,
                             distance_m=pm[loud], walls=int(w[loud]), via_portal=po[loud] >= 0, room=int(rm[loud])))
        return tuple(out)


def _circle_nearest(c: Circle, x: float, y: float) -> tuple[float, float, float]:
    """(nearest x, y of the disc, distance to it) from (x, y): the point itself inside."""
    dx, dy = x - c.center[0], y - c.center[1]
    r = math.hypot(dx, dy)
    if r <= c.radius_m:
        return x, y, 0.0
    k = c.radius_m / r
    return c.center[0] + dx * k, c.center[1] + dy * k, r - c.radius_m


def _polygon_nearest(points: tuple[tuple[float, float], ...], x: float, y: float) -> tuple[float, float, float]:
    """(nearest x, y of the polygon's inside, distance to it) from (x, y): the point itself
    inside (even-odd rule, as Polygon.distance_outside). Plain Python: a zone has a few corners."""
    best, bx, by = math.inf, x, y
    inside = False
    n = len(points)
    for i in range(n):
        ax, ay = points[i]
        cx, cy = points[(i + 1) % n]
        ex, ey = cx - ax, cy - ay
        L2 = ex * ex + ey * ey
        t = 0.0 if L2 <= 1e-24 else min(1.0, max(0.0, ((x - ax) * ex + (y - ay) * ey) / L2))
        px, py = ax + t * ex, ay + t * ey
        d = math.hypot(x - px, y - py)
        if d < best:
            best, bx, by = d, px, py
        if (ay > y) != (cy > y) and x < ex * (y - ay) / (cy - ay) + ax:
            inside = not inside
    return (x, y, 0.0) if inside else (bx, by, best)


def _unit(v: np.ndarray) -> tuple[float, float]:
    """``v`` normalised; a zero vector (the listener on the emitter) gives north."""
    n = math.hypot(float(v[0]), float(v[1]))
    return (float(v[0] / n), float(v[1] / n)) if n > 1e-9 else _fallback_direction


# Moving emitters are looked up on their path resampled this finely (metres): far below what
# an ear can place, and a lookup without a search.
path_step_m = 0.05
# A room at least this many times longer than wide is a lane (the default lane: 46 x 3 cells; the tea courtyard, 21 x 4, is not one).
lane_aspect = 8.0
