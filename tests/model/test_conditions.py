"""vaekit.model.conditions: what a conditional model's labels are (classes
or a number), the rule that decides it, and labels mapped to condition
values.

Issue 18, labels: a label of 10^12 built 10^12 class names; whole-number
targets (diabetes' 151.0) became hundreds of classes without a word; a
NaN or infinite label got no clear message.
"""

import logging
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.model.common import D, class_data, np_
from tests.model.common import conditional_vae as make_conditional
from vaekit import VaekitWarning
from vaekit.errors import DataError, InvalidArgument
from vaekit.model import conditions as cond
from vaekit.model.vae import VAE

# -- labels as numbers -------------------------------------------------------------


def test_labels_as_numbers():
    values, names = cond.labels_as_numbers([3, 1, 2])
    assert values.dtype == np.float64 and names is None
    np.testing.assert_array_equal(values, [3.0, 1.0, 2.0])
    values, names = cond.labels_as_numbers(pd.Series(["west", "east", "west"]))
    assert names == ("east", "west")
    np.testing.assert_array_equal(values, [1.0, 0.0, 1.0])
    # Mixed objects: their text, sorted.
    values, names = cond.labels_as_numbers(np.array([10, "b", 2], dtype=object))
    assert names == ("10", "2", "b")
    np.testing.assert_array_equal(values, [0.0, 2.0, 1.0])


@pytest.mark.parametrize(
    "y, shown",
    [
        ([1.0, np.nan], "example 1 is nan"),
        ([1.0, 2.0, np.inf], "example 2 is inf"),
        ([-np.inf, 1.0], "example 0 is -inf"),
        (np.array(["a", None], dtype=object), "example 1 is missing"),
        (np.array(["a", np.nan, "b"], dtype=object), "example 1 is missing"),
        (pd.Series(["a", pd.NA], dtype=object), "example 1 is missing"),
    ],
)
def test_labels_must_be_finite(y, shown):
    with pytest.raises(DataError, match=f"^the y: the label of {shown}"):
        cond.labels_as_numbers(y, source="the y")


# -- classes -----------------------------------------------------------------------


def test_classes_are_the_sorted_distinct_values_present():
    """Never range(max + 1): labels 5, 1, 3 are three classes named 1, 3, 5,
    one-hot by value."""
    y = np.array([5.0, 1.0, 3.0, 3.0, 5.0])
    transform = cond.condition_transform(y, kind="classes")
    assert transform.name == "condition_transform"
    assert transform.categorical == [[0, 3]]
    assert transform.category_names == [["1", "3", "5"]]
    assert transform.category_values == [[1.0, 3.0, 5.0]]
    expected = (y[:, None] == np.array([1.0, 3.0, 5.0])).astype(float)
    np.testing.assert_array_equal(np_(transform(y.reshape(-1, 1))), expected)
    # Text labels: their names, all of them even if the last is not seen.
    named = cond.condition_transform(np.array([0.0, 1.0]), label_names=("a", "b", "c"))
    assert named.categorical == [[0, 3]] and named.category_values is None
    assert named.category_names == [["a", "b", "c"]]
    # Non-whole numbers may be classes when asked for.
    halves = cond.condition_transform(np.array([0.5, -1.5, 0.5]), kind="classes")
    assert halves.category_names == [["-1.5", "0.5"]]


def test_a_label_of_ten_to_the_twelve_is_one_class_at_once():
    """The issue's example: one label of 10^12 among digits-like labels
    built 10^12 class names (MemoryError after 51 s). Now it is one class
    among the values present."""
    y = np.array([0.0, 1.0, 2.0] * 20 + [1e12])
    start = time.perf_counter()
    transform = cond.condition_transform(y, kind="classes")
    assert time.perf_counter() - start < 2.0
    assert transform.category_names == [["0", "1", "2", "1000000000000"]]
    one_hot = np_(transform(np.array([[1e12], [2.0]])))
    np.testing.assert_array_equal(one_hot, [[0, 0, 0, 1], [0, 0, 1, 0]])


