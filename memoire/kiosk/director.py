"""Who walks: the attract tour or the visitor, and the fades between them (pure logic, no I/O).

States:
    attract   the level's tour walks itself (eased, looking ahead, pausing at zones: memoire/world/tour.py);
              at the tour's end the picture fades out and the tour starts again from its start
    visitor   a visitor's input moves the player; ``idle_s`` without input starts the fade out
    fade_out  picture and sound go down over ``fade_s``; input brings them back up at once
              (the visitor keeps walking); at dark the player is moved to the tour's start
    fade_in   the attract tour from its start, picture and sound coming up over ``fade_s``;
              input hands over to the visitor at once

Any input in attract (or fade_in) hands control to the visitor *at the current pose*: the
director never moves the player on handover, so picture and sound continue without a jump.
``level`` (0 = dark and silent, 1 = full) moves toward its target at 1/fade_s per second, so
interrupted fades reverse smoothly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from memoire.world.tour import TourPlan, pose_at

ATTRACT, VISITOR, FADE_OUT, FADE_IN = "attract", "visitor", "fade_out", "fade_in"


@dataclass(frozen=True)
class Step:
    """What the game does this step: whose pose, and whether to move the player to the start."""

    state: str
    pose: tuple[float, float, float] | None  # (x_m, y_m, heading_rad) in attract/fade_in; None: visitor
    teleport: bool  # True once, at dark: the player jumps to the tour start (the synth crossfades)
    level: float  # picture brightness and sound gain, 0..1


class Director:
    def __init__(self, plan: TourPlan, *, idle_s: float, fade_s: float):
        self.plan = plan
        self.idle_s = idle_s
        self.fade_s = fade_s
        self.state = FADE_IN  # the session opens by fading in on the tour's start
        self.tour_t_s = 0.0  # time along the tour (attract, fade_in; and fade_out from attract)
        self.idle_for_s = 0.0  # time since the visitor's last input
        self.level = 0.0
        self._walking_out = False  # fade_out started from attract (the tour keeps walking)
        self.takeovers = 0  # visitor handovers, for logs and the soak test
        self.returns = 0  # completed fades back to the tour

    def input(self) -> None:
        """A visitor touched something (key, mouse, pad): they have control from now."""
        if self.state in (ATTRACT, FADE_IN) or (self.state == FADE_OUT and self._walking_out):
            self.takeovers += 1
        self.state = VISITOR
        self._walking_out = False
        self.idle_for_s = 0.0

    def step(self, dt_s: float, *, pose: bool = True) -> Step:
        """Advance ``dt_s`` seconds (a fixed physics step). ``pose=False`` skips computing the tour
        pose (steps whose pose nobody sees: all but the last two of a frame); a teleport always
        carries its pose."""
        teleport = False
        fade_rate = dt_s / self.fade_s
        if self.state == VISITOR:
            self.idle_for_s += dt_s
            self.level = min(1.0, self.level + fade_rate)
            if self.idle_for_s >= self.idle_s:
                self.state, self._walking_out = FADE_OUT, False
        elif self.state == ATTRACT:
            self.level = min(1.0, self.level + fade_rate)
            self.tour_t_s += dt_s
            if self.tour_t_s >= self.plan.duration_s:  # the end: fade out, start again
                self.tour_t_s = self.plan.duration_s
                self.state, self._walking_out = FADE_OUT, True
        elif self.state == FADE_OUT:
            if self._walking_out:
                self.tour_t_s = min(self.tour_t_s + dt_s, self.plan.duration_s)
            self.level = max(0.0, self.level - fade_rate)
            if self.level <= 0.0:
                self.state, self._walking_out = FADE_IN, False
                self.tour_t_s = 0.0
                self.returns += 1
                teleport = True
        elif self.state == FADE_IN:
            self.tour_t_s += dt_s
            self.level = min(1.0, self.level + fade_rate)
            if self.level >= 1.0:
                self.state = ATTRACT
        where = None
        if (pose or teleport) and self.attract:
            where = pose_at(self.plan, self.tour_t_s)
        return Step(self.state, where, teleport, self.level)

    @property
    def attract(self) -> bool:
        """True while the tour, not the visitor, moves the player."""
        return self.state in (ATTRACT, FADE_IN) or (self.state == FADE_OUT and self._walking_out)


def ease_angle(current_rad: float, target_rad: float, dt_s: float, time_constant_s: float) -> float:
    """Turn ``current`` toward ``target`` the short way round, one-pole with ``time_constant_s``."""
    d = math.atan2(math.sin(target_rad - current_rad), math.cos(target_rad - current_rad))
    return current_rad + d * (1.0 - math.exp(-dt_s / time_constant_s))
