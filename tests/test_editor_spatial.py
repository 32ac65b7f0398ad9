"""The editor's spatial layers (issue 11 item 6): rooms tinted and named, gate/door portals, every
zone's emitters drawn and the designer's points dragged (saved with the file's comments, undone,
refused outside their zone with the loader's words), and the audition's listener at the mouse
facing north. Driven through the editor's scripted events on SDL's dummy video driver."""

from __future__ import annotations

import shutil

import numpy as np
import pygame
import pytest

from memoire.editor.app import Editor
from memoire.editor.geometry import room_hue
from memoire.editor.style import PORTAL_RGB, ROOM_TINT_ALPHA
from memoire.editor.tools.zones import EmitterDrag, zone_handles
from memoire.world.level import LevelError, parse_level
from tools.editor.driver import Driver

SIZE = (1280, 800)
BIRDS_LINE = "emitters = [[15.75, 24.75], [8.25, 26.25], [21.75, 29.25]] # in the garden's three trees"


@pytest.fixture
def hutong(tmp_path, root, tiny_model_path):
    """The default level (its designer's comments) in a temporary folder, open in the editor."""
    path = tmp_path / "hutong.toml"
    shutil.copy(root / "levels" / "hutong.toml", path)
    ed = Editor(path, model_path=tiny_model_path, mute=True, size_px=SIZE, allow_outside=True)
    ed.open_window()
    assert ed.playable, ed.problems
    yield ed, Driver(ed), path
    ed.close()


def zone_index(ed, name: str) -> int:
    return [z.get("name") for z in ed.doc.items("zones")].index(name)


def frame(ed, d) -> np.ndarray:
    """The window as drawn now, (height, width, 3) sRGB."""
    d.frame()
    return np.asarray(pygame.surfarray.array3d(ed.screen)).transpose(1, 0, 2).astype(int)


def test_rooms_layer_tints_each_room_and_marks_the_portals(hutong):
    ed, d, _ = hutong
    d.move((-5.0, -5.0))  # the mouse off the level
    shown = frame(ed, d)
    d.key(pygame.K_r)
    assert not ed.show_rooms
    hidden = frame(ed, d)
    d.key(pygame.K_r)
    assert ed.show_rooms
    ac = ed.spatial.acoustics(ed.level)
    assert [r.name for r in ac.rooms] == ["grinder courtyard", "pigeon courtyard", "rain courtyard", "lane", "garden",
                                         "tea courtyard"]
    cell = ed.level.tiles.cell_m
    a = ROOM_TINT_ALPHA / 255.0
    for k, room in enumerate(ac.rooms):
        hue = np.array(room_hue(k))
        tinted = changed = 0
        for row, col in room.cells:
            sx, sy = (int(round(v)) for v in ed.view.to_screen((col + 0.5) * cell, (row + 0.5) * cell))
            want = hidden[sy, sx] * (1 - a) + hue * a  # the room's tint laid over what is there
            tinted += np.abs(shown[sy, sx] - want).max() <= 3
            changed += np.any(shown[sy, sx] != hidden[sy, sx])
        # the cells' centres in the room's tint, but those under a zone's outline, a label, a path
        # or a lantern (drawn over the tint in both frames); what else changed is the room's name
        assert tinted >= 0.5 * len(room.cells) and tinted >= 0.9 * changed, (room.name, tinted, changed)
    # a white bar across each gate between two rooms (where no tour line crosses it)
    for p in ac.portals:
        cols = sorted(c for _, c in p.cells)
        ys = int(round(ed.view.to_screen(0.0, p.center_xy[1])[1]))
        xs = [int(round(ed.view.to_screen((c + f) * cell, 0.0)[0])) for c in cols for f in (0.1, 0.3, 0.7, 0.9)]
        white = [tuple(shown[ys, x]) == PORTAL_RGB for x in xs]
        assert sum(white) >= len(xs) // 2, (p.center_xy, white)
        assert sum(tuple(hidden[ys, x]) == PORTAL_RGB for x in xs) < sum(white)


def test_drag_an_emitter_save_keeps_comments_undo_restores(hutong):
    ed, d, path = hutong
    original = path.read_text()
    birds = zone_index(ed, "birds")
    d.key(pygame.K_z)
    d.click(ed.zone_marker(birds))  # select the garden birds' zone
    assert ed.selection == ("zone", birds)
    assert [h.drag for h in zone_handles(ed, birds) if isinstance(h.drag, EmitterDrag)] == \
        [EmitterDrag(birds, k) for k in range(3)]
    d.drag((15.75, 24.75), (12.0, 28.0))
    moved = ed.doc.items("zones")[birds]["emitters"]
    new = moved[0]  # where the mouse let go, snapped to 5 cm (a pixel here is ~8 cm)
    assert new == pytest.approx([12.0, 28.0], abs=0.1) and moved[1:] == [[8.25, 26.25], [21.75, 29.25]]
    assert ed.playable
    assert ed.zone_emitters(birds).points[0] == tuple(new)
    d.ctrl(pygame.K_s)
    saved = path.read_text()
    changed = [(a, b) for a, b in zip(original.splitlines(), saved.splitlines()) if a != b]
    assert len(changed) == 1 and changed[0][0] == BIRDS_LINE
    value, comment = BIRDS_LINE.split(" # ")
    line = changed[0][1]
    assert line.startswith(value.replace("[15.75, 24.75]", f"[{new[0]!r}, {new[1]!r}]") + " ")
    assert line.index("# ") == BIRDS_LINE.index("# ") and line.endswith("# " + comment)  # the comment stays put
    assert len(saved.splitlines()) == len(original.splitlines())
    birds_zone = next(z for z in parse_level(saved, path).zones if z.name == "birds")
    assert birds_zone.emitters[0] == tuple(new)  # the game reads the new place
    d.ctrl(pygame.K_z)
    assert ed.doc.items("zones")[birds]["emitters"][0] == [15.75, 24.75]
    d.ctrl(pygame.K_s)
    assert path.read_text() == original


