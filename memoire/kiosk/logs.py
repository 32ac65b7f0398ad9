"""Kiosk logs: one rotating file (size-capped, a fixed number of old files) plus stderr.

The disk use is bounded by log_max_bytes x (log_backups + 1) whatever happens: a fault that
repeats every second for a week fills the current file, which rotates, and the oldest goes.
Uncaught exceptions, in the main thread or any other, are logged before Python reports them.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from pathlib import Path

from memoire.world.errors import UserError

log_file_name = "memoire.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class KioskLogs:
    """Installs the handlers on the ``memoire`` logger; ``close()`` removes them again."""

    def __init__(self, log_dir: Path | None, max_bytes: int, backups: int, *, echo: bool = True):
        self.logger = logging.getLogger("memoire")
        self.logger.setLevel(logging.INFO)
        self.handlers: list[logging.Handler] = []
        self.path: Path | None = None
        if log_dir is not None:
            try:
                log_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise UserError(f"cannot create the log folder {log_dir} ({e}); set log_dir in the kiosk config "
                                "to a writable folder") from None
            self.path = log_dir / log_file_name
            fh = logging.handlers.RotatingFileHandler(self.path, maxBytes=max_bytes, backupCount=backups,
                                                      encoding="utf-8", delay=False)
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
