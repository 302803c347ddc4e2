"""vaekit.archive: genuine model files pass, crafted ones are refused, all
without keras; and `check_model_file`.

The genuine files are what Keras writes for vaekit's models: the saved-model
fixtures as the release before wrote them (every architecture and
likelihood), a run's model as this release writes it, and Keras' own
serialization of every optimizer and schedule `vaekit train` makes, of
every activation and of layers a user may bring, each put into a genuine
archive where `model.save` writes it. The crafted ones are a genuine archive
with its config.json rewritten (in the shapes Keras' own serializer writes)
or members added, as an attacker would make them.
"""

import contextlib
import copy
import glob
import io
import json
import os
import struct
import tempfile
import warnings
import zipfile

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vaekit
from tests.helpers import FIXTURES
from vaekit import VaekitError, checks
from vaekit.archive import check_archive, check_model_file
from vaekit.cli.main import main
from vaekit.config import Config
from vaekit.errors import ModelFileError
from vaekit.model import load_model
from vaekit.training.build import make_optimizer

FIXTURE_MODELS = sorted(glob.glob(os.path.join(FIXTURES, "models", "*.keras")))
# The optimizers `vaekit train` makes: every optimizer and schedule, with
# and without a warm-up and gradient clipping.
OPTIMIZER_CONFIGS = {
    f"{optimizer}-{schedule}-{variant}": Config(
        optimizer=optimizer,
        lr_schedule=schedule,
        epochs=5,
        warmup_epochs=0.5 if variant == "warmup" else 0.0,
        clipnorm=1.0 if variant == "clipnorm" else None,
    )
    for optimizer in checks.OPTIMIZERS
    for schedule in checks.LR_SCHEDULES
    for variant in ("plain", "warmup", "clipnorm")
}


@pytest.fixture(scope="module")
def genuine(tmp_path_factory, tiny_model_path):
    """name -> path of a genuine model file."""
    folder = tmp_path_factory.mktemp("genuine")
    # as the release before wrote them, and as this one writes a run's model
    paths = {os.path.basename(p)[: -len(".keras")]: p for p in FIXTURE_MODELS}
    paths["tiny-run"] = tiny_model_path
    mlp = paths["mlp_bernoulli"]
    # Keras' own serialization of each optimizer in a compiled model's
    # compile_config, exactly as `model.save` writes it
    optimizers = {
        name: make_optimizer(config, steps_per_epoch=4)
        for name, config in OPTIMIZER_CONFIGS.items()
    }
    optimizers["rmsprop-string"] = keras.optimizers.get("rmsprop")  # a user's
    for name, optimizer in optimizers.items():
        written = keras.saving.serialize_keras_object(optimizer)
        paths[name] = _rewrite(
            mlp,
            folder / f"{name}.keras",
            edit=lambda c, w=written: c["compile_config"].update(optimizer=w),
        )
    base = paths["adam-constant-clipnorm"]
    # ... of each activation, in a hidden layer
    for activation in checks.ACTIVATIONS:
        written = keras.layers.Dense(4, activation=activation).get_config()
        paths[f"act-{activation}"] = _rewrite(
            base,
            folder / f"act-{activation}.keras",
            edit=_set(_dense, "activation", written["activation"]),
        )
    # ... and of a decoder of Keras layers, which a library user may pass to
    # VAE
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(
                16,
                activation=keras.activations.tanh,
                kernel_regularizer=keras.regularizers.L2(0.01),
                kernel_constraint=keras.constraints.MaxNorm(2.0),
            ),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(64),
        ],
        name="decoder",
    )
    written = keras.saving.serialize_keras_object(decoder)
    paths["sequential-decoder"] = _rewrite(
        base,
        folder / "sequential-decoder.keras",
        edit=lambda c: c["config"].update(decoder=written),
    )
    return paths


@pytest.fixture(scope="module")
def base(genuine):
    """The genuine archive the crafted ones are made from."""
    return genuine["adam-constant-clipnorm"]


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


def test_every_genuine_model_passes(genuine):
    assert len(FIXTURE_MODELS) == 7
    for path in genuine.values():
        check_archive(path)  # no exception
        check_model_file(path)


