"""Files written whole or not at all: one atomic-write helper for every file Memoire writes.

A temporary file in the same folder, fsync, then ``os.replace`` over the target (atomic on POSIX
and Windows when both are on one file system), then the folder fsynced so the rename survives a
power cut. A crash or a full disk leaves the old file (or none), never a torn one.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def fsync_dir(folder: Path) -> None:
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
    """Replace ``path`` by ``data`` atomically (``atomic_output``; ``mode`` 0o644 unless given).

    On any failure the temporary file is removed and the exception propagates; ``path`` is
    untouched (still the old content, or still absent).
    """
    with atomic_output(path, mode=mode) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8", mode: int | None = None) -> None:
    """``atomic_write_bytes`` of ``text`` encoded (UTF-8 by default)."""
    atomic_write_bytes(path, text.encode(encoding), mode)


@contextmanager
def atomic_output(path: Path, *, mode: int | None = None):
    """A temporary path beside ``path`` for a writer that needs a file name (soundfile, ffmpeg,
    torch.save); on a clean exit it is fsynced and renamed over ``path``, on an exception removed.

        with atomic_output(out) as tmp:
            sf.write(tmp, audio, rate)
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 if mode is None else mode)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(path.parent)
