"""StreamingIngestion: Kinesis Data Stream -> Firehose (Lambda transform, Parquet) -> a lake zone.

Firehose reads the stream, calls the transform Lambda in 1 MiB batches, converts the JSON it
returns to Parquet with the dataset's Glue table, and writes Hive-style day partitions. Records the
transform rejects, and records that fail conversion, land under `errors/<dataset>/<error type>/`;
every source record is also backed up untouched under `source-backup/<dataset>/`.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from config.settings import StreamingSettings
from patterns.alerts import AlertsTopic
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.dataset_schema import DatasetSchema
from patterns.dataset_table import DatasetTable
from patterns.keys import removal_policy
from patterns.log_groups import encrypted_log_group, log_stream_arn
from patterns.roles import depend_on_policy_only, service_role

DAY_PARTITIONS = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
# Records reach the transform in batches of at most this size. The handler's responses are never
# larger than its requests (see its tests), and 1 MiB keeps invocations short.
PROCESSOR_BUFFER_MIB = 1
PROCESSOR_BUFFER_SECONDS = 60
TRANSFORM_TIMEOUT = Duration.minutes(1)
TRANSFORM_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_SOURCE = Path(__file__).resolve().parent.parent / "lambda"
ASSET_EXCLUDES = ["tests", "__pycache__", "*.pyc", ".pytest_cache"]


def prefixes(dataset: str) -> dict[str, str]:
    """Where the delivery stream writes, inside the zone bucket."""
    return {
        "data": f"{dataset}/{DAY_PARTITIONS}",
        "errors": f"errors/{dataset}/!{{firehose:error-output-type}}/{DAY_PARTITIONS}",
        "backup": f"source-backup/{dataset}/{DAY_PARTITIONS}",
        "backup_errors": f"errors/{dataset}-source-backup/!{{firehose:error-output-type}}/{DAY_PARTITIONS}",
    }


class StreamingIngestion(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        settings: StreamingSettings,
        schema: DatasetSchema,
        table: DatasetTable,
        lake: DataLakeStorage,
        zone: str,
        key: kms.IKey,
        alerts: AlertsTopic,
        destroy_on_removal: bool,
    ) -> None:
        """Delivers to `zone` of `lake`. `key` encrypts the stream and the log groups (it must
        allow CloudWatch Logs)."""
        super().__init__(scope, id_)
        bucket, bucket_key = lake.zone(zone), lake.key
        self._lake, self._zone = lake, zone
        self._settings = settings
        self._destroy = destroy_on_removal
        self._removal = removal_policy(destroy_on_removal)
        name = f"{name_prefix}-{schema.dataset.replace('_', '-')}"
        self.prefixes = prefixes(schema.dataset)

        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_name=name,
            stream_mode=kinesis.StreamMode[settings.capacity_mode],
            shard_count=settings.shard_count,
            retention_period=Duration.hours(settings.retention_hours),
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=key,
            removal_policy=self._removal,
        )
        acknowledge(
            self.stream,
            ["AwsSolutions-KDS3"],
            "A customer-managed key is required here: its key policy, rotation and CloudTrail "
            "record are ours to control, and the same key encrypts the stream's logs and alerts. "
            "The rule only prefers aws/kinesis to save the $1/month key fee.",
        )
        self.producer_policy = iam.ManagedPolicy(
            self, "ProducerPolicy", managed_policy_name=f"{name}-producer",
            description=f"Attach to producers of {name}: put records into the stream, nothing else",
            statements=[
                iam.PolicyStatement(sid="PutRecords", actions=["kinesis:PutRecord", "kinesis:PutRecords",
                                                               "kinesis:DescribeStreamSummary", "kinesis:ListShards"],
                                    resources=[self.stream.stream_arn]),
                # Kinesis encrypts each record with the stream key on the producer's behalf.
                iam.PolicyStatement(sid="EncryptThroughKinesis", actions=["kms:GenerateDataKey"],
                                    resources=[key.key_arn],
                                    conditions={"StringEquals": {"kms:ViaService": f"kinesis.{Aws.REGION}.amazonaws.com"}}),
            ],
        )
        self.transform = self._transform_function(name, key)
        self.delivery_log_group_name = f"/aws/kinesisfirehose/{name}"
        self.delivery_log_group = self._log_group("DeliveryLogs", self.delivery_log_group_name, key)
        delivery_log_streams = {
            purpose: logs.LogStream(self, f"{purpose}LogStream", log_group=self.delivery_log_group,
                                    log_stream_name=purpose, removal_policy=self._removal)
            for purpose in ("DestinationDelivery", "BackupDelivery")
        }
        role, policy = self._delivery_role(name, key, bucket, table, delivery_log_streams)
        self.delivery_stream = self._delivery_stream(name, role, bucket, bucket_key, table, delivery_log_streams)
        # Firehose checks its access when the stream is created: the policy must be attached first.
        self.delivery_stream.node.add_dependency(policy)
        self._alarms(name, alerts)

    # ------------------------------------------------------------------ transform

    def _log_group(self, id_: str, name: str, key: kms.IKey) -> logs.LogGroup:
        return encrypted_log_group(self, id_, name=name, key=key, retention_days=self._settings.log_retention_days,
                                   destroy_on_removal=self._destroy)

    def _transform_function(self, name: str, key: kms.IKey) -> lambda_.Function:
        function_name = f"{name}-transform"
        log_group_name = f"/aws/lambda/{function_name}"
        log_group = self._log_group("TransformLogs", log_group_name, key)
        log_streams = log_stream_arn(log_group_name)
        role, policy = service_role(
            self,
            "Transform",
            service="lambda.amazonaws.com",
            description=f"{function_name}: its own log streams and X-Ray traces, nothing else",
            statements=[
                iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_streams]),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
            ],
        )
        function = lambda_.Function(
            self,
            "Transform",
            function_name=function_name,
            description="Validates and normalizes stream records for Firehose (schema.json)",
            runtime=TRANSFORM_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(LAMBDA_SOURCE / "event_transform"), exclude=ASSET_EXCLUDES),
            memory_size=self._settings.transform_memory_mib,
            timeout=TRANSFORM_TIMEOUT,
            reserved_concurrent_executions=self._settings.transform_reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            # Immutable: the X-Ray grant lives in the managed policy above, not in an inline policy.
            role=role.without_policy_updates(),
            log_group=log_group,
        )
        depend_on_policy_only(function, policy)
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, log_streams)}]", "AwsSolutions-IAM5[Resource::*]"],
            "Lambda names its log streams at run time, so the grant covers the streams of this "
            "function's own log group only; X-Ray PutTraceSegments and PutTelemetryRecords support "
            "no resource-level permissions.",
        )
        acknowledge(
            function,
            ["HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC", "PCI.DSS.321-LambdaInsideVPC"],
            "Firehose invokes this function synchronously with the records in the request; it calls "
            "no other service and reads no VPC resource, so a VPC attachment would add ENIs and no "
            "network control.",
            checkov=["CKV_AWS_117"],
        )
        acknowledge(
            function,
            ["HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ", "Serverless-LambdaDLQ"],
            "Only invoked synchronously by Firehose, which retries failed invocations and then "
            "writes the batch under errors/.../processing-failed/; an async dead-letter queue "
            "would never receive an event.",
            checkov=["CKV_AWS_116"],
        )
        return function

    # ------------------------------------------------------------------ delivery

    def _delivery_role(self, name, key, bucket, table, log_streams) -> tuple[iam.Role, iam.ManagedPolicy]:
        object_arns = [self._lake.objects_arn(self._zone, f"{top}/*") for top in self._top_level_prefixes()]
        statements = [
            iam.PolicyStatement(
                sid="ReadTheSourceStream",
                actions=["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator",
                         "kinesis:GetRecords", "kinesis:ListShards"],
                resources=[self.stream.stream_arn],
            ),
            iam.PolicyStatement(
                sid="DecryptTheSourceStream",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"kinesis.{Aws.REGION}.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="InvokeTheTransform",
                actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                resources=[self.transform.function_arn],
            ),
            iam.PolicyStatement(
                sid="ReadTheConversionSchema",
                actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                resources=table.arns(),
            ),
            iam.PolicyStatement(
                sid="ListTheZoneBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="WriteOnlyTheStreamPrefixes",
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=object_arns,
            ),
            self._lake.key_through_s3("EncryptWithTheZoneKey", ["kms:GenerateDataKey", "kms:Decrypt"]),
            iam.PolicyStatement(
                sid="WriteDeliveryLogs",
                actions=["logs:PutLogEvents"],
                resources=[log_stream_arn(self.delivery_log_group_name, purpose) for purpose in log_streams],
            ),
        ]
        role, policy = service_role(
            self,
            "Delivery",
            service="firehose.amazonaws.com",
            description=f"{name}: read the stream, transform, convert, write the zone bucket",
            statements=statements,
            trust_conditions={"StringEquals": {"sts:ExternalId": Aws.ACCOUNT_ID}},
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]" for arn in object_arns],
            "Firehose names objects itself (timestamped keys under the day partitions), so object "
            "access is granted per prefix the stream owns: its dataset, its errors and its source "
            "backup, and nothing else in the bucket.",
        )
        return role, policy

    def _top_level_prefixes(self) -> list[str]:
        return sorted({p.split("/!{", 1)[0].split("/year=", 1)[0] for p in self.prefixes.values()})

    def _delivery_stream(self, name, role, bucket, bucket_key, table, log_streams) -> firehose.CfnDeliveryStream:
        cfn = firehose.CfnDeliveryStream
        settings = self._settings

        def logging(purpose: str) -> cfn.CloudWatchLoggingOptionsProperty:
            return cfn.CloudWatchLoggingOptionsProperty(
                enabled=True,
                log_group_name=self.delivery_log_group.log_group_name,
                log_stream_name=log_streams[purpose].log_stream_name,
            )

        buffering = cfn.BufferingHintsProperty(
            size_in_m_bs=settings.buffer_size_mib, interval_in_seconds=settings.buffer_interval_seconds
        )
        encryption = cfn.EncryptionConfigurationProperty(
            kms_encryption_config=cfn.KMSEncryptionConfigProperty(awskms_key_arn=bucket_key.key_arn)
        )
        delivery_stream = cfn(
            self,
            "DeliveryStream",
            delivery_stream_name=name,
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=cfn.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=self.stream.stream_arn, role_arn=role.role_arn
            ),
            extended_s3_destination_configuration=cfn.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=self.prefixes["data"],
                error_output_prefix=self.prefixes["errors"],
                buffering_hints=buffering,
                # Parquet compresses inside the file (SNAPPY); Firehose compression must be off.
                compression_format="UNCOMPRESSED",
                encryption_configuration=encryption,
                cloud_watch_logging_options=logging("DestinationDelivery"),
                processing_configuration=cfn.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        cfn.ProcessorProperty(
                            type="Lambda",
                            parameters=[
                                cfn.ProcessorParameterProperty(parameter_name=k, parameter_value=v)
                                for k, v in (
                                    ("LambdaArn", self.transform.function_arn),
                                    ("BufferSizeInMBs", str(PROCESSOR_BUFFER_MIB)),
                                    ("BufferIntervalInSeconds", str(PROCESSOR_BUFFER_SECONDS)),
                                    ("NumberOfRetries", "3"),
                                )
                            ],
                        )
                    ],
                ),
                data_format_conversion_configuration=cfn.DataFormatConversionConfigurationProperty(
                    enabled=True,
                    input_format_configuration=cfn.InputFormatConfigurationProperty(
                        # The transform emits event_time as epoch milliseconds.
                        deserializer=cfn.DeserializerProperty(
                            hive_json_ser_de=cfn.HiveJsonSerDeProperty(timestamp_formats=["millis"])
                        )
                    ),
                    output_format_configuration=cfn.OutputFormatConfigurationProperty(
                        serializer=cfn.SerializerProperty(
                            parquet_ser_de=cfn.ParquetSerDeProperty(compression="SNAPPY")
                        )
                    ),
                    schema_configuration=cfn.SchemaConfigurationProperty(
                        catalog_id=Aws.ACCOUNT_ID,
                        database_name=table.database_name,
                        table_name=table.table_name,
                        region=Aws.REGION,
                        role_arn=role.role_arn,
                        version_id="LATEST",
                    ),
                ),
                s3_backup_mode="Enabled",
                s3_backup_configuration=cfn.S3DestinationConfigurationProperty(
                    bucket_arn=bucket.bucket_arn,
                    role_arn=role.role_arn,
                    prefix=self.prefixes["backup"],
                    error_output_prefix=self.prefixes["backup_errors"],
                    buffering_hints=buffering,
                    compression_format="GZIP",
                    encryption_configuration=encryption,
                    cloud_watch_logging_options=logging("BackupDelivery"),
                ),
            ),
        )
        delivery_stream.node.add_dependency(table.table)
        acknowledge(
            delivery_stream,
            ["AwsSolutions-KDF1"],
            "With a Kinesis stream as source, Firehose server-side encryption cannot be enabled: the "
            "data is encrypted at rest by the stream's KMS key and, at the destination, by the zone "
            "bucket's KMS key (EncryptionConfiguration).",
        )
        return delivery_stream

    # ------------------------------------------------------------------ alarms

    def _alarms(self, name: str, alerts: AlertsTopic) -> None:
        settings = self._settings
        five_minutes = Duration.minutes(5)

        def firehose_metric(metric_name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Firehose",
                metric_name=metric_name,
                dimensions_map={"DeliveryStreamName": name},
                statistic=statistic,
                period=five_minutes,
            )

        definitions = {
            "IteratorAge": (
                self.stream.metric_get_records_iterator_age_milliseconds(statistic="Maximum", period=five_minutes),
                settings.iterator_age_alarm_seconds * 1000,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: the oldest unread record is older than {settings.iterator_age_alarm_seconds} s; "
                "Firehose is falling behind and records expire after the stream retention",
            ),
            "DeliveryFreshness": (
                firehose_metric("DeliveryToS3.DataFreshness", "Maximum"),
                settings.data_freshness_alarm_seconds,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: data older than {settings.data_freshness_alarm_seconds} s is not yet in S3",
            ),
            "DeliveryFailures": (
                firehose_metric("DeliveryToS3.Success", "Minimum"),
                1,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                f"{name}: some deliveries to S3 failed (see the DestinationDelivery log stream)",
            ),
            "ConversionFailures": (
                firehose_metric("FailedConversion.Records", "Sum"),
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: records failed Parquet conversion and went to errors/",
            ),
            "TransformErrors": (
                self.transform.metric_errors(statistic="Sum", period=five_minutes),
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: the transform Lambda failed invocations (Firehose retries, then errors/)",
            ),
            "TransformRejections": (
                firehose_metric("ExecuteProcessing.Success", "Minimum"),
                1,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                f"{name}: transform invocations did not all succeed",
            ),
        }
        self.alarms = {
            alarm_id: alerts.notify(
                cloudwatch.Alarm(
                    self,
                    f"{alarm_id}Alarm",
                    alarm_name=f"{name}-{alarm_id}",
                    alarm_description=description,
                    metric=metric,
                    threshold=threshold,
                    comparison_operator=operator,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
            for alarm_id, (metric, threshold, operator, description) in definitions.items()
        }

