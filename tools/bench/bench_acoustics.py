"""Acoustics cost (memoire/world/acoustics.py): Acoustics.build on a level, and reach() of every
zone for one listener (what the synth thread asks each 46 ms block). Targets (issue 11): build
under 50 ms on the default level, all zones' reach under 1 ms together. Prints the figures; on a
shared machine they are noisy, so each is the median of several runs.

    .venv/bin/python tools/bench/bench_acoustics.py [LEVEL]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from memoire.world.acoustics import Acoustics
from memoire.world.level import load_level
from memoire.world.paths import DEFAULT_LEVEL

build_runs = 20
reach_listeners = 2000  # listener positions along the default tour's bounding box


def main(path: str) -> None:
    level = load_level(path)
    Acoustics.build(level)  # warm: the materials table is read once per process
    builds = []
    for _ in range(build_runs):
        t = time.perf_counter()
        ac = Acoustics.build(level)
        builds.append(time.perf_counter() - t)
    rng = np.random.default_rng(0)
    w, h = level.tiles.size_m
    pts = [p for p in rng.uniform((0, 0), (w, h), size=(reach_listeners * 3, 2)) if level.tiles.is_walkable(*p)]
    pts = pts[:reach_listeners]
    times = []
    for i, (x, y) in enumerate(pts):
        t = time.perf_counter()
        for z in range(len(level.zones)):  # as the synth asks: zone by zone, same listener and time
            ac.reach((float(x), float(y)), z, i * 0.046)
        times.append(time.perf_counter() - t)
    print(f"level {path}: {len(ac.rooms)} rooms, {len(ac.portals)} portals, {len(level.zones)} zones, "
          f"{sum(len(ac.emitters(z, 0.0)) for z in range(len(level.zones)))} emitters")
    print(f"Acoustics.build: median {statistics.median(builds) * 1e3:.1f} ms, max {max(builds) * 1e3:.1f} ms "
          f"({build_runs} runs; target < 50 ms)")
    print(f"reach, all {len(level.zones)} zones: median {statistics.median(times) * 1e3:.3f} ms, "
          f"95th percentile {np.percentile(times, 95) * 1e3:.3f} ms ({len(times)} listeners; target < 1 ms)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_LEVEL))
