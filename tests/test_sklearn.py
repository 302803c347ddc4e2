"""vaekit.sklearn: the VAE as a scikit-learn outlier detector and
transformer, judged by scikit-learn's own estimator checks, and used as a
notebook would: a DataFrame with text columns through a Pipeline,
GridSearchCV, joblib."""

import io as _io

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import estimator_checks_generator

from vaekit import config as config_lib
from vaekit.sklearn import VAEOutlierDetector, VAETransformer

# Small and quick: scikit-learn's checks fit dozens of times, each on data of
# a new shape. The detector's step compiled whole costs about 1 s a shape;
# run eagerly, its trimming and importance weights compile op by op, 4-9 s a
# shape. The transformer's eager step is the quicker (0.25 s against 1.1 s).
QUICK = {"epochs": 2, "hidden_dims": (8,), "latent_dim": 2}
EAGER = {**QUICK, "jit_compile": False}


def _checks():
    """scikit-learn's checks of both estimators, less the array-API one:
    the estimators take numpy arrays and DataFrames (Keras converts
    them), not other array namespaces, and that check skips itself unless
    SCIPY_ARRAY_API is set before scipy is imported."""
    for estimator in (
        VAEOutlierDetector(iw_samples=5, **QUICK),
        VAETransformer(**EAGER),
    ):
        for est, check in estimator_checks_generator(estimator):
            name = getattr(check, "func", check).__name__
            if name != "check_array_api_input":
                yield pytest.param(est, check, id=f"{type(est).__name__}-{name}")


