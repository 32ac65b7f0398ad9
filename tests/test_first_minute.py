"""The first minute of a visit: the title card while the game loads, the terminal's loading lines,
the controls hint until the visitor moves, Z's zone line, --start / --start-zone, and the
session line's first frame and first sound (never "nan").

The game runs headless through ``Game.open`` and ``Game.frame`` with a stand-in audio client
(``FakeAudio``, the ``make_audio`` injection point), so these tests start no audio process."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from memoire.audio.client import AudioStats
from memoire.world.errors import UserError


class FakeAudio:
    """An AudioClient that plays nothing: its output "plays" once ``start`` is called."""

    def __init__(self, game, gain: float):
        self.card = SimpleNamespace(rate_assumed=False, sample_rate_hz=44100)
        self.level = game.level
        self.started = False
        self.listener = None

    def start(self, wait: bool = True) -> None:
        self.started = True

    def set_listener(self, x_m, y_m, heading_rad, *, teleport=False) -> None:
        self.listener = (x_m, y_m, heading_rad)

    def set_level(self, level) -> None:
        self.level = level

    def set_model(self, path) -> None:
        pass

    def set_terrain(self, grid) -> None:
        pass

    def set_gain(self, gain, ceiling=None) -> None:
        pass

    def poll_events(self):
        return []

    def stats(self) -> AudioStats:
        return AudioStats(frames_played=4410 if self.started else 0, output="fake")

    def close(self) -> None:
        pass


@pytest.fixture
def level_path(tmp_path, default_level_path):
    """The default level with the zone blend only (no terrain job) and no model file needed."""
    text = default_level_path.read_text().replace('field = "mix"', 'field = "zones"')
    text = text.replace('model = "../assets/models/hutong.ts"', 'model = ""')
    p = tmp_path / "hutong.toml"
    p.write_text(text)
    return p


def _game(level_path, size=(320, 180), **kw):
    from memoire.game.app import Game, PlayOptions

    return Game(PlayOptions(level_path=level_path, headless=True, mute=True, size_px=size, **kw),
                make_audio=FakeAudio)


# -- --start and --start-zone ------------------------------------------------------------------------


def test_start_seconds_and_start_zone_place_the_tour(level_path):
    from memoire.world.tour import plan_tour, pose_at
    from memoire.world.tour_start import tour_start_s
    from memoire.world.zones import dominant_zone

    game = _game(level_path, tour="gallery", start_s=30.0)
    plan = game.mode.tour_plan
    assert (game.state.x_m, game.state.y_m, game.state.heading_rad) == pytest.approx(pose_at(plan, 30.0))

    game = _game(level_path, tour="gallery", start_zone="rain")
    t = tour_start_s(game.level, plan_tour(game.level, game.level.tour("gallery")), "gallery", start_zone="rain")
    assert 0.0 < t < plan.duration_s
    assert (game.state.x_m, game.state.y_m) == pytest.approx(pose_at(plan, t)[:2])
    assert dominant_zone(game.level, game.state.x_m, game.state.y_m)[0] == "rain"
    # the moment before it, the tour stood elsewhere: this is the first time
    assert dominant_zone(game.level, *pose_at(plan, t - 0.1)[:2])[0] != "rain"


def test_start_options_name_the_zones_and_the_length(level_path):
    from memoire.game.app import PlayOptions, check_play_options

    with pytest.raises(UserError, match=r"no zone named 'nowhere'.*its zones: pigeons, bells"):
        _game(level_path, tour="gallery", start_zone="nowhere")
    with pytest.raises(UserError, match=r"--start 9999: the tour 'gallery' is 1\d\d\.\d s long"):
        _game(level_path, tour="gallery", start_s=9999.0)
    with pytest.raises(UserError, match="not both"):
        _game(level_path, tour="gallery", start_s=1.0, start_zone="rain")
    with pytest.raises(UserError, match="give --tour NAME too"):
        check_play_options(PlayOptions(level_path=level_path, start_zone="rain"))


def test_render_start_zone_mistake_is_one_line(level_path, tmp_path, capsys):
    from memoire.cli import main

    rc = main(["render", str(level_path), "--tour", "gallery", "--out", str(tmp_path / "x.wav"),
               "--start-zone", "nowhere"])
    err = capsys.readouterr().err
    assert rc == 2 and "no zone named 'nowhere'" in err and "Traceback" not in err


# -- the session line -----------------------------------------------------------------------------


def test_session_line_says_n_a_never_nan(level_path):
    from memoire.game.app import session_line

    game = _game(level_path)
    line = session_line(game, AudioStats(synth_rtf=float("nan"), latency_s=float("inf")))
    assert "first frame n/a" in line and "first sound n/a" in line
    assert "nan" not in line.lower() and "inf" not in line
    game.time_to_first_frame_s, game.time_to_first_sound_s = 2.345, 2.9
    line = session_line(game, AudioStats(synth_rtf=12.0, latency_s=0.08))
    assert "first frame 2.3 s, first sound 2.9 s" in line and "12.0x real time" in line and "80 ms" in line


# -- the title card and the first frames (headless GL) ----------------------------------------------


@pytest.mark.gl
def test_title_card_then_the_walk(level_path, capsys):
    """open(): the card is drawn on the window before the level's picture exists (title text,
    not the scene); each loading step is one terminal line with its seconds; the first frame and
    the first sound reach the session line; the controls hint shows until the first key."""
    from memoire.game.app import session_line
    from memoire.game.title import STEPS

    game = _game(level_path, size=(480, 270))
    game.open()
    try:
        card = game.title_pixels
        assert card is not None and card.shape == (270, 480, 3)
        assert (card.min(axis=2) > 225).sum() > 300  # the title's cream letters
        assert card[:20].mean() < 60  # a dusk card, not the sky of the scene
        assert [name for name, _ in game.loading] == list(STEPS)
        err = capsys.readouterr().err
        for step in STEPS:
            assert re.search(re.escape(step) + r" \d+\.\d s", err), err

        game.frame(10.0)
        scene = game.renderer.read_pixels()
        assert scene[:20].reshape(-1, 3).mean(0)[2] > 150  # now the sky
        assert np.abs(scene.astype(int) - card.astype(int)).mean() > 30
        line = session_line(game, game.engine.stats())
        assert re.search(r"first frame \d+\.\d s, first sound \d+\.\d s", line), line

        # the controls hint: centred low, until the visitor presses a key
        hint = [(img, x, y) for img, x, y in game.mode.overlays(game, game.state, game.window.size_px)
                if y > 270 * 0.55 and abs(x + img.shape[1] / 2 - 240) < 4]
        assert len(hint) == 1 and hint[0][0].shape[0] >= 270 / 18
        game.window.inject(("key", "forward", True))
        game.frame(10.05)
        assert game.mode.moved
        assert not [o for o in game.mode.overlays(game, game.state, game.window.size_px) if o[2] > 270 * 0.55
                    and o[1] > 12]
    finally:
        game.close()


@pytest.mark.gl
def test_z_names_the_zone_you_stand_in(level_path):
    from memoire.sim.player import PlayerState

    game = _game(level_path, size=(320, 180))
    game.open()
    try:
        game.place(PlayerState(35.25, 9.75, 0.0), jump=True)  # the pigeons' circle
        game.frame(1.0)
        assert game.mode.zone_line is None
        game.window.inject(("key", "zones", True))
        game.frame(1.05)
        assert game.mode.show_zones
        assert re.fullmatch(r"pigeons \((0|1)\.\d\d\)", game.mode.zone_line), game.mode.zone_line
        weight = float(game.mode.zone_line.split("(")[1].rstrip(")"))
        assert weight > 0.5
        corner = [img for img, x, y in game.mode.overlays(game, game.state, game.window.size_px) if (x, y) == (12, 12)]
        assert corner and (corner[0][..., :3].min(axis=2) > 200).sum() > 20  # the line is written there
        game.place(PlayerState(30.0, 18.75, 0.0), jump=True)  # the open lane: the wind
        game.frame(1.1)
        assert game.mode.zone_line.startswith("wind (")
    finally:
        game.close()


@pytest.mark.gl
def test_a_started_tour_walks_on_from_its_start(level_path):
    from memoire.world.tour import pose_at

    game = _game(level_path, size=(160, 90), tour="gallery", start_s=40.0)
    game.open()
    try:
        t = 5.0
        for _ in range(31):
            game.frame(t, draw=False)
            t += 1 / 30
        x, y, _ = pose_at(game.mode.tour_plan, 40.0 + game.sim_time_s)
        assert math.hypot(game.state.x_m - x, game.state.y_m - y) < 1e-6
    finally:
        game.close()
