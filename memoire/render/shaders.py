"""GLSL 3.30 sources of the renderer (strings only; compiled in renderer.py).

Surface detail is procedural, computed from world position (metres) in the fragment shader, so
the level needs no textures and few triangles. Patterns fade to their average colour where a
pixel covers more than one repeat (``fwidth``), which avoids shimmering without mipmaps.
Colours are sRGB; lighting happens in linear light and the result is encoded back to sRGB.
Material ids are injected as #defines from ``memoire.render.geometry.Material``. The scene
fragment shader is compiled once per material with ``#define MATERIAL <id>``: software GL
runs every branch of an if-chain under a mask, so a per-material program (the mesh is
sorted by material, one draw call each) shades each pixel with only its own material's code.

Quality: ``#define QUALITY_HIGH`` (renderer.py) turns on the Poisson-disc soft shadows, two
octaves of grass blades and of cloud, the wall foot's occlusion from the ground map and the sky's
exact gradient (low has cheaper stand-ins: docs/look.md, Frame time); the
scene's alpha channel carries each pixel's glow (0..1: lanterns, lit windows, sun glints), which
the high-quality post pass (POST_FS) blurs into bloom. The light of the time of day arrives as
uniforms (memoire/render/look.py, assets/look/times.toml).
"""

from __future__ import annotations

from memoire.render.geometry import Material


def defines() -> str:
    return "".join(f"#define MAT_{m.name} {int(m)}\n" for m in Material)


SCENE_VS = """
invariant gl_Position;   // the depth pre-pass must produce bit-identical depths
uniform mat4 u_view_proj;
uniform mat4 u_light_vp;   // world -> shadow map texture coordinates [0, 1]^3

in vec3 in_pos;
in vec3 in_normal;
in vec3 in_colour;

out vec3 v_pos;
out vec3 v_normal;
out vec3 v_colour;
out vec3 v_light;

void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_colour = in_colour;
    // normal offset against shadow acne: look the shadow up a little off the surface
    v_light = (u_light_vp * vec4(in_pos + in_normal * 0.06, 1.0)).xyz;
    gl_Position = u_view_proj * vec4(in_pos, 1.0);
}
"""

COMMON_FS = """
uniform vec3 u_eye;
uniform vec3 u_sun_dir;       // unit vector toward the sun
uniform vec3 u_sun_rgb;       // linear
uniform vec3 u_sky_rgb;       // linear ambient from above
uniform vec3 u_bounce_rgb;    // linear ambient from below (light off the paving)
uniform vec3 u_horizon_rgb;   // sRGB: sky at the horizon
uniform vec3 u_zenith_rgb;    // sRGB
uniform vec3 u_haze_rgb;      // sRGB: the colour distance fades to
uniform float u_fog_per_m;    // haze density (1/m)
uniform float u_exposure;     // multiplier on linear light before encoding

float hash21(vec2 p) {
    p = fract(p * vec2(234.34, 435.345));
    p += dot(p, p + 34.23);
    return fract(p.x * p.y);
}

float value_noise(vec2 p) {
    vec2 i = floor(p);
    vec2 f = fract(p);
    f = f * f * (3.0 - 2.0 * f);
    float a = hash21(i), b = hash21(i + vec2(1.0, 0.0));
    float c = hash21(i + vec2(0.0, 1.0)), d = hash21(i + vec2(1.0, 1.0));
    return mix(mix(a, b, f.x), mix(c, d, f.x), f.y);
}

// 1 on a line of the grid with the given period and line width (same units as x), 0
// elsewhere; fw = fwidth(x), the pixel footprint. Where the pattern is smaller than a pixel
// it fades to its average coverage instead of shimmering.
float grid_line(float x, float fw, float period, float width) {
    float t = abs(fract(x / period + 0.5) - 0.5) * period;  // distance to the nearest line
    float line = 1.0 - smoothstep(width * 0.5, width * 0.5 + fw + 1e-5, t);
    return mix(line, width / period, clamp(fw / period * 1.5 - 0.5, 0.0, 1.0));
}

// how much detail survives at this pixel footprint (1 near, 0 when one repeat < ~2 pixels)
float detail(float fw, float period) {
    return clamp(1.5 - 2.0 * fw / period, 0.0, 1.0);
}

// gamma 2 instead of the exact sRGB curve: a square and a square root are much cheaper than
// pow() on a software rasteriser, and the difference does not show
vec3 to_linear(vec3 c) { return c * c; }
vec3 to_srgb(vec3 c) { return sqrt(clamp(c, 0.0, 1.0)); }

vec3 fog(vec3 srgb, float dist_m) {
    float f = 1.0 - exp(-dist_m * u_fog_per_m);
    return mix(srgb, u_haze_rgb, f);
}
"""

