"""Nothing a user hands Memoire breaks it: broken level files (and kiosk configs), and the files
they name, each get one message with file, line and field, what is wrong and what to do; limits
are refused before anything is allocated; paths stay in the level's folder; `memoire check`
reports every problem of a file in one pass. docs/levels.md, Limits / Paths."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from memoire.world import level as L
from memoire.world.errors import UserError
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


def problems(text: str, path: Path = Path("levels/test.toml"), **kw) -> list[str]:
    with pytest.raises(LevelError) as e:
        parse_level(text, path, **kw)
    return [str(p) for p in e.value.problems]


def one(text: str, needle: str, **kw) -> str:
    found = problems(text, **kw)
    hits = [p for p in found if needle in p]
    assert hits, found
    return hits[0]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def check(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "memoire", "check", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def grid_text(cols: int, rows: int) -> str:
    body = ["#" * cols] + ["#" + "." * (cols - 2) + "#" for _ in range(rows - 2)] + ["#" * cols]
    return GOOD.replace('######\n#....#\n#.T..#\n#....#\n######', "\n".join(body))


# ---------------------------------------------------------------------------------------------
# The file itself


def test_missing_grid_says_what_to_write():
    text = GOOD.replace('grid = """\n######\n#....#\n#.T..#\n#....#\n######\n"""\n', "")
    hit = one(text, "missing field 'grid'")
    assert hit.startswith(f"levels/test.toml:{line_of(text, '[map]')}: [map]:") and '"""' in hit
    # [map] with only a legend, and no [map] at all
    assert one(text.replace("[map]\n", '[map]\nlegend = { "~" = "garden" }\n'), "missing field 'grid'")
    assert one(text.replace("[map]\n", ""), "missing table [map]")


@pytest.mark.parametrize("value", [
    "[" * 10_000 + "]" * 10_000,
    "{ a = " * 3_000 + "1" + " }" * 3_000,
])
def test_very_deep_nesting_is_a_problem_not_a_recursion_error(value):
    text = GOOD + f"\n[[props]]\nkind = \"tree\"\nat = {value}\n"
    found = problems(text)
    assert len(found) == 1 and "nested more than 32 deep" in found[0], found
    assert found[0].startswith(f"levels/test.toml:{text.count(chr(10))}:")  # the last line


def test_deep_dotted_keys_and_headers():
    assert "nested more than 32 deep" in problems(GOOD + "\n" + "a." * 5_000 + "b = 1\n")[0]
    assert "nested more than 32 deep" in problems(GOOD + "\n[" + "t." * 5_000 + "u]\n")[0]


def test_brackets_in_strings_and_comments_do_not_count():
    deep = "[" * 40
    text = GOOD.replace('name = "Test yard"', f'name = "{deep}"  # {deep}').replace("name = \"Test yard\"", "")
    text = text.replace("[map]", f"[map]\n# {deep}\n") + f"\n# {'{' * 40}\n"
    assert len(parse_level(text.replace(f'"{deep}"', '"yard"'), Path("t.toml")).zones) == 1
    multi = GOOD.replace('name = "Test yard"', f"name = '''\n{deep}\n'''")
    assert one(multi, "name holds a control character")  # a newline in a name: refused, but not as nesting


@pytest.mark.parametrize("where,text_of", [
    ("title", lambda: GOOD.replace('name = "Test yard"', 'name = "Test\\u0000yard"')),
    ("zone name", lambda: GOOD.replace('name = "birds"', 'name = "bi\\u0000rds"')),
    ("tour name", lambda: GOOD.replace('name = "loop"', 'name = "lo\\u001bop"')),
])
def test_control_characters_in_names(where, text_of):
    text = text_of()
    found = problems(text)
    assert any("control character" in p for p in found), (where, found)


def test_raw_nul_anywhere_in_the_file():
    for text in (GOOD.replace("Test yard", "Test\x00yard"), GOOD + "\n# comment \x00\n", "\x00" * 100):
        found = problems(text)
        assert len(found) == 1 and "control character U+0000" in found[0], found
    text = GOOD + "\n# comment \x00\n"
    assert problems(text)[0].startswith(f"levels/test.toml:{text.count(chr(10))}:")


