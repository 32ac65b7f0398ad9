"""2D overlays drawn over the 3D view: the minimap, on-screen messages, the zone line and the
visitor's hints (``banner_rgba``: large text centred low on a soft backdrop, scaled to the window).

Each overlay is an RGBA uint8 array (h, w, 4) with a pixel position; the renderer composites
them. Text is rendered with pygame.font (works without a display; the font is pygame's own, so
every machine draws the same letters).
"""

from __future__ import annotations

import numpy as np

from memoire.world.level import Level

margin_px = 12
text_px = 18
message_background = (0, 0, 0, 150)
TEXT_RGB = (245, 240, 225)  # warm white: the colour of every HUD text
# Hints and the kiosk's invitation: text this fraction of the window's height, centred low
# (its middle at ``banner_centre``), on a dark backdrop that fades out over ``feather`` of its
# padding so it sits softly on the picture.
banner_text_frac = 1 / 18  # 40 px at 720, 60 px at 1080: legible from a few metres
banner_centre = 0.8
banner_alpha = 150
banner_feather = 0.9
# The minimap follows the window's height: the game's pixels per metre at 720 px (4: 288 px wide
# for the 72 m gallery), 6 at 1080, 1.5 at 270, never under ``minimap_least_px_per_m``.
minimap_reference_height_px = 720
minimap_least_px_per_m = 1.5

_fonts: dict[int, object] = {}


def font(px: int):
    """pygame's own font at ``px`` pixels (cached)."""
    import pygame

    px = max(8, int(px))
    f = _fonts.get(px)
    if f is None:
        if not pygame.font.get_init():
            pygame.font.init()
        f = _fonts[px] = pygame.font.Font(None, px)
    return f


def surface_rgba(surf) -> np.ndarray:
    """A pygame surface as an (h, w, 4) uint8 RGBA array (straight alpha)."""
    import pygame

    rgb = pygame.surfarray.array3d(surf)
    alpha = pygame.surfarray.array_alpha(surf)
    return np.ascontiguousarray(np.dstack([rgb, alpha]).transpose(1, 0, 2), dtype=np.uint8)


def line_rgba(text: str, px: int, rgb=TEXT_RGB) -> np.ndarray:
    """One line of antialiased text, (h, w, 4) uint8, transparent around the letters."""
    return surface_rgba(font(px).render(text[:200] or " ", True, rgb))


