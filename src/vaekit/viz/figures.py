"""Matplotlib figures of a VAE: the latent scatter and the heatmaps that
stand in for image grids when the data are vectors (table rows), and
`save_picture`, which writes a figure or a `uint8` grid atomically.

Matplotlib runs with its Agg backend (no screen needed).
"""

import numpy as np

from vaekit import data as data_lib
from vaekit import io as vaekit_io
from vaekit.errors import InvalidArgument
from vaekit.model import load_model
from vaekit.model.inputs import read_inputs
from vaekit.viz.latent import principal_components
from vaekit.viz.tiles import display_range, png_bytes

__all__ = [
    "examples",
    "label_text",
    "latent_scatter",
    "pyplot",
    "save_picture",
    "vector_heatmaps",
]

# Labelled rows of a heatmap at most.
MAX_TICKS = 25


def pyplot():
    """`matplotlib.pyplot` with the Agg backend (no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def examples(
    model, data, y=None, condition=None, label_column=None, split=None, missing="error"
):
    """`(model, x, y, condition)`: a model (a `VAE` or a `.keras` path) and
    its examples, from `data` given as an array (with its labels `y` and a
    conditional model's `condition`, default `y`) or as a spec or DataFrame
    read by `vaekit.model.inputs.read_inputs` (the labels its own, named as
    the data names them, see `Inputs.labels`; with `label_column`, `split`
    and `missing`)."""
    model = load_model(model)
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
        x = data_lib.fit_to_shape(data, model.data_shape)
        if condition is None and model.conditional and y is not None:
            condition = model.condition_values(y)
        return model, x, y, condition
    inputs = read_inputs(model, data, label_column, split, missing)
    return model, inputs.x, inputs.labels if y is None else y, inputs.condition


def vector_heatmaps(
    panels, title=None, xlabel="feature", value_range=None, row_labels=None
):
    """Side-by-side heatmaps of 2-D arrays (rows = examples or steps,
    columns = features) on one shared colour scale with a colour bar: what
    vaekit draws for tabular data where images would be tiled.

    Args:
        panels: A list of `(title, array, ylabel)`; `array` is `(rows, D)`.
        title: Figure title.
        xlabel: Label of each panel's x axis.
        value_range: `(low, high)` of the colour scale (default: joint range).
        row_labels: Optional tick labels of the rows, shared by every panel.

    Returns:
        A matplotlib figure.
    """
    plt = pyplot()
    arrays = [np.asarray(a, dtype=np.float32).reshape(len(a), -1) for _, a, _ in panels]
    low, high = value_range or display_range(*arrays)
    width = min(16.0, 2.0 + 3.2 * len(panels))
    height = min(9.0, 2.0 + 0.22 * max(len(a) for a in arrays))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(width, height), squeeze=False, constrained_layout=True
    )
    image = None
    for ax, (name, _, ylabel), array in zip(axes[0], panels, arrays, strict=True):
        image = ax.imshow(
            array,
            aspect="auto",
            cmap="viridis",
            vmin=low,
            vmax=high,
            interpolation="nearest",
        )
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if row_labels is not None:
            # at most MAX_TICKS labelled rows, evenly spread (a traversal of
            # thousands of values would otherwise make a tick per row)
            rows = np.unique(
                np.linspace(0, len(row_labels) - 1, min(len(row_labels), MAX_TICKS))
                .round()
                .astype(int)
            )
            ax.set_yticks(rows, labels=[row_labels[i] for i in rows])
    fig.colorbar(image, ax=axes[0].tolist(), label="value")
    if title:
        fig.suptitle(title)
    return fig


def _categorical(y, max_classes=20):
    if y is None:
        return False
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        return False
    return len(np.unique(y)) <= max_classes


def _is_text(y):
    return np.asarray(y).dtype.kind in "OUS"


def label_text(value):
    """A label as legends and captions show it: `3`, not `3.0`."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def scatter_points(z_mean):
    """`(points (n, 2), axis labels, what)` of the latent scatter."""
    dims = z_mean.shape[1]
    if dims == 1:
        jitter = np.random.default_rng(0).uniform(-0.5, 0.5, len(z_mean))
        points = np.stack([z_mean[:, 0], jitter], axis=1)
        return points, ("z_mean[0]", "random jitter (no meaning)"), "1-D latent space"
    if dims == 2:
        return z_mean, ("z_mean[0]", "z_mean[1]"), "2-D latent space"
    points, _, ratio = principal_components(z_mean, 2)
    if points.shape[1] < 2:  # a single example: one component
        points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
        ratio = np.pad(ratio, (0, 2 - len(ratio)))
    labels = tuple(
        f"PC {i + 1} of z_mean ({100 * r:.0f}% of variance)"
        for i, r in enumerate(ratio[:2])
    )
    return points, labels, f"{dims}-D latent space, first two principal components"


def _legend(ax, plt, points, y, size):
    """Scatters `points` in one colour per class, with a legend."""
    from matplotlib.lines import Line2D

    classes = np.unique(y)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    index = np.searchsorted(classes, y)
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=cmap(index % cmap.N),
        s=size,
        alpha=0.8,
        linewidths=0,
    )
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=cmap(i % cmap.N),
            label=label_text(c),
        )
        for i, c in enumerate(classes)
    ]
    ax.legend(
        handles=handles,
        title="label",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        frameon=False,
    )


