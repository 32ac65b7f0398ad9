"""Kiosk mode: the config file, the director (attract, takeover, fades), input, logs, watchdog,
and the kiosk game run headless with injected input."""

from __future__ import annotations

import math
import socket
from pathlib import Path

import numpy as np
import pytest

from memoire.world.errors import UserError
from test_soak import KIOSK, SMALL_LEVEL

# -- config ----------------------------------------------------------------------------------------


def test_default_config_file_loads(root):
    from memoire.kiosk.config import load_kiosk_config

    c = load_kiosk_config(root / "config" / "kiosk.toml")
    assert c.tour == "gallery" and c.idle_s == 40 and str(c.quit_chord) == "ctrl+alt+q"
    assert c.log_dir == Path.home() / ".local" / "state" / "memoire" / "logs"
    assert math.isclose(c.volume_gain, 10 ** (-6 / 20)) and math.isclose(c.peak_ceiling, 10 ** (-3 / 20))


def test_config_problems_are_listed_with_file_and_line(tmp_path):
    from memoire.kiosk.config import ConfigError, load_kiosk_config

    p = tmp_path / "kiosk.toml"
    p.write_text('[kiosk]\nidle_s = 2\nvolume_limit_db = 3\nquit_key = "q"\nfade = 1\n')
    with pytest.raises(ConfigError) as e:
        load_kiosk_config(p)
    msg = str(e.value)
    assert "4 problems" in msg
    assert f"{p}:2: [kiosk]: idle_s must be >= 5 s, got 2" in msg
    assert f"{p}:3: [kiosk]: volume_limit_db must be <= 0 dBFS, got 3" in msg
    assert f"{p}:4: [kiosk]: quit_key must be modifiers and a key" in msg
    assert f"{p}:5: [kiosk]: unknown field 'fade' (did you mean 'fade_s'?)" in msg


def test_config_missing_table_bad_toml_and_missing_file(tmp_path):
    from memoire.kiosk.config import load_kiosk_config

    p = tmp_path / "k.toml"
    p.write_text("[kisok]\nidle_s = 10\n")
    with pytest.raises(UserError, match=r"missing table \[kiosk\]"):
        load_kiosk_config(p)
    p.write_text("[kiosk]\nidle_s = = 3\n")
    with pytest.raises(UserError, match=r"k.toml:2: not valid TOML"):
        load_kiosk_config(p)
    with pytest.raises(UserError, match="no such kiosk config file"):
        load_kiosk_config(tmp_path / "nope.toml")


