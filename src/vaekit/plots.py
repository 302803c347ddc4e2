"""Pictures of a VAE and its training run.

Image grids (samples, reconstructions, the latent manifold, traversals,
interpolations) are tiled with numpy and returned as `uint8` arrays, so
thousands of tiles take milliseconds and a notebook can show them with
`plt.imshow`. Matplotlib (Agg backend) draws only what needs axes, legends
or colour bars: the latent scatter, the training curves and the heatmaps
that stand in for image grids when the data are vectors (tabular rows).

`save_picture` writes either kind through `vaekit.files`, atomically.
"""

import csv
import io
import math
import os
import statistics

import numpy as np

from vaekit import VaekitError

PAD_VALUE = 0.5  # grey lines between tiles: visible on dark and light images
PAIR_GAP = 3  # pixels between original-reconstruction pairs
MIN_PICTURE_WIDTH = 500  # grids narrower than this are upscaled (nearest)
MAX_SCALE = 16
MAX_TRAVERSAL_ROWS = 10
# Chollet's blog and the Keras example decode norm.ppf(linspace(0.05, 0.95)):
# Kingma & Welling's appendix figures map a regular grid on the unit square
# through the inverse Gaussian CDF, so equal areas of prior mass get equal
# numbers of tiles.
GRID_QUANTILES = (0.05, 0.95)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- training curves ------------------------------------------------------


