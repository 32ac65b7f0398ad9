"""The text of a new, empty level: a walled 20 x 15 yard, the spawn in the middle, no zones.

A designer who runs `memoire edit new.toml` on a file that does not exist starts from this; it
is written on the first save. It passes `memoire check` as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

# A small walled yard: big enough to hold two or three zones, small enough to walk in a minute.
new_level_width_cells = 20
new_level_height_cells = 15
new_level_cell_m = 1.5


def new_level_grid(width: int = new_level_width_cells, height: int = new_level_height_cells) -> list[str]:
    """Rows of a walled yard: '#' around, '.' paving inside."""
    if width < 3 or height < 3:
        raise ValueError("a walled grid needs at least 3 x 3 cells")
    inner = "#" + "." * (width - 2) + "#"
    return ["#" * width, *([inner] * (height - 2)), "#" * width]


def _model_line(level_path: Path, model_path: Path | None) -> str:
    if model_path is None:
        return '# model = "../assets/models/hutong.ts"   # default: Memoire\'s own model'
    try:
        rel = os.path.relpath(Path(model_path).resolve(), Path(level_path).resolve().parent)
    except ValueError:  # another drive (Windows): keep the absolute path
        rel = str(Path(model_path).resolve())
    return f'model = "{Path(rel).as_posix()}"'


def new_level_text(level_path: Path, model_path: Path | None = None, rest: str | list[float] = "courtyard") -> str:
    """TOML text of a new level saved as ``level_path`` (its name comes from the file name)."""
    rows = new_level_grid()
    w_m = new_level_width_cells * new_level_cell_m
    h_m = new_level_height_cells * new_level_cell_m
    rest_toml = f'"{rest}"' if isinstance(rest, str) else "[" + ", ".join(f"{v:g}" for v in rest) + "]"
    name = Path(level_path).stem.replace("_", " ").replace("-", " ")
    grid = "\n".join(rows)
    return f'''# {name}: made with `memoire edit`. Format: docs/levels.md.
# Units: metres, seconds, compass degrees (0 = north = up the grid, 90 = east).

[level]
name = "{name}"
cell_m = {new_level_cell_m}            # one grid character is {new_level_cell_m} m; the map is {w_m:g} m x {h_m:g} m

[map]
# One character per cell: # wall  H house  . paving  , garden  G gate  D door  T tree  L lantern  B bench
grid = """
{grid}
"""

[spawn]
at = [{w_m / 2:g}, {h_m / 2:g}]
facing_deg = 0

[sound]
{_model_line(level_path, model_path)}
field = "zones"
rest = {rest_toml}        # heard where no zone reaches

# ---- sound zones (add them with the zone tool) -----------------------------------------
'''
