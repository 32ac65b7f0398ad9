"""The latent terrain (memoire/terrain/terrain.py) and `memoire terrain` (memoire/terrain/command.py).

A small test level (20 m x 14 m, two zones, a rest latent and one trajectory, 4 latent
dimensions) is trained once per module with few steps; the bounds below are what a listener
would notice: zone latents differ by ~3 to 4 units per dimension, so an RMS error of 0.25 is a
few percent of the way between two zones.
"""


import argparse
import math
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from memoire.terrain import terrain as T  # noqa: E402
from memoire.terrain import command as TC  # noqa: E402
from memoire.world.errors import UserError  # noqa: E402
from memoire.world.level import load_level  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "nn_terrain"
DEMO = FIXTURES / "percussion-terrain-demo"
needs_fixture = pytest.mark.skipif(
    not (FIXTURES / "percussion-terrain-demo.pt").exists(),
    reason=f"nn.terrain fixture not found at {FIXTURES} (shared/fixtures/nn_terrain beside the checkout)")

LATENT_A = np.array([2.0, 0.0, -1.0, 1.0], np.float32)
LATENT_B = np.array([-1.0, 2.0, 1.0, -2.0], np.float32)
LATENT_REST = np.zeros(4, np.float32)
TRAJ_POINTS = [[2.0, 12.0], [7.0, 11.0], [12.0, 13.0], [18.0, 12.0]]
TRAJ_FRAMES = 40


def trajectory_clip() -> np.ndarray:
    """A smooth latent sequence (40 frames, 4 dims) for the test trajectory."""
    t = np.linspace(0.0, 1.0, TRAJ_FRAMES)
    return np.stack([1.5 * np.sin(math.pi * t), 1.5 * np.cos(math.pi * t), 2 * t - 1, np.full_like(t, 0.5)],
                    axis=1).astype(np.float32)


LEVEL_TOML = '''
[level]
name = "terrain test"
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

[terrain]
source = "{source}"
gauss = 0.08
width = 64
mapping_size = 64
steps = {steps}
seed = {seed}
anchor_samples = 48

[[zones]]
name = "a"
shape = "circle"
center = [5.0, 5.5]
radius_m = 2.0
falloff_m = {falloff_a}
anchor = [2.0, 0.0, -1.0, 1.0]

[[zones]]
name = "b"
shape = "polygon"
points = [[12.0, 3.0], [17.0, 3.0], [17.0, 8.0], [12.0, 8.0]]
falloff_m = 2.0
anchor = [-1.0, 2.0, 1.0, -2.0]

[[trajectories]]
name = "t"
points = {traj}
clip = "clip.npy"
'''


def write_level(folder: Path, *, steps: int = 600, seed: int = 3, falloff_a: float = 2.0,
                source: str = "train") -> Path:
    grid = "\n".join(["#" * 20] + ["#" + "." * 18 + "#"] * 12 + ["#" * 20])
    np.save(folder / "clip.npy", trajectory_clip())
    path = folder / "test.toml"
    path.write_text(LEVEL_TOML.format(grid=grid, steps=steps, seed=seed, falloff_a=falloff_a,
                                      traj=TRAJ_POINTS, source=source), encoding="utf-8")
    return path


