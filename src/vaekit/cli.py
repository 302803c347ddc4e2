"""The `vaekit` command line. Thin: it parses, sets the Keras backend, then
calls library functions that the tests call directly."""

import argparse
import json
import os
import sys

from vaekit import VaekitError, __version__, files, quiet_tensorflow


class FORMATTER(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, unless it is None/False or the help
    text already names it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False) or "default" in text:
            return text
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with vaekit's error format: one line on stderr,
    `vaekit: error: ...`, exit status 2 (argparse prints usage and the
    error on two lines)."""

    def error(self, message):
        message = " ".join(str(message).split())
        self.exit(2, f"vaekit: error: {message} (see '{self.prog} --help')\n")


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
        default=None,
        help=("" if required else "(default: mnist5k, embedded) ")
        + "dataset: mnist5k, digits, mnist, fashion_mnist, or a path to .npy, "
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
    "activation": (str, "activation of the hidden layers (relu, tanh, ...)"),
    "dropout": (float, "dropout rate after each hidden MLP layer"),
    "architecture": (str, "mlp or conv"),
    "optimizer": (str, "adam, rmsprop, adamw or sgd"),
    "learning_rate": (float, "optimizer learning rate"),
    "lr_schedule": (str, "constant, or cosine: decay to 0 over the run's steps"),
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
    from vaekit import config as config_lib

    defaults = config_lib.from_dict(config_lib.preset("default"))
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
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN",
        help="continue the interrupted run in folder RUN from its checkpoint "
        "(only --epochs may change)",
    )
    p.add_argument(
        "--distribute",
        action="store_const",
        const=True,
        default=None,
        help="data-parallel training over every JAX device (keras.distribution."
        "DataParallel; multi-host via KERAS_DISTRIBUTION_* variables)",
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
    if args.data is not None:
        values["data"] = args.data
    if args.distribute:
        values["distribute"] = True
    if args.label_column is not None:
        values["label_column"] = args.label_column
    values["backend"] = os.environ["KERAS_BACKEND"]
    # unknown keys can only come from the --config file
    return config_lib.from_dict(values, source=args.config or "config")


def resume_config(args):
    """The config of run folder `args.resume`; only `--epochs` may change."""
    from vaekit import config as config_lib

    changed = [
        "--" + dest.replace("_", "-")
        for dest in (
            *TRAIN_FLAGS,
            "data",
            "preset",
            "config",
            "label_column",
            "output",
            "distribute",
        )
        if dest != "epochs" and getattr(args, dest) is not None
    ]
    if changed or args.overwrite:
        raise VaekitError(
            f"--resume continues {args.resume!r} with its own config.toml; drop "
            f"{', '.join(changed) or '--overwrite'} (only --epochs may change)"
        )
    path = os.path.join(args.resume, "config.toml")
    if not os.path.isfile(path):
        raise VaekitError(
            f"--resume {args.resume!r}: not a run folder (no config.toml)"
        )
    values = config_lib.read_toml(path)
    if args.epochs is not None:
        values["epochs"] = args.epochs
    if args.backend is None and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = values.get("backend", "jax")
    values["backend"] = os.environ["KERAS_BACKEND"]
    return config_lib.from_dict(values, source=path)


def cmd_train(args):
    from vaekit.train import TrainingInterrupted, summarize, train

    config = resume_config(args) if args.resume else resolve_config(args)
    try:
        run = train(
            config,
            output=args.output,
            overwrite=args.overwrite,
            verbose=0 if args.quiet else "auto",
            resume=args.resume,
        )
    except TrainingInterrupted as exc:
        print(f"vaekit: {exc}", file=sys.stderr)
        return exc.exit_code
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
    image data to the model's input when the sizes agree. The files and the
    data are checked before keras is imported."""
    from vaekit import data as data_lib

    files.check_model_file(model_path)
    dataset = data_lib.load(data_spec, label_column)
    if split is None:
        split = "test" if dataset.x_test is not None else "all"
    x, y = dataset.split(split)

    from vaekit.models import load_model

    model = load_model(model_path)
    x = data_lib.fit_to_shape(
        x, model.data_shape, f"data {data_spec!r} (model {model_path!r})"
    )
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
    import math

    from vaekit import data as data_lib

    if args.iw_samples < 1:
        raise VaekitError(f"--iw-samples must be >= 1, got {args.iw_samples}")
    if not (math.isfinite(args.max_memory) and args.max_memory > 0):
        raise VaekitError(
            f"--max-memory must be a finite number > 0 (MiB), got {args.max_memory}"
        )
    model, x, _, split = load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    from vaekit.evaluate import evaluate

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


