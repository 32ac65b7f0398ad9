"""The audio in one process: ``LocalEngine`` (model, field, ring, synth thread, output, gain stage).

It runs inside the audio child process (memoire/audio/process.py ``AudioProcess``), under the
supervisor (memoire/audio/supervisor.py), which works it through the public methods below only:
``synth_state`` / ``stop_synth`` / ``replace_synth`` for the synth thread, ``check_output`` /
``replace_output`` for the device, ``set_output_gain`` / ``set_ceiling`` / ``cut_output`` for the
gain stage. Nothing outside this class replaces its ring, core, thread or output.

Threads (all inside the audio process):
- the control loop (the process's main thread) calls every method here;
- the synth thread (``SynthThread``) is the only writer of the ring and of the core;
- the consumer (PortAudio's callback thread, or the silent clock's thread) is the only reader
  of the ring and the only writer of the gain stage's ``current`` value.

Statistics (``counts()``) are accumulated over synth restarts and output swaps: a replaced ring
adds its underruns, a replaced core its decode time, a replaced output its frames, so nothing a
restart retires is lost. memoire/audio/process.py adds them up over process restarts.

This module imports no torch at module level (the decoders are loaded in the methods that need
them), so ``from memoire.audio.engine import settings_for`` is cheap anywhere.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from memoire.audio.faults import ModelFault
from memoire.audio.output import ClockOutput, MasterGain, callback_block_frames, default_ceiling
from memoire.audio.relay import open_output
from memoire.audio.ring import Ring
from memoire.audio.scene import RoomIrs, level_acoustics
from memoire.audio.synth import Listener, SynthCore, SynthSettings, SynthThread, latency_bins
from memoire.world.card import ModelCard
from memoire.world.errors import UserError
from memoire.world.field import FieldControls, field_mix, level_field
from memoire.world.level import Level

# Queue depth without just-in-time decoding (``just_in_time=False``, MEMOIRE_AUDIO_JIT=0): three
# latent frames (3 x 2048 = 6144 samples, 139 ms at 44.1 kHz) keep the device fed through one
# slow decode; motion-to-sound latency was 162 ms so. The default since issue "Play it live" is
# the just-in-time queue (memoire/audio/synth.py LeadSizer), sized from what the decode measures.
target_fill_latent_frames = 3
ring_capacity_latent_frames = 12  # room for the queue above a device buffer of up to ~0.4 s

# ``factory(ring, sample_rate_hz, gain) -> output``: opens an output reading ``ring`` through the
# gain stage ``gain``; raises when it cannot (a device absent).
OutputFactory = Callable[[Ring, int, MasterGain], object]


def target_fill_for(device_latency_s: float, info: ModelCard) -> int:
    """Frames the synth keeps queued: at least ``target_fill_latent_frames``, and always more than
    the device's own buffer plus one callback block. PortAudio refills the device buffer in a burst
    of callbacks (at start, after an xrun): a queue shorter than that buffer empties in the burst,
    which the test on PulseAudio's null sink measured as underruns with a 0.2 s buffer and a
    139 ms queue (the 0.05 s default needs the 3 frames anyway)."""
    device_frames = device_latency_s * info.sample_rate_hz + callback_block_frames
    frames = max(target_fill_latent_frames, math.ceil(device_frames / info.hop_samples) + 1)
    return frames * info.hop_samples


def prime_frames_for(device_latency_s: float, device_block: int, info: ModelCard) -> int:
    """What the just-in-time synth queues before playback counts as started: one latent frame more
    than the device's buffer plus one callback block (PortAudio fills that buffer in a burst of
    callbacks at start and after an xrun). From then on the queue falls to the lead."""
    return int(info.hop_samples + math.ceil(device_latency_s * info.sample_rate_hz) + device_block)


def preload_model_library() -> None:
    """Import torch and the decoder now (the audio process does, to freeze their objects out of the
    garbage collector before the device stream runs: memoire/audio/process.py)."""
    import memoire.audio.model  # noqa: F401


def _env_flag(name: str) -> bool:
    import os

    return os.environ.get(name, "1").strip().lower() not in ("0", "off", "no", "false")


def settings_for(level: Level, base: SynthSettings = SynthSettings(), output: str | None = None) -> SynthSettings:
    """The synth's settings for a level: its makeup gain, voice budget and output layout
    (``output``, from --output or the kiosk config, overrides the level's)."""
    return dataclasses.replace(base, gain_db=level.sound.gain_db, voices=level.spatial.voices,
                               output=output or level.spatial.output)


def device_layout(layout: str, device: int | str | None) -> tuple[str, str | None]:
    """The layout to play on ``device``: ``layout`` when the device has the channels for it, else
    stereo with one sentence saying why (the device's channel count, the layouts that fit). A
    device that cannot be asked (no PortAudio, none there) keeps ``layout``: opening it says why."""
    from memoire.audio.scene import layouts_that_fit
    from memoire.audio.spatial import layout_channels

    want = layout_channels(layout)
    if want <= 2:
        return layout, None
    try:
        import sounddevice as sd

        info = sd.query_devices(device, "output")
        have = int(info["max_output_channels"])
        name = str(info["name"])
    except Exception:
        return layout, None
    if have >= want:
        return layout, None
    fit = ", ".join(layouts_that_fit(have)) or "none"
    return "stereo", (f"the sound device '{name}' has {have} output channel{'s' if have != 1 else ''}; the layout "
                      f"'{layout}' needs {want} (layouts that fit: {fit}): playing stereo")


@dataclass(frozen=True)
class SynthState:
    alive: bool
    error: BaseException | None
    heartbeat_s: float  # time.perf_counter() of the synth thread's last loop
    fault: ModelFault | None = None  # the model failed; the thread plays silence (memoire/audio/faults.py)
    slow_rtf: float | None = None  # the decode's real-time factor, once it was below 1 for a while


class _Closed:
    """Stands for an output between close and reopen (keeps ``name`` and ``latency_s`` readable)."""

    def __init__(self, old):
        self.name = getattr(old, "name", "output")
        self.latency_s = 0.0
        self.frames_played = 0
        self.status_flags = 0
        self.failed = "closed"
        self.ring = getattr(old, "ring", None)

    def check(self) -> str | None:
        return self.failed

    def close(self) -> None:
        pass


class LocalEngine:
    """The engine in this process. Every method: the control loop's thread."""

    def __init__(self, level: Level, model_path: Path, *, card: ModelCard | None = None,
                 record: Path | None = None, mute: bool = False, torch_threads: int = 1,
                 device: int | str | None = None, settings: SynthSettings | None = None,
                 gain: float = 1.0, ceiling: float = default_ceiling,
                 open_device: OutputFactory | None = None, open_fallback: OutputFactory | None = None,
                 decode_ahead: bool = False, just_in_time: bool | None = None, realtime: bool | None = None,
                 output: str | None = None):
        """``open_device``/``open_fallback``: output factories (the soak's simulated device); by
        default the sound device (PortAudio) and the silent clock. ``decode_ahead``: keep the ring
        full rather than three frames queued (a simulated device that takes a whole frame's audio
        at once). ``mute``: the silent clock from the start. ``just_in_time``: decode each frame
        as late as it safely can (memoire/audio/synth.py ``LeadSizer``) rather than keep
        ``target_fill_latent_frames`` queued; ``realtime``: the synth and the device callback at
        real-time priority where allowed (memoire/audio/priority.py). Both default to on, unless
        the environment says ``MEMOIRE_AUDIO_JIT=0`` / ``MEMOIRE_AUDIO_RT=0`` (the latency
        benchmark's levers, tools/bench/latency.py). ``output``: the layout instead of the level's
        (the voice budget and the layout are the session's: a reloaded level keeps them)."""
        from memoire.audio.model import NeuralDecoder, inspect_model

        self.card: ModelCard = card or inspect_model(model_path)
        self.model_path = Path(model_path)
        self.level = level
        self._field_version = 0
        self.field = level_field(level, self.card)
        self.controls = FieldControls()  # live zone gains and latent override (OSC), kept over reloads
        # the live path's one ceiling is the gain stage after the synth: no limiter in the synth
        self.settings = dataclasses.replace(settings or settings_for(level, output=output), limiter_ceiling=None)
        # a device with fewer channels than the layout: stereo, said once (a warning event)
        self.layout_warning: str | None = None
        if open_device is None and not mute:
            layout, self.layout_warning = device_layout(self.settings.output, device)
            self.settings = dataclasses.replace(self.settings, output=layout)
        self.gain = MasterGain(gain, ceiling)
        self._torch_threads = torch_threads
        self._decode_ahead = decode_ahead
        self._just_in_time = _env_flag("MEMOIRE_AUDIO_JIT") if just_in_time is None else just_in_time
        self._realtime = _env_flag("MEMOIRE_AUDIO_RT") if realtime is None else realtime
        self._listener_source: Callable[[], Listener | None] | None = None
        self._open_fallback = open_fallback or (lambda ring, rate, g: ClockOutput(ring, rate, g))
        self._injected_failure: str | None = None
        # totals retired by restarts and swaps (the live objects' figures are added in counts())
        self._retired = dict(underruns=0, device_underflows=0, frames_played=0, work_s=0.0, audio_s=0.0,
                             crossfades=0, latency_sum_s=0.0, latency_n=0)
        self._retired_hist = np.zeros(latency_bins)
        from memoire.audio.spatial import layout_channels

        # the real device plays the ring from a process of its own (memoire/audio/relay.py): shared
        ring_kind = Ring.shared if open_device is None and not mute else Ring
        self.ring = ring_kind(ring_capacity_latent_frames * self.card.hop_samples, layout_channels(self.settings.output))
        start = Listener(*level.spawn_xy)
        self._listener = start
        self.acoustics = level_acoustics(level)
        # the rooms' IRs: from the cache beside the level, or computed on a thread (dry until then)
        self.rooms = RoomIrs(self.acoustics, level.path, self.card.sample_rate_hz, background=True)
        self._core = SynthCore(lambda: NeuralDecoder(self.model_path, self.card), self.card, self.field,
                               self.settings, start, self.acoustics, self.rooms)
        if open_device is None:
            self._output, self.silent_reason = open_output(self.ring, self.card.sample_rate_hz, device,
                                                           enabled=not mute, gain=self.gain)
        elif mute:
            self._output, self.silent_reason = self._open_fallback(self.ring, self.card.sample_rate_hz,
                                                                   self.gain), "sound is off (--mute)"
        else:
            try:
                self._output, self.silent_reason = open_device(self.ring, self.card.sample_rate_hz, self.gain), None
            except Exception as e:
                self._output = self._open_fallback(self.ring, self.card.sample_rate_hz, self.gain)
                self.silent_reason = f"no sound: no usable output device ({e}); the game runs silently"
        self._thread = self._new_thread(self._core, self.ring, record)

    def _new_thread(self, core: SynthCore, ring: Ring, record: Path | None = None) -> SynthThread:
        if self._decode_ahead:
            fill, jit = ring.capacity, False
        elif self._just_in_time:
            fill, jit = prime_frames_for(self._output.latency_s, self._device_block(), self.card), True
        else:
            fill, jit = target_fill_for(self._output.latency_s, self.card), False
        thread = SynthThread(core, ring, target_fill_frames=fill, torch_threads=self._torch_threads,
                             record_path=record, played=lambda: ring.read_index,
                             device_latency_s=self._played_delay_s, just_in_time=jit,
                             device_block=self._device_block, listener_source=self._listener_source,
                             realtime=self._realtime and not self._decode_ahead)
        thread.set_listener(self._listener)
        return thread

    def _played_delay_s(self) -> float:
        out = self._output
        return float(getattr(out, "played_delay_s", out.latency_s))

    def _device_block(self) -> int:
        return int(getattr(self._output, "block_frames", callback_block_frames))

    def set_listener_source(self, source: Callable[[], Listener | None] | None) -> None:
        """The synth reads the newest pose itself just before each decode (``source``: returns it,
        or None when it has not changed); the control loop's ``set_listener`` still keeps the
        pose a restarted synth starts from. Call before ``start``."""
        self._listener_source = source
        self._thread._listener_source = source

    def boost_callback(self) -> str | None:
        """Raise the device callback's thread to real-time priority once its first call has told
        its thread id (memoire/audio/priority.py). Returns what it got, once per output; None
        otherwise. The control loop calls it every poll."""
        out = self._output
        said = getattr(out, "priority", None)  # the device process raises its own (memoire/audio/relay.py)
        if said is not None:
            if getattr(out, "_boosted", False):
                return None
            out._boosted = True
            return said
        if not self._realtime:
            return None
        tid = getattr(out, "callback_tid", 0)
        if not tid or getattr(out, "_boosted", False):
            return None
        from memoire.audio.priority import raise_priority, sound_server_threads

        out._boosted = True
        for client in sound_server_threads():  # PulseAudio's client thread carries the audio on
            raise_priority(client)
        return raise_priority(tid)

    @property
    def synth_priority(self) -> str:
        """The mix thread's scheduling, and the decode thread's where it has one."""
        t = self._thread
        return t.priority if t.decode_priority is None else f"{t.priority}, decode {t.decode_priority}"

    # -- the game's calls (relayed by the control loop) ---------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def set_listener(self, listener: Listener) -> None:
        self._listener = listener
        self._thread.set_listener(listener)

    def set_level(self, level: Level) -> None:
        """A new version of the level (hot reload): new field, crossfaded. Raises UserError (the old
        level keeps playing). The terrain stays only while the new level still uses one, at the
        new level's mix; otherwise it is dropped (a level switched to ``field = "zones"``)."""
        field_ = level_field(level, self.card, terrain=self.field.terrain,
                             version=self._field_version + 1).with_controls(self.controls)
        self._field_version += 1
        self.level = level
        self.field = field_
        acoustics = level_acoustics(level)
        rooms = RoomIrs(acoustics, level.path, self.card.sample_rate_hz, background=True)
        if rooms.key == self.rooms.key:
            rooms = self.rooms  # the same rooms: the reverb plays on
        self.acoustics, self.rooms = acoustics, rooms
        self._thread.set_field(self.field, self.acoustics, self.rooms)

    def set_terrain(self, terrain) -> None:
        """Use a terrain grid (pure-numpy sampler) with the current level's mix; glides, no crossfade."""
        self.field = self.field.with_terrain(terrain, field_mix(self.level))
        self._thread.set_field(self.field)

    def set_model(self, model_path: Path, card: ModelCard | None = None) -> None:
        """Switch to another model file, crossfaded; loads on a helper thread so the sound goes on.
        Raises UserError at once when the file lacks the interface or the level's anchors do not
        fit it; the old model keeps playing then."""
        from memoire.audio.model import NeuralDecoder, inspect_model

        info = card or inspect_model(model_path)
        if info.sample_rate_hz != self.card.sample_rate_hz:
            raise UserError(f"{model_path} runs at {info.sample_rate_hz} Hz but the sound device was opened at "
                            f"{self.card.sample_rate_hz} Hz; restart the game to use it")
        field_ = level_field(self.level, info, version=self._field_version + 1).with_controls(self.controls)
        self._field_version += 1
        core = self._core

        def load() -> None:
            from memoire.audio.model import BatchDecoder

            try:  # batched for the core's voices, warmed here (not on the synth thread)
                first = BatchDecoder(NeuralDecoder(model_path, info), core.slots)
                second = BatchDecoder(NeuralDecoder(model_path, info), core.slots)
                first.warm_up()
                second.warm_up()
            except ModelFault as e:  # the synth fades out and the supervisor says so (a model fault)
                core.set_model_failed(e)
                return
            core.set_model(info, first, second, field_)

        self.model_path = Path(model_path)
        self.card = info
        self.field = field_
        threading.Thread(target=load, name="memoire-model-loader", daemon=True).start()

    def set_controls(self, controls: FieldControls) -> None:
        """Live controls (per-zone gains, a latent override: memoire/world/field.py), glided."""
        self.controls = controls
        self.field = self.field.with_controls(controls)
        self._thread.set_field(self.field)

    def latent(self) -> np.ndarray:
        return self._core.last_latent

    def close(self) -> None:
        # The output first: with the synth stopped first, the callback would go on reading an
        # empty ring until the stream closed, and count those blocks as underruns.
        self._output.close()
        self._thread.stop()

    # -- the gain stage (the supervisor's) ----------------------------------------------------------

    def set_output_gain(self, gain: float) -> None:
        self.gain.set(gain)

    def set_ceiling(self, ceiling: float) -> None:
        self.gain.ceiling = float(ceiling)

    @property
    def output_gain_target(self) -> float:
        return self.gain.target

    def cut_output(self) -> None:
        """Silence at the consumer's next block (before a restart; the supervisor fades in after)."""
        self.gain.silence()

    # -- the synth thread (the supervisor's) --------------------------------------------------------

    def synth_state(self) -> SynthState:
        t = self._thread
        return SynthState(t.alive, t.error, t.heartbeat_s, t.fault, t.slow_rtf)

    def stop_synth(self) -> None:
        """Ask the synth thread to end, without waiting (a stalled one ends when it wakes)."""
        self._thread.stop(timeout_s=0.0)

    def replace_synth(self) -> None:
        """A fresh core and thread writing a *new* ring (a stalled thread that wakes later writes
        only to the old one); the output reads the new ring from its next block. The new core
        starts at the last pose the game sent (no jump). Decoders of a thread that died are reused
        (no model reload: loading fresh ones grew the soak's RSS by 6.7% for good, glibc keeping
        the old pages); a stalled thread may still be inside decode(), and a model that failed may
        have left its cache poisoned (NaN), so then fresh ones load."""
        from memoire.audio.model import NeuralDecoder

        old_thread, old_core, old_ring = self._thread, self._core, self.ring
        model_path, card = self.model_path, self.card
        reusable = []
        if not old_thread.alive and old_core.info is card and old_thread.fault is None and old_core.fault is None:
            reusable = old_core.decoders()

        def make_decoder():
            return reusable.pop() if reusable else NeuralDecoder(model_path, card)

        core = SynthCore(make_decoder, card, self.field, self.settings, self._listener, self.acoustics, self.rooms)
        ring = (Ring if old_ring.fd is None else Ring.shared)(old_ring.capacity, old_ring.channels)
        self._retire_synth(old_thread, old_core, old_ring)
        self.ring, self._core = ring, core
        self._output.ring = ring
        self._thread = self._new_thread(core, ring)
        self._thread.start()

    def _retire_synth(self, thread: SynthThread, core: SynthCore, ring: Ring) -> None:
        r = self._retired
        r["underruns"] += ring.underruns
        r["work_s"] += core.stats.work_s
        r["audio_s"] += core.stats.audio_s
        r["crossfades"] += core.stats.crossfades
        r["latency_sum_s"] += thread.latency.total_s
        r["latency_n"] += thread.latency.count
        self._retired_hist += thread.latency.hist

    # -- the output (the supervisor's) --------------------------------------------------------------

    def check_output(self) -> str | None:
        """Why the output is not playing (None while it plays)."""
        return self._injected_failure or self._output.check()

    @property
    def output_frames_played(self) -> int:
        return self._output.frames_played

    @property
    def output_name(self) -> str:
        return str(getattr(self._output, "name", "output"))

    @property
    def output_is_fallback(self) -> bool:
        return self._injected_failure is None and isinstance(self._output, ClockOutput)

    def replace_output(self, factory: OutputFactory | None = None) -> None:
        """Close the current output, then open one with ``factory`` (default: the silent one). The
        ring has one reader at a time, so never two outputs at once. Raises what the factory
        raises (the output stays closed then)."""
        old = self._output
        old.close()
        self._retired["frames_played"] += old.frames_played
        self._retired["device_underflows"] += old.status_flags
        self._injected_failure = None
        self._output = _Closed(old)
        self._output = (factory or self._open_fallback)(self.ring, self.card.sample_rate_hz, self.gain)

    # -- fault injection (tests and the soak; memoire/audio/process.py's "fault" command) -----------

    def inject_synth_fault(self, kind: str, seconds: float = 0.0) -> None:
        """The synth's next render raises (``"crash"``) or stalls ``seconds`` (``"stall"``)."""
        self._thread.inject_fault(kind, seconds)

    def inject_output_failure(self, why: str) -> None:
        """The output reports itself failed (as a vanished device does) until it is replaced."""
        self._injected_failure = why

    def wake_synth(self) -> None:
        self._thread.wake()

    # -- statistics -----------------------------------------------------------------------------

    def counts(self) -> dict:
        """Totals since this engine started, over every restart and swap."""
        r = self._retired
        core, thread, out = self._core, self._thread, self._output
        lat = thread.latency
        return dict(
            underruns=r["underruns"] + self.ring.underruns,
            device_underflows=r["device_underflows"] + out.status_flags,
            frames_played=r["frames_played"] + out.frames_played,
            work_s=r["work_s"] + core.stats.work_s,
            audio_s=r["audio_s"] + core.stats.audio_s,
            crossfades=r["crossfades"] + core.stats.crossfades,
            latency_sum_s=r["latency_sum_s"] + lat.total_s,
            latency_n=r["latency_n"] + lat.count,
            heartbeat_s=thread.heartbeat_s,
            lead_frames=thread.lead_frames,
            voices_real=core.stats.voices_real,
            voices_virtual=core.stats.voices_virtual,
        )

    def latency_histogram(self) -> np.ndarray:
        """Motion-to-sound latencies since start, over restarts: counts per 1 ms bin."""
        return self._retired_hist + self._thread.latency.hist
