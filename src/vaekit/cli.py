"""The `vaekit` command line. Thin: it parses, sets the Keras backend, then
calls library functions that the tests call directly."""

import argparse
import json
import os
import sys

from vaekit import VaekitError, __version__

FORMATTER = argparse.ArgumentDefaultsHelpFormatter


def _int_list(text):
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 512,256, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def _add_backend(parser):
    parser.add_argument(
        "--backend",
        choices=("jax", "tensorflow", "torch"),
        default=None,
        help="Keras backend (default: $KERAS_BACKEND, else jax)",
    )


def _add_data(parser, required=True):
    parser.add_argument(
        "--data",
        required=required,
        default=None if required else "mnist5k",
        help="dataset: mnist5k, digits, mnist, fashion_mnist, or a path to .npy, "
        ".npz, .csv, a folder of IDX files or a folder of images",
    )
    parser.add_argument(
        "--label-column", default=None, help="CSV column (name or index) holding labels"
    )


# -- train ------------------------------------------------------------------

TRAIN_FLAGS = {
    # flag dest: (type, help)
    "epochs": (int, "number of epochs"),
    "batch_size": (int, "examples per step"),
    "hidden_dims": (_int_list, "hidden layer sizes (or conv filters), e.g. 512,256"),
    "latent_dim": (int, "number of latent units"),
    "architecture": (str, "mlp or conv"),
    "optimizer": (str, "adam, rmsprop, adamw or sgd"),
    "learning_rate": (float, "optimizer learning rate"),
    "clipnorm": (float, "clip each gradient to this norm"),
    "likelihood": (str, "bernoulli or gaussian"),
    "binarize": (str, "none, static or dynamic (a fresh draw every epoch)"),
    "beta": (float, "weight of the KL term"),
    "kl_warmup_epochs": (int, "epochs over which the KL weight rises from 0 to beta"),
    "iw_samples": (int, "importance samples of the training objective (1: ELBO)"),
    "epsilon_std": (float, "std of the reparameterization noise (tutorial)"),
    "validation_split": (float, "fraction of the training data held out"),
    "early_stopping": (
        int,
        "stop after this many epochs without a better "
        "validation loss, keeping the best weights (0: off)",
    ),
    "eval_iw_samples": (int, "importance samples of the final evaluation"),
    "seed": (int, "random seed"),
}


