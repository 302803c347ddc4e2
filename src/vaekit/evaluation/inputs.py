"""The data a likelihood is computed on, read for the model and binarized
as the model's training data was (`binarize`)."""

import dataclasses
import os

import numpy as np

from vaekit import checks, runs
from vaekit import data as data_lib
from vaekit.model.inputs import read_inputs
from vaekit.model.saving import load_model

__all__ = ["BINARIZE", "LikelihoodData", "likelihood_data"]

# How data is binarized before its likelihood under a Bernoulli model: as
# the model's run trained ("auto"), not at all, or once with the seed.
BINARIZE = ("auto", *checks.BINARIZE)


@dataclasses.dataclass
class LikelihoodData:
    """A model and its data, ready for `per_example`: `x` (shaped, scaled
    and binarized), `condition` (or None), and what was read (`inputs`, a
    `vaekit.model.inputs.Inputs`) and how it was binarized (`binarize`)."""

    model: object
    x: object
    condition: object
    inputs: object
    binarize: str


def likelihood_data(
    model,
    data,
    condition=None,
    binarize="auto",
    seed=0,
    label_column=None,
    split=None,
    missing="error",
):
    """Reads `model` (a `VAE` or a `.keras` path) and `data` (a spec, a
    DataFrame or an array, see `read_inputs`) for a likelihood.

    Args:
        condition: The labels of a conditional model's examples when `data`
            is an array (a spec's or a table's labels come from
            `label_column`).
        binarize: `"auto"`: as the `config.toml` of the run folder holding a
            model file says (none for a `VAE` object or a file without
            one); `"none"`; or `"static"`/`"dynamic"`: one Bernoulli draw of
            each value, seeded by `seed`.

    Raises:
        VaekitError: for a bad model, bad data, data outside [0, 1] for a
            Bernoulli model, or an unreadable run config.
    """
    checks.one_of(binarize, "binarize", BINARIZE)
    if binarize == "auto":
        path = None if hasattr(model, "encoder") else model
        binarize = "none" if path is None else runs.training_binarize(path)
    model = load_model(model)
    inputs = read_inputs(model, data, label_column, split, missing, condition)
    data_lib.check_for_likelihood(inputs.x, model.likelihood, f"data {inputs.name}")
    x = inputs.x if binarize == "none" else data_lib.binarize(inputs.x, seed)
    return LikelihoodData(model, x, inputs.condition, inputs, binarize)


def model_run(model):
    """The run folder of a model file (the folder that holds it)."""
    return os.path.dirname(os.path.abspath(os.fspath(model)))


def as_float_rows(x):
    """`x` as float32 rows to slice a batch at a time: a numpy array, or a
    `DiskArray` as it is (read a batch at a time)."""
    if isinstance(x, data_lib.DiskArray):
        return x
    return np.asarray(x, dtype="float32")
