"""Figures of anomaly scores: their histogram with the threshold, and the
latent codes coloured by the flag. Drawn on a matplotlib `Axes` a caller
gives (a notebook's), or on a new figure that needs no pyplot backend."""

import numpy as np

from vaekit.errors import InvalidArgument
from vaekit.viz.figures import scatter_points

__all__ = ["flagged_latent_scatter", "score_histogram"]


def _axes(ax, size):
    """`(figure, axes)`: the given axes and their figure, or a new figure
    (not registered with pyplot: it shows in a notebook when returned)."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, constrained_layout=True)
    return figure, figure.add_subplot()


def score_histogram(scores, threshold=None, ax=None, title=None, bins=50):
    """A histogram of anomaly scores (higher: more anomalous), with a line
    at `threshold` and the number of scores above it.

    Args:
        scores: The anomaly scores, `(n,)`; scores that are not finite
            (an overflow: as anomalous as can be) are counted above the
            threshold and left out of the bars.
        threshold: The score above which a row is flagged, or None.
        ax: A matplotlib `Axes` to draw on (default: a new figure).
        title: The title (default: says what is drawn).
        bins: The number of bars.

    Returns:
        The matplotlib figure.
    """
    scores = np.asarray(scores, np.float64).reshape(-1)
    if scores.size == 0:
        raise InvalidArgument("score_histogram needs at least one score")
    figure, ax = _axes(ax, (7, 4))
    finite = scores[np.isfinite(scores)]
    if finite.size:
        ax.hist(finite, bins=bins, color="#4c72b0", alpha=0.85)
    text = f"{scores.size} rows"
    if threshold is not None:
        flagged = int(np.sum(~(scores <= threshold)))
        ax.axvline(threshold, color="#c44e52", linestyle="--", linewidth=1.5)
        text += f", {flagged} above the threshold {threshold:.4g}"
    ax.set_xlabel("anomaly score (-log p(x), nats)")
    ax.set_ylabel("rows")
    ax.set_title(title or f"Anomaly scores: {text}")
    ax.grid(alpha=0.3)
    return figure


def flagged_latent_scatter(z_mean, flagged, ax=None, title=None):
    """The codes `z_mean` (`(n, latent_dim)`) as points, outliers (where
    `flagged` is true) in red above the others; more than two latent units
    are projected on their first two principal components.

    Returns:
        The matplotlib figure.
    """
    z_mean = np.asarray(z_mean, np.float64)
    flagged = np.asarray(flagged, bool).reshape(-1)
    if z_mean.ndim != 2 or len(z_mean) != len(flagged) or not len(z_mean):
        raise InvalidArgument(
            f"Expected codes (n >= 1, latent_dim) and n flags. Received: codes "
            f"of shape {z_mean.shape} and {len(flagged)} flags"
        )
    figure, ax = _axes(ax, (6.5, 5.5))
    points, labels, what = scatter_points(z_mean)
    size = float(np.clip(20000.0 / len(points), 4.0, 30.0))
    for mask, colour, name in (
        (~flagged, "#4c72b0", "inlier"),
        (flagged, "#c44e52", "outlier"),
    ):
        ax.scatter(
            points[mask, 0],
            points[mask, 1],
            s=size,
            c=colour,
            alpha=0.8,
            linewidths=0,
            label=f"{name} ({int(mask.sum())})",
        )
    ax.legend(loc="best", frameon=False)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or f"z_mean of {len(points)} rows by the flag: {what}")
    ax.grid(alpha=0.3)
    return figure
