"""The latent terrain: a small coordinate network from a 2D position to a latent vector.

After nn.terrain (Shuoyang Zheng, github jasper-zheng/nn_terrain): a CPPN with random Fourier
features maps a control position to a latent vector of a RAVE-style model, trained from
(position, latent) examples. Walking through it gives continuous, new sound between and around
the examples. Here the examples come from a level: each zone's inner region (and part of its
falloff) paired with the zone's latent, a sparse "rest" bed far from every zone, and latent clips
laid along Bezier paths ([[trajectories]]).

Network (the same structure as nn.terrain, so its checkpoints run here unchanged):
    v = (2 pi x) @ B            x (N, in_dim) control coordinates, B (in_dim, mapping_size) fixed,
                                B ~ Normal(0, gauss^2) (B already holds the scale)
    h = [sin v, cos v]          (N, 2 mapping_size)        -- gauss = 0: h = x, no features
    h = prelu1(fc_in(h)); h = prelu2(fc2(h)); h = prelu3(fc3(h)); h = prelu4(fc4(h))
    out = fc_out(h)             (N, latent_dim)
fc_in is nn.terrain's ``fc_in_gau`` (or ``fc_in_linear`` when gauss = 0); widths are ``width``
(nn.terrain's ``cmax``). Nothing about sizes is fixed.

Coordinates: ``Terrain.sample`` takes level metres (x east, y south) and maps them linearly to
control space with [terrain] map_from/map_to (identity when absent); ``sample_control`` takes
control coordinates directly (an imported checkpoint's own space, e.g. x in [-16, 16]).

Processes and threads: this module imports torch, so the game process never imports it. The game
and the editor get their terrain from a ``TerrainJob`` (memoire/terrain/job.py, started by
memoire/terrain/link.py), a child process that runs ``load_level_terrain`` here and hands back a
``TerrainGrid`` (memoire/terrain/grid.py: pure numpy, immutable), which is all the synth thread
ever sees. ``TerrainTrainer`` is the same work on a thread, for processes that have torch anyway
(commands, tests).

Saved terrains: ``levels/<name>.terrain.npz`` beside the level (``saved_terrain_path``), an
uncompressed numpy archive holding the network's arrays and a JSON header with the sizes, the
control map and a fingerprint of everything training read. ``load_level_terrain`` reuses it when
the fingerprint matches and retrains when anything changed.

One long job (the network, its training from a level, its file format and nn.terrain's import
belong together: one set of sizes and one fingerprint), so one module past the ~600-line guide.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from memoire.terrain.grid import TerrainGrid, grid_nodes, saved_suffix
from memoire.terrain.progress import TrainingCancelled, TrainProgress
from memoire.world.field import curve_value
from memoire.world import bezier
from memoire.world.errors import UserError
from memoire.world.files import atomic_output
from memoire.world.level import Level, TerrainSettings

# Bump when the training data or algorithm changes: saved terrains with another version retrain.
training_format_version = 1
# Saved-terrain file layout version (the arrays and header keys below).
file_format_version = 1

# Training-data choices (see build_training_set).
# Falloff margin sampled around each zone: the inner half of the falloff band, where the zone
# blend still gives the zone most of the weight (smooth curve: >= 50 %).
margin_falloff_fraction = 0.5
# Margin points per zone, as a fraction of anchor_samples (the inner region gets anchor_samples).
margin_samples_fraction = 0.5
# Rest points: a jittered grid of this spacing over the map, kept where no zone reaches
# (farther than falloff_m from every zone). 3 m: a few metres between examples is what the
# Fourier features (wavelengths ~ 1 / gauss = 12 m at the default gauss) can resolve anyway.
rest_spacing_m = 3.0
rest_weight = 0.5  # the rest bed is background: half the pull of a zone's inner region
trajectory_weight = 1.0

# Optimiser: Adam at nn.terrain's default learning rate, decayed to a tenth by a cosine over the
# run so the last steps settle instead of rattling around the minimum.
learning_rate = 1e-3
final_lr_fraction = 0.1
# Minibatch size: enough points per step to see every zone, small enough that the default level
# (~1000 examples, 1500 steps) trains in seconds on one core.
batch_size = 256
progress_every_steps = 10

# Grid evaluation chunk: rows of points per forward pass when baking a TerrainGrid.
grid_chunk_points = 16384


# ---------------------------------------------------------------------------------------------
# The network


class TerrainNet(nn.Module):
    """nn.terrain's CPPN: Fourier features (optional), four PReLU layers, a linear output."""

    def __init__(self, in_dim: int, out_dim: int, width: int, mapping_size: int, gauss: float):
        super().__init__()
        self.in_dim = int(in_dim)
        self.out_dim = int(out_dim)
        self.width = int(width)
        self.gauss = float(gauss)
        self.mapping_size = int(mapping_size) if gauss > 0 else 0
        # B: (in_dim, mapping_size), already scaled by gauss (as nn.terrain's B_T).
        self.register_buffer("B", torch.zeros(self.in_dim, self.mapping_size))
        self.fc_in = nn.Linear(2 * self.mapping_size if self.mapping_size else self.in_dim, self.width)
        self.fc2 = nn.Linear(self.width, self.width)
        self.fc3 = nn.Linear(self.width, self.width)
        self.fc4 = nn.Linear(self.width, self.width)
        self.prelu1 = nn.PReLU(1)
        self.prelu2 = nn.PReLU(1)
        self.prelu3 = nn.PReLU(1)
        self.prelu4 = nn.PReLU(1)
        self.fc_out = nn.Linear(self.width, self.out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, in_dim) control coordinates -> (N, out_dim) latents."""
        if self.mapping_size:
            v = (2.0 * math.pi * x) @ self.B
            h = torch.cat([torch.sin(v), torch.cos(v)], dim=-1)
        else:
            h = x
        h = self.prelu1(self.fc_in(h))
        h = self.prelu2(self.fc2(h))
        h = self.prelu3(self.fc3(h))
        h = self.prelu4(self.fc4(h))
        return self.fc_out(h)

    def init_weights(self, generator: torch.Generator) -> None:
        """Seeded initialisation from ``generator`` only (never the global torch RNG, which other
        threads may be using): B ~ N(0, gauss^2); linear layers uniform(+-1/sqrt(fan_in)) as
        torch's default; PReLU slopes 0.25 (torch's default)."""
        with torch.no_grad():
            if self.mapping_size:
                self.B.copy_(torch.randn(self.B.shape, generator=generator) * self.gauss)
            for lin in (self.fc_in, self.fc2, self.fc3, self.fc4, self.fc_out):
                bound = 1.0 / math.sqrt(lin.in_features)
                lin.weight.copy_(torch.rand(lin.weight.shape, generator=generator) * 2 * bound - bound)
                lin.bias.copy_(torch.rand(lin.bias.shape, generator=generator) * 2 * bound - bound)
            for p in (self.prelu1, self.prelu2, self.prelu3, self.prelu4):
                p.weight.fill_(0.25)

    # Array names in saved terrains, in a fixed order.
    _ARRAYS = ("B", "fc_in.weight", "fc_in.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias",
               "fc4.weight", "fc4.bias", "fc_out.weight", "fc_out.bias", "prelu1.weight", "prelu2.weight",
               "prelu3.weight", "prelu4.weight")

    def arrays(self) -> dict[str, np.ndarray]:
        state = self.state_dict()
        return {k: state[k].detach().cpu().numpy().astype(np.float32) for k in self._ARRAYS}

    def load_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        state = {k: torch.from_numpy(np.asarray(arrays[k], dtype=np.float32).copy()) for k in self._ARRAYS}
        self.load_state_dict(state)


# ---------------------------------------------------------------------------------------------
# Level metres -> control space


@dataclass(frozen=True)
class ControlMap:
    """Linear, per axis: control = xy * scale + offset. Identity when scale 1, offset 0."""

    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)

    @staticmethod
    def from_rects(src: tuple[tuple[float, float], tuple[float, float]] | None,
                   dst: tuple[tuple[float, float], tuple[float, float]] | None) -> "ControlMap":
        """Map rectangle ``src`` (two corners, level metres) onto ``dst`` (control space), corner
        to corner: src[0] -> dst[0], src[1] -> dst[1] (so a flipped dst flips the axis)."""
        if src is None or dst is None:
            return ControlMap()
        (x0, y0), (x1, y1) = src
        (u0, v0), (u1, v1) = dst
        sx, sy = (u1 - u0) / (x1 - x0), (v1 - v0) / (y1 - y0)
        return ControlMap((sx, sy), (u0 - x0 * sx, v0 - y0 * sy))

    @staticmethod
    def for_settings(settings: TerrainSettings | None) -> "ControlMap":
        if settings is None:
            return ControlMap()
        return ControlMap.from_rects(settings.map_from, settings.map_to)

    @property
    def is_identity(self) -> bool:
        return self.scale == (1.0, 1.0) and self.offset == (0.0, 0.0)

    def apply(self, xy: np.ndarray) -> np.ndarray:
        """Level metres (k, 2) -> control coordinates (k, 2), float64."""
        xy = np.asarray(xy, dtype=np.float64)
        return xy * np.asarray(self.scale) + np.asarray(self.offset)

    def invert(self, uv: np.ndarray) -> np.ndarray:
        """Control coordinates (k, 2) -> level metres (k, 2)."""
        uv = np.asarray(uv, dtype=np.float64)
        return (uv - np.asarray(self.offset)) / np.asarray(self.scale)


# ---------------------------------------------------------------------------------------------
# A terrain: network + control map


class Terrain:
    """A latent terrain: a ``TerrainNet`` and the map from level metres to its control space.

    Uses torch; call it from the main or a worker thread, never the synth thread (bake a
    ``TerrainGrid`` for that).
    """

    def __init__(self, net: TerrainNet, control_map: ControlMap | None = None, *, source: str = "",
                 fingerprint: str = ""):
        self.net = net.eval()
        self.control_map = control_map or ControlMap()
        self.source = source  # where it came from, for messages: a file path or "trained"
        self.fingerprint = fingerprint  # of the level data it was trained from ("" if imported)

    @property
    def latent_dim(self) -> int:
        return self.net.out_dim

    @property
    def in_dim(self) -> int:
        return self.net.in_dim

    def with_control_map(self, control_map: ControlMap) -> "Terrain":
        return Terrain(self.net, control_map, source=self.source, fingerprint=self.fingerprint)

    def sample_control(self, uv: np.ndarray) -> np.ndarray:
        """Latents at control coordinates uv (k, in_dim) -> (k, latent_dim) float32."""
        uv = np.atleast_2d(np.asarray(uv, dtype=np.float32))
        if uv.shape[1] != self.in_dim:
            raise ValueError(f"this terrain takes {self.in_dim} control coordinates per point, got {uv.shape[1]}")
        out = []
        with torch.inference_mode():
            for start in range(0, len(uv), grid_chunk_points):
                out.append(self.net(torch.from_numpy(np.ascontiguousarray(uv[start:start + grid_chunk_points]))))
        if not out:
            return np.zeros((0, self.latent_dim), np.float32)
        return torch.cat(out).numpy().astype(np.float32, copy=False)

    def sample(self, xy: np.ndarray) -> np.ndarray:
        """Latents at level positions xy (k, 2) metres -> (k, latent_dim) float32."""
        if self.in_dim != 2:
            raise UserError(f"terrain {self.source} has {self.in_dim} control dimensions; a level needs "
                            "a 2-D terrain (x, y)")
        return self.sample_control(self.control_map.apply(np.atleast_2d(xy)))

    def to_grid(self, bounds_m: tuple[float, float, float, float], resolution_m: float) -> TerrainGrid:
        """Bake the terrain over bounds (x0, y0, x1, y1) metres at ``resolution_m`` node spacing.

        The grid covers the bounds fully (the last node is at or beyond x1, y1), at least 2 x 2.
        """
        xs, ys = grid_nodes(bounds_m, resolution_m)
        gx, gy = np.meshgrid(xs, ys)  # (ny, nx) each
        values = self.sample(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(len(ys), len(xs), -1)
        values = np.ascontiguousarray(values, dtype=np.float32)
        values.setflags(write=False)
        return TerrainGrid((float(xs[0]), float(ys[0])), float(resolution_m), values)


# ---------------------------------------------------------------------------------------------
# nn.terrain checkpoints


def import_nn_terrain(path: str | Path) -> Terrain:
    """Read an nn.terrain checkpoint (a TorchScript zip holding only parameters and buffers).

    Scalars m_in_dim, m_out_dim, m_cmax, m_gauss_scale, m_mapping_size; buffer B_T (in_dim x
    mapping_size, already scaled); layers fc_in_gau (or fc_in_linear when gauss = 0), fc2, fc3,
    fc4, fc_out, prelu1..4. Raises UserError for a missing or foreign file.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such terrain file (an nn.terrain checkpoint .pt or a saved {saved_suffix})")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not an nn.terrain checkpoint (expected a TorchScript zip written by "
                        "nn.terrain's save message)")
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as e:  # torch's C++ errors are long; the first line says enough
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{path}: torch cannot load this file ({first}); expected an nn.terrain checkpoint") from None
    tensors = {n: t.detach() for n, t in module.named_parameters()}
    tensors.update({n: t.detach() for n, t in module.named_buffers()})

    def need(name: str) -> torch.Tensor:
        if name not in tensors:
            raise UserError(f"{path}: not an nn.terrain checkpoint: it has no '{name}' "
                            f"(found: {', '.join(sorted(tensors)) or 'nothing'})")
        return tensors[name].float()

    in_dim = int(need("m_in_dim").item())
    out_dim = int(need("m_out_dim").item())
    cmax = int(need("m_cmax").item())
    gauss = float(need("m_gauss_scale").item())
    mapping = int(need("m_mapping_size").item())
    _check_sizes(path, in_dim=in_dim, latent_dim=out_dim, width=cmax, mapping_size=mapping)
    net = TerrainNet(in_dim, out_dim, cmax, mapping, gauss)
    first = "fc_in_gau" if net.mapping_size else "fc_in_linear"
    state = {
        "fc_in.weight": need(f"{first}.weight"), "fc_in.bias": need(f"{first}.bias"),
        "fc_out.weight": need("fc_out.weight"), "fc_out.bias": need("fc_out.bias"),
        "B": need("B_T") if net.mapping_size else torch.zeros(in_dim, 0),
    }
    for k in (2, 3, 4):
        state[f"fc{k}.weight"] = need(f"fc{k}.weight")
        state[f"fc{k}.bias"] = need(f"fc{k}.bias")
    for k in (1, 2, 3, 4):
        state[f"prelu{k}.weight"] = need(f"prelu{k}.weight").reshape(1)
    expected = net.state_dict()
    for name, t in state.items():
        if tuple(t.shape) != tuple(expected[name].shape):
            raise UserError(f"{path}: '{name}' has shape {tuple(t.shape)}, but the sizes it declares "
                            f"(in {in_dim}, out {out_dim}, cmax {cmax}, mapping {mapping}) need "
                            f"{tuple(expected[name].shape)}; the checkpoint is damaged")
    net.load_state_dict(state)
    return Terrain(net, ControlMap(), source=str(path))