def test_an_emitter_dragged_out_of_its_zone_is_refused_with_the_loaders_words(hutong):
    ed, d, path = hutong
    birds = zone_index(ed, "birds")
    d.key(pygame.K_z)
    d.click(ed.zone_marker(birds))
    out = ed.world(d.px((20.0, 18.75)))  # in the lane, outside the garden zone (as the mouse snaps it)
    d.drag((15.75, 24.75), out, steps=1)  # straight there
    assert ed.doc.items("zones")[birds]["emitters"][0] == [15.75, 24.75]
    assert not ed.doc.can_undo  # nothing changed: no undo step
    said = [text for text, _, warn in ed.messages if warn and "emitter [" in text]
    assert said, ed.messages
    # the loader, given that point in the file, says the same
    with pytest.raises(LevelError) as e:
        parse_level(path.read_text().replace("[15.75, 24.75]", f"[{out[0]!r}, {out[1]!r}]"), path)
    loader = [p.message for p in e.value.problems if "emitter [" in p.message]
    assert loader and said[-1] == f"zone 'birds': {loader[0]}"


def test_computed_emitters_are_shown_not_dragged(hutong):
    ed, d, _ = hutong
    d.key(pygame.K_z)
    for name, words in (("grinder", "its centre (computed, not dragged)"),
                        ("wind", "nearest to you (computed, not dragged)"),
                        ("pigeons", "moving along 'flock' (not dragged)")):
        i = zone_index(ed, name)
        d.click(ed.zone_marker(i))
        assert ed.selection == ("zone", i)
        assert not any(isinstance(h.drag, EmitterDrag) for h in zone_handles(ed, i))
        rows = {r.label: r.value for r in ed.panel_layout().rows}
        assert rows["emitters"] == words
    grinder = ed.zone_emitters(zone_index(ed, "grinder"))
    assert grinder.points == ((12.0, 9.5),)
    d.move((30.0, 18.0))
    wind = ed.zone_emitters(zone_index(ed, "wind"))  # in the zone: the sound is where you are
    assert wind.points[0] == pytest.approx(ed.view.to_world(*ed.mouse_px))
    pigeons = ed.zone_emitters(zone_index(ed, "pigeons"))
    ac = ed.spatial.acoustics(ed.level)
    assert len(pigeons.path_xy) > 10  # its flock loop, drawn
    t0 = ed.spatial.clock_s()
    here = ac.emitters(zone_index(ed, "pigeons"), t0)[0]
    assert np.hypot(*(np.array(pigeons.points[0]) - here)) < 1.0  # 7 m/s: a few cm per ms


def test_a_moved_zone_carries_its_emitters(hutong):
    ed, d, _ = hutong
    chatter = zone_index(ed, "chatter")
    zone = ed.doc.items("zones")[chatter]
    before, corner = [list(p) for p in zone["emitters"]], list(zone["points"][0])
    d.key(pygame.K_z)
    d.drag((45.0, 27.0), (46.0, 27.5))  # inside the tea courtyard's zone, away from its dot and emitters
    zone = ed.doc.items("zones")[chatter]
    dx, dy = zone["points"][0][0] - corner[0], zone["points"][0][1] - corner[1]
    assert (dx, dy) == pytest.approx((1.0, 0.5), abs=0.1)
    assert zone["emitters"] == [[pytest.approx(x + dx), pytest.approx(y + dy)] for x, y in before]
    assert ed.playable, ed.problems


class ListenerRecorder:
    """Stands in for the audio process (memoire/audio/process.py AudioProcess) behind the editor's
    SoundPreview: records the poses the editor sends."""

    def __init__(self, level):
        self.level = level
        self.poses: list[tuple[float, float, float]] = []

    def set_listener(self, x_m, y_m, heading_rad, *, teleport=False):
        self.poses.append((x_m, y_m, heading_rad))

    def set_level(self, level):
        self.level = level

    def set_gain(self, gain, ceiling=None):
        pass

    def poll_events(self):
        return []

    def close(self):
        pass


def test_audition_listens_at_the_mouse_facing_north(hutong):
    ed, d, _ = hutong
    rec = ListenerRecorder(ed.level)
    ed.sound.engine, ed.sound.state = rec, "on"  # as SoundPreview._open leaves it once started
    d.move((33.0, 18.5))
    ed.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" "))
    ed.tick()
    x, y = ed.view.to_world(*ed.mouse_px)
    assert rec.poses[-1] == pytest.approx((x, y, 0.0))  # compass 0: north, up the map
    d.move((12.0, 9.5))
    ed.tick()
    assert rec.poses[-1][:2] == pytest.approx(ed.view.to_world(*ed.mouse_px)) and rec.poses[-1][2] == 0.0
    ed.handle(pygame.event.Event(pygame.KEYUP, key=pygame.K_SPACE, mod=0))
    ed.tick()
    assert ed.sound.state == "paused"
