"""vaekit.cli.common: the parser and help format, the shared options, output
checks and writers, and how the library's warnings and log records reach
people."""

import argparse
import logging
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import read_table
from vaekit import VaekitWarning
from vaekit.cli import common
from vaekit.errors import InvalidArgument, ModelFileError


def _parser():
    parser = common.ArgumentParser(
        prog="vaekit x", formatter_class=common.HelpFormatter
    )
    parser.add_argument("--count", type=int, default=0, help="a count")
    parser.add_argument("--name", default=None, help="a name")
    parser.add_argument("--flag", action="store_true", help="a flag")
    parser.add_argument("--size", type=int, default=7, help="size (default: big)")
    return parser


def test_help_shows_defaults_unless_none_false_or_said():
    text = " ".join(_parser().format_help().split())
    assert "a count (default: 0)" in text  # 0 is a default worth showing
    assert "a name (default" not in text
    assert "a flag (default" not in text
    assert "size (default: big)" in text and "(default: 7)" not in text


def test_parser_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(["--count", "many"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "vaekit: error: argument --count: invalid int value: 'many' "
        "(see 'vaekit x --help')\n"
    )


def test_input_options_and_shared_flags():
    parser = common.ArgumentParser()
    common.add_inputs(parser)
    common.add_binarize(parser)
    common.add_label(parser, "to draw")
    common.add_backend(parser)
    args = parser.parse_args(["m.keras", "--data", "t.csv"])
    assert common.input_options(args) == {
        "label_column": None,
        "split": None,
        "missing": "error",
    }
    assert (args.binarize, args.max_memory, args.seed) == ("auto", 1024, 0)
    assert args.label is None and args.backend is None
    args = parser.parse_args(
        ["m.keras", "--data", "t.csv", "--label-column", "kind", "--split", "test"]
        + ["--missing", "drop"]
    )
    assert common.input_options(args) == {
        "label_column": "kind",
        "split": "test",
        "missing": "drop",
    }
    assert common.max_memory(args) == 1024 * 2**20
    args.max_memory = 0.5
    assert common.max_memory(args) == 2**19
    for bad in (0, -5, float("nan")):
        args.max_memory = bad
        with pytest.raises(InvalidArgument, match="--max-memory"):
            common.max_memory(args)
    # A command with a default split says so.
    parser = common.ArgumentParser()
    common.add_inputs(parser, split="all")
    assert parser.parse_args(["m.keras", "--data", "d"]).split == "all"


def test_output_suffix():
    assert common.output_suffix("a/B.PNG", (".png",)) == ".png"
    assert common.output_suffix("x.csv", (".npy", ".csv")) == ".csv"
    with pytest.raises(InvalidArgument) as error:
        common.output_suffix("x.txt", (".npy", ".csv"))
    assert str(error.value) == (
        "--output 'x.txt' has an unknown suffix: use FILE.npy or FILE.csv"
    )


def test_check_model_path(tmp_path, tiny_model_path):
    assert common.check_model_path(tiny_model_path) == tiny_model_path
    with pytest.raises(ModelFileError, match="does not exist"):
        common.check_model_path(str(tmp_path / "missing.keras"))


def test_write_array_npy_and_csv(tmp_path, tiny_model):
    x = np.random.default_rng(0).random((3, 8, 8, 1))
    common.write_array(str(tmp_path / "x.NPY"), tiny_model, x)
    saved = np.load(tmp_path / "x.NPY")
    assert saved.dtype == np.float32
    np.testing.assert_array_equal(saved, x.astype(np.float32))
    common.write_array(str(tmp_path / "x.csv"), tiny_model, x)
    header, rows = read_table(tmp_path / "x.csv")
    assert header == [f"x_{i}" for i in range(64)]
    np.testing.assert_allclose(np.array(rows, dtype=float), x.reshape(3, -1), rtol=1e-6)


def test_write_array_of_a_table_model_writes_its_frame(tmp_path, table_run):
    """A table model's rows go through its own `to_frame`: its column names
    (and category strings, when the model records them)."""
    from vaekit.model import load_model

    model = load_model(os.path.join(table_run, "model.keras"))
    x = model.sample(4, seed=0)
    common.write_array(str(tmp_path / "s.csv"), model, x)
    written = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    expected = model.to_frame(x)
    assert list(written.columns) == list(expected.columns)
    for column in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[column]):
            np.testing.assert_allclose(written[column], expected[column], rtol=1e-6)
        else:
            assert list(written[column]) == list(expected[column])


