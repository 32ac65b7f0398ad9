"""Where the sound is, for the editor: the level's rooms, the gates and doors between them
(portals), and each zone's emitters (memoire/world/acoustics.py, the same model the synth uses).

``SpatialLayer`` keeps an ``Acoustics`` built from the editor's last playable level, rebuilt when
that level changes (``Acoustics.build`` costs ~30 ms on the default level on the 2-core test
machine: once per new version, never per frame). ``EditorSession.zone_emitters`` says where a
zone's sound comes from now (a ``ZoneEmitters``); memoire/editor/scene.py draws the rooms, the
portals and the emitters; the zones tool drags the designer's emitter points.

Main thread only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from memoire.world.acoustics import Acoustics
from memoire.world.level import Level


@dataclass(frozen=True)
class ZoneEmitters:
    """Where one zone's sound comes from now. ``mode``: "points" (the designer's ``emitters``,
    draggable), "center", "nearest" (the zone's point nearest the mouse) or "path" (moving along
    ``path_name``: ``path_xy`` is its polyline)."""

    mode: str
    points: tuple[tuple[float, float], ...]
    path_name: str = ""
    path_xy: tuple[tuple[float, float], ...] = ()

    @property
    def draggable(self) -> bool:
        return self.mode == "points"


class SpatialLayer:
    """The acoustics of the editor's last playable level, built on demand."""

    def __init__(self) -> None:
        self._level: Level | None = None
        self._acoustics: Acoustics | None = None
        self.error = ""  # why the acoustics could not be built (said in the panel), else ""
        self.started_s = time.perf_counter()  # moving emitters ride their paths on this clock

    def acoustics(self, level: Level | None) -> Acoustics | None:
        """The acoustics of ``level`` (the same object as last time while the level is)."""
        if level is not self._level:
            self._level, self._acoustics, self.error = level, None, ""
            if level is not None:
                try:
                    self._acoustics = Acoustics.build(level)
                except Exception as e:  # a bad materials table must not take the editor down
                    self.error = f"rooms unavailable: {type(e).__name__}: {e}"
        return self._acoustics

    def clock_s(self) -> float:
        """Seconds on the moving emitters' clock (the game's runs from the level's load; here
        from the editor's start)."""
        return time.perf_counter() - self.started_s


def emitter_pairs(v) -> tuple[tuple[float, float], ...] | None:
    """A zone's ``emitters`` value as ((x, y), ...) numbers, else None (the file may be half-valid)."""
    if not isinstance(v, list) or not v:
        return None
    try:
        return tuple((float(p[0]), float(p[1])) for p in v)
    except (TypeError, ValueError, IndexError, KeyError):
        return None
