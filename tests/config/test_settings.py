"""vaekit.config.settings: `Config`, each field declared once with its help,
group, allowed values and check; what each check refuses and accepts."""

import dataclasses

import pytest

from vaekit import VaekitError, checks
from vaekit.config import FIELDS, GROUPS, Config, from_dict, resolve
from vaekit.config.fieldchecks import MAX_SEED
from vaekit.config.settings import InvalidSetting


def test_defaults_are_valid():
    config = Config()
    config.validate()
    assert config.hidden_dims == (512,)
    assert (config.latent_dim, config.epochs, config.batch_size) == (32, 400, 100)
    assert (config.iw_samples, config.lr_schedule) == (5, "cosine")
    assert (config.optimizer, config.learning_rate) == ("adam", 1e-3)
    assert (config.likelihood, config.binarize, config.backend) == (
        "bernoulli",
        "dynamic",
        "jax",
    )
    assert from_dict({}) == config


def test_every_field_is_declared_with_help_and_a_group():
    assert list(FIELDS) == [f.name for f in dataclasses.fields(Config)]
    assert len(set(GROUPS)) == len(GROUPS)
    for name, field in FIELDS.items():
        meta = field.metadata
        assert set(meta) == {"help", "group", "check", "choices", "recipe", "metavar"}
        assert isinstance(meta["help"], str) and meta["help"].strip(), name
        assert "\n" not in meta["help"], name
        assert meta["group"] in GROUPS, name
        assert isinstance(meta["recipe"], bool), name
        assert meta["check"] is not None or meta["choices"] is not None, name
        if meta["choices"] is not None:
            assert isinstance(meta["choices"], tuple) and meta["choices"], name
            assert field.default in meta["choices"], name
    # every section of the settings table has settings
    assert {field.metadata["group"] for field in FIELDS.values()} == set(GROUPS)


def test_fields_with_choices_use_the_shared_sets():
    choices = {
        name: field.metadata["choices"]
        for name, field in FIELDS.items()
        if field.metadata["choices"] is not None
    }
    assert choices == {
        "missing": checks.MISSING,
        "binarize": checks.BINARIZE,
        "architecture": checks.ARCHITECTURES,
        "activation": checks.ACTIVATIONS,
        "likelihood": checks.LIKELIHOODS,
        "output_bias": checks.OUTPUT_BIASES,
        "optimizer": checks.OPTIMIZERS,
        "lr_schedule": checks.LR_SCHEDULES,
        "backend": checks.BACKENDS,
        "condition_kind": checks.CONDITION_KINDS,
        "prior": checks.PRIORS,
    }


@pytest.mark.parametrize(
    "name",
    [name for name, f in FIELDS.items() if f.metadata["choices"] is not None],
)
def test_choices_are_enforced(name):
    allowed = FIELDS[name].metadata["choices"]
    for value in allowed:
        # (resolve: a gaussian likelihood brings binarize = "none"; a kind of
        # condition needs a conditional model)
        extra = {"conditional": True} if name == "condition_kind" else {}
        assert getattr(resolve(overrides={name: value, **extra}), name) == value
    for value in ("not-a-choice", allowed[0].upper(), None, 1):
        with pytest.raises(InvalidSetting) as info:
            Config(**{name: value})
        assert info.value.field == name
        assert str(info.value) == (
            f"Invalid value for argument `{name}`: expected one of "
            f"{', '.join(allowed)}. Received: {name}={value!r}"
        )


