"""What a terrain training reports, shared by the in-process trainer (memoire/terrain/terrain.py)
and the child-process job (memoire/terrain/job.py). No torch."""

from __future__ import annotations

from dataclasses import dataclass


class TrainingCancelled(Exception):
    """Training was cancelled before it finished."""


@dataclass(frozen=True)
class TrainProgress:
    """A snapshot of a background training (immutable; a new one per read)."""

    steps_done: int
    steps_total: int
    loss: float  # weighted MSE of the latest batch; nan before the first step
    state: str  # "waiting", "running", "done", "cancelled", "failed"
    elapsed_s: float
    message: str = ""  # the error, when failed

    @property
    def fraction(self) -> float:
        return self.steps_done / self.steps_total if self.steps_total else 0.0
