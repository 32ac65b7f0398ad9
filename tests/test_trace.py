"""Visitor traces: the writer (rows, buffering, bad paths, a full disk, append), the dominant
zone, the kiosk's per-day traces and its config keys, and `memoire trace plot`."""

from __future__ import annotations

import csv
import errno
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from memoire.game.trace import TraceWriter
from memoire.world.trace import COLUMNS, HEADER
from memoire.world.errors import UserError
from memoire.world.level import load_level
from memoire.world.zones import dominant_zone, dominant_zones, weight_blend, zone_weights

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def level():
    return load_level(ROOT / "levels" / "hutong.toml")


class FakeClock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# ---------------------------------------------------------------------------------------------
# The dominant zone


def test_dominant_zone_inside_and_outside_zones(level):
    assert dominant_zone(level, 35.25, 9.75) == ("pigeons", pytest.approx(1.0))  # the pigeons' centre
    assert dominant_zone(level, 12.0, 9.5) == ("grinder", pytest.approx(1.0))
    assert dominant_zone(level, 66.5, 27.9) == ("chatter", pytest.approx(1.0))  # inside a polygon zone
    assert dominant_zone(level, 1.0, 1.0) == ("", 0.0)  # the north-west corner: no zone reaches
    name, w = dominant_zone(level, 35.25, 9.75 + 4.0 + 2.5)  # half way through the pigeons' falloff
    assert name == "pigeons" and 0.0 < w < 1.0


def test_insects_win_over_birds_by_priority(level):
    # the insects' circle lies in the birds' garden; its priority 1.5 makes it the dominant one
    assert dominant_zone(level, 27.0, 29.0)[0] == "insects"


def test_weights_are_the_synths(level):
    from memoire.world.card import ModelCard
    from memoire.world.field import build_zone_blend

    names = tuple(sorted({z.anchor.class_name for z in level.zones} | {level.sound.rest.class_name} - {None}))
    means = np.random.default_rng(1).normal(size=(len(names), 8)).astype(np.float32)
    card = ModelCard(Path("stand-in.ts"), 8, 2048, 1, 44100, names, means, np.ones_like(means))
    blend = build_zone_blend(level, card)  # what the synth blends, with a model card standing in
    rng = np.random.default_rng(0)
    xy = rng.uniform((0, 0), level.tiles.size_m, size=(500, 2))
    np.testing.assert_allclose(zone_weights(level, xy), blend.weights(xy)[0])
    idx, w = dominant_zones(weight_blend(level), xy)
    assert ((w >= 0) & (w <= 1)).all() and ((idx == -1) == (w == 0)).all()


# ---------------------------------------------------------------------------------------------
# The writer


def test_rows_and_header(tmp_path, level):
    clock = FakeClock()
    path = tmp_path / "t.csv"
    w = TraceWriter.open(path, level, clock=clock)
    assert path.read_text() == HEADER  # the header is written at open
    w.row(1000.0, 0.0, 35.25, 9.75, 0.0)
    w.row(1000.016, 0.016, 1.0, 1.0, math.pi / 2)
    w.row(1000.033, 0.033, 12.0, 9.5, -math.pi / 2)
    assert w.close() is None and w.error is None
    rows = read_rows(path)
    assert rows[0] == list(COLUMNS)
    assert rows[1] == ["1000.000", "0.000", "35.250", "9.750", "0.0", "pigeons", "1.000"]
    assert rows[2] == ["1000.016", "0.016", "1.000", "1.000", "90.0", "", "0.000"]  # east, no zone
    assert rows[3][4] == "270.0" and rows[3][5] == "grinder"  # west, in compass degrees 0..360


def test_rows_are_buffered_and_flushed_about_once_a_second(tmp_path, level):
    clock = FakeClock()
    path = tmp_path / "t.csv"
    w = TraceWriter.open(path, level, clock=clock)
    for i in range(50):  # 0.98 s of frames: nothing written yet
        clock.t = i / 50
        w.row(i / 50, i / 50, 4.0, 18.75, 0.0)
    assert len(read_rows(path)) == 1
    clock.t = 1.0
    w.row(1.0, 1.0, 4.0, 18.75, 0.0)  # a second after open: all flushed at once
    assert len(read_rows(path)) == 52
    clock.t = 1.5
    w.row(1.5, 1.5, 4.0, 18.75, 0.0)
    assert len(read_rows(path)) == 52
    w.close()
    assert len(read_rows(path)) == 53
    assert w.close() is None  # closing again is harmless
    assert w.row(2.0, 2.0, 4.0, 18.75, 0.0) is None and len(read_rows(path)) == 53


