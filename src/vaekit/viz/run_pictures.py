"""A run's pictures: every plot that fits the data, drawn into `RUN/plots/`
with an index of titles and captions that `vaekit.viz.report` reads."""

import os

import numpy as np

from vaekit import io as files
from vaekit import runs
from vaekit.data import fit_to_shape
from vaekit.evaluation.likelihood import ACTIVE_UNIT_THRESHOLD
from vaekit.training.callbacks import COLLAPSE_KL, DIAGNOSTIC_EXAMPLES
from vaekit.viz.curves import kl_per_unit, training_curves, unit_kl_columns
from vaekit.viz.figures import (
    interpolation,
    label_text,
    latent_scatter,
    manifold,
    reconstruction_grid,
    sample_grid,
    save_picture,
)
from vaekit.viz.latent import GRID_QUANTILES, manifold_layout
from vaekit.viz.tiles import is_image_shape

__all__ = ["write_run_pictures"]

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


def write_run_pictures(run, model, x=None, y=None, grid=15, n_samples=64, n_pairs=16):
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

    Returns:
        The list of index entries: dicts with `file`, `title`, `caption`
        and `pixels` (a pixel-exact grid rather than a figure).
    """
    folder = runs.path(run, runs.PLOTS)
    entries = []

    def save(name, picture, title, caption):
        save_picture(os.path.join(folder, name), picture)
        pixels = isinstance(picture, np.ndarray)
        entries.append(
            {"file": name, "title": title, "caption": caption, "pixels": pixels}
        )

    history = runs.read_history(run)
    if history:
        save(
            "training_curves.png",
            training_curves(history),
            "Training curves",
            "Loss (the negative ELBO), reconstruction term and KL term in nats per "
            "example after each epoch, on the training data and the validation "
            "split.",
        )
    units = unit_kl_columns(history)
    if units:
        save(
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
    has_data = x is not None and len(x) > 0
    if has_data:
        # At most PICTURE_EXAMPLES, read into memory (x may be on disk).
        x = fit_to_shape(x[:PICTURE_EXAMPLES], model.data_shape)
        y = None if y is None else y[:PICTURE_EXAMPLES]
        if y is not None and len(y) != len(x):
            y = None
        # A conditional model encodes only labelled data.
        has_data = y is not None or not model.conditional
    labels = y if model.conditional and has_data else None
    if has_data:
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
    layout = manifold_layout(model, grid, x if has_data else None, condition=labels)
    title, caption = _manifold_caption(model, layout, grid, has_data)
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
        where = (
            ", each original (left of a pair) beside its reconstruction (right)"
            if is_image_shape(model.data_shape)
            else " (left) and their reconstructions (right)"
        )
        save(
            "reconstructions.png",
            reconstruction_grid(model, x, n, condition=labels),
            "Reconstructions",
            f"{n} held-out examples{where}, the mean of p(x|z) at z = z_mean.",
        )
    if has_data and len(x) > 1:
        i, j = _interpolation_ends(y, len(x))

        def name(k):
            return f"#{k}" + (f" (label {label_text(y[k])})" if y is not None else "")

        save(
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
    files.write_json(os.path.join(folder, runs.PLOTS_INDEX), {"pictures": entries})
    return entries
