"""vaekit.evaluation.scores: per-example anomaly scores (`scores_of` on
arrays, `score` on any data, as a DataFrame) and thresholds.

The per-example values are checked three ways: their means are
`vaekit.evaluation.likelihood.evaluate`'s figures; for a linear-Gaussian
model the negative ELBO is checked against its closed form (numpy) and the
reconstruction error exactly; and the tiny digits model must rank uniform
noise images above its held-out digits. (The scores a run stores are
tested with training, tests/training/test_train.py; `vaekit score` in
tests/cli/test_score.py.)
"""

import shutil
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import vaekit
from vaekit import data as data_lib
from vaekit import runs
from vaekit.errors import InvalidArgument, RunFolderError
from vaekit.evaluation.likelihood import evaluate
from vaekit.evaluation.scores import (
    SCORES,
    feature_scores,
    infer_threshold,
    score,
    scores_of,
)
from vaekit.model.vae import VAE

D, L, SIGMA = 5, 2, 0.5
COLUMNS = ["index", *SCORES]


# -- a linear-Gaussian model with closed forms -------------------------------


class Linear:
    """p(z) = N(0, I), p(x|z) = N(W z + b, SIGMA^2 I); q(z|x) = N(A x + c,
    diag(s)) with any A, c, s (not the exact posterior)."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.W = rng.normal(size=(D, L))
        self.b = rng.normal(size=D)
        self.A = rng.normal(size=(L, D)) * 0.3
        self.c = rng.normal(size=L) * 0.1
        self.s = np.array([0.3, 0.6])
        z = rng.standard_normal((n, L))
        x = z @ self.W.T + self.b + SIGMA * rng.standard_normal((n, D))
        self.x = x.astype("float32")

    def vae(self, mean_kernel=None):
        x_in = keras.Input((D,))
        encoder = keras.Model(
            x_in,
            [
                keras.layers.Dense(L, name="z_mean")(x_in),
                keras.layers.Dense(L, name="z_log_var")(x_in),
            ],
        )
        kernel = self.A.T if mean_kernel is None else mean_kernel
        encoder.get_layer("z_mean").set_weights([kernel, self.c])
        encoder.get_layer("z_log_var").set_weights([np.zeros((D, L)), np.log(self.s)])
        z_in = keras.Input((L,))
        decoder = keras.Model(z_in, keras.layers.Dense(D, name="linear")(z_in))
        decoder.get_layer("linear").set_weights([self.W.T, self.b])
        return VAE(encoder, decoder, likelihood="gaussian", decoder_std=SIGMA, seed=0)

    def mean(self, x):
        return x.astype(np.float64) @ self.A.T + self.c

    def elbo(self, x):
        """E_q[log p(x|z)] - KL(q || p(z)), in closed form."""
        m = self.mean(x)
        residual = x - m @ self.W.T - self.b
        trace = (self.W**2 * self.s).sum()  # tr(W diag(s) W^T)
        expected_log_lik = -0.5 * D * np.log(2 * np.pi * SIGMA**2) - (
            (residual**2).sum(1) + trace
        ) / (2 * SIGMA**2)
        kl = 0.5 * (self.s + m**2 - 1 - np.log(self.s)).sum(1)
        return expected_log_lik - kl

    def log_weight_std(self, x, draws, rng):
        """numpy draws of log p(x, z) - log q(z|x), z ~ q: their std per x."""
        m = self.mean(x)
        z = m + np.sqrt(self.s) * rng.standard_normal((draws, *m.shape))
        log_lik = stats.norm.logpdf(x, z @ self.W.T + self.b, SIGMA).sum(-1)
        log_prior = stats.norm.logpdf(z).sum(-1)
        log_q = stats.norm.logpdf(z, m, np.sqrt(self.s)).sum(-1)
        return (log_lik + log_prior - log_q).std(axis=0)


@pytest.fixture(scope="module")
def linear():
    return Linear(n=40, seed=0)


@pytest.fixture(scope="module")
def linear_vae(linear):
    return linear.vae()


def test_scores_are_per_example_values_of_evaluate(linear, linear_vae):
    k, seed = 20, 3
    scores = scores_of(linear_vae, linear.x, iw_samples=k, seed=seed)
    assert set(scores) == set(SCORES)
    for values in scores.values():
        assert values.shape == (len(linear.x),)
        assert np.isfinite(values).all()
    result = evaluate(linear_vae, linear.x, iw_samples=k, seed=seed)
    # The same importance samples (same seed and chunks): equal to rounding.
    assert -scores["neg_elbo"].mean() == pytest.approx(result["elbo"], rel=1e-12)
    assert -scores["neg_log_likelihood"].mean() == pytest.approx(
        result["log_likelihood"], rel=1e-12
    )
    # logsumexp(log w) - log k >= mean(log w) for every example (Jensen).
    assert (scores["neg_log_likelihood"] <= scores["neg_elbo"] + 1e-9).all()
    # `score` is the same values in a DataFrame, one row per example.
    frame = score(linear_vae, linear.x, iw_samples=k, seed=seed)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == COLUMNS
    np.testing.assert_array_equal(frame["index"], np.arange(len(linear.x)))
    for key in SCORES:
        np.testing.assert_array_equal(frame[key].to_numpy(), scores[key])


def test_scores_do_not_depend_on_the_memory_budget(linear, linear_vae):
    """Chunks of one example and a few samples give the same values."""
    big = scores_of(linear_vae, linear.x, iw_samples=7, seed=1)
    small = scores_of(linear_vae, linear.x, iw_samples=7, seed=1, max_memory=2000)
    np.testing.assert_allclose(
        small["reconstruction_error"], big["reconstruction_error"], rtol=1e-6
    )
    # Other chunks draw other samples: equal within Monte Carlo error.
    for key in ("neg_elbo", "neg_log_likelihood"):
        assert small[key].mean() == pytest.approx(big[key].mean(), rel=0.1)


def test_neg_elbo_matches_the_closed_form_per_example(linear, linear_vae):
    k = 4000
    scores = scores_of(linear_vae, linear.x, iw_samples=k, seed=0)
    expected = -linear.elbo(linear.x)
    std = linear.log_weight_std(linear.x, 4000, np.random.default_rng(1))
    # Each value is a mean of k independent log-weights: 5 standard errors,
    # over 40 examples, fails by chance with probability about 2e-5.
    np.testing.assert_array_less(
        np.abs(scores["neg_elbo"] - expected), 5 * std / k**0.5
    )


def test_reconstruction_error_is_the_mse_of_the_decoded_posterior_mean(
    linear, linear_vae
):
    scores = scores_of(linear_vae, linear.x, iw_samples=1, batch_size=7)
    x_hat = linear.mean(linear.x) @ linear.W.T + linear.b
    expected = ((linear.x - x_hat) ** 2).mean(axis=1)
    np.testing.assert_allclose(scores["reconstruction_error"], expected, rtol=1e-5)


# -- thresholds ----------------------------------------------------------------


def test_feature_scores_match_the_closed_form_per_feature(linear, linear_vae):
    """-E_q[log N(x_j; (W z + b)_j, SIGMA^2)] = log(2 pi SIGMA^2) / 2 +
    (r_j^2 + sum_l W_jl^2 s_l) / (2 SIGMA^2), r = x - W m - b."""
    x = linear.x[:10]
    got = feature_scores(linear_vae, x, iw_samples=4000, seed=1)
    assert got.shape == (10, D)
    residual = x - linear.mean(x) @ linear.W.T - linear.b
    spread = (linear.W**2 * linear.s).sum(axis=1)
    expected = 0.5 * np.log(2 * np.pi * SIGMA**2) + (residual**2 + spread) / (
        2 * SIGMA**2
    )
    np.testing.assert_allclose(got, expected, rtol=0.05, atol=0.05)
    # They sum to the reconstruction term: neg_elbo less the closed-form KL.
    m = linear.mean(x)
    kl = 0.5 * (linear.s + m**2 - 1 - np.log(linear.s)).sum(1)
    np.testing.assert_allclose(got.sum(1) + kl, -linear.elbo(x), rtol=0.02)


def test_score_explains_each_column_of_a_table(table_run, table_csv):
    """With explain=True a table's scores carry one `nll_<column>` per
    data column (the categorical ones too); a row with one value pushed far
    off scores far higher in that column than the other rows."""
    model = f"{table_run}/model.keras"
    frame = pd.read_csv(table_csv)
    odd = frame.copy()
    odd.loc[3, "income"] = frame["income"].mean() + 30 * frame["income"].std()
    scored = score(model, odd, iw_samples=20, label_column="kind", explain=True)
    names = [f"nll_{c}" for c in ("age", "colour", "income", "size")]
    assert list(scored.columns) == ["index", "label", *SCORES, *names]
    parts = scored[names].to_numpy()
    assert np.isfinite(parts).all()
    # (Which column is the row's largest depends on how the encoder maps the
    # far value: this model trained 3 epochs. tests/test_sklearn.py checks
    # the argmax on a trained one.)
    # The tabular preset's Student-t makes a far value cost nats in the log
    # of its distance (about 94 here), not its square: still 5x any other.
    others = np.delete(parts[:, 2], 3)
    assert parts[3, 2] > 5 * others.max()
    plain = score(model, odd, iw_samples=20, label_column="kind")
    assert list(plain.columns) == ["index", "label", *SCORES]
    assert "feature_scores" not in plain.attrs


def test_score_explains_images_with_a_heat_map_each(tiny_model_path):
    scored = score(tiny_model_path, "digits", iw_samples=2, explain=True)
    heat_maps = scored.attrs["feature_scores"]
    assert heat_maps.shape == (1797, 8, 8, 1)
    assert np.isfinite(heat_maps).all()
    assert list(scored.columns) == ["index", "label", *SCORES]


def test_threshold_flags_scores_above_it(linear, linear_vae):
    plain = score(linear_vae, linear.x, iw_samples=5)
    assert "is_outlier" not in plain.columns
    assert plain.attrs["threshold"] is None
    assert plain.attrs["threshold_source"] is None
    t = float(np.median(plain["neg_log_likelihood"]))
    flagged = score(linear_vae, linear.x, iw_samples=5, threshold=t)
    assert list(flagged.columns) == [*COLUMNS, "is_outlier"]
    np.testing.assert_array_equal(
        flagged["is_outlier"], plain["neg_log_likelihood"] > t
    )
    assert flagged["is_outlier"].dtype == bool
    assert flagged["is_outlier"].sum() == len(linear.x) // 2
    assert flagged.attrs == {
        "iw_samples": 5,
        "threshold": t,
        "threshold_source": "given",
        "split": "all",
        "binarize": "none",
        "not_finite": 0,
    }
    t2 = float(np.median(plain["reconstruction_error"]))
    by_error = score(
        linear_vae,
        linear.x,
        iw_samples=5,
        threshold=t2,
        threshold_on="reconstruction_error",
    )
    np.testing.assert_array_equal(
        by_error["is_outlier"], plain["reconstruction_error"] > t2
    )


def test_a_score_that_is_not_finite_is_an_outlier(linear):
    """An encoder that multiplies feature 0 by 1e38: the scores of the rows
    where it is not 0 are NaN, and flagged even by a threshold no finite
    score reaches; the other rows are scored as usual."""
    kernel = linear.A.T.copy()
    kernel[0, :] = 1e38
    model = linear.vae(mean_kernel=kernel)
    x = linear.x[:8].copy()
    x[::2, 0] = 0.0
    x[1::2, 0] = 10.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarnings on NaN too
        frame = score(model, x, iw_samples=3, threshold=1e30)
    bad = np.arange(8) % 2 == 1
    assert np.isnan(frame["neg_log_likelihood"][bad]).all()
    assert np.isfinite(frame["neg_log_likelihood"][~bad]).all()
    np.testing.assert_array_equal(frame["is_outlier"], bad)
    assert frame.attrs["not_finite"] == 4  # counted
    # The finite rows are those of the plain model (feature 0 is 0 there),
    # the same draws for the same rows.
    plain = score(linear.vae(), x, iw_samples=3)
    for key in SCORES:
        np.testing.assert_allclose(frame[key][~bad], plain[key][~bad], rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": 1.0, "threshold_on": "kl"}, "threshold_on"),
        ({"iw_samples": 0}, "iw_samples"),
        ({"threshold": 1.0, "threshold_quantile": 0.9}, "not both"),
        ({"threshold_quantile": 0.9}, "pass the model's path"),
        ({"threshold_quantile": 1.0}, "threshold_quantile"),
        ({"threshold_quantile": 0}, "threshold_quantile"),
        ({"binarize": "twice"}, "binarize"),
    ],
)
def test_bad_settings_are_refused(linear, linear_vae, kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        score(linear_vae, linear.x, **kwargs)


def test_infer_threshold_is_the_quantile():
    rng = np.random.default_rng(0)
    values = rng.normal(size=1001)
    for q in (0.5, 0.9, 0.99):
        t = infer_threshold(values, q)
        assert t == pytest.approx(np.quantile(values, q))
        assert (values > t).mean() == pytest.approx(1 - q, abs=1 / len(values))
    scores = {"neg_log_likelihood": values, "neg_elbo": values + 1.0}
    assert infer_threshold(scores, 0.9) == pytest.approx(np.quantile(values, 0.9))
    assert infer_threshold(scores, 0.9, key="neg_elbo") == pytest.approx(
        np.quantile(values, 0.9) + 1.0
    )
    # A DataFrame of `score` is read by its column, like the dict.
    assert infer_threshold(pd.DataFrame(scores), 0.9, key="neg_elbo") == (
        pytest.approx(np.quantile(values, 0.9) + 1.0)
    )
    with pytest.raises(InvalidArgument, match="key"):
        infer_threshold(scores, 0.9, key="kl")


@pytest.mark.parametrize("q", [0, 1, 1.5, -0.1, float("nan")])
def test_infer_threshold_refuses_a_quantile_outside_0_1(q):
    with pytest.raises(ValueError, match="quantile"):
        infer_threshold(np.arange(10.0), q)


def test_infer_threshold_refuses_no_or_nonfinite_scores():
    for values in (np.array([]), np.array([1.0, np.inf])):
        with pytest.raises(ValueError, match="finite"):
            infer_threshold(values, 0.5)


# -- a run's model and data as `score` reads them ------------------------------


def test_score_of_a_model_file_and_a_spec(tiny_model_path, tiny_model, digits_x):
    """The digits by name, binarized as the run trained, with their labels
    and their rows; the values are `scores_of` the binary images."""
    frame = vaekit.score(tiny_model_path, "digits", iw_samples=2, seed=3)
    assert list(frame.columns) == ["index", "label", *SCORES]
    assert frame.attrs == {
        "iw_samples": 2,
        "threshold": None,
        "threshold_source": None,
        "split": "all",
        "binarize": "dynamic",
        "not_finite": 0,
    }
    assert len(frame) == 1797
    np.testing.assert_array_equal(frame["index"], np.arange(1797))
    np.testing.assert_array_equal(frame["label"], data_lib.load("digits").y_train)
    x = np.random.default_rng(3).random(digits_x.shape, dtype=np.float32) < digits_x
    expected = scores_of(tiny_model, x.astype(np.float32), iw_samples=2, seed=3)
    for key in SCORES:
        np.testing.assert_allclose(frame[key], expected[key], rtol=1e-6)


def test_threshold_quantile_of_the_runs_stored_scores(tiny_run, tiny_model_path):
    stored = runs.read_train_scores(tiny_run)
    frame = score(tiny_model_path, "digits", threshold_quantile=0.9)
    threshold = np.quantile(stored["neg_log_likelihood"], 0.9)
    assert frame.attrs["threshold"] == pytest.approx(threshold)
    assert frame.attrs["threshold_source"] == "quantile"
    assert frame.attrs["iw_samples"] == stored["iw_samples"] == 5  # the run's k
    np.testing.assert_array_equal(
        frame["is_outlier"], frame["neg_log_likelihood"] > threshold
    )
    # About a tenth of data like the training data is flagged.
    assert 0.03 < frame["is_outlier"].mean() < 0.3
    # On another score, its own quantile; a given k wins over the run's.
    by_elbo = score(
        tiny_model_path,
        "digits",
        iw_samples=2,
        threshold_quantile=0.5,
        threshold_on="neg_elbo",
    )
    assert by_elbo.attrs["iw_samples"] == 2
    assert by_elbo.attrs["threshold"] == pytest.approx(
        np.quantile(stored["neg_elbo"], 0.5)
    )


def test_threshold_quantile_needs_stored_scores(tiny_model_path, tmp_path):
    bare = tmp_path / "model.keras"  # no run folder around it
    shutil.copy(tiny_model_path, bare)
    with pytest.raises(RunFolderError, match="no stored training scores"):
        score(bare, "digits", threshold_quantile=0.9)


def test_score_of_a_table_with_missing_rows_dropped(table_run, table_csv):
    """A DataFrame with a missing value: with missing="drop" that row is
    left out and the others keep their places in `index`; the labels are
    the class names as the table has them."""
    model = f"{table_run}/model.keras"
    frame = pd.read_csv(table_csv)
    frame.loc[4, "age"] = np.nan
    with pytest.warns(vaekit.VaekitWarning, match="dropped 1 of 60 rows"):
        scored = score(model, frame, iw_samples=2, label_column="kind", missing="drop")
    assert list(scored.columns) == ["index", "label", *SCORES]
    assert list(scored["index"]) == [i for i in range(60) if i != 4]
    np.testing.assert_array_equal(scored["label"], frame["kind"].drop(index=4))
    assert np.isfinite(scored[list(SCORES)].to_numpy()).all()
    assert scored.attrs["binarize"] == "none"  # the tabular preset's
    # The same rows without the broken one score the same.
    rest = score(model, frame.drop(index=4), iw_samples=2, label_column="kind")
    for key in SCORES:
        np.testing.assert_allclose(scored[key], rest[key], rtol=1e-6)


# -- the tiny digits model -------------------------------------------------------


def _auroc(negatives, positives):
    """P(positive score > negative score), ties halved (Mann-Whitney U)."""
    ranks = stats.rankdata(np.concatenate([negatives, positives]))
    n, m = len(negatives), len(positives)
    return (ranks[n:].sum() - m * (m + 1) / 2) / (n * m)


def test_auroc_against_exact_pairs():
    assert _auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert _auroc(np.array([0.0, 2.0]), np.array([1.0, 3.0])) == 0.75
    assert _auroc(np.array([1.0]), np.array([1.0])) == 0.5


def test_noise_images_score_above_held_out_digits(tiny_run, tiny_model):
    config = runs.resume_config(tiny_run)
    splits = data_lib.split_for_training(
        data_lib.load("digits"),
        config.likelihood,
        config.binarize,
        config.validation_split,
        config.seed,
    )
    x_val, _ = splits.validation  # binarized held-out digits
    assert len(x_val) == 180
    rng = np.random.default_rng(0)
    noise = data_lib.binarize(rng.random(x_val.shape).astype("float32"), 1)
    normal = scores_of(tiny_model, x_val, iw_samples=5)
    odd = scores_of(tiny_model, noise, iw_samples=5)
    for key in SCORES:
        assert _auroc(normal[key], odd[key]) > 0.9, key
