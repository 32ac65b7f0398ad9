"""The audio as it ships: ``AudioProcess``, the synth in a child process (and the sound device's
callback in a grandchild of its own: memoire/audio/relay.py).

``AudioProcess`` implements memoire/audio/client.py ``AudioClient``; it is the one audio engine of
the game, the kiosk and the editor. Why a process: Python has one interpreter lock per process,
and the renderer (moderngl on a software rasteriser) holds it for a whole frame, tens to hundreds
of milliseconds; in one process the audio callback and the synth would stall with it and the
device would underrun. In its own process the synth keeps its own lock, and a crash there cannot
take the picture down.

Two levels of recovery, both here:
- inside the child, always: memoire/audio/supervisor.py ``AudioSupervisor`` restarts a synth thread
  that crashed or stalled (fading back in), and falls back to the silent clock when the device
  vanishes, reopening it with backoff;
- the child itself: when it ends, or its control loop stops reporting for
  ``process_stall_s``, the parent kills it and starts a new one with the latest level, model,
  terrain and gain (fading in). A new child gets ``process_grace_s`` to load before it is judged;
  one that fails before it played waits ``process_grace_s`` doubling to ``process_backoff_max_s``
  before the next try. The watch runs in ``poll_events()``: call it every frame (the game does).

Statistics (``stats()``) are accumulated over both kinds of restart: the child adds up what its
restarted synths and swapped outputs counted (memoire/audio/engine.py ``LocalEngine.counts``), the
parent adds each finished child's last figures to its total. Restarts arrive as ``AudioEvent``s.

Shared slots, one writer each:
- the listener array (``RawArray``, a sequence lock: odd while writing): the game's main thread
  writes (``set_listener``), the child's control loop reads, and so does the synth thread, just
  before each decode (``_ListenerReader``: the newest pose, no relay delay);
- the statistics array (a fresh one per child): the child's control loop writes, the game reads;
- the command queue (a fresh one per child): the game's main thread puts, the child's control loop
  takes; the event queue: the child puts (its control loop, and ``say`` from it), the game takes.

Fault injection (tests and the soak; never used by the game): ``inject_fault(kind, seconds)``
sends the child a ``("fault", kind, seconds)`` command: ``synth_crash`` (the next render raises),
``synth_stall`` (the next render sleeps ``seconds``), ``device_loss`` (the output fails now and the
device cannot be opened for ``seconds``; simulated: unplugged until ``device_back``),
``device_back``, ``freeze`` (the control loop sleeps ``seconds``: the process stops reporting).
``AudioProcess(simulated=True)`` runs the child with memoire/audio/simulated.py's device on a
clock the caller drives with ``simulate(now_s, seconds)`` (the soak harness).

This module imports no torch (the child imports it, in its own process).
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import threading
import time
from contextlib import contextmanager
from pathlib import Path


from memoire.audio.card import read_card, streaming_warning
from memoire.audio.client import (EVENT_ERROR, EVENT_RESTART, EVENT_SILENT, EVENT_WARNING, AudioEvent,
                                  AudioStats)
from memoire.audio.synth import histogram_percentile, latency_bins
from memoire.world.card import ModelCard
from memoire.world.field import FieldControls, build_zone_blend
from memoire.world.level import Level

log = logging.getLogger("memoire.audio")

# Shared listener array: [seq lock, x_m, y_m, heading_rad, teleport, seq, stamp_s, moved_s]
# (moved_s: the stamp of the first write at this position; the latency meter counts from it)
_L_LOCK, _L_X, _L_Y, _L_H, _L_TELEPORT, _L_SEQ, _L_STAMP, _L_MOVED, _L_SIZE = range(9)
# Shared statistics array, written by the child's control loop only; the latency histogram
# (``latency_bins`` 1 ms bins) follows _S_HIST, the latent follows _S_LATENT.
(_S_LOOP, _S_READY, _S_HEARTBEAT, _S_UNDERRUNS, _S_DEVICE_UF, _S_PLAYED, _S_WORK_S, _S_AUDIO_S,
 _S_LAT_SUM, _S_LAT_N, _S_CROSSFADES, _S_SYNTH_RESTARTS, _S_DEVICE_LOSSES, _S_DEVICE_REOPENS,
 _S_DEVICE_ATTEMPTS, _S_GAIN, _S_SIM_SEQ, _S_SIM_FRAMES, _S_SIM_SUMSQ, _S_LEAD, _S_VOICES_REAL, _S_VOICES_VIRTUAL,
 _S_HIST) = range(23)
_S_LATENT = _S_HIST + latency_bins
# Counters the parent adds up over children (the rest are the current child's own).
_SUMMED = dict(underruns=_S_UNDERRUNS, device_underflows=_S_DEVICE_UF, frames_played=_S_PLAYED,
               work_s=_S_WORK_S, audio_s=_S_AUDIO_S, latency_sum_s=_S_LAT_SUM, latency_n=_S_LAT_N,
               crossfades=_S_CROSSFADES, synth_restarts=_S_SYNTH_RESTARTS, device_losses=_S_DEVICE_LOSSES,
               device_reopens=_S_DEVICE_REOPENS, device_attempts=_S_DEVICE_ATTEMPTS)
# Latent slots in the statistics array at least (a model switch may bring a larger latent).
_min_latent_slots = 64

# Once the audio process runs, the calling thread (the game: rendering, physics) lowers its own
# priority by this many nice steps, so that on a busy 2-core machine the scheduler serves the
# audio first: CFS weights differ by ~1.25x per step, so 5 steps give the audio ~3x the share.
# (Raising the audio's priority instead would need privileges a festival user does not have.)
# Children are spawned from a thread made before that (``_Spawner``), so restarted ones keep the
# default priority too.
game_nice_increment = 5
# The child polls its command queue and publishes statistics at 100 Hz.
child_poll_s = 0.01
# start(wait=True) waits this long at most for the child to play (model load, torch import).
child_start_timeout_s = 60.0
# The child is restarted when it has ended, or when its control loop has not reported for 10 s
# (twice the supervisor's own stall limit inside it: that one acts first when it can).
process_stall_s = 10.0
# A new child gets this long to load the model before it is judged; a child that failed before
# it played makes the next wait twice as long, up to 5 min.
process_grace_s = 20.0
process_backoff_max_s = 300.0
# simulate() waits this long for the child's answer before it gives up (real seconds).
sim_reply_timeout_s = 60.0


@contextmanager
def _sigint_ignored():
    """SIGINT ignored while a child is spawned, so the child starts with it ignored (an ignored
    signal stays ignored across exec) until ``_child_signals``. Main thread only; elsewhere a no-op."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class _Spawner:
    """A thread that starts processes, made before the game lowers its priority: a child inherits
    the niceness of the thread that spawns it, so every child (restarts too) keeps the default."""

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="memoire-audio-spawner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job, done, box = self._jobs.get()
            if job is None:
                return
            try:
                box.append(job())
            except BaseException as e:
                box.append(e)
            done.set()

    def run(self, job):
        done, box = threading.Event(), []
        self._jobs.put((job, done, box))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def close(self) -> None:
        self._jobs.put((None, None, None))


