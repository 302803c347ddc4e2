"""The errors and warnings vaekit raises for what its user can fix.

Every error a user can cause (a missing file, a wrong shape, NaN in data, a
model that does not match the data, a bad setting) is a `VaekitError`
whose message names the input and says what to do. Bad arguments of a
library call are also `ValueError`s (`InvalidArgument`), as in Keras. Any
other exception is a bug and keeps its traceback: the command line turns
`VaekitError` (and the OS errors a user causes) into one line and exit
status 2, and nothing else.
"""

__all__ = [
    "ConfigError",
    "DataError",
    "InvalidArgument",
    "ModelFileError",
    "RunFolderError",
    "TrainingDiverged",
    "VaekitError",
    "VaekitWarning",
]


class VaekitError(Exception):
    """An error the user can fix: a missing file, a wrong shape, a bad value.

    The message names the input and says what to do.
    """


class InvalidArgument(VaekitError, ValueError):
    """A bad argument or setting, raised by a library call or a config
    check (`Invalid value for argument ...`)."""


class ConfigError(InvalidArgument):
    """A bad setting, named with where it came from (a preset, a config
    file, a flag), or a config file that cannot be read."""


class DataError(VaekitError):
    """Data that cannot be read or used: a missing, corrupt or ragged file,
    NaN values, a shape or a column that does not fit."""


class ModelFileError(VaekitError):
    """A model file that cannot be loaded: missing, not a `.keras` archive,
    refused by the archive check, or not a vaekit VAE."""


class RunFolderError(VaekitError):
    """A run folder that cannot be created, replaced, resumed or read."""


class TrainingDiverged(VaekitError):
    """The training loss became NaN or infinite; the last good weights were
    kept."""


class VaekitWarning(UserWarning):
    """Something the user should know that does not stop the work: rows
    dropped, a posterior collapse, a batch larger than the data."""
