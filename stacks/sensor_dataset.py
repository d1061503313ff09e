"""This app's dataset, sensor readings: the schema file, the Glue script that curates it and the
Athena queries saved on it. The stacks and ops commands pass these to the generic patterns.

Plain Python (no CDK import), so ops commands read it cheaply. The queries are written in the SQL
that Athena (Trino) and DuckDB share, with no translation shim: the tests run these exact strings
on DuckDB against Parquet laid out as Firehose writes it.
"""

from __future__ import annotations

from pathlib import Path

from patterns.saved_queries import SavedQuery

ROOT = Path(__file__).resolve().parent.parent
# The one definition of the dataset; the transform Lambda validates against it (it ships in its asset).
SCHEMA_FILE = ROOT / "lambda" / "event_transform" / "schema.json"
ETL_SCRIPT = ROOT / "etl" / "raw_to_curated.py"
# The model's input: the CSV columns the endpoint receives, in this order (the deploy guide's step 5
# writes the training data, label first, and the Model Monitor baseline, without it, from these).
MODEL_FEATURES = ("temperature_c", "humidity_pct", "battery_pct")

SAVED_QUERIES = (
    SavedQuery(
        name="readings-per-day",
        description="Readings delivered per day (arrival-date partitions)",
        template="""
SELECT year, month, day, count(*) AS readings, count(DISTINCT device_id) AS devices
FROM {table}
GROUP BY year, month, day
ORDER BY year, month, day
""",
    ),
    SavedQuery(
        name="latest-partition",
        description="The newest day partition and what it holds",
        template="""
SELECT year, month, day, count(*) AS readings, min(event_time) AS first_reading, max(event_time) AS last_reading
FROM {table}
WHERE concat(year, month, day) = (SELECT max(concat(year, month, day)) FROM {table})
GROUP BY year, month, day
""",
    ),
    SavedQuery(
        name="data-quality",
        description="Duplicates, missing optional values and fault share per day",
        template="""
SELECT year, month, day,
       count(*) AS readings,
       count(*) - count(DISTINCT event_id) AS duplicate_event_ids,
       sum(CASE WHEN humidity_pct IS NULL THEN 1 ELSE 0 END) AS missing_humidity,
       sum(CASE WHEN battery_pct IS NULL THEN 1 ELSE 0 END) AS missing_battery,
       sum(CASE WHEN status = 'fault' THEN 1 ELSE 0 END) AS faults
FROM {table}
GROUP BY year, month, day
ORDER BY year, month, day
""",
    ),
)

# What step 5's UNLOAD writes for a missing optional feature (coalesce(..., -1)); the inference API
# builds the endpoint's CSV rows with MODEL_FEATURES and this value.
MISSING_FEATURE_VALUE = -1
