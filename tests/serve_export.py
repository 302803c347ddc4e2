"""Serves a vaekit export the way a deployment would: in a process that
imports neither keras, jax, tensorflow nor torch (importing one fails),
with onnxruntime (ONNX files) and the export's schema.json.

    python tests/serve_export.py EXPORT INPUT OUT.npz

INPUT is a `.npy` array of rows, or a CSV file of a table with a header
line, read as a user gives it to `vaekit score`: each text cell of a
categorical column becomes its code from schema.json, other cells numbers.
OUT.npz gets every output of every part (`encoder/z_mean`, ...), the
decoder run on the encoder's `z_mean`.
"""

import csv
import importlib.abc
import json
import os
import sys

FORBIDDEN = ("keras", "jax", "jaxlib", "tensorflow", "torch")


class _Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"{name} may not be imported where the model is served")
        return None


sys.meta_path.insert(0, _Refuse())

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402


def read_rows(path, schema):
    """The model's input of a CSV file, by schema.json: its columns in
    order, a categorical column's text as its category's code."""
    columns = schema["input"]["columns"]
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    x = np.empty((len(rows), len(columns)), np.float32)
    for j, column in enumerate(columns):
        cells = [row[column["name"]] for row in rows]
        if column["kind"] == "categorical":
            codes = dict(zip(column["categories"], column["codes"], strict=True))
            x[:, j] = [codes[cell] for cell in cells]
        else:
            x[:, j] = [float(cell) for cell in cells]
    return x


def main(folder, source, out):
    with open(os.path.join(folder, "schema.json")) as handle:
        schema = json.load(handle)
    if source.endswith(".csv"):
        x = read_rows(source, schema)
    else:
        x = np.load(source).astype(np.float32)
    results = {}
    inputs = {"x": x}
    for part in ("encoder", "decoder", "scorer"):
        if part not in schema["parts"]:
            continue
        entry = schema["parts"][part]
        session = onnxruntime.InferenceSession(os.path.join(folder, entry["file"]))
        feed = {name: inputs[name] for name in entry["inputs"]}
        for name, value in zip(entry["outputs"], session.run(None, feed), strict=True):
            results[f"{part}/{name}"] = value
            if name == "z_mean":
                inputs["z"] = value
    np.savez(out, **results)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
    assert not loaded, loaded
    print(" ".join(sorted(results)))


if __name__ == "__main__":
    main(*sys.argv[1:])
