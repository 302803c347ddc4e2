"""vaekit.checks: the argument checks (Keras-style messages, the value they
return, the edges of each bound) and the sets of allowed values."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaekit import checks
from vaekit.errors import InvalidArgument, VaekitError


def message(call):
    with pytest.raises(InvalidArgument) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, VaekitError)
    return str(info.value)


def test_invalid_is_keras_style():
    error = checks.invalid("beta", "a number >= 0", -1.5)
    assert isinstance(error, InvalidArgument)
    assert str(error) == (
        "Invalid value for argument `beta`: expected a number >= 0. Received: beta=-1.5"
    )
    # the received value is its repr: a string is quoted
    assert str(checks.invalid("x", "y", "a")).endswith("Received: x='a'")


def test_is_number():
    for value in (0, -3, 2.5, np.float32(1.5), np.int64(7), 1e308):
        assert checks.is_number(value), value
    for value in (True, False, math.nan, math.inf, -math.inf, "1", None, 1j, [1]):
        assert not checks.is_number(value), value


def test_integer():
    assert checks.integer(3, "n") == 3
    assert checks.integer(0, "n", minimum=0) == 0
    assert checks.integer(-5, "n", minimum=-5) == -5
    assert message(lambda: checks.integer(0, "latent_dim")) == (
        "Invalid value for argument `latent_dim`: expected an integer >= 1. "
        "Received: latent_dim=0"
    )
    for value in (True, 2.0, "3", None, np.float64(3)):
        assert "Received: n=" in message(lambda v=value: checks.integer(v, "n"))


@pytest.mark.parametrize(
    "bounds, inside, outside, expected",
    [
        ({}, [-1e30, 0, 1e30], [math.nan, math.inf, True, "1"], "a finite number"),
        ({"minimum": 0}, [0, 0.0, 5], [-1e-12, -1], "a finite number >= 0"),
        (
            {"minimum": 0, "exclusive": ("minimum",)},
            [1e-300, 3],
            [0, -1],
            "a finite number > 0",
        ),
        ({"maximum": 2}, [2, -7], [2.000001], "a finite number <= 2"),
        (
            {"maximum": 2, "exclusive": ("maximum",)},
            [1.999],
            [2, 3],
            "a finite number < 2",
        ),
        ({"minimum": 0, "maximum": 1}, [0, 1, 0.5], [-0.1, 1.1], "a number in [0, 1]"),
        (
            {"minimum": 0, "maximum": 1, "exclusive": ("maximum",)},
            [0, 0.99],
            [1, 1.0],
            "a number in [0, 1)",
        ),
        (
            {"minimum": 0, "maximum": 1, "exclusive": ("minimum", "maximum")},
            [0.5],
            [0, 1],
            "a number in (0, 1)",
        ),
    ],
)
def test_number_bounds(bounds, inside, outside, expected):
    for value in inside:
        result = checks.number(value, "v", **bounds)
        assert type(result) is float and result == float(value)
    for value in outside:
        text = message(lambda v=value: checks.number(v, "v", **bounds))
        assert text == (
            f"Invalid value for argument `v`: expected {expected}. Received: v={value!r}"
        )


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    low=st.floats(-10, 10),
    width=st.floats(0, 10),
    strict_low=st.booleans(),
    strict_high=st.booleans(),
)
def test_number_accepts_exactly_the_values_inside(
    value, low, width, strict_low, strict_high
):
    high = low + width
    exclusive = [
        name
        for name, strict in (("minimum", strict_low), ("maximum", strict_high))
        if strict
    ]
    # the reference: the interval written out
    inside = math.isfinite(value) and (
        (value > low if strict_low else value >= low)
        and (value < high if strict_high else value <= high)
    )
    try:
        result = checks.number(value, "v", low, high, exclusive)
    except InvalidArgument:
        assert not inside
    else:
        assert inside and result == value


def test_one_of():
    assert checks.one_of("adam", "optimizer", checks.OPTIMIZERS) == "adam"
    assert message(lambda: checks.one_of("adamax", "optimizer", checks.OPTIMIZERS)) == (
        "Invalid value for argument `optimizer`: expected one of adam, rmsprop, "
        "adamw, sgd. Received: optimizer='adamax'"
    )
    # choices are compared as values, not strings
    assert message(lambda: checks.one_of("1", "n", (1, 2))).endswith("Received: n='1'")


def test_the_sets_of_allowed_values():
    # Config files, flags and docs name these values: they are part of the
    # interface, and each set is defined once (here).
    assert checks.LIKELIHOODS == ("bernoulli", "gaussian")
    assert checks.ARCHITECTURES == ("mlp", "conv")
    assert checks.BINARIZE == ("none", "static", "dynamic")
    assert checks.OPTIMIZERS == ("adam", "rmsprop", "adamw", "sgd")
    assert checks.LR_SCHEDULES == ("constant", "cosine")
    assert checks.OUTPUT_BIASES == ("zeros", "data-mean")
    assert checks.BACKENDS == ("jax", "tensorflow", "torch")
    assert checks.SPLITS == ("train", "test", "all")
    assert checks.DECODER_STDS == ("learned", "learned-per-feature")
    assert checks.MISSING == ("error", "drop")
    assert "relu" in checks.ACTIVATIONS and len(set(checks.ACTIVATIONS)) == 10
    for name in checks.__all__:
        assert hasattr(checks, name), name


def test_installed_finds_a_package_without_importing_it(monkeypatch):
    import sys

    assert checks.installed("numpy")
    assert not checks.installed("vaekit_no_such_package")
    monkeypatch.setitem(sys.modules, "numpy", None)  # made missing
    assert not checks.installed("numpy")
