"""`memoire edit LEVEL`: open the level editor (see docs/editing.md).

A LEVEL that does not exist yet starts as a walled 20 x 15 yard and is written on the first save.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from memoire.world.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("level", help="level file to edit (a new file starts as an empty walled yard)")
    parser.add_argument("--model", help="model file for the colour field and the sound (default: the level's)")
    parser.add_argument("--mute", action="store_true", help="no sound device (the synth still runs)")
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 800), metavar=("W", "H"), help="window size")
    parser.add_argument("--screenshot", help="save the window to this PNG after --frames frames, then quit")
    parser.add_argument("--frames", type=int, help="quit after N frames (with --screenshot: for scripts)")


def run(args: argparse.Namespace) -> int:
    from memoire.editor.app import Editor

    if args.frames is not None and args.frames < 1:
        raise UserError(f"--frames must be at least 1, got {args.frames}")
    if args.screenshot and Path(args.screenshot).suffix.lower() != ".png":
        raise UserError(f"--screenshot {args.screenshot}: give a .png file")
    editor = Editor(Path(args.level), model_path=Path(args.model) if args.model else None, mute=args.mute,
                    size_px=tuple(args.size), allow_outside=getattr(args, "allow_outside_paths", False))
    try:
        return editor.run(args.frames, args.screenshot)
    except Exception as e:  # pygame cannot open a window (no display)
        if type(e).__name__ == "error" and not os.environ.get("DISPLAY"):
            raise UserError(f"cannot open the editor window ({e}); on a machine without a display run "
                            "`xvfb-run -s '-screen 0 1280x800x24' memoire edit LEVEL`") from None
        raise
