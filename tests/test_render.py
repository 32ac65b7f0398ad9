"""The world's pictures: meshes from levels, the renderer (headless EGL), camera, minimap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memoire.world.errors import UserError
from memoire.world.level import SOLID_TILES, load_level, parse_level
from memoire.render.camera import Camera, project
from memoire.render.geometry import Material
from memoire.render.meshes import WALL_HEIGHT_M, build_scene, house_blocks, openings, wall_runs
from memoire.render.minimap import PLAYER_RGB, TILE_RGB, minimap_image, player_pixel, stamp_player

SMALL_LEVEL = '''
[level]
name = "test yard"
cell_m = 1.0
[map]
grid = """
#######
#.....#
#.....#
###G###
#,,,,,#
#HHH,,#
#######
"""
[spawn]
at = [3.5, 1.5]
facing_deg = 180
'''

# doors and a gate in a north-south wall, void cells, a lantern on a post, props from [[props]]
ODD_LEVEL = '''
[level]
cell_m = 1.5
[map]
grid = """
  ##########
  #....#...#
  #..L.D...#
###..T.#.B.#
#..,,..G...#
#..,,..#HHH#
########HHH#
"""
[spawn]
at = [5.0, 3.0]
[[props]]
kind = "lantern"
at = [12.0, 6.0]
facing_deg = 45
[[props]]
kind = "bench"
at = [4.0, 6.5]
facing_deg = 90
'''


@pytest.fixture(scope="module")
def hutong(default_level_path):
    return load_level(default_level_path)


@pytest.fixture(scope="module")
def small_level(tmp_path_factory):
    return parse_level(SMALL_LEVEL, tmp_path_factory.mktemp("lv") / "small.toml")


@pytest.fixture(scope="module")
def odd_level(tmp_path_factory):
    return parse_level(ODD_LEVEL, tmp_path_factory.mktemp("lv") / "odd.toml")


@pytest.fixture(scope="module")
def hutong_mesh(hutong):
    return build_scene(hutong)


# -- meshes (pure numpy) -----------------------------------------------------------------------


def test_mesh_is_finite_with_unit_normals_and_modest_size(hutong, hutong_mesh):
    v = hutong_mesh.vertices
    assert v.dtype == np.float32 and v.shape[1] == 10 and len(v) % 3 == 0
    assert np.isfinite(v).all()
    assert np.allclose(np.linalg.norm(v[:, 3:6], axis=1), 1.0, atol=1e-4)
    assert 1_000 < hutong_mesh.triangle_count < 60_000  # modest enough for software GL
    w_m, h_m = hutong.tiles.size_m
    assert v[:, 0].min() > -1.5 and v[:, 0].max() < w_m + 1.5  # roofs may overhang a little
    assert v[:, 2].min() > -1.5 and v[:, 2].max() < h_m + 1.5
    assert v[:, 1].min() >= -1e-4 and v[:, 1].max() < 10.0
    assert v[:, 6:9].min() >= 0.0 and v[:, 6:9].max() <= 1.0  # sRGB colours


@pytest.mark.parametrize("which", ["hutong", "odd"])
def test_triangles_face_their_normals(which, hutong_mesh, odd_level):
    """Windings are counter-clockwise seen from the normal side (the renderer culls back faces)."""
    mesh = hutong_mesh if which == "hutong" else build_scene(odd_level)
    v = mesh.vertices.astype(np.float64)
    p = v[:, 0:3].reshape(-1, 3, 3)
    n = v[:, 3:6].reshape(-1, 3, 3).mean(axis=1)
    face = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    area = np.linalg.norm(face, axis=1)
    ok = (face * n).sum(axis=1) > 0
    assert ok[area > 1e-6].mean() > 0.999


def test_material_ranges_partition_the_mesh(hutong_mesh):
    mats = hutong_mesh.vertices[:, 9].round().astype(int)
    covered = 0
    for m, first, count in hutong_mesh.material_ranges:
        assert (mats[first:first + count] == int(m)).all()
        covered += count
    assert covered == len(mats)
    present = {m for m, _, _ in hutong_mesh.material_ranges}
    for m in (Material.BRICK, Material.ROOF, Material.FACADE, Material.PAVING, Material.GARDEN,
              Material.LEAVES, Material.LANTERN, Material.LACQUER, Material.DOOR):
        assert m in present, f"the hutong has no {m.name} surfaces"


def test_chunks_partition_each_material_and_bound_their_triangles(hutong_mesh):
    """The frustum-culling chunks (meshes.CULL_CHUNK_M) tile every material's range in vertex
    order, and each chunk's box holds all of its triangles."""
    from memoire.render.meshes import CULL_CHUNK_M

    ranges = hutong_mesh.chunk_ranges
    assert (ranges[1:, 1] == ranges[:-1, 1] + ranges[:-1, 2]).all()  # contiguous, in order
    assert ranges[0, 1] == 0 and ranges[-1, 1] + ranges[-1, 2] == len(hutong_mesh.vertices)
    for m, first, count in hutong_mesh.material_ranges:
        mine = ranges[ranges[:, 0] == int(m)]
        assert mine[0, 1] == first and mine[:, 2].sum() == count
    pos = hutong_mesh.vertices[:, 0:3]
    for (m, first, count), (lo, hi) in zip(ranges, hutong_mesh.chunk_boxes):
        p = pos[first:first + count]
        assert (p >= lo - 1e-5).all() and (p <= hi + 1e-5).all()
    extent = (hutong_mesh.chunk_boxes[:, 1] - hutong_mesh.chunk_boxes[:, 0])[:, [0, 2]].max(axis=1)
    assert np.median(extent) < 2 * CULL_CHUNK_M  # most chunks are small enough to be culled


