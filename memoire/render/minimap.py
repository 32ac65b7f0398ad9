"""The minimap: a top-down picture of the level with its sound zones (pure numpy).

``minimap_image`` is made once per level (and when the latent-field picture changes);
``stamp_player`` copies it and draws the player each frame, touching only a few pixels.
Images are (h, w, 4) uint8 RGBA, straight alpha, top row = the north edge (y = 0), column 0 =
the west edge (x = 0); pixel (row, col) covers level point ((col + 0.5) / px_per_m,
(row + 0.5) / px_per_m).
"""

from __future__ import annotations

import math

import numpy as np

from memoire.world.level import Circle, Level
from memoire.render.palette import BENCH_RGB, LANTERN_RGB, TILE_RGB, TREE_RGB
from memoire.render.zones import pixel_centres, zone_colour, zone_fields, zone_tint

# sRGB 0..255 colours of the map: tiles and props from the shared palette (also the editor's)
PLAYER_RGB = (255, 214, 40)  # bright yellow: visible on paving, grass and every zone colour
OUTLINE_RGB = (20, 20, 20)
MAP_ALPHA = 245  # nearly opaque: the map reads over any picture (a hint of the view shows through)
FIELD_ALPHA = 0.55  # default opacity of a latent-field picture over the walkable ground
ZONE_FILL_SCALE = 0.6  # zone fills at 60 % of the 3D hint's opacity
FRAME_RGB = (245, 240, 225)  # a thin light frame around the map, and the north marker's letter
NORTH_DISC_RGB = (24, 22, 30)
LABEL_STROKE_RGB = (16, 14, 20)
TREE_RADIUS_M = 1.1
LANTERN_RADIUS_M = 0.35
BENCH_RADIUS_M = 0.45
PLAYER_RADIUS_M = 0.8
HEADING_TICK_M = 2.6


