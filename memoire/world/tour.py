"""Walking a tour: a pose (x, y, heading) for each moment, from a level's Bezier tour.

The walker moves along the path by arc length at the tour's speed, eased in and out at the
start, the end and each pause; it pauses ``pause_s`` at the point of the path nearest to each
zone the path passes through, and looks ahead along the path (a point ``look_ahead_m`` further)
so the view turns before the corners rather than at them.

The camera (``camera_pose_at``, and the heading of ``pose_at``) is the walker framed by
memoire/world/framing.py: kept clear of walls and props, looking at open views and points of
interest with eased turns, looking around where it lingers; sampled at a fixed step when the tour
is planned and interpolated, so it is a pure function of tour time (renders, ``--start`` and
traces agree). The camera stands where the walker does; the walker walks the tour's path moved
clear of walls and props where it comes too close (``plan_tour``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memoire.world import bezier, framing
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
    camera: framing.TourCamera | None = None  # the framed camera, sampled from t = 0 (plan_tour fills it)

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
    """The tour's timeline and camera. The path walked is the tour's Bezier moved clear of walls,
    posts and props where it comes closer than framing.min_clearance_m (1 m in a gateway:
    framing.clearance_wanted, framing.clear_path), and exactly the Bezier elsewhere. It pauses ``pause_s`` in each zone whose inner region the path
    enters, at the middle of that stretch, or the nearest point of it at least
    framing.stop_clearance_m from any solid and tree crown (not in a gateway, looking at its door
    leaves, nor under a tree: framing.stop_room), or failing that its roomiest point."""
    field = framing.clearance_field(level)
    table = tour.path.table()
    points = framing.clear_path(field, table.points, framing.clearance_wanted(level, table.points))
    if not np.array_equal(points, table.points):
        cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
        points.setflags(write=False)
        cum.setflags(write=False)
        table = bezier.ArcLengthTable(points, cum)
    stops = []
    crowns = framing.tree_crowns(level)
    if tour.pause_s > 0:
        for zone in level.zones:
            d = zone.shape.distance_outside(table.points)
            if d.min() <= 0.0:  # the path enters the zone's inner region
                inside = np.flatnonzero(d <= 0.0)
                mid = inside[len(inside) // 2]
                # not in a gateway or hard by a wall: the nearest point of the zone that is open
                room = framing.stop_room(field, crowns, table.points[inside])
                roomy = inside[room >= framing.stop_clearance_m]
                if len(roomy):
                    mid = roomy[np.argmin(np.abs(table.cumulative_m[roomy] - table.cumulative_m[mid]))]
                else:  # all of it close to something: its roomiest point
                    mid = inside[int(np.argmax(room))]
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
    plan = TourPlan(table, tour.speed_mps, tuple(stops), tour.pause_s, tuple(legs))
    step = framing.framing_step_s
    times = np.arange(0.0, plan.duration_s + step, step)  # one sample past the end: interpolation
    xy, heading = _walker_samples(plan, times)
    speed = np.r_[np.hypot(*np.diff(xy, axis=0).T) / step, 0.0]
    camera = framing.frame_walk(level, times, xy, heading, speed, field)
    return TourPlan(table, tour.speed_mps, tuple(stops), tour.pause_s, tuple(legs), camera)


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


def _walker_samples(plan: TourPlan, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The walker at many times: positions (k, 2) on the path and headings (k,) looking ahead."""
    d = np.array([distance_at(plan, float(t)) for t in np.atleast_1d(times_s)])
    pos, _ = bezier.sample_at(plan.table, d)
    ahead, tangent = bezier.sample_at(plan.table, np.minimum(d + look_ahead_m, plan.table.length_m))
    v = ahead - pos
    v = np.where((np.hypot(v[:, 0], v[:, 1]) < 1e-3)[:, None], tangent, v)
    return pos, np.arctan2(v[:, 0], -v[:, 1])  # compass: forward (sin h, -cos h)


def walker_pose_at(plan: TourPlan, t_s: float) -> tuple[float, float, float]:
    """The walker (x_m, y_m, heading_rad) at time t_s: on the path, heading looking ahead along it."""
    pos, heading = _walker_samples(plan, np.array([t_s]))
    return float(pos[0, 0]), float(pos[0, 1]), float(heading[0])


def camera_pose_at(plan: TourPlan, t_s: float) -> tuple[float, float, float, float]:
    """The tour's camera (x_m, y_m, heading_rad, pitch_rad) at time t_s (clamped to the tour): the
    walker's place, the framed heading and pitch interpolated between the plan's samples
    (memoire/world/framing.py)."""
    x, y, h = walker_pose_at(plan, t_s)
    cam = plan.camera
    if cam is None:
        return x, y, h, 0.0
    t = min(max(t_s, 0.0), plan.duration_s)
    f = t / cam.step_s
    i = min(int(f), len(cam.heading_rad) - 2)
    u = f - i
    heading = float(cam.heading_rad[i] * (1 - u) + cam.heading_rad[i + 1] * u)
    pitch = float(cam.pitch_rad[i] * (1 - u) + cam.pitch_rad[i + 1] * u)
    heading = math.atan2(math.sin(heading), math.cos(heading))
    return x, y, heading, pitch


def pose_at(plan: TourPlan, t_s: float) -> tuple[float, float, float]:
    """(x_m, y_m, heading_rad) of the tour's camera at time t_s (``camera_pose_at`` without the pitch):
    where the listener stands and looks."""
    return camera_pose_at(plan, t_s)[:3]


def pitch_at(plan: TourPlan, t_s: float) -> float:
    """The tour camera's pitch (rad, > 0 looks up) at time t_s."""
    return camera_pose_at(plan, t_s)[3]
