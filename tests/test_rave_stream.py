"""Streaming decode: block-wise calls must reproduce a whole-sequence decode."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from memoire.rave.export import ScriptedSynth
from memoire.rave.layers import conv_valid, pointwise, set_streaming
from memoire.rave.model import AutoEncoder, ModelConfig
from memoire.rave.pqmf import PQMF
from rave_tiny import TINY_MODEL

BLOCKS = [1, 2, 3, 1, 4, 1]  # frames per call, as the game's synth thread varies them


def _blockwise(decode, z):
    out, start = [], 0
    for size in BLOCKS:
        out.append(decode(z[:, :, start : start + size]))
        start += size
    return torch.cat(out, -1)


@pytest.mark.parametrize("cfg", [TINY_MODEL, ModelConfig()], ids=["tiny", "default"])
def test_blockwise_decode_equals_whole_decode(cfg):
    torch.manual_seed(0)
    model = AutoEncoder(cfg).eval()
    z = torch.randn(1, cfg.latent_dim, sum(BLOCKS))
    with torch.no_grad():
        whole = model.decode(z)  # training mode: zero past, noise from position 0
        set_streaming(model, True)
        blocks = _blockwise(model.decode, z)
    assert whole.shape == (1, 1, sum(BLOCKS) * cfg.hop_samples)
    assert whole.abs().max() > 1e-3  # the untrained decoder does make sound
    assert torch.allclose(blocks, whole, atol=1e-5, rtol=0)


def test_scripted_decode_streams_and_resets():
    torch.manual_seed(1)
    cfg = TINY_MODEL
    model = AutoEncoder(cfg).eval()
    names = ["a", "b"]
    scripted = torch.jit.script(ScriptedSynth(model, names, torch.zeros(2, cfg.latent_dim), torch.ones(2, cfg.latent_dim)))
    z = torch.randn(1, cfg.latent_dim, sum(BLOCKS))
    with torch.no_grad():
        whole = scripted.decode(z)
        scripted.reset()
        blocks = _blockwise(scripted.decode, z)
        # without a reset, decoding the same latents again continues the sound (the noise
        # table has moved on), so the output differs
        again = scripted.decode(z)
    assert torch.allclose(blocks, whole, atol=1e-5, rtol=0)
    assert not torch.allclose(again, whole, atol=1e-3)


def test_pqmf_round_trip_is_near_perfect_with_zero_delay():
    pqmf = PQMF(16, 8)
    x = torch.randn(1, 1, 16 * 2048, generator=torch.Generator().manual_seed(0))
    y = pqmf.synthesis(pqmf.analysis(x))
    inner = slice(1024, -1024)  # away from the zero-padded ends
    err_db = 10 * torch.log10(((y - x)[..., inner] ** 2).mean() / (x[..., inner] ** 2).mean())
    assert err_db < -40
    lags = np.correlate(y[0, 0].numpy(), x[0, 0, 1000:-1000].numpy(), "valid")
    assert int(np.argmax(lags)) == 1000  # zero delay


@pytest.mark.parametrize("steps", [1, 2, 4, 8, 9, 64])
@pytest.mark.parametrize("batch", [1, 3])
def test_batch1_matrix_products_equal_the_convolutions(steps, batch):
    """The decoder's fast path for batch 1 (matrix products) computes the same convolutions."""
    torch.manual_seed(steps)
    x = torch.randn(batch, 24, steps + 2)
    w1, b1 = torch.randn(40, 24, 1), torch.randn(40)
    w3 = torch.randn(40, 24, 3)
    torch.testing.assert_close(pointwise(x, w1, b1), F.conv1d(x, w1, b1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pointwise(x, w1, None), F.conv1d(x, w1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(conv_valid(x, w3, b1), F.conv1d(x, w3, b1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(conv_valid(x, w3, None), F.conv1d(x, w3), rtol=1e-5, atol=1e-5)
