"""Scripted walks into every wall never cross it; the player slides along walls."""

from __future__ import annotations

import math

import numpy as np

from memoire.world.level import SOLID_TILES, load_level
from memoire.sim.physics import World, physics_step_s, player_radius_m


def test_walking_into_every_wall_never_crosses_it(default_level_path):
    level = load_level(default_level_path)
    tiles = level.tiles
    starts = []
    for row in range(tiles.height):
        for col in range(tiles.width):
            if tiles.kind_at(col, row) in ("floor", "garden", "gate", "door"):
                starts.append(tiles.cell_center(col, row))
    rng = np.random.default_rng(1)
    picks = rng.choice(len(starts), size=60, replace=False)
    crossings = 0
    for k, idx in enumerate(picks):
        world = World(level, starts[idx])
        angle = 2 * math.pi * k / len(picks)
        v = (3.0 * math.cos(angle), 3.0 * math.sin(angle))  # running speed, 8 s: hits a wall
        for _ in range(int(8.0 / physics_step_s)):
            p = world.step(v)
            # the circle's centre never enters a solid cell
            if tiles.kind_at(*tiles.cell_of(p.x_m, p.y_m)) in SOLID_TILES:
                crossings += 1
                break
    assert crossings == 0


def test_sliding_along_a_wall_keeps_moving(default_level_path):
    level = load_level(default_level_path)
    # in the lane, push diagonally into the north wall while walking east
    world = World(level, (16.0, 17.0))  # below the wall between gates A and B
    for _ in range(240):
        p = world.step((1.4, -1.4))
    assert p.x_m > 18.5  # slid east about 2 s * 1.4 m/s
    assert p.y_m >= 16.5 + player_radius_m - 0.02  # held against the wall face (row 11 starts at 16.5 m)


def test_teleport(default_level_path):
    level = load_level(default_level_path)
    world = World(level, level.spawn_xy)
    world.teleport((35.0, 9.0))
    assert world.pose.x_m == 35.0 and world.pose.y_m == 9.0
