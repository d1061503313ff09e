"""CurationJob: a raw -> curated PySpark job (your `script`) with job bookmarks.

It reads the raw dataset by S3 path (its table's partitions exist only through Athena's partition
projection, which Glue ETL ignores) and writes the curated dataset, under the Glue security
configuration, with grants on those two dataset prefixes only. The script gets both locations as
the job arguments --raw_path and --curated_path.

Usage, in any stack (lake zones "raw" and "curated", a DatasetTable in each)::

    security = GlueSecurity(stack, "GlueSecurity", name_prefix="acme", lake=lake)
    job = CurationJob(stack, "Curation", name="acme-raw-to-curated", lake=lake, raw_table=raw_table,
                      curated_table=curated_table, security=security, script="jobs/curate.py")
"""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.dataset_table import DatasetTable
from patterns.glue_security import GlueSecurity, glue_log_groups, glue_log_statements
from patterns.roles import service_role

GLUE_VERSION = "5.0"
WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
# Glue cron: minutes hours day-of-month month day-of-week year, '?' in one of the two day fields.
GLUE_CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")


class CurationJob(Construct):
    """The raw -> curated Glue job running `script` (a PySpark file), with bookmarks, the security
    configuration and an optional `schedule` (a Glue cron expression; none: it runs only when
    started). One run at a time, one retry, and a `timeout_minutes` far below Glue's 48-hour default."""

    def __init__(self, scope: Construct, id_: str, *, name: str, lake: DataLakeStorage, raw_table: DatasetTable,
                 curated_table: DatasetTable, security: GlueSecurity, script: str | Path, worker_type: str = "G.1X",
                 workers: int = 2, timeout_minutes: int = 60, schedule: str | None = None) -> None:
        super().__init__(scope, id_)
        if worker_type not in WORKER_TYPES:
            raise ValueError(f"worker_type={worker_type!r}: use one of {', '.join(WORKER_TYPES)}")
        fields = match.groups() if (match := GLUE_CRON.fullmatch(schedule or "")) else ()
        if schedule is not None and not (fields and [fields[2], fields[4]].count("?") == 1):
            raise ValueError(f"schedule={schedule!r}: use cron(minutes hours day-of-month month day-of-week year) "
                             "with '?' in one day field, e.g. cron(0 3 * * ? *)")
        asset = s3_assets.Asset(self, "Script", path=str(script))
        raw_prefix = f"{raw_table.table_name}/*"
        # Spark's S3 committer also writes "<dataset>_$folder$" markers beside the dataset prefix.
        curated_prefix = f"{curated_table.table_name}*"
        read_raw, write_curated = lake.objects_arn("raw", raw_prefix), lake.objects_arn("curated", curated_prefix)
        log_groups = glue_log_groups("jobs")
        self.role, policy = service_role(
            self,
            "Job",
            service="glue.amazonaws.com",
            description=f"{name}: read raw {raw_table.table_name}, write curated {curated_table.table_name}",
            statements=[
                iam.PolicyStatement(sid="ReadTheScript", actions=["s3:GetObject"],
                                    resources=[asset.bucket.arn_for_objects(asset.s3_object_key)]),
                iam.PolicyStatement(sid="ListTheZones", actions=["s3:ListBucket"],
                                    resources=[lake.raw.bucket_arn, lake.curated.bucket_arn]),
                iam.PolicyStatement(sid="ReadRaw", actions=["s3:GetObject"], resources=[read_raw]),
                iam.PolicyStatement(sid="WriteCurated", actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                    resources=[write_curated]),
                lake.key_through_s3("UseTheLakeKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"]),
                # No catalog grants: the job reads and writes by S3 path and both tables get their
                # partitions from projection, so it never reads or adds a partition.
                iam.PolicyStatement(sid="ReadTheSecurityConfiguration", actions=["glue:GetSecurityConfiguration"],
                                    resources=["*"]),
                iam.PolicyStatement(sid="PublishJobMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
                                    conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}}),
                *glue_log_statements("jobs"),
                *security.key_statements(),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]"
             for arn in (read_raw, write_curated, log_groups, f"{log_groups}:log-stream:*")]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "Spark names its part files at run time, so object access is per dataset prefix (read "
            "raw, write curated, nothing else); Glue names its log groups after the role and "
            "security configuration; PutMetricData (limited to the Glue namespace) and "
            "GetSecurityConfiguration have no resource ARNs.",
        )
        self.job = glue.CfnJob(
            self,
            "Job",
            name=name,
            description="Raw -> curated: deduplicated, validated, partitioned by reading date, Parquet",
            role=self.role.role_arn,
            glue_version=GLUE_VERSION,
            command=glue.CfnJob.JobCommandProperty(name="glueetl", python_version="3",
                                                   script_location=asset.s3_object_url),
            worker_type=worker_type,
            number_of_workers=workers,
            timeout=timeout_minutes,
            max_retries=1,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
            security_configuration=security.configuration.ref,  # Ref: created first
            default_arguments={
                "--job-bookmark-option": "job-bookmark-enable",
                "--enable-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
                # By path, not through the catalog: Glue ETL ignores partition projection, the raw
                # table's only source of partitions, and would read nothing.
                "--raw_path": raw_table.location,
                "--curated_path": curated_table.location,
            },
        )
        self.job.node.add_dependency(policy)
        self.trigger = None
        if schedule:
            self.trigger = glue.CfnTrigger(
                self, "Schedule", name=f"{name}-schedule", type="SCHEDULED", schedule=schedule, start_on_creation=True,
                actions=[glue.CfnTrigger.ActionProperty(job_name=name)],
            )
            self.trigger.node.add_dependency(self.job)
