"""Props that move: a pigeon flock circling over its courtyard, rain falling, wet ground under it.

Split in two so the motion can be tested without GL:
- ``AnimatedProps`` (numpy only): the level's flocks and rain, and ``frame(time_s)``, the
  vertices of one moment: (n, ANIM_FLOATS) float32, birds' triangles first, then rain streaks as
  line segments. A pure function of the simulation time: the same time gives the same vertices,
  so renders, screenshots and videos are repeatable.
- ``AnimatedLayer`` (moderngl): writes that array into one dynamic vertex buffer each frame and
  draws it with a small program of its own, after the static scene; the wet ground is a static
  buffer drawn blended over the paving.

Cost on software GL (llvmpipe): the default level's flock is 14 birds x 12 triangles and its rain
about 650 one-pixel lines; the wet ground covers the rain courtyard's paving only. The numpy
work per frame is a few small array operations.

Frame: the renderer's world (X = level x east, Y up, Z = level y south, metres).
Thread: the main thread (it owns the GL context).
"""

from __future__ import annotations

import math

import numpy as np

from memoire.world.level import Level, Prop, SOLID_TILES
from memoire.world.props import flock_positions, wing_phase
from memoire.render import shaders
from memoire.render.camera import boxes_in_view
from memoire.render.props import prop_shapes

# vertex layout of the dynamic buffer: position xyz, normal xyz, colour rgba (sRGB, straight alpha)
ANIM_FLOATS = 10
# where a streak stops over a solid cell: a wall's capping (3 m high), a house's roof between its
# eave (3.15-3.4 m) and ridge (memoire/render/meshes.py): near enough at these distances
RAIN_FLOOR_WALL_M = 3.1
RAIN_FLOOR_HOUSE_M = 4.2
WET_LIFT_M = 0.004  # the wet film sits this far over the paving (plus a polygon offset)
FLAP_DT_S = 0.05  # a bird's heading from its positions this far apart in time
BIRD_BELLY = (0.62, 0.64, 0.68)  # a pigeon's paler underside, sRGB


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (3): np.cross's axis handling costs more than the sums
    for the few hundred vectors of a flock, every frame."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


