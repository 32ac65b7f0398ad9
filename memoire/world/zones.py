"""Zone weights without a model: which zone's sound is heard where (pure numpy).

The weights of the zone blend (memoire/world/field.py, ``ZoneBlend.weights``) depend on the
level alone (shapes, falloff, curves, priorities); only the latents need a model. So this
builds the same ``ZoneBlend`` with empty latents (``weight_blend``), and the weights it gives are the synth's
weights by construction: w_i = share_i * coverage, summing to the coverage (<= 1), the rest
latent taking what is left.

The *dominant* zone at a point is the one with the largest weight; none where no zone reaches
(every weight 0). Traces (memoire/game/trace.py) record it as "which sound held the visitor".
"""

from __future__ import annotations

import numpy as np

from memoire.world.field import ZoneBlend, weight_blend
from memoire.world.level import Level

__all__ = ["dominant_zone", "dominant_zones", "weight_blend", "zone_weights"]


def zone_weights(level: Level | ZoneBlend, xy: np.ndarray) -> np.ndarray:
    """Zone weights (k, n) at level points ``xy`` (k, 2): as the synth blends them, in 0..1."""
    blend = level if isinstance(level, ZoneBlend) else weight_blend(level)
    w, _ = blend.weights(np.atleast_2d(np.asarray(xy, dtype=np.float64)))
    return w


def dominant_zones(level: Level | ZoneBlend, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(zone index (k,) int, -1 where no zone reaches; its weight (k,) in 0..1) at points (k, 2).
    Ties go to the zone listed first in the level."""
    w = zone_weights(level, xy)
    if w.shape[1] == 0:
        return np.full(len(w), -1), np.zeros(len(w))
    idx = w.argmax(axis=1)
    best = w[np.arange(len(w)), idx]
    return np.where(best > 0.0, idx, -1), np.where(best > 0.0, best, 0.0)


def dominant_zone(level: Level | ZoneBlend, x_m: float, y_m: float) -> tuple[str, float]:
    """(name of the zone with the largest weight at (x_m, y_m), its weight in 0..1);
    ("", 0.0) where no zone reaches. Pass ``weight_blend(level)`` instead of the level when
    calling it often (every frame): the blend is then built once."""
    blend = level if isinstance(level, ZoneBlend) else weight_blend(level)
    idx, weight = dominant_zones(blend, np.array([[x_m, y_m]], dtype=np.float64))
    i = int(idx[0])
    return (blend.names[i], float(weight[0])) if i >= 0 else ("", 0.0)