def read_history(path):
    """Reads a run's `history.csv` into a dict of float arrays."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    return {
        key: np.array(
            [float(r[key]) if r[key] not in ("", None) else np.nan for r in rows]
        )
        for key in rows[0]
    }


def training_curves(history):
    """Loss, reconstruction and KL per epoch, training and validation.

    Args:
        history: A dict of arrays (see `read_history`) or a path to
            `history.csv`.

    Returns:
        A matplotlib figure with three panels.
    """
    if isinstance(history, (str, os.PathLike)):
        history = read_history(history)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    epochs = history.get("epoch", np.arange(1, len(history.get("loss", [])) + 1))
    # A line needs two epochs; mark the points so a short run still shows.
    marker = "o" if len(epochs) < 10 else None
    for ax, key, title in zip(
        axes,
        ("loss", "reconstruction", "kl"),
        (
            "loss (negative ELBO, or IW bound)",
            "reconstruction (-log p(x|z))",
            "KL(q(z|x) || p(z))",
        ),
        strict=True,
    ):
        if key in history:
            ax.plot(epochs, history[key], marker=marker, label="training")
        if f"val_{key}" in history and np.isfinite(history[f"val_{key}"]).any():
            ax.plot(epochs, history[f"val_{key}"], marker=marker, label="validation")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per example")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", transform=ax.transAxes)
    return fig


# -- tiling -----------------------------------------------------------------


def is_image_shape(shape):
    """True for `(H, W)` and `(H, W, C)` with 1, 3 or 4 channels: data that
    can be drawn as pictures. Anything else is drawn as vectors."""
    shape = tuple(shape)
    return len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3, 4))


def _image_batch(images):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise VaekitError(
            f"expected a batch of images of shape (n, H, W[, C]), got {images.shape}"
        )
    return images


def tile_position(index, ncols, tile_shape, padding=1):
    """`(top, left)` pixel of tile `index` in a grid made by `tile_images`."""
    row, col = divmod(int(index), int(ncols))
    height, width = tile_shape[:2]
    return padding + row * (height + padding), padding + col * (width + padding)


def tile_images(images, ncols=None, padding=1, pad_value=PAD_VALUE):
    """Tiles a batch of images into one image, row by row.

    Pure numpy (one reshape and transpose), so it is fast for thousands of
    tiles. Tile `i` sits at `tile_position(i, ncols, (H, W), padding)`;
    `padding` pixels of `pad_value` separate the tiles and frame the grid.

    Args:
        images: `(n, H, W)` or `(n, H, W, C)` floats.
        ncols: Tiles per row (default: `ceil(sqrt(n))`).
        padding: Pixels between tiles.
        pad_value: Value of the padding (and of empty cells).

    Returns:
        A float32 array `(rows * (H + p) + p, ncols * (W + p) + p, C)`.
    """
    images = _image_batch(images)
    n, height, width, channels = images.shape
    if n == 0:
        raise VaekitError("no images to tile")
    ncols = int(ncols or math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    cells = np.full(
        (nrows * ncols, height + padding, width + padding, channels),
        pad_value,
        dtype=np.float32,
    )
    cells[:n, padding:, padding:] = images
    grid = (
        cells.reshape(nrows, ncols, height + padding, width + padding, channels)
        .transpose(0, 2, 1, 3, 4)
        .reshape(nrows * (height + padding), ncols * (width + padding), channels)
    )
    return np.pad(grid, ((0, padding), (0, padding), (0, 0)), constant_values=pad_value)


def display_range(*arrays):
    """`(low, high)` used to map data values to grey levels: `(0, 1)` when
    every value lies in [0, 1] (scaled images, Bernoulli means), else the
    joint minimum and maximum, so originals and reconstructions share one
    scale."""
    low = min(float(np.min(a)) for a in arrays)
    high = max(float(np.max(a)) for a in arrays)
    if low >= -1e-6 and high <= 1 + 1e-6:
        return 0.0, 1.0
    if high <= low:
        return low, low + 1.0
    return low, high


def to_uint8(image, value_range=(0.0, 1.0)):
    """Maps floats in `value_range` to 0..255 (clipping); one channel becomes
    a 2-D greyscale array."""
    low, high = value_range
    scaled = (np.asarray(image, dtype=np.float32) - low) / (high - low)
    out = np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)
    if out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    return out


def _normalise(images, value_range):
    low, high = value_range
    return (np.asarray(images, dtype=np.float32) - low) / (high - low)


# -- checks -------------------------------------------------------------------


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise VaekitError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise VaekitError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_data(model, x, source="data"):
    from vaekit.data import fit_to_shape

    return fit_to_shape(x, model.data_shape, source)


# -- vectors (tabular data) ---------------------------------------------------


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


def sample_grid(model, n=64, seed=0, temperature=1.0, ncols=None):
    """Draws `n` codes from the prior `N(0, temperature^2 I)` and decodes them.

    Returns:
        For image data, a `uint8` grid of the `n` decoded means (`ncols` per
        row, default `ceil(sqrt(n))`); for vectors, a figure with a heatmap
        of the samples.
    """
    n = _positive_int(n, "n")
    if not np.isfinite(temperature) or temperature < 0:
        raise VaekitError(
            f"temperature must be a finite number >= 0, got {temperature}"
        )
    samples = model.sample(n, seed=seed, temperature=temperature)
    if not is_image_shape(model.data_shape):
        return vector_heatmaps(
            [("decoded samples", samples, "sample")],
            title=f"{n} samples from the prior (temperature {temperature:g})",
        )
    return to_uint8(tile_images(_normalise(samples, display_range(samples)), ncols))


def reconstruction_grid(model, x, n=16, pairs_per_row=None):
    """Originals beside their reconstructions, the mean of p(x|z) at
    `z = z_mean` (no sampling noise).

    For images, each pair is one tile of shape `(H, 2 W + 1)`: the original,
    a 1-pixel line, the reconstruction. Pairs are tiled `pairs_per_row` to a
    row with `PAIR_GAP` pixels between them, so example `i`'s original sits
    at `tile_position(i, pairs_per_row, (H, 2 W + 1), PAIR_GAP)` and its
    reconstruction `W + 1` pixels to the right: each pair's left column
    holds the inputs. Originals and reconstructions share one grey scale.

    Args:
        model: A `vaekit.VAE`.
        x: Examples, `(m, *model.data_shape)`; the first `min(n, m)` are drawn.
        n: Number of examples.
        pairs_per_row: Pairs per row of the grid (default `ceil(sqrt(n))`).

    Returns:
        A `uint8` image for image data; a figure of two heatmaps for vectors.
    """
    n = _positive_int(n, "n")
    x = _check_data(model, x)[:n]
    n = len(x)
    recon = np.asarray(model.reconstruct(x), dtype=np.float32).reshape(x.shape)
    value_range = display_range(x, recon)
    if not is_image_shape(model.data_shape):
        return vector_heatmaps(
            [("originals", x, "example"), ("reconstructions", recon, "example")],
            title="originals and their reconstructions (mean of p(x|z=z_mean))",
            value_range=value_range,
        )
    pairs = int(pairs_per_row or math.ceil(math.sqrt(n)))
    originals = _image_batch(_normalise(x, value_range))
    line = np.full((*originals.shape[:2], 1, originals.shape[3]), PAD_VALUE, np.float32)
    tiles = np.concatenate(
        [originals, line, _image_batch(_normalise(recon, value_range))], axis=2
    )
    return to_uint8(tile_images(tiles, pairs, padding=PAIR_GAP))


# -- the latent space ---------------------------------------------------------


def principal_components(z, k=2):
    """Projects `z` (n, d) onto its first `k` principal components.

    Signs are fixed so that each component's largest loading is positive
    (as scikit-learn's `svd_flip`), making the picture deterministic.

    Returns:
        `(projection (n, k), components (k, d), explained_variance_ratio (k,))`.
    """
    z = np.asarray(z, dtype=np.float64)
    centred = z - z.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:k]
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1.0
    vt = vt * signs[:, None]
    total = float((singular**2).sum())
    ratio = (singular[:k] ** 2) / total if total > 0 else np.zeros(len(vt))
    return centred @ vt.T, vt, ratio


def _categorical(y, max_classes=20):
    if y is None:
        return False
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        return False
    return len(np.unique(y)) <= max_classes


def latent_scatter(model, x, y=None, title=None):
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

    Returns:
        A matplotlib figure.
    """
    plt = _pyplot()
    x = _check_data(model, x)
    z_mean, _ = model.encode(x)
    z_mean = np.asarray(z_mean, dtype=np.float64)
    n, dims = z_mean.shape
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if len(y) != n:
            raise VaekitError(f"{len(y)} labels for {n} examples")
    if dims == 1:
        jitter = np.random.default_rng(0).uniform(-0.5, 0.5, n)
        points = np.stack([z_mean[:, 0], jitter], axis=1)
        labels = ("z_mean[0]", "random jitter (no meaning)")
        what = "1-D latent space"
    elif dims == 2:
        points = z_mean
        labels = ("z_mean[0]", "z_mean[1]")
        what = "2-D latent space"
    else:
        points, _, ratio = principal_components(z_mean, 2)
        if points.shape[1] < 2:  # a single example: one component
            points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
            ratio = np.pad(ratio, (0, 2 - len(ratio)))
        labels = tuple(
            f"PC {i + 1} of z_mean ({100 * r:.0f}% of variance)"
            for i, r in enumerate(ratio[:2])
        )
        what = f"{dims}-D latent space, first two principal components"
    fig, ax = plt.subplots(figsize=(7.5, 6), constrained_layout=True)
    size = float(np.clip(20000.0 / max(n, 1), 4.0, 30.0))
    if y is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.7, linewidths=0)
    elif _categorical(y):
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
        from matplotlib.lines import Line2D

        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color=cmap(i % cmap.N),
                label=_label_text(c),
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


