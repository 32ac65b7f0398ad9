"""The kiosk game: the normal game (memoire/game/app.py) with the director, the supervisor and the watchdog.

It shares the window with the message screen (run.py opens one window for the whole session),
walks the attract tour until someone touches the input, hands over at the current pose, and
fades back to the tour after ``idle_s`` without input. Audio runs under an ``AudioSupervisor``
(memoire/audio/supervisor.py); the output gain is the config's volume times the director's level, and
its peak ceiling is the config's volume limit.

``frame(now)`` is one pass of the loop, so the soak harness can drive the game with a
simulated clock (tools/soak/harness.py); ``run()`` drives it with the real one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from memoire.game.app import Game, PlayerState, PlayOptions, _wanted_velocity, looked, max_frame_catchup_s
from memoire.world.errors import UserError
from memoire.kiosk.config import KioskConfig, tour_line
from memoire.kiosk.director import Director, ease_angle
from memoire.kiosk.events import KioskInput
from memoire.kiosk.watchdog import Watchdog
from memoire.sim.physics import World, physics_step_s
from memoire.world.tour import plan_tour, pose_at

log = logging.getLogger("memoire.kiosk")

# After a return to the tour, the view levels out (pitch to 0) with this time constant.
level_out_s = 0.8
# The audio process is restarted when it has ended, or when its synth has not reported for 10 s
# (twice the supervisor's own stall limit inside it: that one acts first when it can).
audio_process_stall_s = 10.0
# A new audio process gets this long to load the model before it is judged, doubling (to 5 min)
# when it keeps failing.
audio_process_grace_s = 20.0
# Gain updates are sent when they change by more than this (linear), or once a second.
gain_resend_step = 1e-3
invitation = "Move the mouse or press a key to walk"


def default_engine(game: "KioskGame"):
    """The engine the kiosk plays through: the audio process (memoire/audio/engine.py, so the renderer never
    holds the audio's interpreter lock) with the supervisor running inside it, silent at start."""
    from memoire.audio.engine import AudioEngine, settings_for

    return AudioEngine(game.level, game.model_path, mute=game.opts.mute, torch_threads=game.opts.torch_threads,
                       settings=settings_for(game.level), record=game.opts.record, supervise=True, gain=0.0)


class KioskHud:
    """The game's HUD in kiosk mode: no minimap or technical messages; an invitation while the
    tour walks; the fade to dark as a full-window overlay drawn last."""

    def __init__(self, hud, game: "KioskGame"):
        self.hud = hud
        self.game = game
        self._dark: np.ndarray | None = None

    def set_level(self, level, field_rgb=None) -> None:
        self.hud.set_level(level, field_rgb)

    def set_terrain(self, field_rgb, level) -> None:
        self.hud.set_terrain(field_rgb, level)

    def overlays(self, player, window_px, *, show_minimap: bool, messages: list[str], terrain_progress):
        lines = [invitation] if self.game.director.attract else []
        out = self.hud.overlays(player, window_px, show_minimap=False, messages=lines, terrain_progress=None)
        level = self.game.director.level
        if level < 1.0:
            w, h = window_px
            if self._dark is None or self._dark.shape[:2] != (h, w):
                self._dark = np.zeros((h, w, 4), np.uint8)
            self._dark[:, :, 3] = round(255 * (1.0 - level))
            out.append((self._dark, 0, 0))
        return out


class KioskGame(Game):
    def __init__(self, opts: PlayOptions, config: KioskConfig, window, *, watchdog: Watchdog | None = None,
                 engine_factory: Callable[["KioskGame"], object] = default_engine):
        super().__init__(replace(opts, tour=None))  # loads the level: raises UserError
        self.config = config
        level = self.level
        if not level.tours:
            raise UserError(f"{level.path}: the level has no [[tours]]; kiosk mode walks one in attract mode "
                            "(see docs/levels.md)")
        name = config.tour or level.tours[0].name
        if name not in [t.name for t in level.tours]:
            raise UserError(f"{tour_line(config)}: [kiosk]: tour '{name}' is not in {level.path}; its tours: "
                            f"{', '.join(t.name for t in level.tours)}")
        self.plan = plan_tour(level, level.tour(name))
        self.director = Director(self.plan, idle_s=config.idle_s, fade_s=config.fade_s)
        x, y, h = pose_at(self.plan, 0.0)
        self.prev = self.state = PlayerState(x, y, h)
        self.world = World(level, (x, y))
        self.window = window
        self.input = KioskInput(window, config.quit_chord)
        self.watchdog = watchdog or Watchdog({})
        self.engine_factory = engine_factory
        self.show_minimap = False
        self._teleport_pending = False
        self._last_s: float | None = None
        self._accumulator_s = 0.0
        self.draw_enabled = True
        self.audio_restarts = 0
        self._audio_judge_after_s = 0.0
        self._sent_gain = (-1.0, 0.0)  # (gain, perf_counter when sent)

    # -- setup ------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        log.info(text)

    def open(self) -> None:
        self.engine = self.engine_factory(self)  # the model loads here: raises UserError
        if self.engine.info.rate_assumed:
            self.say(f"{self.model_path.name} does not state its sample rate; assuming "
                     f"{self.engine.info.sample_rate_hz} Hz")
        for message in self.engine.poll_messages():
            self.say(message)
        self._start_terrain()
        from memoire.game.hud import Hud
        from memoire.render.renderer import Renderer

        self.renderer = Renderer(self.window.ctx, self.level, self.window.size_px)
        from memoire.game.app import minimap_px_per_m

        self.hud = KioskHud(Hud(self.level, minimap_px_per_m), self)
        self.window.capture_mouse(True)  # cursor hidden and grabbed: mouse motion is look
        self._start_engine()
        log.info("kiosk: playing %s, tour '%s' (%.0f s), model %s", self.level.name,
                 self.config.tour or self.level.tours[0].name, self.plan.duration_s, self.model_path)

    def _start_engine(self) -> None:
        s = self.state
        self.engine.set_listener(s.x_m, s.y_m, s.heading_rad)
        self.engine.start()
        self._sent_gain = (-1.0, 0.0)
        self._audio_judge_after_s = time.perf_counter() + audio_process_grace_s * 2 ** min(self.audio_restarts, 4)

    def _watch_audio_process(self) -> None:
        """An audio process that ended or froze is replaced (the supervisor inside it handles the
        synth thread and the device; this handles the process itself)."""
        e = self.engine
        if not hasattr(e, "heartbeat_s") or time.perf_counter() < self._audio_judge_after_s:
            return  # in-process engines are supervised where they run
        beat = e.heartbeat_s
        if e.alive and (beat == 0.0 or time.perf_counter() - beat < audio_process_stall_s):
            return
        why = "ended" if not e.alive else f"stopped reporting ({time.perf_counter() - beat:.0f} s)"
        self.audio_restarts += 1
        log.error("kiosk: the audio process %s; starting a new one (%d so far)", why, self.audio_restarts)
        try:
            e.close()
        except Exception:
            log.exception("kiosk: closing the old audio process")
        try:
            self.engine = self.engine_factory(self)
            self._start_engine()
        except Exception:
            log.exception("kiosk: the new audio process did not start; trying again later")
            self.engine = e  # judged again after the grace time
            self._audio_judge_after_s = time.perf_counter() + audio_process_grace_s

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> int:
        self.open()
        self.watchdog.ready("playing")
        try:
            while self.running:
                self.frame(time.perf_counter())
                if self.opts.frames is not None and self.stats.frames >= self.opts.frames:
                    self.running = False
        finally:
            self.close()
        self.print_summary()
        return 0

    def frame(self, now: float, *, draw: bool = True) -> None:
        """One pass: input, fixed steps, audio and background work, picture, watchdog. ``now`` is the
        loop's clock (real, or the soak's simulated one); frame times are measured in real time."""
        started = time.perf_counter()
        if self._last_s is None:
            self._last_s = now
        frame_dt = min(now - self._last_s, max_frame_catchup_s)
        self._last_s = now
        self._accumulator_s += frame_dt
        self.handle_events()
        steps = int(self._accumulator_s / physics_step_s)
        for k in range(steps):
            # the tour's pose matters for the last two steps (drawn, interpolated between them)
            self.update(physics_step_s, pose=k >= steps - 2)
            self._accumulator_s -= physics_step_s
        self.poll_background(now)
        if draw and self.draw_enabled:
            self.draw(self._accumulator_s / physics_step_s, flip=False)
            last = self.opts.frames is not None and self.stats.frames + 1 >= self.opts.frames
            if last and self.opts.screenshot is not None:
                self.save_screenshot(self.opts.screenshot)  # before the swap: after it the buffer may be undefined
            self.window.flip()
        self.watchdog.ping(time.monotonic())  # systemd's clock is real time, whatever drives the game
        self.stats.frames += 1
        self.stats.frame_s.append(time.perf_counter() - started)

    def handle_events(self) -> None:
        events, activity, quit_ = self.input.poll()
        if quit_:
            log.info("kiosk: quit chord %s pressed", self.config.quit_chord)
            self.running = False
        if activity:
            if self.director.attract:
                log.info("kiosk: a visitor takes over")
            self.director.input()
        for event in events:
            kind = event[0]
            if kind == "key":
                _, name, down = event
                if name in ("forward", "back", "left", "right", "run"):
                    self.keys[name] = down
            elif kind == "look":
                self.state = looked(self.state, event[1], event[2])
            elif kind == "resize":
                self.renderer.resize(event[1])

    def update(self, dt_s: float, *, pose: bool = True) -> None:
        """One fixed step: the director decides who walks; physics resolves the visitor's walls.
        ``pose=False``: a step whose tour pose nobody sees (the player keeps the last one)."""
        self.prev = self.state
        self.sim_time_s += dt_s
        if any(self.keys.values()):
            self.director.input()  # a held key is a visitor still there
        was = self.director.state
        step = self.director.step(dt_s, pose=pose)
        if step.teleport:
            x, y, h = step.pose
            self.world.teleport((x, y))
            self.state = self.prev = PlayerState(x, y, h, 0.0)
            self.keys.clear()
            self._teleport_pending = True
            log.info("kiosk: back to the tour start (%d returns)", self.director.returns)
            return
        if step.state != was and step.state == "fade_out":
            log.info("kiosk: fading back to the tour")
        if self.director.attract:
            if step.pose is None:
                return
            x, y, h = step.pose
            self.world.teleport((x, y))
            pitch = ease_angle(self.state.pitch_rad, 0.0, dt_s, level_out_s)
            self.state = PlayerState(x, y, h, pitch)
            return
        v = _wanted_velocity(self.keys, self.state.heading_rad)
        pose = self.world.step(v, dt_s)
        self.state = replace(self.state, x_m=pose.x_m, y_m=pose.y_m)

    def poll_background(self, now: float) -> None:
        if self._teleport_pending:
            s = self.state
            self.engine.set_listener(s.x_m, s.y_m, s.heading_rad, teleport=True)
            self._teleport_pending = False
        super().poll_background(now)
        for message in self.engine.poll_messages():
            self.say(message)
        gain = self.config.volume_gain * self.director.level
        real = time.perf_counter()
        if abs(gain - self._sent_gain[0]) > gain_resend_step or real - self._sent_gain[1] > 1.0:
            self.engine.set_gain(gain, self.config.peak_ceiling)
            self._sent_gain = (gain, real)
        poll = getattr(self.engine, "poll", None)
        if poll is not None:
            poll()  # an in-process engine's supervisor
        self._watch_audio_process()

    def check_reload(self) -> None:
        """The game's hot reload, then the attract tour re-planned from the new level (the old
        plan stays if the tour is gone or broken)."""
        old = self.level
        super().check_reload()
        if self.level is old:
            return
        name = (self.config.tour or self.level.tours[0].name) if self.level.tours else None
        try:
            if name is None:
                raise UserError(f"{self.level.path}: the level has no [[tours]] any more")
            self.plan = plan_tour(self.level, self.level.tour(name))
        except UserError as e:
            log.error("kiosk: the attract tour keeps its old path: %s", e)
            return
        self.director.plan = self.plan
        self.director.tour_t_s = min(self.director.tour_t_s, self.plan.duration_s)

    def close(self) -> None:
        if self.terrain_trainer is not None:
            self.terrain_trainer.cancel()
            self.terrain_trainer = None
        if self.engine is not None:
            self.engine.close()
        if self.renderer is not None:
            self.renderer.release()
            self.renderer = None
        # the window belongs to run_kiosk, which shows the message screen in it between tries

    def print_summary(self) -> None:
        a = self.engine.summary() if self.engine else {}
        log.info("kiosk: session: %d frames, %d visitor takeovers, %d returns to the tour, audio underruns %s, "
                 "audio process restarts %d, output %s", self.stats.frames, self.director.takeovers,
                 self.director.returns, a.get("underruns", 0), self.audio_restarts, a.get("output", "none"))
