"""What the game, the kiosk and the editor may ask of the audio: the ``AudioClient`` protocol.

The one implementation that ships is ``memoire.audio.process.AudioProcess`` (the synth, its ring,
the sound device and their supervisor in a child process, itself restarted when it ends or
freezes). Everything here is plain data: this module imports no torch, directly or through its
imports, and neither does ``memoire.audio.card.read_card`` (the model's metadata).

    audio = AudioProcess(level, model_path)    # reads the model card (no torch here)
    audio.start()                              # spawns the child, waits until it plays
    audio.set_listener(x, y, heading)          # every frame; latest value wins
    audio.set_gain(gain, ceiling)              # the one output gain stage (see below)
    for event in audio.poll_events(): ...      # every frame: faults, restarts, silence
    audio.stats()                              # AudioStats, accumulated over every restart
    audio.close()

Gain: there is one gain stage after the synth (memoire/audio/output.py ``MasterGain``, applied in
the device callback): ``set_gain(gain, ceiling)`` sets its gain (linear: the kiosk's volume x the
director's fade, the editor's hold-to-hear 0/1, 1.0 in the game) and its peak ceiling (linear;
the kiosk's volume limit; 0.98 by default). The level's ``[sound] gain_db`` is a separate
makeup gain inside the synth, before this stage, with no ceiling of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from memoire.world.card import ModelCard
    from memoire.world.level import Level

# AudioEvent kinds. The game shows every kind but "retry" once on screen (the kiosk logs them):
# "silent", "error", "fault", "restart", "warning"; "recovered" says a fault is over; "retry" is
# for logs only.
EVENT_SILENT = "silent"  # no sound device (or --mute): the game plays on silently; text says why
EVENT_ERROR = "error"  # a command was refused or the audio could not start; text says what
EVENT_FAULT = "fault"  # the synth stopped or stalled, the model failed, the device vanished: being recovered
EVENT_RECOVERED = "recovered"  # the device is back
EVENT_RESTART = "restart"  # the synth (in the child) or the whole audio process was restarted
EVENT_RETRY = "retry"  # a device reopen failed, or a failed model is tried again: the next try is scheduled
# The sound plays but will not sound right: a model that is not a streaming export (it clicks at
# every block edge), a model slower than real time on this machine (the sound breaks up).
EVENT_WARNING = "warning"
EVENT_KINDS = (EVENT_SILENT, EVENT_ERROR, EVENT_FAULT, EVENT_RECOVERED, EVENT_RESTART, EVENT_RETRY, EVENT_WARNING)


@dataclass(frozen=True)
class AudioEvent:
    kind: str  # one of EVENT_KINDS
    text: str  # one sentence for a person


@dataclass(frozen=True)
class AudioStats:
    """Counts since the client was made, accumulated over synth restarts and process restarts."""

    underruns: int = 0  # device blocks the ring could not fill once playback had started
    device_underflows: int = 0  # underflows PortAudio itself reported
    synth_restarts: int = 0  # synth threads replaced after a crash or stall (inside the child)
    process_restarts: int = 0  # audio processes replaced after they ended or froze
    device_losses: int = 0  # outputs that stopped by themselves (device unplugged, server gone)
    device_reopens: int = 0  # successful device opens after start or after a loss (the first counts)
    device_attempts: int = 0  # reopen tries that failed (the device still absent)
    crossfades: int = 0  # synth crossfades (teleports, level reloads, model switches)
    synth_rtf: float | None = None  # audio seconds per second of synth work (decode, voices, mix); None before any
    latency_s: float | None = None  # mean motion-to-sound latency; None before any sample
    frames_played: int = 0  # frames the outputs consumed (devices and the silent clock)
    heartbeat_s: float = 0.0  # time.perf_counter() of the synth's last loop; 0.0 while none reports
    output: str = "none"  # the output playing now ("silent clock" without a device)
    alive: bool = False  # the audio process is running now
    latent: tuple[float, ...] = ()  # the latent the synth decoded last (for displays and tests)
    gain: float = 0.0  # the output stage's gain target now (the game's gain x any restart fade-in)
    latency_p95_s: float | None = None  # 95th percentile of motion-to-sound latency (1 ms bins); None before any
    priority: str = ""  # the synth thread's scheduling, in words ("real-time (SCHED_FIFO 4)", "normal")
    voices_real: int = 0  # the synth's voices decoded now (the bed's included; memoire/audio/voices.py)
    voices_virtual: int = 0  # zone voices not decoded now (over the voice budget, or inaudible)


@runtime_checkable
class AudioClient(Protocol):
    """The audio as the game sees it. All calls from one thread (the game's main thread)."""

    card: "ModelCard"  # the current model's metadata
    level: "Level"  # the level the sound plays

    def start(self, wait: bool = True) -> None:
        """Start playing; with ``wait``, until the sound runs or it is known why it cannot."""

    def set_listener(self, x_m: float, y_m: float, heading_rad: float, *, teleport: bool = False) -> None:
        """The player's pose, every frame; ``teleport`` crossfades instead of gliding."""

    def set_level(self, level: "Level") -> None:
        """A new version of the level (hot reload), crossfaded. Raises UserError for anchors the
        model lacks (the old level keeps playing). A level that no longer uses a terrain drops it."""

    def set_model(self, path: Path) -> None:
        """Another model file, crossfaded. Raises UserError when it cannot play this level."""

    def set_terrain(self, grid) -> None:
        """A latent terrain grid (pure-numpy sampler), mixed as the current level says."""

    def set_gain(self, gain: float, ceiling: float | None = None) -> None:
        """The output gain stage: gain (linear, ramped) and, when given, its peak ceiling (linear)."""

    def set_zone_gains(self, gains: dict[str, float]) -> None:
        """Per-zone gains 0..1 on the zones' weights in the blend (zone name -> gain; OSC
        /memoire/zone/<name>/gain), set over earlier ones; glided, kept over reloads."""

    def set_latent(self, latent: tuple[float, ...] | None) -> None:
        """Play this latent (latent_dim numbers; OSC /memoire/latent) instead of the field's;
        None releases it."""

    def poll_events(self) -> list[AudioEvent]:
        """What happened since the last call. Call it every frame: it also watches the process."""

    def stats(self) -> AudioStats:
        """The statistics now (cheap: a shared array read)."""

    def close(self) -> None:
        """Stop the sound and the process; stats() keeps the final figures."""
