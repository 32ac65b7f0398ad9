"""Audio output: a sounddevice (PortAudio) stream that plays the ring, or a silent clock.

sounddevice is imported here only. The callback runs on PortAudio's thread: it only copies from
the preallocated ring (``Ring.read_into``), which zero-fills and counts a shortfall, then applies
the output gain stage (``MasterGain``: gain, fades, the peak limiter and ceiling) in place; it never blocks, logs,
allocates audio buffers or raises.

Without PortAudio or an output device the game still runs: memoire/audio/relay.py ``open_output`` returns a
``ClockOutput`` that drains the ring at real-time pace (so recordings, latency figures and the
synth's pacing behave the same) and a reason, said once, why it is silent.

Faults: an output exposes ``failed`` (None, or why it stopped playing: the stream finished or
errored because its device vanished) and ``frames_played`` (advancing while it plays), which
memoire/audio/supervisor.py watches (through memoire/audio/engine.py ``LocalEngine``) to fall back to
a ``ClockOutput`` and reopen the device later. Both outputs read ``self.ring`` on every block, so
the engine can point them at a new ring (after restarting the synth) without reopening the
stream; ``ring`` is written by the audio process's control loop, read by the consumer.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from memoire.audio.ring import Ring

# The silent clock's and the simulated device's block: 512 frames = 11.6 ms at 44.1 kHz, small
# next to one latent frame (2048).
callback_block_frames = 512
# The sound device's block and buffer (issue "Play it live"): 256-frame callbacks (5.8 ms) and a
# 15 ms buffer request, which PulseAudio's ALSA plugin grants as 17.4 ms (three blocks). The synth
# decodes each latent frame just in time (memoire/audio/synth.py SynthThread), so the device
# buffer is a large part of what stands between a step and its sound (docs/sound.md "Latency":
# 162 ms with 512/0.05 s and the fixed 3-frame queue, 56 ms now). Measured on the null sink:
# 0.01 s (11.6 ms) gives 2 ms less on average but PortAudio reported underflows in some runs
# (the sound server's side running dry while the ring was full: 1-12 per 25 s run), 128-frame
# blocks at 0.01 s bursts of 20; 0.015 s had none. Stream consumption rate over 6 s on the
# plugin: 0.01 s/256 -> 1.002x, 0.015 s/256 -> 1.002x, 0.02 s/256 -> 1.003x, 0.05 s/512 ->
# 1.005x; earlier, 0.1 s -> 0.67x and 0.15 s -> 0.75x (the plugin keeps recovering): avoid those.
# With issue 11's spatial synth (a batched decode of every voice slot, the spatializer and the room
# reverbs: ~17 ms of synth work a block here, ~10 ms of it Python under the interpreter lock the
# callback needs too) 0.015 s underflowed on the null sink (binaural: 15 in 40 s of the default
# tour; stereo: 2-3) and 0.02 s had none in 36 s. Since the synth decodes a block ahead on its own
# thread and mixes 512-frame sub-blocks just in time (~1.5-2.5 ms each), motion-to-sound has room
# to spare (docs/sound.md "Latency"), and the buffer is spent on not breaking up: a 12-minute run
# of the default tour with 0.015 s (PortAudio's delay to the speaker 15-17 ms) had 5 device
# underflows; 0.02 s (27-29 ms: PulseAudio's plugin grants five blocks) is kept, with the synth's
# queue floor of 12 ms on top (memoire/audio/synth.py lead_min_margin_s).
# Since the callback runs in a process of its own (memoire/audio/relay.py: no interpreter lock
# shared with the synth), 0.015 s is back: PortAudio's delay to the speaker 15-17 ms, motion-to-
# sound 44 ms mean / 50 ms p95 on the latency bench's steps (docs/sound.md "Latency").
device_block_frames = 256
device_latency_s = 0.015


def device_settings() -> tuple[int, float]:
    """(block frames, buffer seconds) for the device stream: the values above, unless the
    environment sets ``MEMOIRE_AUDIO_BLOCK`` / ``MEMOIRE_AUDIO_LATENCY_S`` (tools/bench/latency.py
    measures the levers with them; a machine whose device needs a larger buffer can set them)."""
    import os

    block, latency = device_block_frames, device_latency_s
    try:
        block = max(16, int(os.environ.get("MEMOIRE_AUDIO_BLOCK", block)))
        latency = max(0.0, float(os.environ.get("MEMOIRE_AUDIO_LATENCY_S", latency)))
    except ValueError:
        pass
    return block, latency
# Master gain slew: a change of the whole range takes at least 50 ms, so a gain set once per
# video frame (16-33 ms apart) is joined by ramps, never steps (no clicks).
gain_slew_s = 0.05
# Longest block the gain ramps sample-accurately (PortAudio may hand larger blocks when it
# chooses the size itself); larger blocks get the block's mean gain.
max_ramp_frames = 8192
# The output's peak ceiling unless the caller sets one (the kiosk's volume_limit_db): just under
# full scale, as the synth's own limiter held before this stage took its place.
default_ceiling = 0.98
# The limiter lets go over half a second (no pumping on a loud passage).
limiter_release_s = 0.5


class MasterGain:
    """The output gain stage: the one gain after the synth and the one peak ceiling, applied in the
    consumer (the device callback, or the silent clock's thread).

    ``apply`` ramps the gain toward ``target`` (never steps: ``slew_s`` for the whole range), then
    a peak limiter holds the block under ``ceiling`` (attack at once, release over ``release_s``),
    then a hard clip at ``ceiling`` is the last guard. Everything that sets loudness after the
    synth goes through ``target``: the kiosk's volume x fade, the editor's hold-to-hear, the
    supervisor's fade-in after a restart. (The level's ``gain_db`` is the synth's makeup gain,
    before this stage, with no ceiling; memoire/audio/synth.py.)

    Threads, one writer each: ``target``, ``ceiling`` and the cut counter are written by the
    controlling thread alone (the audio process's control loop, through AudioSupervisor);
    ``current``, the limiter's gain and the cuts seen by the consumer alone. Floats and ints:
    atomic stores.
    """

    def __init__(self, gain: float = 1.0, ceiling: float = default_ceiling, slew_s: float = gain_slew_s,
                 release_s: float = limiter_release_s):
        # the controlling thread's values, [target, ceiling, cuts (bumped by silence())], in one
        # float64 array so that a consumer in another process can share them (``bind``)
        self._control = np.array([max(0.0, float(gain)), float(ceiling), 0.0])
        self.slew_s = float(slew_s)
        self.release_s = float(release_s)
        self.current = float(gain)  # consumer thread
        self.limit = 1.0  # consumer thread: the limiter's gain now
        self.min_limit = 1.0  # consumer thread: the deepest the limiter went
        self._cuts_seen = 0  # consumer thread
        self._ramp = np.arange(1, max_ramp_frames + 1, dtype=np.float32) / np.float32(max_ramp_frames)
        self._scratch = np.empty(max_ramp_frames, np.float32)

    # The controlling thread's values (single float64 stores: atomic, in a shared mapping too).
    @property
    def target(self) -> float:
        return float(self._control[0])

    @target.setter
    def target(self, gain: float) -> None:
        self._control[0] = gain

    @property
    def ceiling(self) -> float:
        return float(self._control[1])

    @ceiling.setter
    def ceiling(self, ceiling: float) -> None:
        self._control[1] = ceiling

    @property
    def _cuts(self) -> int:
        return int(self._control[2])

    def bind(self, control: np.ndarray) -> None:
        """Keep the controlling values in ``control`` (3 float64, e.g. memory the device process
        maps: memoire/audio/relay.py) from now on, carrying over the current ones; ``bind(None)``
        takes them back into a private array. Controlling thread."""
        values = self._control.copy()
        self._control = np.array(values) if control is None else control
        self._control[:] = values

    def follow(self, control: np.ndarray) -> None:
        """Consumer side in another process: read the controlling values from ``control`` (what
        the controller ``bind``-s), taking its cuts so far as seen and its target as where the
        gain stands now (the controller fades in after opening a device anyway)."""
        self._control = control
        self._cuts_seen = self._cuts
        self.current = self.target

    def set(self, gain: float) -> None:
        """Controlling thread: the gain to glide to (linear, >= 0)."""
        self.target = max(0.0, float(gain))

    def silence(self) -> None:
        """Controlling thread: silence from the consumer's next block on (before a restart; the
        fade-in follows). The consumer drops ``current`` to 0 itself: it stays its only writer."""
        self.target = 0.0
        self._control[2] += 1

    def _ramped(self, out: np.ndarray, g0: float, g1: float) -> None:
        n = out.shape[0]
        if g1 == g0 or n > max_ramp_frames:
            g = 0.5 * (g0 + g1)
            if g != 1.0:
                np.multiply(out, np.float32(g), out=out)
        else:
            # the ramp over this block: g0 + (g1 - g0) * (i + 1) / n, built in preallocated scratch
            ramp = self._scratch[:n]
            np.multiply(self._ramp[:n], np.float32((g1 - g0) * max_ramp_frames / n), out=ramp)
            ramp += np.float32(g0)
            np.multiply(out, ramp[:, None], out=out)

    def apply(self, out: np.ndarray, sample_rate_hz: int) -> None:
        """Consumer thread: gain, limiter and clip on ``out`` (frames, channels) in place. No
        allocation (reductions and preallocated scratch only)."""
        n = out.shape[0]
        if self._cuts != self._cuts_seen:
            self._cuts_seen = self._cuts
            self.current = 0.0
        g0 = self.current
        step = n / sample_rate_hz / self.slew_s
        g1 = min(max(self.target, g0 - step), g0 + step)
        self._ramped(out, g0, g1)
        self.current = g1
        if n == 0:
            return
        c = self.ceiling
        peak = max(float(out.max()), -float(out.min()))
        want = min(1.0, c / peak) if peak > 0 else 1.0
        lim = self.limit
        if want < lim:
            new = want  # attack at once: a ramp down would let the block's first peaks through
            if new != 1.0:
                np.multiply(out, np.float32(new), out=out)
        else:
            recover = math.exp(-n / sample_rate_hz / self.release_s)
            new = min(want, 1.0 - (1.0 - lim) * recover)
            if lim != 1.0 or new != 1.0:
                self._ramped(out, lim, new)
        self.limit = new
        if new < self.min_limit:
            self.min_limit = new
        np.clip(out, np.float32(-c), np.float32(c), out=out)


class DeviceOutput:
    """A running sounddevice OutputStream reading the ring."""

    def __init__(self, ring: Ring, sample_rate_hz: int, device: int | str | None = None,
                 gain: MasterGain | None = None):
        import sounddevice as sd  # imported here: PortAudio may be missing (see relay.py open_output)

        self.ring = ring  # read on every callback: a supervisor may swap it
        self.gain = gain
        self.frames_played = 0  # consumer-side count (callback thread only)
        self.status_flags = 0  # PortAudio underflow flags seen (callback thread only)
        self.failed: str | None = None  # why the stream stopped by itself (PortAudio's thread)
        self.block_frames, latency = device_settings()
        # The callback thread's Linux thread id, stored by its first call (an int store): the
        # control loop raises that thread's priority from outside (memoire/audio/priority.py).
        self.callback_tid = 0
        self.dac_delay_s = 0.0  # callback thread: see the callback
        self._closing = False
        self._rate = sample_rate_hz

        def callback(outdata: np.ndarray, frames: int, time_info, status) -> None:
            if not self.callback_tid:
                self.callback_tid = threading.get_native_id()
            if status.output_underflow and self.ring.started:  # before the first queue: priming, as for underruns
                self.status_flags += 1
            # when this block's first frame reaches the speaker, after the callback (PortAudio's own
            # figure, which follows the sound server's buffer: 46-58 ms where it reports 46.4)
            self.dac_delay_s = time_info.outputBufferDacTime - time_info.currentTime
            self.ring.read_into(outdata)
            if self.gain is not None:
                self.gain.apply(outdata, self._rate)
            self.frames_played += frames

        def finished() -> None:
            # PortAudio calls this when the stream stops: by close(), or because the device went
            # away (unplugged headphones, a USB interface reset, the sound server restarting).
            if not self._closing:
                self.failed = "the sound device stopped the stream (unplugged or reset?)"

        self.stream = sd.OutputStream(samplerate=sample_rate_hz, channels=ring.channels, dtype="float32",
                                      blocksize=self.block_frames, latency=latency, device=device,
                                      callback=callback, finished_callback=finished)
        self.stream.start()
        self.name = str(sd.query_devices(self.stream.device)["name"])

    @property
    def latency_s(self) -> float:
        return float(self.stream.latency)

    @property
    def played_delay_s(self) -> float:
        """From the callback taking a frame to the speaker playing it: PortAudio's time stamps of
        the last callback where it gives them, else the stream's nominal latency."""
        d = self.dac_delay_s
        return d if 0.0 < d < 1.0 else self.latency_s

    def check(self) -> str | None:
        """Why the stream is not playing (None while it plays). Controlling thread."""
        if self.failed is None:
            try:
                if not self.stream.active:
                    self.failed = "the sound stream is no longer active"
            except Exception as e:  # PortAudioError from a stream whose device vanished
                self.failed = f"the sound stream failed ({e})"
        return self.failed

    def close(self) -> None:
        self._closing = True
        try:
            self.stream.abort()  # abort, not stop: a vanished device may never drain its buffer
            self.stream.close()
        except Exception:
            pass  # closing a stream whose device vanished: nothing left to release


