"""The streaming stack: Kinesis Data Stream -> Firehose (transform, Parquet) -> the raw zone."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import Settings
from patterns.alerts import AlertsTopic
from patterns.data_lake import DataLakeStorage
from patterns.dataset_schema import load_schema
from patterns.dataset_table import DatasetTable
from patterns.keys import customer_managed_key
from patterns.kinesis_stream import EncryptedStream
from patterns.parquet_delivery import ParquetDelivery
from patterns.record_transform import RecordTransform
from patterns.streaming_alarms import StreamingAlarms
from stacks.sensor_dataset import SCHEMA_FILE

# The handler validates records against the schema.json beside it (patterns.dataset_schema reads the same file).
TRANSFORM_SOURCE = Path(__file__).resolve().parent.parent / "lambda" / "event_transform"
# The ids of the streaming patterns under the stack's "Streaming" scope (see _allocate_logical_id).
PATTERN_IDS = ("Stream", "Transform", "Delivery", "Alarms")


class StreamingStack(Stack):
    """Owns the stream, its delivery, the raw zone's Glue table and the app's alerts topic."""

    # The streaming patterns used to build their resources straight into "Streaming". Those
    # resources have names (stream, function, roles, log groups, alarms), and CloudFormation cannot
    # replace a named resource in place, so a new logical id would fail the update of a deployed
    # stack. Here only, the pattern's own id is left out of the logical id, which is otherwise
    # CDK's (aws-cdk-lib core/lib/private/uniqueid.ts). Apps that use the patterns need none of this.
    def _allocate_logical_id(self, cfn_element):
        ids = cfn_element.node.path.split("/")[len(self.node.path.split("/")):]
        if len(ids) < 3 or ids[0] != "Streaming" or ids[1] not in PATTERN_IDS:
            return super()._allocate_logical_id(cfn_element)
        ids = [c for c in [ids[0], *ids[2:]] if c != "Default"]
        human = []
        for c in ids:
            if not human or not human[-1].endswith(c):
                human.append(c)
        digest = hashlib.md5("/".join(ids).encode()).hexdigest()[:8].upper()
        return "".join(re.sub(r"[^A-Za-z0-9]", "", c) for c in human if c != "Resource")[:240] + digest

    def __init__(self, scope: Construct, id_: str, *, settings: Settings, lake: DataLakeStorage, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        prefix, destroy, streaming = settings.name_prefix, settings.destroy_data_on_removal, settings.streaming
        self.schema = load_schema(SCHEMA_FILE)
        self.key = customer_managed_key(
            self,
            "Key",
            alias=f"alias/{prefix}-streaming",
            description=f"{prefix}: encrypts the stream, its log groups and the alerts topic",
            destroy_on_removal=destroy,
            for_log_groups=True,
            for_alarm_topics=True,
        )
        self.alerts = AlertsTopic(self, "Alerts", name=f"{prefix}-alerts", key=self.key,
                                  email=streaming.alarm_email, destroy_on_removal=destroy)
        self.table = DatasetTable(self, "RawTable", name_prefix=prefix, zone="raw", schema=self.schema, bucket=lake.raw,
                                  destroy_on_removal=destroy)
        ingestion = Construct(self, "Streaming")
        name = f"{prefix}-{self.schema.dataset.replace('_', '-')}"
        self.stream = EncryptedStream(
            ingestion, "Stream", name=name, key=self.key, capacity_mode=streaming.capacity_mode,
            shard_count=streaming.shard_count, retention_hours=streaming.retention_hours, destroy_on_removal=destroy,
        )
        self.transform = RecordTransform(
            ingestion, "Transform", function_name=f"{name}-transform", code_directory=TRANSFORM_SOURCE,
            key=self.key, description="Validates and normalizes stream records for Firehose (schema.json)",
            memory_mib=streaming.transform_memory_mib, reserved_concurrency=streaming.transform_reserved_concurrency,
            log_retention_days=settings.log_retention_days, destroy_on_removal=destroy,
        )
        self.delivery = ParquetDelivery(
            ingestion, "Delivery", name=name, stream=self.stream.stream, key=self.key,
            transform=self.transform.function, table=self.table, lake=lake, zone="raw",
            buffer_size_mib=streaming.buffer_size_mib, buffer_interval_seconds=streaming.buffer_interval_seconds,
            log_retention_days=settings.log_retention_days, destroy_on_removal=destroy,
        )
        self.alarms = StreamingAlarms(
            ingestion, "Alarms", name=name, stream=self.stream.stream, transform=self.transform.function,
            delivery_stream_name=self.delivery.delivery_stream_name, alerts=self.alerts,
            iterator_age_alarm_seconds=streaming.iterator_age_alarm_seconds,
            data_freshness_alarm_seconds=streaming.data_freshness_alarm_seconds,
        )
        outputs = {
            "StreamName": (self.stream.stream.stream_name, "Producers put records here (JSON or CSV)"),
            "StreamArn": (self.stream.stream.stream_arn, "Kinesis stream ARN"),
            "StreamKeyArn": (self.key.key_arn, "Producers need kms:GenerateDataKey on this key"),
            "ProducerPolicyArn": (self.stream.producer_policy.managed_policy_arn,
                                  "Attach to producer roles: PutRecords on the stream, the stream key through Kinesis"),
            "DeliveryStreamName": (self.delivery.delivery_stream.ref, "Firehose delivery stream"),
            "RawDatabaseName": (self.table.database_name, "Glue database of the raw zone"),
            "RawTableName": (self.table.table_name, "Glue table of the streaming dataset (partition projection)"),
            "AlertsTopicArn": (self.alerts.topic.topic_arn, "Every alarm of the app notifies this topic"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
