"""The supervisor inside the audio process: keeps sound coming through synth and device faults.

``AudioSupervisor.poll()``, called by the audio process's control loop (memoire/audio/process.py)
100 times a second, checks:

- the synth thread: dead (an exception) or stalled (no heartbeat for ``stall_s``). It is replaced
  (``engine.replace_synth()``: a fresh core and thread writing a new ring) and the gain stage
  fades in over ``fade_in_s``. Repeated failures back off (1, 2, 4 ... 30 s) instead of spinning.
- the model: a decode that raised, returned NaN/Inf or the wrong shape (a ``ModelFault``, kept by
  the synth thread, which has already faded out and plays silence). It is said once (a "fault"
  event naming the file), and the synth is restarted with fresh copies of the model after the
  backoff, each try logged ("retry"); after ``model_fault_limit`` failures in a row (a restart
  that plays ``model_ok_after_s`` without failing ends the row, "recovered") it gives up and
  stays silent, saying so once. A decode slower than real time (the synth's measure) is said
  once ("warning").
- the output: a device stream that stopped by itself (PortAudio's finished callback, an inactive
  stream) or stopped consuming for ``stall_s`` is closed and replaced by the silent clock, so the
  synth keeps its pace; the device is reopened with backoff (1, 2, 4 ... 30 s), PortAudio's
  device list refreshed before each try so a re-plugged device is found.

It drives the engine (memoire/audio/engine.py ``LocalEngine``) through its public methods only
(``synth_state``, ``stop_synth``, ``replace_synth``, ``check_output``, ``replace_output``,
``set_output_gain``, ``cut_output`` ...) and imports nothing from that module: the engine
knows nothing of the supervisor, the supervisor only the engine's methods.

It is the one writer of the gain stage's target: ``set_gain`` (the game's gain, relayed by the
control loop) times the fade-in after a restart.

Thread: the control loop's, which owns the engine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from memoire.audio.client import EVENT_FAULT, EVENT_RECOVERED, EVENT_RESTART, EVENT_RETRY, EVENT_WARNING

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
# A model that fails this many times in a row is given up (the sound stays off): the first try and
# two restarts with fresh copies, 1 + 2 s apart. A restart that plays this long without a fault
# ends the row.
model_fault_limit = 3
model_ok_after_s = 10.0


@dataclass
class SupervisorStats:
    synth_restarts: int = 0
    device_losses: int = 0
    device_reopens: int = 0  # devices opened by the supervisor (after a loss, or when absent at start)
    device_attempts: int = 0  # reopen tries that failed


class AudioSupervisor:
    def __init__(self, engine, *, gain: float = 1.0, open_device: Callable | None = None,
                 want_device: bool = True, clock: Callable[[], float] = time.perf_counter,
                 report: Callable[[str, str], None] | None = None, stall_s: float | None = None,
                 fade_in: bool = False):
        """``open_device(ring, rate_hz, gain)`` opens the real output or raises. ``clock`` times the
        backoff and fades (the soak's simulated clock); stalls are always judged in real time.
        ``report(kind, text)`` hears about every fault and recovery (memoire/audio/client.py
        event kinds). ``fade_in``: start silent and fade in (a restarted audio process)."""
        self.engine = engine
        self._user_gain = max(0.0, float(gain))
        self._open_device = open_device
        self.want_device = want_device and open_device is not None
        self.clock = clock
        self.report = report or (lambda kind, text: None)
        self.stall_s = stall_s if stall_s is not None else globals()["stall_s"]
        self.stats = SupervisorStats()
        self._fade_from: float | None = self.clock() if fade_in else None
        self._synth_fail = _Backoff()
        self._device_fail = _Backoff()
        self._synth_retry_at: float | None = None
        self._device_retry_at: float | None = None
        self._model_failures = 0  # model faults in a row
        self._model_retry_quiet = False  # the pending synth restart is a model retry (said as "retry")
        self._synth_started_at = self.clock()  # when the current synth began (ends a row of faults)
        self._gave_up_on = None  # the model path given up on (the synth stays silent), or None
        self._slow_said = False
        self._played_seen = (-1, time.perf_counter())  # (frames_played, real time it last moved)
        if fade_in:
            engine.cut_output()
        if self.want_device and engine.output_is_fallback:
            self._device_retry_at = self.clock()  # no device at start: try again at the first poll
        self._apply_gain(self.clock())

    # -- control ----------------------------------------------------------------------------------

    def set_gain(self, gain: float) -> None:
        """The gain wanted now (the game's: volume x kiosk fade, hold-to-hear), linear. Applied
        with the restart fade-in."""
        self._user_gain = max(0.0, float(gain))
        self._apply_gain(self.clock())

    def _apply_gain(self, now: float) -> None:
        g = self._user_gain
        if self._fade_from is not None:
            k = (now - self._fade_from) / fade_in_s
            if k >= 1.0:
                self._fade_from = None
            else:
                g *= max(0.0, k)
        self.engine.set_output_gain(g)

    @property
    def gain_target(self) -> float:
        """The gain the stage is gliding to now (the game's gain times the fade-in)."""
        return self.engine.output_gain_target

    # -- watching ---------------------------------------------------------------------------------

    def poll(self) -> None:
        """Check the synth and the output; restart or reopen what has stopped. Never raises."""
        now = self.clock()
        try:
            self._watch_synth(now)
            self._watch_output(now)
        except Exception as e:  # the supervisor must never be what stops the sound
            log.exception("audio supervisor: %s", e)
            self.report(EVENT_FAULT, f"audio supervisor error: {e!r}")
        self._apply_gain(now)

    def _watch_synth(self, now: float) -> None:
        if self._synth_retry_at is not None:
            if now >= self._synth_retry_at:
                self._synth_retry_at = None
                self._restart_synth(now)
            return
        s = self.engine.synth_state()
        real = time.perf_counter()
        if s.slow_rtf is not None and not self._slow_said:
            self._slow_said = True
            name = self.engine.model_path.name
            text = (f"the model {name} runs at {s.slow_rtf:.1f}x real time on this machine: the sound will break "
                    "up; use a smaller model or --torch-threads N")
            self.report(EVENT_WARNING, text)
            log.warning(text)
        if self._gave_up_on is not None:
            if self.engine.model_path == self._gave_up_on:
                return  # silent until another model is chosen
            self._gave_up_on = None  # another model: try it
            self._model_failures = 0
            self._restart_synth(now)
            return
        if s.fault is not None and s.error is None and s.alive:
            self._model_fault(now, s.fault)
            return
        if (self._model_failures and now - self._synth_started_at >= model_ok_after_s):
            self._model_failures = 0
            name = self.engine.model_path.name
            self.report(EVENT_RECOVERED, f"the model {name} plays again")
            log.info("the model %s plays again", name)
        if s.error is not None or not s.alive:
            why = f"the synth stopped ({s.error!r})" if s.error is not None else "the synth thread ended"
        elif real - s.heartbeat_s > self.stall_s:
            why = f"the synth stalled (no heartbeat for {real - s.heartbeat_s:.1f} s)"
        else:
            return
        wait = self._synth_fail.next_wait(now)
        later = wait > retry_backoff_s[0]
        self.report(EVENT_FAULT, f"{why}; restarting it{f' in {wait:g} s' if later else ''}")
        log.warning("%s; restart in %g s", why, wait)
        self.engine.cut_output()
        self.engine.stop_synth()  # a stalled thread ends when it wakes; it writes only the old ring
        self._synth_retry_at = now + wait if later else None
        if self._synth_retry_at is None:
            self._restart_synth(now)

    def _model_fault(self, now: float, fault) -> None:
        """The model failed (the synth has faded out and plays silence): say it, retry, give up."""
        self._model_failures += 1
        n = self._model_failures
        if n >= model_fault_limit:
            self._gave_up_on = self.engine.model_path
            text = (f"model {fault}: it failed {n} times in a row, so the sound stays off (the game plays on); "
                    "fix the model file or play another one (--model FILE)")
            self.report(EVENT_FAULT, text)
            log.error(text)
            return
        wait = max(retry_backoff_s[min(n - 1, len(retry_backoff_s) - 1)], fade_in_s)
        if n == 1:
            text = f"model {fault}; the sound fades out; trying the model again in {wait:g} s"
            self.report(EVENT_FAULT, text)
        else:
            text = f"model {fault} again; try {n + 1} of {model_fault_limit} in {wait:g} s"
            self.report(EVENT_RETRY, text)
        log.warning(text)
        # The synth thread already ended the sound with a fade and plays silence: no cut here (it
        # could click on the audio still queued); the restart waits until the fade has played.
        self._synth_retry_at = now + wait
        self._model_retry_quiet = True

    def _restart_synth(self, now: float) -> None:
        self.engine.cut_output()
        self.engine.stop_synth()  # one that faulted is still running (playing silence)
        self.engine.replace_synth()
        self.stats.synth_restarts += 1
        self._synth_started_at = now
        self._fade_from = now
        kind = EVENT_RETRY if self._model_retry_quiet else EVENT_RESTART
        self._model_retry_quiet = False
        self.report(kind, f"synth restarted ({self.stats.synth_restarts} so far)")
        log.info("synth restarted (%d restarts so far)", self.stats.synth_restarts)

    def _watch_output(self, now: float) -> None:
        e = self.engine
        why = e.check_output()
        played = e.output_frames_played
        real = time.perf_counter()
        if played != self._played_seen[0]:
            self._played_seen = (played, real)
        elif why is None and real - self._played_seen[1] > self.stall_s:
            why = f"the output stopped consuming sound ({real - self._played_seen[1]:.1f} s)"
        if why is not None:
            self.stats.device_losses += 1
            name = e.output_name
            self._swap(None)
            wait = self._device_fail.next_wait(now)
            self._device_retry_at = now + wait if self.want_device else None
            retry = f", trying the device again in {wait:g} s" if self.want_device else ""
            self.report(EVENT_FAULT, f"sound lost on {name}: {why}; playing on silently{retry}")
            log.warning("sound lost on %s: %s; retry in %g s", name, why, wait)
            return
        if self._device_retry_at is not None and now >= self._device_retry_at:
            try:
                self._swap(self._open_device)
            except Exception as err:  # still absent: PortAudioError, ValueError, OSError
                self._swap(None)
                self.stats.device_attempts += 1
                wait = self._device_fail.next_wait(now)
                self._device_retry_at = now + wait
                self.report(EVENT_RETRY, f"sound device still unavailable ({err}); next try in {wait:g} s")
                log.info("sound device still unavailable (%s); next try in %g s", err, wait)
                return
            self._device_retry_at = None
            self.stats.device_reopens += 1
            name = e.output_name
            self.report(EVENT_RECOVERED, f"sound is back on {name}")
            log.info("sound device reopened: %s", name)

    def _swap(self, factory) -> None:
        self._played_seen = (-1, time.perf_counter())
        self.engine.replace_output(factory)


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
