"""Argument checks and the sets of allowed values, each defined once.

Every check raises `vaekit.errors.InvalidArgument` (a `ValueError` and a
`VaekitError`) in Keras' style (``Invalid value for argument `name`:
expected ... Received: name=value``). Library functions call them on their
arguments; `vaekit.config` calls them on a run's settings and names the
file or flag they came from.
"""

import importlib.util
import math
import numbers

from vaekit.errors import InvalidArgument

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "BACKENDS",
    "BINARIZE",
    "DECODER_STDS",
    "LIKELIHOODS",
    "LR_SCHEDULES",
    "MISSING",
    "OUTPUT_BIASES",
    "OPTIMIZERS",
    "SPLITS",
    "installed",
    "integer",
    "invalid",
    "is_number",
    "number",
    "one_of",
    "separator",
]

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")
BINARIZE = ("none", "static", "dynamic")
OPTIMIZERS = ("adam", "rmsprop", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")
# The decoder's output bias at initialisation (Bernoulli likelihood):
# zeros, or the logit of the training data's mean.
OUTPUT_BIASES = ("zeros", "data-mean")
PRIORS = ("standard", "mog", "vamp", "flow")
BACKENDS = ("jax", "tensorflow", "torch")
SPLITS = ("train", "test", "all")
# Named settings of the Gaussian decoder's standard deviation (else a float).
DECODER_STDS = ("learned", "learned-per-feature")
# What to do with a table's missing values.
MISSING = ("error", "drop")
# What a conditional model's labels are (see vaekit.model.conditions).
CONDITION_KINDS = ("auto", "classes", "numeric")
ACTIVATIONS = (
    "relu",
    "tanh",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "leaky_relu",
    "sigmoid",
)


def invalid(name, expected, value):
    """The `InvalidArgument` the checks here raise, for a rule they do not
    cover (a combination of settings, a value of several kinds)."""
    return InvalidArgument(
        f"Invalid value for argument `{name}`: expected {expected}. "
        f"Received: {name}={value!r}"
    )


def is_number(value):
    """True for a finite real number (int, float, numpy scalar), not a bool."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def integer(value, name, minimum=1):
    """Returns `value` if it is an int (not a bool) >= `minimum`.

    Raises:
        InvalidArgument: otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(name, f"an integer >= {minimum}", value)
    return value


def number(value, name, minimum=None, maximum=None, exclusive=()):
    """Returns `value` as a float if it is finite and within the bounds.

    Args:
        value: The value to check.
        name: The argument's name, for the message.
        minimum: Lower bound, or None.
        maximum: Upper bound, or None.
        exclusive: Which bounds are strict: a subset of `("minimum",
            "maximum")`.

    Raises:
        InvalidArgument: if `value` is not a finite number within the bounds.
    """
    low = "(" if "minimum" in exclusive else "["
    high = ")" if "maximum" in exclusive else "]"
    if minimum is not None and maximum is not None:
        expected = f"a number in {low}{minimum:g}, {maximum:g}{high}"
    elif minimum is not None:
        expected = f"a finite number {'>' if low == '(' else '>='} {minimum:g}"
    elif maximum is not None:
        expected = f"a finite number {'<' if high == ')' else '<='} {maximum:g}"
    else:
        expected = "a finite number"
    ok = is_number(value)
    if ok and minimum is not None:
        ok = value > minimum if low == "(" else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if high == ")" else value <= maximum
    if not ok:
        raise invalid(name, expected, value)
    return float(value)


def one_of(value, name, choices):
    """Returns `value` if it is one of `choices`.

    Raises:
        InvalidArgument: otherwise, listing the choices.
    """
    if value not in choices:
        raise invalid(name, "one of " + ", ".join(map(str, choices)), value)
    return value


def separator(value, name="sep"):
    """The delimiter character of a CSV `sep` setting: None for `"auto"`
    (detected), a tab for `"tab"` or `"\\t"`, else `value` itself.

    Raises:
        InvalidArgument: unless it is one of those or one character that is
            not a letter, digit, quote or space.
    """
    if value is None or value == "auto":
        return None
    if value in ("tab", "\\t"):
        return "\t"
    if (
        not isinstance(value, str)
        or len(value) != 1
        or value.isalnum()
        or value in "\"'\r\n "
    ):
        raise invalid(
            name,
            "auto, tab, or one character (not a letter, digit, quote or space)",
            value,
        )
    return value


def installed(module):
    """Whether package `module` is installed, found without importing it (a
    broken install, or a module set to None in `sys.modules`, is not)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
