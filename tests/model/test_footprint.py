"""vaekit.model.footprint: the weights of a VAE's networks counted from its
settings (checked against the networks Keras builds), and the refusal of a
model whose weights cannot fit in memory before anything is allocated (the
issue's `--hidden-dims 100000000`)."""

import math
import time

import numpy as np
import pandas as pd
import pytest

from vaekit import resources
from vaekit.errors import InvalidArgument
from vaekit.model import VAE
from vaekit.model.footprint import check_model_fits, parameter_count

GB = 10**9


@pytest.fixture(autouse=True)
def zero_weights(monkeypatch):
    """Glorot's random draws compile an XLA program per weight shape (a
    second each on a busy machine); the count does not depend on the
    values, so the networks here start at zeros."""
    import keras

    monkeypatch.setattr(
        keras.initializers.GlorotUniform,
        "__call__",
        lambda self, shape, dtype=None: np.zeros(shape, dtype or "float32"),
    )


def _trainable(model):
    weights = model.encoder.trainable_weights + model.decoder.trainable_weights
    return sum(math.prod(w.shape) for w in weights)


def _counted(model):
    shape = model.transform.model_shape if model.transform else model.data_shape
    condition = model.condition_transform
    settings = model.network_settings
    return parameter_count(
        shape,
        settings["hidden_dims"],
        settings["latent_dim"],
        settings["architecture"],
        math.prod(condition.model_shape) if condition is not None else 0,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden_dims": (8, 4), "conditional": "classes", "dropout": 0.1},
        {"hidden_dims": (4, 8), "architecture": "conv", "conditional": "classes"},
    ],
    ids=["mlp", "conv"],
)
def test_the_count_is_what_keras_builds(digits_x, kwargs):
    """MLP and conv networks, with a condition (10 classes) that joins
    their inputs (and the MLP decoder's output layer)."""
    model = VAE(latent_dim=2, **kwargs)
    model.adapt(digits_x[:64], np.arange(64) % 10)
    assert _counted(model) == _trainable(model) > 0
    unconditional = parameter_count(
        (8, 8, 1), kwargs["hidden_dims"], 2, model.network_settings["architecture"]
    )
    assert unconditional < _trainable(model)


def test_the_count_of_a_table_counts_its_one_hot_columns():
    frame = pd.DataFrame(
        {
            "age": np.linspace(20, 60, 30),
            "colour": ["red", "green", "blue"] * 10,
            "kind": ["a", "b"] * 15,
        }
    )
    model = VAE(
        likelihood="gaussian", latent_dim=2, hidden_dims=(7,), conditional="classes"
    )
    model.adapt(frame[["age", "colour"]], frame["kind"])
    assert model.transform.model_shape == (4,)  # age, then 3 one-hot
    assert math.prod(model.condition_transform.model_shape) == 2
    assert _counted(model) == _trainable(model)
    # by hand: encoder 6 -> 7 -> 2 x 2, decoder 2 + 2 -> 7 (+ 2) -> 4
    assert _counted(model) == (6 * 7 + 7) + 2 * (7 * 2 + 2) + (4 * 7 + 7) + (9 * 4 + 4)


def test_the_issues_hidden_dims_is_refused_with_how_much_it_needs(monkeypatch):
    """`--hidden-dims 100000000` on digits, on the issue's 24 GB machine."""
    monkeypatch.setattr(resources, "memory_limit", lambda: 24 * GB)
    with pytest.raises(InvalidArgument) as info:
        check_model_fits((8, 8, 1), (100_000_000,), 32, copies=4)
    assert str(info.value) == (
        "the model would hold 22.6 G parameters (90.4 GB of float32 weights, x4 "
        "with the gradients and the optimizer's state), which would need 362 GB "
        "of memory; this machine has 24 GB: use fewer or smaller hidden layers "
        "(hidden_dims) or a smaller latent_dim"
    )
    check_model_fits((8, 8, 1), (100_000,), 32, copies=4)  # 362 MB: fits


def test_adapt_refuses_before_it_allocates(digits_x):
    """The library's path: VAE.adapt raises InvalidArgument at once (the
    weights would need hundreds of GB on any machine), building nothing."""
    model = VAE(latent_dim=2, hidden_dims=[100_000_000])
    start = time.perf_counter()
    with pytest.raises(InvalidArgument, match=r"the model would hold 13\.6 G param"):
        model.adapt(digits_x[:10])
    assert time.perf_counter() - start < 5
    assert not model.networks_built


def test_bad_settings_get_the_builders_messages(digits_x):
    with pytest.raises(InvalidArgument, match=r"hidden_dims\[1\]"):
        VAE(hidden_dims=[4, 0]).adapt(digits_x[:10])
    with pytest.raises(InvalidArgument, match="latent_dim"):
        VAE(latent_dim=0, hidden_dims=[4]).adapt(digits_x[:10])
    with pytest.raises(InvalidArgument, match="architecture"):
        VAE(architecture="rnn", hidden_dims=[4]).adapt(digits_x[:10])