def test_genuine_models_name_only_the_expected_objects(genuine):
    # What Keras 3 writes for everything vaekit builds: if a Keras release
    # changes these module strings, the allow-list must follow.
    found = set()
    for path in genuine.values():
        _objects(_config(path), found)
    vaekit_classes = {
        (module, name, f"vaekit>{name}")
        for module, names in {
            "vaekit.models": ["VAE"],  # modules of the release before
            "vaekit.layers": [
                "DataTransform",
                "MatmulConv2D",
                "SubpixelConv2DTranspose",
            ],
            "vaekit.model.vae": ["VAE"],
        }.items()
        for name in names
    }
    keras_classes = {
        ("keras.src.models.functional", "Functional", "Functional"),
        ("keras", "Sequential", None),
        ("keras", "DTypePolicy", None),
        (None, "__keras_tensor__", None),
    }
    keras_classes |= {
        (module, name, None)
        for module, names in {
            "keras.layers": [
                "InputLayer",
                "Dense",
                "Dropout",
                "Flatten",
                "Reshape",
                "Conv2D",
                "Concatenate",
                "BatchNormalization",
            ],
            "keras.initializers": ["GlorotUniform", "Zeros", "Ones"],
            "keras.regularizers": ["L2"],
            "keras.constraints": ["MaxNorm"],
            "keras.optimizers": ["Adam", "AdamW", "RMSprop", "SGD"],
            "keras.optimizers.schedules": ["CosineDecay"],
        }.items()
        for name in names
    }
    assert found == vaekit_classes | keras_classes


def test_activations_are_written_as_plain_names(genuine):
    """So `_check_activation` sees names (swish is silu's other name)."""
    names = set()
    for activation in checks.ACTIVATIONS:
        config = _config(genuine[f"act-{activation}"])
        names.add(_dense(config)["activation"])
    assert names == set(checks.ACTIVATIONS) - {"swish"}


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
    with pytest.raises(ModelFileError, match="must not be reached"):
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


def test_not_a_zip_is_a_model_file_error(tmp_path):
    path = tmp_path / "text.keras"
    path.write_text("not a zip\n")
    with pytest.raises(ModelFileError, match="cannot be read as a .keras archive"):
        check_archive(path)


def test_an_oversized_config_is_refused_before_it_is_read(base, tmp_path, monkeypatch):
    from vaekit import archive

    size = len(json.dumps(_config(base)))
    monkeypatch.setattr(archive, "MAX_CONFIG_BYTES", size - 1)
    with pytest.raises(ModelFileError, match=f"config.json is {size} bytes, more than"):
        check_archive(base)


def test_check_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        check_model_file(tmp_path / "missing.keras")
    with pytest.raises(ModelFileError, match="is a folder"):
        check_model_file(tmp_path)
    (tmp_path / "text.keras").write_text("not a model")
    with pytest.raises(ModelFileError, match="not a .keras archive"):
        check_model_file(tmp_path / "text.keras")
    (tmp_path / "empty.keras").write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a .keras archive"):
        check_model_file(tmp_path / "empty.keras")


