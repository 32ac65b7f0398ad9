"""The level file on disk: Ctrl+S and its confirmation, closing with unsaved changes, and
taking in changes another program (a text editor) made to the file.

A level with problems is saved only on a second Ctrl+S within ``confirm_s``, after saying what a
running game does with it; closing with unsaved changes likewise needs a second close. The file
is written by memoire/editor/save.py (atomic, with a .bak of the previous version). The file's
modification time is checked every ``file_poll_s`` from ``Editor.tick``.

Main thread only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from memoire.editor.save import backup_path, save_level_text
from memoire.world.errors import UserError

if TYPE_CHECKING:
    from memoire.editor.session import EditorSession

confirm_s = 10.0  # a second Ctrl+S / close must come within this time to confirm
file_poll_s = 1.0  # how often the file on disk is checked for changes by another program


def file_mtime(path: Path) -> float:
    """The file's modification time (s), 0.0 when it does not exist (yet)."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


class FileSync:
    """The editor's side of the level file: pending confirmations and the last seen mtime."""

    def __init__(self, path: Path):
        self.path = path
        self.close_pending_until = 0.0  # perf_counter s; a close before this confirms
        self.save_pending_until = 0.0
        self.next_poll = 0.0
        self.disk_mtime = file_mtime(path)

    def save(self, ed: EditorSession) -> bool:
        """Ctrl+S. A level with problems is saved only on a second Ctrl+S, after saying what the
        game will do with it. Returns whether the file was written."""
        now = time.perf_counter()
        if ed.problems and now > self.save_pending_until:
            self.save_pending_until = now + confirm_s
            n = len(ed.problems)
            ed.say(f"{n} problem{'s' if n != 1 else ''} (listed on the right): a running game keeps its last good "
                   "version until they are fixed. Press Ctrl+S again to save anyway.", warn=True)
            return False
        self.save_pending_until = 0.0
        text = ed.doc.text()
        try:
            backup = save_level_text(self.path, text)
        except UserError as e:
            ed.say(str(e), warn=True)
            return False
        ed.doc.mark_saved(text)
        self.disk_mtime = file_mtime(self.path)
        ed.created = False
        note = f" (previous version in {backup.name})" if backup else ""
        state = "" if not ed.problems else f", with {len(ed.problems)} problem(s)"
        ed.say(f"saved {self.path.name}{state}{note}")
        return True

    def request_close(self, ed: EditorSession) -> None:
        """The window's close button or Ctrl+Q/W: asks first when there are unsaved changes."""
        now = time.perf_counter()
        if ed.doc.dirty and now > self.close_pending_until:
            self.close_pending_until = now + confirm_s
            ed.say("unsaved changes: close again to throw them away, or Ctrl+S to save", warn=True)
            return
        ed.running = False

    def banner(self, now: float, n_problems: int) -> str | None:
        """The red line over the map while a confirmation is pending, else None."""
        if now < self.close_pending_until:
            return "Unsaved changes. Close again to throw them away, or press Ctrl+S to save."
        if now < self.save_pending_until:
            return (f"This level has {n_problems} problem(s). Ctrl+S again saves anyway; "
                    "the game keeps its last good version.")
        return None

    def poll(self, ed: EditorSession, now: float) -> None:
        """Once a frame: every ``file_poll_s``, look for another program's change to the file."""
        if now >= self.next_poll:
            self.next_poll = now + file_poll_s
            self.check_disk(ed)

    def check_disk(self, ed: EditorSession) -> None:
        """Another program (a text editor) changed the file: take its version when we have no
        unsaved changes (undoable), else warn that saving will overwrite it."""
        m = file_mtime(self.path)
        if m == self.disk_mtime or m == 0.0:
            return
        self.disk_mtime = m
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        if text == ed.doc.saved_text:
            return
        if ed.doc.dirty or ed.doc.in_action:
            ed.say(f"{self.path.name} was changed by another program; saving here will overwrite it "
                   f"(its version is kept in {backup_path(self.path).name})", warn=True)
            return
        try:
            ed.doc.replace_text(text, "reload from disk")
        except Exception as e:
            ed.say(f"{self.path.name} was changed on disk but is not valid TOML ({e}); keeping this version",
                   warn=True)
            return
        ed.doc.mark_saved(text)
        ed.after_change()
        ed.say(f"reloaded {self.path.name}: it was changed by another program (Ctrl+Z takes it back)")
