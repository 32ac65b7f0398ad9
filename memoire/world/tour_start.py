"""Where a tour starts: ``--start SECONDS`` or ``--start-zone NAME`` (memoire play, memoire render).

A start time is a moment of the tour (``memoire.world.tour.pose_at``); a start zone is the first
moment at which the tour's dominant zone (``memoire.world.zones.dominant_zone``: the zone with the
largest weight where the walker stands) is that zone, sampled every ``zone_scan_s``. Mistakes are
``UserError``s that name the tour's length or the level's zones.
"""

from __future__ import annotations

import math

import numpy as np

from memoire.world.errors import UserError
from memoire.world.level import Level
from memoire.world.tour import TourPlan, pose_at
from memoire.world.zones import dominant_zones, weight_blend

# The tour is scanned for a start zone at 20 Hz: a step of 0.12 m at a brisk 2.4 m/s.
zone_scan_s = 0.05


def tour_start_s(level: Level, plan: TourPlan, tour_name: str, *, start_s: float | None = None,
                 start_zone: str | None = None) -> float:
    """The tour time (s, in [0, duration)) to start walking ``tour_name`` at; 0 without either option."""
    if start_s is not None and start_zone is not None:
        raise UserError("give --start or --start-zone, not both")
    duration = plan.duration_s
    if start_s is not None:
        if not math.isfinite(start_s) or not 0.0 <= start_s < duration:
            raise UserError(f"--start {start_s:g}: the tour '{tour_name}' is {duration:.1f} s long; "
                            f"give a time from 0 to {duration:.1f} s")
        return float(start_s)
    if start_zone is None:
        return 0.0
    names = [z.name for z in level.zones]
    if start_zone not in names:
        raise UserError(f"--start-zone {start_zone}: no zone named '{start_zone}' in {level.path}; its zones: "
                        f"{', '.join(names) or '(none)'}")
    times, held = tour_zones(level, plan)
    at = np.flatnonzero(held == names.index(start_zone))
    if not len(at):
        passed = [names[i] for i in dict.fromkeys(int(i) for i in held) if i >= 0]
        raise UserError(f"--start-zone {start_zone}: the tour '{tour_name}' never stands where '{start_zone}' is "
                        f"the loudest zone; the zones it passes: {', '.join(passed) or '(none)'}")
    return float(times[at[0]])


def tour_zones(level: Level, plan: TourPlan, step_s: float = zone_scan_s) -> tuple[np.ndarray, np.ndarray]:
    """(times (k,) s, dominant zone index (k,) at each, -1 where no zone reaches) along the tour."""
    times = np.arange(0.0, plan.duration_s, step_s)
    xy = np.array([pose_at(plan, float(t))[:2] for t in times], dtype=np.float64).reshape(-1, 2)
    idx, _ = dominant_zones(weight_blend(level), xy)
    return times, idx
