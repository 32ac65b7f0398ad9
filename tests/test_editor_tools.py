"""The editor's parts on their own: each tool's handlers on a windowless session, the panel's
layout clicked without drawing, and the map palette shared with the minimap."""

from __future__ import annotations

import subprocess
import sys

import pygame
import pytest

from memoire.editor.app import Editor
from memoire.editor.panel import ProblemHit, RowHit, ToolHit
from memoire.editor.rows import RowPart
from memoire.editor.session import EditorSession
from memoire.editor.style import panel_width_px, status_height_px
from memoire.editor.tools.base import Pointer
from memoire.editor.tools.eraser import EraseDrag, EraserTool
from memoire.editor.tools.paths import PathsTool, PenDrag
from memoire.editor.tools.spawn import SpawnDrag, SpawnTool
from memoire.editor.tools.tiles import TILE_ORDER, PaintDrag, TilesTool
from memoire.editor.tools.zones import (
    MoveZoneDrag,
    NewCircleDrag,
    ResizeDrag,
    ZonesTool,
    zone_handles,
)
from memoire.editor.widgets import OptionHit

SIZE = (1100, 720)


@pytest.fixture
def session(tmp_path, tiny_model_path):
    """A new level's session with one of each tool, and no window."""
    tools = [TilesTool(), ZonesTool(), EraserTool(), PathsTool(), SpawnTool()]
    ed = EditorSession(tmp_path / "yard.toml", tools=tools, model_path=tiny_model_path, mute=True, size_px=SIZE)
    yield ed
    ed.terrain.cancel()
    ed.sound.close()


@pytest.fixture
def editor(tmp_path, tiny_model_path):
    ed = Editor(tmp_path / "yard.toml", model_path=tiny_model_path, mute=True, size_px=SIZE, allow_outside=True)
    ed.open_window()
    yield ed
    ed.close()


def at(ed, xy_m, **mods) -> Pointer:
    sx, sy = ed.view.to_screen(*xy_m)
    return Pointer((round(sx), round(sy)), xy_m, **mods)


def stroke(ed, tool, points, **mods):
    """Press at the first point, move through the rest, release at the last; then commit the
    action as the editor does after a release."""
    tool.press(ed, at(ed, points[0], **mods))
    for p in points[1:]:
        if ed.drag is not None:
            ed.drag_tool.drag(ed, ed.drag, at(ed, p))
    drag_tool, drag = ed.end_drag()
    if drag_tool is not None:
        drag_tool.release(ed, drag, at(ed, points[-1]))
    if ed.doc.in_action:
        ed.doc.commit()
        ed.after_change()
    return drag


# -- each tool on its own ----------------------------------------------------------------------------


def test_zones_tool_draws_moves_and_resizes_a_circle(session):
    zones = session.tools["zones"]
    zones.press(session, at(session, (8.0, 8.0)))
    assert isinstance(session.drag, NewCircleDrag) and session.drag_tool is zones
    session.end_drag()
    drag = stroke(session, zones, [(8.0, 8.0), (9.0, 8.0), (11.0, 8.0)])
    assert isinstance(drag, NewCircleDrag) and drag.created
    z = session.doc.items("zones")[0]
    assert z["center"] == [8.0, 8.0] and z["radius_m"] == pytest.approx(3.0)
    assert session.selection == ("zone", 0)
    # the selected circle's handles: its radius, then its falloff
    handles = zone_handles(session, 0)
    assert isinstance(handles[0].drag, ResizeDrag)
    assert handles[0].at_m == (11.0, 8.0) and handles[1].at_m == (14.0, 8.0)
    drag = stroke(session, zones, [(11.0, 8.0), (12.0, 8.0)])
    assert isinstance(drag, ResizeDrag) and session.doc.items("zones")[0]["radius_m"] == pytest.approx(4.0)
    drag = stroke(session, zones, [(8.0, 8.0), (10.0, 9.0)])  # its dot
    assert isinstance(drag, MoveZoneDrag) and drag.begun
    assert session.doc.items("zones")[0]["center"] == pytest.approx([10.0, 9.0])
    assert session.doc.undo() == "move zone"


