"""Where the moving props are at a time: pure functions of a ``Prop`` and the simulation clock.

The picture (memoire/render/animated.py) draws the flock's birds here; the spatial sound can put
its moving emitters at the same points by calling the same function, so what is seen flying is
where it is heard. Level metres (x east, y south) and metres above the ground; seconds of the
game's simulation clock (the same time gives the same positions: renders are repeatable).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from memoire.world.level import Prop

# A flock does not fly a perfect ring: each bird keeps its own place in a loose band around the
# circle (a share of the radius across, metres up and down) and the band breathes slowly, so it
# reads as a flock turning together, not a carousel. Pigeon keepers' flocks wheel in a band a few
# metres deep (the birds follow the leader's turn).
FLOCK_SPREAD_FRACTION = 0.22  # of the radius, across the circle
FLOCK_SPREAD_UP_M = 1.6  # up and down
FLOCK_ARC_RAD = 1.4  # the flock's length along its circle, radians (the birds trail the leader)
FLOCK_BREATH_PERIOD_S = 9.0  # the band widens and narrows once in this time
WINGBEAT_HZ = 4.5  # a pigeon's wingbeat is 4-6 beats a second in level flight


def _bird_offsets(prop: Prop) -> np.ndarray:
    """Each bird's fixed place in the flock, (birds, 3): along the arc (radians), across (m), up (m).
    Seeded by the flock's position, so it looks the same on every load. Read-only: made once per
    flock (the picture asks three times a frame)."""
    return _offsets(prop.at, prop.birds, prop.radius_m)


@functools.lru_cache(maxsize=64)
def _offsets(at: tuple[float, float], birds: int, radius_m: float) -> np.ndarray:
    seed = int(round(at[0] * 1000)) * 100003 + int(round(at[1] * 1000)) + birds
    rng = np.random.default_rng(abs(seed))
    n = birds
    along = np.linspace(0.0, FLOCK_ARC_RAD, n) + rng.uniform(-0.08, 0.08, n)
    across = rng.uniform(-1.0, 1.0, n) * FLOCK_SPREAD_FRACTION * radius_m
    up = rng.uniform(-1.0, 1.0, n) * FLOCK_SPREAD_UP_M
    out = np.stack([along, across, up], axis=-1)
    out.setflags(write=False)
    return out


def flock_positions(prop: Prop, t_s: float) -> np.ndarray:
    """Positions (birds, 3) of a flock's birds at simulation time ``t_s``: columns x, y (level
    metres) and height above the ground (m). The flock circles ``prop.at`` at ``prop.radius_m``
    and ``prop.height_m``, clockwise seen from above (as the level's y grows south, that is
    increasing angle), at ``prop.speed_mps``."""
    if prop.kind != "flock":
        raise ValueError(f"flock_positions needs a flock prop, got a {prop.kind}")
    off = _bird_offsets(prop)
    omega = prop.speed_mps / max(prop.radius_m, 1e-6)  # rad/s around the circle
    breath = 1.0 + 0.3 * math.sin(2 * math.pi * t_s / FLOCK_BREATH_PERIOD_S)
    angle = omega * t_s - off[:, 0]
    rad = prop.radius_m + off[:, 1] * breath
    cx, cy = prop.at
    return np.stack([cx + rad * np.cos(angle), cy + rad * np.sin(angle),
                     prop.height_m + off[:, 2] * breath + 0.4 * np.sin(angle * 2.0 + off[:, 1])], axis=-1)


def wing_phase(prop: Prop, t_s: float) -> np.ndarray:
    """Each bird's wing angle factor in [-1, 1] at ``t_s`` (birds,): +1 wings up, -1 down; every
    bird beats at WINGBEAT_HZ from its own phase, with a glide now and then."""
    off = _bird_offsets(prop)
    phase = 2 * math.pi * WINGBEAT_HZ * t_s + off[:, 0] * 17.0
    glide = np.sin(0.5 * t_s + off[:, 0] * 5.0) > 0.55  # wings held out while gliding
    return np.where(glide, 0.15, np.sin(phase))