def test_cli_reports_a_bad_config_without_traceback(tmp_path, capsys):
    from memoire.cli import main

    p = tmp_path / "k.toml"
    p.write_text("[kiosk]\nvolume_db = 'loud'\n")
    rc = main(["play", "--kiosk", "--config", str(p), "--headless", "--frames", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{p}:2: [kiosk]: volume_db must be a number in dB, got 'loud'" in err
    assert "Traceback" not in err


def test_chords():
    from memoire.kiosk.config import parse_chord

    c = parse_chord("Ctrl+Alt+Q")
    assert c.modifiers == {"ctrl", "alt"} and c.key == "q" and str(c) == "ctrl+alt+q"
    assert parse_chord("shift+f12").key == "f12"
    for bad in ("q", "ctrl+ctrl+q", "hyper+q", "ctrl+alt+", "ctrl+space bar"):
        assert parse_chord(bad) is None, bad


# -- director --------------------------------------------------------------------------------------


def _plan(tmp_path):
    from memoire.world.level import load_level
    from memoire.world.tour import plan_tour

    p = tmp_path / "lane.toml"
    p.write_text(SMALL_LEVEL)
    level = load_level(p)
    return plan_tour(level, level.tour("lane"))


def test_director_cycle(tmp_path):
    from memoire.kiosk.director import ATTRACT, FADE_IN, FADE_OUT, VISITOR, Director
    from memoire.world.tour import pose_at

    plan = _plan(tmp_path)
    d = Director(plan, idle_s=10.0, fade_s=1.0)
    dt = 1 / 120
    s = d.step(dt)
    assert s.state == FADE_IN and 0 < s.level < 0.02  # the session opens with a fade in
    for _ in range(240):
        s = d.step(dt)
    assert s.state == ATTRACT and s.level == 1.0 and s.pose is not None
    assert np.allclose(s.pose, pose_at(plan, d.tour_t_s))
    d.input()
    s = d.step(dt)
    assert s.state == VISITOR and s.pose is None and d.takeovers == 1
    # idle: fade out after idle_s, dark after fade_s more, then the player goes to the start once
    teleports = []
    levels = []
    for _ in range(int((10.0 + 1.0) / dt) + 5):
        s = d.step(dt)
        teleports.append(s.teleport)
        levels.append(s.level)
    assert sum(teleports) == 1 and d.returns == 1
    assert s.state == FADE_IN
    assert max(abs(np.diff(levels))) <= dt / 1.0 + 1e-9  # the fade never jumps
    at = teleports.index(True)
    assert levels[at] == 0.0
    # a visitor during the fade out gets the picture back at once, without a teleport
    d2 = Director(plan, idle_s=5.0, fade_s=1.0)
    d2.input()
    for _ in range(int(5.5 / dt)):
        s = d2.step(dt)
    assert s.state == FADE_OUT and 0.3 < s.level < 0.7
    d2.input()
    s = d2.step(dt)
    assert s.state == VISITOR and s.level > 0.3 and not s.teleport and d2.returns == 0


def test_director_restarts_the_tour_at_its_end(tmp_path):
    from memoire.kiosk.director import Director

    plan = _plan(tmp_path)
    d = Director(plan, idle_s=10.0, fade_s=0.5)
    dt = 1 / 60
    n = int((plan.duration_s + 2.0) / dt)
    teleports = sum(d.step(dt).teleport for _ in range(n))
    assert teleports == 1 and d.returns == 1 and d.takeovers == 0
    assert d.tour_t_s < 2.0


# -- logs and watchdog -----------------------------------------------------------------------------


def test_logs_rotate_within_their_cap(tmp_path):
    import logging

    from memoire.kiosk.logs import KioskLogs

    logs = KioskLogs(tmp_path / "logs", 20_000, 2, echo=False)
    try:
        lg = logging.getLogger("memoire.test")
        for i in range(3000):
            lg.info("line %d: %s", i, "x" * 60)
    finally:
        logs.close()
    files = sorted((tmp_path / "logs").iterdir())
    assert [f.name for f in files] == ["memoire.log", "memoire.log.1", "memoire.log.2"]
    assert sum(f.stat().st_size for f in files) <= 3 * 20_000
    assert "line 2999" in (tmp_path / "logs" / "memoire.log").read_text()


def test_watchdog_sends_sd_notify_datagrams(tmp_path):
    from memoire.kiosk.watchdog import Watchdog

    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(1.0)
    try:
        w = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
        assert w.interval_s == 1.0
        w.ready("playing")
        w.ping(100.0)
        w.ping(100.5)  # not due yet: nothing sent
        w.ping(101.0)
        got = [server.recv(256).decode() for _ in range(3)]
        w.close()
    finally:
        server.close()
    assert got == ["READY=1\nSTATUS=playing", "WATCHDOG=1", "WATCHDOG=1"]
    assert not Watchdog({}).active and Watchdog({}).notify("READY=1") is False


# -- the game, headless ----------------------------------------------------------------------------


@pytest.mark.slow  # starts the audio process (~2.5 s)
@pytest.mark.gl
def test_kiosk_game_takeover_keeps_pose_and_sound(tmp_path, tiny_model_path):
    """A visitor takes over mid-tour at the current pose (no jump); the output gain follows the
    volume; the quit chord ends the loop. Through the shipped game loop and audio process."""
    from memoire.game.app import PlayOptions
    from memoire.game.window import HeadlessWindow
    from memoire.kiosk.config import load_kiosk_config
    from memoire.kiosk.game import KioskGame

    (tmp_path / "lane.toml").write_text(SMALL_LEVEL)
    (tmp_path / "kiosk.toml").write_text(KIOSK)
    config = load_kiosk_config(tmp_path / "kiosk.toml")
    window = HeadlessWindow((64, 36))
    game = KioskGame(PlayOptions(tmp_path / "lane.toml", tiny_model_path, headless=True, mute=True, kiosk=True),
                     config, window)
    game.open()
    try:
        t = 1.0
        for _ in range(60):  # 3 s of loop clock: faded in, walking
            t += 0.05
            game.frame(t, draw=False)
        assert game.director.state == "attract"
        assert game.sim_time_s == pytest.approx(59 * 0.05, abs=0.01)  # the first frame starts the clock
        before = game.state
        assert before.x_m > 3.05  # the tour has moved the player
        game.input.inject(("look", 10, 0))
        t += 0.05
        game.frame(t)
        after = game.state
        assert game.director.state == "visitor" and game.director.takeovers == 1
        # the same place, the heading turned by the look only (10 px x 0.15 deg)
        assert math.hypot(after.x_m - before.x_m, after.y_m - before.y_m) < 0.15
        assert abs(after.heading_rad - before.heading_rad - math.radians(1.5)) < 0.1
        assert game.mode.sent_gain[0] == pytest.approx(10 ** (-6 / 20), rel=1e-3)
        game.input.inject(("chord",))
        game.frame(t + 0.05)
        assert not game.running
    finally:
        game.close()
        window.close()


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_missing_model_shows_a_message_screen_and_logs_it(tmp_path, monkeypatch):
    from PIL import Image

    from memoire.cli import main

    (tmp_path / "lane.toml").write_text(SMALL_LEVEL)
    (tmp_path / "kiosk.toml").write_text(KIOSK + 'log_dir = "logs"\nretry_s = 1\n')
    shot = tmp_path / "problem.png"
    monkeypatch.setenv("MEMOIRE_PROBLEM_PNG", str(shot))
    rc = main(["play", str(tmp_path / "lane.toml"), "--model", str(tmp_path / "absent.ts"), "--kiosk",
               "--config", str(tmp_path / "kiosk.toml"), "--headless", "--size", "320", "180", "--frames", "15"])
    assert rc == 1
    log = (tmp_path / "logs" / "memoire.log").read_text()
    assert "cannot start: model file" in log and "absent.ts not found" in log
    assert log.count("cannot start") >= 2  # retried after retry_s
    img = np.asarray(Image.open(shot))
    assert img.shape == (180, 320, 3)
    assert (img.max(axis=2) > 200).sum() > 200  # light text on the dark screen
    assert np.median(img) < 40


@pytest.mark.slow
@pytest.mark.gl
def test_a_dead_audio_process_is_replaced(tmp_path, tiny_model_path):
    """The kiosk plays through the audio process; if that process dies, the audio client starts
    a new one, the sound goes on, and the restart reaches the session's statistics."""
    import os
    import signal
    import time

    from memoire.game.app import PlayOptions
    from memoire.game.window import HeadlessWindow
    from memoire.kiosk.config import load_kiosk_config
    from memoire.kiosk.game import KioskGame

    (tmp_path / "lane.toml").write_text(SMALL_LEVEL)
    (tmp_path / "kiosk.toml").write_text(KIOSK)
    window = HeadlessWindow((64, 36))
    game = KioskGame(PlayOptions(tmp_path / "lane.toml", tiny_model_path, headless=True, mute=True, kiosk=True),
                     load_kiosk_config(tmp_path / "kiosk.toml"), window)
    game.open()
    try:
        first = game.engine.pid
        game.frame(time.perf_counter())
        time.sleep(0.6)
        os.kill(first, signal.SIGKILL)
        deadline = time.time() + 60
        while game.engine.stats().process_restarts == 0 and time.time() < deadline:
            game.frame(time.perf_counter(), draw=False)
            time.sleep(0.02)
        assert game.engine.stats().process_restarts == 1 and game.engine.pid != first
        played = game.engine.stats().frames_played
        deadline = time.time() + 60
        while game.engine.stats().frames_played <= played and time.time() < deadline:
            game.frame(time.perf_counter(), draw=False)
            time.sleep(0.05)
        stats = game.engine.stats()
        assert stats.alive and stats.frames_played > played  # the new one plays
    finally:
        game.close()
        window.close()


def test_pygame_input_chord_activity_and_swallowed_quits():
    import pygame

    from memoire.kiosk.config import parse_chord
    from memoire.kiosk.events import KioskInput

    pygame.display.init()
    try:
        pygame.display.set_mode((32, 32))

        class FakeWindow:
            pg = pygame
            size_px = (32, 32)

            def capture_mouse(self, on):
                pass

        ki = KioskInput(FakeWindow(), parse_chord("ctrl+alt+q"))
        pygame.event.clear()
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0))
        events, activity, quit_ = ki.poll()
        assert events == [("key", "escape", True)] and not quit_  # Esc and close do not quit...
        assert not activity  # ...and are no visitor (someone trying to leave)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=pygame.KMOD_LCTRL))
        events, activity, quit_ = ki.poll()
        assert not quit_ and activity  # ctrl+q is not the chord: a visitor's key
        # the technician's chord: its modifier keys, the chord, the key let go: none of it a visitor
        both = pygame.KMOD_LCTRL | pygame.KMOD_LALT
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LCTRL, mod=pygame.KMOD_LCTRL))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LALT, mod=both))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=both))
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_q, mod=both))
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_LALT, mod=pygame.KMOD_LCTRL))
        events, activity, quit_ = ki.poll()
        assert quit_ and not activity, events
        assert all(e == ("key", "chord key", e[2]) for e in events), events
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0))
        assert ki.poll()[1]  # q alone is a visitor typing
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, rel=(1, 0), pos=(1, 1), buttons=(0, 0, 0)))
        events, activity, _ = ki.poll()
        assert events == [("look", 1, 0)] and not activity  # a 1 px jitter is not a visitor
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_w, mod=0))
        events, activity, _ = ki.poll()
        assert events == [("key", "forward", True)] and activity
    finally:
        pygame.display.quit()


