"""`vaekit evaluate`: the library's `vaekit.evaluate` of the same inputs,
printed as a table or as one JSON object that is always valid JSON."""

import json
import math
import shutil

import numpy as np
import pytest

from tests.cli.conftest import refused
from tests.helpers import TABLE_ROWS
from vaekit.cli.evaluate import _json


def _evaluate_json(cli, argv):
    result = cli(["evaluate", *map(str, argv), "--json"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_evaluate_json_is_the_library_result(cli, tiny_model_path):
    import vaekit

    result = _evaluate_json(
        cli, [tiny_model_path, "--data", "digits", "--iw-samples", "5", "--seed", "3"]
    )
    expected = vaekit.evaluate(tiny_model_path, "digits", iw_samples=5, seed=3)
    assert result == json.loads(json.dumps(expected))
    assert set(result) == {
        "elbo",
        "log_likelihood",
        "log_likelihood_stderr",
        "reconstruction",
        "kl",
        "active_units",
        "n",
        "iw_samples",
        "split",
        "binarize",
    }
    assert result["n"] == 1797 and result["split"] == "all"
    assert result["iw_samples"] == 5
    assert result["binarize"] == "dynamic"  # the run's config.toml says so
    assert result["elbo"] < 0 and result["log_likelihood"] < 0
    assert result["elbo"] <= result["log_likelihood"] + 1e-6
    assert result["elbo"] == pytest.approx(-(result["reconstruction"] + result["kl"]))
    assert result["log_likelihood_stderr"] >= 0
    assert 0 <= result["active_units"] <= 2


def test_evaluate_table(cli, tiny_model_path):
    argv = ["evaluate", tiny_model_path, "--data", "digits", "--iw-samples", "5"]
    result = cli([*argv, "--binarize", "none", "--max-memory", "1"])
    assert result.returncode == 0
    import vaekit

    expected = vaekit.evaluate(
        tiny_model_path, "digits", iw_samples=5, binarize="none", max_memory=2**20
    )
    lines = result.stdout.splitlines()
    assert lines[0] == f"{'data':<24}digits (all, n=1797, binarize=none)"
    assert lines[1:] == [
        f"{'ELBO':<24}{expected['elbo']:.3f} nats",
        f"{'log p(x) (k=5)':<24}{expected['log_likelihood']:.3f} nats",
        f"{'  std. error':<24}{expected['log_likelihood_stderr']:.3f} nats",
        f"{'reconstruction':<24}{expected['reconstruction']:.3f} nats",
        f"{'KL':<24}{expected['kl']:.3f} nats",
        f"{'active units':<24}{expected['active_units']}",
    ]


def test_evaluate_auto_binarize_of_a_bare_model_is_none(cli, tiny_model_path, tmp_path):
    bare = tmp_path / "model.keras"  # no config.toml beside it
    shutil.copy(tiny_model_path, bare)
    result = _evaluate_json(cli, [bare, "--data", "digits", "--iw-samples", "2"])
    assert result["binarize"] == "none"


def test_evaluate_auto_binarize_refuses_an_unreadable_config(
    cli, tiny_model_path, tmp_path
):
    folder = tmp_path / "RUN"
    folder.mkdir()
    shutil.copy(tiny_model_path, folder / "model.keras")
    (folder / "config.toml").write_text("binarize = = static\n")
    argv = ["evaluate", folder / "model.keras", "--data", "digits"]
    line = refused(cli(argv))
    assert str(folder / "config.toml") in line
    assert "--binarize none or --binarize static" in line
    # the way out it names works
    result = _evaluate_json(
        cli, [*argv[1:], "--binarize", "static", "--iw-samples", "2"]
    )
    assert result["binarize"] == "static"


def test_json_of_values_that_are_not_finite():
    """JSON has no NaN or infinity: such a value becomes null, and
    `not_finite` says what it was; the text parses with a strict parser."""
    result = {
        "elbo": float("nan"),
        "kl": float("inf"),
        "log_likelihood": -float("inf"),
        "reconstruction": 4.5,
        "active_units": 2,
        "n": 10,
        "split": "all",
    }
    text = _json(result)

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    parsed = json.loads(text, parse_constant=refuse)
    assert parsed == {
        "elbo": None,
        "kl": None,
        "log_likelihood": None,
        "reconstruction": 4.5,
        "active_units": 2,
        "n": 10,
        "split": "all",
        "not_finite": {"elbo": "nan", "kl": "inf", "log_likelihood": "-inf"},
    }
    # Finite results have no `not_finite` entry and keep every digit.
    finite = {"elbo": -43.123456789012345, "n": 3}
    assert json.loads(_json(finite)) == finite
    assert list(json.loads(_json({"b": 1.0, "a": 2.0}))) == ["a", "b"]


def test_evaluate_json_of_a_model_that_overflows(cli, nonfinite_model):
    path, bad = nonfinite_model

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    result = cli(["evaluate", path, "--data", "digits", "--iw-samples", "2", "--json"])
    assert result.returncode == 0
    parsed = json.loads(result.stdout, parse_constant=refuse)
    assert bad.any() and not bad.all()
    assert parsed["not_finite"]  # the mean of some non-finite scores
    for key, text in parsed["not_finite"].items():
        assert parsed[key] is None and not math.isfinite(float(text))
    assert parsed["n"] == 1797 and parsed["binarize"] == "none"


def test_evaluate_a_table_by_its_label_column(cli, table, table_run):
    import vaekit

    model = f"{table_run}/model.keras"
    argv = [model, "--data", table["t"], "--label-column", "kind", "--iw-samples", "4"]
    result = _evaluate_json(cli, argv)
    expected = vaekit.evaluate(model, table["t"], iw_samples=4, label_column="kind")
    assert result == json.loads(json.dumps(expected))
    assert result["n"] == TABLE_ROWS and np.isfinite(result["elbo"])


def test_conditional_evaluate_needs_the_labels(cli, table, conditional_model):
    argv = [conditional_model, "--data", table["t"], "--iw-samples", "10"]
    result = _evaluate_json(cli, [*argv, "--label-column", "kind"])
    assert result["n"] == TABLE_ROWS and result["iw_samples"] == 10
    assert np.isfinite(result["elbo"]) and np.isfinite(result["log_likelihood"])
    line = refused(cli(["evaluate", *argv, "--json"]))
    assert "conditional" in line and "label column" in line


def test_a_long_evaluation_says_how_long_and_shows_progress(
    cli, tiny_model_path, digits_x, tmp_path, monkeypatch
):
    """The issue's `--iw-samples 1000000000` printed nothing for minutes.
    Here the lines of a long evaluation, made short: lines at any interval
    (`EVERY` = 0), 5 examples, k = 40 in passes of one sample (the memory
    budget of one row), so that progress is reported within examples."""
    from vaekit.cli import progress

    monkeypatch.setattr(progress, "EVERY", 0.0)
    np.save(tmp_path / "five.npy", digits_x[:5])
    argv = ["evaluate", tiny_model_path, "--data", tmp_path / "five.npy"]
    result = cli([*argv, "--iw-samples", "40", "--max-memory", "0.0001"])
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("vaekit: evaluating 5 examples: about ")
    assert lines[0].endswith(" at this rate")
    assert any(
        line.startswith("vaekit: evaluated 1/5 examples, about ") for line in lines
    )
    assert any("% of 5 examples, about " in line for line in lines)  # within one
    assert all(line.startswith("vaekit: evaluat") for line in lines)
    assert "log p(x) (k=40)" in result.stdout
