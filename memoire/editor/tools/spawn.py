"""The spawn tool: click where the visitor starts; drag from there to set the way they face
(rounded to 5 degrees). Picking the tool selects the spawn (its properties in the panel).
Main thread only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memoire.editor.tools.base import Pointer, Tool, min_drag_m

if TYPE_CHECKING:
    from memoire.editor.session import EditorSession

facing_step_deg = 5.0  # a dragged facing is rounded to this


@dataclass
class SpawnDrag:
    """The spawn was placed at ``start_m``; the drag points the way the visitor faces."""

    start_m: tuple[float, float]


class SpawnTool(Tool):
    name = "spawn"
    label = "Spawn (S)"
    shortcut = "s"
    help = "Click where the visitor starts; drag from there to set the direction they face."

    def enter(self, ed: EditorSession) -> None:
        ed.selection = ("spawn",)

    def press(self, ed: EditorSession, p: Pointer) -> None:
        ed.doc.begin("place spawn")
        ed.doc.set_spawn(p.at_m)
        ed.selection = ("spawn",)
        ed.start_drag(self, SpawnDrag(p.at_m))
        ed.mark_edited()

    def drag(self, ed: EditorSession, d: SpawnDrag, p: Pointer) -> None:
        (sx, sy), m = d.start_m, p.at_m
        if math.hypot(m[0] - sx, m[1] - sy) >= min_drag_m:
            # compass degrees: 0 = north (-y), 90 = east (+x)
            facing = math.degrees(math.atan2(m[0] - sx, -(m[1] - sy))) % 360.0
            ed.doc.set_spawn(d.start_m, round(facing / facing_step_deg) * facing_step_deg)
            ed.mark_edited()