class _Child:
    """One audio child process and its private slots."""

    def __init__(self, ctx, config: dict, listener, latent_dim: int):
        self.stats = ctx.RawArray("d", _S_LATENT + max(latent_dim, _min_latent_slots))
        self.commands = ctx.Queue()
        self.events = ctx.Queue()
        self.proc = ctx.Process(target=_child_main, name="memoire-audio", daemon=True,
                                args=(config, listener, self.stats, self.commands, self.events))
        self.started_s = 0.0
        self.closed = False  # the child said it closed (its final figures are published)

    @property
    def ready(self) -> bool:
        return self.stats[_S_READY] != 0.0

    def counts(self) -> dict:
        return {k: float(self.stats[i]) for k, i in _SUMMED.items()}

    def histogram(self) -> list[float]:
        return list(self.stats[_S_HIST:_S_HIST + latency_bins])

    def release(self) -> None:
        """Close the queues (the child is gone): no feeder thread or pipe outlives it."""
        try:
            self.commands.cancel_join_thread()  # never wait to flush commands nobody will read
            self.commands.close()
            self.events.close()
        except (OSError, ValueError, AssertionError):
            pass


class AudioProcess:
    """The audio in a child process, restarted when it ends or freezes (memoire/audio/client.py
    ``AudioClient``). Every method: the game's main thread."""

    def __init__(self, level: Level, model_path: Path, *, record: Path | None = None, mute: bool = False,
                 torch_threads: int = 1, device: int | str | None = None, settings=None,
                 gain: float = 1.0, ceiling: float | None = None, card: ModelCard | None = None,
                 restart: bool = True, simulated: bool = False, stall_s: float | None = None,
                 output: str | None = None):
        """Reads the model's card (memoire/audio/card.py: no torch here) and checks the level's
        anchors against it: raises UserError. ``gain``/``ceiling``: the output stage at start
        (see ``set_gain``). ``restart``: replace a child that ends or freezes. ``simulated``: the
        soak's simulated device and clock (see ``simulate``). ``stall_s``: the synth stall limit
        inside the child (tests shorten it). ``output``: the output layout (memoire/audio/scene.py
        OUTPUT_LAYOUTS) instead of the level's [sound] output (--output, the kiosk config)."""
        import multiprocessing as mp

        self.card: ModelCard = card or read_card(model_path)
        build_zone_blend(level, self.card)  # bad anchors are the user's to fix: raise here, in the game
        self.model_path = Path(model_path)
        self.level = level
        self._ctx = mp.get_context("spawn")  # no fork: the parent holds GL and SDL state
        self._listener = self._ctx.RawArray("d", _L_SIZE)  # the game's main thread writes (seq lock)
        self._options = dict(record=record, mute=mute, torch_threads=torch_threads, device=device,
                             settings=settings, simulated=simulated, stall_s=stall_s, output=output)
        from memoire.audio.output import default_ceiling

        self._gain = max(0.0, float(gain))
        self._ceiling = float(ceiling) if ceiling is not None else default_ceiling
        self._terrain = None
        self._controls = FieldControls()  # live zone gains and latent override; kept for restarted children
        self._restart = restart
        self.simulated = simulated
        self._seq = 0
        self._teleport = 0
        self._child: _Child | None = None
        self._base = {k: 0.0 for k in _SUMMED}  # finished children's totals
        self._base_hist = [0.0] * latency_bins  # finished children's latency histograms
        self._last_voices = (0, 0)  # (real, virtual) voices of the last child that ended
        self.priority = ""  # the synth's scheduling as the child said it ("_priority" event)
        self._process_restarts = 0
        self._failures = 0  # children in a row that failed before they played
        self._restart_at: float | None = None
        self._judge_after_s = 0.0
        self._events: list[AudioEvent] = []
        self._output = "none"
        self._closed = False
        self._final: AudioStats | None = None
        self._sim_seq = 0
        self.silent_reason: str | None = None
        self._warned: set[str] = set()  # warnings said (a restarted child says its own again)
        self._warn_streaming(self.card)
        self._reniced = os.getpriority(os.PRIO_PROCESS, 0) >= game_nice_increment  # once per process
        self._spawner = _Spawner()
        self._write_listener(*level.spawn_xy, 0.0)

    # -- the child ----------------------------------------------------------------------------------

    def _spawn(self, *, restarted: bool) -> None:
        opts = dict(self._options)
        if restarted:
            opts["record"] = None  # a restarted child would truncate the recording
        config = dict(opts, level=self.level, model_path=self.model_path, card=self.card, gain=self._gain,
                      ceiling=self._ceiling, terrain=self._terrain, fade_in=restarted, controls=self._controls)
        child = _Child(self._ctx, config, self._listener, self.card.latent_dim)
        with _sigint_ignored():  # inherited: a Ctrl+C while the child boots is no traceback there
            self._spawner.run(child.proc.start)
        child.started_s = time.perf_counter()
        self._child = child
        self._judge_after_s = child.started_s + min(process_grace_s * 2 ** self._failures, process_backoff_max_s)

    def start(self, wait: bool = True) -> None:
        """Start the audio process; with ``wait``, until it plays (or says why it cannot)."""
        self._spawn(restarted=False)
        if not self._reniced:
            try:
                os.nice(game_nice_increment)
            except OSError:
                pass  # not allowed here: the audio keeps the default share
            self._reniced = True
        if not wait:
            return
        child = self._child
        deadline = time.perf_counter() + child_start_timeout_s
        while not child.ready and child.proc.is_alive() and time.perf_counter() < deadline:
            time.sleep(0.02)
        self._pump()

    def _warn_streaming(self, card: ModelCard) -> None:
        """A model that is not a streaming export plays, with a warning (memoire/audio/card.py)."""
        text = streaming_warning(card)
        if text is not None and text not in self._warned:
            self._warned.add(text)
            log.warning(text)
            self._events.append(AudioEvent(EVENT_WARNING, text))

    def _pump(self) -> None:
        """Take the child's events into ``self._events``."""
        child = self._child
        if child is None:
            return
        while True:
            try:
                kind, text = child.events.get_nowait()
            except (queue.Empty, OSError, ValueError, EOFError):
                break
            if kind == "_output":
                self._output = text
            elif kind == "_priority":
                if text != self.priority:
                    log.info("audio priority: %s", text)
                self.priority = text
            elif kind == "_closed":
                child.closed = True
            else:
                if kind == EVENT_SILENT:
                    if text == self.silent_reason:
                        continue  # a restarted child saying it again
                    self.silent_reason = text
                elif kind == EVENT_WARNING:
                    if text in self._warned:
                        continue
                    self._warned.add(text)
                self._events.append(AudioEvent(kind, text))

    def _watch(self) -> None:
        """Replace a child that ended or froze (see the module's docstring)."""
        if self._closed or not self._restart:
            return
        now = time.perf_counter()
        if self._restart_at is not None:
            if now >= self._restart_at:
                self._restart_at = None
                self._respawn()
            return
        child = self._child
        if child is None:
            return
        if not child.proc.is_alive():
            why = f"ended (exit status {child.proc.exitcode})"
        elif now < self._judge_after_s:
            return
        elif not child.ready:
            why = f"did not start within {now - child.started_s:.0f} s"
        elif now - child.stats[_S_LOOP] > process_stall_s:
            why = f"stopped reporting ({now - child.stats[_S_LOOP]:.0f} s)"
        else:
            return
        played = child.ready
        self._retire(child)
        self._process_restarts += 1
        if played:
            self._failures = 0
            wait = 0.0
        else:
            self._failures += 1
            wait = min(process_grace_s * 2 ** (self._failures - 1), process_backoff_max_s)
        text = (f"the audio process {why}; starting a new one"
                f"{f' in {wait:.0f} s' if wait else ''} ({self._process_restarts} so far)")
        log.error(text)
        self._events.append(AudioEvent(EVENT_RESTART, text))
        if wait:
            self._restart_at = now + wait
        else:
            self._respawn()

    def _respawn(self) -> None:
        try:
            self._spawn(restarted=True)
        except Exception as e:  # could not even spawn: try again later
            log.exception("audio: the new audio process did not start")
            self._events.append(AudioEvent(EVENT_ERROR, f"the new audio process did not start ({e})"))
            self._child = None
            self._restart_at = time.perf_counter() + process_grace_s

    def _retire(self, child: _Child) -> None:
        """End ``child`` (killed if it still runs) and add its figures to the totals."""
        if child.proc.is_alive():
            child.proc.kill()
        child.proc.join(timeout=5.0)
        self._pump()
        for k, v in child.counts().items():
            self._base[k] += v
        self._base_hist = [a + b for a, b in zip(self._base_hist, child.histogram())]
        # the voices it last played: what the session's summary says once the process is gone
        self._last_voices = (int(child.stats[_S_VOICES_REAL]), int(child.stats[_S_VOICES_VIRTUAL]))
        child.release()
        if self._child is child:
            self._child = None

    def _send(self, *command) -> None:
        child = self._child
        if child is not None and child.proc.is_alive():
            try:
                child.commands.put(command)
            except (OSError, ValueError):
                pass  # a child being replaced: the new one starts from the latest state

    # -- the game's calls ---------------------------------------------------------------------------

    def _write_listener(self, x_m: float, y_m: float, heading_rad: float) -> None:
        a = self._listener
        now = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in both processes
        moved = a[_L_X] != x_m or a[_L_Y] != y_m or a[_L_MOVED] == 0.0
        a[_L_LOCK] += 1.0  # odd: writing
        a[_L_X], a[_L_Y], a[_L_H] = x_m, y_m, heading_rad
        a[_L_TELEPORT] = self._teleport
        a[_L_SEQ] = self._seq
        a[_L_STAMP] = now
        if moved:
            a[_L_MOVED] = now
        a[_L_LOCK] += 1.0  # even: done

    def set_listener(self, x_m: float, y_m: float, heading_rad: float, *, teleport: bool = False) -> None:
        self._seq += 1
        if teleport:
            self._teleport += 1
        self._write_listener(x_m, y_m, heading_rad)

    def set_level(self, level: Level) -> None:
        """A new version of the level (hot reload). Raises UserError for anchors the model lacks.
        A level that no longer uses a terrain drops it (the child's ``LocalEngine.set_level``)."""
        build_zone_blend(level, self.card)
        self.level = level
        if not level.uses_terrain:
            self._terrain = None
        self._send("level", level)

    def set_terrain(self, grid) -> None:
        """A terrain grid (memoire/terrain/grid.py), mixed as the current level says."""
        self._terrain = grid
        self._send("terrain", grid)

    def set_model(self, model_path: Path) -> None:
        """Switch to another model file, crossfaded. Raises UserError if it cannot play this level."""
        card = read_card(model_path)
        build_zone_blend(self.level, card)
        self.card = card
        self.model_path = Path(model_path)
        self._warn_streaming(card)
        self._send("model", self.model_path, card)

    def set_gain(self, gain: float, ceiling: float | None = None) -> None:
        """The output gain stage (memoire/audio/output.py ``MasterGain``, in the device callback):
        ``gain`` linear (ramped: the kiosk's volume x fade, the editor's hold-to-hear), and when
        given the peak ceiling (linear, the kiosk's volume limit). The level's gain_db is the
        synth's makeup before this stage. Kept for restarted children."""
        self._gain = max(0.0, float(gain))
        if ceiling is not None:
            self._ceiling = float(ceiling)
        self._send("gain", self._gain, None if ceiling is None else self._ceiling)

    def set_zone_gains(self, gains: dict[str, float]) -> None:
        """Per-zone gains 0..1 on the zones' weights (memoire/world/field.py ``FieldControls``),
        set over the earlier ones; glided, kept over reloads and restarts."""
        self._controls = self._controls.with_gains(gains)
        self._send("controls", self._controls)

    def set_latent(self, latent) -> None:
        """Play this latent (latent_dim numbers) instead of the field's, until ``set_latent(None)``."""
        self._controls = self._controls.with_latent(latent)
        self._send("controls", self._controls)

    def poll_events(self) -> list[AudioEvent]:
        """Events since the last call; also replaces a child that ended or froze."""
        self._pump()
        self._watch()
        self._pump()
        out, self._events = self._events, []
        return out

    def stats(self) -> AudioStats:
        if self._final is not None:
            return self._final
        child = self._child
        total = dict(self._base)
        hist = self._base_hist
        if child is not None:
            for k, v in child.counts().items():
                total[k] += v
            hist = [a + b for a, b in zip(hist, child.histogram())]
        alive = child is not None and child.proc.is_alive()
        latent: tuple[float, ...] = ()
        heartbeat = gain = 0.0
        if child is not None:
            heartbeat = float(child.stats[_S_HEARTBEAT]) if alive and child.ready else 0.0
            gain = float(child.stats[_S_GAIN])
            latent = tuple(child.stats[_S_LATENT:_S_LATENT + self.card.latent_dim])
            voices = (int(child.stats[_S_VOICES_REAL]), int(child.stats[_S_VOICES_VIRTUAL]))
        else:
            voices = self._last_voices
        return AudioStats(
            underruns=int(total["underruns"]), device_underflows=int(total["device_underflows"]),
            synth_restarts=int(total["synth_restarts"]), process_restarts=self._process_restarts,
            device_losses=int(total["device_losses"]), device_reopens=int(total["device_reopens"]),
            device_attempts=int(total["device_attempts"]), crossfades=int(total["crossfades"]),
            synth_rtf=total["audio_s"] / total["work_s"] if total["work_s"] > 0 else None,
            latency_s=total["latency_sum_s"] / total["latency_n"] if total["latency_n"] > 0 else None,
            frames_played=int(total["frames_played"]), heartbeat_s=heartbeat, output=self._output,
            alive=alive, latent=latent, gain=gain, latency_p95_s=histogram_percentile(hist, 95.0),
            priority=self.priority, voices_real=voices[0], voices_virtual=voices[1])

    def close(self) -> None:
        """Stop the child (its last figures kept in ``stats()``); idempotent."""
        if self._closed:
            return
        self._closed = True
        child = self._child
        if child is not None:
            if child.proc.is_alive():
                self._send("stop")
                deadline = time.perf_counter() + 5.0
                while not child.closed and child.proc.is_alive() and time.perf_counter() < deadline:
                    self._pump()
                    time.sleep(0.01)
                child.proc.join(timeout=2.0)
            self._retire(child)
        self._pump()
        self._final = self.stats()
        self._spawner.close()

    # -- test hooks: fault injection and the simulated clock ----------------------------------------

    @property
    def pid(self) -> int | None:
        """The current child's process id (tests kill it)."""
        child = self._child
        return child.proc.pid if child is not None else None

    def inject_fault(self, kind: str, seconds: float = 0.0) -> None:
        """Fault injection (see the module's docstring for the kinds). Tests and the soak only."""
        if kind not in ("synth_crash", "synth_stall", "device_loss", "device_back", "freeze"):
            raise ValueError(f"unknown fault {kind!r}")
        self._send("fault", kind, float(seconds))

    def simulate(self, now_s: float, seconds: float) -> tuple[int, float]:
        """Simulated mode: set the child's clock to ``now_s``, let its supervisor look, then take
        ``seconds`` of audio from the ring as the device would (waiting for the synth). Returns
        (frames consumed, their sum of squares) once done; (0, 0.0) when no child answers."""
        if not self.simulated:
            raise RuntimeError("simulate() needs AudioProcess(simulated=True)")
        child = self._child
        if child is None or not child.proc.is_alive():
            return 0, 0.0
        self._sim_seq += 1
        seq = float(self._sim_seq)
        self._send("sim", self._sim_seq, float(now_s), float(seconds))
        deadline = time.perf_counter() + sim_reply_timeout_s
        while child.stats[_S_SIM_SEQ] != seq:
            if not child.proc.is_alive() or time.perf_counter() > deadline:
                return 0, 0.0
            time.sleep(0.0002)
        return int(child.stats[_S_SIM_FRAMES]), float(child.stats[_S_SIM_SUMSQ])


