"""The game: a window, a fixed-step simulation, interpolated rendering, and the synth fed each frame.

``Game.run()`` reads as the loop it is: events, fixed steps of the player and physics, the
listener sent to the synth, draw. pygame is imported here (window, input, text) and in the
editor; moderngl only in memoire/render/.

Controls: mouse look, WASD or arrows to walk, Shift to run, M minimap, Z zone hint, F11
fullscreen, Esc frees the mouse (a second Esc, or closing the window, quits), H help.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from memoire.world.errors import UserError
from memoire.world.level import LevelError, load_level
from memoire.sim.physics import World, physics_step_s
from memoire.world.tour import plan_tour, pose_at

# Preferred human walking speed is about 1.4 m/s (Bohannon 1997, ~1.3-1.5 m/s for adults);
# a light run about 3 m/s.
walk_speed_mps = 1.4
run_speed_mps = 3.0
# Mouse look: 0.15 degrees per pixel, a common FPS default (a 1280 px sweep = 192 degrees).
mouse_deg_per_px = 0.15
max_pitch_deg = 80.0
# Physics runs at a fixed 120 Hz (memoire.sim.physics); a frame may run several steps but never more
# than a quarter second's worth, so a stall does not turn into a burst of catch-up steps.
max_frame_catchup_s = 0.25
# Hot reload: the level file's modification time is checked twice a second.
reload_poll_s = 0.5
# Messages on screen stay this long.
message_s = 6.0
minimap_px_per_m = 4.0


@dataclass(frozen=True)
class PlayOptions:
    level_path: Path
    model_path: Path | None = None
    tour: str | None = None
    frames: int | None = None
    screenshot: Path | None = None
    record: Path | None = None
    headless: bool = False
    mute: bool = False
    size_px: tuple[int, int] = (1280, 720)
    fullscreen: bool = False
    kiosk: bool = False
    config: str | None = None
    torch_threads: int = 1


@dataclass(frozen=True)
class PlayerState:
    x_m: float
    y_m: float
    heading_rad: float
    pitch_rad: float = 0.0


@dataclass
class FrameStats:
    frame_s: deque  # recent frame times (seconds), bounded
    frames: int = 0

    def summary(self) -> tuple[float, float]:
        arr = np.array(self.frame_s) * 1000.0
        if not len(arr):
            return float("nan"), float("nan")
        return float(arr.mean()), float(np.percentile(arr, 99))


def looked(state: PlayerState, dx_px: float, dy_px: float) -> PlayerState:
    """The player's view after a mouse move of (dx, dy) pixels: heading turns, pitch is clamped."""
    h = state.heading_rad + math.radians(dx_px * mouse_deg_per_px)
    p = state.pitch_rad - math.radians(dy_px * mouse_deg_per_px)
    p = max(-math.radians(max_pitch_deg), min(math.radians(max_pitch_deg), p))
    return replace(state, heading_rad=h, pitch_rad=p)


def _wanted_velocity(keys: dict[str, bool], heading_rad: float) -> tuple[float, float]:
    """Velocity (m/s, level axes) from movement keys relative to the heading."""
    fwd = (1 if keys.get("forward") else 0) - (1 if keys.get("back") else 0)
    side = (1 if keys.get("right") else 0) - (1 if keys.get("left") else 0)
    if fwd == 0 and side == 0:
        return 0.0, 0.0
    speed = run_speed_mps if keys.get("run") else walk_speed_mps
    # compass heading: forward (sin h, -cos h), right (cos h, sin h)
    vx = fwd * math.sin(heading_rad) + side * math.cos(heading_rad)
    vy = -fwd * math.cos(heading_rad) + side * math.sin(heading_rad)
    norm = math.hypot(vx, vy)
    return speed * vx / norm, speed * vy / norm


