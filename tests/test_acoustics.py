"""Sound with a place (issue 11, the world side): rooms and portals found from the map, emitters,
distance curves, air, walls and gates (memoire/world/acoustics.py; docs/levels.md, Spatial sound)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from memoire.world.acoustics import Acoustics, air_absorption_db_per_m, air_cutoff_hz, distance_gain, wall_height_m
from memoire.world.level import DISTANCE_CURVES, LevelError, load_level, parse_level
from memoire.world.paths import DEFAULT_LEVEL


@pytest.fixture(scope="module")
def hutong():
    level = load_level(DEFAULT_LEVEL)
    return level, Acoustics.build(level)


def zone_index(level, name: str) -> int:
    return [z.name for z in level.zones].index(name)


def test_default_level_rooms_and_names(hutong):
    level, ac = hutong
    names = [r.name for r in ac.rooms]
    assert sorted(names) == sorted(["lane", "grinder courtyard", "pigeon courtyard", "rain courtyard", "garden",
                                    "tea courtyard"])
    where = {"lane": (20.0, 18.75), "grinder courtyard": (12.0, 9.5), "pigeon courtyard": (35.25, 9.75),
             "rain courtyard": (59.0, 9.0), "garden": (10.0, 27.0), "tea courtyard": (50.0, 25.5)}
    for name, (x, y) in where.items():
        assert ac.rooms[ac.room_at(x, y)].name == name
    assert ac.room_at(30.0, 15.75) == -1  # the lane's north wall
    lane = ac.rooms[names.index("lane")]
    assert lane.size_m == (69.0, 4.5, wall_height_m) and lane.area_m2 == pytest.approx(46 * 3 * 1.5 ** 2)
    for room in ac.rooms:  # each set by its place's kind (levels/hutong.toml [[rooms]])
        assert room.designed and 0.2 < room.rt60_s < 1.5 and 0.0 < room.absorption <= 1.0
    garden = ac.rooms[names.index("garden")]
    assert garden.rt60_s < min(r.rt60_s for r in ac.rooms if r.name != "garden")  # grass absorbs
    assert lane.rt60_s > max(r.rt60_s for r in ac.rooms if r.name != "lane")  # the brick canyon rings
    assert ("floor", "grass") in {(s, m) for s, m, _ in garden.materials}


def test_rooms_without_names_are_found_by_shape(hutong):
    level, _ = hutong
    text = re.sub(r'\[\[rooms\]\]\nat = \[[^\]]*\]\nname = "[^"]*"\n(rt60_s = [^\n]*\n)?', "", level.source_text)
    assert "[[rooms]]" not in text
    ac = Acoustics.build(parse_level(text, DEFAULT_LEVEL))
    assert [r.name for r in ac.rooms] == ["courtyard 1", "courtyard 2", "courtyard 3", "lane", "garden", "courtyard 4"]


def test_a_portal_per_gate(hutong):
    level, ac = hutong
    assert len(ac.portals) == 5  # three gates north of the lane, two south
    name = lambda i: ac.rooms[i].name  # noqa: E731
    joined = {tuple(sorted(map(name, p.rooms))) for p in ac.portals}
    assert ("lane", "pigeon courtyard") in joined and ("garden", "lane") in joined
    middle = next(p for p in ac.portals if "pigeon courtyard" in map(name, p.rooms))
    assert middle.center_xy == (36.0, 15.75) and middle.width_m == 3.0


def test_walls_on_known_segments(hutong):
    _, ac = hutong
    segments = {
        ((30.0, 18.75), (30.0, 9.75)): 1,  # lane -> pigeon courtyard through the wall
        ((36.0, 18.75), (36.0, 9.75)): 0,  # ... through the gate
        ((5.0, 18.0), (60.0, 19.0)): 0,  # along the lane
        ((35.25, 9.75), (45.0, 25.5)): 2,  # courtyard -> lane -> tea courtyard
        ((12.0, 9.5), (59.0, 9.0)): 2,  # across two courtyard walls and their houses
        ((36.0, 18.75), (36.0, 2.0)): 0,  # ends on the roof of the north hall: the roof is not a wall
    }
    a = np.array([k[0] for k in segments])
    b = np.array([k[1] for k in segments])
    assert ac.walls_between(a, b).tolist() == list(segments.values())


@pytest.mark.parametrize("curve", DISTANCE_CURVES)
def test_distance_curves(curve):
    falloff, r0 = 10.0, 2.0
    e = np.linspace(0.0, falloff, 201)
    g = distance_gain(curve, e, falloff, r0)
    assert g[0] == pytest.approx(1.0) and g[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(g) < 0)  # strictly quieter with distance
    mid = float(distance_gain(curve, 5.0, falloff, r0))
    expected = {"linear": 0.5, "logarithmic": (10 ** -1.5 - 1e-3) / (1 - 1e-3), "inverse": 0.5 * 2 / 7,
                "natural": 2 / 7}[curve]  # the documented formulas at the falloff's middle
    assert mid == pytest.approx(expected)
    assert float(distance_gain(curve, 30.0, falloff, r0)) == 0.0


def test_air_absorption_iso_9613_and_cutoff():
    # ISO 9613-1 Table 1 at 20 C, 50 %: 4.66 dB/km at 1 kHz, 29.7 at 4 kHz, 105 at 8 kHz
    assert air_absorption_db_per_m([1000, 4000, 8000]) * 1000 == pytest.approx([4.66, 29.7, 105.3], rel=0.01)
    cut = [air_cutoff_hz(d) for d in (1.0, 10.0, 30.0, 100.0, 300.0)]
    assert all(a >= b for a, b in zip(cut, cut[1:]))
    assert 7000 < cut[2] < 9000 and 4000 < cut[3] < 5000  # 3 dB of air at 30 m and 100 m
    assert air_cutoff_hz(30.0, factor=0.0) >= 20_000


def test_wall_is_quieter_and_darker_and_the_gate_is_louder(hutong):
    _, ac = hutong
    seen = ac.reach_point((36.0, 18.75), (36.0, 9.75), inner_m=1.0, falloff_m=30.0)  # through the gate
    wall = ac.reach_point((30.0, 18.75), (30.0, 9.75), inner_m=1.0, falloff_m=30.0)
    assert seen.walls == 0 and not seen.via_portal
    assert 20 * math.log10(seen.gain / wall.gain) >= 6.0 and wall.lowpass_hz < seen.lowpass_hz
    # far along the lane the flock is heard round the corner, through the gate
    around = ac.reach_point((30.0, 18.75), (36.0, 9.75), inner_m=1.0, falloff_m=30.0)
    assert around.via_portal and around.walls == 0
    assert around.direction_xy == pytest.approx(np.array([6.0, -3.0]) / math.hypot(6, 3))


def test_walking_past_the_pigeon_gate(hutong):
    """The flock swells from the gate's side as you pass it along the lane, and falls away."""
    level, ac = hutong
    i = zone_index(level, "pigeons")
    gate = np.array([36.0, 15.75])
    xs = np.arange(18.0, 56.0, 1.0)
    loop_s = [t * 0.5 for t in range(12)]  # the flock goes round its courtyard in about 4 s
    gains = []
    for x in xs:
        reach = [ac.reach((float(x), 18.75), i, t) for t in loop_s]
        gains.append(np.mean([r.gain for r in reach]))
        for r in reach:
            if r.via_portal:  # heard round the corner: from the gate
                to_gate = (gate - (x, 18.75)) / np.linalg.norm(gate - (x, 18.75))
                assert np.dot(r.direction_xy, to_gate) > math.cos(math.radians(2))
            if r.gain > 0:
                assert r.direction_xy[1] < 0  # from the north side of the lane
    gains = np.array(gains)
    peak = xs[np.argmax(gains)]
    assert abs(peak - gate[0]) <= 1.5
    assert gains.max() > 3 * gains[np.abs(xs - gate[0]) >= 8].max()  # falls away both sides
    assert max(gains[xs <= 20].max(), gains[xs >= 52].max()) < 0.05 * gains.max()  # 16 m off: under -26 dB
    east = gains[xs >= peak]
    west = gains[xs <= peak]
    assert np.all(np.diff(east) <= 1e-9) and np.all(np.diff(west) >= -1e-9)
    # with the flock due north of its centre (behind the north hall) it is heard through the gate
    ts = np.linspace(0.0, 5.0, 501)
    t_north = ts[np.argmin([math.dist(ac.emitters(i, t)[0], (35.25, 5.25)) for t in ts])]
    via = [ac.reach((float(x), 18.75), i, float(t_north)).via_portal for x in (34.0, 38.0)]
    assert all(via)