def _label_text(value):
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value)


def latent_activity(model, x=None, grid=15):
    """How much each latent unit is used, for ranking traversal rows.

    With data, the variance over `x` of each unit's `z_mean`: Burda et al.'s
    activity statistic (a unit is active above 0.01). Without data, the
    decoder's sensitivity: the mean variance of the decoded output as the
    unit alone moves along the traversal values, the others at 0.

    Returns:
        A float array of shape `(latent_dim,)`.
    """
    if x is not None:
        x = _check_data(model, x)
        z_mean, _ = model.encode(x)
        return np.asarray(z_mean, dtype=np.float64).var(axis=0)
    values = grid_values(grid)
    codes = np.zeros((model.latent_dim, len(values), model.latent_dim), np.float32)
    for unit in range(model.latent_dim):
        codes[unit, :, unit] = values
    decoded = np.asarray(model.decode(codes.reshape(-1, model.latent_dim)))
    decoded = decoded.reshape(model.latent_dim, len(values), -1)
    return decoded.var(axis=1).mean(axis=1).astype(np.float64)


def grid_values(grid=15):
    """`grid` latent values through the inverse Gaussian CDF: equally spaced
    quantiles from 5% to 95% of N(0, 1)."""
    grid = _positive_int(grid, "grid", 2)
    normal = statistics.NormalDist()
    return np.array(
        [normal.inv_cdf(p) for p in np.linspace(*GRID_QUANTILES, grid)],
        dtype=np.float32,
    )