def test_boxes_in_view_keeps_what_is_ahead_and_drops_what_is_behind():
    from memoire.render.camera import boxes_in_view, frustum_planes

    cam = Camera(10.0, 10.0, math.radians(90))  # at (10, 10) looking east
    planes = frustum_planes(cam.view_projection(16 / 9))
    box = lambda x, z: np.array([[x - 0.5, 0.0, z - 0.5], [x + 0.5, 2.0, z + 0.5]])
    boxes = np.stack([box(20, 10), box(0, 10), box(10, -5), box(10, 30), box(40, 16),
                      np.array([[0.0, 0.0, 9.0], [40.0, 1.0, 11.0]])])  # long, through the eye
    assert boxes_in_view(planes, boxes).tolist() == [True, False, False, False, True, True]


def _ground_level_wall_faces(mesh):
    v = mesh.vertices.astype(np.float64)
    tris = v.reshape(-1, 3, 10)
    mat = tris[:, 0, 9].round().astype(int)
    n = tris[:, 0, 3:6]
    ymin = tris[:, :, 1].min(axis=1)
    sel = np.isin(mat, [Material.BRICK, Material.FACADE]) & (np.abs(n[:, 1]) < 1e-3) & (ymin < 1e-3)
    return tris[sel]


@pytest.mark.parametrize("which", ["hutong", "small", "odd"])
def test_wall_faces_only_between_solid_and_walkable_cells(which, hutong, small_level, odd_level):
    level = {"hutong": hutong, "small": small_level, "odd": odd_level}[which]
    tiles = level.tiles
    tris = _ground_level_wall_faces(build_scene(level))
    assert len(tris)
    centre = tris[:, :, 0:3].mean(axis=1)
    n = tris[:, 0, 3:6]
    # a moon gate ([[props]] kind "moon_gate") fills its opening with a wall pierced by a round hole
    from memoire.render.meshes import openings

    moon_at = {tiles.cell_of(*p.at) for p in level.props if p.kind == "moon_gate"}
    moon = set()
    for op in openings(tiles):
        cells = {(c, r) for c in range(op.col0, op.col1 + 1) for r in range(op.row0, op.row1 + 1)}
        moon |= cells if cells & moon_at else set()
    keep = [tiles.cell_of(c[0] - 0.05 * nn[0], c[2] - 0.05 * nn[2]) not in moon for c, nn in zip(centre, n)]
    centre, n = centre[keep], n[keep]
    for c, nn in zip(centre, n):
        front = c + 0.05 * nn
        back = c - 0.05 * nn
        assert tiles.is_walkable(front[0], front[2]), f"face at {c} looks into a solid cell"
        assert not tiles.is_walkable(back[0], back[2]), f"face at {c} stands in a walkable cell"


