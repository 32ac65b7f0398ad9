"""A scripted designer session: builds a small level from an empty file with the editor alone and
saves a screenshot of each tool (the pictures in docs/editing.md).

    xvfb-run -s "-screen 0 1280x800x24" python -m tools.editor.walkthrough LEVEL.toml --out docs/img \\
        [--model MODEL.ts]

LEVEL.toml must not exist yet (the session starts from the empty template). Every step goes
through the editor's event handler as mouse and key events, as a designer's hands would.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pygame

from memoire.editor.app import Editor
from tools.editor.driver import Driver
from memoire.world.errors import UserError


def _cell(col: int, row: int, cell_m: float = 1.5) -> tuple[float, float]:
    return (col + 0.5) * cell_m, (row + 0.5) * cell_m


def session(level: Path, out: Path, model: Path | None, size=(1280, 800)) -> Path:
    if level.exists():
        raise UserError(f"{level} exists; the walkthrough starts from a new, empty file")
    out.mkdir(parents=True, exist_ok=True)
    ed = Editor(level, model_path=model, mute=True, size_px=size, allow_outside=True)
    ed.open_window()
    d = Driver(ed)

    def shot(name: str) -> None:
        pygame.event.pump()
        d.frame()
        ed.save_screenshot(out / f"editor_{name}.png")
        print(f"walkthrough: {out / f'editor_{name}.png'}")

    try:
        shot("new")
        # 1. tiles: a wall across the yard with a red gate, a garden with trees, lanterns
        d.key(pygame.K_t)
        d.key(pygame.K_1)
        d.drag(_cell(1, 7), _cell(18, 7), steps=20)
        d.key(pygame.K_4)
        d.click(_cell(9, 7))
        d.click(_cell(10, 7))
        d.key(pygame.K_3)
        for row in range(9, 14):
            d.drag(_cell(1, row), _cell(7, row), steps=8)
        d.key(pygame.K_7)
        for c, r in ((2, 10), (5, 12), (4, 9)):
            d.click(_cell(c, r))
        d.key(pygame.K_8)
        for c in (4, 15):
            d.click(_cell(c, 8))
        d.move(_cell(12, 11))
        shot("tiles")

        # 2. zones: two circles in the north yard, a polygon over the garden
        d.key(pygame.K_z)
        d.drag((8.0, 5.0), (11.0, 5.0))
        d.drag((22.0, 5.0), (24.5, 5.0))
        d.key(pygame.K_TAB)
        for p in ((2.0, 14.0), (11.0, 14.0), (11.0, 20.5), (2.0, 20.5)):
            d.click(p)
        d.key(pygame.K_RETURN)
        d.key(pygame.K_TAB)
        for _ in range(3):
            d.click_panel("anchor (sound)")
        d.click_panel("name", "click")
        for _ in range(12):
            d.key(pygame.K_BACKSPACE)
        d.type("garden wind")
        d.key(pygame.K_RETURN)
        d.click((8.0, 5.0))  # select the first circle: its handles show
        d.drag((14.0, 5.0), (15.0, 5.0))  # a wider falloff
        d.move((15.0, 5.0))
        shot("zones")

        # 3. paths: a tour from the south yard through the gate and round the north yard
        d.key(pygame.K_ESCAPE)
        d.key(pygame.K_p)
        d.drag((22.0, 19.0), (19.0, 19.0))
        d.drag((15.0, 14.0), (15.0, 11.5))
        d.drag((15.0, 6.0), (18.0, 5.0))
        d.drag((24.0, 8.5), (24.0, 12.0))
        d.key(pygame.K_RETURN)
        d.click((15.0, 14.0))  # select the tour
        d.click((15.0, 14.0))  # select its second point: its handles show
        d.move((15.0, 9.0))
        shot("paths")

        # 4. spawn: where the visitor starts, facing north to the gate
        d.key(pygame.K_s)
        d.drag((22.0, 17.5), (22.0, 14.0))
        d.move((22.0, 14.0))
        shot("spawn")

        # 5. the eraser: the brush over the bells' dot deletes that zone (Ctrl+Z brings it back)
        d.key(pygame.K_e)
        ed.selection = None
        d.drag((21.0, 5.0), (23.0, 5.0), steps=4)
        d.move((23.0, 5.5))
        shot("eraser")
        d.ctrl(pygame.K_z)

        # 6. a problem: a wall across the gate puts the tour through a wall; shown in words and red
        d.key(pygame.K_t)
        d.key(pygame.K_1)
        d.click(_cell(9, 7))
        d.click(_cell(10, 7))
        d.move(_cell(12, 9))
        shot("problems")
        d.ctrl(pygame.K_z)
        d.ctrl(pygame.K_z)

        # 7. hearing: hold Space over the garden; the rings take the colour of what plays
        d.key(pygame.K_z)
        d.move((6.0, 17.0))
        ed.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" "))
        end = time.perf_counter() + 20.0
        while ed.sound.state != "on" and time.perf_counter() < end:
            d.frame()
            time.sleep(0.05)
        for _ in range(30):  # let the latent glide to the garden's sound
            d.frame()
            time.sleep(0.05)
        shot("listen")
        ed.handle(pygame.event.Event(pygame.KEYUP, key=pygame.K_SPACE, mod=0))
        d.frame()

        # 8. save
        d.ctrl(pygame.K_s)
        shot("saved")
        if ed.problems or ed.doc.dirty:
            raise UserError(f"walkthrough ended with problems: {[str(p) for p in ed.problems]}")
    finally:
        ed.close()
    return level


def live_change(level: Path, out: Path, model: Path | None, frames: int = 100_000) -> Path:
    """Play ``level`` in a headless game (recording its sound), and while it plays, move the
    zone nearest the spawn onto the spawn with the editor and save; plot the recorded sound's
    spectrogram with the moment of the save marked. Returns the picture's path."""
    import os
    import signal
    import subprocess

    import numpy as np
    import soundfile as sf

    import tempfile

    wav = Path(tempfile.mkdtemp(prefix="memoire-live-")) / "played.wav"  # scratch: not kept with the docs
    cmd = [sys.executable, "-m", "memoire", "play", str(level), "--headless", "--mute", "--size", "320", "200",
           "--frames", str(frames), "--record", str(wav)]
    if model is not None:
        cmd += ["--model", str(model)]
    wav.unlink(missing_ok=True)
    game = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.perf_counter() + 60.0
    while not wav.exists() and time.perf_counter() < deadline:
        time.sleep(0.05)
    started = time.perf_counter()  # the synth opened its recording: the sound starts about now
    time.sleep(4.0)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    ed = Editor(level, model_path=model, mute=True, size_px=(1000, 700), allow_outside=True)
    ed.open_window()
    d = Driver(ed)
    try:
        spawn = tuple(ed.doc.data["spawn"]["at"])
        markers = [(i, ed.zone_marker(i)) for i in range(len(ed.doc.items("zones")))]
        i, mk = min(markers, key=lambda m: (m[1][0] - spawn[0]) ** 2 + (m[1][1] - spawn[1]) ** 2)
        name = ed.doc.items("zones")[i]["name"]
        d.key(pygame.K_z)
        d.drag(mk, spawn, steps=10)
        d.ctrl(pygame.K_s)
        saved = time.perf_counter() - started
    finally:
        ed.close()
    time.sleep(5.0)  # let the game play the new version for a while, then stop it as Ctrl+C would
    game.send_signal(signal.SIGINT)
    _, err = game.communicate(timeout=120)
    reloads = [line for line in err.splitlines() if "reloaded" in line]
    print(f"walkthrough: moved zone '{name}' onto the spawn and saved {saved:.1f} s into the recording; "
          f"the game said: {reloads}")
    audio, rate = sf.read(str(wav))
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    hop = 1024
    win = np.hanning(4096)
    frames_ = [np.abs(np.fft.rfft(mono[k:k + 4096] * win)) for k in range(0, len(mono) - 4096, hop)]
    spec = 20 * np.log10(np.array(frames_).T + 1e-6)
    freqs = np.fft.rfftfreq(4096, 1 / rate)
    times = np.arange(spec.shape[1]) * hop / rate
    keep = freqs <= 4000
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    ax.pcolormesh(times, freqs[keep], spec[keep], shading="auto", vmin=spec.max() - 80, vmax=spec.max())
    ax.axvline(saved, color="w", ls="--", lw=1.5)
    ax.text(saved + 0.1, freqs[keep][-1] * 0.92, "editor saves", color="w")
    ax.set_xlabel("time in the recording (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(f"`memoire play` while the editor moves zone '{name}' onto the player")
    fig.tight_layout()
    pic = out / "editor_live_change.png"
    fig.savefig(pic)
    plt.close(fig)
    before = spec[:, (times > saved - 2.0) & (times < saved - 0.2)].mean(axis=1)
    after = spec[:, (times > saved + 1.5) & (times < saved + 3.5)].mean(axis=1)
    print(f"walkthrough: strongest partial {freqs[keep][before[keep].argmax()]:.0f} Hz before the save, "
          f"{freqs[keep][after[keep].argmax()]:.0f} Hz after; spectrum change {np.abs(after - before)[keep].mean():.1f} dB "
          f"(mean over 0-4 kHz); {pic}")
    return pic


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("level", help="a new level file to build")
    p.add_argument("--out", default="docs/img", help="folder for the screenshots")
    p.add_argument("--model", help="model file (default: Memoire's)")
    p.add_argument("--live", action="store_true", help="then play the level and change it while it plays")
    a = p.parse_args(argv)
    try:
        model = Path(a.model) if a.model else None
        session(Path(a.level), Path(a.out), model)
        if a.live:
            live_change(Path(a.level), Path(a.out), model)
    except UserError as e:
        print(f"walkthrough: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