# ---------------------------------------------------------------------------------------------
# Saved terrains (.terrain.npz)


def saved_terrain_path(level: Level) -> Path:
    """Where a level's trained terrain is saved: levels/hutong.toml -> levels/hutong.terrain.npz."""
    return level.path.with_name(level.path.stem + saved_suffix)


def save_terrain(terrain: Terrain, path: str | Path) -> None:
    """Write a terrain atomically (memoire.world.files.atomic_output)."""
    path = Path(path)
    net = terrain.net
    header = {
        "format": "memoire-terrain", "version": file_format_version,
        "in_dim": net.in_dim, "latent_dim": net.out_dim, "width": net.width,
        "mapping_size": net.mapping_size, "gauss": net.gauss,
        "map_scale": list(terrain.control_map.scale), "map_offset": list(terrain.control_map.offset),
        "fingerprint": terrain.fingerprint,
    }
    arrays = {f"net/{k}": v for k, v in net.arrays().items()}
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_saved_terrain(path: str | Path) -> Terrain:
    """Read a terrain written by ``save_terrain``. Raises UserError for a missing or foreign file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise UserError(f"{path}: no such saved terrain") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: cannot read this saved terrain ({e}); delete it and run "
                        "`memoire terrain train LEVEL` again") from None
    try:
        header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
        if header.get("format") != "memoire-terrain":
            raise ValueError("not a Memoire terrain")
        if header.get("version") != file_format_version:
            raise ValueError(f"file version {header.get('version')}, this program reads {file_format_version}")
        _check_sizes(path, **{k: header[k] for k in ("in_dim", "latent_dim", "width", "mapping_size")})
        net = TerrainNet(header["in_dim"], header["latent_dim"], header["width"],
                         max(1, header["mapping_size"]), header["gauss"] if header["mapping_size"] else 0.0)
        net.load_arrays({k[len("net/"):]: v for k, v in arrays.items() if k.startswith("net/")})
        cmap = ControlMap(tuple(header["map_scale"]), tuple(header["map_offset"]))
    except (KeyError, ValueError, RuntimeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a usable saved terrain ({e}); delete it and run "
                        "`memoire terrain train LEVEL` again") from None
    return Terrain(net, cmap, source=str(path), fingerprint=str(header.get("fingerprint", "")))


def _check_sizes(path: Path, **sizes) -> None:
    """A terrain's declared sizes within docs/levels.md's Limits, before any array is allocated."""
    from memoire.world import level as L

    limits = {"in_dim": 16, "latent_dim": L.max_latent_dim, "width": L.max_terrain_width,
              "mapping_size": L.max_terrain_mapping_size}
    for key, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= limits[key]:
            raise UserError(f"{path}: the terrain declares {key} = {v!r}; at most {limits[key]} (docs/levels.md, "
                            "Limits): the file is damaged or not a terrain")


def load_terrain_file(path: str | Path) -> Terrain:
    """An nn.terrain checkpoint (.pt / .ts) or a saved terrain (.npz), by content."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such terrain file (an nn.terrain checkpoint .pt or a saved {saved_suffix})")
    if not path.is_file():
        raise UserError(f"{path} is {'a folder' if path.is_dir() else 'not a regular file'}, not a terrain file (an "
                        f"nn.terrain checkpoint .pt or a saved {saved_suffix})")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        raise UserError(f"{path} is neither an nn.terrain checkpoint nor a saved terrain (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: cannot read this terrain file ({e}); expected an nn.terrain checkpoint .pt or a "
                        f"saved {saved_suffix}") from None
    if "header.npy" in names:
        return load_saved_terrain(path)
    return import_nn_terrain(path)