def test_wall_faces_cover_every_solid_walkable_edge_once(small_level):
    """Total area of ground-level brick/facade faces equals the edges between solid and walkable
    cells times their height: nothing missing, nothing doubled."""
    mesh = build_scene(small_level)
    tris = _ground_level_wall_faces(mesh)
    p = tris[:, :, 0:3]
    area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum()
    tiles = small_level.tiles
    blocks = {(r, c): b.eave_m for b in house_blocks(tiles) for r in range(b.row0, b.row1 + 1)
              for c in range(b.col0, b.col1 + 1)}
    expected = 0.0
    for r in range(tiles.height):
        for c in range(tiles.width):
            k = tiles.kind_at(c, r)
            if k not in SOLID_TILES:
                continue
            for dc, dr in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                inside = 0 <= c + dc < tiles.width and 0 <= r + dr < tiles.height
                if inside and tiles.kind_at(c + dc, r + dr) not in SOLID_TILES:
                    expected += tiles.cell_m * (blocks[(r, c)] if k == "house" else WALL_HEIGHT_M)
    assert area == pytest.approx(expected, rel=1e-4)


def test_adjacent_wall_faces_are_merged(small_level):
    """The straight 5-cell wall foot along the yard's north side is one quad, not five."""
    tris = _ground_level_wall_faces(build_scene(small_level))
    # faces at z = 1 m (south side of row 0) looking south
    sel = (np.abs(tris[:, :, 2] - 1.0).max(axis=1) < 1e-6) & (tris[:, 0, 5] > 0.99)
    assert sel.sum() == 2


def test_doors_and_gates_in_north_south_walls(odd_level):
    ops = openings(odd_level.tiles)
    assert sorted((o.kind, o.col0, o.row0, o.wall_along_x) for o in ops) == [("door", 7, 2, False),
                                                                            ("gate", 7, 4, False)]
    mesh = build_scene(odd_level)
    v = mesh.vertices
    # vermilion lacquer stands in the gate's cell (x 10.5 .. 12 m, y 6 .. 7.5 m)
    lac = v[v[:, 9].round() == Material.LACQUER]
    in_gate = (lac[:, 0] > 10.4) & (lac[:, 0] < 12.1) & (lac[:, 2] > 5.9) & (lac[:, 2] < 7.6)
    assert in_gate.sum() > 20


def test_grid_structures(small_level, hutong):
    ops = openings(small_level.tiles)
    assert len(ops) == 1 and ops[0].kind == "gate" and ops[0].wall_along_x
    blocks = house_blocks(small_level.tiles)
    assert len(blocks) == 1 and (blocks[0].col0, blocks[0].col1) == (1, 3) and blocks[0].ridge_along_x
    # every wall cell of the hutong is capped by exactly one run
    covered = np.zeros((hutong.tiles.height, hutong.tiles.width), dtype=int)
    for c0, r0, c1, r1, _ in wall_runs(hutong.tiles):
        covered[r0:r1 + 1, c0:c1 + 1] += 1
    walls = hutong.tiles.kinds() == "wall"
    assert (covered[walls] == 1).all() and (covered[~walls] == 0).all()
    assert len(openings(hutong.tiles)) == 5  # the five red gates


