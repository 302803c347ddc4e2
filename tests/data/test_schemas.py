"""vaekit.data.schemas: a trained model's schema of a table, and its checks
(how a schema maps new tables is tested in test_tables.py)."""

import pytest

from vaekit.data import schemas
from vaekit.data.csvfile import read_csv
from vaekit.errors import InvalidArgument


def test_schema_of():
    schema = schemas.schema_of(("age", "colour"), {"colour": ("blue", "red")})
    assert schema == {
        "columns": ["age", "colour"],
        "categories": {"colour": ["blue", "red"]},
    }


@pytest.mark.parametrize(
    "schema",
    [
        {"columns": "age"},
        {"columns": []},
        {"columns": ["age", 3]},
        {"columns": ["age"], "categories": {"colour": ["red"]}},  # not a column
        {"columns": ["age"], "categories": {"age": []}},
        {"columns": ["age"], "categories": ["age"]},
        ["age"],
    ],
)
def test_a_malformed_schema_is_a_bad_argument(tmp_path, schema):
    path = tmp_path / "t.csv"
    path.write_text("age,height\n20,1.5\n30,1.6\n")
    with pytest.raises(InvalidArgument, match="Invalid value for argument `schema`"):
        read_csv(str(path), schema=schema)
    with pytest.raises(InvalidArgument, match="Invalid value for argument `schema`"):
        schemas.check_schema(schema)
