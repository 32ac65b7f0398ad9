"""Rooms and portals found from a level's map grid (pure numpy; no Level needed).

The walkable cells (every tile kind but the solid ones: floor, garden, gate, door and the prop
cells) split into rooms at gates and doors: the walkable cells that are not gates or doors, in
4-connected regions, are the rooms; each 4-connected run of gate/door cells is a portal, joining
the rooms its cells touch (their 4-neighbours). Rooms are numbered in the order a scan of the
grid (rows top to bottom, columns left to right) first meets them; portals likewise.

``label_grid`` is what the level reader uses to check [[rooms]] points (memoire/world/level.py),
and what the acoustics (memoire/world/acoustics.py) builds its rooms and portal graph on.
Arrays are (rows, columns) = (height, width), indexed [row, col].
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

PORTAL_TILES = frozenset({"gate", "door"})
_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))


@dataclass(frozen=True)
class RoomGrid:
    """Labels of a map grid. ``room`` (h, w) int: the room of each room cell, -1 elsewhere;
    ``portal`` (h, w) int: the portal of each gate/door cell, -1 elsewhere; ``portal_rooms``: per
    portal, the sorted rooms its cells touch (a gate in a dead end touches one)."""

    room: np.ndarray
    portal: np.ndarray
    room_count: int
    portal_rooms: tuple[tuple[int, ...], ...]


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of ``mask`` (h, w) bool -> (labels (h, w) int, -1 off the mask; count),
    numbered in scan order."""
    h, w = mask.shape
    labels = np.full((h, w), -1, dtype=np.int32)
    count = 0
    for r0, c0 in zip(*np.nonzero(mask)):
        if labels[r0, c0] >= 0:
            continue
        labels[r0, c0] = count
        queue = deque([(r0, c0)])
        while queue:
            r, c = queue.popleft()
            for dr, dc in _STEPS:
                rr, cc = r + dr, c + dc
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and labels[rr, cc] < 0:
                    labels[rr, cc] = count
                    queue.append((rr, cc))
        count += 1
    return labels, count


def label_grid(kinds: np.ndarray, solid: frozenset[str]) -> RoomGrid:
    """Rooms and portals of a grid of tile kinds (h, w) (strings; ``solid``: the kinds sound and
    people cannot pass, memoire/world/level.py SOLID_TILES)."""
    kinds = np.asarray(kinds, dtype=object)
    walkable = ~np.isin(kinds, list(solid))
    is_portal = np.isin(kinds, list(PORTAL_TILES)) & walkable
    room, room_count = _components(walkable & ~is_portal)
    portal, portal_count = _components(is_portal)
    h, w = kinds.shape
    touches: list[set[int]] = [set() for _ in range(portal_count)]
    for r, c in zip(*np.nonzero(is_portal)):
        for dr, dc in _STEPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and room[rr, cc] >= 0:
                touches[portal[r, c]].add(int(room[rr, cc]))
    room.setflags(write=False)
    portal.setflags(write=False)
    return RoomGrid(room, portal, room_count, tuple(tuple(sorted(t)) for t in touches))
