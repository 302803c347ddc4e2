"""A run's pictures: every plot that fits the data, drawn into `RUN/plots/`
with an index of titles and captions that `vaekit.viz.report` reads."""

import os

import numpy as np

from vaekit import io as vaekit_io
from vaekit import runs
from vaekit.data import fit_to_shape
from vaekit.evaluation.diagnostics import (
    ACTIVE_UNIT_THRESHOLD,
    COLLAPSE_KL,
    DIAGNOSTIC_EXAMPLES,
)
from vaekit.model.inputs import named_labels
from vaekit.viz.curves import kl_per_unit, training_curves, unit_kl_columns
from vaekit.viz.decoded import (
    interpolation,
    manifold,
    reconstruction_grid,
    sample_grid,
)
from vaekit.viz.figures import label_text, latent_scatter, save_picture
from vaekit.viz.latent import GRID_QUANTILES, manifold_layout
from vaekit.viz.tiles import is_image_shape

__all__ = ["redraw_pictures", "write_run_pictures"]

_INTERPOLATION_STEPS = 10
# Held-out examples drawn at most (a scatter of more is a blot, and larger
# data stays on disk).
PICTURE_EXAMPLES = 10_000


def _quantile_text(values):
    return (
        f"the {100 * GRID_QUANTILES[0]:.0f}%..{100 * GRID_QUANTILES[1]:.0f}% "
        f"quantiles of N(0, 1), z = {values[0]:.2f}..{values[-1]:.2f}"
    )


def _interpolation_ends(y, n):
    """Example 0 and the first example with another label (else 1)."""
    if y is not None:
        y = np.asarray(y).reshape(-1)
        others = np.flatnonzero(y != y[0])
        if len(others):
            return 0, int(others[0])
    return 0, 1 if n > 1 else 0


def _manifold_caption(model, layout, grid, has_data):
    """`(title, caption)` of the manifold or traversal picture."""
    if layout["kind"] == "grid":
        return "Latent manifold", (
            f"Decoded means over a {grid}x{grid} grid of latent codes at "
            f"{_quantile_text(layout['values'])} (the inverse Gaussian CDF of a "
            "regular grid, as in Kingma & Welling's appendix figures). z[0] rises "
            "left to right and z[1] bottom to top, as in the latent scatter."
        )
    ranking = (
        "variance of z_mean over the held-out data"
        if has_data
        else "the decoder's sensitivity"
    )
    units = ", ".join(f"z[{u}] ({layout['activity'][u]:.3g})" for u in layout["units"])
    row = "row" if is_image_shape(model.data_shape) else "panel"
    return "Latent traversals", (
        f"Latent traversals: each {row} moves one latent unit over "
        f"{_quantile_text(layout['values'])}, the other units held at 0. The "
        f"{len(layout['units'])} most active of {model.latent_dim} units by "
        f"{ranking}, top to bottom: {units}."
    )


def _held_out(model, x, y):
    """`(x, y, has_data)`: at most `PICTURE_EXAMPLES` held-out examples read
    into memory (x may be on disk) in the model's shape; a conditional
    model draws only labelled data."""
    if x is None or len(x) == 0:
        return None, None, False
    x = fit_to_shape(x[:PICTURE_EXAMPLES], model.data_shape)
    y = None if y is None else y[:PICTURE_EXAMPLES]
    if y is not None and len(y) != len(x):
        y = None
    return x, y, y is not None or not model.conditional


def _history_pictures(history):
    """The training curves and the KL per unit, where the history has them."""
    if history:
        yield (
            "training_curves.png",
            training_curves(history),
            "Training curves",
            "Loss (the negative ELBO), reconstruction term and KL term in nats per "
            "example after each epoch, on the training data and the validation "
            "split.",
        )
    units = unit_kl_columns(history)
    if units:
        yield (
            "kl_per_unit.png",
            kl_per_unit(history),
            "KL per latent unit",
            f"Left: the KL of each of the {len(units)} latent units, KL(q(z_j|x) || "
            "N(0, 1)) in nats averaged over a fixed subset of up to "
            f"{DIAGNOSTIC_EXAMPLES} training examples, after each epoch; a unit "
            f"that stays dark (below {COLLAPSE_KL:g} nats) carries no information "
            "about x (posterior collapse). Right: the units above that line and "
            "the active units (variance of z_mean over the examples above "
            f"{ACTIVE_UNIT_THRESHOLD:g}, Burda et al. 2015) per epoch.",
        )