def _inside(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Even-odd test of points (k, 2) against a polygon's corners (m, 2)."""
    x, y = pts[:, 0:1], pts[:, 1:2]
    a, b = poly, np.roll(poly, -1, axis=0)
    cross = (a[:, 1] > y) != (b[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return (cross & (x < xi)).sum(axis=1) % 2 == 1


# One bird in its own frame: coefficients (forward, right, up) in units of the body length; the
# wing tips are placed per frame from the wing angle. Triangles index these points.
_BODY = np.array([
    [0.55, 0.0, 0.02],   # 0 beak
    [0.1, 0.0, 0.12],    # 1 back
    [0.1, 0.11, 0.0],    # 2 right flank
    [0.1, -0.11, 0.0],   # 3 left flank
    [0.1, 0.0, -0.1],    # 4 belly
    [-0.45, 0.0, 0.0],   # 5 tail root
    [-0.75, 0.16, 0.0],  # 6 tail fan right
    [-0.75, -0.16, 0.0],  # 7 tail fan left
    [0.22, 0.06, 0.04],  # 8 right wing root, front
    [-0.12, 0.06, 0.04],  # 9 right wing root, back
    [0.22, -0.06, 0.04],  # 10 left wing root, front
    [-0.12, -0.06, 0.04],  # 11 left wing root, back
])
_TRIS = np.array([
    [0, 1, 2], [0, 3, 1], [0, 2, 4], [0, 4, 3],  # head to the flanks
    [1, 5, 2], [3, 5, 1], [2, 5, 4], [4, 5, 3],  # flanks to the tail
    [5, 6, 7],  # tail fan
    [8, 12, 9], [10, 11, 13],  # wings (12, 13: the tips, placed per frame)
    [9, 12, 5], [11, 5, 13],  # the wings' trailing edges filled toward the tail (a broad wing)
])
_BELLY_TRIS = {2, 3, 6, 7}


class AnimatedProps:
    """The moving props of a level, as vertices at a moment (numpy only)."""

    def __init__(self, level: Level) -> None:
        shapes = prop_shapes()
        self.flock = shapes["flock"]
        self.rain = shapes["rain"]
        props = level.all_props()
        self.flocks: tuple[Prop, ...] = tuple(p for p in props if p.kind == "flock")
        self.rains: tuple[Prop, ...] = tuple(p for p in props if p.kind == "rain")
        self._drops = self._place_drops(level)  # (m, 4): x, z, floor y, phase 0..1
        self.bird_vertex_count = sum(p.birds for p in self.flocks) * len(_TRIS) * 3
        self.rain_vertex_count = 2 * len(self._drops)
        self.wet_vertices = self._wet_ground(level)
        # each of a bird's triangles' colour, (triangles, 4) sRGB + alpha: the back, the belly
        self._bird_rgba = np.tile(np.r_[np.asarray(self.flock["colour"], dtype=np.float32), 1.0], (len(_TRIS), 1))
        self._bird_rgba[sorted(_BELLY_TRIS), :3] = BIRD_BELLY
        # boxes (2, 3: min and max corner, world metres) for culling what is out of view: the
        # rain's streaks (its drops' spread, from the lowest floor to the top) and the wet film
        self.rain_box = (np.array([[self._drops[:, 0].min(), self._drops[:, 2].min(), self._drops[:, 1].min()],
                                   [self._drops[:, 0].max(), float(self.rain["top_m"]), self._drops[:, 1].max()]])
                         if len(self._drops) else None)
        self.wet_box = (np.stack([self.wet_vertices.min(axis=0), self.wet_vertices.max(axis=0)])
                        if len(self.wet_vertices) else None)

    def flock_box(self, time_s: float) -> np.ndarray | None:
        """The box (2, 3) holding every bird at ``time_s`` (their centres, widened by a wingspan
        and a body length each way), or None without flocks."""
        if not self.flocks:
            return None
        pos = np.concatenate([flock_positions(p, time_s) for p in self.flocks])[:, [0, 2, 1]]  # -> X, Y, Z
        reach = float(self.flock["wingspan_m"]) + float(self.flock["body_m"])
        return np.stack([pos.min(axis=0) - reach, pos.max(axis=0) + reach])

    def _place_drops(self, level: Level) -> np.ndarray:
        tiles = level.tiles
        out = []
        for p in self.rains:
            poly = np.asarray(p.area, dtype=np.float64)
            lo, hi = poly.min(axis=0), poly.max(axis=0)
            area_m2 = float(np.prod(hi - lo))
            rng = np.random.default_rng(abs(int(round(p.at[0] * 1000)) * 100003 + int(round(p.at[1] * 1000))))
            n = int(round(area_m2 * float(self.rain["drops_per_m2"])))
            xy = lo + rng.random((n, 2)) * (hi - lo)
            xy = xy[_inside(poly, xy)]
            floor = np.zeros(len(xy))
            for i, (x, y) in enumerate(xy):
                kind = tiles.kind_at(*tiles.cell_of(x, y))
                if kind == "house":
                    floor[i] = RAIN_FLOOR_HOUSE_M
                elif kind in SOLID_TILES:
                    floor[i] = RAIN_FLOOR_WALL_M
            out.append(np.c_[xy, floor, rng.random(len(xy))])
        return np.concatenate(out) if out else np.zeros((0, 4))

    def _wet_ground(self, level: Level) -> np.ndarray:
        """Quads (as triangles, (6k, 3) positions) over the walkable cells whose centre lies in
        a wet rain's area."""
        tiles = level.tiles
        cell = tiles.cell_m
        quads = []
        for p in self.rains:
            if not p.wet:
                continue
            poly = np.asarray(p.area, dtype=np.float64)
            for row in range(tiles.height):
                for col in range(tiles.width):
                    if tiles.kind_at(col, row) in SOLID_TILES:
                        continue
                    if not _inside(poly, np.array([tiles.cell_center(col, row)]))[0]:
                        continue
                    x0, z0, x1, z1 = col * cell, row * cell, (col + 1) * cell, (row + 1) * cell
                    y = WET_LIFT_M
                    quads.append([(x0, y, z0), (x0, y, z1), (x1, y, z1), (x0, y, z0), (x1, y, z1), (x1, y, z0)])
        return np.asarray(quads, dtype=np.float32).reshape(-1, 3)

    @property
    def vertex_count(self) -> int:
        return self.bird_vertex_count + self.rain_vertex_count

    def frame(self, time_s: float) -> np.ndarray:
        """The vertices at simulation time ``time_s``: (vertex_count, ANIM_FLOATS) float32, the
        birds' triangles (bird_vertex_count) then the rain's line segments."""
        out = np.empty((self.vertex_count, ANIM_FLOATS), dtype=np.float32)
        k = 0
        for p in self.flocks:
            v = self._birds(p, time_s)
            out[k:k + len(v)] = v
            k += len(v)
        if len(self._drops):
            out[k:] = self._streaks(time_s)
        return out

    def _birds(self, p: Prop, t: float) -> np.ndarray:
        f = self.flock
        body = float(f["body_m"])
        pos = flock_positions(p, t)
        ahead = flock_positions(p, t + FLAP_DT_S)
        P, A = pos[:, [0, 2, 1]], ahead[:, [0, 2, 1]]  # (x, y, h) -> (X, Y, Z)
        F = A - P
        F /= np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-9)
        R = _cross(F, np.array([0.0, 1.0, 0.0]))
        R /= np.maximum(np.linalg.norm(R, axis=1, keepdims=True), 1e-9)
        bank = 0.35  # birds on a circle bank into the turn (radians)
        U = _cross(R, F) * math.cos(bank) + R * math.sin(bank)
        R = _cross(F, U)
        n = len(P)
        lift = math.radians(float(f["wing_lift_deg"])) * wing_phase(p, t)  # (n,)
        half_span = 0.5 * float(f["wingspan_m"]) / body
        pts = np.empty((n, len(_BODY) + 2, 3))
        pts[:, :len(_BODY)] = _BODY
        for j, side in ((12, 1.0), (13, -1.0)):
            pts[:, j, 0] = -0.05
            pts[:, j, 1] = side * (0.06 + half_span * np.cos(lift))
            pts[:, j, 2] = 0.04 + half_span * np.sin(lift)
        world = (P[:, None, :] + body * (pts[..., 0:1] * F[:, None, :] + pts[..., 1:2] * R[:, None, :]
                                         + pts[..., 2:3] * U[:, None, :]))
        tri = world[:, _TRIS]  # (n, t, 3, 3)
        nrm = _cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])
        nrm /= np.maximum(np.linalg.norm(nrm, axis=-1, keepdims=True), 1e-12)
        out = np.empty((n, len(_TRIS), 3, ANIM_FLOATS), dtype=np.float32)
        out[..., 0:3] = tri
        out[..., 3:6] = nrm[:, :, None, :]
        out[..., 6:10] = self._bird_rgba[None, :, None, :]
        return out.reshape(-1, ANIM_FLOATS)

    def _streaks(self, t: float) -> np.ndarray:
        r = self.rain
        top, fall, streak = float(r["top_m"]), float(r["fall_mps"]), float(r["streak_m"])
        d = self._drops
        drop_len = np.maximum(top - d[:, 2], 0.5)
        s = np.mod(t * fall + d[:, 3] * drop_len, drop_len)  # metres fallen since this drop started
        head = top - s
        tail = np.minimum(head + streak, top)
        m = len(d)
        out = np.empty((m, 2, ANIM_FLOATS), dtype=np.float32)
        out[:, :, 0] = d[:, 0:1]
        out[:, :, 2] = d[:, 1:2]
        out[:, 0, 1] = head
        out[:, 1, 1] = tail
        out[:, :, 3:6] = (0.0, 1.0, 0.0)
        out[:, :, 6:9] = r["colour"]
        out[:, 0, 9] = float(r["alpha"])
        out[:, 1, 9] = 0.0  # the streak fades toward its top (motion blur of a falling drop)
        return out.reshape(-1, ANIM_FLOATS)


