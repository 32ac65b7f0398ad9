"""The model card without torch in the game process (memoire/audio/card.py, memoire/audio/probe.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memoire.world.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "memoire" / "cards"


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_read_card_matches_inspect_model_and_is_cached(cache, tiny_model_path, monkeypatch):
    import memoire.audio.card as card_mod
    from memoire.audio.model import inspect_model

    card = card_mod.read_card(tiny_model_path)
    ref = inspect_model(tiny_model_path)
    assert card.path == tiny_model_path
    for name in ("latent_dim", "hop_samples", "channels", "sample_rate_hz", "class_names", "rate_assumed"):
        assert getattr(card, name) == getattr(ref, name), name
    np.testing.assert_array_equal(card.class_mean, ref.class_mean)
    np.testing.assert_array_equal(card.class_std, ref.class_std)
    assert (card.class_frames is None) == (ref.class_frames is None)
    assert not card.class_mean.flags.writeable
    assert len(list(cache.glob("*.npz"))) == 1
    # the second read is the cached card: no probe
    monkeypatch.setattr(card_mod, "_probe", lambda *a: pytest.fail("probed again"))
    again = card_mod.read_card(tiny_model_path)
    assert again.class_names == card.class_names


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_read_card_errors_are_inspect_models(cache, tmp_path):
    from tiny_model import save_no_interface

    from memoire.audio.card import read_card
    from memoire.audio.model import inspect_model

    bad = save_no_interface(tmp_path / "bad.ts")
    junk = tmp_path / "junk.ts"
    junk.write_bytes(b"not a zip")
    for path in (bad, junk, tmp_path / "absent.ts"):
        with pytest.raises(UserError) as want:
            inspect_model(path)
        with pytest.raises(UserError) as got:
            read_card(path)
        assert str(got.value) == str(want.value)
    assert not list(cache.glob("*.npz"))  # failures are not cached


@pytest.mark.slow  # a fresh interpreter and the probe subprocess (~2 s)
def test_client_and_read_card_leave_torch_out(tmp_path, tiny_model_path):
    code = f"""
import sys
import memoire.audio.client, memoire.audio.card, memoire.audio.process
from memoire.audio.card import read_card
card = read_card({str(tiny_model_path)!r})
assert card.latent_dim > 0
print('torch' in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False", r.stdout