def test_bom_and_crlf_are_read_as_meant(tmp_path):
    text = GOOD.replace("falloff_m = 2.0", "falloff_m = -3")
    for data in ("\ufeff" + text).encode("utf-8"), text.replace("\n", "\r\n").encode("utf-8"), \
            ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"), text.replace("\n", "\r").encode("utf-8"):
        f = tmp_path / "l.toml"
        f.write_bytes(data)
        with pytest.raises(LevelError) as e:
            load_level(f)
        (p,) = e.value.problems
        assert p.line == line_of(text, "falloff_m = -3") and "falloff_m must be > 0" in p.message
    f.write_bytes(("\ufeff" + GOOD.replace("\n", "\r\n")).encode("utf-8"))
    level = load_level(f)
    assert level.name == "Test yard" and level.tiles.rows[1] == "#....#"  # no \r in the grid


def test_unreadable_files_are_one_message(tmp_path):
    with pytest.raises(UserError, match="is a folder, not a level file"):
        load_level(tmp_path)
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(L.max_level_file_bytes + 1)
    t = time.perf_counter()
    with pytest.raises(UserError, match=r"at most 4 MiB"):
        load_level(big)
    assert time.perf_counter() - t < 0.5
    latin = tmp_path / "latin.toml"
    latin.write_bytes(GOOD.replace("Test yard", "Caf\xe9").encode("latin-1"))
    with pytest.raises(UserError, match=r"latin\.toml:2: not UTF-8 text \(byte 0xe9"):
        load_level(latin)
    utf16 = tmp_path / "utf16.toml"
    utf16.write_bytes(GOOD.encode("utf-16"))
    with pytest.raises(UserError, match="UTF-16; save it as UTF-8"):
        load_level(utf16)
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a regular file"):
        load_level(fifo)  # would block forever if it were read


def test_long_lines_and_many_problems_stay_fast_and_short():
    t = time.perf_counter()
    found = problems(GOOD + "\n[a" + " " * 1_000_000 + "\n")
    assert time.perf_counter() - t < 2.0 and "not valid TOML" in found[0]
    many = GOOD + "".join("\n[[props]]\nkind = \"rock\"\nat = [3.0, 3.0]\n" for _ in range(200))
    with pytest.raises(LevelError) as e:
        parse_level(many, Path("levels/test.toml"))
    assert len(e.value.problems) == 200 and "... and 150 more" in str(e.value)
    assert len(str(e.value).splitlines()) == 52
    # a huge value is quoted short
    hit = one(GOOD.replace("facing_deg = 90", "facing_deg = [" + "1, " * 100_000 + "]"), "facing_deg")
    assert len(hit) < 300


# ---------------------------------------------------------------------------------------------
# Limits, refused before anything is built


def test_grid_limits():
    hit = one(grid_text(5000, 3), "grid is 5000 columns x 3 rows")
    assert "at most 400 columns" in hit
    big = GOOD.replace('######\n#....#\n#.T..#\n#....#\n######', "\n".join(["." * 1000] * 1000))
    t = time.perf_counter()
    assert one(big, "grid is 1000 columns x 1000 rows (1000000 cells)")
    assert time.perf_counter() - t < 1.0
    assert one(grid_text(200, 200).replace("cell_m = 2.0", "cell_m = 1.0"), "40000 cells")
    parse_level(grid_text(150, 150).replace("cell_m = 2.0", "cell_m = 1.0"), Path("t.toml"))  # 22,500 cells: fine


@pytest.mark.parametrize("cell,needle", [
    ("1e9", "cell_m must be <= 20 m, got 1e+09"),
    ("0.001", "cell_m must be >= 0.1 m, got 0.001"),
    ("0", "cell_m must be >= 0.1 m"),
    ("nan", "cell_m must be finite"),
    ("inf", "cell_m must be finite"),
])
def test_cell_size_limits(cell, needle):
    text = GOOD.replace("cell_m = 2.0", f"cell_m = {cell}")
    assert one(text, needle).startswith(f"levels/test.toml:{line_of(text, 'cell_m')}: [level]:")