@pytest.mark.parametrize(
    "field, value",
    [
        ("epochs", -1),
        ("epochs", 0),
        ("epochs", 1.5),
        ("epochs", True),  # a bool is an int to Python, not to a user
        ("epochs", "10"),
        ("latent_dim", 0),
        ("latent_dim", False),
        ("batch_size", -100),
        ("iw_samples", 0),
        ("eval_iw_samples", 0),
        ("kl_warmup_epochs", -1),
        ("early_stopping", -2),
        ("seed", -1),
        ("seed", True),
        ("seed", MAX_SEED + 1),
        ("seed", 2**40),
        ("hidden_dims", ()),
        ("hidden_dims", (256, 0)),
        ("hidden_dims", (256, True)),
        ("hidden_dims", (2.5,)),
        ("hidden_dims", 256),
        ("optimizer", "adagrad"),
        ("backend", "numpy"),
        ("binarize", "yes"),
        ("likelihood", "poisson"),
        ("architecture", "transformer"),
        ("learning_rate", float("nan")),
        ("learning_rate", float("inf")),
        ("learning_rate", 0.0),
        ("learning_rate", True),
        ("learning_rate", "1e-3"),
        ("epsilon_std", -1.0),
        ("epsilon_std", 0.0),
        ("epsilon_std", float("nan")),
        ("beta", -0.5),
        ("beta", float("nan")),
        ("free_bits", -0.5),
        ("free_bits", float("nan")),
        ("free_bits", "1"),
        ("free_bits", 0.5),  # with the default iw_samples = 5
        ("clipnorm", 0.0),
        ("clipnorm", float("inf")),
        ("validation_split", 1.0),
        ("validation_split", -0.1),
        ("validation_split", float("nan")),
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("decoder_std", 0.0),
        ("decoder_std", "fixed"),
        ("decoder_std", float("nan")),
        ("warmup_epochs", -0.5),
        ("warmup_epochs", 400),  # not less than the default 400 epochs
        ("data", ""),
        ("data", None),
        ("label_column", ""),
        ("columns", ()),
        ("columns", ("a", " ")),
        ("columns", "a,b"),
        ("sep", "ab"),
        ("sep", "x"),
        ("sep", '"'),
        ("sep", ""),
        ("categorical_columns", ()),
        ("numeric_columns", "a"),
        ("id_column", ""),
        ("conditional", "yes"),
        ("distribute", 1),
        ("missing", "skip"),
        ("output_bias", "mean"),
        ("activation", "Relu"),
        ("lr_schedule", "linear"),
    ],
)
def test_each_invalid_value_is_refused_naming_the_field(field, value):
    assert field in FIELDS
    with pytest.raises(InvalidSetting) as info:
        Config(**{field: value})
    assert info.value.field == field
    assert str(info.value).startswith(f"Invalid value for argument `{field}`: ")
    received = value
    if field == "hidden_dims" and isinstance(value, tuple) and value:
        received = value[-1]  # the bad size is named
    assert str(info.value).endswith(f"Received: {field}={received!r}")
    # from a file or flags, and through `replace`, the same check applies
    pattern = field.replace("_", "[-_]")
    with pytest.raises(VaekitError, match=pattern):
        from_dict({field: value})
    with pytest.raises(VaekitError, match=pattern):
        Config().replace(**{field: value})


def test_invalid_values_are_keras_style_messages():
    with pytest.raises(ValueError) as info:
        Config(latent_dim=0)
    assert str(info.value) == (
        "Invalid value for argument `latent_dim`: expected an integer >= 1. "
        "Received: latent_dim=0"
    )
    with pytest.raises(VaekitError, match="one of adam, rmsprop, adamw, sgd"):
        Config(optimizer="adamax")


def test_seed_must_fit_jax_keys_with_their_offsets():
    # JAX keys are 32-bit; vaekit adds offsets of up to 1000 to the seed.
    assert MAX_SEED == 2**31 - 1001
    assert Config(seed=MAX_SEED).seed == 2**31 - 1001
    assert Config(seed=0).seed == 0
    with pytest.raises(InvalidSetting) as info:
        Config(seed=MAX_SEED + 1)
    assert str(info.value) == (
        f"Invalid value for argument `seed`: expected an integer in [0, {MAX_SEED}]. "
        f"Received: seed={MAX_SEED + 1}"
    )


def test_early_stopping_needs_validation_data():
    assert Config(early_stopping=5).early_stopping == 5  # default split 0.02
    assert Config(early_stopping=0, validation_split=0.0).early_stopping == 0
    with pytest.raises(InvalidSetting, match="0 when validation_split is 0") as info:
        Config(early_stopping=5, validation_split=0.0)
    assert info.value.field == "early_stopping"
    with pytest.raises(VaekitError, match=r"^--early-stopping: .*validation"):
        resolve(overrides={"early_stopping": 3, "validation_split": 0.0})


