"""Drawing on the editor's window: text with a shadow, marker squares (pygame primitives).

A ``Canvas`` wraps the window surface, pygame and the fonts; the map painter
(memoire/editor/scene.py) and the tools' overlays draw through it. Main thread only.
"""

from __future__ import annotations

from memoire.editor.style import OUTLINE_RGB
from memoire.editor.widgets import Fonts

shadow_offset_px = 1  # map labels have a dark copy this far down and right, readable on any ground
marker_rim_px = 2  # the dark rim around a marker square, each side


class Canvas:
    def __init__(self, pg, screen, fonts: Fonts):
        self.pg = pg
        self.screen = screen
        self.fonts = fonts

    def text(self, s: str, at, font, colour, shadow: bool = False) -> int:
        """Draw one line of text at ``at`` (top-left); returns its height in pixels."""
        if shadow:
            self.screen.blit(font.render(s, True, OUTLINE_RGB), (at[0] + shadow_offset_px, at[1] + shadow_offset_px))
        img = font.render(s, True, colour)
        self.screen.blit(img, at)
        return img.get_height()

    def marker_square(self, centre, size_px: int, fill) -> None:
        """A square point marker (a path point, a zone handle) with a dark rim."""
        rect = self.pg.Rect(0, 0, size_px, size_px)
        rect.center = (int(centre[0]), int(centre[1]))
        self.pg.draw.rect(self.screen, OUTLINE_RGB, rect.inflate(2 * marker_rim_px, 2 * marker_rim_px))
        self.pg.draw.rect(self.screen, fill, rect)
