"""vaekit on the JAX, TensorFlow and PyTorch backends of Keras 3.

A Keras process runs one backend: the `cross_backend` fixture (conftest.py)
runs `backend_worker.py` once per backend, together, beside this (JAX)
process. The models are saved-model fixtures (tests/fixtures/models, saved
by an earlier release on JAX): a Bernoulli MLP trained with the IWAE bound
and a KL warm-up, a conv net with `epsilon_std != 1`, a mixed table with
categorical columns, a learned std per feature and free bits, and a table
model conditioned on a number.

- Every backend loads each one with `safe_mode=True` and measures it:
  encoder and decoder outputs, the ELBO and importance weights for fixed
  numpy noise, and `vaekit.evaluate`.
- Every backend trains each one more epoch, saves its copy and measures it;
  then every backend loads the other backends' copies and measures them.

Deterministic quantities agree within float32 round-off, Monte Carlo ones
within a few standard errors. (The fixtures' own saved outputs, on every
backend, are test_saving.py's.)
"""

import numpy as np
import pytest

from tests.model.conftest import BACKENDS
from tests.model.saved_models import (
    CROSS,
    EVALUATE_KEYS,
    K_EVAL,
    N_PROBE,
    steps_per_epoch,
)

pytestmark = pytest.mark.backends

# float32 round-off: each backend orders its sums and matmuls its own way.
RTOL, ATOL = 1e-5, 1e-5


def assert_same(a, b, what, keys=None):
    for key in keys or a:
        if key == "evaluate":
            continue
        scale = max(1.0, float(np.abs(a[key]).max()))
        np.testing.assert_allclose(
            b[key], a[key], rtol=RTOL, atol=ATOL * scale, err_msg=f"{what}: {key}"
        )


def test_import_selects_jax_lazily_and_respects_a_chosen_backend(cross_backend):
    info = cross_backend.info
    started, torch, tf = info["import"], info["torch"], info["tensorflow"]
    # No KERAS_BACKEND: JAX; `import vaekit` alone loads neither keras nor a
    # backend (the public names load on first use).
    assert started["backend"] == "jax"
    assert started["env_after_import"] == "jax"
    assert started["loaded_by_import_vaekit"] == []
    # KERAS_BACKEND=torch is kept.
    assert torch["backend"] == "torch"
    assert torch["env_after_import"] == "torch"
    assert torch["loaded_by_import_vaekit"] == []
    # keras imported first (TensorFlow from keras.json): vaekit changes
    # nothing, not even the environment its subprocesses would inherit.
    assert tf["backend"] == "tensorflow"
    assert tf["env_after_import"] is None


@pytest.mark.parametrize("name", CROSS)
def test_deterministic_outputs_agree_across_backends(cross_backend, name):
    """One saved model: the same z_mean, z_log_var, decoded means, log
    importance weights for the same noise, KL, and learned variance and
    warm-up counter on every backend."""
    reference = cross_backend.load("jax", f"ref_{name}")
    assert np.std(reference["z_mean"]) > 1e-3  # not a degenerate model
    keys = ["z_mean", "z_log_var", "decoded", "log_weights", "kl"]
    if name == "mlp_bernoulli":
        keys.append("train_steps")
        # The warm-up counter was trained and saved, not reset on load
        # (one epoch of 1797 digits in batches of 64).
        assert reference["train_steps"] == 29
    if "table" in name:
        keys.append("decoder_log_var")
        assert np.all(reference["decoder_log_var"] != 0.0)  # trained
        # Decoded in the table's units: the categorical columns hold
        # category indices, the numeric ones their own scales.
        decoded = reference["decoded"]
        assert set(np.unique(decoded[:, 1])) <= {0.0, 1.0, 2.0}
        assert set(np.unique(decoded[:, 4])) <= {0.0, 1.0}
        assert decoded[:, 3].mean() > 100.0  # ~Exponential(1000)
    if name == "table_gaussian":
        # One learned log-variance per numeric column.
        assert reference["decoder_log_var"].shape == (3,)
    for backend in BACKENDS[1:]:
        other = cross_backend.load(backend, f"ref_{name}")
        assert_same(reference, other, f"{backend} vs jax", keys)


