"""The synth's voices: one neural voice per zone and one bed voice, decoded in one batched call.

What each voice plays (per latent frame; m is the terrain's share of the field, memoire/world/
field.py ``field_mix``: "zones" 0, "terrain" 1, "mix" the level's terrain_mix; T(p) the terrain's
latent at the listener):

- zone voice i: its anchor z_i, mixed toward the terrain as the one-voice field did,
  (1 - m) z_i + m T(p), glided with the zone's fade_s (and the synth's latent speed cap), plus the
  anchor's own motion (``MotionPlayer``: its encoded corpus audio around z_i). Its gain is how the
  zone reaches the listener (memoire/audio/scene.py: the zone's curve value; walls and distance
  once the level's acoustics give them) times its live gain (OSC). Under "terrain" there are no
  zone voices (every one would play T(p)): the bed is the whole sound.
- the bed voice: the rest latent (1 - m) z_rest + m T(p) with the rest's motion ("zones", "mix"),
  or the terrain T(p) alone ("terrain"), glided with [sound] smoothing_s; its gain is the rest
  weight 1 - coverage (where no zone reaches; "terrain": 1). Not directional.
- a latent override (OSC /memoire/latent) is played by the bed at gain 1, without the rest's
  motion (the override is the latent, as the one-voice synth played it); the zone voices fade out.

The budget: the decoder's batch has ``budget + 1`` rows (slots), fixed for the session (a model
re-creates or slices its streaming caches when the batch size changes, which would lose every
voice's past); slot 0 is the bed's. The zone voices with the highest audibility (gain x live gain
x priority, a voice already real counting ``keep_factor`` more, so two voices near the boundary
do not trade places every block) hold the other slots: they are *real* (decoded, heard); the rest
are *virtual* (their latent path and motion go on, nothing is decoded). A voice that turns real
first decodes ``settle_frames`` in its slot at gain 0 (its row's cache still holds the slot's
previous voice: these frames replace it), then fades in over ``voice_fade_s``; one that turns
virtual fades out over the same time, and its slot is free once it is silent. A voice waiting for
a slot stays virtual until one is free, so at most ``budget`` zone voices are ever real.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A voice turning real or virtual fades over 0.4 s: long enough that its onset is not an event of
# its own (a zone's fade_s is ~1-2 s; this is the part the budget adds), short enough that a voice
# the visitor walks toward is heard within a step or two (1.4 m/s walking).
voice_fade_s = 0.4
# Frames a voice decodes silently in a slot before it fades in (the slot's streaming cache then
# holds its own past; NeuralDecoder warm-ups settle a cache in 2 frames too).
settle_frames = 2
# Below this gain (-60 dB) a zone is inaudible: it never holds a slot.
audible_gain = 1e-3
# A real voice's audibility counts this much more when the budget ranks (3.5 dB of hysteresis).
keep_factor = 1.5
# Motion playback (see MotionPlayer): segments of 128 latent frames (5.9 s at 2048 samples,
# 44.1 kHz) from random places in a class's encoded audio, joined by an 8-frame (0.37 s)
# crossfade in latent space, so a zone never repeats a loop you could learn by heart.
motion_segment_frames = 128
motion_join_frames = 8


class MotionPlayer:
    """Plays an anchor's motion (frames - mean, shape (T, latent_dim)) as an endless sequence.

    Deterministic for a seed (offline renders repeat exactly). One frame per ``next()``.
    """

    def __init__(self, motion: np.ndarray, seed: int):
        self.frames = np.asarray(motion, dtype=np.float64)
        self.total = len(self.frames)
        self.rng = np.random.default_rng(seed)
        self.segment = min(motion_segment_frames, self.total)
        self.join = min(motion_join_frames, self.segment // 2)
        self.start = self._pick()
        self.pos = 0
        self.next_start: int | None = None

    def _pick(self) -> int:
        return int(self.rng.integers(0, self.total - self.segment + 1))

    def next(self) -> np.ndarray:
        cur = self.frames[(self.start + self.pos) % self.total]
        remaining = self.segment - self.pos
        if remaining <= self.join:
            if self.next_start is None:
                self.next_start = self._pick()
            k = self.join - remaining  # 0 .. join-1 into the next segment
            a = (k + 1) / (self.join + 1)
            cur = (1 - a) * cur + a * self.frames[(self.next_start + k) % self.total]
        self.pos += 1
        if self.pos >= self.segment:
            assert self.next_start is not None or self.join == 0
            self.start = self.next_start if self.next_start is not None else self._pick()
            self.pos = self.join  # the crossfade already played the next segment's first frames
            self.next_start = None
        return cur


def fade_shape(f: float) -> float:
    """The budget's fade position 0..1 -> amplitude (raised cosine: no corner at either end)."""
    return 0.5 - 0.5 * math.cos(math.pi * min(max(f, 0.0), 1.0))


