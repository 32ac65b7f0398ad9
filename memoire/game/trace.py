"""Visitor traces: one CSV row per frame, where the visitor stood and which sound held them.

    wall_s,sim_s,x_m,y_m,heading_deg,zone,zone_weight
    1718000000.016,12.016,35.250,9.750,90.0,pigeons,1.000

wall_s: the real time of the frame in seconds (best Unix time, ``time.time()``, so traces can be
matched with the log and the plot names the days; a clock from the first frame works too);
sim_s: the game's clock (seconds since the game started); x_m, y_m: level metres (x east,
y south); heading_deg: compass degrees, 0 = north (-y), 90 = east (+x); zone: the dominant zone
at the point (memoire/world/zones.py: the largest weight of the synth's zone blend), empty
where no zone reaches; zone_weight: its weight, 0..1.

Rows are buffered and written about once a second (one write and one flush, never a syscall
per frame), so a crash loses at most about a second. A bad path is a ``UserError`` at
``open``, before the game starts; a failure while writing (a full disk) stops the trace, not
the game: ``row``/``flush`` return the message once and ``error`` keeps it.

``memoire trace plot`` (memoire/offline/trace_plot.py) draws traces as a heat map.
Pure Python and numpy: no pygame.
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.level import Level
from memoire.world.trace import HEADER
from memoire.world.zones import dominant_zone, weight_blend

# Buffered rows are written this often (seconds, by the writer's clock): what a crash can lose.
flush_interval_s = 1.0


def _csv_field(text: str) -> str:
    """One CSV field, quoted only when it must be (a zone name with a comma or a quote)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


class TraceWriter:
    """Writes a trace file. Make one with ``TraceWriter.open``; call ``row`` each frame, ``close``
    at the end. After a write failure every call is a no-op and ``error`` says what happened."""

    def __init__(self, file, path: Path, level: Level, *, max_hz: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._file = file
        self.path = path
        self.error: str | None = None
        self.rows = 0  # rows accepted (written or buffered)
        self._buffer: list[str] = []
        self._clock = clock
        self._last_flush = clock()
        self._min_gap_s = 1.0 / max_hz if max_hz else 0.0
        self._last_sim = 0.0
        self._next_sim: float | None = None
        self.set_level(level)

    @classmethod
    def open(cls, path: str | Path, level: Level, *, append: bool = False, max_hz: float | None = None,
             clock: Callable[[], float] = time.monotonic) -> "TraceWriter":
        """Open ``path`` for a trace of ``level``; the header is written (and flushed) at once, so a
        path that cannot be written fails here. append=False replaces the file; append=True adds
        to it (the header only if it is new or empty; a torn last line from a crash is cut off),
        refusing a file that is not a trace. max_hz: at most this many rows per second of sim_s
        (None: every frame). Raises UserError naming the fix."""
        path = Path(path).expanduser()
        if path.is_dir():
            raise UserError(f"trace {path}: is a folder; give a file name such as {path / 'trace.csv'}")
        if not path.parent.is_dir():
            raise UserError(f"trace {path}: the folder {path.parent} does not exist; create it or choose another")
        if max_hz is not None and not (max_hz > 0 and math.isfinite(max_hz)):
            raise ValueError(f"max_hz must be > 0, got {max_hz}")
        try:
            if append and path.exists() and path.stat().st_size > 0:
                file = open(path, "r+b")
                _check_and_trim(file, path)
                file.seek(0, os.SEEK_END)
            else:
                file = open(path, "wb")
                file.write(HEADER.encode("utf-8"))
                file.flush()
        except UserError:
            raise
        except OSError as e:
            raise UserError(f"trace {path}: cannot write it ({e.strerror or e}); choose a writable file") from None
        return cls(file, path, level, max_hz=max_hz, clock=clock)

    def set_level(self, level: Level) -> None:
        """Take a reloaded level's zones (hot reload): later rows are computed against them."""
        self._blend = weight_blend(level)
        self._names = {name: _csv_field(name) for name in self._blend.names}

    def row(self, wall_s: float, sim_s: float, x_m: float, y_m: float, heading_rad: float) -> str | None:
        """Record one frame: the pose at (x_m, y_m) looking ``heading_rad`` (compass radians,
        0 = north = -y, as the game's heading). Returns a message the first time writing fails
        (show or log it; the trace has stopped), else None."""
        if self._file is None:
            return None
        if self._min_gap_s:  # rows due every min_gap_s of sim_s; a clock going back starts afresh
            due = self._next_sim
            if due is not None and self._last_sim <= sim_s < due - 1e-9:
                return None
            self._next_sim = due + self._min_gap_s if due is not None and due - 1e-9 <= sim_s < due + self._min_gap_s \
                else sim_s + self._min_gap_s
            self._last_sim = sim_s
        name, weight = dominant_zone(self._blend, x_m, y_m)
        heading = math.degrees(heading_rad) % 360.0
        if heading >= 359.95:  # would print as 360.0
            heading = 0.0
        self._buffer.append(f"{wall_s:.3f},{sim_s:.3f},{x_m:.3f},{y_m:.3f},{heading:.1f},"
                            f"{self._names.get(name, '') if name else ''},{weight:.3f}\n")
        self.rows += 1
        if self._clock() - self._last_flush >= flush_interval_s:
            return self.flush()
        return None

    def flush(self) -> str | None:
        """Write the buffered rows now. Returns the failure message once, as ``row``."""
        self._last_flush = self._clock()
        if self._file is None or not self._buffer:
            return None
        data = "".join(self._buffer).encode("utf-8")
        self._buffer.clear()
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as e:
            return self._fail(e)
        return None

    def close(self) -> str | None:
        """Flush and close (again: a no-op). Returns a failure message, as ``row``."""
        message = self.flush()
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError as e:
                self._file = file
                message = self._fail(e)
        return message

    def _fail(self, e: OSError) -> str:
        self.error = (f"trace {self.path}: writing stopped after {self.rows} rows ({e.strerror or e}); "
                      "the game goes on without a trace")
        file, self._file = self._file, None
        self._buffer.clear()
        try:
            file.close()
        except OSError:  # the buffered bytes cannot be written either
            pass
        return self.error

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_and_trim(file, path: Path) -> None:
    """For append: the file must start with the trace header; a last line without its newline
    (a crash or a full disk mid-write) is cut off so the next row starts on a line of its own."""
    first = file.readline()
    if first.decode("utf-8", "replace").rstrip("\r\n") != HEADER.rstrip("\n"):
        shown = first[:60].decode("utf-8", "replace").rstrip("\r\n")
        raise UserError(f"trace {path}: exists and is not a Memoire trace (its first line is '{shown}', expected "
                        f"'{HEADER.rstrip()}'); move it away or choose another file")
    end = file.seek(0, os.SEEK_END)
    back = min(end, 1 << 16)
    file.seek(end - back)
    tail = file.read(back)
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    if cut >= 0:
        file.truncate(end - back + cut + 1)
    else:  # no newline in the last 64 KiB: not one of our rows; end it rather than cut it
        file.seek(end)
        file.write(b"\n")
