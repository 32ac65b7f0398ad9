"""Input in kiosk mode: the game's event tuples, whether anyone touched anything, the quit chord.

Events are the tuples memoire/game/window.py uses: ("key", name, down), ("look", dx_px, dy_px),
("click",), ("resize", (w, h)); plus ("chord",) when the quit chord is pressed. Kiosk mode reads
pygame itself (rather than ``Window.events``) because it needs the modifier keys for the chord
and must swallow what would end or leave the game: the window's close button, Alt+F4, Esc.

What is not a visitor (``NOT_ACTIVITY``): Esc ("escape": someone trying to leave), and the keys
of the quit chord while the technician presses it ("chord key": its modifier keys, and its key
while they are held). Neither starts a takeover; every other key, a click or a real mouse
movement does.

A headless window has no input: tests and the soak harness ``inject`` events instead.
"""

from __future__ import annotations

from collections import deque

from memoire.kiosk.config import QuitChord
from memoire.game.window import KEY_NAMES

# Mouse movements smaller than this (pixels per frame) are not a visitor: a table knock or a
# sensor jitter must not start a takeover.
min_look_px = 2
# Key names that are no visitor's touch (see the module's docstring).
ESCAPE, CHORD_KEY = "escape", "chord key"
NOT_ACTIVITY = frozenset((ESCAPE, CHORD_KEY))
# pygame's names of the modifier keys, by the chord's modifier names
MODIFIER_KEYS = {"ctrl": ("left ctrl", "right ctrl"), "alt": ("left alt", "right alt"),
                 "shift": ("left shift", "right shift")}


class KioskInput:
    def __init__(self, window, chord: QuitChord):
        self.window = window
        self.chord = chord
        self.injected: deque = deque()
        self._pg = None if not hasattr(window, "pg") else window.pg

    def inject(self, event: tuple) -> None:
        """Queue an event as if it came from the window (headless tests, the soak harness)."""
        self.injected.append(event)

    def poll(self) -> tuple[list[tuple], bool, bool]:
        """(events, a visitor did something, the quit chord was pressed)."""
        events = list(self.injected)
        self.injected.clear()
        if self._pg is not None:
            events.extend(self._pygame_events())
        activity = False
        quit_ = False
        for e in events:
            kind = e[0]
            if kind == "chord":
                quit_ = True
            elif kind == "key" and e[1] not in NOT_ACTIVITY:
                activity = True
            elif kind == "click":
                activity = True
            elif kind == "look" and abs(e[1]) + abs(e[2]) >= min_look_px:
                activity = True
        return [e for e in events if e[0] != "chord"], activity, quit_

    def _pygame_events(self) -> list[tuple]:
        pg = self._pg
        out = []
        for e in pg.event.get():
            if e.type in (pg.KEYDOWN, pg.KEYUP):
                name = pg.key.name(e.key)
                mods = getattr(e, "mod", 0) or pg.key.get_mods()
                if e.type == pg.KEYDOWN and self._is_chord(name, mods):
                    out.append(("chord",))
                    continue
                mapped = KEY_NAMES.get(name)
                if mapped == ESCAPE:
                    mapped = ESCAPE
                elif self._chord_part(name, mods):
                    mapped = CHORD_KEY
                elif mapped not in ("forward", "back", "left", "right", "run"):
                    mapped = "other"
                # any other key counts as a visitor's touch; only walking keys move the player
                out.append(("key", mapped, e.type == pg.KEYDOWN))
            elif e.type == pg.MOUSEBUTTONDOWN or e.type == getattr(pg, "FINGERDOWN", -1):
                out.append(("click",))
            elif e.type == pg.MOUSEMOTION:
                out.append(("look", e.rel[0], e.rel[1]))
            elif e.type in (pg.VIDEORESIZE, getattr(pg, "WINDOWSIZECHANGED", -1)):
                self.window.size_px = pg.display.get_window_size()
                out.append(("resize", self.window.size_px))
            elif e.type == getattr(pg, "WINDOWFOCUSGAINED", -1):
                self.window.capture_mouse(True)  # a desktop pop-up took the grab: take it back
            # pg.QUIT (close button, Alt+F4) is swallowed: only the chord leaves kiosk mode
        return out

    def _chord_part(self, key_name: str, mods: int) -> bool:
        """A key of the chord being pressed: one of its modifier keys, or its key with all of them held."""
        if any(key_name in MODIFIER_KEYS[m] for m in self.chord.modifiers):
            return True
        return key_name == self.chord.key and self._mods_held(mods)

    def _mods_held(self, mods: int) -> bool:
        pg = self._pg
        held = {"ctrl": bool(mods & pg.KMOD_CTRL), "alt": bool(mods & pg.KMOD_ALT),
                "shift": bool(mods & pg.KMOD_SHIFT)}
        return all(held[m] for m in self.chord.modifiers)

    def _is_chord(self, key_name: str, mods: int) -> bool:
        return key_name == self.chord.key and self._mods_held(mods)
