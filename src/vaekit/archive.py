"""Checks a model file before Keras reads anything in it.

`check_model_file` checks that a path is a readable `.keras` (zip) archive;
`check_archive` checks what the archive holds.

Keras' `safe_mode=True` refuses serialized Python lambdas, but every Keras
release before 3.14 had a published way around it (CVE-2025-1550,
CVE-2025-8747, CVE-2025-9906, CVE-2026-1462, an archive-extraction path
traversal), and a model file is data a user may have downloaded. So vaekit
reads the archive first, with nothing but `zipfile` and `json` (no keras,
no unpickling), and loads it only if every member name stays inside the
archive and every object that `config.json` names is one of:

- a Keras layer (`keras.layers`), except those that carry code or load
  something other than weights (`Lambda`, `TFSMLayer`, `TorchModuleWrapper`,
  `JaxLayer`, `FlaxLayer`);
- a Keras initializer, regularizer or constraint, optimizer or
  learning-rate schedule (`keras.initializers`, `keras.regularizers`,
  `keras.constraints`, `keras.optimizers`, `keras.optimizers.schedules`);
- a Keras dtype policy (`keras.DTypePolicy`, `keras.dtype_policies`);
- a Keras model container: `Functional` (written as module
  `keras.src.models.functional`) or `Sequential` (`keras`);
- a Keras activation, by its plain name (`"relu"`) or as a serialized
  function of `keras.activations`;
- one of vaekit's own registered classes (`"registered_name": "vaekit>..."`,
  module `vaekit.*`);
- the plain data Keras itself writes (`__keras_tensor__`, `__tensor__`,
  `__numpy__`, `__bytes__`, `__slice__`, `__ellipsis__`).

Anything else (a `Lambda` layer, a serialized lambda, a function or class
of another module such as `builtins` or `os`, a Keras class given a foreign
`registered_name`, which Keras would resolve first) is refused with a
`ModelFileError` naming the file and the entry.

Sizes are bounded from the archive's directory before Keras unpacks a
byte (zipfile never reads a member past its declared size): at most
`MAX_MEMBERS` members (Keras writes 3, plus one per asset); no member over
`BOMB_FLOOR` bytes that expands over `MAX_RATIO` times its stored size
(Keras stores members uncompressed and float weights hardly compress, so
only a decompression bomb does; Keras' own guard starts at 256 MiB per
member); the total within memory and, for more than the 3 members Keras
reads directly, within the free space of the temporary folder, where
Keras unpacks it all (`vaekit.model.load_model` removes what it unpacked).
"""

import json
import os
import re
import tempfile
import zipfile

from vaekit import resources
from vaekit.errors import ModelFileError

__all__ = ["check_archive", "check_model_file"]

# The largest config.json read (genuine ones are a few kB per layer).
MAX_CONFIG_BYTES = 64 * 2**20
# The size bounds (see the module docstring).
MAX_MEMBERS = 1000
MAX_RATIO = 100
BOMB_FLOOR = 2**20
# The members Keras reads without unpacking the archive into a folder.
_KERAS_FILES = 3

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*\Z")
_DRIVE = re.compile(r"[A-Za-z]:")

# Module -> class names allowed there (None: any CamelCase name). These are
# the `module` strings `keras.saving.serialize_keras_object` writes: a class
# Keras exports is written under its public namespace ("keras.layers" for
# Dense, "keras" for DTypePolicy and Sequential), and the one class it does
# not export, Functional, under its source module.
_KERAS_CLASSES = {
    "keras": {"DTypePolicy", "FloatDTypePolicy", "Sequential"},
    "keras.models": {"Sequential"},
    "keras.src.models.functional": {"Functional"},
    "keras.layers": None,
    "keras.initializers": None,
    "keras.regularizers": None,
    "keras.constraints": None,
    "keras.optimizers": None,
    "keras.optimizers.schedules": None,
    "keras.dtype_policies": None,
}

_BACKEND_OPTIMIZER = re.compile(
    r"keras\.src\.backend\.(jax|tensorflow|torch)\.optimizers(\.[a-z0-9_]+)?\Z"
)

# Keras layers that run code from the file, unpickle, or load a SavedModel:
# each needs safe_mode=False in Keras itself, and vaekit never writes them.
_CODE_LAYERS = {
    "Lambda": "a Lambda layer (arbitrary code, which Keras' safe_mode also refuses)",
    "TFSMLayer": "a TFSMLayer (loads a TensorFlow SavedModel, arbitrary code)",
    "TorchModuleWrapper": "a TorchModuleWrapper (a pickled torch module, "
    "arbitrary code)",
    "JaxLayer": "a JaxLayer (wraps arbitrary functions)",
    "FlaxLayer": "a FlaxLayer (wraps an arbitrary module)",
}