def test_map_extent_limit():
    text = grid_text(300, 60).replace("cell_m = 2.0", "cell_m = 5.0")
    hit = one(text, "the map is 1500 m x 300 m")
    assert "at most 400 m a side" in hit and hit.startswith(f"levels/test.toml:{line_of(text, 'cell_m')}:")
    parse_level(grid_text(250, 100).replace("cell_m = 2.0", "cell_m = 1.0"), Path("t.toml"))  # 250 x 100 m: fine
    assert one(grid_text(250, 100).replace("cell_m = 2.0", "cell_m = 1.6"), "400 m x 160 m")  # 64,000 m2


def test_terrain_size_limits():
    base = GOOD.replace('rest = "courtyard"', 'rest = "courtyard"\nfield = "terrain"') + "\n[terrain]\n"
    for key, value, needle in [("width", 10**9, "width must be <= 1024"),
                               ("mapping_size", 10**12, "mapping_size must be <= 1024"),
                               ("steps", 10**10, "steps must be <= 100000"),
                               ("anchor_samples", 10**8, "anchor_samples must be <= 4096"),
                               ("seed", 2**70, "seed must be <= 9.22337e+18")]:
        assert one(base + f"{key} = {value}\n", needle)


def test_count_limits():
    zone = '\n[[zones]]\nname = "z{i}"\ncenter = [5.0, 5.0]\nradius_m = 1.0\nfalloff_m = 1.0\nanchor = "wind"\n'
    many = GOOD + "".join(zone.format(i=i) for i in range(120))
    assert one(many, "121 [[zones]] tables; a level has at most 100")
    pts = ", ".join(f"[{3 + (i % 2) * 0.01}, 3.0]" for i in range(1003))
    assert one(GOOD.replace("[[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]", f"[{pts}]"),
               "points has 1003 points; at most 1000")
    tour = '\n[[tours]]\nname = "t{i}"\npoints = [[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]\n'
    assert one(GOOD + "".join(tour.format(i=i) for i in range(40)), "at most 32")


@pytest.mark.parametrize("old,new,needle", [
    ("priority", "priority = 1e300", "priority must be <= 1000"),
    ("fade_s", "fade_s = 1e30", "fade_s must be <= 600 s"),
    ("falloff_m = 2.0", "falloff_m = 1e300", "falloff_m must be <= 4000 m"),
    ("radius_m = 1.0", "radius_m = 1e300", "radius_m must be <= 4000 m"),
    ("pause", "pause_s = 1e300", "pause_s must be <= 600 s"),
    ("anchor = \"birds\"", "anchor = [" + "0.0, " * 2000 + "]", "at most 1024 latent dimensions"),
])
def test_value_limits(old, new, needle):
    if old == "priority" or old == "fade_s":
        text = GOOD.replace("falloff_m = 2.0", f"falloff_m = 2.0\n{new}")
    elif old == "pause":
        text = GOOD + new + "\n"
    else:
        text = GOOD.replace(old, new)
    assert one(text, needle)


def test_points_far_off_the_map():
    far = GOOD.replace("[[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]", "[[3.0, 3.0], [1e300, 3.0], [7.0, 3.0], [9.0, 3.0]]")
    assert one(far, "point [1e+300, 3] is far off the map")
    poly = GOOD.replace('shape = "circle"\ncenter = [5.0, 5.0]\nradius_m = 1.0',
                        'shape = "polygon"\npoints = [[-1e300, -1e300], [1e300, -1e300], [0.0, 1e300]]')
    assert one(poly, "far off the map")
    assert one(GOOD + '\n[[props]]\nkind = "bench"\nat = [5e9, 1.0]\n', "far off the map")


def test_zero_length_tour():
    text = GOOD.replace("[[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]", "[[3.0, 3.0], [3.0, 3.0], [3.0, 3.0], [3.0, 3.0]]")
    hit = one(text, "the path is 0 m long")
    assert hit.startswith(f"levels/test.toml:{line_of(text, 'points = [[3.0, 3.0], [3.0')}: tour 'loop':")


