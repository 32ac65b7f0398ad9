"""Kiosk logs: one rotating file (size-capped, a fixed number of old files) plus stderr.

The disk use is bounded by log_max_bytes x (log_backups + 1) whatever happens: a fault that
repeats every second for a week fills the current file, which rotates, and the oldest goes.
Uncaught exceptions, in the main thread or any other, are logged before Python reports them.

Visitor traces ([kiosk] trace = true): one CSV a day, ``traces/YYYY-MM-DD.csv`` in the log
folder (local date), appended to when the kiosk restarts the same day; ``DayTrace`` moves to
the next day's file at midnight. See memoire/game/trace.py for the columns.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

from memoire.game.trace import TraceWriter
from memoire.world.errors import UserError
from memoire.world.files import why_not_written
from memoire.world.level import Level

log_file_name = "memoire.log"
traces_folder_name = "traces"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


_fix = "set log_dir in the kiosk config to a folder this user can write"


def _ready_folder(folder: Path, what: str, fix: str) -> None:
    """Make ``folder`` if missing; raise UserError (what is wrong, what to do) if it is a file,
    cannot be made, or cannot be written."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"the {what} {folder} is a file, not a folder; move that file away, or {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the {what} {folder}: {why_not_written(e)}; {fix}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write in the {what} {folder} (permission denied or a read-only disk); "
                        f"give this user write access to it, or {fix}")


def _ready_file(path: Path, what: str, fix: str) -> None:
    """An existing ``path`` must be a regular file this user can write."""
    if path.is_dir():
        raise UserError(f"the {what} {path} is a folder, not a file; move or remove that folder, or {fix}")
    if path.exists() and not path.is_file():
        raise UserError(f"the {what} {path} is not a regular file (a device or a pipe); remove it, or {fix}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"cannot write the {what} {path} (permission denied); give this user write access "
                        f"to it, or {fix}")


def check_log_folder(log_dir: Path, backups: int = 0) -> None:
    """The log folder and its files, before the kiosk starts: made if missing; a file where the
    folder should be, a folder where a log file should be (the current one or a rotated one), or
    a folder or file this user cannot write is a UserError saying which path and what to do."""
    log_dir = Path(log_dir)
    _ready_folder(log_dir, "log folder", _fix)
    _ready_file(log_dir / log_file_name, "log file", _fix)
    for i in range(1, max(0, int(backups)) + 1):  # rotation renames over these: a folder there breaks it
        _ready_file(log_dir / f"{log_file_name}.{i}", "old log file", _fix)


def check_trace_folder(log_dir: Path, day: date | None = None) -> Path:
    """The visitor traces' folder (log_dir/traces) and the day's file, before the kiosk starts:
    as ``check_log_folder``. Returns the day's trace path."""
    fix = f"{_fix}, or set trace = false"
    folder = Path(log_dir) / traces_folder_name
    _ready_folder(folder, "trace folder", fix)
    path = folder / f"{(day or date.today()).isoformat()}.csv"
    _ready_file(path, "trace file", fix)
    return path


class KioskLogs:
    """Installs the handlers on the ``memoire`` logger; ``close()`` removes them again."""

    def __init__(self, log_dir: Path | None, max_bytes: int, backups: int, *, echo: bool = True):
        self.logger = logging.getLogger("memoire")
        self.logger.setLevel(logging.INFO)
        self.handlers: list[logging.Handler] = []
        self.path: Path | None = None
        if log_dir is not None:
            log_dir = Path(log_dir)
            check_log_folder(log_dir, backups)
            self.path = log_dir / log_file_name
            try:
                fh = logging.handlers.RotatingFileHandler(self.path, maxBytes=max_bytes, backupCount=backups,
                                                          encoding="utf-8", delay=False)
            except OSError as e:
                raise UserError(f"cannot write the log file {self.path}: {why_not_written(e)}; {_fix}") from None
            fh.setFormatter(logging.Formatter(_FORMAT))
            self.handlers.append(fh)
        if echo:
            sh = logging.StreamHandler(sys.stderr)
            sh.setFormatter(logging.Formatter("memoire: %(message)s"))
            self.handlers.append(sh)
        for h in self.handlers:
            self.logger.addHandler(h)
        self._old_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def _excepthook(self, kind, value, tb) -> None:
        self.logger.critical("uncaught exception", exc_info=(kind, value, tb))
        self._old_hooks[0](kind, value, tb)

    def _thread_excepthook(self, args) -> None:
        self.logger.critical("uncaught exception in thread %s", getattr(args.thread, "name", "?"),
                             exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    def close(self) -> None:
        sys.excepthook, threading.excepthook = self._old_hooks
        for h in self.handlers:
            self.logger.removeHandler(h)
            h.close()
        self.handlers.clear()


def day_trace_path(log_dir: Path, day: date | None = None) -> Path:
    """The day's trace file, log_dir/traces/YYYY-MM-DD.csv (``day``: today, local time);
    the traces folder is made if missing. Raises UserError when it cannot be."""
    return check_trace_folder(log_dir, day)


class DayTrace:
    """A trace that follows the calendar: rows go to the file of the day they are written (local
    time, by ``today``), appended to what an earlier run of the same day wrote, header once per
    file. Same calls as ``TraceWriter``: ``row``, ``set_level``, ``close``, ``error``."""

    def __init__(self, log_dir: Path, level: Level, *, max_hz: float | None = None,
                 today: Callable[[], date] = date.today):
        self.log_dir = Path(log_dir)
        self.max_hz = max_hz
        self._level = level
        self._today = today
        self.day = today()
        self.writer: TraceWriter | None = TraceWriter.open(day_trace_path(self.log_dir, self.day), level,
                                                           append=True, max_hz=max_hz)
        self.error: str | None = None

    @property
    def path(self) -> Path | None:
        return self.writer.path if self.writer is not None else None

    def set_level(self, level: Level) -> None:
        self._level = level
        if self.writer is not None:
            self.writer.set_level(level)

    def row(self, wall_s: float, sim_s: float, x_m: float, y_m: float, heading_rad: float) -> str | None:
        """As ``TraceWriter.row``; at the first row of a new day the old file is closed and the new
        day's opened. Returns a message once when the trace stops (disk full, folder gone)."""
        if self.writer is None:
            return None
        day = self._today()
        if day != self.day:
            message = self.writer.close()
            self.day = day
            try:
                self.writer = TraceWriter.open(day_trace_path(self.log_dir, day), self._level, append=True,
                                               max_hz=self.max_hz)
            except UserError as e:
                self.writer = None
                message = message or str(e)
            if message:
                return self._stop(message)
        message = self.writer.row(wall_s, sim_s, x_m, y_m, heading_rad)
        return self._stop(message) if message else None

    def close(self) -> str | None:
        if self.writer is None:
            return None
        message = self.writer.close()
        return self._stop(message) if message else None

    def _stop(self, message: str) -> str:
        if self.writer is not None:
            self.writer.close()
        self.writer = None
        self.error = message
        return message
