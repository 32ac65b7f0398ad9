"""Real-time priority for the audio's two time-critical threads (the synth and the device callback).

``raise_priority(tid)`` asks the kernel for ``SCHED_FIFO`` at ``rt_priority`` for one thread (a
Linux thread id; 0: the calling thread), else a nice value of ``fallback_nice`` for it, else leaves
it as it is. It never raises: a machine, user or container that does not allow it plays at the
normal priority, and the result says which one the thread got (the audio process says it once).

Why: on a busy 2-core machine the synth and the callback compete with the renderer, the sound
server and whatever else runs; with just-in-time decoding (memoire/audio/synth.py) the synth has a
few milliseconds to deliver each block, which the normal scheduler does not promise. The synth
decodes ~1 ms per 46 ms of audio, so a real-time synth takes ~2% of a core; a model slower than
real time would spin, so the synth thread drops back to normal priority when it finds itself
slower than real time (``lower_priority``). On Linux the scheduling class and the nice value are
per thread (``sched_setscheduler``/``setpriority`` with a thread id).

Where the system refuses, the demo's systemd unit can grant it (memoire/kiosk/build_command.py:
``LimitRTPRIO=``, ``CPUSchedulingPolicy=``), or ``ulimit -r`` / /etc/security/limits.conf
(``rtprio``) for a user.
"""

from __future__ import annotations

import os

# SCHED_FIFO priority 1..99: above every normal thread, below the sound server's own real-time
# threads (PulseAudio's default realtime-priority is 5: its null-sink thread runs SCHED_RR 5 here;
# PipeWire and JACK use 70-88) and the kernel's (50, 99), so the server stays ahead of its clients.
rt_priority = 4
# The decode thread (memoire/audio/synth.py SynthThread: the batched decode a block ahead) one step
# below: it has a block of slack, the mix and the callback have milliseconds, so they preempt it.
decode_rt_priority = 3
# The fallback: a nice value for the thread (root or CAP_SYS_NICE, or a raised RLIMIT_NICE).
fallback_nice = -10


def raise_priority(tid: int = 0, priority: int = rt_priority) -> str:
    """Raise thread ``tid`` (0: this one): SCHED_FIFO at ``priority``, else nice, else unchanged.
    Returns what it got, in words ("real-time (SCHED_FIFO 4)", "nice -10", "normal"). Never raises."""
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(priority))
        return f"real-time (SCHED_FIFO {priority})"
    except (AttributeError, OSError, ValueError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, tid, fallback_nice)
        return f"nice {fallback_nice}"
    except (AttributeError, OSError, ValueError):
        pass
    return "normal"


def sound_server_threads() -> list[int]:
    """Thread ids of this process's sound-server client threads (PulseAudio's ``threaded-ml``
    mainloop, which the ALSA pulse plugin uses to send the callback's audio to the server; it is
    on the audio path too). Linux only; [] elsewhere."""
    tids = []
    try:
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/comm") as f:
                    if f.read().strip() in ("threaded-ml", "pulse-shm"):
                        tids.append(int(task))
            except OSError:
                continue
    except OSError:
        return []
    return tids


def lower_priority(tid: int = 0) -> None:
    """Back to the normal class (a synth found slower than real time must not starve the machine)."""
    try:
        os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError, ValueError):
        pass
