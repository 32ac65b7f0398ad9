"""The `memoire` command (same as `python -m memoire`): one entry, a subcommand per job.

    memoire play [LEVEL] [--model FILE] [--tour NAME [--start S | --start-zone Z]] [--frames N] [--screenshot PNG]
    memoire check LEVEL...          validate level files (exit 1 on any problem)
    memoire render LEVEL --tour NAME --out FILE.wav [--start S | --start-zone Z] [--seconds S]
    memoire corpus | train | encode | terrain ...

A user's mistake (``UserError``) is printed without a traceback and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.paths import DEFAULT_LEVEL


# Subcommands whose code lives in other packages: (name, module, help). Each module offers
# add_arguments(parser) and run(args) -> int; imported only when that subcommand runs.
DELEGATED = (
    ("corpus", "memoire.corpus.command", "generate the procedural hutong sound corpus (assets/corpus)"),
    ("train", "memoire.rave.train_command", "train the neural synth on the corpus or a folder of audio"),
    ("encode", "memoire.rave.encode_command", "encode an audio file to a latent trajectory (.npy)"),
    ("terrain", "memoire.terrain.command", "latent terrain: sample, train, plot"),
    ("edit", "memoire.editor.command", "the level editor: zones, walls, anchors, Bezier paths"),
    ("build-demo", "memoire.kiosk.build_command", "write a self-contained festival demo folder"),
    ("trace", "memoire.offline.trace_plot", "visitor traces: plot a heat map of where they walked and lingered"),
    ("level", "memoire.offline.from_clips", "make a level: from-clips DIR --model M.ts --out L.toml (an artist's clips as zones)"),
)


def cmd_check(args: argparse.Namespace) -> int:
    """Every problem of each level in one pass: the file's own, then what needs the files it names
    (the model's classes and latent size for the anchors, the terrain file's kind). Exit 1 when
    any level has a problem (2 stays for a mistake in the command itself)."""
    from memoire.world.level import LevelError, Partial, load_level

    failed = 0
    for path in args.levels:
        try:
            level = load_level(path, allow_outside=args.allow_outside_paths)
            part = Partial(level.path, level.zones, level.sound.rest, level.sound.model,
                           _line_of(level, "sound", "model"),
                           level.terrain.source_path if level.terrain is not None else None,
                           _line_of(level, "terrain", "source"))
            problems: list[str] = []
        except LevelError as e:
            level, part, problems = None, e.partial, [str(p) for p in e.problems]
        except UserError as e:  # a file that cannot be read: its message names it
            print(e, file=sys.stderr)
            failed += 1
            continue
        if part is not None:
            problems += _model_problems(part, args.model)
            problems += _terrain_problems(part)
        if problems:
            n = len(problems)
            print("\n".join([f"{n} problem{'s' if n != 1 else ''} in {path}:", *("  " + p for p in problems)]),
                  file=sys.stderr)
            failed += 1
        else:
            print(f"{path}: ok ({len(level.zones)} zones, {len(level.tours)} tours, "
                  f"{level.tiles.size_m[0]:g} x {level.tiles.size_m[1]:g} m)")
    return 1 if failed else 0


def _line_of(level, *keys) -> int:
    from memoire.world.tomlfile import LineIndex

    return LineIndex(level.source_text).line(*keys) if level.source_text else 0


def _model_problems(part, override: str | None) -> list[str]:
    """The model a level plays (``override``: --model), and every anchor against its classes and
    latent size: one line per problem."""
    from memoire.audio.card import MAKE_MODEL_HINT, read_card
    from memoire.world.field import resolve_anchor
    from memoire.world.paths import DEFAULT_MODEL

    if override:
        model, where = Path(override), f"--model {override}"
    elif part.model is not None:
        model, where = part.model, f"{part.path}:{part.model_line}: [sound] model" if part.model_line else \
            f"{part.path}: [sound] model"
    else:
        model, where = DEFAULT_MODEL, f"{part.path}: the level names no [sound] model, and Memoire's own"
    if not model.exists():
        return [f"{where}: {model} not found; {MAKE_MODEL_HINT}"]
    if model.is_dir():
        return [f"{where}: {model} is a folder, not a model file (a .ts TorchScript file)"]
    try:
        card = read_card(model)
    except UserError as e:
        return [f"{where}: {e}"]
    out = []
    for zone in part.zones:
        try:
            resolve_anchor(zone.anchor, card, f"{part.path}:{zone.line}: zone '{zone.name}'")
        except UserError as e:
            out.append(str(e))
    if part.rest is not None:
        try:
            resolve_anchor(part.rest, card, f"{part.path}: [sound] rest")
        except UserError as e:
            out.append(str(e))
    return out


def _terrain_problems(part) -> list[str]:
    """A [terrain] source file that is not a terrain (without torch: its layout and header)."""
    if part.terrain_source is None or not part.terrain_source.is_file():
        return []
    from memoire.terrain.command import check_terrain_file

    try:
        check_terrain_file(part.terrain_source)
    except UserError as e:
        loc = f"{part.path}:{part.terrain_line}" if part.terrain_line else f"{part.path}"
        return [f"{loc}: [terrain] source: {e}"]
    return []


def cmd_play(args: argparse.Namespace) -> int:
    from memoire.game.app import PlayOptions, check_play_options, run_game

    opts = PlayOptions(
        level_path=Path(args.level), model_path=Path(args.model) if args.model else None, tour=args.tour,
        start_s=args.start, start_zone=args.start_zone,
        frames=args.frames, screenshot=Path(args.screenshot) if args.screenshot else None,
        record=Path(args.record) if args.record else None, trace=Path(args.trace) if args.trace else None,
        headless=args.headless, mute=args.mute,
        size_px=tuple(args.size), fullscreen=args.fullscreen, kiosk=args.kiosk, config=args.config,
        torch_threads=args.torch_threads, allow_outside_paths=args.allow_outside_paths,
        osc_in=args.osc_in, osc_out=args.osc_out, quality=args.quality, output=args.output,
    )
    if opts.kiosk:
        from memoire.kiosk.run import run_kiosk

        check_play_options(opts)
        return run_kiosk(opts)
    return run_game(opts)


def cmd_render(args: argparse.Namespace) -> int:
    from memoire.offline.command import render_command

    return render_command(args)


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; a delegated subcommand's module is imported only when ``selected``."""
    from memoire.world.level import OUTPUTS  # the sound's layouts (--output)

    p = argparse.ArgumentParser(prog="memoire", description="Walk through neural sound: a hutong gallery "
                                "whose sound is decoded live from a neural audio model's latent space.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    play = sub.add_parser("play", help="walk the gallery (the default command)")
    play.add_argument("level", nargs="?", default=str(DEFAULT_LEVEL), help="level file (default: levels/hutong.toml)")
    play.add_argument("--model", help="TorchScript model file (default: the level's [sound] model)")
    play.add_argument("--tour", help="walk this tour of the level by itself")
    _start_flags(play)
    play.add_argument("--frames", type=int, help="quit after N frames")
    play.add_argument("--screenshot", help="save the last frame to this PNG")
    play.add_argument("--record", help="also write what is played to this WAV file")
    play.add_argument("--trace", help="write one CSV row per frame (time, position, heading, zone) to this file")
    play.add_argument("--headless", action="store_true", help="no window: render offscreen (EGL)")
    play.add_argument("--mute", action="store_true", help="no sound device (the synth still runs)")
    play.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"), help="window size")
    play.add_argument("--quality", choices=("auto", "low", "high"), help="picture quality: low is the cheapest on "
                      "software OpenGL, high adds soft shadows, anti-aliasing and bloom, auto is high on a GPU and "
                      "low on a software rasteriser (default auto, or the kiosk config's; docs/look.md)")
    play.add_argument("--output", choices=OUTPUTS, help="sound layout: binaural (headphones), stereo, quad, 5.1, "
                      "ring8 (default: the level's [sound] output, or the kiosk config's)")
    play.add_argument("--fullscreen", action="store_true", help="start fullscreen (F11 toggles)")
    play.add_argument("--kiosk", action="store_true", help="festival kiosk mode (see docs/kiosk.md)")
    play.add_argument("--config", help="kiosk config file (TOML)")
    play.add_argument("--torch-threads", type=int, default=1, help="threads for the neural decoder (default 1)")
    play.add_argument("--osc-in", metavar="[HOST:]PORT", help="take OSC here: /memoire/listener, zone gains, "
                      "latent, volume, tour (default host 127.0.0.1; see docs/osc.md)")
    play.add_argument("--osc-out", metavar="HOST:PORT", help="send /memoire/pose, /memoire/zones and "
                      "/memoire/latent there once per latent frame (see docs/osc.md)")
    _outside_flag(play)
    play.set_defaults(func=cmd_play)

    check = sub.add_parser("check", help="validate level files; exit 1 on any problem")
    check.add_argument("levels", nargs="+", help="level files")
    check.add_argument("--model", help="also check anchors against this model (default: each level's)")
    _outside_flag(check)
    check.set_defaults(func=cmd_check)

    render = sub.add_parser("render", help="render a tour's sound (WAV) or video (MP4) offline")
    render.add_argument("level", help="level file")
    render.add_argument("--tour", required=True, help="tour name in the level")
    render.add_argument("--out", required=True, help="output .wav (or .mp4)")
    _start_flags(render)
    render.add_argument("--seconds", type=float, help="length (default: the tour from its start to its end)")
    render.add_argument("--model", help="TorchScript model file (default: the level's)")
    render.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"), help="video size")
    render.add_argument("--fps", type=float, default=30.0, help="video frame rate")
    render.add_argument("--quality", choices=("auto", "low", "high"), default="high",
                        help="video picture quality (default high; docs/look.md)")
    render.add_argument("--output", choices=OUTPUTS, help="sound layout: binaural (two ears), stereo, quad, 5.1, ring8 "
                        "(a multichannel WAV; default: the level's [sound] output)")
    render.add_argument("--torch-threads", type=int, default=1, help="threads for the neural decoder")
    _outside_flag(render)
    render.set_defaults(func=cmd_render)

    for name, module, help_ in DELEGATED:
        sp = sub.add_parser(name, help=help_)
        if name != selected:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith(module.rsplit(".", 1)[0].split(".")[0]):
                raise
            sp.set_defaults(func=lambda a, n=name: _unavailable(n))
            continue
        mod.add_arguments(sp)
        if name == "edit":
            _outside_flag(sp)
        sp.set_defaults(func=mod.run)
    return p


def _start_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=float, metavar="SECONDS", help="start the tour this many seconds into it")
    parser.add_argument("--start-zone", metavar="NAME", help="start the tour where its loudest zone first is NAME")


def _outside_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="let the level name files (model, clips, terrain) outside its own folder and the "
                             "assets/ folder beside it (docs/levels.md, Paths): only for levels you trust")


def _unavailable(name: str) -> int:
    raise UserError(f"`memoire {name}` is not part of this build yet")


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. A UserError is its message and exit 2; Ctrl+C anywhere (importing
    torch, loading a model, training) is one line and exit 130, no traceback (outputs are written
    atomically: an interrupted command leaves none half-written)."""
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(argv[0] if argv else None)
        if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
            argv = ["play", *argv]
        args = parser.parse_args(argv)
        try:
            return int(args.func(args) or 0)
        except UserError as e:
            print(f"memoire: {e}", file=sys.stderr)
            return e.exit_code
    except KeyboardInterrupt:
        print("memoire: interrupted (Ctrl+C)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
