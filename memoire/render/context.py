"""OpenGL 3.3 contexts: headless (EGL, for tests and offline pictures) or the game window's.

The window itself is pygame's (memoire/game/app.py opens it with the OPENGL flag and the attributes
from ``window_gl_attributes``); ``window_context`` then wraps the current context. A machine
without OpenGL 3.3 gets a ``UserError`` saying what to install or how to run instead.
"""

from __future__ import annotations

import moderngl

from memoire.world.errors import UserError

GL_VERSION_CODE = 330  # OpenGL 3.3 core: the shaders are GLSL 3.30

_HELP = ("Memoire needs OpenGL 3.3. Update the graphics driver, or install Mesa (Debian/Ubuntu: "
         "`apt install libgl1-mesa-dri libegl1`) for software rendering")


def headless_context() -> moderngl.Context:
    """A standalone OpenGL 3.3 context on EGL (no window, no display server needed).

    The renderer draws into its own framebuffer with this context (``ctx.screen`` is None).
    """
    try:
        ctx = moderngl.create_context(standalone=True, backend="egl", require=GL_VERSION_CODE)
    except Exception as e:  # moderngl/glcontext raise plain Exceptions naming the missing piece
        raise UserError(f"cannot create a headless OpenGL {GL_VERSION_CODE // 100}.{GL_VERSION_CODE % 100 // 10} "
                        f"context on EGL ({e}). {_HELP}.") from None
    return ctx


def window_gl_attributes() -> dict[str, int]:
    """pygame.display.gl_set_attribute settings to apply before opening the window:
    {attribute name in pygame: value}. An OpenGL 3.3 core profile, double-buffered, with a
    24-bit depth buffer."""
    return {
        "GL_CONTEXT_MAJOR_VERSION": 3,
        "GL_CONTEXT_MINOR_VERSION": 3,
        "GL_CONTEXT_PROFILE_MASK": 1,  # SDL_GL_CONTEXT_PROFILE_CORE
        "GL_DEPTH_SIZE": 24,
        "GL_DOUBLEBUFFER": 1,
    }


def window_context() -> moderngl.Context:
    """Wrap the OpenGL context of the window just opened (pygame OPENGL mode)."""
    try:
        ctx = moderngl.create_context(require=GL_VERSION_CODE)
    except Exception as e:
        raise UserError(f"the window has no OpenGL {GL_VERSION_CODE // 100}.{GL_VERSION_CODE % 100 // 10} "
                        f"context ({e}). {_HELP}; on a machine without a display run under "
                        f"`xvfb-run -s \"-screen 0 1280x720x24\"`.") from None
    return ctx


def describe(ctx: moderngl.Context) -> str:
    """One line naming the GL implementation, e.g. 'llvmpipe (LLVM 15.0.6, 256 bits), OpenGL 4.5'."""
    info = ctx.info
    return f"{info.get('GL_RENDERER', '?')}, OpenGL {info.get('GL_VERSION', '?')}"
