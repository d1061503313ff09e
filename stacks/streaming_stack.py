"""The streaming stack: Kinesis Data Stream -> Firehose (transform, Parquet) -> the raw zone."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import Settings
from patterns.alerts import AlertsTopic
from patterns.data_lake import DataLakeStorage
from patterns.dataset_schema import load_schema
from patterns.dataset_table import DatasetTable
from patterns.keys import customer_managed_key
from patterns.streaming_ingestion import StreamingIngestion


class StreamingStack(Stack):
    """Owns the stream, its delivery, the raw zone's Glue table and the app's alerts topic."""

    def __init__(self, scope: Construct, id_: str, *, settings: Settings, lake: DataLakeStorage, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        prefix, destroy = settings.name_prefix, settings.destroy_data_on_removal
        self.schema = load_schema()
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
                                  email=settings.streaming.alarm_email, destroy_on_removal=destroy)
        self.table = DatasetTable(self, "RawTable", name_prefix=prefix, zone="raw", schema=self.schema, bucket=lake.raw,
                                  destroy_on_removal=destroy)
        self.ingestion = StreamingIngestion(
            self,
            "Streaming",
            name_prefix=prefix,
            settings=settings.streaming,
            schema=self.schema,
            table=self.table,
            lake=lake,
            zone="raw",
            key=self.key,
            alerts=self.alerts,
            destroy_on_removal=destroy,
        )
        outputs = {
            "StreamName": (self.ingestion.stream.stream_name, "Producers put records here (JSON or CSV)"),
            "StreamArn": (self.ingestion.stream.stream_arn, "Kinesis stream ARN"),
            "StreamKeyArn": (self.key.key_arn, "Producers need kms:GenerateDataKey on this key"),
            "ProducerPolicyArn": (self.ingestion.producer_policy.managed_policy_arn,
                                  "Attach to producer roles: PutRecords on the stream, the stream key through Kinesis"),
            "DeliveryStreamName": (self.ingestion.delivery_stream.ref, "Firehose delivery stream"),
            "RawDatabaseName": (self.table.database_name, "Glue database of the raw zone"),
            "RawTableName": (self.table.table_name, "Glue table of the streaming dataset (partition projection)"),
            "AlertsTopicArn": (self.alerts.topic.topic_arn, "Every alarm of the app notifies this topic"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
