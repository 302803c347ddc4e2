"""The named recipes in src/vaekit/config/presets/: each states every setting
that defines it (the fields declared with `recipe=True`), so that a change
of vaekit's defaults (the Config dataclass) never leaks into it. Each preset
is checked field by field against its own TOML file, the recipe's source."""

import os

import pytest
import tomllib

from vaekit.config import FIELDS, PRESET_DIR, Config, from_dict, preset, to_toml
from vaekit.config import layers as layers_lib
from vaekit.config.fieldchecks import MAX_SEED
from vaekit.data import DOWNLOADABLE, EMBEDDED

NAMED = [name for name in layers_lib.preset_names() if name != "default"]
RECIPE = [name for name, field in FIELDS.items() if field.metadata["recipe"]]
# Only the Gaussian likelihood reads decoder_std and decoder_df, only the
# Bernoulli one output_bias: a recipe of the other likelihood may leave it out.
UNUSED = {"bernoulli": {"decoder_std", "decoder_df"}, "gaussian": {"output_bias"}}
# Recipes for the user's own data leave `data` to --data.
OWN_DATA = {"tabular", "tabular-synthesis"}

# Two different values per field: a stand-in default that differs from a
# preset's value (or, for a field it leaves out, from the real default) is
# always one of them.
ALTERNATIVES = {
    "data": ("digits", "mnist5k"),
    "label_column": ("label", None),
    "columns": (("a", "b"), None),
    "missing": ("drop", "error"),
    "sep": (";", "auto"),
    "categorical_columns": (("a",), None),
    "numeric_columns": (("b",), None),
    "id_column": ("id", None),
    "condition_kind": ("classes", "auto"),
    "conditional": (True, False),
    "binarize": ("static", "none"),
    "validation_split": (0.3, 0.0),
    "architecture": ("conv", "mlp"),
    "hidden_dims": ((7, 5), (256,)),
    "latent_dim": (3, 2),
    "activation": ("tanh", "relu"),
    "dropout": (0.5, 0.0),
    "likelihood": ("gaussian", "bernoulli"),
    "decoder_std": (0.5, "learned"),
    "decoder_df": (0.0, 3.0),
    "output_bias": ("data-mean", "zeros"),
    "epsilon_std": (0.5, 1.0),
    "prior": ("mog", "standard"),
    "prior_size": (3, 0),
    "top_latent_dim": (2, 0),
    "top_hidden_dims": ((8,), (100, 100)),
    "dreg": (True, False),
    "beta": (2.0, 1.0),
    "iw_samples": (7, 1),
    "kl_warmup_epochs": (3, 0),
    "free_bits": (0.5, 0.0),
    "trim_fraction": (0.2, 0.0),
    "optimizer": ("sgd", "adam"),
    "learning_rate": (0.1, 1e-3),
    "lr_schedule": ("cosine", "constant"),
    "warmup_epochs": (0.25, 0.0),
    "clipnorm": (1.0, None),
    "batch_size": (32, 100),
    "epochs": (3, 400),
    "steps": (1000, 0),
    "early_stopping": (5, 0),
    "eval_iw_samples": (10, 1000),
    "seed": (7, 0),
    "backend": ("torch", "jax"),
    "distribute": (True, False),
    "tensorboard": (True, False),
}


def toml_file(name):
    """A preset's settings as its file holds them (the recipe's source)."""
    with open(os.path.join(PRESET_DIR, f"{name}.toml"), "rb") as handle:
        return tomllib.load(handle)


def as_config_value(name, value):
    return tuple(value) if isinstance(value, list) else value


def test_the_presets_are_the_files_in_the_preset_folder():
    files = sorted(f[:-5] for f in os.listdir(PRESET_DIR) if f.endswith(".toml"))
    assert layers_lib.preset_names() == files
    assert "default" in files and len(NAMED) >= 5
    assert set(ALTERNATIVES) == set(FIELDS)
    assert all(a != b for a, b in ALTERNATIVES.values())


def test_default_is_the_empty_layer():
    """`default` adds nothing to the Config dataclass's own defaults."""
    assert toml_file("default") == preset("default") == {}
    assert from_dict(preset("default")) == Config()


@pytest.mark.parametrize("name", NAMED)
def test_recipe_names_every_setting_that_defines_it(name):
    values = toml_file(name)
    may_omit = UNUSED[values["likelihood"]] | ({"data"} if name in OWN_DATA else set())
    missing = sorted(set(RECIPE) - may_omit - set(values))
    assert not missing, f"{name}.toml leaves {missing} to the defaults"
    assert set(values) <= set(FIELDS)


