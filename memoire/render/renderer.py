"""The moderngl renderer: the level's meshes lit by its time of day, sky, haze, overlays.

Thread: the main thread only (it owns the GL context). The static scene is drawn in the chunks
in view (meshes.CULL_CHUNK_M; one draw call per run of adjacent chunks of a material), after a
depth pre-pass of the walls; one draw for the sky (drawn last on the far plane, so only where no wall is), one per
overlay. The sun never moves, so its shadow map is rendered once per level (``set_level``).

The light is the level's ``[look] time`` (memoire/render/look.py reads assets/look/times.toml).
``quality``: "low" is the cheapest picture on software GL (one 2x2-PCF shadow tap, no MSAA, no
post pass); "high" adds Poisson-disc soft shadows, 4x MSAA where the driver has it, and bloom
(the scene's alpha channel is each pixel's glow; a quarter-size blur of it is screened on top).

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
from memoire.render.camera import Camera, boxes_in_view, frustum_planes, look_at, orthographic
from memoire.render.animated import AnimatedLayer  # animated props (memoire/render/animated.py)
from memoire.render.bake import lantern_pool_map, shadow_caster_boxes
from memoire.render.geometry import VERTEX_FLOATS, Material
from memoire.render.look import TimeOfDay, resolve_quality, time_of_day
from memoire.render.meshes import WALL_HEIGHT_M, SceneMesh, build_scene, ground_earth, ground_occlusion
from memoire.render.zones import zone_tint

GROUND_MAP_PX_PER_M = 4.0  # resolution of the ground occlusion and zone-tint textures
SHADOW_MAP_PX = 2048  # ~4 cm shadow texels over the 72 m default level
OVERLAY_TEXTURES_KEPT = 8  # overlay textures cached by size (minimap, HUD text boxes)
MSAA_SAMPLES = 4  # quality high: 4 samples a pixel (llvmpipe has up to 4 in GL 3.3 here)
BLOOM_DOWNSCALE = 4  # quality high: the bloom is blurred at a quarter of the scene's size
# What the depth pre-pass draws: the walls and the house fronts, the big surfaces that hide most
# of what is hidden in a hutong. The rest is drawn in material order (Material: PLAIN first)
# depth-tested against them and against what was drawn before it, so the pre-pass would only save
# the overdraw among props, roofs and crowns, at the price of rasterising them twice: on llvmpipe
# at 1280x720 leaving out PLAIN (props, caps, trunks: many small triangles) measured 2.9 ms a
# frame faster, the ground 1.4 ms, roofs and crowns about 1 ms (interleaved A/B, docs/look.md)
DEPTH_PREPASS_MATERIALS = (int(Material.BRICK), int(Material.FACADE))
# the shadow casters (memoire/render/bake.py) stop a little under the wall top so they never
# shadow the wall's own cap slab
CASTER_HEIGHT_M = WALL_HEIGHT_M - 0.05


def sun_direction(look: TimeOfDay | None = None) -> np.ndarray:
    """Unit vector toward the sun in world coordinates (default: the golden hour's)."""
    return (look or time_of_day("golden")).sun_direction()


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


def _runs(first: np.ndarray, count: np.ndarray, key: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Merge ranges (sorted by ``first``) that touch into (first, count) runs; with ``key``,
    only ranges of the same key merge."""
    if not len(first):
        return []
    end = first + count
    cut = first[1:] != end[:-1]
    if key is not None:
        cut |= key[1:] != key[:-1]
    starts = np.flatnonzero(np.r_[True, cut])
    ends = np.r_[starts[1:] - 1, len(first) - 1]
    return [(int(a), int(b - a)) for a, b in zip(first[starts], end[ends])]


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
                 render_scale: float = 1.0, smooth_upscale: bool = True, quality: str = "high",
                 time: str | None = None) -> None:
        """``quality``: "low", "high" or "auto" (see the module's docstring and
        memoire/render/look.py ``resolve_quality``; ``self.quality`` is the one drawn). ``time``: a time of day
        that overrides the level's ``[look] time`` (None: the level's own, also on hot reload)."""
        if not 0.1 <= render_scale <= 1.0:
            raise ValueError(f"render_scale must be in [0.1, 1], got {render_scale}")
        self.ctx = ctx
        self.quality = resolve_quality(quality, ctx.info.get("GL_RENDERER", ""))
        self.time_override = time
        if time is not None:
            time_of_day(time)  # a bad name is a ValueError now, not at the first set_level
        self.render_scale = float(render_scale)
        high = self.quality == "high"
        self.msaa_samples = MSAA_SAMPLES if high and ctx.max_samples >= MSAA_SAMPLES else 0
        # depth pre-pass of the walls (DEPTH_PREPASS_MATERIALS) before the material programs:
        # measured 5.9 ms a frame faster on llvmpipe at 1280x720 than none; a plain attribute so a
        # benchmark can compare
        self.depth_prepass = True
        # draw only the mesh's chunks (meshes.CULL_CHUNK_M squares) whose box is in view; a plain
        # attribute so a benchmark can compare
        self.frustum_cull = True
        self._upscale_filter = (moderngl.LINEAR, moderngl.LINEAR) if smooth_upscale else (moderngl.NEAREST,
                                                                                          moderngl.NEAREST)
        self._to_screen = ctx.screen is not None
        head = "#version 330\n" + shaders.defines() + ("#define QUALITY_HIGH\n" if high else "")
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
        self._post_prog = self._bloom_prog = self._post_vao = self._bloom_vao = None
        if high:
            self._post_prog = ctx.program(vertex_shader=head + shaders.BLIT_VS, fragment_shader=head + shaders.POST_FS)
            self._bloom_prog = ctx.program(vertex_shader=head + shaders.BLIT_VS,
                                           fragment_shader=head + shaders.BLOOM_FS)
            self._post_vao = ctx.vertex_array(self._post_prog, [(self._quad_vbo, "2f", "in_ndc")])
            self._bloom_vao = ctx.vertex_array(self._bloom_prog, [(self._quad_vbo, "2f", "in_ndc")])
        self._overlay_textures: dict[tuple[int, int], moderngl.Texture] = {}
        self.look: TimeOfDay | None = None

        self._shadow_tex = ctx.depth_texture((SHADOW_MAP_PX, SHADOW_MAP_PX))
        self._shadow_tex.compare_func = "<="  # sampler2DShadow: 1 = lit
        self._shadow_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)  # 2x2 PCF in hardware
        self._shadow_tex.repeat_x = self._shadow_tex.repeat_y = False
        self._shadow_fbo = ctx.framebuffer(depth_attachment=self._shadow_tex)

        self._vbo = self._shadow_vao = self._depth_vao = None
        self._caster_vbo = self._caster_vao = None
        self._scene_vaos: dict[Material, moderngl.VertexArray] = {}
        self._ao_tex = self._zone_tex = None
        self._out_fbo = self._scene_fbo = None
        self._scene_tex = None
        self._msaa_fbo = None
        self._bloom_tex: list = []
        self._bloom_fbo: list = []
        self._size_objects: list = []
        self.mesh: SceneMesh | None = None
        self._animated: AnimatedLayer | None = None  # animated props (memoire/render/animated.py)
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

    def _set_look(self, look: TimeOfDay) -> None:
        """The time of day's light as uniforms of every program that reads it."""
        sun = look.sun_direction()
        # the sun's disc in the sky: its light's colour, normalised to its brightest channel
        disc = np.asarray(look.sun_linear) / max(max(look.sun_linear), 1e-6)
        values = (("u_sun_dir", sun), ("u_horizon_rgb", look.horizon_srgb), ("u_zenith_rgb", look.zenith_srgb),
                  ("u_sun_rgb", look.sun_linear), ("u_sky_rgb", look.sky_ambient_linear),
                  ("u_bounce_rgb", look.bounce_ambient_linear), ("u_fog_per_m", look.haze_per_m),
                  ("u_haze_rgb", look.haze_srgb), ("u_exposure", look.exposure), ("u_cloud_rgb", look.cloud_srgb),
                  ("u_sun_disc_rgb", np.sqrt(disc)), ("u_lantern_glow", look.lantern_glow),
                  ("u_lantern_pool", look.lantern_pool), ("u_window_glow", look.window_glow),
                  ("u_window_rgb", look.window_srgb), ("u_shadow_texel", 1.0 / SHADOW_MAP_PX))
        for prog in (*self._scene_progs.values(), self._sky_prog):
            for name, value in values:
                if name in prog:
                    prog[name].value = tuple(float(v) for v in value) if np.ndim(value) else float(value)
        for prog in self._scene_progs.values():
            _set(prog, "u_shadow", 0)
            _set(prog, "u_ground_ao", 1)
            _set(prog, "u_zone_tint", 2)
        self.look = look

    def set_level(self, level: Level) -> None:
        """Use ``level`` from now on (hot reload): rebuild meshes, ground maps, the light of its
        time of day and sun shadows."""
        mesh = build_scene(level)
        look = time_of_day(self.time_override or level.look.time)
        # animated props (memoire/render/animated.py): the level's flocks, rain and wet ground
        if self._animated is not None:
            self._animated.release()
        self._animated = AnimatedLayer(self.ctx, level)
        ctx = self.ctx
        for obj in (*self._scene_vaos.values(), self._shadow_vao, self._depth_vao, self._vbo, self._ao_tex,
                    self._zone_tex, self._caster_vao, self._caster_vbo):
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
        casters = shadow_caster_boxes(level, CASTER_HEIGHT_M)
        self._caster_vbo = ctx.buffer(casters.tobytes()) if len(casters) else None
        self._caster_vao = (ctx.vertex_array(self._shadow_prog, [(self._caster_vbo, "3f", "in_pos")])
                            if len(casters) else None)
        # ground map: r = ambient occlusion near walls, g = bare earth under garden trees,
        # b = the lanterns' light on the ground
        ground = np.stack([ground_occlusion(level, GROUND_MAP_PX_PER_M), ground_earth(level, GROUND_MAP_PX_PER_M),
                           lantern_pool_map(level, GROUND_MAP_PX_PER_M)], axis=-1)
        self._ao_tex = ctx.texture((ground.shape[1], ground.shape[0]), 3,
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
        self._set_look(look)
        self._render_shadow_map(mesh)

    def _render_shadow_map(self, mesh: SceneMesh) -> None:
        """Depth from the sun over the level's bounding box, once per level."""
        w_m, d_m = mesh.size_m
        centre = np.array([w_m / 2, 0.0, d_m / 2])
        sun = self.look.sun_direction()
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
        if self._caster_vao is not None:
            self._caster_vao.render(moderngl.TRIANGLES)
        ctx.polygon_offset = (0.0, 0.0)

    def resize(self, size_px: tuple[int, int]) -> None:
        """Draw at a new output size (window resized)."""
        self.size_px = _check_size(size_px)
        ctx = self.ctx
        for obj in self._size_objects:  # framebuffers and their attachments of the old size
            obj.release()
        self._size_objects = []
        self._out_fbo = self._scene_fbo = self._scene_tex = self._msaa_fbo = None
        self._bloom_tex, self._bloom_fbo = [], []
        if not self._to_screen:
            colour, depth = ctx.renderbuffer(self.size_px, 4), ctx.depth_renderbuffer(self.size_px)
            self._out_fbo = ctx.framebuffer(color_attachments=[colour], depth_attachment=depth)
            self._size_objects += [self._out_fbo, colour, depth]
        scene_size = self.scene_size_px
        if self.quality == "high":
            # the scene goes to a texture (resolved from MSAA), the post pass brings it out with
            # its bloom, scaled to the output size
            self._scene_tex = ctx.texture(scene_size, 4)
            self._scene_tex.filter = self._upscale_filter if scene_size != self.size_px else (moderngl.NEAREST,
                                                                                              moderngl.NEAREST)
            self._scene_tex.repeat_x = self._scene_tex.repeat_y = False
            depth = ctx.depth_renderbuffer(scene_size)
            self._scene_fbo = ctx.framebuffer(color_attachments=[self._scene_tex], depth_attachment=depth)
            self._size_objects += [self._scene_fbo, self._scene_tex, depth]
            if self.msaa_samples:
                colour = ctx.renderbuffer(scene_size, 4, samples=self.msaa_samples)
                mdepth = ctx.depth_renderbuffer(scene_size, samples=self.msaa_samples)
                self._msaa_fbo = ctx.framebuffer(color_attachments=[colour], depth_attachment=mdepth)
                self._size_objects += [self._msaa_fbo, colour, mdepth]
            bw, bh = (max(1, v // BLOOM_DOWNSCALE) for v in scene_size)
            for _ in range(2):  # ping-pong: horizontal blur into one, vertical into the other
                tex = ctx.texture((bw, bh), 4)
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
                tex.repeat_x = tex.repeat_y = False
                fbo = ctx.framebuffer(color_attachments=[tex])
                self._bloom_tex.append(tex)
                self._bloom_fbo.append(fbo)
                self._size_objects += [fbo, tex]
        elif scene_size != self.size_px:
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

    def draw(self, camera: Camera, *, show_zones: bool = False, time_s: float = 0.0) -> None:
        """Draw the level seen by ``camera``; ``show_zones`` tints the ground by sound zone;
        ``time_s``: the simulation clock's time, which moves the animated props (the same time
        draws the same picture)."""
        ctx = self.ctx
        target = self._scene_fbo if self._scene_fbo is not None else self._output()
        if self._msaa_fbo is not None:
            target = self._msaa_fbo
        w, h = self.scene_size_px
        target.use()
        target.viewport = (0, 0, w, h)
        target.clear(*self.look.haze_srgb, 0.0, depth=1.0)
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
        # depth pre-pass: software GL pays per shaded fragment, so lay down the walls' depth
        # cheaply first and run the material shaders only on what the walls leave in sight
        material_runs, depth_runs = self.draw_ranges(vp)
        if self.depth_prepass:
            _set(self._depth_prog, "u_light_clip", _mat(vp))
            target.color_mask = (False, False, False, False)
            for first, count in depth_runs:
                self._depth_vao.render(moderngl.TRIANGLES, vertices=count, first=first)
            target.color_mask = (True, True, True, True)
        ctx.depth_func = "<="
        for m, first, count in material_runs:
            self._scene_vaos[m].render(moderngl.TRIANGLES, vertices=count, first=first)
        ctx.disable(moderngl.CULL_FACE)
        _set(self._sky_prog, "u_inv_view_proj", _mat(np.linalg.inv(vp.astype(np.float64))))
        self._sky_vao.render(moderngl.TRIANGLES)
        # animated props (memoire/render/animated.py): flocks, rain, wet ground, after the static scene
        self._animated.draw(_mat(vp), eye, time_s, self.look, frustum_planes(vp) if self.frustum_cull else None)
        ctx.depth_func = "<"
        if self.quality == "high":
            self._post(w, h)
        elif self._scene_fbo is not None:  # scale the low-resolution picture up to the output
            out = self._output()
            out.use()
            out.viewport = (0, 0, *self.size_px)
            ctx.disable(moderngl.DEPTH_TEST)
            self._scene_tex.use(0)
            _set(self._blit_prog, "u_image", 0)
            _set(self._blit_prog, "u_flip", 1)
            _set(self._blit_prog, "u_rect", (-1.0, -1.0, 1.0, 1.0))
            self._blit_vao.render(moderngl.TRIANGLE_STRIP)

    def draw_ranges(self, vp: np.ndarray) -> tuple[list[tuple[Material, int, int]], list[tuple[int, int]]]:
        """The static scene's draws for this view: (material, first vertex, vertex count) runs for
        the material programs, and (first, count) runs across materials for the depth pre-pass."""
        mesh = self.mesh
        seen = mesh.chunk_ranges
        if self.frustum_cull:
            seen = seen[boxes_in_view(frustum_planes(vp), mesh.chunk_boxes)]
        mat, first, count = seen[:, 0], seen[:, 1], seen[:, 2]
        material_runs = []
        for a, n in _runs(first, count, mat):
            material_runs.append((Material(int(mat[np.searchsorted(first, a)])), a, n))
        occluders = np.isin(mat, DEPTH_PREPASS_MATERIALS)
        return material_runs, _runs(first[occluders], count[occluders])

    def _post(self, w: int, h: int) -> None:
        """Quality high, after the scene: resolve MSAA, blur the glow, screen it over the scene
        into the output (scaled to its size)."""
        ctx = self.ctx
        if self._msaa_fbo is not None:
            ctx.copy_framebuffer(self._scene_fbo, self._msaa_fbo)
        ctx.disable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.BLEND)
        strength = float(self.look.bloom)
        if strength > 0.0:
            bw, bh = self._bloom_tex[0].size
            prog = self._bloom_prog
            _set(prog, "u_image", 0)
            _set(prog, "u_rect", (-1.0, -1.0, 1.0, 1.0))
            # horizontal: from the full-size scene, taps 1.5 bloom texels apart (wider glow)
            self._bloom_fbo[0].use()
            self._bloom_fbo[0].viewport = (0, 0, bw, bh)
            self._scene_tex.use(0)
            _set(prog, "u_extract", 1)
            _set(prog, "u_step", (1.5 / bw, 0.0))
            self._bloom_vao.render(moderngl.TRIANGLE_STRIP)
            self._bloom_fbo[1].use()
            self._bloom_fbo[1].viewport = (0, 0, bw, bh)
            self._bloom_tex[0].use(0)
            _set(prog, "u_extract", 0)
            _set(prog, "u_step", (0.0, 1.5 / bh))
            self._bloom_vao.render(moderngl.TRIANGLE_STRIP)
        out = self._output()
        out.use()
        out.viewport = (0, 0, *self.size_px)
        self._scene_tex.use(0)
        self._bloom_tex[1].use(1)
        _set(self._post_prog, "u_image", 0)
        _set(self._post_prog, "u_bloom", 1)
        _set(self._post_prog, "u_bloom_strength", strength)
        _set(self._post_prog, "u_rect", (-1.0, -1.0, 1.0, 1.0))
        self._post_vao.render(moderngl.TRIANGLE_STRIP)
        ctx.enable(moderngl.DEPTH_TEST)

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
                    self._blit_prog, self._caster_vao, self._caster_vbo, self._post_vao, self._bloom_vao,
                    self._post_prog, self._bloom_prog,
                    self._animated):  # animated props (memoire/render/animated.py)
            if obj is not None:
                obj.release()
        self._overlay_textures.clear()
        self._scene_vaos = {}
        self._size_objects = []