def _tile_kinds_at_pixels(level: Level, px_per_m: float) -> np.ndarray:
    tiles = level.tiles
    xy = pixel_centres(level, px_per_m)
    cols = np.clip((xy[..., 0] // tiles.cell_m).astype(int), 0, tiles.width - 1)
    rows = np.clip((xy[..., 1] // tiles.cell_m).astype(int), 0, tiles.height - 1)
    return tiles.kinds()[rows, cols]


def _resize_nearest(img: np.ndarray, h: int, w: int) -> np.ndarray:
    rows = np.minimum((np.arange(h) + 0.5) * img.shape[0] / h, img.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(w) + 0.5) * img.shape[1] / w, img.shape[1] - 1).astype(int)
    return img[rows[:, None], cols[None, :]]


def _disc(rgb: np.ndarray, xy_m: tuple[float, float], radius_m: float, px_per_m: float, colour) -> None:
    """Paint a filled disc (in place) on an (h, w, 3) float image."""
    cx, cy = xy_m[0] * px_per_m, xy_m[1] * px_per_m
    r = max(radius_m * px_per_m, 0.75)
    h, w = rgb.shape[:2]
    r0, r1 = max(int(cy - r - 1), 0), min(int(cy + r + 2), h)
    c0, c1 = max(int(cx - r - 1), 0), min(int(cx + r + 2), w)
    if r0 >= r1 or c0 >= c1:
        return
    yy, xx = np.mgrid[r0:r1, c0:c1]
    d = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)
    cover = np.clip(r + 0.5 - d, 0.0, 1.0)[..., None]
    rgb[r0:r1, c0:c1] = rgb[r0:r1, c0:c1] * (1 - cover) + np.asarray(colour, dtype=np.float64) * cover


def minimap_image(level: Level, px_per_m: float, *, zones: bool = True, names: bool = False,
                  field_rgb: np.ndarray | None = None, field_alpha: float = FIELD_ALPHA,
                  north: bool = False) -> np.ndarray:
    """The level seen from above, (h, w, 4) uint8 RGBA at ``px_per_m`` pixels per metre.

    zones: draw each sound zone in its colour (as the 3D zone hint), stronger in its inner region.
    names: write zone names at their centres, in a light tint of the zone's colour with a dark
        outline (``label_box`` says where each goes).
    north: a north marker (an arrow and "N" on a dark disc) in the top-left corner and a thin
        frame around the map (``north_marker_box``).
    field_rgb: an (fh, fw, 3) uint8 picture of the latent field over the whole level rectangle
        (row 0 = north), drawn over the walkable ground under the zones, at ``field_alpha``.
    """
    if px_per_m <= 0:
        raise ValueError(f"px_per_m must be > 0, got {px_per_m}")
    kinds = _tile_kinds_at_pixels(level, px_per_m)
    h, w = kinds.shape
    rgb = np.zeros((h, w, 3), dtype=np.float64)
    for kind, colour in TILE_RGB.items():
        rgb[kinds == kind] = colour
    walkable = ~np.isin(kinds, ["wall", "house", "void"])
    if field_rgb is not None:
        field = np.asarray(field_rgb)
        if field.ndim != 3 or field.shape[2] != 3:
            raise ValueError(f"field_rgb must be an (h, w, 3) image, got shape {field.shape}")
        layer = _resize_nearest(field.astype(np.float64), h, w)
        rgb[walkable] = rgb[walkable] * (1 - field_alpha) + layer[walkable] * field_alpha
    if zones and level.zones:
        # a lighter fill than the 3D hint (the map must stay readable) and a line around each
        # zone's inner region
        fields = zone_fields(level, px_per_m)
        tint = zone_tint(level, px_per_m, fields).astype(np.float64) * ZONE_FILL_SCALE  # premultiplied, 0..1
        over = rgb * (1.0 - tint[..., 3:]) + 255.0 * tint[..., :3]
        rgb[walkable] = over[walkable]
        for i, (_, inner) in enumerate(fields):
            edge = inner & ~(np.roll(inner, 1, 0) & np.roll(inner, -1, 0) & np.roll(inner, 1, 1) & np.roll(inner, -1, 1))
            edge &= walkable
            rgb[edge] = np.asarray(zone_colour(i)) * 255.0 * 0.75
    marks = {"tree": (TREE_RADIUS_M, TREE_RGB), "lantern": (LANTERN_RADIUS_M, LANTERN_RGB),
             "bench": (BENCH_RADIUS_M, BENCH_RGB)}
    for prop in level.all_props():
        if prop.kind in marks:  # the map marks what stands in the way; bicycles, lines, flocks are not drawn
            radius, colour = marks[prop.kind]
            _disc(rgb, prop.at, radius, px_per_m, colour)
    alpha = np.where(kinds == "void", 0, MAP_ALPHA).astype(np.uint8)
    out = np.concatenate([np.clip(rgb.round(), 0, 255).astype(np.uint8), alpha[..., None]], axis=-1)
    if names and level.zones:
        out = _write_names(out, level, px_per_m)
    if north:
        out = _frame_and_north(out, px_per_m)
    return out


def label_px(px_per_m: float) -> int:
    """The zone labels' letter size: 12 px on the 4 px/m map, growing with it."""
    return max(10, round(3.0 * px_per_m))


def _label_font(px_per_m: float):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=label_px(px_per_m))  # Pillow's scalable font (FreeType)
    except (TypeError, OSError):  # an old Pillow or one without FreeType: the small bitmap font
        return ImageFont.load_default()


def zone_centre(zone) -> tuple[float, float]:
    """Where a zone's label goes (level metres): a circle's centre, a polygon's bounding box's."""
    if isinstance(zone.shape, Circle):
        return tuple(zone.shape.center)
    x0, y0, x1, y1 = zone.shape.bounds()
    return (x0 + x1) / 2, (y0 + y1) / 2


def label_box(level: Level, px_per_m: float, index: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of zone ``index``'s label on the map."""
    from PIL import Image, ImageDraw

    zone = level.zones[index]
    draw = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    font = _label_font(px_per_m)
    stroke = _stroke_px(px_per_m)
    l, t, r, b = draw.textbbox((0, 0), zone.name, font=font, stroke_width=stroke)
    cx, cy = zone_centre(zone)
    x, y = round(cx * px_per_m - (r - l) / 2 - l), round(cy * px_per_m - (b - t) / 2 - t)
    return x + l, y + t, x + r, y + b


def _stroke_px(px_per_m: float) -> int:
    return max(1, round(label_px(px_per_m) / 7))


def _write_names(img: np.ndarray, level: Level, px_per_m: float) -> np.ndarray:
    from PIL import Image, ImageDraw  # Pillow is a dependency; only needed for labels

    pic = Image.fromarray(img, "RGBA")
    draw = ImageDraw.Draw(pic)
    font = _label_font(px_per_m)
    stroke = _stroke_px(px_per_m)
    for i, zone in enumerate(level.zones):
        # the zone's colour, lightened toward white: it names its colour on the map and reads on it
        fill = tuple(int(round(255 * (0.45 * c + 0.55))) for c in zone_colour(i)) + (255,)
        left, top, _, _ = label_box(level, px_per_m, i)
        l, t, _, _ = draw.textbbox((0, 0), zone.name, font=font, stroke_width=stroke)
        draw.text((left - l, top - t), zone.name, fill=fill, font=font, stroke_width=stroke,
                  stroke_fill=(*LABEL_STROKE_RGB, 255))
    return np.asarray(pic).copy()


def north_marker_box(px_per_m: float) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of the north marker's disc in the top-left corner."""
    r = max(8, round(2.6 * px_per_m))
    m = max(3, round(r / 3))
    return m, m, m + 2 * r, m + 2 * r


def _frame_and_north(img: np.ndarray, px_per_m: float) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    out = img.copy()
    out[[0, -1], :] = (*FRAME_RGB, 255)
    out[:, [0, -1]] = (*FRAME_RGB, 255)
    pic = Image.fromarray(out, "RGBA")
    draw = ImageDraw.Draw(pic)
    l, t, r, b = north_marker_box(px_per_m)
    draw.ellipse((l, t, r, b), fill=(*NORTH_DISC_RGB, 235), outline=(*FRAME_RGB, 255), width=1)
    cx, size = (l + r) / 2, r - l
    # an arrow up (north) in the disc's upper part, the letter N under it
    tip, base = t + size * 0.12, t + size * 0.40
    half = size * 0.16
    draw.polygon([(cx, tip), (cx + half, base), (cx - half, base)], fill=(*FRAME_RGB, 255))
    try:
        font = ImageFont.load_default(size=max(8, round(size * 0.42)))
    except (TypeError, OSError):
        font = ImageFont.load_default()
    bl, bt, br, bb = draw.textbbox((0, 0), "N", font=font)
    draw.text((cx - (br - bl) / 2 - bl, t + size * 0.70 - (bb - bt) / 2 - bt), "N", font=font,
              fill=(*FRAME_RGB, 255))
    return np.asarray(pic).copy()


def player_pixel(x_m: float, y_m: float, px_per_m: float) -> tuple[int, int]:
    """(row, col) of the minimap pixel under level point (x_m, y_m)."""
    return int(math.floor(y_m * px_per_m)), int(math.floor(x_m * px_per_m))


def stamp_player(base: np.ndarray, x_m: float, y_m: float, heading_rad: float, px_per_m: float) -> np.ndarray:
    """A copy of ``base`` with the player drawn: a yellow dot with a dark rim at (x_m, y_m) and a
    tick from it along the heading (compass radians: 0 = north = up the map)."""
    out = base.copy()
    h, w = out.shape[:2]
    cx, cy = x_m * px_per_m, y_m * px_per_m
    r = max(PLAYER_RADIUS_M * px_per_m, 2.5)
    tick = max(HEADING_TICK_M * px_per_m, 7.0)
    fx, fy = math.sin(heading_rad), -math.cos(heading_rad)  # forward on the map (y grows down)
    reach = int(max(r, tick) + 3)
    r0, r1 = max(int(cy) - reach, 0), min(int(cy) + reach + 1, h)
    c0, c1 = max(int(cx) - reach, 0), min(int(cx) + reach + 1, w)
    if r0 >= r1 or c0 >= c1:
        return out
    yy, xx = np.mgrid[r0:r1, c0:c1]
    px, py = xx + 0.5 - cx, yy + 0.5 - cy
    t = np.clip(px * fx + py * fy, 0.0, tick)
    d_tick = np.hypot(px - t * fx, py - t * fy)
    d_dot = np.hypot(px, py)
    region = out[r0:r1, c0:c1]
    rim = (d_dot <= r + 1.2) | (d_tick <= 1.6)
    core = (d_dot <= r) | (d_tick <= 0.75)
    region[rim] = (*OUTLINE_RGB, 255)
    region[core] = (*PLAYER_RGB, 255)
    return out