def test_emitters_where_the_sounds_live(hutong):
    level, ac = hutong
    flock = ac.emitters(zone_index(level, "pigeons"), 0.0)
    assert flock.tolist() == [[38.69, 6.85]]  # the loop's start: where the drawn flock's middle starts
    path = level.spatial.path("flock")
    lap_s = path.path.table().length_m / 6.9
    for t in (0.3, 1.1, 2.9):
        p = ac.emitters(zone_index(level, "pigeons"), t)[0]
        assert math.dist(p, (35.25, 9.75)) == pytest.approx(4.5, abs=0.15)  # on its circle (a smoothed 24-gon)
        assert ac.emitters(zone_index(level, "pigeons"), t + lap_s)[0] == pytest.approx(p, abs=1e-6)
    bike = zone_index(level, "bells")
    length = level.spatial.path("bicycle").path.table().length_m
    there = ac.emitters(bike, length / 3.5)[0]
    assert there == pytest.approx((11.5, 19.5), abs=0.01)  # the end, then back
    assert ac.emitters(bike, 2 * length / 3.5)[0] == pytest.approx((3.0, 18.0), abs=0.01)
    birds = ac.emitters(zone_index(level, "birds"), 0.0)
    assert len(birds) == 3
    assert level.spatial.output == "binaural"


