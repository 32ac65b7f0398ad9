"""`memoire edit`: the designers' top-down editor (pygame).

One window: the map on the left (tiles, the latent field in colour, zones, paths, spawn), a
side panel on the right (tools, the selected object's properties, the level's problems) and a
status line. ``Editor.handle(event)`` takes pygame events (tests post scripted ones);
``Editor.tick()`` runs the background work; ``Editor.draw()`` paints the whole frame.

Every change goes through ``LevelDocument`` (memoire/editor/document.py): one undo step per action,
the designer's comments kept. After each change the text is validated with the game's own loader
(problems listed in the panel and outlined in red on the map), and when it is a playable level
the colour field is recomputed and the preview sound (if on) crossfades to it.

Threads: everything here runs on the main thread; the sound preview and the terrain trainer run
their own threads and are polled from ``tick``.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from memoire.editor import pathedit as pe
from memoire.editor.document import PATH_KINDS, LevelDocument
from memoire.editor.fieldview import (FieldPicture, LatentPalette, TerrainFollower, field_picture,
                                   palette_for_model)
from memoire.editor.save import backup_path, save_level_text
from memoire.editor.sound import SoundPreview
from memoire.editor.template import new_level_text
from memoire.editor.view import View
from memoire.world.errors import UserError
from memoire.world.level import CURVES, FIELDS, SOLID_TILES, Circle, Level, Polygon, Problem

# -- layout and feel ----------------------------------------------------------------------------
panel_width_px = 340
status_height_px = 26
hit_radius_px = 9  # how close (pixels) a click must be to a point or a line to grab it
double_click_s = 0.35
zoom_step = 1.15  # per mouse-wheel notch
pan_step_px = 80  # per arrow key press
frame_rate_hz = 30  # an editor needs no more; leaves CPU for the synth and the terrain trainer
validate_during_drag_s = 0.1  # re-validate and redraw the field at most this often while dragging
file_poll_s = 1.0  # how often the file on disk is checked for changes by another program
confirm_s = 10.0  # a second Ctrl+S / close must come within this time to confirm
message_s = 8.0

# -- defaults for new objects (metres, seconds) ------------------------------------------------
default_radius_m = 2.0
default_falloff_m = 3.0
min_drag_m = 0.3  # a press that moves less than this is a click, not a drag
default_eraser_radius_m = 1.5
min_falloff_m = 0.1
# Positions from the mouse are rounded to 5 cm: a pixel is 1-5 cm at working zooms, and round
# numbers keep the file readable.
snap_m = 0.05

# The class names of Memoire's own model (docs/levels.md); offered for anchors when no model file
# can be read, so a designer can still lay out zones before the model is trained.
MEMOIRE_CLASSES = ("pigeons", "bells", "vendors", "birds", "insects", "wind", "rain", "footsteps", "chatter",
                   "grinder", "courtyard")

TOOLS = ("tiles", "zones", "eraser", "paths", "spawn")
TOOL_KEYS = {"t": "tiles", "z": "zones", "e": "eraser", "p": "paths", "s": "spawn"}
TOOL_LABELS = {"tiles": "Tiles (T)", "zones": "Zones (Z)", "eraser": "Eraser (E)", "paths": "Paths (P)",
               "spawn": "Spawn (S)"}
TILE_ORDER = ("wall", "floor", "garden", "gate", "door", "house", "tree", "lantern", "bench", "void")
TOOL_HELP = {
    "tiles": "Left-drag paints the chosen tile; Shift-drag paints paving (erases). Keys 1-9, 0 pick: "
             "1 wall 2 paving 3 garden 4 gate 5 door 6 house 7 tree 8 lantern 9 bench 0 void.",
    "zones": "Drag on empty ground: a new circle zone (Tab: polygons - click corners, Enter or a click "
             "on the first corner closes). Drag a zone or its dot to move it; drag the handles to resize "
             "(inner radius, falloff) or reshape; Shift+click an edge adds a corner; Delete removes.",
    "eraser": "Brush over a zone's anchor dot to delete the zone, over a path point to delete the point. "
              "Shift: keep the zones, reset their sound to the level's rest sound. [ and ] size the brush.",
    "paths": "Click to place points, drag to pull out handles; Enter ends the path. Drag points or "
             "handles to edit (Alt: one handle alone); Shift+click the curve adds a point; K smooth/corner; "
             "Delete removes the point.",
    "spawn": "Click where the visitor starts; drag from there to set the direction they face.",
}
COMMON_HELP = ("Hold Space: hear the mouse position (L: on/off). O: colour field. Ctrl+Z / Ctrl+Y: undo / redo. "
               "Ctrl+S: save. Wheel: zoom. Right or middle drag, arrows: pan. F: fit.")

# sRGB colours (the same tile palette as the game's minimap, memoire/render/minimap.py)
TILE_RGB = {
    "wall": (58, 58, 62), "house": (88, 84, 84), "floor": (214, 208, 196), "garden": (140, 176, 104),
    "gate": (204, 40, 26), "door": (150, 52, 32), "tree": (214, 208, 196), "lantern": (214, 208, 196),
    "bench": (214, 208, 196), "void": (24, 24, 28),
}
PROP_RGB = {"tree": (62, 118, 52), "lantern": (230, 40, 20), "bench": (130, 88, 50)}
BG_RGB = (24, 24, 28)
PANEL_RGB = (36, 38, 44)
TEXT_RGB = (230, 230, 230)
DIM_RGB = (150, 150, 160)
ACCENT_RGB = (255, 214, 40)
PROBLEM_RGB = (240, 50, 50)
TOUR_RGB = (255, 255, 255)
TRAJECTORY_RGB = (80, 220, 255)
FIELD_ALPHA = 160  # of 255: the field over the paving


@dataclass
class Row:
    """One line of the side panel: a label, a value, and what clicking it does."""

    label: str
    value: str = ""
    dec: Callable[[], None] | None = None
    inc: Callable[[], None] | None = None
    click: Callable[[], None] | None = None  # a button row, or a row that starts text entry
    warn: bool = False


def _zone_hue(i: int) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((0.58 + i * 0.618034) % 1.0, 0.75, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


def _centroid(points) -> tuple[float, float]:
    pts = np.asarray(points, dtype=np.float64)
    x, y = pts[:, 0], pts[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    a = cross.sum() / 2
    if abs(a) < 1e-9:
        return float(x.mean()), float(y.mean())
    return float(((x + xn) * cross).sum() / (6 * a)), float(((y + yn) * cross).sum() / (6 * a))


def _seg_distance(p, a, b) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    L = dx * dx + dy * dy
    t = 0.0 if L == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / L))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


def offset_outline(points, d: float, arc_steps: int = 6) -> list[tuple[float, float]]:
    """The outline of a polygon grown by ``d`` metres (edges pushed out, corners rounded):
    where a polygon zone's falloff ends."""
    pts = [tuple(map(float, p)) for p in points]
    n = len(pts)
    area = 0.5 * sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))
    sign = 1.0 if area > 0 else -1.0
    normals = []
    for i in range(n):
        (ax, ay), (bx, by) = pts[i], pts[(i + 1) % n]
        L = math.hypot(bx - ax, by - ay) or 1.0
        normals.append((sign * (by - ay) / L, -sign * (bx - ax) / L))
    out = []
    for i in range(n):
        n_prev, n_next = normals[i - 1], normals[i]
        a0, a1 = math.atan2(n_prev[1], n_prev[0]), math.atan2(n_next[1], n_next[0])
        da = (a1 - a0 + math.pi) % (2 * math.pi) - math.pi
        vx, vy = pts[i]
        for k in range(arc_steps + 1):
            ang = a0 + da * k / arc_steps
            out.append((vx + d * math.cos(ang), vy + d * math.sin(ang)))
    return out


