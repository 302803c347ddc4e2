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
        "header line.",
    )
    common.add_inputs(p, split="all")
    p.add_argument("--output", required=True, help="FILE.npy or FILE.csv")
    common.add_backend(p)


def cmd_encode(args):
    suffix = common.output_suffix(args.output, (".npy", ".csv"))
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
        io.write_csv(args.output, header, table)
    common.wrote(args.output, f"{len(table)} rows of z_mean and z_log_var")
    return 0
