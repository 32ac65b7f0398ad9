"""Speaker layouts and the gains that place a mono source among their speakers.

Azimuths are radians relative to the listener's head: 0 = straight ahead, positive = clockwise
(to the right), in (-pi, pi]; the layouts' speaker azimuths below are degrees in the same sense.

- stereo (L, R at -30/+30 deg): an equal-power sine/cosine pan law over the azimuth. Two speakers
  in front cannot place a sound behind, so a source behind is folded to the front by mirroring
  about the ears' axis (135 deg sounds at 45, 180 at 0): a source at +-90 deg is in one speaker
  alone, one at 0 (or 180) in both at -3 dB each, one at +-30 deg (over a speaker) at 1.7:1 in
  amplitude toward it (0.87, 0.5). L^2 + R^2 = 1 everywhere.
- quad, 5.1, ring8: 2-D vector base amplitude panning (Pulkki 1997, "Virtual sound source
  positioning using vector base amplitude panning", J. Audio Eng. Soc. 45(6)): the source
  direction is written as a non-negative combination of the two speakers around it (g = p L^-1)
  and the pair's gains are normalised to unit power (g1^2 + g2^2 = 1). A source over a speaker
  plays from it alone.
- 5.1 (WAV/SMPTE order L R C LFE Ls Rs): the LFE channel is silent. It is a low-frequency
  *effects* channel that a playback system adds ~10 dB above the mains and that bass management
  already feeds from the mains' low end, so a low-passed sum there would double the bass; the
  soundscape has no separate effects track to put in it.
- binaural: two ears, placed by the HRTF (memoire/audio/spatial/hrtf.py), not by gains here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    name: str
    # per output channel, in channel order: the speaker's azimuth in degrees (clockwise from the
    # front), or None for a channel with no direction (5.1's LFE)
    speakers_deg: tuple[float | None, ...]

    @property
    def channels(self) -> int:
        return len(self.speakers_deg)

    @property
    def silent_channels(self) -> tuple[int, ...]:
        """Channels that carry nothing of the soundscape (no direction: the LFE)."""
        return tuple(i for i, a in enumerate(self.speakers_deg) if a is None)


LAYOUTS: dict[str, Layout] = {
    "binaural": Layout("binaural", (-90.0, 90.0)),  # the ears (for the reverb's channel count; HRTF-placed)
    "stereo": Layout("stereo", (-30.0, 30.0)),
    "quad": Layout("quad", (-45.0, 45.0, -135.0, 135.0)),  # FL FR BL BR
    "5.1": Layout("5.1", (-30.0, 30.0, 0.0, None, -110.0, 110.0)),  # L R C LFE Ls Rs
    "ring8": Layout("ring8", tuple(float(a) for a in range(0, 360, 45))),  # channel 1 = front, clockwise
}


def layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"output layout {name!r}: valid are {', '.join(LAYOUTS)}") from None


def layout_channels(name: str) -> int:
    """Output channels of a layout: binaural and stereo 2, quad 4, 5.1 6, ring8 8."""
    return layout(name).channels


def stereo_gains(azimuth_rad: np.ndarray) -> np.ndarray:
    """(S, 2) equal-power gains (L, R) for azimuths (S,), rear sources folded to the front."""
    az = np.angle(np.exp(1j * np.asarray(azimuth_rad, np.float64)))  # wrap to (-pi, pi]
    folded = np.where(np.abs(az) > math.pi / 2, np.sign(az) * math.pi - az, az)  # mirror about the ears' axis
    theta = (folded / math.pi + 0.5) * (math.pi / 2)  # -90 deg -> 0 (all left), +90 -> pi/2 (all right)
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


class Vbap:
    """Pairwise 2-D VBAP over a layout's directional speakers (precomputed pair inverses)."""

    def __init__(self, lay: Layout):
        self.channels = lay.channels
        live = [(i, math.radians(a)) for i, a in enumerate(lay.speakers_deg) if a is not None]
        live.sort(key=lambda t: t[1] % (2 * math.pi))
        self.pairs = []
        inverses = []
        for k in range(len(live)):
            (ia, aa), (ib, ab) = live[k], live[(k + 1) % len(live)]
            # unit vectors as (right, forward) = (sin a, cos a): clockwise azimuths
            base = np.array([[math.sin(aa), math.cos(aa)], [math.sin(ab), math.cos(ab)]])
            inverses.append(np.linalg.inv(base))
            self.pairs.append((ia, ib))
        self.inv = np.array(inverses)  # (P, 2, 2)
        self.idx = np.array(self.pairs)  # (P, 2) channel indices

    def gains(self, azimuth_rad: np.ndarray) -> np.ndarray:
        """(S, channels) gains, unit power, for azimuths (S,)."""
        az = np.asarray(azimuth_rad, np.float64)
        p = np.stack([np.sin(az), np.cos(az)], axis=1)  # (S, 2)
        g = np.einsum("si,pij->spj", p, self.inv)  # (S, P, 2): p = g L, so g = p L^-1
        ok = g.min(axis=2) >= -1e-9
        # the pair whose gains are both non-negative (on a boundary either neighbour; take the first)
        pick = np.argmax(ok, axis=1)
        gp = np.clip(g[np.arange(len(az)), pick], 0.0, None)
        gp /= np.maximum(np.sqrt((gp ** 2).sum(axis=1, keepdims=True)), 1e-12)
        out = np.zeros((len(az), self.channels))
        ch = self.idx[pick]  # (S, 2)
        rows = np.arange(len(az))
        out[rows, ch[:, 0]] += gp[:, 0]
        out[rows, ch[:, 1]] += gp[:, 1]
        return out


class Panner:
    """The gains for one layout (not binaural): ``gains(azimuth_rad)`` -> (S, channels)."""

    def __init__(self, name: str):
        lay = layout(name)
        if name == "binaural":
            raise ValueError("binaural output is placed by an HRTF, not by speaker gains")
        self.layout = lay
        self.channels = lay.channels
        self._vbap = None if name == "stereo" else Vbap(lay)

    def gains(self, azimuth_rad: np.ndarray) -> np.ndarray:
        az = np.atleast_1d(np.asarray(azimuth_rad, np.float64))
        return stereo_gains(az) if self._vbap is None else self._vbap.gains(az)
