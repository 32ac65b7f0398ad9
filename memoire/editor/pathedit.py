"""Editing cubic Bezier paths as anchors with handles, as in a vector drawing program.

A level stores a path as 3n+1 control points (memoire/world/bezier.py): anchor, handle, handle, anchor...
The editor works on ``Node``s instead: an anchor with the handle coming into it and the handle
going out of it (an end node's missing handle sits on its anchor). An anchor is *smooth* when
its two handles point in opposite directions (the curve passes through without a kink), a
*corner* otherwise. Dragging a smooth node's handle turns the other handle with it (keeping that
handle's length); a corner's handles move alone. All coordinates are level metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

Point = tuple[float, float]

# Handles within 2 degrees of opposite count as smooth: hand-typed files round coordinates to
# the centimetre, which tilts a 1 m handle by up to ~0.6 degrees.
smooth_tolerance_deg = 2.0
# A handle shorter than this (metres) counts as retracted onto its anchor.
retracted_m = 1e-3
# Samples per segment when looking for the nearest point on a path (insertion, hit tests).
samples_per_segment = 48


@dataclass(frozen=True)
class Node:
    anchor: Point
    handle_in: Point
    handle_out: Point


def nodes_from_points(points) -> list[Node]:
    """3n+1 control points -> n+1 nodes."""
    pts = [tuple(map(float, p)) for p in points]
    if len(pts) < 4 or (len(pts) - 1) % 3:
        raise ValueError(f"a cubic Bezier path has 3n+1 points (4, 7, ...), got {len(pts)}")
    n = (len(pts) - 1) // 3
    nodes = []
    for k in range(n + 1):
        a = pts[3 * k]
        nodes.append(Node(a, pts[3 * k - 1] if k > 0 else a, pts[3 * k + 1] if k < n else a))
    return nodes


def points_from_nodes(nodes: list[Node]) -> list[Point]:
    """n+1 nodes (n >= 1) -> 3n+1 control points."""
    if len(nodes) < 2:
        raise ValueError("a path needs at least two anchors")
    pts = [nodes[0].anchor]
    for prev, cur in zip(nodes, nodes[1:]):
        pts += [prev.handle_out, cur.handle_in, cur.anchor]
    return pts


def _sub(a: Point, b: Point) -> tuple[float, float]:
    return a[0] - b[0], a[1] - b[1]


def _len(v) -> float:
    return math.hypot(v[0], v[1])


def is_smooth(node: Node) -> bool:
    vin, vout = _sub(node.anchor, node.handle_in), _sub(node.handle_out, node.anchor)
    lin, lout = _len(vin), _len(vout)
    if lin < retracted_m or lout < retracted_m:
        return False
    cos = (vin[0] * vout[0] + vin[1] * vout[1]) / (lin * lout)
    return cos >= math.cos(math.radians(smooth_tolerance_deg))


def node_from_drag(anchor: Point, drag_to: Point) -> Node:
    """The pen: press at ``anchor``, drag to ``drag_to``: the out handle follows the mouse and the
    in handle mirrors it (a smooth node); no drag gives a corner with retracted handles."""
    d = _sub(drag_to, anchor)
    return Node(anchor, (anchor[0] - d[0], anchor[1] - d[1]), drag_to)


def move_anchor(node: Node, to: Point) -> Node:
    """Move an anchor; its handles travel with it."""
    dx, dy = _sub(to, node.anchor)
    return Node(to, (node.handle_in[0] + dx, node.handle_in[1] + dy), (node.handle_out[0] + dx, node.handle_out[1] + dy))


def move_handle(node: Node, which: str, to: Point, *, keep_smooth: bool | None = None) -> Node:
    """Move the ``which`` ("in" or "out") handle to ``to``. A smooth node (or keep_smooth=True)
    turns its other handle to stay opposite, keeping that handle's length."""
    smooth = is_smooth(node) if keep_smooth is None else keep_smooth
    other = node.handle_out if which == "in" else node.handle_in
    if smooth:
        d = _sub(to, node.anchor)
        ld = _len(d)
        lo = _len(_sub(other, node.anchor))
        if ld > retracted_m and lo > retracted_m:
            other = (node.anchor[0] - d[0] / ld * lo, node.anchor[1] - d[1] / ld * lo)
    if which == "in":
        return Node(node.anchor, to, other)
    return Node(node.anchor, other, to)


