"""2D overlays drawn over the 3D view: the minimap and on-screen messages.

Each overlay is an RGBA uint8 array (h, w, 4) with a pixel position; the renderer composites
them. Text is rendered with pygame.font (works without a display).
"""

from __future__ import annotations

import numpy as np

from memoire.world.level import Level

margin_px = 12
text_px = 18
message_background = (0, 0, 0, 150)


def text_rgba(lines: list[str], width_limit_px: int) -> np.ndarray | None:
    import pygame

    if not lines:
        return None
    font = pygame.font.Font(None, text_px + 6)
    rendered = []
    for text in lines:
        for line in text.splitlines():
            rendered.append(font.render(line[:200], True, (245, 240, 225)))
    w = min(width_limit_px, max(s.get_width() for s in rendered) + 2 * margin_px)
    h = sum(s.get_height() for s in rendered) + 2 * margin_px
    surf = pygame.Surface((w, h), pygame.SRCALPHA)
    surf.fill(message_background)
    y = margin_px
    for s in rendered:
        surf.blit(s, (margin_px, y))
        y += s.get_height()
    arr = pygame.surfarray.pixels_alpha(surf)
    rgba = np.dstack([pygame.surfarray.array3d(surf), np.array(arr)]).transpose(1, 0, 2)
    del arr
    return np.ascontiguousarray(rgba, dtype=np.uint8)


class Hud:
    def __init__(self, level: Level, px_per_m: float):
        self.px_per_m = px_per_m
        self.set_level(level)
        self._terrain_rgb = None
        self._text_cache: tuple[tuple, np.ndarray | None] = ((), None)

    def set_level(self, level: Level, field_rgb: np.ndarray | None = None) -> None:
        from memoire.render.minimap import minimap_image

        self.level = level
        self.minimap_base = minimap_image(level, self.px_per_m, field_rgb=field_rgb)

    def set_terrain(self, field_rgb: np.ndarray | None, level: Level) -> None:
        """Show the latent field (an (h, w, 3) uint8 picture over the level) under the minimap."""
        self.set_level(level, field_rgb)

    def overlays(self, player, window_px: tuple[int, int], *, show_minimap: bool, messages: list[str],
                 terrain_progress: float | None):
        out = []
        if show_minimap:
            from memoire.render.minimap import stamp_player

            img = stamp_player(self.minimap_base, player.x_m, player.y_m, player.heading_rad, self.px_per_m)
            out.append((img, window_px[0] - img.shape[1] - margin_px, margin_px))
        lines = list(messages)
        if terrain_progress is not None:
            lines.append(f"shaping the latent terrain... {terrain_progress * 100:.0f}%")
        key = tuple(lines)
        if key != self._text_cache[0]:
            self._text_cache = (key, text_rgba(lines, window_px[0] - 2 * margin_px))
        text = self._text_cache[1]
        if text is not None:
            out.append((text, margin_px, window_px[1] - text.shape[0] - margin_px))
        return out
