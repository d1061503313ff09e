"""Glue building blocks of the catalog stack, one construct per capability.

- GlueSecurity: the catalog key, the Glue security configuration (S3, CloudWatch Logs and job
  bookmarks encrypted with KMS) and, optionally, account-wide Data Catalog encryption.
- ZoneCrawler: a least-privilege crawler over one lake zone, recrawling new folders only.
- CurationJob: the raw -> curated PySpark job (etl/raw_to_curated.py) with job bookmarks; it reads
  the raw dataset by S3 path (its table's partitions exist only through Athena's projection).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference, skip_checkov
from patterns.data_lake import DataLakeStorage
from patterns.dataset_table import DatasetTable
from patterns.keys import customer_managed_key
from patterns.roles import service_role

ETL_SCRIPT = Path(__file__).resolve().parent.parent / "etl" / "raw_to_curated.py"
GLUE_VERSION = "5.0"


def glue_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def glue_log_groups(kind: str) -> str:
    """Glue writes to /aws-glue/<kind>... log groups whose names it derives from the role and the
    security configuration."""
    return f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws-glue/{kind}*"


def _log_statements(kind: str) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="WriteGlueLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            resources=[glue_log_groups(kind), f"{glue_log_groups(kind)}:log-stream:*"],
        )
    ]


class GlueSecurity(Construct):
    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, lake: DataLakeStorage,
                 data_catalog_encryption: bool, destroy_on_removal: bool) -> None:
        super().__init__(scope, id_)
        self.key = customer_managed_key(
            self,
            "Key",
            alias=f"alias/{name_prefix}-catalog",
            description=f"{name_prefix}: Glue logs, job bookmarks and (optionally) the Data Catalog",
            destroy_on_removal=destroy_on_removal,
            for_log_groups=True,
        )
        self.configuration = glue.CfnSecurityConfiguration(
            self,
            "Configuration",
            name=f"{name_prefix}-glue",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=lake.key.key_arn)],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=self.key.key_arn),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=self.key.key_arn),
            ),
        )
        self.catalog_encryption: glue.CfnDataCatalogEncryptionSettings | None = None
        if data_catalog_encryption:
            # Like an AWS managed key: any principal of this account may use the key, but only
            # through Glue, so catalog readers need no extra grant and nothing else can use it.
            self.key.add_to_resource_policy(iam.PolicyStatement(
                sid="AllowDataCatalogUseThroughGlueInThisAccount",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID,
                                             "kms:ViaService": f"glue.{Aws.REGION}.amazonaws.com"}},
            ))
            skip_checkov(
                self.key,
                ["CKV_AWS_33"],
                "The * principal is bound by kms:CallerAccount (this account) and kms:ViaService "
                "(Glue), the key policy of AWS managed keys: once the account-wide catalog is "
                "encrypted, every existing catalog reader keeps working and nothing can use the key "
                "outside Glue.",
            )
            self.catalog_encryption = glue.CfnDataCatalogEncryptionSettings(
                self,
                "DataCatalogEncryption",
                catalog_id=Aws.ACCOUNT_ID,
                data_catalog_encryption_settings=glue.CfnDataCatalogEncryptionSettings.DataCatalogEncryptionSettingsProperty(
                    encryption_at_rest=glue.CfnDataCatalogEncryptionSettings.EncryptionAtRestProperty(
                        catalog_encryption_mode="SSE-KMS", sse_aws_kms_key_id=self.key.key_arn),
                    connection_password_encryption=glue.CfnDataCatalogEncryptionSettings.ConnectionPasswordEncryptionProperty(
                        return_connection_password_encrypted=True, kms_key_id=self.key.key_arn),
                ),
            )

    def key_statements(self) -> list[iam.PolicyStatement]:
        """What a Glue role needs from the catalog key (bookmarks are client-side encrypted)."""
        return [iam.PolicyStatement(sid="UseTheCatalogKey", actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                                    resources=[self.key.key_arn])]


class ZoneCrawler(Construct):
    """Crawls the datasets users add to a zone; explicitly defined datasets are excluded."""

    def __init__(self, scope: Construct, id_: str, *, name: str, lake: DataLakeStorage, zone: str, database_name: str,
                 exclusions: Sequence[str], security: GlueSecurity, schedule: str | None) -> None:
        super().__init__(scope, id_)
        bucket = lake.zone(zone)
        tables = glue_arn(f"table/{database_name}/*")
        self.role, policy = service_role(
            self,
            "Crawler",
            service="glue.amazonaws.com",
            description=f"{name}: read the {zone} zone, write its tables in {database_name}",
            statements=[
                iam.PolicyStatement(sid="ListTheZone", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]),
                iam.PolicyStatement(sid="ReadTheZone", actions=["s3:GetObject"], resources=[lake.objects_arn(zone, "*")]),
                lake.key_through_s3("DecryptTheZone", ["kms:Decrypt"]),
                iam.PolicyStatement(
                    sid="CatalogTheZone",
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                             "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
                             "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition",
                             "glue:BatchUpdatePartition"],
                    resources=[glue_arn("catalog"), glue_arn(f"database/{database_name}"), tables],
                ),
                iam.PolicyStatement(sid="ReadTheSecurityConfiguration", actions=["glue:GetSecurityConfiguration"],
                                    resources=["*"]),
                *_log_statements("crawlers"),
                *security.key_statements(),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]"
             for arn in (lake.objects_arn(zone, "*"), tables, glue_log_groups("crawlers"),
                         f"{glue_log_groups('crawlers')}:log-stream:*")]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "A crawler discovers what it catalogs: it reads every object of its zone and creates "
            "tables it cannot name in advance, in its own database only; Glue names its log groups "
            "after the role and security configuration; GetSecurityConfiguration has no resource ARN.",
        )
        self.crawler = glue.CfnCrawler(
            self,
            "Crawler",
            name=name,
            role=self.role.role_arn,
            database_name=database_name,
            description=f"Catalogs new datasets in the {zone} zone (explicit tables excluded)",
            targets=glue.CfnCrawler.TargetsProperty(
                s3_targets=[glue.CfnCrawler.S3TargetProperty(path=f"s3://{bucket.bucket_name}/",
                                                             exclusions=list(exclusions))]),
            schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression=schedule) if schedule else None,
            # Crawling new folders only requires LOG for both behaviours: the crawler never
            # rewrites or deletes a table definition, it only adds new tables and partitions.
            recrawl_policy=glue.CfnCrawler.RecrawlPolicyProperty(recrawl_behavior="CRAWL_NEW_FOLDERS_ONLY"),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(update_behavior="LOG",
                                                                           delete_behavior="LOG"),
            # The Ref (the name) makes CloudFormation create the configuration first.
            crawler_security_configuration=security.configuration.ref,
            configuration=json.dumps({"Version": 1.0, "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
                                      "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}}),
        )
        self.crawler.node.add_dependency(policy)


class CurationJob(Construct):
    """The raw -> curated Glue job, with bookmarks, the security configuration and an optional schedule."""

    def __init__(self, scope: Construct, id_: str, *, name: str, lake: DataLakeStorage, raw_table: DatasetTable,
                 curated_table: DatasetTable, security: GlueSecurity, worker_type: str, workers: int,
                 timeout_minutes: int, schedule: str | None) -> None:
        super().__init__(scope, id_)
        script = s3_assets.Asset(self, "Script", path=str(ETL_SCRIPT))
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
                                    resources=[script.bucket.arn_for_objects(script.s3_object_key)]),
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
                *_log_statements("jobs"),
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
                                                   script_location=script.s3_object_url),
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
