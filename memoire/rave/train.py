"""Training loop, checkpoints, loss curves and class statistics for the hutong synth.

Run through ``memoire train`` (memoire/rave/train_command.py). A run folder holds:

* ``checkpoint.pt``: model, optimiser and sampler state, step, configs, loss history
  (written every ``checkpoint_every`` steps and at the end; ``--resume`` continues it);
* ``losses.csv`` and ``losses.png``: the loss curves;
* ``model.ts``: the TorchScript export (memoire/rave/export.py), written at the end.
"""

import csv
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from memoire.rave.data import Clip, SegmentSampler, load_corpus, split_train_heldout
from memoire.rave.losses import multiscale_stft_distance
from memoire.rave.model import AutoEncoder, ModelConfig
from memoire.world.errors import UserError
from memoire.world.files import atomic_output


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. The default ``steps`` fits an hour on the 2-core CPU of the
    development machine (docs/model.md gives the measured seconds per step)."""

    steps: int = 15000
    batch_size: int = 8
    segment_frames: int = 8  # latent frames per training crop (8 * 2048 samples = 0.37 s)
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-4  # exponential decay to this at the last step
    latent_noise_std: float = 0.1  # noise added to z in training: keeps the decoder smooth
    # weight of (mean(z^2) - 1)^2: holds the latent's RMS near 1, so the training noise
    # above is a fixed fraction of it and class means land at unit scale
    latent_reg_weight: float = 0.1
    # weight of the class-prototype loss: cross-entropy of each latent frame's class over
    # negative squared distances to learnable class centres, so that classes occupy their
    # own regions of the latent (nearest-class-mean separable). Skipped for one class.
    class_weight: float = 0.4
    checkpoint_every: int = 250
    seed: int = 0


class Prototypes(torch.nn.Module):
    """Learnable class centres (C, D); logits are negative squared distances."""

    def __init__(self, n_classes: int, latent_dim: int) -> None:
        super().__init__()
        self.centres = torch.nn.Parameter(torch.randn(n_classes, latent_dim))

    def loss(self, z: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """z (B, D, n), labels (B,) -> (cross-entropy, accuracy) over all B * n frames."""
        frames = z.transpose(1, 2).reshape(-1, z.shape[1])
        target = labels.repeat_interleave(z.shape[2])
        logits = -torch.cdist(frames, self.centres).pow(2)
        ce = torch.nn.functional.cross_entropy(logits, target)
        acc = (logits.argmax(1) == target).float().mean()
        return ce, acc


def _history_rows(saved) -> List[Dict[str, float]]:
    """Loss history as rows, from a checkpoint's columns (or an older list of rows)."""
    if isinstance(saved, list):
        return list(saved)
    keys = list(saved)
    n = len(saved[keys[0]]) if keys else 0
    return [{k: (int(saved[k][i]) if k == "step" else float(saved[k][i])) for k in keys} for i in range(n)]


