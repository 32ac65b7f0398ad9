"""The side panel and the status line, laid out from the editor's state before drawing.

``layout_panel(ed, fonts, now)`` returns a ``PanelLayout``: what to paint (widgets.py's
drawables, in order) and where clicks land (its hits: the tool buttons, the active tool's
options, the property rows' parts, the problems). A click hit-tests a fresh layout
(``PanelLayout.hit``); drawing paints one (``widgets.paint_all``): the two never disagree, and
the panel can be clicked in tests without drawing. ``layout_status`` does the same for the
status line (text only).

Top to bottom: the file name and whether it plays, the tool buttons, the tool's options and
help, the selection's properties (memoire/editor/rows.py), the problems (or how to play the
level), the keys that work everywhere. Main thread only (pygame fonts measure the text).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from memoire.editor.rows import Row, RowPart, build_rows
from memoire.editor.session import EditorSession
from memoire.editor.style import (
    ACCENT_RGB,
    BUTTON_ON_RGB,
    BUTTON_RGB,
    DELETE_BUTTON_RGB,
    DIM_RGB,
    FOCUS_RGB,
    NO_PROBLEMS_RGB,
    PANEL_RGB,
    PROBLEM_RGB,
    PROBLEM_TEXT_RGB,
    READY_RGB,
    SEPARATOR_RGB,
    STATUS_BG_RGB,
    STEP_BUTTON_RGB,
    TEXT_EDIT_RGB,
    TEXT_RGB,
    WARN_RGB,
    panel_width_px,
    status_height_px,
)
from memoire.editor.widgets import (
    CentredText,
    Fill,
    Fonts,
    Hit,
    Line,
    Text,
    ellipsize,
    wrap,
)

COMMON_HELP = ("Hold Space: hear the mouse position, facing north (L: on/off). O: colour field. R: rooms. "
               "Ctrl+Z / Ctrl+Y: undo / redo. "
               "Ctrl+S: save. Wheel: zoom. Right or middle drag, arrows: pan. F: fit.")

# -- panel geometry (pixels) ------------------------------------------------------------------------
pad_px = 12  # left and right margin inside the panel
top_px = 10
title_gap_px = 2
state_gap_px = 8
tools_per_row = 3
tool_gap_px = 4
tool_button_height_px = 24
tool_row_px = 28  # from one row of tool buttons to the next
tool_button_radius_px = 4
tools_gap_px = 6  # under the tool buttons
section_gap_px = 10  # before a separator line
separator_gap_px = 8  # after a separator line (and before one, between rows and problems)
row_height_px = 22
row_gap_px = 2
heading_dy_px = 3  # a heading row's text sits this far below the row's top
text_dy_px = 4  # a label's or value's text
value_x_px = 110  # values start this far right of the labels
step_button_px = 20  # a row's < and > buttons are this wide
step_button_radius_px = 3
step_value_dx_px = 26  # a stepped value starts this far right of its < button
step_value_margin_px = 160  # width lost to the label and both buttons
value_margin_px = 112  # width lost to the label
edit_margin_px = 110
edit_inset_px = 2  # a text field (and a value's click area) starts this far left of the value
button_radius_px = 4
caret_hz = 2.0  # the text caret blinks at this rate (on half the time)
problem_indent_px = 6
problem_wrap_margin_px = 8  # a problem's lines are this much narrower than the panel
problem_gap_px = 4
problems_title_gap_px = 4
problem_line_px = 14  # stop listing problems when less than this is left
panel_bottom_margin_px = 8
help_bottom_px = 16  # the last help line ends at least this far above the status line

# -- status line --------------------------------------------------------------------------------------
status_x_px = 8
status_dy_px = 6
status_right_px = 430  # a message may use the whole width but this much (the mouse position's place)
status_step = 4  # a long message loses this many characters at a time until it fits
status_min_chars = 10
SOUND_STATUS = {"on": "sound ON", "starting": "sound starting…", "failed": "no sound", "off": "", "paused": ""}


@dataclass(frozen=True)
class ToolHit(Hit):
    """A tool button: a click picks the tool."""

    tool: str


@dataclass(frozen=True)
class RowHit(Hit):
    """A part of a property row: its <, its > or its value; a click focuses the row and does it."""

    row: Row
    part: RowPart


@dataclass(frozen=True)
class ProblemHit(Hit):
    """A problem in the list: a click shows what it names (``target``: see problem_target)."""

    target: tuple | None


@dataclass
class PanelLayout:
    """The panel as laid out: drawables in paint order, click targets, the rows shown."""

    drawables: list = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    focus: int = 0  # the focused row (, and . change it), clamped to the rows shown

    def hit(self, pos) -> Hit | None:
        """The click target under a window position."""
        for h in self.hits:
            if h.rect.collidepoint(pos):
                return h
        return None

    def of_type(self, kind) -> list:
        return [h for h in self.hits if isinstance(h, kind)]

    @property
    def tool_buttons(self) -> list[ToolHit]:
        return self.of_type(ToolHit)

    @property
    def row_hits(self) -> list[RowHit]:
        return self.of_type(RowHit)

    @property
    def problems(self) -> list[ProblemHit]:
        return self.of_type(ProblemHit)


def layout_panel(ed: EditorSession, fonts: Fonts, now: float | None = None) -> PanelLayout:
    now = time.perf_counter() if now is None else now
    Rect = ed.pg.Rect
    out = PanelLayout()
    add = out.drawables.append

    def text(s: str, at, font, rgb) -> int:
        add(Text(at, s, font, rgb))
        return font.size(s)[1]

    W, H = ed.size_px
    x0 = W - panel_width_px
    add(Fill(Rect(x0, 0, panel_width_px, H - status_height_px), PANEL_RGB))
    x, y = x0 + pad_px, top_px
    inner = panel_width_px - 2 * pad_px
    title = f"{ed.path.name}{' *' if ed.doc.dirty else ''}"
    y += text(title, (x, y), fonts.big, TEXT_RGB) + title_gap_px
    state = "ready to play" if ed.playable else (f"{len(ed.problems)} problem(s)" if ed.problems else "")
    y += text(state, (x, y), fonts.small, READY_RGB if ed.playable else PROBLEM_RGB) + state_gap_px
    # the tools
    bw = (inner - (tools_per_row - 1) * tool_gap_px) // tools_per_row
    for k, (name, tool) in enumerate(ed.tools.items()):
        r = Rect(x + (k % tools_per_row) * (bw + tool_gap_px), y + (k // tools_per_row) * tool_row_px, bw,
                 tool_button_height_px)
        add(Fill(r, BUTTON_ON_RGB if name == ed.tool else BUTTON_RGB, radius_px=tool_button_radius_px))
        add(CentredText(r, tool.label, fonts.small, TEXT_RGB))
        out.hits.append(ToolHit(r, _bind(ed.set_tool, name), name))
    y += math.ceil(len(ed.tools) / tools_per_row) * tool_row_px + tools_gap_px
    # the active tool's options and help
    opts = ed.active_tool.options(ed, x, y, inner, fonts)
    out.drawables += opts.drawables
    out.hits += opts.hits
    y = opts.bottom_px
    for line in wrap(ed.active_tool.help, fonts.small, inner):
        y += text(line, (x, y), fonts.small, DIM_RGB)
    y += section_gap_px
    add(Line((x, y), (x + inner, y), SEPARATOR_RGB))
    y += separator_gap_px
    # the selection's properties
    out.rows = build_rows(ed)
    out.focus = min(ed.panel_focus, max(0, len(out.rows) - 1))
    for idx, row in enumerate(out.rows):
        y = _layout_row(ed, out, row, idx, x, y, inner, fonts, now)
    y += separator_gap_px
    add(Line((x, y), (x + inner, y), SEPARATOR_RGB))
    y += separator_gap_px
    # the problems
    if ed.problems:
        y += text(f"Problems ({len(ed.problems)}) - click one to show it", (x, y), fonts.normal,
                  PROBLEM_RGB) + problems_title_gap_px
        bottom = H - status_height_px - panel_bottom_margin_px
        for p in ed.problems:
            msg = f"{p.where}: {p.message}" if p.where else p.message
            top = y
            for line in wrap(msg, fonts.small, inner - problem_wrap_margin_px):
                if y > bottom - problem_line_px:
                    break
                y += text(line, (x + problem_indent_px, y), fonts.small, PROBLEM_TEXT_RGB)
            target = ed.problem_target(p)
            out.hits.append(ProblemHit(Rect(x, top, inner, y - top), _bind(ed.go_to, target), target))
            y += problem_gap_px
            if y > bottom - problem_line_px:
                break
    else:
        for line in wrap("No problems: `memoire play " + ed.path.name + "` plays this level; a running "
                         "game picks up each save within a second.", fonts.small, inner):
            y += text(line, (x, y), fonts.small, NO_PROBLEMS_RGB)
    y += panel_bottom_margin_px
    for line in wrap(COMMON_HELP, fonts.small, inner):
        if y > H - status_height_px - help_bottom_px:
            break
        y += text(line, (x, y), fonts.small, DIM_RGB)
    return out


def _bind(fn, arg):
    return lambda: fn(arg)


def _row_action(ed: EditorSession, row: Row, idx: int, part: RowPart):
    """A click on a row's part: the row gets the focus (, and . then step it), then its action."""
    def go():
        ed.panel_focus = idx
        fn = row.action(part)
        if fn:
            fn()
    return go


