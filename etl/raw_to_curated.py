"""Glue ETL job (Glue 5.0, PySpark): raw sensor readings -> the curated zone.

Reads only the raw files added since the last run (job bookmarks), keeps one row per event_id,
drops rows that are not valid readings, partitions by the reading's own UTC date (raw is
partitioned by arrival date), and writes SNAPPY Parquet under s3://<curated>/sensor_readings/.

The raw dataset is read by S3 path, not through the catalog: its table has partitions only through
Athena partition projection, which Glue ETL does not use, so a catalog read finds no partitions and
reads nothing. Only the dataset prefix is read (never errors/, source-backup/ or data-capture/).

`curate` is the whole job on any SparkSession, given a reader and a writer; `main` only supplies
what Glue owns (the bookmarked read, the Glue Parquet sink, the commit). The tests run `main` on
local Spark with a stand-in GlueContext, over files laid out as Firehose writes them.
Deduplication covers the rows of one run; a reading re-sent days later can appear in two runs' output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

READING_COLUMNS = ("event_id", "event_time", "device_id", "temperature_c", "humidity_pct", "battery_pct", "status")
PARTITION_KEYS = ("year", "month", "day")
RAW_VIEW = "raw_readings"

CURATE_SQL = f"""
WITH valid AS (
    SELECT {", ".join(READING_COLUMNS)},
           row_number() OVER (PARTITION BY event_id ORDER BY event_time DESC, device_id) AS copy_number
    FROM {RAW_VIEW}
    WHERE event_id IS NOT NULL
      AND event_time IS NOT NULL
      AND device_id IS NOT NULL
      AND temperature_c BETWEEN -80 AND 200
      AND status IN ('ok', 'warning', 'fault')
)
SELECT {", ".join(READING_COLUMNS)},
       CAST(year(event_time) AS STRING) AS year,
       lpad(CAST(month(event_time) AS STRING), 2, '0') AS month,
       lpad(CAST(day(event_time) AS STRING), 2, '0') AS day
FROM valid
WHERE copy_number = 1
"""

DataFrame = Any  # pyspark.sql.DataFrame; pyspark is imported only where Spark runs


def curate(spark: Any, *, read_raw: Callable[[str], DataFrame], write_curated: Callable[[DataFrame, str], None],
           raw_path: str, curated_path: str) -> bool:
    """Read the raw dataset at `raw_path`, curate it with CURATE_SQL, write it to `curated_path`.

    Returns False, writing nothing, when there is nothing new to read: with bookmarks, a run after
    no new files gets a frame without columns, on which CURATE_SQL could not even resolve.
    """
    spark.conf.set("spark.sql.session.timeZone", "UTC")  # partitions by the reading's UTC date
    raw = read_raw(raw_path)
    if not raw.columns:
        return False
    raw.createOrReplaceTempView(RAW_VIEW)
    write_curated(spark.sql(CURATE_SQL), curated_path)
    return True


def main(argv: list[str]) -> None:
    """On AWS Glue: GlueContext read (bookmarked by transformation_ctx) and write, then commit."""
    from awsglue.context import GlueContext
    from awsglue.dynamicframe import DynamicFrame
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(argv, ["JOB_NAME", "raw_path", "curated_path"])
    glue = GlueContext(SparkContext.getOrCreate())
    job = Job(glue)
    job.init(args["JOB_NAME"], args)

    def read_raw(path: str) -> DataFrame:
        return glue.create_dynamic_frame.from_options(
            connection_type="s3", connection_options={"paths": [path], "recurse": True}, format="parquet",
            transformation_ctx="raw_readings",
        ).toDF()

    def write_curated(curated: DataFrame, path: str) -> None:
        glue.write_dynamic_frame.from_options(
            frame=DynamicFrame.fromDF(curated, glue, "curated_readings"),
            connection_type="s3",
            connection_options={"path": path, "partitionKeys": list(PARTITION_KEYS)},
            format="glueparquet",
            format_options={"compression": "snappy"},
            transformation_ctx="curated_readings",
        )

    curate(glue.spark_session, read_raw=read_raw, write_curated=write_curated,
           raw_path=args["raw_path"], curated_path=args["curated_path"])
    job.commit()


if __name__ == "__main__":  # pragma: no cover - the entry point Glue runs
    main(sys.argv)