class Editor:
    """The editor's state and behaviour. ``open_window`` before ``handle``/``draw``."""

    def __init__(self, path: str | Path, *, model_path: str | Path | None = None, mute: bool = False,
                 size_px: tuple[int, int] = (1280, 800)):
        self.path = Path(path)
        if self.path.suffix.lower() != ".toml":
            raise UserError(f"{self.path}: a level file ends in .toml (e.g. levels/yard.toml)")
        if not self.path.parent.exists():
            raise UserError(f"{self.path}: the folder {self.path.parent} does not exist; create it first")
        self.size_px = tuple(size_px)
        self.messages: list[tuple[str, float, bool]] = []  # (text, until, is_warning)
        self.info = None
        self.model_path: Path | None = None
        self.created = not self.path.exists()
        if self.created:
            self.model_path = Path(model_path) if model_path else self._default_model()
            self._load_model()
            text = new_level_text(self.path, Path(model_path) if model_path else None, self._rest_for_new())
            self.doc = LevelDocument(self.path, text, saved_text=None)
            self.say(f"new level: nothing is written until you save (Ctrl+S creates {self.path.name})")
        else:
            try:
                text = self.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise UserError(f"{self.path}: cannot read the level file: {e}") from None
            try:
                self.doc = LevelDocument(self.path, text, saved_text=text)
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
        self._field_surface = None
        self._tile_surface = None
        self._tile_version = -1

        self.tool = "zones"
        self.zone_mode = "circle"
        self.tile_kind = "wall"
        self.eraser_radius_m = default_eraser_radius_m
        self.selection: tuple | None = None  # ("zone", i) | ("path", key, i) | ("spawn",)
        self.sel_node: int | None = None
        self.sel_vertex: int | None = None
        self.drag: dict | None = None
        self.poly_points: list[tuple[float, float]] = []
        self.pen: dict | None = None  # {"key", "index", "pending", "nodes"}
        self.panning: tuple | None = None
        self.mouse_px = (0, 0)
        self.listen_hold = False
        self.listen_toggle = False
        self.show_field = True
        self.close_pending_until = 0.0
        self.save_pending_until = 0.0
        self.panel_focus = 0
        self.text_edit: dict | None = None
        self.rows: list[Row] = []
        self._row_rects: list[tuple] = []  # (rect, row, part) for clicks
        self._problem_rects: list[tuple] = []
        self._tool_rects: list[tuple] = []
        self._last_click = (0.0, (0, 0))
        self._last_validate = 0.0
        self._needs_validate = False
        self._next_file_poll = 0.0
        self._disk_mtime = self._mtime()
        self.running = True
        self.screen = None
        self.pg = None
        self.view = View(0.0, 0.0, 20.0, (0, 0, self.size_px[0] - panel_width_px, self.size_px[1] - status_height_px))
        self.after_change()
        if self.level is not None:
            self.view.fit(*self.level.tiles.size_m)
        else:
            rows = self.doc.grid_rows()
            self.view.fit(len(rows[0]) * self.doc.cell_m if rows else 20, len(rows) * self.doc.cell_m or 15)

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
            from memoire.audio.model import inspect_model

            self.info = inspect_model(self.model_path)
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
        del self.messages[:-6]

    # -- after every change ------------------------------------------------------------------------

    def after_change(self, final: bool = True) -> None:
        """Validate the document; when it is a playable level, refresh the field picture and hand
        it to the sound (and, at the end of an action, to the terrain trainer)."""
        self._last_validate = time.perf_counter()
        self._needs_validate = False
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
            self._refresh_picture()
            self.sound.set_level(level)
            if final and self.info is not None:
                self.terrain.want(level, self.info)
        self._clamp_selection()

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

    def _refresh_picture(self) -> None:
        if self.blend is None or self.level is None:
            self.picture = None
            self._field_surface = None
            return
        from memoire.world.field import field_mix

        mix = field_mix(self.level) if self.terrain_grid is not None else 0.0
        self.picture, self.palette = field_picture(self.level, self.blend, self.palette, self.terrain_grid, mix)
        self._field_surface = None

    def _clamp_selection(self) -> None:
        sel = self.selection
        if sel is None:
            return
        if sel[0] == "zone" and not sel[1] < len(self.doc.items("zones")):
            self.selection = None
        elif sel[0] == "path" and not sel[2] < len(self.doc.items(sel[1])):
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
            return _centroid(shape.points)
        return None

    def zone_colour(self, i: int) -> tuple[int, int, int]:
        """The colour of the zone's sound (its anchor through the palette) when known."""
        if self.blend is not None and self.palette is not None and i < len(self.blend.names) \
                and self.blend.names[i] == self.zone_data(i).get("name"):
            return tuple(int(c) for c in self.palette.colours(self.blend.latents[i]))
        return _zone_hue(i)

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
            return [0.0] * (self.info.latent_dim if self.info else 8)
        used = {z.get("anchor") for z in self.doc.items("zones") if isinstance(z.get("anchor"), str)}
        rest = self.rest_anchor()
        for c in self.classes:
            if c not in used and c != rest:
                return c
        return self.classes[0]

    # -- window ------------------------------------------------------------------------------------

    def open_window(self) -> None:
        import pygame

        self.pg = pygame
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(f"Memoire editor - {self.path.name}")
        self.screen = pygame.display.set_mode(self.size_px, pygame.RESIZABLE)
        self.font = pygame.font.Font(None, 20)
        self.font_small = pygame.font.Font(None, 17)
        self.font_big = pygame.font.Font(None, 26)
        self._layout(self.screen.get_size())
        pygame.key.set_repeat(350, 40)

    def _layout(self, size) -> None:
        w, h = size
        self.size_px = (w, h)
        old = self.view.rect
        self.view.rect = (0, 0, max(100, w - panel_width_px), max(100, h - status_height_px))
        if old[2] != self.view.rect[2] or old[3] != self.view.rect[3]:
            pass  # the centre stays; the map area grows or shrinks around it

    def run(self) -> int:
        self.open_window()
        clock = self.pg.time.Clock()
        try:
            while self.running:
                for event in self.pg.event.get():
                    self.handle(event)
                self.tick()
                self.draw()
                self.pg.display.flip()
                clock.tick(frame_rate_hz)
        finally:
            self.close()
        return 0

    def close(self) -> None:
        self.terrain.cancel()
        self.sound.close()
        if self.pg is not None:
            self.pg.display.quit()

    def save_screenshot(self, path: str | Path) -> None:
        self.draw()
        self.pg.image.save(self.screen, str(path))

    # -- background work, once a frame ---------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        if self._needs_validate and now - self._last_validate >= validate_during_drag_s:
            self.after_change(final=False)
        got = self.terrain.poll(now)
        if got is not None:
            grid, level = got
            self.terrain_grid = grid
            self._refresh_picture()
            self.sound.set_terrain(grid, level)
            self.say(f"terrain {self.terrain.how}: the colour field now shows it")
        if self.terrain.error:
            self.say(self.terrain.error, warn=True)
            self.terrain.error = None
        listening = self.listen_hold or self.listen_toggle
        if listening and self.level is not None:
            self.sound.start(self.level)
            mx, my = self.view.to_world(*self.mouse_px)
            self.sound.follow(mx, my)
        elif not listening:
            self.sound.stop()
        self.sound.update()
        if self.sound.message:
            self.say(self.sound.message, warn=True)
            self.sound.message = ""
        if now >= self._next_file_poll:
            self._next_file_poll = now + file_poll_s
            self._check_disk()

    def _mtime(self) -> float:
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return 0.0

    def _check_disk(self) -> None:
        """Another program (a text editor) changed the file: take its version when we have no
        unsaved changes (undoable), else warn that saving will overwrite it."""
        m = self._mtime()
        if m == self._disk_mtime or m == 0.0:
            return
        self._disk_mtime = m
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        if text == self.doc.saved_text:
            return
        if self.doc.dirty or self.doc.in_action:
            self.say(f"{self.path.name} was changed by another program; saving here will overwrite it "
                     f"(its version is kept in {backup_path(self.path).name})", warn=True)
            return
        try:
            self.doc.replace_text(text, "reload from disk")
        except Exception as e:
            self.say(f"{self.path.name} was changed on disk but is not valid TOML ({e}); keeping this version",
                     warn=True)
            return
        self.doc.mark_saved(text)
        self.after_change()
        self.say(f"reloaded {self.path.name}: it was changed by another program (Ctrl+Z takes it back)")

    # -- events ------------------------------------------------------------------------------------

    def handle(self, event) -> None:
        """Handle one pygame event. Never raises: a failed edit is rolled back and reported."""
        try:
            self._handle(event)
        except Exception as e:  # a bug must not cost the designer their work
            traceback.print_exc()
            if self.doc.in_action:
                self.doc.cancel()
            self.drag = None
            self.after_change()
            self.say(f"that edit failed and was undone ({type(e).__name__}: {e}); your level is safe", warn=True)

    def _handle(self, e) -> None:
        pg = self.pg
        if e.type == pg.QUIT:
            self.request_close()
        elif e.type in (pg.VIDEORESIZE, getattr(pg, "WINDOWSIZECHANGED", -1)):
            self._layout(self.screen.get_size())
        elif e.type == pg.MOUSEMOTION:
            self.mouse_px = e.pos
            self.on_motion(e.pos, e.buttons)
        elif e.type == pg.MOUSEBUTTONDOWN:
            self.mouse_px = e.pos
            if e.button in (1, 2, 3):
                self.on_press(e.pos, e.button, pg.key.get_mods() if not hasattr(e, "mods") else e.mods)
        elif e.type == pg.MOUSEBUTTONUP:
            self.mouse_px = e.pos
            self.on_release(e.pos, e.button)
        elif e.type == pg.MOUSEWHEEL:
            if self.mouse_px[0] < self.view.rect[2]:
                self.view.zoom_at(*self.mouse_px, zoom_step ** e.y)
        elif e.type == pg.KEYDOWN:
            self.on_key(e.key, e.mod, getattr(e, "unicode", ""))
        elif e.type == pg.KEYUP:
            if e.key == pg.K_SPACE:
                self.listen_hold = False

    def in_map(self, pos) -> bool:
        x, y, w, h = self.view.rect
        return x <= pos[0] < x + w and y <= pos[1] < y + h

    def world(self, pos) -> tuple[float, float]:
        """The level point under a screen position, snapped to ``snap_m``."""
        x, y = self.view.to_world(*pos)
        return round(x / snap_m) * snap_m + 0.0, round(y / snap_m) * snap_m + 0.0

    def px_dist(self, a_m, pos) -> float:
        sx, sy = self.view.to_screen(*a_m)
        return math.hypot(sx - pos[0], sy - pos[1])

    # mouse ----------------------------------------------------------------------------------------

    def on_press(self, pos, button: int, mods: int = 0) -> None:
        pg = self.pg
        if not self.in_map(pos):
            if button == 1:
                self.panel_click(pos)
            return
        self.text_edit = None
        if button in (2, 3):
            self.panning = (pos, (self.view.cx_m, self.view.cy_m))
            return
        now = time.perf_counter()
        last_t, last_pos = self._last_click
        double = now - last_t < double_click_s and math.hypot(pos[0] - last_pos[0], pos[1] - last_pos[1]) < 6
        self._last_click = (now, pos)
        shift = bool(mods & pg.KMOD_SHIFT)
        alt = bool(mods & pg.KMOD_ALT)
        m = self.world(pos)
        if self.tool == "tiles":
            self.doc.begin("erase tiles" if shift else f"paint {self.tile_kind}")
            self.drag = {"kind": "paint", "last": m, "char": self._paint_char(shift)}
            self._paint_line(m, m)
        elif self.tool == "zones":
            self.press_zones(pos, m, shift, double)
        elif self.tool == "eraser":
            self.doc.begin("reset anchors" if shift else "erase anchors")
            self.drag = {"kind": "erase", "shift": shift}
            self._erase_at(m, shift)
        elif self.tool == "paths":
            self.press_paths(pos, m, shift, alt, double)
        elif self.tool == "spawn":
            self.doc.begin("place spawn")
            self.doc.set_spawn(m)
            self.doc.changed()
            self.selection = ("spawn",)
            self.drag = {"kind": "spawn", "start": m}
            self._needs_validate = True

    def on_motion(self, pos, buttons) -> None:
        if self.panning is not None:
            (px, py), (cx, cy) = self.panning
            self.view.cx_m = cx - (pos[0] - px) / self.view.px_per_m
            self.view.cy_m = cy - (pos[1] - py) / self.view.px_per_m
            return
        d = self.drag
        if d is None:
            return
        m = self.world(pos)
        kind = d["kind"]
        if kind == "paint":
            self._paint_line(d["last"], m)
            d["last"] = m
            return
        if kind == "erase":
            self._erase_at(m, d["shift"])
            return
        if kind == "spawn":
            sx, sy = d["start"]
            if math.hypot(m[0] - sx, m[1] - sy) >= min_drag_m:
                facing = math.degrees(math.atan2(m[0] - sx, -(m[1] - sy))) % 360.0
                self.doc.set_spawn(d["start"], round(facing / 5.0) * 5.0)
                self.doc.changed()
                self._needs_validate = True
            return
        if kind in ("move_zone", "radius", "falloff", "vertex", "new_circle"):
            self.drag_zone(d, m)
        elif kind in ("node", "handle", "pen"):
            self.drag_path(d, m, pos)

    def on_release(self, pos, button: int) -> None:
        if button in (2, 3) and self.panning is not None:
            self.panning = None
            return
        if button != 1 or self.drag is None:
            return
        d, self.drag = self.drag, None
        if d["kind"] == "pen":
            self.finish_pen_node(d)
        elif d["kind"] == "new_circle" and not d.get("created"):
            self.selection = None  # a click on empty ground: deselect
        if self.doc.in_action:
            label = self.doc._label
            if self.doc.commit():
                self.say(label)
            self.after_change()

    # tiles ----------------------------------------------------------------------------------------

    def _paint_char(self, erase: bool) -> str:
        kind = "floor" if erase else self.tile_kind
        return self.doc.char_for(kind) or "."

    def _paint_line(self, a, b) -> None:
        cell = self.doc.cell_m
        n = max(1, int(math.hypot(b[0] - a[0], b[1] - a[1]) / (cell / 3)) + 1)
        cells = []
        for k in range(n + 1):
            t = k / n
            x, y = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
            c = (int(math.floor(x / cell)), int(math.floor(y / cell)))
            if c not in cells:
                cells.append(c)
        if self.doc.set_cells(cells, self.drag["char"] if self.drag else "#"):
            self.doc.changed()
            self._needs_validate = True

    def resize_map(self, dw: int, dh: int) -> None:
        rows = self.doc.grid_rows()
        w, h = (len(rows[0]) if rows else 0) + dw, len(rows) + dh
        if w < 1 or h < 1:
            return
        with self.doc.edit(f"map size {w} x {h} cells"):
            self.doc.resize_grid(w, h)
        self.after_change()

    # zones ----------------------------------------------------------------------------------------

    def zone_handles(self, i: int) -> list[tuple[tuple, tuple[float, float]]]:
        """Handles of a selected zone: (("radius",) | ("falloff",) | ("vertex", k), point in metres)."""
        shape = self.zone_shape(i)
        f = self.zone_falloff(i)
        out = []
        if isinstance(shape, Circle):
            cx, cy = shape.center
            out.append((("radius",), (cx + shape.radius_m, cy)))
            out.append((("falloff",), (cx + shape.radius_m + f, cy)))
        elif isinstance(shape, Polygon):
            for k, p in enumerate(shape.points):
                out.append((("vertex", k), p))
            x0, y0, x1, y1 = shape.bounds()
            out.append((("falloff",), (x1 + f, (y0 + y1) / 2)))
        return out

    def zone_at(self, pos) -> int | None:
        """The zone under a screen point: its anchor dot first, then its inner region (topmost =
        last in the file)."""
        n = len(self.doc.items("zones"))
        for i in reversed(range(n)):
            mk = self.zone_marker(i)
            if mk is not None and self.px_dist(mk, pos) <= hit_radius_px:
                return i
        m = np.array([self.world(pos)])
        for i in reversed(range(n)):
            shape = self.zone_shape(i)
            if shape is not None and float(np.ravel(shape.distance_outside(m))[0]) <= 0.0:
                return i
        return None

    def press_zones(self, pos, m, shift: bool, double: bool) -> None:
        sel = self.selection
        if sel and sel[0] == "zone":
            i = sel[1]
            for handle, p in self.zone_handles(i):
                if self.px_dist(p, pos) <= hit_radius_px:
                    if handle[0] == "vertex":
                        self.sel_vertex = handle[1]
                    self.doc.begin({"radius": "resize zone", "falloff": "change falloff",
                                    "vertex": "move corner"}[handle[0]])
                    self.drag = {"kind": handle[0], "i": i, "k": handle[1] if len(handle) > 1 else None}
                    return
            shape = self.zone_shape(i)
            if shift and isinstance(shape, Polygon):
                pts = list(shape.points)
                for k in range(len(pts)):
                    a, b = pts[k], pts[(k + 1) % len(pts)]
                    sa, sb = self.view.to_screen(*a), self.view.to_screen(*b)
                    if _seg_distance(pos, sa, sb) <= hit_radius_px:
                        self.doc.begin("add corner")
                        pts.insert(k + 1, m)
                        self.doc.set_zone_points(i, pts)
                        self.doc.changed()
                        self.sel_vertex = k + 1
                        self.drag = {"kind": "vertex", "i": i, "k": k + 1}
                        self._needs_validate = True
                        return
        if self.poly_points:
            if len(self.poly_points) >= 3 and (double or self.px_dist(self.poly_points[0], pos) <= hit_radius_px):
                self.finish_polygon()
            else:
                self.poly_points.append(m)
            return
        hit = self.zone_at(pos)
        if hit is not None:
            self.selection = ("zone", hit)
            self.sel_vertex = None
            self.drag = {"kind": "move_zone", "i": hit, "start": m, "orig": dict(self.zone_data(hit)),
                         "begun": False}
            return
        self.selection = None
        if self.zone_mode == "circle":
            self.drag = {"kind": "new_circle", "start": m, "created": False}
        else:
            self.poly_points = [m]

    def drag_zone(self, d: dict, m) -> None:
        kind = d["kind"]
        doc = self.doc
        if kind == "new_circle":
            r = math.hypot(m[0] - d["start"][0], m[1] - d["start"][1])
            if not d["created"]:
                if r < min_drag_m:
                    return
                doc.begin("draw zone")
                i = doc.add_circle_zone(self._new_zone_name(), d["start"], r, default_falloff_m, self.next_anchor())
                d["created"], d["i"] = True, i
                self.selection = ("zone", i)
            else:
                doc.set_zone_circle(d["i"], radius_m=r)
        elif kind == "move_zone":
            dx, dy = m[0] - d["start"][0], m[1] - d["start"][1]
            if not d["begun"]:
                if math.hypot(dx, dy) * self.view.px_per_m < 3:
                    return
                doc.begin("move zone")
                d["begun"] = True
            doc.move_zone(d["i"], dx, dy, d["orig"])
        elif kind == "radius":
            shape = self.zone_shape(d["i"])
            if isinstance(shape, Circle):
                doc.set_zone_circle(d["i"], radius_m=math.hypot(m[0] - shape.center[0], m[1] - shape.center[1]))
        elif kind == "falloff":
            shape = self.zone_shape(d["i"])
            if isinstance(shape, Circle):
                f = math.hypot(m[0] - shape.center[0], m[1] - shape.center[1]) - shape.radius_m
            elif isinstance(shape, Polygon):
                f = float(np.ravel(shape.distance_outside(np.array([m])))[0])
            else:
                return
            doc.set_value(doc.item_table("zones", d["i"]), "falloff_m", round(max(min_falloff_m, f), 2))
        elif kind == "vertex":
            pts = list(self.zone_data(d["i"]).get("points", []))
            if d["k"] is not None and d["k"] < len(pts):
                pts[d["k"]] = m
                doc.set_zone_points(d["i"], pts)
        doc.changed()
        self._needs_validate = True

    def _new_zone_name(self) -> str:
        a = self.next_anchor()
        return a if isinstance(a, str) else "zone"

    def finish_polygon(self) -> None:
        pts, self.poly_points = self.poly_points, []
        if len(pts) < 3:
            self.say("a polygon zone needs at least 3 corners", warn=True)
            return
        with self.doc.edit("draw zone"):
            i = self.doc.add_polygon_zone(self._new_zone_name(), pts, default_falloff_m, self.next_anchor())
        self.selection = ("zone", i)
        self.say("draw zone")
        self.after_change()

    def delete_selected_zone(self) -> None:
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

    # eraser ---------------------------------------------------------------------------------------

    def _erase_at(self, m, reset: bool) -> None:
        """Delete (or, with ``reset``, give the rest sound to) the zones whose anchor dot is under
        the brush, and delete path points under it (a path left with one point goes)."""
        r = self.eraser_radius_m
        changed = False
        rest = self.rest_anchor()
        for i in reversed(range(len(self.doc.items("zones")))):
            mk = self.zone_marker(i)
            if mk is None or math.hypot(mk[0] - m[0], mk[1] - m[1]) > r:
                continue
            if reset:
                if self.zone_data(i).get("anchor") != rest:
                    self.doc.set_value(self.doc.item_table("zones", i), "anchor", rest)
                    changed = True
            else:
                self.doc.delete_table("zones", i)
                changed = True
        for key in PATH_KINDS:
            for i in reversed(range(len(self.doc.items(key)))):
                nodes = self.path_nodes(key, i)
                if nodes is None:
                    continue
                keep = [n for n in nodes if math.hypot(n.anchor[0] - m[0], n.anchor[1] - m[1]) > r]
                if len(keep) == len(nodes):
                    continue
                if len(keep) < 2:
                    self.doc.delete_table(key, i)
                else:
                    self.doc.set_path_points(key, i, pe.points_from_nodes(keep))
                changed = True
        if changed:
            self.doc.changed()
            self._clamp_selection()
            self._needs_validate = True

    # paths ----------------------------------------------------------------------------------------

    def path_hit(self, pos) -> tuple[str, int] | None:
        for key in PATH_KINDS:
            for i in reversed(range(len(self.doc.items(key)))):
                nodes = self.path_nodes(key, i)
                if nodes is None:
                    continue
                _, _, d_m = pe.nearest_on_path(nodes, self.world(pos))
                if d_m * self.view.px_per_m <= hit_radius_px:
                    return key, i
        return None

    def press_paths(self, pos, m, shift: bool, alt: bool, double: bool) -> None:
        sel = self.selection
        if sel and sel[0] == "path" and self.pen is None:
            key, i = sel[1], sel[2]
            nodes = self.path_nodes(key, i)
            if nodes is not None:
                for k, n in enumerate(nodes):
                    if self.px_dist(n.anchor, pos) <= hit_radius_px:
                        self.sel_node = k
                        if double:
                            with self.doc.edit("smooth / corner point"):
                                self.doc.set_path_points(key, i, pe.points_from_nodes(pe.toggle_smooth(nodes, k)))
                            self.after_change()
                            return
                        self.doc.begin("move path point")
                        self.drag = {"kind": "node", "key": key, "i": i, "k": k, "orig": nodes}
                        return
                for k, n in enumerate(nodes):
                    for which, h in (("in", n.handle_in), ("out", n.handle_out)):
                        if h != n.anchor and self.px_dist(h, pos) <= hit_radius_px:
                            self.sel_node = k
                            self.doc.begin("move handle")
                            self.drag = {"kind": "handle", "key": key, "i": i, "k": k, "which": which,
                                         "orig": nodes, "smooth": pe.is_smooth(n) and not alt}
                            return
                seg, t, d_m = pe.nearest_on_path(nodes, m)
                if shift and d_m * self.view.px_per_m <= hit_radius_px:
                    with self.doc.edit("add path point"):
                        self.doc.set_path_points(key, i, pe.points_from_nodes(pe.split_segment(nodes, seg, t)))
                    self.sel_node = seg + 1
                    self.after_change()
                    return
        if self.pen is None:
            hit = self.path_hit(pos)
            if hit is not None:
                self.selection = ("path", *hit)
                self.sel_node = None
                return
            self.selection = None
            self.pen = {"key": "tours", "index": None, "nodes": []}
        # the pen: a new point at m; dragging pulls out its handles
        self.drag = {"kind": "pen", "anchor": m, "node": pe.Node(m, m, m)}
        if len(self.pen["nodes"]) >= 1:
            nodes = self.pen["nodes"] + [self.drag["node"]]
            if self.pen["index"] is None:
                self.doc.begin("draw path")
                self.pen["index"] = self.doc.add_tour("tour", pe.points_from_nodes(nodes))
                self.selection = ("path", "tours", self.pen["index"])
            else:
                self.doc.begin("add path point")
                self.doc.set_path_points("tours", self.pen["index"], pe.points_from_nodes(nodes))
            self.doc.changed()
            self._needs_validate = True

    def drag_path(self, d: dict, m, pos) -> None:
        kind = d["kind"]
        if kind == "pen":
            far = self.px_dist(d["anchor"], pos) > 4
            d["node"] = pe.node_from_drag(d["anchor"], m) if far else pe.Node(d["anchor"], d["anchor"], d["anchor"])
            if self.pen and self.pen["index"] is not None:
                nodes = self.pen["nodes"] + [d["node"]]
                self.doc.set_path_points("tours", self.pen["index"], pe.points_from_nodes(nodes))
                self.doc.changed()
                self._needs_validate = True
            return
        nodes = list(d["orig"])
        k = d["k"]
        if kind == "node":
            nodes[k] = pe.move_anchor(d["orig"][k], m)
        else:
            nodes[k] = pe.move_handle(d["orig"][k], d["which"], m, keep_smooth=d["smooth"])
        self.doc.set_path_points(d["key"], d["i"], pe.points_from_nodes(nodes))
        self.doc.changed()
        self._needs_validate = True

    def finish_pen_node(self, d: dict) -> None:
        if self.pen is None:
            return
        self.pen["nodes"].append(d["node"])
        if self.pen["index"] is not None:
            self.sel_node = len(self.pen["nodes"]) - 1

    def end_pen(self) -> None:
        if self.pen is not None and self.pen["index"] is None and self.pen["nodes"]:
            self.say("a path needs at least two points; click a second point next time")
        self.pen = None

    def delete_selected_path_point(self) -> None:
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

    # keys -----------------------------------------------------------------------------------------

    def on_key(self, key: int, mod: int, text: str = "") -> None:
        pg = self.pg
        ctrl = bool(mod & (pg.KMOD_CTRL | pg.KMOD_META))
        shift = bool(mod & pg.KMOD_SHIFT)
        if self.text_edit is not None and not ctrl:
            self._text_key(key, text)
            return
        if ctrl:
            if key == pg.K_z and not shift:
                self.undo()
            elif key == pg.K_y or (key == pg.K_z and shift):
                self.redo()
            elif key == pg.K_s:
                self.save()
            elif key == pg.K_q or key == pg.K_w:
                self.request_close()
            return
        name = pg.key.name(key)
        if key == pg.K_SPACE:
            self.listen_hold = True
        elif key == pg.K_ESCAPE:
            if self.drag is not None and self.doc.in_action:
                self.doc.cancel()
                self.drag = None
                self.after_change()
            elif self.poly_points:
                self.poly_points = []
            elif self.pen is not None:
                self.end_pen()
            else:
                self.selection = None
        elif key in (pg.K_RETURN, pg.K_KP_ENTER):
            if self.poly_points:
                self.finish_polygon()
            elif self.pen is not None:
                self.end_pen()
        elif key in (pg.K_DELETE, pg.K_BACKSPACE):
            if self.selection and self.selection[0] == "zone":
                self.delete_selected_zone()
            elif self.selection and self.selection[0] == "path":
                self.delete_selected_path_point()
        elif key == pg.K_TAB:
            self.zone_mode = "polygon" if self.zone_mode == "circle" else "circle"
            self.poly_points = []
            self.say(f"zone tool draws {self.zone_mode}s")
        elif name in TOOL_KEYS:
            self.set_tool(TOOL_KEYS[name])
        elif self.tool == "tiles" and name in "1234567890" and len(name) == 1:
            self.tile_kind = TILE_ORDER[(int(name) - 1) % 10]
        elif name == "k":
            self.toggle_selected_node()
        elif name == "l":
            self.listen_toggle = not self.listen_toggle
            self.say("listening: move the mouse over the map" if self.listen_toggle else "sound off")
        elif name == "o":
            self.show_field = not self.show_field
        elif name == "f":
            if self.level is not None:
                self.view.fit(*self.level.tiles.size_m)
        elif name == "[":
            self.eraser_radius_m = max(0.25, self.eraser_radius_m / 1.25)
        elif name == "]":
            self.eraser_radius_m = min(20.0, self.eraser_radius_m * 1.25)
        elif key in (pg.K_LEFT, pg.K_RIGHT, pg.K_UP, pg.K_DOWN):
            dx = {pg.K_LEFT: 1, pg.K_RIGHT: -1}.get(key, 0) * pan_step_px
            dy = {pg.K_UP: 1, pg.K_DOWN: -1}.get(key, 0) * pan_step_px
            self.view.pan_px(dx, dy)
        elif key in (pg.K_PLUS, pg.K_EQUALS, pg.K_KP_PLUS):
            x, y, w, h = self.view.rect
            self.view.zoom_at(x + w / 2, y + h / 2, zoom_step ** 2)
        elif key in (pg.K_MINUS, pg.K_KP_MINUS):
            x, y, w, h = self.view.rect
            self.view.zoom_at(x + w / 2, y + h / 2, zoom_step ** -2)
        elif key == pg.K_PAGEDOWN:
            self.panel_focus = min(self.panel_focus + 1, max(0, len(self.rows) - 1))
        elif key == pg.K_PAGEUP:
            self.panel_focus = max(self.panel_focus - 1, 0)
        elif name in (",", "."):
            row = self.rows[self.panel_focus] if 0 <= self.panel_focus < len(self.rows) else None
            fn = row and (row.dec if name == "," else row.inc)
            if fn:
                fn()

    def set_tool(self, tool: str) -> None:
        if tool != self.tool:
            self.end_pen()
            self.poly_points = []
            self.tool = tool
            if tool == "spawn":
                self.selection = ("spawn",)

    def undo(self) -> None:
        self.drag = None
        self.pen = None
        self.poly_points = []
        label = self.doc.undo()
        self.say(f"undid: {label}" if label else "nothing to undo")
        self.after_change()

    def redo(self) -> None:
        self.drag = None
        label = self.doc.redo()
        self.say(f"redid: {label}" if label else "nothing to redo")
        self.after_change()

    # saving and closing -----------------------------------------------------------------------------

    def save(self) -> bool:
        """Ctrl+S. A level with problems is saved only on a second Ctrl+S, after saying what the
        game will do with it. Returns whether the file was written."""
        now = time.perf_counter()
        if self.problems and now > self.save_pending_until:
            self.save_pending_until = now + confirm_s
            n = len(self.problems)
            self.say(f"{n} problem{'s' if n != 1 else ''} (listed on the right): a running game keeps its last good "
                     "version until they are fixed. Press Ctrl+S again to save anyway.", warn=True)
            return False
        self.save_pending_until = 0.0
        text = self.doc.text()
        try:
            backup = save_level_text(self.path, text)
        except UserError as e:
            self.say(str(e), warn=True)
            return False
        self.doc.mark_saved(text)
        self._disk_mtime = self._mtime()
        self.created = False
        note = f" (previous version in {backup.name})" if backup else ""
        state = "" if not self.problems else f", with {len(self.problems)} problem(s)"
        self.say(f"saved {self.path.name}{state}{note}")
        return True

    def request_close(self) -> None:
        now = time.perf_counter()
        if self.doc.dirty and now > self.close_pending_until:
            self.close_pending_until = now + confirm_s
            self.say("unsaved changes: close again to throw them away, or Ctrl+S to save", warn=True)
            return
        self.running = False

    # -- the side panel -----------------------------------------------------------------------------

    def build_rows(self) -> list[Row]:
        sel = self.selection
        if sel and sel[0] == "zone":
            return self._zone_rows(sel[1])
        if sel and sel[0] == "path":
            return self._path_rows(sel[1], sel[2])
        if sel and sel[0] == "spawn":
            return self._spawn_rows()
        return self._level_rows()

    def _edit_value(self, label: str, table_fn, key: str, value) -> None:
        with self.doc.edit(label):
            self.doc.set_value(table_fn(), key, value)
        self.after_change()

    def _number_row(self, label: str, table_fn, data: dict, key: str, default: float, step: float,
                    lo: float, unit: str = "", hi: float = 1e9) -> Row:
        v = data.get(key, default)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        cur = float(v) if ok else default

        def change(sign):
            return lambda: self._edit_value(f"{label} {'-' if sign < 0 else '+'}", table_fn, key,
                                            round(min(max(cur + sign * step, lo), hi), 3))

        return Row(label, f"{cur:g}{unit}" if ok else f"{v!r}", change(-1), change(+1))

    def _cycle_row(self, label: str, table_fn, data: dict, key: str, default: str, choices) -> Row:
        v = data.get(key, default)
        choices = list(choices)

        def step(d):
            def go():
                i = choices.index(v) if v in choices else -1
                self._edit_value(f"{label}: {choices[(i + d) % len(choices)]}", table_fn, key,
                                 choices[(i + d) % len(choices)])
            return go

        return Row(label, str(v), step(-1), step(+1))

    def _text_row(self, label: str, table_fn, data: dict, key: str) -> Row:
        v = data.get(key, "")

        def start():
            self.text_edit = {"label": label, "table_fn": table_fn, "key": key, "text": str(v)}

        return Row(label, str(v), click=start)

    def _zone_rows(self, i: int) -> list[Row]:
        z = self.zone_data(i)
        t = lambda: self.doc.item_table("zones", i)  # noqa: E731 - a table getter, read when the row is used
        rows = [Row(f"Zone {i + 1} of {len(self.doc.items('zones'))}", ""),
                self._text_row("name", t, z, "name")]
        anchor = z.get("anchor")
        classes = list(self.classes)
        if classes:
            def cycle(d):
                def go():
                    cur = anchor if anchor in classes else None
                    j = classes.index(cur) if cur is not None else -1
                    self._edit_value(f"anchor: {classes[(j + d) % len(classes)]}", t, "anchor",
                                     classes[(j + d) % len(classes)])
                return go
            rows.append(Row("anchor (sound)", self.anchor_value(z), cycle(-1), cycle(+1)))
        else:
            rows.append(Row("anchor (sound)", self.anchor_value(z)))

        def shape(to):
            def go():
                with self.doc.edit(f"zone shape: {to}"):
                    self.doc.set_zone_shape(i, to)
                self.sel_vertex = None
                self.after_change()
            return go

        cur_shape = z.get("shape", "circle")
        other = "polygon" if cur_shape == "circle" else "circle"
        rows.append(Row("shape", str(cur_shape), shape(other), shape(other)))
        if cur_shape == "circle":
            rows.append(self._number_row("radius_m", t, z, "radius_m", default_radius_m, 0.5, 0.0, " m"))
        rows.append(self._number_row("falloff_m", t, z, "falloff_m", default_falloff_m, 0.5, min_falloff_m, " m"))
        rows.append(self._cycle_row("curve", t, z, "curve", "smooth", CURVES))
        rows.append(self._number_row("priority", t, z, "priority", 1.0, 0.25, 0.25))
        rows.append(self._number_row("fade_s", t, z, "fade_s", 1.0, 0.25, 0.1, " s"))
        rows.append(Row("", "delete zone (Del)", click=self.delete_selected_zone))
        return rows

    def _path_rows(self, key: str, i: int) -> list[Row]:
        p = self.doc.items(key)[i]
        t = lambda: self.doc.item_table(key, i)  # noqa: E731
        kind = "tour" if key == "tours" else "trajectory"
        nodes = self.path_nodes(key, i)
        rows = [Row(f"{kind.capitalize()} ({len(nodes) if nodes else '?'} points)", ""),
                self._text_row("name", t, p, "name")]
        if key == "tours":
            rows.append(self._number_row("speed_mps", t, p, "speed_mps", 1.2, 0.1, 0.1, " m/s", 20.0))
            rows.append(self._number_row("pause_s", t, p, "pause_s", 0.0, 0.5, 0.0, " s"))
        else:
            rows.append(self._text_row("clip", t, p, "clip"))
        if self.sel_node is not None and nodes is not None and self.sel_node < len(nodes):
            n = nodes[self.sel_node]
            rows.append(Row(f"point {self.sel_node + 1}", "smooth" if pe.is_smooth(n) else "corner",
                            self.toggle_selected_node, self.toggle_selected_node))
            rows.append(Row("", "delete point (Del)", click=self.delete_selected_path_point))
        else:
            rows.append(Row("", "delete path", click=self.delete_selected_path_point))
        if key == "tours":
            rows.append(Row("play it", f"memoire play {self.path.name} --tour \"{p.get('name', '')}\""))
            rows.append(Row("", "make it a trajectory (a clip along the path)",
                            click=lambda: self.tour_to_trajectory(i)))
        return rows

    def tour_to_trajectory(self, index: int) -> None:
        """The selected tour becomes a trajectory: a latent clip laid along the same path."""
        with self.doc.edit("make trajectory"):
            new = self.doc.tour_to_trajectory(index)
        self.selection = ("path", "trajectories", new)
        self.sel_node = None
        self.after_change()

    def _spawn_rows(self) -> list[Row]:
        s = self.doc.data.get("spawn", {})
        t = lambda: self.doc.table("spawn")  # noqa: E731
        at = s.get("at", "?")
        return [Row("Spawn", ""), Row("at", f"{at} m"),
                self._number_row("facing_deg", t, s, "facing_deg", 0.0, 15.0, -1e9, " deg")]

    def _level_rows(self) -> list[Row]:
        lv = self.doc.data.get("level", {})
        snd = self.doc.data.get("sound", {})
        rows = self.doc.grid_rows()
        w, h = (len(rows[0]) if rows else 0), len(rows)
        tl = lambda: self.doc.table("level")  # noqa: E731
        ts = lambda: self.doc.table("sound")  # noqa: E731
        out = [Row("Level (nothing selected)", ""), self._text_row("name", tl, lv, "name"),
               Row("map width", f"{w} cells = {w * self.doc.cell_m:g} m", lambda: self.resize_map(-1, 0),
                   lambda: self.resize_map(1, 0)),
               Row("map height", f"{h} cells = {h * self.doc.cell_m:g} m", lambda: self.resize_map(0, -1),
                   lambda: self.resize_map(0, 1)),
               self._cycle_row("sound field", ts, snd, "field", "zones", FIELDS)]
        if self.classes:
            out.append(self._cycle_row("rest sound", ts, snd, "rest", "courtyard", self.classes))
        out.append(self._number_row("smoothing_s", ts, snd, "smoothing_s", 0.5, 0.1, 0.1, " s"))
        out.append(self._number_row("gain_db", ts, snd, "gain_db", 0.0, 1.0, -60.0, " dB", 12.0))
        return out

    def _text_key(self, key: int, text: str) -> None:
        pg = self.pg
        te = self.text_edit
        if key in (pg.K_RETURN, pg.K_KP_ENTER):
            self.text_edit = None
            value = te["text"].strip()
            if value:
                self._edit_value(f"{te['label']}: {value}", te["table_fn"], te["key"], value)
        elif key == pg.K_ESCAPE:
            self.text_edit = None
        elif key == pg.K_BACKSPACE:
            te["text"] = te["text"][:-1]
        elif text and text.isprintable() and len(te["text"]) < 60:
            te["text"] += text

    def panel_click(self, pos) -> None:
        for rect, tool in self._tool_rects:
            if rect.collidepoint(pos):
                self.set_tool(tool)
                return
        for rect, kind in getattr(self, "_kind_rects", []):
            if rect.collidepoint(pos):
                if kind in TILE_ORDER:
                    self.tile_kind = kind
                else:
                    self.zone_mode = kind
                return
        for idx, (rect, row, part) in enumerate(self._row_rects):
            if rect.collidepoint(pos):
                self.panel_focus = self.rows.index(row) if row in self.rows else 0
                fn = {"dec": row.dec, "inc": row.inc, "click": row.click}[part]
                if fn:
                    fn()
                return
        for rect, target in self._problem_rects:
            if rect.collidepoint(pos):
                self.go_to(target)
                return

    def problem_target(self, p: Problem) -> tuple | None:
        """The object a problem names: ("zone", i), ("path", key, i), ("spawn",) or None."""
        m = re.match(r"(zone|tour|trajectory) '(.*)'$", p.where or "")
        if m:
            key = {"zone": "zones", "tour": "tours", "trajectory": "trajectories"}[m.group(1)]
            for i, t in enumerate(self.doc.items(key)):
                if isinstance(t, dict) and t.get("name") == m.group(2):
                    return ("zone", i) if key == "zones" else ("path", key, i)
            m2 = re.match(r"#(\d+)$", m.group(2))
            if m2:
                i = int(m2.group(1)) - 1
                return ("zone", i) if key == "zones" else ("path", key, i)
        if p.where == "[spawn]":
            return ("spawn",)
        return None

    def go_to(self, target: tuple | None) -> None:
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
        self._clamp_selection()
        if p is not None:
            self.view.cx_m, self.view.cy_m = float(p[0]), float(p[1])

    # -- drawing -------------------------------------------------------------------------------------

    def draw(self) -> None:
        pg = self.pg
        scr = self.screen
        scr.fill(BG_RGB)
        x, y, w, h = self.view.rect
        scr.set_clip(pg.Rect(x, y, w, h))
        self._draw_tiles()
        if self.show_field and self.picture is not None:
            self._draw_field()
            self._blit_world(self._tile_image(solid_only=True), self.doc.cell_m, smooth=False)
        self._draw_props_and_grid()
        self._draw_zones()
        self._draw_paths()
        self._draw_spawn()
        self._draw_problem_spots()
        self._draw_cursor()
        scr.set_clip(None)
        self._draw_banner()
        self._draw_panel()
        self._draw_status()

    def _blit_world(self, surf, m_per_px: float, smooth: bool) -> None:
        """Draw an image covering the level rectangle from (0, 0), ``m_per_px`` metres per pixel,
        cropping to what is visible before scaling (a zoomed-in level would be huge)."""
        pg = self.pg
        iw, ih = surf.get_size()
        x0, y0, x1, y1 = self.view.visible_world()
        sx0 = max(0, int(math.floor(x0 / m_per_px)))
        sy0 = max(0, int(math.floor(y0 / m_per_px)))
        sx1 = min(iw, int(math.ceil(x1 / m_per_px)))
        sy1 = min(ih, int(math.ceil(y1 / m_per_px)))
        if sx1 <= sx0 or sy1 <= sy0:
            return
        sub = surf.subsurface(pg.Rect(sx0, sy0, sx1 - sx0, sy1 - sy0))
        ax, ay = self.view.to_screen(sx0 * m_per_px, sy0 * m_per_px)
        bx, by = self.view.to_screen(sx1 * m_per_px, sy1 * m_per_px)
        tw, th = max(1, int(round(bx)) - int(round(ax))), max(1, int(round(by)) - int(round(ay)))
        scaled = pg.transform.smoothscale(sub, (tw, th)) if smooth else pg.transform.scale(sub, (tw, th))
        self.screen.blit(scaled, (int(round(ax)), int(round(ay))))

    def _tile_image(self, solid_only: bool = False):
        """The grid as an image, one pixel per cell; ``solid_only``: walkable cells transparent
        (drawn over the colour field so walls stay crisp)."""
        if self._tile_version != self.doc.version or self._tile_surface is None:
            rows = self.doc.grid_rows()
            legend = self.doc.legend()
            h, w = len(rows), (len(rows[0]) if rows else 0)
            arr = np.zeros((max(h, 1), max(w, 1), 3), dtype=np.uint8)
            arr[:] = TILE_RGB["void"]
            solid = np.zeros(arr.shape[:2], dtype=bool)
            for r, row in enumerate(rows):
                for c, ch in enumerate(row):
                    kind = legend.get(ch, "void")
                    arr[r, c] = TILE_RGB.get(kind, (255, 0, 255))
                    solid[r, c] = kind in SOLID_TILES
            self._tile_surface = self.pg.surfarray.make_surface(arr.transpose(1, 0, 2))
            masked = arr.copy()
            masked[~solid] = (255, 0, 255)
            self._solid_surface = self.pg.surfarray.make_surface(masked.transpose(1, 0, 2))
            self._solid_surface.set_colorkey((255, 0, 255))
            self._tile_version = self.doc.version
        return self._solid_surface if solid_only else self._tile_surface

    def _draw_tiles(self) -> None:
        self._blit_world(self._tile_image(), self.doc.cell_m, smooth=False)

    def _draw_field(self) -> None:
        pic = self.picture
        if pic is None:
            return
        if self._field_surface is None:
            ny, nx = pic.walkable.shape
            rgba = np.zeros((ny, nx, 4), dtype=np.uint8)
            rgba[..., :3] = pic.rgb
            rgba[..., 3] = FIELD_ALPHA  # walls are drawn again on top, crisp
            self._field_surface = self.pg.image.frombuffer(rgba.tobytes(), (nx, ny), "RGBA").copy()
        self._blit_world(self._field_surface, pic.step_m, smooth=True)

    def _draw_props_and_grid(self) -> None:
        pg = self.pg
        rows = self.doc.grid_rows()
        if not rows:
            return
        legend = self.doc.legend()
        cell = self.doc.cell_m
        px = cell * self.view.px_per_m
        x0, y0, x1, y1 = self.view.visible_world()
        c0, c1 = max(0, int(x0 // cell)), min(len(rows[0]), int(x1 // cell) + 1)
        r0, r1 = max(0, int(y0 // cell)), min(len(rows), int(y1 // cell) + 1)
        if px >= 16 and c1 > c0 and r1 > r0:
            # faint cell lines, drawn on a see-through layer (pygame lines have no alpha)
            vx, vy, vw, vh = self.view.rect
            layer = pg.Surface((vw, vh), pg.SRCALPHA)
            line = (0, 0, 0, 40)
            _, ya = self.view.to_screen(0, r0 * cell)
            _, yb = self.view.to_screen(0, r1 * cell)
            xa, _ = self.view.to_screen(c0 * cell, 0)
            xb, _ = self.view.to_screen(c1 * cell, 0)
            for c in range(c0, c1 + 1):
                sx, _ = self.view.to_screen(c * cell, 0)
                pg.draw.line(layer, line, (sx - vx, ya - vy), (sx - vx, yb - vy), 1)
            for r in range(r0, r1 + 1):
                _, sy = self.view.to_screen(0, r * cell)
                pg.draw.line(layer, line, (xa - vx, sy - vy), (xb - vx, sy - vy), 1)
            self.screen.blit(layer, (vx, vy))
        for r in range(r0, r1):
            for c in range(c0, c1):
                kind = legend.get(rows[r][c])
                if kind in PROP_RGB:
                    sx, sy = self.view.to_screen((c + 0.5) * cell, (r + 0.5) * cell)
                    rad = max(2, int(px * (0.38 if kind == "tree" else 0.2)))
                    pg.draw.circle(self.screen, PROP_RGB[kind], (sx, sy), rad)

    def _problem_targets(self) -> set:
        return {t for t in (self.problem_target(p) for p in self.problems) if t is not None}

    def _draw_zones(self) -> None:
        pg = self.pg
        scr = self.screen
        bad = self._problem_targets()
        n = len(self.doc.items("zones"))
        to_s = self.view.to_screen
        for i in range(n):
            shape = self.zone_shape(i)
            if shape is None:
                continue
            col = self.zone_colour(i)
            f = self.zone_falloff(i)
            selected = self.selection == ("zone", i)
            if isinstance(shape, Circle):
                c = to_s(*shape.center)
                r_px = max(1, int(shape.radius_m * self.view.px_per_m))
                if ("zone", i) in bad:
                    pg.draw.circle(scr, PROBLEM_RGB, c, r_px + 4, 6)
                pg.draw.circle(scr, col, c, r_px, 3 if selected else 2)
                pg.draw.circle(scr, col, c, max(1, int((shape.radius_m + f) * self.view.px_per_m)), 1)
            else:
                pts = [to_s(*p) for p in shape.points]
                if ("zone", i) in bad:
                    pg.draw.polygon(scr, PROBLEM_RGB, pts, 8)
                pg.draw.polygon(scr, col, pts, 3 if selected else 2)
                outline = [to_s(*p) for p in offset_outline(shape.points, f)]
                pg.draw.lines(scr, col, True, outline, 1)
            mk = self.zone_marker(i)
            if mk is not None:
                m = to_s(*mk)
                pg.draw.circle(scr, (0, 0, 0), m, 9 if selected else 8)
                pg.draw.circle(scr, col, m, 7 if selected else 6)
                if selected:
                    pg.draw.circle(scr, (255, 255, 255), m, 11, 2)
                z = self.zone_data(i)
                label = f"{z.get('name', '?')}" + (f" · {self.anchor_value(z)}" if self.anchor_value(z) != z.get("name") else "")
                self._text(label, (m[0] + 11, m[1] - 8), self.font_small, (255, 255, 255), shadow=True)
                if ("zone", i) in bad:
                    self._text("!", (m[0] - 4, m[1] - 26), self.font_big, PROBLEM_RGB, shadow=True)
            if selected and self.tool == "zones":
                for handle, p in self.zone_handles(i):
                    s = to_s(*p)
                    active = handle == ("vertex", self.sel_vertex)
                    fill = ACCENT_RGB if handle[0] == "falloff" else (255, 255, 255)
                    rect = pg.Rect(0, 0, 10, 10)
                    rect.center = (int(s[0]), int(s[1]))
                    pg.draw.rect(scr, (0, 0, 0), rect.inflate(4, 4))
                    pg.draw.rect(scr, (255, 120, 0) if active else fill, rect)
        if self.poly_points:
            pts = [to_s(*p) for p in self.poly_points] + [self.mouse_px]
            pg.draw.lines(scr, ACCENT_RGB, False, pts, 2)
            for p in pts[:-1]:
                pg.draw.circle(scr, ACCENT_RGB, p, 4)

    def _draw_paths(self) -> None:
        pg = self.pg
        scr = self.screen
        bad = self._problem_targets()
        to_s = self.view.to_screen
        for key in PATH_KINDS:
            for i, item in enumerate(self.doc.items(key)):
                nodes = self.path_nodes(key, i)
                if nodes is None:
                    continue
                col = TOUR_RGB if key == "tours" else TRAJECTORY_RGB
                pts = [to_s(*p) for p in pe.polyline(nodes)]
                selected = self.selection == ("path", key, i)
                if ("path", key, i) in bad:
                    pg.draw.lines(scr, PROBLEM_RGB, False, pts, 10)
                pg.draw.lines(scr, (0, 0, 0), False, pts, 4)
                pg.draw.lines(scr, col, False, pts, 2)
                end = to_s(*nodes[-1].anchor)
                self._arrow(pts, col)
                self._text(str(item.get("name", "")), (pts[0][0] + 8, pts[0][1] + 6), self.font_small, col, shadow=True)
                show_points = selected or self.tool in ("paths", "eraser")
                for k, n in enumerate(nodes):
                    if not show_points:
                        break
                    a = to_s(*n.anchor)
                    if selected and self.tool == "paths":
                        for h in (n.handle_in, n.handle_out):
                            if h != n.anchor:
                                hs = to_s(*h)
                                pg.draw.line(scr, (200, 200, 200), a, hs, 1)
                                pg.draw.circle(scr, (0, 0, 0), hs, 5)
                                pg.draw.circle(scr, ACCENT_RGB, hs, 4)
                    size = 9 if selected else 5
                    rect = pg.Rect(0, 0, size, size)
                    rect.center = (int(a[0]), int(a[1]))
                    pg.draw.rect(scr, (0, 0, 0), rect.inflate(4, 4))
                    pg.draw.rect(scr, (255, 120, 0) if selected and k == self.sel_node else col, rect)
                del end
        if self.pen is not None and self.pen["index"] is None and self.pen["nodes"]:
            a = to_s(*self.pen["nodes"][0].anchor)
            pg.draw.line(scr, TOUR_RGB, a, self.mouse_px, 1)
            pg.draw.circle(scr, TOUR_RGB, a, 5)

    def _arrow(self, pts, col) -> None:
        """A small arrow head at the path's end showing its direction."""
        if len(pts) < 2:
            return
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        for back in range(3, min(len(pts), 12)):
            ax, ay = pts[-back]
            if math.hypot(bx - ax, by - ay) > 6:
                break
        ang = math.atan2(by - ay, bx - ax)
        tip = (bx, by)
        left = (bx - 12 * math.cos(ang - 0.45), by - 12 * math.sin(ang - 0.45))
        right = (bx - 12 * math.cos(ang + 0.45), by - 12 * math.sin(ang + 0.45))
        self.pg.draw.polygon(self.screen, col, [tip, left, right])

    def _draw_spawn(self) -> None:
        pg = self.pg
        s = self.doc.data.get("spawn", {})
        at = s.get("at")
        if not (isinstance(at, list) and len(at) == 2):
            return
        try:
            c = self.view.to_screen(float(at[0]), float(at[1]))
            h = math.radians(float(s.get("facing_deg", 0.0)))
        except (TypeError, ValueError):
            return
        if ("spawn",) in self._problem_targets():
            pg.draw.circle(self.screen, PROBLEM_RGB, c, 16, 3)
        tip = (c[0] + 18 * math.sin(h), c[1] - 18 * math.cos(h))
        pg.draw.line(self.screen, (0, 0, 0), c, tip, 5)
        pg.draw.line(self.screen, ACCENT_RGB, c, tip, 3)
        pg.draw.circle(self.screen, (0, 0, 0), c, 9)
        pg.draw.circle(self.screen, ACCENT_RGB, c, 7)
        self._text("spawn", (c[0] + 10, c[1] + 6), self.font_small, ACCENT_RGB, shadow=True)

    def _draw_problem_spots(self) -> None:
        """A red target where a problem's message names a place ("near [x, y] m")."""
        for p in self.problems:
            m = re.search(r"near \[(-?[\d.]+), (-?[\d.]+)\]", p.message)
            if not m:
                continue
            c = self.view.to_screen(float(m.group(1)), float(m.group(2)))
            for r, w in ((14, 3), (6, 0)):
                self.pg.draw.circle(self.screen, (0, 0, 0), c, r + 1, w + 2 if w else 0)
                self.pg.draw.circle(self.screen, PROBLEM_RGB, c, r, w)

    def hearing(self, xy) -> str:
        """What the field plays at a level point, in words: "birds 80%, rest 20%"."""
        if self.blend is None:
            return ""
        w, rest = self.blend.weights(np.array([xy]))
        parts = [(float(w[0, i]), n) for i, n in enumerate(self.blend.names)] + [(float(rest[0]), "rest")]
        parts = sorted((p for p in parts if p[0] >= 0.05), reverse=True)[:3]
        return ", ".join(f"{n} {v * 100:.0f}%" for v, n in parts)

    def _draw_cursor(self) -> None:
        pg = self.pg
        if not self.in_map(self.mouse_px):
            return
        if self.tool == "eraser":
            r = int(self.eraser_radius_m * self.view.px_per_m)
            pg.draw.circle(self.screen, (0, 0, 0), self.mouse_px, r + 1, 3)
            pg.draw.circle(self.screen, (255, 255, 255), self.mouse_px, r, 1)
        if self.sound.state in ("on", "starting"):
            z = self.sound.latent()
            col = ACCENT_RGB
            if z is not None and self.palette is not None:
                col = tuple(int(c) for c in self.palette.colours(np.asarray(z)))
            for r in (10, 18, 26):
                pg.draw.circle(self.screen, (0, 0, 0), self.mouse_px, r + 1, 5 if r > 10 else 0)
                pg.draw.circle(self.screen, col, self.mouse_px, r, 2 if r > 10 else 0)
            words = self.hearing(self.world(self.mouse_px))
            if words:
                self._text("hearing " + words, (self.mouse_px[0] + 30, self.mouse_px[1] + 12), self.font,
                           (255, 255, 255), shadow=True)

    def _draw_banner(self) -> None:
        now = time.perf_counter()
        text = None
        if now < self.close_pending_until:
            text = "Unsaved changes. Close again to throw them away, or press Ctrl+S to save."
        elif now < self.save_pending_until:
            text = f"This level has {len(self.problems)} problem(s). Ctrl+S again saves anyway; the game keeps its last good version."
        if text is None:
            return
        img = self.font_big.render(text, True, (255, 255, 255))
        x, y, w, h = self.view.rect
        box = img.get_rect()
        box.midtop = (x + w // 2, y + 14)
        self.pg.draw.rect(self.screen, (150, 30, 30), box.inflate(24, 14), border_radius=6)
        self.screen.blit(img, box)

    def _text(self, s: str, at, font, colour, shadow: bool = False) -> int:
        if shadow:
            self.screen.blit(font.render(s, True, (0, 0, 0)), (at[0] + 1, at[1] + 1))
        img = font.render(s, True, colour)
        self.screen.blit(img, at)
        return img.get_height()

    def _wrap(self, s: str, font, width: int) -> list[str]:
        lines, cur = [], ""
        for word in s.split(" "):
            trial = f"{cur} {word}".strip()
            if font.size(trial)[0] <= width or not cur:
                cur = trial
            else:
                lines.append(cur)
                cur = word
        if cur:
            lines.append(cur)
        return lines

    def _draw_panel(self) -> None:
        pg = self.pg
        scr = self.screen
        W, H = self.size_px
        x0 = W - panel_width_px
        pg.draw.rect(scr, PANEL_RGB, pg.Rect(x0, 0, panel_width_px, H - status_height_px))
        x, y = x0 + 12, 10
        inner = panel_width_px - 24
        title = f"{self.path.name}{' *' if self.doc.dirty else ''}"
        y += self._text(title, (x, y), self.font_big, TEXT_RGB) + 2
        state = "ready to play" if self.playable else (f"{len(self.problems)} problem(s)" if self.problems else "")
        y += self._text(state, (x, y), self.font_small, (120, 220, 120) if self.playable else PROBLEM_RGB) + 8
        # tools
        self._tool_rects = []
        bw = (inner - 8) // 3
        for k, tool in enumerate(TOOLS):
            r = pg.Rect(x + (k % 3) * (bw + 4), y + (k // 3) * 28, bw, 24)
            pg.draw.rect(scr, (90, 90, 110) if tool == self.tool else (56, 58, 66), r, border_radius=4)
            img = self.font_small.render(TOOL_LABELS[tool], True, TEXT_RGB)
            scr.blit(img, img.get_rect(center=r.center))
            self._tool_rects.append((r, tool))
        y += 2 * 28 + 6
        # tool options
        self._kind_rects = []
        if self.tool == "tiles":
            sw = (inner - 4 * 4) // 5
            for k, kind in enumerate(TILE_ORDER):
                r = pg.Rect(x + (k % 5) * (sw + 4), y + (k // 5) * 22, sw, 20)
                pg.draw.rect(scr, TILE_RGB[kind] if kind not in PROP_RGB else PROP_RGB[kind], r)
                if kind == self.tile_kind:
                    pg.draw.rect(scr, ACCENT_RGB, r.inflate(4, 4), 2)
                label = f"{(k + 1) % 10} {kind}"
                img = self.font_small.render(label, True, (0, 0, 0) if kind in ("floor", "garden", "lantern") else (255, 255, 255))
                scr.blit(img, img.get_rect(center=r.center))
                self._kind_rects.append((r, kind))
            y += 2 * 22 + 6
        elif self.tool == "zones":
            for k, mode in enumerate(("circle", "polygon")):
                r = pg.Rect(x + k * (inner // 2 + 2), y, inner // 2 - 2, 22)
                pg.draw.rect(scr, (90, 90, 110) if mode == self.zone_mode else (56, 58, 66), r, border_radius=4)
                img = self.font_small.render(f"draw {mode}s", True, TEXT_RGB)
                scr.blit(img, img.get_rect(center=r.center))
                self._kind_rects.append((r, mode))
            y += 28
        elif self.tool == "eraser":
            y += self._text(f"brush radius {self.eraser_radius_m:.2f} m", (x, y), self.font_small, TEXT_RGB) + 4
        for line in self._wrap(TOOL_HELP[self.tool], self.font_small, inner):
            y += self._text(line, (x, y), self.font_small, DIM_RGB)
        y += 10
        pg.draw.line(scr, (70, 72, 80), (x, y), (x + inner, y))
        y += 8
        # properties of the selection
        self.rows = self.build_rows()
        self.panel_focus = min(self.panel_focus, max(0, len(self.rows) - 1))
        self._row_rects = []
        for idx, row in enumerate(self.rows):
            rh = 22
            rect = pg.Rect(x, y, inner, rh)
            if idx == self.panel_focus and (row.dec or row.inc or row.click):
                pg.draw.rect(scr, (52, 54, 64), rect)
            if not row.value and not row.click and not row.dec:
                self._text(row.label, (x, y + 3), self.font, ACCENT_RGB)
            elif row.click and not row.label:
                b = pg.Rect(x, y, inner, rh - 2)
                pg.draw.rect(scr, (70, 50, 50) if "delete" in row.value else (56, 58, 66), b, border_radius=4)
                img = self.font_small.render(row.value, True, TEXT_RGB)
                scr.blit(img, img.get_rect(center=b.center))
                self._row_rects.append((b, row, "click"))
            else:
                self._text(row.label, (x, y + 4), self.font_small, DIM_RGB)
                vx = x + 110
                value = row.value
                if self.text_edit is not None and row.click and self.text_edit["label"] == row.label:
                    value = self.text_edit["text"] + ("|" if int(time.perf_counter() * 2) % 2 else " ")
                    pg.draw.rect(scr, (20, 20, 24), pg.Rect(vx - 2, y, inner - 110, rh - 2))
                if row.dec or row.inc:
                    dec = pg.Rect(vx, y, 20, rh - 2)
                    inc = pg.Rect(x + inner - 20, y, 20, rh - 2)
                    for r, s, part in ((dec, "<", "dec"), (inc, ">", "inc")):
                        pg.draw.rect(scr, (66, 68, 80), r, border_radius=3)
                        img = self.font.render(s, True, TEXT_RGB)
                        scr.blit(img, img.get_rect(center=r.center))
                        self._row_rects.append((r, row, part))
                    shown = value
                    while self.font_small.size(shown)[0] > inner - 160 and len(shown) > 4:
                        shown = shown[:-2]
                    self._text(shown if shown == value else shown + "…", (vx + 26, y + 4), self.font_small, TEXT_RGB)
                else:
                    shown = value
                    while self.font_small.size(shown)[0] > inner - 112 and len(shown) > 4:
                        shown = shown[:-2]
                    self._text(shown if shown == value else shown + "…", (vx, y + 4), self.font_small, TEXT_RGB)
                    if row.click:
                        self._row_rects.append((pg.Rect(vx - 2, y, inner - 110, rh), row, "click"))
            y += rh + 2
        y += 8
        pg.draw.line(scr, (70, 72, 80), (x, y), (x + inner, y))
        y += 8
        # problems
        self._problem_rects = []
        if self.problems:
            y += self._text(f"Problems ({len(self.problems)}) - click one to show it", (x, y), self.font, PROBLEM_RGB) + 4
            bottom = H - status_height_px - 8
            for p in self.problems:
                msg = f"{p.where}: {p.message}" if p.where else p.message
                lines = self._wrap(msg, self.font_small, inner - 8)
                top = y
                for line in lines:
                    if y > bottom - 14:
                        break
                    y += self._text(line, (x + 6, y), self.font_small, (255, 190, 190))
                self._problem_rects.append((pg.Rect(x, top, inner, y - top), self.problem_target(p)))
                y += 4
                if y > bottom - 14:
                    break
        else:
            for line in self._wrap("No problems: `memoire play " + self.path.name + "` plays this level; a running "
                                   "game picks up each save within a second.", self.font_small, inner):
                y += self._text(line, (x, y), self.font_small, (150, 210, 150))
        y += 8
        for line in self._wrap(COMMON_HELP, self.font_small, inner):
            if y > H - status_height_px - 16:
                break
            y += self._text(line, (x, y), self.font_small, DIM_RGB)

    def _draw_status(self) -> None:
        pg = self.pg
        W, H = self.size_px
        y0 = H - status_height_px
        pg.draw.rect(self.screen, (18, 18, 22), pg.Rect(0, y0, W, status_height_px))
        now = time.perf_counter()
        live = [(t, warn) for t, until, warn in self.messages if until > now]
        if live:
            t, warn = live[-1]
            shown = t
            while self.font.size(shown)[0] > W - 430 and len(shown) > 10:
                shown = shown[:-4]
            self._text(shown if shown == t else shown + "…", (8, y0 + 6), self.font, (255, 170, 90) if warn else TEXT_RGB)
        mx, my = self.world(self.mouse_px)
        cell = self.doc.cell_m
        col, row = int(math.floor(mx / cell)), int(math.floor(my / cell))
        rows = self.doc.grid_rows()
        kind = self.doc.legend().get(rows[row][col], "?") if 0 <= row < len(rows) and 0 <= col < len(rows[row]) else "outside"
        parts = [f"x {mx:.1f} m  y {my:.1f} m  cell {col},{row} {kind}"]
        snd = {"on": "sound ON", "starting": "sound starting…", "failed": "no sound", "off": ""}[self.sound.state]
        if snd:
            parts.append(snd)
        prog = self.terrain.progress
        if prog is not None:
            parts.append(f"terrain {prog * 100:.0f}%")
        right = "   ".join(parts)
        img = self.font.render(right, True, DIM_RGB)
        self.screen.blit(img, (W - img.get_width() - 8, y0 + 6))
