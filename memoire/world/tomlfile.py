"""Hand-written TOML files read with line numbers: every problem at once, each as file:line.

``parse_toml`` turns a syntax error into a problem naming its line; ``TomlReader`` reads typed
fields (numbers with units and ranges, text with choices, points) and collects a ``Problem`` for
each bad one, with the line found by ``LineIndex``; a ``ProblemsError`` lists them all.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memoire.world.errors import UserError


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    where: str  # "zone 'pigeons'", "[spawn]", ...
    message: str

    def __str__(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{loc}: {self.where}: {self.message}" if self.where else f"{loc}: {self.message}"


class ProblemsError(UserError):
    """A hand-written file with one or more problems; ``problems`` lists them all."""

    what = ""  # how the header names the file, e.g. "the kiosk config "

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        n = len(problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {self.what}{problems[0].path}:" if problems else ""
        super().__init__("\n".join([head, *("  " + str(p) for p in problems)]))


def parse_toml(text: str, path: Path, error: type[ProblemsError]) -> dict:
    """TOML source -> dict; a syntax error becomes ``error`` naming the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise error([Problem(path, int(m.group(1)) if m else 0, "",
                             f"not valid TOML: {e} (check quotes, brackets and commas on that line)")]) from None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


class LineIndex:
    """Finds the line of a key in the TOML source: ('zones', 2, 'falloff_m') -> 42.

    tomllib gives values but not positions; designers need line numbers, so the source is
    scanned once for table headers and `key =` lines. Good enough for hand-written files:
    it tracks [table], [[array]] (with their index), [table.sub] and dotted-free keys.
    """

    def __init__(self, text: str):
        self._lines: dict[tuple, int] = {}
        table: tuple = ()
        counters: dict[str, int] = {}
        in_multiline = False
        for n, raw in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if raw.count('"""') % 2 == 1 or raw.count("'''") % 2 == 1:
                    in_multiline = False
                continue
            m = _HEADER.match(raw)
            if m and not _KEY.match(raw):
                name = m.group(2).replace('"', "").strip()
                parts = tuple(name.split("."))
                if m.group(1) == "[[":
                    idx = counters.get(name, -1) + 1
                    counters[name] = idx
                    table = (*parts[:-1], (parts[-1], idx))
                else:
                    # [zones.sub] inside the last [[zones]] belongs to that element
                    head = parts[0]
                    if head in counters and len(parts) > 1:
                        table = ((head, counters[head]), *parts[1:])
                    else:
                        table = parts
                self._lines.setdefault(self._flat(table), n)
                continue
            k = _KEY.match(raw)
            if k:
                key = k.group(1).strip('"')
                self._lines.setdefault(self._flat((*table, key)), n)
                rest = raw[k.end():]
                if rest.count('"""') == 1 or rest.count("'''") == 1:
                    in_multiline = True

    @staticmethod
    def _flat(parts: tuple) -> tuple:
        out: list = []
        for p in parts:
            if isinstance(p, tuple):
                out.extend(p)
            else:
                out.append(p)
        return tuple(out)

    def line(self, *path: Any) -> int:
        """Line of the deepest known prefix of ``path`` (0 when unknown)."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return 0



class TomlReader:
    """Reads typed fields out of parsed TOML, collecting every problem (``problems``) with its line.

    One reader for every hand-written file: levels (memoire.world.level) and kiosk configs
    (memoire.kiosk.config). ``keypath`` names the TOML key, ``where`` the thing it belongs to."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = LineIndex(text)
        self.problems: list[Problem] = []

    def problem(self, keypath: tuple, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, self.lines.line(*keypath), where, message))

    def unknown_keys(self, table: dict, allowed: tuple[str, ...], keypath: tuple, where: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "known fields: " + ", ".join(allowed)
                self.problem((*keypath, key), where, f"unknown field '{key}' ({hint})")

    def number(self, table: dict, key: str, keypath: tuple, where: str, *, default: Any = None,
               unit: str = "", minimum: float | None = None, exclusive_min: bool = False,
               maximum: float | None = None, integer: bool = False) -> Any:
        if key not in table:
            if default is None:
                self.problem(keypath, where, f"missing field '{key}'")
            return default
        v = table[key]
        kind = "a whole number" if integer else "a number"
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
            self.problem((*keypath, key), where, f"{key} must be {kind}{' in ' + unit if unit else ''}, got {v!r}")
            return default
        if not math.isfinite(v):
            self.problem((*keypath, key), where, f"{key} must be finite, got {v!r}")
            return default
        u = f" {unit}" if unit else ""
        if minimum is not None and (v <= minimum if exclusive_min else v < minimum):
            op = ">" if exclusive_min else ">="
            self.problem((*keypath, key), where, f"{key} must be {op} {minimum:g}{u}, got {v:g}")
            return default
        if maximum is not None and v > maximum:
            self.problem((*keypath, key), where, f"{key} must be <= {maximum:g}{u}, got {v:g}")
            return default
        return v

    def text(self, table: dict, key: str, keypath: tuple, where: str, *, default: str | None = None,
             choices: tuple[str, ...] | None = None) -> str | None:
        if key not in table:
            if default is None:
                self.problem(keypath, where, f"missing field '{key}'")
            return default
        v = table[key]
        if not isinstance(v, str):
            self.problem((*keypath, key), where, f"{key} must be text in quotes, got {v!r}")
            return default
        if choices is not None and v not in choices:
            close = difflib.get_close_matches(v, choices, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.problem((*keypath, key), where, f"{key} must be one of {', '.join(choices)}; got '{v}'{hint}")
            return default
        return v

    def point(self, value: Any, keypath: tuple, where: str, label: str) -> tuple[float, float] | None:
        if (isinstance(value, list) and len(value) == 2
                and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in value)):
            return float(value[0]), float(value[1])
        self.problem(keypath, where, f"{label} must be a point [x, y] in metres, got {value!r}")
        return None

    def points(self, table: dict, key: str, keypath: tuple, where: str, *, min_count: int) -> tuple | None:
        if key not in table:
            self.problem(keypath, where, f"missing field '{key}' (a list of points [[x, y], ...] in metres)")
            return None
        v = table[key]
        if not isinstance(v, list):
            self.problem((*keypath, key), where, f"{key} must be a list of points [[x, y], ...], got {v!r}")
            return None
        pts = []
        for i, item in enumerate(v):
            p = self.point(item, (*keypath, key), where, f"{key}[{i}]")
            if p is None:
                return None
            pts.append(p)
        if len(pts) < min_count:
            self.problem((*keypath, key), where, f"{key} needs at least {min_count} points, got {len(pts)}")
            return None
        return tuple(pts)