def _layout_row(ed: EditorSession, out: PanelLayout, row: Row, idx: int, x: int, y: int, inner: int,
                fonts: Fonts, now: float) -> int:
    """Row ``idx`` at y: a heading, a whole-width button, or label + value (with < and > when it
    steps, a text field when it is typed). Returns the next row's y."""
    Rect = ed.pg.Rect
    add = out.drawables.append
    rh = row_height_px

    def hit(rect, part: RowPart) -> RowHit:
        return RowHit(rect, _row_action(ed, row, idx, part), row, part)

    if idx == out.focus and row.focusable:
        add(Fill(Rect(x, y, inner, rh), FOCUS_RGB))
    if row.heading:
        add(Text((x, y + heading_dy_px), row.label, fonts.normal, ACCENT_RGB))
    elif row.button:
        b = Rect(x, y, inner, rh - row_gap_px)
        add(Fill(b, DELETE_BUTTON_RGB if "delete" in row.value else BUTTON_RGB, radius_px=button_radius_px))
        add(CentredText(b, row.value, fonts.small, TEXT_RGB))
        out.hits.append(hit(b, RowPart.CLICK))
    else:
        add(Text((x, y + text_dy_px), row.label, fonts.small, DIM_RGB))
        vx = x + value_x_px
        value = row.value
        te = ed.text_edit
        if te is not None and row.click and te.label == row.label:
            value = te.text + ("|" if int(now * caret_hz) % 2 else " ")
            add(Fill(Rect(vx - edit_inset_px, y, inner - edit_margin_px, rh - row_gap_px), TEXT_EDIT_RGB))
        if row.dec or row.inc:
            dec = Rect(vx, y, step_button_px, rh - row_gap_px)
            inc = Rect(x + inner - step_button_px, y, step_button_px, rh - row_gap_px)
            for r, s, part in ((dec, "<", RowPart.DEC), (inc, ">", RowPart.INC)):
                add(Fill(r, STEP_BUTTON_RGB, radius_px=step_button_radius_px))
                add(CentredText(r, s, fonts.normal, TEXT_RGB))
                out.hits.append(hit(r, part))
            add(Text((vx + step_value_dx_px, y + text_dy_px), ellipsize(value, fonts.small, inner - step_value_margin_px),
                     fonts.small, TEXT_RGB))
        else:
            add(Text((vx, y + text_dy_px), ellipsize(value, fonts.small, inner - value_margin_px), fonts.small,
                     TEXT_RGB))
            if row.click:
                out.hits.append(hit(Rect(vx - edit_inset_px, y, inner - edit_margin_px, rh), RowPart.CLICK))
    return y + rh + row_gap_px