def manifold_layout(model, grid=15, x=None, rows=None):
    """The latent codes that `manifold` decodes.

    Returns:
        A dict with `kind` (`"grid"` or `"traversal"`), `z` of shape
        `(rows, grid, latent_dim)`, `values` (the `grid` latent values) and
        `units`: for a grid (2-D latent space, image data), `(0, 1)` (z[0] rises left to right, z[1] bottom
        to top, as in the latent scatter); for a traversal, the unit moved
        in each row, the most active first (see `latent_activity`).
    """
    values = grid_values(grid)
    dims = model.latent_dim
    if dims == 2 and is_image_shape(model.data_shape):
        z = np.zeros((len(values), len(values), 2), np.float32)
        z[:, :, 0] = values[None, :]
        z[:, :, 1] = values[::-1, None]
        return {"kind": "grid", "z": z, "values": values, "units": (0, 1)}
    if rows is None:
        rows = min(dims, MAX_TRAVERSAL_ROWS)
    rows = min(_positive_int(rows, "rows"), dims)
    activity = latent_activity(model, x, grid)
    units = tuple(int(u) for u in np.argsort(-activity, kind="stable")[:rows])
    z = np.zeros((len(units), len(values), dims), np.float32)
    for row, unit in enumerate(units):
        z[row, :, unit] = values
    return {
        "kind": "traversal",
        "z": z,
        "values": values,
        "units": units,
        "activity": activity,
    }


