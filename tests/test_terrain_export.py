"""`memoire terrain export`: a level's terrain as an nn.terrain checkpoint (memoire/terrain/export.py).

The round trip (export, then our nn.terrain import) must give the same latents within 1e-6 over a
grid covering the map and beyond; the file must hold what nn.terrain's own checkpoint (the fixture)
holds: the same names, kinds (parameter or buffer), dtypes and shape pattern.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from memoire.terrain import command as TC
from memoire.terrain import export as E
from memoire.terrain import terrain as T
from memoire.world.errors import UserError
from memoire.world.level import load_level

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT.parent / "shared" / "fixtures" / "nn_terrain" / "percussion-terrain-demo.pt"
needs_fixture = pytest.mark.skipif(not FIXTURE.exists(), reason=f"nn.terrain fixture not found at {FIXTURE}")
SHIPPED_LEVEL = ROOT / "levels" / "hutong.toml"
SHIPPED_TERRAIN = ROOT / "levels" / "hutong.terrain.npz"

LEVEL = '''
[level]
name = "export test"
cell_m = 1.0

[map]
grid = """
{grid}
"""

[spawn]
at = [1.5, 1.5]

[sound]
field = "terrain"
rest = [0.0, 0.0, 0.0, 0.0]

{terrain}

[[zones]]
name = "a"
shape = "circle"
center = [5.0, 5.5]
radius_m = 2.0
falloff_m = 2.0
anchor = [2.0, 0.0, -1.0, 1.0]

[[zones]]
name = "b"
shape = "polygon"
points = [[12.0, 3.0], [17.0, 3.0], [17.0, 8.0], [12.0, 8.0]]
falloff_m = 2.0
anchor = [-1.0, 2.0, 1.0, -2.0]
'''
TERRAIN = '''[terrain]
source = "train"
gauss = {gauss}
width = 32
mapping_size = 24
steps = 30
seed = 1
anchor_samples = 16
{extra}'''


def write_level(folder: Path, *, terrain: bool = True, gauss: float = 0.08, extra: str = "") -> Path:
    grid = "\n".join(["#" * 20] + ["#" + "." * 18 + "#"] * 12 + ["#" * 20])
    table = TERRAIN.format(gauss=gauss, extra=extra) if terrain else ""
    text = LEVEL.format(grid=grid, terrain=table)
    if not terrain:
        text = text.replace('field = "terrain"', 'field = "zones"')
    path = folder / "test.toml"
    path.write_text(text, encoding="utf-8")
    return path


def parse(*argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="memoire terrain")
    TC.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


def grid_points(x0: float, y0: float, x1: float, y1: float, n: int = 41) -> np.ndarray:
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def test_round_trip_of_the_shipped_terrain(tmp_path):
    """The shipped hutong terrain out and back in: the same latents (to 1e-6) over the map and 10 m
    around it, in the same control space (level metres: the hutong has no map_from/map_to)."""
    saved = T.load_saved_terrain(SHIPPED_TERRAIN)
    out = tmp_path / "hutong.pt"
    E.write_checkpoint(saved.net, out, {"level": "Hutong gallery"})
    back = T.import_nn_terrain(out)
    pts = grid_points(-10, -10, 82, 44.5)
    err = np.abs(back.sample_control(pts) - saved.sample_control(pts)).max()
    assert err <= 1e-6, err
    assert (back.in_dim, back.latent_dim, back.net.width, back.net.mapping_size) == (2, 12, 128, 128)
    assert E.read_note(out) == {"level": "Hutong gallery"}


@needs_fixture
def test_structure_matches_nn_terrains_own_checkpoint(tmp_path):
    """Names, kinds, dtypes: equal to the fixture's; shapes: the same pattern in the terrain's sizes."""
    saved = T.load_saved_terrain(SHIPPED_TERRAIN)
    out = tmp_path / "hutong.pt"
    E.write_checkpoint(saved.net, out)
    ours, theirs = E.checkpoint_layout(out), E.checkpoint_layout(FIXTURE)
    assert set(ours) == set(theirs)
    for name in theirs:
        assert ours[name][0] == theirs[name][0], name  # parameter / buffer, as libtorch's reader checks
        assert ours[name][2] == theirs[name][2], name  # int64 sizes, float32 weights
        assert len(ours[name][1]) == len(theirs[name][1]), name

    def expected_shapes(layout):
        sizes = torch.jit.load(str(out if layout is ours else FIXTURE))
        i, o, c, m = (int(getattr(sizes, k)) for k in ("m_in_dim", "m_out_dim", "m_cmax", "m_mapping_size"))
        want = {"m_in_dim": (), "m_out_dim": (), "m_cmax": (), "m_gauss_scale": (), "m_mapping_size": (),
                "two_pi": (), "B_T": (i, m), "fc_in_gau.weight": (c, 2 * m), "fc_in_gau.bias": (c,),
                "fc_out.weight": (o, c), "fc_out.bias": (o,)}
        for k in (2, 3, 4):
            want[f"fc{k}.weight"], want[f"fc{k}.bias"] = (c, c), (c,)
        for k in (1, 2, 3, 4):
            want[f"prelu{k}.weight"] = (1,)
        return want, (i, o, c, m)

    for layout in (ours, theirs):
        want, _ = expected_shapes(layout)
        assert {k: v[1] for k, v in layout.items()} == want
    assert expected_shapes(ours)[1] == (2, 12, 128, 128)
    module = torch.jit.load(str(out))
    # typed as libtorch's archive types its modules: __torch__.Module (mangled as TorchScript does)
    assert re.fullmatch(r"__torch__\.(___torch_mangle_\d+\.)?Module", module._c._type().qualified_name())
    assert float(module.m_gauss_scale) == pytest.approx(0.08)
    assert float(module.two_pi) == pytest.approx(2 * np.pi)
    assert not module._c._method_names()  # like nn.terrain's: parameters and buffers only


def test_gauss_zero_is_written_as_nn_terrain_writes_it(tmp_path):
    """Without Fourier features: fc_in_linear, no B_T / two_pi buffers, and a non-empty mapping size
    (nn.terrain still builds an unused Linear(2 * mapping_size, cmax))."""
    net = T.TerrainNet(2, 5, 16, 8, 0.0)
    net.init_weights(torch.Generator().manual_seed(0))
    out = tmp_path / "smooth.pt"
    E.write_checkpoint(net, out)
    layout = E.checkpoint_layout(out)
    assert "fc_in_linear.weight" in layout and "fc_in_gau.weight" not in layout
    assert "B_T" not in layout and "two_pi" not in layout
    module = torch.jit.load(str(out))
    assert int(module.m_mapping_size) == E.nn_terrain_default_mapping_size and float(module.m_gauss_scale) == 0.0
    pts = grid_points(-5, -5, 25, 20)
    np.testing.assert_allclose(T.import_nn_terrain(out).sample_control(pts), T.Terrain(net).sample_control(pts),
                               atol=1e-6, rtol=0)


def test_export_command_trains_then_round_trips(tmp_path, tiny_model_path, capsys):
    """A level with no saved terrain: export trains and saves it first, then writes the checkpoint;
    importing the checkpoint gives the saved terrain's latents within 1e-6 at every level position."""
    level_path = write_level(tmp_path)
    out = tmp_path / "test.pt"
    with pytest.raises(UserError, match=r"does not exist; run `memoire terrain train"):
        TC.run(parse("export", level_path, "--out", out, "--model", tiny_model_path, "--no-train"))
    assert not out.exists()
    assert TC.run(parse("export", level_path, "--out", out, "--model", tiny_model_path)) == 0
    err = capsys.readouterr().err
    assert "training the terrain" in err and "wrote" in err and "[nn.terrain~ test.pt]" in err
    assert "plot_interval 0 20 600 0 14 420" in err
    saved = T.load_saved_terrain(tmp_path / "test.terrain.npz")
    back = T.import_nn_terrain(out)
    pts = grid_points(0, 0, 20, 14)
    assert np.abs(back.sample_control(pts) - saved.sample(pts)).max() <= 1e-6
    note = E.read_note(out)
    assert note["map_in_control"] == {"x0": 0.0, "y0": 0.0, "x1": 20.0, "y1": 14.0}
    assert note["latent_dim"] == 4 and note["written_by"] == "memoire terrain export"
    # up to date now: --no-train exports without training
    assert TC.run(parse("export", level_path, "--out", out, "--model", tiny_model_path, "--no-train")) == 0
    assert "up to date" in capsys.readouterr().err


