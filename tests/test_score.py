"""vaekit.evaluation.scores and `vaekit score`: per-example anomaly scores.

The per-example values are checked three ways: their means are
`vaekit.evaluation.likelihood.evaluate`'s figures; for a linear-Gaussian model the
negative ELBO is checked against its closed form (numpy) and the
reconstruction error exactly; and a VAE trained on digits must rank uniform
noise images above held-out digits.
"""

import csv
import pathlib
import shutil

import keras
import numpy as np
import pytest
from scipy import stats

from vaekit import data as data_lib
from vaekit import runs
from vaekit.cli.main import main
from vaekit.config import Config
from vaekit.evaluation.likelihood import evaluate
from vaekit.evaluation.scores import SCORES, infer_threshold, score
from vaekit.model.vae import VAE
from vaekit.training.train import EVAL_SEED, prepare, train

D, L, SIGMA = 5, 2, 0.5


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

    def vae(self):
        x_in = keras.Input((D,))
        encoder = keras.Model(
            x_in,
            [
                keras.layers.Dense(L, name="z_mean")(x_in),
                keras.layers.Dense(L, name="z_log_var")(x_in),
            ],
        )
        encoder.get_layer("z_mean").set_weights([self.A.T, self.c])
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
    scores = score(linear_vae, linear.x, iw_samples=k, seed=seed)
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


def test_scores_do_not_depend_on_the_memory_budget(linear, linear_vae):
    """Chunks of one example and a few samples give the same values."""
    big = score(linear_vae, linear.x, iw_samples=7, seed=1)
    small = score(linear_vae, linear.x, iw_samples=7, seed=1, max_memory=2000)
    np.testing.assert_allclose(
        small["reconstruction_error"], big["reconstruction_error"], rtol=1e-6
    )
    # Other chunks draw other samples: equal within Monte Carlo error.
    for key in ("neg_elbo", "neg_log_likelihood"):
        assert small[key].mean() == pytest.approx(big[key].mean(), rel=0.1)


def test_neg_elbo_matches_the_closed_form_per_example(linear, linear_vae):
    k = 4000
    scores = score(linear_vae, linear.x, iw_samples=k, seed=0)
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
    scores = score(linear_vae, linear.x, iw_samples=1, batch_size=7)
    x_hat = linear.mean(linear.x) @ linear.W.T + linear.b
    expected = ((linear.x - x_hat) ** 2).mean(axis=1)
    np.testing.assert_allclose(scores["reconstruction_error"], expected, rtol=1e-5)


def test_threshold_flags_scores_above_it(linear, linear_vae):
    plain = score(linear_vae, linear.x, iw_samples=5)
    t = float(np.median(plain["neg_log_likelihood"]))
    flagged = score(linear_vae, linear.x, iw_samples=5, threshold=t)
    np.testing.assert_array_equal(
        flagged["is_outlier"], plain["neg_log_likelihood"] > t
    )
    assert flagged["is_outlier"].dtype == bool
    assert flagged["is_outlier"].sum() == len(linear.x) // 2
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


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": 1.0, "threshold_on": "kl"}, "threshold_on"),
        ({"iw_samples": 0}, "iw_samples"),
    ],
)
def test_bad_settings_are_refused(linear, linear_vae, kwargs, match):
    with pytest.raises(ValueError, match=match):
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


@pytest.mark.parametrize("q", [0, 1, 1.5, -0.1, float("nan")])
def test_infer_threshold_refuses_a_quantile_outside_0_1(q):
    with pytest.raises(ValueError, match="quantile"):
        infer_threshold(np.arange(10.0), q)


def test_infer_threshold_refuses_no_or_nonfinite_scores():
    for values in (np.array([]), np.array([1.0, np.inf])):
        with pytest.raises(ValueError, match="finite"):
            infer_threshold(values, 0.5)


