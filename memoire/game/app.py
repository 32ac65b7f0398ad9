"""The game: one loop for `memoire play`, the kiosk, the soak harness and the tests.

``Game.frame(now_s)`` is one pass of the loop and the only one there is:

    clock (FixedStepClock.advance) -> events -> fixed steps (who walks: the mode) -> background
    (listener to the synth, audio events, terrain, hot reload) -> draw, interpolated -> trace row

``Game.run()`` calls it with the real clock until the player quits (or ``--frames`` is reached);
the soak harness and the tests call it with a simulated one. What differs between playing and
the kiosk is a ``Mode`` (below): who walks (keys and physics, a tour, the kiosk's
director), what input means, where messages go and what the HUD shows. The kiosk fills those
hooks; it does not have a loop of its own.

pygame is imported in game/window.py and game/hud.py; moderngl only in memoire/render/; torch never
in this process (the synth runs in the audio process, memoire/audio/).

Controls (PlayMode): mouse look, WASD or arrows to walk, Shift to run, M minimap, Z zone hint,
F11 fullscreen, Esc frees the mouse (a second Esc, or closing the window, quits), H help.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from memoire.audio.client import EVENT_RETRY, AudioClient, AudioStats
from memoire.sim.clock import FixedStepClock
from memoire.sim.physics import World, physics_step_s
from memoire.sim.player import MOVE_KEYS, PlayerState, interpolate, looked, wanted_velocity
from memoire.world.errors import UserError
from memoire.world.level import Level, LevelError, load_level
from memoire.world.paths import default_model
from memoire.world.tour import camera_pose_at, plan_tour

# Physics runs at a fixed 120 Hz (memoire.sim.physics). A frame longer than a quarter second (a
# stall) counts as a quarter second, so a stall does not turn into a burst of catch-up steps.
max_frame_catchup_s = 0.25
# Hot reload: the level file's modification time is checked twice a second.
reload_poll_s = 0.5
# Messages on screen stay this long.
message_s = 6.0
minimap_px_per_m = 4.0  # in a 720 px high window; the map follows the window's height (game/hud.py)
# Of a frame's fixed steps only the last two are ever seen (the picture interpolates between
# them), so a tour's pose is computed for those alone.
drawn_steps = 2


@dataclass(frozen=True)
class PlayOptions:
    level_path: Path
    model_path: Path | None = None
    tour: str | None = None
    start_s: float | None = None  # --start SECONDS: the tour starts at that moment of it
    start_zone: str | None = None  # --start-zone NAME: ...at the first moment its dominant zone is NAME
    frames: int | None = None
    screenshot: Path | None = None
    record: Path | None = None
    trace: Path | None = None
    headless: bool = False
    mute: bool = False
    size_px: tuple[int, int] = (1280, 720)
    fullscreen: bool = False
    kiosk: bool = False
    config: str | None = None
    torch_threads: int = 1
    allow_outside_paths: bool = False  # the level may name files outside its folder (docs/levels.md, Paths)
    osc_in: str | None = None  # --osc-in [HOST:]PORT: OSC in (memoire/game/osc.py, docs/osc.md)
    osc_out: str | None = None  # --osc-out HOST:PORT: pose, zones and latent out
    quality: str | None = None  # --quality auto|low|high of the picture (None: auto, or the kiosk config's)
    output: str | None = None  # --output: the sound's layout (None: the level's [sound] output, or the kiosk's)


@dataclass
class FrameStats:
    frame_s: deque  # recent frame times (seconds, real time), bounded
    frames: int = 0

    def summary(self) -> tuple[float, float]:
        """(mean, p99) frame time in milliseconds; NaN before the first frame."""
        arr = np.array(self.frame_s) * 1000.0
        if not len(arr):
            return float("nan"), float("nan")
        return float(arr.mean()), float(np.percentile(arr, 99))


def default_audio(game: "Game", gain: float) -> AudioClient:
    """The audio process that ships (memoire/audio/process.py), for ``game``'s level and model."""
    from memoire.audio.process import AudioProcess

    o = game.opts
    return AudioProcess(game.level, game.model_path, record=o.record, mute=o.mute, torch_threads=o.torch_threads,
                        gain=gain, output=o.output)