def test_spawn_inside_a_tree_or_a_bench():
    # the T cell's centre is (5, 5) at cell_m 2: the trunk (0.3 m) plus a person (0.25 m)
    hit = one(GOOD.replace("at = [3.0, 3.0]", "at = [5.2, 5.0]"), "[spawn]: at [5.2, 5.0] is inside a tree at [5.00, 5.00]")
    assert "move the spawn" in hit
    assert one(GOOD.replace("at = [3.0, 3.0]", "at = [7.0, 7.0]") + '\n[[props]]\nkind = "bench"\nat = [7.5, 7.0]\n',
               "is inside a bench")
    parse_level(GOOD.replace("at = [3.0, 3.0]", "at = [5.0, 6.0]"), Path("t.toml"))  # a metre away: fine


# ---------------------------------------------------------------------------------------------
# The files a level names


def clip_file(folder: Path, name: str, data) -> str:
    np.save(folder / name, np.asarray(data))
    return name


def test_clip_checks(tmp_path):
    lvl = tmp_path / "l.toml"
    def try_clip(name):
        text = GOOD.replace('anchor = "birds"', f'anchor = {{ clip = "{name}" }}')
        return problems(text, lvl, allow_outside=False)
    np.save(tmp_path / "nan.npy", np.full((10, 4), np.nan, dtype=np.float32))
    assert any("10 of 10 frames with NaN" in p for p in try_clip("nan.npy"))
    np.save(tmp_path / "flat.npy", np.zeros(8, dtype=np.float32))
    assert any("shape (8,)" in p for p in try_clip("flat.npy"))
    np.save(tmp_path / "empty.npy", np.zeros((0, 4), dtype=np.float32))
    assert any("shape (0, 4)" in p for p in try_clip("empty.npy"))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert any("is not a latent clip" in p for p in try_clip("obj.npy"))
    (tmp_path / "text.npy").write_text("hello")
    assert any("is not a latent clip" in p for p in try_clip("text.npy"))
    (tmp_path / "dir.npy").mkdir()
    assert any("is a folder, not a clip" in p for p in try_clip("dir.npy"))
    assert any("not found" in p and "memoire encode" in p for p in try_clip("absent.npy"))
    np.save(tmp_path / "ok.npy", np.zeros((5, 4), dtype=np.float32))
    level = parse_level(GOOD.replace('anchor = "birds"', 'anchor = { clip = "ok.npy" }'), lvl, allow_outside=False)
    assert level.zones[0].anchor.clip == (tmp_path / "ok.npy").resolve()


def test_terrain_source_that_is_a_folder(tmp_path):
    (tmp_path / "terr").mkdir()
    text = GOOD + '\n[terrain]\nsource = "terr"\n'
    hit = one(text, "is a folder, not a terrain file", path=tmp_path / "l.toml", allow_outside=False)
    assert hit.startswith(f"{tmp_path / 'l.toml'}:{line_of(text, 'source = ')}: [terrain]:")


