"""vaekit.config.layers: a run's settings in layers (default < preset <
file < flags), the backend rule, and TOML files (read, written, round
trips)."""

import math

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st

from vaekit import VaekitError
from vaekit.config import (
    FIELDS,
    PRESET_DIR,
    Config,
    choose_backend,
    default_backend,
    from_dict,
    preset,
    preset_names,
    read_toml,
    resolve,
    to_toml,
)
from vaekit.config.fieldchecks import MAX_SEED
from vaekit.errors import ConfigError


def round_trip(config):
    return from_dict(tomllib.loads(to_toml(config)), source="round trip")


def write(path, text):
    path.write_text(text)
    return str(path)


# -- from_dict and TOML ------------------------------------------------------


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(
        ConfigError, match=r"^my\.toml: unknown setting\(s\) epoch, lr; known: data, "
    ):
        from_dict({"epoch": 3, "lr": 0.1, "epochs": 3}, source="my.toml")


def test_from_dict_names_the_source_of_a_bad_value():
    with pytest.raises(ConfigError) as info:
        from_dict({"latent_dim": 0, "epochs": 3}, source={"latent_dim": "--latent-dim"})
    assert str(info.value) == (
        "--latent-dim: Invalid value for argument `latent_dim`: expected an integer "
        ">= 1. Received: latent_dim=0"
    )
    assert isinstance(info.value, ValueError)
    # lists (as TOML gives them) become tuples
    config = from_dict({"hidden_dims": [4, 2], "columns": ["a"]})
    assert (config.hidden_dims, config.columns) == ((4, 2), ("a",))


def test_to_toml_round_trip_of_defaults_and_a_custom_config():
    assert round_trip(Config()) == Config()
    custom = Config(
        data='C:\\data\\"digits".csv',
        label_column="label",
        columns=("a b", "c"),
        missing="drop",
        sep=";",
        categorical_columns=("c",),
        numeric_columns=("a b",),
        id_column="id",
        conditional=True,
        condition_kind="numeric",
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
        seed=MAX_SEED,
        backend="torch",
    )
    text = to_toml(custom)
    values = tomllib.loads(text)
    assert values["hidden_dims"] == [32, 64]
    assert values["columns"] == ["a b", "c"]
    assert values["data"] == 'C:\\data\\"digits".csv'
    assert values["learning_rate"] == 1e-5
    assert values["conditional"] is True
    assert list(values) == list(FIELDS)  # every setting, in order
    assert from_dict(values) == custom
    assert text.startswith("# vaekit run configuration")
    # None values are left out (TOML has no null) and read back as None.
    plain = tomllib.loads(to_toml(Config()))
    unset = {name for name, field in FIELDS.items() if field.default is None}
    assert {"clipnorm", "label_column", "columns", "id_column"} <= unset
    assert set(plain) == set(FIELDS) - unset


_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)


@settings(max_examples=40, deadline=None)
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
    seed=st.integers(0, MAX_SEED),
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
    assert "\n" not in to_toml(config).splitlines()[1]  # still one line each


def test_float_fields_keep_exact_values():
    # repr() writes the shortest string that reads back as the same double.
    for value in (0.1, 1 / 3, 1e-7, 123456.789, math.pi):
        config = Config(learning_rate=value, beta=value)
        assert round_trip(config).learning_rate == value
        assert round_trip(config).beta == value


def test_free_bits_round_trips():
    config = Config(free_bits=0.5, iw_samples=1)
    assert tomllib.loads(to_toml(config))["free_bits"] == 0.5
    assert round_trip(config) == config and round_trip(config).free_bits == 0.5


def test_read_toml_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml(tmp_path / "missing.toml")
    broken = write(tmp_path / "broken.toml", "epochs = = 3\n")
    with pytest.raises(ConfigError, match=r"broken\.toml' is not valid TOML"):
        read_toml(broken)
    (tmp_path / "latin.toml").write_bytes(b'data = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin\.toml' cannot be read"):
        read_toml(tmp_path / "latin.toml")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_toml(tmp_path)  # a folder
    good = write(tmp_path / "good.toml", to_toml(Config(epochs=7, latent_dim=3)))
    assert from_dict(read_toml(good)) == Config(epochs=7, latent_dim=3)


# -- presets -------------------------------------------------------------------


def test_presets_load():
    assert {"default", "tutorial"} <= set(preset_names())
    assert preset_names() == sorted(preset_names())
    assert from_dict(preset("default"), source="default") == Config()
    tutorial = from_dict(preset("tutorial"), source="tutorial")
    assert tutorial.hidden_dims == (256,)
    assert (tutorial.latent_dim, tutorial.optimizer) == (2, "rmsprop")
    for name in preset_names():
        assert set(preset(name)) <= set(FIELDS)
        assert preset(name) == read_toml(f"{PRESET_DIR}/{name}.toml")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError) as info:
        preset("nope")
    assert str(info.value) == (
        f"unknown preset 'nope': choose one of {', '.join(preset_names())}"
    )


# -- layering: default < preset < file < flags -------------------------------


def test_resolve_without_layers_is_the_default_preset():
    assert resolve() == from_dict(preset("default")) == Config()


