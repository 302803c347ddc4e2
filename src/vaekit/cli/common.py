"""The `vaekit` commands: one module per command, each with `add_parser`
(its argparse set-up) and its command function, which calls the library.

Building the parsers imports nothing heavy (no keras, no numpy), so that
`vaekit --help` answers at once; each command imports what it needs when it
runs. This module holds what the commands share: the parser and help
formatter classes, common options, and output checks.
"""

import argparse
import os
import sys

from vaekit import VaekitError, checks, quiet_tensorflow, runs

__all__ = [
    "ArgumentParser",
    "HelpFormatter",
    "add_backend",
    "add_binarize",
    "add_command",
    "add_data",
    "add_inputs",
    "add_model",
    "add_split",
    "add_label",
    "int_list",
    "label_condition",
    "model_and_data",
    "name_list",
    "load_for_likelihood",
    "output_suffix",
    "use_backend",
    "wrote",
    "write_examples",
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


def int_list(text):
    """An argparse type: comma-separated integers, e.g. `512,256`."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 512,256, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def name_list(text):
    """An argparse type: comma-separated names, e.g. `age,income`."""
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values:
        raise argparse.ArgumentTypeError("expected at least one column name")
    return values


def add_backend(parser):
    parser.add_argument(
        "--backend",
        choices=checks.BACKENDS,
        default=None,
        help="Keras backend (default: $KERAS_BACKEND, else jax)",
    )


def add_model(parser):
    parser.add_argument("model", help=f"a {runs.MODEL} file")


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


def add_binarize(parser):
    """`--binarize`, `--max-memory` and `--seed`: how a command that computes
    likelihoods (evaluate, score) prepares its data and its chunks of work."""
    parser.add_argument(
        "--binarize",
        choices=("auto", *checks.BINARIZE),
        default="auto",
        help="binarize the data once with a fixed seed (static and dynamic "
        f"both do); auto: as the {runs.CONFIG} of the model's run folder says "
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


def model_and_data(args, rows=False):
    """`vaekit.model.inputs.load_model_and_data` of a command's `model`, `--data`,
    `--label-column`, `--split` and `--missing`."""
    from vaekit.model import inputs

    return inputs.load_model_and_data(
        args.model,
        args.data,
        args.label_column,
        args.split,
        missing=getattr(args, "missing", None) or "error",
        rows=rows,
    )


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


def label_condition(model, label):
    """The condition value of `--label` for `model` (None stays None).

    Raises:
        VaekitError: if the model is not conditional or does not know it.
    """
    if label is None:
        return None
    if not model.conditional:
        raise VaekitError(
            "--label needs a conditional model (trained with --conditional)"
        )
    classes = model.class_names
    if classes is not None:
        if label in classes:
            return float(classes.index(label))
        if label.lstrip("-").isdigit() and 0 <= int(label) < len(classes):
            return float(label)
        raise VaekitError(
            f"--label {label!r} is not a class of the model: use one of "
            f"{', '.join(classes)} (or its index 0..{len(classes) - 1})"
        )
    try:
        return float(label)
    except ValueError:
        raise VaekitError(
            f"--label {label!r}: the model's condition is a number; give one"
        ) from None


def write_examples(path, model, x):
    """Writes examples (in the data's units) to `path`: `.npy` as the array;
    `.csv` with the model's column names and category strings for a table,
    else one flattened example per row (`x_0`, `x_1`, ...)."""
    import numpy as np

    from vaekit import io as files

    x = np.asarray(x, dtype=np.float32)
    if path.lower().endswith(".npy"):
        files.save_npy(path, x)
        return
    transform = model.transform
    flat = x.reshape(len(x), -1)
    if transform is None or transform.column_names is None:
        header = [f"x_{i}" for i in range(flat.shape[1])]
        files.write_csv(path, header, flat)
        return
    rows = [list(map(float, row)) for row in flat]
    for (column, n), names in zip(
        transform.categorical, transform.category_names or [], strict=False
    ):
        for row in rows:
            row[column] = names[min(max(int(round(row[column])), 0), n - 1)]
    files.write_csv(path, transform.column_names, rows)


def load_for_likelihood(args, rows=False):
    """The model and data of a command with `add_inputs` and `add_binarize`
    options, the data checked for the model's likelihood and binarized as
    `--binarize` says (with `--seed`).

    Returns:
        `(model, x, y, split, binarize)`: see
        `vaekit.model.inputs.load_model_and_data`; `binarize` is the rule applied;
        with `rows`, also each example's row in the data (last).

    Raises:
        VaekitError: for a bad model, bad data or an unreadable run config.
        ValueError: for a bad `--max-memory`.
    """
    checks.number(args.max_memory, "--max-memory", minimum=0, exclusive=("minimum",))
    if args.binarize == "auto":
        binarize = runs.training_binarize(args.model)
    else:
        binarize = args.binarize
    model, x, y, split, *index = model_and_data(args, rows)
    from vaekit import data as data_lib

    data_lib.check_for_likelihood(x, model.likelihood, args.data)
    if binarize != "none":
        x = data_lib.binarize(x, args.seed)
    return (model, x, y, split, binarize, *index)


def output_suffix(path, allowed):
    """The suffix of --output, checked before any work (nothing is written on
    a bad one)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in allowed:
        raise VaekitError(
            f"--output {path!r} has an unknown suffix: use "
            + " or ".join(f"FILE{s}" for s in allowed)
        )
    return suffix


def use_backend(name):
    """Selects Keras backend `name` before keras is imported.

    Raises:
        VaekitError: if keras is already loaded with another backend.
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        loaded = keras.backend.backend()
        if loaded != name:
            raise VaekitError(
                f"keras is already loaded with the {loaded} backend, not {name}: "
                "run vaekit in a new process"
            )
    os.environ["KERAS_BACKEND"] = name
    quiet_tensorflow()


def wrote(path, what):
    print(f"wrote {path}: {what}")