# -- a VAE trained on digits -------------------------------------------------


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    config = Config(
        data="digits",
        epochs=5,
        hidden_dims=(64,),
        latent_dim=4,
        batch_size=64,
        validation_split=0.2,
        eval_iw_samples=10,
        lr_schedule="constant",
    )
    run, _ = train(config, output=tmp_path_factory.mktemp("score") / "RUN", verbose=0)
    return config, pathlib.Path(run), runs.load_model(run)


def _auroc(negatives, positives):
    """P(positive score > negative score), ties halved (Mann-Whitney U)."""
    ranks = stats.rankdata(np.concatenate([negatives, positives]))
    n, m = len(negatives), len(positives)
    return (ranks[n:].sum() - m * (m + 1) / 2) / (n * m)


def test_auroc_against_exact_pairs():
    assert _auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert _auroc(np.array([0.0, 2.0]), np.array([1.0, 3.0])) == 0.75
    assert _auroc(np.array([1.0]), np.array([1.0])) == 0.5


def test_noise_images_score_above_held_out_digits(digits_run):
    config, _, model = digits_run
    dataset = data_lib.load("digits")
    _, (x_val, _), _ = prepare(dataset, config)  # binarized held-out digits
    rng = np.random.default_rng(0)
    noise = data_lib.binarize(rng.random(x_val.shape).astype("float32"), 1)
    normal = score(model, x_val, iw_samples=20)
    odd = score(model, noise, iw_samples=20)
    for key in SCORES:
        assert _auroc(normal[key], odd[key]) > 0.9, key


def test_train_stores_the_training_splits_scores(digits_run):
    config, run, model = digits_run
    stored = runs.read_train_scores(run)
    k = min(config.eval_iw_samples, 100)
    assert stored["iw_samples"] == k
    (x_train, _), _, _ = prepare(data_lib.load("digits"), config)
    x_train = data_lib.binarize(x_train, EVAL_SEED)  # dynamic: as score does
    assert len(stored["neg_log_likelihood"]) == len(x_train)
    np.testing.assert_array_equal(stored["train_rows"], np.arange(len(x_train)))
    again = score(model, x_train, iw_samples=k, seed=EVAL_SEED)
    for key in SCORES:
        np.testing.assert_allclose(stored[key], again[key], rtol=1e-6)


def test_train_scores_a_sample_of_larger_data(tmp_path, monkeypatch):
    from vaekit.training import train as train_lib

    monkeypatch.setattr(train_lib, "TRAIN_SCORES_MAX_ROWS", 100)
    config = Config(data="digits", epochs=1, hidden_dims=(16,), latent_dim=2)
    config = config.replace(eval_iw_samples=5, validation_split=0.1)
    run, _ = train(config, output=tmp_path / "RUN", verbose=0)
    stored = runs.read_train_scores(run)
    rows = stored["train_rows"]
    assert len(rows) == 100 and len(np.unique(rows)) == 100
    assert np.all(np.diff(rows) > 0)
    (x_train, _), _, _ = prepare(data_lib.load("digits"), config)
    assert rows[-1] < len(x_train) and rows[-1] > len(x_train) // 2
    x = data_lib.binarize(x_train[rows], EVAL_SEED)
    again = score(runs.load_model(run), x, iw_samples=5, seed=EVAL_SEED)
    for key in SCORES:
        np.testing.assert_allclose(stored[key], again[key], rtol=1e-6)


def test_read_train_scores_of_a_folder_without_them(tmp_path):
    from vaekit import VaekitError

    with pytest.raises(VaekitError, match="--threshold"):
        runs.read_train_scores(tmp_path)
    (tmp_path / runs.TRAIN_SCORES).write_bytes(b"not a zip")
    with pytest.raises(VaekitError, match="cannot be read"):
        runs.read_train_scores(tmp_path)


# -- vaekit score ------------------------------------------------------------


def _read_csv(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], np.array(rows[1:], dtype=np.float64)


