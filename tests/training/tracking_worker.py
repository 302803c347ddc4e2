"""A notebook's `VAE.fit` with vaekit's trackers, in a fresh process of the
Keras backend that `KERAS_BACKEND` names (test_tensorboard_log.py runs it
once per backend): a tiny VAE fitted for two epochs with a `TensorBoardLog`
into FOLDER/tensorboard and an `MLflowLogger` into a SQLite store
FOLDER/mlflow.db. Prints, as JSON, the MLflow run's id and which of
tensorflow and torch the process loaded (`keras.utils.set_random_seed`
would load tensorflow where it is installed: it is not called).

Usage: python tracking_worker.py FOLDER
"""

import json
import os
import sys

import keras
import numpy as np

from vaekit.model import VAE
from vaekit.training.mlflow_log import MLflowLogger
from vaekit.training.tensorboard_log import TensorBoardLog


def main(folder):
    x = np.random.default_rng(0).random((64, 16)).astype(np.float32)
    model = VAE(latent_dim=2, hidden_dims=[8], seed=0)
    model.compile(optimizer="adam")
    events = TensorBoardLog(os.path.join(folder, "tensorboard"))
    store = "sqlite:///" + os.path.join(os.path.abspath(folder), "mlflow.db")
    mlflow = MLflowLogger(store, params={"backend": keras.backend.backend()})
    model.fit(x, epochs=2, batch_size=32, verbose=0, callbacks=[events, mlflow])
    events.end()
    loaded = sorted(m for m in ("tensorflow", "torch") if m in sys.modules)
    print(json.dumps({"run_id": mlflow.run_id, "loaded": loaded}))


if __name__ == "__main__":
    main(sys.argv[1])
