"""Figures for docs/model.md, measured on the exported TorchScript file (what ships).

    python -m memoire.rave.evaluate [--model assets/models/hutong.ts] [--data assets/corpus]
                                  [--img docs/img] [--threads 1]

Prints, per class of the held-out split:
* reconstruction quality of the model (decode(encode(x)), streaming decoder from a reset)
  beside two baselines, as multi-resolution STFT distance (the training loss's form,
  memoire.rave.losses.multiscale_stft_distance) and log-mel L1 (memoire.rave.losses.log_mel_l1):
  - "class noise": white noise shaped by the class's mean magnitude spectrum (from its
    training audio) with the source's own loudness per STFT frame (knows the class label
    and the loudness envelope, nothing else);
  - "mu-law 8k": the source resampled to 8 kHz and coded as 8-bit mu-law (G.711
    telephone quality, 64 kbit/s), then back to 44.1 kHz;
* nearest-class-mean accuracy of held-out latent frames, with class means from the
  training split's frames (all frames, and frames louder than SILENCE_DBFS);
and writes spectrograms of sources beside reconstructions (model_spectrograms.png).
"""

import argparse
import math
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch

from memoire.rave.data import load_corpus, split_train_heldout
from memoire.rave.losses import log_mel, log_mel_l1, multiscale_stft_distance
from memoire.world.paths import DEFAULT_MODEL, CORPUS_DIR, DOCS_IMG_DIR

SILENCE_DBFS = -60.0  # frames quieter than this (RMS) count as silence in the separability figure
NOISE_FFT = 2048  # STFT of the class-noise baseline (46 ms), hop a quarter
MULAW_RATE_HZ = 8000
MULAW_MU = 255


def class_noise(source: np.ndarray, class_mag: np.ndarray, seed: int) -> np.ndarray:
    """Baseline: noise with the class's mean spectrum and the source's frame loudness."""
    win = torch.hann_window(NOISE_FFT)
    hop = NOISE_FFT // 4
    x = torch.from_numpy(source)
    spec = torch.stft(x, NOISE_FFT, hop, window=win, return_complex=True)
    frame_energy = spec.abs().pow(2).sum(0, keepdim=True)
    shape = torch.from_numpy(class_mag).view(-1, 1)
    shape_energy = shape.pow(2).sum()
    mag = shape * torch.sqrt(frame_energy / shape_energy)
    gen = torch.Generator().manual_seed(seed)
    phase = torch.rand(spec.shape, generator=gen) * 2 * math.pi
    y = torch.istft(torch.polar(mag, phase), NOISE_FFT, hop, window=win, length=len(source))
    return y.numpy()


