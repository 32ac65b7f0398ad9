"""A level's terrain, got in a child process: the game and the editor never import torch.

The game process (``memoire play``, the kiosk, the editor) holds GL and SDL state and must not load
torch (torch lives in the audio process, and in the offline commands, which are their own
processes). So the terrain is loaded, or trained, and baked onto its numpy grid in a child
process started with multiprocessing's *spawn* context (never fork: the parent's GL, SDL and
audio threads must not be copied). What comes back is a ``TerrainGrid`` (pure numpy).

The API (``memoire.terrain.link.start_terrain_training`` makes the job from a level and a model
card; nothing below imports torch in the calling process)::

    job = start_terrain_training(level, card)   # returns at once; the child starts (~1-2 s of imports)
    job.progress.fraction                       # each frame: 0..1 (a TrainProgress snapshot)
    if job.done:                                # non-blocking
        grid = job.result()                     # TerrainGrid, or raises (below); call once done
        job.how                                 # "source" | "cached" | "trained"
    job.cancel()                                # stops the child; returns once it is gone (~0.2 s at most)

``result(timeout=None)`` waits up to ``timeout`` seconds (None: until the child is done) and
raises TimeoutError when still running, ``TrainingCancelled`` after ``cancel()``, ``UserError``
with the same text as in-process training (a broken [terrain] source file, a clip of the wrong
shape, ...), the builtin exception type of any other failure with its message, or RuntimeError
when the child died (its exit code in the message). A failed job leaves the caller's zone blend
playing; nothing else to clean up.

The child: one torch thread (intra- and inter-op), ``os.nice(child_niceness)`` so the audio
process and the renderer keep the cores, and it stops within one training step of ``cancel()``
(and when the parent goes away). It saves a trained terrain beside the level
(``<level>.terrain.npz``, atomically) as in-process training does, so the next start is "cached".

Sharing: the progress is a small shared array written only by the child and read by the parent
(values may be a step apart from one another; each is a whole double); the cancel flag is a
shared byte written only by the parent; the outcome comes once through a one-way pipe.

Any script that starts a job must guard its entry point with ``if __name__ == "__main__":``
(spawn imports the parent's main module in the child; ``python -m memoire`` and the installed
``memoire`` command are fine).
"""

from __future__ import annotations

import builtins
import multiprocessing
import os
import threading
import time
from typing import Mapping

import numpy as np

from memoire.terrain.grid import TerrainGrid
from memoire.terrain.progress import TrainingCancelled, TrainProgress
from memoire.world.errors import UserError
from memoire.world.level import Level

# Niceness added to the child: it trains in the background, the audio process and the renderer
# come first (10: well below normal priority, still ahead of the idle class).
child_niceness = 10
# cancel(): how long the child gets to notice the flag (it checks every training step, a few ms)
# before it is terminated (SIGTERM, which the child turns into a clean exit: no temporary files
# left), then killed.
cancel_grace_s = 0.2
terminate_wait_s = 1.0
# Once the outcome is in, the child is exiting: how long to wait for it before terminating.
reap_wait_s = 2.0

STATES = ("waiting", "running", "done", "cancelled", "failed")
# The shared progress array: [state index into STATES, steps done, loss] (doubles).
_STATE, _STEPS, _LOSS = range(3)


def _default_steps() -> int:
    return 1500  # memoire/world/level.py's default [terrain] steps (terrain._default_settings)


