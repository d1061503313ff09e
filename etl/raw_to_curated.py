"""Glue ETL job (Glue 5.0, PySpark): raw sensor readings -> the curated zone.

Reads only the raw files added since the last run (job bookmarks), keeps one row per event_id,
drops rows that are not valid readings, partitions by the reading's own UTC date (raw is
partitioned by arrival date), and writes SNAPPY Parquet under s3://<curated>/sensor_readings/.

The curation is one SQL statement, CURATE_SQL, written in the SQL that Spark and DuckDB share, so
the tests run it unchanged on DuckDB against Parquet laid out like the raw zone. Deduplication
covers the rows of one run; a reading re-sent days later can appear in two runs' output.
"""

from __future__ import annotations

import sys

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


def main(argv: list[str]) -> None:  # pragma: no cover - runs on AWS Glue only
    from awsglue.context import GlueContext
    from awsglue.dynamicframe import DynamicFrame
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(argv, ["JOB_NAME", "raw_database", "raw_table", "curated_path"])
    glue = GlueContext(SparkContext.getOrCreate())
    spark = glue.spark_session
    spark.conf.set("spark.sql.session.timeZone", "UTC")  # partitions by the reading's UTC date
    job = Job(glue)
    job.init(args["JOB_NAME"], args)

    raw = glue.create_dynamic_frame.from_catalog(
        database=args["raw_database"], table_name=args["raw_table"], transformation_ctx="raw_readings"
    )
    raw.toDF().createOrReplaceTempView(RAW_VIEW)
    curated = DynamicFrame.fromDF(spark.sql(CURATE_SQL), glue, "curated_readings")
    glue.write_dynamic_frame.from_options(
        frame=curated,
        connection_type="s3",
        connection_options={"path": args["curated_path"], "partitionKeys": list(PARTITION_KEYS)},
        format="glueparquet",
        format_options={"compression": "snappy"},
        transformation_ctx="curated_readings",
    )
    job.commit()


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)
