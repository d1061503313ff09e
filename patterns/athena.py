"""QueryWorkgroup: an Athena workgroup that enforces encrypted, cost-capped queries, plus saved queries."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_athena as athena
from constructs import Construct

from patterns.data_lake import DataLakeStorage
from patterns.saved_queries import SavedQuery

RESULTS_PREFIX = "athena/"
BYTES_PER_MB = 1_000_000


class QueryWorkgroup(Construct):
    """Results go to the lake's results zone (which expires them), SSE-KMS with the lake key; the
    workgroup's settings override the client's, every query is capped in bytes scanned, and
    CloudWatch metrics are on."""

    def __init__(self, scope: Construct, id_: str, *, name: str, lake: DataLakeStorage, bytes_scanned_cutoff_mb: int,
                 database: str, table: str, queries: Sequence[SavedQuery], destroy_on_removal: bool) -> None:
        super().__init__(scope, id_)
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
        self.queries = {}
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