def test_terrain_file_that_is_not_a_terrain(tmp_path):
    from memoire.terrain.command import check_terrain_file

    (tmp_path / "t.pt").write_text("not a zip")
    with pytest.raises(UserError, match="not a zip archive"):
        check_terrain_file(tmp_path / "t.pt")
    import zipfile

    with zipfile.ZipFile(tmp_path / "z.pt", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(UserError, match="a zip archive but not a terrain"):
        check_terrain_file(tmp_path / "z.pt")
    np.savez(tmp_path / "x.terrain.npz", header=np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    with pytest.raises(UserError, match="not a saved terrain"):
        check_terrain_file(tmp_path / "x.terrain.npz")
    huge = b'{"format": "memoire-terrain", "version": 1, "in_dim": 2, "latent_dim": 4, "width": 1000000000, "mapping_size": 8}'
    np.savez(tmp_path / "h.terrain.npz", header=np.frombuffer(huge, dtype=np.uint8))
    with pytest.raises(UserError, match="width is 1000000000"):
        check_terrain_file(tmp_path / "h.terrain.npz")
    from memoire.world.paths import ROOT

    with pytest.raises(UserError, match="not an nn.terrain checkpoint"):  # the sound model as a terrain
        check_terrain_file(ROOT / "assets" / "models" / "hutong.ts")
    check_terrain_file(ROOT / "levels" / "hutong.terrain.npz")  # a saved terrain passes


@pytest.mark.parametrize("make", ["absolute", "dotdot", "symlink"])
def test_paths_stay_in_the_levels_folder(tmp_path, make):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    np.save(outside / "c.npy", np.zeros((5, 4), dtype=np.float32))
    folder = tmp_path / "levels"
    folder.mkdir()
    if make == "absolute":
        name = str(outside / "c.npy")
    elif make == "dotdot":
        name = "../elsewhere/c.npy"
    else:
        (folder / "link.npy").symlink_to(outside / "c.npy")
        name = "link.npy"
    text = GOOD.replace('anchor = "birds"', f'anchor = {{ clip = "{name}" }}')
    hit = one(text, "is outside the level's folder", path=folder / "l.toml", allow_outside=False)
    assert "--allow-outside-paths" in hit and "move the file there" in hit
    level = parse_level(text, folder / "l.toml", allow_outside=True)
    assert level.zones[0].anchor.clip == (outside / "c.npy").resolve()


def test_the_assets_folder_beside_the_levels_folder_is_allowed(tmp_path):
    (tmp_path / "assets" / "models").mkdir(parents=True)
    (tmp_path / "levels").mkdir()
    text = GOOD.replace('rest = "courtyard"', 'rest = "courtyard"\nmodel = "../assets/models/m.ts"')
    level = parse_level(text, tmp_path / "levels" / "l.toml", allow_outside=False)
    assert level.sound.model == (tmp_path / "assets" / "models" / "m.ts").resolve()
    text = text.replace("../assets/models/m.ts", "../../m.ts")
    assert one(text, "[sound]: model '../../m.ts' is outside", path=tmp_path / "levels" / "l.toml", allow_outside=False)


def test_shipped_level_loads_under_the_strict_rule(default_level_path):
    level = load_level(default_level_path, allow_outside=False)
    assert level.sound.model is not None and level.sound.model.name == "hutong.ts"


def test_kiosk_config_bom_crlf_and_limits(tmp_path):
    from memoire.kiosk.config import ConfigError, load_kiosk_config

    f = tmp_path / "kiosk.toml"
    f.write_bytes("\ufeff[kiosk]\r\nidle_s = 60\r\n\r\nfade_s = 99\r\n".encode("utf-8"))
    with pytest.raises(ConfigError) as e:
        load_kiosk_config(f)
    (p,) = e.value.problems
    assert p.line == 4 and "fade_s must be <= 30" in p.message
    f.write_bytes("\ufeff[kiosk]\r\nidle_s = 60\r\n".encode("utf-8"))
    assert load_kiosk_config(f).idle_s == 60
    f.write_text("[kiosk]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested more than 32 deep"):
        load_kiosk_config(f)
    f.write_text('[kiosk]\ntour = "a\\u0000b"\n')
    with pytest.raises(ConfigError, match="control character"):
        load_kiosk_config(f)
    with pytest.raises(UserError, match="is a folder"):
        load_kiosk_config(tmp_path)


# ---------------------------------------------------------------------------------------------
# Through the command line: exit codes, one line per problem, no traceback


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.slow
def test_check_lists_every_kind_of_problem_at_once(tmp_path, tiny_model_path, root):
    import shutil

    shutil.copy(tiny_model_path, tmp_path / "tiny.ts")
    (tmp_path / "out").mkdir()
    np.save(tmp_path / "out" / "far.npy", np.zeros((5, 8), dtype=np.float32))
    lv = tmp_path / "levels"
    lv.mkdir()
    shutil.copy(tiny_model_path, lv / "tiny.ts")
    text = (GOOD.replace('rest = "courtyard"', 'rest = "courtyard"\nmodel = "tiny.ts"')
            .replace("falloff_m = 2.0", "falloff_m = -3")                      # a bad falloff
            .replace("at = [3.0, 3.0]", "at = [5.1, 5.0]")                     # spawn in the tree
            + '\n[[zones]]\nname = "dragons"\ncenter = [3.0, 7.0]\nradius_m = 1.0\nfalloff_m = 1.0\n'
              'anchor = "dragons"\n'                                            # no such class
            + '\n[[zones]]\nname = "clip"\ncenter = [7.0, 7.0]\nradius_m = 1.0\nfalloff_m = 1.0\n'
              'anchor = { clip = "missing.npy" }\n'                             # a missing clip
            + '\n[[zones]]\nname = "far"\ncenter = [7.0, 3.0]\nradius_m = 1.0\nfalloff_m = 1.0\n'
              'anchor = { clip = "../out/far.npy" }\n')                         # a path outside
    f = write(lv, "many.toml", text)
    r = check(f, cwd=root)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0] == f"5 problems in {f}:", r.stderr
    body = "\n".join(lines[1:])
    for needle in ("falloff_m must be > 0 m, got -3", "no sound class 'dragons'", "pigeons",
                   "is inside a tree", "anchor clip 'missing.npy' not found", "'../out/far.npy' is outside"):
        assert needle in body, (needle, r.stderr)
    assert all(line.startswith(f"  {f}:") for line in lines[1:]), r.stderr
    dragons = line_of(text, 'name = "dragons"') - 1  # the zone's [[zones]] line
    assert f"{f}:{dragons}: zone 'dragons'" in body


@pytest.mark.slow
def test_check_missing_model_and_unreadable_files(tmp_path, root):
    f = write(tmp_path, "l.toml", GOOD.replace('rest = "courtyard"', 'rest = "courtyard"\nmodel = "absent.ts"'))
    r = check(f, cwd=root)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{f}:{line_of(f.read_text(), 'model = ')}: [sound] model: {tmp_path / 'absent.ts'} not found" in r.stderr
    assert "memoire train" in r.stderr and "--model" in r.stderr
    # a level file that is not there: the path once
    r = check("levels/nope.toml", cwd=root)
    assert r.returncode == 1 and r.stderr.count("levels/nope.toml") == 1, r.stderr
    r = check(tmp_path, cwd=root)
    assert r.returncode == 1 and "is a folder, not a level file" in r.stderr
    # a terrain source that is not a terrain
    (tmp_path / "t.pt").write_text("hello")
    f = write(tmp_path, "t.toml", GOOD + '\n[terrain]\nsource = "t.pt"\n')
    r = check(f, "--model", tmp_path / "absent.ts", cwd=root)
    assert "[terrain] source:" in r.stderr and "not a zip archive" in r.stderr, r.stderr
    assert "absent.ts not found" in r.stderr  # both problems in one pass


@pytest.mark.parametrize("kind", ["huge cell", "huge grid", "huge file", "zero tour", "outside"])
def test_play_refuses_quickly_with_exit_2(tmp_path, root, kind):
    if kind == "huge cell":
        text = GOOD.replace("cell_m = 2.0", "cell_m = 100000")
        needle = "cell_m must be <= 20 m"
    elif kind == "huge grid":
        text = GOOD.replace('######\n#....#\n#.T..#\n#....#\n######', "\n".join(["#" * 2000] + ["#" + "." * 1998 + "#"] * 999))
        needle = "grid is 2000 columns x 1000 rows"
    elif kind == "huge file":  # 5000 x 5000 cells: 24 MiB, refused before it is read
        text = GOOD.replace('######\n#....#\n#.T..#\n#....#\n######', "\n".join(["#" * 5000] + ["#" + "." * 4998 + "#"] * 4999))
        needle = "a level file is at most 4 MiB"
    elif kind == "zero tour":
        text = GOOD.replace("[[3.0, 3.0], [5.0, 3.0], [7.0, 3.0], [9.0, 3.0]]", "[[3.0, 3.0], [3.0, 3.0], [3.0, 3.0], [3.0, 3.0]]")
        needle = "the path is 0 m long"
    else:
        text = GOOD.replace('rest = "courtyard"', 'rest = "courtyard"\nmodel = "/etc/hostname"')
        needle = "--allow-outside-paths"
    f = write(tmp_path, "l.toml", text)
    args = ["--tour", "loop"] if kind == "zero tour" else []
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "memoire", "play", str(f), "--headless", "--mute", "--frames", "5",
                        *args], cwd=root, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"})
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert time.perf_counter() - t < 30
