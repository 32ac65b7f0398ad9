"""`memoire edit`: the designers' top-down editor (pygame).

One window: the map on the left (tiles, the latent field in colour, zones, paths, spawn), a
side panel on the right (tools, the selected object's properties, the level's problems) and a
status line. ``Editor.handle(event)`` takes pygame events (tests post scripted ones);
``Editor.tick()`` runs the background work; ``Editor.draw()`` paints the whole frame.

Every change goes through ``LevelDocument`` (memoire/editor/document.py): one undo step per action,
the designer's comments kept. After each change the text is validated with the game's own loader
(problems listed in the panel and outlined in red on the map), and when it is a playable level
the colour field is recomputed and the preview sound (if on) crossfades to it.

This module is the window and the input routing: it opens the window, runs the frame loop, and
sends each event where it belongs: a press on the map to the active tool (memoire/editor/tools/),
a press on the panel to the panel layout's hit test (memoire/editor/panel.py), keys to the
editor-wide bindings or the active tool. The state and the shared edits are
``EditorSession`` (memoire/editor/session.py); drawing is memoire/editor/scene.py (the map) and
the panel layout painted by memoire/editor/widgets.py; saving and the file on disk are
memoire/editor/filesync.py.

Threads: everything here runs on the main thread; the sound preview and the terrain trainer run
their own threads and are polled from ``tick``.
"""

from __future__ import annotations

import math
import time
import traceback
from pathlib import Path

from memoire.editor.canvas import Canvas
from memoire.editor.filesync import FileSync
from memoire.editor.panel import PanelLayout, layout_panel, layout_status
from memoire.editor.rows import Row, build_rows, text_key
from memoire.editor.scene import MapPainter
from memoire.editor.session import EditorSession
from memoire.editor.style import (
    font_big_px,
    font_px,
    font_small_px,
    panel_width_px,
    status_height_px,
)
from memoire.editor.tools.base import Pointer
from memoire.editor.tools.eraser import EraserTool
from memoire.editor.tools.paths import PathsTool
from memoire.editor.tools.spawn import SpawnTool
from memoire.editor.tools.tiles import TilesTool
from memoire.editor.tools.zones import ZonesTool
from memoire.editor.widgets import Fonts, paint_all

# -- feel --------------------------------------------------------------------------------------
double_click_s = 0.35
double_click_px = 6  # the second press of a double-click lands within this distance of the first
zoom_step = 1.15  # per mouse-wheel notch
key_zoom_notches = 2  # + and - zoom this many wheel notches
pan_step_px = 80  # per arrow key press
frame_rate_hz = 30  # an editor needs no more; leaves CPU for the synth and the terrain trainer
validate_during_drag_s = 0.1  # re-validate and redraw the field at most this often while dragging
key_repeat_delay_ms = 350
key_repeat_interval_ms = 40
min_map_px = 100  # the map area never shrinks below this, whatever the window's size
PAN_BUTTONS = (2, 3)  # middle and right drag pan the map
MOUSE_BUTTONS = (1, 2, 3)