def test_zones_tool_polygon_is_work_in_progress_until_finished(session):
    zones = session.tools["zones"]
    zones.toggle_mode(session)
    for p in [(3.0, 3.0), (7.0, 3.0), (7.0, 6.0)]:
        stroke(session, zones, [p])
    assert zones.poly_points and session.doc.items("zones") == []
    assert zones.cancel(session) and not zones.poly_points  # Esc drops it
    for p in [(3.0, 3.0), (7.0, 3.0), (7.0, 6.0)]:
        stroke(session, zones, [p])
    assert zones.finish(session)  # Enter closes it
    assert session.doc.items("zones")[0]["points"] == [[3.0, 3.0], [7.0, 3.0], [7.0, 6.0]]
    assert not zones.finish(session)  # nothing left to finish


def test_tiles_tool_paints_a_stroke_and_shift_paints_paving(session):
    tiles = session.tools["tiles"]
    cell = session.doc.cell_m
    assert tiles.key(session, "3") and tiles.tile_kind == "garden"
    assert not tiles.key(session, "k")
    y = 5.5 * cell
    drag = stroke(session, tiles, [(2.5 * cell, y), (5.5 * cell, y)])
    assert isinstance(drag, PaintDrag)
    kinds = session.doc.legend()
    row = session.doc.grid_rows()[5]
    assert [kinds[row[c]] for c in range(2, 6)] == ["garden"] * 4
    stroke(session, tiles, [(3.5 * cell, y)], shift=True)
    assert kinds[session.doc.grid_rows()[5][3]] == "floor"
    assert session.doc.undo() == "erase tiles"


def test_eraser_deletes_what_its_brush_touches(session):
    zones, eraser = session.tools["zones"], session.tools["eraser"]
    stroke(session, zones, [(6.0, 6.0), (8.0, 6.0)])
    stroke(session, zones, [(20.0, 12.0), (22.0, 12.0)])
    keep = session.doc.items("zones")[1]["name"]
    drag = stroke(session, eraser, [(5.5, 6.0), (6.5, 6.0)])
    assert isinstance(drag, EraseDrag) and not drag.reset
    assert [z["name"] for z in session.doc.items("zones")] == [keep]
    # Shift: the zone stays, with the rest sound
    stroke(session, eraser, [(20.0, 12.0)], shift=True)
    assert session.doc.items("zones")[0]["anchor"] == "courtyard"
    big = eraser.radius_m
    eraser.grow()
    assert eraser.radius_m > big


def test_paths_tool_pen_places_points_and_ends(session):
    paths = session.tools["paths"]
    drag = stroke(session, paths, [(4.0, 4.0)])
    assert isinstance(drag, PenDrag) and paths.pen is not None and session.doc.items("tours") == []
    stroke(session, paths, [(12.0, 8.0)])
    assert paths.pen.index == 0
    assert paths.finish(session) and paths.pen is None
    tour = session.doc.items("tours")[0]
    assert len(tour["points"]) == 4 and tour["points"][0] == [4.0, 4.0] and tour["points"][3] == [12.0, 8.0]
    # leaving the tool with a single point placed says why nothing was drawn
    stroke(session, paths, [(4.0, 14.0)])
    paths.leave(session)
    assert paths.pen is None and "at least two points" in session.messages[-1][0]


def test_spawn_tool_places_and_faces(session):
    spawn = session.tools["spawn"]
    drag = stroke(session, spawn, [(5.0, 5.0), (5.0, 2.0)])  # north
    assert isinstance(drag, SpawnDrag)
    assert session.doc.data["spawn"]["at"] == [5.0, 5.0] and session.doc.data["spawn"]["facing_deg"] == 0
    stroke(session, spawn, [(5.0, 5.0), (8.0, 5.0)])
    assert session.doc.data["spawn"]["facing_deg"] == 90
    session.selection = None
    session.set_tool("spawn")  # picking the tool selects the spawn
    assert session.selection == ("spawn",)


