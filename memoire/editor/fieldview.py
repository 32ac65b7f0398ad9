"""Seeing the sound: the level's latent field as a colour picture, and the terrain kept up to date.

Colours come from a fixed projection of the latent space onto red, green and blue: the first
three principal components of the model's class means (Memoire's model carries them), scaled
so the classes span the colour cube. The projection is fixed for a model, so one sound keeps
one colour from edit to edit and from level to level: a zone's outline, its anchor marker and
the ground where it is heard share a colour. For a model without class statistics (an
artist's RAVE model) the projection is fitted once on the first field shown.

Pure numpy, no torch: ``TerrainFollower`` gets the terrain from a TerrainJob (memoire/terrain/job.py),
a child process that trains it and hands back its numpy grid; the editor's main thread polls it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from memoire.world.level import SOLID_TILES, Level

# Field picture step: 0.5 m, a third of a typical 1.5 m cell; a 72 m x 35 m level is 144 x 69
# samples (~10k points), which the zone blend evaluates in a few milliseconds.
field_step_m = 0.5
# Colours stay inside 30..235 of 255 so the darkest and brightest sounds still read against the
# map's walls (dark grey) and the selection highlights (white).
colour_floor, colour_ceiling = 30.0, 235.0
# Retrain the terrain once edits have paused this long (s): a drag is many edits.
terrain_debounce_s = 1.0


class LatentPalette:
    """Latent vectors -> sRGB colours through a fixed 3-component projection."""

    def __init__(self, basis: np.ndarray):
        """``basis`` (k, latent_dim): latents that span the sounds (class means, or field samples)."""
        b = np.asarray(basis, dtype=np.float64).reshape(len(basis), -1)
        self.mean = b.mean(axis=0)
        centred = b - self.mean
        d = b.shape[1]
        if len(b) >= 2 and np.abs(centred).max() > 0:
            _, _, vt = np.linalg.svd(centred, full_matrices=False)
            comps = vt[:3]
            # SVD's signs are arbitrary; make each component's largest loading positive so the
            # colours do not flip between runs.
            signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
            comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
        else:
            comps = np.eye(min(3, d), d)
        if len(comps) < 3:
            comps = np.vstack([comps, np.zeros((3 - len(comps), d))])
        self.components = comps  # (3, latent_dim)
        proj = centred @ comps.T
        lo, hi = proj.min(axis=0), proj.max(axis=0)
        pad = 0.1 * (hi - lo)
        self.lo = lo - pad
        span = (hi + pad) - self.lo
        self.span = np.where(span > 1e-9, span, 1.0)

    def colours(self, z: np.ndarray) -> np.ndarray:
        """(..., latent_dim) -> (..., 3) uint8."""
        z = np.asarray(z, dtype=np.float64)
        proj = (z.reshape(-1, z.shape[-1]) - self.mean) @ self.components.T
        u = np.clip((proj - self.lo) / self.span, 0.0, 1.0)
        rgb = colour_floor + (colour_ceiling - colour_floor) * u
        return np.round(rgb).astype(np.uint8).reshape(z.shape[:-1] + (3,))


def palette_for_model(info) -> LatentPalette | None:
    """The model's fixed palette from its class means; None when it carries none."""
    if info is None or len(info.class_names) < 2:
        return None
    return LatentPalette(np.asarray(info.class_mean))


