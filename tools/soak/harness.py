"""The soak harness: the kiosk game loop for hours of simulated time, with a script of visitors and faults.

Two clocks:

- ``accelerated``: the loop runs on a simulated clock (``frame_s`` of simulated time per pass,
  drawing one pass in ``draw_every``). The sound device is simulated too (``SimOutput``): each
  pass it takes the pass's worth of audio from the ring in 512-frame blocks, exactly as the
  PortAudio callback does (``Ring.read_into``, then the master gain), waking the synth thread and
  giving it up to ``sim_wait_s`` of real time per block. The synth thread, its ring, the
  supervisor, the director, physics and the renderer are the real ones; only time is faster
  (the synth decodes as fast as it can). A block the synth did not deliver in time is an underrun.
- ``realtime``: the same loop on the real clock with a real-time consumer (``ClockOutput``):
  the real-time part, where an underrun means the synth thread fell behind the wall clock.

The script (``Script``): attract mode; every ``visitor_every_s`` a visitor takes over (mouse
look, then walking with turns for ``visitor_s``), then leaves (the kiosk fades back after its
idle time); the device is unplugged at ``device_loss_at_s`` for ``device_loss_s``; the synth
thread is crashed once at ``synth_crash_at_s``. Measured: underruns, resident memory (RSS),
threads and open files at warm-up and at the end, takeovers, returns, restarts, device losses.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from memoire.audio.output import callback_block_frames
from memoire.world.errors import UserError

# Real time the simulated device gives the synth to deliver one 512-frame block: generous (the
# tiny model decodes a 2048-frame hop in ~2 ms); a dead or stuck synth shows up as underruns.
sim_wait_s = 1.0
accelerated_frames_per_block = 4


@dataclass(frozen=True)
class Script:
    visitor_every_s: float = 240.0
    visitor_s: float = 50.0
    first_visitor_s: float = 45.0
    device_loss_at_s: float = 610.0
    device_loss_s: float = 25.0
    synth_crash_at_s: float = 1210.0


@dataclass
class SoakResult:
    clock: str
    sim_s: float
    wall_s: float
    frames: int
    draws: int
    underruns: int
    takeovers: int
    returns: int
    synth_restarts: int
    device_losses: int
    device_reopens: int
    audio_rms_dbfs: float
    fault_underruns: int = 0  # blocks missed between the injected synth crash and its restart
    rss_mb: list = field(default_factory=list)  # (sim_s, MB) samples
    warm_rss_mb: float = 0.0
    end_rss_mb: float = 0.0
    warm_threads: int = 0
    end_threads: int = 0
    warm_fds: int = 0
    end_fds: int = 0

    @property
    def rss_growth(self) -> float:
        return (self.end_rss_mb - self.warm_rss_mb) / self.warm_rss_mb if self.warm_rss_mb else 0.0

    def lines(self) -> list[str]:
        return [
            f"clock {self.clock}: {self.sim_s / 60:.1f} simulated min in {self.wall_s:.0f} s wall "
            f"({self.sim_s / max(self.wall_s, 1e-9):.1f}x), {self.frames} frames, {self.draws} drawn",
            f"underruns {self.underruns} (plus {self.fault_underruns} blocks of the injected synth crash); visitor takeovers {self.takeovers}, returns to the tour {self.returns}; "
            f"synth restarts {self.synth_restarts}; device losses {self.device_losses}, reopened {self.device_reopens}",
            f"audio level {self.audio_rms_dbfs:.1f} dBFS rms" if math.isfinite(self.audio_rms_dbfs)
            else "audio level not measured (the real-time output plays nothing)",
            f"RSS {self.warm_rss_mb:.1f} MB after warm-up -> {self.end_rss_mb:.1f} MB at the end "
            f"({self.rss_growth * 100:+.2f}%); threads {self.warm_threads} -> {self.end_threads}; "
            f"open files {self.warm_fds} -> {self.end_fds}",
        ]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def thread_count() -> int:
    """Native threads of this process (Python's, torch's, Mesa's, PortAudio's)."""
    return len(os.listdir("/proc/self/task"))


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


class SimDevice:
    """A sound device that can be unplugged: opens ``SimOutput``s while present."""

    def __init__(self):
        self.present = True
        self.current: SimOutput | None = None
        self.opens = 0

    def open(self, ring, rate_hz, gain):
        if not self.present:
            raise OSError("simulated device unplugged")
        self.opens += 1
        self.current = SimOutput(ring, rate_hz, gain, "simulated device")
        return self.current

    def unplug(self) -> None:
        self.present = False
        if self.current is not None:
            self.current.failed = "unplugged (simulated)"

    def plug(self) -> None:
        self.present = True


class SimOutput:
    """An output read by the simulated clock: ``pull(frames)`` consumes like the callback does."""

    def __init__(self, ring, rate_hz: int, gain, name: str):
        self.ring = ring
        self.gain = gain
        self.name = name
        self.latency_s = 0.0
        self.status_flags = 0
        self.frames_played = 0
        self.failed: str | None = None
        self.closed = False
        self._rate = rate_hz
        self._owed = 0.0
        self._block = np.zeros((callback_block_frames, ring.channels), np.float32)
        self.sum_sq = 0.0
        self.peak = 0.0

    def pull(self, frames: float, wake, writer_alive=lambda: True) -> None:
        """Consume ``frames`` (fractional frames carry over) in callback-sized blocks, waiting for
        the synth (``wake`` it, up to ``sim_wait_s`` a block) unless its thread is dead."""
        self._owed += frames
        n = callback_block_frames
        while self._owed >= n and not self.closed:
            deadline = time.perf_counter() + sim_wait_s
            if self.ring.available() < n:
                wake()
            while self.ring.available() < n and time.perf_counter() < deadline and writer_alive():
                time.sleep(0.0005)
            self.ring.read_into(self._block)
            if self.gain is not None:
                self.gain.apply(self._block, self._rate)
            self.sum_sq += float(np.square(self._block, dtype=np.float64).sum())
            self.peak = max(self.peak, float(np.abs(self._block).max()))
            self.frames_played += n
            self._owed -= n
        wake()  # refill now, while the main thread draws the next frame

    def check(self) -> str | None:
        return self.failed

    def close(self) -> None:
        self.closed = True


def run_soak(level_path: Path, model_path: Path, config_path: Path | None, *, minutes: float,
             clock: str = "accelerated", frame_s: float = 0.2, draw_every: int = 3, size_px=(96, 54),
             script: Script = Script(), warmup_fraction: float = 0.2, log=print) -> SoakResult:
    """Run the kiosk game for ``minutes`` of (simulated or real) time; returns the measurements."""
    from memoire.audio.engine import settings_for
    from memoire.audio.output import ClockOutput
    from memoire.audio.supervisor import SupervisedEngine
    from memoire.game.app import PlayOptions
    from memoire.kiosk.config import load_kiosk_config
    from memoire.kiosk.game import KioskGame
    from memoire.game.window import HeadlessWindow

    if clock not in ("accelerated", "realtime"):
        raise UserError(f"clock must be 'accelerated' or 'realtime', got {clock!r}")
    config = load_kiosk_config(config_path)
    opts = PlayOptions(level_path=Path(level_path), model_path=Path(model_path), headless=True, mute=True,
                       size_px=tuple(size_px), kiosk=True)
    window = HeadlessWindow(size_px)
    sim = {"now": 0.0}
    device = SimDevice()
    outputs: list = []

    def fallback(ring, rate, gain):
        out = SimOutput(ring, rate, gain, "silent clock (simulated)") if clock == "accelerated" else \
            ClockOutput(ring, rate, gain)
        outputs.append(out)
        return out

    def engine_factory(game):
        if clock == "accelerated":
            # Four latent frames per decode call: the same sound, a quarter of the per-call
            # overhead (the real-time engine decodes one frame per call for latency).
            settings = replace(settings_for(game.level), frames_per_block=accelerated_frames_per_block)
            return SupervisedEngine(game.level, game.model_path, gain=0.0, ceiling=config.peak_ceiling,
                                    settings=settings, open_device=device.open,
                                    open_fallback=fallback, clock=lambda: sim["now"])
        return SupervisedEngine(game.level, game.model_path, gain=0.0, ceiling=config.peak_ceiling, mute=True,
                                settings=settings_for(game.level))

    game = KioskGame(opts, config, window, engine_factory=engine_factory)
    try:
        game.open()
    except BaseException:
        game.close()
        raise
    engine = game.engine
    if clock == "accelerated":
        # Decode as far ahead as the ring allows (not the 3 hops the real-time engine keeps for
        # latency): the simulated device takes a whole frame's audio at once.
        t = engine.local.thread
        t.target_fill = engine.local.ring.capacity
    total_s = minutes * 60.0
    warm_s = total_s * warmup_fraction
    res = SoakResult(clock, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, float("nan"))
    sum_sq = 0.0
    frames_heard = 0
    crashed = False
    fault_from: tuple[int, int] | None = None
    unplugged = False
    next_rss_s = 0.0
    t_wall0 = time.perf_counter()
    t_real0 = time.perf_counter()
    try:
        i = 0
        while True:
            now = i * frame_s if clock == "accelerated" else time.perf_counter() - t_real0
            if now >= total_s:
                break
            sim["now"] = now
            _visitor(game, script, now, frame_s)
            if clock == "accelerated":
                if not unplugged and script.device_loss_at_s <= now < script.device_loss_at_s + script.device_loss_s:
                    log(f"  {now / 60:5.1f} min: device unplugged")
                    device.unplug()
                    unplugged = True
                elif unplugged and not device.present and now >= script.device_loss_at_s + script.device_loss_s:
                    log(f"  {now / 60:5.1f} min: device plugged back")
                    device.plug()
            if not crashed and now >= script.synth_crash_at_s:
                crashed = True
                log(f"  {now / 60:5.1f} min: synth crash injected")
                fault_from = (engine.underruns, engine.supervisor.stats.synth_restarts)
                _crash_synth_once(engine.local)
            if fault_from is not None and engine.supervisor.stats.synth_restarts > fault_from[1]:
                # the gap between the crash and the restart is the fault's, not an underrun of playback
                res.fault_underruns += engine.underruns - fault_from[0]
                fault_from = None
            draw = i % draw_every == 0
            game.frame(now + 1.0, draw=draw)  # +1: the loop's clock never starts at zero
            res.draws += draw
            out = engine.local.output
            if clock == "accelerated" and isinstance(out, SimOutput):
                before = out.sum_sq
                thread = engine.local.thread
                out.pull(frame_s * engine.info.sample_rate_hz, thread.wake, lambda: thread.alive)
                sum_sq += out.sum_sq - before
                frames_heard += round(frame_s * engine.info.sample_rate_hz)
            elif clock == "realtime":
                time.sleep(max(0.0, frame_s - (time.perf_counter() - t_real0 - now)))
            if now >= next_rss_s:
                res.rss_mb.append((now, rss_mb()))
                next_rss_s += max(frame_s, total_s / 60)
            if res.warm_threads == 0 and now >= warm_s:
                res.warm_rss_mb, res.warm_threads, res.warm_fds = rss_mb(), thread_count(), open_files()
                log(f"  {now / 60:5.1f} min: warm-up done, RSS {res.warm_rss_mb:.1f} MB, "
                    f"{res.warm_threads} threads, {res.warm_fds} open files")
            i += 1
        res.sim_s = now
        res.frames = i
    finally:
        res.wall_s = time.perf_counter() - t_wall0
        res.end_rss_mb, res.end_threads, res.end_fds = rss_mb(), thread_count(), open_files()
        summary = engine.summary()
        game.close()
        window.close()
    res.underruns = int(summary["underruns"]) - res.fault_underruns
    res.takeovers, res.returns = game.director.takeovers, game.director.returns
    res.synth_restarts = summary.get("synth_restarts", 0)
    res.device_losses, res.device_reopens = summary.get("device_losses", 0), summary.get("device_reopens", 0)
    if frames_heard:
        res.audio_rms_dbfs = 10 * math.log10(max(sum_sq / frames_heard / 2, 1e-24))
    return res


def _visitor(game, script: Script, now: float, frame_s: float) -> None:
    """The script's visitor: arrives, looks round, walks with turns, lets go, leaves."""
    since = now - script.first_visitor_s
    if since < 0:
        return
    k = since % script.visitor_every_s
    if k < frame_s:  # arrives: the mouse moves
        game.input.inject(("look", 40, 0))
        game.input.inject(("key", "forward", True))
    elif k < script.visitor_s:
        step = int(k / frame_s)
        if step % 20 == 0:  # a turn every couple of seconds, alternating
            game.input.inject(("look", 60 if (step // 20) % 2 else -60, 3))
    elif k < script.visitor_s + frame_s:  # lets go and walks away
        game.input.inject(("key", "forward", False))


def _crash_synth_once(local) -> None:
    """Make the synth thread's next render raise, as a decoder failure would."""
    core = local.core
    original = core.render

    def failing(listener):
        core.render = original
        raise RuntimeError("injected synth fault (soak test)")

    core.render = failing


def check_soak(res: SoakResult, *, max_rss_growth: float = 0.05) -> list[str]:
    """The soak's pass conditions; returns the failures (empty: passed)."""
    problems = []
    if res.underruns:
        problems.append(f"{res.underruns} underruns")
    if res.rss_growth >= max_rss_growth:
        problems.append(f"resident memory grew {res.rss_growth * 100:.1f}% after warm-up")
    if res.end_threads > res.warm_threads:
        problems.append(f"threads grew {res.warm_threads} -> {res.end_threads}")
    if res.end_fds > res.warm_fds:
        problems.append(f"open files grew {res.warm_fds} -> {res.end_fds}")
    return problems

