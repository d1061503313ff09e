"""The Glue ETL job, run for real on local Spark: only the GlueContext differs from AWS.

The raw bucket holds Parquet exactly as Firehose writes it (tests/firehose_layout.py: the real
transform handler, the Glue table's schema, extensionless objects in arrival-date partitions), plus
decoy files under the prefixes the job must never read. `main` runs with the job's synthesized
arguments, S3 paths mapped to local folders, against a stand-in for the awsglue library that checks
each call as Glue takes it and performs it with the equivalent Spark read or write. The curated
partitions are then read back with pyarrow, independently of Spark.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from patterns.dataset_schema import load_schema
from stacks.sensor_dataset import SCHEMA_FILE
from tests.firehose_layout import DATASET, DAY_1, DAY_2, OTHER_PREFIXES, write_raw_zone
from tests.lambda_code import load_etl
from tests.test_schema_contract import ARROW_TYPES, glue_arrow_schema

ETL = load_etl()


# ---------------------------------------------------------------- a local stand-in for awsglue


class FakeGlue:
    """The awsglue calls the job makes, on a local SparkSession. Reads and writes use Spark's own
    Parquet reader and writer with the options Glue would apply; every call is recorded."""

    def __init__(self, spark) -> None:
        self.spark, self.calls = spark, []

    def modules(self) -> dict[str, types.ModuleType]:
        fake = self

        class DynamicFrame:
            def __init__(self, df) -> None:
                self.df = df

            def toDF(self):  # noqa: N802 - the awsglue name
                return self.df

            @classmethod
            def fromDF(cls, df, glue_context, name):  # noqa: N802
                return cls(df)

        class Reader:
            def from_options(self, *, connection_type, connection_options, format, transformation_ctx):  # noqa: A002
                fake.calls.append(("read", connection_type, connection_options, format, transformation_ctx))
                assert connection_type == "s3" and format == "parquet" and transformation_ctx  # bookmarks need a ctx
                # "recurse": every object below the paths, whatever its name, no partition columns.
                return DynamicFrame(fake.spark.read.option("recursiveFileLookup", str(connection_options["recurse"]))
                                    .parquet(*connection_options["paths"]))

        class Writer:
            def from_options(self, *, frame, connection_type, connection_options, format, format_options,  # noqa: A002
                             transformation_ctx):
                fake.calls.append(("write", connection_type, connection_options, format, format_options))
                assert connection_type == "s3" and format == "glueparquet"
                (frame.df.write.mode("append").partitionBy(*connection_options["partitionKeys"])
                 .option("compression", format_options["compression"]).parquet(connection_options["path"]))

        class GlueContext:
            def __init__(self, spark_context) -> None:
                self.spark_session = fake.spark
                self.create_dynamic_frame, self.write_dynamic_frame = Reader(), Writer()

        class Job:
            def __init__(self, glue_context) -> None:
                pass

            def init(self, name, args) -> None:
                fake.calls.append(("init", name))

            def commit(self) -> None:
                fake.calls.append(("commit",))

        def get_resolved_options(argv, names):
            """Like awsglue.utils.getResolvedOptions: `--name value` pairs, each requested name required."""
            pairs = dict(zip(argv[1::2], argv[2::2]))
            missing = [n for n in names if f"--{n}" not in pairs]
            if missing:
                raise SystemExit(f"the following arguments are required: {', '.join('--' + n for n in missing)}")
            return {n: pairs[f"--{n}"] for n in names}

        return {
            "awsglue": types.ModuleType("awsglue"),
            "awsglue.context": types.SimpleNamespace(GlueContext=GlueContext),
            "awsglue.dynamicframe": types.SimpleNamespace(DynamicFrame=DynamicFrame),
            "awsglue.job": types.SimpleNamespace(Job=Job),
            "awsglue.utils": types.SimpleNamespace(getResolvedOptions=get_resolved_options),
        }


# ---------------------------------------------------------------- the job's arguments, deployed


def local_path(sandbox, s3_path: dict, buckets: Path) -> str:
    """A synthesized s3://<lake bucket>/<key> argument as a local folder named after the bucket."""
    scheme, bucket, key = s3_path["Fn::Join"][1]
    lake = sandbox.templates["DataLake"]
    bucket_id = lake["Outputs"][bucket["Fn::GetStackOutput"]["OutputName"]]["Value"]["Ref"]
    name_start = lake["Resources"][bucket_id]["Properties"]["BucketName"]["Fn::Join"][1][0]  # "<prefix>-raw-"
    assert scheme == "s3://"
    return f"{buckets / name_start.rstrip('-')}{key}"