class TerrainJob:
    """Gets a level's terrain in a child process: the file its [terrain] source names, or the saved
    terrain when up to date, or trained (and saved); baked over ``bounds_m`` at ``resolution_m``.

    Main thread only: ``start()``, then poll ``progress`` and ``done`` each frame, take
    ``result()`` once done; ``cancel()`` stops it. See the module docstring.
    """

    def __init__(self, level: Level, zone_latents: Mapping[str, np.ndarray], rest_latent: np.ndarray | None,
                 *, bounds_m: tuple[float, float, float, float], resolution_m: float, save: bool = True,
                 use_cache: bool = True):
        self._steps = level.terrain.steps if level.terrain is not None else _default_steps()
        ctx = multiprocessing.get_context("spawn")
        self._shared = ctx.RawArray("d", 3)  # progress: written only by the child
        self._shared[_LOSS] = float("nan")
        self._cancel_flag = ctx.RawValue("b", 0)  # written only by the parent
        self._conn, child_conn = ctx.Pipe(duplex=False)
        zl = {k: np.array(v, dtype=np.float32) for k, v in zone_latents.items()}
        rest = None if rest_latent is None else np.array(rest_latent, dtype=np.float32)
        self._process = ctx.Process(
            target=_child_main, name="memoire-terrain", daemon=True,
            args=(child_conn, self._shared, self._cancel_flag, level, zl, rest,
                  tuple(float(b) for b in bounds_m), float(resolution_m), bool(save), bool(use_cache), os.getpid()))
        self._child_conn = child_conn
        self._t0 = 0.0
        self._outcome: tuple | None = None  # the child's message, once in
        self._final: TrainProgress | None = None
        self._grid: TerrainGrid | None = None
        self._how = ""
        self._source = ""
        self._reaper: threading.Thread | None = None  # joins the exiting child off the main thread
        self._reap_lock = threading.Lock()

    def start(self) -> "TerrainJob":
        self._t0 = time.perf_counter()
        self._process.start()
        self._child_conn.close()  # the child holds the only writing end: EOF if it dies
        self._child_conn = None
        return self

    # -- polled each frame ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the outcome is in (a grid, an error or the cancellation). Never blocks."""
        return self._check()

    @property
    def progress(self) -> TrainProgress:
        if self._final is not None:
            return self._final
        s = self._shared
        state = STATES[int(s[_STATE])] if 0 <= int(s[_STATE]) < len(STATES) else "running"
        return TrainProgress(min(int(s[_STEPS]), self._steps), self._steps, float(s[_LOSS]), state,
                             time.perf_counter() - self._t0 if self._t0 else 0.0)

    @property
    def how(self) -> str:
        """"source" when the level names a terrain file ([terrain] source), "cached" when the saved
        terrain was reused, "trained" when trained; "" until done."""
        return self._how

    @property
    def source(self) -> str:
        """Where the terrain came from (a file path), for messages; "" until done."""
        return self._source

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def alive(self) -> bool:
        """True while the child process exists (not yet exited and reaped)."""
        if self._process.pid is None:
            return False
        if not self._reap_lock.acquire(blocking=False):
            return True  # being reaped right now
        try:
            return self._process.exitcode is None
        finally:
            self._reap_lock.release()

    def result(self, timeout: float | None = None) -> TerrainGrid:
        """The baked grid, waiting up to ``timeout`` seconds (None: as long as it takes)."""
        if not self._t0 and self._outcome is None:
            raise RuntimeError("the terrain job was never started (start())")
        if not self._check():
            if self._conn is not None and self._conn.poll(timeout):
                self._check()
            if self._outcome is None:
                raise TimeoutError("terrain training still running")
        kind = self._outcome[0]
        if kind == "done":
            assert self._grid is not None
            return self._grid
        if kind == "cancelled":
            raise TrainingCancelled()
        if kind == "died":
            raise RuntimeError(self._outcome[1])
        _, type_name, message = self._outcome[:3]
        if type_name == "UserError":
            raise UserError(message)
        cls = getattr(builtins, type_name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                err = cls(message)
            except Exception:
                err = RuntimeError(f"{type_name}: {message}")
        else:
            err = RuntimeError(f"{type_name}: {message}")
        raise err

    def cancel(self) -> None:
        """Stop the child: it notices the flag within one training step; one still starting up
        (importing torch) after ``cancel_grace_s`` is terminated. Returns once the process is gone
        (reaped). Harmless when already done; ``result()`` then raises TrainingCancelled unless
        the grid had come in first."""
        if self._outcome is None:
            if not self._t0:  # never started
                self._outcome = ("cancelled",)
                self._final = TrainProgress(0, self._steps, float("nan"), "cancelled", 0.0)
                self._close()
                return
            self._cancel_flag.value = 1
            if self._conn is not None and self._conn.poll(cancel_grace_s):
                self._check()  # the child's own word (normally "cancelled"); reaped there
            if self._outcome is None:
                self._set_outcome(("cancelled",))
        if self._reaper is None:
            self._reap(0.0)  # no word from the child: terminate it now
        else:
            self._reaper.join()  # it is exiting of its own accord: a few ms

    def wait_gone(self, timeout: float | None = None) -> bool:
        """After done (or cancel): wait up to ``timeout`` s until the child has exited and been
        reaped (the game need not: a helper thread reaps it). False if still there, or not done."""
        if self._outcome is None:
            return False
        if self._reaper is not None:
            self._reaper.join(timeout)
            return not self._reaper.is_alive()
        return self._process.pid is None or self._process.exitcode is not None

    # -- internals ----------------------------------------------------------------------------------

    def _check(self) -> bool:
        if self._outcome is not None:
            return True
        if self._conn is None or not self._t0 or not self._conn.poll():
            return False
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):  # the child is gone without a word
            with self._reap_lock:
                self._process.join(reap_wait_s)
                code = self._process.exitcode
            msg = ("died", f"the terrain process stopped unexpectedly (exit code {code})")
        self._set_outcome(msg)
        # The child exits right after its message, but a process that held torch takes ~25 ms to
        # go (unmapping its memory): reap it on a helper thread rather than stall this frame.
        self._reaper = threading.Thread(target=self._reap, args=(reap_wait_s,), name="memoire-terrain-reaper",
                                        daemon=True)
        self._reaper.start()
        return True

    def _set_outcome(self, msg: tuple) -> None:
        self._outcome = msg
        elapsed = time.perf_counter() - self._t0
        s = self._shared
        steps, loss = min(int(s[_STEPS]), self._steps), float(s[_LOSS])
        kind = msg[0]
        if kind == "done":
            _, self._how, self._source, origin, step, values = msg
            values.setflags(write=False)
            self._grid = TerrainGrid(tuple(origin), float(step), values)
            self._final = TrainProgress(self._steps, self._steps, loss, "done", elapsed)
        elif kind == "cancelled":
            self._final = TrainProgress(steps, self._steps, loss, "cancelled", elapsed)
        else:
            text = msg[1] if kind == "died" else msg[2]
            self._final = TrainProgress(steps, self._steps, loss, "failed", elapsed, text)
        self._close()

    def _close(self) -> None:
        for conn in (self._conn, self._child_conn):
            if conn is not None:
                conn.close()
        self._conn = self._child_conn = None

    def _reap(self, wait_s: float) -> None:
        """Wait up to ``wait_s`` for the child to exit, then terminate it, then kill it; join."""
        with self._reap_lock:
            p = self._process
            if p.pid is None or p.exitcode is not None:
                return
            if wait_s > 0:
                p.join(wait_s)
            if p.exitcode is None:
                p.terminate()
                p.join(terminate_wait_s)
            if p.exitcode is None:
                p.kill()
                p.join()

    def __del__(self):
        # Dropped while running: let the child stop at its next step (it is reaped by
        # multiprocessing later); never block here.
        try:
            if self._outcome is None:
                self._cancel_flag.value = 1
        except Exception:
            pass


