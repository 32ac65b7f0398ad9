"""The spatial stage: where each voice's sound comes from, and the mix onto the output layout.

Per block, for each voice (memoire/audio/voices.py) the stage asks how its zone reaches the
listener (``reach``: a gain, a low-pass cutoff, a head-relative azimuth, the source's room) and
then mixes the decoded mono rows onto the layout's channels (``mix``). The bed voice (the rest /
terrain latent) is not directional: it goes to every channel but the LFE at an equal amplitude
sqrt(2 / channels), so its power is the same on every layout and on two channels it plays at unity
each, as the old single voice did at the centre of the stereo pan.

Azimuths follow the issue-11 interface: radians relative to the listener's head, 0 = straight
ahead, positive = clockwise = to the right, in (-pi, pi]. Headings are compass radians: forward
(sin h, -cos h), right (cos h, sin h).

No torch here: the synth thread calls it between decodes.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memoire.audio.spatial.panning import LAYOUTS, layout, layout_channels

# The output layouts a level ([sound] output), the kiosk config and --output may name
# (memoire/audio/spatial/panning.py: speaker azimuths, the LFE).
OUTPUT_LAYOUTS = tuple(LAYOUTS)
default_layout = "stereo"


def layouts_that_fit(channels: int) -> tuple[str, ...]:
    """The layouts a device with ``channels`` output channels can play."""
    return tuple(n for n in OUTPUT_LAYOUTS if layout_channels(n) <= channels)


def bed_gains(name: str) -> np.ndarray:
    """Per channel, the non-directional bed's amplitude: sqrt(2 / live channels) on every channel
    but the silent ones (5.1's LFE): unity on two channels, the same power on any layout."""
    lay = layout(name)
    g = np.array([0.0 if a is None else 1.0 for a in lay.speakers_deg], np.float32)
    return g * np.float32(math.sqrt(2.0 / g.sum()))


def head_azimuth(direction_xy: tuple[float, float], heading_rad: float) -> float:
    """A direction in level coordinates (x east, y south) -> azimuth relative to the head."""
    dx, dy = direction_xy
    if dx == 0.0 and dy == 0.0:
        return 0.0
    fwd = dx * math.sin(heading_rad) - dy * math.cos(heading_rad)
    right = dx * math.cos(heading_rad) + dy * math.sin(heading_rad)
    az = math.atan2(right, fwd)
    return math.pi if az <= -math.pi else az


@dataclass(frozen=True)
class VoiceReach:
    """How one voice's zone reaches the listener this block."""

    gain: float  # linear 0..1, before the zone's live gain and the budget's fade
    lowpass_hz: float  # at or above Nyquist: open
    azimuth_rad: float  # head-relative (see the module's docstring)
    room: int = -1  # the source's room (-1: outside every room)


class ZoneReach:
    """Reach from the zone blend alone (a level's zones, no walls or rooms): the gain is the
    zone's curve value at the listener (memoire/world/field.py, before live gains), the direction
    the centre of the zone's bounds, the low-pass open. Standing within ``inside_spread_m`` of that
    centre the voice comes from ahead (a zone you stand in surrounds you)."""

    inside_spread_m = 3.0

    def __init__(self, blend, sample_rate_hz: int):
        self.blend = blend  # ZoneBlend without live controls
        self.open_hz = sample_rate_hz / 2.0
        self._at: tuple[float, float] | None = None
        self._cover = np.zeros(0)

    def reach(self, x_m: float, y_m: float, heading_rad: float, zone: int, t_s: float) -> VoiceReach:
        if self._at != (x_m, y_m):  # every zone's curve value at once, kept for the block's other zones
            self._at, self._cover = (x_m, y_m), self.blend.coverage(np.array([[x_m, y_m]]))[0]
        c = float(self._cover[zone])
        x0, y0, x1, y1 = self.blend.shapes[zone].bounds()
        dx, dy = (x0 + x1) / 2 - x_m, (y0 + y1) / 2 - y_m
        if math.hypot(dx, dy) < self.inside_spread_m:
            return VoiceReach(c, self.open_hz, 0.0)
        return VoiceReach(c, self.open_hz, head_azimuth((dx, dy), heading_rad))


def level_acoustics(level):
    """The level's acoustics (memoire/world/acoustics.py ``Acoustics``: rooms, gates, emitters;
    fast, built per level load) for the synth's voices."""
    from memoire.world.acoustics import Acoustics

    return Acoustics.build(level)


# Room reverb (memoire/audio/spatial/reverb.py RoomReverb: one mono send per room, unit-energy
# IRs, so a send of RMS x comes back as RMS x of wet sound). Each voice sends its heard amplitude
# (walls and gates included: a neighbouring room's reverb arrives as its sound does, through its
# gate) to its source room's reverb; the bed sends to the listener's room. The listener's room
# sets the wet level: ``reverb_send_db`` for a room ringing ``reference_rt60_s``, scaled by
# sqrt(RT60 / reference) (reverberant energy grows with the decay time), held within
# ``wet_scale_range`` so a dead corner is not dry and a long lane not drowned.
reverb_send_db = -9.0  # the wet sound 9 dB under the dry at the reference room: a courtyard's ratio
reference_rt60_s = 1.0
wet_scale_range = (0.5, 1.5)
# Outside every room (the level has none, or a cell the map leaves out): no wet sound.
# IRs are computed in the background on a level load; until then the sound is dry, then the wet
# fades in over this long (a reverb that appears at once would be an event of its own).
reverb_fade_in_s = 1.0


def rooms_cache_path(level_path: Path) -> Path:
    """Where a level's room IRs are cached: beside it, ``NAME.rooms.npz`` (like ``NAME.terrain.npz``)."""
    return level_path.with_name(level_path.stem + ".rooms.npz")


class RoomIrs:
    """A level's room impulse responses: read from the cache beside the level when its key
    matches (the rooms' parameters and the sample rate, memoire/audio/spatial/reverb.py
    ``irs_key``), else computed (``background``: on a thread of its own, the synth plays dry
    meanwhile; else now) and cached. ``irs`` is None until ready, then set once (one store: the
    synth thread reads it). A cache that cannot be written is skipped (the IRs still play)."""

    def __init__(self, acoustics, level_path: Path, sample_rate_hz: int, *, background: bool):
        from memoire.audio.spatial import irs_key, load_irs

        self.rooms = tuple(acoustics.rooms)
        self.params = [room_params(r, i) for i, r in enumerate(self.rooms)]
        self.rate = int(sample_rate_hz)
        self.path = rooms_cache_path(Path(level_path))
        self.key = irs_key(self.params, self.rate)
        self.irs: list[np.ndarray] | None = None
        self.error: str | None = None
        if not self.rooms:
            self.irs = []
            return
        cached = load_irs(self.path, self.key)
        if cached is not None:
            self.irs = cached
        elif background:
            threading.Thread(target=self._compute, name="memoire-room-irs", daemon=True).start()
        else:
            self._compute()

    def _compute(self) -> None:
        from memoire.audio.spatial import room_irs, save_irs

        try:
            irs = room_irs(self.params, self.rate)
        except Exception as e:  # the sound stays dry; said by whoever reads ``error``
            self.error = f"room reverb not computed ({e}); the sound stays dry"
            return
        try:
            save_irs(self.path, self.key, irs)
        except OSError:
            pass  # a read-only level folder: computed again next time
        self.irs = irs


def room_params(room, index: int):
    """D's Room (memoire/world/acoustics.py) as what the IR maker needs: its size, its RT60 (from
    its materials, or the designer's), open to the sky when one of its surfaces is the sky."""
    from memoire.audio.spatial import RoomParams

    open_top = any(surface == "sky" for surface, _, _ in room.materials)
    return RoomParams(size_m=tuple(float(v) for v in room.size_m), rt60_s=float(room.rt60_s), open_top=open_top,
                      seed=index)


def wet_scale(rt60_s: float) -> float:
    """The listener's room's wet level relative to ``reverb_send_db`` (see above)."""
    lo, hi = wet_scale_range
    return min(max(math.sqrt(max(rt60_s, 0.0) / reference_rt60_s), lo), hi)
