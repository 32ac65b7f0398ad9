"""Saving a level without ever leaving a broken or missing file.

``save_level_text`` writes the new text to a temporary file in the same folder, flushes and
fsyncs it, copies the previous version to ``LEVEL.toml.bak`` (itself written the same way), then
renames the temporary file over the level with ``os.replace`` (atomic on POSIX and Windows when
both paths are on one file system, which a file in the same folder guarantees). A crash or an
exception at any point leaves either the old file or the new one, never a half-written one.
"""

from __future__ import annotations

from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.files import atomic_write_bytes

BACKUP_SUFFIX = ".bak"


def backup_path(path: Path) -> Path:
    """Where the previous version of ``path`` is kept: LEVEL.toml -> LEVEL.toml.bak."""
    return path.with_name(path.name + BACKUP_SUFFIX)


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
