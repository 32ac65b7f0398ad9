"""`memoire play --kiosk [--config FILE]`: the kiosk session around the kiosk game.

One window for the whole session (fullscreen unless headless, cursor hidden). If the level, the
tour or the model cannot load, the window shows what is wrong and where the log is, and the
load is tried again every ``retry_s`` (a technician may fix the file, or a model may still be
copying); the quit chord works throughout. systemd is told READY=1 once something is on screen
and WATCHDOG=1 every frame while the loop runs. Everything goes to the rotating log.
"""

from __future__ import annotations

import logging
import time

from memoire.game.app import PlayOptions
from memoire.world.errors import UserError
from memoire.kiosk.config import load_kiosk_config
from memoire.kiosk.events import KioskInput
from memoire.kiosk.logs import KioskLogs, check_log_folder, check_trace_folder
from memoire.kiosk.watchdog import Watchdog

log = logging.getLogger("memoire.kiosk")

# The message screen redraws 10 times a second (its countdown, the watchdog, the quit chord).
problem_frame_s = 0.1


def run_kiosk(opts: PlayOptions) -> int:
    config = load_kiosk_config(opts.config)  # a broken config is the technician's to fix: exit 2
    if config.trace and config.log_dir is not None:  # a trace folder that cannot be written: exit 2 too
        check_log_folder(config.log_dir, config.log_backups)
        check_trace_folder(config.log_dir)
    logs = KioskLogs(config.log_dir, config.log_max_bytes, config.log_backups)
    watchdog = Watchdog()
    window = None
    try:
        log.info("kiosk: starting (level %s, config %s, log %s)", opts.level_path, config.path or "defaults",
                 logs.path or "stderr only")
        from memoire.game.window import open_window

        window = open_window(opts.size_px, headless=opts.headless, fullscreen=True, title="Memoire")
        window.capture_mouse(True)
        return _session(opts, config, window, watchdog, logs)
    finally:
        watchdog.close()
        if window is not None:
            window.close()
        logs.close()


def _session(opts: PlayOptions, config, window, watchdog: Watchdog, logs: KioskLogs) -> int:
    from dataclasses import replace

    from memoire.kiosk.game import KioskGame

    if opts.quality is None:  # --quality wins over [kiosk] quality
        opts = replace(opts, quality=config.quality)
    if opts.output is None:  # --output wins over [kiosk] output (None: the level's)
        opts = replace(opts, output=config.output)

    frames_left = opts.frames
    while True:
        try:
            game = KioskGame(opts if frames_left is None else _with_frames(opts, frames_left), config, window,
                             watchdog=watchdog)
            return game.run()
        except UserError as e:
            problem = str(e)
        except Exception as e:  # anything else that stops the start: shown and logged the same way
            log.exception("kiosk: start failed")
            problem = f"{type(e).__name__}: {e}"
        log.error("kiosk: cannot start: %s", problem)
        watchdog.status(f"cannot start: {problem.splitlines()[0]}")
        quit_, used = _show_problem(window, config, watchdog, problem, logs, frames_left)
        if frames_left is not None:
            frames_left -= used
            if frames_left <= 0:
                return 1
        if quit_:
            return 1


def _with_frames(opts: PlayOptions, frames: int) -> PlayOptions:
    from dataclasses import replace

    return replace(opts, frames=frames)


def _show_problem(window, config, watchdog: Watchdog, problem: str, logs: KioskLogs,
                  frames_left: int | None) -> tuple[bool, int]:
    """Show ``problem`` until the next retry. Returns (quit chord pressed, frames drawn)."""
    from memoire.kiosk.screen import MessageScreen

    screen = MessageScreen(window.ctx, window.size_px)
    kiosk_input = KioskInput(window, config.quit_chord)
    where = f"the log {logs.path}" if logs.path else "the terminal output"
    deadline = time.monotonic() + config.retry_s
    frames = 0
    watchdog.ready("showing a problem")
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, frames
            _, _, quit_ = kiosk_input.poll()
            if quit_:
                log.info("kiosk: quit chord %s pressed", config.quit_chord)
                return True, frames
            lines = _wrap(["Memoire cannot start.", "", *problem.splitlines(), "",
                           f"Trying again in {left:.0f} s. Details: {where}.", f"Quit: {config.quit_chord}"],
                          window.size_px[0])
            screen.draw(lines)
            window.flip()
            if frames == 0 and getattr(window, "pg", None) is None:
                _save_problem_picture(screen)
            watchdog.ping(time.monotonic())
            frames += 1
            if frames_left is not None and frames >= frames_left:
                return False, frames
            time.sleep(problem_frame_s)
    finally:
        screen.release()


def _wrap(lines: list[str], width_px: int) -> list[str]:
    """Lines wrapped to the window (the HUD font is ~9 px a character); blank lines kept."""
    import textwrap

    chars = max(30, (width_px - 48) // 9)
    out = []
    for line in lines:
        out.extend(textwrap.wrap(line, chars, subsequent_indent="  ") or [" "])
    return out


def _save_problem_picture(screen) -> None:
    """Headless runs (tests, CI) keep the message screen's picture in MEMOIRE_PROBLEM_PNG if set."""
    import os

    path = os.environ.get("MEMOIRE_PROBLEM_PNG")
    if path:
        from PIL import Image

        Image.fromarray(screen.read_pixels()).save(path)