ANIM_VS = """
uniform mat4 u_view_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec4 in_rgba;
out vec3 v_pos;
out vec3 v_normal;
out vec4 v_rgba;
void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_rgba = in_rgba;
    gl_Position = u_view_proj * vec4(in_pos, 1.0);
}
"""

ANIM_FS = """
uniform int u_lit;            // 1: birds (sun and sky light), 0: rain streaks (their own colour)
in vec3 v_pos;
in vec3 v_normal;
in vec4 v_rgba;
out vec4 f_colour;
void main() {
    vec3 c = v_rgba.rgb;
    if (u_lit == 1) {
        vec3 n = normalize(gl_FrontFacing ? v_normal : -v_normal);
        vec3 lin = to_linear(c) * (u_sun_rgb * max(dot(n, u_sun_dir), 0.0)
                                    + u_sky_rgb * (0.6 + 0.4 * n.y) + u_bounce_rgb * max(-n.y, 0.0));
        c = to_srgb(lin * u_exposure);
    }
    // alpha: the streak's cover when blended; birds are drawn unblended and leave 0 (the scene's
    // alpha is its glow for the bloom pass: birds do not glow)
    f_colour = vec4(fog(c, length(v_pos - u_eye)), u_lit == 1 ? 0.0 : v_rgba.a);
}
"""