@pytest.mark.slow  # starts the audio process (~2.5 s)
@pytest.mark.gl
def test_an_edited_tour_is_walked_after_hot_reload(tmp_path, tiny_model_path):
    import os

    from memoire.game.app import PlayOptions
    from memoire.game.window import HeadlessWindow
    from memoire.kiosk.config import load_kiosk_config
    from memoire.kiosk.game import KioskGame

    level_path = tmp_path / "lane.toml"
    level_path.write_text(SMALL_LEVEL)
    (tmp_path / "kiosk.toml").write_text(KIOSK)
    window = HeadlessWindow((32, 18))
    game = KioskGame(PlayOptions(level_path, tiny_model_path, headless=True, mute=True, kiosk=True),
                     load_kiosk_config(tmp_path / "kiosk.toml"), window)
    game.open()
    try:
        before = game.mode.plan.duration_s
        level_path.write_text(SMALL_LEVEL.replace("speed_mps = 1.2", "speed_mps = 0.6"))
        st = os.stat(level_path)
        os.utime(level_path, (st.st_atime + 5, st.st_mtime + 5))
        game.frame(100.0)  # the loop's next reload poll picks it up
        assert game.director.plan is game.mode.plan and game.mode.plan.duration_s > 1.5 * before
    finally:
        game.close()
        window.close()