SCENE_FS = """
uniform sampler2DShadow u_shadow;
uniform sampler2D u_ground_ao;   // level-aligned: r = ambient visibility of the ground, g = bare earth
uniform sampler2D u_zone_tint;   // premultiplied zone colours, level-aligned
uniform vec2 u_level_size_m;
uniform int u_show_zones;
uniform float u_lantern_glow;   // lantern silk brightness (linear)
uniform float u_lantern_pool;   // lantern light on the ground (linear)
uniform float u_window_glow;    // lamplight behind the lattice paper (linear)
uniform vec3 u_window_rgb;      // its colour, sRGB
uniform float u_shadow_texel;   // one shadow-map texel in texture units (1 / size)

const vec3 LANTERN_LIGHT_RGB = vec3(1.0, 0.55, 0.25);   // linear: candle-warm light through red silk
// quality low: a wall foot's occlusion without the ground map: 0.45 * foot + 0.1 at the map's
// value 0.4 m in front of a straight wall (0.82 on the default level: meshes.ground_occlusion)
const float BRICK_FOOT_AO_LOW = 0.47;

#ifdef QUALITY_HIGH
// 12 points of a Poisson disc (radius 1), rotated per pixel: a soft penumbra with no banding
const vec2 POISSON[12] = vec2[](
    vec2(-0.326, -0.406), vec2(-0.840, -0.074), vec2(-0.696, 0.457), vec2(-0.203, 0.621),
    vec2(0.962, -0.195), vec2(0.473, -0.480), vec2(0.519, 0.767), vec2(0.185, -0.893),
    vec2(0.507, 0.064), vec2(0.896, 0.412), vec2(-0.322, -0.933), vec2(-0.792, -0.598));
const float PENUMBRA_TEXELS = 2.5;   // ~10 cm on the default level: a wall's edge 3 m up, softened

float sun_visibility(vec3 lp) {
    float a = 6.2832 * hash21(gl_FragCoord.xy);
    mat2 rot = mat2(cos(a), sin(a), -sin(a), cos(a));
    float sum = 0.0;
    for (int i = 0; i < 12; i++) {
        vec2 o = rot * POISSON[i] * (PENUMBRA_TEXELS * u_shadow_texel);
        sum += texture(u_shadow, vec3(lp.xy + o, lp.z));
    }
    return sum / 12.0;
}
#else
float sun_visibility(vec3 lp) { return texture(u_shadow, lp); }   // 2x2 hardware PCF
#endif

in vec3 v_pos;
in vec3 v_normal;
in vec3 v_colour;
in vec3 v_light;

out vec4 f_colour;

void main() {
    vec3 n = normalize(gl_FrontFacing ? v_normal : -v_normal);
    vec3 albedo = v_colour;
    float ao = 1.0;
    float spec = 0.0;
    vec3 p = v_pos;
    vec2 ground_uv = p.xz / u_level_size_m;
    // a horizontal direction along the surface (for vertical walls and roof slopes)
    vec2 side = normalize(vec2(-n.z, n.x) + vec2(1e-4, 0.0));
    float along = dot(p.xz, side);

    // pixel footprints, taken here in uniform control flow (derivatives are undefined in branches)
    vec3 fwp = fwidth(p);
    float fwa = fwidth(along);
    float window = 0.0;   // lit paper of a lattice window (facade), 0..1
    float pool = 0.0;     // lantern light on the ground, 0..1

    if (MATERIAL == MAT_BRICK) {
        float course_m = 0.105, brick_m = 0.32;
        float row = floor(p.y / course_m);
        float u = along + 0.5 * brick_m * mod(row, 2.0);
        float d = detail(fwa, brick_m);
        float mortar = max(grid_line(p.y, fwp.y, course_m, 0.014), grid_line(u, fwa, brick_m, 0.014) * d);
        float h = hash21(vec2(floor(u / brick_m), row));
        albedo *= mix(1.0, 0.9 + 0.2 * h, d);
        albedo = mix(albedo, vec3(0.70, 0.70, 0.68), mortar * 0.75);
        // weathering: broad lighter and darker patches, damp stains rising from the foot
        float patch = value_noise(vec2(along * 0.35, p.y * 0.6));
        float damp = value_noise(vec2(along * 1.3, 0.0)) * (1.0 - smoothstep(0.0, 1.4, p.y));
        albedo *= (0.9 + 0.2 * patch) * (1.0 - 0.22 * damp);
        albedo *= mix(0.86, 1.0, smoothstep(0.0, 0.6, p.y));
#ifdef QUALITY_HIGH
        // occlusion: the ground map in front of the wall says how closed in the corner is
        float foot = texture(u_ground_ao, (p.xz + n.xz * 0.4) / u_level_size_m).r;
        ao = mix(0.45 * foot + 0.1, 1.0, smoothstep(0.0, 1.6, p.y));
#else
        // quality low: the same darkening at the foot of every wall, without the texture lookup
        // (a quarter of the screen is brick; each texture sample costs on software GL)
        ao = mix(BRICK_FOOT_AO_LOW, 1.0, smoothstep(0.0, 1.6, p.y));
#endif
    } else if (MATERIAL == MAT_ROOF) {
        // tile rows run down the slope: alternating convex cover tiles and concave pan tiles
        float period_m = 0.24;
        float s = along / period_m;
        float d = detail(fwa, period_m);
        float ph = fract(s);
        float wave = ph * (1.0 - ph) * 4.0;  // 0 at the channel, 1 on the crest of a cover tile
        n = normalize(n + d * 0.5 * (1.0 - 2.0 * ph) * vec3(side.x, 0.0, side.y));
        float course = grid_line(p.y, fwp.y, 0.11, 0.012) * d;
        albedo *= mix(1.0, 0.82 + 0.22 * wave - 0.25 * course, d);
        albedo *= 0.93 + 0.14 * hash21(vec2(floor(s), floor(p.y / 0.11)));
        ao = mix(1.0, 0.7 + 0.3 * wave, d);
        if (n.y < 0.0) {
            // under the eaves: round rafters painted dark green, between them dark boards
            float rafter = 1.0 - smoothstep(0.25, 0.32, abs(ph - 0.5));
            albedo = mix(vec3(0.30, 0.22, 0.16), vec3(0.12, 0.32, 0.26), rafter);
            ao = 0.75;
        }
    } else if (MATERIAL == MAT_FACADE) {
        // siheyuan front: brick sill wall, lattice windows, red columns, painted beam, red frieze
        float bay_m = 1.5;
        float u = along;
        float bay = floor(u / bay_m);
        float x = fract(u / bay_m) * bay_m;          // position in the bay, metres
        bool is_door = hash21(vec2(bay, dot(floor(p.xz / 9.0), vec2(3.1, 1.7)))) < 0.3;
        float sill = is_door ? 0.0 : 0.85;
        float top = 2.35;
        float col_w = 0.22;
        float edge = min(x, bay_m - x);
        if (edge < col_w * 0.5) {
            albedo = vec3(0.60, 0.13, 0.08);   // lacquered column
            spec = 0.25;
        } else if (p.y < sill) {
            float row = floor(p.y / 0.105);
            float mortar = max(grid_line(p.y, fwp.y, 0.105, 0.014),
                               grid_line(u + 0.16 * mod(row, 2.0), fwa, 0.32, 0.014));
            albedo = mix(vec3(0.55, 0.56, 0.57), vec3(0.70, 0.70, 0.68), mortar * 0.75);
        } else if (p.y < top) {
            float frame = 0.08;
            if (edge < col_w * 0.5 + frame || p.y < sill + frame || p.y > top - frame) {
                albedo = vec3(0.46, 0.10, 0.06);
            } else if (is_door && p.y < 1.1) {
                albedo = vec3(0.42, 0.09, 0.06);   // solid lower door panel
            } else {
                // lattice window, "lantern frame" (denglongkuang): an open central pane framed by
                // a bar, and a fretted border of short rungs between it and the window frame
                float x0 = col_w * 0.5 + frame, x1 = bay_m - col_w * 0.5 - frame;
                float y0 = (is_door ? 1.1 : sill + frame), y1 = top - frame;
                vec2 q = vec2(x - x0, p.y - y0);            // metres from the pane's corner
                vec2 size = vec2(x1 - x0, y1 - y0);
                vec2 e = min(q, size - q);                  // distance to the window frame
                float band_m = 0.16;                        // the fretted border's width
                float bar_m = 0.026;
                vec2 fw2 = vec2(fwa, fwp.y);
                // bar around the central pane, and one halfway through the border
                float inner = min(abs(e.x - band_m), abs(e.y - band_m));
                float mid = min(abs(e.x - band_m * 0.5), abs(e.y - band_m * 0.5));
                float fwm = max(fw2.x, fw2.y);
                float lat = 1.0 - smoothstep(bar_m * 0.5, bar_m * 0.5 + fwm, min(inner, mid));
                // rungs across the border, alternating between its two halves (the fret)
                float in_band = step(min(e.x, e.y), band_m);
                float along_b = e.x < e.y ? q.y : q.x;      // along the border's side
                float fw_b = e.x < e.y ? fw2.y : fw2.x;
                float half_b = step(band_m * 0.5, min(e.x, e.y));
                float rung = grid_line(along_b + half_b * 0.06, fw_b, 0.12, bar_m);
                lat = max(lat, rung * in_band);
                lat = mix(lat, 0.35, clamp(fwm / 0.04 - 0.5, 0.0, 1.0));   // far away: the average
                albedo = mix(vec3(0.84, 0.78, 0.64), vec3(0.40, 0.09, 0.06), lat);
                window = 1.0 - lat;
                ao = 0.85;
            }
        } else if (p.y < 2.75) {
            // painted beam: blue and teal panels with a gold line
            float band = fract((u + 0.37 * step(2.55, p.y)) / 0.75);
            albedo = band < 0.5 ? vec3(0.12, 0.25, 0.55) : vec3(0.10, 0.42, 0.44);
            albedo = mix(albedo, vec3(0.85, 0.65, 0.25), grid_line(p.y - 0.05, fwp.y, 0.2, 0.025));
        } else {
            albedo = vec3(0.55, 0.12, 0.08);
        }
        ao *= mix(0.7, 1.0, smoothstep(0.0, 1.0, p.y));
        ao *= mix(1.0, 0.55, smoothstep(2.3, 3.3, p.y));   // under the eaves
    } else if (MATERIAL == MAT_PAVING) {
        float slab_m = 0.6;
        float d = detail(max(fwp.x, fwp.z), slab_m);
        float joint = max(grid_line(p.x, fwp.x, slab_m, 0.015), grid_line(p.z, fwp.z, slab_m, 0.015));
        vec2 cell = floor(p.xz / slab_m);
        float h = hash21(cell);
        float h2 = hash21(cell + 17.0);
        albedo *= mix(1.0, 0.88 + 0.2 * h, d);
        // a few darker, weathered slabs
        albedo *= mix(1.0, 0.86, step(0.85, h2) * d);
        albedo = mix(albedo, vec3(0.42, 0.42, 0.41), joint * 0.7);
        vec3 ground = texture(u_ground_ao, ground_uv).rgb;
        ao = ground.r;
        pool = ground.b;
    } else if (MATERIAL == MAT_GARDEN) {
        float big = value_noise(p.xz * 0.35);
        float mid = value_noise(p.xz * 2.3);
        float fine = value_noise(p.xz * 11.0);      // tufts, ~10 cm
        float fwg = max(fwp.x, fwp.z);
        float d = detail(fwg, 0.25);
        vec3 grass = mix(vec3(0.25, 0.38, 0.14), vec3(0.40, 0.53, 0.22), mid);
        grass *= mix(1.0, 0.8 + 0.4 * fine, d);
        // blades at the scale a standing visitor sees at their feet: ~1.5 cm wide, 6 cm long,
        // leaning one way per tuft; they fade to the tufts' colour once smaller than ~2 pixels
#ifdef QUALITY_HIGH
        vec2 bq = p.xz * vec2(64.0, 17.0) + vec2(3.0 * fine, 0.0);
        float blade = value_noise(bq) * 0.6 + value_noise(bq * 2.1 + 7.0) * 0.4;
        float db = detail(fwg, 0.03);
#else
        // quality low: one octave of blades (each octave is four hashes per pixel)
        float blade = value_noise(p.xz * vec2(64.0, 17.0) + vec2(3.0 * fine, 0.0));
        float db = detail(fwg, 0.03);
#endif
        grass *= mix(1.0, 0.72 + 0.56 * blade, db);
        grass = mix(grass, grass * vec3(1.15, 1.1, 0.8), db * smoothstep(0.75, 0.95, blade));   // sunlit tips
        vec3 earth = vec3(0.45, 0.37, 0.27) * (0.9 + 0.2 * mid);
        vec3 ground3 = texture(u_ground_ao, ground_uv).rgb;
        vec2 ground = ground3.rg;
        pool = ground3.b;
        float bare = max(smoothstep(0.8, 0.86, big), smoothstep(0.0, 1.0, ground.g + 0.3 * (mid - 0.5)));
        albedo = mix(grass, earth, bare);
        ao = ground.r;
    } else if (MATERIAL == MAT_LEAVES) {
        float nz = value_noise(p.xz * 5.0 + p.y * 3.0);
        float nz2 = value_noise(p.xz * 1.3 + p.y * 1.1);
        albedo *= 0.65 + 0.4 * nz2 + 0.3 * nz;
        vec3 q = p * 4.0;
        n = normalize(n + 0.6 * (vec3(value_noise(q.zy), value_noise(q.xy + 5.0), value_noise(q.xz + 9.0)) - 0.5));
        ao = 0.5 + 0.5 * smoothstep(-0.6, 0.8, n.y);
    } else if (MATERIAL == MAT_DOOR) {
        // v_colour = (across, up, studs?) in the leaf; lacquered red with a sunk frame and, on
        // gates, rows of gilt studs (5 across, 9 up)
        vec2 uv = v_colour.rg;
        float frame = step(0.06, uv.x) * step(uv.x, 0.94) * step(0.04, uv.y) * step(uv.y, 0.96);
        albedo = mix(vec3(0.45, 0.08, 0.05), vec3(0.62, 0.11, 0.07), frame);
        spec = 0.45;
        if (v_colour.b > 0.5) {
            // nine rows of nine gilt studs (jiulu dingmen), each a hemisphere: its normal is the
            // sphere's, its rim sits in a dark ring of shadow on the lacquer
            vec2 q = (uv - vec2(0.12, 0.14)) / vec2(0.76, 0.72) * vec2(9.0, 9.0);
            vec2 f = fract(q) - 0.5;
            vec2 inside = step(0.0, q) * step(q, vec2(9.0, 9.0));
            float r = length(f * vec2(1.0, 1.15)) / 0.3;        // 1 at the stud's rim
            float cover = inside.x * inside.y;
            float stud = (1.0 - smoothstep(0.85, 1.0, r)) * cover;
            float ring = (smoothstep(0.9, 1.05, r) - smoothstep(1.05, 1.45, r)) * cover;
            vec3 t_u = normalize(vec3(-n.z, 0.0, n.x) + vec3(1e-4, 0.0, 0.0));
            vec2 s2 = f / 0.3 * vec2(1.0, 1.15);
            float h = sqrt(max(1.0 - dot(s2, s2), 0.0));
            vec3 dome = normalize(n * h + t_u * s2.x + vec3(0.0, s2.y, 0.0));
            n = normalize(mix(n, dome, stud));
            albedo = mix(albedo * (1.0 - 0.45 * ring), vec3(0.80, 0.58, 0.22), stud);
            spec = mix(spec, 1.2, stud);
        }
        ao = mix(0.7, 1.0, smoothstep(0.0, 1.0, p.y));
    } else if (MATERIAL == MAT_LACQUER) {
        spec = 0.5;
        ao = mix(0.7, 1.0, smoothstep(0.0, 1.0, p.y));
    }

    if (u_show_zones != 0 && (MATERIAL == MAT_PAVING || MATERIAL == MAT_GARDEN)) {
        vec4 tint = texture(u_zone_tint, ground_uv);
        albedo = albedo * (1.0 - tint.a) + tint.rgb;
    }

    vec3 to_eye = u_eye - p;
    float dist = length(to_eye);
    vec3 v = to_eye / dist;
    vec3 colour;
    float glow_out = 0.0;   // alpha: how much of this pixel blooms (quality high)
    if (MATERIAL == MAT_LANTERN) {
        // glowing silk: bright where we see through the middle, darker ribs and rims
        float rib = abs(sin(atan(n.z, n.x) * 6.0));
        float glow = 0.55 + 0.65 * pow(max(dot(n, v), 0.0), 0.7);
        colour = to_linear(albedo) * glow * mix(0.7, 1.0, smoothstep(0.0, 0.25, rib)) * 1.6 * u_lantern_glow;
        glow_out = clamp(0.35 * u_lantern_glow, 0.0, 1.0);
    } else {
        float lit = sun_visibility(v_light);
        float ndl = max(dot(n, u_sun_dir), 0.0);
        vec3 amb = mix(u_bounce_rgb, u_sky_rgb, 0.5 + 0.5 * n.y) * ao;
        vec3 lin = to_linear(albedo);
        colour = lin * (u_sun_rgb * ndl * lit + amb);
        if (spec > 0.0) {
            vec3 hv = normalize(u_sun_dir + v);
            float glint = spec * pow(max(dot(n, hv), 0.0), 40.0) * lit;
            colour += u_sun_rgb * glint;
            glow_out = clamp(glint * 0.5, 0.0, 1.0);
        }
        // lantern light pooled on the ground, and lamplight behind lattice paper
        colour += lin * LANTERN_LIGHT_RGB * (pool * u_lantern_pool);
        vec3 lamp = to_linear(u_window_rgb) * (window * u_window_glow);
        colour += lamp;
        glow_out = max(glow_out, clamp(window * u_window_glow * 0.4, 0.0, 1.0));
    }
    float haze = exp(-dist * u_fog_per_m);
    f_colour = vec4(fog(to_srgb(colour * u_exposure), dist), glow_out * haze);
}
"""