def test_max_hz_caps_the_rows(tmp_path, level):
    path = tmp_path / "t.csv"
    with TraceWriter.open(path, level, max_hz=10) as w:
        for i in range(600):  # 10 s at 60 fps
            w.row(i / 60, i / 60, 4.0, 18.75, 0.0)
    rows = read_rows(path)[1:]
    assert len(rows) == 100
    assert np.diff([float(r[1]) for r in rows]).min() >= 0.1 - 1e-9


def test_bad_paths_fail_at_open(tmp_path, level):
    with pytest.raises(UserError, match="is a folder"):
        TraceWriter.open(tmp_path, level)
    with pytest.raises(UserError, match="does not exist"):
        TraceWriter.open(tmp_path / "missing" / "t.csv", level)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="does not exist"):
        TraceWriter.open(tmp_path / "file" / "t.csv", level)
    if Path("/dev/full").exists():  # a disk that is full from the first byte
        with pytest.raises(UserError, match="cannot write"):
            TraceWriter.open("/dev/full", level)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not _can_write_in(ro):  # root writes anywhere
            with pytest.raises(UserError, match="cannot write"):
                TraceWriter.open(ro / "t.csv", level)
    finally:
        ro.chmod(0o700)


def _can_write_in(folder: Path) -> bool:
    try:
        (folder / ".probe").write_text("")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


class FullDisk:
    """A file whose writes fail as on a full disk."""

    def __init__(self):
        self.writes = 0

    def write(self, data):
        self.writes += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        pass

    def close(self):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_stops_the_trace_once(tmp_path, level):
    clock = FakeClock()
    w = TraceWriter.open(tmp_path / "t.csv", level, clock=clock)
    w._file = full = FullDisk()
    messages = []
    for i in range(200):
        clock.t = i / 60
        messages.append(w.row(i / 60, i / 60, 4.0, 18.75, 0.0))
    reported = [m for m in messages if m]
    assert len(reported) == 1 and "No space left" in reported[0] and "goes on" in reported[0]
    assert w.error == reported[0] and full.writes == 1
    assert w.close() is None  # nothing more to say


def test_append_writes_the_header_once_and_cuts_a_torn_line(tmp_path, level):
    path = tmp_path / "day.csv"
    with TraceWriter.open(path, level, append=True) as w:  # a new file: header
        w.row(10.0, 0.0, 4.0, 18.75, 0.0)
    with open(path, "a") as f:
        f.write("11.000,1.000,4.0")  # a crash in the middle of a row
    with TraceWriter.open(path, level, append=True) as w:
        w.row(20.0, 0.0, 35.25, 9.75, 0.0)
    rows = read_rows(path)
    assert rows[0] == list(COLUMNS) and [r[0] for r in rows[1:]] == ["10.000", "20.000"]
    assert sum(r == list(COLUMNS) for r in rows) == 1
    with TraceWriter.open(path, level) as w:  # not append: a new trace replaces it
        pass
    assert path.read_text() == HEADER


def test_append_refuses_a_file_that_is_not_a_trace(tmp_path, level):
    path = tmp_path / "notes.csv"
    path.write_text("name,phone\nbob,123\n")
    with pytest.raises(UserError, match="not a Memoire trace"):
        TraceWriter.open(path, level, append=True)
    assert path.read_text() == "name,phone\nbob,123\n"


def test_a_zone_name_with_a_comma_is_quoted(tmp_path, level):
    import dataclasses

    zones = (dataclasses.replace(level.zones[0], name='doves, "white"'), *level.zones[1:])
    odd = dataclasses.replace(level, zones=zones)
    path = tmp_path / "t.csv"
    with TraceWriter.open(path, odd) as w:
        w.row(0.0, 0.0, *level.zones[0].shape.center, 0.0)
    assert read_rows(path)[1][5] == 'doves, "white"'


# ---------------------------------------------------------------------------------------------
# The kiosk: config keys and per-day traces


KIOSK_HEAD = "[kiosk]\nidle_s = 40\n"


def test_kiosk_trace_keys(tmp_path):
    from memoire.kiosk.config import ConfigError, KioskConfig, load_kiosk_config, parse_kiosk_config

    assert KioskConfig(None).trace is True and KioskConfig(None).trace_hz == 10.0
    c = parse_kiosk_config(KIOSK_HEAD + "trace = false\ntrace_hz = 30\n", tmp_path / "k.toml")
    assert c.trace is False and c.trace_hz == 30.0
    with pytest.raises(ConfigError) as e:
        parse_kiosk_config(KIOSK_HEAD + 'trace = "yes"\ntrace_hz = 0\n', tmp_path / "k.toml")
    text = str(e.value)
    assert "k.toml:3: [kiosk]: trace must be true or false" in text
    assert "k.toml:4: [kiosk]: trace_hz must be >= 0.1" in text
    shipped = load_kiosk_config(ROOT / "config" / "kiosk.toml")
    assert shipped.trace is True and shipped.trace_hz == 10.0