def latents() -> dict[str, np.ndarray]:
    return {"a": LATENT_A, "b": LATENT_B}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(level, training set, terrain) trained once for the module (600 steps)."""
    folder = tmp_path_factory.mktemp("terrain")
    level = load_level(write_level(folder))
    data = T.build_training_set(level, latents(), LATENT_REST)
    terrain = T.train_terrain(data, level.terrain, T.ControlMap.for_settings(level.terrain))
    return level, data, terrain


# ---------------------------------------------------------------------------------------------
# nn.terrain import


@needs_fixture
def test_import_reproduces_reference_outputs():
    terrain = T.import_nn_terrain(DEMO.with_suffix(".pt"))
    points = np.loadtxt(DEMO.with_suffix(".points.csv"), delimiter=",", ndmin=2)
    expected = np.loadtxt(DEMO.with_suffix(".expected.csv"), delimiter=",", ndmin=2)
    assert (terrain.in_dim, terrain.latent_dim, terrain.net.width, terrain.net.mapping_size) == (2, 4, 128, 256)
    np.testing.assert_allclose(terrain.sample_control(points), expected, atol=1e-5, rtol=0)
    # load_terrain_file tells the checkpoint apart from a saved terrain by content
    np.testing.assert_allclose(T.load_terrain_file(DEMO.with_suffix(".pt")).sample_control(points), expected,
                               atol=1e-5, rtol=0)


def test_import_reads_any_sizes_and_gauss_zero(tmp_path):
    """A checkpoint written the way nn.terrain writes one (a scripted module with only
    parameters and buffers), with other sizes and without Fourier features, runs the same."""
    for gauss, in_dim, out_dim, cmax, mapping in ((0.0, 3, 16, 32, 8), (0.3, 2, 64, 48, 40)):
        ref = T.TerrainNet(in_dim, out_dim, cmax, mapping, gauss)
        ref.init_weights(torch.Generator().manual_seed(1))

        class Checkpoint(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.m_in_dim = torch.nn.Parameter(torch.tensor(in_dim), requires_grad=False)
                self.m_out_dim = torch.nn.Parameter(torch.tensor(out_dim), requires_grad=False)
                self.m_cmax = torch.nn.Parameter(torch.tensor(cmax), requires_grad=False)
                self.m_gauss_scale = torch.nn.Parameter(torch.tensor(gauss))
                self.m_mapping_size = torch.nn.Parameter(torch.tensor(mapping), requires_grad=False)
                self.register_buffer("two_pi", torch.tensor(2 * math.pi))
                if gauss > 0:
                    self.register_buffer("B_T", ref.B.clone())
                    self.fc_in_gau = torch.nn.Linear(2 * mapping, cmax)
                    self.fc_in_gau.load_state_dict(ref.fc_in.state_dict())
                else:
                    self.fc_in_linear = torch.nn.Linear(in_dim, cmax)
                    self.fc_in_linear.load_state_dict(ref.fc_in.state_dict())
                for name in ("fc2", "fc3", "fc4", "fc_out", "prelu1", "prelu2", "prelu3", "prelu4"):
                    setattr(self, name, getattr(ref, name))

        path = tmp_path / f"ckpt_{gauss}.pt"
        torch.jit.script(Checkpoint()).save(str(path))
        imported = T.import_nn_terrain(path)
        x = np.random.default_rng(0).uniform(-3, 3, (50, in_dim)).astype(np.float32)
        with torch.no_grad():
            want = ref(torch.from_numpy(x)).numpy()
        assert imported.latent_dim == out_dim and imported.in_dim == in_dim
        np.testing.assert_allclose(imported.sample_control(x), want, atol=1e-5, rtol=0)


def test_import_rejects_foreign_files(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(UserError, match="not an nn.terrain checkpoint"):
        T.import_nn_terrain(text)
    scripted = tmp_path / "other.pt"
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(scripted))
    with pytest.raises(UserError, match="no 'm_in_dim'"):
        T.import_nn_terrain(scripted)
    with pytest.raises(UserError, match="no such terrain file"):
        T.load_terrain_file(tmp_path / "missing.pt")


# ---------------------------------------------------------------------------------------------
# Training


def test_anchors_are_fitted(trained):
    """Fresh points inside each zone (not the training points) get the zone's latent: RMS error
    under 0.06 on average and 0.25 at worst (the zones' latents are 3.7 apart, RMS per dimension;
    measured: 0.011 / 0.038 for the circle, 0.023 / 0.17 for the square, worst at its corners)."""
    level, _, terrain = trained
    rng = np.random.default_rng(11)
    for zone, want in zip(level.zones, (LATENT_A, LATENT_B)):
        x0, y0, x1, y1 = zone.shape.bounds()
        pts = np.column_stack([rng.uniform(x0, x1, 400), rng.uniform(y0, y1, 400)])
        pts = pts[zone.shape.distance_outside(pts) == 0]
        rms = np.sqrt(((terrain.sample(pts) - want) ** 2).mean(axis=1))
        assert rms.mean() < 0.06, (zone.name, rms.mean())
        assert rms.max() < 0.25, (zone.name, rms.max())
    # the rest bed is sparse (one example per ~3 m): fitted at its examples, free between them
    _, data, _ = trained
    rest = data.subset("rest")
    assert np.sqrt(((terrain.sample(data.xy_m[rest]) - LATENT_REST) ** 2).mean(axis=1)).max() < 0.3


def test_trajectory_is_recovered_along_its_path(trained):
    """Along the path, frame i comes back at the i-th of 40 evenly spaced points: RMS error under
    0.05 on average, 0.3 at worst (the clip spans 3 units; measured 0.012 / 0.052), and halfway
    between two frames the terrain lies between them."""
    _, _, terrain = trained
    from memoire.world import bezier

    clip = trajectory_clip()
    pts = bezier.sample_even(np.array(TRAJ_POINTS), TRAJ_FRAMES)
    rms = np.sqrt(((terrain.sample(pts) - clip) ** 2).mean(axis=1))
    assert rms.mean() < 0.05, rms.mean()
    assert rms.max() < 0.3, rms.max()
    mid = bezier.sample_even(np.array(TRAJ_POINTS), 2 * TRAJ_FRAMES - 1)[1::2]
    mid_want = 0.5 * (clip[1:] + clip[:-1])
    assert np.sqrt(((terrain.sample(mid) - mid_want) ** 2).mean(axis=1)).mean() < 0.05


def test_field_is_continuous(trained):
    """Neighbouring positions 5 cm apart, over the whole map: no latent dimension changes by more
    than 0.15 (4 % of the distance between the two zones' latents, which lie 3 m apart; measured
    0.12 at the steepest place), and the baked grid agrees with the network."""
    level, _, terrain = trained
    w, h = level.tiles.size_m
    step = 0.05
    xs, ys = np.arange(0, w, step), np.arange(0, h, step)
    gx, gy = np.meshgrid(xs, ys)
    v = terrain.sample(np.column_stack([gx.ravel(), gy.ravel()])).reshape(len(ys), len(xs), -1)
    assert np.abs(np.diff(v, axis=0)).max() < 0.15
    assert np.abs(np.diff(v, axis=1)).max() < 0.15
    grid = terrain.to_grid((0.0, 0.0, w, h), 0.25)
    pts = np.random.default_rng(2).uniform([0, 0], [w, h], (500, 2))
    assert np.abs(grid.sample(pts) - terrain.sample(pts)).max() < 0.05


def test_training_is_deterministic(tmp_path):
    level = load_level(write_level(tmp_path, steps=60, seed=5))
    data = T.build_training_set(level, latents(), LATENT_REST)
    data2 = T.build_training_set(level, latents(), LATENT_REST)
    np.testing.assert_array_equal(data.xy_m, data2.xy_m)
    a = T.train_terrain(data, level.terrain).net.arrays()
    b = T.train_terrain(data2, level.terrain).net.arrays()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    other = load_level(write_level(tmp_path, steps=60, seed=6))
    c = T.train_terrain(T.build_training_set(other, latents(), LATENT_REST), other.terrain).net.arrays()
    assert not np.array_equal(a["fc_out.weight"], c["fc_out.weight"])


def test_training_set_contents(trained):
    level, data, _ = trained
    assert data.label_names == ("a", "b", "rest", "trajectory:t")
    a = data.subset("a")
    assert (level.zones[0].shape.distance_outside(data.xy_m[a]) <= 0.5 * level.zones[0].falloff_m + 1e-9).all()
    assert a.sum() == 48 + 24
    np.testing.assert_array_equal(data.latents[a], np.broadcast_to(LATENT_A, (a.sum(), 4)))
    rest = data.xy_m[data.subset("rest")]
    assert len(rest) > 5
    for zone in level.zones:
        assert (zone.shape.distance_outside(rest) >= zone.falloff_m).all()
    np.testing.assert_array_equal(data.latents[data.subset("trajectory:t")], trajectory_clip())


def test_wrong_clip_shape_is_a_user_error(tmp_path):
    level = load_level(write_level(tmp_path, steps=10))
    np.save(tmp_path / "clip.npy", np.zeros((30, 7), np.float32))
    with pytest.raises(UserError, match=r"trajectory 't'.*shape \(30, 7\)"):
        T.build_training_set(level, latents(), LATENT_REST)


# ---------------------------------------------------------------------------------------------
# Saving, fingerprints, background training


def test_saved_terrain_is_reused_until_something_changes(tmp_path, monkeypatch):
    level_path = write_level(tmp_path, steps=40)
    level = load_level(level_path)
    t1, how = T.load_level_terrain(level, latents(), LATENT_REST)
    assert how == "trained" and T.saved_terrain_path(level) == tmp_path / "test.terrain.npz"
    assert T.saved_terrain_path(level).exists()

    def no_training(*args, **kwargs):
        raise AssertionError("retrained although nothing changed")

    with monkeypatch.context() as m:
        m.setattr(T, "train_terrain", no_training)
        t2, how = T.load_level_terrain(load_level(level_path), latents(), LATENT_REST)
        assert how == "cached"
    pts = np.random.default_rng(0).uniform([0, 0], [20, 14], (30, 2))
    np.testing.assert_array_equal(t1.sample(pts), t2.sample(pts))

    # a zone latent changes (the model was retrained) -> retrain
    changed = {"a": LATENT_A + 0.01, "b": LATENT_B}
    assert T.load_level_terrain(level, changed, LATENT_REST)[1] == "trained"
    # the level changes (a falloff) -> retrain
    level2 = load_level(write_level(tmp_path, steps=40, falloff_a=2.5))
    assert T.load_level_terrain(level2, changed, LATENT_REST)[1] == "trained"
    assert T.load_level_terrain(level2, changed, LATENT_REST)[1] == "cached"
    # the trajectory's clip changes -> retrain
    np.save(tmp_path / "clip.npy", trajectory_clip() * 0.5)
    assert T.load_level_terrain(level2, changed, LATENT_REST, train=False) == (None, "stale")
    # no temporary files left beside the level
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.npy", "test.terrain.npz", "test.toml"]


def test_saved_terrain_round_trip_keeps_the_control_map(tmp_path, trained):
    _, _, terrain = trained
    mapped = terrain.with_control_map(T.ControlMap.from_rects(((0, 0), (20, 14)), ((-1, 1), (1, -1))))
    mapped.fingerprint = "abc"
    T.save_terrain(mapped, tmp_path / "x.terrain.npz")
    back = T.load_terrain_file(tmp_path / "x.terrain.npz")
    assert back.fingerprint == "abc" and back.control_map == mapped.control_map
    pts = np.array([[3.0, 4.0], [10.0, 10.0]])
    np.testing.assert_array_equal(back.sample(pts), mapped.sample(pts))
    # a level that names it as its [terrain] source uses it as it is, even in the background
    level = load_level(write_level(tmp_path, source="x.terrain.npz"))
    trainer = T.TerrainTrainer(level, latents(), LATENT_REST).start()
    np.testing.assert_array_equal(trainer.result(timeout=30).sample(pts), mapped.sample(pts))
    assert trainer.how == "source"
    with pytest.raises(UserError, match="gives 4 latent dimensions but the level's model has 3"):
        T.load_level_terrain(level, {"a": np.zeros(3), "b": np.zeros(3)})
    (tmp_path / "bad.terrain.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(UserError):
        T.load_saved_terrain(tmp_path / "bad.terrain.npz")


def test_trainer_runs_in_background_and_cancels(tmp_path):
    level = load_level(write_level(tmp_path, steps=80))
    trainer = T.TerrainTrainer(level, latents(), LATENT_REST).start()
    seen = set()
    while not trainer.done:
        p = trainer.progress
        seen.add(p.steps_done)
        assert 0 <= p.steps_done <= p.steps_total == 80
        time.sleep(0.002)  # as a game frame would: leave the GIL to the trainer
    terrain = trainer.result(timeout=60)
    assert trainer.progress.state == "done" and trainer.progress.steps_done == 80 and trainer.how == "trained"
    assert math.isfinite(trainer.progress.loss) and terrain.latent_dim == 4
    assert len(seen) > 1  # progress moved while the main thread watched
    # the second time it is reloaded, not retrained
    again = T.TerrainTrainer(level, latents(), LATENT_REST).start()
    again.result(timeout=60)
    assert again.how == "cached"

    slow = load_level(write_level(tmp_path, steps=100000))
    trainer = T.TerrainTrainer(slow, latents(), LATENT_REST, use_cache=False).start()
    while trainer.progress.steps_done < 10 and not trainer.done:
        time.sleep(0.002)
    trainer.cancel()
    with pytest.raises(T.TrainingCancelled):
        trainer.result(timeout=30)
    assert trainer.progress.state == "cancelled" and trainer.progress.steps_done < 100000


# ---------------------------------------------------------------------------------------------
# Maps and grids


def test_control_map_and_grid():
    cmap = T.ControlMap.from_rects(((0.0, 0.0), (72.0, 34.5)), ((-16.0, 4.0), (16.0, -4.0)))
    np.testing.assert_allclose(cmap.apply([[0.0, 0.0], [72.0, 34.5], [36.0, 17.25]]),
                               [[-16, 4], [16, -4], [0, 0]])
    np.testing.assert_allclose(cmap.invert(cmap.apply([[3.0, 7.0]])), [[3.0, 7.0]])
    assert T.ControlMap.from_rects(None, None).is_identity
    # bilinear interpolation is exact for a linear field, and clamps outside the grid
    ys, xs = np.mgrid[0:5, 0:7] * 0.5
    values = np.stack([xs + 2 * ys, -xs], axis=-1).astype(np.float32)
    grid = T.TerrainGrid((1.0, 2.0), 0.5, values)
    pts = np.array([[1.0, 2.0], [1.3, 2.7], [3.99, 3.9], [4.0, 4.0]])
    want = np.stack([(pts[:, 0] - 1) + 2 * (pts[:, 1] - 2), -(pts[:, 0] - 1)], axis=1)
    np.testing.assert_allclose(grid.sample(pts), want, atol=1e-5)
    np.testing.assert_allclose(grid.sample([[100.0, -100.0]]), [values[0, -1]])
    assert grid.bounds_m == (1.0, 2.0, 4.0, 4.0)


def test_to_grid_covers_bounds(trained):
    _, _, terrain = trained
    grid = terrain.to_grid((0.0, 0.0, 20.0, 14.0), 0.3)
    x0, y0, x1, y1 = grid.bounds_m
    assert (x0, y0) == (0.0, 0.0) and x1 >= 20.0 and y1 >= 14.0
    assert not grid.values.flags.writeable
    np.testing.assert_allclose(grid.values[0, 0], terrain.sample([[0.0, 0.0]])[0], atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Pictures and the command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="memoire terrain")
    TC.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


@needs_fixture
def test_plot_reproduces_nn_terrain_picture(tmp_path):
    """`plot --channel 0 --clamp -1 4` draws what nn.terrain's GUI draws (mean difference under
    0.1 grey level of 255, none off by more than 2; measured: 5 pixels of 90000 off by 1)."""
    out = tmp_path / "demo.png"
    assert TC.run(parse("plot", DEMO.with_suffix(".pt"), "--out", out, "--channel", 0, "--clamp", -1, 4)) == 0
    ours = np.asarray(Image.open(out).convert("L"), dtype=np.float64)
    ref = np.asarray(Image.open(DEMO.with_suffix(".png")).convert("L"), dtype=np.float64)
    assert ours.shape == ref.shape == (150, 600)
    assert np.abs(ours - ref).mean() < 0.1 and np.abs(ours - ref).max() <= 2


@needs_fixture
def test_sample_command_prints_reference_outputs(capsys, tmp_path):
    assert TC.run(parse("sample", DEMO.with_suffix(".pt"), "--points", DEMO.with_suffix(".points.csv"))) == 0
    got = np.loadtxt(capsys.readouterr().out.splitlines(), delimiter=",", ndmin=2)
    np.testing.assert_allclose(got, np.loadtxt(DEMO.with_suffix(".expected.csv"), delimiter=","), atol=1e-5)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,four\n")
    with pytest.raises(UserError, match=r"bad.csv:2"):
        TC.run(parse("sample", DEMO.with_suffix(".pt"), "--points", bad))


def test_plot_level_draws_over_the_map(trained, tmp_path):
    level, data, terrain = trained
    img = TC.plot_level(level, terrain, px_per_m=8, examples=data.xy_m)
    assert img.size == (160, 112) and img.mode == "RGB"
    grey = TC.plot_control(terrain, (0, 0, 20, 14), (50, 35), channel=1, clamp=(-2, 2))
    arr = np.asarray(grey)
    assert grey.size == (50, 35) and (arr[..., 0] == arr[..., 2]).all() and arr.std() > 10
    rgb = TC.field_rgb(terrain.sample(TC.grid_points((0, 0, 20, 14), (40, 28))).reshape(28, 40, 4))
    assert rgb.shape == (28, 40, 3) and rgb.dtype == np.uint8 and rgb.std() > 20


class TinyModel(torch.nn.Module):
    """The RAVE decode interface and Memoire's class statistics, 4 latent dims, silent."""

    latent_class_names: List[str]

    def __init__(self):
        super().__init__()
        self.latent_class_names = ["one", "two", "quiet"]
        self.register_buffer("latent_class_mean", torch.tensor([[2.0, 0, -1, 1], [-1, 2, 1, -2], [0, 0, 0, 0]]))
        self.register_buffer("decode_params", torch.tensor([4, 2048, 1, 1]))

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(z.shape[0], 1, z.shape[2] * 2048)


