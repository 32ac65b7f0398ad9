"""The synth: listener position -> voices' latents -> one batched streaming decode -> the layout.

``SynthCore`` is deterministic and thread-agnostic: each ``render()`` decodes one block of
latent frames for the latest listener: every real voice (memoire/audio/voices.py: one per
audible zone within the voice budget, and the bed) in one batched decoder call, placed by the
spatial stage (memoire/audio/scene.py) on the output layout's channels. ``SynthThread`` runs a core on its own thread, keeps the
ring topped up, records what it plays and measures motion-to-sound latency. Offline rendering
(`memoire render`) drives a core directly, faster than real time.

Per latent frame (hop = 2048 samples, 46 ms at 44.1 kHz) the latent moves toward the field's
target by a one-pole step with the field's time constant, and the step is capped at
``max_latent_speed_per_s`` x frame duration: nn~ and nn.terrain hold one latent per whole block
and step at block edges; here every frame gets its own latent.

Jumps the smoothing must not glide through (a teleport, a level reload, a model change) are
crossfaded with equal power between two batched decoder instances: the current one keeps
decoding its voices at the old place while a second, warmed up on the new place's voices, fades
in; the whole mix crossfades.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from memoire.world.field import LatentField
from memoire.world.card import ModelCard
from memoire.audio.faults import ModelFault
from memoire.audio.ring import Ring
from memoire.audio.scene import (VoiceReach, ZoneReach, bed_gains, default_layout, head_azimuth, reverb_fade_in_s,
                                 reverb_send_db, wet_scale)
from memoire.audio.spatial import Spatializer, layout_channels
from memoire.audio.voices import MotionPlayer, VoiceBank, motion_join_frames, motion_segment_frames  # noqa: F401

if TYPE_CHECKING:  # torch lives there: this module loads without it (the decoders come from a factory)
    from memoire.audio.model import BatchDecoder, NeuralDecoder

# A stereo layout's channels (the default output; memoire/audio/scene.py has every layout's).
output_channels = 2

# When the model fails (memoire/audio/faults.py ModelFault), the synth thread ends the sound with a
# fade of this length made from the last good block played back and forth (ping-pong: each turn
# starts on the sample the previous one ended on, so no sample jumps), then writes silence.
fault_fade_s = 0.1
# Slower than real time: the decode's real-time factor (audio seconds per decode second) over the
# last ``slow_window_s`` of wall time, judged once the synth has run that long, below this.
slow_rtf_limit = 1.0
slow_window_s = 3.0


def fade_tail(last: np.ndarray | None, frames: int) -> np.ndarray:
    """``frames`` of audio that continue ``last`` (n, channels) without a jump and fade to zero:
    ``last`` read backwards from its end, then forwards, and so on, under a raised-cosine fade.
    Empty when nothing played before."""
    if last is None or len(last) == 0 or frames <= 0:
        return np.zeros((0, output_channels if last is None else last.shape[1]), np.float32)
    n = len(last)
    m = np.arange(frames) % (2 * n)
    idx = np.where(m < n, n - 1 - m, m - n)
    fade = 0.5 * (1.0 + np.cos(np.pi * (np.arange(frames) + 1) / frames))
    return (last[idx] * fade[:, None]).astype(np.float32)


@dataclass(frozen=True)
class Listener:
    """The player's pose as the game last sent it (an immutable snapshot: latest value wins)."""

    x_m: float
    y_m: float
    heading_rad: float = 0.0
    teleport: int = 0  # bumped by the game on a jump the sound must crossfade over
    seq: int = 0  # bumped on every update
    stamp_s: float = 0.0  # time.perf_counter() when the game sent it
    # time.perf_counter() when the game first sent this position (x, y): the motion's time. A pose
    # sent again unchanged keeps it, so the latency counts from the step, not from the latest resend.
    moved_s: float = 0.0


@dataclass(frozen=True)
class SynthSettings:
    frames_per_block: int = 1  # latent frames per decode call: 1 frame = 46 ms at 44.1 kHz
    crossfade_s: float = 0.35  # equal-power crossfade length on jumps
    warmup_frames: int = 2  # frames decoded and discarded to settle a fresh decoder's cache
    # Cap on latent speed: a trained latent spans a few units per class; 6 units/s lets a
    # step between classes take ~0.5 s at least, however short a zone's fade_s is.
    max_latent_speed_per_s: float = 6.0
    gain_db: float = 0.0  # makeup gain (the level's [sound] gain_db): no ceiling of its own
    voices: int = 8  # the voice budget: zone voices decoded at once (the level's [sound] voices)
    output: str = default_layout  # the output layout (memoire/audio/scene.py OUTPUT_LAYOUTS)
    # Peak amplitude the synth's own limiter holds its output under, for renders that use the core
    # alone (memoire/offline/render.py). None: no limiter here; the live engine sets None, its one
    # ceiling being the output gain stage after the synth (memoire/audio/output.py MasterGain).
    limiter_ceiling: float | None = 0.98


