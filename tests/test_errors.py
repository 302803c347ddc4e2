"""vaekit.errors: what each error is, so that callers can catch it as a
`VaekitError` (one line at the command line, exit 2) or, for a bad
argument, as the `ValueError` Keras users expect."""

import warnings

import pytest

import vaekit
from vaekit import errors

USER_ERRORS = [
    errors.InvalidArgument,
    errors.ConfigError,
    errors.DataError,
    errors.ModelFileError,
    errors.RunFolderError,
    errors.TrainingDiverged,
]


def test_every_user_error_is_a_vaekit_error_and_exported():
    assert vaekit.VaekitError is errors.VaekitError
    assert vaekit.VaekitWarning is errors.VaekitWarning
    assert set(errors.__all__) == {
        "VaekitError",
        "VaekitWarning",
        *(error.__name__ for error in USER_ERRORS),
    }
    for error in USER_ERRORS:
        assert issubclass(error, errors.VaekitError), error
        assert getattr(errors, error.__name__) is error


def test_bad_arguments_are_value_errors_and_nothing_else_is():
    value_errors = {e for e in USER_ERRORS if issubclass(e, ValueError)}
    assert value_errors == {errors.InvalidArgument, errors.ConfigError}
    assert issubclass(errors.ConfigError, errors.InvalidArgument)
    # A data, model-file or run-folder problem is not a bad argument value.
    with pytest.raises(ValueError, match="bad"):
        raise errors.ConfigError("bad")
    with pytest.raises(errors.VaekitError):
        raise errors.DataError("x")


def test_vaekit_warning_is_a_user_warning_that_filters_can_target():
    assert issubclass(errors.VaekitWarning, UserWarning)
    assert not issubclass(errors.VaekitWarning, errors.VaekitError)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=errors.VaekitWarning)
        warnings.warn("dropped rows", errors.VaekitWarning, stacklevel=1)
        warnings.warn("other", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["other"]
