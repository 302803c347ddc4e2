"""What a conditional model's labels are: classes or a number.

A conditional VAE, q(z|x, y) and p(x|z, y), takes its labels y as classes
(one-hot) or as one number (standardised): its condition kind, one of
`CONDITIONS`. Text labels are classes. With `"auto"`, numbers are classes
only when they look like class labels: whole numbers with at most
`AUTO_MAX_CLASSES` distinct values, each seen `AUTO_MIN_PER_CLASS` times or
more on average; other numbers (a measurement such as a price, or
scikit-learn's diabetes target, 214 distinct whole numbers among 442 rows)
are a numeric condition. The choice is logged, and a near miss warns with
how to ask for the other kind. Classes are the distinct values present,
sorted, and at most `MAX_CLASSES` of them; labels must be finite.

Each example reaches the networks as its condition value: for classes of
text labels the index of its class, for classes of numbers the number
itself (the condition transform one-hots it by value, see
`DataTransform`'s `category_values`), for a numeric condition the number.
`condition_values` maps labels to them.
"""

import logging
import warnings

import numpy as np

from vaekit import checks
from vaekit.errors import DataError, VaekitWarning
from vaekit.model.layers import DataTransform

__all__ = [
    "AUTO_MAX_CLASSES",
    "AUTO_MIN_PER_CLASS",
    "CONDITIONS",
    "MAX_CLASSES",
    "class_name",
    "condition_transform",
    "condition_values",
    "labels_as_numbers",
]

logger = logging.getLogger("vaekit")

# What a conditional model's labels are: "auto" (see the module docstring),
# "classes" or "numeric".
CONDITIONS = checks.CONDITION_KINDS
# Classes at most, whatever asks for them (a one-hot of a million classes
# is an ID, not a class).
MAX_CLASSES = 1000
# With "auto", numbers are classes only if they are whole, with at most this
# many distinct values, each seen this many times on average.
AUTO_MAX_CLASSES = 50
AUTO_MIN_PER_CLASS = 5

_SHOWN = 12  # class names listed in a message at most


