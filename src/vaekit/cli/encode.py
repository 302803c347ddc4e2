"""`vaekit encode`: write z_mean and z_log_var of each example."""

from vaekit.cli import common as commands

__all__ = ["add_parser", "cmd_encode"]


def add_parser(subparsers):
    p = commands.add_command(
        subparsers,
        "encode",
        cmd_encode,
        help="write z_mean and z_log_var of each example",
        description="Encode each example: FILE.npy holds the array (n, 2 * "
        "latent units), z_mean then z_log_var; FILE.csv the same table with a "
        "header line.",
    )
    commands.add_inputs(p, split="all")
    p.add_argument("--output", required=True, help="FILE.npy or FILE.csv")
    commands.add_backend(p)


def cmd_encode(args):
    import numpy as np

    from vaekit import io as files

    suffix = commands.output_suffix(args.output, (".npy", ".csv"))
    model, x, _, _ = commands.model_and_data(args)
    z_mean, z_log_var = model.encode(x)
    table = np.concatenate([z_mean, z_log_var], axis=1).astype(np.float32)
    if suffix == ".npy":
        files.save_npy(args.output, table)
    else:
        units = range(model.latent_dim)
        header = [f"z_mean_{i}" for i in units] + [f"z_log_var_{i}" for i in units]
        files.write_csv(args.output, header, table)
    commands.wrote(args.output, f"{len(table)} rows of z_mean and z_log_var")
    return 0