# Modules of Keras' activations, as written for a serialized function.
_ACTIVATION_MODULES = {
    "keras.activations",
    "keras.src.activations",
    "keras.src.activations.activations",
}
# Exported by keras.activations, but not activations.
_NOT_ACTIVATIONS = {"get", "serialize", "deserialize"}

# Data-only special objects of Keras' serializer (no module, no code).
_DATA_OBJECTS = {
    "__keras_tensor__",
    "__tensor__",
    "__numpy__",
    "__bytes__",
    "__slice__",
    "__ellipsis__",
}

_REFUSED = "; vaekit loads only Keras' own layers and vaekit's classes"


class _Refused(Exception):
    """An entry of config.json that vaekit will not load (internal)."""


def check_archive(path):
    """Refuses a `.keras` archive that could make Keras run foreign code.

    Reads the archive with `zipfile` and `json` only, so nothing in it is
    deserialized. See the module docstring for what passes.

    Args:
        path: Path of a `.keras` file.

    Raises:
        ModelFileError: if the file is not a readable zip archive, a member
            name is absolute or climbs out with `..`, `config.json` is
            missing or not JSON, or `config.json` names a `Lambda` layer, a
            serialized Python function or lambda, or a class or function
            that is neither Keras' own (layers, initializers, regularizers,
            constraints, optimizers, schedules, dtype policies, activations)
            nor vaekit's; or if its sizes break the bounds of the module
            docstring (a decompression bomb, more than memory or the
            temporary folder can hold). The one-line message names the file
            and the entry, as a JSON path such as
            `$.config.encoder.config.layers[1]`.
    """
    path = os.fspath(path)
    prefix = f"model file {path!r} refused:"
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist()]
            _check_member_names(names, prefix)
            _check_sizes(archive.infolist(), prefix)
            if "config.json" not in names:
                raise ModelFileError(
                    f"{prefix} it has no config.json, so it is not a Keras model "
                    "archive; pass a model.keras written by vaekit or Keras"
                )
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelFileError(
                    f"{prefix} its config.json is {info.file_size} bytes, more than "
                    f"the {MAX_CONFIG_BYTES} a model's configuration needs"
                )
            with archive.open(info) as handle:
                raw = handle.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        # RuntimeError: an encrypted member; ValueError: a bad compression.
        message = " ".join(str(exc).split())
        raise ModelFileError(
            f"model file {path!r} cannot be read as a .keras archive ({message})"
        ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ModelFileError(
            f"{prefix} its config.json holds more than {MAX_CONFIG_BYTES} bytes"
        )
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        message = " ".join(str(exc).split())[:200]
        raise ModelFileError(
            f"{prefix} its config.json is not valid JSON ({message})"
        ) from None
    if not isinstance(config, dict):
        raise ModelFileError(
            f"{prefix} its config.json is a JSON {type(config).__name__}, not the "
            "object of a Keras model"
        )
    try:
        _check_config(config)
    except _Refused as exc:
        raise ModelFileError(f"{prefix} config.json entry {exc}{_REFUSED}") from None


def _check_member_names(names, prefix):
    seen = set()
    for name in names:
        shown = _show(name)
        if name.startswith(("/", "\\")) or _DRIVE.match(name):
            raise ModelFileError(
                f"{prefix} archive member {shown} has an absolute path; a model "
                "archive holds only relative names"
            )
        if ".." in re.split(r"[/\\]", name):
            raise ModelFileError(
                f"{prefix} archive member {shown} has a '..' component (a path "
                "outside the archive)"
            )
        if name in seen:
            raise ModelFileError(
                f"{prefix} archive member {shown} appears twice; a model archive "
                "holds each file once"
            )
        seen.add(name)


def _check_sizes(members, prefix):
    """The bounds of the module docstring, on the declared sizes."""
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(
            f"{prefix} it holds {len(members)} files, more than the {MAX_MEMBERS} "
            "a model archive may hold (Keras writes 3)"
        )
    for info in members:
        stored = max(info.compress_size, 1)
        if info.file_size > BOMB_FLOOR and info.file_size > MAX_RATIO * stored:
            raise ModelFileError(
                f"{prefix} archive member {_show(info.filename)} expands from "
                f"{resources.size_text(info.compress_size)} to "
                f"{resources.size_text(info.file_size)} "
                f"({info.file_size // stored}:1), a decompression bomb: Keras "
                "stores a model's files uncompressed, and weights hardly compress"
            )
    total = sum(info.file_size for info in members)
    what = f"{prefix} unpacking its {len(members)} files"
    resources.check_fits(total, what, error=ModelFileError)
    if len(members) > _KERAS_FILES:
        hint = "free space there or set TMPDIR"
        folder = tempfile.gettempdir()
        resources.check_disk(total, folder, what, hint, error=ModelFileError)


def _check_config(config):
    """Walks the JSON tree (iteratively: a deep file cannot overflow the
    stack) and checks each object and activation reference."""
    stack = [(config, "$")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node:
                _check_object(node, where)
            for key, value in node.items():
                child = _child(where, key)
                if isinstance(key, str) and key.endswith("activation"):
                    _check_activation(value, child)
                stack.append((value, child))
        elif isinstance(node, list):
            stack.extend((value, f"{where}[{i}]") for i, value in enumerate(node))


def _check_object(node, where):
    class_name = node["class_name"]
    module = node.get("module")
    registered = node.get("registered_name")
    if not isinstance(class_name, str):
        raise _Refused(f"{where} has a class_name that is not a string")
    if class_name in _CODE_LAYERS:
        raise _Refused(f"{where} is {_CODE_LAYERS[class_name]}")
    if class_name == "__lambda__":
        raise _Refused(f"{where} is a serialized Python lambda (arbitrary code)")
    if class_name.startswith("__"):
        if class_name in _DATA_OBJECTS and module is None and registered is None:
            return
        raise _Refused(
            f"{where} is a special object {_show(class_name)} that Keras' own "
            "models do not write"
        )
    if class_name == "function":
        _check_function(node, module, registered, where)
        return
    if registered is not None and not isinstance(registered, str):
        raise _Refused(f"{where} has a registered_name that is not a string")
    if isinstance(registered, str) and registered.startswith("vaekit>"):
        if (
            registered == f"vaekit>{class_name}"
            and isinstance(module, str)
            and module.startswith("vaekit.")
            and _IDENTIFIER.match(class_name)
        ):
            return
        raise _Refused(
            f"{where} claims the vaekit class {_show(registered)} but names "
            f"class {_show(class_name)} of module {_show(module)}"
        )
    if isinstance(module, str) and _BACKEND_OPTIMIZER.match(module):
        # Under the torch and tensorflow backends Keras writes an optimizer
        # under its backend's subclass (keras.src.backend.torch.optimizers.
        # torch_adam for Adam): still Keras' own optimizer.
        module = "keras.optimizers"
    allowed = _KERAS_CLASSES.get(module) if isinstance(module, str) else None
    if (
        not isinstance(module, str)
        or module not in _KERAS_CLASSES
        or not _CLASS_NAME.match(class_name)
        or (allowed is not None and class_name not in allowed)
    ):
        raise _Refused(
            f"{where} is class {_show(class_name)} of module {_show(module)}, not "
            "a Keras layer, initializer, regularizer, constraint, optimizer, "
            "schedule or dtype policy, nor a vaekit class"
        )
    # Keras looks a registered_name up before the module: on a Keras class
    # it must be absent or the class's own name, or it could stand for any
    # class registered in the process.
    if registered not in (None, class_name):
        raise _Refused(
            f"{where} is Keras class {_show(module + '.' + class_name)} with a "
            f"foreign registered_name {_show(registered)}"
        )


def _check_function(node, module, registered, where):
    name = node.get("config")
    if (
        module in _ACTIVATION_MODULES
        and isinstance(name, str)
        and _IDENTIFIER.match(name)
        and name not in _NOT_ACTIVATIONS
        and registered in (None, name)
    ):
        return
    raise _Refused(
        f"{where} is a serialized function {_show(name)} of module {_show(module)}; "
        "only Keras' own activations may be named"
    )


def _check_activation(value, where):
    """An activation given as a string must be a plain name ("relu"): Keras
    looks it up among its own activations. A dotted or `package>name` string
    names code elsewhere. (Dicts are checked as objects; other values name
    nothing.)"""
    if not isinstance(value, str) or _IDENTIFIER.match(value):
        return
    raise _Refused(
        f"{where} is the activation {_show(value)}, not the plain name of a Keras "
        "activation"
    )


def _child(where, key):
    if isinstance(key, str) and _IDENTIFIER.match(key):
        return f"{where}.{key}"
    text = json.dumps(key)  # quoted, control characters escaped
    if len(text) > 40:
        text = text[:36] + '..."'
    return f"{where}[{text}]"


def _show(value, limit=80):
    """A one-line, bounded repr for messages (control characters escaped)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_model_file(path):
    """Checks that `path` is a readable `.keras` archive, without importing
    keras (which takes seconds), so that a wrong path fails fast.

    Raises:
        ModelFileError: if it is a folder, missing, unreadable or not a zip.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ModelFileError(
            f"model file {path!r} is a folder: pass the model.keras file inside a run"
        )
    if not os.path.isfile(path):
        raise ModelFileError(
            f"model file {path!r} does not exist: pass the model.keras of a run"
        )
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        raise ModelFileError(f"model file {path!r} cannot be read ({exc})") from None
    if not is_zip:
        raise ModelFileError(
            f"model file {path!r} is not a .keras archive (empty, truncated, corrupt "
            "or another format)"
        )
