"""`memoire trace plot`: where visitors walked and lingered, and which sounds held them.

    memoire trace plot TRACE.csv [TRACE.csv ...] --level LEVEL --out heat.png [--px-per-m N] [--cell-m M]

Traces come from `memoire play --trace FILE` or the kiosk's log folder (traces/YYYY-MM-DD.csv;
columns in memoire/game/trace.py). Time, not rows, is what counts: each row holds its position
until the next row, and that interval (the wall_s delta) is its dwell, so a slow frame rate or a
row cap (the kiosk's trace_hz) does not change the picture. An interval that is not a frame's
(wall_s going back, sim_s going back: a new session appended to the day's file, or more than
``max_gap_s``: the game was down) counts nothing.

The picture: the level's map in the minimap's colours (walls, ground, zones, props), the seconds
spent in each cell of ``--cell-m`` metres as a heat layer on a log scale with its colour bar, the
zones outlined and named; below it, the time per dominant zone as bars. The same table is
printed (seconds). The PNG is written atomically. Bad input is a one-line ``UserError`` (exit 2).
memoire/cli.py mounts ``add_arguments`` / ``run`` as the `trace` subcommand.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from memoire.world.errors import UserError
from memoire.world.level import Circle, Level, load_level
from memoire.world.trace import COLUMNS

# A row's dwell is the time to the next row, unless that gap is longer than this (seconds):
# then the game was stopped or stalled and nobody can say where the visitor was.
max_gap_s = 2.0
default_px_per_m = 10.0
default_cell_m = 0.5
# the heat layer's log colour scale spans at most this ratio below its hottest cell
heat_dynamic_range = 1000.0
HEAT_ALPHA = 0.85
HEAT_CMAP = "inferno_r"  # pale = a moment, dark = a long stay: the lingering spots stand out on the paving
NO_ZONE = ""
# wall_s above this (2001-09-09) is taken as Unix time and the title gives the dates
unix_time_after_s = 1e9


@dataclass(frozen=True)
class Trace:
    """One trace file's rows as arrays, with each row's line number for messages."""

    path: Path
    wall_s: np.ndarray
    sim_s: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    zone_names: tuple[str, ...]  # the names the trace uses, "" = no zone
    zone: np.ndarray  # (k,) int: index into zone_names
    zone_weight: np.ndarray
    lines: np.ndarray  # file line of each row (1-based; line 1 is the header)

    def __len__(self) -> int:
        return len(self.wall_s)


def read_trace(path: Path) -> Trace:
    """Read and check a trace CSV. Raises UserError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet may have added a BOM
    except FileNotFoundError:
        raise UserError(f"{path}: no such trace file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a trace file (the kiosk's are in its log folder's "
                        "traces/)") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a Memoire trace (not text; a trace is a CSV from `memoire play "
                        "--trace`)") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read it ({e.strerror or e})") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    expected = ",".join(COLUMNS)
    if header is None:
        raise UserError(f"{path}: empty, not a Memoire trace (its first line should be '{expected}')")
    if [h.strip() for h in header] != list(COLUMNS):
        shown = ",".join(header)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        missing = [c for c in COLUMNS if c not in [h.strip() for h in header]]
        why = (f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}" if missing
               else "columns in another order")
        raise UserError(f"{path}:1: not a Memoire trace ({why}): the first line should be '{expected}', got '{shown}'")
    numbers: list[tuple[float, float, float, float, float]] = []
    codes: dict[str, int] = {}
    zones: list[int] = []
    lines: list[int] = []
    for row in rows:
        line = rows.line_num
        if not row:
            continue
        if len(row) != len(COLUMNS):
            raise UserError(f"{path}:{line}: expected {len(COLUMNS)} columns ({expected}), got {len(row)}")
        try:
            vals = tuple(float(row[i]) for i in (0, 1, 2, 3, 6))
        except ValueError:
            bad = next(COLUMNS[i] for i in (0, 1, 2, 3, 6) if not _is_number(row[i]))
            raise UserError(f"{path}:{line}: {bad} must be a number, got '{row[COLUMNS.index(bad)]}'") from None
        if not all(math.isfinite(v) for v in vals):
            raise UserError(f"{path}:{line}: numbers must be finite, got {','.join(row)}")
        if not 0.0 <= vals[4] <= 1.0:
            raise UserError(f"{path}:{line}: zone_weight must be in 0..1, got {row[6]}")
        numbers.append(vals)
        zones.append(codes.setdefault(row[5], len(codes)))
        lines.append(line)
    if not numbers:
        raise UserError(f"{path}: the trace has no rows (only its header): nobody walked while it was written")
    a = np.array(numbers, dtype=np.float64)
    return Trace(path, a[:, 0], a[:, 1], a[:, 2], a[:, 3], tuple(codes), np.array(zones), a[:, 4],
                 np.array(lines))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_on_map(trace: Trace, level: Level) -> None:
    """Every point must lie on the level's map; else the trace is of another level."""
    w, h = level.tiles.size_m
    out = (trace.x_m < 0) | (trace.x_m > w) | (trace.y_m < 0) | (trace.y_m > h)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise UserError(f"{trace.path}:{trace.lines[i]}: the point ({trace.x_m[i]:g}, {trace.y_m[i]:g}) m lies outside "
                        f"the map of {level.path} (0..{w:g} m east, 0..{h:g} m south): a trace of another level? "
                        f"(--level names the level it was walked in)")