def test_levels_without_spatial_fields_get_defaults():
    text = '''[map]
grid = """
#####
#...#
#####
"""
[spawn]
at = [2.0, 1.5]
[[zones]]
name = "a"
center = [2.5, 1.5]
radius_m = 0.5
falloff_m = 2.0
anchor = "birds"
'''
    level = parse_level(text, Path("levels/plain.toml"))
    s = level.spatial
    assert (s.output, s.voices, s.distance_curve, s.wall_db, s.air_absorption) == ("stereo", 8, "natural", 12.0, 1.0)
    ac = Acoustics.build(level)
    assert [r.name for r in ac.rooms] == ["courtyard 1"] and ac.portals == ()
    r = ac.reach((1.5, 1.5), 0, 0.0)
    assert r.gain == pytest.approx(float(distance_gain("natural", 0.5, 2.0, 1.0))) and r.walls == 0


BAD = [
    ("output = \"binaural\"", "output = \"7.1\"", 'output must be one of binaural, stereo, quad, 5.1, ring8'),
    ("voices = 8 ", "voices = 0 ", "voices must be >= 1"),
    ("emitters = [[48.5, 17.6]]", "emitters = [[40.0, 17.6]]", "emitter [40, 17.6] is outside the zone"),
    ("emitter_path = \"bicycle\"", "emitter_path = \"unicycle\"", "emitter_path 'unicycle' is not an [[emitter_paths]]"),
    ("at = [59.0, 9.0]", "at = [57.0, 15.0]", "is on a 'wall' cell (column 38, row 10), in no room"),
    ("at = [59.0, 9.0]", "at = [60.0, 15.75]", "a gate or door joins two rooms"),
    ("rt60_s = 0.7 ", "rt60_s = 9.0 ", "rt60_s must be <= 5 s, got 9"),
    ("at = [59.0, 9.0]", "at = [59.0, 9.0]\nmaterials = { floor = \"lava\" }", "floor = 'lava' is not a material"),
    ("name = \"rain courtyard\"", "name = \"lane\"", "another [[rooms]] table has the same name"),
    ("at = [59.0, 9.0]", "at = [12.5, 9.0]", "in the same room as the [[rooms]] table at line"),
    ("emitter = \"nearest\"     # wind", "emitter_speed_mps = 2.0 # wind", "emitter_speed_mps goes with emitter_path"),
]


@pytest.mark.parametrize("old,new,message", BAD)
def test_validation_with_file_and_line(hutong, old, new, message):
    level, _ = hutong
    text = level.source_text
    assert old in text
    bad = text.replace(old, new, 1)
    line = text[:text.index(old)].count("\n") + 1
    with pytest.raises(LevelError) as e:
        parse_level(bad, DEFAULT_LEVEL)
    found = [str(p) for p in e.value.problems if message in str(p)]
    assert found, [str(p) for p in e.value.problems]
    assert any(f.startswith(f"{DEFAULT_LEVEL}:{line}:") or f.startswith(f"{DEFAULT_LEVEL}:{line + 1}:")
               for f in found), found


def test_designer_rt60_wins(hutong):
    level, _ = hutong
    text = level.source_text.replace('name = "rain courtyard"\nrt60_s = 0.7 ', 'name = "rain courtyard"\nrt60_s = 1.2 ')
    assert text != level.source_text
    ac = Acoustics.build(parse_level(text, DEFAULT_LEVEL))
    room = next(r for r in ac.rooms if r.name == "rain courtyard")
    assert room.rt60_s == 1.2 and room.designed
    assert np.interp(np.log([500, 1000]), np.log(room.bands_hz), room.rt60_bands_s).mean() == pytest.approx(1.2)


def test_wall_height_is_the_renderers():
    from memoire.render.meshes import WALL_HEIGHT_M
    assert wall_height_m == WALL_HEIGHT_M


def test_the_pigeons_are_heard_where_their_flock_is_drawn():
    """The default level's pigeons' moving emitter and the drawn flock fly the same circle together."""
    from memoire.world.acoustics import Acoustics
    from memoire.world.level import load_level
    from memoire.world.paths import DEFAULT_LEVEL
    from memoire.world.props import flock_positions

    level = load_level(DEFAULT_LEVEL)
    ac = Acoustics.build(level)
    zone = [z.name for z in level.zones].index("pigeons")
    flock = next(p for p in level.props if p.kind == "flock")
    for t in (0.0, 2.0, 5.0, 11.0, 30.0, 60.0):
        heard = ac.emitters(zone, t)[0]
        seen = flock_positions(flock, t)[:, :2].mean(axis=0)
        assert np.hypot(*(heard - seen)) < 2.0, (t, heard, seen)
