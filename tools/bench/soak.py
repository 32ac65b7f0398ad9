"""Kiosk soak benchmark: the soak test's harness for longer (tools/soak/harness.py).

    .venv/bin/python tools/bench/soak.py --minutes 120 [--level FILE] [--model FILE] [--config FILE]
        [--zones-only] [--realtime-s 30] [--frame-s 0.2] [--draw-every 3] [--size 96 54]

Prints the figures docs/soak.md records (underruns, RSS after warm-up and at the end, threads,
open files, takeovers, returns, restarts, device losses) and exits 1 if a soak condition fails.
Without --model it writes the tiny test model (tests/tiny_model.py) to a temporary folder.
Without --level it uses the small soak level of tests/test_soak.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=120.0, help="simulated minutes (default 120)")
    p.add_argument("--level", help="level file (default: the soak test's small lane)")
    p.add_argument("--model", help="model file (default: the tiny test model)")
    p.add_argument("--config", help="kiosk config (default: the soak test's)")
    p.add_argument("--zones-only", action="store_true",
                   help="play the level's zone blend only (no latent terrain to train for the test model)")
    p.add_argument("--realtime-s", type=float, default=30.0, help="then this many seconds on the real clock")
    p.add_argument("--frame-s", type=float, default=0.2, help="simulated seconds per loop pass")
    p.add_argument("--draw-every", type=int, default=3, help="draw one pass in N")
    p.add_argument("--size", type=int, nargs=2, default=(96, 54), metavar=("W", "H"))
    args = p.parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("LP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from memoire.kiosk.logs import KioskLogs
    from tools.soak.harness import Script, check_soak, run_soak
    from test_soak import KIOSK, SMALL_LEVEL

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        level = Path(args.level) if args.level else tmp / "lane.toml"
        config = Path(args.config) if args.config else tmp / "kiosk.toml"
        if not args.level:
            level.write_text(SMALL_LEVEL)
        elif args.zones_only:
            import tomlkit

            doc = tomlkit.parse(level.read_text(encoding="utf-8"))
            doc["sound"]["field"] = "zones"
            src = level.resolve()
            level = src.parent / f".{src.stem}.soak-zones.toml"  # beside it: relative paths still resolve
            level.write_text(tomlkit.dumps(doc), encoding="utf-8")
        if not args.config:
            config.write_text(KIOSK)
        if args.model:
            model = Path(args.model)
        else:
            from tiny_model import save_tiny

            model = save_tiny(tmp / "tiny.ts")
        logs = KioskLogs(tmp / "logs", 1_000_000, 2, echo=False)
        failed = []
        try:
            print(f"soak: {args.minutes:g} simulated minutes, level {level.name}, model {model.name}", flush=True)
            res = run_soak(level, model, config, minutes=args.minutes, frame_s=args.frame_s,
                           draw_every=args.draw_every, size_px=tuple(args.size), script=Script(),
                           log=lambda m: print(m, flush=True))
            print("\n".join(res.lines()))
            print("RSS by simulated minute: " + ", ".join(f"{t / 60:.0f}:{mb:.1f}" for t, mb in res.rss_mb[::6]))
            failed += check_soak(res)
            if args.realtime_s > 0:
                rt = run_soak(level, model, config, minutes=args.realtime_s / 60, clock="realtime", frame_s=1 / 30,
                              draw_every=1, size_px=tuple(args.size),
                              script=Script(first_visitor_s=3.0, visitor_every_s=1e9, visitor_s=args.realtime_s / 3,
                                            device_loss_at_s=1e9, synth_crash_at_s=1e9), log=lambda m: None)
                print("\n".join(rt.lines()))
                if rt.underruns:
                    failed.append(f"real-time part: {rt.underruns} underruns")
        finally:
            logs.close()
            if args.level and args.zones_only:
                level.unlink(missing_ok=True)
    print("soak: " + ("PASSED" if not failed else "FAILED: " + "; ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    from memoire.world.errors import UserError

    try:
        sys.exit(main())
    except UserError as e:  # a wrong level/config/model: say what, no traceback
        print(f"soak: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