def _lr_at(cfg: TrainConfig, step: int, total: int) -> float:
    ratio = cfg.final_learning_rate / cfg.learning_rate
    return cfg.learning_rate * ratio ** (min(step, total) / max(total, 1))


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically (temp file + rename) so an interrupted save never corrupts a run."""
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no checkpoint here. Train first (memoire train) or check --out.")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # corrupted or foreign file
        raise UserError(f"{path}: not a readable checkpoint ({exc}).") from exc


def model_from_checkpoint(state: dict) -> AutoEncoder:
    model = AutoEncoder(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.eval()


def write_loss_files(run_dir: Path, history: Sequence[Dict[str, float]]) -> None:
    """losses.csv (all logged steps) and losses.png (the curves, log scale; only when
    matplotlib is installed)."""
    if not history:
        return
    keys = list(history[0].keys())
    with open(run_dir / "losses.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    try:
        import matplotlib
    except ImportError:  # matplotlib is optional: the CSV is always written
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([h["step"] for h in history])
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    for key in ("stft", "latent_rms", "class_ce"):
        if key in history[0]:
            values = np.array([h[key] for h in history])
            # moving average over ~2% of the run, so the trend is readable
            width = max(1, len(values) // 50)
            smooth = np.convolve(values, np.ones(width) / width, mode="valid")
            ax.plot(steps[width - 1 :], smooth, label=key)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "losses.png")
    plt.close(fig)


# The encoded audio each class carries in the export, for the synth to play as that class's
# motion: up to 1300 frames (60 s at 2048 samples, 44.1 kHz), the length of a corpus train file.
# 11 classes x 12 dims x 1300 frames x 4 bytes = 0.7 MB.
class_trajectory_max_frames = 1300


@torch.no_grad()
def class_latent_frames(model: AutoEncoder, clips: Sequence[Clip], device: str,
                        chunk_frames: int = 256) -> Dict[str, torch.Tensor]:
    """{class: its clips' latent frames, concatenated (frames, D)} over ``clips``."""
    hop = model.cfg.hop_samples
    frames: Dict[str, List[torch.Tensor]] = {}
    model.eval()
    for clip in clips:
        z = encode_array(model, clip.audio, device, chunk_frames)
        if z.shape[0]:
            frames.setdefault(clip.cls, []).append(z)
    if not frames:
        raise UserError(f"no clip is at least {hop} samples long: cannot compute latent statistics.")
    return {name: torch.cat(parts) for name, parts in frames.items()}


@torch.no_grad()
def class_latent_stats(model: AutoEncoder, clips: Sequence[Clip], device: str,
                       chunk_frames: int = 256) -> Tuple[List[str], torch.Tensor, torch.Tensor]:
    """Per-class mean and std (C, D) of the encoder's latent frames over ``clips``."""
    frames = class_latent_frames(model, clips, device, chunk_frames)
    names = sorted(frames)
    mean = torch.stack([frames[n].mean(0) for n in names])
    std = torch.stack([frames[n].std(0, unbiased=False) for n in names])
    return names, mean, std


def class_trajectories(frames: Dict[str, torch.Tensor], names: Sequence[str],
                       max_frames: int = class_trajectory_max_frames) -> torch.Tensor:
    """(C, D, T): each class's first T latent frames, T the shortest class's count (<= max)."""
    t = min(max_frames, *(len(frames[n]) for n in names))
    return torch.stack([frames[n][:t].T for n in names])


@torch.no_grad()
def encode_array(model: AutoEncoder, audio: np.ndarray, device: str, chunk_frames: int = 256) -> torch.Tensor:
    """(samples,) -> (frames, D) on the CPU, encoding in chunks to bound memory."""
    hop = model.cfg.hop_samples
    n = len(audio) // hop
    x = torch.from_numpy(np.ascontiguousarray(audio[: n * hop])).view(1, 1, -1)
    out = []
    for start in range(0, n, chunk_frames):
        seg = x[..., start * hop : min(n, start + chunk_frames) * hop].to(device)
        out.append(model.encode(seg)[0].T.cpu())
    return torch.cat(out) if out else torch.zeros(0, model.cfg.latent_dim)


def train(data_dir: Path, run_dir: Path, steps: Optional[int], resume: bool, device: str,
          model_cfg: ModelConfig = ModelConfig(), train_cfg: TrainConfig = TrainConfig(),
          progress: bool = True, export_path: Optional[Path] = None,
          log: Callable[[str], None] = print, time_limit_s: Optional[float] = None) -> dict:
    """Train (or resume) a run; returns the final checkpoint state.

    ``steps`` overrides ``train_cfg.steps`` (the total, counting resumed steps; the learning
    rate schedule spans it). ``time_limit_s`` stops early (checkpoint saved, resumable).
    """
    from tqdm import tqdm

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "checkpoint.pt"
    state: Optional[dict] = None
    if resume:
        state = load_checkpoint(ckpt_path)
        model_cfg = ModelConfig.from_dict(state["model_config"])
        train_cfg = TrainConfig(**state["train_config"])
    elif ckpt_path.exists():
        raise UserError(f"{ckpt_path} exists. Add --resume to continue it, or choose another --out.")
    total_steps = int(steps) if steps is not None else train_cfg.steps
    if total_steps < 1:
        raise UserError(f"--steps must be at least 1 (got {total_steps}).")

    torch.manual_seed(train_cfg.seed)
    segment = train_cfg.segment_frames * model_cfg.hop_samples
    clips = load_corpus(data_dir, model_cfg.sample_rate_hz)
    train_clips, _ = split_train_heldout(clips)
    sampler = SegmentSampler(train_clips, segment, train_cfg.seed)
    log(f"corpus {data_dir}: {len(train_clips)} training files, classes {', '.join(sampler.classes)}")

    model = AutoEncoder(model_cfg).to(device)
    protos = Prototypes(len(sampler.classes), model_cfg.latent_dim).to(device)
    use_classes = len(sampler.classes) > 1 and train_cfg.class_weight > 0
    opt = torch.optim.Adam([*model.parameters(), *protos.parameters()], lr=train_cfg.learning_rate)
    history: List[Dict[str, float]] = []
    step = 0
    if state is not None:
        model.load_state_dict(state["model"])
        if state.get("class_names") != sampler.classes:
            raise UserError(f"{data_dir}: its classes ({', '.join(sampler.classes)}) differ from the "
                            f"checkpoint's ({', '.join(state.get('class_names') or [])}); resume with the same --data.")
        protos.load_state_dict(state["prototypes"])
        opt.load_state_dict(state["optimizer"])
        history = _history_rows(state["history"])
        step = int(state["step"])
        sampler.rng.bit_generator.state = state["sampler_rng"]
        torch.set_rng_state(state["torch_rng"])

    def snapshot() -> dict:
        return {
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "prototypes": {k: v.detach().cpu() for k, v in protos.state_dict().items()},
            "class_names": sampler.classes,
            "optimizer": opt.state_dict(),
            "step": step,
            "model_config": model_cfg.to_dict(),
            "train_config": asdict(train_cfg),
            # columns of floats, not a list of dicts: keeps a 50k-step checkpoint small
            "history": {k: np.array([h[k] for h in history], dtype=np.float64) for k in history[0]}
            if history else {},
            "sampler_rng": sampler.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "data_dir": str(data_dir),
            "train_seconds": train_seconds,
        }

    train_seconds = float(state.get("train_seconds", 0.0)) if state else 0.0
    model.train()
    started = time.monotonic()
    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc="train", unit="step")
    while step < total_steps:
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = _lr_at(train_cfg, step, total_steps)
        audio, labels = sampler.batch(train_cfg.batch_size)
        x = torch.from_numpy(audio).to(device)
        y, z = model(x, train_cfg.latent_noise_std)
        stft = multiscale_stft_distance(y, x)
        reg = (z.pow(2).mean() - 1.0).pow(2)
        loss = stft + train_cfg.latent_reg_weight * reg
        ce = acc = torch.zeros(())
        if use_classes:
            ce, acc = protos.loss(z, torch.from_numpy(labels).to(device))
            loss = loss + train_cfg.class_weight * ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        stft_v = float(stft.detach())
        if not math.isfinite(stft_v):
            raise RuntimeError(f"loss became {stft_v} at step {step}; lower the learning rate")
        train_seconds += time.perf_counter() - t0
        history.append({"step": step, "stft": stft_v, "latent_rms": float(z.detach().pow(2).mean().sqrt()),
                        "class_ce": float(ce.detach()), "class_acc": float(acc.detach()),
                        "seconds": round(train_seconds, 2)})
        bar.update(1)
        bar.set_postfix(stft=f"{stft_v:.3f}", z_rms=f"{history[-1]['latent_rms']:.2f}",
                        acc=f"{history[-1]['class_acc']:.2f}")
        if step % train_cfg.checkpoint_every == 0 or step == total_steps:
            save_checkpoint(ckpt_path, snapshot())
            write_loss_files(run_dir, history)
        if time_limit_s is not None and time.monotonic() - started > time_limit_s:
            log(f"time limit reached at step {step}; resume with --resume")
            break
    bar.close()
    final = snapshot()
    if state is None or step != int(state["step"]):
        save_checkpoint(ckpt_path, final)
        write_loss_files(run_dir, history)
    model.eval()
    if export_path is not None:
        export_run(model, clips, export_path, device)
        log(f"exported {export_path}")
    return final


def export_run(model: AutoEncoder, clips: Sequence[Clip], path: Path, device: str) -> None:
    """Compute per-class latent statistics over ``clips`` and write the TorchScript file."""
    from memoire.rave.export import export_torchscript

    model = model.to(device).eval()
    frames = class_latent_frames(model, clips, device)
    names = sorted(frames)
    mean = torch.stack([frames[n].mean(0) for n in names])
    std = torch.stack([frames[n].std(0, unbiased=False) for n in names])
    export_torchscript(model.cpu(), Path(path), names, mean, std, class_trajectories(frames, names))
