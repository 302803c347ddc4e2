"""`vaekit train`: train a VAE and write a run folder."""

import argparse
import os
import sys

import vaekit
from vaekit import VaekitError, checks, runs
from vaekit import config as config_lib
from vaekit.cli import common as commands

__all__ = ["FLAGS", "add_parser", "cmd_train"]


def _decoder_std(text):
    if text in checks.DECODER_STDS:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {' or '.join(checks.DECODER_STDS)} or a number, got {text!r}"
        ) from None


def _choices(values):
    return {"choices": values}


FLAGS = {
    # flag dest: (argparse keywords, help)
    "epochs": ({"type": int}, "number of epochs"),
    "batch_size": ({"type": int}, "examples per step"),
    "hidden_dims": (
        {"type": commands.int_list},
        "hidden layer sizes (or conv filters), e.g. 512,256",
    ),
    "latent_dim": ({"type": int}, "number of latent units"),
    "activation": (_choices(checks.ACTIVATIONS), "activation of the hidden layers"),
    "dropout": ({"type": float}, "dropout rate after each hidden MLP layer"),
    "architecture": (_choices(checks.ARCHITECTURES), "network kind"),
    "optimizer": (_choices(checks.OPTIMIZERS), "optimizer"),
    "learning_rate": ({"type": float}, "optimizer learning rate"),
    "lr_schedule": (
        _choices(checks.LR_SCHEDULES),
        "constant, or cosine: decay to 0 over the run's steps",
    ),
    "warmup_epochs": (
        {"type": float},
        "epochs (a fraction too) over which the learning rate rises linearly "
        "from 0 before the schedule (0: off)",
    ),
    "clipnorm": ({"type": float}, "clip each gradient to this norm"),
    "likelihood": (_choices(checks.LIKELIHOODS), "decoder distribution p(x|z)"),
    "decoder_std": (
        {"type": _decoder_std, "metavar": "{learned,learned-per-feature,STD}"},
        "std of the gaussian decoder: learned (one), learned-per-feature, or a "
        "fixed number > 0 (in units of each feature's standard deviation)",
    ),
    "output_bias": (
        _choices(checks.OUTPUT_BIASES),
        "initial bias of the bernoulli decoder's output: zeros, or the logit of "
        "the training data's mean (a better start)",
    ),
    "binarize": (
        _choices(checks.BINARIZE),
        "binarize the data: once (static) or a fresh draw every epoch (dynamic)",
    ),
    "beta": ({"type": float}, "weight of the KL term"),
    "kl_warmup_epochs": (
        {"type": int},
        "epochs over which the KL weight rises from 0 to beta",
    ),
    "iw_samples": (
        {"type": int},
        "importance samples of the training objective (1: ELBO)",
    ),
    "free_bits": (
        {"type": float, "metavar": "LAMBDA"},
        "free bits: each latent unit's KL term is max(LAMBDA, its batch mean) in "
        "the objective (Kingma et al. 2016); needs --iw-samples 1 (0: off)",
    ),
    "epsilon_std": ({"type": float}, "std of the reparameterization noise (tutorial)"),
    "validation_split": ({"type": float}, "fraction of the training data held out"),
    "early_stopping": (
        {"type": int},
        "stop after this many epochs without a better "
        "validation loss, keeping the best weights (0: off)",
    ),
    "eval_iw_samples": ({"type": int}, "importance samples of the final evaluation"),
    "seed": ({"type": int}, "random seed"),
    "columns": (
        {"type": commands.name_list, "metavar": "NAME,..."},
        "CSV feature columns, by header name (default: all but the label)",
    ),
}


def add_parser(subparsers):
    defaults = config_lib.resolve()

    p = commands.add_command(
        subparsers,
        "train",
        cmd_train,
        help="train a VAE and write a run folder",
        description="Train a VAE. Settings come from the 'default' preset, then "
        "--preset, then --config, then the flags given here.",
    )
    commands.add_data(p, required=False)
    p.add_argument(
        "--preset",
        default=None,
        help=f"a named preset: {', '.join(config_lib.preset_names())}",
    )
    p.add_argument(
        "--config",
        default=None,
        help=f"a TOML config file (e.g. a run's {runs.CONFIG}); its backend is "
        "used unless --backend says otherwise",
    )
    for dest, (keywords, text) in FLAGS.items():
        p.add_argument(
            "--" + dest.replace("_", "-"),
            dest=dest,
            default=None,
            help=f"{text} (default: {getattr(defaults, dest)!r})",
            **keywords,
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
        "DataParallel; several processes: --coordinator, --num-processes, "
        "--process-id)",
    )
    # Launch parameters, not settings of the run: they stay out of its
    # config.toml, so that the run reproduces on one process too.
    p.add_argument(
        "--coordinator",
        default=None,
        metavar="HOST:PORT",
        help="with --distribute on several processes: the address of process 0 "
        "(default: $KERAS_DISTRIBUTION_JOB_ADDRESSES)",
    )
    p.add_argument(
        "--num-processes",
        type=int,
        default=None,
        metavar="N",
        help="with --coordinator: the number of processes "
        "(default: $KERAS_DISTRIBUTION_NUM_PROCESSES)",
    )
    p.add_argument(
        "--process-id",
        type=int,
        default=None,
        metavar="I",
        help="with --coordinator: this process's index, 0 to N-1; only process 0 "
        "writes the run folder (default: $KERAS_DISTRIBUTION_PROCESS_ID)",
    )
    p.add_argument(
        "--conditional",
        action="store_const",
        const=True,
        default=None,
        help="a conditional VAE, q(z|x,y) and p(x|z,y), on the labels (integer "
        "labels: classes, one-hot; other numbers: a numeric condition)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    commands.add_backend(p)


def _overrides(args):
    """The settings given as flags."""
    names = (*FLAGS, "data", "label_column", "missing", "distribute", "conditional")
    values = {
        name: getattr(args, name) for name in names if getattr(args, name) is not None
    }
    from vaekit.data import DOWNLOADABLE, EMBEDDED

    data = values.get("data")
    if data not in (None, *EMBEDDED, *DOWNLOADABLE) and os.path.exists(data):
        # The run's config.toml reruns from any folder.
        values["data"] = os.path.abspath(values["data"])
    return values


def _config(args):
    environment = getattr(vaekit, "_USER_BACKEND", None)
    if args.resume is None:
        return config_lib.resolve(
            args.preset, args.config, _overrides(args), args.backend, environment
        )
    changed = [
        "--" + name.replace("_", "-")
        for name in (*_overrides(args), "preset", "config", "output")
        if name != "epochs" and getattr(args, name) is not None
    ]
    if changed or args.overwrite:
        raise VaekitError(
            f"--resume continues {args.resume!r} with its own {runs.CONFIG}; drop "
            f"{', '.join(changed) or '--overwrite'} (only --epochs may change)"
        )
    return runs.resume_config(args.resume, args.epochs, args.backend, environment)


def cmd_train(args):
    config = _config(args)
    commands.use_backend(config.backend)
    from vaekit.training.train import TrainingInterrupted, summarize, train

    try:
        run, metrics = train(
            config,
            output=args.output,
            overwrite=args.overwrite,
            verbose=0 if args.quiet else "auto",
            resume=args.resume,
            coordinator=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )
    except TrainingInterrupted as exc:
        print(f"vaekit: {exc}", file=sys.stderr)
        return exc.exit_code
    if run is None:
        print("trained; process 0 wrote the run folder")
        return 0
    print(f"run folder: {run}")
    print(summarize(metrics))
    return 0
