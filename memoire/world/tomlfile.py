"""Hand-written TOML files read with line numbers: every problem at once, each as file:line.

``read_text_file`` reads one (size, kind of file and encoding checked first; a byte-order mark and
CRLF line ends read as the editor meant them); ``parse_toml`` turns a syntax error, a control
character or nesting too deep for the parser into a problem naming its line; ``TomlReader`` reads
typed fields (numbers with units and ranges, text with choices, points) and collects a
``Problem`` for each bad one, with the line found by ``LineIndex``; a ``ProblemsError`` lists
them all.
"""

from __future__ import annotations

import difflib
import math
import re
import reprlib
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memoire.world.errors import UserError

# Nesting of arrays, inline tables and dotted keys, counted together: a level needs 3 or 4
# (points = [[x, y], ...] in a [[tours]] table); tomllib recurses once per level, so 10,000 deep
# overflows Python's stack. 32 is far beyond any hand-written file and far below the stack.
max_nesting_depth = 32
# How many problems a message lists in full; the rest are counted (a pasted binary could give
# thousands). Every problem stays in ``ProblemsError.problems``.
max_problems_shown = 50
# Characters of a line the line index reads: a longer line is a paste accident, and its start is
# enough to find a header or a key (the header pattern is quadratic on a long unclosed line).
_max_indexed_line_chars = 2000

_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxlist, _SHOW.maxdict, _SHOW.maxstring, _SHOW.maxother = 3, 6, 4, 60, 60


def show(value: Any) -> str:
    """A value as a message quotes it: short (long lists and strings cut with ...), never
    recursing into deeply nested tables."""
    return _SHOW.repr(value)


def clean_text(text: str) -> str:
    """What the editor meant: a UTF-8 byte-order mark dropped, CRLF (Windows) and lone CR (old
    Mac) line ends read as newlines, so line numbers count the lines the editor shows."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_text_file(path: Path, what: str, max_bytes: int, missing: str) -> str:
    """The text of a hand-written file (``what``: "level file"), refused before it is read when it
    is a folder, not a regular file (a pipe, a device) or over ``max_bytes``; decoded as UTF-8 (a
    byte-order mark allowed) and cleaned (``clean_text``). Raises UserError; ``missing`` is the
    message for a file that does not exist."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UserError(missing) from None
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        inside = sorted(p.name for p in path.glob("*.toml"))[:5]
        hint = f" (it holds {', '.join(inside)})" if inside else ""
        raise UserError(f"{path}: is a folder, not a {what}; give the .toml file itself{hint}")
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{path}: is not a regular file (a pipe or a device?); give a {what} saved on disk")
    limit = f"a {what} is at most {max_bytes / 2**20:g} MiB (docs/levels.md, Limits): is it the right file?"
    if st.st_size > max_bytes:
        raise UserError(f"{path}: is {st.st_size / 2**20:.1f} MiB; {limit}")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    if len(data) > max_bytes:  # it grew while we looked
        raise UserError(f"{path}: is over {max_bytes / 2**20:g} MiB; {limit}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path}: is saved as UTF-16; save it as UTF-8 (the editor's encoding menu)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at column {col}); a {what} is "
                        "text: save it as UTF-8, or check that this is the right file") from None
    return clean_text(text)


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
        shown = ["  " + str(p) for p in problems[:max_problems_shown]]
        if n > max_problems_shown:
            shown.append(f"  ... and {n - max_problems_shown} more")
        super().__init__("\n".join([head, *shown]))


# Control characters TOML forbids in a file (tab and newline are allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# ... and in a value read as text (a name, a path), escapes such as \u0000 included.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_char(text: str) -> str | None:
    """'U+0000' for the first control character (tab and newline included) in ``text``; else None."""
    m = _CONTROL_IN_TEXT.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def parse_toml(text: str, path: Path, error: type[ProblemsError]) -> dict:
    """TOML source -> dict; a syntax error, a control character (a NUL, ...) or nesting deeper than
    ``max_nesting_depth`` becomes ``error`` naming the line, found before tomllib sees the text."""
    text = clean_text(text)
    m = _CONTROL.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        raise error([Problem(path, line, "", f"a control character U+{ord(m.group()):04X} at column {col}; a TOML "
                                             "file holds text only: delete it (a pasted binary?)")])
    deep = nesting_too_deep(text, max_nesting_depth)
    if deep:
        raise error([Problem(path, deep, "", f"arrays, inline tables or dotted keys nested more than "
                                             f"{max_nesting_depth} deep; a level needs 3 or 4 (docs/levels.md, Limits)")])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise error([Problem(path, int(m.group(1)) if m else 0, "",
                             f"not valid TOML: {e} (check quotes, brackets and commas on that line)")]) from None
    except RecursionError:  # what the scan missed is still a message, never a traceback
        raise error([Problem(path, 0, "", f"nested too deeply to read (more than {max_nesting_depth} levels of "
                                          "arrays, inline tables or dotted keys)")]) from None


