"""`vaekit export`: a trained model as ONNX files or a TensorFlow
SavedModel, for serving (see `vaekit.export`)."""

import argparse
import os

from vaekit.cli import common

__all__ = ["add_parser", "cmd_export"]

FORMATS = ("onnx", "tf_saved_model")  # vaekit.export.FORMATS, without keras
PARTS = ("encoder", "decoder", "scorer")


def _parts(text):
    """An argparse type: comma-separated parts, e.g. `encoder,scorer`."""
    parts = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [part for part in parts if part not in PARTS]
    if not parts or unknown:
        raise argparse.ArgumentTypeError(
            f"expected some of {','.join(PARTS)}, got {text!r}"
        )
    return parts


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "export",
        cmd_export,
        help="export a trained model for serving (ONNX, TensorFlow SavedModel)",
        description="Export the encoder (x -> z_mean, z_log_var), the decoder (z "
        "-> the mean of p(x|z) in the data's units) and a deterministic scorer (x "
        "-> the reconstruction_error of `vaekit score`) with the model's own "
        "preprocessing inside: PART.onnx files, or one SavedModel with a signature "
        "per part, and schema.json (the input's columns, and the code of each "
        "category of a text column). Needs the export extra: pip install "
        '"vaekit[export]".',
    )
    p.add_argument("run", help="a run folder or a model.keras file")
    p.add_argument("--format", choices=FORMATS, default="onnx")
    p.add_argument(
        "--parts",
        type=_parts,
        default=PARTS,
        help="comma-separated: some of " + ",".join(PARTS),
    )
    p.add_argument(
        "--output",
        default=None,
        help="the folder to write (default: RUN/export-FORMAT, or MODEL-FORMAT "
        "beside a model file)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an earlier export there"
    )
    common.add_backend(p)


def default_output(run, format):
    """Where an export goes without --output."""
    if os.path.isdir(run):
        return os.path.join(run, f"export-{format}")
    stem = os.path.splitext(run)[0]
    return f"{stem}-{format}"


def cmd_export(args):
    from vaekit import runs

    model = args.run
    common.check_model_path(
        runs.path(model, runs.MODEL) if os.path.isdir(model) else model
    )
    output = args.output or default_output(args.run, args.format)
    from vaekit.export import export

    schema = export(
        model, output, format=args.format, parts=args.parts, overwrite=args.overwrite
    )
    common.wrote(
        output, f"{', '.join(schema['parts'])} as {args.format}, and schema.json"
    )
    return 0