def mean_magnitude(audio: np.ndarray) -> np.ndarray:
    win = torch.hann_window(NOISE_FFT)
    spec = torch.stft(torch.from_numpy(audio), NOISE_FFT, NOISE_FFT // 4, window=win, return_complex=True)
    return spec.abs().pow(2).mean(1).sqrt().numpy()


def mulaw_8k(audio: np.ndarray, rate_hz: int) -> np.ndarray:
    from scipy.signal import resample_poly

    g = math.gcd(rate_hz, MULAW_RATE_HZ)
    low = resample_poly(audio, MULAW_RATE_HZ // g, rate_hz // g)
    low = np.clip(low, -1, 1)
    enc = np.sign(low) * np.log1p(MULAW_MU * np.abs(low)) / np.log1p(MULAW_MU)
    q = np.round((enc + 1) / 2 * 255) / 255 * 2 - 1  # 8 bits
    dec = np.sign(q) * ((1 + MULAW_MU) ** np.abs(q) - 1) / MULAW_MU
    up = resample_poly(dec, rate_hz // g, MULAW_RATE_HZ // g)[: len(audio)]
    return np.pad(up, (0, len(audio) - len(up))).astype(np.float32)


def frame_rms_dbfs(audio: np.ndarray, hop: int) -> np.ndarray:
    n = len(audio) // hop
    frames = audio[: n * hop].reshape(n, hop)
    return 20 * np.log10(np.sqrt((frames ** 2).mean(1)) + 1e-12)


def encode_frames(model, audio: np.ndarray) -> np.ndarray:
    """Latent frames (frames, D) of mono ``audio`` (samples,) through an exported model."""
    with torch.inference_mode():
        return model.encode(torch.from_numpy(audio).view(1, 1, -1))[0].T.numpy()


def class_means(encode: Callable[[np.ndarray], np.ndarray], train_clips) -> Tuple[List[str], np.ndarray]:
    """Sorted class names and each class's mean latent frame (C, D) over its training clips;
    ``encode`` maps audio (samples,) to latent frames (frames, D)."""
    frames: Dict[str, List[np.ndarray]] = {}
    for c in train_clips:
        frames.setdefault(c.cls, []).append(encode(c.audio))
    names = sorted(frames)
    return names, np.stack([np.concatenate(frames[n]).mean(0) for n in names])


def nearest_class(means: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Index of the nearest class mean (Euclidean) for each latent frame of z (frames, D)."""
    return ((z[:, None] - means[None]) ** 2).sum(-1).argmin(1)


def main(argv: List[str] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--data", default=str(CORPUS_DIR))
    p.add_argument("--img", default=str(DOCS_IMG_DIR))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--spectrogram-classes", nargs="+",
                   default=["bells", "footsteps", "pigeons", "rain", "vendors", "insects"])
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    m = torch.jit.load(args.model, map_location="cpu").eval()
    rate, hop = int(m.sampling_rate), int(m.decode_params[1])
    clips = load_corpus(Path(args.data), rate)
    train_clips, held = split_train_heldout(clips)
    print(f"model {args.model}; held-out: {len(held)} clips, "
          f"{sum(len(c.audio) for c in held) / rate:.0f} s; training: {sum(len(c.audio) for c in train_clips) / rate:.0f} s")

    names, means = class_means(lambda audio: encode_frames(m, audio), train_clips)
    class_mag = {c.cls: mean_magnitude(c.audio) for c in train_clips}

    rows, recon = [], {}
    correct = total = correct_loud = total_loud = 0
    print(f"\n{'class':10s} {'MR-STFT model':>13s} {'class noise':>11s} {'mu-law 8k':>9s} | "
          f"{'log-mel model':>13s} {'class noise':>11s} {'mu-law 8k':>9s} | {'NCM acc':>7s} {'(loud)':>6s}")
    for i, c in enumerate(sorted(held, key=lambda c: c.cls)):
        n = len(c.audio) // hop
        x = c.audio[: n * hop]
        with torch.inference_mode():
            m.reset()
            z = m.encode(torch.from_numpy(x).view(1, 1, -1))
            y = m.decode(z)[0, 0].numpy()
        recon[c.cls] = (x, y)
        cands = {"model": y, "noise": class_noise(x, class_mag[c.cls], i), "mulaw": mulaw_8k(x, rate)}
        xt = torch.from_numpy(x).view(1, 1, -1)
        stft = {k: float(multiscale_stft_distance(torch.from_numpy(v).view(1, 1, -1), xt)) for k, v in cands.items()}
        mel = {k: float(log_mel_l1(torch.from_numpy(v).view(1, 1, -1), xt, rate)) for k, v in cands.items()}
        zf = z[0].T.numpy()
        pred = nearest_class(means, zf)
        ok = pred == names.index(c.cls)
        loud = frame_rms_dbfs(x, hop)[: len(ok)] > SILENCE_DBFS
        correct += ok.sum(); total += len(ok)
        correct_loud += ok[loud].sum(); total_loud += loud.sum()
        rows.append((c.cls, stft, mel, ok.mean(), ok[loud].mean() if loud.any() else float("nan")))
        print(f"{c.cls:10s} {stft['model']:13.3f} {stft['noise']:11.3f} {stft['mulaw']:9.3f} | "
              f"{mel['model']:13.3f} {mel['noise']:11.3f} {mel['mulaw']:9.3f} | {ok.mean():7.2f} {rows[-1][4]:6.2f}")
    avg = lambda key, k: np.mean([r[1 if key == "stft" else 2][k] for r in rows])  # noqa: E731
    print(f"{'mean':10s} {avg('stft', 'model'):13.3f} {avg('stft', 'noise'):11.3f} {avg('stft', 'mulaw'):9.3f} | "
          f"{avg('mel', 'model'):13.3f} {avg('mel', 'noise'):11.3f} {avg('mel', 'mulaw'):9.3f} | "
          f"{correct / total:7.3f} {correct_loud / max(total_loud, 1):6.3f}")
    print(f"\nnearest-class-mean accuracy over {total} held-out frames: {correct / total:.3f}; "
          f"over the {total_loud} frames louder than {SILENCE_DBFS:g} dBFS: {correct_loud / max(total_loud, 1):.3f}")
    _anchor_check(m, recon, rate, hop)
    _spectrograms(recon, [n for n in args.spectrogram_classes if n in recon], rate, Path(args.img))
    return 0


def _anchor_check(m, recon, rate: int, hop: int, seconds: float = 3.0) -> None:
    """Decode each exported class mean held still (as a zone anchor does) and find the class
    whose held-out audio has the nearest mean log-mel spectrum."""
    names = list(m.latent_class_names)
    refs = {c: log_mel(torch.from_numpy(x).view(1, -1), rate)[0].mean(1) for c, (x, _) in recon.items()}
    frames = int(seconds * rate / hop)
    hits = 0
    print("\nclass-mean anchors decoded for", seconds, "s: nearest held-out class by mean log-mel spectrum")
    for i, name in enumerate(names):
        z = m.latent_class_mean[i].view(1, -1, 1).repeat(1, 1, frames)
        with torch.inference_mode():
            m.reset()
            y = m.decode(z)[0, 0, hop * 8 :]  # skip the first frames (caches filling)
        spec = log_mel(y.view(1, -1), rate)[0].mean(1)
        dist = {c: float((spec - r).abs().mean()) for c, r in refs.items()}
        best = min(dist, key=dist.get)
        hits += best == name
        print(f"  {name:10s} -> {best:10s} (L1 {dist[best]:.3f}; own class {dist.get(name, float('nan')):.3f})")
    print(f"  {hits} of {len(names)} anchors sound nearest to their own class")


def _spectrograms(recon, classes, rate: int, img: Path, seconds: float = 4.0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(classes), 2, figsize=(7, 1.45 * len(classes)), dpi=90, sharex=True, sharey=True)
    axes = np.atleast_2d(axes)
    for row, cls in enumerate(classes):
        x, y = recon[cls]
        n = int(seconds * rate)
        for col, (sig, title) in enumerate(((x[:n], "source"), (y[:n], "reconstruction"))):
            mel = log_mel(torch.from_numpy(np.ascontiguousarray(sig)).view(1, -1), rate)[0].numpy()
            ax = axes[row, col]
            ax.imshow(mel, origin="lower", aspect="auto", vmin=-5, vmax=1, cmap="magma",
                      extent=(0, len(sig) / rate, 0, mel.shape[0]))
            ax.set_title(f"{cls}: {title}", fontsize=8)
            ax.tick_params(labelsize=6)
    for ax in axes[-1]:
        ax.set_xlabel("s", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("mel band", fontsize=7)
    fig.tight_layout()
    out = img / "model_spectrograms.png"
    fig.savefig(out)
    plt.close(fig)
    from PIL import Image

    Image.open(out).convert("RGB").quantize(colors=128).save(out, optimize=True)  # small PNG
    print(f"wrote {out}")


if __name__ == "__main__":
    raise SystemExit(main())
