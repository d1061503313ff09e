"""A raw zone as Firehose writes it, built from sample readings by the real transform handler.

Firehose converts the transform's JSON lines to Parquet with the Glue table's schema (Hive's Parquet
SerDe: SNAPPY, timestamps as INT96) and writes each buffer flush as one object with no file
extension, under arrival-date Hive partitions: `<dataset>/year=YYYY/month=MM/day=DD/<stream>-1-<time>-<uuid>`.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.firehose_events import firehose_event, reading
from tests.lambda_code import load
from tests.test_schema_contract import to_arrow_value

DATASET = "sensor_readings"
STREAM = "mlspec-sbx-sensor-readings"
DAY_1, DAY_2 = datetime.date(2026, 11, 20), datetime.date(2026, 11, 21)
# What the stream owns besides the dataset, and what SageMaker writes in the raw zone.
OTHER_PREFIXES = (f"errors/{DATASET}/processing-failed/", f"source-backup/{DATASET}/", "data-capture/endpoint/")


def batch(day: datetime.date, count: int, *, start: int, duplicates: int = 0, faults_every: int = 0,
          late_from: datetime.date | None = None) -> list[str]:
    """Producer payloads: readings e-<start>..., taken on `late_from` or `day`, one per hour of the day."""
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


# Arrival day -> what producers sent that day.
ARRIVALS = {
    # e-0000..e-0029, e-0000 and e-0001 resent, a fault every 10th; one malformed record and one
    # heartbeat, which the transform rejects and drops: never in the dataset.
    DAY_1: batch(DAY_1, 30, start=0, duplicates=2, faults_every=10) + ['{"event_id": "broken"', '{"heartbeat": true}'],
    # e-0100..e-0149 (a fault every 25th), and e-0500..e-0504 taken on day 1 but delivered on day 2.
    DAY_2: batch(DAY_2, 50, start=100, faults_every=25) + batch(DAY_2, 5, start=500, late_from=DAY_1),
}


def object_name(day: datetime.date, flush: int) -> str:
    return f"{STREAM}-1-{day:%Y-%m-%d}-{10 + flush:02d}-15-00-7c1e2f4a-0b3d-4e5f-8a9b-{day:%m%d}{flush:08d}"


def write_parquet(rows: list[dict], schema: pa.Schema, path: Path) -> None:
    columns = {f.name: pa.array([to_arrow_value(r[f.name], f.type) for r in rows], type=f.type) for f in schema}
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns, schema=schema), path, compression="snappy", use_deprecated_int96_timestamps=True)


def write_raw_zone(bucket: Path, schema: pa.Schema, *, decoys: bool = False) -> Path:
    """The raw bucket after two days of delivery (each day in two flushes). With `decoys`, Parquet
    files of the same schema also lie under the prefixes that are not the dataset: their event ids
    start with "decoy-", so a reader that strays there is caught by its output."""
    handler = load("event_transform")
    for day, payloads in ARRIVALS.items():
        records = handler.handler(firehose_event(payloads), None)["records"]
        rows = [json.loads(base64.b64decode(r["data"])) for r in records if r["result"] == "Ok"]
        partition = bucket / DATASET / f"year={day:%Y}" / f"month={day:%m}" / f"day={day:%d}"
        half = len(rows) // 2
        write_parquet(rows[:half], schema, partition / object_name(day, 1))
        write_parquet(rows[half:], schema, partition / object_name(day, 2))
    if decoys:
        for number, prefix in enumerate(OTHER_PREFIXES):
            row = json.loads(base64.b64decode(handler.handler(firehose_event(
                [json.dumps(reading(event_id=f"decoy-{number}"))]), None)["records"][0]["data"]))
            write_parquet([row], schema, bucket / prefix / f"year={DAY_1:%Y}" / f"month={DAY_1:%m}" / f"day={DAY_1:%d}"
                          / object_name(DAY_1, 9))
    return bucket
