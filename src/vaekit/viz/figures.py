"""Pictures of a VAE: samples, reconstructions, the latent space, traversals,
interpolations (the training curves are in `vaekit.viz.curves`).

For image data the decoded pictures are `uint8` grids tiled by
`vaekit.viz.tiles` (numpy, milliseconds for thousands of tiles; a notebook shows
them with `plt.imshow`). Matplotlib (Agg backend) draws only what needs axes,
legends or colour bars: the latent scatter, the training curves and the
heatmaps that stand in for image grids when the data are vectors (tabular
rows). `save_picture` writes either kind through `vaekit.io`, atomically.
"""

import numpy as np

from vaekit import VaekitError, checks
from vaekit import io as files
from vaekit.data import fit_to_shape
from vaekit.viz.latent import interpolation_codes, manifold_layout, principal_components
from vaekit.viz.tiles import (
    display_range,
    image_grid,
    is_image_shape,
    pair_grid,
    png_bytes,
)

__all__ = [
    "interpolation",
    "label_text",
    "latent_scatter",
    "manifold",
    "reconstruction_grid",
    "sample_grid",
    "save_picture",
    "vector_heatmaps",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
    plt = _pyplot()
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
            ax.set_yticks(np.arange(len(row_labels)), labels=row_labels)
    fig.colorbar(image, ax=axes[0].tolist(), label="value")
    if title:
        fig.suptitle(title)
    return fig


# -- samples and reconstructions ---------------------------------------------


def sample_grid(model, n=64, seed=0, temperature=1.0, ncols=None, condition=None):
    """Draws `n` codes from the prior `N(0, temperature^2 I)` and decodes them
    (a conditional model: under `condition`, one label for all or one per
    sample; default: the classes in turn, see `VAE.default_condition`).

    Returns:
        For image data, a `uint8` grid of the `n` decoded means (`ncols` per
        row, default `ceil(sqrt(n))`); for vectors, a figure with a heatmap
        of the samples.

    Raises:
        ValueError: if `n` is not an integer >= 1 or `temperature` is not a
            finite number >= 0.
    """
    n = checks.integer(n, "n")
    temperature = checks.number(temperature, "temperature", minimum=0)
    samples = model.sample(n, seed=seed, temperature=temperature, condition=condition)
    if not is_image_shape(model.data_shape):
        return vector_heatmaps(
            [("decoded samples", samples, "sample")],
            title=f"{n} samples from the prior (temperature {temperature:g})",
        )
    return image_grid(samples, ncols)


def reconstruction_grid(model, x, n=16, pairs_per_row=None, condition=None):
    """Originals beside their reconstructions, the mean of p(x|z) at
    `z = z_mean` (no sampling noise).

    For images, a `vaekit.viz.tiles.pair_grid`: each pair's left half is the
    original, its right half the reconstruction, on one grey scale.

    Args:
        model: A `vaekit.VAE`.
        x: Examples, `(m, *model.data_shape)`; the first `min(n, m)` are drawn.
        n: Number of examples.
        pairs_per_row: Pairs per row of the grid (default `ceil(sqrt(n))`).
        condition: The labels of `x`, for a conditional model.

    Returns:
        A `uint8` image for image data; a figure of two heatmaps for vectors.

    Raises:
        ValueError: if `n` is not an integer >= 1.
        VaekitError: if `x` does not fit the model.
    """
    n = checks.integer(n, "n")
    x = fit_to_shape(x, model.data_shape)[:n]
    if condition is not None:
        condition = np.asarray(condition)[:n]
    recon = np.asarray(
        model.reconstruct(x, condition=condition), dtype=np.float32
    ).reshape(x.shape)
    value_range = display_range(x, recon)
    if not is_image_shape(model.data_shape):
        return vector_heatmaps(
            [("originals", x, "example"), ("reconstructions", recon, "example")],
            title="originals and their reconstructions (mean of p(x|z=z_mean))",
            value_range=value_range,
        )
    return pair_grid(x, recon, pairs_per_row, value_range)


# -- the latent space ---------------------------------------------------------


def _categorical(y, max_classes=20):
    if y is None:
        return False
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        return False
    return len(np.unique(y)) <= max_classes


def label_text(value):
    """A label as legends and captions show it: `3`, not `3.0`."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value)


def _scatter_points(z_mean):
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


def latent_scatter(model, x, y=None, title=None, condition=None):
    """`z_mean` of each example as a point, coloured by label.

    Two latent units are drawn as they are; more are projected on the first
    two principal components of the `z_mean`s (the axes say so, with the
    share of variance each explains); one unit is drawn against a seeded
    vertical jitter. Integer labels with at most 20 classes get a legend,
    other labels a colour bar.

    The points are one scatter collection in the order of `x`:
    `fig.axes[0].collections[0].get_offsets()` are the encoder's outputs
    (or their projection).

    Args:
        model: A `vaekit.VAE`.
        x: Examples, `(n, *model.data_shape)`.
        y: Optional labels, `(n,)`.
        title: Figure title (default: says what is drawn).
        condition: The labels a conditional model encodes `x` with
            (default: `y`).

    Returns:
        A matplotlib figure.

    Raises:
        VaekitError: if `x` does not fit the model or `y` not `x`.
    """
    plt = _pyplot()
    x = fit_to_shape(x, model.data_shape)
    if condition is None and model.conditional:
        condition = y
    z_mean = np.asarray(model.encode(x, condition=condition)[0], dtype=np.float64)
    n = len(z_mean)
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if len(y) != n:
            raise VaekitError(f"{len(y)} labels for {n} examples")
    points, labels, what = _scatter_points(z_mean)
    fig, ax = plt.subplots(figsize=(7.5, 6), constrained_layout=True)
    size = float(np.clip(20000.0 / max(n, 1), 4.0, 30.0))
    if y is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.7, linewidths=0)
    elif _categorical(y):
        _legend(ax, plt, points, y, size)
    else:
        artist = ax.scatter(
            points[:, 0],
            points[:, 1],
            c=y.astype(np.float64),
            cmap="viridis",
            s=size,
            alpha=0.8,
            linewidths=0,
        )
        fig.colorbar(artist, ax=ax, label="label")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or f"z_mean of {n} examples: {what}")
    ax.grid(alpha=0.3)
    return fig


def manifold(model, grid=15, x=None, rows=None, layout=None, condition=None):
    """Decodes the latent manifold into one picture.

    For a 2-D latent space, a `grid x grid` array of decoded means over a
    regular grid mapped through the inverse Gaussian CDF (Kingma & Welling
    2013, appendix figures). For other sizes, a traversal: one row per
    latent unit, the most active first (at most 10 rows), moving that unit
    alone over the same values with the others held at 0.

    Args:
        model: A `vaekit.VAE`.
        grid: Tiles per row (values per unit).
        x: Optional data to rank units by activity (else the decoder's
            sensitivity ranks them).
        rows: Traversal rows (default: all units, at most 10).
        layout: A `vaekit.viz.latent.manifold_layout` result to decode
            (default: computed).
        condition: For a conditional model, the one label every tile is
            decoded with (default: the first class, or the mean condition).

    Returns:
        A `uint8` image for image data; for vectors (always a traversal),
        a figure with one heatmap (value x feature) per unit.
    """
    layout = layout or manifold_layout(model, grid, x, rows)
    z = layout["z"]
    n_rows, n_cols, dims = z.shape
    labels = None
    if model.conditional:
        if condition is None:
            condition = model.default_condition(1)
        labels = np.repeat(
            np.asarray(condition, np.float32).reshape(1, -1), n_rows * n_cols, axis=0
        )
    decoded = np.asarray(
        model.decode(z.reshape(-1, dims), condition=labels), dtype=np.float32
    )
    if is_image_shape(model.data_shape):
        return image_grid(decoded, n_cols)
    decoded = decoded.reshape(n_rows, n_cols, -1)
    return vector_heatmaps(
        [
            (f"moving z[{unit}]", unit_rows, "value of the unit")
            for unit, unit_rows in zip(layout["units"], decoded, strict=True)
        ],
        title="decoded means along latent traversals (other units at 0)",
        value_range=display_range(decoded),
        row_labels=[f"{v:.2f}" for v in layout["values"]],
    )


def interpolation(
    model, x_from, x_to, steps=10, method="linear", condition=None, path_condition=None
):
    """Decodes the path between the encodings (`z_mean`) of two examples.

    For images, one row: the original `x_from`, the `steps` decoded codes
    from `z_mean(x_from)` to `z_mean(x_to)` (both ends included), then the
    original `x_to`; all on one grey scale.

    Args:
        model: A `vaekit.VAE`.
        x_from: One example of shape `model.data_shape`.
        x_to: Another.
        steps: Number of decoded codes, >= 2.
        method: `"linear"` or `"slerp"` (spherical).
        condition: For a conditional model, `(y_from, y_to)`, the labels
            the two examples are encoded with; the path is decoded with
            `path_condition` (default: `y_from`).
        path_condition: See `condition`.

    Returns:
        A `uint8` image for image data; for vectors, a heatmap figure.

    Raises:
        ValueError: if `steps` or `method` is invalid.
    """
    pair = fit_to_shape(
        np.stack([np.asarray(x_from), np.asarray(x_to)]), model.data_shape
    )
    path = None
    if model.conditional:
        if condition is None:
            raise ValueError(
                "A conditional model needs the labels (y_from, y_to) of the two "
                "examples: pass condition"
            )
        condition = np.asarray(condition, np.float32).reshape(2, -1)
        first = condition[:1] if path_condition is None else path_condition
        path = np.repeat(np.asarray(first, np.float32).reshape(1, -1), steps, axis=0)
    z_mean, _ = model.encode(pair, condition=condition)
    codes = interpolation_codes(z_mean[0], z_mean[1], steps, method)
    decoded = np.asarray(model.decode(codes, condition=path), dtype=np.float32).reshape(
        (len(codes), *pair.shape[1:])
    )
    tiles = np.concatenate([pair[:1], decoded, pair[1:]])
    if is_image_shape(model.data_shape):
        return image_grid(tiles, len(tiles))
    return vector_heatmaps(
        [("original, decoded path, original", tiles, "")],
        title=f"{method} interpolation between two encodings",
        value_range=display_range(tiles),
        row_labels=["from"]
        + [f"t = {t:.2f}" for t in np.linspace(0, 1, len(codes))]
        + ["to"],
    )


def save_picture(path, picture, scale=None, dpi=100):
    """Writes a picture atomically: a `uint8` array as a pixel-exact PNG
    (upscaled as `vaekit.viz.tiles.png_bytes` says), a matplotlib figure with
    `savefig` (then closes it)."""
    if isinstance(picture, np.ndarray):
        files.write_bytes(path, png_bytes(picture, scale))
        return path
    try:
        files.save_figure(picture, path, dpi=dpi)
    finally:
        _pyplot().close(picture)
    return path
