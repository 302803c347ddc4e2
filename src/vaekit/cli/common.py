"""What the `vaekit` commands share: the parser and help formatter, common
options, output checks and writers, and how messages reach people.

Building the parsers imports nothing heavy (no keras, no numpy), so that
`vaekit --help` answers at once; each command imports the library when it
runs.
"""

import argparse
import contextlib
import logging
import os
import sys
import warnings

from vaekit import VaekitWarning, checks, quiet_tensorflow
from vaekit.errors import InvalidArgument

__all__ = [
    "ArgumentParser",
    "HelpFormatter",
    "add_backend",
    "add_binarize",
    "add_command",
    "add_data",
    "add_id_column",
    "add_inputs",
    "add_label",
    "add_model",
    "add_split",
    "check_model_path",
    "id_cells",
    "id_header",
    "input_options",
    "max_memory",
    "messages",
    "output_suffix",
    "use_backend",
    "write_array",
    "wrote",
]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, unless it is None/False or the help
    text already names it."""

    def _get_help_string(self, action):
        text = action.help or ""
        # `is`, not `in (None, False)`: a default of 0 equals False
        if action.default is None or action.default is False or "default" in text:
            return text
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with vaekit's error format: one line on stderr,
    `vaekit: error: ...`, exit status 2 (argparse prints usage and the
    error on two lines)."""

    def error(self, message):
        message = " ".join(str(message).split())
        self.exit(2, f"vaekit: error: {message} (see '{self.prog} --help')\n")


def add_command(subparsers, name, func, help, description=None):
    """The parser of command `name`, in vaekit's help format; `func(args)`
    runs the command."""
    parser = subparsers.add_parser(
        name, formatter_class=HelpFormatter, help=help, description=description
    )
    parser.set_defaults(func=func)
    return parser


def add_backend(parser):
    parser.add_argument(
        "--backend",
        choices=checks.BACKENDS,
        default=None,
        help="Keras backend (default: $KERAS_BACKEND, else jax; a conv run: "
        "tensorflow where it is installed and JAX has no GPU plugin)",
    )


def add_model(parser):
    parser.add_argument("model", help="a model.keras file")


def add_data(parser, required=True):
    parser.add_argument(
        "--data",
        required=required,
        default=None,
        help=("" if required else "(default: mnist5k, embedded) ")
        + "dataset: mnist5k, digits, mnist, fashion_mnist, or a path to .npy, "
        ".npz, .csv, a folder of IDX files or a folder of images",
    )
    parser.add_argument(
        "--label-column", default=None, help="CSV column (name or index) holding labels"
    )
    parser.add_argument(
        "--missing",
        choices=checks.MISSING,
        default=None,
        help="a CSV row with a missing value (empty, NA, N/A, NaN, null): an error "
        "naming it (default), or drop such rows",
    )


def add_split(parser, default=None):
    parser.add_argument(
        "--split",
        choices=checks.SPLITS,
        default=default,
        help="which part of the data"
        + ("" if default else " (default: test if the data has one, else all)"),
    )


def add_inputs(parser, split=None):
    """The model file, the data, its label column and the split."""
    add_model(parser)
    add_data(parser)
    add_split(parser, split)


def input_options(args):
    """The keyword arguments of a library call for `add_inputs`' options."""
    return {
        "label_column": args.label_column,
        "split": args.split,
        "missing": args.missing or "error",
    }


def add_binarize(parser):
    """`--binarize`, `--max-memory` and `--seed`: how a command that computes
    likelihoods (evaluate, score) prepares its data and its chunks of work."""
    parser.add_argument(
        "--binarize",
        choices=("auto", *checks.BINARIZE),
        default="auto",
        help="binarize the data once with a fixed seed (static and dynamic "
        "both do); auto: as the config.toml of the model's run folder says "
        "(none for a model file without one)",
    )
    parser.add_argument(
        "--max-memory",
        type=float,
        default=1024,
        help="memory budget of one chunk of work, in MiB",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the importance samples"
    )


def max_memory(args):
    """`--max-memory` in bytes, checked."""
    checks.number(args.max_memory, "--max-memory", minimum=0, exclusive=("minimum",))
    return int(args.max_memory * 2**20)


def add_label(parser, what):
    """`--label`: the class (name or index) or condition value of a
    conditional model."""
    parser.add_argument(
        "--label",
        default=None,
        metavar="LABEL",
        help=f"for a conditional model: the class (name or index) or condition "
        f"value {what}",
    )


def check_model_path(path):
    """Checks the model file before the library (and keras, which takes
    seconds to import) is loaded, so that a wrong path fails at once."""
    from vaekit.archive import check_model_file

    check_model_file(path)
    return path


