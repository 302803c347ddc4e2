"""vaekit.model.safety: genuine model files pass, crafted ones are refused.

The genuine files are real `model.save` outputs of every model option; the
crafted ones are a genuine archive with its config.json rewritten (in the
shapes Keras' own serializer writes) or members added, as an attacker would
make them.
"""

import contextlib
import copy
import json
import os
import subprocess
import sys
import warnings
import zipfile

import keras
import numpy as np
import pytest

import vaekit
from vaekit import VaekitError, checks
from vaekit.model.safety import check_archive
from vaekit.model.vae import VAE, build_decoder, build_encoder, load_model

VECTOR, IMAGE = (8,), (8, 8, 1)


def _data(shape, n=12):
    return np.random.default_rng(0).random((n, *shape)).astype("float32")


def _vae(shape, architecture="mlp", activation="relu", dropout=0.0, **kwargs):
    parts = dict(architecture=architecture, activation=activation, dropout=dropout)
    encoder = build_encoder(shape, [4], 2, seed=1, **parts)
    decoder = build_decoder(shape, [4], 2, seed=2, **parts)
    vae = VAE(encoder, decoder, seed=3, **kwargs)
    vae(_data(shape, 2))
    return vae


def _fitted(optimizer, **kwargs):
    vae = _vae(VECTOR, **kwargs)
    vae.compile(optimizer=optimizer)
    vae.fit(_data(VECTOR), epochs=1, batch_size=6, verbose=0)
    return vae


GENUINE = {
    "mlp-bernoulli": lambda: _vae(VECTOR),
    "mlp-images": lambda: _vae(IMAGE, activation="tanh"),
    "conv-bernoulli": lambda: _vae(IMAGE, architecture="conv"),
    "conv-gaussian-fixed-std": lambda: _vae(
        IMAGE, architecture="conv", likelihood="gaussian", decoder_std=0.3
    ),
    "gaussian-learned-std": lambda: _vae(
        VECTOR, likelihood="gaussian", decoder_std="learned"
    ),
    "iw-samples": lambda: _vae(VECTOR, iw_samples=4),
    "dropout": lambda: _vae(VECTOR, dropout=0.25),
    "epsilon-std-beta-warmup": lambda: _vae(
        VECTOR, epsilon_std=0.5, beta=0.25, kl_warmup_steps=10
    ),
    "adam-clipnorm": lambda: _fitted(keras.optimizers.Adam(1e-3, clipnorm=1.0)),
    "rmsprop-string": lambda: _fitted("rmsprop"),
    "rmsprop-cosine": lambda: _fitted(
        keras.optimizers.RMSprop(keras.optimizers.schedules.CosineDecay(1e-3, 20))
    ),
    "adamw-cosine-gaussian": lambda: _fitted(
        keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(1e-3, 20)),
        likelihood="gaussian",
    ),
    "sgd-iw-dropout": lambda: _fitted(
        keras.optimizers.SGD(1e-2), iw_samples=2, dropout=0.1
    ),
}


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("genuine")
    paths = {}
    for name, make in GENUINE.items():
        keras.utils.set_random_seed(0)
        paths[name] = str(folder / f"{name}.keras")
        make().save(paths[name])
    for activation in checks.ACTIVATIONS:
        paths[f"act-{activation}"] = str(folder / f"act-{activation}.keras")
        _vae(VECTOR, activation=activation).save(paths[f"act-{activation}"])
    return paths


@pytest.fixture(scope="module")
def base(genuine):
    """The genuine archive the crafted ones are made from."""
    return genuine["adam-clipnorm"]


def _objects(node, out):
    if isinstance(node, dict):
        if "class_name" in node:
            out.add(
                (node.get("module"), node["class_name"], node.get("registered_name"))
            )
        for value in node.values():
            _objects(value, out)
    elif isinstance(node, list):
        for value in node:
            _objects(value, out)
    return out


def _config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def test_every_genuine_model_passes_and_loads(genuine):
    for name, path in genuine.items():
        check_archive(path)  # no exception
        model = load_model(path)
        assert isinstance(model, VAE), name