class Game:
    """A level, a player, the audio engine, a window; ``frame(now_s)`` advances all of them.

    Main thread only. ``window`` may be given (the kiosk keeps one window for its whole session);
    otherwise ``open()`` opens one and ``close()`` closes it. ``make_audio(game, gain)`` makes the
    audio client (memoire/audio/client.py); by default the audio process that ships, and the soak
    harness gives one with a simulated device and clock.
    """

    def __init__(self, opts: PlayOptions, mode: Mode | None = None, *, window=None,
                 make_audio: Callable[["Game", float], AudioClient] | None = None):
        self.born_s = time.perf_counter()  # the session's start: first frame and first sound count from here
        self.opts = opts
        self.level: Level = load_level(opts.level_path, allow_outside=opts.allow_outside_paths)  # LevelError
        self.model_path = default_model(self.level, opts.model_path)
        self.mode = mode if mode is not None else PlayMode(opts)
        self.messages: deque = deque(maxlen=6)  # (text, until perf_counter s)
        self.running = True
        self.keys: dict[str, bool] = {}
        self.stats = FrameStats(deque(maxlen=100_000))
        self.clock = FixedStepClock(physics_step_s, max_frame_catchup_s)
        self.sim_time_s = 0.0
        self.teleport_pending = False  # the next listener update is a jump (crossfaded, not glided)
        self.mode.attach(self)  # may check the level (the kiosk needs a tour): raises UserError
        self.prev = self.state = self.mode.start_pose(self)
        self.world = World(self.level, (self.state.x_m, self.state.y_m))
        self._make_audio = make_audio or default_audio
        self._owns_window = window is None
        self.window = window
        self._mtime = self._level_mtime()
        self._next_reload_check_s = 0.0
        self._first_frame_s: float | None = None  # the loop clock at the first and latest frame
        self._latest_frame_s = 0.0
        self._unix_origin_s = 0.0  # time.time() - loop clock, fixed at the first frame
        self.terrain_trainer = None
        self.engine = None
        self.renderer = None
        self.hud = None
        self.trace = None
        self.osc = None  # memoire/game/osc.py OscBridge: --osc-in/--osc-out, or the kiosk's config
        self.time_to_first_frame_s: float | None = None  # real seconds from born_s to the first frame on screen
        self.time_to_first_sound_s: float | None = None  # ...to the first frame at which the output has played sound
        self.loading: list[tuple[str, float]] = []  # (step, seconds) of open(): the title card's steps
        self.title_pixels: np.ndarray | None = None  # headless: the last title card drawn, as read back
        self._step: tuple[str, float] | None = None  # open()'s step under way, since perf_counter s

    # -- setup ------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Tell the player (or the kiosk's log) something, once."""
        self.mode.say(self, text)

    def show(self, text: str) -> None:
        """Put ``text`` on screen for ``message_s`` seconds (and on stderr)."""
        print(f"memoire: {text}", file=sys.stderr)
        self.messages.append((text, time.perf_counter() + message_s))

    def _level_mtime(self) -> float:
        try:
            return os.stat(self.opts.level_path).st_mtime
        except OSError:
            return 0.0

    def open(self) -> None:
        """Open the window and show the title card (memoire/game/title.py), then, with the card
        saying which: load the model (the audio process's card, its anchors checked), build the
        level's picture, start the sound (the audio process loads the model and plays). Each step
        is one line on the terminal with its seconds."""
        self.check_outputs()
        if self.opts.trace is not None:
            from memoire.game.trace import TraceWriter

            self.trace = TraceWriter.open(self.opts.trace, self.level)  # a bad path: UserError, before anything
        if self.opts.osc_in is not None or self.opts.osc_out is not None:
            from memoire.game.osc import OscBridge

            self.osc = OscBridge.open(self.opts.osc_in, self.opts.osc_out)  # a port in use: UserError
        if self.window is None:
            from memoire.game.window import open_window

            self.window = open_window(self.opts.size_px, headless=self.opts.headless,
                                      fullscreen=self.opts.fullscreen or self.opts.kiosk,
                                      title=f"Memoire - {self.level.name}")
        from memoire.game import title

        card = self._title_card()
        try:
            self._loading_step(card, title.STEP_MODEL)
            self.engine = self._make_audio(self, self.mode.start_gain)
            self._loading_step(card, title.STEP_LEVEL)
            if self.engine.card.rate_assumed:
                self.say(f"{self.model_path.name} does not state its sample rate; assuming "
                         f"{self.engine.card.sample_rate_hz} Hz")
            self._start_terrain()
            from memoire.game.hud import Hud, minimap_scale
            from memoire.render.renderer import Renderer

            self.renderer = Renderer(self.window.ctx, self.level, self.window.size_px,
                                     quality=self.opts.quality or "auto")
            self.hud = Hud(self.level, minimap_scale(self.window.size_px, minimap_px_per_m))
            self._loading_step(card, title.STEP_SOUND)
            s = self.state
            self.engine.set_listener(s.x_m, s.y_m, s.heading_rad)
            self.engine.start()
            self._loading_step(card, None)
        finally:
            if card is not None:
                card.release()
        self._poll_audio_events()
        self.mode.opened(self)

    def _title_card(self):
        """The title card on this window, or None where it cannot be drawn (the game goes on without)."""
        from memoire.game.title import TitleCard

        try:
            return TitleCard(self.window.ctx, self.window.size_px)
        except Exception as e:  # a GL without what the card needs: the card is a nicety
            print(f"memoire: no title card ({e})", file=sys.stderr)
            return None

    def _loading_step(self, card, step: str | None) -> None:
        """The step under way finished (one terminal line, with its seconds); ``step`` starts: on the card."""
        now = time.perf_counter()
        if self._step is not None:
            name, started = self._step
            self.loading.append((name, now - started))
            print(f"memoire: {name} {now - started:.1f} s", file=sys.stderr)
        self._step = (step, now) if step is not None else None
        if card is None or step is None:
            return
        from memoire.game.title import card_rgba

        try:
            card.draw(card_rgba(self.window.size_px, self.loading, step, level_name=self.level.name))
            headless = getattr(self.window, "pg", None) is None
            picture_to = os.environ.get("MEMOIRE_TITLE_PNG")
            if headless or picture_to:
                self.title_pixels = card.read_pixels()  # before the swap: after it the buffer may be undefined
                if picture_to:
                    from PIL import Image

                    Image.fromarray(self.title_pixels).save(picture_to)
            self.window.flip()
        except Exception as e:
            print(f"memoire: the title card failed ({e})", file=sys.stderr)

    def _start_terrain(self) -> None:
        if not self.level.uses_terrain:
            return
        from memoire.terrain.link import start_terrain_training

        self.terrain_trainer = start_terrain_training(self.level, self.engine.card)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> int:
        """Play until the player quits, ``--frames`` is reached, or Ctrl+C / SIGTERM arrive: those
        stop the loop like a quit (the audio process stopped, a recording closed, the summary
        printed); a second Ctrl+C interrupts at once. Returns 0, or 130 after Ctrl+C."""
        signals = _StopOnSignals(self)
        try:
            self.open()
            try:
                while self.running:
                    self.frame(time.perf_counter())
                if self.opts.screenshot is not None and self.opts.frames is None:  # quit by the player
                    self.draw(self.clock.alpha)
                    self.save_screenshot(self.opts.screenshot)
            finally:
                self.close()
        finally:
            signals.restore()
        self.mode.summary(self, self.engine.stats() if self.engine else AudioStats())
        return signals.exit_code

    def frame(self, now_s: float, *, draw: bool = True) -> None:
        """One pass of the loop at time ``now_s`` (the loop's clock: real, or a simulated one).
        Frame times in the statistics are always measured in real time."""
        started = time.perf_counter()
        if self._first_frame_s is None:
            self._first_frame_s = now_s
            self._unix_origin_s = time.time() - now_s
        self._latest_frame_s = now_s
        steps, alpha = self.clock.advance(now_s)
        for event in self.mode.events(self):
            self.handle_event(event)
        for k in range(steps):
            self.update(physics_step_s, pose=k >= steps - drawn_steps)
        self.poll_background(now_s)
        last = self.opts.frames is not None and self.stats.frames + 1 >= self.opts.frames
        drawn = draw and self.mode.draws(self)
        if drawn:
            self.draw(alpha)
            if last and self.opts.screenshot is not None:
                self.save_screenshot(self.opts.screenshot)  # before the swap: after it the buffer may be undefined
            self.window.flip()
        if self.time_to_first_frame_s is None and drawn:
            self.time_to_first_frame_s = time.perf_counter() - self.born_s
        if self.trace is not None and self.mode.traces(self):
            self._trace_row(now_s)
        self.mode.frame_done(self)
        self.stats.frames += 1
        self.stats.frame_s.append(time.perf_counter() - started)
        if last:
            self.running = False

    def _trace_row(self, now_s: float) -> None:
        s = self.state
        # wall_s as Unix time (traces line up with the logs), advancing with the loop's clock
        stopped = self.trace.row(self._unix_origin_s + now_s, self.sim_time_s, s.x_m, s.y_m, s.heading_rad)
        if stopped:
            self.say(f"trace stopped: {stopped}")

    def handle_event(self, event: tuple) -> None:
        """An input event (memoire/game/window.py's tuples): the mode's, or walking, looking, resizing."""
        if self.mode.handle(self, event):
            return
        kind = event[0]
        if kind == "key" and event[1] in MOVE_KEYS:
            self.keys[event[1]] = event[2]
        elif kind == "look" and self.mode.looks(self):
            self.state = looked(self.state, event[1], event[2])
        elif kind == "resize":
            self.renderer.resize(event[1])

    def update(self, dt_s: float, *, pose: bool = True) -> None:
        """One fixed step: the mode moves the player (``pose=False``: a step nobody sees, whose
        tour pose need not be computed)."""
        self.prev = self.state
        self.sim_time_s += dt_s
        if self.osc is not None:  # OSC steers while a listener stream arrives, else the mode's step
            self.osc.step(self, dt_s, pose)
        else:
            self.mode.step(self, dt_s, pose)

    def walk(self, dt_s: float) -> None:
        """One step of the player walking by the held keys, against the walls (pymunk)."""
        v = wanted_velocity(self.keys, self.state.heading_rad)
        p = self.world.step(v, dt_s)
        self.state = PlayerState(p.x_m, p.y_m, self.state.heading_rad, self.state.pitch_rad)

    def place(self, state: PlayerState, *, jump: bool = False) -> None:
        """Put the player at ``state`` (a tour's pose). ``jump``: a discontinuity (the tour's
        start again): not interpolated, and the synth crossfades instead of gliding."""
        self.world.teleport((state.x_m, state.y_m))
        self.state = state
        if jump:
            self.prev = state
            self.teleport_pending = True

    def interpolated(self, alpha: float) -> PlayerState:
        return interpolate(self.prev, self.state, alpha)

    def poll_background(self, now_s: float) -> None:
        s = self.state
        self.engine.set_listener(s.x_m, s.y_m, s.heading_rad, teleport=self.teleport_pending)
        self.teleport_pending = False
        self._poll_audio_events()
        if self.time_to_first_sound_s is None and self.engine.stats().frames_played > 0:
            self.time_to_first_sound_s = time.perf_counter() - self.born_s  # the listener's sound has reached the output
        if self.osc is not None:
            self.osc.poll(self, now_s)  # OSC in applied, OSC out sent (memoire/game/osc.py)
        self.mode.background(self, now_s)
        self._poll_terrain()
        if now_s >= self._next_reload_check_s:
            self._next_reload_check_s = now_s + reload_poll_s
            self.check_reload()

    def _poll_audio_events(self) -> None:
        """What the audio process has to say: faults, restarts, no sound device; said once."""
        for event in self.engine.poll_events():
            if event.kind == EVENT_RETRY:  # a device reopen that failed again: for the terminal only
                print(f"memoire: {event.text}", file=sys.stderr)
            else:
                self.say(event.text)

    def _poll_terrain(self) -> None:
        if self.terrain_trainer is None or not self.terrain_trainer.done:
            return
        trainer, self.terrain_trainer = self.terrain_trainer, None
        try:
            grid = trainer.result()  # a TerrainGrid baked over the level, in the terrain's own process
        except UserError as e:
            self.say(f"terrain: {e}")
        except Exception as e:  # a failed training leaves the zone blend playing
            self.say(f"terrain training failed ({e}); playing the zone blend")
        else:
            from memoire.terrain.link import field_picture

            self.engine.set_terrain(grid)
            self.hud.set_terrain(field_picture(grid), self.level)

    def check_reload(self) -> None:
        """The level file changed on disk: load it, hand it to the synth, the physics, the picture;
        a broken file leaves the last good level playing and says why."""
        mtime = self._level_mtime()
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            level = load_level(self.opts.level_path, allow_outside=self.opts.allow_outside_paths)
            model = default_model(level, self.opts.model_path)
            if model != self.model_path:  # the level names another model: crossfade to it
                self.engine.set_model(model)
                self.model_path = model
            self.engine.set_level(level)
        except LevelError as e:
            self.say(f"level not reloaded, the last good one keeps playing:\n{e}")
            return
        except UserError as e:
            self.say(f"level not reloaded, the last good one keeps playing: {e}")
            return
        self.level = level
        x, y = self.state.x_m, self.state.y_m
        if not level.tiles.is_walkable(x, y):  # the player's place became solid: back to the spawn
            x, y = level.spawn_xy
            self.state = self.prev = PlayerState(x, y, self.state.heading_rad, self.state.pitch_rad)
            self.teleport_pending = True
        self.world = World(level, (x, y))
        if self.trace is not None:
            self.trace.set_level(level)
        self.renderer.set_level(level)
        self.hud.set_level(level)
        if self.terrain_trainer is not None:
            self.terrain_trainer.cancel()
            self.terrain_trainer = None
        self._start_terrain()
        self.mode.reloaded(self)
        self.say(f"reloaded {self.opts.level_path}")

    def draw(self, alpha: float) -> None:
        """The 3D view at the interpolated pose, then the mode's overlays (HUD)."""
        from memoire.render.camera import Camera

        s = self.interpolated(alpha)
        cam = Camera(x_m=s.x_m, y_m=s.y_m, heading_rad=s.heading_rad, pitch_rad=s.pitch_rad)
        # time_s: the simulation clock moves the animated props (memoire/render/animated.py)
        self.renderer.draw(cam, show_zones=self.mode.show_zones, time_s=self.sim_time_s)
        for rgba, x, y in self.mode.overlays(self, s, self.window.size_px):
            self.renderer.draw_overlay(rgba, x, y)

    @property
    def wall_s(self) -> float:
        """Loop-clock time from the first frame to the latest (seconds)."""
        return 0.0 if self._first_frame_s is None else self._latest_frame_s - self._first_frame_s

    def screen_messages(self) -> list[str]:
        now = time.perf_counter()
        return [t for t, until in self.messages if until > now]

    def terrain_progress(self) -> float | None:
        t = self.terrain_trainer
        return None if t is None else t.progress.fraction

    def check_outputs(self) -> None:
        """--screenshot, --record, --trace: never one of the files the game reads (the level, its
        clips and terrain, the model, the kiosk config), never a folder, in a folder it can write.
        Raises UserError before anything starts."""
        from memoire.world.files import check_output_path, level_inputs

        o = self.opts
        inputs = level_inputs(self.level, self.model_path)
        if o.config:
            inputs.append(("the kiosk config", Path(o.config)))
        for flag, path in (("--screenshot", o.screenshot), ("--record", o.record), ("--trace", o.trace)):
            if path is not None:  # a recording may go to a device; its failures stop it, not the game
                check_output_path(path, inputs, flag=flag, device_ok=flag == "--record")

    def save_screenshot(self, path: Path) -> None:
        from PIL import Image

        from memoire.world.files import atomic_output, cannot_write

        picture = Image.fromarray(self.renderer.read_pixels())
        try:
            with atomic_output(path) as tmp:
                picture.save(tmp, format="PNG")
        except OSError as e:
            raise cannot_write(path, e) from None
        print(f"memoire: screenshot saved to {path}", file=sys.stderr)

    def close(self) -> None:
        if self.osc is not None:
            self.osc.close()  # its counts stay readable for the session line
        if self.terrain_trainer is not None:
            self.terrain_trainer.cancel()
            self.terrain_trainer = None
        if self.engine is not None:
            self.engine.close()
        if self.trace is not None:
            self.trace.close()
            self.trace = None
        if self.renderer is not None:
            self.renderer.release()
            self.renderer = None
        if self.window is not None and self._owns_window:
            self.window.close()