def test_set_tool_and_undo_drop_work_in_progress(session):
    zones, paths = session.tools["zones"], session.tools["paths"]
    session.set_tool("paths")
    stroke(session, paths, [(4.0, 4.0)])
    session.set_tool("zones")
    assert paths.pen is None
    zones.toggle_mode(session)
    stroke(session, zones, [(3.0, 3.0)])
    session.undo()
    assert zones.poly_points == [] and session.drag is None


# -- the panel, laid out and clicked without drawing --------------------------------------------------


def test_a_click_on_a_laid_out_tool_button_picks_the_tool(editor):
    assert editor.layout is None  # never drawn
    layout = editor.panel_layout()
    buttons = {h.tool: h for h in layout.tool_buttons}
    assert list(buttons) == ["tiles", "zones", "eraser", "paths", "spawn"]
    for name, hit in buttons.items():
        assert layout.hit(hit.rect.center) is hit
        editor.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=hit.rect.center, button=1, mods=0))
        assert editor.tool == name
    assert editor.layout is None


def test_panel_layout_stays_in_the_panel_and_nothing_overlaps(editor):
    W, H = SIZE
    for tool in ("tiles", "zones", "eraser", "paths", "spawn"):
        editor.set_tool(tool)
        hits = editor.panel_layout().hits
        for h in hits:
            assert W - panel_width_px <= h.rect.left and h.rect.right <= W and h.rect.bottom <= H - status_height_px
        for i, a in enumerate(hits):
            for b in hits[i + 1:]:
                assert not a.rect.colliderect(b.rect), (a, b)


def test_tile_swatches_and_zone_modes_are_options_of_their_tool(editor):
    editor.set_tool("tiles")
    swatches = editor.panel_layout().of_type(OptionHit)
    assert [h.value for h in swatches] == list(TILE_ORDER)
    garden = next(h for h in swatches if h.value == "garden")
    editor.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=garden.rect.center, button=1, mods=0))
    assert editor.tile_kind == "garden"
    editor.set_tool("zones")
    modes = editor.panel_layout().of_type(OptionHit)
    assert [h.value for h in modes] == ["circle", "polygon"]
    editor.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=modes[1].rect.center, button=1, mods=0))
    assert editor.zone_mode == "polygon"


def test_a_row_click_focuses_the_row_and_steps_it(editor):
    layout = editor.panel_layout()  # nothing selected: the level's rows
    width = next(h for h in layout.row_hits if h.row.label == "map width" and h.part is RowPart.INC)
    cols = len(editor.doc.grid_rows()[0])
    editor.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=width.rect.center, button=1, mods=0))
    assert len(editor.doc.grid_rows()[0]) == cols + 1
    assert editor.rows[editor.panel_focus].label == "map width"
    # , and . step the focused row
    editor.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_COMMA, mod=0, unicode=","))
    assert len(editor.doc.grid_rows()[0]) == cols


def test_problems_are_laid_out_as_targets(editor):
    editor.set_tool("tiles")
    spawn = tuple(editor.doc.data["spawn"]["at"])
    stroke(editor, editor.tools["tiles"], [spawn])  # a wall on the spawn
    problems = editor.panel_layout().problems
    assert [p.target for p in problems] == [("spawn",)]
    assert isinstance(problems[0], ProblemHit) and not isinstance(problems[0], (RowHit, ToolHit))
    problems[0].activate()
    assert editor.tool == "spawn" and editor.selection == ("spawn",)


# -- one palette ---------------------------------------------------------------------------------------


def test_editor_and_minimap_share_the_tile_palette():
    from memoire.editor import style
    from memoire.render import minimap, palette

    assert minimap.TILE_RGB is palette.TILE_RGB
    for kind, rgb in palette.TILE_RGB.items():
        assert style.TILE_RGB[kind] == rgb
    assert style.TILE_RGB["void"] == palette.VOID_RGB
    # the palette is pure: importing it loads no GL
    code = "import sys, memoire.render.palette; assert 'moderngl' not in sys.modules and 'pygame' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
