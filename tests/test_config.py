"""vaekit.config: validation, TOML round trip, presets."""

import dataclasses
import math

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st

from vaekit import VaekitError
from vaekit.config import (
    FIELDS,
    Config,
    choose_backend,
    from_dict,
    preset,
    preset_names,
    read_toml,
    resolve,
    to_toml,
)


def round_trip(config):
    return from_dict(tomllib.loads(to_toml(config)), source="round trip")


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
        ("decoder_std", 0.0),
        ("decoder_std", "fixed"),
        ("decoder_std", float("nan")),
    ],
)
def test_each_invalid_value_is_refused_naming_the_field(field, value):
    # The message names the field as its command-line option (latent-dim).
    pattern = field.replace("_", "[-_]")
    with pytest.raises(VaekitError, match=pattern):
        Config(**{field: value})
    with pytest.raises(VaekitError, match=pattern):
        from_dict({field: value})
    with pytest.raises(VaekitError, match=pattern):
        Config().replace(**{field: value})


def test_gaussian_likelihood_needs_unbinarized_data():
    with pytest.raises(VaekitError, match="binarize"):
        Config(likelihood="gaussian")
    config = Config(likelihood="gaussian", binarize="none", decoder_std=0.1)
    assert (config.likelihood, config.decoder_std) == ("gaussian", 0.1)


def test_boundary_values_are_valid():
    config = Config(
        epochs=1,
        latent_dim=1,
        hidden_dims=[7],
        kl_warmup_epochs=0,
        seed=0,
        beta=0.0,
        validation_split=0.0,
        learning_rate=1,
        clipnorm=1e-9,
    )
    assert config.hidden_dims == (7,)  # a list becomes a tuple
    assert config.learning_rate == 1


def test_free_bits_round_trips_and_needs_the_elbo(tmp_path):
    config = Config(free_bits=0.5, iw_samples=1)
    assert tomllib.loads(to_toml(config))["free_bits"] == 0.5
    assert round_trip(config) == config and round_trip(config).free_bits == 0.5
    assert Config().free_bits == 0.0 and Config(free_bits=0).free_bits == 0
    with pytest.raises(VaekitError, match=r"^--free-bits: .*iw_samples is 1"):
        resolve(overrides={"free_bits": 0.5, "iw_samples": 5})
    assert resolve(overrides={"free_bits": 0.5, "iw_samples": 1}).free_bits == 0.5


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().epochs = 3


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(VaekitError, match=r"my\.toml: unknown setting\(s\) epoch, lr"):
        from_dict({"epoch": 3, "lr": 0.1, "epochs": 3}, source="my.toml")


def test_to_toml_round_trip_of_defaults_and_a_custom_config():
    assert round_trip(Config()) == Config()
    custom = Config(
        data='C:\\data\\"digits".csv',
        label_column="label",
        binarize="none",
        architecture="conv",
        hidden_dims=(32, 64),
        latent_dim=2,
        likelihood="gaussian",
        decoder_std=0.25,
        beta=4.0,
        learning_rate=1e-5,
        clipnorm=1.0,
        optimizer="rmsprop",
        validation_split=0.0,
        seed=2**40,
        backend="torch",
    )
    text = to_toml(custom)
    values = tomllib.loads(text)
    assert values["hidden_dims"] == [32, 64]
    assert values["data"] == 'C:\\data\\"digits".csv'
    assert values["learning_rate"] == 1e-5
    assert "label_column" in values
    assert from_dict(values) == custom
    # None values are left out (TOML has no null) and read back as None.
    assert "clipnorm" not in tomllib.loads(to_toml(Config()))
    assert "label_column" not in tomllib.loads(to_toml(Config()))


_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)


