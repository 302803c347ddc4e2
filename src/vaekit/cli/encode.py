"""`vaekit encode`: write z_mean and z_log_var of each example."""

from vaekit.cli import common

__all__ = ["add_parser", "cmd_encode"]


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "encode",
        cmd_encode,
        help="write z_mean and z_log_var of each example",
        description="Encode each example: FILE.npy holds the array (n, 2 * "
        "latent units), z_mean then z_log_var; FILE.csv the same table with a "
        "header line, and a last column label when the data has labels (named "
        "as the data names them: a class folder's name, a CSV's text label).",
    )
    common.add_inputs(p, split="all")
    common.add_id_column(p)
    p.add_argument("--output", required=True, help="FILE.npy or FILE.csv")
    common.add_backend(p)


def cmd_encode(args):
    suffix = common.output_suffix(args.output, (".npy", ".csv"))
    if suffix != ".csv" and args.id_column is not None:
        common.id_cells(args, [], csv_output=False)  # refused, before the work
    common.check_model_path(args.model)
    import numpy as np

    from vaekit import io
    from vaekit.model import encode

    codes = encode(args.model, args.data, **common.input_options(args))
    z_mean, z_log_var = codes["z_mean"], codes["z_log_var"]
    table = np.concatenate([z_mean, z_log_var], axis=1).astype(np.float32)
    if suffix == ".npy":
        io.save_npy(args.output, table)
    else:
        units = range(z_mean.shape[1])
        header = [f"z_mean_{i}" for i in units] + [f"z_log_var_{i}" for i in units]
        rows = table
        if codes["labels"] is not None:
            header.append("label")
            rows = (
                (*row, label) for row, label in zip(table, codes["labels"], strict=True)
            )
        ids = common.id_cells(args, codes["rows"])
        if ids is not None:
            header.insert(0, common.id_header(ids[0], header))
            rows = ((cell, *row) for cell, row in zip(ids[1], rows, strict=True))
        io.write_csv(args.output, header, rows)
    common.wrote(args.output, f"{len(table)} rows of z_mean and z_log_var")
    return 0