def dwell_seconds(trace: Trace) -> np.ndarray:
    """Seconds each row's position was held: the wall_s delta to the next row, 0 where that
    interval is not a frame's (negative, longer than max_gap_s, or sim_s going back: a new
    session) and for the last row."""
    dt = np.diff(trace.wall_s)
    dsim = np.diff(trace.sim_s)
    ok = (dt > 0) & (dt <= max_gap_s) & (dsim >= 0)
    return np.append(np.where(ok, dt, 0.0), 0.0)


def dwell_grid(level: Level, traces: list[Trace], cell_m: float = default_cell_m) -> np.ndarray:
    """Seconds spent in each cell_m x cell_m square of the map, (rows, cols); row 0 = north."""
    w, h = level.tiles.size_m
    cols, rows = max(1, math.ceil(w / cell_m - 1e-9)), max(1, math.ceil(h / cell_m - 1e-9))
    grid = np.zeros((rows, cols))
    for t in traces:
        c = np.clip((t.x_m / cell_m).astype(int), 0, cols - 1)
        r = np.clip((t.y_m / cell_m).astype(int), 0, rows - 1)
        np.add.at(grid, (r, c), dwell_seconds(t))
    return grid


def zone_dwell(traces: list[Trace]) -> dict[str, float]:
    """Seconds per dominant zone as the traces recorded it ("" = where no zone reached)."""
    out: dict[str, float] = {}
    for t in traces:
        per_code = np.bincount(t.zone, weights=dwell_seconds(t), minlength=len(t.zone_names))
        for name, seconds in zip(t.zone_names, per_code):
            out[name] = out.get(name, 0.0) + float(seconds)
    return out


def hot_cells(grid: np.ndarray, cell_m: float, count: int = 3, apart_m: float = 4.0) -> list[tuple[int, int]]:
    """(row, col) of the ``count`` hottest cells at least ``apart_m`` from each other."""
    picked: list[tuple[int, int]] = []
    for flat in np.argsort(grid, axis=None)[::-1]:
        r, c = divmod(int(flat), grid.shape[1])
        if grid[r, c] <= 0 or len(picked) == count:
            break
        if all(math.hypot(r - pr, c - pc) * cell_m >= apart_m for pr, pc in picked):
            picked.append((r, c))
    return picked


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def zone_table(level: Level, times: dict[str, float]) -> list[tuple[str, float, str]]:
    """(label, seconds, note) per zone, most time first; zones of the level never visited at 0 s,
    then names not in the level (renamed since), then where no zone reached."""
    names = [z.name for z in level.zones]
    rows = [(n, times.get(n, 0.0), "") for n in names]
    rows += [(n, s, "not in this level") for n, s in times.items() if n not in names and n != NO_ZONE]
    rows.sort(key=lambda r: -r[1])
    rows.append(("(no zone)", times.get(NO_ZONE, 0.0), "the rest sound"))
    return rows


def format_table(rows: list[tuple[str, float, str]]) -> str:
    total = sum(s for _, s, _ in rows)
    width = max([len(r[0]) for r in rows] + [5])
    out = [f"{'zone':<{width}}  {'seconds':>10}  {'time':>8}  {'share':>6}"]
    for name, s, note in rows:
        share = 100.0 * s / total if total > 0 else 0.0
        out.append(f"{name:<{width}}  {s:>10.1f}  {_clock(s):>8}  {share:>5.1f}%" + (f"  ({note})" if note else ""))
    out.append(f"{'total':<{width}}  {total:>10.1f}  {_clock(total):>8}")
    return "\n".join(out)


