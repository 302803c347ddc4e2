"""Figures of a run's history: the training curves and the KL of each
latent unit over training (matplotlib, Agg backend)."""

import os

import numpy as np

from vaekit import runs
from vaekit.errors import RunFolderError
from vaekit.evaluation.diagnostics import ACTIVE_UNIT_THRESHOLD, COLLAPSE_KL
from vaekit.viz.figures import pyplot

__all__ = ["kl_per_unit", "training_curves", "unit_kl_columns"]


def _history(source):
    """A history dict from a dict, a run folder or its `history.csv`."""
    if isinstance(source, (str, os.PathLike)):
        run = os.fspath(source)
        if os.path.basename(run) == runs.HISTORY:
            run = os.path.dirname(run)
        return runs.read_history(run)
    return source


def training_curves(history):
    """Loss, reconstruction and KL per epoch, training and validation.

    Args:
        history: A dict of arrays (see `vaekit.runs.read_history`), a run
            folder or its `history.csv`.

    Returns:
        A matplotlib figure with three panels.
    """
    history = _history(history)
    plt = pyplot()
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


def unit_kl_columns(history):
    """The `kl_0, kl_1, ...` columns of a history, in unit order."""
    units = sorted(
        int(key[3:]) for key in history if key.startswith("kl_") and key[3:].isdigit()
    )
    return [f"kl_{j}" for j in units]


def kl_per_unit(history, threshold=COLLAPSE_KL):
    """The KL of each latent unit over training: a heatmap (units x epochs)
    beside the number of active units per epoch.

    Args:
        history: A dict of arrays (see `vaekit.runs.read_history`), a run
            folder or its `history.csv`, with `kl_0, kl_1, ...` columns (nats,
            the mean over training examples of `KL(q(z_j|x) || N(0, 1))`)
            and optionally `active_units`.
        threshold: KL in nats below which a unit counts as collapsed; each
            epoch's count of units above it is drawn beside the active units.

    Returns:
        A matplotlib figure with two panels.

    Raises:
        RunFolderError: if the history has no `kl_0` column.
    """
    history = _history(history)
    columns = unit_kl_columns(history)
    if not columns:
        raise RunFolderError(
            "the training history has no per-unit KL (kl_0, kl_1, ...): it was "
            "written by a vaekit that did not record it"
        )
    kl = np.array([history[c] for c in columns], dtype=np.float64)  # units x epochs
    epochs = history.get("epoch", np.arange(1, kl.shape[1] + 1))
    plt = pyplot()
    fig, (heat, count) = plt.subplots(
        1,
        2,
        figsize=(11, 3.2 + 0.12 * min(len(columns), 64)),
        gridspec_kw={"width_ratios": (2, 1)},
        constrained_layout=True,
    )
    # Cell edges halfway between epochs, so each epoch is one column.
    edges = np.concatenate(
        ([epochs[0] - 0.5], (epochs[1:] + epochs[:-1]) / 2, [epochs[-1] + 0.5])
    )
    mesh = heat.pcolormesh(
        edges,
        np.arange(len(columns) + 1) - 0.5,
        kl,
        cmap="viridis",
        vmin=0.0,
        vmax=max(float(np.nanmax(kl)) if np.isfinite(kl).any() else 0.0, threshold),
    )
    fig.colorbar(mesh, ax=heat, label="KL (nats)")
    heat.set_title("KL(q(z_j|x) || N(0, 1)) of each latent unit")
    heat.set_xlabel("epoch")
    heat.set_ylabel("latent unit j")
    marker = "o" if len(epochs) < 10 else None
    count.plot(
        epochs,
        (kl > threshold).sum(axis=0),
        marker=marker,
        label=f"units with KL > {threshold:g} nats",
    )
    if "active_units" in history:
        count.plot(
            epochs,
            history["active_units"],
            marker=marker,
            linestyle="--",
            label=f"active units (Var z_mean > {ACTIVE_UNIT_THRESHOLD:g})",
        )
    count.set_ylim(-0.5, len(columns) + 0.5)
    count.set_title("units in use")
    count.set_xlabel("epoch")
    count.set_ylabel("units")
    count.grid(alpha=0.3)
    count.legend()
    return fig
