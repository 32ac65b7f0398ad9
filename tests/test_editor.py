"""The level editor driven by scripted mouse and keyboard events on SDL's dummy video driver."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pygame
import pytest

from memoire.editor.app import Editor
from tools.editor.driver import Driver
from memoire.editor.save import backup_path
from memoire.world.level import Circle, Polygon, load_level

SIZE = (1100, 720)


@pytest.fixture
def make_editor(tiny_model_path):
    made = []

    def make(path: Path, **kw) -> tuple[Editor, Driver]:
        # the tiny model lives in another temporary folder: as `memoire edit --model M --allow-outside-paths`
        ed = Editor(path, model_path=tiny_model_path, mute=True, size_px=SIZE, allow_outside=True, **kw)
        ed.open_window()
        made.append(ed)
        return ed, Driver(ed)

    yield make
    for ed in made:
        ed.close()


@pytest.fixture
def hutong_copy(tmp_path, root) -> Path:
    """The default level in a temporary folder (its comments are what a designer wrote)."""
    dst = tmp_path / "hutong.toml"
    shutil.copy(root / "levels" / "hutong.toml", dst)
    return dst


def test_new_level_draw_move_undo_redo_save(tmp_path, make_editor):
    path = tmp_path / "yard.toml"
    ed, d = make_editor(path)
    assert ed.created and not path.exists() and ed.playable
    d.key(pygame.K_z)  # the zone tool
    d.drag((8.0, 8.0), (11.0, 8.0))  # a circle zone, radius 3 m
    zones = ed.doc.items("zones")
    assert len(zones) == 1
    assert zones[0]["center"] == [8.0, 8.0]
    assert zones[0]["radius_m"] == pytest.approx(3.0, abs=0.1)
    first_anchor = zones[0]["anchor"]
    assert first_anchor in ed.classes and first_anchor != "courtyard"

    d.drag((8.0, 8.0), (14.0, 10.0))  # grab its dot and move it
    assert ed.doc.items("zones")[0]["center"] == pytest.approx([14.0, 10.0], abs=0.1)
    d.ctrl(pygame.K_z)
    assert ed.doc.items("zones")[0]["center"] == [8.0, 8.0]
    d.ctrl(pygame.K_z)
    assert ed.doc.items("zones") == []
    d.ctrl(pygame.K_y)
    d.ctrl(pygame.K_z, shift=True)  # Ctrl+Shift+Z redoes too
    assert ed.doc.items("zones")[0]["center"] == pytest.approx([14.0, 10.0], abs=0.1)

    d.ctrl(pygame.K_s)
    assert path.exists() and not ed.doc.dirty
    level = load_level(path, allow_outside=True)  # its model is the tiny one in another folder
    assert len(level.zones) == 1
    assert isinstance(level.zones[0].shape, Circle)
    assert level.zones[0].shape.center == pytest.approx((14.0, 10.0), abs=0.1)
    assert level.tiles.width == 20 and level.tiles.height == 15
    assert "made with `memoire edit`" in path.read_text()


def test_zone_handles_panel_and_polygon(tmp_path, make_editor):
    ed, d = make_editor(tmp_path / "yard.toml")
    d.key(pygame.K_z)
    d.drag((8.0, 8.0), (10.0, 8.0))  # radius 2 m, falloff 3 m by default: handles at x = 10 and 13
    d.drag((10.0, 8.0), (11.5, 8.0))  # inner radius handle
    d.drag((14.5, 8.0), (16.5, 8.0))  # falloff handle (now at 11.5 + 3)
    z = ed.doc.items("zones")[0]
    assert z["radius_m"] == pytest.approx(3.5, abs=0.1)
    assert z["falloff_m"] == pytest.approx(5.0, abs=0.1)
    # the side panel: curve, priority, fade, anchor
    d.click_panel("curve")
    d.click_panel("priority")
    d.click_panel("fade_s", "dec")
    before = ed.doc.items("zones")[0]["anchor"]
    d.click_panel("anchor (sound)")
    z = ed.doc.items("zones")[0]
    assert z["curve"] == "exponential" and z["priority"] == 1.25 and z["fade_s"] == 0.75
    assert z["anchor"] != before and z["anchor"] in ed.classes
    # rename by typing
    d.click_panel("name", "click")
    for _ in range(20):
        d.key(pygame.K_BACKSPACE)
    d.type("fountain")
    d.key(pygame.K_RETURN)
    assert ed.doc.items("zones")[0]["name"] == "fountain"
    # a polygon: Tab, four corners, click the first corner again
    d.key(pygame.K_TAB)
    for p in [(3.0, 3.0), (7.0, 3.0), (7.0, 6.0), (3.0, 6.0), (3.0, 3.0)]:
        d.click(p)
    zones = ed.doc.items("zones")
    assert len(zones) == 2 and zones[1]["shape"] == "polygon" and len(zones[1]["points"]) == 4
    # drag a corner, then Shift+click an edge to add one
    d.drag((7.0, 6.0), (8.0, 7.0))
    assert ed.doc.items("zones")[1]["points"][2] == pytest.approx([8.0, 7.0], abs=0.1)
    d.click((5.0, 3.0), mods=pygame.KMOD_SHIFT)
    assert len(ed.doc.items("zones")[1]["points"]) == 5
    level = load_level_from(ed)
    assert isinstance(level.zones[1].shape, Polygon)
    # Delete removes the selected corner, then (nothing selected in it) the zone
    d.key(pygame.K_DELETE)
    assert len(ed.doc.items("zones")[1]["points"]) == 4
    d.key(pygame.K_DELETE)
    assert len(ed.doc.items("zones")) == 1


def load_level_from(ed):
    level, problems = ed.doc.validate()
    assert not problems, problems
    return level


def test_bezier_path_draw_and_edit(tmp_path, make_editor):
    ed, d = make_editor(tmp_path / "yard.toml")
    d.key(pygame.K_p)
    d.drag((4.0, 4.0), (6.0, 4.0))  # first point, handle pulled east
    d.drag((12.0, 8.0), (12.0, 10.0))  # second point, handle pulled south
    d.click((20.0, 8.0))  # a corner point
    d.key(pygame.K_RETURN)
    tours = ed.doc.items("tours")
    assert len(tours) == 1
    pts = tours[0]["points"]
    assert len(pts) == 7  # 3 anchors: 3n+1 with n = 2
    assert pts[0] == [4.0, 4.0] and pts[1] == pytest.approx([6.0, 4.0], abs=0.1)
    # the second anchor is smooth: its in-handle mirrors the out-handle
    assert pts[3] == pytest.approx([12.0, 8.0], abs=0.1)
    assert pts[2] == pytest.approx([12.0, 6.0], abs=0.1) and pts[4] == pytest.approx([12.0, 10.0], abs=0.1)
    assert pts[6] == pytest.approx([20.0, 8.0], abs=0.1)
    level = load_level_from(ed)
    assert level.tours[0].path.table().length_m > 16.0
    # move an anchor: its handles travel with it
    d.drag((12.0, 8.0), (12.0, 9.0))
    pts = ed.doc.items("tours")[0]["points"]
    assert pts[3] == pytest.approx([12.0, 9.0], abs=0.1) and pts[4] == pytest.approx([12.0, 11.0], abs=0.1)
    # drag the out-handle: the smooth point turns its in-handle to stay opposite
    d.drag((12.0, 11.0), (14.0, 9.0))
    pts = ed.doc.items("tours")[0]["points"]
    assert pts[4] == pytest.approx([14.0, 9.0], abs=0.1) and pts[2] == pytest.approx([10.0, 9.0], abs=0.1)
    # K makes the selected point a corner (handles retracted)
    d.key(pygame.K_k)
    pts = ed.doc.items("tours")[0]["points"]
    assert pts[2] == pts[3] == pts[4]
    # Shift+click on the curve adds a point without changing the shape's ends
    d.click((16.0, 8.5), mods=pygame.KMOD_SHIFT)
    assert len(ed.doc.items("tours")[0]["points"]) == 10
    d.key(pygame.K_DELETE)  # the new point is selected: delete it
    assert len(ed.doc.items("tours")[0]["points"]) == 7
    # the tour plays in the game: `memoire play --tour`
    level = load_level_from(ed)
    assert level.tour(ed.doc.items("tours")[0]["name"]).speed_mps == 1.2


def test_eraser_deletes_anchors_and_points(tmp_path, make_editor):
    ed, d = make_editor(tmp_path / "yard.toml")
    d.key(pygame.K_z)
    d.drag((6.0, 6.0), (8.0, 6.0))
    d.drag((20.0, 12.0), (22.0, 12.0))
    d.key(pygame.K_p)
    d.click((4.0, 18.0))
    d.click((12.0, 18.0))
    d.click((20.0, 18.0))
    d.key(pygame.K_RETURN)
    assert len(ed.doc.items("zones")) == 2 and len(ed.doc.items("tours")[0]["points"]) == 7
    keep = ed.doc.items("zones")[1]["name"]
    d.key(pygame.K_e)
    # one stroke over the first zone's dot and the tour's middle point
    d.drag((5.5, 6.0), (6.5, 6.0))
    d.drag((12.0, 17.5), (12.0, 18.5))
    assert [z["name"] for z in ed.doc.items("zones")] == [keep]
    assert len(ed.doc.items("tours")[0]["points"]) == 4
    d.ctrl(pygame.K_z)
    d.ctrl(pygame.K_z)
    assert len(ed.doc.items("zones")) == 2 and len(ed.doc.items("tours")[0]["points"]) == 7
    # Shift: keep the zone, give it the rest sound
    d.drag((20.0, 12.0), (20.2, 12.0), mods=pygame.KMOD_SHIFT)
    assert ed.doc.items("zones")[1]["anchor"] == "courtyard"
    assert len(ed.doc.items("zones")) == 2


def test_save_keeps_comments_and_backup(hutong_copy, make_editor):
    original = hutong_copy.read_text()
    ed, d = make_editor(hutong_copy)
    assert ed.playable and not ed.doc.dirty
    d.key(pygame.K_z)
    d.drag((35.25, 9.75), (36.25, 10.75))  # move the pigeons by (1, 1) m
    d.key(pygame.K_t)
    d.key(pygame.K_3)  # garden
    d.drag((7.0 * 1.5 + 0.7, 12 * 1.5 + 0.7), (9.0 * 1.5 + 0.7, 12 * 1.5 + 0.7))  # three lane cells
    assert ed.doc.dirty
    d.ctrl(pygame.K_s)
    text = hutong_copy.read_text()
    level = load_level(hutong_copy)
    pigeons = next(z for z in level.zones if z.name == "pigeons")
    assert pigeons.shape.center == pytest.approx((36.25, 10.75), abs=0.15)  # a pixel is 0.1 m here
    assert level.tiles.kind_at(8, 12) == "garden"
    # every comment line survived, and the comment on the zone's name line
    for line in original.splitlines():
        if line.strip().startswith("#") and not line.startswith("#"):
            continue
        if line.lstrip().startswith("# "):
            assert line in text
    assert 'name = "pigeons"        # the keepers\' flock circles over the middle courtyard' in text
    assert "# ---- tours" in text
    # key order kept: the zone's keys in the order the designer wrote them
    assert list(tomllib.loads(text)["zones"][0]) == list(tomllib.loads(original)["zones"][0])
    # only the edited lines changed
    changed = [a for a, b in zip(original.splitlines(), text.splitlines()) if a != b]
    assert len(changed) == 2 and len(original.splitlines()) == len(text.splitlines())
    assert backup_path(hutong_copy).read_text() == original


def test_interrupted_save_leaves_old_file(hutong_copy, make_editor, monkeypatch):
    original = hutong_copy.read_text()
    ed, d = make_editor(hutong_copy)
    d.key(pygame.K_z)
    d.drag((35.25, 9.75), (38.0, 9.75))

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    d.ctrl(pygame.K_s)
    assert hutong_copy.read_text() == original
    assert ed.doc.dirty
    assert any("could not save" in t for t, _, _ in ed.messages)
    monkeypatch.undo()
    # a kill in the middle of writing: the temporary file is never renamed over the level
    import memoire.editor.save as save_mod
    import memoire.world.files as files_mod

    def killed(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(files_mod.os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        save_mod.save_level_text(hutong_copy, "half a fi")
    monkeypatch.undo()
    assert hutong_copy.read_text() == original
    assert sorted(p.name for p in hutong_copy.parent.iterdir()) == ["hutong.toml"]
    d.ctrl(pygame.K_s)
    assert load_level(hutong_copy).zones[0].shape.center == pytest.approx((38.0, 9.75), abs=0.15)


def test_problems_shown_and_save_needs_confirmation(tmp_path, make_editor):
    path = tmp_path / "yard.toml"
    ed, d = make_editor(path)
    d.key(pygame.K_t)  # wall is the default tile
    spawn = tuple(ed.doc.items("spawn") or ed.doc.data["spawn"]["at"])
    d.click(spawn)
    assert not ed.playable
    assert [ed.problem_target(p) for p in ed.problems] == [("spawn",)]
    assert "inside a solid tile" in ed.problems[0].message
    d.ctrl(pygame.K_s)
    assert not path.exists()  # the first Ctrl+S only warns
    d.ctrl(pygame.K_s)
    assert path.exists()
    # clicking the problem in the panel selects what it names
    d.key(pygame.K_z)
    assert ed.selection is None
    d.frame()
    rect = ed.panel_layout().problems[0].rect
    ed.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=rect.center, button=1, mods=0))
    assert ed.selection == ("spawn",) and ed.tool == "spawn"
    d.ctrl(pygame.K_z)
    assert ed.playable and ed.problems == []


def test_close_with_unsaved_changes_asks_first(tmp_path, make_editor):
    ed, d = make_editor(tmp_path / "yard.toml")
    d.key(pygame.K_z)
    d.drag((8.0, 8.0), (10.0, 8.0))
    ed.handle(pygame.event.Event(pygame.QUIT))
    assert ed.running
    ed.handle(pygame.event.Event(pygame.QUIT))
    assert not ed.running


def test_spawn_and_map_size(tmp_path, make_editor):
    ed, d = make_editor(tmp_path / "yard.toml")
    d.key(pygame.K_s)
    d.drag((5.0, 5.0), (8.0, 5.0))  # place and face east
    spawn = ed.doc.data["spawn"]
    assert spawn["at"] == [5.0, 5.0] and spawn["facing_deg"] == 90
    d.key(pygame.K_ESCAPE)
    ed.selection = None
    d.click_panel("map width")
    d.click_panel("map height", "dec")
    rows = ed.doc.grid_rows()
    assert len(rows[0]) == 21 and len(rows) == 14


def test_bad_edit_never_crashes(tmp_path, make_editor, monkeypatch):
    ed, d = make_editor(tmp_path / "yard.toml")
    d.key(pygame.K_z)

    def broken(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(ed.doc, "add_circle_zone", broken)
    d.drag((8.0, 8.0), (10.0, 8.0))
    assert ed.doc.items("zones") == [] and not ed.doc.in_action
    assert any("failed and was undone" in t for t, _, _ in ed.messages)


def test_colour_field_follows_edits(tmp_path, make_editor):
    ed, d = make_editor(tmp_path / "yard.toml")
    before = ed.picture.rgb.copy()
    d.key(pygame.K_z)
    d.drag((8.0, 8.0), (11.0, 8.0))
    after = ed.picture.rgb
    # the sample at the zone's centre now shows the zone's colour, far away the rest's colour
    iy, ix = int(8.0 / ed.picture.step_m), int(8.0 / ed.picture.step_m)
    assert tuple(after[iy, ix]) == ed.zone_colour(0)
    assert tuple(after[iy, ix]) != tuple(before[iy, ix])
    far = (int(20.0 / ed.picture.step_m), int(27.0 / ed.picture.step_m))
    assert tuple(after[far]) == tuple(before[far])
    assert ed.hearing((8.0, 8.0)).startswith(ed.doc.items("zones")[0]["name"] + " 100%")
    assert ed.hearing((27.0, 20.0)) == "rest 100%"


def test_document_layout_round_trip(root):
    """Adding a zone and a tour to the hand-written level, then deleting them, gives back the file
    byte for byte: section comments stay above their sections, one blank line between tables."""
    from memoire.editor.document import LevelDocument

    src = (root / "levels" / "hutong.toml").read_text()
    doc = LevelDocument(root / "levels" / "hutong.toml", src, saved_text=src)
    with doc.edit("add"):
        doc.add_circle_zone("new", (10.0, 18.0), 2.0, 3.0, "birds")
        doc.add_tour("walk", [(4.0, 18.0), (6.0, 18.0), (8.0, 18.0), (10.0, 18.0)])
    text = doc.text()
    assert "anchor = \"footsteps\"\n\n[[zones]]\nname = \"new\"" in text
    assert text.index("name = \"new\"") < text.index("# ---- tours") < text.index("[[tours]]")
    assert load_level_from_text(doc)
    with doc.edit("remove"):
        doc.delete_table("tours", len(doc.items("tours")) - 1)
        doc.delete_table("zones", len(doc.items("zones")) - 1)
    assert doc.text() == src and not doc.dirty


def load_level_from_text(doc):
    level, problems = doc.validate()
    assert not problems, problems
    return level


def test_without_a_model_the_editor_still_edits(tmp_path):
    """No model file yet (before `memoire train`): no colours, no sound, Memoire's class names."""
    ed = Editor(tmp_path / "yard.toml", model_path=tmp_path / "missing.ts", mute=True, size_px=SIZE)
    ed.open_window()
    try:
        d = Driver(ed)
        assert ed.picture is None and "pigeons" in ed.classes
        assert any("not found" in t for t, _, _ in ed.messages)
        d.key(pygame.K_z)
        d.drag((8.0, 8.0), (10.0, 8.0))
        assert ed.doc.items("zones")[0]["anchor"] == "pigeons" and ed.playable
        ed.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" "))
        d.frame(2)
        assert ed.sound.state in ("failed", "off") and ed.sound.engine is None
    finally:
        ed.close()


