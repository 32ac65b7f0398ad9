"""The zones tool: draw sound zones (circles by dragging, polygons corner by corner), move them,
resize them with their handles, reshape polygons.

Drags: ``NewCircleDrag`` (from empty ground), ``MoveZoneDrag`` (a zone or its dot),
``ResizeDrag`` (a circle's inner radius), ``FalloffDrag`` (where its sound fades out) and
``VertexDrag`` (a polygon's corner) and ``EmitterDrag`` (one of the selected zone's ``emitters``
points: refused outside the zone's inner region, with the loader's own words). The selected
zone's handles are drawn as the tool's overlay. Main thread only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from memoire.editor.geometry import segment_distance
from memoire.editor.session import default_falloff_m, min_falloff_m
from memoire.editor.style import (
    ACCENT_RGB,
    ACTIVE_RGB,
    BUTTON_ON_RGB,
    BUTTON_RGB,
    TEXT_RGB,
    WHITE_RGB,
)
from memoire.editor.tools.base import Options, Pointer, Tool, hit_radius_px, min_drag_m
from memoire.editor.widgets import CentredText, Fill, OptionHit
from memoire.world.level import Circle, Polygon, emitter_outside_message

if TYPE_CHECKING:
    from memoire.editor.canvas import Canvas
    from memoire.editor.session import EditorSession

ZONE_MODES = ("circle", "polygon")
min_corners = 3
# A press on a zone becomes a move once the mouse has gone this far (pixels): a click only selects.
move_threshold_px = 3
falloff_decimals = 2  # falloff_m is written to the centimetre
handle_px = 10  # a handle's square
progress_line_px = 2  # the polygon being drawn: its edges and corner dots
progress_dot_px = 4
# The drawing mode buttons: two side by side, 22 px tall, 4 px apart.
mode_button_height_px = 22
mode_button_gap_px = 4
mode_button_radius_px = 4
options_height_px = 28
# An emitter this far outside its zone's inner region (metres) is outside: the loader's tolerance
# (memoire/world/level.py _read_zone_emitters), so what the editor accepts the loader accepts.
outside_tolerance_m = 1e-6


@dataclass
class NewCircleDrag:
    """A drag from empty ground: the zone is created once the drag is ``min_drag_m`` long."""

    start_m: tuple[float, float]
    created: bool = False
    i: int | None = None


@dataclass
class MoveZoneDrag:
    i: int
    start_m: tuple[float, float]
    orig: dict  # the zone's table before the drag: every step moves from there
    begun: bool = False  # the document action starts with the first real move


@dataclass
class ResizeDrag:
    """A circle's inner radius handle."""

    i: int
    label: ClassVar[str] = "resize zone"


@dataclass
class FalloffDrag:
    i: int
    label: ClassVar[str] = "change falloff"


@dataclass
class VertexDrag:
    """A polygon's corner ``k``."""

    i: int
    k: int
    label: ClassVar[str] = "move corner"


@dataclass
class EmitterDrag:
    """The selected zone's emitter point ``k`` (its ``emitters`` list)."""

    i: int
    k: int
    refused: bool = False  # the mouse left the zone during this drag (said once)
    label: ClassVar[str] = "move emitter"


HandleDrag = ResizeDrag | FalloffDrag | VertexDrag | EmitterDrag


@dataclass(frozen=True)
class ZoneHandle:
    """A point of the selected zone that can be dragged, and the drag it starts."""

    at_m: tuple[float, float]
    drag: HandleDrag


def zone_handles(ed: EditorSession, i: int) -> list[ZoneHandle]:
    """Handles of a zone: its emitter points (the designer's ``emitters``; computed ones are
    not handles), a circle's radius and falloff, a polygon's corners and falloff."""
    shape = ed.zone_shape(i)
    f = ed.zone_falloff(i)
    out = []
    e = ed.zone_emitters(i)
    if e is not None and e.draggable:
        out.extend(ZoneHandle(p, EmitterDrag(i, k)) for k, p in enumerate(e.points))
    if isinstance(shape, Circle):
        cx, cy = shape.center
        out.append(ZoneHandle((cx + shape.radius_m, cy), ResizeDrag(i)))
        out.append(ZoneHandle((cx + shape.radius_m + f, cy), FalloffDrag(i)))
    elif isinstance(shape, Polygon):
        for k, p in enumerate(shape.points):
            out.append(ZoneHandle(p, VertexDrag(i, k)))
        _, y0, x1, y1 = shape.bounds()
        out.append(ZoneHandle((x1 + f, (y0 + y1) / 2), FalloffDrag(i)))
    return out