class Editor(EditorSession):
    """The editor's window and input on top of its state. ``open_window`` before ``handle``/``draw``."""

    def __init__(self, path: str | Path, *, model_path: str | Path | None = None, mute: bool = False,
                 size_px: tuple[int, int] = (1280, 800), allow_outside: bool = False):
        self.tiles_tool = TilesTool()
        self.zones_tool = ZonesTool()
        self.eraser_tool = EraserTool()
        tools = [self.tiles_tool, self.zones_tool, self.eraser_tool, PathsTool(), SpawnTool()]
        self.tool_keys = {t.shortcut: t.name for t in tools}
        super().__init__(path, tools=tools, model_path=model_path, mute=mute, size_px=size_px,
                         allow_outside=allow_outside)
        self.file = FileSync(self.path)
        self.rows: list[Row] = []  # the panel's rows, as last laid out (PageUp/PageDown move among them)
        self.screen = None
        self.fonts: Fonts | None = None
        self.canvas: Canvas | None = None
        self.painter = MapPainter()
        self.layout: PanelLayout | None = None  # the panel as last drawn

    # the tools' options, by their old names
    @property
    def tile_kind(self) -> str:
        return self.tiles_tool.tile_kind

    @tile_kind.setter
    def tile_kind(self, kind: str) -> None:
        self.tiles_tool.tile_kind = kind

    @property
    def zone_mode(self) -> str:
        return self.zones_tool.mode

    @zone_mode.setter
    def zone_mode(self, mode: str) -> None:
        self.zones_tool.mode = mode

    @property
    def eraser_radius_m(self) -> float:
        return self.eraser_tool.radius_m

    @eraser_radius_m.setter
    def eraser_radius_m(self, r: float) -> None:
        self.eraser_tool.radius_m = r

    # -- window ------------------------------------------------------------------------------------

    def open_window(self) -> None:
        import pygame

        self.pg = pygame
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(f"Memoire editor - {self.path.name}")
        self.screen = pygame.display.set_mode(self.size_px, pygame.RESIZABLE)
        self.fonts = Fonts(pygame.font.Font(None, font_px), pygame.font.Font(None, font_small_px),
                           pygame.font.Font(None, font_big_px))
        self.canvas = Canvas(pygame, self.screen, self.fonts)
        self.fit_window(self.screen.get_size())
        pygame.key.set_repeat(key_repeat_delay_ms, key_repeat_interval_ms)

    def fit_window(self, size) -> None:
        """The window is ``size`` pixels: the map takes what the panel and status line leave (the
        view's centre stays; the map area grows or shrinks around it)."""
        w, h = size
        self.size_px = (w, h)
        self.view.rect = (0, 0, max(min_map_px, w - panel_width_px), max(min_map_px, h - status_height_px))

    def frame(self) -> None:
        """One pass of the editor's loop: the window's events, background work, the picture."""
        for event in self.pg.event.get():
            self.handle(event)
        self.tick()
        self.draw()
        self.pg.display.flip()

    def run(self, frames: int | None = None, screenshot: str | Path | None = None) -> int:
        """Open the window and run ``frame`` at ``frame_rate_hz`` until the designer closes it, or
        ``frames`` passes (scripts), then save ``screenshot`` if given."""
        self.open_window()
        clock = self.pg.time.Clock()
        done = 0
        try:
            while self.running and (frames is None or done < frames):
                self.frame()
                done += 1
                if frames is None:
                    clock.tick(frame_rate_hz)
            if screenshot:
                self.save_screenshot(screenshot)
                print(f"memoire edit: screenshot saved to {screenshot}")
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

    # -- the file on disk (memoire/editor/filesync.py) ----------------------------------------------

    def save(self) -> bool:
        """Ctrl+S (a level with problems needs a second one). Returns whether the file was written."""
        return self.file.save(self)

    def request_close(self) -> None:
        """The window's close button, Ctrl+Q or Ctrl+W (unsaved changes need a second one)."""
        self.file.request_close(self)

    # -- background work, once a frame ---------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        if self.needs_validate and now - self.last_validate >= validate_during_drag_s:
            self.after_change(final=False)
        got = self.terrain.poll(now)
        if got is not None:
            grid, level = got
            self.terrain_grid = grid
            self.refresh_picture()
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
        self.file.poll(self, now)

    # -- events ------------------------------------------------------------------------------------

    def handle(self, event) -> None:
        """Handle one pygame event. Never raises: a failed edit is rolled back and reported."""
        try:
            self._route(event)
        except Exception as e:  # a bug must not cost the designer their work
            traceback.print_exc()
            if self.doc.in_action:
                self.doc.cancel()
            self.end_drag()
            self.after_change()
            self.say(f"that edit failed and was undone ({type(e).__name__}: {e}); your level is safe", warn=True)

    def _route(self, e) -> None:
        pg = self.pg
        if e.type == pg.QUIT:
            self.request_close()
        elif e.type in (pg.VIDEORESIZE, getattr(pg, "WINDOWSIZECHANGED", -1)):
            self.fit_window(self.screen.get_size())
        elif e.type == pg.MOUSEMOTION:
            self.mouse_px = e.pos
            self.on_motion(e.pos, e.buttons)
        elif e.type == pg.MOUSEBUTTONDOWN:
            self.mouse_px = e.pos
            if e.button in MOUSE_BUTTONS:
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

    # mouse ----------------------------------------------------------------------------------------

    def on_press(self, pos, button: int, mods: int = 0) -> None:
        pg = self.pg
        if not self.in_map(pos):
            if button == 1:
                self.panel_click(pos)
            return
        self.text_edit = None
        if button in PAN_BUTTONS:
            self.panning = (pos, (self.view.cx_m, self.view.cy_m))
            return
        now = time.perf_counter()
        last_t, last_pos = self.last_click
        double = now - last_t < double_click_s and \
            math.hypot(pos[0] - last_pos[0], pos[1] - last_pos[1]) < double_click_px
        self.last_click = (now, pos)
        p = Pointer(pos, self.world(pos), shift=bool(mods & pg.KMOD_SHIFT), alt=bool(mods & pg.KMOD_ALT),
                    double=double)
        self.active_tool.press(self, p)

    def on_motion(self, pos, buttons) -> None:
        if self.panning is not None:
            (px, py), (cx, cy) = self.panning
            self.view.cx_m = cx - (pos[0] - px) / self.view.px_per_m
            self.view.cy_m = cy - (pos[1] - py) / self.view.px_per_m
            return
        if self.drag is None:
            return
        self.drag_tool.drag(self, self.drag, Pointer(pos, self.world(pos)))

    def on_release(self, pos, button: int) -> None:
        if button in PAN_BUTTONS and self.panning is not None:
            self.panning = None
            return
        if button != 1 or self.drag is None:
            return
        tool, d = self.end_drag()
        tool.release(self, d, Pointer(pos, self.world(pos)))
        if self.doc.in_action:
            label = self.doc.action_label
            if self.doc.commit():
                self.say(label)
            self.after_change()

    # keys -----------------------------------------------------------------------------------------

    def on_key(self, key: int, mod: int, text: str = "") -> None:
        pg = self.pg
        ctrl = bool(mod & (pg.KMOD_CTRL | pg.KMOD_META))
        shift = bool(mod & pg.KMOD_SHIFT)
        if self.text_edit is not None and not ctrl:
            text_key(self, key, text)
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
        tool = self.active_tool
        if key == pg.K_SPACE:
            self.listen_hold = True
        elif key == pg.K_ESCAPE:
            if self.drag is not None and self.doc.in_action:
                self.doc.cancel()
                self.end_drag()
                self.after_change()
            elif not tool.cancel(self):
                self.selection = None
        elif key in (pg.K_RETURN, pg.K_KP_ENTER):
            tool.finish(self)
        elif key in (pg.K_DELETE, pg.K_BACKSPACE):
            if self.selection and self.selection[0] == "zone":
                self.delete_selected_zone()
            elif self.selection and self.selection[0] == "path":
                self.delete_selected_path_point()
        elif key == pg.K_TAB:
            self.zones_tool.toggle_mode(self)
        elif name in self.tool_keys:
            self.set_tool(self.tool_keys[name])
        elif tool.key(self, name):
            pass
        elif name == "k":
            self.toggle_selected_node()
        elif name == "l":
            self.listen_toggle = not self.listen_toggle
            self.say("listening: move the mouse over the map" if self.listen_toggle else "sound off")
        elif name == "o":
            self.show_field = not self.show_field
        elif name == "r":
            self.show_rooms = not self.show_rooms
            self.say("rooms shown: tints, names, gates and doors between them" if self.show_rooms else "rooms hidden")
        elif name == "f":
            if self.level is not None:
                self.view.fit(*self.level.tiles.size_m)
        elif name == "[":
            self.eraser_tool.shrink()
        elif name == "]":
            self.eraser_tool.grow()
        elif key in (pg.K_LEFT, pg.K_RIGHT, pg.K_UP, pg.K_DOWN):
            dx = {pg.K_LEFT: 1, pg.K_RIGHT: -1}.get(key, 0) * pan_step_px
            dy = {pg.K_UP: 1, pg.K_DOWN: -1}.get(key, 0) * pan_step_px
            self.view.pan_px(dx, dy)
        elif key in (pg.K_PLUS, pg.K_EQUALS, pg.K_KP_PLUS):
            x, y, w, h = self.view.rect
            self.view.zoom_at(x + w / 2, y + h / 2, zoom_step ** key_zoom_notches)
        elif key in (pg.K_MINUS, pg.K_KP_MINUS):
            x, y, w, h = self.view.rect
            self.view.zoom_at(x + w / 2, y + h / 2, zoom_step ** -key_zoom_notches)
        elif key == pg.K_PAGEDOWN:
            self.panel_focus = min(self.panel_focus + 1, max(0, len(self.rows) - 1))
        elif key == pg.K_PAGEUP:
            self.panel_focus = max(self.panel_focus - 1, 0)
        elif name in (",", "."):
            self.rows = build_rows(self)  # fresh: each press steps from the current value
            row = self.rows[self.panel_focus] if 0 <= self.panel_focus < len(self.rows) else None
            fn = row and (row.dec if name == "," else row.inc)
            if fn:
                fn()

    # -- the panel -----------------------------------------------------------------------------------

    def panel_layout(self, now: float | None = None) -> PanelLayout:
        """Lay the panel out from the current state (no drawing); the rows shown and the focus
        become the editor's."""
        layout = layout_panel(self, self.fonts, now)
        self.rows = layout.rows
        self.panel_focus = layout.focus
        return layout

    def panel_click(self, pos) -> None:
        hit = self.panel_layout().hit(pos)
        if hit is not None:
            hit.activate()

    # -- drawing -------------------------------------------------------------------------------------

    def draw(self) -> None:
        """Paint the frame: the map, then the panel and the status line as laid out now."""
        self.painter.draw(self, self.canvas, banner=self.file.banner(time.perf_counter(), len(self.problems)))
        self.layout = self.panel_layout()
        paint_all(self.layout.drawables, self.pg, self.screen)
        paint_all(layout_status(self, self.fonts), self.pg, self.screen)
