"""What the decoder draws: prior samples, reconstructions, the latent
manifold (or traversals), interpolations.

For image data each is a `uint8` grid tiled by `vaekit.viz.tiles` (numpy,
milliseconds for thousands of tiles; a notebook shows it with
`plt.imshow`); for vectors (table rows), a heatmap figure. Each takes the
model as a `VAE` or a `.keras` path.
"""

import numpy as np

from vaekit import checks
from vaekit.data import fit_to_shape
from vaekit.errors import InvalidArgument
from vaekit.model import load_model
from vaekit.viz.figures import examples, vector_heatmaps
from vaekit.viz.latent import interpolation_codes, manifold_layout
from vaekit.viz.tiles import display_range, image_grid, is_image_shape, pair_grid

__all__ = [
    "interpolate",
    "interpolation",
    "manifold",
    "reconstruction_grid",
    "sample_grid",
]


def sample_grid(
    model,
    n=64,
    seed=0,
    temperature=1.0,
    ncols=None,
    condition=None,
    label=None,
    draw=None,
):
    """Draws `n` codes from the model's prior (scales times `temperature`)
    and decodes them (a conditional model: under `condition`, one value for
    all or one per sample, or `label`, a class name or index; default: the
    classes in turn, see `VAE.default_condition`); `draw` as in `VAE.sample`
    (images show the means by default).

    Returns:
        For image data, a `uint8` grid of the `n` decoded means (`ncols` per
        row, default `ceil(sqrt(n))`); for vectors, a figure with a heatmap
        of the samples.

    Raises:
        InvalidArgument: if `n` is not an integer >= 1 or `temperature` is
            not a finite number >= 0.
    """
    n = checks.integer(n, "n")
    temperature = checks.number(temperature, "temperature", minimum=0)
    model = load_model(model)
    named = ""
    if label is not None:
        condition = model.label_condition(label)
        named = f", label {model.class_name_of(condition)}"
    samples = model.sample(
        n, seed=seed, temperature=temperature, condition=condition, draw=draw
    )
    if not is_image_shape(model.data_shape):
        return vector_heatmaps(
            [("decoded samples", samples, "sample")],
            title=f"{n} samples from the prior (temperature {temperature:g}{named})",
        )
    return image_grid(samples, ncols)


def reconstruction_grid(
    model,
    data,
    n=16,
    pairs_per_row=None,
    condition=None,
    label_column=None,
    split=None,
    missing="error",
):
    """Originals beside their reconstructions, the mean of p(x|z) at
    `z = z_mean` (no sampling noise).

    For images, a `vaekit.viz.tiles.pair_grid`: each pair's left half is the
    original, its right half the reconstruction, on one grey scale.

    Args:
        model: A `vaekit.VAE` or a `.keras` path.
        data: Examples, `(m, *model.data_shape)`, or a spec or DataFrame
            (see `vaekit.viz.figures.examples`, which takes `label_column`,
            `split` and `missing`); the first `min(n, m)` are drawn.
        n: Number of examples.
        pairs_per_row: Pairs per row of the grid (default `ceil(sqrt(n))`).
        condition: The labels of an array's examples, for a conditional
            model.

    Returns:
        A `uint8` image for image data; a figure of two heatmaps for vectors.

    Raises:
        InvalidArgument: if `n` is not an integer >= 1.
        VaekitError: if the data does not fit the model.
    """
    n = checks.integer(n, "n")
    model, x, _, condition = examples(
        model, data, None, condition, label_column, split, missing
    )
    x = x[:n]
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


def manifold(
    model,
    grid=15,
    data=None,
    rows=None,
    layout=None,
    condition=None,
    label=None,
    label_column=None,
    split=None,
    missing="error",
):
    """Decodes the latent manifold into one picture.

    For a 2-D latent space, a `grid x grid` array of decoded means over a
    regular grid mapped through the inverse Gaussian CDF (Kingma & Welling
    2013, appendix figures). For other sizes, a traversal: one row per
    latent unit, the most active first (at most 10 rows), moving that unit
    alone over the same values with the others held at 0.

    Args:
        model: A `vaekit.VAE` or a `.keras` path.
        grid: Tiles per row (values per unit).
        data: Optional examples (an array, a spec or a DataFrame, with
            `label_column`, `split` and `missing`) to rank units by activity
            (else the decoder's sensitivity ranks them).
        rows: Traversal rows (default: all units, at most 10).
        layout: A `vaekit.viz.latent.manifold_layout` result to decode
            (default: computed).
        condition: For a conditional model, the one condition value every
            tile is decoded with, or `label` (a class name or index);
            default: the first class, or the mean condition.

    Returns:
        A `uint8` image for image data; for vectors (always a traversal),
        a figure with one heatmap (value x feature) per unit.
    """
    model = load_model(model)
    if layout is None:
        x = labels = None
        if data is not None:
            model, x, _, labels = examples(
                model, data, None, None, label_column, split, missing
            )
        layout = manifold_layout(model, grid, x, rows, condition=labels)
    if label is not None:
        condition = model.label_condition(label)
    z = layout["z"]
    n_rows, n_cols, dims = z.shape
    labels, named = None, ""
    if model.conditional:
        if condition is None:
            condition = model.default_condition(1)
        if np.size(condition) == 1:
            named = f", label {model.class_name_of(np.ravel(condition)[0])}"
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
        title=f"decoded means along latent traversals (other units at 0{named})",
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
        model: A `vaekit.VAE` or a `.keras` path.
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
        InvalidArgument: if `steps` or `method` is invalid.
    """
    model = load_model(model)
    pair = fit_to_shape(
        np.stack([np.asarray(x_from), np.asarray(x_to)]), model.data_shape
    )
    path = None
    if model.conditional:
        if condition is None:
            raise InvalidArgument(
                "A conditional model needs the labels of the two examples, and "
                "none were given: give the labels of the data"
            )
        condition = model.condition_values(condition).reshape(2, -1)
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


def interpolate(
    model,
    data,
    index_from,
    index_to,
    steps=10,
    method="linear",
    label=None,
    label_column=None,
    split=None,
    missing="error",
):
    """`interpolation` between examples `index_from` and `index_to` of
    `data` (a spec, a DataFrame or an array, read with `label_column`,
    `split` and `missing`): a conditional model encodes each with its own
    label and decodes the path with `label` (default: the first example's).

    Raises:
        InvalidArgument: for an index outside the data.
    """
    model = load_model(model)
    model, x, _, condition = examples(
        model, data, None, None, label_column, split, missing
    )
    for name, index in (("index_from", index_from), ("index_to", index_to)):
        if not 0 <= index < len(x):
            raise InvalidArgument(
                f"{name} {index} is out of range: the data has {len(x)} examples, "
                f"0..{len(x) - 1}"
            )
    pair = None if condition is None else np.asarray(condition)[[index_from, index_to]]
    return interpolation(
        model,
        x[index_from],
        x[index_to],
        steps,
        method,
        condition=pair,
        path_condition=model.label_condition(label),
    )
