"""Collision: the level's solids as static shapes, the player as a circle (pymunk).

pymunk is imported here only. The player is a dynamic circle without rotation whose velocity is
set each step from the input; pymunk resolves contacts so it slides along walls. The solids are
memoire/world/framing.py's ``level_solids``, the same the tour camera keeps clear of: solid cells
merged into rectangles (fewer shapes, no seams to catch on), gate and door jambs, props.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pymunk

from memoire.world.framing import level_solids
from memoire.world.level import Level, person_radius_m

# A person seen from above is about 0.5 m across (memoire/world/level.py, shared with path checks).
player_radius_m = person_radius_m
# A 70 kg walker; the drive force lets it reach a run (3 m/s) within one 120 Hz step
# (70 kg * 3 m/s / (1/120 s) = 25 kN), so the player feels no inertia.
player_mass_kg = 70.0
player_drive_force_n = 25_000.0
# pymunk lets shapes overlap by its collision slop before it pushes them apart; its default, 0.1,
# suits pixels, not metres (10 cm into a wall): 5 mm keeps the eye its radius from what is drawn.
collision_slop_m = 0.005
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
        self.space.collision_slop = collision_slop_m
        self._add_walls(level)
        self._add_player(start_xy)

    def _add_player(self, xy: tuple[float, float]) -> None:
        """The player's body, its circle and what drives it, standing at ``xy``."""
        self.body = pymunk.Body(player_mass_kg, float("inf"))  # infinite moment: the circle never spins
        self.body.position = xy
        self.shape = pymunk.Circle(self.body, player_radius_m)
        self.shape.friction = 0.0  # slide along walls instead of sticking to them
        # The player follows a kinematic control body through a pivot joint with a bounded force
        # (as pymunk's top-down examples steer): setting the body's velocity directly each step
        # would override the contact impulses and let it sink into walls.
        self.control = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        self.control.position = xy
        self.pivot = pymunk.PivotJoint(self.control, self.body, (0, 0), (0, 0))
        self.pivot.max_bias = 0.0  # correct velocity only, never position: no pull toward the control body
        self.pivot.max_force = player_drive_force_n
        self.space.add(self.body, self.shape, self.control, self.pivot)

    def _add_walls(self, level: Level) -> None:
        """The level's solids as the camera sees them at eye height (memoire/world/framing.py
        level_solids): solid cells, the posts and folded leaves of gates and doors (drawn inside
        the walkable opening cell), tree trunks, hanging lanterns, benches turned as drawn. With
        the player's radius (0.25 m) the eye stays 0.25 m from anything drawn, beyond the near
        plane's reach (memoire/render/camera.py NEAR_M)."""
        solids = level_solids(level)
        static = self.space.static_body
        shapes = [pymunk.Poly(static, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) for x0, y0, x1, y1 in solids.boxes]
        for cx, cy, hx, hy, a in solids.obbs:
            ex, ey = math.cos(a), math.sin(a)  # the box's hx axis; hy runs along (-ey, ex)
            shapes.append(pymunk.Poly(static, [(cx + su * hx * ex - sv * hy * ey, cy + su * hx * ey + sv * hy * ex)
                                               for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]))
        shapes += [pymunk.Circle(static, r, offset=(x, y)) for x, y, r in solids.circles]
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
        """Put the player at ``xy`` at rest. A fresh body: pymunk carries a contact's position
        correction (a wall the player pressed against) into the next step, which would nudge
        the player where it now stands."""
        self.space.remove(self.body, self.shape, self.control, self.pivot)
        self._add_player(xy)
