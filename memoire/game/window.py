"""The window: a pygame OpenGL 3.3 core window, or an offscreen EGL target when headless.

Input is turned into plain tuples so the game loop does not depend on pygame's event types:
("quit",), ("key", name, down), ("click",), ("look", dx_px, dy_px), ("resize", (w, h)).
Both windows have an event queue that ``inject`` feeds: tests, the soak harness and scripted
runs give input through the same path a player's keys take (``events`` yields the queue first).
"""

from __future__ import annotations

import os
from collections import deque
from typing import Iterator

from memoire.world.errors import UserError

KEY_NAMES = {
    "w": "forward", "up": "forward", "s": "back", "down": "back", "a": "left", "left": "left",
    "d": "right", "right": "right", "left shift": "run", "right shift": "run", "escape": "escape",
    "m": "minimap", "z": "zones", "f11": "fullscreen", "h": "help", "f1": "help",
}


class Window:
    """A real window (pygame + OpenGL), with moderngl's context on it."""

    def __init__(self, size_px: tuple[int, int], fullscreen: bool, title: str):
        import pygame

        from memoire.render.context import window_context

        self.pg = pygame
        self.injected: deque = deque()
        pygame.display.init()
        pygame.font.init()
        gl = pygame
        gl.display.gl_set_attribute(pygame.GL_CONTEXT_MAJOR_VERSION, 3)
        gl.display.gl_set_attribute(pygame.GL_CONTEXT_MINOR_VERSION, 3)
        gl.display.gl_set_attribute(pygame.GL_CONTEXT_PROFILE_MASK, pygame.GL_CONTEXT_PROFILE_CORE)
        gl.display.gl_set_attribute(pygame.GL_DOUBLEBUFFER, 1)
        gl.display.gl_set_attribute(pygame.GL_DEPTH_SIZE, 24)
        self.windowed_size = tuple(size_px)
        self.fullscreen = fullscreen
        pygame.display.set_caption(title)
        try:
            self._set_mode()
        except pygame.error as e:
            raise UserError(f"cannot open an OpenGL 3.3 window ({e}); on a machine without a display run "
                            "`xvfb-run -s '-screen 0 1280x720x24' memoire play`, or use --headless") from None
        self.ctx = window_context()
        self.size_px = pygame.display.get_window_size()

    def _set_mode(self) -> None:
        pg = self.pg
        flags = pg.OPENGL | pg.DOUBLEBUF
        if self.fullscreen:
            self.surface = pg.display.set_mode((0, 0), flags | pg.FULLSCREEN)
        else:
            self.surface = pg.display.set_mode(self.windowed_size, flags | pg.RESIZABLE)

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen
        self.pg.display.toggle_fullscreen()
        self.size_px = self.pg.display.get_window_size()

    def capture_mouse(self, on: bool) -> None:
        self.pg.event.set_grab(on)
        self.pg.mouse.set_visible(not on)
        self.pg.mouse.get_rel()  # discard the motion accumulated before capture

    def inject(self, event: tuple) -> None:
        """Queue an input event as if the player had made it."""
        self.injected.append(event)

    def events(self) -> Iterator[tuple]:
        pg = self.pg
        while self.injected:
            yield self.injected.popleft()
        for e in pg.event.get():
            if e.type == pg.QUIT:
                yield ("quit",)
            elif e.type in (pg.KEYDOWN, pg.KEYUP):
                name = KEY_NAMES.get(pg.key.name(e.key))
                if name:
                    yield ("key", name, e.type == pg.KEYDOWN)
            elif e.type == pg.MOUSEBUTTONDOWN:
                yield ("click",)
            elif e.type == pg.MOUSEMOTION:
                yield ("look", e.rel[0], e.rel[1])
            elif e.type in (pg.VIDEORESIZE, getattr(pg, "WINDOWSIZECHANGED", -1)):
                self.size_px = pg.display.get_window_size()
                yield ("resize", self.size_px)

    def flip(self) -> None:
        self.pg.display.flip()

    def close(self) -> None:
        self.pg.display.quit()


class HeadlessWindow:
    """No display: an offscreen EGL framebuffer; input only through ``inject``."""

    def __init__(self, size_px: tuple[int, int]):
        import pygame

        from memoire.render.context import headless_context

        pygame.font.init()  # HUD text still renders
        self.size_px = tuple(size_px)
        self.injected: deque = deque()
        self.ctx = headless_context()  # the renderer draws into its own framebuffer
        self.fullscreen = False

    def inject(self, event: tuple) -> None:
        """Queue an input event as if the player had made it."""
        self.injected.append(event)

    def events(self) -> Iterator[tuple]:
        while self.injected:
            yield self.injected.popleft()

    def capture_mouse(self, on: bool) -> None:
        pass

    def toggle_fullscreen(self) -> None:
        pass

    def flip(self) -> None:
        self.ctx.finish()

    def close(self) -> None:
        pass


# Mesa's software rasteriser (llvmpipe) would take every core; one thread leaves the other core
# to the synth thread. A machine with a GPU ignores the variable.
software_gl_threads = "1"


def open_window(size_px: tuple[int, int], *, headless: bool, fullscreen: bool, title: str):
    os.environ.setdefault("LP_NUM_THREADS", software_gl_threads)
    if headless or os.environ.get("SDL_VIDEODRIVER") == "dummy":
        return HeadlessWindow(size_px)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise UserError("no display to open a window on (DISPLAY is not set): run under "
                        "`xvfb-run -s '-screen 0 1280x720x24' memoire play`, or add --headless")
    return Window(size_px, fullscreen, title)
