"""Keras layers of vaekit: `Sampling` (the reparameterization trick) and
`DataTransform` (standardisation and one-hot columns inside the model).

The convolution layers of the conv networks are in `vaekit.model.conv`.
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

from vaekit import checks
from vaekit.errors import InvalidArgument
from vaekit.model.objectives import reparameterize

__all__ = ["DataTransform", "Sampling"]


@keras.saving.register_keras_serializable(package="vaekit")
class Sampling(keras.layers.Layer):
    """Draws ``z ~ N(z_mean, epsilon_std^2 * exp(z_log_var))``: the
    reparameterization trick (Kingma & Welling 2013, eq. 10).

    ``z = z_mean + exp(z_log_var / 2) * epsilon * epsilon_std`` with one
    ``epsilon ~ N(0, 1)`` per sample and latent unit, so each row of a batch
    gets its own noise (the tutorial drew one epsilon for the whole batch).

    Args:
        epsilon_std: Float >= 0, the standard deviation of epsilon, as in the
            tutorial. 1.0 samples the encoder's posterior exactly; 0 returns
            ``z_mean``.
        seed: Optional integer seed of the layer's own
            `keras.random.SeedGenerator`.

    Call arguments:
        inputs: A list ``[z_mean, z_log_var]`` of two tensors of the same
            shape ``(..., latent_dim)``.
        training: Ignored: the layer samples in training and inference alike,
            since a VAE's posterior draw is part of the model, not a
            regularizer.

    Returns:
        A tensor of the shape of ``z_mean``.

    Example:

    >>> z = Sampling(seed=0)([ops.zeros((4, 2)), ops.zeros((4, 2))])
    >>> tuple(z.shape)
    (4, 2)
    """

    def __init__(self, epsilon_std=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon_std, numbers.Real) and not isinstance(epsilon_std, bool):
            epsilon_std = float(epsilon_std)  # numpy scalars too
        checks.number(epsilon_std, "epsilon_std", minimum=0)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise checks.invalid("seed", "an integer or None", seed)
        self.epsilon_std = float(epsilon_std)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(
            ops.shape(z_mean),
            stddev=self.epsilon_std,
            dtype=z_mean.dtype,
            seed=self.seed_generator,
        )
        return reparameterize(z_mean, z_log_var, epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        base_config = super().get_config()
        config = {"epsilon_std": self.epsilon_std, "seed": self.seed}
        return {**base_config, **config}


@keras.saving.register_keras_serializable(package="vaekit")
class DataTransform(keras.layers.Layer):
    """Maps data in its own units to the space a Gaussian VAE models, and
    back: each numeric feature standardised, each categorical column
    one-hot.

    The numeric features are those along the last axis (a table's numeric
    columns; an image's channels), as `keras.layers.Normalization(axis=-1)`
    standardises them: `(x - mean) / scale`, where `adapt` sets `mean` and
    `scale` (the standard deviation) from the training data. A constant
    feature (standard deviation 0, or below `1e-7` of its magnitude, float32's
    rounding) gets
    scale 1, so nothing is divided by zero. Categorical columns (tables
    only) hold category indices `0..n-1` and become one-hot vectors (an index
    outside `0..n-1` becomes a vector of zeros, which `log_likelihood`
    cannot score: `vaekit.data.csvfile.read_csv` refuses unknown categories). The
    model's space is `[standardised numeric columns, one-hot blocks]`.

    The decoder's output has the shape of the model's space (`model_shape`):
    Gaussian means of the standardised numeric features, then one block of
    logits per categorical column (`split_params`).
    `vaekit.model.likelihoods.InDataUnits` scores data in its own units
    with it (`log_jacobian` is `-sum(log scale)`, per position of an
    image); `inverse` maps decoder outputs back to the data's units
    (numeric means, and each categorical column's most probable category).

    Args:
        data_shape: Shape of one example in the data's units: `(D,)` for a
            table, `(H, W, C)` for images.
        categorical: For tables: `[[column, n_categories], ...]`, the
            categorical columns and their number of categories (at least 2).
        column_names: Optional names of the `D` columns (kept for writing
            CSV files in the data's terms).
        category_names: Optional `[[name, ...], ...]`: the category strings
            of each categorical column, in the order of `categorical`.
        category_values: Optional `[values or None, ...]`, in the order of
            `categorical`: a column with values holds one of them (a
            number, one-hot by equality in float32: the classes of numeric
            labels) rather than a category index; its `inverse` gives the
            value.
        value_range: Optional `[[low, high], ...]`, one per numeric
            feature: the smallest and largest training value (`adapt` sets
            it). Draws from p(x|z) are kept within it
            (`vaekit.model.likelihoods.InDataUnits.sample`).
        integers: Optional `[bool, ...]`, one per numeric feature: True
            where every training value is a whole number (`adapt` sets it);
            draws of those features are rounded.

    Call arguments:
        inputs: Tensor of shape `(batch, *data_shape)`.

    Returns:
        Tensor of shape `(batch, *model_shape)`.

    Example:

    >>> transform = DataTransform((2,), categorical=[[1, 3]])
    >>> transform.adapt(np.array([[1.0, 0.0], [3.0, 2.0]]))
    >>> transform.model_shape
    (4,)
    """

    def __init__(
        self,
        data_shape,
        categorical=(),
        column_names=None,
        category_names=None,
        category_values=None,
        value_range=None,
        integers=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.data_shape = tuple(int(s) for s in data_shape)
        if len(self.data_shape) not in (1, 3):
            raise checks.invalid("data_shape", "(D,) or (H, W, C)", data_shape)
        self.categorical = [[int(c), int(n)] for c, n in categorical]
        width = self.data_shape[-1]
        columns = [c for c, _ in self.categorical]
        if self.categorical and len(self.data_shape) != 1:
            raise checks.invalid("categorical", "empty for images", categorical)
        if len(set(columns)) != len(columns) or any(
            not 0 <= c < width or n < 2 for c, n in self.categorical
        ):
            raise checks.invalid(
                "categorical",
                f"distinct columns in 0..{width - 1}, each with >= 2 categories",
                categorical,
            )
        self.column_names = None if column_names is None else list(column_names)
        self.category_names = (
            None if category_names is None else [list(c) for c in category_names]
        )
        self.category_values = _category_values(category_values, self.categorical)
        self.numeric = [c for c in range(width) if c not in set(columns)]
        self.numeric_shape = (*self.data_shape[:-1], len(self.numeric))
        self.value_range, self.integers = _value_bounds(
            value_range, integers, len(self.numeric)
        )
        one_hot = sum(n for _, n in self.categorical)
        self.model_shape = (*self.data_shape[:-1], len(self.numeric) + one_hot)
        # Positions per feature: the log-Jacobian counts each pixel of an image.
        self._positions = math.prod(self.data_shape[:-1])
        self.mean = self.add_weight(
            shape=(len(self.numeric),),
            initializer="zeros",
            trainable=False,
            name="mean",
        )
        self.scale = self.add_weight(
            shape=(len(self.numeric),),
            initializer="ones",
            trainable=False,
            name="scale",
        )
        # Column order of `inverse`'s output: numeric first, then categorical.
        order = self.numeric + columns
        self._inverse_order = [order.index(c) for c in range(width)]
        self.built = True

    def adapt(self, data):
        """Sets `mean` and `scale` from `data` (numpy, `(n, *data_shape)`):
        the mean and standard deviation of each numeric feature, in two
        passes over chunks of rows (a `vaekit.data.diskarray.DiskArray` is read a
        chunk at a time)."""
        if not hasattr(data, "shape"):
            data = np.asarray(data)
        if tuple(data.shape[1:]) != self.data_shape or len(data) == 0:
            raise InvalidArgument(
                f"Expected data of shape (n >= 1, *{self.data_shape}). Received: "
                f"shape={data.shape}"
            )
        if not self.numeric:
            return

        def chunks():
            for start in range(0, len(data), 8192):
                chunk = np.asarray(data[start : start + 8192], dtype=np.float64)
                yield chunk[..., self.numeric].reshape(-1, len(self.numeric))

        count = len(data) * math.prod(self.data_shape[:-1])
        # The first pass also keeps each feature's range and whether it is
        # whole numbers (for draws from p(x|z)).
        total, low, high, whole = 0.0, np.inf, -np.inf, True
        for chunk in chunks():
            total = total + chunk.sum(axis=0)
            low = np.minimum(low, chunk.min(axis=0))
            high = np.maximum(high, chunk.max(axis=0))
            whole = whole & np.all(chunk == np.round(chunk), axis=0)
        self.value_range = np.stack([low, high], axis=1).tolist()
        self.integers = [bool(w) for w in np.broadcast_to(whole, low.shape)]
        mean = total / count
        squares = sum(((chunk - mean) ** 2).sum(axis=0) for chunk in chunks())
        std = np.sqrt(squares / count)
        # Constant: no spread beyond float32's rounding of the values.
        constant = (std == 0) | (std <= 1e-7 * np.abs(mean))
        self.mean.assign(mean.astype("float32"))
        self.scale.assign(np.where(constant, 1.0, std).astype("float32"))

    def standardize(self, x):
        """The numeric features of `x` (data units), standardised."""
        if self.categorical:
            x = ops.take(x, np.asarray(self.numeric, dtype="int32"), axis=-1)
        return (x - self.mean) / self.scale

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        parts = [self.standardize(x)] if self.numeric else []
        for (column, n), values in zip(
            self.categorical,
            self.category_values or [None] * len(self.categorical),
            strict=True,
        ):
            if values is None:
                index = ops.cast(ops.round(x[:, column]), "int32")
                parts.append(ops.one_hot(index, n, dtype=x.dtype))
            else:  # one-hot by value, compared as float32 (as the data comes)
                cell = ops.cast(inputs[:, column : column + 1], "float32")
                hits = ops.equal(cell, np.asarray(values, "float32")[None, :])
                parts.append(ops.cast(hits, x.dtype))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def log_jacobian(self):
        """`log |d standardize / dx|` of one example: `-sum(log scale)` per
        position."""
        return -self._positions * ops.sum(ops.log(self.scale))

    def split_params(self, params):
        """`(numeric, blocks)`: the part of a decoder output in the model's
        space that belongs to the numeric features (None if there are
        none), and one block of logits per categorical column."""
        k = len(self.numeric)
        numeric = None
        if k:
            numeric = params[..., :k] if self.categorical else params
        blocks, start = [], k
        for _, n in self.categorical:
            blocks.append(params[:, start : start + n])
            start += n
        return numeric, blocks

    def inverse(self, params):
        """The decoder's `params` in the data's units: numeric means
        de-standardised, each categorical column's most probable category
        index."""
        numeric, blocks = self.split_params(params)
        parts = [numeric * self.scale + self.mean] if numeric is not None else []
        for logits, values in zip(
            blocks, self.category_values or [None] * len(blocks), strict=True
        ):
            best = _first_max_index(logits)
            if values is not None:
                best = ops.take(np.asarray(values, "float32"), best)
            parts.append(ops.expand_dims(ops.cast(best, params.dtype), -1))
        if len(parts) == 1:
            return parts[0]
        order = np.asarray(self._inverse_order, dtype="int32")
        return ops.take(ops.concatenate(parts, axis=-1), order, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.model_shape)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "data_shape": list(self.data_shape),
            "categorical": self.categorical,
            "column_names": self.column_names,
            "category_names": self.category_names,
        }
        if self.category_values is not None:  # files of older releases lack it
            config["category_values"] = self.category_values
        if self.value_range is not None:  # nor these
            config["value_range"] = self.value_range
            config["integers"] = self.integers
        return {**base_config, **config}


def _category_values(values, categorical):
    """The checked `category_values` of a `DataTransform` (None, or one
    list of distinct finite floats or None per categorical column)."""
    if values is None:
        return None
    values = [None if v is None else [float(x) for x in v] for v in values]
    if len(values) != len(categorical) or any(
        v is not None
        and (
            len(v) != n
            or not np.all(np.isfinite(v))
            or len(np.unique(np.asarray(v, "float32"))) != n
        )
        for v, (_, n) in zip(values, categorical, strict=False)
    ):
        raise checks.invalid(
            "category_values",
            "one list of n distinct finite numbers (distinct in float32) or None "
            "per categorical column",
            values,
        )
    return values


def _value_bounds(value_range, integers, n):
    """The checked `value_range` and `integers` of a `DataTransform` with
    `n` numeric features (both None, or one entry per feature)."""
    if value_range is None and integers is None:
        return None, None
    bounds = np.asarray(value_range if value_range is not None else [], "float64")
    whole = list(integers) if integers is not None else []
    if (
        bounds.shape != (n, 2)
        or not np.all(np.isfinite(bounds))
        or np.any(bounds[:, 0] > bounds[:, 1])
        or len(whole) != n
        or not all(isinstance(w, (bool, np.bool_)) for w in whole)
    ):
        raise checks.invalid(
            "value_range and integers",
            f"{n} [low, high] pairs (finite, low <= high) and {n} booleans",
            (value_range, integers),
        )
    return bounds.tolist(), [bool(w) for w in whole]


def _first_max_index(logits):
    """`ops.argmax(logits, axis=-1)` (the first of equal largest values),
    written as a comparison and a minimum: plain operations that every
    exporter maps to ONNX (JAX's argmax lowers to bit operations that
    onnxruntime does not run)."""
    n = logits.shape[-1]
    largest = ops.max(logits, axis=-1, keepdims=True)
    positions = np.arange(n, dtype="int32")
    return ops.min(ops.where(logits >= largest, positions, n), axis=-1)
