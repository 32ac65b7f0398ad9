"""Decode real-time factor of a TorchScript synth on ONE CPU thread, as the game calls it.

    python tools/bench/bench_decode.py [--model assets/models/hutong.ts] [--seconds 20]

For each block size (latent frames per decode call; the game's synth thread uses 1 to 4) it
streams ``--seconds`` of audio from a slowly wandering latent and prints the time per call
and the real-time factor (audio seconds produced per second of compute). Prints figures
only; it asserts nothing about speed.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "assets" / "models" / "hutong.ts"))
    p.add_argument("--seconds", type=float, default=20.0, help="audio seconds decoded per block size")
    p.add_argument("--blocks", type=int, nargs="+", default=[1, 2, 3, 4], help="frames per call")
    args = p.parse_args()

    torch.set_num_threads(1)  # the game gives the decoder one thread
    module = torch.jit.load(args.model, map_location="cpu").eval()
    dim, hop = int(module.decode_params[0]), int(module.decode_params[1])
    rate = int(getattr(module, "sampling_rate", 44100))
    print(f"{args.model}: latent {dim}, hop {hop} samples, {rate} Hz, torch {torch.__version__}, 1 thread")
    rng = np.random.default_rng(0)
    for block in args.blocks:
        calls = max(1, int(args.seconds * rate / (hop * block)))
        # a smooth random walk, like the game's latent smoothing output
        walk = np.cumsum(rng.standard_normal((dim, calls * block)) * 0.05, axis=1).astype(np.float32)
        z = torch.from_numpy(walk)
        if hasattr(module, "reset"):
            module.reset()
        with torch.inference_mode():
            for i in range(min(20, calls)):  # warm-up (TorchScript profiling runs)
                module.decode(z[None, :, :block])
            times = np.empty(calls)
            for i in range(calls):
                t0 = time.perf_counter()
                module.decode(z[None, :, i * block : (i + 1) * block])
                times[i] = time.perf_counter() - t0
        audio_s = hop * block / rate
        print(f"block {block} frame(s): median {np.median(times) * 1e3:.3f} ms/call, "
              f"p99 {np.percentile(times, 99) * 1e3:.3f} ms, "
              f"real-time factor {audio_s / np.median(times):.1f}x (median), "
              f"{audio_s * calls / times.sum():.1f}x (mean)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
