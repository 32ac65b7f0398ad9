"""The level being edited: a tomlkit document changed in place, with undo and redo.

tomlkit keeps everything a designer typed (comments, blank lines, key order, number spelling)
and re-emits it unchanged where nothing was edited; editing a value keeps the comment on its
line. The editor never regenerates the file from the ``Level``: it changes the parsed document.

Undo and redo keep snapshots of the whole text (a level is a few kilobytes; a snapshot per
action is cheaper and simpler than inverting each action). An action is
``with doc.edit("move zone"):`` ... mutations ...; a drag calls ``begin`` on press, mutates while
the mouse moves, and ``commit`` on release, so a whole drag is one undo step. Actions that
change nothing leave no undo step.

Not thread-safe: the editor's main thread owns the document.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any, Iterator

import tomlkit
from tomlkit.items import AoT, Comment, String, StringType, Table, Trivia, Whitespace

from memoire.world.level import DEFAULT_LEGEND, Level, LevelError, Problem, parse_level

# Coordinates are written to the centimetre, other numbers to three decimals: enough for a
# walk-through level, and the file stays readable.
coord_decimals = 2
value_decimals = 3
# How many actions can be undone.
max_undo_steps = 500

PATH_KINDS = ("tours", "trajectories")


def round_coord(v: float) -> float:
    return float(round(float(v), coord_decimals)) + 0.0  # + 0.0 turns -0.0 into 0.0


def round_value(v: float) -> float:
    return float(round(float(v), value_decimals)) + 0.0


def _point(p) -> list[float]:
    return [round_coord(p[0]), round_coord(p[1])]


class LevelDocument:
    """A level file's text as an editable tomlkit document, with history.

    ``data`` is a plain-Python copy of the document (dicts, lists, numbers) for reading;
    write only through the methods below, inside ``edit``/``begin``..``commit``.
    """

    def __init__(self, path: Path, text: str, *, saved_text: str | None = None, allow_outside: bool = False):
        self.path = Path(path)
        self.allow_outside = allow_outside  # --allow-outside-paths: validated as the game will load it
        self.doc = tomlkit.parse(text)
        self.saved_text = saved_text  # None: never saved (a new file)
        self._undo: list[tuple[str, str]] = []  # (text before, label)
        self._redo: list[tuple[str, str]] = []
        self._before: str | None = None  # text at begin() of the running action
        self._label = ""
        self.version = 0  # bumped on every change, for the editor's caches
        self._refresh()

    # -- reading -----------------------------------------------------------------------------------

    def text(self) -> str:
        return tomlkit.dumps(self.doc)

    def _refresh(self) -> None:
        self.data: dict = self.doc.unwrap()
        self.version += 1

    @property
    def dirty(self) -> bool:
        return self.text() != self.saved_text

    def validate(self) -> tuple[Level | None, list[Problem]]:
        """(the Level, []) when the text is a valid level, else (None, every problem)."""
        try:
            return parse_level(self.text(), self.path, allow_outside=self.allow_outside), []
        except LevelError as e:
            return None, list(e.problems)

    # -- history -----------------------------------------------------------------------------------

    @property
    def in_action(self) -> bool:
        return self._before is not None

    @property
    def action_label(self) -> str:
        """The label of the running action (or of the last one begun): what the status line says."""
        return self._label

    def begin(self, label: str) -> None:
        """Start an action (a click, a drag, a key). Nested begins join the running action."""
        if self._before is None:
            self._before = self.text()
            self._label = label

    def commit(self) -> bool:
        """End the action; it becomes one undo step if it changed the text. Returns whether it did."""
        before, self._before = self._before, None
        if before is None:
            return False
        self._refresh()
        if self.text() == before:
            return False
        self._undo.append((before, self._label))
        del self._undo[:-max_undo_steps]
        self._redo.clear()
        return True

    def cancel(self) -> None:
        """Abandon the running action: the document goes back to its text at ``begin``."""
        before, self._before = self._before, None
        if before is not None:
            self._restore(before)

    @contextlib.contextmanager
    def edit(self, label: str) -> Iterator[None]:
        """One undoable action; on an exception the document is restored and the error re-raised."""
        outer = self._before is not None
        self.begin(label)
        try:
            yield
        except BaseException:
            if not outer:
                self.cancel()
            raise
        if not outer:
            self.commit()
        else:
            self._refresh()

    def changed(self) -> None:
        """Mutations happened inside a running action (e.g. a drag step): refresh ``data``."""
        self._refresh()

    def _restore(self, text: str) -> None:
        self.doc = tomlkit.parse(text)
        self._refresh()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> str | None:
        """Undo the last action; returns its label (None when there is nothing to undo)."""
        if self._before is not None:
            self.cancel()
        if not self._undo:
            return None
        before, label = self._undo.pop()
        self._redo.append((self.text(), label))
        self._restore(before)
        return label

    def redo(self) -> str | None:
        if self._before is not None:
            self.cancel()
        if not self._redo:
            return None
        after, label = self._redo.pop()
        self._undo.append((self.text(), label))
        self._restore(after)
        return label

    def mark_saved(self, text: str) -> None:
        self.saved_text = text

    def replace_text(self, text: str, label: str) -> None:
        """Take new text (e.g. the file changed on disk) as one undoable action."""
        tomlkit.parse(text)  # raises before anything changes if it is not TOML
        with self.edit(label):
            self.doc = tomlkit.parse(text)

    # -- generic values ------------------------------------------------------------------------

    @staticmethod
    def set_value(table: Any, key: str, value: Any) -> None:
        """Set ``table[key]``, keeping the comment on its line (tomlkit keeps the item's trivia)
        at the column it was (when the new value is longer or shorter), and keeping a whole
        number written as an integer when the designer wrote it so."""
        old = table.item(key) if key in table else None
        if isinstance(value, float):
            value = round_value(value)
            if old is not None and isinstance(old.value, int) and not isinstance(old.value, bool) \
                    and value.is_integer():
                value = int(value)
        table[key] = value
        if old is not None and old.trivia.comment:
            new = table.item(key)
            grow = len(new.as_string()) - len(old.as_string())
            ws = old.trivia.comment_ws
            new.trivia.comment_ws = " " * max(1, len(ws) - grow) if ws.strip(" ") == "" else ws

    def table(self, key: str) -> Table:
        """The top-level table ``[key]``, created at the end of the file if missing."""
        if key not in self.doc:
            self.doc.add(tomlkit.nl())
            self.doc.add(key, tomlkit.table())
        return self.doc[key]

    # -- map -----------------------------------------------------------------------------------

    @property
    def cell_m(self) -> float:
        v = self.data.get("level", {}).get("cell_m", 1.0)
        return float(v) if isinstance(v, (int, float)) and v > 0 else 1.0

    def legend(self) -> dict[str, str]:
        legend = dict(DEFAULT_LEGEND)
        user = self.data.get("map", {}).get("legend", {})
        if isinstance(user, dict):
            legend.update({k: v for k, v in user.items() if isinstance(v, str) and len(k) == 1})
        return legend

    def char_for(self, kind: str) -> str | None:
        """The grid character that draws tile ``kind`` in this level (default legend first)."""
        legend = self.legend()
        for ch, k in DEFAULT_LEGEND.items():
            if k == kind and legend.get(ch) == kind:
                return ch
        for ch, k in legend.items():
            if k == kind:
                return ch
        return None

    def grid_rows(self) -> list[str]:
        """The map's rows, padded with void to equal width (as the loader reads them)."""
        grid = self.data.get("map", {}).get("grid", "")
        if not isinstance(grid, str):
            return []
        rows = [r.rstrip() for r in grid.split("\n")]
        while rows and not rows[-1]:
            rows.pop()
        while rows and not rows[0]:
            rows.pop(0)
        width = max((len(r) for r in rows), default=0)
        return [r.ljust(width) for r in rows]

    def set_grid_rows(self, rows: list[str]) -> None:
        """Write the grid back as a triple-quoted block, one row per line (trailing void trimmed)."""
        body = "\n".join(r.rstrip() for r in rows) + "\n"
        kind = StringType.MLB
        if "\\" in body or '"""' in body:
            kind = StringType.MLL  # literal ''' string: backslashes and quotes as they are
        item = String(kind, body, "\n" + body, Trivia())
        table = self.table("map")
        if "grid" in table:
            old = table.item("grid")
            item.trivia.comment_ws, item.trivia.comment = old.trivia.comment_ws, old.trivia.comment
        table["grid"] = item

    def set_cells(self, cells: list[tuple[int, int]], ch: str) -> int:
        """Set grid cells (col, row) to character ``ch``; cells outside the grid are skipped.
        Returns how many cells changed."""
        rows = [list(r) for r in self.grid_rows()]
        n = 0
        for col, row in cells:
            if 0 <= row < len(rows) and 0 <= col < len(rows[row]) and rows[row][col] != ch:
                rows[row][col] = ch
                n += 1
        if n:
            self.set_grid_rows(["".join(r) for r in rows])
        return n

    def resize_grid(self, width: int, height: int, fill: str = "#") -> None:
        """Grow or shrink the grid at its east and south edges; new cells are ``fill`` (wall: void
        at the end of a row would be trimmed away, as the loader trims it)."""
        rows = self.grid_rows()
        width, height = max(1, width), max(1, height)
        rows = [r[:width].ljust(width, fill) for r in rows[:height]]
        rows += [fill * width] * (height - len(rows))
        self.set_grid_rows(rows)

    # -- spawn -----------------------------------------------------------------------------------

    def set_spawn(self, xy: tuple[float, float], facing_deg: float | None = None) -> None:
        t = self.table("spawn")
        self.set_value(t, "at", _point(xy))
        if facing_deg is not None:
            self.set_value(t, "facing_deg", round(float(facing_deg) % 360.0, 1))

    # -- arrays of tables (zones, tours, trajectories) ---------------------------------------------

    def items(self, key: str) -> list[dict]:
        v = self.data.get(key, [])
        return v if isinstance(v, list) else []

    def _aot(self, key: str) -> AoT | None:
        v = self.doc.get(key)
        return v if isinstance(v, AoT) else None

    def item_table(self, key: str, index: int) -> Table:
        aot = self._aot(key)
        if aot is None or not 0 <= index < len(aot):
            raise IndexError(f"no {key} #{index}")
        return aot[index]

    def append_table(self, key: str, values: dict) -> int:
        """Append a ``[[key]]`` table with ``values`` (in that key order); returns its index.

        Comment lines and blank lines at the end of the previous table (which in TOML belong to it
        but a designer wrote as the heading of the next section, or as the space before the next
        table) move below the new table, so "# ---- tours" stays above [[tours]] and a table after
        the last one keeps its blank line.
        """
        table = tomlkit.table()
        for k, v in values.items():
            table[k] = v
        aot = self._aot(key)
        if aot is None:
            if key in self.doc:
                raise ValueError(f"'{key}' is not a list of [[{key}]] tables")
            self.doc.add(tomlkit.nl())
            self.doc.append(key, tomlkit.aot())
            aot = self.doc[key]
            aot.append(table)
            return 0
        prev = aot[-1]
        body = prev.value.body
        tail = []
        while body and body[-1][0] is None and isinstance(body[-1][1], (Comment, Whitespace)):
            tail.insert(0, body.pop())
        for pair in tail:  # the blank line before the next table, too
            table.value.body.append(pair)
        table.trivia.indent = "\n"  # one blank line before the new [[key]] header
        aot.append(table)
        return len(aot) - 1

    def delete_table(self, key: str, index: int) -> None:
        """Remove ``[[key]]`` #index; what ends it (a section heading comment, the blank line before
        the next table) moves to the one before."""
        aot = self._aot(key)
        if aot is None or not 0 <= index < len(aot):
            raise IndexError(f"no {key} #{index}")
        if index == len(aot) - 1 and index > 0:
            body = aot[index].value.body
            tail = []
            while body and body[-1][0] is None and isinstance(body[-1][1], (Comment, Whitespace)):
                tail.insert(0, body.pop())
            if tail:
                prev_body = aot[index - 1].value.body
                while prev_body and prev_body[-1][0] is None and isinstance(prev_body[-1][1], Whitespace):
                    prev_body.pop()
                prev_body.extend(tail)
        if len(aot) == 1:
            del self.doc[key]
        else:
            del aot[index]

    def unique_name(self, key: str, base: str) -> str:
        names = {t.get("name") for t in self.items(key) if isinstance(t, dict)}
        if base not in names:
            return base
        i = 2
        while f"{base} {i}" in names:
            i += 1
        return f"{base} {i}"

    # -- zones -----------------------------------------------------------------------------------

    def add_circle_zone(self, name: str, center, radius_m: float, falloff_m: float, anchor: Any) -> int:
        return self.append_table("zones", {
            "name": self.unique_name("zones", name), "shape": "circle", "center": _point(center),
            "radius_m": round_coord(radius_m), "falloff_m": round_coord(falloff_m), "curve": "smooth",
            "fade_s": 1.0, "anchor": anchor})

    def add_polygon_zone(self, name: str, points, falloff_m: float, anchor: Any) -> int:
        return self.append_table("zones", {
            "name": self.unique_name("zones", name), "shape": "polygon", "points": [_point(p) for p in points],
            "falloff_m": round_coord(falloff_m), "curve": "smooth", "fade_s": 1.0, "anchor": anchor})

    def set_zone_circle(self, index: int, center=None, radius_m: float | None = None) -> None:
        t = self.item_table("zones", index)
        if center is not None:
            self.set_value(t, "center", _point(center))
        if radius_m is not None:
            self.set_value(t, "radius_m", round_coord(max(0.0, radius_m)))

    def set_zone_points(self, index: int, points) -> None:
        t = self.item_table("zones", index)
        self.set_value(t, "points", [_point(p) for p in points])

    def set_zone_emitters(self, index: int, points) -> None:
        """The zone's ``emitters = [[x, y], ...]`` (the comment on its line kept)."""
        t = self.item_table("zones", index)
        self.set_value(t, "emitters", [_point(p) for p in points])

    def set_zone_shape(self, index: int, shape: str) -> None:
        """Turn a circle into a polygon (an octagon around its inner circle) or back (a circle of
        the polygon's mean vertex distance around its centroid), keeping falloff and sound."""
        t = self.item_table("zones", index)
        z = self.items("zones")[index]
        current = z.get("shape", "circle")
        if shape == current:
            return
        if shape == "polygon":
            cx, cy = z.get("center", [0.0, 0.0])
            r = max(float(z.get("radius_m", 1.0)), 0.5)
            pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in (k * math.pi / 4 + math.pi / 8 for k in range(8))]
            for key in ("center", "radius_m"):
                if key in t:
                    del t[key]
            self.set_value(t, "shape", "polygon")
            _insert_after(t, "shape", "points", [_point(p) for p in pts])
        elif shape == "circle":
            pts = z.get("points") or [[0.0, 0.0]]
            cx = sum(p[0] for p in pts) / len(pts)
            cy = sum(p[1] for p in pts) / len(pts)
            r = sum(math.hypot(p[0] - cx, p[1] - cy) for p in pts) / len(pts)
            if "points" in t:
                del t["points"]
            self.set_value(t, "shape", "circle")
            _insert_after(t, "shape", "radius_m", round_coord(r))
            _insert_after(t, "shape", "center", _point((cx, cy)))
        else:
            raise ValueError(f"unknown shape {shape!r}")

    def move_zone(self, index: int, dx: float, dy: float, original: dict) -> None:
        """Place zone ``index`` at its ``original`` (plain dict) geometry shifted by (dx, dy) m;
        its ``emitters`` points travel with it (they must stay inside it)."""
        if original.get("shape", "circle") == "polygon":
            self.set_zone_points(index, [(p[0] + dx, p[1] + dy) for p in original.get("points", [])])
        else:
            c = original.get("center", [0.0, 0.0])
            self.set_zone_circle(index, center=(c[0] + dx, c[1] + dy))
        emitters = original.get("emitters")
        if isinstance(emitters, list) and emitters:
            self.set_zone_emitters(index, [(p[0] + dx, p[1] + dy) for p in emitters])

    # -- paths -----------------------------------------------------------------------------------

    def set_path_points(self, key: str, index: int, points) -> None:
        t = self.item_table(key, index)
        arr = tomlkit.array()
        for p in points:
            arr.append(_point(p))
        if len(points) > 4:
            arr.multiline(True)
        if "points" in t:
            self.set_value(t, "points", arr)
        else:
            t["points"] = arr

    def add_tour(self, name: str, points, speed_mps: float = 1.2) -> int:
        index = self.append_table("tours", {"name": self.unique_name("tours", name), "speed_mps": speed_mps,
                                            "pause_s": 0.0})
        self.set_path_points("tours", index, points)
        return index


    def tour_to_trajectory(self, index: int) -> int:
        """Turn tour ``index`` into a trajectory on the same path, with the clip
        ``clips/<name>.npy`` (made with `memoire encode AUDIO --out clips/<name>.npy`; until it
        exists validation says so). Returns the new trajectory's index."""
        tour = self.items("tours")[index]
        name = self.unique_name("trajectories", str(tour.get("name", "trajectory")))
        points = [list(p) for p in tour.get("points", [])]
        self.delete_table("tours", index)
        new = self.append_table("trajectories", {"name": name, "clip": f"clips/{name}.npy"})
        self.set_path_points("trajectories", new, points)
        return new


def _insert_after(table: Table, after: str, key: str, value: Any) -> None:
    """Insert ``key = value`` right after ``after`` in a tomlkit table (key order matters to readers)."""
    keys = list(table.keys())
    if key in table:
        table[key] = value
        return
    if after not in keys:
        table[key] = value
        return
    # tomlkit has no insert-at; rebuild the tail after ``after`` in order.
    tail = keys[keys.index(after) + 1:]
    saved = [(k, table.item(k)) for k in tail]
    for k in tail:
        del table[k]
    table[key] = value
    for k, item in saved:
        table[k] = item