@pytest.mark.gl
def test_esc_and_the_chord_are_no_takeover_and_the_hint_follows_one(tmp_path):
    """Esc and the quit chord's keys reach the kiosk as keys that are no visitor's; a real key
    takes over and the controls hint shows for a few seconds; while the tour walks, the title
    (top left) and the invitation (centred low, sized to the window) are on screen."""
    from test_first_minute import FakeAudio

    from memoire.game.app import PlayOptions
    from memoire.game.window import HeadlessWindow
    from memoire.kiosk.config import load_kiosk_config
    from memoire.kiosk.game import controls_hint_s
    from memoire.kiosk.game import KioskGame

    (tmp_path / "lane.toml").write_text(SMALL_LEVEL)
    (tmp_path / "kiosk.toml").write_text(KIOSK)
    window = HeadlessWindow((320, 180))
    game = KioskGame(PlayOptions(tmp_path / "lane.toml", headless=True, mute=True, kiosk=True),
                     load_kiosk_config(tmp_path / "kiosk.toml"), window, make_audio=FakeAudio)
    game.open()
    try:
        t = 1.0
        for _ in range(40):
            t += 0.05
            game.frame(t, draw=False)
        assert game.director.state == "attract"

        def overlays():
            return game.mode.overlays(game, game.state, window.size_px)

        attract = overlays()
        low = [(img, x, y) for img, x, y in attract if y > 180 * 0.55 and img.shape[1] < 320]
        assert len(low) == 1 and low[0][0].shape[0] >= 180 / 18  # the invitation, its letters 1/18 of the height
        assert any(x == y and x < 20 and img.shape[1] > 60 for img, x, y in attract)  # the title, top left
        for event in (("key", "escape", True), ("key", "escape", False), ("key", "chord key", True),
                      ("key", "chord key", False)):
            game.input.inject(event)
            t += 0.05
            game.frame(t, draw=False)
            assert game.director.state == "attract" and game.director.takeovers == 0, event
        game.input.inject(("key", "other", True))
        t += 0.05
        game.frame(t, draw=False)
        assert game.director.takeovers == 1
        visitor = overlays()
        hint = [(img, x, y) for img, x, y in visitor if y > 180 * 0.55 and img.shape[1] < 320]
        assert len(hint) == 1 and hint[0][0].shape != low[0][0].shape  # the controls, not the invitation
        assert not any(x == y and x < 20 for img, x, y in visitor)  # no title while a visitor walks
        t += controls_hint_s + 0.1
        game.frame(t, draw=False)
        assert not [o for o in overlays() if o[2] > 180 * 0.55 and o[0].shape[1] < 320]
    finally:
        game.close()
        window.close()


def test_the_invitation_grows_with_the_screen():
    from memoire.game.hud import banner_rgba, place_low
    from memoire.kiosk.game import invitation

    small = banner_rgba([(invitation, 1.0)], (1280, 720))
    big = banner_rgba([(invitation, 1.0)], (1920, 1080))
    assert big.shape[0] == pytest.approx(small.shape[0] * 1.5, rel=0.1)
    assert big.shape[1] == pytest.approx(small.shape[1] * 1.5, rel=0.1)
    x, y = place_low(big, (1920, 1080))
    assert abs(x + big.shape[1] / 2 - 960) <= 1 and 0.7 * 1080 < y + big.shape[0] / 2 < 0.9 * 1080
    assert big[0, 0, 3] == 0 and big[big.shape[0] // 2, big.shape[1] // 2, 3] > 100  # a soft backdrop
    assert (big[..., :3].min(axis=2) > 220).sum() > 500  # light letters on it
