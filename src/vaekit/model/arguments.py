"""The checks of a `VAE`'s constructor arguments: each value, and the
combinations that have no meaning, refused with what to do instead."""

from vaekit import checks
from vaekit.errors import InvalidArgument
from vaekit.model import preprocessing

__all__ = ["check_arguments"]


def check_arguments(args):
    """Checks the constructor's arguments (`locals()` of `__init__`)."""
    checks.one_of(args["likelihood"], "likelihood", checks.LIKELIHOODS)
    checks.number(args["beta"], "beta", minimum=0)
    checks.number(args["epsilon_std"], "epsilon_std", minimum=0, exclusive=("minimum",))
    decoder_std = args["decoder_std"]
    if isinstance(decoder_std, str):
        checks.one_of(decoder_std, "decoder_std", checks.DECODER_STDS)
    else:
        checks.number(decoder_std, "decoder_std", minimum=0, exclusive=("minimum",))
    checks.number(args["decoder_df"], "decoder_df", minimum=0)
    checks.integer(args["iw_samples"], "iw_samples")
    checks.integer(args["kl_warmup_steps"], "kl_warmup_steps", minimum=0)
    checks.number(args["free_bits"], "free_bits", minimum=0)
    checks.number(args["trim_fraction"], "trim_fraction", 0, 1, exclusive=("maximum",))
    if args["free_bits"] > 0 and args["iw_samples"] > 1:
        raise InvalidArgument(
            "free_bits applies to the ELBO's KL term; the importance-weighted "
            "bound (iw_samples > 1) has none: use iw_samples=1 or free_bits=0. "
            f"Received: free_bits={args['free_bits']!r}, "
            f"iw_samples={args['iw_samples']!r}"
        )
    conditional = args["conditional"]
    # Not `in (False, True, ...)`: 0 and 1 equal False and True.
    if (
        not isinstance(conditional, bool)
        and conditional not in preprocessing.CONDITIONS
    ):
        raise checks.invalid(
            "conditional", "False, True, 'auto', 'classes' or 'numeric'", conditional
        )
    checks.one_of(args["output_bias"], "output_bias", checks.OUTPUT_BIASES)
    _check_latents(args)
    if (args["encoder"] is None) != (args["decoder"] is None):
        raise InvalidArgument(
            "Pass both an encoder and a decoder, or neither (adapt builds them)."
        )


def _check_latents(args):
    """Checks the prior, the second layer and the gradient estimator."""
    checks.one_of(args["prior"], "prior", checks.PRIORS)
    checks.integer(args["prior_size"], "prior_size", minimum=0)
    checks.integer(args["top_latent_dim"], "top_latent_dim", minimum=0)
    for i, units in enumerate(args["top_hidden_dims"]):
        checks.integer(units, f"top_hidden_dims[{i}]")
    if not isinstance(args["dreg"], bool):
        raise checks.invalid("dreg", "True or False", args["dreg"])
    if args["prior"] == "vamp" and args["top_latent_dim"]:
        raise InvalidArgument(
            "The VampPrior is a mixture of the encoder's posteriors, which are "
            "over the first layer: with a second stochastic layer "
            "(top_latent_dim > 0) use prior 'standard', 'mog' or 'flow'."
        )
    if args["prior"] == "vamp" and args["conditional"]:
        raise InvalidArgument(
            "The VampPrior's pseudo-inputs have no label: a conditional VAE "
            "takes prior 'standard', 'mog' or 'flow'."
        )
    if args["free_bits"] > 0 and (
        args["prior"] != "standard" or args["top_latent_dim"]
    ):
        raise InvalidArgument(
            "free_bits needs each latent unit's KL, which only the standard "
            "normal prior of one stochastic layer has in closed form: use "
            "prior 'standard' without top_latent_dim, or free_bits 0."
        )
    if args["dreg"] and args["iw_samples"] < 2:
        raise InvalidArgument(
            "dreg is a gradient of the importance-weighted bound: it needs "
            f"iw_samples of 2 or more. Received: iw_samples={args['iw_samples']!r}"
        )
    if args["dreg"] and args["top_latent_dim"]:
        raise InvalidArgument(
            "dreg is for one stochastic layer: with top_latent_dim > 0 train "
            "with the plain importance-weighted gradient (dreg False)."
        )