def test_day_trace_path(tmp_path):
    from memoire.kiosk.logs import day_trace_path

    p = day_trace_path(tmp_path / "logs", date(2024, 7, 1))
    assert p == tmp_path / "logs" / "traces" / "2024-07-01.csv" and p.parent.is_dir()
    (tmp_path / "flat").write_text("")
    with pytest.raises(UserError, match="cannot create the trace folder"):
        day_trace_path(tmp_path / "flat")


def test_day_trace_appends_the_same_day_and_moves_at_midnight(tmp_path, level):
    from memoire.kiosk.logs import DayTrace

    day = [date(2024, 7, 1)]
    for run in range(2):  # the kiosk restarted the same day; its clock starts again from 0
        t = DayTrace(tmp_path, level, today=lambda: day[0])
        t.row(0.0, 0.0, 4.0, 18.75, 0.0)
        t.row(0.5 + run, 0.5 + run, 4.0, 18.75, 0.0)
        t.close()
    day_file = tmp_path / "traces" / "2024-07-01.csv"
    assert [r[0] for r in read_rows(day_file)] == ["wall_s", "0.000", "0.500", "0.000", "1.500"]
    t = DayTrace(tmp_path, level, today=lambda: day[0])
    t.row(7.0, 7.0, 4.0, 18.75, 0.0)
    day[0] = date(2024, 7, 2)  # midnight
    t.row(8.0, 8.0, 4.0, 18.75, 0.0)
    assert t.path == tmp_path / "traces" / "2024-07-02.csv"
    t.close()
    assert len(read_rows(day_file)) == 6 and [r[0] for r in read_rows(t.path)] == ["wall_s", "8.000"]


# ---------------------------------------------------------------------------------------------
# memoire trace plot


def write_trace(path: Path, level, poses, rate_hz: float = 30.0, start: float = 1_719_828_000.0) -> None:
    """poses: (x, y, seconds) stays, walked in order at rate_hz rows a second."""
    with TraceWriter.open(path, level) as w:
        t = 0.0
        for x, y, seconds in poses:
            for _ in range(int(round(seconds * rate_hz))):
                w.row(start + t, t, x, y, 0.0)
                t += 1.0 / rate_hz
        w.row(start + t, t, x, y, 0.0)  # the last stay ends here


def test_plot_hottest_cell_and_zone_times(tmp_path, level):
    from memoire.offline import trace_plot as tp

    path = tmp_path / "t.csv"
    # 5 s in the lane (no zone: west of the pigeons' 12 m falloff), 30 s at the pigeons' centre, 12 s in the grinder's courtyard
    write_trace(path, level, [(20.0, 18.6, 5.0), (35.25, 9.75, 30.0), (12.0, 9.5, 12.0)])
    trace = tp.read_trace(path)
    grid = tp.dwell_grid(level, [trace], 0.5)
    r, c = np.unravel_index(grid.argmax(), grid.shape)
    assert (r, c) == (int(9.75 / 0.5), int(35.25 / 0.5))
    assert grid[r, c] == pytest.approx(30.0, abs=0.05)
    assert grid.sum() == pytest.approx(47.0, abs=0.05)
    times = tp.zone_dwell([trace])
    assert times["pigeons"] == pytest.approx(30.0, abs=0.05)
    assert times["grinder"] == pytest.approx(12.0, abs=0.05)
    assert times[""] == pytest.approx(5.0, abs=0.05)


def test_dwell_is_time_not_rows(tmp_path, level):
    from memoire.offline import trace_plot as tp

    fast, slow = tmp_path / "fast.csv", tmp_path / "slow.csv"
    write_trace(fast, level, [(35.25, 9.75, 20.0), (12.0, 9.5, 20.0)], rate_hz=60.0)
    write_trace(slow, level, [(35.25, 9.75, 20.0), (12.0, 9.5, 20.0)], rate_hz=5.0)
    a, b = tp.zone_dwell([tp.read_trace(fast)]), tp.zone_dwell([tp.read_trace(slow)])
    assert a["pigeons"] == pytest.approx(b["pigeons"], abs=0.3) == pytest.approx(20.0, abs=0.3)


