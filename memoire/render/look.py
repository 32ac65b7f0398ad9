"""Times of day and quality levels of the picture: data in assets/look/times.toml, read and checked.

A level picks a time with ``[look] time = "golden" | "dusk" | "midday"`` (memoire/world/level.py,
``LOOK_TIMES``); this module reads the light of each time from ``TIMES_FILE`` with the project's
one TOML reader, so a bad number is "assets/look/times.toml:12: [dusk]: exposure must be ...".
Pure numpy and tomllib: no GL here (the renderer turns a ``TimeOfDay`` into uniforms).

Also here: the renderer's ``QUALITIES`` (low: cheapest on software GL; high: soft shadows, MSAA,
bloom). Maps baked per level for the look are in memoire/render/bake.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from memoire.world.level import LOOK_TIMES
from memoire.world.paths import ROOT
from memoire.world.tomlfile import ProblemsError, TomlReader, parse_toml, read_text_file, show

TIMES_FILE = ROOT / "assets" / "look" / "times.toml"
QUALITIES = ("auto", "low", "high")
# "auto" (the default of play and the kiosk): high on a GPU, low on a software rasteriser, whose
# GL_RENDERER string names it (Mesa: "llvmpipe", "softpipe", "swrast"; Google's "SwiftShader"):
# high costs ~320 ms a frame on llvmpipe at 1280x720, low ~50 ms (docs/look.md).
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader")
max_times_file_bytes = 256 * 1024  # a hand-written table of a few times of day is ~4 KB

# Ranges a value must lie in (a typo, not a taste, lies outside them)
max_linear = 8.0  # linear light multipliers: 8 x the albedo is far past white
max_haze_per_m = 0.5  # half the colour gone in 1.4 m: thick fog already
max_exposure = 8.0
max_glow = 8.0


class TimesError(ProblemsError):
    """assets/look/times.toml has problems (each with its line)."""


@dataclass(frozen=True)
class TimeOfDay:
    """The light of one time of day (units as in assets/look/times.toml's header)."""

    name: str
    sun_azimuth_deg: float
    sun_elevation_deg: float
    sun_linear: tuple[float, float, float]
    sky_ambient_linear: tuple[float, float, float]
    bounce_ambient_linear: tuple[float, float, float]
    horizon_srgb: tuple[float, float, float]
    zenith_srgb: tuple[float, float, float]
    cloud_srgb: tuple[float, float, float]
    haze_srgb: tuple[float, float, float]
    haze_per_m: float
    exposure: float
    bloom: float
    lantern_glow: float
    lantern_pool: float
    window_glow: float
    window_srgb: tuple[float, float, float]

    def sun_direction(self) -> np.ndarray:
        """Unit vector toward the sun in render coordinates (x east, y up, z south)."""
        az, el = math.radians(self.sun_azimuth_deg), math.radians(self.sun_elevation_deg)
        return np.array([math.sin(az) * math.cos(el), math.sin(el), -math.cos(az) * math.cos(el)])


# field -> (kind, minimum, maximum, unit): kind "number" or "rgb" (three numbers in the range)
_FIELDS: dict[str, tuple[str, float, float, str]] = {
    "sun_azimuth_deg": ("number", -360.0, 360.0, "degrees"),
    "sun_elevation_deg": ("number", 1.0, 89.0, "degrees"),
    "sun_linear": ("rgb", 0.0, max_linear, ""),
    "sky_ambient_linear": ("rgb", 0.0, max_linear, ""),
    "bounce_ambient_linear": ("rgb", 0.0, max_linear, ""),
    "horizon_srgb": ("rgb", 0.0, 1.0, ""),
    "zenith_srgb": ("rgb", 0.0, 1.0, ""),
    "cloud_srgb": ("rgb", 0.0, 1.0, ""),
    "haze_srgb": ("rgb", 0.0, 1.0, ""),
    "haze_per_m": ("number", 0.0, max_haze_per_m, "1/m"),
    "exposure": ("number", 0.05, max_exposure, ""),
    "bloom": ("number", 0.0, 1.0, ""),
    "lantern_glow": ("number", 0.0, max_glow, ""),
    "lantern_pool": ("number", 0.0, max_glow, ""),
    "window_glow": ("number", 0.0, max_glow, ""),
    "window_srgb": ("rgb", 0.0, 1.0, ""),
}
assert tuple(_FIELDS) == tuple(f.name for f in fields(TimeOfDay))[1:]


def parse_times(text: str, path: Path) -> dict[str, TimeOfDay]:
    """Every time of day in ``text`` (the file at ``path``), checked: each of ``LOOK_TIMES`` is a
    table with every field in its range. Raises ``TimesError`` listing every problem."""
    data = parse_toml(text, path, TimesError)
    r = TomlReader(path, text)
    r.unknown_keys(data, LOOK_TIMES, (), "")
    out: dict[str, TimeOfDay] = {}
    for name in LOOK_TIMES:
        where = f"[{name}]"
        t = data.get(name)
        if not isinstance(t, dict):
            r.problem((name,) if name in data else (), where,
                      f"missing table [{name}] (every time of day a level may pick: {', '.join(LOOK_TIMES)})")
            continue
        r.unknown_keys(t, tuple(_FIELDS), (name,), where)
        values: dict = {}
        for key, (kind, lo, hi, unit) in _FIELDS.items():
            if kind == "number":
                v = r.number(t, key, (name,), where, unit=unit, minimum=lo, maximum=hi)
                values[key] = None if v is None else float(v)
            else:
                values[key] = _rgb(r, t, key, (name,), where, lo, hi)
        if all(v is not None for v in values.values()):
            out[name] = TimeOfDay(name=name, **values)
    if r.problems:
        raise TimesError(sorted(r.problems, key=lambda p: p.line))
    return out


def _rgb(r: TomlReader, t: dict, key: str, kp: tuple, where: str, lo: float, hi: float):
    if key not in t:
        r.problem(kp, where, f"missing field '{key}' (a colour [r, g, b])")
        return None
    v = t[key]
    ok = (isinstance(v, list) and len(v) == 3
          and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in v))
    if not ok:
        r.problem((*kp, key), where, f"{key} must be a colour [r, g, b] of three numbers, got {show(v)}")
        return None
    if not all(lo <= c <= hi for c in v):
        r.problem((*kp, key), where, f"{key}'s three numbers must each be in {lo:g}..{hi:g}, got {show(v)}")
        return None
    return tuple(float(c) for c in v)


