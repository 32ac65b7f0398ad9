"""The kiosk: the game's one loop (memoire/game/app.py) with the kiosk's hooks filled in.

``KioskMode`` decides who walks (the director: the attract tour until someone touches the
input, the visitor until ``idle_s`` without input, fades between them), reads input through
``KioskInput`` (activity, the quit chord, swallowed quits), sends the output gain (the config's
volume times the director's level, under the config's peak ceiling), logs instead of showing
messages, draws the invitation (large, centred low, on a soft backdrop), the piece's title and
credit while the tour walks, the controls for a few seconds after a visitor takes over, and the
fade, and pings the systemd watchdog every frame.

``KioskGame`` is the game with that mode, sharing the window run.py opens for the whole session
(the message screen uses it between tries). ``frame(now)`` is the game's own, so the soak harness
drives exactly what a venue runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from memoire.audio.client import AudioStats
from memoire.game.app import Game, Mode, PlayOptions, session_line
from memoire.kiosk.config import KioskConfig, tour_line
from memoire.kiosk.director import Director, ease_angle
from memoire.kiosk.events import KioskInput
from memoire.kiosk.watchdog import Watchdog
from memoire.sim.player import PlayerState
from memoire.world.errors import UserError
from memoire.world.tour import camera_pose_at, pitch_at, plan_tour

log = logging.getLogger("memoire.kiosk")

# After a return to the tour, the view eases to the tour camera's pitch with this time constant.
level_out_s = 0.8
# Gain updates are sent when they change by more than this (linear), or once a second.
gain_resend_step = 1e-3
gain_resend_s = 1.0
invitation = "Move the mouse or press a key to walk"
controls_hint = "mouse to look, WASD to walk"
# The controls hint stays this long (loop-clock seconds) after a visitor takes over.
controls_hint_s = 6.0
# The title and credit sit in the top-left corner, this fraction of the window's height from its edges.
title_margin = 0.04


class KioskMode(Mode):
    start_gain = 0.0  # the session opens by fading in

    def __init__(self, config: KioskConfig, window, watchdog: Watchdog | None = None):
        self.config = config
        self.window = window
        self.input = KioskInput(window, config.quit_chord)
        self.watchdog = watchdog or Watchdog({})
        self.plan = None
        self.director: Director | None = None
        self.draw_enabled = True
        self.sent_gain = (-1.0, 0.0)  # (gain, perf_counter when sent): the last set_gain
        self._dark: np.ndarray | None = None
        self.hint_until_s = -1.0  # loop-clock time (game.wall_s) until which the controls hint shows
        self._title: tuple[tuple[int, int], np.ndarray] | None = None  # (window size, picture)

    def _tour_name(self, level) -> str:
        return self.config.tour or level.tours[0].name

    def attach(self, game: Game) -> None:
        level = game.level
        if not level.tours:
            raise UserError(f"{level.path}: the level has no [[tours]]; kiosk mode walks one in attract mode "
                            "(see docs/levels.md)")
        name = self._tour_name(level)
        if name not in [t.name for t in level.tours]:
            raise UserError(f"{tour_line(self.config)}: [kiosk]: tour '{name}' is not in {level.path}; its tours: "
                            f"{', '.join(t.name for t in level.tours)}")
        self.plan = plan_tour(level, level.tour(name))
        self.director = Director(self.plan, idle_s=self.config.idle_s, fade_s=self.config.fade_s)

    def start_pose(self, game: Game) -> PlayerState:
        return PlayerState(*camera_pose_at(self.plan, 0.0))

    def opened(self, game: Game) -> None:
        self.window.capture_mouse(True)  # cursor hidden and grabbed: mouse motion is look
        log.info("kiosk: playing %s, tour '%s' (%.0f s), model %s", game.level.name, self._tour_name(game.level),
                 self.plan.duration_s, game.model_path)
        self._open_trace(game)
        self._open_osc(game)
        self.watchdog.ready("playing")

    def _open_osc(self, game: Game) -> None:
        """OSC in and out ([kiosk] osc_in, osc_out; --osc-in/--osc-out win over them). A port in
        use is a UserError: the kiosk shows it and tries again. /memoire/volume is folded into the
        kiosk's own gain (``background``), under the config's peak ceiling."""
        if game.osc is None and (self.config.osc_in or self.config.osc_out):
            from memoire.game.osc import OscBridge

            where = self.config.path or "the kiosk config"
            game.osc = OscBridge.open(self.config.osc_in, self.config.osc_out, in_flag=f"[kiosk] osc_in in {where}",
                                      out_flag=f"[kiosk] osc_out in {where}")
            log.info("kiosk: OSC in %s, out %s", self.config.osc_in or "off", self.config.osc_out or "off")
        if game.osc is not None:
            game.osc.owns_gain = False

    def _open_trace(self, game: Game) -> None:
        """The day's visitor trace in the log folder ([kiosk] trace, trace_hz)."""
        if not self.config.trace or self.config.log_dir is None:
            return
        from memoire.kiosk.logs import DayTrace

        try:
            game.trace = DayTrace(self.config.log_dir, game.level, max_hz=self.config.trace_hz)
        except UserError as e:  # the kiosk plays on without a trace; the technician reads why
            log.error("kiosk: no visitor trace: %s", e)

    # -- input and who walks ----------------------------------------------------------------------

    def events(self, game: Game):
        events, activity, quit_ = self.input.poll()
        if quit_:
            log.info("kiosk: quit chord %s pressed", self.config.quit_chord)
            game.running = False
        if activity:
            if self.director.attract:
                log.info("kiosk: a visitor takes over")
                self.hint_until_s = game.wall_s + controls_hint_s
            self.director.input()
        return events

    def step(self, game: Game, dt_s: float, pose: bool) -> None:
        if any(game.keys.values()):
            self.director.input()  # a held key is a visitor still there
        was = self.director.state
        step = self.director.step(dt_s, pose=pose)
        if step.teleport:
            game.place(PlayerState(*step.pose, pitch_at(self.plan, self.director.tour_t_s)), jump=True)
            game.keys.clear()
            log.info("kiosk: back to the tour start (%d returns)", self.director.returns)
            return
        if step.state != was and step.state == "fade_out":
            log.info("kiosk: fading back to the tour")
        if self.director.attract:
            if step.pose is not None:
                # toward the tour camera's own pitch (after a visitor, from wherever they looked)
                pitch = ease_angle(game.state.pitch_rad, pitch_at(self.plan, self.director.tour_t_s), dt_s,
                                   level_out_s)
                game.place(PlayerState(*step.pose, pitch))
            return
        game.walk(dt_s)

    # -- audio ------------------------------------------------------------------------------------

    def background(self, game: Game, now_s: float) -> None:
        gain = self.config.volume_gain * self.director.level * (game.osc.volume if game.osc is not None else 1.0)
        real = time.perf_counter()
        if abs(gain - self.sent_gain[0]) > gain_resend_step or real - self.sent_gain[1] > gain_resend_s:
            game.engine.set_gain(gain, self.config.peak_ceiling)
            self.sent_gain = (gain, real)

    # -- level, picture, words --------------------------------------------------------------------

    def reloaded(self, game: Game) -> None:
        """The attract tour re-planned from the new level (the old plan stays if the tour is gone
        or broken)."""
        level = game.level
        try:
            if not level.tours:
                raise UserError(f"{level.path}: the level has no [[tours]] any more")
            self.plan = plan_tour(level, level.tour(self._tour_name(level)))
        except UserError as e:
            log.error("kiosk: the attract tour keeps its old path: %s", e)
            return
        self.director.plan = self.plan
        self.director.tour_t_s = min(self.director.tour_t_s, self.plan.duration_s)

    def start_tour(self, game: Game, name: str) -> None:
        """OSC /memoire/tour: the attract tour is ``name`` from now on; while the tour walks, it
        starts from its start at once (a jump, crossfaded); a visitor walking keeps walking."""
        level = game.level
        self.plan = plan_tour(level, level.tour(name))
        self.director.plan = self.plan
        self.config = replace(self.config, tour=name)
        if self.director.attract:
            self.director.tour_t_s = 0.0
            game.place(PlayerState(*camera_pose_at(self.plan, 0.0)), jump=True)
        log.info("kiosk: OSC: the attract tour is now '%s'", name)

    def draws(self, game: Game) -> bool:
        return self.draw_enabled

    def overlays(self, game: Game, player: PlayerState, window_px: tuple[int, int]) -> list:
        """No minimap or technical messages; while the tour walks the title and credit (top left)
        and the invitation (centred low); the controls for ``controls_hint_s`` after a takeover;
        the fade to dark as a full-window overlay drawn last."""
        hint = None
        if self.director.attract:
            hint = [(invitation, 1.0)]
        elif game.wall_s < self.hint_until_s:
            hint = [(controls_hint, 1.0)]
        out = game.hud.overlays(player, window_px, show_minimap=False, messages=[], terrain_progress=None,
                                hint=hint)
        if self.director.attract:
            title = self._title_picture(window_px)
            m = round(window_px[1] * title_margin)
            out.append((title, m, m))
        level = self.director.level
        if level < 1.0:
            w, h = window_px
            if self._dark is None or self._dark.shape[:2] != (h, w):
                self._dark = np.zeros((h, w, 4), np.uint8)
            self._dark[:, :, 3] = round(255 * (1.0 - level))
            out.append((self._dark, 0, 0))
        return out

    def _title_picture(self, window_px: tuple[int, int]) -> np.ndarray:
        """The piece's name, subtitle and credit on a soft backdrop (made once per window size)."""
        if self._title is None or self._title[0] != tuple(window_px):
            from memoire.game.hud import banner_rgba
            from memoire.game.title import CREDIT, SUBTITLE, TITLE

            picture = banner_rgba([(TITLE, 1.7), (SUBTITLE, 0.62), (CREDIT, 0.45)], window_px, backdrop=120)
            self._title = (tuple(window_px), picture)
        return self._title[1]

    def say(self, game: Game, text: str) -> None:
        log.info(text)

    def traces(self, game: Game) -> bool:
        """Visitors' walks only: the attract tour walks the same path every lap and would fill
        the heat map with itself."""
        return not self.director.attract

    def frame_done(self, game: Game) -> None:
        self.watchdog.ping(time.monotonic())  # systemd's clock is real time, whatever drives the game

    def summary(self, game: Game, audio: AudioStats) -> None:
        log.info("kiosk: session: %s; %d visitor takeovers, %d returns to the tour", session_line(game, audio),
                 self.director.takeovers, self.director.returns)


class KioskGame(Game):
    """The game in kiosk mode, in the session's window (run.py). Adds no loop of its own."""

    def __init__(self, opts: PlayOptions, config: KioskConfig, window, *, watchdog: Watchdog | None = None,
                 make_audio=None):
        super().__init__(replace(opts, tour=None), KioskMode(config, window, watchdog), window=window,
                         make_audio=make_audio)

    @property
    def director(self) -> Director:
        return self.mode.director

    @property
    def input(self) -> KioskInput:
        return self.mode.input

    @property
    def config(self) -> KioskConfig:
        return self.mode.config
