"""vaekit.model.flows: the RealNVP prior's log-determinant against a
numerical Jacobian, its inverse, its start as N(0, I), its draws and its
saving."""

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats

from vaekit.model.flows import FlowPrior


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def random_flow(d=4, size=3, seed=0):
    """A flow whose every weight is random (it starts as the identity)."""
    flow = FlowPrior(latent_dim=d, size=size, hidden_units=16, seed=seed)
    rng = np.random.default_rng(seed)
    for variable in flow.weights:
        variable.assign(rng.normal(0, 0.4, variable.shape).astype(variable.dtype))
    return flow


def numerical_log_det(flow, z, h=3e-3):
    """log |det du/dz| from central differences (float32 flow; the
    determinant in float64)."""
    d = z.shape[-1]
    jacobian = np.empty((d, d))
    for j in range(d):
        step = np.zeros(d)
        step[j] = h
        up = np_(flow.forward((z + step)[None])[0])[0]
        down = np_(flow.forward((z - step)[None])[0])[0]
        jacobian[:, j] = (up - down) / (2 * h)
    return np.linalg.slogdet(jacobian)[1]


def test_log_det_matches_a_numerical_jacobian():
    flow = random_flow(d=5, size=4)
    z = np.random.default_rng(1).normal(0, 1.5, (6, 5)).astype("float32")
    _, log_det = flow.forward(z)
    expected = [numerical_log_det(flow, row) for row in z]
    np.testing.assert_allclose(np_(log_det), expected, atol=2e-3)
    assert np.abs(expected).max() > 0.1  # a flow that does change volume


def test_inverse_undoes_forward():
    flow = random_flow(d=4)
    z = np.random.default_rng(2).normal(0, 2, (100, 4)).astype("float32")
    back = np_(flow.inverse(flow.forward(z)[0]))
    np.testing.assert_allclose(back, z, atol=1e-4)


def test_a_new_flow_is_the_standard_normal():
    flow = FlowPrior(latent_dim=3, size=2, seed=0)
    z = np.random.default_rng(3).normal(0, 1, (20, 3)).astype("float32")
    expected = stats.norm.logpdf(z).sum(axis=1)
    np.testing.assert_allclose(np_(flow.log_prob(z)), expected, rtol=1e-5)


def test_draws_map_to_standard_normal_noise():
    """`sample` inverts the flow from N(0, T^2 I): forward maps the draws
    back to standard normal values, scaled by the temperature."""
    flow = random_flow(d=4)
    draws = flow.sample(5000, seed=0)
    assert draws.dtype == np.float32 and draws.shape == (5000, 4)
    u = np_(flow.forward(draws)[0])
    for column in u.T:
        assert stats.kstest(column, "norm").pvalue > 1e-3
    cold = np_(flow.forward(flow.sample(5000, seed=0, temperature=0.5))[0])
    assert cold.std() == pytest.approx(0.5, rel=0.05)
    np.testing.assert_array_equal(flow.sample(3, seed=4), flow.sample(3, seed=4))


def test_flow_round_trips_its_config_and_weights(tmp_path):
    flow = random_flow(d=4)
    clone = FlowPrior.from_config(flow.get_config())
    clone.set_weights(flow.get_weights())
    z = np.random.default_rng(5).normal(0, 1, (8, 4)).astype("float32")
    np.testing.assert_allclose(np_(clone.log_prob(z)), np_(flow.log_prob(z)), rtol=1e-6)
    assert keras.saving.get_registered_name(FlowPrior) == "vaekit>FlowPrior"
