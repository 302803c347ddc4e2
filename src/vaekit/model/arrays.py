"""The VAE on numpy arrays and pandas DataFrames, as a mixin of `VAE`.

`fit`, `evaluate` and `predict` take a DataFrame or an array (a
conditional model's labels as `y`) and hand Keras the numbers; `encode`,
`decode`, `reconstruct` and `sample` return numpy arrays in the data's
units; `to_frame` turns rows of a table model back into a DataFrame with
the table's column names and category strings.
"""

import math

import keras
import numpy as np
from keras import ops

from vaekit import checks
from vaekit import data as data_lib
from vaekit.data.tables import frame_parts, is_frame
from vaekit.errors import InvalidArgument
from vaekit.model import conditions, footprint

__all__ = ["ArrayAPI"]


def _is_stream(x):
    """True for what Keras iterates itself (a `PyDataset`, a generator, a
    `tf.data.Dataset`, a torch `DataLoader`)."""
    if isinstance(x, keras.utils.PyDataset):
        return True
    if hasattr(x, "__iter__") and not hasattr(x, "__len__"):
        return True  # a generator
    return type(x).__name__ in ("DatasetV2", "_PrefetchDataset", "DataLoader")


class ArrayAPI:
    """The VAE's methods on arrays and DataFrames (see the module docstring)."""

    # -- Keras' training loop ---------------------------------------------

    def fit(self, x=None, y=None, **kwargs):
        """Keras' `fit`, on an array or a DataFrame `x` (a conditional
        model's labels as `y`, or `x=(x, y)`). A model without networks
        first calls `adapt(x, y)`."""
        if not _is_stream(x) and not self.networks_built:
            data, condition = self._x_and_condition(x, y)
            self.adapt(data, condition)
        x = self._keras_inputs(x, y)
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = self._validation(kwargs["validation_data"])
        return super().fit(x, None, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Keras' `evaluate`, on an array or a DataFrame (see `fit`)."""
        return super().evaluate(self._keras_inputs(x, y), None, **kwargs)

    def predict(self, x, **kwargs):
        """Keras' `predict` (one stochastic reconstruction per example), on
        an array or a DataFrame; a conditional model takes `x=(x, y)`."""
        return super().predict(self._keras_inputs(x, None), **kwargs)

    def _x_and_condition(self, x, y):
        """`(x, condition)`: the labels as `y`, or in `x=(x, y)`."""
        if isinstance(x, tuple) and len(x) == 2 and y is None:
            return x
        if y is not None and not self.condition_kind and not self.conditional:
            raise InvalidArgument(
                "A VAE learns from x alone: fit(x). Labels (y) condition a "
                "conditional VAE (conditional=True)."
            )
        return x, y

    def _keras_inputs(self, x, y):
        """What Keras' loop takes: the model's inputs as numbers."""
        if _is_stream(x):
            return x
        x, condition = self._x_and_condition(x, y)
        x = self.as_array(x)
        if not self.conditional:
            return x
        self._require_condition(condition)
        return x, self.condition_values(condition)

    def _validation(self, data):
        if isinstance(data, tuple) and len(data) == 1:
            data = data[0]
        if _is_stream(data):
            return data
        if isinstance(data, tuple):
            return (self._keras_inputs(data[0], data[1]),)
        return (self._keras_inputs(data, None),)

    # -- data in, data out -------------------------------------------------

    @property
    def schema(self):
        """A table model's columns and categories (`{"columns": [...],
        "categories": {name: [...]}}`), else None."""
        transform = self.transform
        if transform is None or transform.column_names is None:
            return None
        names = transform.column_names
        return {
            "columns": list(names),
            "categories": {
                names[column]: list(categories)
                for (column, _), categories in zip(
                    transform.categorical, transform.category_names or [], strict=False
                )
            },
        }

    def as_array(self, x):
        """`x` as the model's input: float32 `(n, *data_shape)`; a DataFrame
        read by the model's columns and categories; a `vaekit.data.DiskArray`
        stays on disk."""
        self._require_networks()
        if is_frame(x):
            x = frame_parts(x, schema=self.schema)["x_train"][0]
        elif not isinstance(x, data_lib.DiskArray):
            x = np.asarray(x, dtype=np.float32)
        return data_lib.fit_to_shape(x, self.data_shape)

    def condition_values(self, y):
        """Labels as the condition values of a conditional model (float32):
        text labels mapped to its class names, numbers checked against its
        classes (see `vaekit.model.conditions`)."""
        if y is None:
            return None
        return conditions.condition_values(self, y)

    def to_frame(self, x):
        """Rows of a table model (`(n, D)`, the data's units) as a pandas
        DataFrame with the table's column names, category strings in its
        categorical columns, and integers in a column of whole numbers in
        training whose values here are whole (as `sample` draws them);
        other models' examples flattened, one column per value (`x_0`,
        `x_1`, ...)."""
        import pandas as pd

        flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        transform = self.transform
        if transform is None or transform.column_names is None:
            return pd.DataFrame(flat, columns=[f"x_{i}" for i in range(flat.shape[1])])
        frame = pd.DataFrame(flat, columns=transform.column_names)
        for (column, n), names in zip(
            transform.categorical, transform.category_names or [], strict=False
        ):
            index = np.clip(np.round(flat[:, column]).astype(int), 0, n - 1)
            frame[transform.column_names[column]] = np.asarray(names, dtype=object)[
                index
            ]
        for column, whole in zip(
            transform.numeric, transform.integers or (), strict=False
        ):
            values = flat[:, column]
            if whole and np.all(values == np.round(values)):
                frame[transform.column_names[column]] = values.astype(np.int64)
        return frame

    # -- the networks on arrays --------------------------------------------

    def _inputs(self, first, condition):
        """Numpy inputs of the encoder (`first = x`) or decoder (`z`)."""
        if not self.conditional:
            return first
        self._require_condition(condition)
        condition = np.asarray(
            self.condition_values(condition), dtype="float32"
        ).reshape((-1, *self.condition_shape))
        if len(condition) != len(first):
            raise InvalidArgument(
                f"Expected one condition per example. Received: {len(condition)} "
                f"conditions for {len(first)} examples"
            )
        return [first, condition]

    @property
    def num_classes(self):
        """The classes of a conditional model conditioned on class labels
        (one categorical condition column), else None."""
        transform = self.condition_transform
        if transform is None or transform.numeric or len(transform.categorical) != 1:
            return None
        return transform.categorical[0][1]

    @property
    def class_names(self):
        """The class names of a model conditioned on class labels (the
        training data's text labels, or its numbers: "0", "1", ...), else
        None."""
        if self.num_classes is None:
            return None
        names = self.condition_transform.category_names
        return None if names is None else list(names[0])

    @property
    def label_column(self):
        """The name of a conditional model's label column (a table's column,
        or a pandas Series' name, it was trained with), else None."""
        transform = self.condition_transform
        names = None if transform is None else transform.column_names
        return names[0] if names else None

    def label_condition(self, label):
        """The condition value of one label given as text (a class name, a
        class index for classes of text labels, or a number for a numeric
        condition); None stays None.

        Raises:
            VaekitError: if the model is not conditional or does not know
                the label.
        """
        if label is None:
            return None
        if not self.conditional:
            raise InvalidArgument("a label needs a conditional model")
        label = str(label)
        classes, values = self.class_names, conditions.class_values(self)
        if classes is None:
            try:
                number = float(label)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise InvalidArgument(
                    f"label {label!r}: the model's condition is a number; give "
                    "a finite one"
                )
            return number
        if label in classes:
            return float(values[classes.index(label)])
        by_index = np.array_equal(values, np.arange(len(classes)))
        if by_index and label.lstrip("-").isdigit() and 0 <= int(label) < len(classes):
            return float(label)
        index = f" (or its index 0..{len(classes) - 1})" if by_index else ""
        raise InvalidArgument(
            f"label {label!r} is not a class of the model: use one of "
            f"{', '.join(classes)}{index}"
        )

    def class_name_of(self, value):
        """The class name of a condition value of a model conditioned on
        classes (a label as outputs name it), else the value as text."""
        values = conditions.class_values(self)
        if values is not None:
            hits = np.flatnonzero(values == np.float32(value))
            if len(hits):
                return self.class_names[hits[0]]
        return conditions.class_name(value)

    def default_condition(self, n):
        """Conditions for `n` decoded codes when none is given: the classes
        in turn (`0, 1, ..., K-1, 0, ...`) for class labels, else the
        training mean of each condition column. None for an unconditional
        model."""
        if not self.conditional:
            return None
        if self.num_classes is not None:
            return conditions.class_values(self)[np.arange(int(n)) % self.num_classes]
        mean = keras.ops.convert_to_numpy(self.condition_transform.mean)
        return np.tile(mean.astype("float32"), (int(n), 1))

    def encode(self, x, batch_size=256, condition=None):
        """Returns numpy `(z_mean, z_log_var)` of the encoder for `x` (an
        array or a DataFrame; and the labels `condition` of a conditional
        model)."""
        x = self.as_array(x)
        z_mean, z_log_var = self.encoder.predict(
            self._inputs(x, condition), batch_size=batch_size, verbose=0
        )
        return z_mean, z_log_var

    def decode(self, z, batch_size=256, condition=None, draw=False, seed=None):
        """Returns the mean of p(x|z) (p(x|z, y)) in the data's units
        (numpy), for codes `z`; with `draw`, a draw from it instead (see
        `sample`; `seed` seeds it). A conditional model without `condition`
        uses `default_condition`."""
        self._require_networks()
        if self.conditional and condition is None:
            condition = self.default_condition(len(z))
        params = self.decoder.predict(
            self._inputs(np.asarray(z, "float32"), condition),
            batch_size=batch_size,
            verbose=0,
        )
        if draw:
            return self.distribution.sample(params, seed=seed)
        mean = self.distribution.mean(ops.convert_to_tensor(params))
        return keras.ops.convert_to_numpy(mean)

    def reconstruct(self, x, batch_size=256, condition=None):
        """Decodes `z_mean` of each example: the mean of p(x|z=z_mean)."""
        z_mean, _ = self.encode(x, batch_size=batch_size, condition=condition)
        return self.decode(z_mean, batch_size=batch_size, condition=condition)

    def sample(self, n, seed=None, temperature=1.0, condition=None, draw=None):
        """Draws `n` codes from the prior (`N(0, temperature^2 I)`, or a learned
        prior with its scales times `temperature`) and decodes
        them (with `condition`: one label for all, or one per sample).
        Returns a numpy array of shape `(n, *data_shape)`.

        `draw` says what a code decodes to: a draw from p(x|z) (True), or
        its mean (False). By default the rows of a table (a Gaussian model
        of rows `(D,)`, with its `DataTransform`) are drawn: synthetic rows
        that look like the data, a numeric column within its training
        range, a whole-number one rounded, a category drawn from its
        probabilities. Images and Bernoulli vectors are means (a draw of a
        Bernoulli image is its mean's picture with salt-and-pepper noise).

        Raises:
            InvalidArgument: if `n` is not an integer >= 1, or `n` samples
                cannot fit in memory.
        """
        checks.integer(n, "n")
        self._require_networks()
        footprint.check_decode_fits(
            self.data_shape,
            self.latent_dim,
            n,
            f"{n} samples of shape {tuple(self.data_shape)}",
            hint="draw fewer at a time",
        )
        z = self.prior.sample(n, self.latent_dim, seed=seed, temperature=temperature)
        if condition is not None and self.conditional:
            condition = self.condition_values(np.atleast_1d(condition))
            if condition.size == math.prod(self.condition_shape):
                condition = np.tile(condition.reshape(1, -1), (int(n), 1))
        if draw is None:
            draw = self.transform is not None and len(self.data_shape) == 1
        return self.decode(
            z,
            condition=condition,
            draw=draw,
            seed=None if seed is None else (int(seed) + 1) % 2**31,
        )
