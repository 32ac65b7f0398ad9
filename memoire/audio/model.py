"""Neural decoder files: the RAVE / nn~ TorchScript export interface.

A model file is a TorchScript module with at least
  - ``decode(z)``: z float32 (batch, latent_dim, frames) -> audio (batch, channels, frames * ratio),
    streaming: the module keeps its own cache, so consecutive calls continue the sound;
  - ``decode_params``: an int buffer [latent_dim, ratio, channels, 1] (nn~'s [in_dim, in_ratio,
    out_dim, out_ratio] for the decode method).
Optional: ``sampling_rate`` or ``sr`` (int, Hz; 44100 assumed when absent, as RAVE's defaults),
and Memoire's class statistics ``latent_class_names`` (List[str]), ``latent_class_mean`` and
``latent_class_std`` (float (classes, latent_dim)) that let a level name a class as an anchor.

torch is imported here and in the training/terrain modules only; the game process reads a model's
card through memoire/audio/card.py ``read_card`` (this module run in a short child process).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from memoire.audio.card import check_model_file
from memoire.audio.faults import ModelFault, error_summary
from memoire.world.card import ModelCard
from memoire.world.errors import UserError

# RAVE's defaults, used when a file does not say its rate: 44.1 kHz.
default_sample_rate_hz = 44100

def _load_module(path: Path) -> torch.jit.ScriptModule:
    check_model_file(path)  # the messages read_card gives too (memoire/audio/card.py)
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as e:  # torch raises RuntimeError with long C++ traces for foreign files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{path}: torch cannot load this file as TorchScript ({first}); re-export it with "
                        "torch.jit.save (RAVE: `rave export --streaming`)") from None


def _interface(module: torch.jit.ScriptModule, path: Path) -> tuple[int, int, int, int]:
    missing = []
    if not hasattr(module, "decode"):
        missing.append("a decode(z) method")
    params = getattr(module, "decode_params", None)
    if params is None:
        missing.append("a decode_params buffer [latent_dim, ratio, channels, 1]")
    if missing:
        raise UserError(f"{path} lacks the RAVE/nn~ decoder interface: it has no {' and no '.join(missing)}. "
                        "Export the model with RAVE's `rave export --streaming` (or Memoire's `memoire train`).")
    p = [int(v) for v in torch.as_tensor(params).flatten().tolist()]
    if len(p) != 4 or min(p[:3]) < 1:
        raise UserError(f"{path}: decode_params must hold 4 positive numbers [latent_dim, ratio, channels, 1], "
                        f"got {p}")
    rate = getattr(module, "sampling_rate", None)
    if rate is None:
        rate = getattr(module, "sr", None)
    return p[0], p[1], p[2], int(rate) if rate is not None else 0


# The load-time test decode (``check_decode``): a seeded random latent of this many frames (std 1,
# the scale of RAVE's prior and of our exports' latents), decoded whole by one fresh instance and
# in two halves by another, each from the file's initial streaming state.
check_frames = 8
# Largest difference between the halves and the whole, relative to the whole decode's RMS, that
# still counts as streaming: -60 dB. A streaming export (RAVE's cached_conv with --streaming,
# Memoire's own) matches to float rounding: cached_conv's own tests hold chunked = whole within
# 1e-5 and our export measures 5e-7 absolute (docs/model.md); a non-streaming export zero-pads
# every call, which leaves an error of the order of the signal itself at each block edge.
streaming_tolerance = 1e-3
# A decode quieter than this (RMS) cannot tell streaming from not: assumed streaming.
_silent_rms = 1e-6
RAVE_EXPORT_HINT = "re-export it with RAVE's `rave export --streaming` (or Memoire's `memoire train --export-only`)"


def _test_decode(module, path: Path, z: np.ndarray, channels: int, hop: int) -> np.ndarray:
    """One load-time decode call: the output (channels, samples) float64, or a UserError saying
    what is wrong and what to do."""
    shape = (1, z.shape[0], z.shape[1])
    want = (1, channels, z.shape[1] * hop)
    try:
        with torch.inference_mode():
            y = module.decode(torch.from_numpy(np.ascontiguousarray(z, np.float32))[None])
    except Exception as e:
        raise UserError(f"{path}: decode(z) fails on a latent of shape {shape} ({error_summary(e)}); "
                        f"the RAVE/nn~ interface is decode(z) with z (batch, latent_dim, frames): "
                        f"{RAVE_EXPORT_HINT}") from None
    if not isinstance(y, torch.Tensor):
        raise UserError(f"{path}: decode returned a {type(y).__name__}, expected one tensor of shape {want}; "
                        f"{RAVE_EXPORT_HINT}")
    if tuple(y.shape) != want:
        raise UserError(f"{path}: decode returned shape {tuple(y.shape)}, expected {want} (decode_params says "
                        f"{z.shape[0]} latent dimensions, {hop} samples per frame, {channels} channel"
                        f"{'s' if channels != 1 else ''}); {RAVE_EXPORT_HINT}")
    out = y[0].detach().to(torch.float64).numpy()
    if not np.isfinite(out).all():
        raise UserError(f"{path}: decode returned NaN or Inf values for an ordinary latent ({z.shape[1]} frames, "
                        "std 1): the model is broken (a training run that diverged?); export an earlier "
                        "checkpoint or retrain it")
    return out


def check_decode(module, path: Path, latent_dim: int, hop: int, channels: int) -> tuple[bool, float]:
    """The load-time test decode. Raises UserError when decode(z) cannot be called with
    (1, latent_dim, frames), returns another shape than (1, channels, frames * hop), or returns
    NaN/Inf. Returns (streaming, joint error): the error is max |decode(halves) - decode(whole)| /
    RMS(whole), each from a fresh copy of ``module`` (0.0 when the decode is silent); streaming
    when it is at most ``streaming_tolerance``. A model that is not the same twice (RAVE's
    variational exports add noise to the dimensions they drop) is judged against that: a joint
    error within 4x the difference between two whole decodes counts as streaming."""
    rng = np.random.default_rng(20240)
    z = rng.standard_normal((latent_dim, check_frames)).astype(np.float32)
    whole_a, halves, whole_b = (copy.deepcopy(module) for _ in range(3))  # each from the initial state
    a = _test_decode(whole_a, path, z, channels, hop)
    half = check_frames // 2
    b = np.concatenate([_test_decode(halves, path, z[:, :half], channels, hop),
                        _test_decode(halves, path, z[:, half:], channels, hop)], axis=1)
    c = _test_decode(whole_b, path, z, channels, hop)
    rms = float(np.sqrt(np.mean(a ** 2)))
    if rms < _silent_rms:
        return True, 0.0
    joint = float(np.max(np.abs(a - b))) / rms
    floor = float(np.max(np.abs(a - c))) / rms
    return joint <= streaming_tolerance or joint <= 4.0 * floor, joint


def inspect_model(path: str | Path) -> ModelCard:
    """Load a model file, check its interface, test-decode it (``check_decode``) and read its
    description. Raises UserError."""
    path = Path(path)
    module = _load_module(path)
    latent_dim, hop, channels, rate = _interface(module, path)
    streaming, joint_error = check_decode(module, path, latent_dim, hop, channels)
    names = tuple(str(n) for n in getattr(module, "latent_class_names", []) or [])
    mean = getattr(module, "latent_class_mean", None)
    std = getattr(module, "latent_class_std", None)
    if names and mean is not None:
        mean_np = np.asarray(torch.as_tensor(mean).detach().float().numpy(), dtype=np.float32).copy()
        std_np = (np.asarray(torch.as_tensor(std).detach().float().numpy(), dtype=np.float32).copy()
                  if std is not None else np.ones_like(mean_np))
        if mean_np.shape != (len(names), latent_dim):
            raise UserError(f"{path}: latent_class_mean has shape {mean_np.shape}, expected "
                            f"({len(names)}, {latent_dim}) for {len(names)} class names")
    else:
        names = ()
        mean_np = np.zeros((0, latent_dim), np.float32)
        std_np = np.zeros((0, latent_dim), np.float32)
    mean_np.setflags(write=False)
    std_np.setflags(write=False)
    frames = getattr(module, "latent_class_trajectory", None)
    frames_np = None
    if names and frames is not None:
        arr = np.asarray(torch.as_tensor(frames).detach().float().numpy(), dtype=np.float32)
        if arr.ndim != 3 or arr.shape[0] != len(names) or arr.shape[1] != latent_dim:
            raise UserError(f"{path}: latent_class_trajectory has shape {arr.shape}, expected "
                            f"({len(names)}, {latent_dim}, frames)")
        frames_np = np.ascontiguousarray(arr.transpose(0, 2, 1))  # (classes, frames, latent_dim)
        frames_np.setflags(write=False)
    return ModelCard(path=path, latent_dim=latent_dim, hop_samples=hop, channels=channels,
                     sample_rate_hz=rate or default_sample_rate_hz, class_names=names, class_mean=mean_np,
                     class_std=std_np, rate_assumed=rate == 0, class_frames=frames_np,
                     streaming=streaming, streaming_error=joint_error)


def set_torch_threads(count: int) -> None:
    """Give torch its own thread count (intra-op), so the renderer keeps a core."""
    torch.set_num_threads(max(1, int(count)))


class NeuralDecoder:
    """One loaded instance of a model: its own streaming cache. Used by one thread only."""

    def __init__(self, path: str | Path, info: ModelCard | None = None):
        self.path = Path(path)
        self.module = _load_module(self.path)
        self.info = info if info is not None else inspect_model(self.path)
        _interface(self.module, self.path)

    def warm_up(self, calls: int = 3) -> None:
        """Decode a few frames of silence-latent and discard them. TorchScript profiles and
        optimises a method on its first calls (measured with the shipped model: 88 ms and 58 ms,
        then 0.7 ms): paid here, on whichever thread loads the model, not later on the synth's."""
        z = np.zeros((self.info.latent_dim, 1), np.float32)
        for _ in range(calls):
            self.decode(z)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decode latent frames z (latent_dim, frames) -> mono float32 (frames * hop_samples,).

        Multichannel models are mixed down to mono by averaging their channels. Raises
        ``ModelFault`` (memoire/audio/faults.py) when the model's decode raises, returns another
        length than frames * hop_samples, or returns NaN/Inf: nothing else leaves this method.
        """
        want = z.shape[1] * self.info.hop_samples
        try:
            with torch.inference_mode():
                zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))[None]
                y = self.module.decode(zt)
        except Exception as e:
            raise ModelFault(self.path, f"decode raised an error ({error_summary(e)})") from None
        if not isinstance(y, torch.Tensor) or y.dim() != 3 or y.shape[0] != 1 or y.shape[2] != want:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ModelFault(self.path, f"decode returned shape {got}, expected (1, {self.info.channels}, {want})")
        y = y[0].detach().float().numpy()
        mono = (y[0] if y.shape[0] == 1 else y.mean(axis=0)).astype(np.float32, copy=False)
        if not np.isfinite(mono).all():
            raise ModelFault(self.path, "decode returned NaN or Inf values")
        return mono


# A model decodes several voices in one call when decode(z) takes a batch: z (B, latent_dim,
# frames) -> (B, channels, frames * ratio), each row with its own streaming state (RAVE's
# cached_conv exports, Memoire's own). Checked once per BatchDecoder on fresh copies: the rows of
# a batch-2 decode against each latent decoded alone, within ``streaming_tolerance`` of the
# whole's RMS (or 4x the difference between two lone decodes, for a model that adds noise).
_batch_check_frames = 2


def batch_capable(module, info: ModelCard) -> bool:
    """Whether ``module.decode`` keeps one streaming row per batch entry (see above). Never raises."""
    rng = np.random.default_rng(20241)
    z = rng.standard_normal((2, info.latent_dim, _batch_check_frames)).astype(np.float32)
    want = (2, info.channels, _batch_check_frames * info.hop_samples)
    try:
        with torch.inference_mode():
            both = copy.deepcopy(module).decode(torch.from_numpy(z))
            if not isinstance(both, torch.Tensor) or tuple(both.shape) != want:
                return False
            both = both.detach().double().numpy()
            for row in range(2):
                alone = copy.deepcopy(module).decode(torch.from_numpy(z[row:row + 1])).detach().double().numpy()
                again = copy.deepcopy(module).decode(torch.from_numpy(z[row:row + 1])).detach().double().numpy()
                rms = float(np.sqrt(np.mean(alone ** 2)))
                if rms < _silent_rms:
                    continue
                err = float(np.max(np.abs(both[row] - alone[0]))) / rms
                floor = float(np.max(np.abs(again[0] - alone[0]))) / rms
                if not (err <= streaming_tolerance or err <= 4.0 * floor):
                    return False
    except Exception:
        return False
    return bool(np.isfinite(both).all())


class BatchDecoder:
    """``slots`` streaming rows of one model, decoded together: the synth's voices.

    ``decode(z)`` with z (slots, latent_dim, frames) -> mono float32 (slots, frames * hop). The
    batch size never changes for the life of the object: a module re-creates (our model) or
    slices (RAVE's cached_conv) its caches when the batch size changes, which would lose every
    voice's past mid-stream. A model whose decode takes batch 1 only (``batch_capable`` False)
    gets one copy of its module per slot, decoded in turn (same results, no batching gain), and
    only the slots the caller says are in use (a free slot's copy waits: the synth settles a slot's
    cache before its new voice is heard anyway). Raises ``ModelFault`` as ``NeuralDecoder.decode``
    does. One thread only (the synth's)."""

    def __init__(self, decoder: NeuralDecoder, slots: int):
        self.path = decoder.path
        self.info = decoder.info
        self.slots = int(slots)
        if self.slots < 1:
            raise ValueError("a BatchDecoder needs at least one slot")
        module = decoder.module
        self.batched = self.slots == 1 or batch_capable(module, self.info)
        # batched: one module, every row in it; else one module per slot (the first is the file's)
        self._modules = [module] if self.batched else [module] + [copy.deepcopy(module)
                                                                 for _ in range(self.slots - 1)]

    def warm_up(self, calls: int = 3) -> None:
        """Decode a few frames of zero latent at the full batch (TorchScript's first calls are slow,
        and a module sizes its caches for the batch here: NeuralDecoder.warm_up's reason)."""
        z = np.zeros((self.slots, self.info.latent_dim, 1), np.float32)
        first = np.zeros(self.slots, bool)
        first[0] = True
        for k in range(calls):  # copies share their compiled code: the first is warmed, the rest once
            self.decode(z, None if k == 0 or self.batched else first)

    def _call(self, module, z: np.ndarray) -> torch.Tensor:
        try:
            with torch.inference_mode():
                return module.decode(torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)))
        except Exception as e:
            raise ModelFault(self.path, f"decode raised an error ({error_summary(e)})") from None

    def decode(self, z: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
        """``active`` (slots,) bool: the rows in use (None: all). A batched model decodes every row
        whatever it says (its batch never changes); one copy per slot decodes the active ones and
        returns silence for the others."""
        b, _, frames = z.shape
        want = frames * self.info.hop_samples
        if b != self.slots:
            raise ValueError(f"BatchDecoder has {self.slots} slots, got a batch of {b}")
        if self.batched:
            ys = [self._call(self._modules[0], z)]
        else:
            ys = [self._call(m, z[i:i + 1]) if active is None or active[i] else None
                  for i, m in enumerate(self._modules)]
        rows = []
        for y in ys:
            if y is None:
                rows.append(np.zeros((1, want), np.float32))
                continue
            rows_here = self.slots if self.batched else 1
            if not isinstance(y, torch.Tensor) or y.dim() != 3 or y.shape[0] != rows_here or y.shape[2] != want:
                got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                raise ModelFault(self.path, f"decode returned shape {got}, expected ({rows_here}, "
                                            f"{self.info.channels}, {want})")
            rows.append(y.detach().float().mean(dim=1).numpy())  # channels mixed down to mono
        mono = rows[0] if len(rows) == 1 else np.concatenate(rows, axis=0)
        if not np.isfinite(mono).all():
            raise ModelFault(self.path, "decode returned NaN or Inf values")
        return np.ascontiguousarray(mono, dtype=np.float32)