@pytest.mark.parametrize("estimator, check", list(_checks()))
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def frame(n=120, seed=0, outliers=0):
    """A mixed table: two numeric columns, an integer one and a text one;
    the last `outliers` rows far out."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    table = pd.DataFrame(
        {
            "a": a,
            "b": 2 * a + 0.1 * rng.normal(size=n),
            "count": rng.integers(0, 5, size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
        }
    )
    if outliers:
        table.loc[n - outliers :, "b"] = 40.0
    return table


def test_defaults_are_the_tabular_preset():
    detector = VAEOutlierDetector()
    tabular = config_lib.resolve(preset="tabular")
    assert detector._config() == tabular.replace(seed=0)
    assert VAETransformer(latent_dim=3)._config().latent_dim == 3
    # The transformer's recipe is tabular's fitted more closely.
    synthesis = config_lib.resolve(preset="tabular-synthesis")
    assert VAETransformer()._config() == synthesis.replace(seed=0)
    assert synthesis == tabular.replace(learning_rate=1e-3)


@pytest.mark.parametrize("verbose", [0, 1])
def test_fit_takes_every_step_of_the_recipe_grouped_or_not(verbose, capsys):
    """Without a progress bar, a tiny table's passes are grouped into fewer
    Keras epochs: the same number of optimizer steps as one pass an epoch."""
    x = np.random.default_rng(0).normal(size=(20, 3))
    transformer = VAETransformer(**EAGER, batch_size=8, verbose=verbose)
    transformer.set_params(epochs=6).fit(x)
    assert int(transformer.model_.optimizer.iterations.numpy()) == 6 * 3
    assert len(transformer.model_.history.epoch) == (6 if verbose else 1)
    assert ("Epoch 6/6" in capsys.readouterr().out) == bool(verbose)


def test_a_dataframe_with_text_columns_in_a_pipeline():
    """A DataFrame in (numbers, integers, text), scores out with no NaN;
    the far rows score lowest and are the ones predicted -1."""
    train = frame(200, outliers=0)
    test = frame(60, seed=1, outliers=3)
    detector = VAEOutlierDetector(contamination=0.05, iw_samples=20, epochs=30)
    detector.fit(train)
    scores = detector.score_samples(test)
    assert scores.shape == (60,) and np.isfinite(scores).all()
    assert set(np.argsort(scores)[:3]) == {57, 58, 59}
    assert (detector.predict(test)[57:] == -1).all()
    np.testing.assert_allclose(
        detector.decision_function(test), scores - detector.offset_
    )
    assert detector.threshold_ == -detector.offset_
    # A row's score does not depend on the rows it is scored with.
    np.testing.assert_array_equal(
        detector.score_samples(test.iloc[[59, 3]]), scores[[59, 3]]
    )
    # Why: the far rows' column `b` carries most of their score.
    parts = detector.feature_scores(test)
    assert list(parts.columns) == ["a", "b", "count", "colour"]
    assert (parts.iloc[57:].idxmax(axis=1) == "b").all()
    arrays = VAEOutlierDetector(iw_samples=5, **QUICK).fit(train[["a", "b"]].values)
    assert arrays.feature_scores(test[["a", "b"]].values).shape == (60, 2)
    # The transformer gives codes a pipeline can use downstream.
    pipeline = make_pipeline(
        VAETransformer(latent_dim=2, epochs=5),
        VAEOutlierDetector(epochs=5, iw_samples=5),
    )
    pipeline.fit(train)
    assert np.isfinite(pipeline.score_samples(test)).all()


def test_grid_search_and_joblib():
    """GridSearchCV picks by `score` (mean log p(x) of held-out rows); a
    fitted detector dumped and loaded with joblib scores the same."""
    train = frame(150)
    search = GridSearchCV(
        VAEOutlierDetector(epochs=3, iw_samples=5),
        {"latent_dim": [1, 2]},
        cv=2,
    )
    search.fit(train)
    assert search.best_params_["latent_dim"] in (1, 2)
    detector = search.best_estimator_
    buffer = _io.BytesIO()
    joblib.dump(detector, buffer)
    buffer.seek(0)
    again = joblib.load(buffer)
    np.testing.assert_array_equal(
        again.score_samples(train), detector.score_samples(train)
    )


def test_transformer_round_trip_and_frames():
    train = frame(100)
    transformer = VAETransformer(latent_dim=2, epochs=5, jit_compile=False).fit(train)
    z = transformer.transform(train)
    assert z.shape == (100, 2) and z.dtype == np.float64
    assert list(transformer.get_feature_names_out()) == [
        "vaetransformer0",
        "vaetransformer1",
    ]
    back = transformer.inverse_transform(z)
    assert isinstance(back, pd.DataFrame) and list(back.columns) == list(train.columns)
    assert set(back["colour"]) <= {"red", "green", "blue"}
    with pytest.raises(ValueError):
        VAEOutlierDetector(contamination=0.9, **QUICK).fit(train)


def test_transformer_samples_rows_like_the_frame():
    train = frame(100)
    transformer = VAETransformer(**{**EAGER, "epochs": 5}).fit(train)
    rows = transformer.sample(300, seed=1)
    assert list(rows.columns) == list(train.columns)
    # Drawn from p(x|z): integers whole and in range, categories drawn.
    assert rows["count"].dtype == np.int64
    assert rows["count"].between(train["count"].min(), train["count"].max()).all()
    # (within the range as the model holds it, in float32: a draw clipped
    # to it can be one float32 rounding outside the float64 frame's)
    low, high = np.float32(train.a.min()), np.float32(train.a.max())
    assert rows["a"].between(low, high).all()
    assert set(rows["colour"]) == {"red", "green", "blue"}
    pd.testing.assert_frame_equal(rows, transformer.sample(300, seed=1))
    means = transformer.sample(300, seed=1, draw=False)
    assert not (means["count"] == means["count"].round()).all()


def test_repr_shows_the_recipe_and_rebuilds_it():
    detector = VAEOutlierDetector(latent_dim=3)
    text = repr(detector)
    tabular = config_lib.resolve(preset="tabular")
    assert text.startswith("VAEOutlierDetector(")
    for name, value in (
        ("latent_dim", 3),
        ("hidden_dims", tuple(tabular.hidden_dims)),
        ("epochs", tabular.epochs),
        ("batch_size", tabular.batch_size),
        ("learning_rate", tabular.learning_rate),
        ("decoder_std", tabular.decoder_std),
        ("decoder_df", tabular.decoder_df),
        ("contamination", 0.1),
    ):
        assert f"{name}={value!r}" in text, (name, text)
    rebuilt = eval(text)  # the repr is the recipe: it trains the same model
    assert rebuilt._config() == detector._config()
    # The estimator's own parameters are left as given (None: the preset's).
    assert detector.get_params()["epochs"] is None
    assert "VAETransformer(" in repr(make_pipeline(VAETransformer(), detector))


def test_plots_of_the_scores_and_the_codes():
    import matplotlib.figure

    train = frame(120, outliers=4)
    detector = VAEOutlierDetector(iw_samples=5, **{**QUICK, "epochs": 20})
    assert detector.fit(train) is detector
    np.testing.assert_allclose(
        detector.training_scores_, -detector.score_samples(train)
    )
    figure = detector.plot_scores()
    assert isinstance(figure, matplotlib.figure.Figure)
    ax = figure.axes[0]
    assert "threshold" in ax.get_title() and "120 training rows" in ax.get_title()
    (line,) = ax.get_lines()
    assert line.get_xdata()[0] == pytest.approx(detector.threshold_)
    assert sum(p.get_height() for p in ax.patches) == 120
    # New rows, drawn on the caller's axes.
    own = matplotlib.figure.Figure().add_subplot()
    assert detector.plot_scores(train.iloc[:30], ax=own) is own.figure
    assert sum(p.get_height() for p in own.patches) == 30
    scatter = detector.plot_latent(train)
    (inliers, outliers) = scatter.axes[0].collections
    flags = detector.predict(train) == -1
    assert len(outliers.get_offsets()) == flags.sum() > 0
    assert len(inliers.get_offsets()) == (~flags).sum()
    codes = detector.model_.encode(detector.model_.as_array(train))[0]
    np.testing.assert_allclose(
        outliers.get_offsets(), codes[flags], rtol=1e-5, atol=1e-5
    )
