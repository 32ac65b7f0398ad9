"""The synth: listener position -> voices' latents -> one batched streaming decode -> the layout.

``SynthCore`` is deterministic and thread-agnostic. Its work per block has two halves:

- ``prepare(listener)``: every real voice (memoire/audio/voices.py: one per audible zone within the
  voice budget, and the bed) advances one block of latent frames (the latent glide, its motion, the
  budget), the rows are decoded in one batched decoder call, and the rooms' reverb of the block is
  computed; the block joins a queue of prepared blocks, one block ahead of the mix.
- ``mix(listener)``: the next sub-block (``mix_subblocks`` a block) of the oldest prepared block is
  placed for the newest pose (each voice's gain, direction, walls and low-pass: memoire/audio/
  scene.py) and mixed onto the output layout's channels.

So what the pose sets (where each sound comes from and how loud) is heard within a sub-block
(11.6 ms at the default 4 per 2048-sample frame), while the latents, which glide over a zone's
fade_s (0.3 s and more), follow the pose one block later. ``render(listener)`` does both for a
whole block (offline renders, `memoire render`). ``SynthThread`` runs a core live: the decode
on one thread a block ahead, the mix on another just in time, keeping the ring topped up; it
records what it plays and measures motion-to-sound latency.

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
from memoire.audio.voices import (MotionPlayer, VoiceBank, fade_shape, motion_join_frames,  # noqa: F401
                                  motion_segment_frames)

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
    # The mix (gains, directions, walls: everything the pose sets) runs this many times a block,
    # each time for the newest pose, so a step is heard within a sub-block rather than a latent
    # frame: 4 = 512 samples (11.6 ms) at 2048 a frame. The block's decode runs a block ahead.
    mix_subblocks: int = 4
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
    decode_s: float = 0.0  # wall time spent decoding (prepare's side)
    prepare_s: float = 0.0  # wall time of ``prepare`` (the decode's included), written by its thread
    mix_s: float = 0.0  # wall time of ``mix``, written by its thread
    audio_s: float = 0.0  # audio produced
    crossfades: int = 0
    limiter_min_gain: float = 1.0
    voices_real: int = 0  # voices holding a decoder slot after the last block (the bed's included)
    voices_virtual: int = 0  # zone voices without one (over the budget, or inaudible)

    @property
    def work_s(self) -> float:
        """All the synth's work: prepare (decode, voices, reverb) and mix (placement, spatial stage)."""
        return self.prepare_s + self.mix_s

    @property
    def realtime_factor(self) -> float:
        """Audio seconds made per second of the synth's work (decode, voices, spatial mix, reverb)."""
        return self.audio_s / self.work_s if self.work_s > 0 else float("inf")


DecoderFactory = Callable[[], "NeuralDecoder | BatchDecoder"]

# Moving emitters (memoire/world/acoustics.py: a flock on its path) are traced where they are
# every 40 ms of the synth's clock, about a latent frame (28 cm apart for the default flock's
# 6.9 m/s: 3.5 degrees of its 4.5 m circle; the spatializer glides directions within each
# sub-block); a listener's step is traced at once. With the game sending ~13 poses a second and
# the mix running every 11.6 ms, most mixes find the same position and time and reuse the last
# trace (about 2 ms each here).
reach_refresh_s = 0.04

# The mix keeps the one-voice synth's loudness: a directional source has unit power across the
# layout's speakers (memoire/audio/scene.py); times sqrt(2) it plays at unity on both speakers
# of a stereo pair when it is straight ahead, as the old pan law did at its centre.
directional_makeup = math.sqrt(2.0)


@dataclass
class _BankBlock:
    """One bank's part of a prepared block: its decoded rows and who held each slot."""

    bank: VoiceBank
    rows: np.ndarray  # (slots, block_frames) float32
    voices: list  # the Voice in each slot when it was decoded (None: a free slot)
    fade_from: np.ndarray  # (slots,) the budget's amplitude share at the block's start ...
    fade_to: np.ndarray  # ... and at its end (memoire/audio/voices.py fade_shape; 0 while settling)


