"""A level's terrain got in this process, blocking: for processes that have torch anyway (the
offline render, its own process). The game, the kiosk and the editor use
memoire/terrain/link.py's ``start_terrain_training`` (a child process) instead."""

from __future__ import annotations

from typing import Callable

from memoire.terrain.grid import TerrainGrid
from memoire.terrain.link import grid_resolution_m, level_bounds_m, zone_latents
from memoire.world.card import ModelCard
from memoire.world.level import Level


def terrain_grid_for_level(level: Level, info: ModelCard, *, train: bool = True,
                           log: Callable[[str], None] = print) -> TerrainGrid | None:
    """The level's terrain as a TerrainGrid, in this process (torch; training it now if needed),
    or None when the level does not use one (``Level.uses_terrain``) or train=False and it is stale."""
    if not level.uses_terrain:
        return None
    from memoire.terrain.terrain import load_level_terrain

    zl, rest = zone_latents(level, info)
    terrain, how = load_level_terrain(level, zl, rest, train=train)
    if terrain is None:
        return None
    log(f"terrain: {how} ({terrain.source})")
    return terrain.to_grid(level_bounds_m(level), grid_resolution_m)