@pytest.fixture(scope="module")
def job_run(sandbox, spark, tmp_path_factory):
    """`main` as Glue runs it: the job's default arguments plus the JOB_NAME Glue adds."""
    buckets = tmp_path_factory.mktemp("buckets")
    prefix = sandbox.built.settings.name_prefix
    (table,) = sandbox.resources("Streaming", "AWS::Glue::Table").values()
    write_raw_zone(buckets / f"{prefix}-raw", glue_arrow_schema(table), decoys=True)
    _, job = sandbox.only("Catalog", "AWS::Glue::Job")
    argv = ["raw_to_curated.py", "--JOB_NAME", job["Properties"]["Name"]]
    for name, value in job["Properties"]["DefaultArguments"].items():
        argv += [name, local_path(sandbox, value, buckets) if isinstance(value, dict) else value]
    glue = FakeGlue(spark)
    with pytest.MonkeyPatch.context() as patch:
        for name, module in glue.modules().items():
            patch.setitem(sys.modules, name, module)
        ETL.main(argv)
    return types.SimpleNamespace(calls=glue.calls, raw=buckets / f"{prefix}-raw", curated=buckets / f"{prefix}-curated")


@pytest.fixture(scope="module")
def curated(job_run) -> pa.Table:
    """The curated partitions read back with pyarrow; partition values stay strings, as in Glue."""
    partitioning = ds.partitioning(pa.schema([(k, pa.string()) for k in ETL.PARTITION_KEYS]), flavor="hive")
    return ds.dataset(job_run.curated / DATASET, format="parquet", partitioning=partitioning).to_table()


def test_job_reads_the_raw_dataset_by_path_with_bookmarks_writes_partitioned_snappy_and_commits(job_run):
    calls = job_run.calls
    assert [call[0] for call in calls] == ["init", "read", "write", "commit"]
    (read,) = [c for c in calls if c[0] == "read"]
    assert read[2]["paths"][0].endswith(f"-raw/{DATASET}/") and read[2]["recurse"] is True
    (write,) = [c for c in calls if c[0] == "write"]
    assert write[2]["path"].endswith(f"-curated/{DATASET}/")
    assert write[2]["partitionKeys"] == ["year", "month", "day"] and write[4] == {"compression": "snappy"}


def test_curated_has_one_row_per_reading_and_nothing_from_outside_the_dataset(job_run, curated):
    ids = curated.column("event_id").to_pylist()
    # 30 + 50 + 5 distinct readings; the two resent ones once; the malformed record never arrived.
    assert len(ids) == len(set(ids)) == 85
    assert set(ids) == {f"e-{i:04d}" for i in [*range(0, 30), *range(100, 150), *range(500, 505)]}
    # The decoys were there to be read (one Parquet object under each other prefix), and were not.
    for prefix in OTHER_PREFIXES:
        assert len([p for p in (job_run.raw / prefix).rglob("*") if p.is_file()]) == 1, prefix
    assert not [i for i in ids if i.startswith("decoy-")]