# -- camera (pure) -----------------------------------------------------------------------------


def test_camera_looks_along_its_heading():
    cam = Camera(10.0, 20.0, math.radians(90.0))  # east
    vp = cam.view_projection(16 / 9)
    ahead, north_of_it, above = project(vp, np.array([[20.0, 1.6, 20.0], [20.0, 1.6, 19.0], [20.0, 3.0, 20.0]]))
    assert np.allclose(ahead[:2], 0.0, atol=1e-5) and -1 < ahead[2] < 1
    assert north_of_it[0] < 0  # facing east, north is on the left
    assert above[1] > 0
    behind = project(vp, np.array([[0.0, 1.6, 20.0]]))[0]
    assert not (-1 < behind[2] < 1)  # clipped
    up = Camera(0, 0, 0.0, pitch_rad=math.radians(30))
    assert up.forward[1] == pytest.approx(0.5)


# -- minimap (pure) ----------------------------------------------------------------------------


def test_minimap_colours_and_player(hutong):
    ppm = 3.0
    base = minimap_image(hutong, ppm, zones=False)
    assert base.shape == (round(34.5 * ppm), round(72 * ppm), 4) and base.dtype == np.uint8

    def px(img, x, y):
        r, c = player_pixel(x, y, ppm)
        return img[r, c, :3]

    assert tuple(px(base, 0.7, 0.7)) == TILE_RGB["wall"]
    assert tuple(px(base, 14.0, 17.2)) == TILE_RGB["floor"]  # the lane
    assert tuple(px(base, 5.0, 31.0)) == TILE_RGB["garden"]
    assert tuple(px(base, 11.2, 15.3)) == TILE_RGB["gate"]
    x, y, h = 20.0, 18.0, math.radians(90)
    stamped = stamp_player(base, x, y, h, ppm)
    assert tuple(px(stamped, x, y)) == PLAYER_RGB
    assert tuple(px(stamped, x + 2.0, y)) == PLAYER_RGB  # the heading tick points east...
    assert tuple(px(stamped, x - 2.0, y)) == TILE_RGB["floor"]  # ...not west
    assert tuple(px(base, x, y)) == TILE_RGB["floor"]  # the base is left alone
    changed = np.argwhere((stamped != base).any(axis=2))
    assert len(changed) < 200 and np.abs(changed - player_pixel(x, y, ppm)).max() <= 12


def test_minimap_zones_and_field_layer(hutong):
    ppm = 2.0
    plain = minimap_image(hutong, ppm, zones=False)
    zoned = minimap_image(hutong, ppm, zones=True)
    r, c = player_pixel(35.25, 9.75, ppm)  # the pigeons' circle
    assert (zoned[r, c, :3] != plain[r, c, :3]).any()
    r, c = player_pixel(0.5, 0.5, ppm)  # walls are not tinted
    assert (zoned[r, c] == plain[r, c]).all()
    blue = np.zeros((10, 20, 3), dtype=np.uint8)
    blue[..., 2] = 255
    field = minimap_image(hutong, ppm, zones=False, field_rgb=blue)
    r, c = player_pixel(14.0, 17.2, ppm)
    assert field[r, c, 2] > plain[r, c, 2] and field[r, c, 0] < plain[r, c, 0]
    named = minimap_image(hutong, 4.0, names=True)
    assert (named != minimap_image(hutong, 4.0)).any()
    with pytest.raises(ValueError):
        minimap_image(hutong, ppm, field_rgb=np.zeros((4, 4)))