def _latent_picture(model, x, y):
    projection = (
        "its two units"
        if model.latent_dim <= 2
        else f"the first two principal components of the {model.latent_dim} units"
    )
    return (
        "latent.png",
        latent_scatter(model, x, y),
        "Latent space",
        f"z_mean of each of the {len(x)} held-out examples, drawn on {projection}"
        + (", coloured by label." if y is not None else "."),
    )


def _decoded_pictures(model, x, y, labels, n_pairs):
    """Reconstructions of held-out examples, and an interpolation between two."""
    n = min(n_pairs, len(x))
    where = (
        ", each original (left of a pair) beside its reconstruction (right)"
        if is_image_shape(model.data_shape)
        else " (left) and their reconstructions (right)"
    )
    yield (
        "reconstructions.png",
        reconstruction_grid(model, x, n, condition=labels),
        "Reconstructions",
        f"{n} held-out examples{where}, the mean of p(x|z) at z = z_mean.",
    )
    if len(x) < 2:
        return
    i, j = _interpolation_ends(y, len(x))

    def name(k):
        return f"#{k}" + (f" (label {label_text(y[k])})" if y is not None else "")

    yield (
        "interpolation.png",
        interpolation(
            model,
            x[i],
            x[j],
            _INTERPOLATION_STEPS,
            condition=None if labels is None else labels[[i, j]],
        ),
        "Interpolation",
        f"Held-out example {name(i)}, then {_INTERPOLATION_STEPS} decoded codes on "
        f"the straight line from its z_mean to that of example {name(j)}, then "
        f"example {name(j)} itself.",
    )


def write_run_pictures(
    run, model, x=None, y=None, grid=15, n_samples=64, n_pairs=16, label_names=None
):
    """Draws every picture that fits the data into `RUN/plots/`, with an
    `index.json` of titles and captions that `vaekit.viz.report` reads.

    Training curves need `RUN/history.csv`; the latent scatter,
    reconstructions and interpolation need held-out examples `x`; samples
    and the manifold (or traversal) need only the model.

    Args:
        run: The run folder.
        model: The trained `vaekit.VAE`.
        x: Held-out examples (may be None or empty; the first
            `PICTURE_EXAMPLES` are drawn).
        y: Their labels, or None.
        grid: Tiles per row of the manifold.
        n_samples: Number of prior samples.
        n_pairs: Number of reconstructed examples.
        label_names: The class names of labels `y` given as their indices
            (an image folder's sub-folders, a table's text labels): the
            pictures name the labels by them.

    Returns:
        The list of index entries: dicts with `file`, `title`, `caption`
        and `pixels` (a pixel-exact grid rather than a figure).
    """
    folder = runs.path(run, runs.PLOTS)
    x, y, has_data = _held_out(model, x, y)
    # The pictures name the labels; the model takes their condition values.
    y = named_labels(y, label_names)
    labels = model.condition_values(y) if model.conditional and has_data else None
    pictures = list(_history_pictures(runs.read_history(run)))
    if has_data:
        pictures.append(_latent_picture(model, x, y))
    layout = manifold_layout(model, grid, x if has_data else None, condition=labels)
    title, caption = _manifold_caption(model, layout, grid, has_data)
    pictures.append(("manifold.png", manifold(model, layout=layout), title, caption))
    pictures.append(
        (
            "samples.png",
            sample_grid(model, n_samples, seed=0),
            "Samples",
            f"{n_samples} codes drawn from the prior and decoded (the mean "
            "of p(x|z), no pixel noise).",
        )
    )
    if has_data:
        pictures.extend(_decoded_pictures(model, x, y, labels, n_pairs))
    entries = []
    for name, picture, title, caption in pictures:
        save_picture(os.path.join(folder, name), picture)
        pixels = isinstance(picture, np.ndarray)
        entries.append(
            {"file": name, "title": title, "caption": caption, "pixels": pixels}
        )
    vaekit_io.write_json(os.path.join(folder, runs.PLOTS_INDEX), {"pictures": entries})
    return entries


def redraw_pictures(run):
    """Draws `RUN/plots/` again from `RUN/model.keras`, on the held-out part
    of the data that `RUN/config.toml` names (as training split it).

    Raises:
        VaekitError: if the run's config, model or data cannot be read.
    """
    from vaekit import data as data_lib
    from vaekit.model import load_model

    config = runs.load_config(run)
    model = load_model(runs.path(run, runs.MODEL))
    _, splits = data_lib.run_data(config)
    write_run_pictures(run, model, *splits.evaluation, label_names=splits.label_names)
