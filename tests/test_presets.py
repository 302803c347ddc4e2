"""The named recipes in src/vaekit/presets/: each states every setting that
defines it, so a change of vaekit's defaults (the Config dataclass) never
leaks into it, and each is checked here field by field against its source."""

import dataclasses
import os

import pytest

from vaekit import config as config_lib
from vaekit.config import Config

FIELDS = [f.name for f in dataclasses.fields(Config)]

# Settings a recipe may leave to the defaults: how and where it runs, not
# what it trains. clipnorm is here only because TOML has no null, so "no
# clipping" cannot be written down; the expected dicts below pin it to None,
# so a new default clipnorm still fails the field-by-field test.
NOT_RECIPE = {
    "seed",
    "backend",
    "distribute",
    "label_column",
    "clipnorm",
    "columns",
    "missing",
    "conditional",
}
# Only the Gaussian likelihood reads decoder_std, only the Bernoulli one
# output_bias.
UNUSED_BY_BERNOULLI = {"decoder_std"}
UNUSED_BY_GAUSSIAN = {"output_bias"}

# The Keras blog's run ("Building Autoencoders in Keras", F. Chollet, 2016).
TUTORIAL = {
    "data": "mnist",
    "label_column": None,
    "columns": None,
    "missing": "error",
    "conditional": False,
    "binarize": "none",
    "validation_split": 0.0,
    "architecture": "mlp",
    "hidden_dims": (256,),
    "latent_dim": 2,
    "activation": "relu",
    "dropout": 0.0,
    "likelihood": "bernoulli",
    "decoder_std": "learned",
    "output_bias": "zeros",
    "beta": 1.0,
    "epsilon_std": 1.0,
    "iw_samples": 1,
    "kl_warmup_epochs": 0,
    "free_bits": 0.0,
    "optimizer": "rmsprop",
    "learning_rate": 1e-3,
    "lr_schedule": "constant",
    "warmup_epochs": 0.0,
    "clipnorm": None,
    "batch_size": 100,
    "epochs": 50,
    "early_stopping": 0,
    "seed": 0,
    "eval_iw_samples": 1000,
    "backend": "jax",
    "distribute": False,
}

# pytorch/examples vae/main.py.
PYTORCH_EXAMPLES = {
    "data": "mnist",
    "label_column": None,
    "columns": None,
    "missing": "error",
    "conditional": False,
    "binarize": "none",
    "validation_split": 0.0,
    "architecture": "mlp",
    "hidden_dims": (400,),
    "latent_dim": 20,
    "activation": "relu",
    "dropout": 0.0,
    "likelihood": "bernoulli",
    "decoder_std": "learned",
    "output_bias": "zeros",
    "beta": 1.0,
    "epsilon_std": 1.0,
    "iw_samples": 1,
    "kl_warmup_epochs": 0,
    "free_bits": 0.0,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "lr_schedule": "constant",
    "warmup_epochs": 0.0,
    "clipnorm": None,
    "batch_size": 128,
    "epochs": 10,
    "early_stopping": 0,
    "seed": 0,
    "eval_iw_samples": 1000,
    "backend": "jax",
    "distribute": False,
}

# The same model in half the epochs: a data-mean output bias and a warm-up
# then cosine schedule (benchmarks/peers.py).
PYTORCH_EXAMPLES_FAST = {
    **PYTORCH_EXAMPLES,
    "output_bias": "data-mean",
    "learning_rate": 5e-3,
    "lr_schedule": "cosine",
    "warmup_epochs": 0.5,
    "epochs": 5,
}

# The full MNIST in 15 minutes on 2 cores: dynamic binarization, a
# 784-512-512-64 ELU MLP on the IWAE bound with k=5, learning-rate and KL
# warm-ups (benchmarks/mnist.sh).
MNIST = {
    **PYTORCH_EXAMPLES,
    "binarize": "dynamic",
    "hidden_dims": (512, 512),
    "latent_dim": 64,
    "activation": "elu",
    "output_bias": "data-mean",
    "iw_samples": 5,
    "kl_warmup_epochs": 3,
    "learning_rate": 2e-3,
    "lr_schedule": "cosine",
    "warmup_epochs": 1.0,
    "batch_size": 100,
    "epochs": 46,
    "eval_iw_samples": 5000,
}

# Small tables: the user's own data (so no `data`), Gaussian features
# standardised inside the model; chosen on the breast-cancer table
# (benchmarks/anomaly.py).
TABULAR = {
    "data": "mnist5k",  # the default: the user gives --data
    "label_column": None,
    "columns": None,
    "missing": "error",
    "conditional": False,
    "binarize": "none",
    "validation_split": 0.1,
    "architecture": "mlp",
    "hidden_dims": (64,),
    "latent_dim": 8,
    "activation": "relu",
    "dropout": 0.0,
    "likelihood": "gaussian",
    "decoder_std": "learned-per-feature",
    "output_bias": "zeros",
    "beta": 1.0,
    "epsilon_std": 1.0,
    "iw_samples": 1,
    "kl_warmup_epochs": 0,
    "free_bits": 0.0,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "lr_schedule": "cosine",
    "warmup_epochs": 0.0,
    "clipnorm": None,
    "batch_size": 32,
    "epochs": 300,
    "early_stopping": 0,
    "seed": 0,
    "eval_iw_samples": 1000,
    "backend": "jax",
    "distribute": False,
}
RECIPES = {
    "tutorial": TUTORIAL,
    "pytorch-examples": PYTORCH_EXAMPLES,
    "pytorch-examples-fast": PYTORCH_EXAMPLES_FAST,
    "mnist": MNIST,
    "tabular": TABULAR,
}
# Recipes for the user's own data leave `data` to --data.
OWN_DATA = {"tabular"}

