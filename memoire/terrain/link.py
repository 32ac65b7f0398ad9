"""Glue between a level, its model and its terrain: zone latents in, a numpy grid sampler out.

The synth samples the terrain as a ``TerrainGrid`` (pure numpy, bilinear), baked from the CPPN
over the level's extent at ``grid_resolution_m``.

Torch-free: this module and everything it imports at module level load no torch, so the game
process (``memoire play``, the kiosk, the editor) can use it. What the game loop calls::

    from memoire.terrain.link import field_picture, start_terrain_training

    if level.uses_terrain:
        job = start_terrain_training(level, card)  # a TerrainJob: a child process; returns at once
    # each frame:
    job.progress.fraction                          # 0..1 for the HUD
    if job.done:
        try:
            grid = job.result()                    # TerrainGrid (numpy)
        except UserError as e: ...                 # e.g. a broken [terrain] source file, named
        except Exception as e: ...                 # failed or cancelled: keep the zone blend
        engine.set_terrain(grid, level); hud.set_terrain(field_picture(grid), level)
    job.cancel()                                   # on reload / quit (returns once the child is gone)

``start_terrain_training`` itself raises UserError at once for an anchor the model lacks
(``zone_latents``). The blocking, in-process variant for processes that have torch anyway (the
offline render) is memoire/terrain/inprocess.py's ``terrain_grid_for_level``: not here, so no import
path from the game reaches torch (the import-linter contract no-torch-in-the-game-process).
"""

from __future__ import annotations

import numpy as np

from memoire.terrain.grid import TerrainGrid, field_rgb
from memoire.terrain.job import TerrainJob
from memoire.world.card import ModelCard
from memoire.world.field import resolve_anchor
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


def start_terrain_training(level: Level, info: ModelCard, *, save: bool = True, use_cache: bool = True) -> TerrainJob:
    """A started TerrainJob for a level that uses a terrain: a child process loads, reuses or
    trains it and bakes its grid; poll ``.progress`` / ``.done``, then ``.result()`` -> TerrainGrid.
    Raises UserError at once for an anchor the model lacks, ValueError for a level without a
    terrain (check ``level.uses_terrain``)."""
    if not level.uses_terrain:
        raise ValueError(f"{level.path}: the level does not use a terrain ([sound] field = \"zones\" or no [terrain])")
    zl, rest = zone_latents(level, info)
    return TerrainJob(level, zl, rest, bounds_m=level_bounds_m(level), resolution_m=grid_resolution_m,
                      save=save, use_cache=use_cache).start()


def grid_of(terrain, level: Level) -> TerrainGrid:
    """The TerrainGrid to hand the synth: a job's result as it is, or a Terrain (torch) baked over
    the level."""
    if isinstance(terrain, TerrainGrid):
        return terrain
    return terrain.to_grid(level_bounds_m(level), grid_resolution_m)


def field_picture(grid) -> np.ndarray:
    """A colour picture (ny, nx, 3) uint8 of a terrain grid over the level (PCA of the latent)."""
    return field_rgb(np.asarray(grid.values))