def test_genuine_models_name_only_the_expected_objects(genuine):
    # What Keras 3 writes for everything vaekit builds: if a Keras release
    # changes these module strings, the allow-list must follow.
    found = set()
    for path in genuine.values():
        _objects(_config(path), found)
    assert found == {
        ("vaekit.model.vae", "VAE", "vaekit>VAE"),
        ("keras.src.models.functional", "Functional", "Functional"),
        ("keras", "DTypePolicy", None),
        ("keras.layers", "InputLayer", None),
        ("keras.layers", "Dense", None),
        ("keras.layers", "Dropout", None),
        ("keras.layers", "Flatten", None),
        ("keras.layers", "Reshape", None),
        ("keras.layers", "Conv2D", None),
        (
            "vaekit.model.layers",
            "SubpixelConv2DTranspose",
            "vaekit>SubpixelConv2DTranspose",
        ),
        ("vaekit.model.layers", "MatmulConv2D", "vaekit>MatmulConv2D"),
        ("keras.initializers", "GlorotUniform", None),
        ("keras.initializers", "Zeros", None),
        ("keras.optimizers", "Adam", None),
        ("keras.optimizers", "AdamW", None),
        ("keras.optimizers", "RMSprop", None),
        ("keras.optimizers", "SGD", None),
        ("keras.optimizers.schedules", "CosineDecay", None),
        (None, "__keras_tensor__", None),
    }


def test_keras_models_and_layers_beyond_vaekits_own_pass(tmp_path):
    # A library user may pass any Keras encoder/decoder to VAE.
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(
                4,
                activation=keras.activations.tanh,
                kernel_regularizer=keras.regularizers.L2(0.01),
                kernel_constraint=keras.constraints.MaxNorm(2.0),
            ),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(8),
        ],
        name="decoder",
    )
    vae = VAE(build_encoder(VECTOR, [4], 2), decoder)
    vae(_data(VECTOR, 2))
    path = tmp_path / "sequential.keras"
    vae.save(path)
    check_archive(path)
    assert isinstance(load_model(path), VAE)


# -- crafted archives ---------------------------------------------------------