def layout_status(ed: EditorSession, fonts: Fonts, now: float | None = None) -> list:
    """The status line: the latest message on the left (orange when it is a warning); the mouse
    position, its cell, the sound and the terrain training on the right."""
    now = time.perf_counter() if now is None else now
    W, H = ed.size_px
    y0 = H - status_height_px
    out = [Fill(ed.pg.Rect(0, y0, W, status_height_px), STATUS_BG_RGB)]
    live = [(t, warn) for t, until, warn in ed.messages if until > now]
    if live:
        t, warn = live[-1]
        shown = ellipsize(t, fonts.normal, W - status_right_px, step=status_step, min_chars=status_min_chars)
        out.append(Text((status_x_px, y0 + status_dy_px), shown, fonts.normal, WARN_RGB if warn else TEXT_RGB))
    mx, my = ed.world(ed.mouse_px)
    cell = ed.doc.cell_m
    col, row = math.floor(mx / cell), math.floor(my / cell)
    rows = ed.doc.grid_rows()
    inside = 0 <= row < len(rows) and 0 <= col < len(rows[row])
    kind = ed.doc.legend().get(rows[row][col], "?") if inside else "outside"
    parts = [f"x {mx:.1f} m  y {my:.1f} m  cell {col},{row} {kind}"]
    snd = SOUND_STATUS.get(ed.sound.state, "")
    if snd:
        parts.append(snd)
    prog = ed.terrain.progress
    if prog is not None:
        parts.append(f"terrain {prog * 100:.0f}%")
    right = "   ".join(parts)
    w = fonts.normal.size(right)[0]
    out.append(Text((W - w - status_x_px, y0 + status_dy_px), right, fonts.normal, DIM_RGB))
    return out