def test_score_command_writes_one_row_per_input_in_order(digits_run, tmp_path, capsys):
    config, run, model = digits_run
    out = tmp_path / "scores.csv"
    argv = ["score", str(run / runs.MODEL), "--data", "digits", "--split", "all"]
    argv += ["--output", str(out), "--threshold-quantile", "0.9"]
    assert main(argv) == 0
    header, table = _read_csv(out)
    assert header == ["index", "label", *SCORES, "is_outlier"]
    dataset = data_lib.load("digits")
    n = len(dataset.x_train)
    assert len(table) == n
    np.testing.assert_array_equal(table[:, 0], np.arange(n))
    np.testing.assert_array_equal(table[:, 1], dataset.y_train)
    # The library's values for the same rows, binarized as the run was.
    stored = runs.read_train_scores(run)
    x = data_lib.binarize(dataset.x_train.reshape(n, *model.data_shape), 0)
    expected = score(model, x, iw_samples=stored["iw_samples"], seed=0)
    for column, key in enumerate(SCORES, start=2):
        np.testing.assert_allclose(table[:, column], expected[key], rtol=1e-6)
    threshold = np.quantile(stored["neg_log_likelihood"], 0.9)
    np.testing.assert_array_equal(
        table[:, -1], expected["neg_log_likelihood"] > threshold
    )
    # About 10% of digits are flagged, like 10% of the training split.
    flagged = int(table[:, -1].sum())
    assert 0.05 * n < flagged < 0.2 * n
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0
    assert f"{n} rows" in line and f"{threshold:.3f}" in line
    assert f"{flagged} flagged" in line


def test_score_command_without_labels_or_threshold(digits_run, tmp_path):
    _, run, _ = digits_run
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).random((7, 64)).astype("float32"))
    out = tmp_path / "scores.csv"
    argv = ["score", str(run / runs.MODEL), "--data", str(data), "--iw-samples", "3"]
    assert main([*argv, "--output", str(out)]) == 0
    header, table = _read_csv(out)
    assert header == ["index", *SCORES]
    assert table.shape == (7, 4)


def test_score_command_with_a_fixed_threshold(digits_run, tmp_path, capsys):
    _, run, _ = digits_run
    out = tmp_path / "scores.csv"
    argv = ["score", str(run / runs.MODEL), "--data", "digits", "--iw-samples", "2"]
    assert main([*argv, "--threshold", "1e9", "--output", str(out)]) == 0
    header, table = _read_csv(out)
    assert header[-1] == "is_outlier" and not table[:, -1].any()
    assert "0 flagged" in capsys.readouterr().out


def test_score_command_bad_input_exits_2_and_writes_nothing(
    digits_run, tmp_path, monkeypatch, capsys
):
    _, run, _ = digits_run
    monkeypatch.chdir(tmp_path)
    model = str(run / runs.MODEL)
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(model, bare / runs.MODEL)  # no run folder around it
    cases = {
        "quantile 1": ([model, "--threshold-quantile", "1"], "--threshold-quantile"),
        "quantile 0": ([model, "--threshold-quantile", "0"], "--threshold-quantile"),
        "both": ([model, "--threshold-quantile", "0.9", "--threshold", "3"], "not"),
        "k 0": ([model, "--iw-samples", "0"], "--iw-samples"),
        "suffix": ([model, "--output", "scores.txt"], "suffix"),
        "missing model": (["nope/model.keras"], "does not exist"),
        "no stored scores": (
            [str(bare / runs.MODEL), "--threshold-quantile", "0.9"],
            "training scores",
        ),
    }
    for name, (args, match) in cases.items():
        argv = ["score", *args, "--data", "digits"]
        if "--output" not in args:
            argv += ["--output", "scores.csv"]
        assert main(argv) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("vaekit: error: ") and err.count("\n") == 1, name
        assert match in err, (name, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bare"], name