def _child_main(conn, shared, cancel_flag, level: Level, zone_latents, rest, bounds_m, resolution_m,
                save: bool, use_cache: bool, parent_pid: int) -> None:
    """The child process: load or train, bake, send the outcome once, exit."""
    import signal
    import sys

    def on_term(signum, frame):  # terminate(): unwind, so atomic writes remove their temporary file
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        os.nice(child_niceness)
    except OSError:
        pass
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"  # before torch loads: one thread, no idle pools
    shared[_STATE] = STATES.index("waiting")

    def should_stop() -> bool:
        return bool(cancel_flag.value) or os.getppid() != parent_pid

    def report(step: int, loss: float) -> None:
        shared[_LOSS] = loss
        shared[_STEPS] = step

    try:
        try:
            import torch

            torch.set_num_threads(1)
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:  # already set (cannot happen in a fresh process, but harmless)
                pass
            from memoire.terrain import terrain as T

            shared[_STATE] = STATES.index("running")
            if should_stop():
                raise TrainingCancelled()
            terrain, how = T.load_level_terrain(level, zone_latents, rest, use_cache=use_cache, save=save,
                                                on_progress=report, should_stop=should_stop)
            if terrain is None:
                raise ValueError(f"{level.path}: the level has no [terrain]")
            grid = terrain.to_grid(bounds_m, resolution_m)
            shared[_STATE] = STATES.index("done")
            msg = ("done", how, str(terrain.source), grid.origin_m, grid.step_m, np.asarray(grid.values))
        except TrainingCancelled:
            shared[_STATE] = STATES.index("cancelled")
            msg = ("cancelled",)
        except UserError as e:
            shared[_STATE] = STATES.index("failed")
            msg = ("error", "UserError", str(e))
        except Exception as e:
            import traceback

            shared[_STATE] = STATES.index("failed")
            traceback.print_exc()  # on the game's stderr: the parent gets the type and message only
            msg = ("error", type(e).__name__, str(e))
        try:
            conn.send(msg)
        except (BrokenPipeError, OSError):  # the parent stopped listening (cancelled or gone)
            pass
        conn.close()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    # Everything is written (the saved terrain renamed into place, the message in the pipe): exit
    # at once, skipping torch's and the interpreter's teardown, so the parent reaps us in a few ms
    # instead of stalling a frame on join.
    os._exit(0)