def _listing(names):
    names = [str(n) for n in names]
    more = f", ... ({len(names)} in all)" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _missing(value):
    """True for a cell of an object array that holds no label."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, (float, np.floating)) and not np.isfinite(value)


def labels_as_numbers(y, source="labels"):
    """`(values, names)`: labels as float64 numbers, and, for text labels,
    their class names (sorted; the values are their indices).

    Raises:
        DataError: for a NaN, infinite or missing label (naming the first
            and its 0-based place in `source`).
    """
    y = np.asarray(getattr(y, "to_numpy", lambda: y)()).reshape(-1)
    if y.dtype.kind in "biuf":
        values = y.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise DataError(
                f"{source}: the label of example {bad[0]} is {values[bad[0]]}: "
                "labels must be finite numbers; fix or remove that example"
            )
        return values, None
    for i, value in enumerate(y):
        if _missing(value):
            raise DataError(
                f"{source}: the label of example {i} is missing ({value}): "
                "labels must be finite numbers or text; fix or remove that example"
            )
    names = tuple(sorted({str(v) for v in y}))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[str(v)] for v in y], np.float64), names


def class_name(value):
    """The name of the class of a numeric label: `3` for 3.0, `0.5` for 0.5."""
    value = float(value)
    if value == round(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _auto_kind(distinct, rows, source):
    """`"classes"` or `"numeric"` for numeric labels under `"auto"`, said
    in a log line (a warning for whole numbers that just miss the rule)."""
    count = len(distinct)
    whole = bool(np.all(distinct == np.round(distinct)))
    what = f"{source}: {count} distinct {'whole ' if whole else ''}numbers"
    what += f" among {rows} examples"
    if not whole:
        logger.info("%s: a numeric condition (not whole numbers)", what)
        return "numeric"
    if count <= AUTO_MAX_CLASSES and rows >= AUTO_MIN_PER_CLASS * count:
        logger.info(
            "%s: %d classes (%s); to take them as a number instead, make the "
            "condition kind numeric",
            what,
            count,
            _listing(class_name(v) for v in distinct),
        )
        return "classes"
    warnings.warn(
        f"{what}: a numeric condition, not classes (classes need at most "
        f"{AUTO_MAX_CLASSES} distinct values, each seen {AUTO_MIN_PER_CLASS} "
        "times on average); to make them classes, make the condition kind "
        "classes",
        VaekitWarning,
        stacklevel=2,
    )
    return "numeric"


def _classes(count, source, what):
    """Checks the number of classes of labels."""
    if count > MAX_CLASSES:
        raise DataError(
            f"{source}: {count} distinct {what}: too many classes for a "
            f"conditional model (at most {MAX_CLASSES}); "
            + (
                "a number is a numeric condition when the condition kind is "
                "numeric (or auto)"
                if what == "numbers"
                else "group the labels into fewer classes"
            )
        )


def _class_transform(names, values=None):
    return DataTransform(
        (1,),
        categorical=[[0, len(names)]],
        category_names=[list(names)],
        category_values=None if values is None else [list(values)],
        name="condition_transform",
    )


def condition_transform(y, kind="auto", label_names=None, source="labels"):
    """The `DataTransform` of a conditional model's labels: classes
    (one-hot; text labels named by `label_names`, numbers by their value)
    or one standardised numeric condition.

    Args:
        y: The training labels: numbers, or indices into `label_names`.
        kind: One of `CONDITIONS` (see the module docstring).
        label_names: The class names of text labels, or None.
        source: What the labels are, for messages.

    Raises:
        DataError: for non-finite labels, fewer than two classes, more than
            `MAX_CLASSES`, or text labels asked to be a number.
    """
    y, _ = labels_as_numbers(y, source)
    if label_names is not None:
        if kind == "numeric":
            raise DataError(
                f"{source}: the labels are text ({_listing(label_names)}): a "
                "numeric condition needs numbers; make the condition kind "
                "classes or auto"
            )
        _classes(len(label_names), source, "text labels")
        bad = (y != np.round(y)) | (y < 0) | (y >= len(label_names))
        if bad.any():
            raise DataError(f"{source}: {y[bad][0]:g} is not an index of a label name")
        if kind == "auto":
            logger.info(
                "%s: text, %d classes (%s)",
                source,
                len(label_names),
                _listing(label_names),
            )
        transform = _class_transform(label_names)
    else:
        distinct = np.unique(y)
        if kind == "auto":
            kind = _auto_kind(distinct, len(y), source)
        if kind == "classes":
            transform = _class_transform(
                [class_name(v) for v in distinct], _check_classes(distinct, source)
            )
        else:
            transform = DataTransform((1,), name="condition_transform")
    transform.adapt(y.reshape(-1, 1))
    return transform


def _check_classes(distinct, source):
    """The distinct numbers of class labels, checked."""
    _classes(len(distinct), source, "numbers")
    if len(distinct) < 2:
        raise DataError(
            f"{source}: a conditional model needs at least two classes of "
            f"labels; the training data has only label {class_name(distinct[0])}"
        )
    single = distinct.astype(np.float32)
    same = np.flatnonzero(single[1:] == single[:-1])
    if len(same):
        a, b = distinct[same[0]], distinct[same[0] + 1]
        raise DataError(
            f"{source}: labels {class_name(a)} and {class_name(b)} are one number "
            "in float32, so they cannot be two classes; make the condition kind "
            "numeric, or relabel them"
        )
    return distinct


def class_values(model):
    """The condition value of each class of a model conditioned on classes
    (float32): their numbers for classes of numeric labels, else their
    indices. None for a numeric condition."""
    if model.num_classes is None:
        return None
    values = model.condition_transform.category_values
    if values is not None and values[0] is not None:
        return np.asarray(values[0], np.float32)
    return np.arange(model.num_classes, dtype=np.float32)


def condition_values(model, y, label_names=None, source="labels"):
    """The labels `y` as a conditional model's condition values (float32,
    see the module docstring).

    Args:
        model: A conditional `vaekit.VAE`.
        y: Numbers, text, or indices into `label_names`.
        label_names: The names of labels given as indices, or None.
        source: What the labels are, for messages.

    Raises:
        DataError: for a non-finite label, or one the model does not know.
    """
    values, names = labels_as_numbers(y, source)
    if names is not None:
        if label_names is not None:
            raise DataError(f"{source}: labels given as text and as indices")
        return condition_values(model, values, names, source)
    classes, known = model.class_names, class_values(model)
    if label_names is not None:
        if classes is None:
            raise DataError(
                f"{source}: text labels, but model's condition is numeric "
                "(a number per example)"
            )
        unknown = sorted(set(label_names) - set(classes))
        if unknown:
            raise DataError(
                f"{source}: label {unknown[0]!r} is not a class of the model "
                f"(classes: {_listing(classes)})"
            )
        bad = (values != np.round(values)) | (values < 0)
        bad |= values >= len(label_names)
        if bad.any():
            raise DataError(f"{source}: {values[bad][0]:g} is not a label index")
        lookup = known[[classes.index(name) for name in label_names]]
        return lookup[values.astype(int)]
    values = values.astype(np.float32)
    if known is not None:
        bad = ~np.isin(values, known)
        if bad.any():
            index_model = np.array_equal(known, np.arange(len(known)))
            which = (
                f"0..{len(known) - 1}"
                if index_model
                else f"classes: {_listing(classes)}"
            )
            raise DataError(
                f"{source}: label {values[bad][0]:g} is not a class of the model "
                f"({which})"
            )
    return values
