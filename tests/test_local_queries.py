"""The analytics path, end to end on this machine, with the real code and portable SQL:

sample readings -> the real transform handler -> Parquet in the Glue table's types, laid out as
Firehose writes it (tests/firehose_layout.py) -> the saved Athena queries, run unchanged on DuckDB
-> the expected counts. (The ETL job runs on Spark, its own engine: tests/test_etl_job.py.)
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from stacks.sensor_dataset import SAVED_QUERIES
from tests.firehose_layout import DAY_1, DAY_2, write_raw_zone
from tests.test_schema_contract import glue_arrow_schema

DATABASE, TABLE = "mlspec_sbx_raw", "sensor_readings"


@pytest.fixture(scope="module")
def raw_zone(tmp_path_factory, sandbox) -> Path:
    (table,) = sandbox.resources("Streaming", "AWS::Glue::Table").values()
    return write_raw_zone(tmp_path_factory.mktemp("raw"), glue_arrow_schema(table))


@pytest.fixture
def engine(raw_zone):
    """DuckDB with the Glue table's name and shape: partition columns stay strings, as in Athena."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE SCHEMA {DATABASE}")
    connection.execute(
        f"CREATE VIEW {DATABASE}.{TABLE} AS SELECT * FROM read_parquet("
        f"'{raw_zone}/{TABLE}/*/*/*/*', hive_partitioning = true, hive_types_autocast = false)"
    )
    yield connection
    connection.close()


def run(engine, name: str) -> list[dict]:
    (query,) = [q for q in SAVED_QUERIES if q.name == name]
    cursor = engine.execute(query.sql(DATABASE, TABLE))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_readings_per_day(engine):
    assert run(engine, "readings-per-day") == [
        {"year": "2026", "month": "11", "day": "20", "readings": 32, "devices": 1},
        {"year": "2026", "month": "11", "day": "21", "readings": 55, "devices": 1},
    ]


def test_latest_partition(engine):
    (row,) = run(engine, "latest-partition")
    assert (row["year"], row["month"], row["day"], row["readings"]) == ("2026", "11", "21", 55)
    # Late readings (taken on day 1, delivered on day 2) live in the arrival partition.
    assert row["first_reading"].date() == DAY_1 and row["last_reading"].date() == DAY_2


def test_data_quality_counts(engine):
    day_1, day_2 = run(engine, "data-quality")
    # Day 1: e-0000..e-0029 plus resent e-0000 and e-0001. Missing humidity every 10th id, missing
    # battery every 20th, a fault every 10th; the resent e-0000 counts once more in each.
    assert day_1 == {"year": "2026", "month": "11", "day": "20", "readings": 32, "duplicate_event_ids": 2,
                     "missing_humidity": 4, "missing_battery": 3, "faults": 4}
    # Day 2: e-0100..e-0149 (a fault every 25th) plus late e-0500..e-0504 (e-0500 misses both).
    assert day_2 == {"year": "2026", "month": "11", "day": "21", "readings": 55, "duplicate_event_ids": 0,
                     "missing_humidity": 6, "missing_battery": 4, "faults": 2}


def test_saved_queries_are_plain_sql_with_no_engine_specific_syntax():
    for query in SAVED_QUERIES:
        sql = query.sql(DATABASE, TABLE)
        assert f"{DATABASE}.{TABLE}" in sql
        assert "`" not in sql and "::" not in sql and "date_format" not in sql.lower()
