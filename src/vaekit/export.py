"""Exporting a trained VAE for serving: ONNX files or a TensorFlow
SavedModel, and the schema that says what they take.

Three servable functions (`PARTS`), each a plain function of numbers with
the model's own preprocessing inside its graph (a table's standardisation
and one-hot categories, through the model's `DataTransform`):

- `encoder`: `x -> (z_mean, z_log_var)`, as `VAE.encode` (and `vaekit
  encode`) give them.
- `decoder`: `z -> x_mean`, the mean of p(x|z) in the data's units, as
  `VAE.decode` gives it (a categorical column: the index of its most
  probable category).
- `scorer`: `x -> score`, the `reconstruction_error` of `vaekit score`
  (`vaekit.evaluation.scores_of`): the mean over the features of
  `(x - x_hat)^2`, `x_hat` the mean of p(x|z) at `z = z_mean`, in the
  model's standardised space for a table. It is deterministic: the code
  is the posterior mean, so no random draw enters it, and a served model
  gives every row the same score each time. (The likelihood scores,
  `neg_elbo` and `neg_log_likelihood`, average over random draws of z.)

A conditional model's parts take a second input, `condition`: the
condition value of each row (`schema.json` lists the value of each class).

What does not fit in a graph is in `schema.json` beside the files: the
input's shape, a table's columns in order, and for each categorical column
its categories, whose position in the list (or listed code) is the number
the model takes in that column. A served model takes the rows a user gives
`vaekit score`, with each text cell replaced by its code. Images are
scaled to [0, 1] as vaekit reads them (8-bit values / 255). A Bernoulli
model's data is not binarized by the exported scorer: random binarization
is not deterministic; `vaekit score --binarize none` computes the same
scores.
"""

import os
import shutil
import tempfile

import keras
import numpy as np

from vaekit import __version__, checks, io, runs
from vaekit.errors import InvalidArgument, RunFolderError
from vaekit.io import quiet_loggers
from vaekit.model import conditions, load_model

__all__ = ["FORMATS", "PARTS", "SCHEMA", "export", "export_schema"]

FORMATS = ("onnx", "tf_saved_model")
PARTS = ("encoder", "decoder", "scorer")
SCHEMA = "schema.json"
# The names of each part's outputs, in the exported files.
OUTPUTS = {
    "encoder": ("z_mean", "z_log_var"),
    "decoder": ("x_mean",),
    "scorer": ("score",),
}
# What exporting needs beyond vaekit's core install, per format.
_NEEDS = {"onnx": ("jax2onnx", "onnx"), "tf_saved_model": ("tensorflow",)}


class Servable(keras.Model):
    """One part of a trained VAE (`encoder`, `decoder` or `scorer`) as a
    model of its own, to export (never saved: it holds the VAE's layers)."""

    def __init__(self, vae, part, **kwargs):
        super().__init__(name=part, **kwargs)
        self.vae, self.part = vae, part

    def call(self, inputs):
        first, condition = inputs if self.vae.conditional else (inputs, None)
        vae = self.vae
        if self.part == "encoder":
            z_mean, z_log_var = vae.encoder(vae._with_condition(first, condition))
            return z_mean, z_log_var
        if self.part == "decoder":
            return vae.distribution.mean(vae._decode_params(first, condition))
        return vae.reconstruction_error(first, condition)

    def input_signature(self):
        """The part's inputs as `keras.InputSpec`s (any batch size)."""
        vae = self.vae
        shape = (vae.latent_dim,) if self.part == "decoder" else vae.data_shape
        name = "z" if self.part == "decoder" else "x"
        first = keras.InputSpec(shape=(None, *shape), dtype="float32", name=name)
        if not vae.conditional:
            return [first]
        condition = keras.InputSpec(
            shape=(None, *vae.condition_shape), dtype="float32", name="condition"
        )
        return [[first, condition]]

    def example_inputs(self):
        """Two rows of zeros, to call the part once before it is exported."""
        specs = self.input_signature()
        specs = specs[0] if self.vae.conditional else specs
        arrays = [np.zeros((2, *spec.shape[1:]), "float32") for spec in specs]
        return arrays if self.vae.conditional else arrays[0]


def export_schema(model, format, parts):
    """The schema of an export of `model` (see the module docstring), as a
    JSON-ready dict."""
    transform = model.transform
    inputs = {"shape": list(model.data_shape), "dtype": "float32"}
    if transform is not None and transform.column_names is not None:
        values = transform.category_values or [None] * len(transform.categorical)
        names = transform.category_names or [None] * len(transform.categorical)
        inputs["columns"] = [
            {"name": name, "kind": "numeric"} for name in transform.column_names
        ]
        for (column, n), categories, codes in zip(
            transform.categorical, names, values, strict=True
        ):
            categories = categories or [str(i) for i in range(n)]
            inputs["columns"][column].update(
                kind="categorical",
                categories=list(categories),
                codes=list(codes) if codes is not None else list(range(n)),
            )
    elif len(model.data_shape) == 3:
        inputs["scale"] = "pixel values in [0, 1]: 8-bit / 255, 16-bit / 65535"
    schema = {
        "vaekit_export": 1,
        "vaekit_version": __version__,
        "format": format,
        "likelihood": model.likelihood,
        "latent_dim": int(model.latent_dim),
        "input": inputs,
        "parts": {
            part: {
                "inputs": ["z" if part == "decoder" else "x"]
                + (["condition"] if model.conditional else []),
                "outputs": list(OUTPUTS[part]),
            }
            for part in parts
        },
        "scorer": "reconstruction_error of `vaekit score` (deterministic: z = "
        "z_mean)" + ("; data not binarized" if model.likelihood == "bernoulli" else ""),
    }
    if model.conditional:
        classes = conditions.class_values(model)
        schema["condition"] = {
            "shape": list(model.condition_shape),
            "label_column": model.label_column,
            "classes": None
            if classes is None
            else dict(zip(model.class_names, map(float, classes), strict=True)),
        }
    return schema


