"""QueryWorkgroup: an Athena workgroup that enforces encrypted, cost-capped queries, plus saved queries;
AnalystAccess: the managed policy that lets people query through it.

Usage, in any stack::

    lake = DataLakeStorage(stack, "Lake", name_prefix="acme", zones={"raw": ZoneTiering(), "results": ZoneTiering()})
    workgroup = QueryWorkgroup(stack, "Athena", name="acme-analytics", lake=lake, bytes_scanned_cutoff_mb=1024)
    daily = SavedQuery(name="daily", description="Rows per day",
                       template="SELECT day, count(*) FROM {table} GROUP BY day")
    workgroup.save_queries([daily], database="acme_raw", table="events")
    analysts = AnalystAccess(stack, "Analysts", name="acme-analyst", workgroup=workgroup, lake=lake,
                             databases=["acme_raw"], readable={"raw": ["events/*"]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Aws
from aws_cdk import aws_athena as athena
from aws_cdk import aws_iam as iam
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.saved_queries import SavedQuery

RESULTS_PREFIX = "athena/"
BYTES_PER_MB = 1_000_000
MIN_CUTOFF_MB = 10  # Athena refuses a per-query cutoff below 10,000,000 bytes


# What a person querying in one workgroup (its saved queries included) needs on that workgroup.
WORKGROUP_QUERY_ACTIONS = [
    "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
    "athena:GetQueryRuntimeStatistics", "athena:ListQueryExecutions", "athena:GetWorkGroup", "athena:GetNamedQuery",
    "athena:BatchGetNamedQuery", "athena:ListNamedQueries"]


class QueryWorkgroup(Construct):
    """Results go under athena/ in the lake's "results" zone (which expires them), SSE-KMS with the
    lake key; the workgroup's settings override the client's, every query is capped at
    `bytes_scanned_cutoff_mb`, and CloudWatch metrics are on. The workgroup is deleted with its
    saved queries only when `destroy_on_removal`."""

    def __init__(self, scope: Construct, id_: str, *, name: str, lake: DataLakeStorage,
                 bytes_scanned_cutoff_mb: int = 1024, destroy_on_removal: bool = False) -> None:
        super().__init__(scope, id_)
        if bytes_scanned_cutoff_mb < MIN_CUTOFF_MB:
            raise ValueError(f"bytes_scanned_cutoff_mb={bytes_scanned_cutoff_mb!r}: Athena's minimum is "
                             f"{MIN_CUTOFF_MB} (MB)")
        self.output_location = f"s3://{lake.results.bucket_name}/{RESULTS_PREFIX}"
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=name,
            description="Encrypted, cost-capped queries over the lake",
            state="ENABLED",
            # Sandbox teardown deletes the workgroup even when it still holds saved queries.
            recursive_delete_option=destroy_on_removal,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff_mb * BYTES_PER_MB,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.output_location,
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=lake.key.key_arn),
                ),
            ),
        )
        self.queries: dict[str, athena.CfnNamedQuery] = {}

    def save_queries(self, queries: Sequence[SavedQuery], *, database: str, table: str) -> None:
        """Save `queries` in this workgroup, each over `database`.`table`."""
        for query in queries:
            named = athena.CfnNamedQuery(
                self,
                f"{query.name.title().replace('-', '')}Query",
                name=query.name,
                description=query.description,
                database=database,
                work_group=self.workgroup.ref,
                query_string=query.sql(database, table),
            )
            self.queries[query.name] = named


class AnalystAccess(Construct):
    """A managed policy to attach to the people and tools that query the lake through the workgroup:
    run and read queries in this workgroup only, read the catalog of the given databases, read the
    datasets, write results (and UNLOAD training data) where the workgroup puts them, and use the
    lake key only through S3. Athena makes the S3 and Glue calls with the caller's credentials."""

    def __init__(self, scope: Construct, id_: str, *, name: str, workgroup: QueryWorkgroup, lake: DataLakeStorage,
                 databases: Sequence[str], readable: Mapping[str, Sequence[str]],
                 writable: Mapping[str, Sequence[str]] | None = None) -> None:
        """`readable` / `writable`: zone -> key patterns (e.g. {"raw": ["sensor_readings/*"]}). Writable
        prefixes may also be emptied (Athena UNLOAD needs an empty target to run again)."""
        super().__init__(scope, id_)


        writable = writable or {}
        results = f"{RESULTS_PREFIX}*"
        read_objects = [lake.objects_arn(zone, key) for zone, keys in readable.items() for key in keys]
        unload_objects = [lake.objects_arn(zone, key) for zone, keys in writable.items() for key in keys]
        write_objects = [lake.objects_arn("results", results), *unload_objects]
        tables = [regional_arn("glue", f"table/{database}/*") for database in databases]
        self.policy = iam.ManagedPolicy(
            self, "Policy", managed_policy_name=name,
            description=f"Attach to analysts: queries in workgroup {workgroup.workgroup.name} over the lake",
            statements=[
                iam.PolicyStatement(sid="QueryInTheWorkgroup", actions=WORKGROUP_QUERY_ACTIONS,
                    resources=[regional_arn("athena", f"workgroup/{workgroup.workgroup.name}")]),
                iam.PolicyStatement(sid="ReadTheCatalog", actions=[
                    "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
                    "glue:GetPartitions", "glue:BatchGetPartition"],
                    resources=[regional_arn("glue", "catalog"), *(regional_arn("glue", f"database/{d}") for d in databases), *tables]),
                iam.PolicyStatement(sid="ListTheZones", actions=["s3:ListBucket", "s3:GetBucketLocation"],
                                    resources=[lake.bucket_arn(zone) for zone in
                                               dict.fromkeys([*readable, *writable, "results"])]),
                iam.PolicyStatement(sid="ReadTheDatasets", actions=["s3:GetObject"], resources=read_objects),
                iam.PolicyStatement(sid="WriteResults", actions=["s3:GetObject", "s3:PutObject",
                                                                  "s3:AbortMultipartUpload"],
                                    resources=write_objects),
                *([iam.PolicyStatement(sid="ReplaceUnloadedData", actions=["s3:DeleteObject"],
                                       resources=unload_objects)] if unload_objects else []),
                lake.key_through_s3("UseTheLakeKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"]),
            ],
        )
        acknowledge(
            self.policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]"
             for arn in dict.fromkeys([*tables, *read_objects, *write_objects])],
            "Queries read whatever files the tables they name hold and write result files Athena names "
            "at run time, so object access is per dataset and result prefix, and catalog access per "
            "database of this lake; nothing else in the account.",
        )
