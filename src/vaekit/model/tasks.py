"""What the command line does with a trained model, as library calls: each
takes the model as a `VAE` or a `.keras` path and the data as a spec (a
name or a path), a pandas DataFrame or an array."""

import numpy as np

from vaekit.model.inputs import read_inputs
from vaekit.model.saving import load_model

__all__ = ["encode", "reconstruct", "sample"]


def encode(model, data, label_column=None, split="all", missing="error"):
    """The posterior q(z|x) of every example of `data`.

    Args:
        model: A `VAE` or the path of a `.keras` file.
        data: A dataset spec, a DataFrame or an array (see
            `vaekit.model.inputs.read_inputs`, which also takes
            `label_column`, `split` and `missing`).

    Returns:
        A dict: `z_mean` and `z_log_var` (numpy, `(n, latent_dim)`), `rows`
        (each example's place among the data's rows), `labels` (as the data
        names them, see `Inputs.labels`; None without labels) and `split`.
    """
    model = load_model(model)
    inputs = read_inputs(model, data, label_column, split, missing)
    z_mean, z_log_var = model.encode(inputs.x, condition=inputs.condition)
    return {
        "z_mean": z_mean,
        "z_log_var": z_log_var,
        "rows": inputs.rows,
        "labels": inputs.labels,
        "split": inputs.split,
    }


def reconstruct(model, data, label_column=None, split=None, missing="error"):
    """Each example of `data` and its reconstruction, the mean of p(x|z) at
    z = z_mean (a conditional model under each example's own label).

    Returns:
        A dict: `x` (the examples), `reconstruction` (the data's units),
        `condition` (or None), `rows` and `split`.
    """
    model = load_model(model)
    inputs = read_inputs(model, data, label_column, split, missing)
    return {
        "x": inputs.x,
        "reconstruction": model.reconstruct(inputs.x, condition=inputs.condition),
        "condition": inputs.condition,
        "rows": inputs.rows,
        "split": inputs.split,
    }


def sample(model, n=64, seed=0, temperature=1.0, label=None, draw=None):
    """`n` draws from the model's prior (its scales times `temperature`),
    decoded in the data's units (a draw from p(x|z) for rows of a table,
    its mean for images; `draw` chooses, see `VAE.sample`); a conditional
    model draws `label` (a class name or index, or a number), or its
    classes in turn.

    Returns:
        A numpy array `(n, *data_shape)`.
    """
    model = load_model(model)
    condition = model.label_condition(label)
    return np.asarray(
        model.sample(
            n, seed=seed, temperature=temperature, condition=condition, draw=draw
        )
    )