def manifold(model, grid=15, x=None, rows=None, layout=None):
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
        layout: A `manifold_layout` result to decode (default: computed).

    Returns:
        A `uint8` image for image data; for vectors (always a traversal),
        a figure with one heatmap (value x feature) per unit.
    """
    layout = layout or manifold_layout(model, grid, x, rows)
    z = layout["z"]
    n_rows, n_cols, dims = z.shape
    decoded = np.asarray(model.decode(z.reshape(-1, dims)), dtype=np.float32)
    if not is_image_shape(model.data_shape):
        decoded = decoded.reshape(n_rows, n_cols, -1)
        return vector_heatmaps(
            [
                (f"moving z[{unit}]", rows_, "value of the unit")
                for unit, rows_ in zip(layout["units"], decoded, strict=True)
            ],
            title="decoded means along latent traversals (other units at 0)",
            value_range=display_range(decoded),
            row_labels=[f"{v:.2f}" for v in layout["values"]],
        )
    return to_uint8(tile_images(_normalise(decoded, display_range(decoded)), n_cols))


# -- interpolation ------------------------------------------------------------


def slerp(a, b, t):
    """Spherical linear interpolation between vectors `a` and `b` at
    fractions `t` (White 2016, "Sampling Generative Networks"); falls back
    to linear interpolation when they are (anti)parallel or one is zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[:, None]
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return (1 - t) * a + t * b
    omega = np.arccos(np.clip(np.dot(a, b) / norms, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def interpolation_codes(z_from, z_to, steps=10, method="linear"):
    """`steps` codes from `z_from` to `z_to` (both ends included)."""
    steps = _positive_int(steps, "steps", 2)
    t = np.linspace(0.0, 1.0, steps)
    z_from = np.asarray(z_from, dtype=np.float64)
    z_to = np.asarray(z_to, dtype=np.float64)
    if method == "linear":
        return ((1 - t[:, None]) * z_from + t[:, None] * z_to).astype(np.float32)
    if method == "slerp":
        return slerp(z_from, z_to, t).astype(np.float32)
    raise VaekitError(f"unknown interpolation {method!r}: use linear or slerp")


def interpolation(model, x_from, x_to, steps=10, method="linear"):
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

    Returns:
        A `uint8` image for image data; for vectors, a heatmap figure.
    """
    pair = _check_data(model, np.stack([np.asarray(x_from), np.asarray(x_to)]))
    z_mean, _ = model.encode(pair)
    codes = interpolation_codes(z_mean[0], z_mean[1], steps, method)
    decoded = np.asarray(model.decode(codes), dtype=np.float32).reshape(
        (len(codes), *pair.shape[1:])
    )
    tiles = np.concatenate([pair[:1], decoded, pair[1:]])
    value_range = display_range(tiles)
    if not is_image_shape(model.data_shape):
        return vector_heatmaps(
            [("original, decoded path, original", tiles, "")],
            title=f"{method} interpolation between two encodings",
            value_range=value_range,
            row_labels=["from"]
            + [f"t = {t:.2f}" for t in np.linspace(0, 1, len(codes))]
            + ["to"],
        )
    return to_uint8(tile_images(_normalise(tiles, value_range), len(tiles)))


# -- writing --------------------------------------------------------------------


def picture_scale(image, min_width=MIN_PICTURE_WIDTH):
    """The integer upscaling `save_picture` applies to a grid of this size."""
    width = np.asarray(image).shape[1]
    return int(min(MAX_SCALE, max(1, math.ceil(min_width / max(width, 1)))))


def png_bytes(image, scale=None):
    """PNG bytes of a `uint8` image, upscaled by an integer factor with
    nearest-neighbour repetition (default: `picture_scale`)."""
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise VaekitError(f"expected a uint8 image, got dtype {image.dtype}")
    scale = picture_scale(image) if scale is None else int(scale)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def save_picture(path, picture, scale=None, dpi=100):
    """Writes a picture atomically: a `uint8` array as a pixel-exact PNG
    (upscaled as `png_bytes` says), a matplotlib figure with `savefig`
    (then closes it)."""
    from vaekit import files

    if isinstance(picture, np.ndarray):
        files.write_bytes(path, png_bytes(picture, scale))
        return path
    try:
        files.save_figure(picture, path, dpi=dpi)
    finally:
        _pyplot().close(picture)
    return path


# -- a run's pictures -----------------------------------------------------------

PLOTS_INDEX = "index.json"


def _quantile_text(values):
    return (
        f"the {100 * GRID_QUANTILES[0]:.0f}%..{100 * GRID_QUANTILES[1]:.0f}% "
        f"quantiles of N(0, 1), z = {values[0]:.2f}..{values[-1]:.2f}"
    )


def _interpolation_ends(y, n):
    """Example 0 and the first example with another label (else 1)."""
    if y is not None:
        others = np.flatnonzero(
            np.asarray(y).reshape(-1) != np.asarray(y).reshape(-1)[0]
        )
        if len(others):
            return 0, int(others[0])
    return 0, 1 if n > 1 else 0


def write_run_pictures(run, model, x=None, y=None, grid=15, n_samples=64, n_pairs=16):
    """Draws every picture that fits the data into `RUN/plots/`, with an
    `index.json` of titles and captions that `vaekit.report` reads.

    Training curves need `RUN/history.csv`; the latent scatter,
    reconstructions and interpolation need held-out examples `x`; samples
    and the manifold (or traversal) need only the model.

    Args:
        run: The run folder.
        model: The trained `vaekit.VAE`.
        x: Held-out examples (may be None or empty).
        y: Their labels, or None.
        grid: Tiles per row of the manifold.
        n_samples: Number of prior samples.
        n_pairs: Number of reconstructed examples.

    Returns:
        The list of index entries: dicts with `file`, `title`, `caption`.
    """
    from vaekit import files

    folder = os.path.join(run, "plots")
    entries = []

    def save(name, picture, title, caption):
        save_picture(os.path.join(folder, name), picture)
        entries.append(
            {
                "file": name,
                "title": title,
                "caption": caption,
                "pixels": isinstance(picture, np.ndarray),
            }
        )

    history = os.path.join(run, "history.csv")
    if os.path.isfile(history) and read_history(history):
        save(
            "training_curves.png",
            training_curves(history),
            "Training curves",
            "Loss (the negative ELBO), reconstruction term and KL term in nats per "
            "example after each epoch, on the training data and the validation "
            "split.",
        )
    has_data = x is not None and len(x) > 0
    images = is_image_shape(model.data_shape)
    if has_data:
        x = _check_data(model, x)
        if y is not None and len(y) != len(x):
            y = None
        projection = (
            "its two units"
            if model.latent_dim <= 2
            else f"the first two principal components of the {model.latent_dim} units"
        )
        save(
            "latent.png",
            latent_scatter(model, x, y),
            "Latent space",
            f"z_mean of each of the {len(x)} held-out examples, drawn on {projection}"
            + (", coloured by label." if y is not None else "."),
        )
    layout = manifold_layout(model, grid, x if has_data else None)
    if layout["kind"] == "grid":
        caption = (
            f"Decoded means over a {grid}x{grid} grid of latent codes at "
            f"{_quantile_text(layout['values'])} (the inverse Gaussian CDF of a "
            "regular grid, as in Kingma & Welling's appendix figures). z[0] rises "
            "left to right and z[1] bottom to top, as in the latent scatter."
        )
        title = "Latent manifold"
    else:
        ranking = (
            "variance of z_mean over the held-out data"
            if has_data
            else "the decoder's sensitivity"
        )
        units = ", ".join(
            f"z[{u}] ({layout['activity'][u]:.3g})" for u in layout["units"]
        )
        caption = (
            f"Latent traversals: each {'row' if images else 'panel'} moves one "
            f"latent unit over {_quantile_text(layout['values'])}, the other units "
            f"held at 0. The {len(layout['units'])} most active of "
            f"{model.latent_dim} units by {ranking}, top to bottom: {units}."
        )
        title = "Latent traversals"
    save("manifold.png", manifold(model, layout=layout), title, caption)
    save(
        "samples.png",
        sample_grid(model, n_samples, seed=0),
        "Samples",
        f"{n_samples} codes drawn from the prior N(0, I) and decoded (the mean of "
        "p(x|z), no pixel noise).",
    )
    if has_data:
        n = min(n_pairs, len(x))
        save(
            "reconstructions.png",
            reconstruction_grid(model, x, n),
            "Reconstructions",
            (
                f"{n} held-out examples, each original (left of a pair) beside its "
                "reconstruction (right), the mean of p(x|z) at z = z_mean."
                if images
                else f"{n} held-out examples (left) and their reconstructions "
                "(right), the mean of p(x|z) at z = z_mean."
            ),
        )
    if has_data and len(x) > 1:
        i, j = _interpolation_ends(y, len(x))
        steps = 10

        def name(k):
            return f"#{k}" + (f" (label {_label_text(y[k])})" if y is not None else "")

        save(
            "interpolation.png",
            interpolation(model, x[i], x[j], steps),
            "Interpolation",
            f"Held-out example {name(i)}, then {steps} decoded codes on the straight "
            f"line from its z_mean to that of example {name(j)}, then example "
            f"{name(j)} itself.",
        )
    files.write_json(os.path.join(folder, PLOTS_INDEX), {"pictures": entries})
    return entries
