"""vaekit.viz.scores: the histogram of anomaly scores with the threshold,
and the codes coloured by the flag."""

import matplotlib.figure
import numpy as np
import pytest

from vaekit.errors import InvalidArgument
from vaekit.viz import flagged_latent_scatter, score_histogram


def test_the_histogram_counts_every_score_and_marks_the_threshold():
    scores = np.concatenate([np.linspace(0.0, 10.0, 97), [np.inf, np.nan, 50.0]])
    figure = score_histogram(scores, threshold=9.0)
    assert isinstance(figure, matplotlib.figure.Figure)
    ax = figure.axes[0]
    # The bars hold the 98 finite scores; the two that are not finite (an
    # overflow) are counted above the threshold with the others.
    assert sum(p.get_height() for p in ax.patches) == 98
    above = int(np.sum(np.linspace(0.0, 10.0, 97) > 9.0)) + 3
    assert ax.get_title() == f"Anomaly scores: 100 rows, {above} above the threshold 9"
    (line,) = ax.get_lines()
    assert line.get_xdata()[0] == 9.0
    assert ax.get_xlabel() == "anomaly score (-log p(x), nats)"


def test_the_histogram_draws_on_given_axes_and_without_a_threshold():
    ax = matplotlib.figure.Figure().add_subplot()
    assert score_histogram([1.0, 2.0, 2.5], ax=ax, title="mine") is ax.figure
    assert ax.get_title() == "mine" and not ax.get_lines()
    only_overflow = score_histogram([np.inf], threshold=1.0).axes[0]
    assert "1 above the threshold" in only_overflow.get_title()
    with pytest.raises(InvalidArgument, match="at least one score"):
        score_histogram([])


@pytest.mark.parametrize("dims", [1, 2, 5])
def test_the_scatter_puts_outliers_in_their_own_colour(dims):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, dims))
    flagged = np.zeros(50, bool)
    flagged[[3, 17, 40]] = True
    ax = flagged_latent_scatter(z, flagged).axes[0]
    inliers, outliers = ax.collections
    assert len(inliers.get_offsets()) == 47 and len(outliers.get_offsets()) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "inlier (47)",
        "outlier (3)",
    ]
    if dims == 2:
        np.testing.assert_allclose(outliers.get_offsets(), z[flagged])
    with pytest.raises(InvalidArgument, match="flags"):
        flagged_latent_scatter(z, flagged[:10])
