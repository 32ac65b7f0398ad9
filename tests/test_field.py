"""Zone weights: inside a zone its sound, far away the rest latent, continuous in between."""

from __future__ import annotations

import numpy as np
import pytest

from memoire.world.field import LatentField, build_zone_blend, curve_value
from memoire.audio.model import inspect_model
from memoire.world.level import load_level


@pytest.fixture(scope="module")
def blend(default_level_path, tiny_model_path):
    return build_zone_blend(load_level(default_level_path), inspect_model(tiny_model_path))


def test_inside_a_zone_is_that_zone(blend):
    i = blend.names.index("pigeons")
    w, rest = blend.weights(np.array([[35.25, 9.75]]))
    assert w[0, i] == pytest.approx(1.0)
    assert rest[0] == pytest.approx(0.0)
    z, tau = blend.target(np.array([[35.25, 9.75]]))
    np.testing.assert_allclose(z[0], blend.latents[i], atol=1e-6)
    assert tau[0] == pytest.approx(1.5)


def test_far_from_every_zone_is_rest(blend):
    # the west end of the garden's south wall is > falloff from every zone? pick a far courtyard corner
    far = np.array([[66.5, 27.9]])  # tea courtyard east end: inside 'chatter'
    w, rest = blend.weights(far)
    assert w.sum() == pytest.approx(1.0)
    nowhere = np.array([[-50.0, -50.0]])
    w, rest = blend.weights(nowhere)
    assert rest[0] == pytest.approx(1.0) and w.sum() == pytest.approx(0.0)
    z, _ = blend.target(nowhere)
    np.testing.assert_allclose(z[0], blend.rest_latent, atol=1e-6)


def test_weights_sum_to_one_and_are_continuous(blend):
    xs = np.linspace(0, 72, 1441)  # 5 cm steps along the lane
    pts = np.stack([xs, np.full_like(xs, 18.75)], axis=1)
    w, rest = blend.weights(pts)
    np.testing.assert_allclose(w.sum(axis=1) + rest, 1.0, atol=1e-9)
    z, _ = blend.target(pts)
    step = np.linalg.norm(np.diff(z, axis=0), axis=1)
    # the steepest curve (smoothstep, slope 1.5/falloff) over the shortest falloff (2 m) and the
    # largest latent distance in the tiny model (~8) bounds the change per 5 cm at ~0.3
    assert step.max() < 0.3
    assert len({int(np.argmax(row)) for row in w if row.sum() > 0.5}) >= 3  # several zones along the lane


def test_priority_wins_overlap(blend):
    # insects (priority 1.5) inside the birds polygon's falloff band and its own inner region
    i, b = blend.names.index("insects"), blend.names.index("birds")
    w, _ = blend.weights(np.array([[27.0, 29.0]]))
    assert w[0, i] > w[0, b]


@pytest.mark.parametrize("kind", ["linear", "smooth", "exponential"])
def test_curves_run_from_zero_to_one(kind):
    u = np.linspace(0, 1, 101)
    c = curve_value(kind, u)
    assert c[0] == pytest.approx(0.0) and c[-1] == pytest.approx(1.0)
    assert np.all(np.diff(c) >= -1e-12)


def test_field_mixes_terrain(blend):
    class Flat:
        def sample(self, xy):
            return np.full((len(xy), blend.latents.shape[1]), 7.0)

    f = LatentField(blend).with_terrain(Flat(), 0.5)
    z0, _ = LatentField(blend).target(35.25, 9.75)
    z, _ = f.target(35.25, 9.75)
    np.testing.assert_allclose(z, 0.5 * z0 + 3.5, atol=1e-5)