@dataclass
class _Prepared:
    """A decoded block waiting to be mixed (synth thread): ``pos`` samples of it are mixed."""

    parts: list  # _BankBlock per bank: one, or the outgoing and the incoming during a crossfade
    xfade: tuple[float, float]  # the crossfade's position 0..1 at the block's start and end
    t_s: float  # the core's clock at the block's first sample
    wet: np.ndarray | None  # (block_frames, channels) the rooms' reverb, or None while dry
    teleport: int = 0  # the listener's teleport count it was prepared for
    pos: int = 0


def _crossfade_gain(bank, old, position: float) -> float:
    """A bank's equal-power gain at ``position`` (0..1) of a crossfade whose outgoing bank is
    ``old`` (None: no crossfade, gain 1)."""
    if old is None:
        return 1.0
    return math.cos(0.5 * math.pi * position) if bank is old else math.sin(0.5 * math.pi * position)


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
        # (i + 1) / block for i in the block: the per-block ramp of the wet level
        self._ramp = np.arange(1, self.block_frames + 1, dtype=np.float32) / np.float32(self.block_frames)
        self.subblocks = max(1, int(settings.mix_subblocks))
        if self.block_frames % self.subblocks:
            raise ValueError(f"mix_subblocks {self.subblocks} does not divide a block of {self.block_frames} frames")
        self.mix_frames = self.block_frames // self.subblocks
        self._ramp_mix = np.arange(1, self.mix_frames + 1, dtype=np.float32) / np.float32(self.mix_frames)
        self.budget = int(settings.voices)
        self.slots = self.budget + 1  # the decoder's batch: the budget's voices and the bed
        self.layout = settings.output
        self.channels = layout_channels(self.layout)
        self._t_s = 0.0  # the core's clock: audio time mixed (moving emitters follow it)
        self._prep_t_s = 0.0  # the clock at the next block to prepare (a block ahead of the mix at most)
        self._prepared: collections.deque = collections.deque()  # _Prepared blocks, oldest first
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
        self.spatial = Spatializer(self.layout, self.sample_rate_hz, 2 * self.budget, self.mix_frames)
        self._bed_last = np.zeros(2, np.float32)  # the bed's gain at the end of the last sub-block, per range
        self._range_bank: list = [None, None]  # the bank last mixed in each range
        self._mixed_voice: list = [None] * (2 * self.budget)  # (bank id, zone) last mixed in each source
        s2 = 2 * self.budget  # the mix's scratch (synth thread), reused every sub-block
        self._m_sources = np.zeros((s2, self.mix_frames), np.float32)
        self._m_az, self._m_gain, self._m_lowpass = np.zeros(s2), np.zeros(s2), np.zeros(s2)
        self._m_bed = np.zeros(self.mix_frames, np.float32)
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
            # the emitters' own motion is sampled every reach_refresh_s; a new listener position
            # is worked out at once (acoustics.reach keeps the last (position, time) it traced)
            r = acoustics.reach((x_m, y_m), zone, math.floor(t_s / reach_refresh_s) * reach_refresh_s)
            return VoiceReach(r.gain, r.lowpass_hz, head_azimuth(r.direction_xy, heading_rad), r.room)

        return reach

    def _new_bank(self, decoder, field_: LatentField, listener: Listener, *, snap: bool, base: int) -> VoiceBank:
        bank = VoiceBank(decoder, field_, self.info, self.budget, self.frame_s, self.settings.max_latent_speed_per_s,
                         self._reach_for(field_), listener.x_m, listener.y_m, listener.heading_rad, self._prep_t_s,
                         snap=snap)
        bank.base = base  # its range of the spatializer's sources: base .. base + budget - 1
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
            z = new.advance((listener.x_m, listener.y_m, listener.heading_rad), self._prep_t_s)
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

    def _raise_fault(self) -> None:
        if self._pending_fault is not None:
            self.fault, self._pending_fault = self._pending_fault, None
        if self.fault is not None:
            raise self.fault

    def render(self, listener: Listener) -> np.ndarray:
        """One whole block for ``listener`` (offline renders): float32 (frames_per_block * hop,
        channels), always finite: ``mix_subblocks`` calls of ``mix``, each preceded by ``prepare``
        where ``needs_prepare`` says so, as the live synth thread calls them. Raises
        ``ModelFault`` when the model misbehaves (then on every later call too)."""
        parts = []
        for _ in range(self.subblocks):
            if self.needs_prepare:
                self.prepare(listener)
            parts.append(self.mix(listener))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @property
    def prepared_frames(self) -> int:
        """Prepared frames not mixed yet (any thread may read it)."""
        return sum(self.block_frames - p.pos for p in list(self._prepared))

    @property
    def needs_prepare(self) -> bool:
        """Whether the next block should be prepared now: as soon as no more than one block is
        left to mix, so the decode of the next block has a whole block's time (46 ms at 2048
        frames) before the mix needs it, and is never on the mix's critical path (with 3/4 of a
        block the decode thread was late ~1 % of blocks on this machine with the renderer running)."""
        return self.prepared_frames <= self.block_frames

    def prepare(self, listener: Listener) -> None:
        """Decode the next block (synth thread): every bank's voices advance one block of latent
        frames for ``listener`` (the latent glide, motion and budget; a jump starts its crossfade
        here), the rows are decoded in one batched call, and the rooms' reverb of the block is
        computed from the voices' gains as last placed. ``mix`` then places and mixes it for the
        newest pose. Raises ``ModelFault`` when the model misbehaves."""
        self._raise_fault()
        t_start = time.perf_counter()
        try:
            self._prepare(listener)
        except ModelFault as e:
            self.fault = e
            raise
        self.stats.prepare_s += time.perf_counter() - t_start

    def _prepare(self, listener: Listener) -> None:
        self._check_jumps(listener)
        bank = self.bank
        if bank.field is not self.field:  # same version: live controls, a terrain; glided
            bank.field = self.field
            if self.field.plain is not bank.motion_for:
                bank.reach = self._reach_for(self.field)
                bank.reset_motion(self._prep_t_s, snap=False)
        n = self.settings.frames_per_block
        pose = (listener.x_m, listener.y_m, listener.heading_rad)
        banks = [bank] if self.fade is None else [self.fade.old, bank]
        before = {id(b): [self._fade_amp(v) for v in b.by_slot()] for b in banks}
        zs = {id(b): np.empty((self.slots, self.info.latent_dim, n), np.float32) for b in banks}
        for i in range(n):
            t = self._prep_t_s + i * self.frame_s
            for b in banks:
                zs[id(b)][:, :, i] = b.advance(pose if b is bank else None, t)
        loud = max((v for v in bank.voices if v.slot >= 0), key=lambda v: v.amplitude, default=bank.bed)
        self.last_latent = np.asarray(loud.frame if loud.frame is not None else loud.z, np.float32).copy()
        parts = []
        t0 = time.perf_counter()
        for b in banks:
            voices = b.by_slot()
            rows = b.decoder.decode(zs[id(b)], np.array([v is not None for v in voices]))
            parts.append(_BankBlock(b, rows, voices, np.array(before[id(b)], np.float32),
                                    np.array([self._fade_amp(v) for v in voices], np.float32)))
        self.stats.decode_s += time.perf_counter() - t0
        xfade = (1.0, 1.0)
        if self.fade is not None:
            fade = self.fade
            xfade = (fade.done_frames / fade.total_frames, min((fade.done_frames + n) / fade.total_frames, 1.0))
            fade.done_frames += n
        block = _Prepared(parts, xfade, self._prep_t_s, self._wet_block(parts, xfade[1]), listener.teleport)
        for b in banks:
            b.release_silent()  # faded out by this block's end: their slots are free for the next
        if self.fade is not None and self.fade.done_frames >= self.fade.total_frames:
            self._end_fade()
        self._prep_t_s += n * self.frame_s
        self._prepared.append(block)

    @staticmethod
    def _fade_amp(v) -> float:
        """The budget's share of a slot's voice's amplitude (0 while it settles or for a free slot)."""
        return 0.0 if v is None or v.settle > 0 else fade_shape(v.fade)

    def mix(self, listener: Listener) -> np.ndarray:
        """The next ``mix_frames`` of the prepared audio placed for ``listener`` (synth thread):
        float32 (mix_frames, channels), always finite. Prepares a block first when none is.
        Raises ``ModelFault`` when the model misbehaves."""
        self._raise_fault()
        if not self._prepared:
            self.prepare(listener)
        t_start = time.perf_counter()
        out = self._finish(self._mix(listener))
        if not np.isfinite(out).all():  # finite decode values that overflowed in the gain or the mix
            self.fault = ModelFault(self.info.path, "the decoded sound overflowed to Inf (values near 1e38)")
            raise self.fault
        self.stats.mix_s += time.perf_counter() - t_start
        return out

    def _mix(self, listener: Listener) -> np.ndarray:
        """One sub-block of the oldest prepared block onto the layout: each bank placed for the
        pose (its gains glide toward their reach), zone voices through the spatializer, the bed to
        every channel but the LFE (memoire/audio/scene.py), the block's reverb added."""
        blk = self._prepared[0]
        m, lo = self.mix_frames, blk.pos
        hi = lo + m
        t = blk.t_s + lo / self.sample_rate_hz
        pose = (listener.x_m, listener.y_m, listener.heading_rad)
        frac = hi / self.block_frames  # where this sub-block ends in the block
        x0, x1 = blk.xfade
        u = x0 + (x1 - x0) * frac
        sources, az, gain, lowpass = self._m_sources, self._m_az, self._m_gain, self._m_lowpass
        sources[:] = 0.0
        gain[:] = 0.0
        az[:] = 0.0
        lowpass[:] = self.sample_rate_hz / 2.0
        bed = self._m_bed
        bed[:] = 0.0
        old = blk.parts[0].bank if len(blk.parts) > 1 else None
        current = blk.parts[-1].bank  # the bank the listener is in (the incoming one of a crossfade)
        if listener.teleport != blk.teleport:  # a jump the next block's crossfade carries: not this one
            current = None
        for part in blk.parts:
            b = part.bank
            b.place(pose if b is current else None, t, m / self.sample_rate_hz)
            g_bank = _crossfade_gain(b, old, u)
            k = b.base // max(self.budget, 1)
            if self._range_bank[k] is not b:  # a new bank in this range: its bed ramps up from 0
                self._range_bank[k] = b
                self._bed_last[k] = 0.0
            fa = part.fade_from + (part.fade_to - part.fade_from) * np.float32(frac)
            for slot, v in enumerate(part.voices):
                if slot == 0:
                    g1 = np.float32(v.gain * g_bank)
                    g0 = self._bed_last[k]
                    bed += part.rows[0, lo:hi] * (g0 + (g1 - g0) * self._ramp_mix)
                    self._bed_last[k] = g1
                    continue
                s = b.base + slot - 1
                who = None if v is None else (id(b), v.zone)
                if self._mixed_voice[s] != who:  # the slot carries another voice now
                    self._mixed_voice[s] = who
                    self.spatial.reset_slot(s)
                if v is None:
                    continue
                sources[s] = part.rows[slot, lo:hi]
                gain[s] = v.gain * fa[slot] * g_bank * directional_makeup
                az[s], lowpass[s] = v.azimuth_rad, v.lowpass_hz
        out = np.empty((m, self.channels), np.float32)
        self.spatial.process(sources, az, gain, lowpass, out)
        out += bed[:, None] * self._bed_channels[None]
        if blk.wet is not None:
            out += blk.wet[lo:hi]
        blk.pos = hi
        self._t_s = t + m / self.sample_rate_hz
        if hi >= self.block_frames:  # the block is played out
            self._prepared.popleft()
            real, virtual = blk.parts[-1].bank.counts()
            self.stats.voices_real, self.stats.voices_virtual = real, virtual
            self.stats.blocks += 1
            self.stats.audio_s += self.block_frames / self.sample_rate_hz
        return out

    def _wet_block(self, parts: list, xfade_end: float) -> np.ndarray | None:
        """The block's reverb (block_frames, channels), or None while the rooms' IRs are not ready:
        each voice's send to its source room's reverb, the bed's to the listener's room, at the
        gains of the last placement, under the listener's room's wet level (memoire/audio/scene.py).
        Computed a block ahead with the decode: the reverb is a diffuse field that builds over tens
        of milliseconds, so its send gains may be a block old."""
        if self._reverb is None:
            irs = self.rooms.irs if self.rooms is not None else None
            if not irs:
                return None
            from memoire.audio.spatial import RoomReverb, layout

            self._reverb = RoomReverb(irs, self.sample_rate_hz, self.block_frames, self.channels,
                                      silent_channels=layout(self.layout).silent_channels)
            self._sends = np.zeros((len(irs), self.block_frames), np.float32)
        acoustics = self.acoustics
        x, y, _ = parts[-1].bank.latent_pose
        here = acoustics.room_at(x, y) if acoustics is not None else -1
        self._wet_fade = min(1.0, self._wet_fade + self.block_frames / self.sample_rate_hz / reverb_fade_in_s)
        wet = 0.0
        if here >= 0:
            wet = 10 ** (reverb_send_db / 20) * wet_scale(acoustics.rooms[here].rt60_s) * self._wet_fade
        sends = self._sends
        sends[:] = 0.0
        old = parts[0].bank if len(parts) > 1 else None
        for part in parts:
            b = part.bank
            g_bank = _crossfade_gain(b, old, xfade_end)
            for slot, v in enumerate(part.voices):
                if v is None:
                    continue
                room = here if slot == 0 else v.room
                if 0 <= room < len(sends):
                    amp = v.gain * (1.0 if slot == 0 else float(part.fade_to[slot]))
                    sends[room] += part.rows[slot] * np.float32(amp * g_bank)
        sends *= (self._wet_last + (wet - self._wet_last) * self._ramp)[None]  # the wet level ramps over the block
        self._wet_last = wet
        out = np.zeros((self.block_frames, self.channels), np.float32)
        self._reverb.process(sends, out)
        return out

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