def test_the_checks_import_no_keras():
    """vaekit.archive reads archives with zipfile and json alone."""
    import ast

    with open(vaekit.archive.__file__) as handle:
        tree = ast.parse(handle.read())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [node])
        for alias in ([alias] if isinstance(node, ast.Import) else [])
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported == {"json", "os", "re", "tempfile", "zipfile", "vaekit"}


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
def test_cli_refuses_with_one_line_and_writes_nothing(
    name, base, tmp_path, monkeypatch, capfd
):
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    path = _crafted(base, bad_dir, name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = [a.format(model=path) for a in CLI_CASES[name]]
    capfd.readouterr()
    assert main(args) == 2
    out, err = capfd.readouterr()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vaekit: error: model file ")
    assert _expected(name) in lines[0]
    assert os.listdir(work) == []
    assert os.listdir(bad_dir) == [os.path.basename(path)]


# -- sizes --------------------------------------------------------------------

MIB = 2**20
MLP = os.path.join(FIXTURES, "models", "mlp_bernoulli.keras")


def _with_members(target, members, method=zipfile.ZIP_DEFLATED, source=MLP):
    """A copy of the genuine archive `source` with `(name, bytes)` members
    added, compressed by `method` (deflate at its strongest level)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        for name, data in members:
            dst.writestr(name, data, compress_type=method, compresslevel=9)
    return str(target)


def _bomb(folder):
    """The issue's file: a genuine model and five members of 20 MiB of zeros,
    185 kB in all, which Keras would unpack (100 MB) into $TMPDIR."""
    members = [(f"assets/blob{i}.bin", bytes(20 * MIB)) for i in range(5)]
    return _with_members(folder / "bomb.keras", members)


def test_the_issues_decompression_bomb_is_refused(tmp_path, monkeypatch, capfd):
    path = _bomb(tmp_path)
    assert os.path.getsize(path) < 200_000
    with pytest.raises(ModelFileError) as info:
        check_archive(path)
    message = str(info.value)
    assert "archive member 'assets/blob0.bin' expands from 20.4 kB to 21 MB " in message
    assert "(1028:1), a decompression bomb" in message and "\n" not in message
    # through the command line: one line, and nothing unpacked into TMPDIR
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.chdir(tmp_path)
    capfd.readouterr()
    assert main(["sample", path, "-n", "4", "--output", "x.png"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a decompression bomb" in err[0], err
    assert os.listdir(temporary) == [] and not (tmp_path / "x.png").exists()


def test_too_many_members_are_refused(tmp_path):
    members = [(f"assets/{i}", b"x") for i in range(1001)]
    path = _with_members(tmp_path / "many.keras", members, zipfile.ZIP_STORED)
    with pytest.raises(ModelFileError, match="it holds 1004 files, more than the 1000"):
        check_archive(path)


def test_an_archive_larger_than_memory_is_refused(monkeypatch):
    from vaekit import resources

    monkeypatch.setattr(resources, "memory_limit", lambda: 50_000)
    with pytest.raises(ModelFileError) as info:
        check_archive(MLP)
    assert "refused: unpacking its 3 files would need" in str(info.value)
    assert "of memory; this machine has 50 kB" in str(info.value)


def test_an_archive_larger_than_the_temporary_folder_is_refused(tmp_path, monkeypatch):
    """With a member beyond the three Keras reads directly, Keras unpacks the
    whole archive into the temporary folder: it must fit there."""
    from vaekit import resources

    path = _with_members(
        tmp_path / "asset.keras",
        [("assets/a.bin", os.urandom(MIB))],
        zipfile.ZIP_STORED,
    )
    check_archive(path)  # stored, 1 MiB: fine where there is room
    check_archive(MLP)
    monkeypatch.setattr(resources, "free_disk", lambda folder: 500_000)
    check_archive(MLP)  # three members: read without unpacking
    with pytest.raises(ModelFileError) as info:
        check_archive(path)
    assert "unpacking its 4 files would write 1.13 MB into " in str(info.value)
    assert "which has 500 kB free: free space there or set TMPDIR" in str(info.value)


def _patch_size(raw, index, size):
    """`raw` (a zip) with the uncompressed size that the directory declares
    for its `index`-th member set to `size`."""
    raw = bytearray(raw)
    start = -1
    for _ in range(index + 1):
        start = raw.find(b"PK\x01\x02", start + 1)
        if start < 0:
            return bytes(raw)
    struct.pack_into("<I", raw, start + 24, size)
    return bytes(raw)


member_names = st.one_of(
    st.sampled_from(
        ["config.json", "metadata.json", "model.weights.h5", "assets/a", "../x"]
    ),
    # Python's zipfile cuts a name at its first NUL and cannot write one
    # that is then empty (an IndexError in `writestr`, before vaekit sees it).
    st.text(min_size=1, max_size=12).filter(lambda name: name.split("\x00")[0]),
)
member_data = st.one_of(
    st.binary(max_size=300),
    st.integers(0, 3 * MIB).map(bytes),  # zeros: a bomb once deflated
    st.just(json.dumps(_config(MLP)).encode()),
)


@settings(max_examples=100, deadline=None)
@given(
    members=st.lists(st.tuples(member_names, member_data, st.booleans()), max_size=6),
    patch=st.one_of(st.none(), st.tuples(st.integers(0, 5), st.integers(0, 2**32 - 1))),
    cut=st.integers(0, 30),
)
def test_random_archives_are_accepted_or_refused_with_one_line(members, patch, cut):
    """100 examples: random member names (some of Keras' own), contents
    (random bytes, megabytes of zeros, a genuine config.json), stored or
    deflated, a declared size rewritten at random, the file cut short."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of duplicate names
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data, deflate in members:
                method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
                archive.writestr(name, data, compress_type=method, compresslevel=1)
    raw = buffer.getvalue()
    if patch is not None:
        raw = _patch_size(raw, *patch)
    raw = raw[: len(raw) - cut]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.keras")
        with open(path, "wb") as handle:
            handle.write(raw)
        try:
            check_archive(path)
        except ModelFileError as exc:
            assert str(exc).startswith("model file ") and "\n" not in str(exc)
            return
        with zipfile.ZipFile(path) as archive:  # accepted: the bounds hold
            infos = archive.infolist()
    assert "config.json" in [info.filename for info in infos] and len(infos) <= 1000
    for info in infos:
        assert info.file_size <= MIB or info.file_size <= 100 * info.compress_size
