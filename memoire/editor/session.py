"""The editor's state: the document being edited, what it validates to, the selection, the
messages, and the edits that the tools, the panel and the keys share.

``EditorSession`` has no window: it reads and changes the ``LevelDocument``
(memoire/editor/document.py, one undo step per action), re-validates after each change with the
game's own loader, and keeps the colour field, the sound preview and the terrain trainer fed
with the last playable version. ``Editor`` (memoire/editor/app.py) adds the window, input
routing, drawing and the file on disk (memoire/editor/filesync.py) on top of it.

Reading the document is tolerant: a half-valid file (a designer typing in another editor) gives
``None``/defaults rather than errors.

Threads: main thread only; the sound preview and the terrain trainer run their own threads and
are polled from ``Editor.tick``.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from memoire.editor import pathedit as pe
from memoire.editor.document import LevelDocument
from memoire.editor.fieldview import (
    FieldPicture,
    LatentPalette,
    TerrainFollower,
    field_picture,
    palette_for_model,
)
from memoire.editor.geometry import centroid, nearest_in_shape, zone_hue
from memoire.editor.sound import SoundPreview
from memoire.editor.spatial import SpatialLayer, ZoneEmitters, emitter_pairs
from memoire.editor.style import panel_width_px, status_height_px
from memoire.editor.template import new_level_text
from memoire.editor.view import View
from memoire.world.errors import UserError
from memoire.world.level import Circle, Level, Polygon, Problem

# -- defaults for new objects (metres) ---------------------------------------------------------
default_radius_m = 2.0
default_falloff_m = 3.0
min_falloff_m = 0.1
# A new vector anchor when the model is unknown has this many dimensions (the tiny and the
# shipped models' latent size is read from the model when there is one).
fallback_latent_dim = 8
# Positions from the mouse are rounded to 5 cm: a pixel is 1-5 cm at working zooms, and round
# numbers keep the file readable.
snap_m = 0.05
# The first view shows this much (metres, w x h) of a level whose grid cannot be read.
fallback_size_m = (20.0, 15.0)

# -- messages -------------------------------------------------------------------------------------
message_s = 8.0  # how long a message stays in the status line
max_messages = 6  # older ones are dropped
# A blend weight below this is not worth naming in "hearing birds 80%, rest 20%".
hearing_min_weight = 0.05
hearing_max_parts = 3

# The class names of Memoire's own model (docs/levels.md); offered for anchors when no model file
# can be read, so a designer can still lay out zones before the model is trained.
MEMOIRE_CLASSES = ("pigeons", "bells", "vendors", "birds", "insects", "wind", "rain", "footsteps", "chatter",
                   "grinder", "courtyard")

# A problem's "where" that names an object: zone 'pigeons', tour '#2', trajectory 'cart'.
_WHERE_OBJECT = re.compile(r"(zone|tour|trajectory) '(.*)'$")
_WHERE_INDEX = re.compile(r"#(\d+)$")
_WHERE_KEY = {"zone": "zones", "tour": "tours", "trajectory": "trajectories"}


class SessionTool(Protocol):
    """What the session asks of a tool: its name, and to enter, leave or reset (on a tool change
    and on undo). The whole interface the editor routes input to is tools/base.py's ``Tool``;
    the session knows tools only this far, so the tools can build on the session."""

    name: str

    def enter(self, ed: EditorSession) -> None: ...

    def leave(self, ed: EditorSession) -> None: ...

    def reset(self, ed: EditorSession) -> None: ...


@dataclass
class TextEdit:
    """A value being typed in the panel: the row's label, where the value goes, the text so far."""

    label: str
    table_fn: Callable[[], object]
    key: str
    text: str