def test_train_and_plot_commands_on_a_level(tmp_path, capsys):
    level_path = write_level(tmp_path, steps=40)
    text = level_path.read_text()
    text = text.replace("[2.0, 0.0, -1.0, 1.0]", '"one"').replace("[-1.0, 2.0, 1.0, -2.0]", '"two"')
    level_path.write_text(text.replace("rest = [0.0, 0.0, 0.0, 0.0]", 'rest = "quiet"'))
    model = tmp_path / "tiny.ts"
    torch.jit.script(TinyModel()).save(str(model))
    assert TC.run(parse("train", level_path, "--model", model)) == 0
    assert "saved" in capsys.readouterr().err
    assert TC.run(parse("train", level_path, "--model", model)) == 0
    assert "up to date" in capsys.readouterr().err
    out = tmp_path / "level.png"
    assert TC.run(parse("plot", level_path, "--model", model, "--out", out, "--px-per-m", 5)) == 0
    assert Image.open(out).size == (100, 70)
    points = tmp_path / "p.csv"
    points.write_text("x,y\n5,5.5\n14.5,5.5\n")
    capsys.readouterr()
    assert TC.run(parse("sample", level_path, "--model", model, "--points", points)) == 0
    got = np.loadtxt(capsys.readouterr().out.splitlines(), delimiter=",", ndmin=2)
    assert got.shape == (2, 4)
    with pytest.raises(UserError, match="--clamp goes with --channel"):
        TC.run(parse("plot", level_path, "--model", model, "--out", out, "--clamp", 0, 1))
    with pytest.raises(UserError, match="no model"):
        TC.run(parse("train", level_path))


