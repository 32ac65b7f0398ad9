"""What a misbehaving model does at run time, as plain data (no torch): ``ModelFault``.

A model file passes its load-time checks (memoire/audio/model.py ``check_decode``) and may still
misbehave later: its decode raises on some call, returns NaN or Inf for some latent, returns the
wrong shape, or runs slower than real time. ``NeuralDecoder.decode`` turns the first three into a
``ModelFault`` naming the file and what it did; the synth (memoire/audio/synth.py) fades out and
plays silence instead of passing anything on, and the supervisor (memoire/audio/supervisor.py)
says so and retries a bounded number of times. ``memoire render`` refuses (exit 2, no file).
"""

from __future__ import annotations

from pathlib import Path


class ModelFault(RuntimeError):
    """The model's decode misbehaved. ``what``: one phrase ("decode returned NaN values");
    ``path``: the model file. ``str()`` names both."""

    def __init__(self, path: Path | str | None, what: str):
        self.path = Path(path) if path is not None else None
        self.what = what
        super().__init__(f"{self.path.name if self.path is not None else 'the model'}: {what}")


def error_summary(e: BaseException) -> str:
    """One line for an exception a TorchScript call raised: TorchScript wraps a model's own
    ``raise`` in a long interpreter trace whose last line (``builtins.RuntimeError: boom``) is the
    part a person needs."""
    text = str(e).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    if len(lines) > 1 and lines[0].startswith("The following operation failed in the TorchScript"):
        last = lines[-1]
        return last.removeprefix("builtins.")
    return lines[0] if len(lines[0]) <= 300 else lines[0][:297] + "..."