def test_a_new_session_or_a_long_gap_counts_nothing(tmp_path, level):
    from memoire.offline import trace_plot as tp

    path = tmp_path / "t.csv"
    with TraceWriter.open(path, level) as w:
        w.row(100.0, 50.0, 35.25, 9.75, 0.0)
        w.row(100.5, 50.5, 35.25, 9.75, 0.0)  # 0.5 s at the pigeons
        w.row(101.0, 0.0, 12.0, 9.5, 0.0)  # the kiosk restarted: sim_s went back
        w.row(101.5, 0.5, 12.0, 9.5, 0.0)
        w.row(400.0, 299.0, 4.0, 18.75, 0.0)  # the game was down 5 minutes
    times = tp.zone_dwell([tp.read_trace(path)])
    assert times == {"pigeons": pytest.approx(0.5), "grinder": pytest.approx(0.5), "bells": 0.0}


def run_memoire(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memoire", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_plot_command_writes_the_picture_and_the_table(tmp_path, level):
    path = tmp_path / "t.csv"
    write_trace(path, level, [(35.25, 9.75, 30.0), (12.0, 9.5, 12.0)])
    out = tmp_path / "heat.png"
    p = run_memoire("trace", "plot", str(path), str(path), "--level", "levels/hutong.toml", "--out", str(out),
                    "--px-per-m", "4")
    assert p.returncode == 0, p.stderr
    from PIL import Image

    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > 300 and img.height > 200
    assert out.stat().st_mode & 0o044 == 0o044  # readable by others, like any picture
    import re

    matches = (re.match(r"^(.+?)\s{2,}([\d.]+)\s", line) for line in p.stdout.splitlines()[1:])
    table = {m[1]: float(m[2]) for m in matches}
    assert table["(no zone)"] == 0.0 and table["bells"] == 0.0  # zones nobody visited are listed too
    assert table["pigeons"] == pytest.approx(60.0, abs=0.1)  # two copies of the trace: 2 x 30 s
    assert table["grinder"] == pytest.approx(24.0, abs=0.1)
    assert table["total"] == pytest.approx(84.0, abs=0.1)
    assert not list(tmp_path.glob(".heat.png*"))  # no temporary left


@pytest.mark.parametrize("case, expected", [
    ("missing", "no such trace file"),
    ("folder", "is a folder"),
    ("binary", "not a Memoire trace"),
    ("empty", "empty, not a Memoire trace"),
    ("header", "t.csv:1: not a Memoire trace (missing columns heading_deg, zone, zone_weight)"),
    ("columns", "t.csv:3: expected 7 columns"),
    ("number", "t.csv:2: x_m must be a number, got 'east'"),
    ("no_rows", "no rows"),
    ("elsewhere", "t.csv:3: the point (140, 9.75) m lies outside the map"),
    ("out", "--out"),
])
def test_plot_bad_input_is_one_line(tmp_path, case, expected):
    trace = tmp_path / "t.csv"
    good = HEADER + "1.0,0.0,35.25,9.75,0.0,pigeons,1.000\n"
    out = tmp_path / "heat.png"
    if case == "folder":
        trace = tmp_path
    elif case == "binary":
        trace.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    elif case == "empty":
        trace.write_text("")
    elif case == "header":
        trace.write_text("wall_s,sim_s,x_m,y_m\n1,2,3,4\n")
    elif case == "columns":
        trace.write_text(good + "2.0,1.0,35.25,9.75,0.0\n")
    elif case == "number":
        trace.write_text(HEADER + "1.0,0.0,east,9.75,0.0,pigeons,1.000\n")
    elif case == "no_rows":
        trace.write_text(HEADER)
    elif case == "elsewhere":
        trace.write_text(good + "2.0,1.0,140.0,9.75,0.0,,0.000\n")
    elif case == "out":
        trace.write_text(good)
        out = tmp_path / "nowhere" / "heat.png"
    p = run_memoire("trace", "plot", str(trace), "--level", "levels/hutong.toml", "--out", str(out))
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memoire: ") and expected in lines[0], p.stderr
    assert not out.exists()


def test_a_renamed_zone_is_kept_and_marked(tmp_path, level):
    from memoire.offline import trace_plot as tp

    path = tmp_path / "t.csv"
    path.write_bytes(("\ufeff" + HEADER + "1.0,0.0,35.25,9.75,0.0,doves,1.000\n"
                      "3.0,2.0,35.25,9.75,0.0,pigeons,1.000\n4.0,3.0,35.25,9.75,0.0,pigeons,1.000\n").encode())
    rows = tp.zone_table(level, tp.zone_dwell([tp.read_trace(path)]))  # a BOM from a spreadsheet is fine
    assert rows[0] == ("doves", 2.0, "not in this level") and ("pigeons", 1.0, "") in rows
    assert rows[-1][0] == "(no zone)"