class _StopOnSignals:
    """While the game runs (main thread only): SIGINT (Ctrl+C) and SIGTERM set ``game.running =
    False``, so the loop ends as a quit does. A second Ctrl+C raises KeyboardInterrupt (a loop that
    does not come round). ``restore`` puts the old handlers back."""

    def __init__(self, game: "Game"):
        import signal
        import threading

        self.game = game
        self.signum: int | None = None
        self._old: dict = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except (ValueError, OSError):
                pass

    def _handle(self, signum, frame) -> None:
        import signal

        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self.signum is None:
            self.signum = signum
        self.game.running = False

    @property
    def exit_code(self) -> int:
        import signal

        return 130 if self.signum == signal.SIGINT else 0  # SIGTERM: a stop asked for (systemd), done

    def restore(self) -> None:
        import signal

        for sig, old in self._old.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old.clear()


class Mode:
    """What differs between ways of running the one loop: `memoire play` is ``PlayMode`` (below),
    the festival kiosk ``KioskMode`` (memoire/kiosk/game.py). ``Game.frame`` calls these hooks and
    nothing else that differs; each default does nothing, so a mode fills in only what it changes.
    Main thread only."""

    #: output gain the audio process starts at (the kiosk fades in from silence)
    start_gain = 1.0
    #: the zone hint on the ground (PlayMode toggles it with Z)
    show_zones = False

    def attach(self, game: Game) -> None:
        """The level is loaded (``game.level``); check what the mode needs of it (raise UserError)."""

    def start_pose(self, game: Game) -> PlayerState:
        """Where the player starts."""
        raise NotImplementedError

    def opened(self, game: Game) -> None:
        """Audio, window and renderer are up; the first frame comes next."""

    def events(self, game: Game) -> Iterable[tuple]:
        """This frame's input events (memoire/game/window.py's tuples)."""
        return ()

    def handle(self, game: Game, event: tuple) -> bool:
        """Take ``event`` if it is the mode's (True); walking, looking and resizing are the game's."""
        return False

    def looks(self, game: Game) -> bool:
        """Whether mouse motion turns the view now."""
        return True

    def step(self, game: Game, dt_s: float, pose: bool) -> None:
        """Move the player one fixed step (``game.walk`` or ``game.place``). ``pose`` is False
        for steps whose pose nobody sees (all but the frame's last two)."""
        game.walk(dt_s)

    def background(self, game: Game, now_s: float) -> None:
        """Once a frame after the listener went to the synth (gains, watchers)."""

    def reloaded(self, game: Game) -> None:
        """The level was hot-reloaded (``game.level`` is the new one)."""

    def start_tour(self, game: Game, name: str) -> None:
        """Walk the level's tour ``name`` from its start (OSC /memoire/tour). Raises UserError."""
        raise UserError("this mode walks no tours")

    def draws(self, game: Game) -> bool:
        """Whether this frame is drawn."""
        return True

    def overlays(self, game: Game, player: PlayerState, window_px: tuple[int, int]) -> list:
        """(rgba, x_px, y_px) overlays drawn over the 3D view."""
        return []

    def say(self, game: Game, text: str) -> None:
        """Tell someone ``text`` once (the screen, the log)."""

    def traces(self, game: Game) -> bool:
        """Whether this frame goes into the trace (``game.trace``), when there is one."""
        return True

    def frame_done(self, game: Game) -> None:
        """The frame is over (the kiosk pings its watchdog)."""

    def summary(self, game: Game, audio: AudioStats) -> None:
        """The session is over: report it (``audio``: the audio's counts over every restart)."""


