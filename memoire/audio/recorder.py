"""`memoire play --record FILE`: what the synth plays, written to a WAV or FLAC file.

The synth thread (memoire/audio/synth.py ``SynthThread``) calls ``write`` after each block. A
recording must never stop the sound: a file that cannot be opened, or a write that fails (the
disk full, the disk gone, /dev/full), ends the recording there. The file is closed at once, so
its header is fixed and what reached the disk is a valid partial file, and one message says why
(``report``; in the audio process it goes to the game, which shows it). The game plays on.

The game checks the path before anything starts (memoire/world/files.py ``check_output_path``:
not an input, not a folder, in a folder it can write); this is for what only shows later.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Callable

from memoire.world.files import why_not_written


def _print(text: str) -> None:
    print(f"memoire: {text}", file=sys.stderr)


# Where a stopped recording is said: stderr by default; the audio process sends it to the game
# (memoire/audio/process.py ``_child_main`` calls ``set_report``). One process, one recording.
_report: Callable[[str], None] = _print


def set_report(report: Callable[[str], None] | None) -> None:
    """Route the "recording stopped" messages of this process (None: back to stderr)."""
    global _report
    _report = report or _print


class Recorder:
    """One recording; ``write`` and ``close`` may come from different threads (a stalled synth
    thread still writing while the engine closes): a lock keeps them apart."""

    def __init__(self, path: Path, sample_rate_hz: int, channels: int, *,
                 report: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.sample_rate_hz = int(sample_rate_hz)
        self.frames = 0
        self.error: str | None = None  # why the recording stopped early, once it has
        self._report = report
        self._lock = threading.Lock()
        self._file = None
        import soundfile as sf

        fmt = "FLAC" if self.path.suffix.lower() == ".flac" else "WAV"
        try:
            self._file = sf.SoundFile(str(self.path), "w", samplerate=self.sample_rate_hz, channels=channels,
                                      subtype="PCM_16", format=fmt)
        except Exception as e:  # LibsndfileError (a RuntimeError), OSError, TypeError: nothing recorded
            self._stopped(e, opened=False)

    @property
    def recording(self) -> bool:
        return self._file is not None

    def write(self, audio) -> None:
        """Append ``audio`` (frames, channels); on failure stop recording, say why once, never raise."""
        with self._lock:
            if self._file is None:
                return
            try:
                self._file.write(audio)
            except Exception as e:
                self._close_file()
                self._stopped(e, opened=True)
                return
            self.frames += len(audio)

    def close(self) -> None:
        """Close the file (its header written); idempotent."""
        with self._lock:
            self._close_file()

    def _close_file(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        try:
            f.close()
        except Exception as e:  # the header could not be rewritten: say so, if nothing was said yet
            if self.error is None:
                self._stopped(e, opened=True)

    def _stopped(self, e: BaseException, *, opened: bool) -> None:
        why = why_not_written(e, self.path, verb="record")
        if opened:
            kept = f"{self.path.name} holds about the first {self.frames / self.sample_rate_hz:.1f} s"
            self.error = f"recording stopped: cannot write {self.path}: {why}. The game plays on; {kept}."
        else:
            self.error = f"not recording: cannot write {self.path}: {why}. The game plays on."
        (self._report or _report)(self.error)
