"""The audio engine as the game and the editor see it: one object, a few calls.

    engine = AudioEngine(level, model_path, record=..., mute=...)
    engine.start()
    engine.set_listener(x, y, heading)      # every frame, main thread; latest value wins
    engine.set_level(level)                 # hot reload: crossfades to the new field
    engine.poll_messages()                  # what the audio side has to say (no sound, errors)
    engine.close(); engine.summary()

``AudioEngine`` runs the synth thread and the sound device in a child process. Reason: Python
has one interpreter lock per process, and the renderer (moderngl on a software rasteriser) holds
it for a whole frame, tens to hundreds of milliseconds; in one process the audio callback and the
synth would stall with it and the device would underrun. In its own process the synth keeps
its own lock, and a crash there cannot take the picture down.

Across the process boundary only snapshots travel: the listener pose through a small shared
array written by the game alone (a sequence lock: odd while writing), statistics through another
shared array written by the child alone, and commands (new level field, terrain, stop) through a
queue. ``LocalEngine`` is the same engine in the calling process (used inside the child, and by
code that wants direct access).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import queue
import time
from pathlib import Path

import numpy as np

from memoire.world.field import LatentField, build_zone_blend, field_mix
from memoire.world.card import ModelCard
from memoire.audio.model import NeuralDecoder, inspect_model
from memoire.audio.output import open_output
from memoire.audio.ring import Ring
from memoire.audio.synth import Listener, SynthCore, SynthSettings, SynthThread, output_channels
from memoire.world.errors import UserError
from memoire.world.level import Level

# Queue depth: three latent frames (3 x 2048 = 6144 samples, 139 ms at 44.1 kHz) keep the
# device fed through one slow decode while keeping motion-to-sound latency near 0.2 s.
target_fill_latent_frames = 3
ring_capacity_latent_frames = 12  # room for the queue above a device buffer of up to ~0.4 s


def target_fill_for(device_latency_s: float, info: ModelCard) -> int:
    """Frames the synth keeps queued: at least ``target_fill_latent_frames``, and always more than
    the device's own buffer plus one callback block. PortAudio refills the device buffer in a burst
    of callbacks (at start, after an xrun): a queue shorter than that buffer empties in the burst,
    which the test on PulseAudio's null sink measured as underruns with a 0.2 s buffer and a
    139 ms queue (the 0.05 s default needs the 3 frames anyway)."""
    from memoire.audio.output import callback_block_frames

    device_frames = device_latency_s * info.sample_rate_hz + callback_block_frames
    frames = max(target_fill_latent_frames, math.ceil(device_frames / info.hop_samples) + 1)
    return frames * info.hop_samples


def settings_for(level: Level, base: SynthSettings = SynthSettings()) -> SynthSettings:
    return dataclasses.replace(base, gain_db=level.sound.gain_db)


class LocalEngine:
    """The engine in this process: model, field, ring, output and synth thread."""

    def __init__(self, level: Level, model_path: Path, *, record: Path | None = None, mute: bool = False,
                 torch_threads: int = 1, device: int | str | None = None,
                 settings: SynthSettings | None = None, info: ModelCard | None = None):
        self.info: ModelCard = info or inspect_model(model_path)
        self.model_path = Path(model_path)
        self.level = level
        self._field_version = 0
        self.field = LatentField(build_zone_blend(level, self.info), version=0)
        self.settings = settings or settings_for(level)
        hop = self.info.hop_samples
        self.ring = Ring(ring_capacity_latent_frames * hop, output_channels)
        self._seq = 0
        self._teleport = 0
        start = Listener(*level.spawn_xy)
        self.core = SynthCore(lambda: NeuralDecoder(self.model_path, self.info), self.info, self.field,
                              self.settings, start)
        self.output, self.silent_reason = open_output(self.ring, self.info.sample_rate_hz, device, enabled=not mute)
        self.thread = SynthThread(self.core, self.ring, target_fill_frames=target_fill_for(self.output.latency_s,
                                                                                           self.info),
                                  torch_threads=torch_threads, record_path=record,
                                  played=lambda: self.ring.read_index,
                                  device_latency_s=lambda: self.output.latency_s)
        self.thread.set_listener(start)

    def start(self) -> None:
        self.thread.start()

    def set_listener(self, x_m: float, y_m: float, heading_rad: float, *, teleport: bool = False) -> None:
        self._seq += 1
        if teleport:
            self._teleport += 1
        self.thread.set_listener(Listener(x_m, y_m, heading_rad, self._teleport, self._seq, time.perf_counter()))

    def set_level(self, level: Level) -> None:
        """A new version of the level (hot reload): new field, crossfaded. Raises UserError."""
        blend = build_zone_blend(level, self.info)  # may raise: the old level keeps playing
        self._field_version += 1
        self.level = level
        self.field = LatentField(blend, self.field.terrain, self.field.terrain_mix, self._field_version)
        self.thread.set_field(self.field)

    def set_terrain(self, terrain, level: Level | None = None) -> None:
        """Use a terrain grid (pure-numpy sampler) with the level's mix; glides, no crossfade."""
        lv = level or self.level
        self.set_terrain_mix(terrain, field_mix(lv))

    def set_volume(self, volume: float) -> None:
        self.core.set_volume(volume)

    def set_terrain_mix(self, terrain, mix: float) -> None:
        self.field = self.field.with_terrain(terrain, mix)
        self.thread.set_field(self.field)

    def set_model(self, model_path: Path) -> None:
        """Switch to another model file, crossfaded; loads on a helper thread so the sound goes on.

        Raises UserError at once when the file lacks the interface or the level's anchors do not
        fit it; the old model keeps playing then.
        """
        import threading

        info = inspect_model(model_path)
        if info.sample_rate_hz != self.info.sample_rate_hz:
            raise UserError(f"{model_path} runs at {info.sample_rate_hz} Hz but the sound device was opened at "
                            f"{self.info.sample_rate_hz} Hz; restart the game to use it")
        blend = build_zone_blend(self.level, info)
        self._field_version += 1
        field_ = LatentField(blend, version=self._field_version)

        def load() -> None:
            first, second = NeuralDecoder(model_path, info), NeuralDecoder(model_path, info)
            first.warm_up()
            second.warm_up()
            self.core.set_model(info, first, second, field_)

        self.model_path = Path(model_path)
        self.info = info
        self.field = field_
        threading.Thread(target=load, name="memoire-model-loader", daemon=True).start()

    @property
    def underruns(self) -> int:
        return self.ring.underruns

    def latent(self) -> np.ndarray:
        return self.core.last_latent

    def close(self) -> None:
        # The output first: with the synth stopped first, the callback would go on reading an
        # empty ring until the stream closed, and count those blocks as underruns.
        self.output.close()
        self.thread.stop()

    def summary(self) -> dict:
        return {
            "underruns": self.ring.underruns,
            "device_underflows": self.output.status_flags,
            "synth_rtf": self.core.stats.realtime_factor,
            "latency_s": self.thread.latency.mean_s,
            "output": self.output.name,
        }


