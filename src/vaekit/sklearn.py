"""scikit-learn estimators: a VAE as an outlier detector and as a
transformer, for tables (pandas DataFrames, text columns included) and
arrays, inside `Pipeline`, `GridSearchCV`, `clone` and `joblib`.

Each trains the recipe of a preset, as `vaekit train --preset NAME` does:
`VAEOutlierDetector` the `tabular` one, `VAETransformer` `tabular-synthesis`
(the same, fitted more closely); a parameter left at None takes the
preset's value. They train on every row given to `fit`.

`VAEOutlierDetector` follows scikit-learn's detectors (`IsolationForest`):
`score_samples` is higher for more normal rows (the importance-weighted
estimate of log p(x), in nats), `decision_function` is negative for
outliers, `predict` gives 1 for inliers and -1 for the `contamination`
fraction of the training rows that score lowest. A row's importance
samples are seeded by `seed` and the row's values: a row gets the same
score whatever rows it is scored with, in whatever order.

In a notebook: `verbose=1` shows Keras' progress bar; `fit` returns the
estimator; its `repr` shows the preset's values in place of the
parameters left at None (it evaluates to an estimator that trains the same
recipe); `VAEOutlierDetector.plot_scores` and `plot_latent` draw the scores
with the threshold and the codes coloured by the flag.
"""

import math
import os
import tempfile

import keras
import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from vaekit import config as config_lib
from vaekit.data.tables import is_frame
from vaekit.evaluation.rowwise import in_fixed_batches, row_log_likelihood
from vaekit.model.saving import load_model
from vaekit.training.batches import TrainingBatches, passes_per_epoch
from vaekit.training.build import build_model

__all__ = ["VAEOutlierDetector", "VAETransformer"]

# The settings an estimator's parameters name, as Config fields.
_SETTINGS = (
    "latent_dim", "hidden_dims", "epochs", "batch_size", "learning_rate",
    "beta", "likelihood", "decoder_std", "decoder_df",
)  # fmt: skip


# The parameters both estimators take (the preset's settings, then these).
_SHARED = (*_SETTINGS, "preset", "seed", "verbose", "jit_compile")


