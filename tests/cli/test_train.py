"""`vaekit train`: its flags (built from the fields of `vaekit.config.Config`),
the run folder it writes, what it prints, the backend of a config file,
and the settings of a table run.

The session's runs (`tiny_run`, `table_run`) are read, never changed; the
few tests that must train train tiny models for an epoch or two.
"""

import csv
import json
import os
import re
import signal
import typing

import numpy as np
import pytest

from tests.cli.conftest import check_table_csv, read_table, refused, table_with_ids
from tests.helpers import TABLE_ROWS, TABLE_TRAIN, TINY_RUN_ARGS
from vaekit import config as config_lib
from vaekit import runs
from vaekit.cli import train as train_cli
from vaekit.cli.main import build_parser


def _train_parser():
    (action,) = build_parser()._subparsers._group_actions
    return action.choices["train"]


# -- the flags --------------------------------------------------------------


def test_one_flag_per_setting_with_its_help_and_choices(cli):
    """`vaekit train --help` lists one flag per `Config` field, with the
    field's help text, its allowed values and its default."""
    parser = _train_parser()
    actions = {a.dest: a for a in parser._actions}
    result = cli(["train", "--help"])
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    # argparse wraps long help, breaking lines after hyphens too
    squeezed = "".join(result.stdout.split())
    defaults = config_lib.Config()
    for name, field in config_lib.FIELDS.items():
        meta = field.metadata
        flag = "--" + name.replace("_", "-")
        action = actions[name]
        assert action.option_strings == [flag]
        assert action.default is None  # unset flags leave the layers' values
        assert action.help.startswith(meta["help"])
        if meta["choices"]:
            assert tuple(action.choices) == tuple(meta["choices"])
            assert f"{flag} {{{','.join(map(str, meta['choices']))}}}" in text
        else:
            assert action.choices is None
        assert "".join(meta["help"].split()) in squeezed, name
        if not isinstance(action.const, bool):  # a value flag shows its default
            assert f"(default: {getattr(defaults, name)!r})" in action.help
    flags = [
        s
        for a in parser._actions
        for s in a.option_strings
        if s not in ("-h", "--help")
    ]
    launch = {
        "--preset",
        "--config",
        "--output",
        "--overwrite",
        "--resume",
        "--coordinator",
        "--num-processes",
        "--process-id",
        "--mlflow",
        "--quiet",
    }
    assert len(flags) == len(set(flags))
    assert set(flags) - launch == {
        "--" + name.replace("_", "-") for name in config_lib.FIELDS
    }


def test_flag_types_follow_the_field_types():
    parser = _train_parser()
    args = parser.parse_args(
        [
            "--hidden-dims",
            "64, 32",
            "--columns",
            "age,income",
            "--decoder-std",
            "0.5",
            "--epochs",
            "3",
            "--beta",
            "2",
            "--conditional",
        ]
    )
    assert args.hidden_dims == (64, 32) and args.columns == ("age", "income")
    assert args.decoder_std == 0.5 and args.epochs == 3 and args.beta == 2.0
    assert args.conditional is True
    assert parser.parse_args(["--decoder-std", "learned"]).decoder_std == "learned"
    hints = typing.get_type_hints(config_lib.Config)
    for name, field in config_lib.FIELDS.items():
        keywords = train_cli.flag_type(field)
        if hints[name] is bool:
            assert keywords == {"action": "store_const", "const": True}
        elif hints[name] is int:
            assert keywords == {"type": int}


def test_settings_table_has_a_row_per_setting_by_section():
    table = train_cli.settings_table()
    lines = table.splitlines()
    assert lines[0] == "| setting | flag | default | allowed | meaning |"
    sections = [line for line in lines if line.startswith("| **")]
    assert sections == [f"| **{group}** | | | | |" for group in config_lib.GROUPS]
    rows = [line for line in lines[2:] if not line.startswith("| **")]
    assert len(rows) == len(config_lib.FIELDS)
    row = next(r for r in rows if r.startswith("| `likelihood` "))
    assert row.startswith("| `likelihood` | `--likelihood` | bernoulli | bernoulli, ")
    row = next(r for r in rows if r.startswith("| `hidden_dims` "))
    assert "| 512 |" in row


