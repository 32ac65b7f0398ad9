"""The TorchScript export: nn~ interface, shapes, class statistics, the game's loader."""

import numpy as np
import pytest
import torch

from memoire.audio.model import NeuralDecoder, inspect_model
from memoire.rave.export import export_torchscript
from memoire.rave.model import AutoEncoder
from rave_tiny import TINY_MODEL

HOP = 2048


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    cfg = TINY_MODEL
    path = tmp_path_factory.mktemp("export") / "tiny.ts"
    names = ["bells", "rain", "wind"]
    mean = torch.arange(3 * cfg.latent_dim, dtype=torch.float32).view(3, cfg.latent_dim)
    std = torch.full((3, cfg.latent_dim), 0.5)
    export_torchscript(AutoEncoder(cfg).eval(), path, names, mean, std)
    return path, cfg, names, mean, std


def test_round_trip_through_jit_load_has_the_nn_tilde_interface(exported):
    path, cfg, _, _, _ = exported
    m = torch.jit.load(str(path))
    d = cfg.latent_dim
    assert m.encode_params.tolist() == [1, 1, d, HOP]
    assert m.decode_params.tolist() == [d, HOP, 1, 1]
    assert m.forward_params.tolist() == [1, 1, 1, 1]
    assert m.encode_params.dtype == torch.int64
    assert set(m.get_methods()) == {"encode", "decode", "forward"}
    assert "sampling_rate" in m.get_attributes()
    assert m.sampling_rate == 44100
    with torch.no_grad():
        for n in (1, 3, 8):  # nn~ calls decode with (1, D, n) and expects (1, 1, 2048 n)
            y = m.decode(torch.randn(1, d, n))
            assert y.shape == (1, 1, HOP * n) and y.dtype == torch.float32
            assert torch.isfinite(y).all()
        z = m.encode(torch.randn(1, 1, HOP * 5 + 100))  # a partial frame is dropped
        assert z.shape == (1, d, 5)
        assert m.forward(torch.randn(1, 1, HOP * 4)).shape == (1, 1, HOP * 4)
        assert m.encode(torch.randn(2, 1, HOP * 2)).shape == (2, d, 2)


def test_class_statistics_are_carried(exported):
    path, cfg, names, mean, std = exported
    m = torch.jit.load(str(path))
    assert list(m.latent_class_names) == names
    assert m.latent_class_mean.dtype == torch.float32 and m.latent_class_std.dtype == torch.float32
    assert torch.equal(m.latent_class_mean, mean)
    assert torch.equal(m.latent_class_std, std)


def test_the_games_loader_reads_the_export(exported):
    path, cfg, names, mean, _ = exported
    info = inspect_model(path)
    assert (info.latent_dim, info.hop_samples, info.channels, info.sample_rate_hz) == (cfg.latent_dim, HOP, 1, 44100)
    assert info.class_names == tuple(names)
    np.testing.assert_array_equal(info.class_mean, mean.numpy())
    dec = NeuralDecoder(path, info)
    audio = dec.decode(np.zeros((cfg.latent_dim, 2), np.float32))
    assert audio.shape == (2 * HOP,)


def test_export_rejects_mismatched_statistics(tmp_path):
    with pytest.raises(ValueError):
        export_torchscript(AutoEncoder(TINY_MODEL), tmp_path / "x.ts", ["a", "b"],
                           torch.zeros(3, TINY_MODEL.latent_dim), torch.ones(3, TINY_MODEL.latent_dim))


def test_every_advertised_attribute_has_nn_tilde_accessors(exported):
    """nn~ needs <name>_params, get_<name> and set_<name> for each advertised attribute
    (tests/test_nn_tilde.py runs nn~'s own calls on them)."""
    path, _, names, _, _ = exported
    m = torch.jit.load(str(path))
    assert m.get_attributes() == ["sampling_rate", "latent_class_names"]
    assert m.sampling_rate_params.tolist() == [1]  # nn_tilde's type code for int
    assert m.latent_class_names_params.tolist() == [3] * len(names)  # str, one per class
    assert m.get_sampling_rate() == (44100,)
    assert m.get_latent_class_names() == tuple(names)
    assert m.set_sampling_rate(44100) == 0 and m.set_sampling_rate(48000) == -1
    assert m.set_latent_class_names(*names) == 0 and m.set_latent_class_names(*names[::-1]) == -1
    assert m.sampling_rate == 44100 and list(m.latent_class_names) == names


def test_export_without_classes_advertises_only_the_rate(tmp_path):
    d = TINY_MODEL.latent_dim
    m = export_torchscript(AutoEncoder(TINY_MODEL).eval(), tmp_path / "x.ts", [], torch.zeros(0, d), torch.ones(0, d))
    assert m.get_attributes() == ["sampling_rate"]
    assert list(m.latent_class_names) == []


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_exports_with_different_class_counts_keep_their_own_setters(tmp_path):
    d = TINY_MODEL.latent_dim
    for names in (["a", "b"], ["a", "b", "c", "d"], ["a", "b"]):
        n = len(names)
        m = export_torchscript(AutoEncoder(TINY_MODEL).eval(), tmp_path / f"{n}.ts", names, torch.zeros(n, d), torch.ones(n, d))
        m = torch.jit.load(str(tmp_path / f"{n}.ts"))
        assert len(m._c._get_method("set_latent_class_names").schema.arguments) == 1 + n
        assert m.set_latent_class_names(*names) == 0


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_reexport_keeps_weights_statistics_and_output(exported, tmp_path):
    from memoire.rave.export import load_exported, reexport

    path, cfg, names, mean, std = exported
    old = torch.jit.load(str(path))
    new = reexport(path, tmp_path / "again.ts", cfg)
    assert list(new.latent_class_names) == names and torch.equal(new.latent_class_mean, mean)
    z, x = torch.randn(1, cfg.latent_dim, 3), torch.randn(1, 1, 3 * HOP)
    with torch.no_grad():
        assert torch.equal(old.decode(z), new.decode(z)) and torch.equal(old.decode(z), new.decode(z))
        assert torch.equal(old.encode(x), new.encode(x))
    with pytest.raises(ValueError, match="differing tensors"):
        load_exported(path)  # the tiny file is not the default architecture