def test_the_number_of_classes_is_bounded():
    ids = np.arange(cond.MAX_CLASSES + 1, dtype=np.float64) * 1e9
    start = time.perf_counter()
    with pytest.raises(DataError, match="1001 distinct numbers: too many classes"):
        cond.condition_transform(ids, kind="classes")
    # Text labels cannot be a number: the message says what to do instead.
    names = tuple(f"id{i:05d}" for i in range(cond.MAX_CLASSES + 1))
    with pytest.raises(DataError, match="group the labels into fewer classes"):
        cond.condition_transform(np.arange(len(names)), label_names=names)
    assert time.perf_counter() - start < 2.0
    # ... and numbers are a numeric condition unless asked to be classes.
    with pytest.warns(VaekitWarning, match="1001 distinct whole numbers"):
        transform = cond.condition_transform(ids)
    assert transform.categorical == [] and transform.numeric == [0]


def test_classes_need_two_values_distinct_in_float32():
    with pytest.raises(DataError, match="only label 0"):
        cond.condition_transform(np.zeros(4), kind="classes")
    with pytest.raises(DataError, match=r"16777216 and 16777217 are one number"):
        cond.condition_transform(np.array([2.0**24, 2.0**24 + 1]), kind="classes")
    with pytest.raises(DataError, match="labels are text .* needs numbers"):
        cond.condition_transform(np.array([0.0, 1.0]), "numeric", ("a", "b"))


# -- the auto rule ---------------------------------------------------------------------


def test_digit_labels_stay_classes(caplog):
    from sklearn.datasets import load_digits

    y = load_digits().target
    with caplog.at_level(logging.INFO, logger="vaekit"):
        transform = cond.condition_transform(y)
    assert transform.category_names == [[str(d) for d in range(10)]]
    assert "10 distinct whole numbers among 1797 examples: 10 classes" in caplog.text
    assert "condition kind numeric" in caplog.text  # how to ask for the other


def test_a_whole_number_target_is_a_numeric_condition():
    """Issue 18: diabetes' target (151.0, ...: 214 distinct whole numbers
    among 442 rows) became hundreds of classes with no word."""
    from sklearn.datasets import load_diabetes

    target = load_diabetes(as_frame=True).target
    with pytest.warns(VaekitWarning) as caught:
        transform = cond.condition_transform(target.to_numpy())
    assert transform.categorical == [] and transform.numeric == [0]
    assert float(transform.mean[0]) == pytest.approx(target.mean(), rel=1e-6)
    (message,) = [str(w.message) for w in caught]
    assert "214 distinct whole numbers among 442 examples" in message
    assert "a numeric condition, not classes" in message
    assert "make the condition kind classes" in message
    assert "condition=" not in message and "--" not in message
    # Asked for, they are classes.
    classes = cond.condition_transform(target.to_numpy(), kind="classes")
    assert classes.categorical == [[0, 214]]


@pytest.mark.parametrize(
    "y, kind, warns",
    [
        ([0.5, 1.0, 3.0] * 5, "numeric", False),  # not whole: said in a log line
        ([0.0, 1.0, 3.0] * 5, "classes", False),  # whole, 5 per class
        ([-1.0, 1.0, 3.0] * 5, "classes", False),  # negative whole numbers too
        ([0.0, 1.0, 3.0] * 4, "numeric", True),  # 4 per class: a near miss
    ],
)
def test_the_auto_rule(y, kind, warns, recwarn):
    transform = cond.condition_transform(np.array(y))
    warned = [w for w in recwarn if issubclass(w.category, VaekitWarning)]
    assert len(warned) == warns
    if kind == "classes":
        assert transform.category_values == [sorted(set(y))]
    else:
        assert transform.categorical == [] and transform.numeric == [0]
        assert float(transform.mean[0]) == pytest.approx(np.mean(y), rel=1e-6)
        assert float(transform.scale[0]) == pytest.approx(np.std(y), rel=1e-5)