def output_suffix(path, allowed):
    """The suffix of --output, checked before any work (nothing is written on
    a bad one)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in allowed:
        raise InvalidArgument(
            f"--output {path!r} has an unknown suffix: use "
            + " or ".join(f"FILE{s}" for s in allowed)
        )
    return suffix


def write_array(path, model, x, ids=None, labels=None):
    """Writes examples (in the data's units) to `path`: `.npy` as the array;
    `.csv` with a table's column names and category strings, else one
    flattened example per row (`x_0`, `x_1`, ...), after the `(name, cells)`
    of an ID column (`ids`, see `id_cells`) if given, and before the
    `(name, cells)` of a label column (`labels`) if given."""
    import numpy as np

    from vaekit import io

    if path.lower().endswith(".npy"):
        io.save_npy(path, np.asarray(x, dtype=np.float32))
        return
    frame = model.to_frame(x)
    if ids is not None:
        frame.insert(0, id_header(ids[0], frame.columns), ids[1])
    if labels is not None:
        frame[id_header(labels[0], frame.columns)] = labels[1]
    io.write_csv(path, list(frame.columns), frame.itertuples(index=False))


def add_id_column(parser):
    """`--id-column`: a CSV column passed through to a per-row output."""
    parser.add_argument(
        "--id-column",
        default=None,
        metavar="NAME",
        help="a column of the CSV data written as the first column of the CSV "
        "output (default: the id_column of the model's run, when the data has "
        "that column)",
    )


def _run_id_column(model_path):
    """The `id_column` setting of the run that wrote `model_path`, or None
    (no `config.toml` beside it, or an unreadable one)."""
    from vaekit import runs
    from vaekit.errors import VaekitError

    run = os.path.dirname(os.path.abspath(model_path))
    try:
        values = runs.read_config(run, missing_ok=True) or {}
    except (VaekitError, ValueError):
        return None
    name = values.get("id_column")
    return name if isinstance(name, str) else None


def id_cells(args, rows, csv_output=True):
    """`(name, cells)`: the cell of the ID column (`--id-column`, or the
    run's) of each output row (`rows`, their places among the data's rows),
    or None without one.

    Raises:
        InvalidArgument: for --id-column with data or an output that is not
            CSV.
        DataError: if the data has no such column.
    """
    name = args.id_column
    is_csv = str(args.data).lower().endswith(".csv")
    if name is None:
        name = _run_id_column(args.model)
        if name is None or not is_csv or not csv_output:
            return None
    elif not is_csv or not csv_output:
        what = "data" if not is_csv else "--output"
        raise InvalidArgument(
            f"--id-column applies to CSV data and a CSV output; {what} "
            f"{args.data if not is_csv else args.output!r} is not one"
        )
    import numpy as np

    from vaekit.data.csvfile import read_column
    from vaekit.errors import DataError

    try:
        cells = read_column(args.data, name)
    except DataError:
        if args.id_column is not None:
            raise
        return None  # the run's ID column is not in this file
    return name, np.asarray(cells, dtype=object)[np.asarray(rows, dtype=np.int64)]


def id_header(name, taken):
    """The header of an ID column `name` among the output's columns
    `taken`."""
    return name if name not in list(taken) else f"id:{name}"


def use_backend(name):
    """Selects Keras backend `name` before keras is imported.

    Raises:
        InvalidArgument: if keras is already loaded with another backend.
        ConfigError: if the backend's package is not installed.
    """
    from vaekit.config import require_backend

    require_backend(name)
    keras = sys.modules.get("keras")
    if keras is not None:
        loaded = keras.backend.backend()
        if loaded != name:
            raise InvalidArgument(
                f"keras is already loaded with the {loaded} backend, not {name}: "
                "run vaekit in a new process"
            )
    os.environ["KERAS_BACKEND"] = name
    quiet_tensorflow()


def wrote(path, what):
    print(f"wrote {path}: {what}")


class _OneLine(logging.Handler):
    """Prints the library's log records as `vaekit: message` on stderr: a
    one-line message with its spaces collapsed, a message of several lines
    (a summary) line by line as it is."""

    def emit(self, record):
        message = record.getMessage()
        lines = message.splitlines()
        if len(lines) < 2:
            lines = [" ".join(message.split())]
        for line in lines:
            print(f"vaekit: {line.rstrip()}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def messages():
    """While it lasts, what the library says reaches people: each
    `VaekitWarning` as one `vaekit: warning: ...` line, its log records
    (logger `vaekit`, INFO and above) as `vaekit: ...` lines, on stderr.
    Other warnings go where they went before."""
    logger = logging.getLogger("vaekit")
    handler = _OneLine()
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    with warnings.catch_warnings():
        previous = warnings.showwarning
        warnings.simplefilter("always", VaekitWarning)

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, VaekitWarning):
                text = " ".join(str(message).split())
                print(f"vaekit: warning: {text}", file=sys.stderr, flush=True)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]
