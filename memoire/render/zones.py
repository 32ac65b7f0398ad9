"""Sound zones as pictures: one colour per zone and a ground tint image (pure numpy).

Shared by the 3D zone hint (the renderer uploads ``zone_tint`` as a texture over the ground)
and the minimap, so both show a zone in the same colour.

Zone weight at a point, as the sound field computes it (memoire/world/field.py, repeated here so the
renderer need not import the audio package and its torch): d = distance to the zone's inner
region, u = clamp(1 - d / falloff_m, 0, 1), weight = curve(u) (linear: u, smooth: smoothstep,
exponential: (exp(4u) - 1) / (e^4 - 1)).
"""

from __future__ import annotations

import colorsys

import numpy as np

from memoire.world.field import curve_value
from memoire.world.level import Level, Zone

# Opacity of the tint: the inner region is drawn strongest, the falloff band fades with the
# zone's weight down to nothing at its outer edge.
INNER_ALPHA = 0.45
FALLOFF_ALPHA = 0.3


def zone_colour(index: int) -> tuple[float, float, float]:
    """A distinct, saturated sRGB colour for the zone at ``index`` in the level's list.
    Golden-ratio hue steps keep neighbours in the list far apart on the colour wheel."""
    hue = (0.58 + index * 0.618034) % 1.0
    return colorsys.hsv_to_rgb(hue, 0.75, 0.95)


def zone_colours(level: Level) -> list[tuple[float, float, float]]:
    return [zone_colour(i) for i in range(len(level.zones))]


def zone_weight(zone: Zone, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weight in [0, 1], inside-inner-region mask) of a zone at level points ``xy`` (..., 2)."""
    xy = np.asarray(xy, dtype=np.float64)
    flat = xy.reshape(-1, 2)
    d = zone.shape.distance_outside(flat).reshape(xy.shape[:-1])
    w = curve_value(zone.curve, 1.0 - d / zone.falloff_m)
    return w, d <= 0.0


def pixel_centres(level: Level, px_per_m: float) -> np.ndarray:
    """Level coordinates (h, w, 2) of the pixel centres of a map image at ``px_per_m``.
    Row 0 is the north edge (y = 0), column 0 the west edge (x = 0)."""
    w_m, h_m = level.tiles.size_m
    w_px, h_px = max(1, int(round(w_m * px_per_m))), max(1, int(round(h_m * px_per_m)))
    xs = (np.arange(w_px) + 0.5) * (w_m / w_px)
    ys = (np.arange(h_px) + 0.5) * (h_m / h_px)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], axis=-1)


def zone_fields(level: Level, px_per_m: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, inner mask) of every zone over the map's pixels (see ``pixel_centres``)."""
    xy = pixel_centres(level, px_per_m)
    return [zone_weight(zone, xy) for zone in level.zones]


def zone_tint(level: Level, px_per_m: float, fields: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """Tint over the level: (h, w, 4) float32, premultiplied colour in rgb, opacity in a.

    Zones are composited in increasing priority (the higher-priority zone lies on top), each
    with opacity INNER_ALPHA inside its inner region and FALLOFF_ALPHA * weight in its falloff.
    ``fields``: ``zone_fields(level, px_per_m)`` if already computed.
    """
    if fields is None:
        fields = zone_fields(level, px_per_m)
    shape = pixel_centres(level, px_per_m).shape[:2]
    out = np.zeros(shape + (4,), dtype=np.float64)
    order = sorted(range(len(level.zones)), key=lambda i: level.zones[i].priority)
    for i in order:
        w, inner = fields[i]
        a = np.where(inner, INNER_ALPHA, FALLOFF_ALPHA * w)[..., None]
        rgb = np.asarray(zone_colour(i))
        out[..., :3] = rgb * a + out[..., :3] * (1.0 - a)
        out[..., 3:] = a + out[..., 3:] * (1.0 - a)
    return out.astype(np.float32)
