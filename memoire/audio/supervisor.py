"""Keeps the sound going for days: watches the synth thread and the output, restarts what stops.

``AudioSupervisor(engine).poll()``, called often (every video frame, or every pass of the audio
process's loop), checks:

- the synth thread: dead (``SynthThread.error`` set, or not alive) or stalled (no heartbeat for
  ``stall_s``). It is replaced by a fresh core and thread writing a *new* ring (a stalled thread
  that wakes up later writes only to the old ring, never beside the new writer); the output is
  pointed at the new ring and the master gain fades in over ``fade_in_s``. Repeated failures
  back off (1, 2, 4 ... 30 s) instead of spinning.
- the output: a device stream that stopped by itself (PortAudio's finished callback, an inactive
  stream) or stopped consuming for ``stall_s`` is closed and replaced by a ``ClockOutput``, so
  the synth keeps its pace; the device is reopened with backoff (1, 2, 4 ... 30 s), PortAudio's
  device list refreshed before each try so a re-plugged device is found.

The engine is a ``LocalEngine``-shaped object (memoire/audio/engine.py): attributes ``info``,
``model_path``, ``field``, ``settings``, ``ring``, ``core``, ``thread``, ``output``. The
supervisor replaces ``ring``, ``core``, ``thread`` and ``output`` on it; callers that read them
through the engine each time see the current ones.

Thread: the controlling thread only (the one that owns the engine).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from memoire.audio.output import ClockOutput, MasterGain, open_device as _open_device, refresh_devices
from memoire.audio.ring import Ring

log = logging.getLogger("memoire.audio")

# A synth thread without a heartbeat for 5 s is stalled: a RAVE decode takes ~10-50 ms, and
# TorchScript's first calls (profiling, optimisation) take well under a second.
stall_s = 5.0
# Sound comes back over half a second after a restart: no click, no jump in loudness.
fade_in_s = 0.5
# Waits between tries (seconds): quick at first (a USB interface resetting is back in ~1-2 s),
# then every 30 s (a device unplugged for the night costs a try every 30 s, nothing more).
retry_backoff_s = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
# Failures further apart than this are not "repeated": the backoff starts again from its first step.
backoff_reset_s = 60.0


@dataclass
class SupervisorStats:
    synth_restarts: int = 0
    device_losses: int = 0
    device_reopens: int = 0
    retired_underruns: int = 0  # underruns counted on rings replaced by restarts


OutputFactory = Callable[[Ring, int, MasterGain], object]


class AudioSupervisor:
    def __init__(self, engine, *, gain: float = 1.0, ceiling: float = 1.0,
                 open_device: OutputFactory | None = None, open_fallback: OutputFactory | None = None,
                 want_device: bool = True, device: int | str | None = None,
                 clock: Callable[[], float] = time.perf_counter, report: Callable[[str], None] | None = None):
        """``open_device(ring, rate_hz, gain)`` opens the real output or raises; ``open_fallback``
        the silent one. ``clock`` times the backoff and fades (a simulated clock in the soak test);
        stalls are always judged in real time. ``report(message)`` hears about every fault."""
        self.engine = engine
        self.gain = MasterGain(gain, ceiling)
        self._user_gain = float(gain)
        self._open_device = open_device or (lambda ring, rate, g: self._default_device(ring, rate, g, device))
        self._open_fallback = open_fallback or (lambda ring, rate, g: ClockOutput(ring, rate, g))
        self.want_device = want_device
        self.clock = clock
        self.report = report or (lambda message: None)
        self.stats = SupervisorStats()
        self._fade_from: float | None = None  # clock time of the last restart (fading in)
        self._synth_fail = _Backoff()
        self._device_fail = _Backoff()
        self._synth_retry_at: float | None = None
        self._device_retry_at: float | None = None
        self._played_seen = (-1, time.perf_counter())  # (frames_played, real time it last moved)
        engine.output.gain = self.gain
        if want_device and isinstance(engine.output, ClockOutput):
            self._device_retry_at = self.clock()  # no device at start: try again at the first poll

    @staticmethod
    def _default_device(ring: Ring, rate: int, gain: MasterGain, device):
        refresh_devices()
        return _open_device(ring, rate, device, gain)

    # -- control ----------------------------------------------------------------------------------

    def set_gain(self, gain: float) -> None:
        """The gain wanted now (volume x kiosk fade), linear. Applied with the restart fade-in."""
        self._user_gain = max(0.0, float(gain))
        self._apply_gain(self.clock())

    def set_ceiling(self, ceiling: float) -> None:
        self.gain.ceiling = float(ceiling)

    def _apply_gain(self, now: float) -> None:
        g = self._user_gain
        if self._fade_from is not None:
            k = (now - self._fade_from) / fade_in_s
            if k >= 1.0:
                self._fade_from = None
            else:
                g *= max(0.0, k)
        self.gain.set(g)

    @property
    def underruns(self) -> int:
        return self.stats.retired_underruns + self.engine.ring.underruns

    # -- watching ---------------------------------------------------------------------------------

    def poll(self) -> None:
        """Check the synth and the output; restart or reopen what has stopped. Never raises."""
        now = self.clock()
        try:
            self._watch_synth(now)
            self._watch_output(now)
        except Exception as e:  # the supervisor must never be what stops the game
            log.exception("audio supervisor: %s", e)
            self.report(f"audio supervisor error: {e!r}")
        self._apply_gain(now)

    def _watch_synth(self, now: float) -> None:
        t = self.engine.thread
        if self._synth_retry_at is not None:
            if now >= self._synth_retry_at:
                self._synth_retry_at = None
                self._restart_synth(now)
            return
        if t.error is not None or not t.alive:
            why = f"the synth stopped ({t.error!r})" if t.error is not None else "the synth thread ended"
        elif time.perf_counter() - t.heartbeat_s > stall_s:
            why = f"the synth stalled (no heartbeat for {time.perf_counter() - t.heartbeat_s:.1f} s)"
        else:
            return
        wait = self._synth_fail.next_wait(now)
        self.report(f"{why}; restarting it{f' in {wait:g} s' if wait > retry_backoff_s[0] else ''}")
        log.warning("%s; restart in %g s", why, wait)
        self.gain.silence()
        t.stop(timeout_s=0.0)  # a stalled thread ends when it wakes; it writes only the old ring
        self._synth_retry_at = now + wait if wait > retry_backoff_s[0] else None
        if self._synth_retry_at is None:
            self._restart_synth(now)

    def _restart_synth(self, now: float) -> None:
        from memoire.audio.model import NeuralDecoder
        from memoire.audio.synth import SynthCore, SynthThread

        e = self.engine
        old = e.thread
        listener = old._listener  # the last pose the game sent: the new core starts there, no jump
        model_path, info = e.model_path, e.info
        # A thread that died left its decoders idle: reuse them (no model reload, no memory step:
        # loading two fresh instances grew the soak's RSS by 6.7% for good, glibc keeping the old
        # ones' pages). A stalled thread may still be inside decode(): then load fresh ones.
        reusable = []
        if not old.alive and e.core.info is info:
            reusable = [d for d in (e.core.voice.decoder, e.core.spare) if d is not None]
            if e.core.fade is not None:
                reusable.append(e.core.fade.old.decoder)

        def make_decoder() -> NeuralDecoder:
            return reusable.pop() if reusable else NeuralDecoder(model_path, info)

        core = SynthCore(make_decoder, info, e.field, e.settings, listener)
        ring = Ring(e.ring.capacity, e.ring.channels)
        thread = SynthThread(core, ring, target_fill_frames=old.target_fill, torch_threads=old.torch_threads,
                             played=lambda: e.ring.read_index, device_latency_s=lambda: e.output.latency_s)
        thread.set_listener(listener)
        self.stats.retired_underruns += e.ring.underruns
        self.gain.silence()
        e.output.ring = ring  # the output reads the new ring from its next block on
        e.ring, e.core, e.thread = ring, core, thread
        thread.start()
        self.stats.synth_restarts += 1
        self._fade_from = now
        log.info("synth restarted (%d restarts so far)", self.stats.synth_restarts)

    def _watch_output(self, now: float) -> None:
        e = self.engine
        out = e.output
        why = out.check()
        played = out.frames_played
        real = time.perf_counter()
        if played != self._played_seen[0]:
            self._played_seen = (played, real)
        elif why is None and real - self._played_seen[1] > stall_s:
            why = f"the output stopped consuming sound ({real - self._played_seen[1]:.1f} s)"
        if why is not None:
            self.stats.device_losses += 1
            name = getattr(out, "name", "output")
            self._swap_output(self._open_fallback)
            wait = self._device_fail.next_wait(now)
            self._device_retry_at = now + wait if self.want_device else None
            self.report(f"sound lost on {name}: {why}; playing on silently, trying the device again in {wait:g} s")
            log.warning("sound lost on %s: %s; retry in %g s", name, why, wait)
            return
        if self._device_retry_at is not None and now >= self._device_retry_at:
            try:
                self._swap_output(self._open_device)
            except Exception as err:  # still absent: PortAudioError, ValueError, OSError
                self._swap_output(self._open_fallback)
                wait = self._device_fail.next_wait(now)
                self._device_retry_at = now + wait
                log.info("sound device still unavailable (%s); next try in %g s", err, wait)
                return
            self._device_retry_at = None
            self.stats.device_reopens += 1
            name = getattr(e.output, "name", "the device")
            self.report(f"sound is back on {name}")
            log.info("sound device reopened: %s", name)

    def _swap_output(self, factory: OutputFactory) -> None:
        """Close the current output, then open one with ``factory`` (the ring has one reader at a
        time, so never two outputs at once). Raises what the factory raises (output closed)."""
        e = self.engine
        e.output.close()
        self._played_seen = (-1, time.perf_counter())
        e.output = _Closed(e.output)
        e.output = factory(e.ring, e.info.sample_rate_hz, self.gain)


class _Closed:
    """Stands for an output between close and reopen (keeps ``name`` and ``latency_s`` readable)."""

    def __init__(self, old):
        self.name = getattr(old, "name", "output")
        self.latency_s = 0.0
        self.frames_played = 0
        self.status_flags = 0
        self.failed = "closed"
        self.gain = None
        self.ring = getattr(old, "ring", None)

    def check(self) -> str | None:
        return self.failed

    def close(self) -> None:
        pass


class _Backoff:
    """Waits between retries: the next step of ``retry_backoff_s`` while failures are close."""

    def __init__(self):
        self.step = 0
        self.last: float | None = None

    def next_wait(self, now: float) -> float:
        if self.last is not None and now - self.last > backoff_reset_s:
            self.step = 0
        self.last = now
        wait = retry_backoff_s[min(self.step, len(retry_backoff_s) - 1)]
        self.step += 1
        return wait


class SupervisedEngine:
    """An in-process engine (``LocalEngine``) under an ``AudioSupervisor``, with AudioEngine's
    calls (set_listener, set_level, set_terrain, poll_messages, start, close, summary) plus
    ``set_gain`` and ``poll``. The kiosk's soak test drives it with simulated outputs."""

    def __init__(self, level, model_path, *, gain: float = 1.0, ceiling: float = 1.0, mute: bool = False,
                 torch_threads: int = 1, settings=None, open_device: OutputFactory | None = None,
                 open_fallback: OutputFactory | None = None, clock: Callable[[], float] = time.perf_counter,
                 record=None):
        try:
            from memoire.audio.engine import LocalEngine
        except ImportError:  # before the engine moved to its own process, the local one had this name
            from memoire.audio.engine import AudioEngine as LocalEngine

        self._messages: list[str] = []
        self.local = LocalEngine(level, model_path, mute=mute if open_device is None else True,
                                 torch_threads=torch_threads, settings=settings, record=record)
        self.info = self.local.info
        self.model_path = self.local.model_path
        self.silent_reason = self.local.silent_reason if open_device is None else None
        if self.silent_reason and not mute:
            self._messages.append(self.silent_reason)
        self.supervisor = AudioSupervisor(self.local, gain=gain, ceiling=ceiling, open_device=open_device,
                                          open_fallback=open_fallback, want_device=not mute, clock=clock,
                                          report=lambda message: self._messages.append(message))

    def start(self) -> None:
        self.local.start()

    def set_listener(self, x_m: float, y_m: float, heading_rad: float, *, teleport: bool = False) -> None:
        self.local.set_listener(x_m, y_m, heading_rad, teleport=teleport)

    def set_level(self, level) -> None:
        self.local.set_level(level)

    def set_terrain(self, terrain, level=None) -> None:
        self.local.set_terrain(terrain, level)

    def set_gain(self, gain: float, ceiling: float | None = None) -> None:
        self.supervisor.set_gain(gain)
        if ceiling is not None:
            self.supervisor.set_ceiling(ceiling)

    def poll(self) -> None:
        self.supervisor.poll()

    def poll_messages(self) -> list[str]:
        out, self._messages = self._messages, []
        return out

    @property
    def alive(self) -> bool:
        return True  # in this process: the supervisor restarts what stops

    @property
    def underruns(self) -> int:
        return self.supervisor.underruns

    def latent(self):
        return self.local.latent()

    def close(self) -> None:
        self.local.close()

    def summary(self) -> dict:
        s = self.local.summary()
        s["underruns"] = self.supervisor.underruns
        st = self.supervisor.stats
        s.update(synth_restarts=st.synth_restarts, device_losses=st.device_losses, device_reopens=st.device_reopens)
        return s