def _rewrite(source, target, edit=None, extra=(), drop=()):
    """Copies the archive `source` to `target`, passing config.json through
    `edit(config)` and adding the `(name, bytes)` members of `extra`."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info.filename)
            if info.filename == "config.json" and edit is not None:
                config = json.loads(data)
                result = edit(config)
                data = json.dumps(config if result is None else result).encode()
            dst.writestr(info.filename, data)
        for name, data in extra:
            dst.writestr(name, data)
    return str(target)


def _layers(config, part="encoder"):
    return config["config"][part]["config"]["layers"]


def _dense(config):
    return _layers(config)[1]["config"]  # hidden_0


LAMBDA_LAYER = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {
        "name": "evil",
        "trainable": True,
        "dtype": "float32",
        "function": {
            "class_name": "__lambda__",
            "config": {
                "value": [
                    "4wEAAAAAAAAAAAAAAAEAAAADAAAAcwgAAAB8AGQBFABTACkCTg==",
                    None,
                    None,
                ]
            },
        },
        "arguments": {},
    },
    "registered_name": None,
    "name": "evil",
    "inbound_nodes": [],
}


def _fn(module, name, registered=None):
    return {
        "module": module,
        "class_name": "function",
        "config": name,
        "registered_name": registered,
    }


def _cls(module, class_name, registered=None):
    return {
        "module": module,
        "class_name": class_name,
        "config": {},
        "registered_name": registered,
    }


def _set(getter, key, value):
    def edit(config):
        getter(config)[key] = value

    return edit


ENCODER_LAYERS = "$.config.encoder.config.layers"
HIDDEN = f"{ENCODER_LAYERS}[1].config"

# name -> (edit of config.json, expected entry, expected words)
CRAFTED_CONFIGS = {
    "lambda-layer": (
        lambda c: _layers(c).insert(3, copy.deepcopy(LAMBDA_LAYER)),
        f"{ENCODER_LAYERS}[3]",
        "is a Lambda layer (arbitrary code",
    ),
    "lambda-layer-in-decoder-without-module": (
        lambda c: _layers(c, "decoder").append(
            {k: v for k, v in LAMBDA_LAYER.items() if k != "module"}
        ),
        "$.config.decoder.config.layers[3]",
        "is a Lambda layer",
    ),
    "serialized-lambda-activation": (
        _set(_dense, "activation", LAMBDA_LAYER["config"]["function"]),
        f"{HIDDEN}.activation",
        "is a serialized Python lambda",
    ),
    "builtins-eval-activation": (
        _set(_dense, "activation", _fn("builtins", "eval")),
        f"{HIDDEN}.activation",
        "is a serialized function 'eval' of module 'builtins'",
    ),
    "os-system-function": (
        _set(_dense, "kernel_initializer", _fn("os", "system", "os>system")),
        f"{HIDDEN}.kernel_initializer",
        "is a serialized function 'system' of module 'os'",
    ),
    "keras-non-activation-function": (
        _set(_dense, "activation", _fn("keras.saving", "load_model")),
        f"{HIDDEN}.activation",
        "is a serialized function 'load_model' of module 'keras.saving'",
    ),
    "activation-registered-elsewhere": (
        _set(_dense, "activation", _fn("keras.activations", "relu", "evil>relu")),
        f"{HIDDEN}.activation",
        "is a serialized function 'relu' of module 'keras.activations'",
    ),
    "dotted-activation-string": (
        _set(_dense, "activation", "os.system"),
        f"{HIDDEN}.activation",
        "is the activation 'os.system'",
    ),
    "registered-activation-string": (
        _set(_dense, "activation", "evil>payload"),
        f"{HIDDEN}.activation",
        "is the activation 'evil>payload'",
    ),
    "numpy-class": (
        _set(_dense, "kernel_initializer", _cls("numpy", "ndarray")),
        f"{HIDDEN}.kernel_initializer",
        "is class 'ndarray' of module 'numpy'",
    ),
    "os-class": (
        _set(_dense, "bias_initializer", _cls("os", "system")),
        f"{HIDDEN}.bias_initializer",
        "is class 'system' of module 'os'",
    ),
    "builtins-class": (
        _set(_dense, "kernel_regularizer", _cls("builtins", "eval")),
        f"{HIDDEN}.kernel_regularizer",
        "is class 'eval' of module 'builtins'",
    ),
    "keras-internal-module": (
        _set(
            _dense,
            "kernel_initializer",
            _cls("keras.src.saving.saving_lib", "DiskIOStore"),
        ),
        f"{HIDDEN}.kernel_initializer",
        "is class 'DiskIOStore' of module 'keras.src.saving.saving_lib'",
    ),
    "keras-top-level-non-policy": (
        _set(_dense, "dtype", _cls("keras", "Variable")),
        f"{HIDDEN}.dtype",
        "is class 'Variable' of module 'keras'",
    ),
    "keras-class-with-foreign-registered-name": (
        _set(
            _dense,
            "kernel_initializer",
            _cls("keras.initializers", "Zeros", "evil>Payload"),
        ),
        f"{HIDDEN}.kernel_initializer",
        "is Keras class 'keras.initializers.Zeros' with a foreign registered_name "
        "'evil>Payload'",
    ),
    "vaekit-name-from-another-module": (
        lambda c: c.update(module="os"),
        "$",
        "claims the vaekit class 'vaekit>VAE'",
    ),
    "torch-module-wrapper": (
        lambda c: _layers(c).append(_cls("keras.layers", "TorchModuleWrapper")),
        f"{ENCODER_LAYERS}[4]",
        "is a TorchModuleWrapper (a pickled torch module",
    ),
    "tfsm-layer": (
        lambda c: _layers(c).append(_cls("keras.layers", "TFSMLayer")),
        f"{ENCODER_LAYERS}[4]",
        "is a TFSMLayer (loads a TensorFlow SavedModel",
    ),
    "optimizer-from-elsewhere": (
        lambda c: c["compile_config"].update(optimizer=_cls("evil.optim", "Adam")),
        "$.compile_config.optimizer",
        "is class 'Adam' of module 'evil.optim'",
    ),
    "typespec": (
        _set(_dense, "kernel_initializer", _cls("tensorflow", "__typespec__")),
        f"{HIDDEN}.kernel_initializer",
        "is a special object '__typespec__'",
    ),
    "odd-key-is-quoted": (
        lambda c: c["config"].update({"a b\nc": _cls("os", "system")}),
        '$.config["a b\\nc"]',
        "is class 'system' of module 'os'",
    ),
}

# name -> (members to add, expected words)
CRAFTED_MEMBERS = {
    "path-traversal": ([("../evil.txt", b"x")], "member '../evil.txt' has a '..'"),
    "nested-traversal": (
        [("assets/../../evil.txt", b"x")],
        "member 'assets/../../evil.txt' has a '..'",
    ),
    "backslash-traversal": (
        [("assets\\..\\..\\evil.txt", b"x")],
        "has a '..' component",
    ),
    "absolute-member": ([("/tmp/evil", b"x")], "member '/tmp/evil' has an absolute"),
    "drive-letter-member": ([("C:/evil.txt", b"x")], "has an absolute path"),
    "duplicate-config": (
        [("config.json", b'{"class_name": "Lambda", "config": {}}')],
        "member 'config.json' appears twice",
    ),
}


def _crafted(base, folder, name):
    target = folder / f"{name}.keras"
    if name in CRAFTED_CONFIGS:
        return _rewrite(base, target, edit=CRAFTED_CONFIGS[name][0])
    if name in CRAFTED_MEMBERS:
        duplicate = name.startswith("duplicate")
        # zipfile itself warns when it writes a second member of one name
        with pytest.warns(UserWarning) if duplicate else contextlib.nullcontext():
            return _rewrite(base, target, extra=CRAFTED_MEMBERS[name][0])
    if name == "missing-config":
        return _rewrite(base, target, drop=("config.json",))
    if name == "config-not-json":
        return _replace(base, target, b"{not json")
    if name == "config-too-deep":
        return _replace(base, target, b"[" * 100_000 + b"]" * 100_000)
    if name == "config-a-list":
        return _rewrite(base, target, edit=lambda c: [c])
    raise KeyError(name)


def _replace(source, target, raw):
    """A copy of `source` whose config.json is `raw` (bytes)."""
    with zipfile.ZipFile(source) as src:
        members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(target, "w") as dst:
        for name, data in members:
            dst.writestr(name, raw if name == "config.json" else data)
    return str(target)


OTHER_REFUSALS = {
    "missing-config": "it has no config.json",
    "config-not-json": "its config.json is not valid JSON",
    "config-too-deep": "its config.json is not valid JSON",
    "config-a-list": "its config.json is a JSON list",
}

ALL_CRAFTED = sorted([*CRAFTED_CONFIGS, *CRAFTED_MEMBERS, *OTHER_REFUSALS])


def _expected(name):
    if name in CRAFTED_CONFIGS:
        _, entry, words = CRAFTED_CONFIGS[name]
        return f"config.json entry {entry} {words}"
    if name in CRAFTED_MEMBERS:
        return CRAFTED_MEMBERS[name][1]
    return OTHER_REFUSALS[name]


@pytest.mark.parametrize("name", ALL_CRAFTED)
def test_crafted_archive_is_refused_with_one_line_naming_file_and_entry(
    name, base, tmp_path
):
    path = _crafted(base, tmp_path, name)
    with pytest.raises(VaekitError) as info:
        check_archive(path)
    message = str(info.value)
    assert message.startswith(f"model file {path!r} refused: "), message
    assert _expected(name) in message, message
    assert "\n" not in message and len(message) < 600
    if name in CRAFTED_CONFIGS:
        assert message.endswith(
            "; vaekit loads only Keras' own layers and vaekit's classes"
        )


def test_load_model_refuses_before_keras_reads_the_file(base, tmp_path, monkeypatch):
    calls = []

    def keras_load_model(*args, **kwargs):
        calls.append(args)
        raise AssertionError("keras.saving.load_model must not be reached")

    monkeypatch.setattr(keras.saving, "load_model", keras_load_model)
    for name in ALL_CRAFTED:
        path = _crafted(base, tmp_path, name)
        with pytest.raises(VaekitError, match="refused"):
            load_model(path)
        with pytest.raises(VaekitError, match="refused"):
            vaekit.load_model(path)
    assert calls == []
    # A genuine file does reach keras (whose error vaekit wraps).
    with pytest.raises(VaekitError, match="must not be reached"):
        load_model(base)
    assert len(calls) == 1


def test_a_real_keras_lambda_model_is_refused_by_vaekit_first(tmp_path):
    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    path = tmp_path / "lambda.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' own "this is unsafe"
        keras.Model(inputs, outputs).save(path)
    with pytest.raises(VaekitError) as info:
        check_archive(path)
    assert "config.json entry $.config.layers[1] is a Lambda layer" in str(info.value)


def test_not_a_zip_is_a_vaekit_error(tmp_path):
    path = tmp_path / "text.keras"
    path.write_text("not a zip\n")
    with pytest.raises(VaekitError, match="cannot be read as a .keras archive"):
        check_archive(path)


# -- through the command line ------------------------------------------------


SAMPLE = ["sample", "{model}", "-n", "4", "--output", "x.png"]
EVALUATE = ["evaluate", "{model}", "--data", "digits", "--iw-samples", "2"]
CLI_CASES = {
    "lambda-layer": EVALUATE,
    "builtins-eval-activation": SAMPLE,
    "numpy-class": SAMPLE,
    "os-class": EVALUATE,
    "path-traversal": SAMPLE,
    "absolute-member": EVALUATE,
    "missing-config": SAMPLE,
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_refuses_with_one_line_and_writes_nothing(name, base, tmp_path):
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    path = _crafted(base, bad_dir, name)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, KERAS_BACKEND="jax")
    args = [a.format(model=path) for a in CLI_CASES[name]]
    result = subprocess.run(
        [sys.executable, "-m", "vaekit.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env=env,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vaekit: error: model file ")
    assert _expected(name) in lines[0]
    assert os.listdir(work) == []
    assert os.listdir(bad_dir) == [os.path.basename(path)]
