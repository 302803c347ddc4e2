"""Fixtures of the evaluation package's tests."""

import pytest


@pytest.fixture(scope="session")
def class_model():
    """`(vae, x, y)`: an untrained VAE conditioned on 4 class labels (built
    by hand, `tests.model.common`), 40 binary examples and their labels."""
    from tests.model.common import class_condition, class_data, conditional_vae

    x, y = class_data(n=40)
    return conditional_vae(class_condition(y)), x, y