class Game:
    def __init__(self, opts: PlayOptions):
        self.opts = opts
        self.level = load_level(opts.level_path)
        from memoire.world.paths import default_model

        self.model_path = default_model(self.level, opts.model_path)
        self.messages: deque = deque(maxlen=6)  # (text, until_s)
        self.running = True
        self.mouse_captured = False
        self.show_minimap = True
        self.show_zones = False
        self.keys: dict[str, bool] = {}
        self.stats = FrameStats(deque(maxlen=100_000))
        x, y = self.level.spawn_xy
        h = math.radians(self.level.spawn_facing_deg)
        self.prev = self.state = PlayerState(x, y, h)
        self.world = World(self.level, (x, y))
        self.tour_plan = plan_tour(self.level, self.level.tour(opts.tour)) if opts.tour else None
        self.sim_time_s = 0.0
        self._tour_lap = 0
        self._teleport_pending = False
        self._mtime = self._level_mtime()
        self._next_reload_check = 0.0
        self.terrain_trainer = None
        self.engine = None
        self.window = None
        self.renderer = None
        self.hud = None

    # -- setup ------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        print(f"memoire: {text}", file=sys.stderr)
        self.messages.append((text, time.perf_counter() + message_s))

    def _level_mtime(self) -> float:
        try:
            return os.stat(self.opts.level_path).st_mtime
        except OSError:
            return 0.0

    def open(self) -> None:
        from memoire.audio.engine import AudioEngine

        self.engine = AudioEngine(self.level, self.model_path, record=self.opts.record, mute=self.opts.mute,
                                  torch_threads=self.opts.torch_threads, supervise=True)
        if self.engine.info.rate_assumed:
            self.say(f"{self.model_path.name} does not state its sample rate; assuming "
                     f"{self.engine.info.sample_rate_hz} Hz")
        self._start_terrain()
        from memoire.game.window import open_window

        self.window = open_window(self.opts.size_px, headless=self.opts.headless,
                                  fullscreen=self.opts.fullscreen or self.opts.kiosk, title=f"Memoire - {self.level.name}")
        from memoire.render.renderer import Renderer

        self.renderer = Renderer(self.window.ctx, self.level, self.window.size_px)
        from memoire.game.hud import Hud

        self.hud = Hud(self.level, minimap_px_per_m)
        self.engine.set_listener(self.state.x_m, self.state.y_m, self.state.heading_rad)
        self.engine.start()
        for message in self.engine.poll_messages():
            self.say(message)

    def _start_terrain(self) -> None:
        if not self.level.uses_terrain:
            return
        from memoire.terrain.link import start_terrain_training

        self.terrain_trainer = start_terrain_training(self.level, self.engine.info)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> int:
        self.open()
        try:
            last = time.perf_counter()
            accumulator = 0.0
            while self.running:
                now = time.perf_counter()
                frame_dt = min(now - last, max_frame_catchup_s)
                last = now
                accumulator += frame_dt
                self.handle_events()
                while accumulator >= physics_step_s:
                    self.update(physics_step_s)
                    accumulator -= physics_step_s
                self.poll_background(now)
                alpha = accumulator / physics_step_s
                self.draw(alpha, flip=False)
                last = self.opts.frames is not None and self.stats.frames + 1 >= self.opts.frames
                if last and self.opts.screenshot is not None:
                    # read the back buffer before the swap: after it, some drivers leave it undefined
                    self.save_screenshot(self.opts.screenshot)
                self.window.flip()
                self.stats.frames += 1
                self.stats.frame_s.append(time.perf_counter() - now)
                if self.opts.frames is not None and self.stats.frames >= self.opts.frames:
                    self.running = False
            if self.opts.screenshot is not None and self.opts.frames is None:  # quit by the player
                self.draw(accumulator / physics_step_s, flip=False)
                self.save_screenshot(self.opts.screenshot)
        finally:
            self.close()
        self.print_summary()
        return 0

    def handle_events(self) -> None:
        for event in self.window.events():
            kind = event[0]
            if kind == "quit":
                self.running = False
            elif kind == "key":
                _, name, down = event
                if name in ("forward", "back", "left", "right", "run"):
                    self.keys[name] = down
                elif down and name == "escape":
                    if self.mouse_captured:
                        self.mouse_captured = False
                        self.window.capture_mouse(False)
                    else:
                        self.running = False
                elif down and name == "minimap":
                    self.show_minimap = not self.show_minimap
                elif down and name == "zones":
                    self.show_zones = not self.show_zones
                elif down and name == "fullscreen":
                    self.window.toggle_fullscreen()
                elif down and name == "help":
                    self.say("WASD/arrows walk, Shift run, mouse look, M minimap, Z zones, F11 fullscreen, Esc mouse/quit")
            elif kind == "click":
                if not self.mouse_captured:
                    self.mouse_captured = True
                    self.window.capture_mouse(True)
            elif kind == "look" and self.mouse_captured:
                self.state = looked(self.state, event[1], event[2])
            elif kind == "resize":
                self.renderer.resize(event[1])

    def update(self, dt_s: float) -> None:
        """One fixed step: the player (or the tour) moves, physics resolves walls."""
        self.prev = self.state
        self.sim_time_s += dt_s
        if self.tour_plan is not None:
            lap = int(self.sim_time_s // self.tour_plan.duration_s)
            if lap != self._tour_lap:  # back from the end to the start: a jump, crossfaded
                self._tour_lap = lap
                self._teleport_pending = True
            x, y, h = pose_at(self.tour_plan, self.sim_time_s % self.tour_plan.duration_s)
            self.world.teleport((x, y))
            self.state = replace(self.state, x_m=x, y_m=y, heading_rad=h)
            return
        v = _wanted_velocity(self.keys, self.state.heading_rad)
        pose = self.world.step(v, dt_s)
        self.state = replace(self.state, x_m=pose.x_m, y_m=pose.y_m)

    def interpolated(self, alpha: float) -> PlayerState:
        a, b = self.prev, self.state
        dh = math.atan2(math.sin(b.heading_rad - a.heading_rad), math.cos(b.heading_rad - a.heading_rad))
        return PlayerState(a.x_m + (b.x_m - a.x_m) * alpha, a.y_m + (b.y_m - a.y_m) * alpha,
                           a.heading_rad + dh * alpha, a.pitch_rad + (b.pitch_rad - a.pitch_rad) * alpha)

    def poll_background(self, now: float) -> None:
        s = self.state
        self.engine.set_listener(s.x_m, s.y_m, s.heading_rad, teleport=self._teleport_pending)
        self._teleport_pending = False
        for message in self.engine.poll_messages():
            self.say(message)
        if self.terrain_trainer is not None and self.terrain_trainer.done:
            trainer, self.terrain_trainer = self.terrain_trainer, None
            try:
                terrain = trainer.result()
            except UserError as e:
                self.say(f"terrain: {e}")
            except Exception as e:  # a failed training leaves the zone blend playing
                self.say(f"terrain training failed ({e}); playing the zone blend")
            else:
                from memoire.terrain.link import field_picture, grid_of

                grid = grid_of(terrain, self.level)
                self.engine.set_terrain(grid, self.level)
                self.hud.set_terrain(field_picture(grid), self.level)
        if now >= self._next_reload_check:
            self._next_reload_check = now + reload_poll_s
            self.check_reload()

    def check_reload(self) -> None:
        mtime = self._level_mtime()
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            level = load_level(self.opts.level_path)
            from memoire.world.paths import default_model

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
            self.state = self.prev = replace(self.state, x_m=x, y_m=y)
            self._teleport_pending = True
        self.world = World(level, (x, y))
        self.renderer.set_level(level)
        self.hud.set_level(level)
        if self.terrain_trainer is not None:
            self.terrain_trainer.cancel()
            self.terrain_trainer = None
        self._start_terrain()
        self.say(f"reloaded {self.opts.level_path}")

    def draw(self, alpha: float, flip: bool = True) -> None:
        from memoire.render.camera import Camera

        s = self.interpolated(alpha)
        cam = Camera(x_m=s.x_m, y_m=s.y_m, heading_rad=s.heading_rad, pitch_rad=s.pitch_rad)
        self.renderer.draw(cam, show_zones=self.show_zones)
        now = time.perf_counter()
        texts = [t for t, until in self.messages if until > now]
        for rgba, x, y in self.hud.overlays(s, self.window.size_px, show_minimap=self.show_minimap,
                                            messages=texts, terrain_progress=self._terrain_progress()):
            self.renderer.draw_overlay(rgba, x, y)
        if flip:
            self.window.flip()

    def _terrain_progress(self) -> float | None:
        t = self.terrain_trainer
        return None if t is None else t.progress.fraction

    def save_screenshot(self, path: Path) -> None:
        from PIL import Image

        Image.fromarray(self.renderer.read_pixels()).save(path)
        print(f"memoire: screenshot saved to {path}", file=sys.stderr)

    def close(self) -> None:
        if self.terrain_trainer is not None:
            self.terrain_trainer.cancel()
        if self.engine is not None:
            self.engine.close()
        if self.window is not None:
            self.window.close()

    def print_summary(self) -> None:
        mean_ms, p99_ms = self.stats.summary()
        a = self.engine.summary() if self.engine else {}
        lat = a.get("latency_s", float("nan"))
        print(f"memoire: session: {self.stats.frames} frames, frame time mean {mean_ms:.1f} ms p99 {p99_ms:.1f} ms, "
              f"audio underruns {a.get('underruns', 0)} (device {a.get('device_underflows', 0)}), synth {a.get('synth_rtf', float('nan')):.1f}x real time, "
              f"motion-to-sound latency {lat * 1000:.0f} ms ({a.get('output', 'no output')})")


def run_game(opts: PlayOptions) -> int:
    if opts.frames is not None and opts.frames < 1:
        raise UserError(f"--frames must be at least 1, got {opts.frames}")
    if opts.screenshot is not None and opts.screenshot.suffix.lower() != ".png":
        raise UserError(f"--screenshot {opts.screenshot}: give a .png file")
    if opts.record is not None and opts.record.suffix.lower() not in (".wav", ".flac"):
        raise UserError(f"--record {opts.record}: give a .wav or .flac file")
    if opts.kiosk:
        from memoire.kiosk.run import run_kiosk

        return run_kiosk(opts)
    return Game(opts).run()
