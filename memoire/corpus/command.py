"""``memoire corpus``: generate (or measure) the procedural hutong sound corpus.

memoire/cli.py registers the subcommand with ``add_arguments`` and dispatches to ``run``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from memoire.world.errors import UserError
from memoire.corpus.generate import (CLASS_NAMES, DEFAULT_OUT_DIR, DEFAULT_VOICE_DIR, MANIFEST_NAME, check_class_name,
                                   write_corpus)

DEFAULT_TRAIN_SECONDS = 60.0
DEFAULT_TEST_SECONDS = 10.0
DEFAULT_SEED = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the corpus options to ``parser`` (the subcommand's own parser)."""
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR,
                        help="output folder for the FLAC files and manifest.csv (default: assets/corpus/)")
    parser.add_argument("--seconds-per-class", type=float, default=DEFAULT_TRAIN_SECONDS, metavar="S",
                        help=f"seconds of training audio per class (default {DEFAULT_TRAIN_SECONDS:g})")
    parser.add_argument("--test-seconds", type=float, default=DEFAULT_TEST_SECONDS, metavar="S",
                        help=f"seconds of held-out audio per class, rendered with its own seed; "
                             f"0 for none (default {DEFAULT_TEST_SECONDS:g})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N",
                        help=f"corpus seed; each file's own seed is derived from it (default {DEFAULT_SEED})")
    parser.add_argument("--classes", nargs="+", default=list(CLASS_NAMES), metavar="CLASS",
                        help="render only these classes; the manifest keeps the other classes' rows "
                             "(default: all: " + ", ".join(CLASS_NAMES) + ")")
    parser.add_argument("--voice-dir", type=Path, default=DEFAULT_VOICE_DIR,
                        help="folder of the espeak voice clips (default: assets/corpus/voice/)")
    parser.add_argument("--render-voice", action="store_true",
                        help="re-speak the voice clips into --voice-dir with espeak-ng first")
    parser.add_argument("--measure", action="store_true",
                        help="do not generate: measure the corpus in --out against the recipes, print "
                             "a table, and draw spectrograms into --plots")
    parser.add_argument("--plots", type=Path, default=None, metavar="DIR",
                        help="with --measure: write corpus_<class>.png spectrograms into DIR")


def run(args: argparse.Namespace) -> int:
    """Execute the subcommand; returns the exit status (0 ok, 1 a measured check failed)."""
    if args.measure:
        from memoire.corpus.measure import measure_corpus_command
        return measure_corpus_command(args.out, args.plots)
    if args.seconds_per_class <= 0:
        raise UserError(f"--seconds-per-class must be positive, got {args.seconds_per_class}")
    if args.test_seconds < 0:
        raise UserError(f"--test-seconds must be 0 or more, got {args.test_seconds}")
    for name in args.classes:
        check_class_name(name)
    if not args.render_voice and Path(args.voice_dir).resolve() == Path(args.out).resolve():
        raise UserError(f"--out {args.out} is the voice clips' folder (--voice-dir): the corpus is written beside "
                        "its inputs, not over them; give another --out")
    if args.render_voice:
        from memoire.corpus.voice import render_voice_clips
        written = render_voice_clips(args.voice_dir)
        print(f"spoke {len(written)} voice clips into {args.voice_dir}")
    from tqdm import tqdm

    n_files = len(args.classes) * (2 if args.test_seconds > 0 else 1)
    with tqdm(total=n_files, unit="file", desc="corpus") as bar:
        def on_file(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        rows = write_corpus(args.out, args.seconds_per_class, args.test_seconds, args.seed,
                            classes=args.classes, voice_dir=args.voice_dir, on_file=on_file)
    total_s = sum(r.duration_s for r in rows)
    size_mb = sum((Path(args.out) / r.file).stat().st_size for r in rows) / 1e6
    print(f"wrote {len(rows)} files, {total_s / 60:.1f} min, {size_mb:.1f} MB, into {args.out}")
    print(f"manifest: {Path(args.out) / MANIFEST_NAME}")
    return 0