def latent_scatter(
    model,
    data,
    y=None,
    title=None,
    condition=None,
    label_column=None,
    split=None,
    missing="error",
):
    """`z_mean` of each example as a point, coloured by label.

    Two latent units are drawn as they are; more are projected on the first
    two principal components of the `z_mean`s (the axes say so, with the
    share of variance each explains); one unit is drawn against a seeded
    vertical jitter. Labels with at most 20 classes (text, an image
    folder's class names, or whole numbers) get a legend naming them, other
    labels a colour bar.

    The points are one scatter collection in the order of the examples:
    `fig.axes[0].collections[0].get_offsets()` are the encoder's outputs
    (or their projection).

    Args:
        model: A `vaekit.VAE` or a `.keras` path.
        data: Examples, `(n, *model.data_shape)`, or a spec or DataFrame
            (see `examples`, which takes `label_column`, `split` and
            `missing`; their labels colour the points).
        y: Optional labels of an array's examples, `(n,)`: numbers or
            class names.
        title: Figure title (default: says what is drawn).
        condition: The labels a conditional model encodes an array with
            (default: `y`).

    Returns:
        A matplotlib figure.

    Raises:
        VaekitError: if `x` does not fit the model or `y` not `x`.
    """
    plt = pyplot()
    model, x, y, condition = examples(
        model, data, y, condition, label_column, split, missing
    )
    z_mean = np.asarray(model.encode(x, condition=condition)[0], dtype=np.float64)
    n = len(z_mean)
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if len(y) != n:
            raise InvalidArgument(f"{len(y)} labels for {n} examples")
    points, labels, what = scatter_points(z_mean)
    fig, ax = plt.subplots(figsize=(7.5, 6), constrained_layout=True)
    size = float(np.clip(20000.0 / max(n, 1), 4.0, 30.0))
    if y is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.7, linewidths=0)
    elif _categorical(y):
        _legend(ax, plt, points, y, size)
    else:
        # Many text labels: coloured by their place in the sorted names.
        text = _is_text(y)
        colour = np.unique(y, return_inverse=True)[1] if text else y
        artist = ax.scatter(
            points[:, 0],
            points[:, 1],
            c=np.asarray(colour, np.float64).reshape(-1),
            cmap="viridis",
            s=size,
            alpha=0.8,
            linewidths=0,
        )
        fig.colorbar(
            artist, ax=ax, label="label (place in sorted order)" if text else "label"
        )
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or f"z_mean of {n} examples: {what}")
    ax.grid(alpha=0.3)
    return fig


def save_picture(path, picture, scale=None, dpi=100):
    """Writes a picture atomically: a `uint8` array as a pixel-exact PNG
    (upscaled as `vaekit.viz.tiles.png_bytes` says), a matplotlib figure with
    `savefig` (then closes it)."""
    if isinstance(picture, np.ndarray):
        vaekit_io.write_bytes(path, png_bytes(picture, scale))
        return path
    try:
        vaekit_io.save_figure(picture, path, dpi=dpi)
    finally:
        pyplot().close(picture)
    return path
