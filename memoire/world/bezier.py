"""Cubic Bezier paths sampled by arc length.

A path is a chain of cubic segments given by 3n+1 control points in level metres:
anchor, handle, handle, anchor, handle, handle, anchor, ... The same sampler serves tours
(the automatic walk) and trajectories (latent sequences laid along a path for the terrain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Each cubic segment is flattened into this many chords to measure its length; 64 chords keep
# the arc-length error of a hand-drawn curve (segment turning at most ~180 degrees) below 0.1 %.
chords_per_segment = 64


def _segment_points(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points of one cubic segment. p: (4, 2) control points; t: (k,) in [0, 1] -> (k, 2)."""
    t = t[:, None]
    s = 1.0 - t
    return (s**3) * p[0] + 3 * (s**2) * t * p[1] + 3 * s * (t**2) * p[2] + (t**3) * p[3]


@dataclass(frozen=True)
class ArcLengthTable:
    """A flattened path: polyline points and their cumulative length (metres)."""

    points: np.ndarray  # (k, 2) metres
    cumulative_m: np.ndarray  # (k,) metres, starts at 0

    @property
    def length_m(self) -> float:
        return float(self.cumulative_m[-1])


def flatten(control_points: np.ndarray) -> ArcLengthTable:
    """Flatten a cubic Bezier chain (3n+1, 2) into a dense polyline with cumulative lengths."""
    cp = np.asarray(control_points, dtype=np.float64)
    if cp.ndim != 2 or cp.shape[1] != 2 or len(cp) < 4 or (len(cp) - 1) % 3:
        raise ValueError(f"a cubic Bezier path needs 3n+1 points (4, 7, 10, ...), got {len(cp)}")
    t = np.linspace(0.0, 1.0, chords_per_segment + 1)
    pieces = []
    for i in range(0, len(cp) - 1, 3):
        seg = _segment_points(cp[i : i + 4], t)
        pieces.append(seg if i == 0 else seg[1:])
    pts = np.concatenate(pieces)
    step = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(step)])
    pts.setflags(write=False)
    cum.setflags(write=False)
    return ArcLengthTable(pts, cum)


def sample_at(table: ArcLengthTable, distance_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Positions and unit tangents at arc-length distances (clamped to the path).

    Returns (points (k, 2), tangents (k, 2)); a scalar distance gives k = 1.
    """
    d = np.clip(np.atleast_1d(np.asarray(distance_m, dtype=np.float64)), 0.0, table.length_m)
    cum = table.cumulative_m
    i = np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(cum) - 2)
    span = cum[i + 1] - cum[i]
    f = np.where(span > 0, (d - cum[i]) / np.where(span > 0, span, 1.0), 0.0)[:, None]
    a, b = table.points[i], table.points[i + 1]
    pos = a + f * (b - a)
    tan = b - a
    norm = np.linalg.norm(tan, axis=1, keepdims=True)
    tan = np.where(norm > 0, tan / np.where(norm > 0, norm, 1.0), np.array([1.0, 0.0]))
    return pos, tan


def sample_even(control_points: np.ndarray, count: int) -> np.ndarray:
    """``count`` points spaced evenly by arc length from start to end, shape (count, 2)."""
    table = flatten(control_points)
    if count == 1:
        return sample_at(table, 0.0)[0]
    return sample_at(table, np.linspace(0.0, table.length_m, count))[0]
