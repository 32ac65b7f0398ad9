"""The eraser: a round brush that deletes the zones whose anchor dot it touches and the path
points under it (a path left with one point goes); with Shift it keeps the zones and gives them
the level's rest sound instead. ``[`` and ``]`` size the brush (in any tool).

One stroke is one undo step. The brush is drawn at the mouse as the tool's overlay. Main thread
only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memoire.editor import pathedit as pe
from memoire.editor.document import PATH_KINDS
from memoire.editor.style import OUTLINE_RGB, TEXT_RGB, WHITE_RGB
from memoire.editor.tools.base import Options, Pointer, Tool
from memoire.editor.widgets import Text

if TYPE_CHECKING:
    from memoire.editor.canvas import Canvas
    from memoire.editor.session import EditorSession

default_radius_m = 1.5
min_radius_m = 0.25
max_radius_m = 20.0
radius_factor = 1.25  # per [ or ] press
min_points = 2  # a path needs two points; fewer and it is deleted
brush_line_px = 1
brush_rim_px = 3  # the dark ring under the white one, readable on any ground
options_gap_px = 4


@dataclass
class EraseDrag:
    """A brush stroke; ``reset``: give zones the rest sound rather than deleting them."""

    reset: bool


class EraserTool(Tool):
    name = "eraser"
    label = "Eraser (E)"
    shortcut = "e"
    help = ("Brush over a zone's anchor dot to delete the zone, over a path point to delete the point. "
            "Shift: keep the zones, reset their sound to the level's rest sound. [ and ] size the brush.")
    shows_path_points = True

    def __init__(self):
        self.radius_m = default_radius_m

    def press(self, ed: EditorSession, p: Pointer) -> None:
        ed.doc.begin("reset anchors" if p.shift else "erase anchors")
        d = EraseDrag(p.shift)
        ed.start_drag(self, d)
        self.erase_at(ed, p.at_m, d.reset)

    def drag(self, ed: EditorSession, d: EraseDrag, p: Pointer) -> None:
        self.erase_at(ed, p.at_m, d.reset)

    def shrink(self) -> None:
        self.radius_m = max(min_radius_m, self.radius_m / radius_factor)

    def grow(self) -> None:
        self.radius_m = min(max_radius_m, self.radius_m * radius_factor)

    def erase_at(self, ed: EditorSession, m, reset: bool) -> None:
        """Delete (or, with ``reset``, give the rest sound to) the zones whose anchor dot is under
        the brush, and delete path points under it (a path left with one point goes)."""
        r = self.radius_m
        doc = ed.doc
        changed = False
        rest = ed.rest_anchor()
        for i in reversed(range(len(doc.items("zones")))):
            mk = ed.zone_marker(i)
            if mk is None or math.hypot(mk[0] - m[0], mk[1] - m[1]) > r:
                continue
            if reset:
                if ed.zone_data(i).get("anchor") != rest:
                    doc.set_value(doc.item_table("zones", i), "anchor", rest)
                    changed = True
            else:
                doc.delete_table("zones", i)
                changed = True
        for key in PATH_KINDS:
            for i in reversed(range(len(doc.items(key)))):
                nodes = ed.path_nodes(key, i)
                if nodes is None:
                    continue
                keep = [n for n in nodes if math.hypot(n.anchor[0] - m[0], n.anchor[1] - m[1]) > r]
                if len(keep) == len(nodes):
                    continue
                if len(keep) < min_points:
                    doc.delete_table(key, i)
                else:
                    doc.set_path_points(key, i, pe.points_from_nodes(keep))
                changed = True
        if changed:
            ed.mark_edited()
            ed.clamp_selection()

    def options(self, ed: EditorSession, x: int, y: int, width_px: int, fonts) -> Options:
        s = f"brush radius {self.radius_m:.2f} m"
        return Options([Text((x, y), s, fonts.small, TEXT_RGB)], [], y + fonts.small.size(s)[1] + options_gap_px)

    def overlay(self, ed: EditorSession, canvas: Canvas) -> None:
        if not ed.in_map(ed.mouse_px):
            return
        r = int(self.radius_m * ed.view.px_per_m)
        canvas.pg.draw.circle(canvas.screen, OUTLINE_RGB, ed.mouse_px, r + 1, brush_rim_px)
        canvas.pg.draw.circle(canvas.screen, WHITE_RGB, ed.mouse_px, r, brush_line_px)