def test_minimap_north_marker_and_zone_names(hutong):
    """The HUD's map: a north marker in its top-left corner (a light arrow and N on a dark disc),
    a light frame, and every zone's name where its label goes (light letters, a dark outline)."""
    from memoire.render.minimap import FRAME_RGB, label_box, north_marker_box

    ppm = 4.0
    plain = minimap_image(hutong, ppm)
    hud = minimap_image(hutong, ppm, names=True, north=True)
    assert hud.shape == plain.shape and (hud[..., 3] >= 240).mean() > 0.95  # opaque enough to read
    assert tuple(hud[0, 10, :3]) == FRAME_RGB and tuple(hud[-1, -10, :3]) == FRAME_RGB
    l, t, r, b = north_marker_box(ppm)
    disc = hud[t:b, l:r, :3].astype(int)
    light, dark = (disc.min(axis=2) > 220).sum(), (disc.max(axis=2) < 50).sum()
    assert light > 15 and dark > 30  # letter and arrow on the disc
    upper, lower = disc[: (b - t) // 2], disc[(b - t) // 2:]
    assert (upper.min(axis=2) > 220).sum() > 3 and (lower.min(axis=2) > 220).sum() > 3  # the arrow over the N
    for i, zone in enumerate(hutong.zones):
        l, t, r, b = label_box(hutong, ppm, i)
        assert 0 <= l < r <= hud.shape[1] and 0 <= t < b <= hud.shape[0], zone.name
        assert (r - l) >= 3 * len(zone.name)  # letters of a readable size
        box = hud[t:b, l:r, :3].astype(int)
        assert (box.min(axis=2) > 150).sum() > 4 * len(zone.name), zone.name  # light letters...
        assert (box.max(axis=2) < 40).sum() > 4 * len(zone.name), zone.name  # ...outlined dark
        assert (hud[t:b, l:r] != plain[t:b, l:r]).any(), zone.name
    untouched = minimap_image(hutong, ppm, names=True)
    assert (untouched[t:b, l:r] == hud[t:b, l:r]).all()  # the labels are the same without the marker...
    l, t, r, b = north_marker_box(ppm)
    assert (untouched[t:b, l:r] == plain[t:b, l:r]).all()  # ...and north=False leaves the corner alone


# -- the renderer (headless EGL) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def gl_ctx():
    try:
        from memoire.render.context import headless_context

        ctx = headless_context()
    except UserError as e:
        pytest.skip(f"no headless OpenGL 3.3 (EGL) on this machine: {e}")
    yield ctx
    ctx.release()


@pytest.fixture(scope="module")
def renderer(gl_ctx, hutong):
    from memoire.render.renderer import Renderer

    r = Renderer(gl_ctx, hutong, (320, 180))
    yield r
    r.release()


def _spawn_camera(level, **kw):
    x, y = level.spawn_xy
    return Camera(x, y, math.radians(level.spawn_facing_deg), **kw)


@pytest.mark.gl
def test_spawn_view_has_sky_above_walls_and_ground_below(renderer, hutong):
    assert hutong.spawn_xy == (4.0, 18.75) and hutong.spawn_facing_deg == 90
    renderer.draw(_spawn_camera(hutong))
    img = renderer.read_pixels().astype(int)
    assert img.shape == (180, 320, 3)
    top = img[:8, 100:220].reshape(-1, 3).mean(axis=0)
    assert top[2] > top[0] + 30 and top.mean() > 120, f"top rows are not sky-blue: {top}"
    bottom = img[-8:, 100:220].reshape(-1, 3).mean(axis=0)
    assert abs(bottom[0] - bottom[2]) < 25 and 40 < bottom.mean() < 220, f"bottom rows are not paving: {bottom}"
    # looking down the lane: the north wall on the left is sunlit, the south wall in shade
    left = img[60:120, 5:40].reshape(-1, 3).mean(axis=0)
    right = img[60:120, -40:-5].reshape(-1, 3).mean(axis=0)
    for side in (left, right):
        assert abs(side[0] - side[2]) < 30, f"walls should be grey brick: {side}"
    assert left.mean() > right.mean() + 15


@pytest.mark.gl
def test_close_to_a_wall_the_centre_is_brick(renderer):
    # 0.7 m south of the lane's north wall (its face is at y = 16.5 m), looking north
    renderer.draw(Camera(4.0, 17.2, 0.0))
    img = renderer.read_pixels().astype(int)
    centre = img[80:100, 150:170].reshape(-1, 3).mean(axis=0)
    assert abs(centre[0] - centre[1]) < 20 and abs(centre[1] - centre[2]) < 25, f"not grey brick: {centre}"
    assert 70 < centre.mean() < 230
    assert img[:, :, 2].mean() - img[:, :, 0].mean() < 10  # no sky in sight


@pytest.mark.gl
def test_red_gate_and_zone_hint(renderer, hutong):
    # in the lane in front of the middle courtyard's gate (cells 23-24 of row 10), facing north
    renderer.draw(Camera(36.0, 18.5, 0.0, math.radians(5)))
    img = renderer.read_pixels().astype(int)
    red = (img[..., 0] > 120) & (img[..., 0] > img[..., 1] + 60) & (img[..., 0] > img[..., 2] + 60)
    assert red.mean() > 0.03, "no vermilion gate in view"
    renderer.draw(_spawn_camera(hutong), show_zones=False)
    plain = renderer.read_pixels().astype(int)
    renderer.draw(_spawn_camera(hutong), show_zones=True)
    zoned = renderer.read_pixels().astype(int)
    # the spawn lies in the 'bells' zone: the ground is tinted, the sky is not
    assert np.abs(zoned[-20:] - plain[-20:]).mean() > 10
    assert np.abs(zoned[:5] - plain[:5]).max() <= 2


@pytest.mark.gl
def test_resize_and_overlay(renderer, hutong):
    renderer.resize((200, 120))
    try:
        renderer.draw(_spawn_camera(hutong))
        overlay = np.zeros((10, 20, 4), dtype=np.uint8)
        overlay[..., 0] = 255
        overlay[..., 3] = 255
        overlay[:, 10:, 3] = 0  # right half fully transparent
        renderer.draw_overlay(overlay, 5, 7)
        img = renderer.read_pixels()
        assert img.shape == (120, 200, 3)
        assert (img[7:17, 5:15] == (255, 0, 0)).all()  # top-left placement, y down
        assert not (img[7:17, 16:25] == (255, 0, 0)).all(axis=2).any()
        assert not (img[18:20, 5:15] == (255, 0, 0)).all(axis=2).any()
        with pytest.raises(ValueError):
            renderer.draw_overlay(np.zeros((4, 4, 3), dtype=np.uint8), 0, 0)
        with pytest.raises(ValueError):
            renderer.resize((0, 10))
    finally:
        renderer.resize((320, 180))
    renderer.draw(_spawn_camera(hutong))
    assert renderer.read_pixels().shape == (180, 320, 3)


@pytest.mark.gl
def test_set_level_rebuilds_the_scene(renderer, hutong, small_level):
    cam = Camera(3.5, 1.6, math.radians(180))
    try:
        renderer.set_level(small_level)
        assert renderer.mesh.triangle_count == build_scene(small_level).triangle_count
        renderer.draw(cam)
        small = renderer.read_pixels().astype(int)
        # looking south across the little yard: the red gate in the middle of a grey wall
        red = (small[..., 0] > small[..., 1] + 50) & (small[..., 0] > small[..., 2] + 50)
        assert red[:, 110:210].mean() > 0.25, "expected the gate in the middle"
        assert red[:, :90].mean() < 0.01 and red[:, -90:].mean() < 0.01
    finally:
        renderer.set_level(hutong)
    renderer.draw(cam)
    assert np.abs(renderer.read_pixels().astype(int) - small).mean() > 5


@pytest.mark.gl
def test_render_scale_draws_the_same_scene(gl_ctx, hutong, renderer):
    from memoire.render.renderer import Renderer

    renderer.draw(_spawn_camera(hutong))
    full = renderer.read_pixels().astype(int)
    half = Renderer(gl_ctx, hutong, (320, 180), render_scale=0.5)
    try:
        half.draw(_spawn_camera(hutong))
        low = half.read_pixels().astype(int)
    finally:
        half.release()
    assert low.shape == full.shape
    assert np.abs(low - full).mean() < 20  # same picture, softer


@pytest.mark.gl
@pytest.mark.parametrize("quality", ["low", "high"])
def test_culling_and_the_pre_pass_leave_the_picture_as_it_is(gl_ctx, hutong, quality):
    """Frustum culling (only the chunks in view are drawn, the flock and the rain only when in
    view) and the depth pre-pass (the ground left out of it) save time, never pixels: the same
    views drawn with and without are identical, and a view into a courtyard draws well under all
    of the level."""
    from memoire.render.renderer import Renderer

    r = Renderer(gl_ctx, hutong, (320, 180), quality=quality)
    # the lane, north into a courtyard, the garden, under the pigeons (the flock in the sky), in
    # the rain (streaks and the wet film), and looking away from both
    views = [Camera(4.0, 18.75, math.radians(90)), Camera(36.0, 18.5, 0.0, math.radians(5)),
             Camera(5.0, 31.0, math.radians(45), math.radians(3)),
             Camera(40.5, 14.0, math.radians(315), math.radians(10)),
             Camera(59.0, 12.5, 0.0, math.radians(5)), Camera(59.0, 12.5, math.radians(180))]
    try:
        for cam in views:
            pictures = []
            for cull, prepass in ((True, True), (False, True), (False, False)):
                r.frustum_cull, r.depth_prepass = cull, prepass
                r.draw(cam, time_s=1.0)
                pictures.append(r.read_pixels().astype(int))
            assert np.abs(pictures[0] - pictures[1]).max() <= 1
            assert np.abs(pictures[0] - pictures[2]).max() <= 1
        r.frustum_cull = True
        material_runs, _ = r.draw_ranges(views[1].view_projection(320 / 180))  # north, into a courtyard
        drawn = sum(count for _, _, count in material_runs)
        assert drawn < 0.5 * len(r.mesh.vertices)
    finally:
        r.release()


WINDOW_SCRIPT = """
import math, sys
import numpy as np
import pygame
from memoire.world.level import load_level
from memoire.render.camera import Camera
from memoire.render.context import window_context, window_gl_attributes
from memoire.render.renderer import Renderer

pygame.display.init()
for name, value in window_gl_attributes().items():
    pygame.display.gl_set_attribute(getattr(pygame, name), value)
pygame.display.set_mode((320, 180), pygame.OPENGL | pygame.DOUBLEBUF)
ctx = window_context()
assert ctx.screen is not None
level = load_level(sys.argv[1])
renderer = Renderer(ctx, level, pygame.display.get_window_size())
renderer.draw(Camera(*level.spawn_xy, math.radians(level.spawn_facing_deg)))
img = renderer.read_pixels().astype(int)
pygame.display.flip()
top, bottom = img[:8].reshape(-1, 3).mean(0), img[-8:].reshape(-1, 3).mean(0)
assert img.shape == (180, 320, 3), img.shape
assert top[2] > top[0] + 30, top
assert abs(bottom[0] - bottom[2]) < 25, bottom
print("window ok")
"""


@pytest.mark.slow
@pytest.mark.gl
def test_window_path_under_xvfb(default_level_path, root):
    """The game's path: a pygame OPENGL window, moderngl on its context, drawing to the screen."""
    import shutil
    import subprocess
    import sys

    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (apt install xvfb)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "HOME": str(root), "LP_NUM_THREADS": "1",
           "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 640x480x24", sys.executable, "-c", WINDOW_SCRIPT,
                           str(default_level_path)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and "window ok" in proc.stdout, proc.stdout + proc.stderr