def sample_points(level: Level, step_m: float = field_step_m) -> tuple[np.ndarray, np.ndarray]:
    """(points (ny, nx, 2) at sample centres, walkable mask (ny, nx)) over the level's rectangle."""
    w_m, h_m = level.tiles.size_m
    nx, ny = max(1, int(np.ceil(w_m / step_m))), max(1, int(np.ceil(h_m / step_m)))
    xs = (np.arange(nx) + 0.5) * step_m
    ys = (np.arange(ny) + 0.5) * step_m
    gx, gy = np.meshgrid(xs, ys)
    kinds = level.tiles.kinds()
    cols = np.clip((gx // level.tiles.cell_m).astype(int), 0, level.tiles.width - 1)
    rows = np.clip((gy // level.tiles.cell_m).astype(int), 0, level.tiles.height - 1)
    walkable = ~np.isin(kinds[rows, cols], list(SOLID_TILES))
    return np.stack([gx, gy], axis=-1), walkable


@dataclass(frozen=True)
class FieldPicture:
    """The field over the level: rgb (ny, nx, 3) uint8 and walkable (ny, nx) bool, ``step_m`` apart,
    row 0 = north edge (y from 0), column 0 = west edge (x from 0)."""

    rgb: np.ndarray
    walkable: np.ndarray
    step_m: float
    latents: np.ndarray  # (ny, nx, latent_dim) float32


def field_latents(level: Level, blend, terrain=None, terrain_mix: float = 0.0,
                  step_m: float = field_step_m) -> tuple[np.ndarray, np.ndarray]:
    """(latents (ny, nx, D), walkable (ny, nx)): the target latent the synth would glide to at each
    sample point, as memoire/world/field.py's LatentField computes it (zones, mixed with the terrain)."""
    pts, walkable = sample_points(level, step_m)
    flat = pts.reshape(-1, 2)
    z, _ = blend.target(flat)
    z = z.astype(np.float64)
    if terrain is not None and terrain_mix > 0:
        zt = np.asarray(terrain.sample(flat), dtype=np.float64)
        z = (1.0 - terrain_mix) * z + terrain_mix * zt
    return z.reshape(pts.shape[:2] + (z.shape[-1],)).astype(np.float32), walkable


def field_picture(level: Level, blend, palette: LatentPalette | None, terrain=None, terrain_mix: float = 0.0,
                  step_m: float = field_step_m) -> tuple[FieldPicture, LatentPalette]:
    """The coloured field; fits a palette on this field when none is given (returned for reuse)."""
    z, walkable = field_latents(level, blend, terrain, terrain_mix, step_m)
    if palette is None:
        flat = z.reshape(-1, z.shape[-1])
        palette = LatentPalette(flat[:: max(1, len(flat) // 4000)])
    return FieldPicture(palette.colours(z), walkable, step_m, z), palette


class TerrainFollower:
    """Keeps a level's latent terrain up to date in the background while the designer edits.

    ``want(level, info)`` after each edit; the training starts once edits pause for
    ``terrain_debounce_s`` (a running one for an older version is cancelled). ``poll()`` returns
    (terrain grid, level) once, when a training finishes. Main thread only.
    """

    def __init__(self):
        self._wanted: tuple[Level, object] | None = None
        self._wanted_at = 0.0
        self._trainer = None
        self._training_level: Level | None = None
        self.error: str | None = None
        self.how = ""

    @staticmethod
    def uses_terrain(level: Level) -> bool:
        return level.uses_terrain

    def want(self, level: Level, info) -> None:
        if not self.uses_terrain(level):
            self.cancel()
            return
        self._wanted = (level, info)
        self._wanted_at = time.perf_counter()

    @property
    def progress(self) -> float | None:
        """Training progress 0..1, or None when nothing is running."""
        if self._trainer is None:
            return 0.0 if self._wanted is not None else None
        return self._trainer.progress.fraction

    def cancel(self) -> None:
        self._wanted = None
        if self._trainer is not None:
            self._trainer.cancel()
            self._trainer = None

    def poll(self, now: float | None = None):
        """(grid, level) when a training has just finished, else None."""
        now = time.perf_counter() if now is None else now
        if self._wanted is not None and now - self._wanted_at >= terrain_debounce_s:
            level, info = self._wanted
            self._wanted = None
            if self._trainer is not None:
                self._trainer.cancel()
            from memoire.terrain.link import start_terrain_training

            try:
                self._trainer = start_terrain_training(level, info)
                self._training_level = level
            except Exception as e:  # an anchor the model lacks: said in the problems list already
                self.error = str(e)
                self._trainer = None
        t = self._trainer
        if t is None or not t.done:
            return None
        self._trainer = None
        try:
            grid = t.result()  # a TerrainGrid (numpy), baked in the child
        except Exception as e:  # cancelled or failed: the zone blend stays on screen
            if type(e).__name__ != "TrainingCancelled":
                self.error = f"terrain training failed: {e}"
            return None
        self.error = None
        self.how = t.how
        return grid, self._training_level
