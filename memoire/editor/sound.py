"""Hearing the sound at the mouse: the game's own audio process, started and stopped on demand.

Holding Space (or toggling with L) starts an ``AudioProcess`` (memoire/audio/process.py) for the level being edited, the
same object `memoire play` uses (its synth runs in a child process): the same field, latent
glide, crossfades, spatial voices (each zone's emitters through walls and gates, the rooms'
reverberation: memoire/audio/synth.py) and output. The mouse position is the listener, facing
north (``audition_heading_rad``): what is west of the mouse is heard on the left. An edit sends the new level
with ``set_level`` (crossfaded, as a hot reload in the game); releasing Space ramps the engine's
volume to 0 and keeps it running, so the next press sounds at once (the listener jumps to the
mouse, crossfaded).

Starting an engine spawns its process and loads the model: about 2.5 s on this project's
2-core test machine with the tiny test model, so the first press starts it on a helper thread
and the editor keeps drawing; ``state`` says where it is. Main thread calls only.
"""

from __future__ import annotations

import threading
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.level import Level

# The listener at the mouse faces up the map: compass 0 = north = -y (docs/architecture.md,
# Coordinates), so left and right in the ears are west and east on the screen.
audition_heading_rad = 0.0


class SoundPreview:
    def __init__(self, model_path: Path | None, *, mute: bool = False):
        self.model_path = model_path
        self.mute = mute
        self.engine = None  # set by the opener thread; read on the main thread
        self.state = "off"  # off | starting | on | paused | failed
        self.message = ""
        self._want_on = False
        self._pending_level: Level | None = None
        self._pending_terrain = None
        self._listener: tuple[float, float] | None = None
        self._opener: threading.Thread | None = None
        self._closers: list[threading.Thread] = []
        self._fresh = False
        self._closing = False  # True only when the editor exits: then the engine really closes

    @property
    def available(self) -> bool:
        return self.model_path is not None and Path(self.model_path).exists()

    def start(self, level: Level) -> None:
        """Start hearing ``level`` (no-op while already on or starting)."""
        self._want_on = True
        self._pending_level = level
        if self.state == "paused" and self.engine is not None:
            self.engine.set_gain(1.0)
            self._fresh = True  # jump to the mouse, crossfaded: no glide from where it was left
            self.state = "on"
            return
        if self.state in ("on", "starting"):
            return
        if not self.available:
            self.state = "failed"
            self.message = f"no sound: model file {self.model_path} not found"
            return
        self.state = "starting"
        self._opener = threading.Thread(target=self._open, args=(level,), name="editor-sound-open", daemon=True)
        self._opener.start()

    def _open(self, level: Level) -> None:
        from memoire.audio.process import AudioProcess

        try:
            engine = AudioProcess(level, Path(self.model_path), mute=self.mute)
            engine.start()
            said = [e.text for e in engine.poll_events() if e.kind != "retry"]
            if not engine.stats().alive:
                self.message = "no sound: " + ("; ".join(said) or "the audio process stopped")
                self.state = "failed"
                return
        except UserError as e:
            self.message = f"no sound: {e}"
            self.state = "failed"
            return
        except Exception as e:  # a device or model failure must not take the editor down
            self.message = f"no sound: {type(e).__name__}: {e}"
            self.state = "failed"
            return
        self.message = "; ".join(said)
        self._fresh = True  # the first listener jumps there (crossfaded), no glide from the spawn
        self.engine = engine
        self.state = "on"

    def stop(self) -> None:
        """Stop hearing: the volume ramps to 0, the engine keeps running for the next press."""
        self._want_on = False
        self._closing = False

    def set_level(self, level: Level) -> None:
        """A new version of the level: crossfaded to while on."""
        self._pending_level = level

    def set_terrain(self, grid, level: Level) -> None:
        self._pending_terrain = (grid, level)

    def follow(self, x_m: float, y_m: float) -> None:
        self._listener = (x_m, y_m)

    def update(self) -> None:
        """Once per frame on the main thread: hand over the level, terrain and listener; close when
        no longer wanted."""
        engine = self.engine
        if engine is None:
            if self.state == "failed" and self._want_on is False:
                self.state = "off"
            return
        if not self._want_on and self._closing:
            self.engine = None
            self.state = "off"
            closer = threading.Thread(target=engine.close, name="editor-sound-close", daemon=True)
            closer.start()
            self._closers = [c for c in self._closers if c.is_alive()] + [closer]
            return
        if not self._want_on:
            if self.state != "paused":
                engine.set_gain(0.0)
                self.state = "paused"
            return
        said = [e.text for e in engine.poll_events() if e.kind != "retry"]
        if said:
            self.message = "; ".join(said)
        if self._pending_level is not None and self._pending_level is not engine.level:
            level, self._pending_level = self._pending_level, None
            try:
                engine.set_level(level)
            except UserError as e:
                self.message = f"still playing the last good version: {e}"
        if self._pending_terrain is not None:
            grid, level = self._pending_terrain
            self._pending_terrain = None
            engine.set_terrain(grid)
        if self._listener is not None:
            x, y = self._listener
            self._listener = None
            engine.set_listener(x, y, audition_heading_rad, teleport=self._fresh)
            self._fresh = False

    def latent(self):
        return None if self.engine is None else self.engine.stats().latent

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop and wait for the engine to close (at the editor's exit)."""
        self._want_on = False
        self._closing = True
        if self._opener is not None:
            self._opener.join(timeout_s)
        self.update()
        for c in self._closers:
            c.join(timeout_s)