# Just-in-time mixing (SynthThread with ``just_in_time``): the mix thread mixes the next sub-block
# when the queue has fallen to its *lead*: one device block, plus what the consumer took between
# the queue reaching the lead and the new sub-block landing in the ring (the mix, the thread
# waking late, a callback falling in between), as its 99th percentile over the last
# ``lead_window_s``, plus a guard; never less than ``lead_min_margin_s`` above one device block.
# That floor is 12 ms: besides the mix's own jitter the queue must ride out a refill burst (after
# the sound server's side of the stream runs short, PortAudio calls back several times at once to
# fill its buffer again) and a real-time thread kept off the CPU a few ms (a probe at the mix's
# priority beside the renderer here: 1.4 ms at p99, up to 8 ms). With 2 ms, 2-6 ring underruns
# in 70-90 s runs here with the renderer going; with 12 ms, none (docs/sound.md "Latency").
lead_window_s = 5.0
lead_min_margin_s = 0.012
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
        self._floor = max(self._floor, self._p99(now_s), math.ceil(lead_min_margin_s * self.rate)) + device_block
        self._floor_until = now_s + lead_underrun_hold_s


class SynthThread:
    """Runs a SynthCore, keeping ``ring`` filled to ``target_fill_frames`` on one thread, or, with
    ``just_in_time``, on two: a *decode* thread that prepares each block (``SynthCore.prepare``:
    the batched decode, the voices' latents, the reverb) a block ahead, and the *mix* thread that
    mixes each sub-block as late as it safely can (``LeadSizer``) for the pose read at that moment
    (``listener_source``: the newest pose). The decode (10-25 ms a block here) is then never
    inside the lead; only the mix (a few ms) is. With ``realtime`` the mix thread asks for
    real-time priority and the decode thread for the step below it (memoire/audio/priority.py).

    Between the two threads: the core's prepared-block queue (a deque: appended by the decode,
    popped by the mix) and single-writer fields (memoire/audio/voices.py: the mix owns the gains
    and directions, the decode the latents and the budget)."""

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
        self.lead = LeadSizer(core.sample_rate_hz, ring.capacity, core.mix_frames)
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
        self._mix_beat_s = time.perf_counter()  # mix thread only
        self._decode_beat_s = self._mix_beat_s  # decode thread only
        self._decoder = (threading.Thread(target=self._run_decode, name="memoire-decode", daemon=True)
                         if just_in_time else None)
        self._need = threading.Event()  # mix -> decode: a block was used up; look at the queue
        self._ready = threading.Event()  # decode -> mix: a block was prepared
        self.decode_error: BaseException | None = None  # the decode thread died of it (decode thread)
        self._prep_fault: ModelFault | None = None  # the model failed in prepare (decode thread)
        self.decode_priority: str | None = "normal" if just_in_time else None  # the decode thread's; None: none
        self._decode_tid = 0  # the decode thread's kernel id once it has asked for real-time
        # Written by the synth thread only, read by the control loop (the supervisor):
        self.fault: ModelFault | None = None  # the model failed: this thread plays silence from then on
        self.slow_rtf: float | None = None  # set once when the decode is slower than real time, sustained
        self._last_good: np.ndarray | None = None  # the last block rendered (for the fade on a fault)
        self._owed = np.zeros((0, core.channels), np.float32)  # audio to queue before anything else
        self._work_seen = 0.0  # the core's work_s at the last _measure
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
        if self._decoder is not None:
            self._decoder.start()

    @property
    def heartbeat_s(self) -> float:
        """time.perf_counter() of the last loop of the thread that looped least recently (a decode
        stuck in the model stalls the sound as surely as a stuck mix)."""
        if self._decoder is None:
            return self._mix_beat_s
        return min(self._mix_beat_s, self._decode_beat_s)

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
        self._need.set()
        self._ready.set()
        if self._thread.ident is not None:  # started (an engine closed before start has none)
            self._thread.join(timeout=timeout_s)
        if self._decoder is not None and self._decoder.ident is not None:
            self._decoder.join(timeout=timeout_s)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    @property
    def alive(self) -> bool:
        if self._decoder is not None and self._decoder.ident is not None and not self._decoder.is_alive():
            return False
        return self._thread.is_alive()

    def _run_decode(self) -> None:
        """The decode thread (just in time): keeps one block prepared ahead of the one being mixed;
        applies field changes (the core's field and banks are the decode side's)."""
        from memoire.audio.model import set_torch_threads

        set_torch_threads(self.torch_threads)
        if self._realtime:
            from memoire.audio.priority import decode_rt_priority, raise_priority

            self._decode_tid = threading.get_native_id()
            self.decode_priority = raise_priority(priority=decode_rt_priority)
        idle_s = self.core.mix_frames / self.core.sample_rate_hz / 4
        try:
            while not self._stop.is_set():
                self._decode_beat_s = time.perf_counter()
                self._need.clear()  # before looking at the queue: a set() from now on is not lost
                if self._field is not None:
                    field_, self._field = self._field, None
                    self.core.set_field(*field_)
                if self._prep_fault is None and self.core.fault is None and self.core.needs_prepare:
                    try:
                        self.core.prepare(self._peek_listener())
                    except ModelFault as e:
                        self._prep_fault = e
                    self._ready.set()
                    continue
                self._need.wait(idle_s)
        except BaseException as e:  # the supervisor reads it (through ``error``) and restarts the synth
            self.decode_error = e
            self._ready.set()

    def _run(self) -> None:
        from memoire.audio.model import set_torch_threads

        set_torch_threads(self.torch_threads)
        if self._realtime:
            from memoire.audio.priority import raise_priority

            self.priority = raise_priority()
        block = self.core.mix_frames  # what one mix writes: a sub-block of a latent block
        rate = self.core.sample_rate_hz
        last_seq = -1
        last_pos = None
        underruns = self.ring.underruns
        try:
            while not self._stop.is_set():
                now = time.perf_counter()
                self._mix_beat_s = now
                self._wake.clear()  # before looking at the ring: a wake() from now on is not lost
                ring = self.ring
                self.latency.poll(self._played(), now, self._device_latency(), ring.last_read, rate)
                if self.decode_error is not None:
                    raise RuntimeError(f"the decode thread stopped: {self.decode_error!r}") from self.decode_error
                if self._field is not None and self._decoder is None:
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
                listener = self._newest()
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
                if audio is None:  # the decode thread is late: nothing to mix yet
                    continue
                if self.just_in_time:  # how far below the lead the queue fell before this block landed
                    self.lead_frames = lead
                    self.lead.add(lead - ring.available(), time.perf_counter())
                ring.write(audio, prime_frames=self.target_fill)
                if self._recorder is not None:
                    self._recorder.write(audio)
        except BaseException as e:  # the supervisor (memoire/audio/supervisor.py) reads it and restarts the synth
            self.error = e

    def _newest(self) -> Listener:
        """The newest pose: read from ``listener_source`` where there is one, else the last set."""
        if self._listener_source is not None:
            newest = self._listener_source()
            if newest is not None:
                self._listener = newest
        return self._listener

    def _on_fault(self, e: ModelFault) -> None:
        """The model failed: the sound ends with ``fade_tail`` of the last good audio (owed to the
        ring before anything else), and the fault is kept for the supervisor."""
        self._owed = fade_tail(self._last_good, round(fault_fade_s * self.core.sample_rate_hz))
        self._last_good = None
        self.fault = e

    def _peek_listener(self) -> Listener:
        """The newest pose, for the decode thread (it reads; only the mix thread writes _listener)."""
        newest = self._listener_source() if self._listener_source is not None else None
        return newest if newest is not None else self._listener

    def _next_block(self, listener: Listener, block: int) -> np.ndarray | None:
        """The next audio to queue: owed fade audio first, silence after a model fault, else the
        next mixed sub-block (decoding a block first where none is prepared; with the decode
        thread, waiting up to a quarter of a sub-block for it, else None). A ModelFault ends the
        sound with ``fade_tail`` and is kept in ``fault`` (the supervisor reports it); the thread
        goes on writing silence, so the output keeps its pace and nothing the model returned
        reaches the ring."""
        if self._decoder is not None and self.fault is None and not self.core.prepared_frames:
            if self._prep_fault is not None:
                self._on_fault(self._prep_fault)
            else:
                self._ready.clear()
                if not self.core.prepared_frames:
                    self._ready.wait(block / self.core.sample_rate_hz / 4)
                if not self.core.prepared_frames and self._prep_fault is None:
                    return None
        if not len(self._owed) and self.fault is None:
            try:
                if self._decoder is None and self.core.needs_prepare:
                    self.core.prepare(listener)
                if self._prep_fault is not None and not self.core.prepared_frames:
                    raise self._prep_fault
                audio = self.core.mix(listener)
                self._need.set()
            except ModelFault as e:
                self._on_fault(e)
            else:
                self._last_good = audio
                work = self.core.stats.work_s
                self._measure(work - self._work_seen, len(audio) / self.core.sample_rate_hz)
                self._work_seen = work
                return audio
        if len(self._owed):
            audio, self._owed = self._owed[:block], self._owed[block:]
            return audio
        return np.zeros((block, self.core.channels), np.float32)

    def _measure(self, decode_s: float, audio_s: float) -> None:
        """Judge the synth's speed (``decode_s``: its work for ``audio_s`` of audio) over the last
        ``slow_window_s`` of wall time (see slow_rtf)."""
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
                if self._decode_tid:
                    lower_priority(self._decode_tid)
                    self.decode_priority = "normal (slower than real time)"


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