def zone_at(ed: EditorSession, pos) -> int | None:
    """The zone under a screen point: its anchor dot first, then its inner region (topmost =
    last in the file)."""
    n = len(ed.doc.items("zones"))
    for i in reversed(range(n)):
        mk = ed.zone_marker(i)
        if mk is not None and ed.px_dist(mk, pos) <= hit_radius_px:
            return i
    m = np.array([ed.world(pos)])
    for i in reversed(range(n)):
        shape = ed.zone_shape(i)
        if shape is not None and float(np.ravel(shape.distance_outside(m))[0]) <= 0.0:
            return i
    return None


class ZonesTool(Tool):
    name = "zones"
    label = "Zones (Z)"
    shortcut = "z"
    help = ("Drag on empty ground: a new circle zone (Tab: polygons - click corners, Enter or a click "
            "on the first corner closes). Drag a zone or its dot to move it; drag the handles to resize "
            "(inner radius, falloff) or reshape; Shift+click an edge adds a corner; Delete removes. "
            "A selected zone's filled diamonds are its emitters (where its sound comes from): drag them.")

    def __init__(self):
        self.mode = "circle"  # what a press on empty ground draws: "circle" | "polygon"
        self.poly_points: list[tuple[float, float]] = []  # corners of the polygon being drawn (m)

    # -- the mouse ---------------------------------------------------------------------------------

    def press(self, ed: EditorSession, p: Pointer) -> None:
        sel = ed.selection
        pos, m = p.pos_px, p.at_m
        if sel and sel[0] == "zone":
            i = sel[1]
            for h in zone_handles(ed, i):
                if ed.px_dist(h.at_m, pos) <= hit_radius_px:
                    if isinstance(h.drag, VertexDrag):
                        ed.sel_vertex = h.drag.k
                    ed.doc.begin(h.drag.label)
                    ed.start_drag(self, h.drag)
                    return
            shape = ed.zone_shape(i)
            if p.shift and isinstance(shape, Polygon) and self.add_corner(ed, i, shape, pos, m):
                return
        if self.poly_points:
            if len(self.poly_points) >= min_corners and (p.double or ed.px_dist(self.poly_points[0], pos) <= hit_radius_px):
                self.finish_polygon(ed)
            else:
                self.poly_points.append(m)
            return
        hit = zone_at(ed, pos)
        if hit is not None:
            ed.selection = ("zone", hit)
            ed.sel_vertex = None
            ed.start_drag(self, MoveZoneDrag(hit, m, dict(ed.zone_data(hit))))
            return
        ed.selection = None
        if self.mode == "circle":
            ed.start_drag(self, NewCircleDrag(m))
        else:
            self.poly_points = [m]

    def add_corner(self, ed: EditorSession, i: int, shape: Polygon, pos, m) -> bool:
        """Shift+click on an edge of the selected polygon: a new corner there, grabbed at once."""
        pts = list(shape.points)
        for k in range(len(pts)):
            a, b = pts[k], pts[(k + 1) % len(pts)]
            sa, sb = ed.view.to_screen(*a), ed.view.to_screen(*b)
            if segment_distance(pos, sa, sb) <= hit_radius_px:
                ed.doc.begin("add corner")
                pts.insert(k + 1, m)
                ed.doc.set_zone_points(i, pts)
                ed.sel_vertex = k + 1
                ed.start_drag(self, VertexDrag(i, k + 1))
                ed.mark_edited()
                return True
        return False

    def drag(self, ed: EditorSession, d, p: Pointer) -> None:
        m = p.at_m
        doc = ed.doc
        match d:
            case NewCircleDrag():
                r = math.hypot(m[0] - d.start_m[0], m[1] - d.start_m[1])
                if not d.created:
                    if r < min_drag_m:
                        return
                    doc.begin("draw zone")
                    i = doc.add_circle_zone(ed.new_zone_name(), d.start_m, r, default_falloff_m, ed.next_anchor())
                    d.created, d.i = True, i
                    ed.selection = ("zone", i)
                else:
                    doc.set_zone_circle(d.i, radius_m=r)
            case MoveZoneDrag():
                dx, dy = m[0] - d.start_m[0], m[1] - d.start_m[1]
                if not d.begun:
                    if math.hypot(dx, dy) * ed.view.px_per_m < move_threshold_px:
                        return
                    doc.begin("move zone")
                    d.begun = True
                doc.move_zone(d.i, dx, dy, d.orig)
            case ResizeDrag():
                shape = ed.zone_shape(d.i)
                if isinstance(shape, Circle):
                    doc.set_zone_circle(d.i, radius_m=math.hypot(m[0] - shape.center[0], m[1] - shape.center[1]))
            case FalloffDrag():
                shape = ed.zone_shape(d.i)
                if isinstance(shape, Circle):
                    f = math.hypot(m[0] - shape.center[0], m[1] - shape.center[1]) - shape.radius_m
                elif isinstance(shape, Polygon):
                    f = float(np.ravel(shape.distance_outside(np.array([m])))[0])
                else:
                    return
                doc.set_value(doc.item_table("zones", d.i), "falloff_m", round(max(min_falloff_m, f), falloff_decimals))
            case VertexDrag():
                pts = list(ed.zone_data(d.i).get("points", []))
                if d.k < len(pts):
                    pts[d.k] = m
                    doc.set_zone_points(d.i, pts)
            case EmitterDrag():
                e = ed.zone_emitters(d.i)
                shape = ed.zone_shape(d.i)
                if e is None or not e.draggable or d.k >= len(e.points) or shape is None:
                    return
                if float(np.ravel(shape.distance_outside(np.array([m])))[0]) > outside_tolerance_m:
                    if not d.refused:  # the emitter stays at its last place inside the zone
                        ed.say(f"zone '{ed.zone_data(d.i).get('name', '?')}': {emitter_outside_message(*m)}",
                               warn=True)
                        d.refused = True
                    return
                pts = list(e.points)
                pts[d.k] = m
                doc.set_zone_emitters(d.i, pts)
        ed.mark_edited()

    def release(self, ed: EditorSession, d, p: Pointer) -> None:
        if isinstance(d, NewCircleDrag) and not d.created:
            ed.selection = None  # a click on empty ground: deselect

    # -- keys and work in progress -------------------------------------------------------------------

    def toggle_mode(self, ed: EditorSession) -> None:
        """Tab (in any tool): circles <-> polygons."""
        self.mode = "polygon" if self.mode == "circle" else "circle"
        self.poly_points = []
        ed.say(f"zone tool draws {self.mode}s")

    def finish_polygon(self, ed: EditorSession) -> None:
        pts, self.poly_points = self.poly_points, []
        if len(pts) < min_corners:
            ed.say("a polygon zone needs at least 3 corners", warn=True)
            return
        with ed.doc.edit("draw zone"):
            i = ed.doc.add_polygon_zone(ed.new_zone_name(), pts, default_falloff_m, ed.next_anchor())
        ed.selection = ("zone", i)
        ed.say("draw zone")
        ed.after_change()

    def finish(self, ed: EditorSession) -> bool:
        if not self.poly_points:
            return False
        self.finish_polygon(ed)
        return True

    def cancel(self, ed: EditorSession) -> bool:
        if not self.poly_points:
            return False
        self.poly_points = []
        return True

    def leave(self, ed: EditorSession) -> None:
        self.poly_points = []

    def reset(self, ed: EditorSession) -> None:
        self.poly_points = []

    # -- the panel and the map -----------------------------------------------------------------------

    def choose(self, mode: str):
        def go():
            self.mode = mode
        return go

    def options(self, ed: EditorSession, x: int, y: int, width_px: int, fonts) -> Options:
        drawables, hits = [], []
        half = width_px // 2
        for k, mode in enumerate(ZONE_MODES):
            r = ed.pg.Rect(x + k * (half + mode_button_gap_px // 2), y, half - mode_button_gap_px // 2,
                           mode_button_height_px)
            drawables.append(Fill(r, BUTTON_ON_RGB if mode == self.mode else BUTTON_RGB,
                                  radius_px=mode_button_radius_px))
            drawables.append(CentredText(r, f"draw {mode}s", fonts.small, TEXT_RGB))
            hits.append(OptionHit(r, self.choose(mode), mode))
        return Options(drawables, hits, y + options_height_px)

    def overlay(self, ed: EditorSession, canvas: Canvas) -> None:
        pg, scr, to_s = canvas.pg, canvas.screen, ed.view.to_screen
        sel = ed.selection
        if sel and sel[0] == "zone":
            for h in zone_handles(ed, sel[1]):
                active = isinstance(h.drag, VertexDrag) and h.drag.k == ed.sel_vertex
                if isinstance(h.drag, EmitterDrag):
                    continue  # drawn with every zone's emitters (memoire/editor/scene.py)
                fill = ACCENT_RGB if isinstance(h.drag, FalloffDrag) else WHITE_RGB
                canvas.marker_square(to_s(*h.at_m), handle_px, ACTIVE_RGB if active else fill)
        if self.poly_points:
            pts = [to_s(*p) for p in self.poly_points] + [ed.mouse_px]
            pg.draw.lines(scr, ACCENT_RGB, False, pts, progress_line_px)
            for p in pts[:-1]:
                pg.draw.circle(scr, ACCENT_RGB, p, progress_dot_px)
