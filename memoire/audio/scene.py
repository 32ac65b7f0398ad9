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
from dataclasses import dataclass

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

    def reach(self, x_m: float, y_m: float, heading_rad: float, zone: int, t_s: float) -> VoiceReach:
        c = float(self.blend.coverage(np.array([[x_m, y_m]]))[0, zone])
        x0, y0, x1, y1 = self.blend.shapes[zone].bounds()
        dx, dy = (x0 + x1) / 2 - x_m, (y0 + y1) / 2 - y_m
        if math.hypot(dx, dy) < self.inside_spread_m:
            return VoiceReach(c, self.open_hz, 0.0)
        return VoiceReach(c, self.open_hz, head_azimuth((dx, dy), heading_rad))
