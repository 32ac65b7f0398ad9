"""Saving a level without ever leaving a broken or missing file.

``save_level_text`` writes the new text to a temporary file in the same folder, flushes and
fsyncs it, copies the previous version to ``LEVEL.toml.bak`` (itself written the same way), then
renames the temporary file over the level with ``os.replace`` (atomic on POSIX and Windows when
both paths are on one file system, which a file in the same folder guarantees). A crash or an
exception at any point leaves either the old file or the new one, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from memoire.world.errors import UserError

BACKUP_SUFFIX = ".bak"


def backup_path(path: Path) -> Path:
    """Where the previous version of ``path`` is kept: LEVEL.toml -> LEVEL.toml.bak."""
    return path.with_name(path.name + BACKUP_SUFFIX)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` by ``data`` atomically: temporary file in the same folder, fsync, rename.

    On any failure the temporary file is removed and the exception propagates; ``path`` is
    untouched (still the old content, or still absent).
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def save_level_text(path: Path, text: str) -> Path | None:
    """Save ``text`` as the level file ``path``, keeping the previous version as LEVEL.toml.bak.

    Returns the backup's path (None when there was no previous file). Raises UserError when the
    folder cannot be written (the level file is then unchanged).
    """
    path = Path(path)
    data = text.encode("utf-8")
    backup = None
    try:
        mode = None
        if path.exists():
            old = path.read_bytes()
            mode = path.stat().st_mode & 0o7777
            if old != data:
                backup = backup_path(path)
                atomic_write_bytes(backup, old, mode)
        atomic_write_bytes(path, data, mode)
    except OSError as e:
        raise UserError(f"could not save {path}: {e.strerror or e}; the file on disk is unchanged "
                        "(check the folder exists and is writable)") from None
    return backup