def draw_heat_map(level: Level, traces: list[Trace], px_per_m: float = default_px_per_m,
                  cell_m: float = default_cell_m) -> bytes:
    """The heat map and the zone bars as PNG bytes (matplotlib, Agg: no display needed)."""
    from matplotlib import colors, patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle as CirclePatch, Polygon as PolygonPatch

    from memoire.render.minimap import minimap_image
    from memoire.render.zones import zone_colour

    w_m, h_m = level.tiles.size_m
    base = minimap_image(level, px_per_m, zones=True).astype(np.float64)
    rgb = base[..., :3] * (base[..., 3:] / 255.0) + 255.0 * (1.0 - base[..., 3:] / 255.0)  # void -> white
    grid = dwell_grid(level, traces, cell_m)
    table = zone_table(level, zone_dwell(traces))
    total = sum(s for _, s, _ in table)

    # layout in inches: the map at px_per_m (at least 6 in wide), its colour bar, the zone bars below
    dpi = 100
    map_w = max(w_m * px_per_m / dpi, 6.0)
    map_h = map_w * h_m / w_m
    left, right, top, gap, bottom = 0.6, 1.3, 0.5, 0.75, 0.55
    bars_h = 0.25 * len(table) + 0.3
    fig_w, fig_h = left + map_w + right, top + map_h + gap + bars_h + bottom
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((left / fig_w, (bottom + bars_h + gap) / fig_h, map_w / fig_w, map_h / fig_h))
    ax.imshow(rgb.astype(np.uint8), extent=(0, w_m, h_m, 0), interpolation="nearest")
    vmax = float(grid.max())
    heat = np.ma.masked_less_equal(grid, 0.0)
    if vmax > 0:
        vmin = max(float(heat.min()), vmax / heat_dynamic_range)
        norm = colors.LogNorm(vmin=min(vmin, vmax * 0.999), vmax=vmax)
        rows, cols = grid.shape
        im = ax.imshow(heat, extent=(0, cols * cell_m, rows * cell_m, 0), cmap=HEAT_CMAP, norm=norm,
                       alpha=HEAT_ALPHA, interpolation="nearest")
        cax = fig.add_axes(((left + map_w + 0.15) / fig_w, ax.get_position().y0, 0.18 / fig_w, map_h / fig_h))
        bar = fig.colorbar(im, cax=cax)
        bar.set_label(f"seconds in each {cell_m:g} m x {cell_m:g} m cell", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for r, c in hot_cells(grid, cell_m):  # where they lingered longest: ringed, with the time
        x, y = (c + 0.5) * cell_m, (r + 0.5) * cell_m
        ax.add_patch(CirclePatch((x, y), max(1.2, cell_m), fill=False, ec="white", lw=2.6))
        ax.add_patch(CirclePatch((x, y), max(1.2, cell_m), fill=False, ec="black", lw=1.2))
        ax.text(x + max(1.2, cell_m) + 0.3, y - 0.9, _clock(grid[r, c]), fontsize=7.5, weight="bold",
                color="black", path_effects=halo)
    for i, zone in enumerate(level.zones):
        colour = zone_colour(i)
        if isinstance(zone.shape, Circle):
            ax.add_patch(CirclePatch(zone.shape.center, zone.shape.radius_m, fill=False, ec=colour, lw=1.4))
            cx, cy = zone.shape.center
        else:
            ax.add_patch(PolygonPatch(zone.shape.points, closed=True, fill=False, ec=colour, lw=1.4))
            x0, y0, x1, y1 = zone.shape.bounds()
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ax.text(cx, cy, zone.name, ha="center", va="center", fontsize=7.5, color=tuple(0.45 * c for c in colour),
                weight="bold", path_effects=halo)
    ax.set_xlim(0, w_m)
    ax.set_ylim(h_m, 0)
    ax.set_xlabel("x (m, east)", fontsize=8)
    ax.set_ylabel("y (m, south)", fontsize=8)
    ax.tick_params(labelsize=7)
    first = min(float(t.wall_s.min()) for t in traces)
    last = max(float(t.wall_s.max()) for t in traces)
    when = ""
    if first > unix_time_after_s:  # wall_s is the computer's clock: say which days
        days = sorted({datetime.fromtimestamp(t).date().isoformat() for t in (first, last)})
        when = ", " + " to ".join(days)
    fig.suptitle(f"{level.name}: where visitors walked and lingered ({_clock(total)} in "
                 f"{len(traces)} trace{'s' if len(traces) != 1 else ''}{when})",
                 fontsize=10, y=1.0 - 0.12 / fig_h, va="top")

    bx = fig.add_axes(((left + 1.0) / fig_w, bottom / fig_h, (map_w - 1.6) / fig_w, bars_h / fig_h))
    labels = [name + (" *" if note == "not in this level" else "") for name, _, note in table]
    names = [z.name for z in level.zones]
    bar_colours = [zone_colour(names.index(n)) if n in names else (0.6, 0.6, 0.6) for n, _, _ in table]
    minutes = max(s for _, s, _ in table) > 900  # a long day: the axis in minutes
    scale = 60.0 if minutes else 1.0
    seconds = [s / scale for _, s, _ in table]
    ypos = np.arange(len(table))
    bx.barh(ypos, seconds, color=bar_colours, edgecolor=(0.2, 0.2, 0.2), linewidth=0.5)
    bx.set_yticks(ypos, labels, fontsize=7.5)
    bx.invert_yaxis()
    span = max(seconds) if max(seconds) > 0 else 1.0
    bx.set_xlim(0, span * 1.25)
    for y, (_, s, _) in zip(ypos, table):
        share = 100.0 * s / total if total > 0 else 0.0
        bx.text(s / scale + span * 0.01, y, f"{_clock(s)}  ({share:.0f} %)", va="center", fontsize=7)
    bx.set_xlabel(f"time in the zone whose sound was strongest ({'minutes' if minutes else 'seconds'})"
                  + ("; * not a zone of this level" if any(n.endswith(" *") for n in labels) else ""), fontsize=8)
    bx.tick_params(axis="x", labelsize=7)
    bx.set_title("which sounds held them", fontsize=9, loc="left")
    for side in ("top", "right"):
        bx.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# The command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `trace`'s actions (plot) to its subcommand parser."""
    sub = parser.add_subparsers(dest="trace_action", metavar="ACTION", required=True)
    p = sub.add_parser("plot", help="heat map of where visitors walked and lingered (PNG)",
                       description="Draw traces (from `memoire play --trace` or the kiosk's traces/ folder) as a "
                                   "heat map of dwell time over the level's map, with the time per zone.")
    p.add_argument("traces", type=Path, nargs="+", metavar="TRACE.csv", help="trace files (all of the same level)")
    p.add_argument("--level", type=Path, required=True, help="the level the traces were walked in")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--px-per-m", type=float, default=default_px_per_m,
                   help=f"map pixels per metre (default {default_px_per_m:g})")
    p.add_argument("--cell-m", type=float, default=default_cell_m,
                   help=f"heat cell size in metres (default {default_cell_m:g})")