class EditorSession:
    """The level being edited and everything the editor knows about it (no window)."""

    def __init__(self, path: str | Path, *, tools: Sequence[SessionTool], model_path: str | Path | None = None,
                 mute: bool = False, size_px: tuple[int, int] = (1280, 800), allow_outside: bool = False):
        self.path = Path(path)
        self.allow_outside = allow_outside  # --allow-outside-paths
        if self.path.suffix.lower() != ".toml":
            raise UserError(f"{self.path}: a level file ends in .toml (e.g. levels/yard.toml)")
        if not self.path.parent.exists():
            raise UserError(f"{self.path}: the folder {self.path.parent} does not exist; create it first")
        self.size_px = tuple(size_px)
        self.messages: list[tuple[str, float, bool]] = []  # (text, until (perf_counter s), is_warning)
        self.info = None
        self.model_path: Path | None = None
        self.created = not self.path.exists()
        if self.created:
            self.model_path = Path(model_path) if model_path else self._default_model()
            self._load_model()
            text = new_level_text(self.path, Path(model_path) if model_path else None, self._rest_for_new())
            self.doc = LevelDocument(self.path, text, saved_text=None, allow_outside=allow_outside)
            self.say(f"new level: nothing is written until you save (Ctrl+S creates {self.path.name})")
        else:
            try:
                text = self.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise UserError(f"{self.path}: cannot read the level file: {e}") from None
            try:
                self.doc = LevelDocument(self.path, text, saved_text=text, allow_outside=allow_outside)
            except Exception as e:  # tomlkit's parse errors carry the line
                raise UserError(f"{self.path} is not valid TOML ({e}); fix that line in a text editor "
                                f"(`memoire check {self.path}` lists every problem), then edit it here") from None
            self.model_path = Path(model_path) if model_path else self._model_from_doc()
            self._load_model()
        self.mute = mute
        self.classes: tuple[str, ...] = tuple(self.info.class_names) if self.info and self.info.class_names \
            else (() if self.info else MEMOIRE_CLASSES)
        self.palette: LatentPalette | None = palette_for_model(self.info)
        self.sound = SoundPreview(self.model_path, mute=mute)
        self.terrain = TerrainFollower()
        self.terrain_grid = None  # the latest trained terrain (for the picture and the sound)
        self.level: Level | None = None  # the last playable version
        self.blend = None
        self.problems: list[Problem] = []
        self.playable = False
        self.picture: FieldPicture | None = None
        self.spatial = SpatialLayer()  # rooms, portals, moving emitters of the last playable level

        self.tools: dict[str, SessionTool] = {t.name: t for t in tools}  # tools/base.py's Tools, in panel order
        self.tool = "zones"  # the active tool's name
        self.selection: tuple | None = None  # ("zone", i) | ("path", key, i) | ("spawn",)
        self.sel_node: int | None = None
        self.sel_vertex: int | None = None
        self.drag = None  # the running drag's state (a tool's dataclass), or None
        self.drag_tool: SessionTool | None = None  # the tool that started it: it gets the moves and the release
        self.panning: tuple | None = None  # (press position px, view centre m) while panning
        self.mouse_px = (0, 0)
        self.listen_hold = False
        self.listen_toggle = False
        self.show_field = True
        self.show_rooms = True  # R: the rooms layer (tints, names, gates and doors between rooms)
        self.panel_focus = 0
        self.text_edit: TextEdit | None = None
        self.last_click = (0.0, (0, 0))  # (perf_counter s, position px) of the last press, for double-clicks
        self.last_validate = 0.0
        self.needs_validate = False  # a drag changed the text; validate again soon (see tick)
        self.running = True
        self.pg = None  # pygame, once a window is open (Editor.open_window): layouts make its Rects
        self.view = View(0.0, 0.0, 20.0, (0, 0, self.size_px[0] - panel_width_px, self.size_px[1] - status_height_px))
        self.after_change()
        if self.level is not None:
            self.view.fit(*self.level.tiles.size_m)
        else:
            rows = self.doc.grid_rows()
            self.view.fit(len(rows[0]) * self.doc.cell_m if rows else fallback_size_m[0],
                          len(rows) * self.doc.cell_m or fallback_size_m[1])

    @property
    def active_tool(self) -> SessionTool:
        return self.tools[self.tool]

    # -- model -------------------------------------------------------------------------------------

    def _default_model(self) -> Path:
        from memoire.world.paths import DEFAULT_MODEL

        return DEFAULT_MODEL

    def _model_from_doc(self) -> Path:
        m = self.doc.data.get("sound", {}).get("model")
        if isinstance(m, str) and m:
            return (self.path.parent / m).resolve()
        return self._default_model()

    def _load_model(self) -> None:
        if self.model_path is None or not self.model_path.exists():
            self.say(f"model {self.model_path} not found: no colour field and no sound; anchors offer "
                     "Memoire's class names (train the model with `memoire train`, or pass --model)", warn=True)
            return
        try:
            from memoire.audio.card import read_card  # no torch here: a child process reads the file once

            self.info = read_card(self.model_path)
        except UserError as e:
            self.say(f"no colour field and no sound: {e}", warn=True)

    def _rest_for_new(self):
        if self.info is None:
            return "courtyard"
        if self.info.class_names:
            return "courtyard" if "courtyard" in self.info.class_names else self.info.class_names[0]
        return [0.0] * self.info.latent_dim

    # -- messages ----------------------------------------------------------------------------------

    def say(self, text: str, warn: bool = False) -> None:
        print(f"memoire edit: {text}", file=sys.stderr)
        self.messages.append((text, time.perf_counter() + message_s, warn))
        del self.messages[:-max_messages]

    # -- after every change ------------------------------------------------------------------------

    def after_change(self, final: bool = True) -> None:
        """Validate the document; when it is a playable level, refresh the field picture and hand
        it to the sound (and, at the end of an action, to the terrain trainer)."""
        self.last_validate = time.perf_counter()
        self.needs_validate = False
        level, problems = self.doc.validate()
        blend = None
        if level is not None and self.info is not None:
            blend, anchor_problems = self._resolve_anchors(level)
            problems = problems + anchor_problems
        self.problems = problems
        self.playable = level is not None and not problems
        if self.playable:
            self.level = level
            self.blend = blend
            self.refresh_picture()
            self.sound.set_level(level)
            if final and self.info is not None:
                self.terrain.want(level, self.info)
        self.clamp_selection()

    def mark_edited(self) -> None:
        """Mutations happened inside the running action (a drag step): refresh the document's
        data now and validate again within ``validate_during_drag_s`` (see Editor.tick)."""
        self.doc.changed()
        self.needs_validate = True

    def _resolve_anchors(self, level: Level):
        from memoire.world.field import build_zone_blend, resolve_anchor

        try:
            return build_zone_blend(level, self.info), []
        except UserError:
            pass
        out = []
        for z in level.zones:
            try:
                resolve_anchor(z.anchor, self.info, "anchor")
            except UserError as e:
                out.append(Problem(level.path, z.line, f"zone '{z.name}'", str(e).split(": ", 1)[-1]))
        try:
            resolve_anchor(level.sound.rest, self.info, "rest")
        except UserError as e:
            out.append(Problem(level.path, 0, "[sound]", "rest: " + str(e).split(": ", 1)[-1]))
        return None, out

    def refresh_picture(self) -> None:
        """Recompute the colour field from the last playable level (and the terrain, if trained)."""
        if self.blend is None or self.level is None:
            self.picture = None
            return
        from memoire.world.field import field_mix

        mix = field_mix(self.level) if self.terrain_grid is not None else 0.0
        self.picture, self.palette = field_picture(self.level, self.blend, self.palette, self.terrain_grid, mix)

    def clamp_selection(self) -> None:
        """Drop a selection (or a selected point or corner) that no longer exists."""
        sel = self.selection
        if sel is None:
            return
        if sel[0] == "zone" and not sel[1] < len(self.doc.items("zones")) or sel[0] == "path" and not sel[2] < len(self.doc.items(sel[1])):
            self.selection = None
        if self.selection is None or self.selection[0] != "path":
            self.sel_node = None
        if self.selection is None or self.selection[0] != "zone":
            self.sel_vertex = None
        if self.sel_node is not None:
            nodes = self.path_nodes(*self.selection[1:])
            if nodes is None or self.sel_node >= len(nodes):
                self.sel_node = None
        if self.sel_vertex is not None:
            pts = self.zone_data(self.selection[1]).get("points") or []
            if self.sel_vertex >= len(pts):
                self.sel_vertex = None

    # -- reading the document (tolerant: the file may be half-valid) --------------------------------

    def zone_data(self, i: int) -> dict:
        zs = self.doc.items("zones")
        return zs[i] if 0 <= i < len(zs) and isinstance(zs[i], dict) else {}

    def zone_shape(self, i: int):
        """The zone's inner region as a Circle/Polygon, or None when its geometry is unreadable."""
        z = self.zone_data(i)
        try:
            if z.get("shape", "circle") == "polygon":
                pts = tuple((float(p[0]), float(p[1])) for p in z.get("points", []))
                return Polygon(pts) if len(pts) >= 3 else None
            c = z.get("center")
            return Circle((float(c[0]), float(c[1])), max(0.0, float(z.get("radius_m", 0.0))))
        except (TypeError, ValueError, IndexError):
            return None

    def zone_falloff(self, i: int) -> float:
        f = self.zone_data(i).get("falloff_m", default_falloff_m)
        return float(f) if isinstance(f, (int, float)) and not isinstance(f, bool) else default_falloff_m

    def zone_marker(self, i: int) -> tuple[float, float] | None:
        """Where the zone's anchor dot is drawn: the centre of its inner region."""
        shape = self.zone_shape(i)
        if isinstance(shape, Circle):
            return shape.center
        if isinstance(shape, Polygon):
            return centroid(shape.points)
        return None

    def zone_emitters(self, i: int) -> ZoneEmitters | None:
        """Where zone ``i``'s sound comes from now: the designer's ``emitters`` points (from the
        document, so a drag shows at once), the point moving along its ``emitter_path`` (from the
        last playable level's acoustics), the zone's point nearest the mouse (``emitter =
        "nearest"``) or its centre. None when its geometry cannot be read."""
        z = self.zone_data(i)
        pts = emitter_pairs(z.get("emitters"))
        if pts is not None:
            return ZoneEmitters("points", pts)
        path_name = z.get("emitter_path")
        level = self.level
        if isinstance(path_name, str) and path_name and level is not None:
            ac = self.spatial.acoustics(level)
            idx = next((k for k, lz in enumerate(level.zones) if lz.name == z.get("name")), None)
            ep = level.spatial.path(path_name)
            if ac is not None and idx is not None and ep is not None and level.zones[idx].emitter_path == path_name:
                now = ac.emitters(idx, self.spatial.clock_s())
                line = tuple((float(x), float(y)) for x, y in ep.path.table().points)
                return ZoneEmitters("path", tuple((float(x), float(y)) for x, y in now), path_name, line)
        shape = self.zone_shape(i)
        if shape is None:
            return None
        if z.get("emitter") == "nearest":
            return ZoneEmitters("nearest", (nearest_in_shape(shape, self.view.to_world(*self.mouse_px)),))
        mk = self.zone_marker(i)
        return ZoneEmitters("center", (mk,)) if mk is not None else None

    def zone_colour(self, i: int) -> tuple[int, int, int]:
        """The colour of the zone's sound (its anchor through the palette) when known."""
        if self.blend is not None and self.palette is not None and i < len(self.blend.names) \
                and self.blend.names[i] == self.zone_data(i).get("name"):
            return tuple(int(c) for c in self.palette.colours(self.blend.latents[i]))
        return zone_hue(i)

    def path_nodes(self, key: str, i: int) -> list[pe.Node] | None:
        items = self.doc.items(key)
        if not 0 <= i < len(items):
            return None
        try:
            return pe.nodes_from_points(items[i].get("points", []))
        except (ValueError, TypeError, IndexError):
            return None

    def anchor_value(self, z: dict) -> str:
        a = z.get("anchor")
        if isinstance(a, str):
            return a
        if isinstance(a, list):
            return f"vector of {len(a)}"
        if isinstance(a, dict) and "clip" in a:
            return f"clip {Path(str(a['clip'])).name}"
        return "?"

    def rest_anchor(self):
        rest = self.doc.data.get("sound", {}).get("rest", "courtyard")
        return rest if isinstance(rest, (str, list, dict)) else "courtyard"

    def next_anchor(self):
        """The anchor for a new zone: the first class no zone uses yet (not the rest sound)."""
        if not self.classes:
            return [0.0] * (self.info.latent_dim if self.info else fallback_latent_dim)
        used = {z.get("anchor") for z in self.doc.items("zones") if isinstance(z.get("anchor"), str)}
        rest = self.rest_anchor()
        for c in self.classes:
            if c not in used and c != rest:
                return c
        return self.classes[0]

    def new_zone_name(self) -> str:
        a = self.next_anchor()
        return a if isinstance(a, str) else "zone"

    def hearing(self, xy) -> str:
        """What the field plays at a level point, in words: "birds 80%, rest 20%"."""
        if self.blend is None:
            return ""
        w, rest = self.blend.weights(np.array([xy]))
        parts = [(float(w[0, i]), n) for i, n in enumerate(self.blend.names)] + [(float(rest[0]), "rest")]
        parts = sorted((p for p in parts if p[0] >= hearing_min_weight), reverse=True)[:hearing_max_parts]
        return ", ".join(f"{n} {v * 100:.0f}%" for v, n in parts)

    # -- the map under the mouse ---------------------------------------------------------------------

    def in_map(self, pos) -> bool:
        x, y, w, h = self.view.rect
        return x <= pos[0] < x + w and y <= pos[1] < y + h

    def world(self, pos) -> tuple[float, float]:
        """The level point under a screen position, snapped to ``snap_m``."""
        x, y = self.view.to_world(*pos)
        return round(x / snap_m) * snap_m + 0.0, round(y / snap_m) * snap_m + 0.0

    def px_dist(self, a_m, pos) -> float:
        """Pixels between the level point ``a_m`` and the screen position ``pos``."""
        sx, sy = self.view.to_screen(*a_m)
        return math.hypot(sx - pos[0], sy - pos[1])

    # -- tools and drags -------------------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        if tool != self.tool:
            for t in self.tools.values():
                t.leave(self)
            self.tool = tool
            self.active_tool.enter(self)

    def start_drag(self, tool: SessionTool, drag) -> None:
        """``tool`` starts a drag: it gets the mouse moves and the release until then."""
        self.drag, self.drag_tool = drag, tool

    def end_drag(self):
        """The drag is over (button up, Esc, undo, a failed edit): returns (tool, drag) that were running."""
        out = (self.drag_tool, self.drag)
        self.drag, self.drag_tool = None, None
        return out

    # -- edits shared by the tools, the panel and the keys ----------------------------------------------

    def edit_value(self, label: str, table_fn, key: str, value) -> None:
        with self.doc.edit(label):
            self.doc.set_value(table_fn(), key, value)
        self.after_change()

    def resize_map(self, dw: int, dh: int) -> None:
        rows = self.doc.grid_rows()
        w, h = (len(rows[0]) if rows else 0) + dw, len(rows) + dh
        if w < 1 or h < 1:
            return
        with self.doc.edit(f"map size {w} x {h} cells"):
            self.doc.resize_grid(w, h)
        self.after_change()

    def delete_selected_zone(self) -> None:
        """Delete the selected corner (a polygon keeps at least 3), else the selected zone."""
        if not self.selection or self.selection[0] != "zone":
            return
        i = self.selection[1]
        if self.sel_vertex is not None:
            pts = list(self.zone_data(i).get("points", []))
            if len(pts) > 3:
                with self.doc.edit("delete corner"):
                    del pts[self.sel_vertex]
                    self.doc.set_zone_points(i, pts)
                self.sel_vertex = None
                self.after_change()
                return
        name = self.zone_data(i).get("name", "?")
        with self.doc.edit(f"delete zone '{name}'"):
            self.doc.delete_table("zones", i)
        self.selection = None
        self.say(f"deleted zone '{name}' (Ctrl+Z brings it back)")
        self.after_change()

    def delete_selected_path_point(self) -> None:
        """Delete the selected path point, or the whole path when none is selected (or it has 2)."""
        if not self.selection or self.selection[0] != "path":
            return
        key, i = self.selection[1], self.selection[2]
        nodes = self.path_nodes(key, i)
        name = self.doc.items(key)[i].get("name", "?")
        if nodes is None or self.sel_node is None or len(nodes) <= 2:
            with self.doc.edit(f"delete path '{name}'"):
                self.doc.delete_table(key, i)
            self.selection = None
            self.say(f"deleted path '{name}' (Ctrl+Z brings it back)")
        else:
            with self.doc.edit("delete path point"):
                self.doc.set_path_points(key, i, pe.points_from_nodes(pe.delete_node(nodes, self.sel_node)))
            self.sel_node = None
        self.after_change()

    def toggle_selected_node(self) -> None:
        """K: the selected path point becomes smooth, or a corner."""
        if not self.selection or self.selection[0] != "path" or self.sel_node is None:
            self.say("select a path point first (click it with the path tool)")
            return
        key, i = self.selection[1], self.selection[2]
        nodes = self.path_nodes(key, i)
        if nodes is None:
            return
        with self.doc.edit("smooth / corner point"):
            self.doc.set_path_points(key, i, pe.points_from_nodes(pe.toggle_smooth(nodes, self.sel_node)))
        self.after_change()

    def tour_to_trajectory(self, index: int) -> None:
        """The selected tour becomes a trajectory: a latent clip laid along the same path."""
        with self.doc.edit("make trajectory"):
            new = self.doc.tour_to_trajectory(index)
        self.selection = ("path", "trajectories", new)
        self.sel_node = None
        self.after_change()

    def undo(self) -> None:
        self.end_drag()
        for t in self.tools.values():
            t.reset(self)
        label = self.doc.undo()
        self.say(f"undid: {label}" if label else "nothing to undo")
        self.after_change()

    def redo(self) -> None:
        self.end_drag()
        label = self.doc.redo()
        self.say(f"redid: {label}" if label else "nothing to redo")
        self.after_change()

    # -- problems ------------------------------------------------------------------------------------

    def problem_target(self, p: Problem) -> tuple | None:
        """The object a problem names: ("zone", i), ("path", key, i), ("spawn",) or None."""
        m = _WHERE_OBJECT.match(p.where or "")
        if m:
            key = _WHERE_KEY[m.group(1)]
            for i, t in enumerate(self.doc.items(key)):
                if isinstance(t, dict) and t.get("name") == m.group(2):
                    return ("zone", i) if key == "zones" else ("path", key, i)
            m2 = _WHERE_INDEX.match(m.group(2))
            if m2:
                i = int(m2.group(1)) - 1
                return ("zone", i) if key == "zones" else ("path", key, i)
        if p.where == "[spawn]":
            return ("spawn",)
        return None

    def problem_targets(self) -> set:
        """Every object a current problem names (outlined in red on the map)."""
        return {t for t in (self.problem_target(p) for p in self.problems) if t is not None}

    def go_to(self, target: tuple | None) -> None:
        """Select what a problem names, with the tool that edits it, and centre the map on it."""
        if target is None:
            return
        if target[0] == "zone":
            self.set_tool("zones")
            self.selection = target
            p = self.zone_marker(target[1])
        elif target[0] == "path":
            self.set_tool("paths")
            self.selection = target
            nodes = self.path_nodes(target[1], target[2])
            p = nodes[0].anchor if nodes else None
        else:
            self.set_tool("spawn")
            at = self.doc.data.get("spawn", {}).get("at")
            p = tuple(at) if isinstance(at, list) and len(at) == 2 else None
        self.clamp_selection()
        if p is not None:
            self.view.cx_m, self.view.cy_m = float(p[0]), float(p[1])
