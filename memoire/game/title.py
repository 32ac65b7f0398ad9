"""The title card: what the window shows while the model and the level load (the first seconds).

``card_rgba`` paints it (numpy and pygame's font: the piece's name, a subtitle, a credit line,
and the loading steps with their seconds under a thin progress bar); ``TitleCard`` puts it on
the window between ``Game.open``'s slow steps (memoire/game/app.py). It needs only the GL
context, no level: with a window the picture goes to the window, headless to its own framebuffer
(``read_pixels``). Main thread only (GL).
"""

from __future__ import annotations

import numpy as np

TITLE = "Memoire"
SUBTITLE = "a walk through neural sound \u2014 after nn/memoire"
CREDIT = ("\u201cnostalgic dreamcore\u201d \u00b7 a Beijing hutong whose sound a neural audio model "
          "decodes live as you walk")
# The steps of Game.open, in order; the card shows each as it starts.
STEP_MODEL = "loading the model\u2026"
STEP_LEVEL = "building the hutong\u2026"
STEP_SOUND = "starting the sound\u2026"
STEPS = (STEP_MODEL, STEP_LEVEL, STEP_SOUND)

# dusk colours: a deep violet sky fading to a dim rose at the foot, a pale haze behind the title
TOP_RGB = np.array((20, 18, 38), np.float32)
BOTTOM_RGB = np.array((84, 54, 78), np.float32)
HAZE_RGB = np.array((236, 196, 210), np.float32)
TITLE_RGB = (252, 247, 236)
SUBTITLE_RGB = (238, 222, 230)
CREDIT_RGB = (196, 182, 200)
DONE_RGB = (170, 160, 180)
BAR_RGB = (236, 206, 216)

