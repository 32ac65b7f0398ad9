"""The sound device in a process of its own: ``RelayOutput``, the output the audio process plays on.

Why: the device callback is Python (sounddevice's), so it needs its process's interpreter lock. In
the audio process that lock is held, in turns, by the synth's two threads (the decode's Python
between torch calls, the mix's numpy and spatializer code), and a thread that wants it waits up to
the interpreter's switch interval (1 ms there: memoire/audio/process.py) behind whichever holds
it, longer behind a numpy call that keeps it: a real-time probe thread at the callback's priority
waited up to 8 ms there (1.4 ms at p99). With a device buffer small enough for
motion-to-sound under 60 ms (15 ms: docs/sound.md "Latency") those waits emptied the device
buffer now and then (5 device underflows in a 12-minute tour). Here the callback runs in a small
process of its own (numpy and sounddevice, no torch) whose interpreter nothing else uses: it copies
from the synth's ring, which lives in shared memory (memoire/audio/ring.py ``Ring.shared``), and
applies the gain stage (memoire/audio/output.py ``MasterGain``), whose controls are shared too.

The two sides, one writer per slot:
- the audio process (``RelayOutput``, its control loop): the ring's producer side (the synth's
  mix thread writes it), the gain stage's controls (``MasterGain.bind``), the commands on the
  socket (a new ring after a synth restart, close);
- the device process (``device_main``): the ring's consumer side (its callback), the status array
  (frames played, underflow flags, the DAC delay), the messages on the socket
  (opened or why not, the callback's priority, why the stream failed).

The device process ends when the stream is closed, when told, or when the audio process goes away
(the socket reads end-of-file: a killed audio process leaves no device process behind). The audio
process's supervisor treats a device process that ended as a device that failed (memoire/audio/
supervisor.py: the silent clock, then a reopen), as it does a vanished device.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle

import numpy as np

from memoire.audio.output import ClockOutput, DeviceOutput, MasterGain
from memoire.audio.ring import Ring

# The shared status array (float64, written by the device process's control loop only).
_ST_FRAMES, _ST_FLAGS, _ST_DAC_S, _N_STATUS = range(4)
# The gain stage's controls follow the status (memoire/audio/output.py MasterGain.bind: 3 values).
_N_CONTROL = 3
# The device process's control loop publishes the status and reads commands at 100 Hz: the
# supervisor's watch (frames advancing, seconds) and the latency meter's DAC delay (changes
# slowly) need no more, and waking rarely keeps the callback's interpreter lock free.
device_poll_s = 0.01
# Opening: start the interpreter, import numpy and sounddevice, open the stream. Measured ~0.4 s
# here; a sound server that hangs is given up on after this long (the silent clock plays then).
open_timeout_s = 15.0
# A new ring (after a synth restart) is acknowledged within a poll; given up on after this long.
reply_timeout_s = 2.0


class RelayOutput:
    """The output interface of memoire/audio/output.py (``ring``, ``frames_played``,
    ``status_flags``, ``failed``, ``check``, ``close``, ``latency_s``, ``played_delay_s``,
    ``block_frames``, ``name``) for a device stream that runs in a child process. Every method:
    the audio process's control loop. Raises OSError when the device cannot be opened (with
    PortAudio's reason) or the device process does not start."""

    def __init__(self, ring: Ring, sample_rate_hz: int, device: int | str | None = None, gain=None):
        if ring.fd is None:
            raise ValueError("the device process plays a shared ring: make it with Ring.shared")
        self.gain = gain
        self.failed: str | None = None
        self.callback_tid = 0  # the callback's thread is the device process's: it raises its own
        self.priority: str | None = None  # what the device process's callback got, once it says
        self._closed = False
        self._ring = ring
        self._shared, self._shared_fd = _shared_array(_N_STATUS + _N_CONTROL)
        self._status = self._shared[:_N_STATUS]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # the device process: `python -m memoire.audio.relay FD`, its end of the socket inherited
        self._proc = subprocess.Popen([sys.executable, "-m", "memoire.audio.relay", str(theirs.fileno())],
                                      pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                      start_new_session=False)
        theirs.close()
        self._conn = Connection(ours.detach())
        try:
            self._conn.send(dict(rate=int(sample_rate_hz), device=device, capacity=ring.capacity,
                                 channels=ring.channels))
            send_handle(self._conn, self._shared_fd, self._proc.pid)
            send_handle(self._conn, ring.fd, self._proc.pid)
            reply = self._wait("opened", open_timeout_s)
        except BaseException:
            self._stop_process()
            raise
        if reply[0] != "opened":
            self._stop_process()
            raise OSError(reply[1])
        _, self.name, self.latency_s, self.block_frames = reply
        if gain is not None:
            gain.bind(self._shared[_N_STATUS:])

    # -- what the engine and the supervisor read ----------------------------------------------------

    @property
    def ring(self) -> Ring:
        return self._ring

    @ring.setter
    def ring(self, ring: Ring) -> None:
        """A new ring (a restarted synth writes it): the device process maps it and reads it from
        its next callback. A device process that does not take it counts as failed."""
        self._ring = ring
        if self._closed or self.failed is not None:
            return
        try:
            if ring.fd is None:
                raise ValueError("not a shared ring")
            self._conn.send(("ring", ring.capacity, ring.channels))
            send_handle(self._conn, ring.fd, self._proc.pid)
            reply = self._wait("ring", reply_timeout_s)
            if reply[0] != "ring":
                self.failed = f"the sound device's process did not take the new ring ({reply[1]})"
        except (OSError, ValueError) as e:
            self.failed = f"the sound device's process did not take the new ring ({e})"

    @property
    def frames_played(self) -> int:
        return int(self._status[_ST_FRAMES])

    @property
    def status_flags(self) -> int:
        return int(self._status[_ST_FLAGS])

    @property
    def played_delay_s(self) -> float:
        """From the callback taking a frame to the speaker playing it (PortAudio's time stamps, as
        memoire/audio/output.py DeviceOutput.played_delay_s), else the stream's latency."""
        d = float(self._status[_ST_DAC_S])
        return d if 0.0 < d < 1.0 else self.latency_s

    def check(self) -> str | None:
        """Why the stream is not playing (None while it plays): what the device process said, or
        that it ended."""
        if self.failed is None and not self._closed:
            try:
                while self._conn.poll(0):
                    self._take(self._conn.recv())
            except (EOFError, OSError):
                pass
            if self.failed is None and self._proc.poll() is not None:
                self.failed = f"the sound device's process ended (exit status {self._proc.returncode})"
        return self.failed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.gain is not None:
            self.gain.bind(None)  # the controls back in this process (a fallback output reads them)
        try:
            self._conn.send(("close",))
        except OSError:
            pass
        self._stop_process()

    # -- inside ---------------------------------------------------------------------------------------

    def _take(self, message: tuple) -> None:
        kind = message[0]
        if kind == "failed" and self.failed is None:
            self.failed = message[1]
        elif kind == "priority":
            self.priority = message[1]

    def _wait(self, kind: str, timeout_s: float) -> tuple:
        """The next reply of ``kind`` (other messages are taken on the way), ("error", why) when the
        device process says so, ends, or does not answer in ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not self._conn.poll(left):
                    return ("error", f"the sound device's process did not answer within {timeout_s:.0f} s")
                message = self._conn.recv()
            except (EOFError, OSError):
                code = self._proc.wait(timeout=1.0) if self._proc.poll() is None else self._proc.returncode
                return ("error", f"the sound device's process ended (exit status {code})")
            if message[0] in (kind, "error"):
                return message
            self._take(message)

    def _stop_process(self) -> None:
        try:
            self._proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=2.0)
        self._conn.close()
        os.close(self._shared_fd)


def _shared_array(n: int, fd: int | None = None) -> tuple[np.ndarray, int]:
    """``n`` float64 in an anonymous memory file (a new one when ``fd`` is None): (array, fd)."""
    import mmap

    if fd is None:
        fd = os.memfd_create("memoire-device", os.MFD_CLOEXEC)
        os.ftruncate(fd, 8 * n)
    return np.frombuffer(mmap.mmap(fd, 8 * n), np.float64, n), fd


# -- opening the output (the engine's and the supervisor's) ---------------------------------------

def relay_enabled() -> bool:
    """Whether a shared ring plays through the device process (memoire/audio/relay.py): yes,
    unless the environment says ``MEMOIRE_AUDIO_RELAY=0`` (the callback in the audio process, as
    before: tools/bench/latency.py compares the two)."""
    import os

    return os.environ.get("MEMOIRE_AUDIO_RELAY", "1").strip().lower() not in ("0", "off", "no", "false")


def _device_output(ring: Ring, sample_rate_hz: int, device: int | str | None, gain: MasterGain | None):
    if ring.fd is not None and relay_enabled():
        return RelayOutput(ring, sample_rate_hz, device, gain)
    return DeviceOutput(ring, sample_rate_hz, device, gain)


def open_device(ring: Ring, sample_rate_hz: int, device: int | str | None = None,
                gain: MasterGain | None = None):
    """Open the sound device (in the device process when ``ring`` is shared, memoire/audio/
    relay.py); raises (OSError, sounddevice.PortAudioError, ValueError) if it cannot."""
    import sounddevice  # noqa: F401  (OSError when the PortAudio library is missing)

    return _device_output(ring, sample_rate_hz, device, gain)


def open_output(ring: Ring, sample_rate_hz: int, device: int | str | None = None,
                enabled: bool = True, gain: MasterGain | None = None) -> tuple[object, str | None]:
    """Open the sound device, or a silent clock. Returns (output, reason it is silent or None)."""
    if not enabled:
        return ClockOutput(ring, sample_rate_hz, gain), "sound is off (--mute)"
    try:
        import sounddevice  # noqa: F401
    except OSError as e:
        return ClockOutput(ring, sample_rate_hz, gain), (
            f"no sound: the PortAudio library is missing ({e}); install it with `apt-get install libportaudio2`")
    try:
        return _device_output(ring, sample_rate_hz, device, gain), None
    except Exception as e:  # sounddevice.PortAudioError and ValueError for a bad device
        return ClockOutput(ring, sample_rate_hz, gain), (
            f"no sound: no usable output device ({e}); the game runs silently. "
            "Plug in headphones or check `python -m sounddevice`")


def device_main(conn: Connection) -> None:
    """The device process: open the stream on the shared ring, then publish its status and answer
    commands until closed or the audio process goes away. The stream's callback is memoire/audio/
    output.py DeviceOutput's (copy from the ring, gain stage), with nothing else in this process
    wanting the interpreter lock but this loop, 100 times a second for a few microseconds."""
    import gc

    from memoire.audio.priority import decode_rt_priority, raise_priority, sound_server_threads

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the game's to act on: it closes us
    config = conn.recv()
    shared, _ = _shared_array(_N_STATUS + _N_CONTROL, recv_handle(conn))
    status = shared[:_N_STATUS]
    ring = Ring.from_fd(recv_handle(conn), config["capacity"], config["channels"])
    gain = MasterGain()
    gain.follow(shared[_N_STATUS:])
    try:
        out = DeviceOutput(ring, config["rate"], config["device"], gain)
    except Exception as e:  # PortAudioError, ValueError for a bad device: the reason, as PortAudio says it
        conn.send(("error", str(e) or type(e).__name__))
        return
    gc.collect()
    gc.freeze()  # what exists now stays out of every later pass (none should run: little is made)
    conn.send(("opened", out.name, out.latency_s, out.block_frames))
    said_failed = boosted = False
    realtime = os.environ.get("MEMOIRE_AUDIO_RT", "1").strip().lower() not in ("0", "off", "no", "false")
    try:
        while True:
            status[_ST_FRAMES] = out.frames_played
            status[_ST_FLAGS] = out.status_flags
            status[_ST_DAC_S] = out.dac_delay_s
            if not boosted and out.callback_tid:
                boosted = True
                if realtime:
                    for client in sound_server_threads():  # PulseAudio's client thread carries the audio on
                        raise_priority(client)
                    got = raise_priority(out.callback_tid)
                    # this loop too, a step below: it holds the interpreter lock the callback needs
                    # for a few microseconds 100 times a second, and must not be preempted there
                    # by the game's renderer (a normal thread holding the lock stalls the callback)
                    raise_priority(0, decode_rt_priority)
                else:
                    got = "normal"
                conn.send(("priority", got))
            why = out.check()
            if why is not None and not said_failed:
                said_failed = True
                conn.send(("failed", why))
            if conn.poll(device_poll_s):
                message = conn.recv()
                if message[0] == "close":
                    break
                if message[0] == "ring":
                    try:
                        out.ring = Ring.from_fd(recv_handle(conn), message[1], message[2])
                        conn.send(("ring",))
                    except OSError as e:
                        conn.send(("error", str(e)))
    except (EOFError, OSError):
        pass  # the audio process is gone: stop playing
    finally:
        out.close()


def main(argv: list[str]) -> int:
    """``python -m memoire.audio.relay FD``: the device process, on the socket FD its parent gave."""
    conn = Connection(int(argv[0]))
    try:
        device_main(conn)
    except (EOFError, OSError):
        return 1  # the parent went away before the stream opened
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