# ---------------------------------------------------------------------------------------------
# Training data from a level


@dataclass(frozen=True)
class TrainingSet:
    """(position, latent, weight) examples. Arrays are read-only."""

    xy_m: np.ndarray  # (n, 2) level metres
    latents: np.ndarray  # (n, latent_dim) float32
    weights: np.ndarray  # (n,) float32, > 0
    labels: np.ndarray  # (n,) int: index into label_names
    label_names: tuple[str, ...]  # zone names, "rest", "trajectory:<name>"

    @property
    def latent_dim(self) -> int:
        return int(self.latents.shape[1])

    def __len__(self) -> int:
        return int(len(self.xy_m))

    def subset(self, label: str) -> np.ndarray:
        """Boolean mask of the examples with this label."""
        return self.labels == self.label_names.index(label)


def _sample_region(rng: np.random.Generator, shape, bounds: tuple[float, float, float, float], count: int,
                   keep: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``count`` points uniform in ``bounds`` for which ``keep(distance_outside)`` holds (rejection)."""
    x0, y0, x1, y1 = bounds
    got: list[np.ndarray] = []
    n = 0
    for _ in range(200):  # the kept area is at least ~1/4 of the box for circles, rings, polygons
        cand = np.column_stack([rng.uniform(x0, x1, 4 * count), rng.uniform(y0, y1, 4 * count)])
        ok = cand[keep(shape.distance_outside(cand))]
        got.append(ok)
        n += len(ok)
        if n >= count:
            break
    pts = np.concatenate(got)[:count] if got else np.zeros((0, 2))
    return pts


def build_training_set(level: Level, zone_latents: Mapping[str, np.ndarray],
                       rest_latent: np.ndarray | None = None) -> TrainingSet:
    """Examples for a level's terrain (deterministic: seeded by [terrain] seed).

    - each zone: ``anchor_samples`` points uniform in its inner region, weight = priority, and
      anchor_samples/2 in the inner half of its falloff band, weight = priority * curve(1 - d/falloff)
      (the zone blend's own weight there), all paired with ``zone_latents[zone.name]`` (D,);
    - where no zone reaches (beyond every falloff) and more than 3 m from every trajectory, a
      jittered 3 m grid over the map paired with ``rest_latent`` (if given), weight 0.5;
    - each trajectory: its clip's frames (frames, D) laid along its path evenly by arc length,
      frame i at the i-th point, weight 1.
    Raises UserError for a clip of the wrong shape; ValueError if a zone has no latent.
    """
    settings = level.terrain or _default_settings()
    rng = np.random.default_rng(settings.seed)
    dims = {np.asarray(v).shape for v in zone_latents.values()}
    if rest_latent is not None:
        dims.add(np.asarray(rest_latent).shape)
    if len(dims) > 1:
        raise ValueError(f"zone latents differ in shape: {sorted(dims)}")
    latent_dim = dims.pop()[0] if dims else None
    xs, zs, ws, ls = [], [], [], []
    names: list[str] = []

    def add(label: str, xy: np.ndarray, z: np.ndarray, w: np.ndarray) -> None:
        if label not in names:
            names.append(label)
        xs.append(np.asarray(xy, np.float64).reshape(-1, 2))
        zs.append(np.asarray(z, np.float32).reshape(len(xs[-1]), -1))
        ws.append(np.asarray(w, np.float32).reshape(-1))
        ls.append(np.full(len(xs[-1]), names.index(label)))

    for zone in level.zones:
        if zone.name not in zone_latents:
            raise ValueError(f"no latent given for zone '{zone.name}'")
        z = np.asarray(zone_latents[zone.name], np.float32)
        x0, y0, x1, y1 = zone.shape.bounds()
        inner = _sample_region(rng, zone.shape, (x0, y0, x1, y1), settings.anchor_samples, lambda d: d <= 0)
        add(zone.name, inner, np.broadcast_to(z, (len(inner), len(z))), np.full(len(inner), zone.priority))
        m = margin_falloff_fraction * zone.falloff_m
        n_margin = max(1, int(round(settings.anchor_samples * margin_samples_fraction)))
        ring = _sample_region(rng, zone.shape, (x0 - m, y0 - m, x1 + m, y1 + m), n_margin,
                              lambda d: (d > 0) & (d <= m))
        u = 1.0 - zone.shape.distance_outside(ring) / zone.falloff_m
        add(zone.name, ring, np.broadcast_to(z, (len(ring), len(z))), zone.priority * curve_value(zone.curve, u))

    if rest_latent is not None:
        r = np.asarray(rest_latent, np.float32)
        w_m, h_m = level.tiles.size_m
        gx, gy = np.meshgrid(np.arange(rest_spacing_m / 2, w_m, rest_spacing_m),
                             np.arange(rest_spacing_m / 2, h_m, rest_spacing_m))
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        pts = pts + rng.uniform(-0.4, 0.4, pts.shape) * rest_spacing_m
        far = np.ones(len(pts), bool)
        for zone in level.zones:
            far &= zone.shape.distance_outside(pts) >= zone.falloff_m
        for traj in level.trajectories:  # the trajectories' own latents rule near their paths
            line = bezier.flatten(np.asarray(traj.path.points)).points
            for start in range(0, len(line), 256):
                seg = line[start:start + 256]
                near = np.linalg.norm(pts[:, None, :] - seg[None], axis=-1).min(axis=1) < rest_spacing_m
                far &= ~near
        pts = pts[far]
        add("rest", pts, np.broadcast_to(r, (len(pts), len(r))), np.full(len(pts), rest_weight))

    for traj in level.trajectories:
        try:
            clip = np.load(traj.clip, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserError(f"{level.path}: trajectory '{traj.name}': cannot read clip {traj.clip}: {e}") from None
        want = f"(frames, {latent_dim})" if latent_dim else "(frames, latent_dim)"
        if clip.ndim != 2 or clip.shape[0] < 2 or (latent_dim is not None and clip.shape[1] != latent_dim):
            raise UserError(f"{level.path}: trajectory '{traj.name}': clip {traj.clip} has shape {clip.shape}; "
                            f"expected {want} with at least 2 frames, from `memoire encode` with this level's model")
        latent_dim = latent_dim or clip.shape[1]
        pts = bezier.sample_even(np.asarray(traj.path.points), len(clip))
        add(f"trajectory:{traj.name}", pts, clip, np.full(len(clip), trajectory_weight))

    if not xs or sum(len(x) for x in xs) == 0:
        raise UserError(f"{level.path}: [terrain] has nothing to learn from: no zones, no rest latent and no "
                        "[[trajectories]]")
    arrays = [np.concatenate(a) for a in (xs, zs, ws, ls)]
    for a in arrays:
        a.setflags(write=False)
    return TrainingSet(arrays[0], arrays[1], arrays[2], arrays[3], tuple(names))


def _default_settings() -> TerrainSettings:
    # The loader's defaults for a [terrain] table with no fields (memoire/world/level.py, _read_terrain).
    return TerrainSettings(source="train", source_path=None, map_from=None, map_to=None, gauss=0.08, width=128,
                           mapping_size=128, steps=1500, seed=0, anchor_samples=64)


# ---------------------------------------------------------------------------------------------
# Training


def train_terrain(data: TrainingSet, settings: TerrainSettings, control_map: ControlMap | None = None, *,
                  on_progress: Callable[[int, float], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Terrain:
    """Fit a terrain to ``data`` (Adam, weighted MSE, minibatches). Deterministic for a given seed:
    the weights and the batches come from one torch.Generator seeded with ``settings.seed``, and the
    caller's thread runs torch with one intra-op thread (set here) so sums add in a fixed order.

    ``on_progress(steps_done, loss)`` is called every few steps and at the end; ``should_stop()``
    returning True raises TrainingCancelled.
    """
    control_map = control_map or ControlMap()
    # One intra-op thread leaves the other core to the renderer. torch's setting is process-wide
    # and the game wants 1 anyway (the synth sets the same), so it is not restored afterwards.
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(settings.seed)
    net = TerrainNet(2, data.latent_dim, settings.width, settings.mapping_size, settings.gauss)
    net.init_weights(gen)
    net.train()
    x = torch.from_numpy(control_map.apply(data.xy_m).astype(np.float32))
    z = torch.from_numpy(np.array(data.latents, dtype=np.float32))
    w = torch.from_numpy(np.array(data.weights, dtype=np.float32))
    n = len(x)
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    steps = settings.steps
    loss_value = float("nan")
    for step in range(steps):
        if should_stop is not None and should_stop():
            raise TrainingCancelled()
        lr = learning_rate * (final_lr_fraction + (1 - final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for group in opt.param_groups:
            group["lr"] = lr
        if n > batch_size:
            idx = torch.randint(0, n, (batch_size,), generator=gen)
            xb, zb, wb = x[idx], z[idx], w[idx]
        else:
            xb, zb, wb = x, z, w
        err = ((net(xb) - zb) ** 2).mean(dim=1)
        loss = (err * wb).sum() / wb.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_value = float(loss.detach())
        if on_progress is not None and ((step + 1) % progress_every_steps == 0 or step + 1 == steps):
            on_progress(step + 1, loss_value)
    net.eval()
    return Terrain(net, control_map, source="trained")


def fit_error(terrain: Terrain, data: TrainingSet) -> np.ndarray:
    """Per-example RMS error over latent dimensions between the terrain and its training targets, (n,)."""
    pred = terrain.sample(data.xy_m)
    return np.sqrt(((pred - data.latents) ** 2).mean(axis=1))


# ---------------------------------------------------------------------------------------------
# Fingerprints and the level's terrain


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(level: Level, zone_latents: Mapping[str, np.ndarray], rest_latent: np.ndarray | None = None) -> str:
    """Hash of everything training reads: zones, trajectories (and their clips' bytes), the map's
    size (rest points), the [terrain] settings, the zone and rest latents, and the training code's
    version. Equal fingerprints mean retraining would give the same terrain."""
    s = level.terrain or _default_settings()
    h = hashlib.sha256()

    def put(obj) -> None:
        h.update(json.dumps(obj, sort_keys=True, default=repr).encode("utf-8"))
        h.update(b"\n")

    put({"training_format": training_format_version, "batch": batch_size, "lr": learning_rate})
    put({"map_m": list(level.tiles.size_m)})
    put({"gauss": s.gauss, "width": s.width, "mapping_size": s.mapping_size, "steps": s.steps, "seed": s.seed,
         "anchor_samples": s.anchor_samples, "map_from": s.map_from, "map_to": s.map_to})
    for zone in level.zones:
        shape = zone.shape
        put({"zone": zone.name, "shape": type(shape).__name__, "geometry": repr(shape), "falloff_m": zone.falloff_m,
             "curve": zone.curve, "priority": zone.priority})
        lat = zone_latents.get(zone.name)
        # float32: what training uses, so a float64 copy of the same latents hashes the same
        h.update(b"none" if lat is None else np.ascontiguousarray(lat, dtype=np.float32).tobytes())
    h.update(b"rest:" + (b"none" if rest_latent is None
                         else np.ascontiguousarray(rest_latent, dtype=np.float32).tobytes()))
    for traj in level.trajectories:
        put({"trajectory": traj.name, "points": traj.path.points})
        h.update(_file_digest(traj.clip).encode() if traj.clip.exists() else b"missing")
    return h.hexdigest()


def cached_level_terrain(level: Level, zone_latents: Mapping[str, np.ndarray],
                         rest_latent: np.ndarray | None = None) -> Terrain | None:
    """The saved terrain beside a level if it was trained from exactly this data, else None."""
    path = saved_terrain_path(level)
    if not path.exists():
        return None
    try:
        terrain = load_saved_terrain(path)
    except UserError:
        return None  # unreadable: retrain and overwrite it
    if terrain.fingerprint != fingerprint(level, zone_latents, rest_latent):
        return None
    return terrain


def train_level_terrain(level: Level, zone_latents: Mapping[str, np.ndarray], rest_latent: np.ndarray | None = None,
                        *, save: bool = True, on_progress: Callable[[int, float], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> Terrain:
    """Train a level's terrain from its zones and trajectories, and save it beside the level."""
    settings = level.terrain or _default_settings()
    data = build_training_set(level, zone_latents, rest_latent)
    terrain = train_terrain(data, settings, ControlMap.for_settings(level.terrain), on_progress=on_progress,
                            should_stop=should_stop)
    terrain.fingerprint = fingerprint(level, zone_latents, rest_latent)
    terrain.source = str(saved_terrain_path(level))
    if save:
        save_terrain(terrain, saved_terrain_path(level))
    return terrain


def level_terrain_from_source(level: Level, latent_dim: int | None = None) -> Terrain | None:
    """The terrain a level names by path ([terrain] source = "file.pt" / "file.terrain.npz"), with
    the level's map_from/map_to (a saved terrain keeps its own map when the level gives none).
    None when the level trains its own (source = "train") or has no [terrain]."""
    s = level.terrain
    if s is None or s.source == "train" or s.source_path is None:
        return None
    terrain = load_terrain_file(s.source_path)
    if terrain.in_dim != 2:
        raise UserError(f"{level.path}: [terrain] source {s.source_path.name} has {terrain.in_dim} control "
                        "dimensions; a level needs a 2-D terrain")
    if latent_dim is not None and terrain.latent_dim != latent_dim:
        raise UserError(f"{level.path}: [terrain] source {s.source_path.name} gives {terrain.latent_dim} latent "
                        f"dimensions but the level's model has {latent_dim}; use a terrain made for this model")
    if s.map_from is not None and s.map_to is not None:
        terrain = terrain.with_control_map(ControlMap.for_settings(s))
    return terrain


def load_level_terrain(level: Level, zone_latents: Mapping[str, np.ndarray], rest_latent: np.ndarray | None = None,
                       *, train: bool = True, use_cache: bool = True, save: bool = True,
                       on_progress: Callable[[int, float], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> tuple[Terrain | None, str]:
    """A level's terrain, blocking: (terrain, how) with how one of "source" (imported / named
    file), "cached" (saved and up to date; skipped when use_cache is False), "trained" (just now,
    and saved unless save is False), "stale" (train=False and no up-to-date save: terrain None),
    "none" (no [terrain]). ``on_progress`` / ``should_stop`` as for ``train_terrain``."""
    if level.terrain is None:
        return None, "none"
    dims = {np.asarray(v).shape[-1] for v in zone_latents.values()}
    t = level_terrain_from_source(level, dims.pop() if len(dims) == 1 else None)
    if t is not None:
        return t, "source"
    if use_cache:
        t = cached_level_terrain(level, zone_latents, rest_latent)
        if t is not None:
            return t, "cached"
    if not train:
        return None, "stale"
    return train_level_terrain(level, zone_latents, rest_latent, save=save, on_progress=on_progress,
                               should_stop=should_stop), "trained"


# ---------------------------------------------------------------------------------------------
# Training in the background


class TerrainTrainer:
    """In-process (torch in this process): gets a level's terrain on a background thread: loads the file its [terrain] source names,
    or reuses the saved terrain when up to date, or trains (and saves) it.

    Main thread: ``start()``, then poll ``progress`` (a TrainProgress snapshot) each frame, and
    take ``result()`` once ``done``; ``cancel()`` stops it within one training step. The training
    thread is the only writer of the progress snapshot and the result.
    """

    def __init__(self, level: Level, zone_latents: Mapping[str, np.ndarray], rest_latent: np.ndarray | None = None,
                 *, save: bool = True, use_cache: bool = True):
        self._level = level
        self._zone_latents = {k: np.array(v, dtype=np.float32) for k, v in zone_latents.items()}
        self._rest = None if rest_latent is None else np.array(rest_latent, dtype=np.float32)
        self._save = save
        self._use_cache = use_cache
        self._steps = (level.terrain or _default_settings()).steps
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._progress = TrainProgress(0, self._steps, float("nan"), "waiting", 0.0)
        self._result: Terrain | None = None
        self._error: BaseException | None = None
        self._how = ""
        self._thread = threading.Thread(target=self._run, name="terrain-trainer", daemon=True)

    def start(self) -> "TerrainTrainer":
        self._thread.start()
        return self

    @property
    def progress(self) -> TrainProgress:
        return self._progress

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def how(self) -> str:
        """"source" when the level names a terrain file ([terrain] source), "cached" when the saved
        terrain was reused, "trained" when trained; "" until done."""
        return self._how

    def cancel(self) -> None:
        self._cancel.set()

    def result(self, timeout: float | None = None) -> Terrain:
        """The terrain, waiting up to ``timeout`` seconds. Raises TimeoutError if not done,
        TrainingCancelled if cancelled, or the training's own error (e.g. a UserError)."""
        if not self._done.wait(timeout):
            raise TimeoutError("terrain training still running")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def _run(self) -> None:
        t0 = time.perf_counter()
        torch.set_num_threads(1)  # this thread's torch work: one core, the renderer keeps the other

        def report(step: int, loss: float) -> None:
            self._progress = TrainProgress(step, self._steps, loss, "running", time.perf_counter() - t0)

        try:
            self._progress = TrainProgress(0, self._steps, float("nan"), "running", 0.0)
            terrain, how = load_level_terrain(self._level, self._zone_latents, self._rest, use_cache=self._use_cache,
                                              save=self._save, on_progress=report, should_stop=self._cancel.is_set)
            if terrain is None:
                raise ValueError(f"{self._level.path}: the level has no [terrain]")
            self._how = how
            self._progress = TrainProgress(self._steps, self._steps, self._progress.loss, "done",
                                           time.perf_counter() - t0)
            self._result = terrain
        except TrainingCancelled as e:
            self._error = e
            p = self._progress
            self._progress = TrainProgress(p.steps_done, self._steps, p.loss, "cancelled", time.perf_counter() - t0)
        except BaseException as e:  # handed to the main thread by result()
            self._error = e
            p = self._progress
            self._progress = TrainProgress(p.steps_done, self._steps, p.loss, "failed", time.perf_counter() - t0,
                                           str(e))
        finally:
            self._done.set()
