"""vaekit.viz.latent: the grid and traversal values, the layout of the
manifold and the order of traversals, interpolation codes and principal
components."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from vaekit.errors import InvalidArgument
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
def test_bad_arguments_raise_invalid_argument_naming_them(call, message):
    # InvalidArgument is a ValueError too, as Keras raises for bad arguments.
    with pytest.raises(InvalidArgument, match=message):
        call()
    assert issubclass(InvalidArgument, ValueError)


def test_layout_of_a_2d_image_model_is_the_inverse_cdf_grid(tiny_model):
    layout = latent.manifold_layout(tiny_model, grid=4)
    values = norm.ppf(np.linspace(0.05, 0.95, 4))
    assert layout["kind"] == "grid" and layout["units"] == (0, 1)
    assert layout["z"].shape == (4, 4, 2)
    # z[0] rises left to right, z[1] bottom to top (as in the scatter).
    for row in range(4):
        for col in range(4):
            np.testing.assert_allclose(
                layout["z"][row, col], [values[col], values[3 - row]], rtol=1e-5
            )


def test_traversals_follow_the_variance_of_z_mean(model5, digits_x):
    x = digits_x[:500]
    layout = latent.manifold_layout(model5, grid=5, x=x)
    variance = np.asarray(model5.encode(x)[0], np.float64).var(axis=0)
    assert layout["kind"] == "traversal"
    np.testing.assert_allclose(layout["activity"], variance, rtol=1e-4)
    assert list(layout["units"]) == list(np.argsort(-variance, kind="stable"))
    values = latent.grid_values(5)
    for row, unit in enumerate(layout["units"]):
        expected = np.zeros((5, 5), np.float32)
        expected[:, unit] = values
        np.testing.assert_array_equal(layout["z"][row], expected)
    # Flat rows of the model's images are reshaped to it.
    flat = latent.manifold_layout(model5, grid=5, x=x.reshape(len(x), -1))
    np.testing.assert_allclose(flat["activity"], layout["activity"], rtol=1e-6)


def test_without_data_the_decoder_sensitivity_ranks_the_units(model5):
    values = latent.grid_values(5)
    sensitivity = []
    for unit in range(5):
        z = np.zeros((5, 5), np.float32)
        z[:, unit] = values
        decoded = np.asarray(model5.decode(z), np.float64).reshape(5, -1)
        sensitivity.append(decoded.var(axis=0).mean())
    np.testing.assert_allclose(
        latent.latent_activity(model5, grid=5), sensitivity, rtol=1e-4
    )
    short = latent.manifold_layout(model5, grid=5, rows=2)
    assert short["units"] == tuple(np.argsort(-np.array(sensitivity))[:2])
    assert short["z"].shape == (2, 5, 5)
    # rows beyond the latent units stop at them
    assert len(latent.manifold_layout(model5, grid=3, rows=50)["units"]) == 5
    with pytest.raises(InvalidArgument, match="Received: rows=0"):
        latent.manifold_layout(model5, grid=3, rows=0)