@settings(max_examples=60, deadline=None)
@given(
    data=_names,
    label_column=st.none() | _names,
    hidden_dims=st.lists(st.integers(1, 4096), min_size=1, max_size=4),
    latent_dim=st.integers(1, 512),
    learning_rate=st.floats(1e-8, 10.0),
    beta=st.floats(0.0, 100.0),
    validation_split=st.floats(0.0, 0.99),
    clipnorm=st.none() | st.floats(1e-6, 1e6),
    gaussian=st.booleans(),
    decoder_std=st.just("learned") | st.floats(1e-4, 10.0) | st.integers(1, 5),
    seed=st.integers(0, 2**63 - 1),
    optimizer=st.sampled_from(["adam", "rmsprop", "adamw", "sgd"]),
)
def test_to_toml_round_trip_property(
    data,
    label_column,
    hidden_dims,
    latent_dim,
    learning_rate,
    beta,
    validation_split,
    clipnorm,
    gaussian,
    decoder_std,
    seed,
    optimizer,
):
    config = Config(
        data=data,
        label_column=label_column,
        hidden_dims=hidden_dims,
        latent_dim=latent_dim,
        learning_rate=learning_rate,
        beta=beta,
        validation_split=validation_split,
        clipnorm=clipnorm,
        likelihood="gaussian" if gaussian else "bernoulli",
        binarize="none" if gaussian else "dynamic",
        decoder_std=decoder_std,
        seed=seed,
        optimizer=optimizer,
    )
    back = round_trip(config)
    assert back == config
    assert back.to_dict() == config.to_dict()
    assert type(back.decoder_std) is type(config.decoder_std)


def test_strings_with_control_characters_survive_the_round_trip():
    config = Config(data="line one\nline two\ttab\x7fdel", label_column="a\rb")
    assert round_trip(config) == config


def test_presets_load():
    assert {"default", "tutorial"} <= set(preset_names())
    assert from_dict(preset("default"), source="default") == Config()
    tutorial = from_dict(preset("tutorial"), source="tutorial")
    assert tutorial.hidden_dims == (256,)
    assert tutorial.latent_dim == 2
    assert tutorial.optimizer == "rmsprop"
    assert tutorial.batch_size == 100
    assert tutorial.epochs == 50
    assert tutorial.binarize == "none"
    assert tutorial.epsilon_std == 1.0
    assert tutorial.likelihood == "bernoulli"
    for name in preset_names():
        config = from_dict(preset(name), source=name)
        assert set(preset(name)) <= set(FIELDS)
        assert round_trip(config) == config


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(VaekitError, match="unknown preset 'nope'.*tutorial"):
        preset("nope")


