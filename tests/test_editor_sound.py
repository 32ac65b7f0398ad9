"""Hearing the level in the editor: Space starts the game's AudioEngine at the mouse position,
edits reach it as a crossfaded new level, releasing Space stops it."""

from __future__ import annotations

import time

import numpy as np
import pygame
import pytest

from memoire.editor.app import Editor
from tools.editor.driver import Driver


def _wait(ed, cond, timeout_s: float = 10.0) -> bool:
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        ed.tick()
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow  # spawns the audio process (~2.5 s) and waits for the latent to glide
def test_space_plays_the_mouse_position_and_follows_edits(tmp_path, tiny_model_path):
    ed = Editor(tmp_path / "yard.toml", model_path=tiny_model_path, mute=True, size_px=(1000, 700), allow_outside=True)
    ed.open_window()
    d = Driver(ed)
    try:
        d.key(pygame.K_z)
        d.drag((8.0, 8.0), (10.0, 8.0))  # a zone of radius 2 m around (8, 8)
        zone_latent = ed.blend.latents[0]
        rest_latent = ed.blend.rest_latent
        d.move((8.0, 8.0))
        ed.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" "))
        assert _wait(ed, lambda: ed.sound.state == "on"), ed.sound.message
        engine = ed.sound.engine
        assert engine.level is ed.level
        # the listener is the mouse: the synth's latent reaches the zone's sound
        assert _wait(ed, lambda: np.linalg.norm(np.array(engine.stats().latent) - zone_latent) < 0.25 * np.linalg.norm(zone_latent - rest_latent))
        # an edit while listening: the engine gets the new level (crossfaded by the synth)
        fades = engine.stats().crossfades
        d.key(pygame.K_ESCAPE)
        d.drag((8.0, 8.0), (20.0, 12.0))  # move the zone away from the mouse
        d.move((8.0, 8.0), buttons=(0, 0, 0))
        assert _wait(ed, lambda: engine.stats().crossfades > fades)  # the new level came in with a crossfade
        assert engine.level is ed.level
        assert _wait(ed, lambda: np.linalg.norm(np.array(engine.stats().latent) - rest_latent) < 0.25 * np.linalg.norm(zone_latent - rest_latent))
        # releasing Space: silence, the engine stays up (volume ramped to 0)
        ed.handle(pygame.event.Event(pygame.KEYUP, key=pygame.K_SPACE, mod=0))
        ed.tick()
        assert ed.sound.state == "paused" and ed.sound.engine is engine and engine.stats().alive
        # pressing again sounds at once: the same engine, no new process to start
        ed.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" "))
        ed.tick()
        assert ed.sound.state == "on" and ed.sound.engine is engine
    finally:
        ed.close()
    assert _wait_closed(engine)


def _wait_closed(engine, timeout_s: float = 10.0) -> bool:
    end = time.perf_counter() + timeout_s
    while engine.stats().alive and time.perf_counter() < end:
        time.sleep(0.05)
    return not engine.stats().alive
