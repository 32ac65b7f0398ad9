"""The tool interface: what a map tool does with the mouse and keys, and what it draws.

The editor (memoire/editor/app.py) routes input to the active tool: a left press on the map
goes to ``press``, which may start a drag (``ed.start_drag(tool, drag)`` with a small dataclass
of the tool's own); the mouse moves of that drag go to the same tool's ``drag`` and the button's
release to its ``release``, after which the editor commits the running document action as one
undo step. A tool keeps its options (the tile kind, the brush size) and its work in progress
(a polygon's corners, a path being drawn) on itself.

Main thread only: tools are called from ``Editor.handle`` and ``Editor.draw``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from memoire.editor.canvas import Canvas
    from memoire.editor.session import EditorSession
    from memoire.editor.widgets import Fonts

# How close (pixels) a click must be to a point or a line to grab it.
hit_radius_px = 9
# A press that moves less than this (level metres) is a click, not a drag.
min_drag_m = 0.3


@dataclass(frozen=True)
class Pointer:
    """The mouse over the map, as a tool sees it."""

    pos_px: tuple[int, int]  # window pixels
    at_m: tuple[float, float]  # the level point under it, snapped (EditorSession.world)
    shift: bool = False
    alt: bool = False
    double: bool = False  # the second press of a double-click


@dataclass
class Options:
    """A tool's part of the side panel (under the tool buttons): drawables, click targets, and
    the y (pixels) below them."""

    drawables: list
    hits: list
    bottom_px: int


class Tool(ABC):
    name: ClassVar[str]  # as in EditorSession.tool
    label: ClassVar[str]  # its button
    shortcut: ClassVar[str]  # the pygame key name that picks it
    help: ClassVar[str]  # the panel's text for it
    shows_path_points: ClassVar[bool] = False  # paths' points are drawn while this tool is active

    @abstractmethod
    def press(self, ed: EditorSession, p: Pointer) -> None:
        """The left button went down on the map."""

    def drag(self, ed: EditorSession, drag, p: Pointer) -> None:
        """The mouse moved during a drag this tool started."""

    def release(self, ed: EditorSession, drag, p: Pointer) -> None:
        """The left button came up, ending ``drag`` (the editor then commits the action)."""

    def key(self, ed: EditorSession, name: str) -> bool:
        """A key (pygame key name) no editor-wide binding took, while this tool is active.
        Returns whether the tool used it."""
        return False

    def finish(self, ed: EditorSession) -> bool:
        """Enter: complete the work in progress. Returns whether there was some."""
        return False

    def cancel(self, ed: EditorSession) -> bool:
        """Esc: drop the work in progress. Returns whether there was some."""
        return False

    def enter(self, ed: EditorSession) -> None:
        """This tool was picked."""

    def leave(self, ed: EditorSession) -> None:
        """Another tool was picked: end the work in progress (saying why, if it is lost)."""

    def reset(self, ed: EditorSession) -> None:
        """Undo: drop the work in progress silently (the document changes under it)."""

    def options(self, ed: EditorSession, x: int, y: int, width_px: int, fonts: Fonts) -> Options:
        """The tool's options in the panel, laid out from (x, y), ``width_px`` wide."""
        return Options([], [], y)

    def overlay(self, ed: EditorSession, canvas: Canvas) -> None:
        """Drawn over the map after the level's objects (handles, work in progress, a brush)."""