# ---------------------------------------------------------------------------------------------
# The terrain job: a child process, so the game process never imports torch

REPO = Path(__file__).resolve().parents[1]


def card(latent_dim: int = 4):
    """A model card for the test level (its anchors and rest are vectors: no classes needed)."""
    from memoire.world.card import ModelCard

    empty = np.zeros((0, latent_dim), np.float32)
    return ModelCard(path=Path("tiny.ts"), latent_dim=latent_dim, hop_samples=2048, channels=1,
                     sample_rate_hz=44100, class_names=(), class_mean=empty, class_std=empty)


def process_gone(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True  # exited and reaped: no zombie left either
    return False


@pytest.mark.slow
def test_job_trains_in_a_child_as_in_process(tmp_path):
    """The child's grid equals the in-process training's grid (same seed, one thread each), the
    saved terrain is reused by the next job, and the child is gone once the result is in."""
    from memoire.terrain.grid import TerrainGrid
    from memoire.terrain.link import grid_of, start_terrain_training

    level = load_level(write_level(tmp_path, steps=120, seed=5))
    job = start_terrain_training(level, card())
    seen = set()
    t0 = time.perf_counter()
    while not job.done and time.perf_counter() - t0 < 120:
        p = job.progress
        assert p.steps_total == 120 and 0 <= p.steps_done <= 120 and 0.0 <= p.fraction <= 1.0
        seen.add((p.state, p.steps_done))
        time.sleep(0.005)
    grid = job.result(timeout=0)
    assert isinstance(grid, TerrainGrid) and grid_of(grid, level) is grid
    assert job.how == "trained" and job.source == str(T.saved_terrain_path(level))
    assert job.progress.state == "done" and job.progress.fraction == 1.0 and math.isfinite(job.progress.loss)
    assert ("waiting", 0) in seen or ("running", 0) in seen
    assert job.wait_gone(5) and process_gone(job.pid) and not job.alive

    here = T.train_level_terrain(level, latents(), LATENT_REST, save=False)
    want = grid_of(here, level)
    assert grid.values.shape == want.values.shape == (57, 81, 4)
    assert (grid.origin_m, grid.step_m) == (want.origin_m, want.step_m)
    np.testing.assert_allclose(grid.values, want.values, atol=1e-5, rtol=0)
    assert not grid.values.flags.writeable

    again = start_terrain_training(level, card())
    np.testing.assert_array_equal(again.result(timeout=120).values, grid.values)
    assert again.how == "cached" and again.wait_gone(5) and process_gone(again.pid)


@pytest.mark.slow
def test_job_cancel_stops_the_child(tmp_path):
    from memoire.terrain.link import start_terrain_training

    level = load_level(write_level(tmp_path, steps=100000))
    job = start_terrain_training(level, card())
    end = time.perf_counter() + 120
    while job.progress.steps_done < 20 and not job.done and time.perf_counter() < end:
        time.sleep(0.01)
    assert job.progress.state == "running"
    t0 = time.perf_counter()
    job.cancel()
    took = time.perf_counter() - t0
    assert took < 0.5, took  # it stopped within a step, not by terminate's grace
    assert process_gone(job.pid) and job.done
    with pytest.raises(T.TrainingCancelled):
        job.result(timeout=0)
    assert job.progress.state == "cancelled" and 20 <= job.progress.steps_done < 100000

    # cancelled while the child is still starting (importing torch): terminated, cleanly
    early = start_terrain_training(level, card())
    t0 = time.perf_counter()
    early.cancel()
    assert time.perf_counter() - t0 < 2.0 and process_gone(early.pid)
    with pytest.raises(T.TrainingCancelled):
        early.result()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.npy", "test.toml"]


@pytest.mark.slow
def test_job_reports_a_broken_source_file_as_a_user_error(tmp_path):
    from memoire.terrain.link import start_terrain_training

    (tmp_path / "bad.terrain.npz").write_bytes(b"PK\x03\x04 broken")
    level = load_level(write_level(tmp_path, source="bad.terrain.npz"))
    with pytest.raises(UserError) as here:
        T.load_level_terrain(level, latents(), LATENT_REST)
    job = start_terrain_training(level, card())
    with pytest.raises(UserError, match=r"bad\.terrain\.npz") as there:
        job.result(timeout=120)
    assert str(there.value) == str(here.value)
    assert job.progress.state == "failed" and job.progress.message == str(here.value)
    assert job.wait_gone(5) and process_gone(job.pid)

    # any other failure keeps its builtin type and message (here: a zone without a latent)
    from memoire.terrain.job import TerrainJob

    trains = load_level(write_level(tmp_path))
    job = TerrainJob(trains, {"a": LATENT_A}, LATENT_REST, bounds_m=(0, 0, 20, 14), resolution_m=0.25).start()
    with pytest.raises(ValueError, match="no latent given for zone 'b'"):
        job.result(timeout=120)


def test_job_needs_a_level_that_uses_a_terrain(tmp_path):
    from memoire.terrain.link import start_terrain_training

    path = write_level(tmp_path)
    path.write_text(path.read_text().replace('field = "terrain"', 'field = "zones"'))
    with pytest.raises(ValueError, match="does not use a terrain"):
        start_terrain_training(load_level(path), card())
    with pytest.raises(UserError, match="latent dimensions"):  # an anchor the model cannot take: at once
        start_terrain_training(load_level(write_level(tmp_path)), card(latent_dim=3))


@pytest.mark.slow
def test_game_process_never_imports_torch(tmp_path):
    """What the game does, in a fresh interpreter: start the job, wait for the grid, picture it;
    torch stays out of that process's sys.modules (the child had it)."""
    import subprocess
    import sys

    level_path = write_level(tmp_path, steps=30)
    script = f'''
import sys
import time
from pathlib import Path
import numpy as np
import memoire.terrain.link as link
from memoire.world.card import ModelCard
from memoire.world.level import load_level
level = load_level(Path({str(level_path)!r}))
empty = np.zeros((0, 4), np.float32)
card = ModelCard(Path("tiny.ts"), 4, 2048, 1, 44100, (), empty, empty)
job = link.start_terrain_training(level, card)
while not job.done:  # a frame: read the progress, draw, wait for the next
    job.progress.fraction
    time.sleep(0.01)
grid = job.result()
picture = link.field_picture(link.grid_of(grid, level))
assert "torch" not in sys.modules, "torch was imported in the game process"
print("ok", job.how, grid.values.shape, picture.shape)
'''
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok trained (57, 81, 4) (57, 81, 3)", out.stdout


def test_in_process_grid_for_the_offline_render(tmp_path):
    """memoire/terrain/inprocess.py: the same grid, blocking, for a process that has torch."""
    from memoire.terrain.inprocess import terrain_grid_for_level

    path = write_level(tmp_path, steps=20)
    said = []
    grid = terrain_grid_for_level(load_level(path), card(), log=said.append)
    assert grid.values.shape == (57, 81, 4) and said == [f"terrain: trained ({tmp_path / 'test.terrain.npz'})"]
    assert terrain_grid_for_level(load_level(path), card(), log=said.append).values.shape == (57, 81, 4)
    assert said[-1].startswith("terrain: cached")
    path.write_text(path.read_text().replace('field = "terrain"', 'field = "zones"'))
    assert terrain_grid_for_level(load_level(path), card()) is None