# depth only: the sun's shadow map, and the camera's depth pre-pass (u_light_clip = view-projection)
SHADOW_VS = """
invariant gl_Position;
uniform mat4 u_light_clip;
in vec3 in_pos;
void main() { gl_Position = u_light_clip * vec4(in_pos, 1.0); }
"""

SHADOW_FS = """
void main() {}
"""

# The sky's view ray is made per vertex: the far-plane point minus the near-plane point of the
# same pixel is (far - near) * (x tan_x, y tan_y, -1) in the camera's frame, linear in NDC, so
# interpolating it across the screen triangle gives every pixel its exact ray (normalised there)
# without two matrix products and divides per pixel (measured 3 ms of a 1280x720 frame on llvmpipe).
SKY_VS = """
uniform mat4 u_inv_view_proj;
in vec2 in_ndc;
out vec3 v_ray;
void main() {
    vec4 a = u_inv_view_proj * vec4(in_ndc, -1.0, 1.0);
    vec4 b = u_inv_view_proj * vec4(in_ndc, 1.0, 1.0);
    v_ray = b.xyz / b.w - a.xyz / a.w;
    gl_Position = vec4(in_ndc, 1.0, 1.0);   // on the far plane: drawn only where nothing else is
}
"""

SKY_FS = """
float pow8(float x) { float x2 = x * x, x4 = x2 * x2; return x4 * x4; }
uniform vec3 u_cloud_rgb;   // sRGB
uniform vec3 u_sun_disc_rgb;   // sRGB tint of the sun's disc and aureole
in vec3 v_ray;
out vec4 f_colour;
void main() {
    vec3 dir = normalize(v_ray);
    float up = max(dir.y, 0.0);
#ifdef QUALITY_HIGH
    vec3 sky = mix(u_horizon_rgb, u_zenith_rgb, pow(up, 0.55));
#else
    // quality low: up^0.55 as sqrt(up) * (0.9 + 0.1 up), within 0.012 over [0, 1] (about one
    // 8-bit step between the horizon's and the zenith's colours), without pow's log2 and exp2
    vec3 sky = mix(u_horizon_rgb, u_zenith_rgb, sqrt(up) * (0.9 + 0.1 * up));
#endif
    // soft summer clouds: two octaves of noise on a plane high above
    if (dir.y > 0.02) {
        vec2 q = dir.xz / dir.y * 0.9;
#ifdef QUALITY_HIGH
        float c = value_noise(q) * 0.65 + value_noise(q * 2.7 + 3.1) * 0.35;
#else
        // quality low: one octave (the second's fine wisps cost as much as the rest of the sky)
        float c = value_noise(q);
#endif
        float cover = smoothstep(0.55, 0.85, c) * smoothstep(0.02, 0.25, dir.y);
        sky = mix(sky, u_cloud_rgb, cover * 0.8);
    }
    // below the horizon (seen over a low wall): the haze
    sky = mix(sky, u_haze_rgb, smoothstep(0.0, -0.1, dir.y));
    float s = max(dot(dir, u_sun_dir), 0.0);
    // whole powers by multiplying: pow is a log2 and an exp2 per call on software GL (the sun's
    // disc alone measured 5 ms of a full-screen sky on llvmpipe); 900 = 512 + 256 + 128 + 4
    float s2 = s * s, s4 = s2 * s2, s16 = (s4 * s4) * (s4 * s4), s128 = pow8(s16);
    float s256 = s128 * s128;
    float disc = (s256 * s256) * s256 * s128 * s4;
    float s3 = s2 * s;
    sky += u_sun_disc_rgb * (disc * 0.8 + s4 * s4 * s4 * 0.15 + s3 * 0.08);
    f_colour = vec4(min(sky, vec3(1.0)), clamp(disc * 1.5, 0.0, 1.0));
}
"""

