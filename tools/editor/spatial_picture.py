"""The picture of the editor's spatial layers in docs/editing.md: the default level with its rooms
tinted and named, the gates and doors between them, every zone's emitters (the garden birds'
three points selected, ready to drag) and the sound heard at the mouse, facing north.

    python -m tools.editor.spatial_picture [--level levels/hutong.toml] [--out docs/img/editor_spatial.png]

Runs on SDL's dummy video driver (no display needed); nothing is saved to the level.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402

from memoire.editor.app import Editor  # noqa: E402
from tools.editor.driver import Driver  # noqa: E402

# The moving emitters are drawn where they are this long after the editor opened (seconds).
moment_s = 3.0


def picture(level: Path, out: Path, size=(1280, 800)) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / level.name  # the editor reads it; the shipped file is never touched
        shutil.copy(level, copy)
        for p in level.parent.glob(level.stem + ".*"):
            if p != level and p.is_file():
                shutil.copy(p, Path(tmp) / p.name)
        model = (level.parent / "../assets/models/hutong.ts").resolve()
        ed = Editor(copy, model_path=model if model.exists() else None, mute=True, size_px=size, allow_outside=True)
        ed.open_window()
        d = Driver(ed)
        try:
            d.key(pygame.K_z)
            birds = next(i for i, z in enumerate(ed.doc.items("zones")) if z.get("name") == "birds")
            ed.selection = ("zone", birds)
            ed.spatial.started_s -= moment_s
            d.move((33.0, 18.5))  # in the lane: the wind's "nearest" emitter comes to the mouse
            pygame.event.pump()
            d.frame()
            out.parent.mkdir(parents=True, exist_ok=True)
            ed.save_screenshot(out)
        finally:
            ed.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=Path, default=Path("levels/hutong.toml"))
    ap.add_argument("--out", type=Path, default=Path("docs/img/editor_spatial.png"))
    a = ap.parse_args()
    print(picture(a.level, a.out))


if __name__ == "__main__":
    main()