# Two different values per field: a stand-in "default" that differs from the
# recipe's value is always one of them.
ALTERNATIVES = {
    "data": ("digits", "mnist5k"),
    "label_column": ("label", None),
    "binarize": ("dynamic", "none"),
    "validation_split": (0.3, 0.0),
    "architecture": ("conv", "mlp"),
    "hidden_dims": ((7, 5), (256,)),
    "latent_dim": (3, 2),
    "activation": ("tanh", "relu"),
    "dropout": (0.5, 0.0),
    "likelihood": ("gaussian", "bernoulli"),
    "decoder_std": (0.5, "learned"),
    "beta": (2.0, 1.0),
    "epsilon_std": (0.5, 1.0),
    "iw_samples": (7, 1),
    "kl_warmup_epochs": (3, 0),
    "free_bits": (0.5, 0.0),
    "optimizer": ("sgd", "adam"),
    "learning_rate": (0.1, 1e-3),
    "lr_schedule": ("cosine", "constant"),
    "warmup_epochs": (0.25, 0.0),
    "output_bias": ("data-mean", "zeros"),
    "clipnorm": (1.0, None),
    "batch_size": (32, 100),
    "epochs": (3, 400),
    "early_stopping": (5, 0),
    "seed": (7, 0),
    "eval_iw_samples": (10, 1000),
    "backend": ("torch", "jax"),
    "distribute": (True, False),
    "columns": (("a", "b"), None),
    "missing": ("drop", "error"),
    "conditional": (True, False),
}


def _may_omit(expected):
    omit = set(NOT_RECIPE)
    if expected is TABULAR:
        omit.add("data")
    if expected["likelihood"] == "bernoulli":
        omit |= UNUSED_BY_BERNOULLI
    else:
        omit |= UNUSED_BY_GAUSSIAN
    return omit


def test_every_preset_is_checked_here():
    assert set(config_lib.preset_names()) == {"default", *RECIPES}


def test_the_expected_recipes_write_out_every_field():
    for expected in RECIPES.values():
        assert list(expected) == FIELDS
    assert set(ALTERNATIVES) == set(FIELDS)


def test_default_is_the_empty_layer():
    """`default` adds nothing to the Config dataclass's own defaults."""
    assert config_lib.preset("default") == {}
    assert config_lib.from_dict(config_lib.preset("default")) == Config()


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_field_by_field(name):
    expected = RECIPES[name]
    values = config_lib.preset(name)
    alone = config_lib.from_dict(dict(values), source=name)
    # as `vaekit train --preset NAME` layers it: default < preset
    layered = config_lib.from_dict(
        {**config_lib.preset("default"), **values}, source=name
    )
    for config in (alone, layered):
        for field in FIELDS:
            assert getattr(config, field) == expected[field], (name, field)
            assert type(getattr(config, field)) is type(expected[field]), (
                name,
                field,
            )


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_names_every_setting_that_defines_it(name):
    values = config_lib.preset(name)
    missing = set(FIELDS) - _may_omit(RECIPES[name]) - set(values)
    assert not missing, f"{name}.toml leaves {sorted(missing)} to the defaults"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_other_defaults_do_not_change_the_recipe(name):
    """Layer the preset over stand-in defaults that differ from the recipe in
    every field: the recipe's own fields come out unchanged."""
    expected = RECIPES[name]
    stand_in = {
        field: next(v for v in ALTERNATIVES[field] if v != expected[field])
        for field in FIELDS
    }
    assert all(stand_in[f] != expected[f] for f in FIELDS)
    resolved = {**stand_in, **config_lib.preset(name)}
    for field in set(FIELDS) - _may_omit(expected):
        value = resolved[field]
        if field == "hidden_dims":
            value = tuple(value)
        assert value == expected[field], (name, field)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_data_is_inside_any_clone(name):
    """A preset names a built-in dataset, never a path: a user's clone (or an
    installed wheel) is all they have."""
    data = config_lib.preset(name).get("data")
    if name in OWN_DATA:
        assert data is None
        return
    assert data in ("mnist5k", "digits", "mnist", "fashion_mnist")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_round_trips_through_a_run_config(name):
    """A run's config.toml reproduces the recipe exactly."""
    config = config_lib.from_dict(config_lib.preset(name))
    text = config_lib.to_toml(config)
    back = config_lib.from_dict(config_lib.tomllib.loads(text))
    assert back == config


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Built from pieces so this file does not match itself.
OUTSIDE = ("../" + "shared", "shared/" + "data")


def _repository_texts():
    for top in ("README.md", "benchmarks", "src", "configs"):
        path = os.path.join(ROOT, top)
        if os.path.isfile(path):
            yield path
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d not in ("out", "__pycache__")]
            dirs[:] = [d for d in dirs if not d.endswith(".egg-info")]
            for file in files:
                if file.endswith((".md", ".py", ".sh", ".toml", ".txt")):
                    yield os.path.join(folder, file)


def test_nothing_points_outside_the_repository():
    if not os.path.isfile(os.path.join(ROOT, "README.md")):
        pytest.skip("not run from a clone")
    offenders = []
    for path in _repository_texts():
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        offenders += [
            f"{os.path.relpath(path, ROOT)}: {word}" for word in OUTSIDE if word in text
        ]
    assert not offenders