WET_VS = """
uniform mat4 u_view_proj;
in vec3 in_pos;
out vec3 v_pos;
void main() {
    v_pos = in_pos;
    gl_Position = u_view_proj * vec4(in_pos, 1.0);
}
"""

# Blended with (ONE, SRC_ALPHA): the paving under it times alpha (darker), plus what the water film
# reflects (the sky, the sun's glint, rings where drops land).
WET_FS = """
uniform float u_time_s;
uniform float u_darken;
uniform float u_gloss;
uniform float u_ripple_cell_m;
in vec3 v_pos;
out vec4 f_colour;
void main() {
    vec3 v = normalize(u_eye - v_pos);
    float ndv = clamp(v.y, 0.0, 1.0);
    float f = 1.0 - ndv;
    f = f * f;
    float fresnel = 0.04 + 0.96 * f * f;                  // Schlick, with the 5th power as 4th
    vec3 sky = mix(u_horizon_rgb, u_zenith_rgb, ndv);     // what the film mirrors, roughly
    vec3 r = reflect(-v, vec3(0.0, 1.0, 0.0));
    float glint = pow(max(dot(r, u_sun_dir), 0.0), 80.0);
    // rings: one drop per cell, each landing at its own moment, its ring spreading and fading
    vec2 cell = floor(v_pos.xz / u_ripple_cell_m);
    float h = hash21(cell);
    vec2 centre = (cell + 0.2 + 0.6 * vec2(h, hash21(cell + 7.1))) * u_ripple_cell_m;
    float age = fract(u_time_s * 1.3 + h);
    float d = length(v_pos.xz - centre);
    float ring = (1.0 - age) * (1.0 - smoothstep(0.0, 0.012, abs(d - 0.25 * age)));
    float dist = length(u_eye - v_pos);
    float near = exp(-dist * 0.08);                        // rings are lost in the distance
    vec3 add = sky * fresnel * u_gloss + vec3(glint) * 0.6 + vec3(ring * 0.22 * near);
    float haze = 1.0 - exp(-dist * u_fog_per_m);           // fog: less of both far away
    f_colour = vec4(add * (1.0 - haze), mix(u_darken, 1.0, haze));
}
"""