def test_resolve_each_layer_replaces_the_one_below(tmp_path):
    tutorial = resolve(preset="tutorial")
    assert tutorial == from_dict(preset("tutorial"))
    assert (tutorial.latent_dim, tutorial.optimizer) == (2, "rmsprop")
    # the file replaces what it names and keeps the preset's other settings
    file = write(tmp_path / "c.toml", 'latent_dim = 7\noptimizer = "sgd"\n')
    layered = resolve(preset="tutorial", file=file)
    assert (layered.latent_dim, layered.optimizer) == (7, "sgd")
    assert layered.hidden_dims == tutorial.hidden_dims == (256,)
    # flags replace the file
    flagged = resolve(preset="tutorial", file=file, overrides={"latent_dim": 3})
    assert (flagged.latent_dim, flagged.optimizer) == (3, "sgd")
    assert flagged.hidden_dims == (256,)
    # a file alone sits on the default preset
    assert resolve(file=file) == Config(latent_dim=7, optimizer="sgd")
    assert resolve(file=tmp_path / "c.toml") == resolve(file=file)  # a path too


def test_resolve_refuses_unknown_settings_naming_the_file(tmp_path):
    file = write(tmp_path / "mine.toml", "epochs = 3\nlayers = 7\n")
    with pytest.raises(VaekitError, match=r"mine\.toml'?: unknown setting\(s\) layers"):
        resolve(file=file)
    with pytest.raises(VaekitError, match=r"--layers: unknown setting\(s\) layers"):
        resolve(overrides={"layers": 7})
    with pytest.raises(VaekitError, match="unknown preset 'huge'"):
        resolve(preset="huge")
    with pytest.raises(VaekitError, match="does not exist"):
        resolve(file=tmp_path / "missing.toml")


def test_resolve_names_where_a_bad_value_came_from(tmp_path):
    file = write(tmp_path / "bad.toml", 'epochs = "ten"\n')
    with pytest.raises(VaekitError, match=r"bad\.toml'?: .*epochs.*'ten'"):
        resolve(file=file)
    # the flag replaces the file's bad value, so no error
    assert resolve(file=file, overrides={"epochs": 2}).epochs == 2
    good = write(tmp_path / "good.toml", "epochs = 3\n")
    with pytest.raises(VaekitError, match=r"^--latent-dim: .*latent_dim=0"):
        resolve(file=good, overrides={"latent_dim": 0})
    with pytest.raises(VaekitError, match=r"^--binarize: .*gaussian"):
        resolve(overrides={"likelihood": "gaussian", "binarize": "static"})
    with pytest.raises(VaekitError, match=r"^--free-bits: .*iw_samples is 1"):
        resolve(overrides={"free_bits": 0.5, "iw_samples": 5})
    assert resolve(overrides={"free_bits": 0.5, "iw_samples": 1}).free_bits == 0.5
    # a preset's value is named by the preset (mnist warms up over 1 epoch)
    with pytest.raises(VaekitError, match=r"^preset 'mnist': .*warmup_epochs=1\.0"):
        resolve(preset="mnist", overrides={"epochs": 1})


def test_a_gaussian_likelihood_leaves_the_data_continuous_unless_told(tmp_path):
    assert resolve(overrides={"likelihood": "gaussian"}).binarize == "none"
    assert resolve().binarize == "dynamic"
    with pytest.raises(VaekitError, match="^--binarize"):
        resolve(overrides={"likelihood": "gaussian", "binarize": "dynamic"})
    # a file's likelihood brings it too; a binarize in any layer is kept
    file = write(tmp_path / "g.toml", 'likelihood = "gaussian"\n')
    assert resolve(file=file).binarize == "none"
    static = write(tmp_path / "s.toml", 'binarize = "static"\n')
    with pytest.raises(VaekitError, match=r"s\.toml'?: .*binarize='static'"):
        resolve(preset="tabular", file=static)


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
    with pytest.raises(ConfigError) as info:
        choose_backend(None, "jax", "torch", file="RUN/config.toml")
    message = str(info.value)
    assert "KERAS_BACKEND=torch" in message and "'jax'" in message
    assert "RUN/config.toml" in message
    assert "--backend jax" in message and "--backend torch" in message


def test_resolve_applies_the_backend_rule(tmp_path):
    file = write(tmp_path / "c.toml", 'backend = "tensorflow"\nepochs = 2\n')
    plain = write(tmp_path / "plain.toml", "epochs = 2\n")
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
    with pytest.raises(VaekitError, match=r"^--backend: .*backend='numpy'"):
        resolve(backend="numpy")


def test_the_conv_architecture_defaults_to_tensorflow_on_a_cpu(monkeypatch, caplog):
    # measured by benchmarks/conv.py: TensorFlow's oneDNN convolutions train
    # the conv VAE about twice as fast as XLA:CPU; the MLP stays on jax
    from vaekit import checks

    have = {"tensorflow"}
    monkeypatch.setattr(checks, "installed", lambda name: name in have)
    conv = {"architecture": "conv"}
    assert default_backend(conv) == "tensorflow"
    assert default_backend({"architecture": "mlp"}) == "jax"
    assert default_backend({**conv, "distribute": True}) == "jax"
    with caplog.at_level("INFO", logger="vaekit"):
        config = resolve(overrides=conv)
    assert config.backend == "tensorflow"
    assert "--backend jax" in caplog.text
    # whatever chooses a backend beats the default
    assert resolve(overrides=conv, backend="jax").backend == "jax"
    assert resolve(overrides=conv, environment="jax").backend == "jax"
    assert resolve(overrides=conv, environment="torch").backend == "torch"
    # without TensorFlow, or with JAX on an accelerator: jax
    have.clear()
    assert resolve(overrides=conv).backend == "jax"
    have.update({"tensorflow", "jax_cuda12_plugin"})
    assert default_backend(conv) == "jax"