# -- pictures: sample, reconstruct, plot, interpolate, report ----------------


def _output_suffix(path, allowed):
    """The suffix of --output, checked before any work (nothing is written on
    a bad one)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in allowed:
        raise VaekitError(
            f"--output {path!r} has an unknown suffix: use "
            + " or ".join(f"FILE{s}" for s in allowed)
        )
    return suffix


def _check_at_least(value, flag, minimum=1):
    if value < minimum:
        raise VaekitError(f"{flag} must be >= {minimum}, got {value}")


def _add_split(parser):
    parser.add_argument(
        "--split",
        choices=("train", "test", "all"),
        default=None,
        help="which part of the data (default: test if the data has one, else all)",
    )


def _wrote(path, what):
    print(f"wrote {path}: {what}")


def _sample_parser(sub):
    p = sub.add_parser(
        "sample",
        formatter_class=FORMATTER,
        help="draw from the prior and decode: a picture, .npy or .csv",
        description="Draw codes from the prior N(0, T^2 I) and decode them (the "
        "mean of p(x|z)). FILE.png: a tiled grid for image data, a heatmap for "
        "vectors; FILE.npy: the array (n, *data_shape); FILE.csv: one flattened "
        "sample per row.",
    )
    p.add_argument("model", help="a model.keras file")
    p.add_argument("-n", type=int, default=64, help="number of samples")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior draws")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="std of the prior draws (below 1: more typical, less varied samples)",
    )
    p.add_argument("--output", required=True, help="FILE.png, FILE.npy or FILE.csv")
    _add_backend(p)
    p.set_defaults(func=cmd_sample)


def cmd_sample(args):
    import math

    import numpy as np

    from vaekit import plots

    suffix = _output_suffix(args.output, (".png", ".npy", ".csv"))
    _check_at_least(args.n, "-n")
    if not math.isfinite(args.temperature) or args.temperature < 0:
        raise VaekitError(
            f"--temperature must be a finite number >= 0, got {args.temperature}"
        )
    files.check_model_file(args.model)
    from vaekit.models import load_model

    model = load_model(args.model)
    if suffix == ".png":
        picture = plots.sample_grid(model, args.n, args.seed, args.temperature)
        plots.save_picture(args.output, picture)
    else:
        samples = model.sample(args.n, seed=args.seed, temperature=args.temperature)
        samples = np.asarray(samples, dtype=np.float32)
        if suffix == ".npy":
            files.save_npy(args.output, samples)
        else:
            flat = samples.reshape(len(samples), -1)
            lines = [",".join(f"x_{i}" for i in range(flat.shape[1]))]
            lines += [",".join(f"{v:.7g}" for v in row) for row in flat]
            files.write_text(args.output, "\n".join(lines) + "\n")
    _wrote(args.output, f"{args.n} samples from the prior (T={args.temperature:g})")
    return 0


def _reconstruct_parser(sub):
    p = sub.add_parser(
        "reconstruct",
        formatter_class=FORMATTER,
        help="originals beside their reconstructions",
        description="Draw the first N examples of the data, each beside its "
        "reconstruction: the mean of p(x|z) at z = z_mean (no sampling noise).",
    )
    p.add_argument("model", help="a model.keras file")
    _add_data(p)
    _add_split(p)
    p.add_argument("-n", type=int, default=16, help="number of examples")
    p.add_argument("--output", required=True, help="FILE.png")
    _add_backend(p)
    p.set_defaults(func=cmd_reconstruct)


def cmd_reconstruct(args):
    from vaekit import plots

    _output_suffix(args.output, (".png",))
    _check_at_least(args.n, "-n")
    model, x, _, split = load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    n = min(args.n, len(x))
    plots.save_picture(args.output, plots.reconstruction_grid(model, x, n))
    _wrote(args.output, f"{n} examples of {args.data} ({split}) and reconstructions")
    return 0


def _plot_parser(sub):
    p = sub.add_parser(
        "plot",
        formatter_class=FORMATTER,
        help="draw the latent space: plot latent | plot manifold",
    )
    plots_sub = p.add_subparsers(dest="plot", metavar="PLOT")
    plots_sub.required = True
    latent = plots_sub.add_parser(
        "latent",
        formatter_class=FORMATTER,
        help="scatter of z_mean, coloured by label",
        description="Scatter z_mean of each example, coloured by label (a legend "
        "for up to 20 classes, else a colour bar). More than 2 latent units are "
        "projected on their first two principal components.",
    )
    latent.add_argument("model", help="a model.keras file")
    _add_data(latent)
    _add_split(latent)
    latent.add_argument("--output", required=True, help="FILE.png")
    _add_backend(latent)
    latent.set_defaults(func=cmd_plot_latent)
    manifold = plots_sub.add_parser(
        "manifold",
        formatter_class=FORMATTER,
        help="decode a latent grid (2-D) or traversals (more units)",
        description="For a 2-D latent space (and image data), decode a regular "
        "grid mapped through the inverse Gaussian CDF (Kingma & Welling's "
        "figures). Otherwise a traversal: one row per latent unit, the most "
        "active first, moving it alone with the others at 0.",
    )
    manifold.add_argument("model", help="a model.keras file")
    manifold.add_argument("--grid", type=int, default=15, help="tiles per row")
    manifold.add_argument(
        "--rows",
        type=int,
        default=None,
        help="traversal rows (default: every unit, at most 10)",
    )
    manifold.add_argument(
        "--data",
        default=None,
        help="optional data whose z_mean variance ranks the units for traversals "
        "(default: rank by the decoder's sensitivity)",
    )
    manifold.add_argument(
        "--label-column", default=None, help="CSV column (name or index) of labels"
    )
    _add_split(manifold)
    manifold.add_argument("--output", required=True, help="FILE.png")
    _add_backend(manifold)
    manifold.set_defaults(func=cmd_plot_manifold)


def cmd_plot_latent(args):
    from vaekit import plots

    _output_suffix(args.output, (".png",))
    model, x, y, split = load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    plots.save_picture(args.output, plots.latent_scatter(model, x, y))
    what = "2 units" if model.latent_dim <= 2 else "first two principal components"
    _wrote(args.output, f"z_mean of {len(x)} examples of {args.data} ({split}), {what}")
    return 0


def cmd_plot_manifold(args):
    from vaekit import plots

    _output_suffix(args.output, (".png",))
    _check_at_least(args.grid, "--grid", 2)
    if args.rows is not None:
        _check_at_least(args.rows, "--rows")
    files.check_model_file(args.model)
    from vaekit.models import load_model

    if args.data is not None:
        model, x, _, _ = load_model_and_data(
            args.model, args.data, args.label_column, args.split
        )
    else:
        model, x = load_model(args.model), None
    layout = plots.manifold_layout(model, args.grid, x, args.rows)
    plots.save_picture(args.output, plots.manifold(model, layout=layout))
    if layout["kind"] == "grid":
        what = f"{args.grid}x{args.grid} grid over the 2-D latent space"
    else:
        units = ", ".join(f"z[{u}]" for u in layout["units"])
        what = f"traversals of {units} (top to bottom)"
    _wrote(args.output, what)
    return 0


def _interpolate_parser(sub):
    p = sub.add_parser(
        "interpolate",
        formatter_class=FORMATTER,
        help="decode the path between the encodings of two examples",
        description="Encode examples I and J (z_mean), decode STEPS codes on the "
        "path between them (ends included) and draw them between the two "
        "originals. The path is a straight line, or a great circle with --slerp.",
    )
    p.add_argument("model", help="a model.keras file")
    _add_data(p)
    _add_split(p)
    p.add_argument(
        "--from", dest="index_from", type=int, required=True, help="index of example I"
    )
    p.add_argument(
        "--to", dest="index_to", type=int, required=True, help="index of example J"
    )
    p.add_argument("--steps", type=int, default=10, help="decoded codes, ends included")
    p.add_argument(
        "--slerp", action="store_true", help="spherical instead of linear interpolation"
    )
    p.add_argument("--output", required=True, help="FILE.png")
    _add_backend(p)
    p.set_defaults(func=cmd_interpolate)


def cmd_interpolate(args):
    from vaekit import plots

    _output_suffix(args.output, (".png",))
    _check_at_least(args.steps, "--steps", 2)
    model, x, _, split = load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    for flag, index in (("--from", args.index_from), ("--to", args.index_to)):
        if not 0 <= index < len(x):
            raise VaekitError(
                f"{flag} {index} is out of range: {args.data} ({split}) has "
                f"{len(x)} examples, 0..{len(x) - 1}"
            )
    method = "slerp" if args.slerp else "linear"
    picture = plots.interpolation(
        model, x[args.index_from], x[args.index_to], args.steps, method
    )
    plots.save_picture(args.output, picture)
    _wrote(
        args.output,
        f"{method} path from example {args.index_from} to {args.index_to} "
        f"in {args.steps} steps",
    )
    return 0


def _report_parser(sub):
    p = sub.add_parser(
        "report",
        formatter_class=FORMATTER,
        help="rebuild a run folder's report.html",
        description="Write RUN/report.html: one self-contained page with the "
        "run's config, final metrics and every picture in RUN/plots/, embedded.",
    )
    p.add_argument("run", help="a run folder made by vaekit train")
    p.add_argument(
        "--output", default=None, help="FILE.html (default: RUN/report.html)"
    )
    p.add_argument(
        "--redraw",
        action="store_true",
        help="first redraw RUN/plots/ from RUN/model.keras and the held-out part "
        "of the data named in RUN/config.toml",
    )
    _add_backend(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args):
    from vaekit import report

    if args.output is not None:
        _output_suffix(args.output, (".html", ".htm"))
    if not os.path.isdir(args.run):
        raise VaekitError(f"run folder {args.run!r} does not exist")
    if args.redraw:
        from vaekit import config as config_lib
        from vaekit import data as data_lib
        from vaekit import plots, train
        from vaekit.models import load_model

        config_path = os.path.join(args.run, "config.toml")
        config = config_lib.from_dict(
            config_lib.read_toml(config_path), source=config_path
        )
        model = load_model(os.path.join(args.run, "model.keras"))
        dataset = data_lib.load(config.data, config.label_column)
        _, _, (x_eval, y_eval, _) = train.prepare(dataset, config)
        plots.write_run_pictures(args.run, model, x_eval, y_eval)
    path = report.write_report(args.run, args.output)
    _wrote(path, "the run's report")
    return 0


# -- entry point ----------------------------------------------------------


def build_parser():
    parser = ArgumentParser(
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
    _sample_parser(sub)
    _reconstruct_parser(sub)
    _plot_parser(sub)
    _interpolate_parser(sub)
    _report_parser(sub)
    return parser


def main(argv=None):
    """Runs the command line `argv` (default `sys.argv[1:]`) and returns the
    exit status: 0 on success, 2 on a usage or input error."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return 0 if exc.code is None else exc.code
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
    quiet_tensorflow()
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
