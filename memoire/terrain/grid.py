"""The terrain as the game process holds it: a baked grid, pure numpy (no torch here, ever).

``TerrainGrid`` is what the synth samples and what a ``TerrainJob`` (memoire/terrain/job.py) hands
back; ``grid_nodes`` lays out its nodes over a level's extent (the network, in
memoire/terrain/terrain.py, fills them in); ``field_rgb`` colours a sampled field (the minimap's
terrain picture, `memoire terrain plot`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memoire.world.errors import UserError

saved_suffix = ".terrain.npz"  # a level's saved terrain: levels/hutong.toml -> levels/hutong.terrain.npz
# PCA colours: each component's 1st..99th percentile spans the colour range, so a few extreme
# pixels do not wash the rest out.
pca_percentiles = (1.0, 99.0)


@dataclass(frozen=True)
class TerrainGrid:
    """The terrain baked on a regular grid, sampled bilinearly. Pure numpy, immutable: safe to
    hand to the synth thread. Outside the grid the value of the nearest edge is used."""

    origin_m: tuple[float, float]  # level position of node [0, 0] (x, y), metres
    step_m: float  # node spacing, metres, the same along x and y
    values: np.ndarray  # (ny, nx, latent_dim) float32, read-only; values[j, i] at origin + (i, j) * step

    def __post_init__(self) -> None:
        v = self.values
        if v.ndim != 3 or v.shape[0] < 2 or v.shape[1] < 2 or not self.step_m > 0:
            raise ValueError(f"a TerrainGrid needs values (ny >= 2, nx >= 2, latent_dim) and step_m > 0, "
                             f"got {v.shape} and {self.step_m}")

    @property
    def latent_dim(self) -> int:
        return int(self.values.shape[2])

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        ny, nx = self.values.shape[:2]
        x0, y0 = self.origin_m
        return x0, y0, x0 + (nx - 1) * self.step_m, y0 + (ny - 1) * self.step_m

    def sample(self, xy: np.ndarray) -> np.ndarray:
        """Latents at level positions xy (k, 2) metres -> (k, latent_dim) float32."""
        p = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        v = self.values
        ny, nx = v.shape[:2]
        fx = np.clip((p[:, 0] - self.origin_m[0]) / self.step_m, 0.0, nx - 1)
        fy = np.clip((p[:, 1] - self.origin_m[1]) / self.step_m, 0.0, ny - 1)
        i = np.minimum(fx.astype(np.int64), nx - 2)
        j = np.minimum(fy.astype(np.int64), ny - 2)
        tx = (fx - i)[:, None].astype(np.float32)
        ty = (fy - j)[:, None].astype(np.float32)
        top = v[j, i] * (1 - tx) + v[j, i + 1] * tx
        bottom = v[j + 1, i] * (1 - tx) + v[j + 1, i + 1] * tx
        return top * (1 - ty) + bottom * ty


def grid_nodes(bounds_m: tuple[float, float, float, float], resolution_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Node positions of a grid over bounds (x0, y0, x1, y1) metres at ``resolution_m`` spacing:
    (xs (nx,), ys (ny,)), starting at (x0, y0), covering the bounds fully (the last node at or
    beyond x1, y1), at least 2 x 2."""
    x0, y0, x1, y1 = (float(b) for b in bounds_m)
    if not resolution_m > 0 or x1 < x0 or y1 < y0:
        raise ValueError(f"bad grid: bounds {bounds_m}, resolution {resolution_m} m")
    nx = max(2, int(math.ceil((x1 - x0) / resolution_m - 1e-9)) + 1)
    ny = max(2, int(math.ceil((y1 - y0) / resolution_m - 1e-9)) + 1)
    return x0 + np.arange(nx) * resolution_m, y0 + np.arange(ny) * resolution_m


def make_grid(origin_m: tuple[float, float], step_m: float, values: np.ndarray) -> TerrainGrid:
    """A TerrainGrid of ``values`` (ny, nx, D), copied to contiguous float32 and made read-only."""
    values = np.array(values, dtype=np.float32, order="C", copy=True)
    values.setflags(write=False)
    return TerrainGrid((float(origin_m[0]), float(origin_m[1])), float(step_m), values)


def field_rgb(values: np.ndarray, channel: int | None = None,
              clamp: tuple[float, float] | None = None) -> np.ndarray:
    """Colour a sampled field. values (H, W, D) -> uint8 (H, W, 3).

    channel None: the first three principal components of the latents over the picture, as red,
    green and blue (each stretched over its 1st..99th percentile). channel K: latent K in grey,
    clamped to ``clamp`` (lo -> black, hi -> white; default: its own min..max).
    """
    h, w, d = values.shape
    flat = values.reshape(-1, d).astype(np.float64)
    if channel is not None:
        if not 0 <= channel < d:
            raise UserError(f"--channel {channel}: this terrain has latent channels 0..{d - 1}")
        v = flat[:, channel]
        lo, hi = clamp if clamp is not None else (float(v.min()), float(v.max()))
        if not hi > lo:
            hi = lo + 1.0
        g = (np.clip(v, lo, hi) - lo) / (hi - lo)
        rgb = np.repeat(g[:, None], 3, axis=1)
    else:
        centred = flat - flat.mean(axis=0)
        _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 20000)], full_matrices=False)
        comps = vt[:3]
        # Fix each component's sign (SVD's is arbitrary): its largest loading is positive.
        signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
        proj = centred @ (comps * signs[:, None]).T
        rgb = np.zeros((len(flat), 3))
        for k in range(proj.shape[1]):
            lo, hi = np.percentile(proj[:, k], pca_percentiles)
            rgb[:, k] = (np.clip(proj[:, k], lo, hi) - lo) / (hi - lo) if hi > lo else 0.5
    return np.round(rgb * 255).astype(np.uint8).reshape(h, w, 3)