# -- condition values -------------------------------------------------------------------


@pytest.fixture(scope="module")
def odd_classes():
    """An untrained VAE conditioned on the classes 1, 3 and 5."""
    transform = cond.condition_transform(np.array([1.0, 3.0, 5.0] * 5))
    return make_conditional(transform)


def test_condition_values_of_numeric_classes(odd_classes):
    model = odd_classes
    assert model.class_names == ["1", "3", "5"] and model.num_classes == 3
    np.testing.assert_array_equal(model.condition_values([5, 1.0, 3]), [5, 1, 3])
    # Names (as text, or an image folder's sub-folders by index) map by name.
    np.testing.assert_array_equal(model.condition_values(["3", "5"]), [3, 5])
    np.testing.assert_array_equal(
        cond.condition_values(model, [1, 0], ("1", "5")), [5.0, 1.0]
    )
    with pytest.raises(DataError, match=r"label 2 is not a class .*classes: 1, 3, 5"):
        model.condition_values([1, 2])
    with pytest.raises(DataError, match="example 0 is inf"):
        model.condition_values([np.inf])
    np.testing.assert_array_equal(model.default_condition(4), [1, 3, 5, 1])
    assert model.label_condition("5") == 5.0
    assert model.class_name_of(3.0) == "3"
    with pytest.raises(InvalidArgument, match=r"use one of 1, 3, 5$"):
        model.label_condition("0")  # no index: 0 is not a class
    x = class_data(n=6)[0]
    z, _ = model.encode(x, condition=[1, 3, 5, 5, 3, 1])
    again, _ = model.encode(x, condition=model.condition_values([1, 3, 5, 5, 3, 1]))
    np.testing.assert_array_equal(z, again)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.integers(-(10**13), 10**13) | st.sampled_from([0, 1, 2, 3]),
        min_size=2,
        max_size=40,
    ).filter(lambda v: len(set(v)) >= 2)
)
def test_classes_of_any_whole_numbers(labels):
    """60 drawn label lists: the classes are exactly the distinct values,
    each label one-hot on its own class; never more classes than values."""
    y = np.asarray(labels, dtype=np.float64)
    distinct = np.unique(y)
    if len(np.unique(distinct.astype(np.float32))) < len(distinct):
        with pytest.raises(DataError, match="one number in float32"):
            cond.condition_transform(y, kind="classes")
        return
    transform = cond.condition_transform(y, kind="classes")
    assert transform.categorical == [[0, len(distinct)]]
    assert transform.category_names == [[cond.class_name(v) for v in distinct]]
    one_hot = np_(transform(y.reshape(-1, 1).astype(np.float32)))
    np.testing.assert_array_equal(one_hot.argmax(axis=1), np.searchsorted(distinct, y))
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1.0)


def test_a_model_fitted_on_numeric_classes(caplog):
    """`VAE(conditional=True).fit(x, y)` on labels 10, 20, 30, 40: four
    classes by value; the labels condition it as on labels 0..3."""
    x, y = class_data()
    vae = VAE(latent_dim=2, hidden_dims=[8], seed=0, conditional=True)
    vae.compile(optimizer="adam")
    with caplog.at_level(logging.INFO, logger="vaekit"):
        vae.fit(x, (y + 1) * 10, epochs=1, batch_size=60, verbose=0)
    assert "4 classes (10, 20, 30, 40)" in caplog.text
    assert vae.class_names == ["10", "20", "30", "40"]
    means = vae.decode(np.zeros((2, 2), "float32"), condition=[10, 40])
    assert means.shape == (2, D)
    with pytest.raises(DataError, match="label 0 is not a class"):
        vae.decode(np.zeros((1, 2), "float32"), condition=[0])
