"""Collision: the level's solid cells as static boxes, the player as a circle (pymunk).

pymunk is imported here only. The player is a dynamic circle without rotation whose velocity is
set each step from the input; pymunk resolves contacts so it slides along walls. Solid cells are
merged into horizontal runs per row (fewer shapes, no seams to catch on).
"""

from __future__ import annotations

from dataclasses import dataclass

import pymunk

from memoire.world.level import SOLID_TILES, Level, bench_half_size_m, person_radius_m, tree_trunk_radius_m

# A person seen from above is about 0.5 m across (memoire/world/level.py, shared with path checks).
player_radius_m = person_radius_m
# A 70 kg walker; the drive force lets it reach a run (3 m/s) within one 120 Hz step
# (70 kg * 3 m/s / (1/120 s) = 25 kN), so the player feels no inertia.
player_mass_kg = 70.0
player_drive_force_n = 25_000.0
# Fixed physics step: 120 Hz, two steps per 60 Hz frame; small enough that at a 5 m/s run the
# player moves 4 cm a step, far less than its radius, so it never tunnels through a wall.
physics_step_s = 1.0 / 120.0


@dataclass(frozen=True)
class Pose:
    x_m: float
    y_m: float


class World:
    """The pymunk space of one level and the player body in it."""

    def __init__(self, level: Level, start_xy: tuple[float, float]):
        self.space = pymunk.Space()
        self.space.gravity = (0.0, 0.0)
        self._add_walls(level)
        self.body = pymunk.Body(player_mass_kg, float("inf"))  # infinite moment: the circle never spins
        self.body.position = start_xy
        shape = pymunk.Circle(self.body, player_radius_m)
        shape.friction = 0.0  # slide along walls instead of sticking to them
        # The player follows a kinematic control body through a pivot joint with a bounded force
        # (as pymunk's top-down examples steer): setting the body's velocity directly each step
        # would override the contact impulses and let it sink into walls.
        self.control = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        self.control.position = start_xy
        pivot = pymunk.PivotJoint(self.control, self.body, (0, 0), (0, 0))
        pivot.max_bias = 0.0  # correct velocity only, never position: no pull toward the control body
        pivot.max_force = player_drive_force_n
        self.space.add(self.body, shape, self.control, pivot)

    def _add_walls(self, level: Level) -> None:
        tiles = level.tiles
        c = tiles.cell_m
        static = self.space.static_body
        shapes = []
        for row in range(-1, tiles.height + 1):
            col = -1
            while col <= tiles.width:
                if tiles.kind_at(col, row) in SOLID_TILES:
                    start = col
                    while col + 1 <= tiles.width and tiles.kind_at(col + 1, row) in SOLID_TILES:
                        col += 1
                    x0, x1, y0, y1 = start * c, (col + 1) * c, row * c, (row + 1) * c
                    shapes.append(pymunk.Poly(static, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
                col += 1
        for prop in level.all_props():
            px, py = prop.at
            if prop.kind == "tree":
                shapes.append(pymunk.Circle(static, tree_trunk_radius_m, offset=(px, py)))
            elif prop.kind == "bench":
                hx, hy = bench_half_size_m
                shapes.append(pymunk.Poly(static, [(px - hx, py - hy), (px + hx, py - hy),
                                                   (px + hx, py + hy), (px - hx, py + hy)]))
        for s in shapes:
            s.friction = 0.0
        self.space.add(*shapes)

    def step(self, velocity_mps: tuple[float, float], dt_s: float = physics_step_s) -> Pose:
        """Advance one fixed step with the wanted velocity (m/s); returns the new position."""
        self.control.velocity = velocity_mps
        self.space.step(dt_s)
        return self.pose

    @property
    def pose(self) -> Pose:
        x, y = self.body.position
        return Pose(float(x), float(y))

    def teleport(self, xy: tuple[float, float]) -> None:
        self.body.position = xy
        self.control.position = xy
        self.body.velocity = (0.0, 0.0)
        self.control.velocity = (0.0, 0.0)
        self.space.reindex_shapes_for_body(self.body)
