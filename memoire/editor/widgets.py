"""The panel's vocabulary: what a layout is made of (shapes, text, click targets) and how each
piece paints itself, plus the text measuring the layout needs. Knows nothing of the editor.

A layout (memoire/editor/panel.py, and a tool's options) is a list of drawables and a list of
hits, computed from the editor's state before anything is drawn; clicks hit-test against the
hits; drawing paints the drawables in order. Rectangles are ``pygame.Rect`` (usable without a
window). Main thread only (pygame fonts and surfaces).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pygame

ELLIPSIS = "…"


@dataclass(frozen=True)
class Fonts:
    """The editor's three text sizes (pygame.font.Font objects)."""

    normal: pygame.font.Font
    small: pygame.font.Font
    big: pygame.font.Font


def wrap(s: str, font, width_px: int) -> list[str]:
    """``s`` broken into lines at most ``width_px`` wide (a single long word stays whole)."""
    lines, cur = [], ""
    for word in s.split(" "):
        trial = f"{cur} {word}".strip()
        if font.size(trial)[0] <= width_px or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    return lines


def ellipsize(s: str, font, width_px: int, *, step: int = 2, min_chars: int = 4) -> str:
    """``s`` cut ``step`` characters at a time (never below ``min_chars``) until it fits in
    ``width_px``, with an ellipsis when it was cut."""
    shown = s
    while font.size(shown)[0] > width_px and len(shown) > min_chars:
        shown = shown[:-step]
    return shown if shown == s else shown + ELLIPSIS


# -- drawables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fill:
    """A filled rectangle (``width_px`` > 0: only its border)."""

    rect: pygame.Rect
    rgb: tuple[int, int, int]
    radius_px: int = 0
    width_px: int = 0

    def paint(self, pg, screen) -> None:
        pg.draw.rect(screen, self.rgb, self.rect, self.width_px, border_radius=self.radius_px)


@dataclass(frozen=True)
class Text:
    """One line of text with its top-left corner at ``at``."""

    at: tuple[int, int]
    text: str
    font: pygame.font.Font
    rgb: tuple[int, int, int]

    def paint(self, pg, screen) -> None:
        screen.blit(self.font.render(self.text, True, self.rgb), self.at)


@dataclass(frozen=True)
class CentredText:
    """One line of text centred in ``rect`` (a button's label)."""

    rect: pygame.Rect
    text: str
    font: pygame.font.Font
    rgb: tuple[int, int, int]

    def paint(self, pg, screen) -> None:
        img = self.font.render(self.text, True, self.rgb)
        screen.blit(img, img.get_rect(center=self.rect.center))


@dataclass(frozen=True)
class Line:
    a: tuple[int, int]
    b: tuple[int, int]
    rgb: tuple[int, int, int]

    def paint(self, pg, screen) -> None:
        pg.draw.line(screen, self.rgb, self.a, self.b)


Drawable = Fill | Text | CentredText | Line


def paint_all(drawables, pg, screen) -> None:
    for d in drawables:
        d.paint(pg, screen)


# -- click targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """A click target: a rectangle and what a click on it does (bound when the layout is made)."""

    rect: pygame.Rect
    action: Callable[[], None]

    def activate(self) -> None:
        self.action()


@dataclass(frozen=True)
class OptionHit(Hit):
    """One of the active tool's options (a tile swatch, a zone drawing mode)."""

    value: str