@dataclass
class SynthStats:
    blocks: int = 0
    decode_s: float = 0.0  # wall time spent decoding
    audio_s: float = 0.0  # audio produced
    crossfades: int = 0
    limiter_min_gain: float = 1.0
    voices_real: int = 0  # voices holding a decoder slot after the last block (the bed's included)
    voices_virtual: int = 0  # zone voices without one (over the budget, or inaudible)

    @property
    def realtime_factor(self) -> float:
        return self.audio_s / self.decode_s if self.decode_s > 0 else float("inf")


DecoderFactory = Callable[[], "NeuralDecoder | BatchDecoder"]

# The mix keeps the one-voice synth's loudness: a directional source has unit power across the
# layout's speakers (memoire/audio/scene.py); times sqrt(2) it plays at unity on both speakers
# of a stereo pair when it is straight ahead, as the old pan law did at its centre.
directional_makeup = math.sqrt(2.0)


@dataclass
class _Fade:
    """A jump's crossfade: the outgoing bank keeps its pose and fades out as the new one fades in."""

    old: VoiceBank
    done_frames: int = 0
    total_frames: int = 0
    recycle_old: bool = True  # same model: the old bank's decoder becomes the spare afterwards


class SynthCore:
    """Listener -> audio blocks (frames, channels of the layout), deterministic for a given
    sequence of listeners. The voices (memoire/audio/voices.py) of the current ``VoiceBank`` are
    decoded in one batched call per block, placed by the spatial stage (memoire/audio/scene.py)
    and mixed onto the layout. A jump (teleport, level reload, model switch) starts a second bank
    on the spare decoder and crossfades the whole mix with equal power (``crossfade_s``)."""

    def __init__(self, make_decoder: DecoderFactory, info: ModelCard, field_: LatentField,
                 settings: SynthSettings = SynthSettings(), start: Listener | None = None, acoustics=None,
                 rooms=None):
        """``acoustics``: the level's memoire/world/acoustics.py ``Acoustics`` (distance, walls,
        gates, emitters); None: each zone's gain is its curve value and its direction its centre
        (memoire/audio/scene.py ``ZoneReach``). ``rooms``: its rooms' impulse responses
        (memoire/audio/scene.py ``RoomIrs``, maybe still computing: dry until they are ready,
        then the wet fades in); None: no reverb."""
        self.info = info
        self.field = field_
        self.acoustics = acoustics
        self.rooms = rooms
        self._reverb = None  # RoomReverb once ``rooms`` has its IRs
        self._wet_fade = 0.0  # 0..1 over reverb_fade_in_s once the reverb exists
        self._wet_last = 0.0  # the wet gain at the end of the last block
        self.settings = settings
        self.stats = SynthStats()
        self.sample_rate_hz = info.sample_rate_hz
        self.hop = info.hop_samples
        self.frame_s = self.hop / self.sample_rate_hz
        self.block_frames = settings.frames_per_block * self.hop
        # (i + 1) / block for i in the block: the per-block gain ramps of the bed and the wet level
        self._ramp = np.arange(1, self.block_frames + 1, dtype=np.float32) / np.float32(self.block_frames)
        self.budget = int(settings.voices)
        self.slots = self.budget + 1  # the decoder's batch: the budget's voices and the bed
        self.layout = settings.output
        self.channels = layout_channels(self.layout)
        self._t_s = 0.0  # the core's clock: audio time rendered (moving emitters follow it)
        start = start or Listener(0.0, 0.0)
        self.fault: ModelFault | None = None
        self._pending_fault: ModelFault | None = None  # a model switch whose load failed (loader thread)
        first = self._as_batch(make_decoder())
        self.spare: "BatchDecoder | None" = self._as_batch(make_decoder())
        try:
            for decoder in (first, self.spare):
                decoder.warm_up()
        except ModelFault as e:  # a model that fails within its first calls: said at the first render
            self.fault = e
        # Two banks at most (during a crossfade): the spatializer's sources are two ranges of the
        # budget's slots; each bank takes the range the other does not use.
        self.spatial = Spatializer(self.layout, self.sample_rate_hz, 2 * self.budget, self.block_frames)
        self._bed_last = np.zeros(2, np.float32)  # the bed's gain at the end of the last block, per range
        self._bed_channels = bed_gains(self.layout)
        self.bank = self._new_bank(first, self.field, start, snap=True, base=0)
        self.fade: _Fade | None = None
        self._teleport = start.teleport
        self._field_version = field_.version
        self._limiter_gain = 1.0
        self._gain = 10 ** (settings.gain_db / 20)  # makeup: the output stage after the synth sets loudness
        self._pending_model: "tuple[ModelCard, object, object, LatentField] | None" = None
        self.last_latent = self.bank.bed.z.astype(np.float32)

    def _as_batch(self, decoder) -> "BatchDecoder":
        """A decoder with this core's slots (a NeuralDecoder is wrapped around its module)."""
        from memoire.audio.model import BatchDecoder

        if isinstance(decoder, BatchDecoder) and decoder.slots == self.slots:
            return decoder
        return BatchDecoder(decoder, self.slots)

    def _reach_for(self, field_: LatentField):
        acoustics = self.acoustics
        if acoustics is None:
            return ZoneReach(field_.plain, self.sample_rate_hz).reach

        def reach(x_m: float, y_m: float, heading_rad: float, zone: int, t_s: float) -> VoiceReach:
            r = acoustics.reach((x_m, y_m), zone, t_s)
            return VoiceReach(r.gain, r.lowpass_hz, head_azimuth(r.direction_xy, heading_rad), r.room)

        return reach

    def _new_bank(self, decoder, field_: LatentField, listener: Listener, *, snap: bool, base: int) -> VoiceBank:
        bank = VoiceBank(decoder, field_, self.info, self.budget, self.frame_s, self.settings.max_latent_speed_per_s,
                         self._reach_for(field_), listener.x_m, listener.y_m, listener.heading_rad, self._t_s,
                         snap=snap)
        bank.base = base  # its range of the spatializer's sources: base .. base + budget - 1
        for s in range(self.budget):
            self.spatial.reset_slot(base + s)
        self._bed_last[base // max(self.budget, 1)] = 0.0
        return bank

    def decoders(self) -> list:
        """Every decoder this core holds (a restarted synth may reuse them)."""
        out = [self.bank.decoder]
        if self.spare is not None:
            out.append(self.spare)
        if self.fade is not None:
            out.append(self.fade.old.decoder)
        return out

    def voice_counts(self) -> tuple[int, int]:
        """(real, virtual) voices of the current bank."""
        return self.bank.counts()

    # -- control (called on the synth's own thread, between renders) ---------------------------

    def set_field(self, field_: LatentField, acoustics=None, rooms=None) -> None:
        """Use a new latent field; a new version (level reload) is crossfaded. ``acoustics``,
        ``rooms``: the reloaded level's (the banks made from now on use them; new rooms replace
        the reverb, faded in when ready)."""
        if acoustics is not None:
            self.acoustics = acoustics
        if rooms is not None and rooms is not self.rooms:
            self.rooms, self._reverb, self._wet_fade = rooms, None, 0.0
        self.field = field_

    def set_model(self, info: ModelCard, first, second, field_: LatentField) -> None:
        """Switch to another model (two loaded instances: NeuralDecoders, or BatchDecoders with
        this core's slots, warmed) and its field (the anchors resolved against it); crossfaded at
        the next render. May be called from a loader thread: the tuple is one slot, written once,
        taken by the synth thread."""
        self._pending_model = (info, first, second, field_)

    def set_model_failed(self, fault: ModelFault) -> None:
        """A model switch whose loading failed (its warm-up decode): the next render raises it.
        May be called from a loader thread (one slot, written once)."""
        self._pending_fault = fault

    # -- rendering -------------------------------------------------------------------------------

    def _begin_fade(self, decoder, listener: Listener, recycle_old: bool) -> None:
        if self.fade is not None:  # a jump during a fade: finish the old one at once
            self._end_fade()
        base = self.budget if self.bank.base == 0 else 0
        new = self._new_bank(decoder, self.field, listener, snap=True, base=base)
        if self.settings.warmup_frames:  # settle every row's cache on the new latents
            z = new.step((listener.x_m, listener.y_m, listener.heading_rad), self._t_s)
            warm = np.repeat(z[:, :, None], self.settings.warmup_frames, axis=2)
            decoder.decode(warm, np.array([v is not None for v in new.by_slot()]))
        frames = max(1, round(self.settings.crossfade_s / self.frame_s))
        self.fade = _Fade(self.bank, 0, frames, recycle_old)
        self.bank = new
        self.stats.crossfades += 1

    def _end_fade(self) -> None:
        fade = self.fade
        assert fade is not None
        if fade.recycle_old:
            self.spare = fade.old.decoder
        for s in range(self.budget):  # its range of the spatializer is silent now
            self.spatial.reset_slot(fade.old.base + s)
        self.fade = None

    def _check_jumps(self, listener: Listener) -> None:
        if self._pending_model is not None:
            info, first, second, field_ = self._pending_model
            self._pending_model = None
            self.info = info
            self.field = field_
            self._begin_fade(self._as_batch(first), listener, recycle_old=False)
            self.spare = self._as_batch(second)
            self._teleport, self._field_version = listener.teleport, self.field.version
            return
        if listener.teleport != self._teleport or self.field.version != self._field_version:
            self._teleport, self._field_version = listener.teleport, self.field.version
            spare = self.spare
            if spare is None:  # mid-fade with the spare in use: finish that fade first
                self._end_fade()
                spare = self.spare
            self.spare = None
            self._begin_fade(spare, listener, recycle_old=True)

    def render(self, listener: Listener) -> np.ndarray:
        """Decode one block for ``listener``: float32 (frames_per_block * hop, channels), always
        finite. Raises ``ModelFault`` when the model misbehaves (then on every later call too)."""
        if self._pending_fault is not None:
            self.fault, self._pending_fault = self._pending_fault, None
        if self.fault is not None:
            raise self.fault
        try:
            out = self._render(listener)
        except ModelFault as e:
            self.fault = e
            raise
        if not np.isfinite(out).all():  # finite decode values that overflowed in the gain or the mix
            self.fault = ModelFault(self.info.path, "the decoded sound overflowed to Inf (values near 1e38)")
            raise self.fault
        return out

    def _render(self, listener: Listener) -> np.ndarray:
        self._check_jumps(listener)
        bank = self.bank
        if bank.field is not self.field:  # same version: live controls, a terrain; glided
            bank.field = self.field
            if self.field.plain is not bank.motion_for:
                bank.reach = self._reach_for(self.field)
                bank.reset_motion(self._t_s, snap=False)
        n = self.settings.frames_per_block
        pose = (listener.x_m, listener.y_m, listener.heading_rad)
        banks = [bank] if self.fade is None else [self.fade.old, bank]
        zs = {id(b): np.empty((self.slots, self.info.latent_dim, n), np.float32) for b in banks}
        for i in range(n):
            t = self._t_s + i * self.frame_s
            for b in banks:
                zs[id(b)][:, :, i] = b.step(pose if b is bank else None, t)
        loud = max((v for v in bank.voices if v.slot >= 0), key=lambda v: v.amplitude, default=bank.bed)
        self.last_latent = np.asarray(loud.frame if loud.frame is not None else loud.z, np.float32).copy()
        t0 = time.perf_counter()
        rows = {id(b): b.decoder.decode(zs[id(b)], np.array([v is not None for v in b.by_slot()]))
                for b in banks}
        self.stats.decode_s += time.perf_counter() - t0
        # the crossfade's gains at the end of this block (equal power; the mix ramps within it)
        xfade = {id(bank): 1.0}
        if self.fade is not None:
            fade = self.fade
            fade.done_frames += n
            t = min(fade.done_frames / fade.total_frames, 1.0)
            xfade = {id(fade.old): math.cos(0.5 * math.pi * t), id(bank): math.sin(0.5 * math.pi * t)}
        out = self._mix(banks, rows, xfade)
        for b in banks:
            for slot in b.release_silent():
                self.spatial.reset_slot(b.base + slot - 1)
        if self.fade is not None and self.fade.done_frames >= self.fade.total_frames:
            self._end_fade()
        self._t_s += n * self.frame_s
        real, virtual = self.bank.counts()
        self.stats.voices_real, self.stats.voices_virtual = real, virtual
        self.stats.blocks += 1
        self.stats.audio_s += self.block_frames / self.sample_rate_hz
        return self._finish(out)

    def _mix(self, banks: list[VoiceBank], rows: dict, xfade: dict) -> np.ndarray:
        """Every bank's rows onto the layout: zone voices through the spatializer, the bed to every
        channel but the LFE (memoire/audio/scene.py)."""
        m = self.block_frames
        sources = np.zeros((2 * self.budget, m), np.float32)
        az = np.zeros(2 * self.budget)
        gain = np.zeros(2 * self.budget)
        lowpass = np.full(2 * self.budget, self.sample_rate_hz / 2.0)
        bed = np.zeros(m, np.float32)
        ramp = self._ramp
        for b in banks:
            g_bank = xfade[id(b)]
            r = rows[id(b)]
            for slot, v in enumerate(b.by_slot()):
                if slot == 0:
                    k = b.base // max(self.budget, 1)
                    g1 = np.float32(v.amplitude * g_bank)
                    g0 = self._bed_last[k]
                    bed += r[0] * (g0 + (g1 - g0) * ramp)
                    self._bed_last[k] = g1
                    continue
                s = b.base + slot - 1
                sources[s] = r[slot]
                if v is not None:
                    gain[s] = v.amplitude * g_bank * directional_makeup
                    az[s], lowpass[s] = v.azimuth_rad, v.lowpass_hz
        out = np.empty((m, self.channels), np.float32)
        self.spatial.process(sources, az, gain, lowpass, out)
        out += bed[:, None] * self._bed_channels[None]
        self._add_reverb(banks, rows, xfade, out)
        return out

    def _add_reverb(self, banks: list[VoiceBank], rows: dict, xfade: dict, out: np.ndarray) -> None:
        """Each voice's send to its source room's reverb, the bed's to the listener's room, under
        the listener's room's wet level (memoire/audio/scene.py); dry until the IRs are ready."""
        if self._reverb is None:
            irs = self.rooms.irs if self.rooms is not None else None
            if not irs:
                return
            from memoire.audio.spatial import RoomReverb, layout

            self._reverb = RoomReverb(irs, self.sample_rate_hz, self.block_frames, self.channels,
                                      silent_channels=layout(self.layout).silent_channels)
            self._sends = np.zeros((len(irs), self.block_frames), np.float32)
        acoustics = self.acoustics
        x, y, _ = self.bank.pose
        here = acoustics.room_at(x, y) if acoustics is not None else -1
        self._wet_fade = min(1.0, self._wet_fade + self.block_frames / self.sample_rate_hz / reverb_fade_in_s)
        wet = 0.0
        if here >= 0:
            wet = 10 ** (reverb_send_db / 20) * wet_scale(acoustics.rooms[here].rt60_s) * self._wet_fade
        sends = self._sends
        sends[:] = 0.0
        for b in banks:
            g_bank = xfade[id(b)]
            r = rows[id(b)]
            for slot, v in enumerate(b.by_slot()):
                if v is None:
                    continue
                room = here if slot == 0 else v.room
                if 0 <= room < len(sends):
                    sends[room] += r[slot] * np.float32(v.amplitude * g_bank)
        sends *= (self._wet_last + (wet - self._wet_last) * self._ramp)[None]  # the wet level ramps over the block
        self._wet_last = wet
        self._reverb.process(sends, out)

    def _finish(self, out: np.ndarray) -> np.ndarray:
        """The makeup gain, and the synth's own limiter where it has one (offline renders)."""
        n = len(out)
        out *= self._gain
        if self.settings.limiter_ceiling is None:  # the live engine: the output stage limits
            return out
        # Peak limiter: the gain ramps over the block to the level that keeps it under the
        # ceiling, and recovers slowly (0.5 s); a hard clip at the ceiling is the last guard.
        peak = float(np.abs(out).max()) if n else 0.0
        want = min(1.0, self.settings.limiter_ceiling / peak) if peak > 0 else 1.0
        recover = math.exp(-n / self.sample_rate_hz / 0.5)
        target = want if want < self._limiter_gain else min(want, 1.0 - (1.0 - self._limiter_gain) * recover)
        if target < self._limiter_gain:
            gains = np.full(n, target, np.float32)  # attack at once: a ramp could clip early peaks
        else:
            gains = np.linspace(self._limiter_gain, target, n, dtype=np.float32)
        self._limiter_gain = target
        self.stats.limiter_min_gain = min(self.stats.limiter_min_gain, target)
        out *= gains[:, None]
        np.clip(out, -self.settings.limiter_ceiling, self.settings.limiter_ceiling, out=out)
        return out


# The latency histogram: 1 ms bins; the last bin holds everything from 999 ms up.
latency_bins = 1000


def histogram_percentile(hist, q: float) -> float | None:
    """The ``q``-th percentile (0..100) of a 1 ms histogram, in seconds (the bin's upper edge,
    the way a percentile of whole milliseconds rounds up); None when it is empty."""
    counts = np.asarray(hist, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return None
    k = int(np.searchsorted(np.cumsum(counts), q / 100.0 * total - 1e-9))
    return (min(k, len(counts) - 1) + 1) / 1000.0


@dataclass
class LatencyMeter:
    """Motion-to-sound latency: from a listener change (the game's time stamp when it sent the
    pose) to when the first sample computed from it reaches the speaker: the time the consumer
    took that sample out of the ring (``Ring.last_read``: the callback's own time stamp) plus the
    device's latency (its buffer after the callback)."""

    pending: collections.deque = field(default_factory=lambda: collections.deque(maxlen=256))
    samples_s: list = field(default_factory=list)
    hist: np.ndarray = field(default_factory=lambda: np.zeros(latency_bins))

    def mark(self, sample_index: int, stamp_s: float) -> None:
        self.pending.append((sample_index, stamp_s))

    started_s: float | None = None  # when playback first advanced: earlier changes waited for start-up

    def poll(self, played_index: int, now_s: float, device_latency_s: float,
             last_read: tuple[int, int, float] | None = None, rate_hz: float = 0.0) -> None:
        """``played_index``: frames the consumer has taken. ``last_read``: (first, end, time) of
        its last read (memoire/audio/ring.py); with it a sample's time is the read that took it
        (earlier ones: counted back at ``rate_hz``), without it ``now_s``."""
        if self.started_s is None:
            if played_index <= 0:
                return
            self.started_s = now_s
        while self.pending and self.pending[0][0] < played_index:
            index, stamp = self.pending.popleft()
            taken_s = now_s
            if last_read is not None and rate_hz > 0 and last_read[2] > 0 and index < last_read[1]:
                first, _, t = last_read
                taken_s = t if index >= first else t - (first - index) / rate_hz
            if stamp >= self.started_s:
                value = taken_s - stamp + device_latency_s
                self.total_s += value  # running totals: the control loop reads them at 100 Hz
                self.count += 1
                self.hist[min(max(int(value * 1000.0), 0), latency_bins - 1)] += 1
                if len(self.samples_s) < 100_000:
                    self.samples_s.append(value)

    total_s: float = 0.0  # sum of every sample (synth thread only)
    count: int = 0

    @property
    def mean_s(self) -> float:
        return self.total_s / self.count if self.count else float("nan")

    @property
    def p95_s(self) -> float | None:
        return histogram_percentile(self.hist, 95.0)


# Just-in-time decoding (SynthThread with ``just_in_time``): the synth decodes the next latent
# frame when the queue has fallen to its *lead*: one device block, plus what the consumer took
# between the queue reaching the lead and the new block landing in the ring (the decode, the
# thread waking late, a callback falling in between), as its 99th percentile over the last
# ``lead_window_s``, plus a guard. Never less than ``lead_min_margin_s`` above one device block.
lead_window_s = 5.0
lead_min_margin_s = 0.002
lead_guard_s = 0.001
# Until ``lead_learn_s`` of renders (and at least ``lead_min_samples``) are measured the margin
# is ``lead_start_margin_s``: the start-up is the machine's busiest time (the game compiles shaders
# and builds meshes, the model warms up), so the percentile is learned over the first 4 s (~86
# blocks of 46 ms), not from the first second's 20 samples (a CI run that learned from those
# underran once, later, on a spike they had not seen).
lead_start_margin_s = 0.025
lead_learn_s = 4.0
lead_min_samples = 20
# An underrun raises the floor of the margin by one device block, for ``lead_underrun_hold_s``.
lead_underrun_hold_s = 10.0


class LeadSizer:
    """The just-in-time queue: how many frames must still be queued when the synth starts the
    next block. Synth thread only (``lead``/``add``/``underrun`` take the time as an argument)."""

    def __init__(self, sample_rate_hz: int, capacity_frames: int, hop_frames: int):
        self.rate = float(sample_rate_hz)
        self.max_lead = max(1, capacity_frames - hop_frames)  # room for the block on top of it
        self._samples: collections.deque = collections.deque()  # (time, frames consumed)
        self._floor = 0  # extra frames after underruns
        self._floor_until = 0.0
        self._cached: tuple[float, int] | None = None  # (time, p99) recomputed a few times a second
        self._first_s: float | None = None  # time of the first measured render

    def _p99(self, now_s: float) -> int:
        q = self._samples
        while q and q[0][0] < now_s - lead_window_s:
            q.popleft()
        if self._first_s is None and q:
            self._first_s = q[0][0]
        if len(q) < lead_min_samples or self._first_s is None or now_s - self._first_s < lead_learn_s:
            return math.ceil(lead_start_margin_s * self.rate)
        if self._cached is None or now_s - self._cached[0] > 0.25:
            values = np.fromiter((v for _, v in q), np.float64, len(q))
            self._cached = (now_s, int(math.ceil(np.percentile(values, 99))))
        return self._cached[1]

    def lead(self, device_block: int, now_s: float) -> int:
        if now_s > self._floor_until:
            self._floor = 0
        margin = max(math.ceil(lead_min_margin_s * self.rate), self._p99(now_s), self._floor)
        lead = device_block + margin + math.ceil(lead_guard_s * self.rate)
        return int(max(min(lead, self.max_lead), device_block))  # never below one device block

    def add(self, consumed_frames: int, now_s: float) -> None:
        """Frames the consumer took between the queue reaching the lead and the block landing."""
        self._samples.append((now_s, max(0, int(consumed_frames))))

    def underrun(self, device_block: int, now_s: float) -> None:
        self._floor = max(self._floor, self._p99(now_s)) + device_block
        self._floor_until = now_s + lead_underrun_hold_s


class SynthThread:
    """Runs a SynthCore on its own thread, keeping ``ring`` filled to ``target_fill_frames``, or,
    with ``just_in_time``, decoding each block as late as it safely can (``LeadSizer``) for the
    pose read at that moment (``listener_source``: the newest pose, read by this thread)."""

    def __init__(self, core: SynthCore, ring: Ring, *, target_fill_frames: int, torch_threads: int = 1,
                 record_path: Path | None = None, played: Callable[[], int] | None = None,
                 device_latency_s: Callable[[], float] | None = None, just_in_time: bool = False,
                 device_block: Callable[[], int] | None = None,
                 listener_source: Callable[[], "Listener | None"] | None = None, realtime: bool = False):
        self.core = core
        self.ring = ring
        self.target_fill = target_fill_frames
        self.just_in_time = just_in_time
        self._device_block = device_block or (lambda: 512)
        self._listener_source = listener_source
        self.lead = LeadSizer(core.sample_rate_hz, ring.capacity, core.settings.frames_per_block * core.hop)
        self.lead_frames = 0  # the lead used for the last block (synth thread; statistics)
        self._realtime = realtime
        self.priority = "normal"  # what raise_priority got for this thread (memoire/audio/priority.py)
        self.priority_said = False
        self.torch_threads = torch_threads
        self._listener = Listener(0.0, 0.0)
        self._field: LatentField | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.error: BaseException | None = None
        self.latency = LatencyMeter()
        self._played = played or (lambda: ring.read_index)
        self._device_latency = device_latency_s or (lambda: 0.0)
        self._recorder = None
        if record_path is not None:  # a recording that fails stops itself, never the synth (audio/recorder.py)
            from memoire.audio.recorder import Recorder

            self._recorder = Recorder(record_path, core.sample_rate_hz, core.channels)
        self._thread = threading.Thread(target=self._run, name="memoire-synth", daemon=True)
        self.heartbeat_s = time.perf_counter()  # synth thread only
        # Written by the synth thread only, read by the control loop (the supervisor):
        self.fault: ModelFault | None = None  # the model failed: this thread plays silence from then on
        self.slow_rtf: float | None = None  # set once when the decode is slower than real time, sustained
        self._last_good: np.ndarray | None = None  # the last block rendered (for the fade on a fault)
        self._owed = np.zeros((0, core.channels), np.float32)  # audio to queue before anything else
        self._speed: collections.deque = collections.deque()  # (wall end, decode s, audio s) per block
        self._first_render_s: float | None = None
        # Fault injection (tests, the soak): ("crash", 0) or ("stall", seconds) for the next render.
        # A take-slot like the field: the control thread puts, the synth thread takes it once.
        self._fault: tuple[str, float] | None = None

    # main thread -> synth thread: single slots, latest value wins
    def set_listener(self, listener: Listener) -> None:
        self._listener = listener

    def set_field(self, field_: LatentField, acoustics=None, rooms=None) -> None:
        self._field = (field_, acoustics, rooms)

    def start(self) -> None:
        self._thread.start()

    def inject_fault(self, kind: str, seconds: float = 0.0) -> None:
        """Fault injection: the next render raises (``"crash"``, as a decoder failure would) or
        sleeps ``seconds`` first (``"stall"``, a decode stuck in the library)."""
        if kind not in ("crash", "stall"):
            raise ValueError(f"unknown synth fault {kind!r}")
        self._fault = (kind, float(seconds))

    def wake(self) -> None:
        """Any thread: look at the ring now rather than at the end of the idle wait (a consumer
        draining faster than real time, as the kiosk soak test's simulated clock does)."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to end and wait up to ``timeout_s`` (0: do not wait, for a stalled one)."""
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:  # started (an engine closed before start has none)
            self._thread.join(timeout=timeout_s)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        from memoire.audio.model import set_torch_threads

        set_torch_threads(self.torch_threads)
        if self._realtime:
            from memoire.audio.priority import raise_priority

            self.priority = raise_priority()
        block = self.core.settings.frames_per_block * self.core.hop
        rate = self.core.sample_rate_hz
        last_seq = -1
        last_pos = None
        underruns = self.ring.underruns
        try:
            while not self._stop.is_set():
                now = time.perf_counter()
                self.heartbeat_s = now
                self._wake.clear()  # before looking at the ring: a wake() from now on is not lost
                ring = self.ring
                self.latency.poll(self._played(), now, self._device_latency(), ring.last_read, rate)
                if self._field is not None:
                    self.core.set_field(*self._field)
                    self._field = None
                available = ring.available()
                if self.just_in_time:
                    device_block = self._device_block()
                    if ring.underruns != underruns:
                        underruns = ring.underruns
                        self.lead.underrun(device_block, now)
                    lead = self.lead.lead(device_block, now)
                    if not ring.started:
                        lead = max(lead, self.target_fill - block)  # prime the queue first
                    if available > lead or ring.free() < block:
                        # Sleep until the queue should reach the lead (the consumer drains at
                        # the sample rate), at most a quarter of a block (11 ms at 2048 samples).
                        wait = min(max((available - lead) / rate, 0.0005), block / rate / 4)
                        self._wake.wait(wait)
                        continue
                elif available + block > self.target_fill or ring.free() < block:
                    # Enough queued: sleep about a quarter of a block (11 ms at 2048 samples).
                    self._wake.wait(block / rate / 4)
                    continue
                if self._listener_source is not None:
                    newest = self._listener_source()
                    if newest is not None:
                        self._listener = newest
                listener = self._listener
                if listener.seq != last_seq:
                    pos = (listener.x_m, listener.y_m)
                    if last_pos is not None and pos != last_pos:
                        self.latency.mark(ring.write_index, listener.moved_s or listener.stamp_s)
                    last_seq, last_pos = listener.seq, pos
                fault = self._fault
                if fault is not None:
                    self._fault = None
                    if fault[0] == "crash":
                        raise RuntimeError("injected synth fault (fault injection)")
                    time.sleep(fault[1])  # a stall: then the render goes on (or the thread ends if stopped)
                    if self._stop.is_set():
                        break
                audio = self._next_block(listener, block)
                if self.just_in_time:  # how far below the lead the queue fell before this block landed
                    self.lead_frames = lead
                    self.lead.add(lead - ring.available(), time.perf_counter())
                ring.write(audio, prime_frames=self.target_fill)
                if self._recorder is not None:
                    self._recorder.write(audio)
        except BaseException as e:  # the supervisor (memoire/audio/supervisor.py) reads it and restarts the synth
            self.error = e

    def _next_block(self, listener: Listener, block: int) -> np.ndarray:
        """The next audio to queue: owed fade audio first, silence after a model fault, else a
        rendered block. A ModelFault ends the sound with ``fade_tail`` and is kept in ``fault``
        (the supervisor reports it); the thread goes on writing silence, so the output keeps its
        pace and nothing the model returned reaches the ring."""
        if len(self._owed):
            audio, self._owed = self._owed[:block], self._owed[block:]
            return audio
        if self.fault is not None:
            return np.zeros((block, self.core.channels), np.float32)
        before = self.core.stats.decode_s
        try:
            audio = self.core.render(listener)
        except ModelFault as e:
            tail = fade_tail(self._last_good, round(fault_fade_s * self.core.sample_rate_hz))
            self._last_good = None
            self.fault = e
            self._owed = tail[block:]
            return tail[:block] if len(tail) else np.zeros((block, self.core.channels), np.float32)
        self._last_good = audio
        self._measure(self.core.stats.decode_s - before, len(audio) / self.core.sample_rate_hz)
        return audio

    def _measure(self, decode_s: float, audio_s: float) -> None:
        """Judge the decode's speed over the last ``slow_window_s`` of wall time (see slow_rtf)."""
        now = time.perf_counter()
        if self._first_render_s is None:
            self._first_render_s = now - decode_s
        q = self._speed
        q.append((now, decode_s, audio_s))
        while q and q[0][0] < now - slow_window_s:
            q.popleft()
        if self.slow_rtf is not None or now - self._first_render_s < slow_window_s or not q:
            return
        spent = sum(d for _, d, _ in q)
        made = sum(a for _, _, a in q)
        if spent > 0 and made / spent < slow_rtf_limit:
            self.slow_rtf = made / spent
            if self._realtime:  # a real-time thread that cannot keep up would starve the machine
                from memoire.audio.priority import lower_priority

                lower_priority()
                self.priority = "normal (slower than real time)"


def offline_listener_sequence(poses: Callable[[float], tuple[float, float, float]], core: SynthCore,
                              seconds: float) -> np.ndarray:
    """Render ``seconds`` of audio offline, asking ``poses(t_s) -> (x, y, heading)`` per block."""
    block_s = core.settings.frames_per_block * core.frame_s
    blocks = max(1, math.ceil(seconds / block_s))
    out = []
    listener = Listener(*poses(0.0))
    for b in range(blocks):
        x, y, h = poses(b * block_s)
        listener = replace(listener, x_m=x, y_m=y, heading_rad=h, seq=b)
        out.append(core.render(listener))
    audio = np.concatenate(out)
    return audio[: int(round(seconds * core.sample_rate_hz))]
