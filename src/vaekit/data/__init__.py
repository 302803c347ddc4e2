"""Data: the embedded sets, readers of the user's files and tables, data
larger than memory, and preparation for a model.

`load` turns a spec (a name or a path), a pandas DataFrame or an array into
a `Dataset`; `vaekit.data.prepare` scales, checks, binarizes and splits;
`vaekit.data.tables` reads tables (CSV files through
`vaekit.data.csvfile`, and DataFrames); `run_data` is what a run trains on; `DiskArray` reads a
`.npy` file a batch at a time. Nothing here imports keras at import time.
"""

from vaekit.data.datasets import (
    DOWNLOADABLE,
    EMBEDDED,
    Dataset,
    load,
    load_digits,
    load_keras_dataset,
    load_mnist5k,
    run_data,
    table_options,
)
from vaekit.data.diskarray import DiskArray
from vaekit.data.prepare import (
    EVAL_SEED,
    as_images,
    binarize,
    check_for_likelihood,
    fit_to_shape,
    split_for_training,
    to_float,
    train_validation_split,
)

__all__ = [
    "DOWNLOADABLE",
    "EMBEDDED",
    "EVAL_SEED",
    "Dataset",
    "DiskArray",
    "as_images",
    "binarize",
    "check_for_likelihood",
    "fit_to_shape",
    "load",
    "load_digits",
    "load_keras_dataset",
    "load_mnist5k",
    "run_data",
    "split_for_training",
    "table_options",
    "to_float",
    "train_validation_split",
]
