"""The streaming stack, property by property, for both profiles and the overridden settings."""

from __future__ import annotations

import re

import json


from patterns.dataset_schema import load_schema
from patterns.streaming_ingestion import PROCESSOR_BUFFER_MIB, prefixes

STACK = "Streaming"
SCHEMA = load_schema()
ALARMS = {"IteratorAge", "DeliveryFreshness", "DeliveryFailures", "ConversionFailures", "TransformErrors",
          "TransformRejections"}


def only(synth, type_: str) -> tuple[str, dict]:
    return synth.only(STACK, type_)


def streaming_key_id(synth) -> str:
    return only(synth, "AWS::KMS::Key")[0]


def delivery(synth) -> dict:
    return only(synth, "AWS::KinesisFirehose::DeliveryStream")[1]["Properties"]


def destination(synth) -> dict:
    return delivery(synth)["ExtendedS3DestinationConfiguration"]


def settings(synth):
    return synth.built.settings.streaming


def lake_output(value: dict) -> str:
    """The output name of a weak cross-stack reference to the data lake stack."""
    return value["Fn::GetStackOutput"]["OutputName"]



# ---------------------------------------------------------------- stream


def test_stream_is_encrypted_with_the_streaming_cmk(synth):
    _, stream = only(synth, "AWS::Kinesis::Stream")
    assert stream["Properties"]["StreamEncryption"] == {
        "EncryptionType": "KMS", "KeyId": {"Fn::GetAtt": [streaming_key_id(synth), "Arn"]}}
    assert stream["Properties"]["RetentionPeriodHours"] == settings(synth).retention_hours


def test_sandbox_uses_one_provisioned_shard_and_prod_on_demand(sandbox, prod, custom):
    def mode(synth):
        props = only(synth, "AWS::Kinesis::Stream")[1]["Properties"]
        return props["StreamModeDetails"]["StreamMode"], props.get("ShardCount")

    assert mode(sandbox) == ("PROVISIONED", 1)
    assert mode(prod) == ("ON_DEMAND", None)
    assert mode(custom) == ("PROVISIONED", 3)
    assert only(prod, "AWS::Kinesis::Stream")[1]["Properties"]["RetentionPeriodHours"] == 168


def test_streaming_key_rotates_and_lets_logs_and_alarms_use_it(synth):
    _, key = only(synth, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    logs_statement = statements["AllowCloudWatchLogsOfThisAccount"]
    assert logs_statement["Principal"] == {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"},
                                                                         ".amazonaws.com"]]}}
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statement["Condition"]["ArnLike"]
    alarms_statement = statements["AllowAlarmsAndNotificationsOfThisAccount"]
    assert alarms_statement["Principal"] == {"Service": ["cloudwatch.amazonaws.com", "sns.amazonaws.com"]}
    assert alarms_statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


# ---------------------------------------------------------------- delivery stream


def test_delivery_reads_the_stream_and_writes_the_raw_zone(synth):
    props = delivery(synth)
    stream_id, _ = only(synth, "AWS::Kinesis::Stream")
    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert props["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert lake_output(destination(synth)["BucketARN"]).startswith("PublishOutputFnGetAttLakeRaw")


def test_hive_partitions_and_error_prefix_split_by_error_type(synth):
    dest = destination(synth)
    assert dest["Prefix"] == "sensor_readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    assert dest["ErrorOutputPrefix"] == (
        "errors/sensor_readings/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
        "day=!{timestamp:dd}/")


def test_buffering_follows_the_settings_and_parquet_is_not_double_compressed(synth):
    dest = destination(synth)
    assert dest["BufferingHints"] == {"SizeInMBs": settings(synth).buffer_size_mib,
                                      "IntervalInSeconds": settings(synth).buffer_interval_seconds}
    assert dest["BufferingHints"]["SizeInMBs"] >= 64
    assert dest["CompressionFormat"] == "UNCOMPRESSED"


