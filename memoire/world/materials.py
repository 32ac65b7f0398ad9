"""Acoustic materials: sound absorption coefficients per octave band, read from
assets/acoustics/materials.toml (the data and its sources live there, not here).

A ``Materials`` table maps a name ("brick", "grass", ...) to its coefficients alpha (fraction of
incident energy absorbed, 0..1, random incidence) at ``bands_hz``. Levels name these materials in
[[rooms]] tables (docs/levels.md, Spatial sound); the room model (memoire/world/acoustics.py)
turns them into reverberation times. Pure: tomllib and numpy only.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.paths import ROOT

MATERIALS_FILE = ROOT / "assets" / "acoustics" / "materials.toml"


@dataclass(frozen=True)
class Materials:
    bands_hz: tuple[float, ...]  # octave band centres, Hz
    alpha: tuple[tuple[str, tuple[float, ...]], ...]  # (name, coefficient per band), file order
    descriptions: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.alpha)

    def coefficients(self, name: str) -> tuple[float, ...]:
        """Absorption per band of material ``name``; KeyError when the table has no such material."""
        return dict(self.alpha)[name]


@functools.lru_cache(maxsize=4)
def load_materials(path: Path = MATERIALS_FILE) -> Materials:
    """The materials table (cached: the file is shipped data). UserError when it is missing or bad."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the acoustic materials table ({e})") from None
    bands = data.get("bands_hz")
    table = data.get("materials")
    if not isinstance(bands, list) or not bands or not isinstance(table, dict) or not table:
        raise UserError(f"{path}: needs bands_hz = [...] and [materials.NAME] tables with alpha = [...]")
    out, desc = [], []
    for name, t in table.items():
        alpha = t.get("alpha") if isinstance(t, dict) else None
        if (not isinstance(alpha, list) or len(alpha) != len(bands)
                or not all(isinstance(a, (int, float)) and 0.0 <= a <= 1.0 for a in alpha)):
            raise UserError(f"{path}: material '{name}': alpha must be {len(bands)} numbers in 0..1, one per band")
        out.append((str(name), tuple(float(a) for a in alpha)))
        desc.append((str(name), str(t.get("description", ""))))
    return Materials(tuple(float(b) for b in bands), tuple(out), tuple(desc))
