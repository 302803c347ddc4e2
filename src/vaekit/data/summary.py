"""A one-screen summary of a dataset as read: the examples, each column of
a table with its kind, the labels. `vaekit train` logs it before training,
so that a file read wrong shows before any time is spent on it."""

import numpy as np

__all__ = ["MAX_LISTED", "describe"]

# Columns listed one per line; more are counted by kind.
MAX_LISTED = 20
_NAME_WIDTH = 24


def _count(n, word, plural=None):
    """`1 class`, `2 classes`."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _labels(dataset):
    """What the labels are, in words."""
    y = dataset.y_train
    if y is None:
        return "none"
    if dataset.label_names is not None:
        names = list(dataset.label_names)
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        return f"{_count(len(names), 'class', 'classes')} ({shown})"
    y = np.asarray(y)
    finite = y[np.isfinite(y)] if y.dtype.kind == "f" else y
    if len(finite) == 0:
        return "numbers, none finite"
    distinct = len(np.unique(finite))
    what = "whole numbers" if np.array_equal(finite, np.round(finite)) else "numbers"
    return f"{what}, {distinct} distinct in [{finite.min():g}, {finite.max():g}]"


def _kind(dataset, name):
    categories = (dataset.categories or {}).get(name)
    if categories is None:
        return "numeric"
    return f"categorical, {_count(len(categories), 'category', 'categories')}"


def _table_lines(dataset):
    """One line per column of a table: features, label, columns left out."""
    rows = [(name, _kind(dataset, name)) for name in dataset.columns]
    listed = rows[:MAX_LISTED]
    if dataset.label_column is not None:
        listed.append((dataset.label_column, f"label: {_labels(dataset)}"))
    for name, why in (dataset.ignored or {}).items():
        listed.append((name, why))
    width = min(_NAME_WIDTH, max(len(repr(name)) for name, _ in listed))
    lines = [f"  {repr(name):<{width}}  {kind}" for name, kind in listed]
    rest = rows[MAX_LISTED:]
    if rest:
        numeric = sum(kind == "numeric" for _, kind in rest)
        lines.append(
            f"  ... and {_count(len(rest), 'more feature column')}: {numeric} numeric, "
            f"{len(rest) - numeric} categorical"
        )
    return lines


def describe(dataset):
    """The summary of a `vaekit.data.Dataset`, as lines of text.

    Returns:
        A string of a few lines (at most about 25): the examples and their
        shape, each column of a table with its kind (numeric, categorical
        with its number of categories, the label, columns not read and
        why), and the labels.
    """
    n = dataset.x_train.shape[0]
    head = f"data {dataset.name}: {_count(n, 'row')}"
    if dataset.x_test is not None:
        head += f" (and a test split of {dataset.x_test.shape[0]})"
    if not dataset.is_table:
        shape = "x".join(map(str, dataset.shape))
        kind = "images" if dataset.is_image else "examples"
        lines = [f"{head}, {kind} of shape {shape}", f"  labels: {_labels(dataset)}"]
        return "\n".join(lines)
    features = len(dataset.columns)
    categorical = len(dataset.categories or {})
    head += (
        f", {_count(features, 'feature column')} ({features - categorical} numeric, "
        f"{categorical} categorical)"
    )
    return "\n".join([head, *_table_lines(dataset)])
