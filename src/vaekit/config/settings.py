"""`Config`: every setting of a training run, each declared once.

A field's declaration (`setting`) carries its default, its help text, its
allowed values and its check; the command line's flags, the TOML reading
and writing, the validation and the documentation's table of settings are
all built from it (`vaekit.cli.train`, `vaekit.config.layers`).
"""

import dataclasses
import math

from vaekit import checks
from vaekit.config import fieldchecks
from vaekit.config.fieldchecks import MAX_SEED, InvalidSetting
from vaekit.errors import InvalidArgument

__all__ = ["FIELDS", "GROUPS", "Config", "InvalidSetting", "setting"]

# The sections of the settings table, in order.
GROUPS = ("data", "model", "objective", "optimization", "evaluation", "run")


def setting(default, help, group, check=None, choices=None, recipe=True, metavar=None):
    """A `Config` field and everything known about it.

    Args:
        default: The default value.
        help: One sentence for `--help` and the settings table.
        group: Its section, one of `GROUPS`.
        check: Optional `check(value, name, config)` raising
            `InvalidArgument` (`choices` are checked without it).
        choices: Optional tuple of the allowed values.
        recipe: Whether it defines a training recipe, so that a named preset
            must state it (data sources, seeds and launch settings do not).
        metavar: The value's name in `--help`.
    """
    metadata = dict(help=help, group=group, check=check, choices=choices)
    metadata.update(recipe=recipe, metavar=metavar)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Config:
    """Every setting of a training run; `vaekit train --help` and the
    documentation's table of settings (both built from these fields) say
    what each one means."""

    # -- data
    data: str = setting(
        "mnist5k",
        "dataset: mnist5k, digits, mnist, fashion_mnist, or a path to .npy, .npz, "
        ".csv, a folder of IDX files or a folder of images",
        "data",
        check=fieldchecks.text,
        recipe=False,
        metavar="SPEC",
    )
    label_column: str | None = setting(
        None,
        "CSV column (name or index) holding labels",
        "data",
        check=fieldchecks.optional_text,
        recipe=False,
        metavar="NAME",
    )
    columns: tuple[str, ...] | None = setting(
        None,
        "CSV feature columns, by header name (default: all but the label)",
        "data",
        check=fieldchecks.columns,
        recipe=False,
        metavar="NAME,...",
    )
    missing: str = setting(
        "error",
        "a CSV row with a missing value (empty, NA, N/A, NaN, null): an error "
        "naming it, or drop such rows",
        "data",
        choices=checks.MISSING,
        recipe=False,
    )
    sep: str = setting(
        "auto",
        "CSV delimiter: auto (the one of comma, semicolon, tab, pipe that splits "
        "the rows evenly), tab, or one character",
        "data",
        check=fieldchecks.sep,
        recipe=False,
        metavar="CHAR",
    )
    categorical_columns: tuple[str, ...] | None = setting(
        None,
        "table columns read as categories whatever they hold",
        "data",
        check=fieldchecks.columns,
        recipe=False,
        metavar="NAME,...",
    )
    numeric_columns: tuple[str, ...] | None = setting(
        None,
        "table columns that must hold numbers (a column mostly of numbers must "
        "anyway; this also keeps one that looks like row IDs)",
        "data",
        check=fieldchecks.numeric_columns,
        recipe=False,
        metavar="NAME,...",
    )
    id_column: str | None = setting(
        None,
        "table column of row IDs: not a feature; score, encode and reconstruct "
        "write it as the first column of their CSV output",
        "data",
        check=fieldchecks.optional_text,
        recipe=False,
        metavar="NAME",
    )
    conditional: bool = setting(
        False,
        "a conditional VAE, q(z|x,y) and p(x|z,y), on the labels (classes, "
        "one-hot, or a numeric condition: see condition_kind)",
        "data",
        check=fieldchecks.flag,
        recipe=False,
    )
    condition_kind: str = setting(
        "auto",
        "what the labels of a conditional VAE are: classes, numeric (one "
        "standardised number), or auto (text, or whole numbers with at most 50 "
        "distinct values seen 5 times each on average: classes; else numeric)",
        "data",
        check=fieldchecks.condition_kind,
        choices=checks.CONDITION_KINDS,
        recipe=False,
    )
    binarize: str = setting(
        "dynamic",
        "binarize the data: once (static) or a fresh draw every epoch (dynamic)",
        "data",
        check=fieldchecks.binarize,
        choices=checks.BINARIZE,
    )
    validation_split: float = setting(
        0.02,
        "fraction of the training data held out",
        "data",
        check=fieldchecks.number(0, 1, exclusive=("maximum",)),
    )
    # -- model
    architecture: str = setting(
        "mlp", "network kind", "model", choices=checks.ARCHITECTURES
    )
    hidden_dims: tuple[int, ...] = setting(
        (512,),
        "hidden layer sizes (or conv filters), e.g. 512,256",
        "model",
        check=fieldchecks.hidden_dims,
        metavar="N,...",
    )
    latent_dim: int = setting(
        32, "number of latent units", "model", check=fieldchecks.COUNT
    )
    activation: str = setting(
        "relu", "activation of the hidden layers", "model", choices=checks.ACTIVATIONS
    )
    dropout: float = setting(
        0.0,
        "dropout rate after each hidden MLP layer",
        "model",
        check=fieldchecks.number(0, 1, exclusive=("maximum",)),
    )
    likelihood: str = setting(
        "bernoulli", "decoder distribution p(x|z)", "model", choices=checks.LIKELIHOODS
    )
    decoder_std: str | float = setting(
        "learned",
        "std of the gaussian decoder: learned (one), learned-per-feature, or a fixed "
        "number > 0 (in units of each feature's standard deviation)",
        "model",
        check=fieldchecks.decoder_std,
        metavar="{learned,learned-per-feature,STD}",
    )
    decoder_df: float = setting(
        0.0,
        "0: a gaussian decoder; > 0: a Student-t one with that many degrees of "
        "freedom (heavier tails: a far-off value costs log, not squared, nats)",
        "model",
        check=fieldchecks.number(minimum=0),
    )
    output_bias: str = setting(
        "zeros",
        "initial bias of the bernoulli decoder's output: zeros, or the logit of the "
        "training data's mean (a better start)",
        "model",
        choices=checks.OUTPUT_BIASES,
    )
    epsilon_std: float = setting(
        1.0,
        "std of the reparameterization noise (tutorial)",
        "model",
        check=fieldchecks.number(minimum=0, exclusive=("minimum",)),
    )
    prior: str = setting(
        "standard",
        "prior p(z): standard N(0, I), mog (learned Gaussian mixture), vamp "
        "(VampPrior: posteriors of learned pseudo-inputs) or flow (RealNVP)",
        "model",
        choices=checks.PRIORS,
    )
    prior_size: int = setting(
        0,
        "components (mog), pseudo-inputs (vamp) or couplings (flow); 0: 10, 500, 4",
        "model",
        check=fieldchecks.count(0),
    )
    top_latent_dim: int = setting(
        0,
        "units of a second stochastic layer z2 above the code (x -> z -> z2; the "
        "prior is then z2's; --latent-dim 100 --top-latent-dim 50: 100,50); 0: none",
        "model",
        check=fieldchecks.top_latent_dim,
    )
    top_hidden_dims: tuple[int, ...] = setting(
        (100, 100),
        "hidden layers of the second layer's q(z2|z) and p(z|z2)",
        "model",
        check=fieldchecks.top_hidden_dims,
        metavar="N,...",
    )
    # -- objective
    beta: float = setting(
        1.0, "weight of the KL term", "objective", check=fieldchecks.number(minimum=0)
    )
    iw_samples: int = setting(
        5,
        "importance samples of the training objective (1: ELBO)",
        "objective",
        check=fieldchecks.COUNT,
    )
    kl_warmup_epochs: int = setting(
        0,
        "epochs over which the KL weight rises from 0 to beta",
        "objective",
        check=fieldchecks.count(0),
    )
    free_bits: float = setting(
        0.0,
        "free bits: each latent unit's KL term is max(LAMBDA, its batch mean) in the "
        "objective (Kingma et al. 2016); needs iw_samples 1 (0: off)",
        "objective",
        check=fieldchecks.free_bits,
        metavar="LAMBDA",
    )
    trim_fraction: float = setting(
        0.0,
        "fraction of each training batch's highest-loss examples left out of the "
        "step (a trimmed likelihood: anomalies in the training data are not "
        "learned; 0: off)",
        "objective",
        check=fieldchecks.number(0, 1, exclusive=("maximum",)),
        metavar="FRACTION",
    )
    dreg: bool = setting(
        False,
        "DReG gradients of the importance-weighted bound (Tucker et al. 2018): "
        "less variance for the encoder; needs iw_samples >= 2",
        "objective",
        check=fieldchecks.dreg,
    )
    # -- optimization
    optimizer: str = setting(
        "adam", "optimizer", "optimization", choices=checks.OPTIMIZERS
    )
    learning_rate: float = setting(
        1e-3,
        "optimizer learning rate",
        "optimization",
        check=fieldchecks.number(minimum=0, exclusive=("minimum",)),
    )
    lr_schedule: str = setting(
        "cosine",
        "constant, or cosine: decay to 0 over the run's steps",
        "optimization",
        choices=checks.LR_SCHEDULES,
    )
    warmup_epochs: float = setting(
        0.0,
        "epochs (a fraction too) over which the learning rate rises linearly from 0 "
        "before the schedule (0: off)",
        "optimization",
        check=fieldchecks.warmup_epochs,
    )
    clipnorm: float | None = setting(
        None,
        "clip each gradient to this norm",
        "optimization",
        check=fieldchecks.clipnorm,
        recipe=False,
    )
    batch_size: int = setting(
        100, "examples per step", "optimization", check=fieldchecks.COUNT
    )
    epochs: int = setting(
        400, "number of epochs", "optimization", check=fieldchecks.COUNT
    )
    steps: int = setting(
        0,
        "train for about this many optimizer steps: the epochs are set from the "
        "training rows, at most --epochs (0: train --epochs epochs)",
        "optimization",
        check=fieldchecks.count(0),
    )
    early_stopping: int = setting(
        0,
        "stop after this many epochs without a better validation loss, keeping the "
        "best weights (0: off)",
        "optimization",
        check=fieldchecks.early_stopping,
    )
    # -- evaluation
    eval_iw_samples: int = setting(
        1000,
        "importance samples of the final evaluation",
        "evaluation",
        check=fieldchecks.COUNT,
    )
    # -- run
    seed: int = setting(
        0, "random seed", "run", check=fieldchecks.count(0, MAX_SEED), recipe=False
    )
    backend: str = setting(
        "jax", "Keras backend", "run", choices=checks.BACKENDS, recipe=False
    )
    distribute: bool = setting(
        False,
        "data-parallel training over every JAX device (keras.distribution."
        "DataParallel)",
        "run",
        check=fieldchecks.distribute,
        recipe=False,
    )
    tensorboard: bool = setting(
        False,
        "write TensorBoard event files into RUN/tensorboard/: the history's metrics "
        "every epoch, the held-out metrics and pictures at the end (needs "
        'pip install "vaekit[track]")',
        "run",
        check=fieldchecks.flag,
        recipe=False,
    )

    def __post_init__(self):
        for name in (
            "hidden_dims",
            "columns",
            "categorical_columns",
            "numeric_columns",
        ):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    def validate(self):
        """Checks every setting, in field order.

        Raises:
            InvalidSetting: for a value no run can use, naming the setting.
        """
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            try:
                if field.metadata["choices"] is not None:
                    checks.one_of(value, field.name, field.metadata["choices"])
                if field.metadata["check"] is not None:
                    field.metadata["check"](value, field.name, self)
            except InvalidArgument as exc:
                raise InvalidSetting(field.name, exc) from None

    def replace(self, **changes):
        """A copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def for_rows(self, rows):
        """The settings for `rows` training examples: with `steps` set, the
        epochs that make about that many optimizer steps (at least 1, at most
        `epochs`); unchanged otherwise. Applying it again changes nothing."""
        if not self.steps:
            return self
        per_epoch = math.ceil(rows / min(self.batch_size, max(rows, 1)))
        epochs = min(self.epochs, max(1, round(self.steps / per_epoch)))
        return self.replace(epochs=epochs)

    def to_dict(self):
        return dataclasses.asdict(self)


FIELDS = {f.name: f for f in dataclasses.fields(Config)}
