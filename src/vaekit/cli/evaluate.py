"""`vaekit evaluate`: ELBO, importance-weighted log p(x) and active units."""

import json

from vaekit import checks
from vaekit.cli import common as commands

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
    commands.add_binarize(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    commands.add_backend(p)


def cmd_evaluate(args):
    checks.integer(args.iw_samples, "--iw-samples")
    model, x, y, split, binarize = commands.load_for_likelihood(args)
    from vaekit.evaluation.likelihood import evaluate

    result = evaluate(
        model,
        x,
        iw_samples=args.iw_samples,
        seed=args.seed,
        max_memory=int(args.max_memory * 2**20),
        condition=y if model.conditional else None,
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
