"""Fitting a VAE's preprocessing to its training data (what `VAE.adapt`
does before it builds the networks).

A table (a pandas DataFrame) becomes numbers and its schema (column names,
categories); a Gaussian model standardises each numeric feature and
one-hots each categorical column (`DataTransform`, adapted on the data);
a conditional model encodes its labels (classes one-hot, or one
standardised number); a Bernoulli decoder's output bias may start at the
logit of the data's mean.
"""

import math

import numpy as np

from vaekit import data as data_lib
from vaekit.data.tables import frame_parts, is_frame
from vaekit.errors import DataError, InvalidArgument
from vaekit.model.conditions import (
    CONDITIONS,
    condition_transform,
    labels_as_numbers,
)
from vaekit.model.layers import DataTransform

__all__ = [
    "CONDITIONS",
    "adapt",
    "condition_transform",
    "data_transform",
    "init_output_bias",
    "labels_as_numbers",
    "training_array",
]


def training_array(x):
    """`(x, columns, categories)`: training data as float32 examples, and,
    for a DataFrame, its column names and the categories of its text
    columns (else None, {})."""
    if is_frame(x):
        parts = frame_parts(x)
        columns, categories = parts["columns"][0], parts["categories"][0]
        return parts["x_train"][0].astype(np.float32), columns, categories
    if isinstance(x, data_lib.DiskArray):
        return x, None, {}
    x = np.asarray(x)
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise DataError(
            f"data of dtype {x.dtype} is not numeric: pass numbers, or a pandas "
            "DataFrame whose text columns become categories"
        )
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"expected a non-empty batch of examples, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError("the data holds NaN or infinite values; remove or impute them")
    return x.astype(np.float32), None, {}


def data_transform(x, columns=None, categories=None):
    """The `DataTransform` of a Gaussian model of `x` (numpy, `(n, *shape)`),
    adapted to it: standardised numeric features, one-hot categorical
    columns (`categories`: `{column name: category names}` of the table's
    text columns), the column names kept for writing tables back."""
    categories = categories or {}
    categorical, names = [], []
    for index, column in enumerate(columns or ()):
        if column in categories:
            categorical.append([index, len(categories[column])])
            names.append(list(categories[column]))
    transform = DataTransform(
        tuple(x.shape[1:]),
        categorical=categorical,
        column_names=None if columns is None else list(columns),
        category_names=names or None,
        name="transform",
    )
    transform.adapt(x)
    return transform


def copy_transform(transform):
    """A second `DataTransform` with the same config and statistics (the
    decoder's own copy of the condition transform)."""
    clone = DataTransform.from_config(transform.get_config())
    clone.set_weights(transform.get_weights())
    return clone


def init_output_bias(model, x, eps=1e-3):
    """Sets the Bernoulli decoder's output bias to the logit of the data's
    mean (clipped to `[eps, 1 - eps]`): at z's prior mean the model starts
    at the data's average instead of 0.5 everywhere, which saves the first
    epochs' work. Per value for an MLP decoder, per channel for a conv one.

    Raises:
        InvalidArgument: if the decoder has no `x_params` output layer.
    """
    try:
        layer = model.decoder.get_layer("x_params")
    except ValueError:
        raise InvalidArgument(
            "output_bias='data-mean' needs a decoder whose output layer is named "
            "x_params (as build_decoder names it)"
        ) from None
    shape = tuple(layer.bias.shape)
    mean = np.zeros(model.data_shape)
    for start in range(0, len(x), 4096):  # a DiskArray too, a chunk at a time
        mean += np.asarray(x[start : start + 4096], np.float64).sum(axis=0)
    mean /= max(len(x), 1)
    if math.prod(shape) != mean.size:
        mean = mean.reshape(-1, shape[-1]).mean(axis=0)
    p = np.clip(mean, eps, 1 - eps).reshape(shape)
    layer.bias.assign(np.log(p / (1 - p)).astype(layer.bias.dtype))


def adapt(
    model,
    x,
    condition=None,
    label_names=None,
    schema=None,
    copies=1,
    label_column=None,
):
    """What `VAE.adapt` does: fits the model's preprocessing to the training
    data `x` (and the labels `condition` of a conditional model, from the
    column `label_column` of a table: a pandas Series brings its name),
    builds its networks for them and attaches them to the model. Networks
    whose `copies` float32 copies of the weights cannot fit in memory are
    refused before they are built (`vaekit.model.footprint`)."""
    x, columns, categories = training_array(x)
    if schema is not None and columns is None:
        columns, categories = _schema_parts(schema, x)
    transform = None
    if model.likelihood == "gaussian":
        transform = data_transform(x, columns, categories)
    elif categories:
        raise InvalidArgument(
            f"Text columns ({', '.join(categories)}) are categorical and need "
            "likelihood='gaussian'."
        )
    else:
        data_lib.check_for_likelihood(x, "bernoulli", "the training data")
    condition_layer = _condition_layer(model, condition, label_names, label_column)
    model._attach(*_build_networks(model, x, transform, condition_layer, copies))
    if model.output_bias == "data-mean" and model.likelihood == "bernoulli":
        init_output_bias(model, x)
    if hasattr(model.prior, "initialize"):  # the VampPrior's pseudo-inputs
        model.prior.initialize(x)


def _schema_parts(schema, x):
    """`(columns, categories)` of a table's `schema`, checked against the
    numbers `x` read from it."""
    columns = list(schema.get("columns") or ())
    categories = {
        name: tuple(cats) for name, cats in (schema.get("categories") or {}).items()
    }
    if x.ndim != 2 or len(columns) != x.shape[1] or not set(categories) <= set(columns):
        raise InvalidArgument(
            f"The schema names {len(columns)} columns, but the data has shape "
            f"{x.shape}: pass the schema of the table the data was read from."
        )
    return columns, categories


def _condition_layer(model, condition, label_names=None, label_column=None):
    """The condition `DataTransform` of a conditional model's labels, named
    by their column (kept to write it back: `VAE.label_column`)."""
    if not model.condition_kind:
        if condition is not None:
            raise InvalidArgument(
                "Labels were given, but this VAE is not conditional: pass "
                "conditional=True to model q(z|x, y) and p(x|z, y)."
            )
        return None
    if condition is None:
        raise InvalidArgument(
            "A conditional VAE needs the labels of its training data: fit(x, y)."
        )
    name = getattr(condition, "name", None)  # a pandas Series: its column
    name = label_column if name is None else str(name)
    source = "the labels" if name is None else f"label column {name!r}"
    values, names = labels_as_numbers(condition, source)
    transform = condition_transform(
        values, model.condition_kind, names or label_names, source
    )
    transform.column_names = None if name is None else [name]
    return transform


def _build_networks(model, x, transform, condition, copies=1):
    """The encoder and decoder `adapt` builds from the model's settings,
    once their weights are known to fit in memory."""
    from vaekit.model.footprint import check_model_fits
    from vaekit.model.networks import build_decoder, build_encoder

    settings = model.network_settings
    shape = tuple(x.shape[1:])
    check_model_fits(
        transform.model_shape if transform else shape,
        settings["hidden_dims"],
        settings["latent_dim"],
        settings["architecture"],
        0 if condition is None else math.prod(condition.model_shape),
        copies,
    )
    seed = model.seed
    encoder = build_encoder(
        shape, **settings, seed=seed, transform=transform, condition=condition
    )
    decoder = build_decoder(
        transform.model_shape if transform else shape,
        **settings,
        seed=None if seed is None else seed + 1000,
        condition=None if condition is None else copy_transform(condition),
    )
    return encoder, decoder