@pytest.mark.parametrize("name", CROSS)
def test_elbo_with_the_same_noise_agrees_across_backends(cross_backend, name):
    """The ELBO (one sample, analytic KL) and the importance weights for the
    same epsilon agree per example within float32 tolerance."""
    reference = cross_backend.load("jax", f"ref_{name}")
    assert np.all(np.isfinite(reference["elbo"]))
    assert np.all(np.isfinite(reference["log_weights"]))
    # The mean log-weight estimates the ELBO too (with a Monte Carlo KL).
    var_log_w = reference["log_weights"].var(axis=0, ddof=1).mean()
    se = np.sqrt(var_log_w / N_PROBE)
    assert abs(reference["elbo"].mean() - reference["log_weights"].mean()) < 6 * se
    for backend in BACKENDS[1:]:
        other = cross_backend.load(backend, f"ref_{name}")
        assert_same(reference, other, backend, ["elbo", "log_weights"])
        assert other["elbo"].mean() == pytest.approx(reference["elbo"].mean(), abs=1e-4)


@pytest.mark.parametrize("name", CROSS)
def test_evaluate_agrees_across_backends_within_monte_carlo_error(cross_backend, name):
    """`evaluate` draws its noise with keras.random, whose streams differ by
    backend: ELBO and log-likelihood agree within their Monte Carlo error, the
    analytic KL within float tolerance."""
    reference = cross_backend.load("jax", f"ref_{name}")
    # Standard error of a mean over N_PROBE examples of K_EVAL-sample means of
    # log w, from the per-example variance of log w under the fixed noise;
    # the difference of two independent estimates has sqrt(2) times that.
    var_log_w = reference["log_weights"].var(axis=0, ddof=1).mean()
    se_eval = np.sqrt(var_log_w / (K_EVAL * N_PROBE))
    # The one-sample ELBO with fixed noise estimates the same mean.
    se_fixed = np.sqrt(var_log_w / N_PROBE)
    results = {
        b: dict(
            zip(
                EVALUATE_KEYS,
                cross_backend.load(b, f"ref_{name}")["evaluate"],
                strict=True,
            )
        )
        for b in BACKENDS
    }
    for backend, result in results.items():
        assert result["n"] == N_PROBE and result["iw_samples"] == K_EVAL
        assert result["elbo"] <= result["log_likelihood"]
        diff = abs(result["elbo"] - reference["elbo"].mean())
        assert diff < 6 * np.hypot(se_eval, se_fixed), (backend, diff)
        assert result["kl"] == pytest.approx(reference["kl"].mean(), rel=RTOL)
    for backend in BACKENDS[1:]:
        for key in ("elbo", "log_likelihood", "reconstruction"):
            diff = abs(results[backend][key] - results["jax"][key])
            assert diff < 6 * np.sqrt(2) * se_eval, (backend, key, diff, se_eval)
        assert results[backend]["active_units"] == results["jax"]["active_units"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_trains_on_every_backend(cross_backend, backend):
    """One more epoch of `fit` on each backend from the saved weights: a
    finite loss, and a better ELBO on the probe set for the same noise."""
    for name in CROSS:
        loss = cross_backend.info[backend][f"loss_{name}"]
        assert len(loss) == 1 and np.isfinite(loss[0])
        before = cross_backend.load(backend, f"ref_{name}")
        after = cross_backend.load(backend, f"own_{name}")
        assert after["elbo"].mean() > before["elbo"].mean() + 0.1, name
        if "train_steps" in before:
            assert after["train_steps"] == before["train_steps"] + steps_per_epoch(name)


@pytest.mark.parametrize("saver", BACKENDS)
def test_model_saved_on_one_backend_loads_on_the_other_two(cross_backend, saver):
    """The 3x3 save/load matrix: a model trained and saved on `saver` loads
    with safe_mode=True on the other backends and gives the same outputs."""
    for name in CROSS:
        saved = cross_backend.load(saver, f"own_{name}")
        for loader in BACKENDS:
            if loader != saver:
                assert_same(
                    saved,
                    cross_backend.load(loader, f"from_{saver}_{name}"),
                    f"{name} saved on {saver}, loaded on {loader}",
                )


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_scikit_learn_estimators_fit_score_and_sample_on_every_backend(
    cross_backend, backend
):
    """tests/test_sklearn.py judges the estimators on JAX; on TensorFlow and
    PyTorch they fit a table with a text column, score it, explain it,
    encode it and draw rows like it."""
    assert cross_backend.info[backend]["sklearn"] == {
        "scores_finite": True,
        "predicted": [-1, 1],
        "feature_scores": [90, 3],
        "codes": [90, 8],
        "sample": [["size", "kind", "rate"], []],
    }
