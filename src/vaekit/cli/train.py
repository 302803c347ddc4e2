"""`vaekit train`: train a VAE and write a run folder.

Its setting flags are built from the fields of `vaekit.config.Config`,
which declare each setting's help, allowed values and check once;
`settings_table` renders the same declarations for the documentation.
"""

import argparse
import os
import sys
import typing

import vaekit
from vaekit import checks
from vaekit import config as config_lib
from vaekit.cli import common
from vaekit.errors import InvalidArgument

__all__ = ["add_parser", "cmd_train", "flag_type", "settings_table"]


def _int_list(text):
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


def _name_list(text):
    """An argparse type: comma-separated names, e.g. `age,income`."""
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values:
        raise argparse.ArgumentTypeError("expected at least one column name")
    return values


def _name_or_number(text):
    """An argparse type: one of `DECODER_STDS`, or a number."""
    if text in checks.DECODER_STDS:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {' or '.join(checks.DECODER_STDS)} or a number, got {text!r}"
        ) from None


def flag_type(field):
    """The argparse keywords of a `Config` field's flag, from its type."""
    kind = typing.get_type_hints(config_lib.Config)[field.name]
    args = set(typing.get_args(kind)) - {type(None)}
    if kind is bool:
        return {"action": "store_const", "const": True}
    if kind is int:
        return {"type": int}
    if kind is float or args == {float}:
        return {"type": float}
    if args == {str, float}:
        return {"type": _name_or_number}
    if args == {tuple[int, ...]} or kind == tuple[int, ...]:
        return {"type": _int_list}
    if args == {tuple[str, ...]}:
        return {"type": _name_list}
    return {}


def _add_settings(parser):
    """One flag per setting, built from its field."""
    defaults = config_lib.Config()
    for field in config_lib.FIELDS.values():
        meta = field.metadata
        keywords = flag_type(field)
        if meta["choices"]:
            keywords["choices"] = meta["choices"]
        if meta["metavar"] and keywords.get("action") != "store_const":
            keywords["metavar"] = meta["metavar"]
        default = getattr(defaults, field.name)
        text = meta["help"]
        if keywords.get("action") != "store_const":
            text = f"{text} (default: {default!r})"
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            default=None,
            help=text,
            **keywords,
        )


# Launch parameters, not settings of the run: they stay out of its
# config.toml, so that the run reproduces on one process too. Each
# defaults to the environment variable keras.distribution reads.
_LAUNCH = (
    ("--coordinator", str, "HOST:PORT", "JOB_ADDRESSES", "the address of process 0"),
    ("--num-processes", int, "N", "NUM_PROCESSES", "the number of processes"),
    (
        "--process-id",
        int,
        "I",
        "PROCESS_ID",
        "this process's index, 0 to N-1 (only process 0 writes the run folder)",
    ),
)


def _add_launch(p):
    for flag, kind, metavar, env, what in _LAUNCH:
        p.add_argument(
            flag,
            type=kind,
            default=None,
            metavar=metavar,
            help=f"with --distribute on several processes: {what} "
            f"(default: $KERAS_DISTRIBUTION_{env})",
        )


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "train",
        cmd_train,
        help="train a VAE and write a run folder",
        description="Train a VAE. Settings come from the 'default' preset, then "
        "--preset, then --config, then the flags given here.",
    )
    p.add_argument(
        "--preset",
        default=None,
        help=f"a named preset: {', '.join(config_lib.preset_names())}",
    )
    p.add_argument(
        "--config",
        default=None,
        help="a TOML config file (e.g. a run's config.toml); its backend is used "
        "unless --backend says otherwise",
    )
    _add_settings(p)
    p.add_argument(
        "--output", default=None, help="run folder (default: runs/<timestamp>)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run folder (only one vaekit made, holding only "
        "vaekit's own files)",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN",
        help="continue the interrupted run in folder RUN from its checkpoint "
        "(only --epochs may change)",
    )
    _add_launch(p)
    p.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        default=None,
        metavar="URI",
        help="log the run to MLflow: its settings, each epoch's metrics, the "
        "held-out metrics and the run folder's files, at tracking URI URI "
        "(http://HOST:PORT, sqlite:///FILE.db; default: a SQLite store beside the "
        "run folder, runs/mlflow.db); with --resume, the same MLflow run continues "
        '(needs pip install "vaekit[track]")',
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _overrides(args):
    """The settings given as flags."""
    values = {
        name: getattr(args, name)
        for name in config_lib.FIELDS
        if getattr(args, name) is not None
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
        overrides = _overrides(args)
        return config_lib.resolve(
            args.preset,
            args.config,
            overrides,
            overrides.pop("backend", None),
            environment,
        )
    changed = [
        "--" + name.replace("_", "-")
        for name in (*_overrides(args), "preset", "config", "output")
        if name not in ("epochs", "backend") and getattr(args, name) is not None
    ]
    if changed or args.overwrite:
        raise InvalidArgument(
            f"--resume continues {args.resume!r} with its own config.toml; drop "
            f"{', '.join(changed) or '--overwrite'} (only --epochs may change)"
        )
    from vaekit import runs

    return runs.resume_config(args.resume, args.epochs, args.backend, environment)


def cmd_train(args):
    config = _config(args)
    common.use_backend(config.backend)
    from vaekit.training import TrainingInterrupted, summarize, train

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
            mlflow=args.mlflow,
        )
    except TrainingInterrupted as exc:
        print(
            f"vaekit: {exc}. Resume with: vaekit train --resume {exc.run}",
            file=sys.stderr,
        )
        return exc.exit_code
    if run is None:
        print("trained; process 0 wrote the run folder")
        return 0
    print(f"run folder: {run}")
    print(summarize(metrics))
    return 0


def _cell(value):
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return "none" if value is None else str(value)


def settings_table():
    """Every setting as a Markdown table (docs/cli.md holds this text):
    setting, flag, default, allowed values and meaning, by section."""
    lines = [
        "| setting | flag | default | allowed | meaning |",
        "|---|---|---|---|---|",
    ]
    for group in config_lib.GROUPS:
        lines.append(f"| **{group}** | | | | |")
        for field in config_lib.FIELDS.values():
            meta = field.metadata
            if meta["group"] != group:
                continue
            allowed = ", ".join(meta["choices"]) if meta["choices"] else ""
            flag = "--" + field.name.replace("_", "-")
            lines.append(
                f"| `{field.name}` | `{flag}` | {_cell(field.default)} | {allowed} | "
                f"{meta['help']} |"
            )
    return "\n".join(lines) + "\n"