def _read_listener(listener) -> list[float]:
    """The listener, read under the sequence lock (retry while the game is mid-write)."""
    values = listener[:]
    for _ in range(4):
        lock = listener[_L_LOCK]
        values = listener[:]
        if lock == listener[_L_LOCK] and int(lock) % 2 == 0:
            break
    return values


class _ListenerReader:
    """The newest pose from the shared listener array, for one reading thread (the synth's own,
    just before each decode: memoire/audio/synth.py ``SynthThread``). Returns None while the
    sequence number has not changed. A second reader of the sequence lock beside the control loop;
    both only read."""

    def __init__(self, listener):
        self._array = listener
        self._seq = -1.0

    def __call__(self):
        from memoire.audio.synth import Listener

        values = _read_listener(self._array)
        if values[_L_SEQ] == self._seq:
            return None
        self._seq = values[_L_SEQ]
        return Listener(values[_L_X], values[_L_Y], values[_L_H], int(values[_L_TELEPORT]), int(values[_L_SEQ]),
                        values[_L_STAMP], values[_L_MOVED])


def _child_signals() -> None:
    """Ctrl+C reaches the whole process group: the child ignores SIGINT and lets the game stop it
    (the "stop" command: the recording closed, no traceback). SIGTERM (``kill``, systemd stopping
    the unit) ends it as cleanly: SystemExit in the control loop, whose ``finally`` closes the engine."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_term(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends it at once
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)


# The child's Python threads share one interpreter lock: a device callback at real-time priority
# still waits for the thread holding it. The control loop (and every thread it starts: they
# inherit) runs niced by ``child_nice`` where allowed, so a busy machine does not preempt it while
# it holds the lock, and the lock changes hands every ``child_switch_interval_s`` (Python's
# default is 5 ms, half the device buffer).
child_nice = -10
child_switch_interval_s = 0.001


def _child_priority() -> None:
    import sys

    sys.setswitchinterval(child_switch_interval_s)
    if os.environ.get("MEMOIRE_AUDIO_RT", "1").strip().lower() in ("0", "off", "no", "false"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, child_nice)  # this thread (Linux: per thread), inherited
    except (AttributeError, OSError):
        pass  # not allowed: the default share


def _child_main(config: dict, listener, stats, commands, events) -> None:
    """The audio process: a LocalEngine under an AudioSupervisor until told to stop or the parent
    goes away. Its main thread is the control loop: it relays commands, reads the listener, runs
    the supervisor and publishes the statistics (the only writer of ``stats``)."""
    _child_signals()
    if not config["simulated"]:
        _child_priority()
    from memoire.audio.engine import LocalEngine, preload_model_library
    from memoire.audio.output import refresh_devices
    from memoire.audio.relay import open_device
    from memoire.audio.supervisor import AudioSupervisor
    from memoire.audio.synth import Listener

    preload_model_library()  # torch: its objects frozen below, before the device opens

    # Python's cyclic garbage collector pauses the whole process while it walks every object;
    # with torch loaded a full pass took ~140 ms here. Torch's objects are frozen out of every
    # later pass now, before the device stream runs (a pass while it runs holds the interpreter
    # lock the callback needs); what the engine makes is frozen after it (a shorter pass).
    gc.collect()
    gc.freeze()
    parent = os.getppid()
    simulated = config["simulated"]
    device = config["device"]
    mute = config["mute"]

    def say(kind: str, text: str) -> None:
        events.put((kind, text))

    from memoire.audio.recorder import set_report

    set_report(lambda text: say(EVENT_ERROR, text))  # a recording that stops: said in the game

    blocked_until = [0.0]  # fault injection: the real device cannot be opened until then
    sim_device = None
    sim_now = [0.0]
    if simulated:
        from memoire.audio.simulated import SimDevice

        sim_device = SimDevice()
        open_dev, open_fallback, clock = sim_device.open, sim_device.open_fallback, (lambda: sim_now[0])
    else:
        def open_dev(ring, rate, gain):
            if time.perf_counter() < blocked_until[0]:
                raise OSError("the sound device is gone (fault injection)")
            refresh_devices()
            return open_device(ring, rate, device, gain)

        open_fallback, clock = None, time.perf_counter
    try:
        engine = LocalEngine(config["level"], config["model_path"], card=config["card"], record=config["record"],
                             mute=mute, torch_threads=config["torch_threads"], device=device,
                             settings=config["settings"], gain=0.0, ceiling=config["ceiling"], output=config["output"],
                             open_device=open_dev if simulated else None, open_fallback=open_fallback,
                             decode_ahead=simulated)
        if config["terrain"] is not None:
            engine.set_terrain(config["terrain"])
        if config.get("controls") is not None:
            engine.set_controls(config["controls"])
    except BaseException as e:  # reported to the game, which shows it; the game plays on silently
        say(EVENT_ERROR, f"audio engine failed to start: {e}")
        return
    if engine.silent_reason:
        say(EVENT_SILENT, engine.silent_reason)
    if engine.layout_warning:  # the device has fewer channels than the layout: stereo, said once
        say(EVENT_WARNING, engine.layout_warning)
    # Freezing what exists now (the model, the level) takes it out of every later pass too.
    gc.collect()  # measured: 0.7 ms (it was ~140 ms with torch's objects in it)
    gc.freeze()
    if not simulated:  # the simulated device's consumer is the control loop itself
        engine.set_listener_source(_ListenerReader(listener))
    engine.start()
    supervisor = AudioSupervisor(engine, gain=config["gain"], open_device=open_dev, want_device=not mute,
                                 clock=clock, report=say, stall_s=config["stall_s"], fade_in=config["fade_in"])
    latent_slots = len(stats) - _S_LATENT
    published_n = [-1.0]
    priority_said, callback_priority, started_s = [False], ["normal"], time.perf_counter()
    last_seq = -1.0
    output_said = None

    def publish() -> None:
        c = engine.counts()
        st = supervisor.stats
        stats[_S_HEARTBEAT] = c["heartbeat_s"]
        stats[_S_UNDERRUNS] = c["underruns"]
        stats[_S_DEVICE_UF] = c["device_underflows"]
        stats[_S_PLAYED] = c["frames_played"]
        stats[_S_WORK_S] = c["work_s"]
        stats[_S_AUDIO_S] = c["audio_s"]
        stats[_S_LAT_SUM] = c["latency_sum_s"]
        stats[_S_LAT_N] = c["latency_n"]
        stats[_S_CROSSFADES] = c["crossfades"]
        stats[_S_SYNTH_RESTARTS] = st.synth_restarts
        stats[_S_DEVICE_LOSSES] = st.device_losses
        stats[_S_DEVICE_REOPENS] = st.device_reopens + (0 if engine.silent_reason else 1)  # the first open
        stats[_S_DEVICE_ATTEMPTS] = st.device_attempts
        stats[_S_GAIN] = supervisor.gain_target
        stats[_S_LEAD] = c["lead_frames"]
        stats[_S_VOICES_REAL] = c["voices_real"]
        stats[_S_VOICES_VIRTUAL] = c["voices_virtual"]
        if c["latency_n"] != published_n[0]:
            published_n[0] = c["latency_n"]
            stats[_S_HIST:_S_HIST + latency_bins] = engine.latency_histogram().tolist()
        latent = engine.latent()
        n = min(len(latent), latent_slots)
        stats[_S_LATENT:_S_LATENT + n] = [float(v) for v in latent[:n]]

    def fault(kind: str, seconds: float) -> None:
        if kind == "synth_crash":
            engine.inject_synth_fault("crash")
        elif kind == "synth_stall":
            engine.inject_synth_fault("stall", seconds)
        elif kind == "device_loss":
            if sim_device is not None:
                sim_device.unplug()
            else:
                blocked_until[0] = time.perf_counter() + seconds
                engine.inject_output_failure("the sound device is gone (fault injection)")
        elif kind == "device_back":
            if sim_device is not None:
                sim_device.plug()
            else:
                blocked_until[0] = 0.0
        elif kind == "freeze":
            time.sleep(seconds)

    publish()
    stats[_S_READY] = 1.0
    try:
        while True:
            stats[_S_LOOP] = time.perf_counter()
            try:
                cmd = commands.get(timeout=child_poll_s)
            except queue.Empty:
                cmd = None
            sim = None
            if cmd is not None:
                kind = cmd[0]
                if kind == "stop":
                    break
                if kind == "level":
                    try:
                        engine.set_level(cmd[1])
                    except Exception as e:
                        say(EVENT_ERROR, f"level not applied to the sound: {e}")
                elif kind == "terrain":
                    engine.set_terrain(cmd[1])
                elif kind == "controls":
                    engine.set_controls(cmd[1])
                elif kind == "gain":
                    supervisor.set_gain(cmd[1])
                    if cmd[2] is not None:
                        engine.set_ceiling(cmd[2])
                elif kind == "model":
                    try:
                        engine.set_model(cmd[1], cmd[2])
                    except Exception as e:
                        say(EVENT_ERROR, f"model not changed: {e}")
                elif kind == "fault":
                    fault(cmd[1], cmd[2])
                elif kind == "sim":
                    sim = cmd
            values = _read_listener(listener)
            if values[_L_SEQ] != last_seq:
                last_seq = values[_L_SEQ]
                engine.set_listener(Listener(values[_L_X], values[_L_Y], values[_L_H], int(values[_L_TELEPORT]),
                                             int(values[_L_SEQ]), values[_L_STAMP], values[_L_MOVED]))
            if sim is not None:
                _, seq, now_s, seconds = sim
                sim_now[0] = now_s
                supervisor.poll()
                out = sim_device.current
                frames, sum_sq = 0, 0.0
                if out is not None and not out.closed:
                    before_f, before_s = out.frames_played, out.sum_sq
                    out.pull(seconds * engine.card.sample_rate_hz, engine.wake_synth,
                             lambda: engine.synth_state().alive)
                    frames, sum_sq = out.frames_played - before_f, out.sum_sq - before_s
                publish()
                stats[_S_SIM_FRAMES] = frames
                stats[_S_SIM_SUMSQ] = sum_sq
                stats[_S_SIM_SEQ] = seq  # last: the game reads the two above once it sees this
            elif not simulated:
                supervisor.poll()
            publish()
            boosted = engine.boost_callback()  # once per device output, after its first callback
            if boosted is not None:
                callback_priority[0] = boosted
            if not priority_said[0] and (boosted is not None or time.perf_counter() - started_s > 2.0):
                priority_said[0] = True  # said once: the synth's and the callback's scheduling
                events.put(("_priority", f"synth {engine.synth_priority}, device callback {callback_priority[0]}"))
            if engine.output_name != output_said:
                output_said = engine.output_name
                events.put(("_output", output_said))
            if os.getppid() != parent:  # the game is gone: do not play on alone
                break
    finally:
        engine.close()
        publish()
        events.put(("_closed", ""))