def test_map_from_map_to_and_map_to_flag(tmp_path, tiny_model_path, capsys):
    """With [terrain] map_from/map_to the checkpoint takes those control coordinates; --map-to folds
    another rectangle into the network (same sound at each spot of the map, float32 rounding)."""
    level_path = write_level(tmp_path, gauss=0.5,
                             extra="map_from = [[0.0, 0.0], [20.0, 14.0]]\nmap_to = [[-2.0, 1.0], [2.0, -1.0]]\n")
    out = tmp_path / "own.pt"
    assert TC.run(parse("export", level_path, "--out", out, "--model", tiny_model_path)) == 0
    assert "is (-2, 1), its far corner (20, 14) m is (2, -1)" in capsys.readouterr().err
    level = load_level(level_path)
    saved = T.load_saved_terrain(tmp_path / "test.terrain.npz")
    metres = grid_points(0, 0, 20, 14)
    control = T.ControlMap.for_settings(level.terrain).apply(metres)
    assert np.abs(T.import_nn_terrain(out).sample_control(control) - saved.sample(metres)).max() <= 1e-6

    out16 = tmp_path / "wide.pt"
    assert TC.run(parse("export", level_path, "--out", out16, "--model", tiny_model_path,
                        "--map-to", -16, -4, 16, 4)) == 0
    assert "plot_interval -16 16 600 -4 4 150" in capsys.readouterr().err
    u = np.column_stack([-16 + metres[:, 0] * 32 / 20, -4 + metres[:, 1] * 8 / 14])
    got = T.import_nn_terrain(out16).sample_control(u)
    assert np.abs(got - saved.sample(metres)).max() <= 1e-4
    with pytest.raises(UserError, match="no area"):
        TC.run(parse("export", level_path, "--out", out16, "--model", tiny_model_path, "--map-to", 0, 0, 0, 4))


