"""The paths tool: draw Bezier tours with a pen (click to place points, drag to pull out their
handles, Enter ends), and edit them: drag points and handles (Alt: one handle alone),
Shift+click the curve to add a point, double-click a point to make it smooth or a corner.

Drags: ``PenDrag`` (the point being placed), ``PathNodeDrag`` (a point), ``PathHandleDrag`` (a
handle). The selected path's handles and the pen's rubber band are the tool's overlay. Editing
works on pathedit's Nodes (memoire/editor/pathedit.py). Main thread only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memoire.editor import pathedit as pe
from memoire.editor.document import PATH_KINDS
from memoire.editor.style import (
    ACCENT_RGB,
    ACTIVE_RGB,
    HANDLE_LINE_RGB,
    OUTLINE_RGB,
    PATH_RGB,
    TOUR_RGB,
)
from memoire.editor.tools.base import Pointer, Tool, hit_radius_px

if TYPE_CHECKING:
    from memoire.editor.canvas import Canvas
    from memoire.editor.session import EditorSession

NEW_PATH_KEY = "tours"  # the pen draws tours; the panel turns one into a trajectory
NEW_PATH_NAME = "tour"
# The pen pulls out handles once the mouse is this far (pixels) from the point being placed.
pen_drag_px = 4
# Drawing (pixels): the selected path's points and handles; the pen's first point.
selected_point_px = 9
handle_dot_px = 4
handle_rim_px = 1
handle_line_px = 1
pen_line_px = 1
pen_dot_px = 5


@dataclass
class Pen:
    """A path being drawn: its index once it has two points, and its points so far."""

    index: int | None = None
    nodes: list[pe.Node] = field(default_factory=list)


@dataclass
class PenDrag:
    """The point being placed at ``anchor``; dragging pulls out its handles."""

    anchor: tuple[float, float]
    node: pe.Node


@dataclass
class PathNodeDrag:
    key: str
    i: int
    k: int
    orig: list[pe.Node]  # the path before the drag: every step moves from there


@dataclass
class PathHandleDrag:
    key: str
    i: int
    k: int
    which: str  # "in" | "out", as pathedit.move_handle takes it
    orig: list[pe.Node]
    smooth: bool  # turn the opposite handle with it (a smooth point, no Alt)


def path_hit(ed: EditorSession, pos) -> tuple[str, int] | None:
    """The path under a screen point: (key, index), or None."""
    for key in PATH_KINDS:
        for i in reversed(range(len(ed.doc.items(key)))):
            nodes = ed.path_nodes(key, i)
            if nodes is None:
                continue
            _, _, d_m = pe.nearest_on_path(nodes, ed.world(pos))
            if d_m * ed.view.px_per_m <= hit_radius_px:
                return key, i
    return None


class PathsTool(Tool):
    name = "paths"
    label = "Paths (P)"
    shortcut = "p"
    help = ("Click to place points, drag to pull out handles; Enter ends the path. Drag points or "
            "handles to edit (Alt: one handle alone); Shift+click the curve adds a point; K smooth/corner; "
            "Delete removes the point.")
    shows_path_points = True

    def __init__(self):
        self.pen: Pen | None = None

    # -- the mouse ---------------------------------------------------------------------------------

    def press(self, ed: EditorSession, p: Pointer) -> None:
        sel = ed.selection
        if sel and sel[0] == "path" and self.pen is None:
            if self.press_selected(ed, sel[1], sel[2], p):
                return
        if self.pen is None:
            hit = path_hit(ed, p.pos_px)
            if hit is not None:
                ed.selection = ("path", *hit)
                ed.sel_node = None
                return
            ed.selection = None
            self.pen = Pen()
        # the pen: a new point at m; dragging pulls out its handles
        m = p.at_m
        d = PenDrag(m, pe.Node(m, m, m))
        ed.start_drag(self, d)
        if len(self.pen.nodes) >= 1:
            nodes = self.pen.nodes + [d.node]
            if self.pen.index is None:
                ed.doc.begin("draw path")
                self.pen.index = ed.doc.add_tour(NEW_PATH_NAME, pe.points_from_nodes(nodes))
                ed.selection = ("path", NEW_PATH_KEY, self.pen.index)
            else:
                ed.doc.begin("add path point")
                ed.doc.set_path_points(NEW_PATH_KEY, self.pen.index, pe.points_from_nodes(nodes))
            ed.mark_edited()

    def press_selected(self, ed: EditorSession, key: str, i: int, p: Pointer) -> bool:
        """A press with a path selected: grab one of its points or handles, or Shift+click its
        curve to add a point. Returns whether the press was used."""
        nodes = ed.path_nodes(key, i)
        if nodes is None:
            return False
        pos = p.pos_px
        for k, n in enumerate(nodes):
            if ed.px_dist(n.anchor, pos) <= hit_radius_px:
                ed.sel_node = k
                if p.double:
                    with ed.doc.edit("smooth / corner point"):
                        ed.doc.set_path_points(key, i, pe.points_from_nodes(pe.toggle_smooth(nodes, k)))
                    ed.after_change()
                    return True
                ed.doc.begin("move path point")
                ed.start_drag(self, PathNodeDrag(key, i, k, nodes))
                return True
        for k, n in enumerate(nodes):
            for which, h in (("in", n.handle_in), ("out", n.handle_out)):
                if h != n.anchor and ed.px_dist(h, pos) <= hit_radius_px:
                    ed.sel_node = k
                    ed.doc.begin("move handle")
                    ed.start_drag(self, PathHandleDrag(key, i, k, which, nodes, pe.is_smooth(n) and not p.alt))
                    return True
        seg, t, d_m = pe.nearest_on_path(nodes, p.at_m)
        if p.shift and d_m * ed.view.px_per_m <= hit_radius_px:
            with ed.doc.edit("add path point"):
                ed.doc.set_path_points(key, i, pe.points_from_nodes(pe.split_segment(nodes, seg, t)))
            ed.sel_node = seg + 1
            ed.after_change()
            return True
        return False

    def drag(self, ed: EditorSession, d, p: Pointer) -> None:
        m = p.at_m
        match d:
            case PenDrag():
                far = ed.px_dist(d.anchor, p.pos_px) > pen_drag_px
                d.node = pe.node_from_drag(d.anchor, m) if far else pe.Node(d.anchor, d.anchor, d.anchor)
                if self.pen and self.pen.index is not None:
                    nodes = self.pen.nodes + [d.node]
                    ed.doc.set_path_points(NEW_PATH_KEY, self.pen.index, pe.points_from_nodes(nodes))
                    ed.mark_edited()
                return
            case PathNodeDrag():
                nodes = list(d.orig)
                nodes[d.k] = pe.move_anchor(d.orig[d.k], m)
            case PathHandleDrag():
                nodes = list(d.orig)
                nodes[d.k] = pe.move_handle(d.orig[d.k], d.which, m, keep_smooth=d.smooth)
            case _:
                return
        ed.doc.set_path_points(d.key, d.i, pe.points_from_nodes(nodes))
        ed.mark_edited()

    def release(self, ed: EditorSession, d, p: Pointer) -> None:
        if isinstance(d, PenDrag) and self.pen is not None:
            self.pen.nodes.append(d.node)
            if self.pen.index is not None:
                ed.sel_node = len(self.pen.nodes) - 1

    # -- keys and work in progress -------------------------------------------------------------------

    def end_pen(self, ed: EditorSession) -> None:
        if self.pen is not None and self.pen.index is None and self.pen.nodes:
            ed.say("a path needs at least two points; click a second point next time")
        self.pen = None

    def finish(self, ed: EditorSession) -> bool:
        if self.pen is None:
            return False
        self.end_pen(ed)
        return True

    def cancel(self, ed: EditorSession) -> bool:
        return self.finish(ed)

    def leave(self, ed: EditorSession) -> None:
        self.end_pen(ed)

    def reset(self, ed: EditorSession) -> None:
        self.pen = None

    # -- the map -------------------------------------------------------------------------------------

    def overlay(self, ed: EditorSession, canvas: Canvas) -> None:
        pg, scr, to_s = canvas.pg, canvas.screen, ed.view.to_screen
        sel = ed.selection
        nodes = ed.path_nodes(sel[1], sel[2]) if sel and sel[0] == "path" else None
        for k, n in enumerate(nodes or ()):
            a = to_s(*n.anchor)
            for h in (n.handle_in, n.handle_out):
                if h != n.anchor:
                    hs = to_s(*h)
                    pg.draw.line(scr, HANDLE_LINE_RGB, a, hs, handle_line_px)
                    pg.draw.circle(scr, OUTLINE_RGB, hs, handle_dot_px + handle_rim_px)
                    pg.draw.circle(scr, ACCENT_RGB, hs, handle_dot_px)
            # the point again, over its handle lines (the map drew it under them)
            col = ACTIVE_RGB if k == ed.sel_node else PATH_RGB[sel[1]]
            canvas.marker_square(a, selected_point_px, col)
        pen = self.pen
        if pen is not None and pen.index is None and pen.nodes:
            a = to_s(*pen.nodes[0].anchor)
            pg.draw.line(scr, TOUR_RGB, a, ed.mouse_px, pen_line_px)
            pg.draw.circle(scr, TOUR_RGB, a, pen_dot_px)