@pytest.mark.parametrize("name", NAMED)
def test_recipe_field_by_field(name):
    """The preset as `vaekit train --preset NAME` resolves it (default <
    preset) holds the file's values, with their types."""
    values = toml_file(name)
    config = layers_lib.resolve(preset=name)
    assert config == from_dict(values, source=name)
    for field, value in values.items():
        got = getattr(config, field)
        assert got == as_config_value(field, value), (name, field)
        assert type(got) is type(as_config_value(field, value)), (name, field)
        default = FIELDS[field].default
        if field != "decoder_std" and default is not None:
            # an int where a float belongs (or a bool) is a typo in the recipe
            assert type(got) is type(default), (name, field)
    for field in set(FIELDS) - set(values):
        assert getattr(config, field) == FIELDS[field].default, (name, field)


@pytest.mark.parametrize("name", NAMED)
def test_other_defaults_do_not_change_the_recipe(name, monkeypatch, tmp_path):
    """Resolve the preset over stand-in defaults that differ from it in every
    field (through `resolve`, with the default layer replaced): every recipe
    field comes out as the file has it, and only the others follow the
    defaults."""
    values = toml_file(name)
    stand_in = {}
    for field, choices in ALTERNATIVES.items():
        avoid = as_config_value(field, values.get(field, FIELDS[field].default))
        stand_in[field] = next(v for v in choices if v != avoid)
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "default.toml").write_text(
        "\n".join(
            f"{field} = {layers_lib._toml_value(value)}"
            for field, value in stand_in.items()
            if value is not None
        )
    )
    (folder / f"{name}.toml").write_bytes(
        open(os.path.join(PRESET_DIR, f"{name}.toml"), "rb").read()
    )
    monkeypatch.setattr(layers_lib, "PRESET_DIR", str(folder))
    layered = {}

    def record(values, source):  # the layered settings, before validation
        layered.update(values=values, source=source)
        return values

    monkeypatch.setattr(layers_lib, "from_dict", record)
    layers_lib.resolve(preset=name)
    resolved, source = layered["values"], layered["source"]
    assert set(resolved) == set(FIELDS) - {f for f, v in stand_in.items() if v is None}
    for field in FIELDS:
        if field in values:
            assert resolved[field] == values[field], (name, field)
            assert type(resolved[field]) is type(values[field]), (name, field)
            assert source[field] == f"preset {name!r}"
        elif stand_in[field] is not None:
            assert (
                field not in RECIPE
                or field in UNUSED[values["likelihood"]]
                or (field == "data" and name in OWN_DATA)
            ), (name, field)
            assert as_config_value(field, resolved[field]) == stand_in[field]
            assert source[field] == "the default settings"


@pytest.mark.parametrize("name", NAMED)
def test_recipe_data_is_inside_any_clone(name):
    """A preset names a built-in dataset, never a path: a user's clone (or an
    installed wheel) is all they have."""
    data = toml_file(name).get("data")
    if name in OWN_DATA:
        assert data is None
        return
    assert data in EMBEDDED + DOWNLOADABLE


@pytest.mark.parametrize("name", layers_lib.preset_names())
def test_recipe_round_trips_through_a_run_config(name, tmp_path):
    """A run's config.toml reproduces the recipe exactly: read back alone,
    and as `vaekit train --config RUN/config.toml` layers it."""
    config = layers_lib.resolve(preset=name)
    text = to_toml(config)
    assert from_dict(tomllib.loads(text)) == config
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert layers_lib.resolve(file=path) == config
    # with another seed (not part of a recipe) the rest is the same
    again = layers_lib.resolve(file=path, overrides={"seed": MAX_SEED})
    assert again == config.replace(seed=MAX_SEED)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Built from pieces so this file does not match itself.
OUTSIDE = ("../" + "shared", "shared/" + "data")


def _repository_texts():
    for top in ("README.md", "benchmarks", "src", "configs", "docs"):
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
    texts = list(_repository_texts())
    assert os.path.join(PRESET_DIR, "mnist.toml") in texts  # the walk sees them
    offenders = []
    for path in texts:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        offenders += [
            f"{os.path.relpath(path, ROOT)}: {word}" for word in OUTSIDE if word in text
        ]
    assert not offenders
