"""The side panel's property rows: what the selected object (or, with nothing selected, the
level) shows, and what each row's <, > and value do.

``build_rows(ed)`` reads the document and returns ``Row``s; a row's actions are closures that
make one undoable edit each. Typing a new name or clip goes through ``TextEdit`` (the editor
routes keys to ``text_key`` while one is open; ``TextEdit`` itself is session state). Main
thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from memoire.editor import pathedit as pe
from memoire.editor.session import (
    EditorSession,
    TextEdit,
    default_falloff_m,
    default_radius_m,
    min_falloff_m,
)
from memoire.world.level import CURVES, FIELDS

# Steps of the < and > buttons, in the row's unit; and the limits a value is kept inside.
radius_step_m = 0.5
falloff_step_m = 0.5
priority_step = 0.25
min_priority = 0.25
fade_step_s = 0.25
min_fade_s = 0.1
speed_step_mps = 0.1
min_speed_mps = 0.1
max_speed_mps = 20.0
pause_step_s = 0.5
facing_step_deg = 15.0
smoothing_step_s = 0.1
min_smoothing_s = 0.1
gain_step_db = 1.0
min_gain_db = -60.0
max_gain_db = 12.0
unbounded = 1e9  # no limit on that side
step_decimals = 3  # a stepped value is rounded to this many decimals (no 0.30000000000000004)
max_text_chars = 60  # the longest name or clip path typed in the panel

# Defaults shown (and stepped from) when the file does not set a value: the game's defaults
# (docs/levels.md).
default_priority = 1.0
default_fade_s = 1.0
default_speed_mps = 1.2
default_pause_s = 0.0
default_smoothing_s = 0.5
default_gain_db = 0.0


class RowPart(Enum):
    """Which part of a panel row a click lands on."""

    DEC = "dec"  # its < button
    INC = "inc"  # its > button
    CLICK = "click"  # its value (text entry) or the whole row (a button row)


@dataclass
class Row:
    """One line of the side panel: a label, a value, and what clicking it does."""

    label: str
    value: str = ""
    dec: Callable[[], None] | None = None
    inc: Callable[[], None] | None = None
    click: Callable[[], None] | None = None  # a button row, or a row that starts text entry
    warn: bool = False

    def action(self, part: RowPart) -> Callable[[], None] | None:
        return {RowPart.DEC: self.dec, RowPart.INC: self.inc, RowPart.CLICK: self.click}[part]

    @property
    def heading(self) -> bool:
        """A title line (no value, nothing to click)."""
        return not self.value and not self.click and not self.dec

    @property
    def button(self) -> bool:
        """A whole-width button (no label)."""
        return bool(self.click) and not self.label

    @property
    def focusable(self) -> bool:
        return bool(self.dec or self.inc or self.click)


def build_rows(ed: EditorSession) -> list[Row]:
    sel = ed.selection
    if sel and sel[0] == "zone":
        return zone_rows(ed, sel[1])
    if sel and sel[0] == "path":
        return path_rows(ed, sel[1], sel[2])
    if sel and sel[0] == "spawn":
        return spawn_rows(ed)
    return level_rows(ed)


def number_row(ed: EditorSession, label: str, table_fn, data: dict, key: str, default: float, step: float,
               lo: float, unit: str = "", hi: float = unbounded) -> Row:
    v = data.get(key, default)
    ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    cur = float(v) if ok else default

    def change(sign):
        return lambda: ed.edit_value(f"{label} {'-' if sign < 0 else '+'}", table_fn, key,
                                     round(min(max(cur + sign * step, lo), hi), step_decimals))

    return Row(label, f"{cur:g}{unit}" if ok else f"{v!r}", change(-1), change(+1))


def cycle_row(ed: EditorSession, label: str, table_fn, data: dict, key: str, default: str, choices) -> Row:
    v = data.get(key, default)
    choices = list(choices)

    def step(d):
        def go():
            i = choices.index(v) if v in choices else -1
            ed.edit_value(f"{label}: {choices[(i + d) % len(choices)]}", table_fn, key,
                          choices[(i + d) % len(choices)])
        return go

    return Row(label, str(v), step(-1), step(+1))


def text_row(ed: EditorSession, label: str, table_fn, data: dict, key: str) -> Row:
    v = data.get(key, "")

    def start():
        ed.text_edit = TextEdit(label, table_fn, key, str(v))

    return Row(label, str(v), click=start)


def zone_rows(ed: EditorSession, i: int) -> list[Row]:
    z = ed.zone_data(i)
    t = lambda: ed.doc.item_table("zones", i)  # a table getter, read when the row is used
    rows = [Row(f"Zone {i + 1} of {len(ed.doc.items('zones'))}", ""), text_row(ed, "name", t, z, "name")]
    anchor = z.get("anchor")
    classes = list(ed.classes)
    if classes:
        def cycle(d):
            def go():
                cur = anchor if anchor in classes else None
                j = classes.index(cur) if cur is not None else -1
                ed.edit_value(f"anchor: {classes[(j + d) % len(classes)]}", t, "anchor",
                              classes[(j + d) % len(classes)])
            return go
        rows.append(Row("anchor (sound)", ed.anchor_value(z), cycle(-1), cycle(+1)))
    else:
        rows.append(Row("anchor (sound)", ed.anchor_value(z)))

    def shape(to):
        def go():
            with ed.doc.edit(f"zone shape: {to}"):
                ed.doc.set_zone_shape(i, to)
            ed.sel_vertex = None
            ed.after_change()
        return go

    cur_shape = z.get("shape", "circle")
    other = "polygon" if cur_shape == "circle" else "circle"
    rows.append(Row("shape", str(cur_shape), shape(other), shape(other)))
    if cur_shape == "circle":
        rows.append(number_row(ed, "radius_m", t, z, "radius_m", default_radius_m, radius_step_m, 0.0, " m"))
    rows.append(number_row(ed, "falloff_m", t, z, "falloff_m", default_falloff_m, falloff_step_m, min_falloff_m, " m"))
    rows.append(cycle_row(ed, "curve", t, z, "curve", "smooth", CURVES))
    rows.append(number_row(ed, "priority", t, z, "priority", default_priority, priority_step, min_priority))
    rows.append(number_row(ed, "fade_s", t, z, "fade_s", default_fade_s, fade_step_s, min_fade_s, " s"))
    rows.append(Row("emitters", emitter_words(ed, i)))
    rows.append(Row("", "delete zone (Del)", click=ed.delete_selected_zone))
    return rows


def emitter_words(ed: EditorSession, i: int) -> str:
    """Where zone ``i``'s sound comes from, for its panel row: the designer's points can be
    dragged; a centre, a nearest point or a moving one is computed, not dragged."""
    z = ed.zone_data(i)
    e = ed.zone_emitters(i)
    if e is None:
        return "?"
    if e.draggable:
        n = len(e.points)
        return f"{n} point{'s' if n != 1 else ''}: drag them"
    if e.mode == "path":
        return f"moving along '{e.path_name}' (not dragged)"
    if e.mode == "nearest":
        return "nearest to you (computed, not dragged)"
    return "its centre (computed, not dragged)"


def path_rows(ed: EditorSession, key: str, i: int) -> list[Row]:
    p = ed.doc.items(key)[i]
    t = lambda: ed.doc.item_table(key, i)
    kind = "tour" if key == "tours" else "trajectory"
    nodes = ed.path_nodes(key, i)
    rows = [Row(f"{kind.capitalize()} ({len(nodes) if nodes else '?'} points)", ""),
            text_row(ed, "name", t, p, "name")]
    if key == "tours":
        rows.append(number_row(ed, "speed_mps", t, p, "speed_mps", default_speed_mps, speed_step_mps, min_speed_mps,
                               " m/s", max_speed_mps))
        rows.append(number_row(ed, "pause_s", t, p, "pause_s", default_pause_s, pause_step_s, 0.0, " s"))
    else:
        rows.append(text_row(ed, "clip", t, p, "clip"))
    if ed.sel_node is not None and nodes is not None and ed.sel_node < len(nodes):
        n = nodes[ed.sel_node]
        rows.append(Row(f"point {ed.sel_node + 1}", "smooth" if pe.is_smooth(n) else "corner",
                        ed.toggle_selected_node, ed.toggle_selected_node))
        rows.append(Row("", "delete point (Del)", click=ed.delete_selected_path_point))
    else:
        rows.append(Row("", "delete path", click=ed.delete_selected_path_point))
    if key == "tours":
        rows.append(Row("play it", f"memoire play {ed.path.name} --tour \"{p.get('name', '')}\""))
        rows.append(Row("", "make it a trajectory (a clip along the path)",
                        click=lambda: ed.tour_to_trajectory(i)))
    return rows


def spawn_rows(ed: EditorSession) -> list[Row]:
    s = ed.doc.data.get("spawn", {})
    t = lambda: ed.doc.table("spawn")
    at = s.get("at", "?")
    return [Row("Spawn", ""), Row("at", f"{at} m"),
            number_row(ed, "facing_deg", t, s, "facing_deg", 0.0, facing_step_deg, -unbounded, " deg")]


def level_rows(ed: EditorSession) -> list[Row]:
    lv = ed.doc.data.get("level", {})
    snd = ed.doc.data.get("sound", {})
    rows = ed.doc.grid_rows()
    w, h = (len(rows[0]) if rows else 0), len(rows)
    tl = lambda: ed.doc.table("level")
    ts = lambda: ed.doc.table("sound")
    out = [Row("Level (nothing selected)", ""), text_row(ed, "name", tl, lv, "name"),
           Row("map width", f"{w} cells = {w * ed.doc.cell_m:g} m", lambda: ed.resize_map(-1, 0),
               lambda: ed.resize_map(1, 0)),
           Row("map height", f"{h} cells = {h * ed.doc.cell_m:g} m", lambda: ed.resize_map(0, -1),
               lambda: ed.resize_map(0, 1)),
           cycle_row(ed, "sound field", ts, snd, "field", "zones", FIELDS)]
    if ed.classes:
        out.append(cycle_row(ed, "rest sound", ts, snd, "rest", "courtyard", ed.classes))
    out.append(number_row(ed, "smoothing_s", ts, snd, "smoothing_s", default_smoothing_s, smoothing_step_s,
                          min_smoothing_s, " s"))
    out.append(number_row(ed, "gain_db", ts, snd, "gain_db", default_gain_db, gain_step_db, min_gain_db, " dB",
                          max_gain_db))
    ac = ed.spatial.acoustics(ed.level)
    if ac is not None:
        toggle = "R hides" if ed.show_rooms else "R shows"
        out.append(Row("rooms", f"{len(ac.rooms)}, joined by {len(ac.portals)} gates/doors ({toggle})"))
    elif ed.spatial.error:
        out.append(Row("rooms", ed.spatial.error, warn=True))
    return out


def text_key(ed: EditorSession, key: int, text: str) -> None:
    """A key while a value is being typed: Enter keeps it (one undo step), Esc drops it."""
    pg = ed.pg
    te = ed.text_edit
    if key in (pg.K_RETURN, pg.K_KP_ENTER):
        ed.text_edit = None
        value = te.text.strip()
        if value:
            ed.edit_value(f"{te.label}: {value}", te.table_fn, te.key, value)
    elif key == pg.K_ESCAPE:
        ed.text_edit = None
    elif key == pg.K_BACKSPACE:
        te.text = te.text[:-1]
    elif text and text.isprintable() and len(te.text) < max_text_chars:
        te.text += text