class _VAEEstimator(BaseEstimator):
    """What both estimators share: the parameters, checking the input,
    training the model, and pickling it with its weights. Its parameters
    are `VAETransformer`'s (`VAEOutlierDetector` adds its own and trains
    the `tabular` preset)."""

    def __init__(
        self,
        latent_dim=None,
        hidden_dims=None,
        epochs=None,
        batch_size=None,
        learning_rate=None,
        beta=None,
        likelihood=None,
        decoder_std=None,
        decoder_df=None,
        preset="tabular-synthesis",
        seed=0,
        verbose=0,
        jit_compile="auto",
    ):
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.beta = beta
        self.likelihood = likelihood
        self.decoder_std = decoder_std
        self.decoder_df = decoder_df
        self.preset = preset
        self.seed = seed
        self.verbose = verbose
        self.jit_compile = jit_compile

    def __repr__(self, N_CHAR_MAX=700):
        """Every parameter, those left at None shown with the preset's
        value (`VAEOutlierDetector()` shows its `latent_dim`, `epochs`,
        ...)."""
        from sklearn import config_context

        params = self.get_params(deep=False)
        try:
            config = self._config()
        except ValueError:  # an invalid parameter: show what was given
            config = None
        if config is not None:
            for name in _SETTINGS:
                if params[name] is None:
                    value = getattr(config, name)
                    params[name] = tuple(value) if name == "hidden_dims" else value
        with config_context(print_changed_only=False):
            return BaseEstimator.__repr__(type(self)(**params), N_CHAR_MAX)

    def _config(self):
        """The preset's settings with the parameters that are set."""
        overrides = {name: getattr(self, name) for name in _SETTINGS}
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if "hidden_dims" in overrides:
            overrides["hidden_dims"] = [int(d) for d in overrides["hidden_dims"]]
        overrides["seed"] = self.seed
        return config_lib.resolve(preset=self.preset, overrides=overrides)

    def _input(self, X, reset):
        """`X` as the model takes it: a DataFrame with text columns as it is
        (its names checked), anything else validated as a float array.
        Training needs two rows at least, anything else one."""
        minimum = 2 if reset else 1
        if is_frame(X) and not all(
            getattr(dtype, "kind", "O") in "biuf" for dtype in X.dtypes
        ):
            names = np.asarray([str(c) for c in X.columns], dtype=object)
            if reset:
                self.feature_names_in_ = names
                self.n_features_in_ = len(names)
            elif list(names) != list(self.feature_names_in_):
                raise ValueError(
                    "The feature names should match those that were passed "
                    f"during fit: {list(self.feature_names_in_)}; got {list(names)}"
                )
            if len(X) < minimum:
                raise ValueError(
                    f"Found {len(X)} row(s); a minimum of {minimum} is required."
                )
            return X
        return validate_data(
            self, X, reset=reset, dtype=np.float32, ensure_min_samples=minimum
        )

    def _fit_model(self, X):
        X = self._input(X, reset=True)
        config = self._config().for_rows(len(X))
        batch_size = min(config.batch_size, len(X))
        steps = math.ceil(len(X) / batch_size)
        model = build_model(
            config, X, steps_per_epoch=steps, jit_compile=self.jit_compile
        )
        # On JAX every batch is padded to `batch_size` with rows of weight 0:
        # the ragged last one costs no second XLA compilation of the step
        # (0.9 s of a 2.9 s fit of 150 rows), and its loss is its real rows'.
        # (TensorFlow's dataset adapter cannot carry `(x, None, weight)`.)
        # Without a progress bar to show, a tiny table's passes are grouped
        # into Keras epochs of up to 64 steps: less of Keras' per-epoch work
        # (0.4 s of a 2.4 s fit of 150 rows).
        pad = batch_size if keras.backend.backend() == "jax" else None
        passes = 1 if self.verbose else passes_per_epoch(config.epochs, steps)
        x = model.as_array(X)
        batches = TrainingBatches(x, batch_size, seed=config.seed, pad_to=pad, passes=passes)  # fmt: skip
        epochs = config.epochs // passes
        model.fit(batches, epochs=epochs, shuffle=False, verbose=self.verbose)
        self.model_, self.latent_dim_ = model, model.latent_dim
        self._frame = is_frame(X)
        return X

    def _outputs(self, rows):
        """Rows in the data's units: a DataFrame for a model of a table
        given as one, else a float64 array."""
        if self._frame:
            return self.model_.to_frame(rows)
        return np.asarray(rows, np.float64).reshape(len(rows), -1)

    def __getstate__(self):
        state = dict(self.__dict__)
        if "model_" in state:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.keras")
                state["model_"].save(path)
                with open(path, "rb") as handle:
                    state["model_"] = handle.read()
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.keras")
                with open(path, "wb") as handle:
                    handle.write(state["model_"])
                state["model_"] = load_model(path)
        self.__dict__.update(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


class VAEOutlierDetector(OutlierMixin, _VAEEstimator):
    """Anomaly detection by a VAE's log-likelihood, as a scikit-learn
    outlier detector.

    Args:
        contamination: The fraction of the training rows taken as outliers,
            in (0, 0.5]: the threshold is that quantile of their scores.
        iw_samples: Importance samples per row of the log-likelihood.
        latent_dim, hidden_dims, epochs, batch_size, learning_rate, beta,
            likelihood, decoder_std, decoder_df: The model and its
            training (the `vaekit train` settings of those names); None
            takes the preset's value.
        preset: The recipe the other parameters start from.
        seed: Seed of the weights, the batches and the importance samples.
        verbose: Keras' `fit` verbosity (1: its progress bar, in a
            notebook too).
        jit_compile: Keras' `compile` argument: False saves compiling the
            training step, which is sooner for a few hundred rows.

    Attributes:
        model_: The trained `vaekit.VAE`.
        offset_: `decision_function = score_samples - offset_`.
        threshold_: The anomaly score (`-log p(x)`, nats) above which a row
            is an outlier: `-offset_`.
        training_scores_: The anomaly scores of the training rows.
    """

    def __init__(
        self,
        contamination=0.1,
        iw_samples=100,
        latent_dim=None,
        hidden_dims=None,
        epochs=None,
        batch_size=None,
        learning_rate=None,
        beta=None,
        likelihood=None,
        decoder_std=None,
        decoder_df=None,
        preset="tabular",
        seed=0,
        verbose=0,
        jit_compile="auto",
    ):
        super().__init__(**{k: v for k, v in locals().items() if k in _SHARED})
        self.contamination = contamination
        self.iw_samples = iw_samples

    def fit(self, X, y=None):
        """Trains the model on `X` (y is ignored) and sets the threshold."""
        if not 0 < self.contamination <= 0.5:
            raise ValueError(
                f"contamination must be in (0, 0.5]; got {self.contamination!r}"
            )
        X = self._fit_model(X)
        scores = self._log_likelihood(X)
        self.offset_ = float(np.percentile(scores, 100 * self.contamination))
        self.threshold_ = -self.offset_
        self.training_scores_ = -scores
        return self

    def _log_likelihood(self, X):
        model = self.model_
        return row_log_likelihood(model, model.as_array(X), self.iw_samples, self.seed)

    def score_samples(self, X):
        """log p(x) of each row (nats): lower is more anomalous."""
        check_is_fitted(self)
        return self._log_likelihood(self._input(X, reset=False))

    def score(self, X, y=None):
        """The mean log p(x) of the rows of `X` (nats; higher is better), as
        `GridSearchCV` scores an estimator without a `scoring`."""
        return float(np.mean(self.score_samples(X)))

    def feature_scores(self, X):
        """Why each row scores as it does: each feature's part of its
        reconstruction term, `-E_q(z|x)[log p(x_j|z)]` in nats (higher: the
        row is less like the training data in that column; see
        `vaekit.evaluation.feature_scores`), estimated with `iw_samples`
        draws. A DataFrame with the columns of `X` for a model fitted on a
        DataFrame with text columns, else an array `(n_samples,
        n_features_in_)`."""
        from vaekit.evaluation import feature_scores

        check_is_fitted(self)
        X = self._input(X, reset=False)
        values = feature_scores(
            self.model_, self.model_.as_array(X), int(self.iw_samples), self.seed
        )
        if self._frame:
            import pandas as pd

            return pd.DataFrame(values, columns=list(self.feature_names_in_))
        return values

    def decision_function(self, X):
        """`score_samples(X) - offset_`: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """1 for an inlier, -1 for an outlier."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def plot_scores(self, X=None, ax=None):
        """A histogram of the anomaly scores (`-score_samples`) of the rows
        of `X` (default: the training rows) with the threshold; on `ax` if
        given. Returns the matplotlib figure."""
        from vaekit.viz import score_histogram

        check_is_fitted(self)
        scores = self.training_scores_ if X is None else -self.score_samples(X)
        rows = "training rows" if X is None else "rows"
        return score_histogram(
            scores,
            self.threshold_,
            ax=ax,
            title=f"Anomaly scores of {len(scores)} {rows}; threshold "
            f"{self.threshold_:.4g} (contamination {self.contamination:g})",
        )

    def plot_latent(self, X, ax=None):
        """The code of each row of `X` (its posterior mean), outliers in
        red; on `ax` if given. Returns the matplotlib figure."""
        from vaekit.viz import flagged_latent_scatter

        check_is_fitted(self)
        X = self._input(X, reset=False)
        codes = in_fixed_batches(
            self.model_.as_array(X), lambda rows: self.model_.encode(rows)[0]
        )
        return flagged_latent_scatter(codes, self.predict(X) == -1, ax=ax)


class VAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _VAEEstimator):
    """A VAE as a scikit-learn transformer: `transform` gives each row's
    code (the posterior mean, `latent_dim` columns), `inverse_transform`
    decodes codes into rows, `sample` draws new rows from the prior.

    Args: as `VAEOutlierDetector`'s, without `contamination` and
    `iw_samples`; its `preset` is `"tabular-synthesis"`, the `tabular`
    recipe fitted more closely (Adam at 1e-3): a generator should fit the
    rows as closely as it can, a detector not so closely that it learns a
    cluster of anomalies among them as normal.

    Attributes:
        model_: The trained `vaekit.VAE`.
    """

    def fit(self, X, y=None):
        """Trains the model on `X` (y is ignored)."""
        self._fit_model(X)
        self._n_features_out = self.latent_dim_
        return self

    def transform(self, X):
        """The code of each row, `(n, latent_dim)` float64."""
        check_is_fitted(self)
        x = self.model_.as_array(self._input(X, reset=False))
        return in_fixed_batches(x, lambda rows: self.model_.encode(rows)[0])

    def inverse_transform(self, X):
        """Codes `(n, latent_dim)` decoded: the mean of p(x|z), in the
        data's units (a DataFrame for a model fitted on one)."""
        check_is_fitted(self)
        z = np.asarray(X, np.float32).reshape(-1, self.latent_dim_)
        return self._outputs(np.asarray(self.model_.decode(z)))

    def sample(self, n=1, seed=None, draw=True):
        """`n` new rows: codes drawn from the prior, decoded by a draw from
        p(x|z) (numbers within their training range, whole-number columns
        rounded, categories drawn from their probabilities; `draw=False`:
        the mean of p(x|z)); `seed` defaults to the estimator's."""
        check_is_fitted(self)
        seed = self.seed if seed is None else seed
        rows = self.model_.sample(n, seed=seed, draw=draw)
        return self._outputs(np.asarray(rows))
