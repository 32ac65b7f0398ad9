"""Drawing the map: the tiles, the colour field, the rooms (R: tints, names, the gates and doors
between them), props and grid lines, the zones and their emitters, the paths, the spawn, where
problems are, the active tool's overlay, what is heard at the mouse, and the red confirmation
banner.

``MapPainter.draw(ed, canvas)`` paints the map area from the editor's state, clipped to it; it
keeps the tile image and the field image as pygame surfaces, remade when the document or the
picture changes. Nothing here changes the editor's state. Main thread only (pygame surfaces).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

from memoire.editor import pathedit as pe
from memoire.editor.document import PATH_KINDS
from memoire.editor.geometry import offset_outline, room_hue
from memoire.editor.style import (
    ACCENT_RGB,
    ACTIVE_RGB,
    BANNER_RGB,
    BG_RGB,
    FIELD_ALPHA,
    GRID_LINE_RGBA,
    MISSING_TILE_RGB,
    OUTLINE_RGB,
    PATH_RGB,
    PORTAL_RGB,
    PROBLEM_RGB,
    ROOM_TINT_ALPHA,
    TILE_RGB,
    WHITE_RGB,
)
from memoire.render.palette import PROP_RGB
from memoire.world.level import SOLID_TILES, Circle

if TYPE_CHECKING:
    from memoire.editor.canvas import Canvas
    from memoire.editor.session import EditorSession

# Grid lines show once a cell is this many pixels wide.
grid_min_cell_px = 16
# Props are dots of this fraction of a cell (a tree's crown is bigger), at least prop_min_px.
tree_radius_cells = 0.38
prop_radius_cells = 0.2
prop_min_px = 2
# Zones (pixels): outline widths (selected, not), the red ring of a zone with a problem, the dot.
zone_line_px, zone_selected_line_px = 2, 3
falloff_line_px = 1
problem_ring_gap_px, problem_ring_px = 4, 6
problem_polygon_px = 8
zone_dot_px, zone_selected_dot_px = 6, 7
dot_rim_px = 2
selection_ring_px, selection_ring_line_px = 11, 2
zone_label_dx_px, zone_label_dy_px = 11, -8
zone_warning_dx_px, zone_warning_dy_px = -4, -26
# Paths (pixels): a red band under a path with a problem, a dark rim, the line; points; arrows.
path_problem_px, path_rim_px, path_line_px = 10, 4, 2
point_px, selected_point_px = 5, 9
path_label_dx_px, path_label_dy_px = 8, 6
arrow_len_px = 12
arrow_half_angle_rad = 0.45
arrow_min_base_px = 6  # the arrow's direction comes from a polyline point at least this far back
arrow_max_back = 12  # ... looking at most this many points back
# The spawn (pixels): the facing tick, the dot, the red ring when it has a problem.
spawn_tick_px = 18
spawn_tick_rim_px, spawn_tick_line_px = 5, 3
spawn_dot_px = 7
spawn_problem_ring_px, spawn_problem_line_px = 16, 3
spawn_label_dx_px, spawn_label_dy_px = 10, 6
# A problem's place: a ring and a dot (radius, line width; 0 = filled).
problem_target_rings = ((14, 3), (6, 0))
# What is heard: three rings at the mouse in the colour of the sound playing.
listen_rings_px = (10, 18, 26)
listen_ring_line_px = 2
listen_ring_rim_px = 5  # the dark ring under each outer ring
listen_text_dx_px, listen_text_dy_px = 30, 12
# What is heard, facing north: a tick up from the rings (the listener's heading, compass 0).
listen_tick_px = 40
# Emitters (pixels): a diamond of this half-size with a dark rim; a computed point (center,
# nearest, a moving one) is drawn hollow, a point the designer placed (draggable) filled.
emitter_px = 6
emitter_rim_px = 2
emitter_hollow_line_px = 2
emitter_selected_ring_px = 11  # a white ring round each draggable emitter of the selected zone
emitter_path_line_px = 1
# Portals (pixels): a bar across the opening with a dark rim, end ticks, and the rooms it joins.
portal_bar_px, portal_rim_px = 3, 7
portal_tick_px = 6
portal_label_dy_px = 8
# A room's name sits inside its north-west corner when the room is at least this many pixels across.
room_label_min_px = 40
room_label_inset_px = 4
# The confirmation banner at the top of the map.
banner_top_px = 14
banner_pad_px = (24, 14)
banner_radius_px = 6
# "near [x, y] m" in a problem's message names a place on the map.
_NEAR = re.compile(r"near \[(-?[\d.]+), (-?[\d.]+)\]")


class MapPainter:
    """Paints the map area; keeps the tile and field images between frames."""

    def __init__(self):
        self.tile_surface = None
        self.solid_surface = None
        self.tile_version = -1  # the document version the tile images show
        self.field_surface = None
        self.field_picture = None  # the FieldPicture the field image shows
        self.rooms_surface = None  # the rooms' tints, one pixel per cell
        self.rooms_level = None  # the Level the rooms image shows

    def draw(self, ed: EditorSession, canvas: Canvas, banner: str | None = None) -> None:
        """Paint the map area; ``banner``: a confirmation to show over it in red."""
        pg, scr = canvas.pg, canvas.screen
        scr.fill(BG_RGB)
        x, y, w, h = ed.view.rect
        scr.set_clip(pg.Rect(x, y, w, h))
        self.blit_world(ed, canvas, self.tile_image(ed, canvas), ed.doc.cell_m, smooth=False)
        if ed.show_field and ed.picture is not None:
            self.draw_field(ed, canvas)
            self.blit_world(ed, canvas, self.tile_image(ed, canvas, solid_only=True), ed.doc.cell_m, smooth=False)
        if ed.show_rooms:
            self.draw_rooms(ed, canvas)
        self.draw_props_and_grid(ed, canvas)
        if ed.show_rooms:
            self.draw_portals(ed, canvas)
        bad = ed.problem_targets()
        self.draw_zones(ed, canvas, bad)
        self.draw_emitters(ed, canvas)
        self.draw_paths(ed, canvas, bad)
        self.draw_spawn(ed, canvas, bad)
        if ed.show_rooms:
            self.draw_room_names(ed, canvas)
        self.draw_problem_spots(ed, canvas)
        ed.active_tool.overlay(ed, canvas)
        self.draw_listening(ed, canvas)
        scr.set_clip(None)
        if banner is not None:
            self.draw_banner(ed, canvas, banner)

    # -- images over the level rectangle ---------------------------------------------------------------

    def blit_world(self, ed: EditorSession, canvas: Canvas, surf, m_per_px: float, smooth: bool) -> None:
        """Draw an image covering the level rectangle from (0, 0), ``m_per_px`` metres per pixel,
        cropping to what is visible before scaling (a zoomed-in level would be huge)."""
        pg, view = canvas.pg, ed.view
        iw, ih = surf.get_size()
        x0, y0, x1, y1 = view.visible_world()
        sx0 = max(0, math.floor(x0 / m_per_px))
        sy0 = max(0, math.floor(y0 / m_per_px))
        sx1 = min(iw, math.ceil(x1 / m_per_px))
        sy1 = min(ih, math.ceil(y1 / m_per_px))
        if sx1 <= sx0 or sy1 <= sy0:
            return
        sub = surf.subsurface(pg.Rect(sx0, sy0, sx1 - sx0, sy1 - sy0))
        ax, ay = view.to_screen(sx0 * m_per_px, sy0 * m_per_px)
        bx, by = view.to_screen(sx1 * m_per_px, sy1 * m_per_px)
        tw, th = max(1, round(bx) - round(ax)), max(1, round(by) - round(ay))
        scaled = pg.transform.smoothscale(sub, (tw, th)) if smooth else pg.transform.scale(sub, (tw, th))
        canvas.screen.blit(scaled, (round(ax), round(ay)))

    def tile_image(self, ed: EditorSession, canvas: Canvas, solid_only: bool = False):
        """The grid as an image, one pixel per cell; ``solid_only``: walkable cells transparent
        (drawn over the colour field so walls stay crisp)."""
        pg = canvas.pg
        if self.tile_version != ed.doc.version or self.tile_surface is None:
            rows = ed.doc.grid_rows()
            legend = ed.doc.legend()
            h, w = len(rows), (len(rows[0]) if rows else 0)
            arr = np.zeros((max(h, 1), max(w, 1), 3), dtype=np.uint8)
            arr[:] = TILE_RGB["void"]
            solid = np.zeros(arr.shape[:2], dtype=bool)
            for r, row in enumerate(rows):
                for c, ch in enumerate(row):
                    kind = legend.get(ch, "void")
                    arr[r, c] = TILE_RGB.get(kind, MISSING_TILE_RGB)
                    solid[r, c] = kind in SOLID_TILES
            self.tile_surface = pg.surfarray.make_surface(arr.transpose(1, 0, 2))
            masked = arr.copy()
            masked[~solid] = MISSING_TILE_RGB  # the colour key: see-through
            self.solid_surface = pg.surfarray.make_surface(masked.transpose(1, 0, 2))
            self.solid_surface.set_colorkey(MISSING_TILE_RGB)
            self.tile_version = ed.doc.version
        return self.solid_surface if solid_only else self.tile_surface

    def draw_field(self, ed: EditorSession, canvas: Canvas) -> None:
        pic = ed.picture
        if pic is None:
            return
        if self.field_surface is None or self.field_picture is not pic:
            ny, nx = pic.walkable.shape
            rgba = np.zeros((ny, nx, 4), dtype=np.uint8)
            rgba[..., :3] = pic.rgb
            rgba[..., 3] = FIELD_ALPHA  # walls are drawn again on top, crisp
            self.field_surface = canvas.pg.image.frombuffer(rgba.tobytes(), (nx, ny), "RGBA").copy()
            self.field_picture = pic
        self.blit_world(ed, canvas, self.field_surface, pic.step_m, smooth=True)

    def draw_props_and_grid(self, ed: EditorSession, canvas: Canvas) -> None:
        pg, view = canvas.pg, ed.view
        rows = ed.doc.grid_rows()
        if not rows:
            return
        legend = ed.doc.legend()
        cell = ed.doc.cell_m
        px = cell * view.px_per_m
        x0, y0, x1, y1 = view.visible_world()
        c0, c1 = max(0, int(x0 // cell)), min(len(rows[0]), int(x1 // cell) + 1)
        r0, r1 = max(0, int(y0 // cell)), min(len(rows), int(y1 // cell) + 1)
        if px >= grid_min_cell_px and c1 > c0 and r1 > r0:
            # faint cell lines, drawn on a see-through layer (pygame lines have no alpha)
            vx, vy, vw, vh = view.rect
            layer = pg.Surface((vw, vh), pg.SRCALPHA)
            _, ya = view.to_screen(0, r0 * cell)
            _, yb = view.to_screen(0, r1 * cell)
            xa, _ = view.to_screen(c0 * cell, 0)
            xb, _ = view.to_screen(c1 * cell, 0)
            for c in range(c0, c1 + 1):
                sx, _ = view.to_screen(c * cell, 0)
                pg.draw.line(layer, GRID_LINE_RGBA, (sx - vx, ya - vy), (sx - vx, yb - vy), 1)
            for r in range(r0, r1 + 1):
                _, sy = view.to_screen(0, r * cell)
                pg.draw.line(layer, GRID_LINE_RGBA, (xa - vx, sy - vy), (xb - vx, sy - vy), 1)
            canvas.screen.blit(layer, (vx, vy))
        for r in range(r0, r1):
            for c in range(c0, c1):
                kind = legend.get(rows[r][c])
                if kind in PROP_RGB:
                    sx, sy = view.to_screen((c + 0.5) * cell, (r + 0.5) * cell)
                    rad = max(prop_min_px, int(px * (tree_radius_cells if kind == "tree" else prop_radius_cells)))
                    pg.draw.circle(canvas.screen, PROP_RGB[kind], (sx, sy), rad)

    # -- the level's objects -----------------------------------------------------------------------------

    def draw_zones(self, ed: EditorSession, canvas: Canvas, bad: set) -> None:
        pg, scr, to_s, ppm = canvas.pg, canvas.screen, ed.view.to_screen, ed.view.px_per_m
        fonts = canvas.fonts
        for i in range(len(ed.doc.items("zones"))):
            shape = ed.zone_shape(i)
            if shape is None:
                continue
            col = ed.zone_colour(i)
            f = ed.zone_falloff(i)
            selected = ed.selection == ("zone", i)
            line = zone_selected_line_px if selected else zone_line_px
            if isinstance(shape, Circle):
                c = to_s(*shape.center)
                r_px = max(1, int(shape.radius_m * ppm))
                if ("zone", i) in bad:
                    pg.draw.circle(scr, PROBLEM_RGB, c, r_px + problem_ring_gap_px, problem_ring_px)
                pg.draw.circle(scr, col, c, r_px, line)
                pg.draw.circle(scr, col, c, max(1, int((shape.radius_m + f) * ppm)), falloff_line_px)
            else:
                pts = [to_s(*p) for p in shape.points]
                if ("zone", i) in bad:
                    pg.draw.polygon(scr, PROBLEM_RGB, pts, problem_polygon_px)
                pg.draw.polygon(scr, col, pts, line)
                outline = [to_s(*p) for p in offset_outline(shape.points, f)]
                pg.draw.lines(scr, col, True, outline, falloff_line_px)
            mk = ed.zone_marker(i)
            if mk is not None:
                m = to_s(*mk)
                dot = zone_selected_dot_px if selected else zone_dot_px
                pg.draw.circle(scr, OUTLINE_RGB, m, dot + dot_rim_px)
                pg.draw.circle(scr, col, m, dot)
                if selected:
                    pg.draw.circle(scr, WHITE_RGB, m, selection_ring_px, selection_ring_line_px)
                z = ed.zone_data(i)
                anchor = ed.anchor_value(z)
                label = f"{z.get('name', '?')}" + (f" · {anchor}" if anchor != z.get("name") else "")
                canvas.text(label, (m[0] + zone_label_dx_px, m[1] + zone_label_dy_px), fonts.small, WHITE_RGB,
                            shadow=True)
                if ("zone", i) in bad:
                    canvas.text("!", (m[0] + zone_warning_dx_px, m[1] + zone_warning_dy_px), fonts.big, PROBLEM_RGB,
                                shadow=True)

    # -- where the sound is: rooms, portals, emitters (memoire/editor/spatial.py) -----------------------

    def draw_rooms(self, ed: EditorSession, canvas: Canvas) -> None:
        """Each room's cells in its own tint (its name: draw_room_names)."""
        ac = ed.spatial.acoustics(ed.level)
        if ac is None or not ac.rooms:
            return
        if self.rooms_surface is None or self.rooms_level is not ed.level:
            h, w = ed.level.tiles.kinds().shape
            rgba = np.zeros((h, w, 4), dtype=np.uint8)
            for k, room in enumerate(ac.rooms):
                rows, cols = (list(v) for v in zip(*room.cells))
                rgba[rows, cols, :3] = room_hue(k)
                rgba[rows, cols, 3] = ROOM_TINT_ALPHA
            self.rooms_surface = canvas.pg.image.frombuffer(rgba.tobytes(), (w, h), "RGBA").copy()
            self.rooms_level = ed.level
        self.blit_world(ed, canvas, self.rooms_surface, ed.level.tiles.cell_m, smooth=False)

    def draw_room_names(self, ed: EditorSession, canvas: Canvas) -> None:
        """Each room's name in its tint (over the zones' outlines, so it stays readable)."""
        ac = ed.spatial.acoustics(ed.level)
        if ac is None:
            return
        ppm, cell = ed.view.px_per_m, ed.level.tiles.cell_m
        for k, room in enumerate(ac.rooms):
            if max(room.size_m[0], room.size_m[1]) * ppm < room_label_min_px:
                continue
            # in its north-west corner: zones usually sit at a room's centre, with their own labels
            row, col = min(room.cells)
            sx, sy = ed.view.to_screen(col * cell, row * cell)
            canvas.text(room.name, (sx + room_label_inset_px, sy + room_label_inset_px), canvas.fonts.normal,
                        room_hue(k), shadow=True)

    def draw_portals(self, ed: EditorSession, canvas: Canvas) -> None:
        """A bar across each gate or door that joins two rooms, and the names of the two."""
        ac = ed.spatial.acoustics(ed.level)
        if ac is None:
            return
        pg, scr, to_s = canvas.pg, canvas.screen, ed.view.to_screen
        cell = ed.level.tiles.cell_m
        kinds = ed.level.tiles.kinds()
        for p in ac.portals:
            if not p.cells:
                continue
            rows = [r for r, _ in p.cells]
            cols = [c for _, c in p.cells]
            cx, cy = p.center_xy
            if _opening_runs_east_west(kinds, p.cells):
                a, b, tick = (min(cols) * cell, cy), ((max(cols) + 1) * cell, cy), (0, portal_tick_px)
            else:
                a, b, tick = (cx, min(rows) * cell), (cx, (max(rows) + 1) * cell), (portal_tick_px, 0)
            sa, sb = to_s(*a), to_s(*b)
            pg.draw.line(scr, OUTLINE_RGB, sa, sb, portal_rim_px)
            pg.draw.line(scr, PORTAL_RGB, sa, sb, portal_bar_px)
            for e in (sa, sb):
                pg.draw.line(scr, PORTAL_RGB, (e[0] - tick[0], e[1] - tick[1]), (e[0] + tick[0], e[1] + tick[1]),
                             portal_bar_px)
            names = " | ".join(ac.rooms[r].name for r in p.rooms)
            tw, _ = canvas.fonts.small.size(names)
            sx, sy = to_s(cx, cy)
            canvas.text(names, (sx - tw / 2, sy + portal_label_dy_px), canvas.fonts.small, PORTAL_RGB, shadow=True)

    def draw_emitters(self, ed: EditorSession, canvas: Canvas) -> None:
        """Every zone's emitters in its colour: points the designer placed filled (draggable),
        computed ones hollow, a moving one where it is now, with its path."""
        pg, scr, to_s = canvas.pg, canvas.screen, ed.view.to_screen
        for i in range(len(ed.doc.items("zones"))):
            e = ed.zone_emitters(i)
            if e is None:
                continue
            col = ed.zone_colour(i)
            if len(e.path_xy) > 1:
                pg.draw.lines(scr, col, False, [to_s(*p) for p in e.path_xy], emitter_path_line_px)
            selected = ed.selection == ("zone", i)
            for p in e.points:
                c = to_s(*p)
                _diamond(pg, scr, c, emitter_px + emitter_rim_px, OUTLINE_RGB)
                if e.draggable:
                    _diamond(pg, scr, c, emitter_px, col)
                    if selected:
                        pg.draw.circle(scr, WHITE_RGB, c, emitter_selected_ring_px, emitter_hollow_line_px)
                else:
                    _diamond(pg, scr, c, emitter_px, col, emitter_hollow_line_px)

    def draw_paths(self, ed: EditorSession, canvas: Canvas, bad: set) -> None:
        pg, scr, to_s = canvas.pg, canvas.screen, ed.view.to_screen
        for key in PATH_KINDS:
            for i, item in enumerate(ed.doc.items(key)):
                nodes = ed.path_nodes(key, i)
                if nodes is None:
                    continue
                col = PATH_RGB[key]
                pts = [to_s(*p) for p in pe.polyline(nodes)]
                selected = ed.selection == ("path", key, i)
                if ("path", key, i) in bad:
                    pg.draw.lines(scr, PROBLEM_RGB, False, pts, path_problem_px)
                pg.draw.lines(scr, OUTLINE_RGB, False, pts, path_rim_px)
                pg.draw.lines(scr, col, False, pts, path_line_px)
                self.draw_arrow(canvas, pts, col)
                canvas.text(str(item.get("name", "")), (pts[0][0] + path_label_dx_px, pts[0][1] + path_label_dy_px),
                            canvas.fonts.small, col, shadow=True)
                if not (selected or ed.active_tool.shows_path_points):
                    continue
                for k, n in enumerate(nodes):
                    fill = ACTIVE_RGB if selected and k == ed.sel_node else col
                    canvas.marker_square(to_s(*n.anchor), selected_point_px if selected else point_px, fill)

    def draw_arrow(self, canvas: Canvas, pts, col) -> None:
        """A small arrow head at the path's end showing its direction."""
        if len(pts) < 2:
            return
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        for back in range(3, min(len(pts), arrow_max_back)):
            ax, ay = pts[-back]
            if math.hypot(bx - ax, by - ay) > arrow_min_base_px:
                break
        ang = math.atan2(by - ay, bx - ax)
        tip = (bx, by)
        left = (bx - arrow_len_px * math.cos(ang - arrow_half_angle_rad), by - arrow_len_px * math.sin(ang - arrow_half_angle_rad))
        right = (bx - arrow_len_px * math.cos(ang + arrow_half_angle_rad), by - arrow_len_px * math.sin(ang + arrow_half_angle_rad))
        canvas.pg.draw.polygon(canvas.screen, col, [tip, left, right])

    def draw_spawn(self, ed: EditorSession, canvas: Canvas, bad: set) -> None:
        pg, scr = canvas.pg, canvas.screen
        s = ed.doc.data.get("spawn", {})
        at = s.get("at")
        if not (isinstance(at, list) and len(at) == 2):
            return
        try:
            c = ed.view.to_screen(float(at[0]), float(at[1]))
            h = math.radians(float(s.get("facing_deg", 0.0)))
        except (TypeError, ValueError):
            return
        if ("spawn",) in bad:
            pg.draw.circle(scr, PROBLEM_RGB, c, spawn_problem_ring_px, spawn_problem_line_px)
        tip = (c[0] + spawn_tick_px * math.sin(h), c[1] - spawn_tick_px * math.cos(h))  # compass: 0 = north (up)
        pg.draw.line(scr, OUTLINE_RGB, c, tip, spawn_tick_rim_px)
        pg.draw.line(scr, ACCENT_RGB, c, tip, spawn_tick_line_px)
        pg.draw.circle(scr, OUTLINE_RGB, c, spawn_dot_px + dot_rim_px)
        pg.draw.circle(scr, ACCENT_RGB, c, spawn_dot_px)
        canvas.text("spawn", (c[0] + spawn_label_dx_px, c[1] + spawn_label_dy_px), canvas.fonts.small, ACCENT_RGB,
                    shadow=True)

    def draw_problem_spots(self, ed: EditorSession, canvas: Canvas) -> None:
        """A red target where a problem's message names a place ("near [x, y] m")."""
        pg, scr = canvas.pg, canvas.screen
        for p in ed.problems:
            m = _NEAR.search(p.message)
            if not m:
                continue
            c = ed.view.to_screen(float(m.group(1)), float(m.group(2)))
            for r, w in problem_target_rings:
                pg.draw.circle(scr, OUTLINE_RGB, c, r + 1, w + 2 if w else 0)
                pg.draw.circle(scr, PROBLEM_RGB, c, r, w)

    def draw_listening(self, ed: EditorSession, canvas: Canvas) -> None:
        """While the sound is on: rings at the mouse in the colour of what plays, and in words."""
        pg, scr = canvas.pg, canvas.screen
        if not ed.in_map(ed.mouse_px) or ed.sound.state not in ("on", "starting"):
            return
        z = ed.sound.latent()
        col = ACCENT_RGB
        if z is not None and ed.palette is not None:
            col = tuple(int(c) for c in ed.palette.colours(np.asarray(z)))
        inner = listen_rings_px[0]
        mx, my = ed.mouse_px  # the listener faces north (sound.py audition_heading_rad): a tick up
        pg.draw.line(scr, OUTLINE_RGB, (mx, my), (mx, my - listen_tick_px), listen_ring_rim_px)
        pg.draw.line(scr, col, (mx, my), (mx, my - listen_tick_px), listen_ring_line_px)
        for r in listen_rings_px:
            pg.draw.circle(scr, OUTLINE_RGB, ed.mouse_px, r + 1, listen_ring_rim_px if r > inner else 0)
            pg.draw.circle(scr, col, ed.mouse_px, r, listen_ring_line_px if r > inner else 0)
        words = ed.hearing(ed.world(ed.mouse_px))
        if words:
            canvas.text("hearing " + words, (ed.mouse_px[0] + listen_text_dx_px, ed.mouse_px[1] + listen_text_dy_px),
                        canvas.fonts.normal, WHITE_RGB, shadow=True)

    def draw_banner(self, ed: EditorSession, canvas: Canvas, text: str) -> None:
        img = canvas.fonts.big.render(text, True, WHITE_RGB)
        x, y, w, _ = ed.view.rect
        box = img.get_rect()
        box.midtop = (x + w // 2, y + banner_top_px)
        canvas.pg.draw.rect(canvas.screen, BANNER_RGB, box.inflate(*banner_pad_px), border_radius=banner_radius_px)
        canvas.screen.blit(img, box)


def _diamond(pg, scr, c, size: int, colour, width: int = 0) -> None:
    """An emitter's marker: a square on its corner, ``size`` px from centre to corner."""
    pg.draw.polygon(scr, colour, [(c[0], c[1] - size), (c[0] + size, c[1]), (c[0], c[1] + size), (c[0] - size, c[1])],
                    width)


def _opening_runs_east_west(kinds: np.ndarray, cells) -> bool:
    """Whether a portal's opening runs east-west: the walkable cells beside it (the rooms it
    joins) lie more to its north and south than to its east and west."""
    h, w = kinds.shape
    vertical = horizontal = 0
    for r, c in cells:
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            rr, cc = r + dr, c + dc
            if (rr, cc) in cells or not (0 <= rr < h and 0 <= cc < w) or kinds[rr, cc] in SOLID_TILES:
                continue
            if dr:
                vertical += 1
            else:
                horizontal += 1
    return vertical >= horizontal
