"""A plain screen with a message: what the kiosk shows when the level or the model cannot load.

It needs only the GL context (no level): a dark background and the text, centred. With a
window the picture goes to the window; headless, to its own framebuffer (``read_pixels``).
Thread: the main thread (GL).
"""

from __future__ import annotations

import numpy as np

background_srgb = (0.07, 0.07, 0.08)

_VERT = """#version 330
in vec2 in_pos;
out vec2 v_uv;
uniform vec4 u_rect;  // x0, y0, x1, y1 in clip space
void main() {
    v_uv = vec2(in_pos.x, 1.0 - in_pos.y);
    gl_Position = vec4(mix(u_rect.xy, u_rect.zw, in_pos), 0.0, 1.0);
}
"""
_FRAG = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_image;
void main() { f_color = texture(u_image, v_uv); }
"""


class MessageScreen:
    def __init__(self, ctx, size_px: tuple[int, int]):
        import moderngl

        self.ctx = ctx
        self.size_px = tuple(int(v) for v in size_px)
        self._fbo = None
        if ctx.screen is None:
            self._fbo = ctx.framebuffer(color_attachments=[ctx.renderbuffer(self.size_px, 4)])
        self._prog = ctx.program(vertex_shader=_VERT, fragment_shader=_FRAG)
        quad = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype=np.float32)
        self._vbo = ctx.buffer(quad.tobytes())
        self._vao = ctx.vertex_array(self._prog, [(self._vbo, "2f", "in_pos")])
        self._tex = None
        self._text: tuple[str, ...] = ()
        self._blend = moderngl.BLEND

    def _target(self):
        return self._fbo if self._fbo is not None else self.ctx.screen

    def draw(self, lines: list[str]) -> None:
        from memoire.game.hud import text_rgba

        key = tuple(lines)
        if key != self._text:
            self._text = key
            if self._tex is not None:
                self._tex.release()
                self._tex = None
            rgba = text_rgba(list(lines), self.size_px[0] - 24)
            if rgba is not None:
                h, w = rgba.shape[:2]
                self._tex = self.ctx.texture((w, h), 4, np.ascontiguousarray(rgba).tobytes())
        target = self._target()
        target.use()
        W, H = self.size_px
        target.viewport = (0, 0, W, H)
        target.clear(*background_srgb, 1.0)
        if self._tex is not None:
            w, h = self._tex.size
            x0 = max(0, (W - w) // 2)
            y0 = max(0, (H - h) // 2)
            self.ctx.enable(self._blend)
            self._tex.use(0)
            self._prog["u_image"].value = 0
            self._prog["u_rect"].value = (2 * x0 / W - 1, 1 - 2 * (y0 + h) / H, 2 * (x0 + w) / W - 1, 1 - 2 * y0 / H)
            self._vao.render(mode=self.ctx.TRIANGLE_STRIP if hasattr(self.ctx, "TRIANGLE_STRIP") else 5)
            self.ctx.disable(self._blend)

    def read_pixels(self) -> np.ndarray:
        W, H = self.size_px
        data = self._target().read(viewport=(0, 0, W, H), components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(H, W, 3)[::-1].copy()

    def release(self) -> None:
        for obj in (self._tex, self._vao, self._vbo, self._prog, self._fbo):
            if obj is not None:
                obj.release()
