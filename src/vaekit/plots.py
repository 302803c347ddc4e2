"""Figures of a VAE and its training run (matplotlib, Agg backend)."""

import csv

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
    if isinstance(history, str):
        history = read_history(history)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    epochs = history.get("epoch", np.arange(1, len(history.get("loss", [])) + 1))
    for ax, key, title in zip(
        axes,
        ("loss", "reconstruction", "kl"),
        ("loss (negative ELBO)", "reconstruction (-log p(x|z))", "KL(q(z|x) || p(z))"),
        strict=True,
    ):
        if key in history:
            ax.plot(epochs, history[key], label="training")
        if f"val_{key}" in history and np.isfinite(history[f"val_{key}"]).any():
            ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per example")
        ax.grid(alpha=0.3)
        ax.legend()
    return fig
