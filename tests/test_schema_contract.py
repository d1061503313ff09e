"""Transform output -> Parquet with the Glue table's column types -> read back without loss.

Firehose converts the transform's JSON to Parquet using the Glue table, and the table is built
from the same schema.json the transform validates against. Here the same three meet: if a column
is renamed, retyped or reordered in one place only, this test fails.
"""

from __future__ import annotations

import base64
import datetime
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from patterns.dataset_schema import PARTITION_KEYS, load_schema
from stacks.sensor_dataset import SCHEMA_FILE
from tests.firehose_events import firehose_event, reading
from tests.lambda_code import load

# How Hive/Glue column types land in Parquet (what Athena and Spark read back).
ARROW_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}


def glue_arrow_schema(table_template: dict) -> pa.Schema:
    """The Arrow schema the synthesized Glue table describes."""
    columns = table_template["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    return pa.schema([pa.field(c["Name"], ARROW_TYPES[c["Type"]]) for c in columns])


@pytest.fixture(scope="module")
def glue_table(sandbox) -> dict:
    (table,) = sandbox.resources("Streaming", "AWS::Glue::Table").values()
    return table


@pytest.fixture(scope="module")
def transformed_rows() -> list[dict]:
    """What the real handler emits for a varied batch (JSON and CSV, optional fields missing)."""
    payloads = [
        json.dumps(reading(event_id=f"e-{i}", temperature_c=20.5 + i, battery_pct=None if i % 4 == 0 else i,
                           humidity_pct=None if i % 5 == 0 else 30.25, status=("ok", "warning", "fault")[i % 3]))
        for i in range(40)
    ] + ["e-csv,2026-11-21T09:30:00.250Z,press-99,-12.5,,100,fault"]
    response = load("event_transform").handler(firehose_event(payloads), None)
    assert {r["result"] for r in response["records"]} == {"Ok"}
    return [json.loads(base64.b64decode(r["data"])) for r in response["records"]]


def to_arrow_value(value, arrow_type: pa.DataType):
    if value is not None and pa.types.is_timestamp(arrow_type):
        return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.timezone.utc)
    return value


def test_glue_columns_match_the_schema_file(glue_table):
    schema = load_schema(SCHEMA_FILE)
    assert glue_arrow_schema(glue_table).names == [c.name for c in schema.columns]
    partition_keys = [k["Name"] for k in glue_table["Properties"]["TableInput"]["PartitionKeys"]]
    assert partition_keys == list(PARTITION_KEYS)
    assert not set(partition_keys) & set(glue_arrow_schema(glue_table).names)


def test_transform_output_has_exactly_the_glue_columns(glue_table, transformed_rows):
    names = glue_arrow_schema(glue_table).names
    assert all(list(row) == names for row in transformed_rows)


def test_transform_output_round_trips_through_parquet_with_glue_types(glue_table, transformed_rows, tmp_path):
    arrow_schema = glue_arrow_schema(glue_table)
    columns = {
        field.name: pa.array([to_arrow_value(row[field.name], field.type) for row in transformed_rows],
                             type=field.type)  # raises if a value does not fit the Glue type
        for field in arrow_schema
    }
    path = tmp_path / "part-0000.parquet"
    pq.write_table(pa.table(columns, schema=arrow_schema), path, compression="snappy")

    read_back = pq.read_table(path)
    assert read_back.schema.equals(arrow_schema)
    expected = [{name: to_arrow_value(row[name], arrow_schema.field(name).type) for name in arrow_schema.names}
                for row in transformed_rows]
    assert read_back.to_pylist() == expected


def test_a_value_outside_its_glue_type_is_caught():
    """Guard for the round trip above: pyarrow really refuses values that do not fit."""
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        pa.array(["not a number"], type=pa.float64())