def _check_format(format, parts):
    checks.one_of(format, "format", FORMATS)
    parts = tuple(parts)
    if not parts or any(part not in PARTS for part in parts):
        raise InvalidArgument(
            f"parts {','.join(map(str, parts)) or '(none)'}: give one or more of "
            f"{', '.join(PARTS)}"
        )
    if len(set(parts)) != len(parts):
        raise InvalidArgument(f"parts {','.join(parts)}: each part once")
    for module in _NEEDS[format]:
        if not checks.installed(module):
            raise InvalidArgument(
                f"exporting to {format} needs the package {module}, which is not "
                'installed: pip install "vaekit[export]"'
            )
    if format == "onnx" and keras.backend.backend() != "jax":
        raise InvalidArgument(
            f"ONNX export runs on the jax backend (vaekit's default), not "
            f"{keras.backend.backend()}: use --backend jax (KERAS_BACKEND=jax)"
        )
    return parts


def _load(model):
    """The VAE of a VAE, a `.keras` file or a run folder."""
    if isinstance(model, keras.Model):
        return model
    path = os.fspath(model)
    if os.path.isdir(path):
        path = runs.path(path, runs.MODEL)
    return load_model(path)


def _check_output(output, overwrite):
    """Refuses an output that exists, unless `overwrite` and it holds an
    earlier vaekit export (nothing else is ever replaced)."""
    if not os.path.lexists(output):
        return
    if not overwrite:
        raise RunFolderError(
            f"{output!r} exists: give another --output, or --overwrite to replace "
            "an earlier export"
        )
    if os.path.islink(output) or not os.path.isfile(os.path.join(output, SCHEMA)):
        raise RunFolderError(
            f"{output!r} is not a vaekit export (it has no {SCHEMA}), and "
            "--overwrite replaces only those: give another --output"
        )


def export(model, output, format="onnx", parts=PARTS, overwrite=False):
    """Exports parts of a trained VAE for serving (see the module
    docstring): `output/<part>.onnx` files, or one SavedModel in `output`
    with a signature per part, and `output/schema.json`.

    The folder is written beside `output` and renamed into place when
    complete: an export that fails leaves nothing, or the earlier export.

    Args:
        model: A `vaekit.VAE`, a `.keras` file or a run folder.
        output: The folder to write.
        format: One of `FORMATS`. ONNX files are made with jax2onnx (the
            jax backend); a SavedModel with TensorFlow, on any backend.
        parts: Some of `PARTS`.
        overwrite: Replace an earlier export at `output`.

    Returns:
        The schema written (a dict).

    Raises:
        VaekitError: for a bad format, part, model or output, or a missing
            package (`pip install "vaekit[export]"`).
    """
    parts = _check_format(format, parts)
    output = os.fspath(output)
    _check_output(output, overwrite)
    vae = _load(model)
    vae._require_networks()
    servables = [Servable(vae, part) for part in parts]
    for servable in servables:
        servable(servable.example_inputs())
    parent = os.path.dirname(os.path.abspath(output))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export.", dir=parent)
    try:
        if format == "onnx":
            for servable in servables:
                _export_onnx(servable, os.path.join(staging, f"{servable.part}.onnx"))
        else:
            _export_saved_model(servables, staging)
        schema = export_schema(vae, format, parts)
        if format == "onnx":
            for part in parts:
                schema["parts"][part]["file"] = f"{part}.onnx"
        else:
            for part in parts:
                schema["parts"][part]["signature"] = part
        io.write_json(os.path.join(staging, SCHEMA), schema)
        if os.path.lexists(output):
            shutil.rmtree(output)
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return schema


def _export_onnx(servable, path):
    """One part as an ONNX file, its outputs named as `OUTPUTS` says."""
    import onnx

    with quiet_loggers(("onnx_ir", "onnx_ir.serde", "jax2onnx")):
        servable.export(
            path,
            format="onnx",
            input_signature=servable.input_signature(),
            verbose=False,
        )
    graph_model = onnx.load(path)
    graph = graph_model.graph
    renames = dict(
        zip((out.name for out in graph.output), OUTPUTS[servable.part], strict=True)
    )
    for node in graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
        node.input[:] = [renames.get(name, name) for name in node.input]
    for out in graph.output:
        out.name = renames[out.name]
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, path)


def _export_saved_model(servables, folder):
    """The parts as one SavedModel, a signature per part."""
    archive = keras.export.ExportArchive()
    archive.track(servables[0].vae)  # its variables once, shared by the parts
    for servable in servables:
        archive.add_endpoint(
            servable.part, servable.call, input_signature=servable.input_signature()
        )
    archive.write_out(folder, verbose=False)