@dataclass
class Voice:
    """One voice's state (the synth thread's)."""

    zone: int  # zone index, or -1: the bed
    z: np.ndarray  # glided latent (latent_dim,) float64
    player: MotionPlayer | None
    gain: float = 0.0  # smoothed reach gain x live gain, before the budget's fade
    target_gain: float = 0.0  # the reach gain x live gain at the last placement (what the budget ranks)
    tau_s: float = 1.0  # its latent's and gain's time constant (the zone's fade_s; the bed's smoothing)
    motion: float = 1.0  # how much of its anchor's motion rides on its latent (0 under a latent override)
    fade: float = 0.0  # the budget's fade position 0..1
    slot: int = -1  # batch row; -1: virtual
    settle: int = 0  # frames still to decode silently before fading in
    wanted: bool = False  # the budget wants it real
    azimuth_rad: float = 0.0
    lowpass_hz: float = 1e9
    room: int = -1
    frame: np.ndarray | None = None  # the latent decoded for it this frame (latent_dim,)

    @property
    def amplitude(self) -> float:
        """What it is heard at now: its gain under the budget's fade (0 while settling)."""
        return 0.0 if self.settle > 0 else self.gain * fade_shape(self.fade)


class VoiceBank:
    """One decoder's voices: a field, a pose, a batch of ``slots`` rows. ``advance`` moves every
    voice's latent one frame and returns the batch's latents, which the SynthCore decodes a block
    ahead; ``place`` sets what the voices are heard at for the newest pose, each time the core
    mixes (memoire/audio/synth.py). The two may run on two threads: ``advance`` writes the
    latents, the motion, the budget's slots and fades; ``place`` the gains, directions, low-passes
    and rooms; each only reads the other's. Two banks play at once only during a jump's
    crossfade (teleport, level reload, model switch)."""

    def __init__(self, decoder, field_, info, budget: int, frame_s: float, max_speed: float,
                 reach, x_m: float, y_m: float, heading_rad: float, t_s: float, *, snap: bool):
        """``decoder``: a BatchDecoder with ``budget + 1`` slots. ``reach(x, y, h, zone, t)`` ->
        VoiceReach. ``snap``: start every voice at its target, real at full fade (a fresh bank
        that is crossfaded in, so it needs no fade of its own)."""
        self.decoder = decoder
        self.field = field_
        self.info = info
        self.budget = int(budget)
        self.slots = self.budget + 1
        self.frame_s = frame_s
        self.max_step = max_speed * frame_s
        self.reach = reach
        # Two writers, two poses: ``place`` (the mix) sets ``pose``, ``advance`` (the decode, a block
        # ahead, maybe on its own thread) ``latent_pose``; each reads its own.
        self.pose = (x_m, y_m, heading_rad)
        self.latent_pose = self.pose
        self.motion_for = None
        self.voices: list[Voice] = []
        self._slot_z = np.zeros((self.slots, info.latent_dim), np.float32)  # each row's last latent
        self.reset_motion(t_s, snap=snap)

    # -- the field's parts -------------------------------------------------------------------------

    @property
    def terrain_share(self) -> float:
        f = self.field
        return f.terrain_mix if f.terrain is not None and f.zones.override is None else 0.0

    def _terrain_at(self, x_m: float, y_m: float) -> np.ndarray | None:
        if self.terrain_share <= 0:
            return None
        return np.asarray(self.field.terrain.sample(np.array([[x_m, y_m]])), np.float64)[0]

    def _zone_voices(self) -> bool:
        """Whether the zones have voices of their own (not under a terrain-only field)."""
        return self.terrain_share < 1.0

    def reset_motion(self, t_s: float, *, snap: bool) -> None:
        """Voices for the field's zones and bed (players seeded as the one-voice synth did), their
        latents snapped to the pose. ``snap`` (a new bank, not yet mixed): gains snapped too and
        the audible voices real at once. Without it (a live field change, on the decode side of a
        bank being mixed) a zone's voice is kept, slot, fade and gains and all, with a new motion:
        what the mix owns (gains, directions) is left to the mix."""
        blend = self.field.zones
        motions = list(blend.motions) + [blend.rest_motion]
        old = {v.zone: v for v in self.voices}
        voices = []
        for i, m in enumerate(motions):
            zone = i if i < len(blend.names) else -1
            player = MotionPlayer(m, seed=i) if m is not None else None
            keep = None if snap else old.get(zone)
            if keep is not None:
                keep.player = player
                voices.append(keep)
            else:
                voices.append(Voice(zone, np.zeros(self.info.latent_dim), player))
        self.voices = voices
        self.bed.slot = 0
        self.bed.wanted = True
        self.bed.fade = 1.0
        self.motion_for = self.field.plain
        x, y, h = self.latent_pose
        override = self.field.zones.override is not None
        for v, (z, tau) in zip(voices, self._latent_targets(x, y)):
            v.z = z.copy()
            v.tau_s = tau
            v.motion = 0.0 if override and v.zone < 0 else 1.0
        if snap:
            for v, g in zip(voices, self._gain_targets(voices, x, y, h, t_s)):
                v.gain = v.target_gain = g
            self._budget(first=True)
            for v in self.voices:
                if v.slot >= 0:
                    v.fade, v.settle = 1.0, 0

    @property
    def bed(self) -> Voice:
        return self.voices[-1]

    def _latent_targets(self, x: float, y: float) -> list[tuple[np.ndarray, float]]:
        """Per voice (zones, then the bed): (target latent, time constant s) at (x, y)."""
        blend = self.field.zones
        if blend.override is not None:
            from memoire.world.field import override_fade_s

            out = [(blend.latents[i], float(blend.fade_s[i])) for i in range(len(blend.names))]
            out.append((np.asarray(blend.override, np.float64), override_fade_s))
            return out
        m = self.terrain_share
        terrain = self._terrain_at(x, y)
        out = []
        for i in range(len(blend.names)):
            z = blend.latents[i] if terrain is None else (1 - m) * blend.latents[i] + m * terrain
            out.append((z, float(blend.fade_s[i])))
        rest = blend.rest_latent if terrain is None else (1 - m) * blend.rest_latent + m * terrain
        out.append((rest, float(blend.rest_fade_s)))
        return out

    def _gain_targets(self, voices: list[Voice], x: float, y: float, h: float, t_s: float) -> list[float]:
        """Per voice of ``voices`` (zones, then the bed): the gain it should reach at the pose; sets
        each zone voice's direction, low-pass and source room from its reach."""
        blend = self.field.zones
        if blend.override is not None:
            return [0.0] * len(blend.names) + [1.0]
        live = blend.gains
        cover = 0.0
        out = []
        zone_voices = self._zone_voices()
        for i in range(len(blend.names)):
            g = 0.0
            if zone_voices:
                r = self.reach(x, y, h, i, t_s)
                g = r.gain * (1.0 if live is None else float(live[i]))
                cover = max(cover, g)
                v = voices[i]
                v.azimuth_rad, v.lowpass_hz, v.room = r.azimuth_rad, r.lowpass_hz, r.room
            out.append(g)
        out.append(1.0 if not zone_voices else 1.0 - min(cover, 1.0))
        return out

    # -- the budget -----------------------------------------------------------------------------

    def _budget(self, first: bool = False) -> None:
        """Which zone voices are wanted real (by their reach gain at the last placement), and
        slots for the ones that may start now."""
        prio = self.field.zones.priority
        zones = self.voices[:-1]
        score = []
        for v in zones:
            g = v.target_gain
            a = g * float(prio[v.zone])
            if v.wanted:
                a *= keep_factor
            score.append(a if g > audible_gain else 0.0)
        order = sorted(range(len(zones)), key=lambda i: -score[i])
        want = {i for i in order[: self.budget] if score[i] > 0}
        for i, v in enumerate(zones):
            v.wanted = i in want
        used = {v.slot for v in self.voices if v.slot >= 0}
        free = [s for s in range(1, self.slots) if s not in used]
        for i in order:  # the loudest first get the free slots
            v = zones[i]
            if v.wanted and v.slot < 0 and free:
                v.slot = free.pop(0)
                v.settle = 0 if first else settle_frames
                v.fade = 0.0

    # -- one frame -------------------------------------------------------------------------------

    def advance(self, pose: tuple[float, float, float] | None, t_s: float) -> np.ndarray:
        """Advance every voice's latent one frame (the latent glide, its motion, the budget and
        its fades) for the listener at ``pose`` (None: where the bank was, as the outgoing bank of
        a crossfade stays). Returns the batch's latents (slots, latent_dim) to decode. The budget
        ranks by the gains of the last ``place``; what the voices are heard at is ``place``'s."""
        if pose is not None:
            self.latent_pose = pose
        x, y, _ = self.latent_pose
        targets = self._latent_targets(x, y)
        self._budget()
        fade_step = self.frame_s / voice_fade_s
        override = self.field.zones.override is not None
        for v, (target, tau) in zip(self.voices, targets):
            v.tau_s = tau
            alpha = 1.0 - math.exp(-self.frame_s / max(tau, 1e-3))
            step = alpha * (target - v.z)
            norm = float(np.linalg.norm(step))
            if norm > self.max_step:
                step *= self.max_step / norm
            v.z = v.z + step
            v.motion += alpha * ((0.0 if override and v.zone < 0 else 1.0) - v.motion)
            # players advance, heard or not: time goes on
            frame = v.z + v.motion * v.player.next() if v.player is not None else v.z
            v.frame = frame
            if v.slot < 0:
                continue
            if v.settle > 0:
                v.settle -= 1
            elif v.wanted:
                v.fade = min(1.0, v.fade + fade_step)
            else:
                v.fade = max(0.0, v.fade - fade_step)
            self._slot_z[v.slot] = frame
        return self._slot_z

    def place(self, pose: tuple[float, float, float] | None, t_s: float, dt_s: float) -> None:
        """The voices' gains, directions, low-passes and rooms for the listener at ``pose`` (None:
        where the bank was) at ``t_s``: each gain glides toward its reach with the voice's time
        constant over ``dt_s`` (the time since the last placement)."""
        if pose is not None:
            self.pose = pose
        x, y, h = self.pose
        voices = self.voices  # one list throughout (the decode side may swap in a new one)
        for v, g in zip(voices, self._gain_targets(voices, x, y, h, t_s)):
            v.target_gain = g
            v.gain += (1.0 - math.exp(-dt_s / max(v.tau_s, 1e-3))) * (g - v.gain)

    def release_silent(self) -> list[int]:
        """Free the slots of voices that have faded out (after the block is mixed). Returns them."""
        freed = []
        for v in self.voices[:-1]:
            if v.slot >= 0 and not v.wanted and v.fade <= 0.0 and v.settle == 0:
                freed.append(v.slot)
                v.slot = -1
        return freed

    def by_slot(self) -> list[Voice | None]:
        """The voice holding each slot (None: a free slot; it decodes its last latent, unheard)."""
        out: list[Voice | None] = [None] * self.slots
        for v in self.voices:
            if v.slot >= 0:
                out[v.slot] = v
        return out

    def counts(self) -> tuple[int, int]:
        """(real, virtual) voices: real ones hold a slot (the bed's included)."""
        real = sum(1 for v in self.voices if v.slot >= 0)
        return real, len(self.voices) - real
