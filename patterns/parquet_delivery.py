"""ParquetDelivery: a Firehose delivery stream from a Kinesis stream to a lake zone, through a
transform Lambda, converted to Parquet with a Glue table.

Firehose reads the stream, calls the transform in 1 MiB batches, converts the JSON it returns to
Parquet (SNAPPY) with the table's schema, and writes Hive-style day partitions under
`<dataset>/`. Records the transform rejects, and records that fail conversion, land under
`errors/<dataset>/<error type>/`; every source record is also backed up untouched (GZIP) under
`source-backup/<dataset>/`. Its role may write those prefixes of the zone bucket and nothing else.

Usage, in any stack (a DataLakeStorage with a "raw" zone, a DatasetTable over it)::

    stream = EncryptedStream(stack, "Clicks", name="acme-clicks", key=key)
    transform = RecordTransform(stack, "ClicksTransform", function_name="acme-clicks-transform", key=key,
                                code_directory="lambda/t")
    delivery = ParquetDelivery(stack, "ClicksDelivery", name="acme-clicks", stream=stream.stream, key=key,
                               transform=transform.function, table=raw_table, lake=lake, zone="raw")
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.dataset_table import DatasetTable
from patterns.keys import removal_policy
from patterns.log_groups import encrypted_log_group, log_stream_arn
from patterns.roles import service_role

DAY_PARTITIONS = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
# Records reach the transform in batches of at most this size. The handler's responses are never
# larger than its requests (see its tests), and 1 MiB keeps invocations short.
PROCESSOR_BUFFER_MIB = 1
PROCESSOR_BUFFER_SECONDS = 60
# Parquet conversion needs a buffer of at least 64 MiB; 128 MiB is Firehose's maximum.
BUFFER_SIZE_MIB = (64, 128)
BUFFER_INTERVAL_SECONDS = (60, 900)
LOG_STREAMS = ("DestinationDelivery", "BackupDelivery")


def prefixes(dataset: str) -> dict[str, str]:
    """Where the delivery stream writes, inside the zone bucket."""
    return {
        "data": f"{dataset}/{DAY_PARTITIONS}",
        "errors": f"errors/{dataset}/!{{firehose:error-output-type}}/{DAY_PARTITIONS}",
        "backup": f"source-backup/{dataset}/{DAY_PARTITIONS}",
        "backup_errors": f"errors/{dataset}-source-backup/!{{firehose:error-output-type}}/{DAY_PARTITIONS}",
    }


def _top_level_prefixes(dataset: str) -> list[str]:
    """The key prefixes the delivery stream owns, without their partition and error-type parts."""
    return sorted({p.split("/!{", 1)[0].split("/year=", 1)[0] for p in prefixes(dataset).values()})


class ParquetDelivery(Construct):
    """Delivery stream `name` from `stream` (encrypted with `key`) to zone `zone` of `lake`, for
    the dataset of `table`, buffered up to `buffer_size_mib` or `buffer_interval_seconds`. `key` also
    encrypts the delivery log group `/aws/kinesisfirehose/<name>` (it must allow CloudWatch Logs),
    kept `log_retention_days`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        stream: kinesis.IStream,
        key: kms.IKey,
        transform: lambda_.IFunction,
        table: DatasetTable,
        lake: DataLakeStorage,
        zone: str,
        buffer_size_mib: int = 128,
        buffer_interval_seconds: int = 300,
        log_retention_days: int = 365,
        destroy_on_removal: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        for prop, value, (low, high) in (("buffer_size_mib", buffer_size_mib, BUFFER_SIZE_MIB),
                                         ("buffer_interval_seconds", buffer_interval_seconds, BUFFER_INTERVAL_SECONDS)):
            if not low <= value <= high:
                raise ValueError(f"{prop}={value!r}: allowed {low} to {high} (Parquet conversion needs a buffer "
                                 "of at least 64 MiB)")
        bucket = lake.zone(zone)
        self.delivery_stream_name = name
        self.prefixes = prefixes(table.schema.dataset)
        self.log_group_name = f"/aws/kinesisfirehose/{name}"
        self.log_group = encrypted_log_group(self, "DeliveryLogs", name=self.log_group_name, key=key,
                                             retention_days=log_retention_days, destroy_on_removal=destroy_on_removal)
        log_streams = {
            purpose: logs.LogStream(self, f"{purpose}LogStream", log_group=self.log_group,
                                    log_stream_name=purpose, removal_policy=removal_policy(destroy_on_removal))
            for purpose in LOG_STREAMS
        }
        object_arns = [lake.objects_arn(zone, f"{top}/*") for top in _top_level_prefixes(table.schema.dataset)]
        self.role, policy = service_role(
            self,
            "Delivery",
            service="firehose.amazonaws.com",
            description=f"{name}: read the stream, transform, convert, write the zone bucket",
            statements=[
                iam.PolicyStatement(
                    sid="ReadTheSourceStream",
                    actions=["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator",
                             "kinesis:GetRecords", "kinesis:ListShards"],
                    resources=[stream.stream_arn],
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
                    resources=[transform.function_arn],
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
                lake.key_through_s3("EncryptWithTheZoneKey", ["kms:GenerateDataKey", "kms:Decrypt"]),
                iam.PolicyStatement(
                    sid="WriteDeliveryLogs",
                    actions=["logs:PutLogEvents"],
                    resources=[log_stream_arn(self.log_group_name, purpose) for purpose in log_streams],
                ),
            ],
            trust_conditions={"StringEquals": {"sts:ExternalId": Aws.ACCOUNT_ID}},
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]" for arn in object_arns],
            "Firehose names objects itself (timestamped keys under the day partitions), so object "
            "access is granted per prefix the stream owns: its dataset, its errors and its source "
            "backup, and nothing else in the bucket.",
        )
        self.delivery_stream = self._delivery_stream(
            name, stream, transform, table, lake, bucket.bucket_arn,
            firehose.CfnDeliveryStream.BufferingHintsProperty(size_in_m_bs=buffer_size_mib,
                                                              interval_in_seconds=buffer_interval_seconds),
            {purpose: log_stream.log_stream_name for purpose, log_stream in log_streams.items()},
        )
        # Firehose checks its access when the stream is created: the policy must be attached first.
        self.delivery_stream.node.add_dependency(policy)

    def _delivery_stream(self, name, stream, transform, table, lake, bucket_arn, buffering,
                         log_stream_names) -> firehose.CfnDeliveryStream:
        cfn = firehose.CfnDeliveryStream

        def logging(purpose: str) -> cfn.CloudWatchLoggingOptionsProperty:
            return cfn.CloudWatchLoggingOptionsProperty(
                enabled=True, log_group_name=self.log_group.log_group_name, log_stream_name=log_stream_names[purpose])

        encryption = cfn.EncryptionConfigurationProperty(
            kms_encryption_config=cfn.KMSEncryptionConfigProperty(awskms_key_arn=lake.key.key_arn)
        )
        delivery_stream = cfn(
            self,
            "DeliveryStream",
            delivery_stream_name=name,
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=cfn.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=stream.stream_arn, role_arn=self.role.role_arn
            ),
            extended_s3_destination_configuration=cfn.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket_arn,
                role_arn=self.role.role_arn,
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
                                    ("LambdaArn", transform.function_arn),
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
                        role_arn=self.role.role_arn,
                        version_id="LATEST",
                    ),
                ),
                s3_backup_mode="Enabled",
                s3_backup_configuration=cfn.S3DestinationConfigurationProperty(
                    bucket_arn=bucket_arn,
                    role_arn=self.role.role_arn,
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
