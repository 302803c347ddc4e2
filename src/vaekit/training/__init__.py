"""Training a VAE: `train(config)` reads as setup -> fit -> finish and
writes a run folder; its parts are the model a config describes
(`build`), the batches (`batches`), one callback per concern
(`callbacks`), the checkpoint (`checkpoint`), signals (`signals`),
data-parallel training (`distribution`) and experiment tracking
(`tracking`: `MLflowLogger`, `TensorBoardLog`)."""

from vaekit.training.batches import TrainingBatches
from vaekit.training.build import build_model, make_optimizer
from vaekit.training.mlflow_log import MLflowLogger
from vaekit.training.setup import Launch, setup
from vaekit.training.signals import TrainingInterrupted
from vaekit.training.tensorboard_log import TensorBoardLog
from vaekit.training.train import finish, fit, summarize, train

__all__ = [
    "Launch",
    "MLflowLogger",
    "TensorBoardLog",
    "TrainingBatches",
    "TrainingInterrupted",
    "build_model",
    "finish",
    "fit",
    "make_optimizer",
    "setup",
    "summarize",
    "train",
]
