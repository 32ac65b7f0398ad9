"""Plane geometry the editor needs for picking and drawing (pure maths, level metres or pixels).

Pure functions, no state: call from any thread (the editor calls them on its main thread).
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

# A polygon whose signed area is below this (square metres) is degenerate: its centroid is the
# mean of its corners.
degenerate_area_m2 = 1e-9
# Zones with no known sound colour get hues spaced by the golden ratio from this start hue
# (0..1, a blue), at this saturation and value: neighbouring zones never look alike.
zone_hue_start = 0.58
zone_hue_step = 0.618034
zone_hue_saturation = 0.75
zone_hue_value = 0.95
# Corners of a grown polygon are rounded with this many straight pieces.
outline_arc_steps = 6
# Rooms get hues by the same golden-ratio step from another start (a green), paler than the zones'
# (a tint under the zones, not a zone's colour).
room_hue_start = 0.3
room_hue_saturation = 0.55
room_hue_value = 1.0


def zone_hue(i: int) -> tuple[int, int, int]:
    """A distinct sRGB colour for the zone at index ``i`` (when its sound's colour is unknown)."""
    r, g, b = colorsys.hsv_to_rgb((zone_hue_start + i * zone_hue_step) % 1.0, zone_hue_saturation, zone_hue_value)
    return int(r * 255), int(g * 255), int(b * 255)


def room_hue(i: int) -> tuple[int, int, int]:
    """A distinct sRGB colour for the room at index ``i`` (memoire/world/acoustics.py's order)."""
    r, g, b = colorsys.hsv_to_rgb((room_hue_start + i * zone_hue_step) % 1.0, room_hue_saturation, room_hue_value)
    return int(r * 255), int(g * 255), int(b * 255)


def nearest_in_shape(shape, xy) -> tuple[float, float]:
    """The point of a zone's inner region (a ``Circle`` or ``Polygon``, memoire/world/level.py)
    nearest ``xy``: ``xy`` itself inside it (where ``emitter = "nearest"`` puts the sound)."""
    x, y = float(xy[0]), float(xy[1])
    if float(np.ravel(shape.distance_outside(np.array([[x, y]])))[0]) <= 0.0:
        return x, y
    if hasattr(shape, "radius_m"):
        cx, cy = shape.center
        d = math.hypot(x - cx, y - cy)
        return cx + (x - cx) * shape.radius_m / d, cy + (y - cy) * shape.radius_m / d
    best, out = math.inf, (x, y)
    pts = shape.points
    for k in range(len(pts)):
        (ax, ay), (bx, by) = pts[k], pts[(k + 1) % len(pts)]
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        px, py = ax + t * dx, ay + t * dy
        d = math.hypot(x - px, y - py)
        if d < best:
            best, out = d, (px, py)
    return out


def centroid(points) -> tuple[float, float]:
    """The area centroid of a polygon (the mean of its corners when it has no area)."""
    pts = np.asarray(points, dtype=np.float64)
    x, y = pts[:, 0], pts[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    a = cross.sum() / 2
    if abs(a) < degenerate_area_m2:
        return float(x.mean()), float(y.mean())
    return float(((x + xn) * cross).sum() / (6 * a)), float(((y + yn) * cross).sum() / (6 * a))


def segment_distance(p, a, b) -> float:
    """The distance from point ``p`` to the segment ``a``-``b`` (same units as the points)."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


def offset_outline(points, d: float, arc_steps: int = outline_arc_steps) -> list[tuple[float, float]]:
    """The outline of a polygon grown by ``d`` metres (edges pushed out, corners rounded):
    where a polygon zone's falloff ends."""
    pts = [tuple(map(float, p)) for p in points]
    n = len(pts)
    area = 0.5 * sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))
    sign = 1.0 if area > 0 else -1.0
    normals = []
    for i in range(n):
        (ax, ay), (bx, by) = pts[i], pts[(i + 1) % n]
        length = math.hypot(bx - ax, by - ay) or 1.0
        normals.append((sign * (by - ay) / length, -sign * (bx - ax) / length))
    out = []
    for i in range(n):
        n_prev, n_next = normals[i - 1], normals[i]
        a0, a1 = math.atan2(n_prev[1], n_prev[0]), math.atan2(n_next[1], n_next[0])
        da = (a1 - a0 + math.pi) % (2 * math.pi) - math.pi
        vx, vy = pts[i]
        for k in range(arc_steps + 1):
            ang = a0 + da * k / arc_steps
            out.append((vx + d * math.cos(ang), vy + d * math.sin(ang)))
    return out