def test_read_toml_errors_name_the_file(tmp_path):
    with pytest.raises(VaekitError, match="does not exist"):
        read_toml(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("epochs = = 3\n")
    with pytest.raises(VaekitError, match="not valid TOML"):
        read_toml(broken)
    good = tmp_path / "good.toml"
    good.write_text(to_toml(Config(epochs=7, latent_dim=3)))
    assert from_dict(read_toml(good)) == Config(epochs=7, latent_dim=3)


def test_float_fields_keep_exact_values():
    # repr() writes the shortest string that reads back as the same double.
    for value in (0.1, 1 / 3, 1e-7, 123456.789, math.pi):
        config = Config(learning_rate=value, beta=value)
        assert round_trip(config).learning_rate == value


# -- layering: default < preset < file < flags -------------------------------


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_resolve_without_layers_is_the_default_preset():
    assert resolve() == from_dict(preset("default")) == Config()


def test_resolve_each_layer_replaces_the_one_below(tmp_path):
    tutorial = resolve(preset="tutorial")
    assert tutorial == from_dict(preset("tutorial"))
    assert (tutorial.latent_dim, tutorial.optimizer) == (2, "rmsprop")
    # the file replaces what it names and keeps the preset's other settings
    file = _write(tmp_path / "c.toml", 'latent_dim = 7\noptimizer = "sgd"\n')
    layered = resolve(preset="tutorial", file=file)
    assert (layered.latent_dim, layered.optimizer) == (7, "sgd")
    assert layered.hidden_dims == tutorial.hidden_dims == (256,)
    # flags replace the file
    flagged = resolve(preset="tutorial", file=file, overrides={"latent_dim": 3})
    assert (flagged.latent_dim, flagged.optimizer) == (3, "sgd")
    assert flagged.hidden_dims == (256,)
    # a file alone sits on the default preset
    assert resolve(file=file) == Config(latent_dim=7, optimizer="sgd")


def test_resolve_refuses_unknown_settings_naming_the_file(tmp_path):
    file = _write(tmp_path / "mine.toml", "epochs = 3\nlayers = 7\n")
    with pytest.raises(VaekitError, match=r"mine\.toml'?: unknown setting\(s\) layers"):
        resolve(file=file)
    with pytest.raises(VaekitError, match=r"--layers: unknown setting\(s\) layers"):
        resolve(overrides={"layers": 7})
    with pytest.raises(VaekitError, match="unknown preset 'huge'"):
        resolve(preset="huge")
    with pytest.raises(VaekitError, match="does not exist"):
        resolve(file=tmp_path / "missing.toml")


def test_resolve_names_where_a_bad_value_came_from(tmp_path):
    file = _write(tmp_path / "bad.toml", 'epochs = "ten"\n')
    with pytest.raises(VaekitError, match=r"bad\.toml'?: .*epochs.*'ten'"):
        resolve(file=file)
    # the flag replaces the file's bad value, so no error
    assert resolve(file=file, overrides={"epochs": 2}).epochs == 2
    good = _write(tmp_path / "good.toml", "epochs = 3\n")
    with pytest.raises(VaekitError, match=r"^--latent-dim: .*latent_dim=0"):
        resolve(file=good, overrides={"latent_dim": 0})
    with pytest.raises(VaekitError, match=r"^--binarize: .*gaussian"):
        resolve(overrides={"likelihood": "gaussian", "binarize": "static"})


def test_invalid_values_are_keras_style_messages():
    with pytest.raises(VaekitError) as info:
        Config(latent_dim=0)
    assert str(info.value) == (
        "Invalid value for argument `latent_dim`: expected an integer >= 1. "
        "Received: latent_dim=0"
    )
    with pytest.raises(VaekitError, match="one of adam, rmsprop, adamw, sgd"):
        Config(optimizer="adamax")


def test_config_uses_the_shared_sets_of_values():
    from vaekit import checks, config

    for name in ("OPTIMIZERS", "BACKENDS", "ACTIVATIONS"):
        assert not hasattr(config, name)  # defined once, in vaekit.checks
    for activation in checks.ACTIVATIONS:
        assert Config(activation=activation).activation == activation
    for name in checks.DECODER_STDS:
        assert Config(decoder_std=name).decoder_std == name


# -- the backend: --backend > config file > KERAS_BACKEND > default ---------


@pytest.mark.parametrize(
    "flag, file, environment, expected",
    [
        (None, None, None, None),
        (None, None, "torch", "torch"),
        (None, "tensorflow", None, "tensorflow"),
        (None, "tensorflow", "tensorflow", "tensorflow"),
        ("jax", "tensorflow", None, "jax"),
        ("jax", "tensorflow", "torch", "jax"),
        ("torch", None, "jax", "torch"),
    ],
)
def test_choose_backend(flag, file, environment, expected):
    assert choose_backend(flag, file, environment) == expected


def test_choose_backend_refuses_an_environment_that_contradicts_the_file():
    with pytest.raises(VaekitError) as info:
        choose_backend(None, "jax", "torch", file="RUN/config.toml")
    message = str(info.value)
    assert "KERAS_BACKEND=torch" in message and "'jax'" in message
    assert "RUN/config.toml" in message
    assert "--backend jax" in message and "--backend torch" in message


def test_resolve_applies_the_backend_rule(tmp_path):
    file = _write(tmp_path / "c.toml", 'backend = "tensorflow"\nepochs = 2\n')
    plain = _write(tmp_path / "plain.toml", "epochs = 2\n")
    # the file's backend is kept, not replaced by the environment's default
    assert resolve(file=file).backend == "tensorflow"
    assert resolve(file=file, environment="tensorflow").backend == "tensorflow"
    # the flag wins, and the config records the backend used
    assert resolve(file=file, backend="jax", environment="torch").backend == "jax"
    assert resolve(file=file, overrides={"backend": "jax"}).backend == "jax"
    # without a backend in the file, the environment chooses, else the default
    assert resolve(file=plain, environment="torch").backend == "torch"
    assert resolve(file=plain).backend == "jax"
    with pytest.raises(VaekitError, match="KERAS_BACKEND=torch.*--backend"):
        resolve(file=file, environment="torch")
    with pytest.raises(VaekitError, match=r"^KERAS_BACKEND: .*backend='numpy'"):
        resolve(environment="numpy")
    with pytest.raises(VaekitError, match=r"^--distribute: .*jax"):
        resolve(overrides={"distribute": True}, backend="torch")


def test_a_gaussian_likelihood_leaves_the_data_continuous_unless_told():
    assert resolve(overrides={"likelihood": "gaussian"}).binarize == "none"
    assert resolve().binarize == "dynamic"
    with pytest.raises(VaekitError, match="--binarize"):
        resolve(overrides={"likelihood": "gaussian", "binarize": "dynamic"})
