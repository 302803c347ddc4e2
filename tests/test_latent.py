"""vaekit.viz.latent: the grid and traversal values, traversal order,
interpolation codes and principal components."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from vaekit.viz import latent


def test_grid_values_are_prior_quantiles():
    np.testing.assert_allclose(
        latent.grid_values(7), norm.ppf(np.linspace(0.05, 0.95, 7)), rtol=1e-5
    )
    assert latent.grid_values(2).tolist() == pytest.approx([-1.6449, 1.6449], abs=1e-4)


def test_slerp_keeps_the_norm_between_orthogonal_unit_vectors():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    path = latent.slerp(a, b, np.linspace(0, 1, 9))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(path[0], a, atol=1e-12)
    np.testing.assert_allclose(path[-1], b, atol=1e-12)
    np.testing.assert_allclose(path[4], [math.sqrt(0.5), math.sqrt(0.5), 0], atol=1e-12)
    # Parallel vectors fall back to the straight line.
    np.testing.assert_allclose(latent.slerp(a, 2 * a, [0.5])[0], 1.5 * a)


def test_interpolation_codes_include_both_ends():
    a, b = np.array([1.0, -2.0]), np.array([3.0, 2.0])
    line = latent.interpolation_codes(a, b, 5)
    assert line.dtype == np.float32 and line.shape == (5, 2)
    np.testing.assert_allclose(line, [[1, -2], [1.5, -1], [2, 0], [2.5, 1], [3, 2]])
    arc = latent.interpolation_codes(a, b, 5, "slerp")
    np.testing.assert_allclose(arc[[0, -1]], [a, b], rtol=1e-6)
    np.testing.assert_allclose(arc, latent.slerp(a, b, np.linspace(0, 1, 5)), rtol=1e-6)


def test_principal_components_match_the_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 3)) @ np.array([[3.0, 0, 0], [1.0, 1.0, 0], [0, 0, 0.2]])
    projection, components, ratio = latent.principal_components(z, 2)
    values, vectors = np.linalg.eigh(np.cov(z, rowvar=False))
    order = np.argsort(values)[::-1]
    for k in range(2):
        top = vectors[:, order[k]]
        assert abs(np.dot(components[k], top)) == pytest.approx(1.0, abs=1e-9)
        # The largest loading is positive: a deterministic sign.
        assert components[k][np.abs(components[k]).argmax()] > 0
    np.testing.assert_allclose(ratio, values[order[:2]] / values.sum(), rtol=1e-9)
    np.testing.assert_allclose(projection, (z - z.mean(0)) @ components.T)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: latent.grid_values(1), "Received: grid=1"),
        (lambda: latent.grid_values(2.0), "Received: grid=2.0"),
        (lambda: latent.interpolation_codes([0], [1], 1), "Received: steps=1"),
        (
            lambda: latent.interpolation_codes([0], [1], 3, "cubic"),
            "Received: method='cubic'",
        ),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()