def _train_parser(sub):
    from vaekit.config import Config

    defaults = Config()
    p = sub.add_parser(
        "train",
        formatter_class=FORMATTER,
        help="train a VAE and write a run folder",
        description="Train a VAE. Settings come from the 'default' preset, then "
        "--preset, then --config, then the flags given here.",
    )
    _add_data(p, required=False)
    p.add_argument("--preset", default=None, help="a named preset, e.g. tutorial")
    p.add_argument(
        "--config", default=None, help="a TOML config file (e.g. a run's config.toml)"
    )
    for dest, (kind, text) in TRAIN_FLAGS.items():
        p.add_argument(
            "--" + dest.replace("_", "-"),
            dest=dest,
            type=kind,
            default=None,
            help=f"{text} (default: {getattr(defaults, dest)!r})",
        )
    p.add_argument(
        "--output", default=None, help="run folder (default: runs/<timestamp>)"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing run folder"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_backend(p)
    p.set_defaults(func=cmd_train)


def resolve_config(args):
    """default preset < --preset < --config < flags."""
    from vaekit import config as config_lib

    values = config_lib.preset("default")
    if args.preset:
        values.update(config_lib.preset(args.preset))
    if args.config:
        values.update(config_lib.read_toml(args.config))
    for dest in TRAIN_FLAGS:
        if getattr(args, dest) is not None:
            values[dest] = getattr(args, dest)
    if args.data is not None and args.data != "mnist5k" or "data" not in values:
        values["data"] = args.data
    if args.label_column is not None:
        values["label_column"] = args.label_column
    values["backend"] = os.environ["KERAS_BACKEND"]
    return config_lib.from_dict(values)


def cmd_train(args):
    from vaekit.train import summarize, train

    config = resolve_config(args)
    run = train(
        config,
        output=args.output,
        overwrite=args.overwrite,
        verbose=0 if args.quiet else "auto",
    )
    with open(os.path.join(run, "metrics.json")) as handle:
        metrics = json.load(handle)
    print(f"run folder: {run}")
    print(summarize(metrics))
    return 0


# -- evaluate -------------------------------------------------------------


def _evaluate_parser(sub):
    p = sub.add_parser(
        "evaluate",
        formatter_class=FORMATTER,
        help="ELBO, importance-weighted log p(x) and active units on a dataset",
    )
    p.add_argument("model", help="a model.keras file")
    _add_data(p)
    p.add_argument(
        "--split",
        choices=("train", "test", "all"),
        default=None,
        help="which part of the data (default: test if the data has one, else all)",
    )
    p.add_argument(
        "--iw-samples", type=int, default=1000, help="importance samples k per example"
    )
    p.add_argument(
        "--binarize",
        choices=("auto", "none", "static", "dynamic"),
        default="auto",
        help="binarize the data once with a fixed seed (static and dynamic "
        "both do); auto: as the model's run folder config.toml says",
    )
    p.add_argument(
        "--max-memory",
        type=float,
        default=1024,
        help="memory budget of one chunk of work, in MiB",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the importance samples")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_backend(p)
    p.set_defaults(func=cmd_evaluate)


def load_model_and_data(model_path, data_spec, label_column=None, split=None):
    """Loads a model and the matching split of a dataset, reshaping flat or
    image data to the model's input when the sizes agree."""
    import math

    from vaekit import data as data_lib
    from vaekit.models import load_model

    model = load_model(model_path)
    dataset = data_lib.load(data_spec, label_column)
    if split is None:
        split = "test" if dataset.x_test is not None else "all"
    x, y = dataset.split(split)
    if tuple(x.shape[1:]) != model.data_shape:
        if math.prod(x.shape[1:]) != math.prod(model.data_shape):
            raise VaekitError(
                f"data {data_spec!r} has examples of shape {tuple(x.shape[1:])} but "
                f"model {model_path!r} expects {model.data_shape}: use the data the "
                "model was trained on"
            )
        x = x.reshape((len(x), *model.data_shape))
    return model, x, y, split


def _run_binarize(model_path):
    """The `binarize` of the run that made `model_path`, if its config.toml
    sits beside it."""
    from vaekit import config as config_lib

    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.toml")
    if os.path.isfile(path):
        try:
            return config_lib.read_toml(path).get("binarize", "none")
        except VaekitError:
            return "none"
    return "none"


def cmd_evaluate(args):
    from vaekit import data as data_lib
    from vaekit.evaluate import evaluate

    if args.iw_samples < 1:
        raise VaekitError(f"--iw-samples must be >= 1, got {args.iw_samples}")
    if not args.max_memory > 0:
        raise VaekitError(f"--max-memory must be > 0 MiB, got {args.max_memory}")
    model, x, _, split = load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    binarize = _run_binarize(args.model) if args.binarize == "auto" else args.binarize
    data_lib.check_for_likelihood(x, model.likelihood, args.data)
    if binarize != "none":
        x = data_lib.binarize(x, args.seed)
    result = evaluate(
        model,
        x,
        iw_samples=args.iw_samples,
        seed=args.seed,
        max_memory=int(args.max_memory * 2**20),
    )
    result.update(binarize=binarize, split=split)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(
            f"{'data':<24}{args.data} ({split}, n={result['n']}, binarize={binarize})"
        )
        for key, label in (
            ("elbo", "ELBO"),
            ("log_likelihood", f"log p(x) (k={result['iw_samples']})"),
            ("log_likelihood_stderr", "  std. error"),
            ("reconstruction", "reconstruction"),
            ("kl", "KL"),
        ):
            print(f"{label:<24}{result[key]:.3f} nats")
        print(f"{'active units':<24}{result['active_units']} of {model.latent_dim}")
    return 0


# -- encode ---------------------------------------------------------------


def _encode_parser(sub):
    p = sub.add_parser(
        "encode",
        formatter_class=FORMATTER,
        help="write z_mean and z_log_var of each example",
    )
    p.add_argument("model", help="a model.keras file")
    _add_data(p)
    p.add_argument(
        "--split",
        choices=("train", "test", "all"),
        default="all",
        help="which part of the data",
    )
    p.add_argument("--output", required=True, help="FILE.npy or FILE.csv")
    _add_backend(p)
    p.set_defaults(func=cmd_encode)


def cmd_encode(args):
    import numpy as np

    from vaekit import files

    suffix = os.path.splitext(args.output)[1].lower()
    if suffix not in (".npy", ".csv"):
        raise VaekitError(f"--output {args.output!r} must end in .npy or .csv")
    model, x, _, _ = load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    z_mean, z_log_var = model.encode(x)
    table = np.concatenate([z_mean, z_log_var], axis=1).astype(np.float32)
    if suffix == ".npy":
        files.save_npy(args.output, table)
    else:
        latent = model.latent_dim
        header = [f"z_mean_{i}" for i in range(latent)] + [
            f"z_log_var_{i}" for i in range(latent)
        ]
        lines = [",".join(header)] + [
            ",".join(f"{v:.7g}" for v in row) for row in table
        ]
        files.write_text(args.output, "\n".join(lines) + "\n")
    print(f"wrote {len(table)} rows of z_mean and z_log_var to {args.output}")
    return 0


# -- entry point ----------------------------------------------------------


def build_parser():
    parser = argparse.ArgumentParser(
        prog="vaekit",
        formatter_class=FORMATTER,
        description="Variational Autoencoders for Keras 3: train, evaluate, sample "
        "and draw them on your own data.",
    )
    parser.add_argument("--version", action="version", version=f"vaekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _train_parser(sub)
    _evaluate_parser(sub)
    _encode_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    backend = getattr(args, "backend", None)
    if backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != backend:
            print(
                f"vaekit: error: keras is already loaded with another backend than "
                f"{backend}",
                file=sys.stderr,
            )
            return 2
        os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        return args.func(args)
    except VaekitError as exc:
        print(f"vaekit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