_VERT = """#version 330
in vec2 in_pos;
out vec2 v_uv;
void main() {
    v_uv = vec2(in_pos.x, 1.0 - in_pos.y);
    gl_Position = vec4(in_pos * 2.0 - 1.0, 0.0, 1.0);
}
"""
_FRAG = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_image;
void main() { f_color = texture(u_image, v_uv); }
"""


_backgrounds: dict[tuple[int, int], np.ndarray] = {}  # one per window size: the steps redraw on it


def _background(W: int, H: int) -> np.ndarray:
    cached = _backgrounds.get((W, H))
    if cached is None:
        _backgrounds.clear()
        cached = _backgrounds[(W, H)] = _paint_background(W, H)
    return cached.copy()


def _paint_background(W: int, H: int) -> np.ndarray:
    y = (np.arange(H, dtype=np.float32) / max(1, H - 1))[:, None, None]
    rgb = TOP_RGB * (1 - y) + BOTTOM_RGB * y
    rgb = np.broadcast_to(rgb, (H, W, 3)).copy()
    # a soft glow behind the title: an ellipse of haze, strongest at 36 % of the height
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    d = np.hypot((xx - W / 2) / (0.42 * W), (yy - 0.38 * H) / (0.30 * H))
    glow = (np.exp(-d * d * 2.2) * 0.22)[..., None]
    rgb = rgb * (1 - glow) + HAZE_RGB * glow
    # a faint vignette and film grain (fixed seed: the same card every time)
    vig = np.clip(1.0 - 0.35 * np.hypot((xx - W / 2) / (W / 2), (yy - H / 2) / (H / 2)) ** 2, 0.55, 1.0)
    grain = np.random.default_rng(7).normal(0.0, 2.0, (H, W, 1)).astype(np.float32)
    rgb = rgb * vig[..., None] + grain
    out = np.empty((H, W, 4), np.uint8)
    out[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = 255
    return out


def card_rgba(size_px: tuple[int, int], done: list[tuple[str, float]] = (), current: str | None = None,
              *, level_name: str = "") -> np.ndarray:
    """The card, (H, W, 4) uint8 opaque: the title, subtitle and credit; under them the steps
    finished (``done``: (step, seconds)) and the one under way (``current``), and a bar that fills
    as the steps of ``STEPS`` finish."""
    from memoire.game.hud import line_rgba, over

    W, H = (int(v) for v in size_px)
    img = _background(W, H)

    def centred(text: str, px: int, rgb, y: int, shadow: bool = True) -> int:
        line = line_rgba(text, px, rgb)
        if line.shape[1] > W - 16 and len(text) > 8:  # too wide for a small window: smaller letters
            line = line_rgba(text, max(8, px * (W - 16) // line.shape[1]), rgb)
        x = (W - line.shape[1]) // 2
        if shadow:
            s = line.copy()
            s[..., :3] = 0
            s[..., 3] = (s[..., 3].astype(np.uint16) // 2).astype(np.uint8)
            over(img, s, x + max(1, px // 30), y + max(1, px // 30))
        over(img, line, x, y)
        return y + line.shape[0]

    y = centred(TITLE, round(H * 0.17), TITLE_RGB, round(H * 0.24))
    y = centred(SUBTITLE, round(H * 0.045), SUBTITLE_RGB, y + round(H * 0.015))
    centred(CREDIT, round(H * 0.028), CREDIT_RGB, y + round(H * 0.035), shadow=False)
    # the loading steps, one line each, the one under way brightest
    px = max(10, round(H * 0.032))
    y = round(H * 0.70)
    for step, seconds in done:
        y = centred(f"{step}  {seconds:.1f} s", px, DONE_RGB, y, shadow=False) + px // 5
    if current is not None:
        label = f"{current}  {level_name}" if current == STEP_LEVEL and level_name else current
        centred(label, px, SUBTITLE_RGB, y)
    # the bar: a thin line across 40 % of the width, filled by the steps finished
    bw, bh = round(W * 0.4), max(2, round(H * 0.004))
    bx, by = (W - bw) // 2, round(H * 0.93)
    img[by:by + bh, bx:bx + bw, :3] = (img[by:by + bh, bx:bx + bw, :3].astype(np.uint16) * 2 // 3 + 30).astype(
        np.uint8)
    fill = round(bw * min(1.0, len(done) / len(STEPS)))
    img[by:by + bh, bx:bx + fill, :3] = BAR_RGB
    return img


class TitleCard:
    """Draws ``card_rgba`` pictures over the whole window (GL context ``ctx``, window size ``size_px``)."""

    def __init__(self, ctx, size_px: tuple[int, int]):
        self.ctx = ctx
        self.size_px = tuple(int(v) for v in size_px)
        self._fbo = None
        if ctx.screen is None:  # headless: a framebuffer of our own
            self._fbo = ctx.framebuffer(color_attachments=[ctx.renderbuffer(self.size_px, 4)])
        self._prog = ctx.program(vertex_shader=_VERT, fragment_shader=_FRAG)
        quad = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype=np.float32)
        self._vbo = ctx.buffer(quad.tobytes())
        self._vao = ctx.vertex_array(self._prog, [(self._vbo, "2f", "in_pos")])
        self._tex = ctx.texture(self.size_px, 4)

    def _target(self):
        return self._fbo if self._fbo is not None else self.ctx.screen

    def draw(self, rgba: np.ndarray) -> None:
        """Put ``rgba`` (the window's size, top row first) on the whole window."""
        self._tex.write(np.ascontiguousarray(rgba, dtype=np.uint8).tobytes())
        target = self._target()
        target.use()
        target.viewport = (0, 0, *self.size_px)
        self.ctx.disable(self.ctx.BLEND)  # the card is opaque: it replaces what was there
        self._tex.use(0)
        self._prog["u_image"].value = 0
        self._vao.render(mode=self.ctx.TRIANGLE_STRIP)

    def read_pixels(self) -> np.ndarray:
        W, H = self.size_px
        data = self._target().read(viewport=(0, 0, W, H), components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(H, W, 3)[::-1].copy()

    def release(self) -> None:
        for obj in (self._tex, self._vao, self._vbo, self._prog, self._fbo):
            if obj is not None:
                obj.release()
        self._fbo = None
