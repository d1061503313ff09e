"""The audit stack: the CloudTrail trail, its bucket and key, the Athena table over it, saved queries
and the auditor policy.

It has its own Glue database and Athena workgroup (not the Catalog stack's): who did what in the
account is for auditors, not for the lake's analysts, so neither policy reaches the other's data,
and the stack deploys and tears down without the Catalog stack. Query results go to the lake's
results zone (which expires them) under `audit/`: the trail's bucket may be under Object Lock, which
would lock every result file too.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import Settings
from patterns.audit_trail import (
    DENIED_CALLS,
    POLICY_CHANGES,
    AuditQueries,
    AuditTrail,
    ObjectLock,
    TrailTable,
    reads_of,
)
from patterns.data_lake import DataLakeStorage, bucket_name
from patterns.dataset_table import glue_name

AUDIT_BUCKET_PURPOSE = "audit"  # <prefix>-audit-<account>-<region>: the trail's log files
AUDIT_ACCESS_LOGS_PURPOSE = "audit-logs"  # server access logs of that bucket (who read the trail)
RESULTS_PREFIX = "audit/"  # in the lake's results zone
# Which lake zones the trail records S3 object events for: the data ML trains on and serves from.
DATA_EVENT_ZONES = ("raw", "curated")


class AuditStack(Stack):
    """Consumes the lake (its bucket names for data events, its results zone for query results)."""

    def __init__(self, scope: Construct, id_: str, *, settings: Settings, lake: DataLakeStorage,
                 training_data_prefix: str, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        prefix, destroy, audit = settings.name_prefix, settings.destroy_data_on_removal, settings.audit
        lock = ObjectLock(mode=audit.object_lock_mode, days=audit.object_lock_days) if audit.object_lock_mode else None
        self.trail = AuditTrail(
            self, "Trail", name=f"{prefix}-audit", bucket_name=bucket_name(prefix, AUDIT_BUCKET_PURPOSE),
            access_log_bucket_name=bucket_name(prefix, AUDIT_ACCESS_LOGS_PURPOSE), key_alias=f"alias/{prefix}-audit",
            multi_region=audit.multi_region, data_events=audit.s3_data_events,
            data_event_buckets=[lake.bucket_arn(zone) for zone in DATA_EVENT_ZONES],
            expire_after_days=audit.expire_after_days, archive_after_days=audit.archive_after_days,
            object_lock=lock,
            cloudwatch_logs_retention_days=audit.log_retention_days if audit.cloudwatch_logs else None,
            destroy_on_removal=destroy,
        )
        self.table = TrailTable(self, "Table", trail=self.trail, database_name=glue_name(prefix, "audit"),
                                destroy_on_removal=destroy)
        training_reads = reads_of(
            name="who-read-training-data", description="Who read the training data (S3 GetObject), last 30 days",
            bucket_name_stem=f"{prefix}-curated-", key_prefix=training_data_prefix)
        self.queries = AuditQueries(
            self, "Queries", name=f"{prefix}-audit", trail=self.trail, table=self.table,
            results_bucket_name=lake.bucket_names["results"], results_key=lake.key, results_prefix=RESULTS_PREFIX,
            queries=[training_reads, DENIED_CALLS, POLICY_CHANGES],
            bytes_scanned_cutoff_mb=audit.athena_bytes_scanned_cutoff_mb, destroy_on_removal=destroy,
        )
        outputs = {
            "TrailArn": (self.trail.arn, "The audit trail"),
            "AuditBucketName": (self.trail.bucket.bucket_name, "Trail log files: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/"),
            "AuditKeyArn": (self.trail.key.key_arn, "KMS key of the trail's log files"),
            "AuditDatabaseName": (self.table.database_name, "Glue database of the trail table"),
            "AuditWorkGroupName": (self.queries.workgroup.ref, "Athena workgroup of the saved audit queries"),
            "AuditorPolicyArn": (self.queries.policy.managed_policy_arn,
                                 "Attach to auditors: queries in the audit workgroup over the trail"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
