"""The editor's camera: level metres <-> screen pixels, pan and zoom (pure arithmetic).

The map is drawn north up: x grows to the right, y grows down, as in the level file's grid.
"""

from __future__ import annotations

from dataclasses import dataclass

# Zoom limits: 2 px per metre shows a 500 m level in a 1000 px window; 200 px per metre puts a
# 1.5 m cell at 300 px, enough to place a polygon corner to the centimetre.
min_px_per_m = 2.0
max_px_per_m = 200.0


@dataclass
class View:
    cx_m: float  # level point at the centre of the map area
    cy_m: float
    px_per_m: float
    rect: tuple[int, int, int, int]  # map area on screen: x, y, w, h (pixels)

    def to_screen(self, x_m: float, y_m: float) -> tuple[float, float]:
        x, y, w, h = self.rect
        return x + w / 2 + (x_m - self.cx_m) * self.px_per_m, y + h / 2 + (y_m - self.cy_m) * self.px_per_m

    def to_world(self, sx: float, sy: float) -> tuple[float, float]:
        x, y, w, h = self.rect
        return self.cx_m + (sx - x - w / 2) / self.px_per_m, self.cy_m + (sy - y - h / 2) / self.px_per_m

    def zoom_at(self, sx: float, sy: float, factor: float) -> None:
        """Zoom by ``factor`` keeping the level point under (sx, sy) where it is."""
        before = self.to_world(sx, sy)
        self.px_per_m = min(max(self.px_per_m * factor, min_px_per_m), max_px_per_m)
        after = self.to_world(sx, sy)
        self.cx_m += before[0] - after[0]
        self.cy_m += before[1] - after[1]

    def pan_px(self, dx_px: float, dy_px: float) -> None:
        """Move the picture by (dx, dy) pixels (the level follows the mouse)."""
        self.cx_m -= dx_px / self.px_per_m
        self.cy_m -= dy_px / self.px_per_m

    def fit(self, w_m: float, h_m: float, margin_px: int = 24) -> None:
        """Show the whole w x h metre level with a margin."""
        _, _, w, h = self.rect
        self.cx_m, self.cy_m = w_m / 2, h_m / 2
        s = min((w - 2 * margin_px) / max(w_m, 1e-6), (h - 2 * margin_px) / max(h_m, 1e-6))
        self.px_per_m = min(max(s, min_px_per_m), max_px_per_m)

    def visible_world(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.rect
        x0, y0 = self.to_world(x, y)
        x1, y1 = self.to_world(x + w, y + h)
        return x0, y0, x1, y1