class AnimatedLayer:
    """Draws a level's ``AnimatedProps`` with moderngl; ``draw`` once per frame after the static
    scene. Does nothing (and costs nothing) in a level without flocks or rain."""

    def __init__(self, ctx, level: Level) -> None:
        import moderngl

        self._mgl = moderngl
        self.ctx = ctx
        self.props = AnimatedProps(level)
        head = "#version 330\n"
        self._prog = ctx.program(vertex_shader=head + ANIM_VS, fragment_shader=head + shaders.COMMON_FS + ANIM_FS)
        self._wet_prog = ctx.program(vertex_shader=head + WET_VS, fragment_shader=head + shaders.COMMON_FS + WET_FS)
        n = self.props.vertex_count
        self._vbo = ctx.buffer(reserve=max(1, n) * ANIM_FLOATS * 4, dynamic=True)
        self._vao = ctx.vertex_array(self._prog, [(self._vbo, "3f 3f 4f", "in_pos", "in_normal", "in_rgba")],
                                     skip_errors=True)
        wet = self.props.wet_vertices
        self._wet_vbo = ctx.buffer(wet.tobytes() if len(wet) else np.zeros(3, "f4").tobytes())
        self._wet_vao = ctx.vertex_array(self._wet_prog, [(self._wet_vbo, "3f", "in_pos")])
        rain = self.props.rain
        self._set(self._wet_prog, "u_darken", float(rain["wet_darken"]))
        self._set(self._wet_prog, "u_gloss", float(rain["wet_gloss"]))
        self._set(self._wet_prog, "u_ripple_cell_m", 1.0 / math.sqrt(float(rain["ripples_per_m2"])))

    @staticmethod
    def _set(prog, name: str, value) -> None:
        if name in prog:
            if isinstance(value, bytes):
                prog[name].write(value)
            else:
                prog[name].value = value

    def draw(self, view_proj: bytes, eye, time_s: float, look, planes: np.ndarray | None = None) -> None:
        """Draw the moving props at simulation time ``time_s`` into the bound framebuffer.
        ``view_proj``: the camera's matrix as OpenGL bytes; ``eye``: the camera position (world);
        ``look``: the renderer's time of day (memoire/render/look.py ``TimeOfDay``), whose light
        and haze the props are lit by; ``planes``: the camera's frustum (camera.frustum_planes),
        outside which the flock, the rain and the wet film are neither made nor drawn (None: all
        drawn). Leaves the scene's alpha (its glow) as it was."""
        p = self.props

        def seen(box) -> bool:
            return planes is None or bool(boxes_in_view(planes, box[None])[0])

        wet = bool(len(p.wet_vertices)) and seen(p.wet_box)
        birds = bool(p.bird_vertex_count) and seen(p.flock_box(time_s))
        rain = bool(p.rain_vertex_count) and seen(p.rain_box)
        if not (wet or birds or rain):
            return
        mgl, ctx = self._mgl, self.ctx
        light = {"u_sun_dir": look.sun_direction(), "u_sun_rgb": look.sun_linear, "u_sky_rgb": look.sky_ambient_linear,
                 "u_bounce_rgb": look.bounce_ambient_linear, "u_horizon_rgb": look.horizon_srgb,
                 "u_zenith_rgb": look.zenith_srgb, "u_haze_rgb": look.haze_srgb, "u_fog_per_m": look.haze_per_m,
                 "u_exposure": look.exposure}
        for prog in (self._prog, self._wet_prog):
            self._set(prog, "u_view_proj", view_proj)
            self._set(prog, "u_eye", tuple(float(v) for v in eye))
            for name, value in light.items():
                self._set(prog, name, tuple(float(v) for v in value) if np.ndim(value) else float(value))
        ctx.enable(mgl.DEPTH_TEST)
        ctx.disable(mgl.CULL_FACE)  # wings and the wet film are seen from both sides / from above
        if wet:
            self._set(self._wet_prog, "u_time_s", float(time_s))
            ctx.depth_func = "<="
            ctx.enable(mgl.BLEND)
            ctx.blend_func = mgl.ONE, mgl.SRC_ALPHA, mgl.ZERO, mgl.ONE  # alpha (the glow) kept
            ctx.polygon_offset = (-1.0, -2.0)
            self._wet_vao.render(mgl.TRIANGLES)
            ctx.polygon_offset = (0.0, 0.0)
        if birds or rain:
            self._vbo.write(p.frame(time_s).tobytes())
            ctx.depth_func = "<"
            if birds:
                ctx.disable(mgl.BLEND)
                self._set(self._prog, "u_lit", 1)
                self._vao.render(mgl.TRIANGLES, vertices=p.bird_vertex_count)
            if rain:
                ctx.enable(mgl.BLEND)
                ctx.blend_func = mgl.SRC_ALPHA, mgl.ONE_MINUS_SRC_ALPHA, mgl.ZERO, mgl.ONE
                self._set(self._prog, "u_lit", 0)
                ctx.fbo.depth_mask = False  # streaks do not hide what is behind them
                self._vao.render(mgl.LINES, vertices=p.rain_vertex_count, first=p.bird_vertex_count)
                ctx.fbo.depth_mask = True
        ctx.disable(mgl.BLEND)

    def release(self) -> None:
        for obj in (self._vao, self._vbo, self._wet_vao, self._wet_vbo, self._prog, self._wet_prog):
            obj.release()