# -- the run folder and what train prints -----------------------------------


def test_train_writes_a_complete_run_folder(tiny_run):
    for name in (
        "model.keras",
        "config.toml",
        "history.csv",
        "metrics.json",
        "train_scores.npz",
        "report.html",
        runs.MARKER,
    ):
        assert os.path.isfile(os.path.join(tiny_run, name)), name
    assert any(p.endswith(".png") for p in os.listdir(os.path.join(tiny_run, "plots")))

    with open(os.path.join(tiny_run, "history.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    keys = ("loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl")
    for row in rows:
        values = {k: float(row[k]) for k in (*keys, "seconds")}
        assert all(np.isfinite(v) for v in values.values())
        assert values["seconds"] > 0
        # the loss is the negative ELBO: reconstruction + KL (beta = 1)
        assert values["loss"] == pytest.approx(
            values["reconstruction"] + values["kl"], rel=1e-4
        )
        assert values["val_loss"] == pytest.approx(
            values["val_reconstruction"] + values["val_kl"], rel=1e-4
        )

    with open(os.path.join(tiny_run, "metrics.json")) as handle:
        metrics = json.load(handle)
    assert metrics["iw_samples"] == 5
    assert metrics["n"] == 180  # 10% of the 1797 digits held out
    assert metrics["elbo"] <= metrics["log_likelihood"] + 1e-6 < 0

    values = config_lib.read_toml(os.path.join(tiny_run, "config.toml"))
    assert values["data"] == "digits"
    assert values["hidden_dims"] == [8]
    assert values["latent_dim"] == 2
    assert values["epochs"] == 2
    assert values["eval_iw_samples"] == 5


def test_train_from_its_config_reproduces_the_run(cli, tiny_run, tmp_path):
    """Without --quiet and without a terminal, training prints Keras' own
    one line per epoch (verbose=2); the library's progress and warnings
    are `vaekit: ...` lines on stderr; stdout ends with the run folder and
    its summary."""
    rerun = tmp_path / "RUN2"
    result = cli(["train", "--config", f"{tiny_run}/config.toml", "--output", rerun])
    assert result.returncode == 0, result.stderr
    with open(os.path.join(tiny_run, "config.toml")) as handle:
        assert (rerun / "config.toml").read_text() == handle.read()
    first = runs.read_history(tiny_run)
    second = runs.read_history(rerun)
    assert len(first["loss"]) == len(second["loss"]) == 2
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(second[key], first[key], rtol=1e-4)

    out = result.stdout.splitlines()
    assert [line for line in out if line.startswith("Epoch ")] == [
        "Epoch 1/2",
        "Epoch 2/2",
    ]
    steps = [line for line in out if " - loss: " in line]
    assert len(steps) == 2 and all(line.startswith("17/17 - ") for line in steps)
    assert "\r" not in result.stdout and "\x1b" not in result.stdout  # no bar
    from vaekit.training import summarize

    metrics = json.loads((rerun / "metrics.json").read_text())
    assert out[-2:] == [f"run folder: {rerun}", summarize(metrics)]
    err = result.stderr.splitlines()
    # what was read, then the run folder, before training
    assert err[:3] == [
        "vaekit: data digits: 1797 rows, images of shape 8x8x1",
        "vaekit:   labels: whole numbers, 10 distinct in [0, 9]",
        f"vaekit: run folder: {rerun}",
    ]
    assert all(line.startswith("vaekit: ") for line in err)
    assert "vaekit: evaluating on 180 held-out examples (k=5)" in err


def test_train_names_its_folder_before_training_and_says_each_final_phase(
    tmp_path, monkeypatch
):
    """What people watching a run see, in order (stdout and stderr as one
    terminal shows them): the run folder before the first epoch, then a line
    as each part of the final phase begins, and how long each took."""
    import contextlib
    import io

    from vaekit.cli.main import main

    monkeypatch.chdir(tmp_path)
    argv = [a for a in TINY_RUN_ARGS if a != "--quiet"]
    both = io.StringIO()
    with contextlib.redirect_stdout(both), contextlib.redirect_stderr(both):
        assert main(["train", *argv, "--output", "R"]) == 0
    lines = both.getvalue().splitlines()
    order = [
        "vaekit: run folder: R",
        "Epoch 1/2",
        "Epoch 2/2",
        f"vaekit: saving the model to {os.path.join('R', 'model.keras')}",
        "vaekit: evaluating on 180 held-out examples (k=5)",
        f"vaekit: drawing the pictures into {os.path.join('R', 'plots')}",
        "vaekit: scoring 1617 training examples (k=5)",
        f"vaekit: writing the report {os.path.join('R', 'report.html')}",
    ]
    assert [line for line in lines if line in order] == order
    (done,) = [line for line in lines if line.startswith("vaekit: final phase done")]
    assert lines.index(done) > lines.index(order[-1])
    parts = "model|evaluation|pictures|training scores|report"
    assert re.fullmatch(
        rf"vaekit: final phase done in [0-9.]+ s: "
        rf"(({parts}) [0-9.]+ s, ){{4}}({parts}) [0-9.]+ s",
        done,
    ), done
    assert lines[-2] == "run folder: R"


def test_train_with_a_learned_prior(cli, tmp_path):
    """A run of a learned prior with DReG gradients trains, records its
    settings, evaluates and samples from its saved model (the other priors
    and the second layer: tests/model/test_latents.py)."""
    flags = ["--prior", "vamp", "--prior-size", "8", "--iw-samples", "3", "--dreg"]
    args = [*TINY_RUN_ARGS, "--epochs", "1", *flags, "--output", tmp_path / "run"]
    assert cli(["train", *args]).returncode == 0
    config = config_lib.read_toml(tmp_path / "run" / "config.toml")
    assert (config["prior"], config["prior_size"], config["dreg"]) == ("vamp", 8, True)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["elbo"] <= metrics["log_likelihood"] + 1e-6 < 0
    model = tmp_path / "run" / "model.keras"
    sampled = cli(["sample", model, "-n", "4", "--output", tmp_path / "s.npy"])
    assert sampled.returncode == 0 and np.load(tmp_path / "s.npy").shape[0] == 4


def test_quiet_prints_only_the_result(cli, tmp_path, monkeypatch):
    """`--quiet` trains without Keras' lines; a process other than 0 of a
    distributed run says that process 0 wrote the run folder."""
    import vaekit.training

    calls = []

    def train(config, **kwargs):
        calls.append((config, kwargs))
        return None, None

    monkeypatch.setattr(vaekit.training, "train", train)
    result = cli(["train", "--epochs", "3", "--quiet", "--process-id", "1"])
    assert result.returncode == 0
    assert result.stdout == "trained; process 0 wrote the run folder\n"
    ((config, kwargs),) = calls
    assert config.epochs == 3 and kwargs["verbose"] == 0
    assert kwargs["process_id"] == 1 and kwargs["output"] is None
    cli(["train", "--epochs", "3"])
    assert calls[-1][1]["verbose"] == "auto"


def test_an_interrupted_run_says_how_to_resume(cli, monkeypatch):
    import vaekit.training
    from vaekit.training import TrainingInterrupted

    def train(config, **kwargs):
        raise TrainingInterrupted(signal.SIGTERM, "runs/R", 3, 0)

    monkeypatch.setattr(vaekit.training, "train", train)
    result = cli(["train", "--epochs", "5", "--quiet"])
    assert result.returncode == 128 + signal.SIGTERM
    assert result.stderr == (
        "vaekit: SIGTERM: training stopped after epoch 3; its checkpoint is saved "
        "in runs/R. Resume with: vaekit train --resume runs/R\n"
    )


def test_data_paths_are_recorded_absolute(cli, tmp_path, monkeypatch):
    import vaekit.training

    seen = []
    monkeypatch.setattr(
        vaekit.training, "train", lambda config, **k: seen.append(config) or (None, 0)
    )
    (tmp_path / "x.npy").write_bytes(b"")
    assert cli(["train", "--data", "x.npy", "--quiet"]).returncode == 0
    assert cli(["train", "--data", "digits", "--quiet"]).returncode == 0
    assert [c.data for c in seen] == [str(tmp_path / "x.npy"), "digits"]


# -- the backend of train --config --------------------------------------------


def _user_backend(monkeypatch, value):
    """Pretends the user set KERAS_BACKEND=value (None: not set)."""
    import vaekit

    monkeypatch.setattr(vaekit, "_USER_BACKEND", value, raising=False)


def test_train_keeps_the_backend_of_its_config_file(cli, tmp_path, monkeypatch):
    """The file's backend is used, not replaced by the environment's default.
    Keras is loaded in this process, so a file asking for another backend is
    refused here (a fresh process would switch to it)."""
    import keras

    loaded = keras.backend.backend()
    other = "tensorflow" if loaded != "tensorflow" else "jax"
    file = tmp_path / "other.toml"
    file.write_text(f'backend = "{other}"\nepochs = 1\n')
    argv = ["train", "--config", str(file), "--output", str(tmp_path / "RUN")]
    _user_backend(monkeypatch, None)
    line = refused(cli(argv))
    assert f"already loaded with the {loaded} backend, not {other}" in line
    # an environment that contradicts the file is refused, naming the way out
    _user_backend(monkeypatch, loaded)
    line = refused(cli(argv))
    assert f"KERAS_BACKEND={loaded} conflicts" in line
    assert f"--backend {other} or --backend {loaded}" in line and str(file) in line
    assert os.listdir(tmp_path) == ["other.toml"]


def test_flags_beat_the_config_file_and_config_toml_records_them(
    cli, tmp_path, monkeypatch
):
    import keras

    loaded = keras.backend.backend()
    other = "tensorflow" if loaded != "tensorflow" else "jax"
    file = tmp_path / "gaussian.toml"
    file.write_text(
        f'backend = "{other}"\ndata = "digits"\nlikelihood = "gaussian"\n'
        'binarize = "none"\nhidden_dims = [8]\nlatent_dim = 2\nepochs = 1\n'
        "iw_samples = 1\neval_iw_samples = 1\n"
    )
    _user_backend(monkeypatch, other)
    run = tmp_path / "RUN"
    argv = ["train", "--config", str(file), "--backend", loaded]
    argv += ["--decoder-std", "0.1", "--output", str(run), "--quiet"]
    assert cli(argv).returncode == 0
    values = config_lib.read_toml(run / "config.toml")
    assert values["backend"] == loaded  # the backend actually used
    assert values["decoder_std"] == 0.1
    assert (values["likelihood"], values["hidden_dims"]) == ("gaussian", [8])
    assert config_lib.from_dict(values).decoder_std == 0.1


def test_resume_refuses_other_settings(cli, tmp_path):
    line = refused(cli(["train", "--resume", str(tmp_path), "--latent-dim", "3"]))
    assert "drop --latent-dim (only --epochs may change)" in line
    line = refused(cli(["train", "--resume", str(tmp_path), "--overwrite"]))
    assert "drop --overwrite" in line


# -- tables -------------------------------------------------------------------


def test_table_train_records_the_tabular_settings(table_run):
    for name in ("model.keras", "config.toml", "history.csv", "metrics.json"):
        assert os.path.isfile(os.path.join(table_run, name)), name
    values = config_lib.read_toml(os.path.join(table_run, "config.toml"))
    assert values["likelihood"] == "gaussian"
    assert values["decoder_std"] == "learned-per-feature"
    assert values["label_column"] == "kind"
    assert values["epochs"] == 3
    assert config_lib.from_dict(values).decoder_std == "learned-per-feature"


@pytest.fixture(scope="module")
def columns_run(table, tmp_path_factory):
    """A run of the table's age and income columns with --missing drop:
    `(run, arguments without --missing, what it printed on stderr)`."""
    import contextlib
    import io

    from vaekit.cli.main import main

    run = tmp_path_factory.mktemp("columns") / "M"
    argv = [*TABLE_TRAIN, "--data", table["na"], "--label-column", "kind"]
    argv += ["--columns", "age,income", "--epochs", "2", "--output", str(run)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main([*argv, "--missing", "drop"]) == 0
    return run, argv, err.getvalue()


def test_table_columns_and_missing_drop(cli, table, columns_run, tmp_path):
    """--columns age,income trains on just those; --missing drop drops the 2
    rows with a missing value in them (not the one missing a colour, a
    column left out), and says so in one warning line."""
    run, argv, err = columns_run
    argv = [*argv[:-1], str(tmp_path / "M")]
    line = refused(cli(argv))  # without --missing drop: the first missing value
    assert "line 7" in line and "'age'" in line and "--missing drop" in line
    assert not (tmp_path / "M").exists()

    warning = [line for line in err.splitlines() if "dropped" in line]
    assert warning == [
        f"vaekit: warning: {table['na']}: dropped 2 of {TABLE_ROWS} rows with "
        "missing values"
    ]
    values = config_lib.read_toml(run / "config.toml")
    assert values["columns"] == ["age", "income"]
    assert values["missing"] == "drop"
    assert json.loads((run / "metrics.json").read_text())["n"] == 6  # of 58 rows


def test_a_run_of_some_columns_writes_them(cli, table, columns_run, tmp_path):
    run, _, _ = columns_run
    out = tmp_path / "samples.csv"
    assert (
        cli(["sample", run / "model.keras", "-n", "5", "--output", out]).returncode == 0
    )
    check_table_csv(out, 5, columns=["age", "income"])
    # applied to the whole table, the model reads just its two columns
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", run / "model.keras", "--data", table["t"]]
    assert cli([*argv, "--output", out]).returncode == 0
    check_table_csv(out, TABLE_ROWS, columns=["age", "income"])


def test_table_decoder_std_round_trips_through_config(cli, table_run, tmp_path):
    rerun = tmp_path / "R2"
    argv = ["train", "--config", f"{table_run}/config.toml"]
    assert cli([*argv, "--output", rerun, "--epochs", "1", "--quiet"]).returncode == 0
    first = config_lib.read_toml(os.path.join(table_run, "config.toml"))
    second = config_lib.read_toml(rerun / "config.toml")
    assert second["decoder_std"] == "learned-per-feature"
    assert second["epochs"] == 1
    first.pop("epochs"), second.pop("epochs")
    assert second == first


def test_table_conditional_train(cli, table, tmp_path):
    run = tmp_path / "C"
    argv = [*TABLE_TRAIN, "--data", table["t"], "--label-column", "kind"]
    result = cli([*argv, "--conditional", "--epochs", "1", "--output", run])
    assert result.returncode == 0, result.stderr
    values = config_lib.read_toml(run / "config.toml")
    assert values["conditional"] is True and values["label_column"] == "kind"
    out = tmp_path / "s.csv"
    argv = ["sample", run / "model.keras", "--label", "y", "-n", "3", "--output", out]
    assert cli(argv).returncode == 0
    # The label column, named as in the data, written last.
    check_table_csv(out, 3, training_rows=table["rows"], label="y")


# -- a model too large for memory (issue 18) ----------------------------------

HUGE = ["--data", "digits", "--epochs", "1", "--hidden-dims", "100000000"]


def test_a_model_too_large_for_memory_is_refused_and_writes_nothing(
    cli, tmp_path, monkeypatch
):
    """The issue's `--hidden-dims 100000000` aborted (rc 134) and left a
    folder of only config.toml: now one line before the folder is made."""
    from vaekit import resources

    monkeypatch.setattr(resources, "memory_limit", lambda: 24 * 10**9)
    line = refused(cli(["train", *HUGE, "--output", "run"]), cwd=tmp_path)
    assert line == (
        "vaekit: error: the model would hold 22.6 G parameters (90.4 GB of float32 "
        "weights, x4 with the gradients and the optimizer's state), which would "
        "need 362 GB of memory; this machine has 24 GB: use fewer or smaller "
        "hidden layers (hidden_dims) or a smaller latent_dim"
    )


def test_a_refused_start_leaves_overwrite_and_resume_folders_as_they_were(
    cli, tiny_run, copy_run
):
    from tests.cli.conftest import snapshot

    run = copy_run(tiny_run)
    before = snapshot(run)
    result = cli(["train", *HUGE, "--output", run, "--overwrite"])
    assert "the model would hold" in refused(result)
    assert snapshot(run) == before
    # a run whose config.toml asks for it, resumed
    config = os.path.join(run, "config.toml")
    with open(config) as handle:
        text = handle.read()
    assert "hidden_dims = [8]" in text
    with open(config, "w") as handle:
        handle.write(text.replace("hidden_dims = [8]", "hidden_dims = [100000000]"))
    before = snapshot(run)
    assert "the model would hold" in refused(cli(["train", "--resume", run]))
    assert snapshot(run) == before


# -- reading data right or refusing it (issue 18) --------------------------------


def test_train_summarises_what_it_read_before_training(cli, tmp_path):
    """A semicolon file with pandas' index, an ID column and a code that is a
    category: the delimiter detected, the index left out with a warning,
    the IDs passed through, the kinds forced, and a summary of it all
    before the run folder is even named."""
    data = table_with_ids(tmp_path, sep=";")
    lines = open(data).read().splitlines()
    rows = [";" + lines[0]] + [f"{i};{line}" for i, line in enumerate(lines[1:])]
    with open(data, "w") as handle:
        handle.write("\n".join(rows) + "\n")
    run = tmp_path / "R"
    argv = [*TABLE_TRAIN, "--data", data, "--label-column", "kind", "--epochs", "1"]
    argv += ["--id-column", "id", "--categorical-columns", "size", "--output", run]
    result = cli(argv)
    assert result.returncode == 0, result.stderr
    err = result.stderr.splitlines()
    assert err[:8] == [
        f"vaekit: warning: {data}: column '' (unnamed: a running index 0..59) is an "
        "index written with the table (pandas' to_csv without index=False), not a "
        "feature: it is left out",
        f"vaekit: data {data}: {TABLE_ROWS} rows, 4 feature columns (2 numeric, 2 "
        "categorical)",
        "vaekit:   'age'     numeric",
        "vaekit:   'colour'  categorical, 3 categories",
        "vaekit:   'income'  numeric",
        "vaekit:   'size'    categorical, 3 categories",
        "vaekit:   'kind'    label: 2 classes (x, y)",
        "vaekit:   ''        left out: an index (unnamed: a running index 0..59)",
    ]
    assert err[8:10] == [
        "vaekit:   'id'      the ID column, passed through",
        f"vaekit: run folder: {run}",
    ]
    values = config_lib.read_toml(run / "config.toml")
    assert values["id_column"] == "id" and values["sep"] == "auto"
    assert values["categorical_columns"] == ["size"]
    # the run's ID column is the first of its per-row outputs
    out = tmp_path / "s.csv"
    argv = ["score", run / "model.keras", "--data", data, "--iw-samples", "2"]
    assert cli([*argv, "--output", out]).returncode == 0
    header, written = read_table(out)
    assert header[:2] == ["id", "index"] and written[3][:2] == ["r3", "3"]


def test_train_refuses_a_file_split_by_the_wrong_delimiter(cli, tmp_path):
    data = table_with_ids(tmp_path, sep=";")
    argv = ["train", "--data", data, "--sep", ",", "--output", tmp_path / "R"]
    line = refused(cli(argv))
    assert line == (
        f"vaekit: error: {data}: every row is one cell holding semicolons: the file "
        "is not split by comma (the delimiter given); pass --sep ';'"
    )
    assert not (tmp_path / "R").exists()
    line = refused(cli(["train", "--data", data, "--sep", "ab"]))
    assert "sep" in line and "auto, tab, or one character" in line