_TOKEN = re.compile(r'"""|' + r"'''" + r'|["\'#\[\]{}=,.\n]')
_STRING_END = {
    '"': re.compile(r'(?:[^"\\\n]|\\.)*(?:"|\n|$)'),
    "'": re.compile(r"[^'\n]*(?:'|\n|$)"),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*(?:"""|$)', re.S),
    "'''": re.compile(r"(?:[^']|'(?!''))*(?:'''|$)", re.S),
}


def nesting_too_deep(text: str, limit: int) -> int:
    """The line where arrays, inline tables and dotted keys nest deeper than ``limit`` (0: never).

    One linear pass that skips strings and comments: each open bracket counts one level, and so
    does each dot of the key being written (``a.b.c = 1`` is two tables deep). Good enough for
    what a person writes; what it misreads is still caught (RecursionError) by ``parse_toml``."""
    stack: list[str] = []
    in_key, dots, pos, n = True, 0, 0, len(text)
    while True:
        m = _TOKEN.search(text, pos)
        if m is None:
            return 0
        tok, pos = m.group(), m.end()
        if tok in _STRING_END:
            pos = _STRING_END[tok].match(text, pos).end()
            continue
        if tok == "#":
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl
            continue
        if tok in "[{":
            header = tok == "[" and in_key and "{" not in stack  # [table] / [[array]]: its name is a key
            stack.append(tok)
            if tok == "{":
                in_key, dots = True, 0
            elif not header:
                in_key = False
        elif tok in "]}":
            if stack:
                stack.pop()
            if tok == "}":
                in_key = False
        elif tok == "=":
            in_key = False
        elif tok == ",":
            if stack and stack[-1] == "{":
                in_key, dots = True, 0
        elif tok == "\n":
            if not stack or stack[-1] == "{":
                in_key, dots = not stack, 0
        elif tok == "." and in_key:
            dots += 1
        if len(stack) + dots > limit:
            return text.count("\n", 0, m.start()) + 1


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
        for n, full in enumerate(clean_text(text).split("\n"), start=1):  # TOML's lines: "\n" only
            raw = full[:_max_indexed_line_chars]
            if in_multiline:
                if full.count('"""') % 2 == 1 or full.count("'''") % 2 == 1:
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
                rest = full[k.end():]
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
            self.problem((*keypath, key), where, f"{key} must be {kind}{' in ' + unit if unit else ''}, got {show(v)}")
            return default
        if not math.isfinite(v):
            self.problem((*keypath, key), where, f"{key} must be finite, got {show(v)}")
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
             choices: tuple[str, ...] | None = None, max_length: int = 1024) -> str | None:
        if key not in table:
            if default is None:
                self.problem(keypath, where, f"missing field '{key}'")
            return default
        v = table[key]
        if not isinstance(v, str):
            self.problem((*keypath, key), where, f"{key} must be text in quotes, got {show(v)}")
            return default
        bad = control_char(v)
        if bad:
            self.problem((*keypath, key), where, f"{key} holds a control character ({bad}); write plain text")
            return default
        if len(v) > max_length:
            self.problem((*keypath, key), where, f"{key} is {len(v)} characters long; at most {max_length}")
            return default
        if choices is not None and v not in choices:
            close = difflib.get_close_matches(v, choices, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.problem((*keypath, key), where, f"{key} must be one of {', '.join(choices)}; got {show(v)}{hint}")
            return default
        return v

    def point(self, value: Any, keypath: tuple, where: str, label: str) -> tuple[float, float] | None:
        if (isinstance(value, list) and len(value) == 2
                and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in value)):
            return float(value[0]), float(value[1])
        self.problem(keypath, where, f"{label} must be a point [x, y] in metres, got {show(value)}")
        return None

    def points(self, table: dict, key: str, keypath: tuple, where: str, *, min_count: int,
               max_count: int = 1000) -> tuple | None:
        if key not in table:
            self.problem(keypath, where, f"missing field '{key}' (a list of points [[x, y], ...] in metres)")
            return None
        v = table[key]
        if not isinstance(v, list):
            self.problem((*keypath, key), where, f"{key} must be a list of points [[x, y], ...], got {show(v)}")
            return None
        if len(v) > max_count:
            self.problem((*keypath, key), where, f"{key} has {len(v)} points; at most {max_count} (docs/levels.md, Limits)")
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