# Shared listener array: [seq lock, x_m, y_m, heading_rad, teleport, seq, stamp_s]
_L_LOCK, _L_X, _L_Y, _L_H, _L_TELEPORT, _L_SEQ, _L_STAMP, _L_SIZE = range(8)
# Shared statistics array, written by the child only; the latent follows from _S_LATENT.
(_S_HEARTBEAT, _S_UNDERRUNS, _S_DEVICE, _S_PLAYED, _S_RTF, _S_LATENCY, _S_CROSSFADES, _S_READY,
 _S_LATENT) = range(9)
# Once the audio process runs, the calling process (the game: rendering, physics) lowers its own
# priority by this many nice steps, so that on a busy 2-core machine the scheduler serves the
# audio first: CFS weights differ by ~1.25x per step, so 5 steps give the audio ~3x the share.
# (Raising the audio's priority instead would need privileges a festival user does not have.)
game_nice_increment = 5
# The child polls its command queue and publishes statistics at 100 Hz.
child_poll_s = 0.01
# A child that has not started within this time (model load, torch import) is reported.
child_start_timeout_s = 60.0


def _child_main(level: Level, model_path: Path, options: dict, listener, stats, commands, events) -> None:
    """The audio process: runs a LocalEngine until told to stop or the parent goes away."""
    parent = os.getppid()
    supervise = options.pop("supervise", False)
    start_gain = options.pop("gain", 1.0)
    try:
        engine = LocalEngine(level, model_path, **options)
    except BaseException as e:  # reported to the game, which shows it; the game plays on silently
        events.put(("error", f"audio engine failed to start: {e}"))
        return
    if engine.silent_reason:
        events.put(("silent", engine.silent_reason))
    # Python's cyclic garbage collector pauses the whole process while it walks every object;
    # with torch loaded a full pass took ~140 ms here, long enough to empty the ring. Freezing
    # what exists now (the model, the level) takes it out of every later pass.
    gc.collect()
    gc.freeze()
    engine.start()
    supervisor = None
    if supervise:  # kiosk: restart a dead or stalled synth, reopen a lost device (memoire/audio/supervisor.py)
        from memoire.audio.supervisor import AudioSupervisor

        supervisor = AudioSupervisor(engine, gain=start_gain, want_device=not options.get("mute"),
                                     report=lambda message: events.put(("audio", message)))
    stats[_S_READY] = 1.0
    last_seq = -1.0
    try:
        while True:
            try:
                cmd = commands.get(timeout=child_poll_s)
            except queue.Empty:
                cmd = None
            if cmd is not None:
                if cmd[0] == "stop":
                    break
                if cmd[0] == "level":
                    try:
                        engine.set_level(cmd[1])
                    except Exception as e:
                        events.put(("error", f"level not applied to the sound: {e}"))
                elif cmd[0] == "terrain":
                    engine.set_terrain_mix(cmd[1], cmd[2])
                elif cmd[0] == "volume":
                    engine.core.set_volume(cmd[1])
                elif cmd[0] == "gain" and supervisor is not None:
                    supervisor.set_gain(cmd[1])
                    supervisor.set_ceiling(cmd[2])
                elif cmd[0] == "model":
                    try:
                        engine.set_model(cmd[1])
                    except Exception as e:
                        events.put(("error", f"model not changed: {e}"))
            # the listener, read under the sequence lock (retry while the game is mid-write)
            for _ in range(4):
                lock = listener[_L_LOCK]
                values = listener[:]
                if lock == listener[_L_LOCK] and int(lock) % 2 == 0:
                    break
            if values[_L_SEQ] != last_seq:
                last_seq = values[_L_SEQ]
                engine.thread.set_listener(Listener(values[_L_X], values[_L_Y], values[_L_H],
                                                    int(values[_L_TELEPORT]), int(values[_L_SEQ]),
                                                    values[_L_STAMP]))
            if supervisor is not None:
                supervisor.poll()
            s = engine.summary()
            stats[_S_UNDERRUNS] = s["underruns"]
            stats[_S_DEVICE] = s["device_underflows"]
            stats[_S_PLAYED] = engine.ring.read_index
            stats[_S_RTF] = s["synth_rtf"] if s["synth_rtf"] != float("inf") else 0.0
            stats[_S_LATENCY] = s["latency_s"]
            stats[_S_CROSSFADES] = engine.core.stats.crossfades
            latent = engine.latent()
            n = min(len(latent), len(stats) - _S_LATENT)  # a model switch may change the size
            stats[_S_LATENT:_S_LATENT + n] = [float(v) for v in latent[:n]]
            stats[_S_HEARTBEAT] = engine.thread.heartbeat_s
            if engine.thread.error is not None and supervisor is None:
                events.put(("error", f"synth stopped: {engine.thread.error!r}"))
                break
            if os.getppid() != parent:  # the game is gone: do not play on alone
                break
    finally:
        engine.close()
        events.put(("closed", engine.summary()))


