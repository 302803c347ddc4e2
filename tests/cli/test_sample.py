"""`vaekit sample`: `vaekit.sample` of the same arguments as .npy or .csv,
or the picture of `vaekit.viz.sample_grid`."""

import numpy as np

from tests.cli.conftest import check_table_csv, read_table, refused
from tests.viz.conftest import downscale, not_blank, read_png


def test_sample_png_is_the_sample_grid(cli, tiny_model, tiny_model_path, tmp_path):
    from vaekit.viz import sample_grid

    out = tmp_path / "s.png"
    argv = ["sample", tiny_model_path, "-n", "9", "--seed", "4", "--output", out]
    result = cli(argv)
    assert result.returncode == 0
    assert result.stdout == f"wrote {out}: 9 samples from the prior (T=1)\n"
    png, mode = read_png(out)
    assert mode == "L"
    grid = sample_grid(tiny_model, 9, seed=4)
    np.testing.assert_array_equal(downscale(png, grid), grid)
    not_blank(png)


def test_sample_npy_and_csv_are_the_library_samples(cli, tiny_model_path, tmp_path):
    import vaekit

    expected = vaekit.sample(tiny_model_path, 5, seed=0, temperature=0.5)
    assert expected.shape == (5, 8, 8, 1)
    argv = ["sample", tiny_model_path, "-n", "5", "--temperature", "0.5"]
    npy = tmp_path / "s.npy"
    result = cli([*argv, "--output", npy])
    assert result.returncode == 0
    assert result.stdout == f"wrote {npy}: 5 samples from the prior (T=0.5)\n"
    np.testing.assert_array_equal(np.load(npy), expected.astype(np.float32))
    csv_path = tmp_path / "s.csv"
    assert cli([*argv, "--output", csv_path]).returncode == 0
    header, rows = read_table(csv_path)
    assert header == [f"x_{i}" for i in range(64)]
    np.testing.assert_allclose(
        np.array(rows, dtype=float), expected.reshape(5, -1), rtol=1e-6, atol=1e-7
    )


def test_table_sample_writes_column_names_and_categories(
    cli, table, table_run, tmp_path
):
    out = tmp_path / "samples.csv"
    argv = ["sample", f"{table_run}/model.keras", "-n", "20", "--output", out]
    assert cli(argv).returncode == 0
    with open(out) as handle:
        assert handle.readline().strip() == "age,colour,income,size"
    rows = check_table_csv(out, 20, training_rows=table["rows"])
    # Drawn from p(x|z): within the training range of each numeric column.
    for j, name in ((0, "age"), (2, "income")):
        train = [float(r[j]) for r in table["rows"]]
        drawn = [float(r[j]) for r in rows]
        assert min(train) <= min(drawn) and max(drawn) <= max(train), name


def test_table_sample_draws_by_default_and_means_on_request(cli, table_run, tmp_path):
    import vaekit
    from vaekit.model import load_model

    model = load_model(f"{table_run}/model.keras")
    argv = ["sample", f"{table_run}/model.keras", "-n", "6", "--seed", "3"]
    for decoded, draw in ((None, True), ("draw", True), ("mean", False)):
        out = tmp_path / f"{decoded}.npy"
        more = [] if decoded is None else ["--decoded", decoded]
        assert cli([*argv, *more, "--output", out]).returncode == 0
        expected = vaekit.sample(model, 6, seed=3, draw=draw)
        np.testing.assert_array_equal(np.load(out), expected.astype(np.float32))
    assert not np.array_equal(
        np.load(tmp_path / "None.npy"), np.load(tmp_path / "mean.npy")
    )


def test_conditional_sample_draws_a_label(cli, table, conditional_model, tmp_path):
    import vaekit

    out = tmp_path / "s.csv"
    argv = ["sample", conditional_model, "--label", "x", "-n", "5", "--seed", "2"]
    result = cli([*argv, "--output", out])
    assert result.returncode == 0
    assert result.stdout == f"wrote {out}: 5 samples from the prior (T=1, label x)\n"
    rows = check_table_csv(out, 5, training_rows=table["rows"], label="x")
    from vaekit.model import load_model

    model = load_model(conditional_model)
    expected = model.to_frame(vaekit.sample(model, 5, seed=2, label="x"))
    assert [r[1] for r in rows] == list(expected["colour"])
    np.testing.assert_allclose([float(r[0]) for r in rows], expected["age"], rtol=1e-6)

    other = tmp_path / "z.csv"
    line = refused(
        cli(["sample", conditional_model, "--label", "z", "--output", other])
    )
    assert "'z'" in line and "x, y" in line
    assert not other.exists()


def test_a_label_needs_a_conditional_model(cli, tiny_model_path, tmp_path):
    out = tmp_path / "s.npy"
    line = refused(cli(["sample", tiny_model_path, "--label", "3", "--output", out]))
    assert "conditional" in line
    assert not out.exists()