def test_curated_partitions_are_the_reading_utc_date_not_the_arrival_date(curated):
    rows = curated.select(["event_id", "event_time", "year", "month", "day"]).to_pylist()
    by_day = {}
    for row in rows:
        by_day.setdefault((row["year"], row["month"], row["day"]), set()).add(row["event_id"])
        assert (row["year"], row["month"], row["day"]) == (
            f"{row['event_time']:%Y}", f"{row['event_time']:%m}", f"{row['event_time']:%d}")
    assert {day: len(ids) for day, ids in by_day.items()} == {
        (f"{DAY_1:%Y}", f"{DAY_1:%m}", f"{DAY_1:%d}"): 35, (f"{DAY_2:%Y}", f"{DAY_2:%m}", f"{DAY_2:%d}"): 50}
    # Taken on day 1, delivered on day 2: curated under day 1.
    assert {f"e-{i:04d}" for i in range(500, 505)} <= by_day[("2026", "11", "20")]


def test_curated_columns_have_the_curated_table_types(sandbox, curated):
    (table,) = sandbox.resources("Catalog", "AWS::Glue::Table").values()
    columns = table["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    assert curated.schema.names == [*[c["Name"] for c in columns], *ETL.PARTITION_KEYS]
    assert [c["Name"] for c in columns] == [c.name for c in load_schema(SCHEMA_FILE).columns]
    for column in columns:
        found, expected = curated.schema.field(column["Name"]).type, ARROW_TYPES[column["Type"]]
        if pa.types.is_timestamp(expected):
            assert pa.types.is_timestamp(found), column  # Spark's Parquet writer picks the unit
        else:
            assert found == expected, column


def test_curated_files_are_snappy_parquet_under_the_dataset_prefix_only(job_run):
    bucket = job_run.curated
    files = [p for p in bucket.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    assert files and all(p.relative_to(bucket).parts[0] == DATASET for p in files)
    for path in files:
        metadata = pq.ParquetFile(path).metadata
        assert {metadata.row_group(g).column(c).compression
                for g in range(metadata.num_row_groups) for c in range(metadata.num_columns)} == {"SNAPPY"}


# ---------------------------------------------------------------- curate() on crafted input


def run_curate(spark, raw) -> list | None:
    """`curate` with an in-memory reader and a writer that keeps the rows it is given."""
    written = []
    ran = ETL.curate(spark, read_raw=lambda path: raw, write_curated=lambda df, path: written.append(df.collect()),
                     raw_path="unused", curated_path="unused")
    return written[0] if ran else None


def test_curation_drops_rows_that_are_not_valid_readings_and_keeps_the_latest_copy(spark):
    raw = spark.sql(
        "SELECT event_id, CAST(event_time AS TIMESTAMP) AS event_time, device_id, temperature_c, "
        "CAST(humidity_pct AS DOUBLE) AS humidity_pct, CAST(battery_pct AS INT) AS battery_pct, status FROM VALUES "
        "('a', '2026-11-21 10:00:00Z', 'd', 20.0D, NULL, NULL, 'ok'),"
        "('b', NULL, 'd', 20.0D, NULL, NULL, 'ok'),"
        "('c', '2026-11-21 10:00:00Z', 'd', 999.0D, NULL, NULL, 'ok'),"
        "('d', '2026-11-21 10:00:00Z', 'd', 20.0D, NULL, NULL, 'unknown'),"
        "('e', '2026-11-21 10:00:00Z', NULL, 20.0D, NULL, NULL, 'ok'),"
        "('a', '2026-11-21 11:00:00Z', 'd', 21.0D, NULL, NULL, 'warning')"
        " AS t(event_id, event_time, device_id, temperature_c, humidity_pct, battery_pct, status)"
    )
    rows = run_curate(spark, raw)
    assert [(r.event_id, r.temperature_c, r.status, r.year, r.month, r.day) for r in rows] == [
        ("a", 21.0, "warning", "2026", "11", "21")]  # the latest copy of "a" wins


def test_a_run_with_no_new_files_writes_nothing(spark):
    """With bookmarks, a run after no new files reads a frame without columns."""
    from pyspark.sql.types import StructType

    assert run_curate(spark, spark.createDataFrame([], StructType([]))) is None
