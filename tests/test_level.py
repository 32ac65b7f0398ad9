"""Level files: the default level loads; every validation rule reports file, line, field and a fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memoire.world.level import LevelError, load_level, parse_level

GOOD = '''[level]
name = "Test yard"
cell_m = 2.0

[map]
grid = """
######
#....#
#.T..#
#....#
######
"""

[spawn]
at = [3.0, 3.0]
facing_deg = 90

[sound]
rest = "courtyard"

[[zones]]
name = "birds"
shape = "circle"
center = [5.0, 5.0]
radius_m = 1.0
falloff_m = 2.0
anchor = "birds"

[[tours]]
name = "loop"
points = [[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]
'''


def problems(text: str) -> list[str]:
    with pytest.raises(LevelError) as e:
        parse_level(text, Path("levels/test.toml"))
    return [str(p) for p in e.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_level_loads(default_level_path):
    level = load_level(default_level_path)
    assert len(level.zones) >= 8
    kinds = level.tiles.kinds()
    assert (kinds == "gate").sum() >= 8  # gates into three courtyards and the south side
    assert (kinds == "garden").sum() > 50
    names = {z.anchor.class_name for z in level.zones}
    assert {"pigeons", "bells", "vendors", "birds", "insects", "wind", "rain", "chatter"} <= names
    tour = level.tour("gallery")
    from memoire.world.tour import plan_tour

    plan = plan_tour(level, tour)
    assert 100 <= plan.duration_s <= 150  # "about two minutes"


def test_default_tour_visits_every_zone_and_stays_walkable(default_level_path):
    level = load_level(default_level_path)
    table = level.tour("gallery").path.table()
    pts = table.points
    walk = [level.tiles.is_walkable(x, y) for x, y in pts]
    assert all(walk), f"tour crosses a solid cell at {pts[np.argmin(walk)]}"
    for zone in level.zones:
        assert zone.shape.distance_outside(pts).min() <= zone.falloff_m / 2, zone.name


def test_good_file_parses():
    level = parse_level(GOOD, Path("t.toml"))
    assert level.tiles.size_m == (12.0, 10.0)
    assert level.spawn_facing_deg == 90
    assert [p.kind for p in level.all_props()] == ["tree"]


@pytest.mark.parametrize("old,new,needle,expected", [
    ("falloff_m = 2.0", "falloff_m = -3", "falloff_m = -3", "zone 'birds': falloff_m must be > 0 m, got -3"),
    ("radius_m = 1.0", "radius_m = -1", "radius_m = -1", "radius_m must be >= 0 m, got -1"),
    ("falloff_m = 2.0", "falloff_m = 2.0\ncurve = \"smoth\"", "curve = ", "curve must be one of linear, smooth, exponential; got 'smoth' (did you mean 'smooth'?)"),
    ("falloff_m = 2.0", "falloff_m = 2.0\nfalof = 1", "falof", "unknown field 'falof' (did you mean 'falloff_m'?)"),
    ("falloff_m = 2.0", "falloff_m = 2.0\npriority = 0", "priority = 0", "priority must be > 0, got 0"),
    ("falloff_m = 2.0", "falloff_m = 2.0\nfade_s = \"slow\"", "fade_s", "fade_s must be a number in s, got 'slow'"),
    ('anchor = "birds"', "anchor = true", "anchor = true", "anchor must be a class name"),
    ('center = [5.0, 5.0]', 'center = [5.0]', "center = [5.0]", "center must be a point [x, y] in metres, got [5.0]"),
    ("at = [3.0, 3.0]", "at = [1.0, 1.0]", "at = [1.0, 1.0]", "[spawn]: at [1.0, 1.0] is inside a solid tile ('wall'"),
    ("[9.0, 3.0]]", "[9.0, 3.0], [9.0, 4.0]]", "points = [[3.0, 3.0]", "a cubic Bezier path has 3n+1 control points"),
    ("speed_mps", "speed_mps", "", ""),  # placeholder replaced below
])
def test_each_rule_reports_line_field_and_fix(old, new, needle, expected):
    if old == "speed_mps":
        text = GOOD + "speed_mps = 0\n"
        needle, expected = "speed_mps = 0", "tour 'loop': speed_mps must be > 0 m/s, got 0"
    else:
        assert old in GOOD
        text = GOOD.replace(old, new, 1)
    found = problems(text)
    assert any(expected in p for p in found), found
    hit = next(p for p in found if expected in p)
    assert hit.startswith(f"levels/test.toml:{line_of(text, needle)}:"), hit


def test_polygon_zone_rules():
    text = GOOD.replace('shape = "circle"\ncenter = [5.0, 5.0]\nradius_m = 1.0',
                        'shape = "polygon"\npoints = [[1.0, 1.0], [2.0, 2.0]]')
    assert any("points needs at least 3 points, got 2" in p for p in problems(text))
    text = GOOD.replace('shape = "circle"\ncenter = [5.0, 5.0]\nradius_m = 1.0',
                        'shape = "polygon"\npoints = [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]')
    assert any("polygon has no area" in p for p in problems(text))


def test_grid_unknown_character_points_at_its_row():
    text = GOOD.replace("#.T..#", "#.T.?#")
    found = problems(text)
    assert any("unknown character '?'" in p and f"test.toml:{line_of(text, '#.T.?#')}:" in p for p in found), found


def test_every_problem_reported_at_once():
    text = GOOD.replace("falloff_m = 2.0", "falloff_m = 0").replace("cell_m = 2.0", "cell_m = -1") \
        .replace('name = "birds"', 'name = "birds"\ncolour = "red"')
    found = problems(text)
    assert len(found) >= 3
    assert any("cell_m" in p for p in found) and any("falloff_m" in p for p in found)
    assert any("colour" in p for p in found)


def test_duplicate_zone_names_and_zone_outside_map():
    extra = '\n[[zones]]\nname = "birds"\ncenter = [500.0, 5.0]\nradius_m = 1.0\nfalloff_m = 1.0\nanchor = "wind"\n'
    found = problems(GOOD + extra)
    assert any("same name" in p for p in found)
    assert any("outside the map" in p for p in found)


def test_toml_syntax_error_names_the_line():
    text = GOOD.replace("radius_m = 1.0", "radius_m = = 1.0")
    found = problems(text)
    assert len(found) == 1 and "not valid TOML" in found[0]
    assert found[0].startswith(f"levels/test.toml:{line_of(text, 'radius_m = = 1.0')}:")


def test_missing_tables():
    found = problems('[level]\nname = "x"\n')
    assert any("missing table [map]" in p for p in found)
    assert any("missing table [spawn]" in p for p in found)


def test_memoire_check_exit_codes_and_no_traceback(tmp_path, default_level_path, root, tiny_model_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("falloff_m = 2.0", "falloff_m = -3"))
    run = lambda *a: subprocess.run([sys.executable, "-m", "memoire", "check", *a], cwd=root,
                                    capture_output=True, text=True, timeout=120)
    ok = run(str(default_level_path), "--model", str(tiny_model_path))
    assert ok.returncode == 0, ok.stderr
    assert "ok" in ok.stdout
    no_model = run(str(default_level_path), "--model", str(tmp_path / "absent.ts"))  # a missing model is a problem
    assert no_model.returncode == 1 and "absent.ts not found" in no_model.stderr, no_model.stderr
    r = run(str(bad))
    assert r.returncode == 1
    assert "falloff_m must be > 0 m, got -3" in r.stderr
    assert "Traceback" not in r.stderr
    missing = run(str(tmp_path / "nope.toml"))
    assert missing.returncode == 1 and "no such level file" in missing.stderr


def test_check_against_model_names_unknown_class(tmp_path, tiny_model_path, root):
    lvl = tmp_path / "l.toml"
    lvl.write_text(GOOD.replace('anchor = "birds"', 'anchor = "dragons"'))
    r = subprocess.run([sys.executable, "-m", "memoire", "check", str(lvl), "--model", str(tiny_model_path)],
                       cwd=root, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "no sound class 'dragons'" in r.stderr and "pigeons" in r.stderr


def test_tour_into_a_solid_cell_or_a_tree_is_reported():
    into_wall = GOOD.replace("[[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]", "[[3.0, 3.0], [3.0, 1.0], [3.0, 0.5], [3.0, 0.2]]")
    assert any("passes through a solid cell ('wall'" in p for p in problems(into_wall))
    into_tree = GOOD.replace("[[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]", "[[3.0, 5.0], [5.0, 5.0], [7.0, 5.0], [9.0, 5.0]]")
    assert any("runs into a tree at [5.00, 5.00]" in p for p in problems(into_tree))
