"""Files written whole or not at all: one atomic-write helper for every file Memoire writes.

A temporary file in the same folder, fsync, then ``os.replace`` over the target (atomic on POSIX
and Windows when both are on one file system), then the folder fsynced so the rename survives a
power cut. A crash or a full disk leaves the old file (or none), never a torn one.

And the checks every command makes of an output a user names, before any work: never one of its
inputs (``check_output_path``, by inode: symlinks and hard links count), never a folder or a
device, in a folder it can write; and a failed write said in words (``cannot_write``: "cannot
write walk.wav: the disk is full (No space left on device); free some space or write elsewhere").
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from memoire.world.errors import UserError


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


# -- outputs a user names ---------------------------------------------------------------------------

def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file: the same inode (hard links, symlinks) or, where either
    does not exist yet, the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        pass
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):  # a symlink loop: not an input we could have read
        return False


def check_output_path(out, inputs=(), *, flag: str = "--out", device_ok: bool = False,
                      folder_made: bool = False) -> Path:
    """Check a file a command is about to write, before any work is done. Raises UserError
    (exit 2) when it is one of the command's ``inputs`` (by inode: symlinks and hard links count),
    a folder, a device or other non-file (unless ``device_ok``), or in a folder that is missing or
    cannot be written.

    ``inputs``: paths, or ``(what, path)`` pairs ("the model", path) for a clearer message; None
    entries are skipped. ``folder_made``: the command makes the folder (not checked). Returns
    ``out`` as a Path."""
    out = Path(out)
    name = f"{flag} {out}" if flag else str(out)
    for item in inputs:
        what, path = item if isinstance(item, tuple) else ("an input", item)
        if path is None:
            continue
        if _same_file(out, Path(path)):
            raise UserError(f"{name} is {what} ({path}): writing it would destroy that file; give another "
                            "output file")
    if out.is_dir():
        raise UserError(f"{name} is a folder; give a file name (in it, or elsewhere)")
    if out.exists() and not out.is_file() and not device_ok:
        raise UserError(f"{name} is not a regular file (a device, pipe or socket); give a file name")
    folder = out.parent if str(out.parent) else Path(".")
    if folder_made and not folder.exists():
        return out
    if not folder.exists():
        raise UserError(f"{name}: the folder {folder} does not exist; create it or write elsewhere")
    if not folder.is_dir():
        raise UserError(f"{name}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{name}: cannot write in the folder {folder} (permission denied or a read-only "
                        "disk); write elsewhere")
    return out


# A disk with less free space than this after a failed write is taken to be full (libsndfile's
# errors carry no errno: "System error.").
full_disk_bytes = 1 << 20


def disk_free_bytes(path) -> int | None:
    """Free space for an ordinary user on the disk holding ``path`` (its folder if it does not
    exist); None when it cannot be told."""
    p = Path(path)
    for candidate in (p, p.parent if str(p.parent) else Path(".")):
        try:
            st = os.statvfs(candidate)
        except (OSError, AttributeError):
            continue
        return st.f_bavail * st.f_frsize
    return None


def is_write_failure(e: BaseException) -> bool:
    """An OSError of the disk rather than of the input: full, read-only, too large, I/O."""
    import errno

    return getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO)


def why_not_written(e: BaseException, path=None, *, verb: str = "write") -> str:
    """A failed write as words for the person at the keyboard: what happened and what to do.
    ``e``: an OSError (its errno), or another error (soundfile's) for which the disk of ``path``
    is looked at: nearly no space left there reads as a full disk. ``verb``: "or {verb} elsewhere"."""
    import errno

    code = getattr(e, "errno", None)
    raw = (getattr(e, "strerror", None) or str(e).strip() or type(e).__name__).rstrip(".")
    if code is None and path is not None:
        p = Path(path)
        if p.exists() and not p.is_file():
            return f"it is a device or a pipe, not a file ({raw}); {verb} to a file"
        free = disk_free_bytes(path)
        if free is not None and free < full_disk_bytes:
            code, raw = errno.ENOSPC, os.strerror(errno.ENOSPC)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full ({raw}); free some space or {verb} elsewhere"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied ({raw}); {verb} to a folder you own"
    if code == errno.EROFS:
        return f"the disk is read-only ({raw}); {verb} elsewhere"
    if code == errno.EISDIR:
        return f"it is a folder ({raw}); give a file name"
    if code == errno.ENOTDIR:
        return f"a part of the path is a file, not a folder ({raw})"
    if code == errno.ENOENT:
        return f"the folder does not exist ({raw}); create it or {verb} elsewhere"
    if code == errno.EFBIG:
        return f"the file is too large for this disk ({raw})"
    if code == errno.EIO:
        return f"the disk reported an input/output error ({raw}); check the disk"
    return raw


def cannot_write(path, e: BaseException, *, verb: str = "write") -> UserError:
    """The UserError for a failed write of ``path``: "cannot write walk.wav: the disk is full ..."."""
    return UserError(f"cannot write {path}: {why_not_written(e, path, verb=verb)}")


def level_inputs(level, model=None) -> list[tuple[str, Path]]:
    """The files a command reads through a level (the level file, its clips, its terrain, the
    model): the ``inputs`` of ``check_output_path`` for commands that take a level."""
    items: list[tuple[str, Path]] = [("the level file", Path(level.path))]
    if model is not None:
        items.append(("the model", Path(model)))
    for zone in getattr(level, "zones", ()):
        clip = getattr(zone.anchor, "clip", None)
        if clip is not None:
            items.append((f"zone {zone.name}'s clip", Path(clip)))
    for trajectory in getattr(level, "trajectories", ()):
        items.append(("a trajectory's clip", Path(trajectory.clip)))
    terrain = getattr(level, "terrain", None)
    if terrain is not None and getattr(terrain, "source_path", None) is not None:
        items.append(("the level's terrain", Path(terrain.source_path)))
    return items