BLIT_VS = """
uniform vec4 u_rect;        // x0, y0, x1, y1 in normalised device coordinates
in vec2 in_ndc;             // unit square corners 0..1
out vec2 v_uv;
void main() {
    v_uv = vec2(in_ndc.x, 1.0 - in_ndc.y);   // images arrive top row first
    gl_Position = vec4(mix(u_rect.xy, u_rect.zw, in_ndc), 0.0, 1.0);
}
"""

BLIT_FS = """
uniform sampler2D u_image;
uniform int u_flip;         // 1: the texture is GL-oriented (bottom row first)
in vec2 v_uv;
out vec4 f_colour;
void main() {
    vec2 uv = u_flip != 0 ? vec2(v_uv.x, 1.0 - v_uv.y) : v_uv;
    f_colour = texture(u_image, uv);
}
"""

# quality high, after the scene: the glowing pixels (rgb x alpha) taken at a quarter of the size
# and blurred with a separable 9-tap Gaussian (u_step: one texel along x or along y)
BLOOM_FS = """
uniform sampler2D u_image;
uniform vec2 u_step;        // texture units between taps
uniform int u_extract;      // 1: first pass, take rgb * alpha (the glow) from the scene
in vec2 v_uv;
out vec4 f_colour;
const float W[5] = float[](0.227, 0.195, 0.122, 0.054, 0.016);   // Gaussian, sigma ~ 2 taps
void main() {
    vec2 uv = vec2(v_uv.x, 1.0 - v_uv.y);
    vec3 sum = vec3(0.0);
    for (int i = -4; i <= 4; i++) {
        vec4 t = texture(u_image, uv + float(i) * u_step);
        sum += W[abs(i)] * (u_extract != 0 ? t.rgb * t.a : t.rgb);
    }
    f_colour = vec4(sum, 1.0);
}
"""

# quality high, last: the scene (resolved from MSAA) plus its bloom, to the output
POST_FS = """
uniform sampler2D u_image;
uniform sampler2D u_bloom;
uniform float u_bloom_strength;
in vec2 v_uv;
out vec4 f_colour;
void main() {
    vec2 uv = vec2(v_uv.x, 1.0 - v_uv.y);
    vec3 c = texture(u_image, uv).rgb;
    vec3 b = texture(u_bloom, uv).rgb;
    // screen blend: glow brightens without clipping the lit pixels to flat white
    c = 1.0 - (1.0 - c) * (1.0 - clamp(b * u_bloom_strength, 0.0, 1.0));
    f_colour = vec4(c, 1.0);
}
"""
