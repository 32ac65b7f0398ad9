"""Hot reload: a running game (headless, muted, the tiny model) picks up a saved change to its level
file at its next poll (within ``reload_poll_s`` = 0.5 s), keeps the player where they stand,
crossfades the sound to the new field, and keeps the last good level when the file is broken."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from memoire.game.app import Game, PlayOptions, reload_poll_s
from memoire.editor.document import LevelDocument
from memoire.editor.save import save_level_text

LEVEL = '''# a yard for the hot reload test
[level]
name = "reload yard"
cell_m = 1.5

[map]
grid = """
####################
#..................#
#..................#
#..................#
#..................#
#..................#
#..................#
#..................#
#..................#
#..................#
####################
"""

[spawn]
at = [6.0, 8.0]
facing_deg = 90

[sound]
model = "tiny.ts"
rest = "courtyard"

[[zones]]
name = "birds"          # starts far from the player
center = [24.0, 5.0]
radius_m = 2.0
falloff_m = 1.0
anchor = "birds"
'''


def _frame(game: Game, now: float, walk: bool = False) -> None:
    """One frame of the game's own loop (``Game.frame``, what ``run`` calls) at loop time ``now``
    (seconds); the forward key pressed or released through the window, as a player's would be."""
    if walk != game.keys.get("forward", False):
        game.window.inject(("key", "forward", walk))
    game.frame(now)


def _until(cond, timeout_s: float = 15.0) -> bool:
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow  # starts the audio process (~2.5 s) and a software-rendered window
def test_running_game_reloads_changes_and_survives_a_broken_file(tmp_path, tiny_model_path):
    import shutil

    shutil.copy(tiny_model_path, tmp_path / "tiny.ts")
    path = tmp_path / "yard.toml"
    path.write_text(LEVEL)
    game = Game(PlayOptions(level_path=path, headless=True, mute=True, size_px=(320, 200)))
    game.open()
    try:
        t = 0.0
        for _ in range(40):  # walk east 40 frames of 1/30 s (the first starts the clock): about 1.8 m
            t += 1 / 30
            _frame(game, t, walk=True)
        t += 1 / 30
        _frame(game, t)  # key released: the player stops within this frame's steps
        here = (game.state.x_m, game.state.y_m)
        assert int(here[0] // 1.5) != int(6.0 // 1.5)  # the player left the spawn's cell
        first = game.level
        rest = game.engine.card.class_mean[game.engine.card.class_index("courtyard")]
        birds = game.engine.card.class_mean[game.engine.card.class_index("birds")]
        assert _until(lambda: np.linalg.norm(np.array(game.engine.stats().latent) - rest) < 0.2 * np.linalg.norm(birds - rest))

        # the designer moves the zone onto the player and saves (as the editor does)
        doc = LevelDocument(path, path.read_text())
        with doc.edit("move zone"):
            doc.set_zone_circle(0, center=here)
        save_level_text(path, doc.text())
        saved_at = t
        fades = game.engine.stats().crossfades
        while game.level is first and t < saved_at + 2.0:
            t += 1 / 30
            _frame(game, t)
        assert game.level is not first
        assert t - saved_at <= reload_poll_s + 1 / 30  # picked up at the next poll: within half a second
        assert game.level.zones[0].shape.center == pytest.approx(here, abs=0.01)
        assert (game.state.x_m, game.state.y_m) == pytest.approx(here, abs=1e-6)  # the player stays put
        assert game.engine.level is game.level
        # the sound crossfades to the new field and now plays the birds where the player stands
        assert _until(lambda: game.engine.stats().crossfades > fades)
        assert _until(lambda: np.linalg.norm(np.array(game.engine.stats().latent) - birds) < 0.2 * np.linalg.norm(birds - rest))
        good = game.level

        # a broken save: the last good level keeps playing, the problem is on screen
        path.write_text(path.read_text().replace("falloff_m = 1.0", "falloff_m = -3"))
        broke_at = t
        while t < broke_at + 2 * reload_poll_s:
            t += 1 / 30
            _frame(game, t)
        assert game.level is good and game.engine.level is good
        shown = [text for text, until in game.messages]
        assert any("last good one keeps playing" in s and "falloff_m must be > 0" in s for s in shown), shown

        # fixed again: reloaded, and a place that became a wall sends the player to the spawn
        fixed = path.read_text().replace("falloff_m = -3", "falloff_m = 1.0")
        col, row = int(here[0] // 1.5), int(here[1] // 1.5)
        lines = fixed.split("\n")
        grid_row = lines.index('grid = """') + 1 + row
        lines[grid_row] = lines[grid_row][:col] + "#" + lines[grid_row][col + 1:]
        path.write_text("\n".join(lines))
        fixed_at = t
        while game.level is good and t < fixed_at + 2.0:
            t += 1 / 30
            _frame(game, t)
        assert game.level is not good
        assert (game.state.x_m, game.state.y_m) == pytest.approx(game.level.spawn_xy)
        assert math.isfinite(game.state.heading_rad)
    finally:
        game.close()
