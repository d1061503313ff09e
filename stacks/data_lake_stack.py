"""The data lake stack: the lake key, the zone buckets and the access-log bucket."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import Settings, ZoneLifecycle
from patterns.data_lake import DataLakeStorage, ZoneTiering


def zone_tiering(lifecycle: ZoneLifecycle) -> ZoneTiering:
    return ZoneTiering(
        infrequent_access_after_days=lifecycle.infrequent_access_after_days,
        archive_after_days=lifecycle.archive_after_days,
        archive_storage_class=lifecycle.archive_storage_class,
        expire_after_days=lifecycle.expire_after_days,
        noncurrent_versions_expire_after_days=lifecycle.noncurrent_versions_expire_after_days,
    )


class DataLakeStack(Stack):
    """Owns the lake; later stacks consume `self.lake` (typed key and buckets), never names."""

    def __init__(self, scope: Construct, id_: str, *, settings: Settings, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        lake_settings = settings.data_lake
        self.lake = DataLakeStorage(
            self,
            "Lake",
            name_prefix=settings.name_prefix,
            zones={zone: zone_tiering(lifecycle) for zone, lifecycle in lake_settings.zones.items()},
            abort_incomplete_multipart_upload_after_days=lake_settings.abort_incomplete_multipart_upload_after_days,
            access_logs_expire_after_days=lake_settings.access_logs_expire_after_days,
            destroy_on_removal=settings.destroy_data_on_removal,
            log_retention_days=settings.log_retention_days,
        )
        CfnOutput(self, "LakeKeyArn", value=self.lake.key.key_arn, description="KMS key of every lake zone")
        for zone, bucket in self.lake.buckets.items():
            CfnOutput(
                self,
                f"{zone.capitalize()}BucketName",
                value=bucket.bucket_name,
                description=f"{zone} zone: <dataset>/year=YYYY/month=MM/day=DD/",
            )
        CfnOutput(self, "AccessLogBucketName", value=self.lake.access_log_bucket.bucket_name)
