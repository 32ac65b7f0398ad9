"""The player: where they stand and look, how keys and the mouse move them (pure Python).

Conventions: level metres, x east, y south; headings in compass radians (0 = north = -y,
pi/2 = east = +x), so the forward vector is (sin h, -cos h) and right is (cos h, sin h).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

# Preferred human walking speed is about 1.4 m/s (Bohannon 1997, ~1.3-1.5 m/s for adults);
# a light run about 3 m/s.
walk_speed_mps = 1.4
run_speed_mps = 3.0
# Mouse look: 0.15 degrees per pixel, a common FPS default (a 1280 px sweep = 192 degrees).
mouse_deg_per_px = 0.15
max_pitch_deg = 80.0
# The keys that walk (the window's event names).
MOVE_KEYS = ("forward", "back", "left", "right", "run")


@dataclass(frozen=True)
class PlayerState:
    x_m: float
    y_m: float
    heading_rad: float
    pitch_rad: float = 0.0


def looked(state: PlayerState, dx_px: float, dy_px: float) -> PlayerState:
    """The player's view after a mouse move of (dx, dy) pixels: heading turns, pitch is clamped."""
    h = state.heading_rad + math.radians(dx_px * mouse_deg_per_px)
    p = state.pitch_rad - math.radians(dy_px * mouse_deg_per_px)
    p = max(-math.radians(max_pitch_deg), min(math.radians(max_pitch_deg), p))
    return replace(state, heading_rad=h, pitch_rad=p)


def wanted_velocity(keys: dict[str, bool], heading_rad: float) -> tuple[float, float]:
    """Velocity (m/s, level axes) the movement keys ask for, relative to the heading."""
    fwd = (1 if keys.get("forward") else 0) - (1 if keys.get("back") else 0)
    side = (1 if keys.get("right") else 0) - (1 if keys.get("left") else 0)
    if fwd == 0 and side == 0:
        return 0.0, 0.0
    speed = run_speed_mps if keys.get("run") else walk_speed_mps
    vx = fwd * math.sin(heading_rad) + side * math.cos(heading_rad)
    vy = -fwd * math.cos(heading_rad) + side * math.sin(heading_rad)
    norm = math.hypot(vx, vy)
    return speed * vx / norm, speed * vy / norm


def interpolate(a: PlayerState, b: PlayerState, alpha: float) -> PlayerState:
    """The state ``alpha`` (0..1) of the way from ``a`` to ``b``; the heading turns the short way."""
    dh = math.atan2(math.sin(b.heading_rad - a.heading_rad), math.cos(b.heading_rad - a.heading_rad))
    return PlayerState(a.x_m + (b.x_m - a.x_m) * alpha, a.y_m + (b.y_m - a.y_m) * alpha,
                       a.heading_rad + dh * alpha, a.pitch_rad + (b.pitch_rad - a.pitch_rad) * alpha)