class AudioEngine:
    """The audio engine in a child process; the same calls as LocalEngine."""

    def __init__(self, level: Level, model_path: Path, *, record: Path | None = None, mute: bool = False,
                 torch_threads: int = 1, device: int | str | None = None,
                 settings: SynthSettings | None = None, supervise: bool = False, gain: float = 1.0):
        import multiprocessing as mp

        self.info: ModelCard = inspect_model(model_path)
        build_zone_blend(level, self.info)  # bad anchors are the user's to fix: raise here, in the game
        self.model_path = Path(model_path)
        self.level = level
        ctx = mp.get_context("spawn")  # no fork: the parent holds GL and SDL state
        self._listener = ctx.RawArray("d", _L_SIZE)
        self._stats = ctx.RawArray("d", _S_LATENT + self.info.latent_dim)
        self._commands = ctx.Queue()
        self._events = ctx.Queue()
        self._seq = 0
        self._teleport = 0
        self._final: dict | None = None
        self._reniced = os.getpriority(os.PRIO_PROCESS, 0) >= game_nice_increment  # once per process
        self.silent_reason: str | None = None
        self._pending_messages: list[str] = []
        self._write_listener(*level.spawn_xy, 0.0)
        options = dict(record=record, mute=mute, torch_threads=torch_threads, device=device, settings=settings,
                       info=self.info, supervise=supervise, gain=gain)
        self._proc = ctx.Process(target=_child_main, name="memoire-audio", daemon=True,
                                 args=(level, self.model_path, options, self._listener, self._stats,
                                       self._commands, self._events))

    def start(self, wait: bool = True) -> None:
        """Start the audio process; with ``wait``, until it plays (or says why it cannot)."""
        self._proc.start()
        if not self._reniced:
            try:
                os.nice(game_nice_increment)
            except OSError:
                pass  # not allowed here: the audio keeps the default share
            self._reniced = True
        if not wait:
            return
        deadline = time.perf_counter() + child_start_timeout_s
        while self._stats[_S_READY] == 0.0 and self._proc.is_alive() and time.perf_counter() < deadline:
            time.sleep(0.02)
        self._pending_messages = self.poll_messages()  # kept for the caller's first poll

    def _write_listener(self, x_m: float, y_m: float, heading_rad: float) -> None:
        a = self._listener
        a[_L_LOCK] += 1.0  # odd: writing
        a[_L_X], a[_L_Y], a[_L_H] = x_m, y_m, heading_rad
        a[_L_TELEPORT] = self._teleport
        a[_L_SEQ] = self._seq
        a[_L_STAMP] = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in both processes
        a[_L_LOCK] += 1.0  # even: done

    def set_listener(self, x_m: float, y_m: float, heading_rad: float, *, teleport: bool = False) -> None:
        self._seq += 1
        if teleport:
            self._teleport += 1
        self._write_listener(x_m, y_m, heading_rad)

    def set_level(self, level: Level) -> None:
        """A new version of the level (hot reload). Raises UserError for anchors the model lacks."""
        build_zone_blend(level, self.info)
        self.level = level
        self._commands.put(("level", level))

    def set_terrain(self, terrain, level: Level | None = None) -> None:
        self._commands.put(("terrain", terrain, field_mix(level or self.level)))

    def set_volume(self, volume: float) -> None:
        """Master volume 0..1 (ramped, no click): 0 keeps the engine running, silent, ready to
        sound again at once (the editor's hold-to-hear, the kiosk's fades)."""
        self._commands.put(("volume", float(volume)))

    def set_gain(self, gain: float, ceiling: float = 1.0) -> None:
        """Output gain (linear; ``gain`` at start) and peak ceiling, applied in the device callback;
        needs ``supervise``."""
        self._commands.put(("gain", float(gain), float(ceiling)))

    @property
    def heartbeat_s(self) -> float:
        """time.perf_counter() of the synth thread's last loop in the audio process (0 before start)."""
        return float(self._stats[_S_HEARTBEAT])

    def set_model(self, model_path: Path) -> None:
        """Switch to another model file, crossfaded. Raises UserError if it cannot play this level."""
        info = inspect_model(model_path)
        build_zone_blend(self.level, info)
        self.info = info
        self.model_path = Path(model_path)
        self._commands.put(("model", self.model_path))

    def poll_messages(self) -> list[str]:
        """Messages from the audio process since the last call (say them once)."""
        out, self._pending_messages = self._pending_messages, []
        while True:
            try:
                kind, payload = self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            if kind == "closed":
                self._final = payload
            elif kind == "silent":
                self.silent_reason = payload
                out.append(payload)
            else:
                out.append(payload)
        return out

    @property
    def alive(self) -> bool:
        return self._proc.is_alive()

    @property
    def underruns(self) -> int:
        return int(self._stats[_S_UNDERRUNS])

    @property
    def device_underflows(self) -> int:
        return int(self._stats[_S_DEVICE])

    @property
    def frames_played(self) -> int:
        return int(self._stats[_S_PLAYED])

    @property
    def crossfades(self) -> int:
        return int(self._stats[_S_CROSSFADES])

    def latent(self) -> np.ndarray:
        return np.array(self._stats[_S_LATENT:], dtype=np.float32)

    def close(self) -> None:
        if self._proc.is_alive():
            self._commands.put(("stop",))
            deadline = time.perf_counter() + 5.0
            while self._final is None and self._proc.is_alive() and time.perf_counter() < deadline:
                self.poll_messages()
                time.sleep(0.01)
            self._proc.join(timeout=2.0)
            if self._proc.is_alive():
                self._proc.terminate()
        self.poll_messages()

    def summary(self) -> dict:
        if self._final is not None:
            return dict(self._final)
        return {"underruns": self.underruns, "device_underflows": self.device_underflows,
                "synth_rtf": self._stats[_S_RTF], "latency_s": self._stats[_S_LATENCY], "output": "audio process"}
