"""Scripted mouse and keyboard for the level editor (tests, and the screenshots in docs/editing.md).

Positions are given in level metres and turned into the window's pixels through the editor's
own view, so a script reads like what a designer does: "drag from (6, 6) m to (9, 6) m". Events
go straight to ``Editor.handle``, as pygame would deliver them. Set SDL_VIDEODRIVER=dummy before
opening the editor's window to run without a display.
"""

from __future__ import annotations

import pygame

from memoire.editor.rows import RowPart


class Driver:
    def __init__(self, editor):
        self.ed = editor

    def px(self, xy_m) -> tuple[int, int]:
        sx, sy = self.ed.view.to_screen(*xy_m)
        return int(round(sx)), int(round(sy))

    def move(self, xy_m, buttons=(0, 0, 0)) -> None:
        pos = self.px(xy_m)
        self.ed.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=buttons))

    def press(self, xy_m, button: int = 1, mods: int = 0) -> None:
        self.ed.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=self.px(xy_m), button=button, mods=mods))

    def release(self, xy_m, button: int = 1) -> None:
        self.ed.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=self.px(xy_m), button=button))

    def click(self, xy_m, button: int = 1, mods: int = 0) -> None:
        self.move(xy_m)
        self.press(xy_m, button, mods)
        self.release(xy_m, button)
        self.ed.last_click = (0.0, (-99, -99))  # separate clicks are never a double-click

    def drag(self, a_m, b_m, steps: int = 6, button: int = 1, mods: int = 0) -> None:
        self.move(a_m)
        self.press(a_m, button, mods)
        for k in range(1, steps + 1):
            t = k / steps
            self.move((a_m[0] + (b_m[0] - a_m[0]) * t, a_m[1] + (b_m[1] - a_m[1]) * t), buttons=(1, 0, 0))
        self.release(b_m, button)
        self.ed.last_click = (0.0, (-99, -99))

    def key(self, key: int, mod: int = 0, text: str = "") -> None:
        self.ed.handle(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=text))
        self.ed.handle(pygame.event.Event(pygame.KEYUP, key=key, mod=mod))

    def ctrl(self, key: int, shift: bool = False) -> None:
        self.key(key, pygame.KMOD_CTRL | (pygame.KMOD_SHIFT if shift else 0))

    def type(self, text: str) -> None:
        for ch in text:
            self.ed.handle(pygame.event.Event(pygame.KEYDOWN, key=0, mod=0, unicode=ch))

    def click_panel(self, label: str, part: str = "inc") -> None:
        """Click a side-panel row's < (dec), > (inc) or its value (click) by the row's label, where
        the panel's layout puts it."""
        want = RowPart(part)
        layout = self.ed.panel_layout()
        for hit in layout.row_hits:
            if (hit.row.label == label or hit.row.value == label) and hit.part is want:
                pos = hit.rect.center
                self.ed.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, mods=0))
                self.ed.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
                return
        raise AssertionError(f"no panel row {label!r} ({part}); rows: {[r.label for r in layout.rows]}")

    def frame(self, n: int = 1) -> None:
        for _ in range(n):
            self.ed.tick()
            self.ed.draw()
