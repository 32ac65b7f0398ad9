"""Glue between a level, its model and its terrain: zone latents in, a numpy grid sampler out.

The synth samples the terrain as a ``TerrainGrid`` (pure numpy, bilinear), baked from the CPPN
over the level's extent at ``grid_resolution_m``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from memoire.world.field import resolve_anchor
from memoire.world.card import ModelCard
from memoire.world.level import Level

# Grid step for the baked terrain: 0.25 m, a fifth of a stride, far finer than the terrain's
# smallest feature (gauss 0.08 per metre -> features of ~1/(2*pi*0.08*3) ~ 0.7 m at 3 sigma).
grid_resolution_m = 0.25


def zone_latents(level: Level, info: ModelCard) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({zone name: latent}, rest latent) for a level resolved against a model."""
    zl = {z.name: resolve_anchor(z.anchor, info, f"{level.path}:{z.line}: zone '{z.name}'") for z in level.zones}
    return zl, resolve_anchor(level.sound.rest, info, f"{level.path}: [sound] rest")


def level_bounds_m(level: Level) -> tuple[float, float, float, float]:
    w, h = level.tiles.size_m
    return 0.0, 0.0, w, h


def terrain_grid_for_level(level: Level, info: ModelCard, *, train: bool = True,
                           log: Callable[[str], None] = print):
    """The level's terrain as a TerrainGrid (training it now if needed), or None without one."""
    from memoire.terrain.terrain import load_level_terrain

    zl, rest = zone_latents(level, info)
    terrain, how = load_level_terrain(level, zl, rest, train=train)
    if terrain is None:
        return None
    log(f"terrain: {how} ({terrain.source})")
    return terrain.to_grid(level_bounds_m(level), grid_resolution_m)


def start_terrain_training(level: Level, info: ModelCard):
    """A TerrainTrainer running in the background for the level (its progress is polled)."""
    from memoire.terrain.terrain import TerrainTrainer

    zl, rest = zone_latents(level, info)
    return TerrainTrainer(level, zl, rest).start()


def grid_of(terrain, level: Level):
    return terrain.to_grid(level_bounds_m(level), grid_resolution_m)


def field_picture(grid) -> np.ndarray:
    """A colour picture (ny, nx, 3) uint8 of a terrain grid over the level (PCA of the latent)."""
    from memoire.terrain.command import field_rgb

    return field_rgb(np.asarray(grid.values))
