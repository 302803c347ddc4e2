"""`vaekit sample`: draw from the prior and decode."""

from vaekit import checks
from vaekit.cli import common

__all__ = ["add_parser", "cmd_sample"]


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "sample",
        cmd_sample,
        help="draw from the prior and decode: a picture, .npy or .csv",
        description="Draw codes from the prior (N(0, T^2 I), or a learned prior at "
        "temperature T) and decode them: for "
        "rows of a table, a draw from p(x|z) (numeric columns within their "
        "training range, whole-number columns rounded, categories drawn from "
        "their probabilities); for images, the mean of p(x|z) (--decoded "
        "chooses). FILE.png: a tiled grid for image data, a heatmap for "
        "vectors; FILE.npy: the array (n, *data_shape); FILE.csv: one sample per "
        "row, with a table's column names and category strings (else one "
        "flattened sample per row), and a conditional model's label column last. "
        "A conditional model draws --label, or its classes in turn.",
    )
    common.add_model(p)
    p.add_argument("-n", type=int, default=64, help="number of samples")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior draws")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="std of the prior draws (below 1: more typical, less varied samples)",
    )
    p.add_argument(
        "--decoded",
        choices=("draw", "mean"),
        default=None,
        help="what a code decodes to: a draw from p(x|z) or its mean "
        "(default: draw for rows of a table, mean for images)",
    )
    common.add_label(p, "to draw (default: the classes in turn)")
    p.add_argument("--output", required=True, help="FILE.png, FILE.npy or FILE.csv")
    common.add_backend(p)


def cmd_sample(args):
    suffix = common.output_suffix(args.output, (".png", ".npy", ".csv"))
    checks.integer(args.n, "-n")
    checks.number(args.temperature, "--temperature", minimum=0)
    common.check_model_path(args.model)
    from vaekit.model import load_model, sample
    from vaekit.viz import sample_grid, save_picture

    model = load_model(args.model)
    draw = None if args.decoded is None else args.decoded == "draw"
    if suffix == ".png":
        picture = sample_grid(
            model, args.n, args.seed, args.temperature, label=args.label, draw=draw
        )
        save_picture(args.output, picture)
    else:
        samples = sample(
            model, args.n, args.seed, args.temperature, args.label, draw=draw
        )
        common.write_array(
            args.output, model, samples, labels=_label_cells(model, args.label, args.n)
        )
    label = ""
    if args.label is not None:  # by its class name: `zero` for --label 0 too
        label = f", label {model.class_name_of(model.label_condition(args.label))}"
    common.wrote(
        args.output, f"{args.n} samples from the prior (T={args.temperature:g}{label})"
    )
    return 0


def _label_cells(model, label, n):
    """`(name, cells)` of the label column of `n` samples of a conditional
    model (the label each was drawn under, by class name), else None."""
    if not model.conditional:
        return None
    condition = model.label_condition(label)
    if condition is None:
        values = model.default_condition(n).reshape(int(n), -1)[:, 0]
    else:
        values = [condition] * int(n)
    return model.label_column or "label", [model.class_name_of(v) for v in values]
