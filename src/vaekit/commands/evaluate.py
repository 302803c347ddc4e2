"""`vaekit evaluate`: ELBO, importance-weighted log p(x) and active units."""

import json

from vaekit import checks, commands, runs

__all__ = ["add_parser", "cmd_evaluate"]


def add_parser(subparsers):
    p = commands.add_command(
        subparsers,
        "evaluate",
        cmd_evaluate,
        help="ELBO, importance-weighted log p(x) and active units on a dataset",
    )
    commands.add_inputs(p)
    p.add_argument(
        "--iw-samples", type=int, default=1000, help="importance samples k per example"
    )
    p.add_argument(
        "--binarize",
        choices=("auto", *checks.BINARIZE),
        default="auto",
        help="binarize the data once with a fixed seed (static and dynamic "
        f"both do); auto: as the {runs.CONFIG} of the model's run folder says "
        "(none for a model file without one)",
    )
    p.add_argument(
        "--max-memory",
        type=float,
        default=1024,
        help="memory budget of one chunk of work, in MiB",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the importance samples")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    commands.add_backend(p)


def cmd_evaluate(args):
    from vaekit import inputs

    checks.integer(args.iw_samples, "--iw-samples")
    checks.number(args.max_memory, "--max-memory", minimum=0, exclusive=("minimum",))
    if args.binarize == "auto":
        binarize = runs.training_binarize(args.model)
    else:
        binarize = args.binarize
    model, x, _, split = inputs.load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    from vaekit import data as data_lib
    from vaekit.evaluate import evaluate

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
        return 0
    print(f"{'data':<24}{args.data} ({split}, n={result['n']}, binarize={binarize})")
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
