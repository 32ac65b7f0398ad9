"""The moderngl renderer: the level's meshes lit by a low afternoon sun, sky, haze, overlays.

Thread: the main thread only (it owns the GL context). One draw call for the whole static
scene, one for the sky (drawn last on the far plane, so only where no wall is), one per overlay.
The sun never moves, so its shadow map is rendered once per level (``set_level``), not per frame.

Output: with a window context (``ctx.screen`` exists) the picture goes to the window's default
framebuffer; with a headless context the renderer keeps its own framebuffer of ``size_px``.
Either way ``read_pixels`` returns what was drawn, overlays included.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from memoire.world.level import Level
from memoire.render import shaders
from memoire.render.camera import Camera, look_at, orthographic
from memoire.render.geometry import VERTEX_FLOATS, Material
from memoire.render.meshes import SceneMesh, build_scene, ground_earth, ground_occlusion
from memoire.render.zones import zone_tint

# --- light and air (sRGB colours unless named linear) ------------------------------------------
SUN_AZIMUTH_DEG = 215.0  # compass: south-west, an afternoon sun that lights the lane's north wall
SUN_ELEVATION_DEG = 40.0
SUN_LINEAR = (1.55, 1.42, 1.22)  # warm direct light
SKY_AMBIENT_LINEAR = (0.30, 0.36, 0.46)  # blue light from the sky dome
BOUNCE_AMBIENT_LINEAR = (0.17, 0.16, 0.14)  # light thrown back by the grey paving
HORIZON_SRGB = (0.80, 0.85, 0.89)  # hazy Beijing horizon; also the fog colour
ZENITH_SRGB = (0.33, 0.53, 0.82)
FOG_PER_M = 0.011  # haze: about half the colour is lost at 60 m
GROUND_MAP_PX_PER_M = 4.0  # resolution of the ground occlusion and zone-tint textures
SHADOW_MAP_PX = 2048  # ~4 cm shadow texels over the 72 m default level
OVERLAY_TEXTURES_KEPT = 8  # overlay textures cached by size (minimap, HUD text boxes)


def sun_direction() -> np.ndarray:
    """Unit vector toward the sun in world coordinates."""
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(SUN_ELEVATION_DEG)
    return np.array([math.sin(az) * math.cos(el), math.sin(el), -math.cos(az) * math.cos(el)])


def _mat(m: np.ndarray) -> bytes:
    """A 4x4 maths-layout matrix as OpenGL column-major float32 bytes."""
    return np.ascontiguousarray(np.asarray(m, dtype=np.float32).T).tobytes()


def _set(prog: moderngl.Program, name: str, value) -> None:
    """Set a uniform if the compiled program still has it (GLSL drops unused uniforms)."""
    if name in prog:
        if isinstance(value, bytes):
            prog[name].write(value)
        else:
            prog[name].value = value


def _check_size(size_px) -> tuple[int, int]:
    w, h = (int(v) for v in size_px)
    if w <= 0 or h <= 0:
        raise ValueError(f"size_px must be two positive pixel counts (width, height), got {size_px!r}")
    return w, h


class Renderer:
    """Draws a ``Level`` seen through a ``Camera``.

    ``render_scale`` < 1 renders the 3D scene at a lower resolution and scales it up to
    ``size_px`` (overlays stay sharp): a knob for slow software GL. The scaling pass itself
    costs a full-size textured draw; ``smooth_upscale=False`` makes it nearest-pixel (blocky,
    but on llvmpipe about 8 ms cheaper at 1280x720 than the bilinear default).
    """

    def __init__(self, ctx: moderngl.Context, level: Level, size_px: tuple[int, int], *,
                 render_scale: float = 1.0, smooth_upscale: bool = True) -> None:
        if not 0.1 <= render_scale <= 1.0:
            raise ValueError(f"render_scale must be in [0.1, 1], got {render_scale}")
        self.ctx = ctx
        self.render_scale = float(render_scale)
        # depth pre-pass before the material programs: measured a few per cent faster on llvmpipe
        # over the screenshot viewpoints (more where foliage and roofs overlap); a plain attribute
        # so a benchmark can compare
        self.depth_prepass = True
        self._upscale_filter = (moderngl.LINEAR, moderngl.LINEAR) if smooth_upscale else (moderngl.NEAREST,
                                                                                          moderngl.NEAREST)
        self._to_screen = ctx.screen is not None
        head = "#version 330\n" + shaders.defines()
        # one scene program per material (see memoire/render/shaders.py for why)
        self._scene_progs = {
            m: ctx.program(vertex_shader=head + shaders.SCENE_VS,
                           fragment_shader=head + f"#define MATERIAL {int(m)}\n" + shaders.COMMON_FS + shaders.SCENE_FS)
            for m in Material
        }
        self._shadow_prog = ctx.program(vertex_shader=head + shaders.SHADOW_VS,
                                        fragment_shader=head + shaders.SHADOW_FS)
        # the same depth-only shader for the camera's pre-pass, with its own matrix uniform
        self._depth_prog = ctx.program(vertex_shader=head + shaders.SHADOW_VS,
                                       fragment_shader=head + shaders.SHADOW_FS)
        self._sky_prog = ctx.program(vertex_shader=head + shaders.SKY_VS,
                                     fragment_shader=head + shaders.COMMON_FS + shaders.SKY_FS)
        self._blit_prog = ctx.program(vertex_shader=head + shaders.BLIT_VS, fragment_shader=head + shaders.BLIT_FS)
        big_triangle = np.array([-1, -1, 3, -1, -1, 3], dtype="f4")
        self._sky_vbo = ctx.buffer(big_triangle.tobytes())
        self._sky_vao = ctx.vertex_array(self._sky_prog, [(self._sky_vbo, "2f", "in_ndc")])
        unit_square = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4")
        self._quad_vbo = ctx.buffer(unit_square.tobytes())
        self._blit_vao = ctx.vertex_array(self._blit_prog, [(self._quad_vbo, "2f", "in_ndc")])
        self._overlay_textures: dict[tuple[int, int], moderngl.Texture] = {}
        self._set_constants()

        self._shadow_tex = ctx.depth_texture((SHADOW_MAP_PX, SHADOW_MAP_PX))
        self._shadow_tex.compare_func = "<="  # sampler2DShadow: 1 = lit
        self._shadow_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)  # 2x2 PCF in hardware
        self._shadow_tex.repeat_x = self._shadow_tex.repeat_y = False
        self._shadow_fbo = ctx.framebuffer(depth_attachment=self._shadow_tex)

        self._vbo = self._shadow_vao = self._depth_vao = None
        self._scene_vaos: dict[Material, moderngl.VertexArray] = {}
        self._ao_tex = self._zone_tex = None
        self._out_fbo = self._scene_fbo = None
        self._scene_tex = None
        self._size_objects: list = []
        self.mesh: SceneMesh | None = None
        self.level = level
        self.resize(size_px)
        self.set_level(level)
        self._warm_up()

    def _warm_up(self) -> None:
        """Draw one frame and one overlay now: software GL compiles each program on its first
        draw (tenths of a second each), which would otherwise stall the first frames of play."""
        x, y = self.level.spawn_xy
        self.draw(Camera(x, y, math.radians(self.level.spawn_facing_deg)))
        self.draw_overlay(np.zeros((1, 1, 4), dtype=np.uint8), 0, 0)
        self.ctx.finish()

    # -- setup -----------------------------------------------------------------------------------

    def _set_constants(self) -> None:
        sun = sun_direction()
        for prog in (*self._scene_progs.values(), self._sky_prog):
            for name, value in (("u_sun_dir", sun), ("u_horizon_rgb", HORIZON_SRGB), ("u_zenith_rgb", ZENITH_SRGB),
                                ("u_sun_rgb", SUN_LINEAR), ("u_sky_rgb", SKY_AMBIENT_LINEAR),
                                ("u_bounce_rgb", BOUNCE_AMBIENT_LINEAR), ("u_fog_per_m", FOG_PER_M)):
                if name in prog:
                    prog[name].value = tuple(float(v) for v in value) if np.ndim(value) else float(value)
        for prog in self._scene_progs.values():
            _set(prog, "u_shadow", 0)
            _set(prog, "u_ground_ao", 1)
            _set(prog, "u_zone_tint", 2)

    def set_level(self, level: Level) -> None:
        """Use ``level`` from now on (hot reload): rebuild meshes, ground maps and sun shadows."""
        mesh = build_scene(level)
        ctx = self.ctx
        for obj in (*self._scene_vaos.values(), self._shadow_vao, self._depth_vao, self._vbo, self._ao_tex,
                    self._zone_tex):
            if obj is not None:
                obj.release()
        self._scene_vaos = {}
        self._vbo = ctx.buffer(mesh.vertices.tobytes())
        layout = "3f 3f 3f 4x"  # position, normal, colour; the material id picks the program
        assert VERTEX_FLOATS == 10
        for m, prog in self._scene_progs.items():
            # skip_errors: a material's program may not read every attribute (e.g. the colour)
            self._scene_vaos[m] = ctx.vertex_array(
                prog, [(self._vbo, layout, "in_pos", "in_normal", "in_colour")], skip_errors=True)
        self._shadow_vao = ctx.vertex_array(self._shadow_prog, [(self._vbo, "3f 28x", "in_pos")])
        self._depth_vao = ctx.vertex_array(self._depth_prog, [(self._vbo, "3f 28x", "in_pos")])
        # ground map: r = ambient occlusion near walls, g = bare earth under garden trees
        ground = np.stack([ground_occlusion(level, GROUND_MAP_PX_PER_M), ground_earth(level, GROUND_MAP_PX_PER_M)],
                          axis=-1)
        self._ao_tex = ctx.texture((ground.shape[1], ground.shape[0]), 2,
                                   (ground * 255).round().astype(np.uint8).tobytes())
        tint = zone_tint(level, GROUND_MAP_PX_PER_M)
        self._zone_tex = ctx.texture((tint.shape[1], tint.shape[0]), 4,
                                     (tint * 255).round().astype(np.uint8).tobytes())
        for tex in (self._ao_tex, self._zone_tex):
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
        for prog in self._scene_progs.values():
            _set(prog, "u_level_size_m", tuple(float(v) for v in mesh.size_m))
        self.mesh = mesh
        self.level = level
        self._render_shadow_map(mesh)

    def _render_shadow_map(self, mesh: SceneMesh) -> None:
        """Depth from the sun over the level's bounding box, once per level."""
        w_m, d_m = mesh.size_m
        centre = np.array([w_m / 2, 0.0, d_m / 2])
        sun = sun_direction()
        view = look_at(centre + sun * 200.0, centre, np.array([0.0, 1.0, 0.0]))
        corners = np.array([[x, y, z] for x in (0, w_m) for y in (0, mesh.top_m + 0.5) for z in (0, d_m)])
        cv = (np.c_[corners, np.ones(8)] @ view.T.astype(np.float64))[:, :3]
        lo, hi = cv.min(axis=0) - 1.0, cv.max(axis=0) + 1.0
        proj = orthographic(lo[0], hi[0], lo[1], hi[1], -hi[2], -lo[2])
        clip = proj @ view
        to_tex = np.array([[0.5, 0, 0, 0.5], [0, 0.5, 0, 0.5], [0, 0, 0.5, 0.5], [0, 0, 0, 1]], dtype=np.float32)
        _set(self._shadow_prog, "u_light_clip", _mat(clip))
        for prog in self._scene_progs.values():
            _set(prog, "u_light_vp", _mat(to_tex @ clip))
        ctx = self.ctx
        self._shadow_fbo.use()
        self._shadow_fbo.clear(depth=1.0)
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.CULL_FACE)
        ctx.depth_func = "<"
        ctx.polygon_offset = (2.0, 4.0)
        self._shadow_vao.render(moderngl.TRIANGLES)
        ctx.polygon_offset = (0.0, 0.0)

    def resize(self, size_px: tuple[int, int]) -> None:
        """Draw at a new output size (window resized)."""
        self.size_px = _check_size(size_px)
        ctx = self.ctx
        for obj in self._size_objects:  # framebuffers and their attachments of the old size
            obj.release()
        self._size_objects = []
        self._out_fbo = self._scene_fbo = self._scene_tex = None
        if not self._to_screen:
            colour, depth = ctx.renderbuffer(self.size_px, 4), ctx.depth_renderbuffer(self.size_px)
            self._out_fbo = ctx.framebuffer(color_attachments=[colour], depth_attachment=depth)
            self._size_objects += [self._out_fbo, colour, depth]
        scene_size = self.scene_size_px
        if scene_size != self.size_px:
            self._scene_tex = ctx.texture(scene_size, 4)
            self._scene_tex.filter = self._upscale_filter
            depth = ctx.depth_renderbuffer(scene_size)
            self._scene_fbo = ctx.framebuffer(color_attachments=[self._scene_tex], depth_attachment=depth)
            self._size_objects += [self._scene_fbo, self._scene_tex, depth]

    @property
    def scene_size_px(self) -> tuple[int, int]:
        w, h = self.size_px
        return max(1, round(w * self.render_scale)), max(1, round(h * self.render_scale))

    def _output(self) -> moderngl.Framebuffer:
        return self.ctx.screen if self._to_screen else self._out_fbo

    # -- per frame -------------------------------------------------------------------------------

    def draw(self, camera: Camera, *, show_zones: bool = False) -> None:
        """Draw the level seen by ``camera``; ``show_zones`` tints the ground by sound zone."""
        ctx = self.ctx
        target = self._scene_fbo if self._scene_fbo is not None else self._output()
        w, h = self.scene_size_px
        target.use()
        target.viewport = (0, 0, w, h)
        target.clear(*HORIZON_SRGB, 1.0, depth=1.0)
        vp = camera.view_projection(w / h)
        eye = tuple(float(v) for v in camera.eye)
        for prog in self._scene_progs.values():
            _set(prog, "u_view_proj", _mat(vp))
            _set(prog, "u_eye", eye)
            _set(prog, "u_show_zones", 1 if show_zones else 0)
        self._shadow_tex.use(0)
        self._ao_tex.use(1)
        self._zone_tex.use(2)
        ctx.disable(moderngl.BLEND)
        # back faces are culled: half the rasterising; surfaces seen from both sides are in the
        # mesh twice (memoire/render/geometry.py)
        ctx.enable(moderngl.CULL_FACE)
        ctx.front_face = "ccw"
        ctx.cull_face = "back"
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.depth_func = "<"
        # depth pre-pass: software GL pays per shaded fragment, so find the nearest surface of
        # every pixel cheaply first and run the material shader once per pixel
        if self.depth_prepass:
            _set(self._depth_prog, "u_light_clip", _mat(vp))
            target.color_mask = (False, False, False, False)
            self._depth_vao.render(moderngl.TRIANGLES)
            target.color_mask = (True, True, True, True)
        ctx.depth_func = "<="
        for m, first, count in self.mesh.material_ranges:
            self._scene_vaos[m].render(moderngl.TRIANGLES, vertices=count, first=first)
        ctx.disable(moderngl.CULL_FACE)
        _set(self._sky_prog, "u_inv_view_proj", _mat(np.linalg.inv(vp.astype(np.float64))))
        self._sky_vao.render(moderngl.TRIANGLES)
        ctx.depth_func = "<"
        if self._scene_fbo is not None:  # scale the low-resolution picture up to the output
            out = self._output()
            out.use()
            out.viewport = (0, 0, *self.size_px)
            ctx.disable(moderngl.DEPTH_TEST)
            self._scene_tex.use(0)
            _set(self._blit_prog, "u_image", 0)
            _set(self._blit_prog, "u_flip", 1)
            _set(self._blit_prog, "u_rect", (-1.0, -1.0, 1.0, 1.0))
            self._blit_vao.render(moderngl.TRIANGLE_STRIP)

    def draw_overlay(self, rgba: np.ndarray, x_px: int, y_px: int) -> None:
        """Composite an (h, w, 4) uint8 RGBA image (top row first, straight alpha) with its
        top-left corner at window pixel (x_px, y_px), y down; pixel for pixel, alpha-blended."""
        img = np.asarray(rgba)
        if img.ndim != 3 or img.shape[2] != 4 or img.dtype != np.uint8:
            raise ValueError(f"overlay must be an (h, w, 4) uint8 array, got shape {img.shape} dtype {img.dtype}")
        h, w = img.shape[:2]
        if h == 0 or w == 0:
            return
        tex = self._overlay_textures.pop((w, h), None)
        if tex is None:
            if len(self._overlay_textures) >= OVERLAY_TEXTURES_KEPT:  # text overlays change size: evict
                oldest = next(iter(self._overlay_textures))
                self._overlay_textures.pop(oldest).release()
            tex = self.ctx.texture((w, h), 4)
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            tex.repeat_x = tex.repeat_y = False
        self._overlay_textures[(w, h)] = tex  # most recently used last
        tex.write(np.ascontiguousarray(img).tobytes())
        out = self._output()
        out.use()
        W, H = self.size_px
        out.viewport = (0, 0, W, H)
        ctx = self.ctx
        ctx.disable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.CULL_FACE)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        tex.use(0)
        _set(self._blit_prog, "u_image", 0)
        _set(self._blit_prog, "u_flip", 0)
        x0, x1 = 2.0 * x_px / W - 1.0, 2.0 * (x_px + w) / W - 1.0
        y_top, y_bottom = 1.0 - 2.0 * y_px / H, 1.0 - 2.0 * (y_px + h) / H
        _set(self._blit_prog, "u_rect", (x0, y_bottom, x1, y_top))
        self._blit_vao.render(moderngl.TRIANGLE_STRIP)
        ctx.disable(moderngl.BLEND)
        ctx.enable(moderngl.DEPTH_TEST)

    def read_pixels(self) -> np.ndarray:
        """The picture drawn so far, (h, w, 3) uint8, top row first."""
        w, h = self.size_px
        data = self._output().read(viewport=(0, 0, w, h), components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[::-1].copy()

    def release(self) -> None:
        """Free the GL objects (the context itself belongs to the caller)."""
        for obj in (*self._scene_vaos.values(), self._shadow_vao, self._depth_vao, self._vbo, self._ao_tex,
                    self._zone_tex, *self._size_objects, self._shadow_fbo, self._shadow_tex, self._sky_vao,
                    self._sky_vbo, self._blit_vao, self._quad_vbo, *self._overlay_textures.values(),
                    *self._scene_progs.values(), self._shadow_prog, self._depth_prog, self._sky_prog,
                    self._blit_prog):
            if obj is not None:
                obj.release()
        self._overlay_textures.clear()
        self._scene_vaos = {}
        self._size_objects = []