def test_destination_is_encrypted_with_the_lake_key(synth):
    key = destination(synth)["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]
    assert lake_output(key).startswith("PublishOutputFnGetAttLakeKey")


def test_records_pass_through_the_transform_in_1_mib_batches(synth):
    transform_id, _ = only(synth, "AWS::Lambda::Function")
    (processor,) = destination(synth)["ProcessingConfiguration"]["Processors"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert processor["Type"] == "Lambda"
    assert parameters == {"LambdaArn": {"Fn::GetAtt": [transform_id, "Arn"]},
                          "BufferSizeInMBs": str(PROCESSOR_BUFFER_MIB), "BufferIntervalInSeconds": "60",
                          "NumberOfRetries": "3"}


def test_json_is_converted_to_parquet_with_the_glue_table(synth):
    conversion = destination(synth)["DataFormatConversionConfiguration"]
    assert conversion["Enabled"] is True
    assert conversion["InputFormatConfiguration"] == {"Deserializer": {"HiveJsonSerDe": {"TimestampFormats": ["millis"]}}}
    assert conversion["OutputFormatConfiguration"] == {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}}
    schema_config = conversion["SchemaConfiguration"]
    assert (schema_config["DatabaseName"], schema_config["TableName"], schema_config["VersionId"]) == (
        f"{synth.built.settings.name_prefix.replace('-', '_')}_raw", "sensor_readings", "LATEST")


def test_source_records_are_backed_up_compressed_and_encrypted(synth):
    dest = destination(synth)
    backup = dest["S3BackupConfiguration"]
    assert dest["S3BackupMode"] == "Enabled"
    assert backup["Prefix"] == prefixes("sensor_readings")["backup"]
    assert backup["ErrorOutputPrefix"].startswith("errors/sensor_readings-source-backup/!{firehose:error-output-type}/")
    assert backup["CompressionFormat"] == "GZIP"
    assert lake_output(backup["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]).startswith(
        "PublishOutputFnGetAttLakeKey")


def test_delivery_errors_are_logged_to_a_bounded_encrypted_log_group(synth):
    dest = destination(synth)
    log_groups = synth.resources(STACK, "AWS::Logs::LogGroup")
    delivery_group = [k for k, v in log_groups.items()
                      if v["Properties"]["LogGroupName"].startswith("/aws/kinesisfirehose/")]
    assert len(delivery_group) == 1
    for options in (dest["CloudWatchLoggingOptions"], dest["S3BackupConfiguration"]["CloudWatchLoggingOptions"]):
        assert options["Enabled"] is True and options["LogGroupName"] == {"Ref": delivery_group[0]}
    for logical_id, group in log_groups.items():
        assert group["Properties"]["RetentionInDays"] == settings(synth).log_retention_days, logical_id
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [streaming_key_id(synth), "Arn"]}, logical_id


# ---------------------------------------------------------------- Glue table


def test_glue_table_columns_come_from_the_shared_schema(synth):
    _, table = only(synth, "AWS::Glue::Table")
    table_input = table["Properties"]["TableInput"]
    columns = table_input["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [(c.name, c.glue_type) for c in SCHEMA.columns]
    assert [(k["Name"], k["Type"]) for k in table_input["PartitionKeys"]] == [
        ("year", "string"), ("month", "string"), ("day", "string")]
    assert table_input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")


def test_glue_table_uses_partition_projection_over_the_firehose_layout(synth):
    _, table = only(synth, "AWS::Glue::Table")
    parameters = table["Properties"]["TableInput"]["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.month.digits"] == parameters["projection.day.digits"] == "2"
    template = json.dumps(parameters["storage.location.template"])
    assert template.endswith('/sensor_readings/year=${year}/month=${month}/day=${day}/"]]}')


# ---------------------------------------------------------------- transform Lambda


def test_transform_function_settings(synth):
    _, function = only(synth, "AWS::Lambda::Function")
    props = function["Properties"]
    assert props["Runtime"] == "python3.14" and props["Handler"] == "handler.handler"
    assert props["MemorySize"] == settings(synth).transform_memory_mib
    assert props["ReservedConcurrentExecutions"] == settings(synth).transform_reserved_concurrency
    assert props["Timeout"] == 60
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "Environment" not in props
    assert "LogGroup" in props["LoggingConfig"]


def test_transform_asset_ships_only_the_handler_and_its_schema(sandbox):
    _, function = only(sandbox, "AWS::Lambda::Function")
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    shipped = {p.name for p in (sandbox.assembly_dir / f"asset.{asset_hash}").iterdir()}
    assert shipped == {"handler.py", "schema.json"}


# ---------------------------------------------------------------- least privilege


def policies(synth) -> dict[str, list[dict]]:
    return {k: v["Properties"]["PolicyDocument"]["Statement"]
            for k, v in synth.resources(STACK, "AWS::IAM::ManagedPolicy").items()}


def test_no_inline_policies_and_no_wildcard_actions(synth):
    assert synth.resources(STACK, "AWS::IAM::Policy") == {}
    for name, statements in policies(synth).items():
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), (name, statement)


def test_delivery_role_trusts_firehose_of_this_account_only(synth):
    roles = synth.resources(STACK, "AWS::IAM::Role")
    (trust,) = [r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0] for r in roles.values()
                if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
                == {"Service": "firehose.amazonaws.com"}]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}


