"""The one fixed-step clock: the simulation advances in equal steps, the picture interpolates.

Game Programming Patterns' "fixed update, variable render": each frame the wall time since the
last frame is added to an accumulator, whole ``step_s`` steps are taken out of it, and what is
left (a fraction of a step, ``alpha``) tells the renderer how far between the last two steps to
draw. The simulation therefore runs at wall-clock speed whatever the frame time, and physics is
the same at 15 fps and 144 fps.

A frame longer than ``max_frame_s`` (a stall: a window drag, a debugger, a swap storm) counts
as ``max_frame_s``: the world slows down for that frame instead of running a burst of catch-up
steps that would make the next frame slower still.

Pure Python; the caller passes ``now_s`` (time.perf_counter() in the game, a simulated clock in
the soak and the tests), so the same code runs in both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FixedStepClock:
    step_s: float
    max_frame_s: float
    _last_s: float | None = None
    _accumulator_s: float = 0.0

    def advance(self, now_s: float) -> tuple[int, float]:
        """Account for the time up to ``now_s``: (whole steps to simulate now, alpha in [0, 1)).

        The first call starts the clock (0 steps). Time going backwards counts as no time.
        """
        if self._last_s is None:
            self._last_s = now_s
        frame_s = min(max(now_s - self._last_s, 0.0), self.max_frame_s)
        self._last_s = now_s
        self._accumulator_s += frame_s
        # the small tolerance keeps 0.1 s / (1/120 s) from becoming 11 steps by rounding
        steps = int(self._accumulator_s / self.step_s + 1e-9)
        self._accumulator_s = max(self._accumulator_s - steps * self.step_s, 0.0)
        return steps, min(self._accumulator_s / self.step_s, 1.0)

    @property
    def alpha(self) -> float:
        """How far the picture is between the last two steps (0..1), as of the last advance."""
        return min(self._accumulator_s / self.step_s, 1.0)
