"""The tiles tool: paint grid cells with the chosen kind (walls, ground, props) by dragging.

A whole stroke is one undo step. Shift paints paving (the eraser of walls). Keys 1-9, 0 pick
the kind; so do the swatches in the panel, coloured with the map palette. Main thread only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memoire.editor.style import (
    ACCENT_RGB,
    SWATCH_DARK_TEXT_RGB,
    SWATCH_LIGHT_TEXT_RGB,
    TILE_RGB,
)
from memoire.editor.tools.base import Options, Pointer, Tool
from memoire.editor.widgets import CentredText, Fill, OptionHit
from memoire.render.palette import PROP_RGB

if TYPE_CHECKING:
    from memoire.editor.session import EditorSession

# The kinds in swatch and key order: key 1 is the first, ..., key 0 the tenth.
TILE_ORDER = ("wall", "floor", "garden", "gate", "door", "house", "tree", "lantern", "bench", "void")
DIGIT_KEYS = "1234567890"
# A stroke is sampled every third of a cell, so a fast drag leaves no gaps.
samples_per_cell = 3
# Swatches: 5 to a row, 20 px tall, 4 px apart; light swatches get dark labels.
swatches_per_row = 5
swatch_height_px = 20
swatch_row_px = 22  # from one row of swatches to the next
swatch_gap_px = 4
swatch_ring_px = 2  # the ring around the chosen swatch, 2 px outside it
options_gap_px = 6
LIGHT_SWATCHES = ("floor", "garden", "lantern")


@dataclass
class PaintDrag:
    """A paint stroke: where the mouse was last (m) and the grid character it paints."""

    last_m: tuple[float, float]
    char: str


class TilesTool(Tool):
    name = "tiles"
    label = "Tiles (T)"
    shortcut = "t"
    help = ("Left-drag paints the chosen tile; Shift-drag paints paving (erases). Keys 1-9, 0 pick: "
            "1 wall 2 paving 3 garden 4 gate 5 door 6 house 7 tree 8 lantern 9 bench 0 void.")

    def __init__(self):
        self.tile_kind = "wall"

    def press(self, ed: EditorSession, p: Pointer) -> None:
        ed.doc.begin("erase tiles" if p.shift else f"paint {self.tile_kind}")
        d = PaintDrag(p.at_m, self.paint_char(ed, erase=p.shift))
        ed.start_drag(self, d)
        self.paint_line(ed, d, p.at_m, p.at_m)

    def drag(self, ed: EditorSession, d: PaintDrag, p: Pointer) -> None:
        self.paint_line(ed, d, d.last_m, p.at_m)
        d.last_m = p.at_m

    def key(self, ed: EditorSession, name: str) -> bool:
        if len(name) == 1 and name in DIGIT_KEYS:
            self.tile_kind = TILE_ORDER[(int(name) - 1) % len(TILE_ORDER)]
            return True
        return False

    def paint_char(self, ed: EditorSession, erase: bool) -> str:
        """The grid character for the chosen kind (paving when erasing), by the level's legend."""
        kind = "floor" if erase else self.tile_kind
        return ed.doc.char_for(kind) or "."

    def paint_line(self, ed: EditorSession, d: PaintDrag, a, b) -> None:
        """Paint every cell the segment a-b (metres) passes through."""
        cell = ed.doc.cell_m
        n = max(1, int(math.hypot(b[0] - a[0], b[1] - a[1]) / (cell / samples_per_cell)) + 1)
        cells = []
        for k in range(n + 1):
            t = k / n
            x, y = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
            c = (math.floor(x / cell), math.floor(y / cell))
            if c not in cells:
                cells.append(c)
        if ed.doc.set_cells(cells, d.char):
            ed.mark_edited()

    def choose(self, kind: str):
        def go():
            self.tile_kind = kind
        return go

    def options(self, ed: EditorSession, x: int, y: int, width_px: int, fonts) -> Options:
        Rect = ed.pg.Rect
        drawables, hits = [], []
        sw = (width_px - (swatches_per_row - 1) * swatch_gap_px) // swatches_per_row
        for k, kind in enumerate(TILE_ORDER):
            r = Rect(x + (k % swatches_per_row) * (sw + swatch_gap_px), y + (k // swatches_per_row) * swatch_row_px,
                     sw, swatch_height_px)
            drawables.append(Fill(r, PROP_RGB.get(kind, TILE_RGB[kind])))
            if kind == self.tile_kind:
                drawables.append(Fill(r.inflate(2 * swatch_ring_px, 2 * swatch_ring_px), ACCENT_RGB,
                                      width_px=swatch_ring_px))
            label = f"{DIGIT_KEYS[k]} {kind}"
            rgb = SWATCH_DARK_TEXT_RGB if kind in LIGHT_SWATCHES else SWATCH_LIGHT_TEXT_RGB
            drawables.append(CentredText(r, label, fonts.small, rgb))
            hits.append(OptionHit(r, self.choose(kind), kind))
        rows = math.ceil(len(TILE_ORDER) / swatches_per_row)
        return Options(drawables, hits, y + rows * swatch_row_px + options_gap_px)
