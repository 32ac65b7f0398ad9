"""Corpus generation speed and FLAC size per class.

    python -m tools.bench.corpus_generate [--seconds 20] [--seed 0] [--classes CLASS ...]

For each class: seconds of wall time to render ``--seconds`` of audio (one CPU thread: the
recipes are numpy/scipy, single-threaded), the real-time factor (audio seconds per wall
second), and the 16-bit FLAC bit rate in kB/s, which sets how much of the 30 MB corpus budget
a class's minute takes. Prints figures only; no thresholds.
"""

from __future__ import annotations

import argparse
import io
import time

import soundfile as sf

from memoire.corpus.generate import CLASS_NAMES, SAMPLE_RATE_HZ, render_class


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="audio seconds rendered per class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", nargs="+", default=list(CLASS_NAMES))
    args = ap.parse_args(argv)
    print(f"{'class':10s} {'render s':>8s} {'x realtime':>10s} {'FLAC kB/s':>9s} {'MB per 70 s':>11s}")
    total_s = total_kb_per_s = 0.0
    for name in args.classes:
        start = time.perf_counter()
        audio = render_class(name, args.seconds, args.seed)
        elapsed_s = time.perf_counter() - start
        buffer = io.BytesIO()
        sf.write(buffer, audio, SAMPLE_RATE_HZ, subtype="PCM_16", format="FLAC")
        kb_per_s = len(buffer.getvalue()) / 1000 / args.seconds
        total_s += elapsed_s
        total_kb_per_s += kb_per_s
        print(f"{name:10s} {elapsed_s:8.2f} {args.seconds / elapsed_s:10.1f} {kb_per_s:9.1f} "
              f"{kb_per_s * 70 / 1000:11.2f}")
    print(f"{'all':10s} {total_s:8.2f} {len(args.classes) * args.seconds / total_s:10.1f} "
          f"{total_kb_per_s:9.1f} {total_kb_per_s * 70 / 1000:11.2f}")


if __name__ == "__main__":
    main()