def test_delivery_writes_only_its_own_prefixes(synth):
    (statements,) = [s for k, s in policies(synth).items() if "Delivery" in k]
    by_sid = {s["Sid"]: s for s in statements}
    objects = by_sid["WriteOnlyTheStreamPrefixes"]
    prefix = synth.built.settings.name_prefix
    written = sorted(r["Fn::Join"][1][-1] for r in objects["Resource"])
    assert written == ["/errors/sensor_readings-source-backup/*", "/errors/sensor_readings/*",
                       "/sensor_readings/*", "/source-backup/sensor_readings/*"]
    assert all(r["Fn::Join"][1][2] == f":s3:::{prefix}-raw-" for r in objects["Resource"])
    assert sorted(objects["Action"]) == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    for sid, service in (("DecryptTheSourceStream", "kinesis."), ("EncryptWithTheZoneKey", "s3.")):
        via = by_sid[sid]["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1]
        assert via[0] == service, sid


def test_transform_may_only_write_its_logs_and_traces(synth):
    (statements,) = [s for k, s in policies(synth).items() if "Transform" in k]
    assert sorted(a for s in statements for a in s["Action"]) == [
        "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]


ACCOUNT, REGION = "111122223333", "eu-west-1"


def concrete(value) -> str:
    """A policy resource with the pseudo parameters filled in (a plain string: no resource refs)."""
    if isinstance(value, str):
        return value
    pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
    return "".join(p if isinstance(p, str) else pseudo[p["Ref"]] for p in value["Fn::Join"][1])


def iam_matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: `*` any run of characters, `?` one; nothing else is special."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), arn) is not None


def log_grants(synth, policy_part: str) -> list[str]:
    (statements,) = [s for k, s in policies(synth).items() if policy_part in k]

    def listed(value) -> list:
        return value if isinstance(value, list) else [value]

    return [concrete(r) for s in statements if any(a.startswith("logs:") for a in listed(s["Action"]))
            for r in listed(s["Resource"])]


def test_the_transform_may_write_to_the_streams_lambda_creates(synth):
    """Regression: `GetAtt LogGroup.Arn` ends in `:*`, so `<that>:log-stream:*` matched no stream."""
    function = f"{synth.built.settings.name_prefix}-sensor-readings-transform"
    stream = (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function}"
              ":log-stream:2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef")
    grants = log_grants(synth, "Transform")
    assert grants and any(iam_matches(g, stream) for g in grants), grants
    other = stream.replace(function, "someone-else")
    assert not any(iam_matches(g, other) for g in grants)


def test_firehose_may_write_its_two_delivery_log_streams_only(synth):
    group = f"/aws/kinesisfirehose/{synth.built.settings.name_prefix}-sensor-readings"
    grants = log_grants(synth, "Delivery")
    for stream in ("DestinationDelivery", "BackupDelivery"):
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{stream}"
        assert any(iam_matches(g, arn) for g in grants), (stream, grants)
    assert not any(iam_matches(g, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:Other")
                   for g in grants)


# ---------------------------------------------------------------- alarms and topic


def test_every_alarm_notifies_the_encrypted_alerts_topic(synth):
    topic_id, topic = only(synth, "AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [streaming_key_id(synth), "Arn"]}
    alarms = synth.resources(STACK, "AWS::CloudWatch::Alarm")
    names = {a["Properties"]["AlarmName"].rsplit("-", 1)[1] for a in alarms.values()}
    assert names == ALARMS
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}] and props["OKActions"] == [{"Ref": topic_id}]
        assert props["TreatMissingData"] == "notBreaching"


def test_alarm_thresholds_follow_the_settings(synth):
    alarms = {a["Properties"]["AlarmName"].rsplit("-", 1)[1]: a["Properties"]
              for a in synth.resources(STACK, "AWS::CloudWatch::Alarm").values()}
    assert alarms["IteratorAge"]["MetricName"] == "GetRecords.IteratorAgeMilliseconds"
    assert alarms["IteratorAge"]["Threshold"] == settings(synth).iterator_age_alarm_seconds * 1000
    assert alarms["DeliveryFreshness"]["MetricName"] == "DeliveryToS3.DataFreshness"
    assert alarms["DeliveryFreshness"]["Threshold"] == settings(synth).data_freshness_alarm_seconds
    assert (alarms["DeliveryFailures"]["MetricName"], alarms["DeliveryFailures"]["ComparisonOperator"]) == (
        "DeliveryToS3.Success", "LessThanThreshold")
    assert alarms["TransformErrors"]["MetricName"] == "Errors"
    assert alarms["ConversionFailures"]["MetricName"] == "FailedConversion.Records"


def test_topic_refuses_publishing_without_tls(synth):
    _, policy = only(synth, "AWS::SNS::TopicPolicy")
    (deny,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_email_subscription_exists_only_when_configured(sandbox, custom):
    assert sandbox.resources(STACK, "AWS::SNS::Subscription") == {}
    assert sandbox.resources(STACK, "AWS::SQS::Queue") == {}
    (subscription,) = custom.resources(STACK, "AWS::SNS::Subscription").values()
    assert (subscription["Properties"]["Protocol"], subscription["Properties"]["Endpoint"]) == (
        "email", "ml-oncall@example.com")
    queue_id, queue = next(iter(custom.resources(STACK, "AWS::SQS::Queue").items()))
    assert subscription["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [streaming_key_id(custom), "Arn"]}


def test_outputs_for_producers_and_later_stacks(synth):
    assert {"StreamName", "StreamArn", "StreamKeyArn", "DeliveryStreamName", "RawDatabaseName", "RawTableName",
            "AlertsTopicArn"} <= set(synth.templates[STACK]["Outputs"])


def test_typed_properties_for_later_stacks(sandbox):
    stack = sandbox.built.stacks[STACK]
    assert stack.alerts.topic.topic_name  # the alerts topic later stacks notify
    assert (stack.table.database_name, stack.table.table_name) == ("mlspec_sbx_raw", "sensor_readings")
