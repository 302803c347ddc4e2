"""`vaekit reconstruct`: `vaekit.reconstruct` of the same inputs as .npy or
.csv, or the picture of `vaekit.viz.reconstruction_grid`."""

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import check_table_csv, read_table, refused, table_with_ids
from tests.helpers import TABLE_FEATURES, TABLE_ROWS
from tests.viz.conftest import downscale, not_blank, read_png, u8
from vaekit.viz import tiles


def test_reconstruct_png_left_of_each_pair_is_the_input(
    cli, tiny_model, tiny_model_path, digits_x, tmp_path
):
    from vaekit.viz import reconstruction_grid

    out = tmp_path / "r.png"
    argv = ["reconstruct", tiny_model_path, "--data", "digits", "-n", "9"]
    result = cli([*argv, "--output", out])
    assert result.returncode == 0
    assert result.stdout == (
        f"wrote {out}: examples of digits and their reconstructions\n"
    )
    png, _ = read_png(out)
    grid = reconstruction_grid(tiny_model, digits_x, 9)
    small = downscale(png, grid)
    np.testing.assert_array_equal(small, grid)
    for i in range(9):
        top, left = tiles.tile_position(i, 3, (8, 17), tiles.PAIR_GAP)
        np.testing.assert_array_equal(
            small[top : top + 8, left : left + 8], u8(digits_x[i])
        )
    not_blank(png)


def test_reconstruct_npy_and_csv_are_the_library_reconstructions(
    cli, tiny_model_path, tmp_path
):
    import vaekit

    expected = vaekit.reconstruct(tiny_model_path, "digits")["reconstruction"]
    npy = tmp_path / "r.npy"
    argv = ["reconstruct", tiny_model_path, "--data", "digits"]
    result = cli([*argv, "--output", npy])
    assert result.returncode == 0
    assert result.stdout == f"wrote {npy}: reconstructions of 1797 examples (all)\n"
    np.testing.assert_array_equal(np.load(npy), expected.astype(np.float32))
    csv_path = tmp_path / "r.csv"
    assert cli([*argv, "--output", csv_path]).returncode == 0
    _, rows = read_table(csv_path)
    np.testing.assert_allclose(
        np.array(rows, dtype=float), expected.reshape(1797, -1), rtol=1e-6, atol=1e-7
    )


def test_table_reconstruct_writes_every_row(cli, table, table_run, tmp_path):
    import vaekit

    model = f"{table_run}/model.keras"
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", model, "--data", table["t"], "--label-column", "kind"]
    assert cli([*argv, "--output", out]).returncode == 0
    written = pd.read_csv(out)
    assert len(written) == TABLE_ROWS
    # The reconstructions in the table's own terms: its columns, its categories.
    expected = vaekit.reconstruct(model, table["t"], label_column="kind")
    frame = vaekit.load_model(model).to_frame(expected["reconstruction"])
    assert list(written.columns[-len(frame.columns) :]) == list(frame.columns)
    pd.testing.assert_frame_equal(
        written[frame.columns], frame, check_dtype=False, rtol=1e-6, atol=1e-6
    )


def test_table_reconstruct_writes_names_and_categories(cli, table, table_run, tmp_path):
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", f"{table_run}/model.keras", "--data", table["t"]]
    assert cli([*argv, "--label-column", "kind", "--output", out]).returncode == 0
    check_table_csv(out, TABLE_ROWS, training_rows=table["rows"])


def test_reconstruct_png_drops_missing_rows_when_asked(cli, table, table_run, tmp_path):
    """--missing applies to the picture too (it was ignored there)."""
    import vaekit
    from vaekit.viz import reconstruction_grid

    model = f"{table_run}/model.keras"
    out = tmp_path / "r.png"
    argv = ["reconstruct", model, "--data", table["na"], "--label-column", "kind"]
    result = cli([*argv, "--missing", "drop", "-n", "4", "--output", out])
    assert result.returncode == 0, result.stderr
    assert "dropped 3 of" in result.stderr
    assert read_png(out)[0].shape[1] > 500  # a chart of two heatmaps
    with pytest.warns(vaekit.VaekitWarning, match="dropped 3 of"):
        figure = reconstruction_grid(
            model, table["na"], 4, label_column="kind", missing="drop"
        )
    originals = figure.axes[0].images[0].get_array()
    with pytest.warns(vaekit.VaekitWarning, match="dropped 3 of"):
        x = vaekit.reconstruct(model, table["na"], label_column="kind", missing="drop")
    np.testing.assert_allclose(originals, x["x"][:4])
    from vaekit.viz.figures import pyplot

    pyplot().close(figure)


def test_table_reconstruct_csv_carries_the_id_column_first(cli, table_run, tmp_path):
    data = table_with_ids(tmp_path)
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", f"{table_run}/model.keras", "--data", data]
    assert cli([*argv, "--id-column", "id", "--output", out]).returncode == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["id", *TABLE_FEATURES]
    assert written["id"].tolist() == [f"r{i}" for i in range(TABLE_ROWS)]
    line = refused(cli([*argv, "--id-column", "id", "--output", tmp_path / "r.png"]))
    assert "--id-column applies to CSV data and a CSV output" in line