@pytest.mark.parametrize("epochs", [0, -1, "10", None])
def test_a_bad_epochs_is_named_not_the_warmup_that_depends_on_it(epochs):
    # warmup_epochs (checked first) must be less than epochs: a bad epochs
    # is reported as itself, and never as a TypeError.
    with pytest.raises(InvalidSetting) as info:
        Config(epochs=epochs)
    assert info.value.field == "epochs"
    assert str(info.value).endswith(f"Received: epochs={epochs!r}")
    with pytest.raises(VaekitError, match=r"^--epochs: .*Received: epochs="):
        resolve(overrides={"epochs": epochs})


def test_gaussian_likelihood_needs_unbinarized_data():
    with pytest.raises(VaekitError, match="binarize"):
        Config(likelihood="gaussian")
    config = Config(likelihood="gaussian", binarize="none", decoder_std=0.1)
    assert (config.likelihood, config.decoder_std) == ("gaussian", 0.1)


def test_distribute_needs_jax():
    assert Config(distribute=True).distribute is True
    with pytest.raises(InvalidSetting, match="false unless the backend is jax"):
        Config(distribute=True, backend="torch")


def test_free_bits_needs_the_elbo():
    assert Config(free_bits=0.5, iw_samples=1).free_bits == 0.5
    assert Config().free_bits == 0.0 and Config(free_bits=0).free_bits == 0
    with pytest.raises(InvalidSetting, match="iw_samples is 1"):
        Config(free_bits=0.5, iw_samples=2)


def test_warmup_must_end_before_the_run():
    assert Config(epochs=5, warmup_epochs=4.5).warmup_epochs == 4.5
    with pytest.raises(InvalidSetting, match=r"less than the run's epochs \(5\)"):
        Config(epochs=5, warmup_epochs=5)


def test_boundary_values_are_valid():
    config = Config(
        epochs=1,
        latent_dim=1,
        hidden_dims=[7],
        columns=["a", "b"],
        kl_warmup_epochs=0,
        seed=0,
        beta=0.0,
        validation_split=0.0,
        dropout=0.0,
        learning_rate=1,
        clipnorm=1e-9,
        decoder_std="learned-per-feature",
    )
    assert config.hidden_dims == (7,)  # a list becomes a tuple
    assert config.columns == ("a", "b")
    assert config.learning_rate == 1
    for name in checks.DECODER_STDS:
        assert Config(decoder_std=name).decoder_std == name
    for sep in ("auto", "tab", ";", "|", ",", "\t", ":"):
        assert Config(sep=sep).sep == sep
    config = Config(categorical_columns=["a"], numeric_columns=["b"], id_column="id")
    assert config.categorical_columns == ("a",) and config.numeric_columns == ("b",)
    with pytest.raises(InvalidSetting, match="not in categorical_columns too"):
        Config(categorical_columns=["a"], numeric_columns=["a"])
    assert Config(decoder_std=2).decoder_std == 2


def test_config_is_frozen_and_replace_validates():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().epochs = 3
    changed = Config().replace(epochs=3, hidden_dims=[4, 2])
    assert (changed.epochs, changed.hidden_dims) == (3, (4, 2))
    assert changed.to_dict() == {
        **Config().to_dict(),
        "epochs": 3,
        "hidden_dims": (4, 2),
    }


def test_config_does_not_copy_the_shared_sets_of_values():
    from vaekit import config

    for name in ("OPTIMIZERS", "BACKENDS", "ACTIVATIONS"):
        assert not hasattr(config, name)  # defined once, in vaekit.checks
    for activation in checks.ACTIVATIONS:
        assert Config(activation=activation).activation == activation


def test_steps_set_the_epochs_from_the_number_of_rows():
    config = Config(steps=3000, batch_size=32, epochs=300)
    assert config.for_rows(1000).epochs == 94  # 32 steps an epoch
    assert config.for_rows(1000).for_rows(1000) == config.for_rows(1000)
    assert config.for_rows(100_000).epochs == 1  # 3125 steps an epoch
    assert config.for_rows(10).epochs == 300  # at most `epochs`
    assert config.for_rows(20).epochs == 300  # a batch larger than the data
    assert Config(epochs=7).for_rows(1000).epochs == 7  # steps 0: unchanged