def test_use_backend_refuses_another_once_keras_is_loaded(monkeypatch):
    import keras

    loaded = keras.backend.backend()
    monkeypatch.setenv("KERAS_BACKEND", loaded)
    common.use_backend(loaded)
    assert os.environ["KERAS_BACKEND"] == loaded
    other = "torch" if loaded != "torch" else "jax"
    with pytest.raises(InvalidArgument) as error:
        common.use_backend(other)
    assert str(error.value) == (
        f"keras is already loaded with the {loaded} backend, not {other}: run "
        "vaekit in a new process"
    )


def test_wrote(capsys):
    common.wrote("x.png", "a picture")
    assert capsys.readouterr().out == "wrote x.png: a picture\n"


def test_messages_print_the_library_warnings_and_log_records(capsys):
    logger = logging.getLogger("vaekit")
    before = (logger.level, logger.propagate, list(logger.handlers))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with common.messages():
            warnings.warn("dropped 2 of\n60 rows", VaekitWarning, stacklevel=1)
            warnings.warn("dropped 2 of\n60 rows", VaekitWarning, stacklevel=1)
            logger.info("run folder:   RUN")
            logger.debug("not shown")
            warnings.warn("someone else's", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    # Each VaekitWarning is one line, every time it is raised.
    assert err.splitlines() == [
        "vaekit: warning: dropped 2 of 60 rows",
        "vaekit: warning: dropped 2 of 60 rows",
        "vaekit: run folder: RUN",
    ]
    # Other warnings go where they went before.
    assert [str(w.message) for w in caught] == ["someone else's"]
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


def test_a_log_record_of_several_lines_is_printed_line_by_line(capsys):
    """A summary keeps its lines and their alignment; a one-line record
    has its spaces collapsed as before."""
    with common.messages():
        logging.getLogger("vaekit").info("data t.csv: 2 rows\n  'a'   numeric  \n")
        logging.getLogger("vaekit").info("one   line")
    assert capsys.readouterr().err.splitlines() == [
        "vaekit: data t.csv: 2 rows",
        "vaekit:   'a'   numeric",
        "vaekit: one line",
    ]


def test_id_cells(tmp_path, table_run, copy_run):
    """The ID column of the output rows: --id-column, else the run's."""
    data = tmp_path / "d.csv"
    data.write_text("id,x\nr0,1\nr1,2\nr2,3\n")
    args = argparse.Namespace(
        id_column="id", data=str(data), model=f"{table_run}/m.keras"
    )
    name, cells = common.id_cells(args, [2, 0])
    assert name == "id" and cells.tolist() == ["r2", "r0"]
    args.id_column = None  # the run has none
    assert common.id_cells(args, [0]) is None
    run = copy_run(table_run)
    with open(f"{run}/config.toml", "a") as handle:
        handle.write('id_column = "id"\n')
    args.model = f"{run}/model.keras"
    assert common.id_cells(args, [1])[1].tolist() == ["r1"]
    args.data = "digits"  # not a table: no ID column unless asked
    assert common.id_cells(args, [1]) is None
    args.id_column = "id"
    with pytest.raises(InvalidArgument, match="data 'digits' is not one"):
        common.id_cells(args, [1])
    assert common.id_header("id", ["index", "id"]) == "id:id"


def test_messages_leave_the_logger_as_it_was_after_an_error():
    logger = logging.getLogger("vaekit")
    before = (logger.level, logger.propagate, list(logger.handlers))
    shown = warnings.showwarning
    with pytest.raises(RuntimeError), common.messages():
        raise RuntimeError
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
    assert warnings.showwarning is shown


def test_add_command_sets_the_function():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")

    def run(args):
        return 0

    command = common.add_command(sub, "go", run, help="go", description="Go.")
    assert command.formatter_class is common.HelpFormatter
    assert parser.parse_args(["go"]).func is run
