"""Latent terrain timings on this machine: training, baking the grid, and the synth's lookup.

    python -m tools.bench.bench_terrain [--level levels/hutong.toml] [--model FILE] [--latent-dim 12]

Trains the level's terrain (its [terrain] settings, one torch thread, nothing saved) from the
zone latents of --model (or of the level's model when that file exists; otherwise seeded random
latents of --latent-dim dimensions, RAVE-sized), then bakes the TerrainGrid the game hands the
synth (0.25 m over the map) and times one TerrainGrid.sample call, as the synth makes every
~10 ms. Then the same as the game gets it: a TerrainJob (a spawned child process, niced, one
torch thread; nothing cached or saved), timing the child's start (spawn and imports, until it
trains), the whole job and the hand-over of the grid. Prints seconds and microseconds; asserts
nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=Path, default=ROOT / "levels" / "hutong.toml")
    ap.add_argument("--model", type=Path, help="model for the zone latents (default: the level's, if present)")
    ap.add_argument("--latent-dim", type=int, default=12, help="random latents of this size when no model")
    args = ap.parse_args(argv)

    from memoire.terrain import terrain as T
    from memoire.world.level import load_level

    level = load_level(args.level)
    model = args.model or level.sound.model
    if model is not None and Path(model).exists():
        from memoire.world.field import build_zone_blend
        from memoire.audio.model import inspect_model
        blend = build_zone_blend(level, inspect_model(model))
        zone_latents = dict(zip(blend.names, blend.latents.astype(np.float32)))
        rest = blend.rest_latent.astype(np.float32)
        origin = f"model {model}"
    else:
        rng = np.random.default_rng(0)
        zone_latents = {z.name: rng.normal(0, 1, args.latent_dim).astype(np.float32) for z in level.zones}
        rest = rng.normal(0, 1, args.latent_dim).astype(np.float32)
        origin = f"random latents, {args.latent_dim} dims (no model file)"
    settings = level.terrain or T._default_settings()

    t0 = time.perf_counter()
    data = T.build_training_set(level, zone_latents, rest)
    t1 = time.perf_counter()
    terrain = T.train_terrain(data, settings, T.ControlMap.for_settings(level.terrain))
    t2 = time.perf_counter()
    w, h = level.tiles.size_m
    grid = terrain.to_grid((0.0, 0.0, w, h), 0.25)
    t3 = time.perf_counter()
    xy = np.array([[w * 0.4, h * 0.55]])
    calls = 2000
    for _ in range(100):
        grid.sample(xy)
    t4 = time.perf_counter()
    for _ in range(calls):
        grid.sample(xy)
    t5 = time.perf_counter()
    err = T.fit_error(terrain, data)

    print(f"level {args.level} ({origin})")
    print(f"  training set: {len(data)} examples in {t1 - t0:.2f} s")
    print(f"  training: {settings.steps} steps (width {settings.width}, mapping {settings.mapping_size}, "
          f"batch {T.batch_size}) in {t2 - t1:.1f} s on one thread")
    print(f"  fit: RMS error per example, median {np.median(err):.3f}, 95th percentile {np.percentile(err, 95):.3f}")
    print(f"  grid: {grid.values.shape[1]} x {grid.values.shape[0]} nodes x {grid.latent_dim} baked in {t3 - t2:.2f} s")
    print(f"  TerrainGrid.sample (1 point): {(t5 - t4) / calls * 1e6:.1f} us per call")

    from memoire.terrain.job import TerrainJob

    j0 = time.perf_counter()
    job = TerrainJob(level, zone_latents, rest, bounds_m=(0.0, 0.0, w, h), resolution_m=0.25, save=False,
                     use_cache=False).start()
    started = None
    poll_s = []  # what each frame's `job.done` costs; the last one receives the grid and reaps the child
    while True:  # as the game polls it: once a frame
        q0 = time.perf_counter()
        done = job.done
        poll_s.append(time.perf_counter() - q0)
        if done:
            break
        if started is None and job.progress.state == "running":
            started = time.perf_counter()
        time.sleep(0.005)
    j1 = time.perf_counter()
    same = np.abs(job.result().values - grid.values).max()
    print(f"  job (child process, nice +10): training started after {(started or j1) - j0:.2f} s "
          f"(spawn + imports), done after {j1 - j0:.1f} s in all; a frame's poll {np.median(poll_s) * 1e6:.0f} us, "
          f"the one that takes the grid {poll_s[-1] * 1e3:.1f} ms; max difference from the in-process grid {same:.2g}")


if __name__ == "__main__":
    main()
