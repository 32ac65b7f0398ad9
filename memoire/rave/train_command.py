"""`memoire train`: train the hutong synth, save checkpoints and loss curves, export it.

    memoire train [--data DIR] [--out DIR] [--steps N] [--resume] [--device cpu|cuda]
                  [--export FILE] [--export-only] [--threads N] [--minutes M]

The run folder (--out, default runs/hutong) receives checkpoint.pt, losses.csv, losses.png
and, at the end, the TorchScript export model.ts (plus a copy at --export when given).
--export-only skips training and exports the run's checkpoint (class statistics over --data).
"""

import argparse
import shutil
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.files import atomic_output, check_output_path
from memoire.world.paths import CORPUS_DIR, RUNS_DIR

DEFAULT_DATA = CORPUS_DIR
DEFAULT_RUN = RUNS_DIR / "hutong"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="folder of .wav/.flac (manifest.csv optional; default assets/corpus, train split)")
    parser.add_argument("--out", default=str(DEFAULT_RUN), help="run folder (default runs/hutong)")
    parser.add_argument("--steps", type=int, default=None,
                        help="total training steps (default 15000: under an hour on a 2-core CPU)")
    parser.add_argument("--resume", action="store_true", help="continue the checkpoint in --out")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="default: cuda when available, else cpu")
    parser.add_argument("--export", default=None, help="also copy the exported model.ts to this file")
    parser.add_argument("--export-only", action="store_true",
                        help="do not train: export the checkpoint in --out (class statistics over --data)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this many minutes of training (checkpoint kept; --resume continues)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import torch

    from memoire.rave.data import load_corpus
    from memoire.rave.train import export_run, load_checkpoint, model_from_checkpoint, train

    if args.threads:
        torch.set_num_threads(max(1, args.threads))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no CUDA device here. Use --device cpu.")
    run_dir = Path(args.out)
    export_path = run_dir / "model.ts"
    _check_outputs(Path(args.data), run_dir, Path(args.export) if args.export else None)
    if args.export_only:
        state = load_checkpoint(run_dir / "checkpoint.pt")
        model = model_from_checkpoint(state)
        clips = load_corpus(Path(args.data), model.cfg.sample_rate_hz)
        export_run(model, clips, export_path, device)
    else:
        state = train(Path(args.data), run_dir, args.steps, args.resume, device,
                      progress=not args.quiet, export_path=export_path,
                      time_limit_s=args.minutes * 60 if args.minutes else None)
        print(f"{state['step']} steps, {state['train_seconds']:.0f} s of training; "
              f"last loss {float(state['history']['stft'][-1]):.3f}; curves in {run_dir / 'losses.png'}")
    if args.export:
        Path(args.export).parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(Path(args.export)) as tmp:  # a running game's model file is never torn
            shutil.copyfile(export_path, tmp)
        print(f"model written to {args.export}")
    else:
        print(f"model written to {export_path}")
    return 0


def _check_outputs(data: Path, run_dir: Path, export: Path | None) -> None:
    """Outputs never overwrite inputs: the run folder is not the training audio's folder, and
    --export is not one of the training files. Raises UserError before any training."""
    if data.exists() and run_dir.exists() and run_dir.resolve() == data.resolve():
        raise UserError(f"--out {run_dir} is the training data folder (--data); give the run its own folder "
                        "(default runs/hutong)")
    if export is not None:
        inputs = [("a training file", p) for p in data.rglob("*") if p.is_file()] if data.is_dir() else [data]
        check_output_path(export, inputs, flag="--export", folder_made=True)


if __name__ == "__main__":  # python -m memoire.rave.train_command (same as `memoire train`)
    import sys

    p = argparse.ArgumentParser(prog="memoire train")
    add_arguments(p)
    try:
        sys.exit(run(p.parse_args()))
    except UserError as e:
        print(f"memoire: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