def over(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """Composite straight-alpha ``src`` onto straight-alpha ``dst`` (both uint8 RGBA) in place at
    (x, y), clipped to ``dst``."""
    h, w = src.shape[:2]
    H, W = dst.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return
    s = src[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32) / 255.0
    d = dst[y0:y1, x0:x1].astype(np.float32) / 255.0
    sa, da = s[..., 3:], d[..., 3:]
    a = sa + da * (1.0 - sa)
    rgb = (s[..., :3] * sa + d[..., :3] * da * (1.0 - sa)) / np.maximum(a, 1e-6)
    dst[y0:y1, x0:x1] = np.clip(np.concatenate([rgb, a], axis=-1) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def soft_backdrop(w: int, h: int, pad_px: int, alpha: int = banner_alpha) -> np.ndarray:
    """A dark (h, w, 4) panel, opaque to ``alpha`` in its middle, fading to nothing at its edges
    over ``banner_feather`` of ``pad_px``: text on it reads on any picture without a hard box."""
    feather = max(1.0, pad_px * banner_feather)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx = np.maximum(np.maximum(pad_px - xx, xx - (w - 1 - pad_px)), 0.0)
    dy = np.maximum(np.maximum(pad_px - yy, yy - (h - 1 - pad_px)), 0.0)
    u = np.clip(1.0 - np.hypot(dx, dy) / feather, 0.0, 1.0)
    a = (u * u * (3.0 - 2.0 * u)) * alpha  # smoothstep
    out = np.zeros((h, w, 4), np.uint8)
    out[..., :3] = (12, 10, 16)
    out[..., 3] = np.round(a).astype(np.uint8)
    return out


def banner_rgba(lines: list[tuple[str, float]], window_px: tuple[int, int], *,
                backdrop: int = banner_alpha) -> np.ndarray:
    """Lines of text centred on one another over a soft backdrop. Each line is (text, size as a
    fraction of ``banner_text_frac`` x the window's height: 1.0 is the invitation's size)."""
    H = window_px[1]
    rendered = []
    for text, scale in lines:
        px = max(14, round(H * banner_text_frac * scale))
        rgb = TEXT_RGB if scale >= 0.75 else (225, 218, 205)
        rendered.append(line_rgba(text, px, rgb))
    base_px = max(14, round(H * banner_text_frac))
    pad = max(10, round(base_px * 0.8))
    gap = max(2, base_px // 6)
    w = min(window_px[0], max(r.shape[1] for r in rendered) + 2 * pad)
    h = sum(r.shape[0] for r in rendered) + gap * (len(rendered) - 1) + 2 * pad
    out = soft_backdrop(w, h, pad, backdrop)
    y = pad
    for r in rendered:
        shadow = r.copy()
        shadow[..., :3] = 0
        shadow[..., 3] = (shadow[..., 3].astype(np.uint16) * 2 // 3).astype(np.uint8)
        x = (w - r.shape[1]) // 2
        off = max(1, r.shape[0] // 24)
        over(out, shadow, x + off, y + off)
        over(out, r, x, y)
        y += r.shape[0] + gap
    return out


def place_low(img: np.ndarray, window_px: tuple[int, int], centre: float = banner_centre) -> tuple[int, int]:
    """(x, y) that centres ``img`` across the window with its middle at ``centre`` of the height."""
    h, w = img.shape[:2]
    W, H = window_px
    y = min(max(0, round(H * centre - h / 2)), max(0, H - h))
    return (W - w) // 2, y


def text_rgba(lines: list[str], width_limit_px: int) -> np.ndarray | None:
    import pygame

    if not lines:
        return None
    f = font(text_px + 6)
    rendered = []
    for text in lines:
        for line in text.splitlines():
            rendered.append(f.render(line[:200], True, TEXT_RGB))
    w = min(width_limit_px, max(s.get_width() for s in rendered) + 2 * margin_px)
    h = sum(s.get_height() for s in rendered) + 2 * margin_px
    surf = pygame.Surface((w, h), pygame.SRCALPHA)
    surf.fill(message_background)
    y = margin_px
    for s in rendered:
        surf.blit(s, (margin_px, y))
        y += s.get_height()
    return surface_rgba(surf)


def minimap_scale(window_px: tuple[int, int], px_per_m_at_720: float = 4.0) -> float:
    """Minimap pixels per metre for a window: the map keeps its share of the window's height."""
    return max(minimap_least_px_per_m, px_per_m_at_720 * window_px[1] / minimap_reference_height_px)


class _Cached:
    """One overlay picture, remade only when its key changes."""

    def __init__(self):
        self.key = object()
        self.img = None

    def get(self, key, make):
        if key != self.key:
            self.key, self.img = key, make()
        return self.img


class Hud:
    def __init__(self, level: Level, px_per_m: float):
        self.px_per_m = px_per_m
        self.set_level(level)
        self._terrain_rgb = None
        self._text = _Cached()
        self._zone = _Cached()
        self._hint = _Cached()

    def set_level(self, level: Level, field_rgb: np.ndarray | None = None) -> None:
        from memoire.render.minimap import minimap_image

        self.level = level
        # zone names where they fit: under 3 px/m (a window under ~540 px high) they would overlap
        self.minimap_base = minimap_image(level, self.px_per_m, field_rgb=field_rgb, names=self.px_per_m >= 3.0,
                                          north=True)

    def set_terrain(self, field_rgb: np.ndarray | None, level: Level) -> None:
        """Show the latent field (an (h, w, 3) uint8 picture over the level) under the minimap."""
        self.set_level(level, field_rgb)

    def overlays(self, player, window_px: tuple[int, int], *, show_minimap: bool, messages: list[str],
                 terrain_progress: float | None, zone_line: str | None = None,
                 hint: list[tuple[str, float]] | None = None):
        """The minimap (top right), ``zone_line`` (top left: the zone the player stands in), the
        messages (bottom left) and ``hint`` (``banner_rgba`` lines, centred low)."""
        out = []
        if show_minimap:
            from memoire.render.minimap import stamp_player

            img = stamp_player(self.minimap_base, player.x_m, player.y_m, player.heading_rad, self.px_per_m)
            out.append((img, window_px[0] - img.shape[1] - margin_px, margin_px))
        if zone_line:
            img = self._zone.get(zone_line, lambda: text_rgba([zone_line], window_px[0] // 2))
            out.append((img, margin_px, margin_px))
        if hint:
            key = (tuple(hint), tuple(window_px))
            img = self._hint.get(key, lambda: banner_rgba(hint, window_px))
            out.append((img, *place_low(img, window_px)))
        lines = list(messages)
        if terrain_progress is not None:
            lines.append(f"shaping the latent terrain... {terrain_progress * 100:.0f}%")
        text = self._text.get(tuple(lines), lambda: text_rgba(lines, window_px[0] - 2 * margin_px))
        if text is not None:
            out.append((text, margin_px, window_px[1] - text.shape[0] - margin_px))
        return out
