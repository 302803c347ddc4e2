"""Tests of vaekit.viz.curves: the figures of a run's history."""

import numpy as np
import pytest

from vaekit.errors import RunFolderError
from vaekit.viz import curves
from vaekit.viz.figures import pyplot


def test_training_curves_draw_the_history(tmp_path):
    from vaekit import runs

    (tmp_path / "history.csv").write_text(
        "epoch,loss,reconstruction,kl,val_loss\n1,9,8,1,9.5\n2,8,7.2,0.8,\n"
    )
    for source in (
        tmp_path,
        str(tmp_path / "history.csv"),
        runs.read_history(tmp_path),
    ):
        fig = curves.training_curves(source)
        loss, recon, kl = fig.axes
        assert [line.get_label() for line in loss.lines] == ["training", "validation"]
        np.testing.assert_array_equal(loss.lines[0].get_xdata(), [1, 2])
        np.testing.assert_array_equal(loss.lines[0].get_ydata(), [9, 8])
        np.testing.assert_array_equal(loss.lines[1].get_ydata(), [9.5, np.nan])
        np.testing.assert_array_equal(recon.lines[0].get_ydata(), [8, 7.2])
        assert len(recon.lines) == len(kl.lines) == 1
        pyplot().close(fig)


def test_kl_per_unit_draws_each_unit_and_the_units_in_use(tmp_path):
    from vaekit import runs

    (tmp_path / "history.csv").write_text(
        "epoch,loss,active_units,kl_0,kl_1,kl_2,kl_10\n"
        "1,9,3,0.5,1.0,0.2,0.3\n2,8,2,0.01,1.5,0.3,0.05\n3,7,1,0.0,2.0,0.05,0.0\n"
    )
    history = runs.read_history(tmp_path)
    assert curves.unit_kl_columns(history) == ["kl_0", "kl_1", "kl_2", "kl_10"]
    for source in (tmp_path, str(tmp_path / "history.csv"), history):
        fig = curves.kl_per_unit(source)
        heat, count = fig.axes[:2]
        # Rows are the units in index order, columns the epochs.
        values = heat.collections[0].get_array().reshape(4, 3)
        np.testing.assert_array_equal(
            values,
            [[0.5, 0.01, 0.0], [1.0, 1.5, 2.0], [0.2, 0.3, 0.05], [0.3, 0.05, 0.0]],
        )
        above, active = count.lines
        np.testing.assert_array_equal(above.get_ydata(), [4, 2, 1])  # > 0.1 nats
        np.testing.assert_array_equal(active.get_ydata(), [3, 2, 1])
        np.testing.assert_array_equal(active.get_xdata(), [1, 2, 3])
        pyplot().close(fig)
    with pytest.raises(RunFolderError, match="per-unit KL"):
        curves.kl_per_unit({"epoch": np.array([1.0]), "kl": np.array([1.0])})


def test_a_term_not_recorded_says_so():
    history = {"epoch": np.array([1.0]), "loss": np.array([3.0])}
    fig = curves.training_curves(history)
    loss, recon, kl = fig.axes
    assert len(loss.lines) == 1 and not recon.lines and not kl.lines
    assert [t.get_text() for t in kl.texts] == ["not recorded"]
    # A single epoch is drawn as a marker (a line needs two points).
    assert loss.lines[0].get_marker() == "o"
    pyplot().close(fig)