@pytest.mark.slow  # trains a terrain in its child process (~2.5-5 s)
def test_terrain_overlay_follows_training(tmp_path, make_editor):
    """A level whose sound is the latent terrain: after an edit the terrain retrains in the
    background and the colour field follows when it is done."""
    import time

    path = tmp_path / "yard.toml"
    ed, d = make_editor(path)
    with ed.doc.edit("terrain"):
        ed.doc.set_value(ed.doc.table("sound"), "field", "terrain")
        t = ed.doc.table("terrain")
        for k, v in (("source", "train"), ("steps", 30), ("width", 16), ("mapping_size", 16), ("anchor_samples", 8)):
            t[k] = v
    d.key(pygame.K_z)
    d.drag((8.0, 8.0), (11.0, 8.0))
    assert ed.playable and ed.terrain_grid is None
    zones_only = ed.picture.latents.copy()
    end = time.perf_counter() + 60
    while ed.terrain_grid is None and time.perf_counter() < end:
        ed.tick(time.perf_counter() + 2.0)  # past the 1 s pause after the last edit
        time.sleep(0.05)
    assert ed.terrain_grid is not None
    assert not np.allclose(ed.picture.latents, zones_only)  # the picture now shows the terrain
    assert any("terrain" in t for t, _, _ in ed.messages)


def test_a_drawn_path_becomes_a_trajectory_with_its_clip(tmp_path, make_editor):
    import numpy as np

    ed, d = make_editor(tmp_path / "yard.toml")
    d.key(pygame.K_p)
    d.drag((4.0, 4.0), (6.0, 4.0))
    d.click((20.0, 8.0))
    d.key(pygame.K_RETURN)
    assert len(ed.doc.items("tours")) == 1
    ed.tour_to_trajectory(0)
    assert ed.doc.items("tours") == [] and len(ed.doc.items("trajectories")) == 1
    traj = ed.doc.items("trajectories")[0]
    assert traj["clip"] == f"clips/{traj['name']}.npy" and len(traj["points"]) == 4
    # until the clip exists, validation names the file and the command that makes it
    _, problems = ed.doc.validate()
    assert any("memoire encode" in p.message for p in problems)
    (tmp_path / "clips").mkdir()
    np.save(tmp_path / "clips" / f"{traj['name']}.npy", np.zeros((20, 4), np.float32))
    level, problems = ed.doc.validate()
    assert not problems and level.trajectories[0].name == traj["name"]
    ed.undo()
    assert len(ed.doc.items("tours")) == 1  # one undo step brings the tour back