def test_remap_without_fourier_features():
    net = T.TerrainNet(2, 3, 8, 4, 0.0)
    net.init_weights(torch.Generator().manual_seed(2))
    r = E.remapped(net, (2.0, 0.5), (3.0, -1.0))
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want = net(x * torch.tensor([2.0, 0.5]) + torch.tensor([3.0, -1.0]))
        assert (r(x) - want).abs().max().item() <= 1e-5


def test_out_over_an_input_is_refused(tmp_path, tiny_model_path):
    """--out may not be the terrain a level names, a terrain file given directly, or the model."""
    ckpt = tmp_path / "named.pt"
    E.write_checkpoint(T.load_saved_terrain(SHIPPED_TERRAIN).net, ckpt)
    before = ckpt.read_bytes()
    level_path = write_level(tmp_path)
    level_path.write_text(level_path.read_text().replace('source = "train"', 'source = "named.pt"'))
    with pytest.raises(UserError, match="is the level's terrain"):
        TC.run(parse("export", level_path, "--out", ckpt))
    with pytest.raises(UserError, match="is the terrain source"):
        TC.run(parse("export", ckpt, "--out", ckpt))
    model_pt = tmp_path / "model.pt"
    model_pt.write_bytes(Path(tiny_model_path).read_bytes())
    with pytest.raises(UserError, match="is the model"):
        TC.run(parse("export", write_level(tmp_path), "--out", model_pt, "--model", model_pt))
    assert ckpt.read_bytes() == before
    with pytest.raises(UserError, match=r"\.pt files"):
        TC.run(parse("export", level_path, "--out", tmp_path / "x.npz"))


def test_a_level_without_a_terrain_says_so(tmp_path):
    level_path = write_level(tmp_path, terrain=False)
    with pytest.raises(UserError, match=r"has no \[terrain\] table, so it has no latent terrain to export"):
        TC.run(parse("export", level_path, "--out", tmp_path / "x.pt"))
    assert not (tmp_path / "x.pt").exists()


def test_a_saved_terrain_file_exports_directly(tmp_path):
    out = tmp_path / "direct.pt"
    assert TC.run(parse("export", SHIPPED_TERRAIN, "--out", out)) == 0
    pts = grid_points(0, 0, 72, 34.5, 21)
    saved = T.load_saved_terrain(SHIPPED_TERRAIN)
    assert np.abs(T.import_nn_terrain(out).sample_control(pts) - saved.sample_control(pts)).max() <= 1e-6