class PlayMode(Mode):
    """`memoire play`: the visitor walks by keys and mouse, or a tour walks itself (--tour);
    messages on screen, the minimap and the zone hint on keys."""

    def __init__(self, opts: PlayOptions):
        self.opts = opts
        self.tour_plan = None
        self.mouse_captured = False
        self.show_minimap = True
        self.show_zones = False
        self._tour_lap = 0
        self.tour_name = opts.tour
        self._tour_origin_s = 0.0  # sim time at the tour's time 0 (OSC /memoire/tour starts one anew)
        self.moved = False  # the visitor pressed a key or clicked: the controls hint is gone
        self.zone_line: str | None = None  # with Z: the zone the player stands in, "pigeons (0.85)"
        self._blend = None  # the level's zone weights (memoire/world/zones.py), for the zone line

    def attach(self, game: Game) -> None:
        if self.opts.tour:
            from memoire.world.tour_start import tour_start_s

            self.tour_plan = plan_tour(game.level, game.level.tour(self.opts.tour))
            start = tour_start_s(game.level, self.tour_plan, self.opts.tour, start_s=self.opts.start_s,
                                 start_zone=self.opts.start_zone)  # UserError names the zones, the length
            self._tour_origin_s = -start  # sim time 0 is the tour's ``start``

    def start_pose(self, game: Game) -> PlayerState:
        if self.tour_plan is not None:
            return PlayerState(*camera_pose_at(self.tour_plan, -self._tour_origin_s))
        x, y = game.level.spawn_xy
        return PlayerState(x, y, math.radians(game.level.spawn_facing_deg))

    def events(self, game: Game):
        return game.window.events()

    def handle(self, game: Game, event: tuple) -> bool:
        kind = event[0]
        if (kind == "key" and event[2]) or kind == "click":
            self.moved = True
        if kind == "quit":
            game.running = False
        elif kind == "key" and event[2] and event[1] == "escape":
            if self.mouse_captured:
                self.mouse_captured = False
                game.window.capture_mouse(False)
            else:
                game.running = False
        elif kind == "key" and event[2] and event[1] == "minimap":
            self.show_minimap = not self.show_minimap
        elif kind == "key" and event[2] and event[1] == "zones":
            self.show_zones = not self.show_zones
        elif kind == "key" and event[2] and event[1] == "fullscreen":
            game.window.toggle_fullscreen()
        elif kind == "key" and event[2] and event[1] == "help":
            game.say("WASD/arrows walk, Shift run, mouse look, M minimap, Z zones, F11 fullscreen, Esc mouse/quit")
        elif kind == "click" and not self.mouse_captured:
            self.mouse_captured = True
            game.window.capture_mouse(True)
        else:
            return False
        return True

    def looks(self, game: Game) -> bool:
        return self.mouse_captured

    def step(self, game: Game, dt_s: float, pose: bool) -> None:
        plan = self.tour_plan
        if plan is None:
            game.walk(dt_s)
            return
        t_s = game.sim_time_s - self._tour_origin_s
        lap = int(t_s // plan.duration_s)
        jump = lap != self._tour_lap  # back from the end to the start: a jump, crossfaded
        self._tour_lap = lap
        if pose or jump:
            game.place(PlayerState(*camera_pose_at(plan, t_s % plan.duration_s)), jump=jump)  # the framed camera

    def reloaded(self, game: Game) -> None:
        self._blend = None
        if self.tour_plan is None:
            return
        try:
            self.tour_plan = plan_tour(game.level, game.level.tour(self.tour_name))
        except UserError as e:
            game.say(f"the tour keeps its old path: {e}")

    def start_tour(self, game: Game, name: str) -> None:
        self.tour_plan = plan_tour(game.level, game.level.tour(name))
        self.tour_name = name
        self._tour_origin_s, self._tour_lap = game.sim_time_s, 0
        game.place(PlayerState(*camera_pose_at(self.tour_plan, 0.0)), jump=True)
        game.say(f"walking the tour '{name}'")

    def say(self, game: Game, text: str) -> None:
        game.show(text)

    #: shown until the visitor's first key or click (not while a tour walks)
    controls_hint = "click to look, WASD to walk"

    def overlays(self, game: Game, player: PlayerState, window_px: tuple[int, int]):
        self.zone_line = self.zone_text(game, player) if self.show_zones else None
        hint = None if self.moved or self.tour_plan is not None else [(self.controls_hint, 1.0)]
        return game.hud.overlays(player, window_px, show_minimap=self.show_minimap, messages=game.screen_messages(),
                                 terrain_progress=game.terrain_progress(), zone_line=self.zone_line, hint=hint)

    def zone_text(self, game: Game, player: PlayerState) -> str:
        """The zone whose sound is loudest where ``player`` stands, with its weight: "pigeons (0.85)"."""
        from memoire.world.zones import dominant_zone, weight_blend

        if self._blend is None:
            self._blend = weight_blend(game.level)
        name, weight = dominant_zone(self._blend, player.x_m, player.y_m)
        if not name:
            rest = game.level.sound.rest
            return "no zone here" + (f" (the rest: {rest.class_name})" if getattr(rest, "class_name", None) else "")
        return f"{name} ({weight:.2f})"

    def summary(self, game: Game, audio: AudioStats) -> None:
        print(f"memoire: session: {session_line(game, audio)}")


def _figure(value: float | None, fmt: str, scale: float = 1.0) -> str:
    """``value`` (times ``scale``) formatted, or "n/a" where there is none: None, NaN or infinite."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return format(value * scale, fmt)


def session_line(game: Game, audio: AudioStats) -> str:
    """The session in one line: time to the first frame and to the first sound (from the start),
    frames and frame times, simulated against loop time, and the audio's counts (accumulated over
    every restart). Every figure with no samples reads "n/a", never "nan"."""
    mean_ms, p99_ms = game.stats.summary()
    frame = "n/a" if not math.isfinite(mean_ms) else f"mean {mean_ms:.1f} ms p99 {_figure(p99_ms, '.1f')} ms"
    rtf = _figure(audio.synth_rtf, ".1f")
    rtf = rtf if rtf == "n/a" else f"{rtf}x real time"
    latency = _figure(audio.latency_s, ".0f", 1000.0)
    p95 = _figure(audio.latency_p95_s, ".0f", 1000.0)
    latency = latency if latency == "n/a" else f"{latency} ms (p95 {p95}{'' if p95 == 'n/a' else ' ms'})"
    first_frame = _figure(game.time_to_first_frame_s, ".1f")
    first_sound = _figure(game.time_to_first_sound_s, ".1f")
    starts = (f"first frame {first_frame}{'' if first_frame == 'n/a' else ' s'}, "
              f"first sound {first_sound}{'' if first_sound == 'n/a' else ' s'}")
    restarts = f", synth restarts {audio.synth_restarts}, audio process restarts {audio.process_restarts}"
    voices = f", voices {audio.voices_real} real / {audio.voices_virtual} virtual"
    return (f"{starts}, {game.stats.frames} frames, frame time {frame}, {_figure(game.sim_time_s, '.1f')} s "
            f"simulated in {_figure(game.wall_s, '.1f')} s, audio underruns {audio.underruns} "
            f"(device {audio.device_underflows}){restarts}{voices}, synth {rtf}, motion-to-sound latency {latency} "
            f"({audio.output}){game.osc.summary() if game.osc is not None else ''}")


def check_play_options(opts: PlayOptions) -> None:
    """The play options a user typed, checked before anything starts. Raises UserError."""
    if opts.frames is not None and opts.frames < 1:
        raise UserError(f"--frames must be at least 1, got {opts.frames}")
    if opts.start_s is not None or opts.start_zone is not None:
        flag = "--start" if opts.start_s is not None else "--start-zone"
        if opts.kiosk:
            raise UserError(f"{flag} starts a --tour; the kiosk's attract tour starts at its start")
        if not opts.tour:
            raise UserError(f"{flag} starts a tour: give --tour NAME too (e.g. --tour gallery)")
    if opts.screenshot is not None and opts.screenshot.suffix.lower() != ".png":
        raise UserError(f"--screenshot {opts.screenshot}: give a .png file")
    if opts.record is not None and opts.record.suffix.lower() not in (".wav", ".flac"):
        raise UserError(f"--record {opts.record}: give a .wav or .flac file")
    if opts.trace is not None and opts.trace.suffix.lower() != ".csv":
        raise UserError(f"--trace {opts.trace}: give a .csv file")
    if opts.osc_in is not None or opts.osc_out is not None:
        from memoire.game.osc import check_osc_options

        check_osc_options(opts.osc_in, opts.osc_out)


def run_game(opts: PlayOptions) -> int:
    """`memoire play`: check the options, play until the player quits."""
    check_play_options(opts)
    return Game(opts).run()
