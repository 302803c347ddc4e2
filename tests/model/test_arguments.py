"""vaekit.model.arguments: the latent arguments of a VAE (prior, second
layer, DReG) and the combinations that have no meaning, refused with what
to do instead."""

import pytest

from vaekit.errors import InvalidArgument
from vaekit.model import VAE


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prior": "gaussian"}, "prior"),
        ({"prior_size": -1}, "prior_size"),
        ({"prior_size": 2.5}, "prior_size"),
        ({"top_latent_dim": -2}, "top_latent_dim"),
        ({"top_hidden_dims": [0]}, r"top_hidden_dims\[0\]"),
        ({"dreg": 1}, "dreg"),
    ],
)
def test_bad_latent_arguments_are_refused(kwargs, field):
    with pytest.raises(InvalidArgument, match=f"Received: {field}="):
        VAE(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"prior": "vamp", "top_latent_dim": 5},
            "use prior 'standard', 'mog' or 'flow'",
        ),
        ({"prior": "vamp", "conditional": True}, "pseudo-inputs have no label"),
        ({"prior": "mog", "free_bits": 0.5}, "use prior 'standard' without"),
        ({"top_latent_dim": 3, "free_bits": 0.5}, "use prior 'standard' without"),
        ({"dreg": True}, "needs iw_samples of 2 or more"),
        ({"dreg": True, "iw_samples": 5, "top_latent_dim": 3}, "one stochastic layer"),
    ],
)
def test_meaningless_combinations_are_refused(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        VAE(**kwargs)


def test_the_latent_arguments_are_kept_in_the_config():
    model = VAE(prior="flow", prior_size=3, iw_samples=4, dreg=True)
    config = model.get_config()
    assert {
        k: config[k] for k in ("prior", "prior_size", "dreg", "top_latent_dim")
    } == {
        "prior": "flow",
        "prior_size": 3,
        "dreg": True,
        "top_latent_dim": 0,
    }
    assert VAE.from_config(config).get_config() == config
