"""The map palette: the sRGB colours of tiles and props seen from above (pure constants).

One palette for every top-down picture of a level, so a wall, a gate or a garden has the same
colour on the game's minimap (memoire/render/minimap.py) and in the level editor
(memoire/editor/). Colours are sRGB 0..255 triples. Stdlib only: importing this pulls in no GL.
"""

from __future__ import annotations

# Ground and buildings by tile kind. Prop cells (tree, lantern, bench) show the paving they
# stand on; the prop itself is drawn on top in its PROP_RGB colour.
TILE_RGB = {
    "wall": (58, 58, 62),
    "house": (88, 84, 84),
    "floor": (214, 208, 196),
    "garden": (140, 176, 104),
    "gate": (204, 40, 26),
    "door": (150, 52, 32),
    "tree": (214, 208, 196),
    "lantern": (214, 208, 196),
    "bench": (214, 208, 196),
}
# Outside the level's ground: the minimap leaves it transparent, the editor paints it this
# near-black (the editor's background).
VOID_RGB = (24, 24, 28)

TREE_RGB = (62, 118, 52)
LANTERN_RGB = (230, 40, 20)
BENCH_RGB = (130, 88, 50)
PROP_RGB = {"tree": TREE_RGB, "lantern": LANTERN_RGB, "bench": BENCH_RGB}
