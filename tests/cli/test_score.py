"""`vaekit score`: the DataFrame of `vaekit.score` for the same inputs, as
CSV, with a summary line; a threshold flags rows above it, and rows whose
score is not finite."""

import numpy as np
import pandas as pd

from tests.cli.conftest import read_table, refused, table_with_ids
from tests.helpers import TABLE_ROWS

HEADER = ["index", "neg_elbo", "neg_log_likelihood", "reconstruction_error"]


def _read(path):
    return pd.read_csv(path)


def test_score_csv_is_the_library_frame(cli, tiny_model_path, tmp_path):
    import vaekit

    out = tmp_path / "s.csv"
    argv = ["score", tiny_model_path, "--data", "digits", "--iw-samples", "3"]
    result = cli([*argv, "--seed", "2", "--threshold", "45", "--output", out])
    assert result.returncode == 0
    expected = vaekit.score(
        tiny_model_path, "digits", iw_samples=3, seed=2, threshold=45.0
    )
    written = _read(out)
    assert list(written.columns) == [*HEADER[:1], "label", *HEADER[1:], "is_outlier"]
    assert len(written) == len(expected) == 1797
    for column in expected.columns:
        np.testing.assert_allclose(
            written[column], expected[column].astype(float), rtol=1e-6, atol=1e-6
        )
    assert set(written["is_outlier"]) <= {0, 1}
    flagged = int(expected["is_outlier"].sum())
    assert 0 < flagged < 1797
    assert result.stdout == (
        f"wrote {out}: 1797 rows of digits (all, binarize=dynamic, k=3), "
        f"threshold 45.000 nats (--threshold): {flagged} flagged\n"
    )
    # Without a threshold: no is_outlier column.
    argv = ["score", tiny_model_path, "--data", "digits", "--iw-samples", "1"]
    result = cli([*argv, "--output", out])
    assert result.returncode == 0 and "threshold" not in result.stdout
    written = _read(out)
    assert list(written.columns) == [*HEADER[:1], "label", *HEADER[1:]]


def test_a_score_that_is_not_finite_is_flagged_and_counted(
    cli, nonfinite_model, tmp_path
):
    """The model's scores of the digits with ink in pixel 5 are NaN: with a
    threshold no finite score reaches, exactly those rows are flagged, and
    the summary counts them."""
    path, bad = nonfinite_model
    out = tmp_path / "s.csv"
    argv = ["score", path, "--data", "digits", "--iw-samples", "2"]
    result = cli([*argv, "--threshold", "1e30", "--output", out])
    assert result.returncode == 0
    written = _read(out)
    scores = written["neg_log_likelihood"].to_numpy()
    np.testing.assert_array_equal(~np.isfinite(scores), bad)
    np.testing.assert_array_equal(written["is_outlier"].to_numpy(), bad.astype(int))
    n = int(bad.sum())
    assert result.stdout.endswith(
        f"(--threshold): {n} flagged, {n} of them for a score that is not finite\n"
    )
    assert 0 < bad.sum() < len(bad)


def test_threshold_quantile_of_the_stored_training_scores(
    cli, tiny_run, tiny_model_path, tmp_path
):
    out = tmp_path / "s.csv"
    argv = ["score", tiny_model_path, "--data", "digits", "--output", out]
    result = cli([*argv, "--threshold-quantile", "0.9"])
    assert result.returncode == 0
    with np.load(f"{tiny_run}/train_scores.npz") as stored:
        k = int(stored["iw_samples"])
        threshold = np.quantile(stored["neg_log_likelihood"], 0.9)
    assert k == 5  # the run's eval_iw_samples
    assert f"k={k})" in result.stdout
    assert (
        f"threshold {threshold:.3f} nats (the 0.9 quantile of the training "
        "scores)" in result.stdout
    )
    written = _read(out)
    np.testing.assert_array_equal(
        written["is_outlier"], (written["neg_log_likelihood"] > threshold).astype(int)
    )
    # About a tenth of data like the training data is flagged.
    assert 0.03 < written["is_outlier"].mean() < 0.3


def test_table_score_one_row_per_input_row(cli, table, table_run, tmp_path):
    out = tmp_path / "s.csv"
    argv = ["score", f"{table_run}/model.keras", "--data", table["t"]]
    argv += ["--label-column", "kind", "--output", str(out)]
    result = cli([*argv, "--threshold-quantile", "0.9"])
    assert result.returncode == 0
    assert f"{TABLE_ROWS} rows" in result.stdout
    header, rows = read_table(out)
    assert header == [*HEADER[:1], "label", *HEADER[1:], "is_outlier"]
    assert len(rows) == TABLE_ROWS
    # the text labels as the table has them
    assert [r[1] for r in rows] == [r[4] for r in table["rows"]]
    values = np.array([[r[0], *r[2:]] for r in rows], dtype=float)
    values = np.insert(values, 1, 0.0, axis=1)  # keep the columns' places
    np.testing.assert_array_equal(values[:, 0], np.arange(TABLE_ROWS))
    assert np.isfinite(values[:, 2:5]).all()
    assert set(np.unique(values[:, 5])) <= {0.0, 1.0}
    assert (values[:, 4] >= 0).all()


