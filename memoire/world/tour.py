"""Walking a tour: a pose (x, y, heading) for each moment, from a level's Bezier tour.

The walker moves along the path by arc length at the tour's speed, eased in and out at the
start, the end and each pause; it pauses ``pause_s`` at the point of the path nearest to each
zone the path passes through, and looks ahead along the path (a point ``look_ahead_m`` further)
so the view turns before the corners rather than at them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memoire.world import bezier
from memoire.world.level import Level, Tour

# Looking 2.5 m ahead: about two steps, enough to turn smoothly into a gate.
look_ahead_m = 2.5
# Easing in and out of stops over this distance: 1.5 m, about a second at walking pace.
ease_m = 1.5


@dataclass(frozen=True)
class TourPlan:
    table: bezier.ArcLengthTable
    speed_mps: float
    stops_m: tuple[float, ...]  # arc-length positions of pauses, ascending
    pause_s: float
    # piecewise timeline: (t_start_s, kind, d0_m, d1_m, duration_s) for walk legs and pauses
    legs: tuple[tuple[float, str, float, float, float], ...]

    @property
    def duration_s(self) -> float:
        t, _, _, _, dur = self.legs[-1]
        return t + dur


def _leg_duration(length_m: float, speed_mps: float) -> float:
    """Duration of a leg walked with a smooth (raised-cosine) ease at both ends.

    Over the ease distances the mean speed is half, so each eased end costs ease/speed extra.
    """
    e = min(ease_m, length_m / 2)
    return (length_m + 2 * e) / speed_mps if length_m > 0 else 0.0


def plan_tour(level: Level, tour: Tour) -> TourPlan:
    table = tour.path.table()
    stops = []
    if tour.pause_s > 0:
        for zone in level.zones:
            d = zone.shape.distance_outside(table.points)
            if d.min() <= 0.0:  # the path enters the zone's inner region
                inside = np.flatnonzero(d <= 0.0)
                mid = inside[len(inside) // 2]
                stops.append(float(table.cumulative_m[mid]))
    stops = sorted(s for s in stops if 0.5 < s < table.length_m - 0.5)
    marks = [0.0, *stops, table.length_m]
    legs, t = [], 0.0
    for i, (a, b) in enumerate(zip(marks, marks[1:])):
        dur = _leg_duration(b - a, tour.speed_mps)
        legs.append((t, "walk", a, b, dur))
        t += dur
        if i < len(marks) - 2:
            legs.append((t, "pause", b, b, tour.pause_s))
            t += tour.pause_s
    return TourPlan(table, tour.speed_mps, tuple(stops), tour.pause_s, tuple(legs))


def _eased_distance(leg_len: float, speed: float, t: float) -> float:
    """Distance covered t seconds into a leg with raised-cosine easing over the first/last ease_m."""
    e = min(ease_m, leg_len / 2)
    if e <= 0:
        return min(leg_len, speed * t)
    t_ease = 2 * e / speed  # time to cover an eased end (mean speed = speed / 2)
    t_cruise = (leg_len - 2 * e) / speed
    if t < t_ease:  # accelerating: v = speed * (1 - cos(pi t / t_ease)) / 2
        return speed / 2 * (t - t_ease / math.pi * math.sin(math.pi * t / t_ease))
    if t < t_ease + t_cruise:
        return e + speed * (t - t_ease)
    u = min(t - t_ease - t_cruise, t_ease)  # decelerating, mirror of the start
    return leg_len - e + speed / 2 * (u + t_ease / math.pi * math.sin(math.pi * u / t_ease))


def distance_at(plan: TourPlan, t_s: float) -> float:
    """Arc-length position (m) along the tour at time t_s (clamped to the tour's duration)."""
    t_s = min(max(t_s, 0.0), plan.duration_s)
    for start, kind, d0, d1, dur in reversed(plan.legs):
        if t_s >= start:
            if kind == "pause":
                return d0
            return d0 + _eased_distance(d1 - d0, plan.speed_mps, t_s - start)
    return 0.0


def pose_at(plan: TourPlan, t_s: float) -> tuple[float, float, float]:
    """(x_m, y_m, heading_rad) at time t_s; heading is compass radians looking ahead."""
    d = distance_at(plan, t_s)
    (pos,), _ = bezier.sample_at(plan.table, d)
    ahead_d = min(d + look_ahead_m, plan.table.length_m)
    (ahead,), (tangent,) = bezier.sample_at(plan.table, ahead_d)
    v = ahead - pos
    if np.hypot(*v) < 1e-3:
        v = tangent
    heading = math.atan2(v[0], -v[1])  # compass: forward (sin h, -cos h)
    return float(pos[0]), float(pos[1]), heading