def run(args: argparse.Namespace) -> int:
    """Run a `memoire trace` action. Returns the exit status; raises UserError for bad input."""
    if args.trace_action != "plot":
        raise UserError(f"unknown trace action '{args.trace_action}'; use plot")
    from memoire.world.files import atomic_write_bytes, cannot_write, check_output_path

    out: Path = args.out
    if out.suffix.lower() != ".png":
        raise UserError(f"--out {out}: the picture is written as PNG; name it FILE.png")
    check_output_path(out, [("the level file", args.level), *(("a trace", t) for t in args.traces)], flag="--out")
    if not 0 < args.px_per_m <= 50:
        raise UserError(f"--px-per-m {args.px_per_m:g}: use a value in (0, 50]")
    if not 0.05 <= args.cell_m <= 20:
        raise UserError(f"--cell-m {args.cell_m:g}: use a value in 0.05..20 m")
    level = load_level(args.level)
    traces = [read_trace(p) for p in args.traces]
    for t in traces:
        check_on_map(t, level)
    png = draw_heat_map(level, traces, args.px_per_m, args.cell_m)
    try:
        atomic_write_bytes(out, png, mode=0o644)
    except OSError as e:
        raise cannot_write(out, e) from None
    print(format_table(zone_table(level, zone_dwell(traces))))
    rows = sum(len(t) for t in traces)
    print(f"wrote {out} ({rows} rows from {len(traces)} trace{'s' if len(traces) != 1 else ''})", file=sys.stderr)
    return 0