def test_table_score_reads_columns_by_name(cli, table, table_run, tmp_path):
    """Another column order and an unused text column: the model reads its
    own columns by name, so the scores of the same rows are the same."""
    model = f"{table_run}/model.keras"
    scores = []
    for name in ("t", "shuffled"):
        out = tmp_path / f"{name}.csv"
        argv = ["score", model, "--data", table[name], "--label-column", "kind"]
        assert cli([*argv, "--iw-samples", "10", "--output", out]).returncode == 0
        header, rows = read_table(out)
        assert len(rows) == TABLE_ROWS
        assert {r[1] for r in rows} == {"x", "y"}
        scores.append(np.array([[r[0], *r[2:]] for r in rows], dtype=float))
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-5, atol=1e-6)


def test_table_unknown_category_exits_2(cli, table, table_run, tmp_path):
    out = tmp_path / "s.csv"
    argv = ["score", f"{table_run}/model.keras", "--data", table["unknown"]]
    argv += ["--label-column", "kind", "--output", str(out)]
    line = refused(cli(argv))
    assert "line 5" in line and "'colour'" in line and "'purple'" in line
    assert not out.exists()


def test_table_score_missing_drop(cli, table, table_run, tmp_path):
    """A model's command reads a table with --missing too: a missing value
    in any column the model uses counts (colour too), and the rows keep
    their places."""
    out = tmp_path / "s.csv"
    argv = ["score", f"{table_run}/model.keras", "--data", table["na"]]
    argv += ["--label-column", "kind", "--iw-samples", "2", "--output", str(out)]
    line = refused(cli(argv))
    assert "line 7" in line and "'age'" in line
    assert not out.exists()
    result = cli([*argv, "--missing", "drop"])
    assert result.returncode == 0
    assert result.stderr == (
        f"vaekit: warning: {table['na']}: dropped 3 of {TABLE_ROWS} rows with "
        "missing values\n"
    )
    written = _read(out)
    assert len(written) == TABLE_ROWS - 3
    expected = [i for i in range(TABLE_ROWS) if i not in (5, 9, 12)]
    assert list(written["index"]) == expected


def test_table_score_carries_the_id_column_first(
    cli, table, table_run, copy_run, tmp_path
):
    """--id-column, or the run's id_column, is the first column of the
    scores, beside the index; a semicolon file is read by its columns."""
    data = table_with_ids(tmp_path, sep=";")
    out = tmp_path / "s.csv"
    argv = ["score", f"{table_run}/model.keras", "--data", data, "--iw-samples", "2"]
    assert cli([*argv, "--id-column", "id", "--output", out]).returncode == 0
    written = _read(out)
    assert list(written.columns) == ["id", *HEADER]
    assert written["id"].tolist() == [f"r{i}" for i in range(TABLE_ROWS)]
    np.testing.assert_array_equal(written["index"], np.arange(TABLE_ROWS))
    # a model of a run trained with an id_column: that column, unasked
    run = copy_run(table_run)
    with open(f"{run}/config.toml", "a") as handle:
        handle.write('id_column = "id"\n')
    argv[1] = f"{run}/model.keras"
    assert cli([*argv, "--output", tmp_path / "r.csv"]).returncode == 0
    pd.testing.assert_frame_equal(_read(tmp_path / "r.csv"), written)
    # data without that column: no ID column
    plain = tmp_path / "plain.csv"
    assert cli([*argv[:3], table["t"], *argv[4:], "--output", plain]).returncode == 0
    assert list(_read(plain).columns) == HEADER
    line = refused(cli([*argv, "--id-column", "name", "--output", tmp_path / "n.csv"]))
    assert line.endswith(
        f"{data}: no column 'name'; columns are ['id', 'age', "
        "'colour', 'income', 'size', 'kind']"
    )
    assert not (tmp_path / "n.csv").exists()


def test_explain_adds_a_column_per_data_column_beside_the_ids(cli, table_run, tmp_path):
    data = table_with_ids(tmp_path)
    out = tmp_path / "s.csv"
    argv = ["score", f"{table_run}/model.keras", "--data", data, "--iw-samples", "2"]
    assert (
        cli([*argv, "--id-column", "id", "--explain", "--output", out]).returncode == 0
    )
    written = _read(out)
    names = ["nll_age", "nll_colour", "nll_income", "nll_size"]
    assert list(written.columns) == ["id", *HEADER, *names]
    assert written["id"].tolist() == [f"r{i}" for i in range(TABLE_ROWS)]
    assert np.isfinite(written[names].to_numpy()).all()


def test_explain_of_images_writes_heat_maps(cli, tiny_model_path, tmp_path):
    out = tmp_path / "s.csv"
    argv = ["score", tiny_model_path, "--data", "digits", "--iw-samples", "2"]
    result = cli([*argv, "--explain", "--output", out])
    assert result.returncode == 0
    heat_maps = np.load(tmp_path / "s.explain.npy")
    assert heat_maps.shape == (1797, 8, 8, 1) and np.isfinite(heat_maps).all()
    assert (tmp_path / "s.explain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {tmp_path / 's.explain.npy'}: 1797 heat maps" in result.stdout
    assert len(_read(out)) == 1797
