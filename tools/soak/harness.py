"""The soak harness: the kiosk game loop for hours of simulated time, with a script of visitors and faults.

The audio is the audio process that ships (memoire/audio/process.py ``AudioProcess``): the synth,
its ring, the supervisor and the gain stage run in the child process, as in kiosk mode. Two
clocks:

- ``accelerated``: the loop runs on a simulated clock (``frame_s`` of simulated time per pass,
  drawing one pass in ``draw_every``). The child runs in simulated mode
  (``AudioProcess(simulated=True)``, memoire/audio/simulated.py): after each pass the harness sends
  ``simulate(now, frame_s)`` and the child takes the pass's worth of audio from the ring in
  512-frame blocks, exactly as the PortAudio callback does (``Ring.read_into``, then the gain
  stage), waking the synth thread and giving it up to ``sim_wait_s`` of real time per block; its
  supervisor's backoff and fades run on the simulated clock. Only time is faster (the synth
  decodes as fast as it can). A block the synth did not deliver in time is an underrun.
- ``realtime``: the same loop on the real clock with the child's real-time silent output
  (``ClockOutput``): the real-time part, where an underrun means the synth fell behind the wall
  clock.

The script (``Script``): attract mode; every ``visitor_every_s`` a visitor takes over (mouse
look, then walking with turns for ``visitor_s``), then leaves (the kiosk fades back after its
idle time); the device is unplugged at ``device_loss_at_s`` for ``device_loss_s``; the synth
thread is crashed once at ``synth_crash_at_s``; the faults are the child's fault-injection
commands (``AudioProcess.inject_fault``). Measured: underruns and restarts (``stats()``), resident
memory (RSS), threads and open files of the game process and of the audio process at warm-up and
at the end, takeovers, returns, device losses.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path


from memoire.world.errors import UserError


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
    process_restarts: int = 0
    audio_pid: int | None = None
    rss_mb: list = field(default_factory=list)  # (sim_s, MB) samples
    warm_rss_mb: float = 0.0
    end_rss_mb: float = 0.0
    warm_threads: int = 0
    end_threads: int = 0
    warm_fds: int = 0
    end_fds: int = 0
    # the audio process's own figures (the same moments)
    audio_warm_rss_mb: float = 0.0
    audio_end_rss_mb: float = 0.0
    audio_warm_threads: int = 0
    audio_end_threads: int = 0
    audio_warm_fds: int = 0
    audio_end_fds: int = 0

    @property
    def rss_growth(self) -> float:
        return (self.end_rss_mb - self.warm_rss_mb) / self.warm_rss_mb if self.warm_rss_mb else 0.0

    @property
    def audio_rss_growth(self) -> float:
        return ((self.audio_end_rss_mb - self.audio_warm_rss_mb) / self.audio_warm_rss_mb
                if self.audio_warm_rss_mb else 0.0)

    def lines(self) -> list[str]:
        return [
            f"clock {self.clock}: {self.sim_s / 60:.1f} simulated min in {self.wall_s:.0f} s wall "
            f"({self.sim_s / max(self.wall_s, 1e-9):.1f}x), {self.frames} frames, {self.draws} drawn",
            f"underruns {self.underruns} (plus {self.fault_underruns} blocks of the injected synth crash); visitor takeovers {self.takeovers}, returns to the tour {self.returns}; "
            f"synth restarts {self.synth_restarts}; audio process restarts {self.process_restarts}; "
            f"device losses {self.device_losses}, reopened {self.device_reopens}",
            f"audio level {self.audio_rms_dbfs:.1f} dBFS rms" if math.isfinite(self.audio_rms_dbfs)
            else "audio level not measured (the real-time output plays nothing)",
            f"RSS {self.warm_rss_mb:.1f} MB after warm-up -> {self.end_rss_mb:.1f} MB at the end "
            f"({self.rss_growth * 100:+.2f}%); threads {self.warm_threads} -> {self.end_threads}; "
            f"open files {self.warm_fds} -> {self.end_fds} (game process)",
            f"audio process: RSS {self.audio_warm_rss_mb:.1f} MB after warm-up -> {self.audio_end_rss_mb:.1f} MB "
            f"at the end ({self.audio_rss_growth * 100:+.2f}%); threads {self.audio_warm_threads} -> "
            f"{self.audio_end_threads}; open files {self.audio_warm_fds} -> {self.audio_end_fds}",
        ]


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def thread_count(pid: int | str = "self") -> int:
    """Native threads of a process (Python's, torch's, Mesa's, PortAudio's)."""
    return len(os.listdir(f"/proc/{pid}/task"))


def open_files(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _measure(pid) -> tuple[float, int, int]:
    try:
        return rss_mb(pid), thread_count(pid), open_files(pid)
    except OSError:  # the process is gone
        return 0.0, 0, 0


def run_soak(level_path: Path, model_path: Path, config_path: Path | None, *, minutes: float,
             clock: str = "accelerated", frame_s: float = 0.2, draw_every: int = 3, size_px=(96, 54),
             script: Script = Script(), warmup_fraction: float = 0.2, log=print) -> SoakResult:
    """Run the kiosk game for ``minutes`` of (simulated or real) time; returns the measurements."""
    from memoire.audio.engine import settings_for
    from memoire.audio.process import AudioProcess
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

    def engine_factory(game, gain: float):
        if clock == "accelerated":
            # Four latent frames per decode call: the same sound, a quarter of the per-call
            # overhead (the real-time engine decodes one frame per call for latency). The child
            # decodes as far ahead as the ring allows (simulated mode): the simulated device
            # takes a whole frame's audio at once.
            settings = replace(settings_for(game.level), frames_per_block=accelerated_frames_per_block)
            return AudioProcess(game.level, game.model_path, gain=gain, ceiling=config.peak_ceiling,
                                settings=settings, simulated=True)
        return AudioProcess(game.level, game.model_path, gain=gain, ceiling=config.peak_ceiling, mute=True,
                            settings=settings_for(game.level))

    game = KioskGame(opts, config, window, make_audio=engine_factory)
    try:
        game.open()
    except BaseException:
        game.close()
        raise
    engine = game.engine
    total_s = minutes * 60.0
    warm_s = total_s * warmup_fraction
    res = SoakResult(clock, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, float("nan"))
    res.audio_pid = engine.pid
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
            _visitor(game, script, now, frame_s)
            if clock == "accelerated":
                if not unplugged and script.device_loss_at_s <= now < script.device_loss_at_s + script.device_loss_s:
                    log(f"  {now / 60:5.1f} min: device unplugged")
                    engine.inject_fault("device_loss")
                    unplugged = True
                elif unplugged and now >= script.device_loss_at_s + script.device_loss_s:
                    log(f"  {now / 60:5.1f} min: device plugged back")
                    engine.inject_fault("device_back")
                    unplugged = None  # done
            if not crashed and now >= script.synth_crash_at_s:
                crashed = True
                log(f"  {now / 60:5.1f} min: synth crash injected")
                st = engine.stats()
                fault_from = (st.underruns, st.synth_restarts)
                engine.inject_fault("synth_crash")
            draw = i % draw_every == 0
            game.frame(now + 1.0, draw=draw)  # +1: the loop's clock never starts at zero
            res.draws += draw
            if clock == "accelerated":
                frames, sq = engine.simulate(now, frame_s)
                sum_sq += sq
                frames_heard += frames
            else:
                time.sleep(max(0.0, frame_s - (time.perf_counter() - t_real0 - now)))
            if fault_from is not None:
                st = engine.stats()
                if st.synth_restarts > fault_from[1]:
                    # the gap between the crash and the restart is the fault's, not an underrun of playback
                    res.fault_underruns += st.underruns - fault_from[0]
                    fault_from = None
            if now >= next_rss_s:
                res.rss_mb.append((now, rss_mb()))
                next_rss_s += max(frame_s, total_s / 60)
            if res.warm_threads == 0 and now >= warm_s:
                res.warm_rss_mb, res.warm_threads, res.warm_fds = _measure("self")
                res.audio_warm_rss_mb, res.audio_warm_threads, res.audio_warm_fds = _measure(engine.pid)
                log(f"  {now / 60:5.1f} min: warm-up done, RSS {res.warm_rss_mb:.1f} MB, "
                    f"{res.warm_threads} threads, {res.warm_fds} open files; audio process "
                    f"{res.audio_warm_rss_mb:.1f} MB, {res.audio_warm_threads} threads, {res.audio_warm_fds} files")
            i += 1
        res.sim_s = now
        res.frames = i
    finally:
        res.wall_s = time.perf_counter() - t_wall0
        res.end_rss_mb, res.end_threads, res.end_fds = _measure("self")
        res.audio_end_rss_mb, res.audio_end_threads, res.audio_end_fds = _measure(engine.pid)
        game.close()
        window.close()
    st = engine.stats()  # final, accumulated over every restart
    res.underruns = st.underruns - res.fault_underruns
    res.takeovers, res.returns = game.director.takeovers, game.director.returns
    res.synth_restarts, res.process_restarts = st.synth_restarts, st.process_restarts
    res.device_losses, res.device_reopens = st.device_losses, st.device_reopens
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
    if res.audio_rss_growth >= max_rss_growth:
        problems.append(f"the audio process's resident memory grew {res.audio_rss_growth * 100:.1f}% after warm-up")
    if res.audio_end_threads > res.audio_warm_threads:
        problems.append(f"the audio process's threads grew {res.audio_warm_threads} -> {res.audio_end_threads}")
    if res.audio_end_fds > res.audio_warm_fds:
        problems.append(f"the audio process's open files grew {res.audio_warm_fds} -> {res.audio_end_fds}")
    if res.process_restarts:
        problems.append(f"the audio process was restarted {res.process_restarts} times")
    return problems

