"""GLSL 3.30 sources of the renderer (strings only; compiled in renderer.py).

Surface detail is procedural, computed from world position (metres) in the fragment shader, so
the level needs no textures and few triangles. Patterns fade to their average colour where a
pixel covers more than one repeat (``fwidth``), which avoids shimmering without mipmaps.
Colours are sRGB; lighting happens in linear light and the result is encoded back to sRGB.
Material ids are injected as #defines from ``memoire.render.geometry.Material``. The scene
fragment shader is compiled once per material with ``#define MATERIAL <id>``: software GL
runs every branch of an if-chain under a mask, so a per-material program (the mesh is
sorted by material, one draw call each) shades each pixel with only its own material's code.
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
uniform vec3 u_horizon_rgb;   // sRGB: fog colour = sky at the horizon
uniform vec3 u_zenith_rgb;    // sRGB
uniform float u_fog_per_m;    // fog density (1/m)

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
    return mix(srgb, u_horizon_rgb, f);
}
"""

SCENE_FS = """
uniform sampler2DShadow u_shadow;
uniform sampler2D u_ground_ao;   // level-aligned: r = ambient visibility of the ground, g = bare earth
uniform sampler2D u_zone_tint;   // premultiplied zone colours, level-aligned
uniform vec2 u_level_size_m;
uniform int u_show_zones;

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
        ao = mix(0.55, 1.0, smoothstep(0.0, 1.2, p.y));
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
                // lattice: thin dark-red bars over pale paper
                float lat = max(grid_line(u, fwa, 0.15, 0.028), grid_line(p.y, fwp.y, 0.15, 0.028));
                albedo = mix(vec3(0.82, 0.78, 0.66), vec3(0.40, 0.09, 0.06), lat);
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
        ao = texture(u_ground_ao, ground_uv).r;
    } else if (MATERIAL == MAT_GARDEN) {
        float big = value_noise(p.xz * 0.35);
        float mid = value_noise(p.xz * 2.3);
        float fine = value_noise(p.xz * 11.0);      // tufts, ~10 cm
        float d = detail(max(fwp.x, fwp.z), 0.25);
        vec3 grass = mix(vec3(0.25, 0.38, 0.14), vec3(0.40, 0.53, 0.22), mid);
        grass *= mix(1.0, 0.8 + 0.4 * fine, d);
        vec3 earth = vec3(0.45, 0.37, 0.27) * (0.9 + 0.2 * mid);
        vec2 ground = texture(u_ground_ao, ground_uv).rg;
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
            vec2 q = (uv - vec2(0.1, 0.15)) / vec2(0.8, 0.7) * vec2(5.0, 9.0);
            vec2 f = fract(q) - 0.5;
            vec2 inside = step(0.0, q) * step(q, vec2(5.0, 9.0));
            float r = length(f * vec2(1.0, 1.08));
            float stud = (1.0 - smoothstep(0.22, 0.27, r)) * inside.x * inside.y;
            albedo = mix(albedo, vec3(0.85, 0.64, 0.22), stud);
            // a domed stud: tilt the normal away from its centre
            vec3 t_u = normalize(vec3(-n.z, 0.0, n.x) + vec3(1e-4, 0.0, 0.0));
            n = normalize(n + stud * (f.x * 2.2 * t_u + vec3(0.0, f.y * 2.2, 0.0)));
            spec = mix(spec, 0.9, stud);
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
    if (MATERIAL == MAT_LANTERN) {
        // glowing silk: bright where we see through the middle, darker ribs and rims
        float rib = abs(sin(atan(n.z, n.x) * 6.0));
        float glow = 0.55 + 0.65 * pow(max(dot(n, v), 0.0), 0.7);
        colour = to_linear(albedo) * glow * mix(0.7, 1.0, smoothstep(0.0, 0.25, rib)) * 1.6;
    } else {
        float lit = texture(u_shadow, v_light);
        float ndl = max(dot(n, u_sun_dir), 0.0);
        vec3 amb = mix(u_bounce_rgb, u_sky_rgb, 0.5 + 0.5 * n.y) * ao;
        vec3 lin = to_linear(albedo);
        colour = lin * (u_sun_rgb * ndl * lit + amb);
        if (spec > 0.0) {
            vec3 hv = normalize(u_sun_dir + v);
            colour += u_sun_rgb * spec * pow(max(dot(n, hv), 0.0), 40.0) * lit;
        }
    }
    f_colour = vec4(fog(to_srgb(colour), dist), 1.0);
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

SKY_VS = """
in vec2 in_ndc;
out vec2 v_ndc;
void main() {
    v_ndc = in_ndc;
    gl_Position = vec4(in_ndc, 1.0, 1.0);   // on the far plane: drawn only where nothing else is
}
"""

SKY_FS = """
uniform mat4 u_inv_view_proj;
in vec2 v_ndc;
out vec4 f_colour;
void main() {
    vec4 a = u_inv_view_proj * vec4(v_ndc, -1.0, 1.0);
    vec4 b = u_inv_view_proj * vec4(v_ndc, 1.0, 1.0);
    vec3 dir = normalize(b.xyz / b.w - a.xyz / a.w);
    float up = max(dir.y, 0.0);
    vec3 sky = mix(u_horizon_rgb, u_zenith_rgb, pow(up, 0.55));
    // soft summer clouds: two octaves of noise on a plane high above
    if (dir.y > 0.02) {
        vec2 q = dir.xz / dir.y * 0.9;
        float c = value_noise(q) * 0.65 + value_noise(q * 2.7 + 3.1) * 0.35;
        float cover = smoothstep(0.55, 0.85, c) * smoothstep(0.02, 0.25, dir.y);
        sky = mix(sky, vec3(0.97, 0.97, 0.96), cover * 0.8);
    }
    float s = max(dot(dir, u_sun_dir), 0.0);
    sky += vec3(1.0, 0.93, 0.8) * (pow(s, 900.0) * 0.8 + pow(s, 12.0) * 0.15);
    f_colour = vec4(min(sky, vec3(1.0)), 1.0);
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