class ClockOutput:
    """No device: drains the ring at real-time pace from a thread, playing nothing."""

    def __init__(self, ring: Ring, sample_rate_hz: int, gain: MasterGain | None = None):
        self.ring = ring  # read on every block: a supervisor may swap it
        self.gain = gain
        self.name = "silent clock"
        self.latency_s = 0.0
        self.block_frames = callback_block_frames
        self.callback_tid = 0  # its thread keeps the normal priority: nothing plays
        self.frames_played = 0
        self.status_flags = 0
        self.failed: str | None = None
        self._rate = sample_rate_hz
        self._stop = threading.Event()
        self._scratch = np.zeros((callback_block_frames, ring.channels), np.float32)
        self._thread = threading.Thread(target=self._run, name="memoire-clock-output", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period_s = callback_block_frames / self._rate
        next_t = time.perf_counter()
        while not self._stop.is_set():
            self.ring.read_into(self._scratch)
            if self.gain is not None:
                self.gain.apply(self._scratch, self._rate)
            self.frames_played += callback_block_frames
            next_t += period_s
            delay = next_t - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -1.0:
                next_t = time.perf_counter()  # fell far behind (suspended): do not race to catch up

    def check(self) -> str | None:
        if self.failed is None and not self._thread.is_alive() and not self._stop.is_set():
            self.failed = "the silent clock's thread ended"
        return self.failed

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)


def refresh_devices() -> None:
    """Make PortAudio list the devices anew (it lists them once, at initialisation), so a device
    plugged in after start is found. Only call with no stream open. Never raises."""
    try:
        import sounddevice as sd

        sd._terminate()  # sounddevice's own re-initialisation pair (no public API for this)
        sd._initialize()
    except Exception:
        pass
