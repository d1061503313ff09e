"""The analytics path, end to end on this machine, with the real code and portable SQL:

sample readings -> the real transform handler -> Parquet in the Glue table's types, laid out as
Firehose writes it (arrival-date Hive partitions) -> the saved Athena queries, run unchanged on
DuckDB -> the expected counts. Then the ETL job's CURATE_SQL, also unchanged, on the same files.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from patterns.saved_queries import SAVED_QUERIES
from tests.firehose_events import firehose_event, reading
from tests.lambda_code import LAMBDA_ROOT, load, load_etl
from tests.test_schema_contract import glue_arrow_schema, to_arrow_value

DATABASE, TABLE = "mlspec_sbx_raw", "sensor_readings"


# Arrival day -> the readings that arrive that day (event_id, status, humidity, battery, event day).
DAY_1, DAY_2 = datetime.date(2026, 11, 20), datetime.date(2026, 11, 21)


def batch(day: datetime.date, count: int, *, start: int, duplicates: int = 0, faults_every: int = 0,
          late_from: datetime.date | None = None) -> list[str]:
    payloads = []
    for i in range(start, start + count):
        event_day = late_from or day
        payloads.append(json.dumps(reading(
            event_id=f"e-{i:04d}",
            event_time=f"{event_day.isoformat()}T{i % 24:02d}:15:00Z",
            status="fault" if faults_every and i % faults_every == 0 else "ok",
            humidity_pct=None if i % 10 == 0 else 40.0,
            battery_pct=None if i % 20 == 0 else 90,
        )))
    payloads += payloads[:duplicates]  # producers retrying: same event_id sent twice
    return payloads


@pytest.fixture(scope="module")
def raw_zone(tmp_path_factory, sandbox) -> Path:
    """Parquet files exactly where Firehose would put them: sensor_readings/year=/month=/day=/."""
    (table,) = sandbox.resources("Streaming", "AWS::Glue::Table").values()
    schema = glue_arrow_schema(table)
    root = tmp_path_factory.mktemp("raw")
    arrivals = {
        DAY_1: batch(DAY_1, 30, start=0, duplicates=2, faults_every=10)
        + ['{"event_id": "broken"', '{"heartbeat": true}'],  # rejected and dropped: never in Parquet
        DAY_2: batch(DAY_2, 50, start=100, faults_every=25) + batch(DAY_2, 5, start=500, late_from=DAY_1),
    }
    handler = load("event_transform")
    for day, payloads in arrivals.items():
        records = handler.handler(firehose_event(payloads), None)["records"]
        rows = [json.loads(base64.b64decode(r["data"])) for r in records if r["result"] == "Ok"]
        columns = {f.name: pa.array([to_arrow_value(r[f.name], f.type) for r in rows], type=f.type) for f in schema}
        partition = root / TABLE / f"year={day:%Y}" / f"month={day:%m}" / f"day={day:%d}"
        partition.mkdir(parents=True)
        pq.write_table(pa.table(columns, schema=schema), partition / "mlspec-sbx-sensor-readings-1-2026-11-21.parquet",
                       compression="snappy")
    return root


@pytest.fixture
def engine(raw_zone):
    """DuckDB with the Glue table's name and shape: partition columns stay strings, as in Athena."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE SCHEMA {DATABASE}")
    connection.execute(
        f"CREATE VIEW {DATABASE}.{TABLE} AS SELECT * FROM read_parquet("
        f"'{raw_zone}/{TABLE}/*/*/*/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
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


# ---------------------------------------------------------------- the ETL job's curation


@pytest.fixture
def curated(engine) -> list[dict]:
    etl = load_etl()
    engine.execute(f"CREATE VIEW {etl.RAW_VIEW} AS SELECT * FROM {DATABASE}.{TABLE}")
    cursor = engine.execute(etl.CURATE_SQL)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_curation_keeps_one_row_per_event_id(curated):
    ids = [row["event_id"] for row in curated]
    assert len(ids) == len(set(ids)) == 30 + 50 + 5


def test_curation_partitions_by_the_reading_date_not_the_arrival_date(curated):
    by_day = {}
    for row in curated:
        by_day.setdefault((row["year"], row["month"], row["day"]), []).append(row["event_id"])
    assert {day: len(ids) for day, ids in by_day.items()} == {("2026", "11", "20"): 35, ("2026", "11", "21"): 50}
    assert {f"e-{i:04d}" for i in range(500, 505)} <= set(by_day[("2026", "11", "20")])


def test_curation_output_columns_are_the_schema_plus_partitions(curated):
    etl = load_etl()
    assert list(curated[0]) == [*etl.READING_COLUMNS, *etl.PARTITION_KEYS]
    assert etl.READING_COLUMNS == tuple(f["name"] for f in json.loads(
        (LAMBDA_ROOT / "event_transform" / "schema.json").read_text())["columns"])


def test_curation_drops_rows_that_are_not_valid_readings(engine):
    etl = load_etl()
    engine.execute(
        f"CREATE VIEW {etl.RAW_VIEW} AS SELECT * FROM (VALUES "
        "('a', TIMESTAMPTZ '2026-11-21 10:00:00+00', 'd', 20.0, NULL, NULL, 'ok'),"
        "('b', NULL, 'd', 20.0, NULL, NULL, 'ok'),"
        "('c', TIMESTAMPTZ '2026-11-21 10:00:00+00', 'd', 999.0, NULL, NULL, 'ok'),"
        "('d', TIMESTAMPTZ '2026-11-21 10:00:00+00', 'd', 20.0, NULL, NULL, 'unknown'),"
        "('a', TIMESTAMPTZ '2026-11-21 11:00:00+00', 'd', 21.0, NULL, NULL, 'warning')"
        ") AS t(event_id, event_time, device_id, temperature_c, humidity_pct, battery_pct, status)"
    )
    rows = engine.execute(etl.CURATE_SQL).fetchall()
    assert [(r[0], r[3], r[6]) for r in rows] == [("a", 21.0, "warning")]  # the latest copy of "a" wins
