"""`vaekit reconstruct`: originals beside their reconstructions."""

from vaekit import checks
from vaekit.cli import common

__all__ = ["add_parser", "cmd_reconstruct"]


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "reconstruct",
        cmd_reconstruct,
        help="originals beside their reconstructions",
        description="Draw the first N examples of the data, each beside its "
        "reconstruction: the mean of p(x|z) at z = z_mean (no sampling noise). "
        "FILE.png: the picture; FILE.csv or FILE.npy: the reconstructions of "
        "every example (a table's column names and categories in the CSV). A "
        "conditional model reconstructs each example under its own label.",
    )
    common.add_inputs(p)
    common.add_id_column(p)
    p.add_argument("-n", type=int, default=16, help="number of examples (FILE.png)")
    p.add_argument("--output", required=True, help="FILE.png, FILE.csv or FILE.npy")
    common.add_backend(p)


def cmd_reconstruct(args):
    suffix = common.output_suffix(args.output, (".png", ".csv", ".npy"))
    checks.integer(args.n, "-n")
    if suffix != ".csv" and args.id_column is not None:
        common.id_cells(args, [], csv_output=False)  # refused, before the work
    common.check_model_path(args.model)
    from vaekit.model import load_model, reconstruct
    from vaekit.viz import reconstruction_grid, save_picture

    model = load_model(args.model)
    if suffix != ".png":
        result = reconstruct(model, args.data, **common.input_options(args))
        ids = common.id_cells(args, result["rows"], csv_output=suffix == ".csv")
        common.write_array(args.output, model, result["reconstruction"], ids)
        common.wrote(
            args.output,
            f"reconstructions of {len(result['x'])} examples ({result['split']})",
        )
        return 0
    picture = reconstruction_grid(
        model, args.data, args.n, **common.input_options(args)
    )
    save_picture(args.output, picture)
    common.wrote(args.output, f"examples of {args.data} and their reconstructions")
    return 0