def load_times(path: str | Path = TIMES_FILE) -> dict[str, TimeOfDay]:
    """The times of day in ``path`` (default: the shipped assets/look/times.toml), checked."""
    path = Path(path)
    return parse_times(read_text_file(path, "times-of-day file", max_times_file_bytes,
                                      f"{path}: no such file (the shipped one is assets/look/times.toml)"), path)


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> dict[str, TimeOfDay]:
    return load_times(path)


def time_of_day(name: str, path: str | Path = TIMES_FILE) -> TimeOfDay:
    """One time of day by name (one of ``LOOK_TIMES``), read once per version of the file."""
    if name not in LOOK_TIMES:
        raise ValueError(f"time of day must be one of {', '.join(LOOK_TIMES)}, got {name!r}")
    path = Path(path)
    return _cached(str(path), path.stat().st_mtime_ns)[name]


def check_quality(quality: str) -> str:
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, got {quality!r}")
    return quality


def resolve_quality(quality: str, gl_renderer: str) -> str:
    """``quality`` as drawn: "auto" becomes "low" on a software rasteriser (``gl_renderer``, the
    context's GL_RENDERER string), else "high"; "low" and "high" stay as asked."""
    check_quality(quality)
    if quality != "auto":
        return quality
    name = gl_renderer.lower()
    return "low" if any(s in name for s in SOFTWARE_RENDERERS) else "high"
