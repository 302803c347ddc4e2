"""The latent side of a VAE: which prior p(z) it has, and whether a second
stochastic layer sits above its code.

`make_prior` builds the prior a `VAE`'s settings name, once its networks
are known (the VampPrior reads the encoder; every prior needs the code's
size); `vaekit.model.arguments` refuses the combinations that have no meaning.
"""

from vaekit.model.flows import FlowPrior
from vaekit.model.hierarchy import TwoLayerPrior
from vaekit.model.priors import MixturePrior, StandardNormal, VampPrior

__all__ = ["DEFAULT_SIZES", "make_prior"]

# `prior_size` 0 means these: mixture components, pseudo-inputs, couplings.
DEFAULT_SIZES = {"standard": 0, "mog": 10, "vamp": 500, "flow": 4}


def _prior(model, name, size, latent_dim, seed, activation):
    """The prior of a code of `latent_dim` units of `model` that `name` and
    `size` describe (`size` 0: its default)."""
    size = int(size) or DEFAULT_SIZES[name]
    if name == "vamp":
        prior = VampPrior(
            latent_dim, size, data_shape=model.data_shape, seed=seed, name="vamp"
        )
        prior.posterior = model.posterior
        return prior
    if name == "mog":
        return MixturePrior(latent_dim, size, seed=seed, name="mixture")
    if name == "flow":
        return FlowPrior(
            latent_dim, size, activation=activation, seed=seed, name="flow"
        )
    return StandardNormal()


def make_prior(model):
    """The prior of `model` (a `VAE` whose networks are attached): its
    `prior` over its code, or with `top_latent_dim` a `TwoLayerPrior` whose
    second layer has that prior."""
    seed = None if model.seed is None else model.seed + 2000
    activation = model.network_settings["activation"]
    if model.top_latent_dim:
        # Vamp is refused over a second layer (vaekit.model.arguments).
        top = _prior(
            model,
            model.prior_name,
            model.prior_size,
            model.top_latent_dim,
            seed,
            activation,
        )
        return TwoLayerPrior(
            model.latent_dim,
            model.top_latent_dim,
            hidden_dims=model.top_hidden_dims,
            activation=activation,
            top=top if not isinstance(top, StandardNormal) else None,
            seed=seed,
            name="two_layer",
        )
    return _prior(
        model, model.prior_name, model.prior_size, model.latent_dim, seed, activation
    )
