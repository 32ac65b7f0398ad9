"""A kiosk-like visitor trace for the docs' heat map, made with the pure tour walker.

    python -m tools.make_demo_trace [--level levels/hutong.toml] [--tour gallery] [--laps 6]
        [--trace /tmp/demo_trace.csv] [--out docs/img/trace_heat.png]

Each "visitor" walks the level's tour at half its speed (a stroll) at 30 rows a second, with
frame times that wobble and an occasional slow frame, and lingers at the tour's stops (one per
zone it passes) for a random time whose mean depends on the zone, looking around while there;
some leave before the end. Visitors are separate sessions (sim_s restarts, a gap in wall_s),
as in a day's kiosk trace. The trace is written with TraceWriter, then drawn with
`memoire trace plot`. A stand-in until a heat map from a real kiosk day replaces it.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memoire.game.trace import TraceWriter  # noqa: E402
from memoire.world.level import load_level  # noqa: E402
from memoire.world.tour import plan_tour, pose_at  # noqa: E402
from memoire.world.zones import dominant_zone, weight_blend  # noqa: E402

ROWS_PER_S = 30.0
STROLL = 0.5  # visitors walk at half the tour's brisk speed
# mean extra lingering (s) at a stop, by the zone there: the sounds that hold people longest
LINGER_MEAN_S = {"pigeons": 45.0, "chatter": 60.0, "birds": 35.0, "rain": 30.0, "grinder": 25.0,
                 "vendors": 20.0, "insects": 15.0, "bells": 10.0, "wind": 8.0, "footsteps": 5.0}
START_WALL_S = 1_719_828_000.0  # 2024-07-01 10:00 UTC: a festival morning


def visitor_poses(plan, rng: np.random.Generator, blend, leave_at: float):
    """(sim_s, x, y, heading) of one visitor: the tour with strolls and lingering."""
    t_sim = 0.0
    for start, kind, _d0, _d1, dur in plan.legs:
        if start >= leave_at * plan.duration_s:
            return
        if kind == "walk":
            u = 0.0
            while u < dur:
                x, y, h = pose_at(plan, start + u)
                yield t_sim, x, y, h
                dt = _frame_dt(rng)
                t_sim += dt
                u += dt * STROLL
        else:
            x0, y0, h0 = pose_at(plan, start)
            zone, _ = dominant_zone(blend, x0, y0)
            hold = dur + rng.exponential(LINGER_MEAN_S.get(zone, 5.0))
            u, phase = 0.0, rng.uniform(0, 2 * math.pi)
            while u < hold:  # standing, shifting weight, looking round
                x = x0 + 0.35 * math.sin(0.21 * u + phase)
                y = y0 + 0.25 * math.sin(0.13 * u + 2 * phase)
                yield t_sim, x, y, h0 + 1.2 * math.sin(0.3 * u + phase)
                dt = _frame_dt(rng)
                t_sim += dt
                u += dt


def _frame_dt(rng: np.random.Generator) -> float:
    if rng.random() < 0.01:
        return 0.25  # a slow frame: dwell counts its time, not one row
    return 1.0 / ROWS_PER_S * rng.uniform(0.85, 1.15)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=Path, default=ROOT / "levels" / "hutong.toml")
    ap.add_argument("--tour", default="gallery")
    ap.add_argument("--laps", type=int, default=6)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--trace", type=Path, default=Path("/tmp/demo_trace.csv"))
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "trace_heat.png")
    args = ap.parse_args(argv)

    level = load_level(args.level)
    plan = plan_tour(level, level.tour(args.tour))
    blend = weight_blend(level)
    rng = np.random.default_rng(args.seed)
    wall = START_WALL_S
    clock = [wall]
    writer = TraceWriter.open(args.trace, level, clock=lambda: clock[0])
    for lap in range(args.laps):
        leave_at = 1.0 if rng.random() < 0.6 else rng.uniform(0.3, 0.9)
        t0 = wall
        for sim_s, x, y, h in visitor_poses(plan, rng, blend, leave_at):
            clock[0] = t0 + sim_s
            message = writer.row(t0 + sim_s, sim_s, x, y, h)
            if message:
                raise SystemExit(message)
        wall = clock[0] + rng.uniform(20.0, 120.0)  # nobody at the kiosk for a while
    writer.close()
    print(f"{args.trace}: {writer.rows} rows, {args.laps} visitors", file=sys.stderr)

    from memoire.cli import main as memoire

    return memoire(["trace", "plot", str(args.trace), "--level", str(args.level), "--out", str(args.out)])


if __name__ == "__main__":
    sys.exit(main())