def toggle_smooth(nodes: list[Node], k: int) -> list[Node]:
    """Smooth -> corner: retract both handles onto the anchor (a sharp point). Corner -> smooth:
    handles along the line between the neighbouring anchors, a third of the way to each."""
    nodes = list(nodes)
    node = nodes[k]
    a = node.anchor
    if is_smooth(node):
        nodes[k] = Node(a, a, a)
        return nodes
    prev = nodes[k - 1].anchor if k > 0 else None
    nxt = nodes[k + 1].anchor if k + 1 < len(nodes) else None
    if prev is None and nxt is None:
        return nodes
    p, q = prev or a, nxt or a
    d = _sub(q, p)
    ld = _len(d)
    if ld < retracted_m:
        return nodes
    u = (d[0] / ld, d[1] / ld)
    lin = _len(_sub(a, prev)) / 3 if prev else _len(_sub(q, a)) / 3
    lout = _len(_sub(nxt, a)) / 3 if nxt else _len(_sub(a, p)) / 3
    nodes[k] = Node(a, (a[0] - u[0] * lin, a[1] - u[1] * lin), (a[0] + u[0] * lout, a[1] + u[1] * lout))
    return nodes


def delete_node(nodes: list[Node], k: int) -> list[Node]:
    """Remove anchor k; its neighbours keep their handles (the curve joins them directly)."""
    return [n for i, n in enumerate(nodes) if i != k]


def _lerp(a, b, t):
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


def split_segment(nodes: list[Node], seg: int, t: float) -> list[Node]:
    """Insert an anchor on segment ``seg`` (between nodes seg and seg+1) at parameter ``t``
    without changing the curve's shape (de Casteljau)."""
    a, b = nodes[seg], nodes[seg + 1]
    p0, p1, p2, p3 = a.anchor, a.handle_out, b.handle_in, b.anchor
    q0, q1, q2 = _lerp(p0, p1, t), _lerp(p1, p2, t), _lerp(p2, p3, t)
    r0, r1 = _lerp(q0, q1, t), _lerp(q1, q2, t)
    s = _lerp(r0, r1, t)
    out = list(nodes)
    out[seg] = replace(a, handle_out=q0)
    out[seg + 1] = replace(b, handle_in=q2)
    out.insert(seg + 1, Node(s, r0, r1))
    return out


def segment_samples(nodes: list[Node], seg: int, count: int = samples_per_segment) -> tuple[np.ndarray, np.ndarray]:
    """(t values (count,), points (count, 2)) along one segment."""
    a, b = nodes[seg], nodes[seg + 1]
    p = np.array([a.anchor, a.handle_out, b.handle_in, b.anchor], dtype=np.float64)
    t = np.linspace(0.0, 1.0, count)
    s = 1.0 - t
    pts = (s**3)[:, None] * p[0] + (3 * s * s * t)[:, None] * p[1] + (3 * s * t * t)[:, None] * p[2] + (t**3)[:, None] * p[3]
    return t, pts


def nearest_on_path(nodes: list[Node], xy: Point) -> tuple[int, float, float]:
    """(segment, t, distance in metres) of the path point nearest ``xy``."""
    best = (0, 0.0, math.inf)
    q = np.asarray(xy, dtype=np.float64)
    for seg in range(len(nodes) - 1):
        t, pts = segment_samples(nodes, seg)
        d = np.linalg.norm(pts - q, axis=1)
        i = int(d.argmin())
        if d[i] < best[2]:
            best = (seg, float(t[i]), float(d[i]))
    return best


def polyline(nodes: list[Node]) -> np.ndarray:
    """The whole path as a polyline (k, 2) for drawing."""
    if len(nodes) < 2:
        return np.array([n.anchor for n in nodes], dtype=np.float64).reshape(-1, 2)
    parts = [segment_samples(nodes, s)[1][(0 if s == 0 else 1):] for s in range(len(nodes) - 1)]
    return np.concatenate(parts)
