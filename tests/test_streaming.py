"""The streaming stack, property by property and reference by reference (aws_cdk.assertions), for
both profiles and the overridden settings.

Resources are found by type or by what refers to them (the delivery stream names its role, the
function its role and log group), never by fragments of logical ids.
"""

from __future__ import annotations

import re

from aws_cdk.assertions import Capture, Match, Template

STACK = "Streaming"
ALARMS = {"IteratorAge", "DeliveryFreshness", "DeliveryFailures", "ConversionFailures", "TransformErrors",
          "TransformRejections"}
DELIVERY = "AWS::KinesisFirehose::DeliveryStream"

def template(synth) -> Template:
    """The stack's template for aws_cdk.assertions, parsed once per synth (they live all session)."""
    return synth.assertions(STACK)


def logical_id(synth, type_: str) -> str:
    """Logical id of the one resource of `type_` in the stack."""
    return synth.only(STACK, type_)[0]


def ref(synth, type_: str) -> dict:
    return {"Ref": logical_id(synth, type_)}


def get_att_arn(synth, type_: str) -> dict:
    return {"Fn::GetAtt": [logical_id(synth, type_), "Arn"]}


def settings(synth):
    return synth.built.settings.streaming


def dataset_name(synth) -> str:
    """Name of the stream, the delivery stream and their alarms: `<prefix>-sensor-readings`."""
    return f"{synth.built.settings.name_prefix}-sensor-readings"


def in_data_lake_stack(synth, value: dict) -> dict:
    """What a weak cross-stack reference (Fn::GetStackOutput) refers to in the data lake stack."""
    return synth.templates["DataLake"]["Outputs"][value["Fn::GetStackOutput"]["OutputName"]]["Value"]


def lake_arn(synth, construct) -> dict:
    """GetAtt Arn of a construct of the data lake stack, as that stack's template writes it."""
    return {"Fn::GetAtt": [synth.built.stacks["DataLake"].get_logical_id(construct.node.default_child), "Arn"]}


def lake(synth):
    return synth.built.stacks["DataLake"].lake


def role_statements(synth, role_arn: dict) -> list[dict]:
    """The statements of the one managed policy attached to the role `role_arn` (GetAtt Arn) names."""
    role_id = role_arn["Fn::GetAtt"][0]
    (policy,) = template(synth).find_resources(
        "AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": role_id}]}}).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def delivery_role(synth) -> dict:
    """GetAtt Arn of the role the delivery stream reads the stream with."""
    role = Capture()
    template(synth).has_resource_properties(DELIVERY, {"KinesisStreamSourceConfiguration": {"RoleARN": role}})
    return role.as_object()


def transform_role(synth) -> dict:
    role = Capture()
    template(synth).has_resource_properties("AWS::Lambda::Function", {"Role": role})
    return role.as_object()


# ---------------------------------------------------------------- stream


def test_stream_is_encrypted_with_the_streaming_cmk(synth):
    template(synth).has_resource_properties("AWS::Kinesis::Stream", {
        "Name": dataset_name(synth),
        "StreamEncryption": {"EncryptionType": "KMS", "KeyId": get_att_arn(synth, "AWS::KMS::Key")},
        "RetentionPeriodHours": settings(synth).retention_hours,
    })


def test_sandbox_uses_one_provisioned_shard_and_prod_on_demand(sandbox, prod, custom):
    for synth, mode, shards, hours in ((sandbox, "PROVISIONED", 1, 24), (prod, "ON_DEMAND", Match.absent(), 168),
                                       (custom, "PROVISIONED", 3, 48)):
        template(synth).has_resource_properties("AWS::Kinesis::Stream", {
            "StreamModeDetails": {"StreamMode": mode}, "ShardCount": shards, "RetentionPeriodHours": hours})


def test_streaming_key_rotates_and_lets_logs_and_alarms_use_it(synth):
    template(synth).has_resource_properties("AWS::KMS::Key", {
        "EnableKeyRotation": True,
        "KeyPolicy": {"Statement": Match.array_with([
            Match.object_like({
                "Sid": "AllowCloudWatchLogsOfThisAccount",
                "Principal": {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}},
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Match.any_value()}},
            }),
            Match.object_like({
                "Sid": "AllowAlarmsAndNotificationsOfThisAccount",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "sns.amazonaws.com"]},
                "Condition": Match.exact({"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}),
            }),
        ])},
    })


# ---------------------------------------------------------------- delivery stream


def test_delivery_reads_the_stream_and_writes_the_raw_zone(synth):
    bucket = Capture()
    template(synth).has_resource_properties(DELIVERY, {
        "DeliveryStreamName": dataset_name(synth),
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {"KinesisStreamARN": get_att_arn(synth, "AWS::Kinesis::Stream")},
        "ExtendedS3DestinationConfiguration": {"BucketARN": bucket},
    })
    assert in_data_lake_stack(synth, bucket.as_object()) == lake_arn(synth, lake(synth).raw)


def test_hive_partitions_and_error_prefix_split_by_error_type(synth):
    template(synth).has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "Prefix": "sensor_readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
        "ErrorOutputPrefix": "errors/sensor_readings/!{firehose:error-output-type}/year=!{timestamp:yyyy}/"
                             "month=!{timestamp:MM}/day=!{timestamp:dd}/",
    }})


def test_buffering_follows_the_settings_and_parquet_is_not_double_compressed(synth):
    size = Capture()
    template(synth).has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "BufferingHints": Match.exact({"SizeInMBs": size,
                                       "IntervalInSeconds": settings(synth).buffer_interval_seconds}),
        "CompressionFormat": "UNCOMPRESSED",
    }})
    assert size.as_number() == settings(synth).buffer_size_mib
    assert size.as_number() >= 64  # Firehose's minimum with record format conversion


def test_destination_is_encrypted_with_the_lake_key(synth):
    key = Capture()
    template(synth).has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": key}}}})
    assert in_data_lake_stack(synth, key.as_object()) == lake_arn(synth, lake(synth).key)


def test_records_pass_through_the_transform_in_1_mib_batches(synth):
    template(synth).has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
            {"ParameterName": "LambdaArn", "ParameterValue": get_att_arn(synth, "AWS::Lambda::Function")},
            {"ParameterName": "BufferSizeInMBs", "ParameterValue": "1"},
            {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "60"},
            {"ParameterName": "NumberOfRetries", "ParameterValue": "3"},
        ]}]},
    }})


def test_json_is_converted_to_parquet_with_the_glue_table(synth):
    template(synth).has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "DataFormatConversionConfiguration": Match.exact({
            "Enabled": True,
            "InputFormatConfiguration": {"Deserializer": {"HiveJsonSerDe": {"TimestampFormats": ["millis"]}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}},
            "SchemaConfiguration": {
                "CatalogId": {"Ref": "AWS::AccountId"},
                "DatabaseName": f"{synth.built.settings.name_prefix.replace('-', '_')}_raw",
                "TableName": "sensor_readings",
                "Region": {"Ref": "AWS::Region"},
                "RoleARN": delivery_role(synth),
                "VersionId": "LATEST",
            },
        }),
    }})


def test_source_records_are_backed_up_compressed_and_encrypted(synth):
    key = Capture()
    template(synth).has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "S3BackupMode": "Enabled",
        "S3BackupConfiguration": {
            "Prefix": "source-backup/sensor_readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
            "ErrorOutputPrefix": "errors/sensor_readings-source-backup/!{firehose:error-output-type}/"
                                 "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
            "CompressionFormat": "GZIP",
            "RoleARN": delivery_role(synth),
            "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": key}},
        },
    }})
    assert in_data_lake_stack(synth, key.as_object()) == lake_arn(synth, lake(synth).key)


def test_delivery_errors_are_logged_to_a_bounded_encrypted_log_group(synth):
    t = template(synth)
    (group_id,) = t.find_resources("AWS::Logs::LogGroup", {"Properties": {
        "LogGroupName": f"/aws/kinesisfirehose/{dataset_name(synth)}"}})

    def log_stream(name: str) -> dict:
        (stream_id,) = t.find_resources("AWS::Logs::LogStream", {"Properties": {
            "LogGroupName": {"Ref": group_id}, "LogStreamName": name}})
        return {"Ref": stream_id}

    def logging(purpose: str) -> dict:
        return Match.exact({"Enabled": True, "LogGroupName": {"Ref": group_id}, "LogStreamName": log_stream(purpose)})

    t.has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "CloudWatchLoggingOptions": logging("DestinationDelivery"),
        "S3BackupConfiguration": {"CloudWatchLoggingOptions": logging("BackupDelivery")},
    }})
    t.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": synth.built.settings.log_retention_days,
                                                       "KmsKeyId": get_att_arn(synth, "AWS::KMS::Key")})


# ---------------------------------------------------------------- Glue table


def test_glue_table_columns_come_from_the_shared_schema(synth):
    _, table = synth.only(STACK, "AWS::Glue::Table")
    table_input = table["Properties"]["TableInput"]
    columns = table_input["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("event_id", "string"), ("event_time", "timestamp"), ("device_id", "string"), ("temperature_c", "double"),
        ("humidity_pct", "double"), ("battery_pct", "int"), ("status", "string")]
    assert [(k["Name"], k["Type"]) for k in table_input["PartitionKeys"]] == [
        ("year", "string"), ("month", "string"), ("day", "string")]
    assert table_input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")


def test_glue_table_uses_partition_projection_over_the_firehose_layout(synth):
    location = Capture()
    template(synth).has_resource_properties("AWS::Glue::Table", {"TableInput": {"Parameters": {
        "projection.enabled": "true", "projection.month.digits": "2", "projection.day.digits": "2",
        "storage.location.template": location,
    }}})
    # s3://<raw bucket>/sensor_readings/year=${year}/...: the layout the delivery stream writes.
    assert location.as_object()["Fn::Join"][1][-1] == "/sensor_readings/year=${year}/month=${month}/day=${day}/"


# ---------------------------------------------------------------- transform Lambda


def test_transform_function_settings(synth):
    t = template(synth)
    (log_group_id,) = t.find_resources("AWS::Logs::LogGroup", {"Properties": {
        "LogGroupName": f"/aws/lambda/{dataset_name(synth)}-transform"}})
    t.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": f"{dataset_name(synth)}-transform",
        "Runtime": "python3.14",
        "Handler": "handler.handler",
        "Architectures": ["arm64"],
        "MemorySize": settings(synth).transform_memory_mib,
        "ReservedConcurrentExecutions": settings(synth).transform_reserved_concurrency or Match.absent(),
        "Timeout": 60,
        "TracingConfig": {"Mode": "Active"},
        "Environment": Match.absent(),
        "LoggingConfig": {"LogGroup": {"Ref": log_group_id}},
    })


def test_transform_asset_ships_only_the_handler_and_its_schema(sandbox):
    _, function = sandbox.only(STACK, "AWS::Lambda::Function")
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    shipped = {p.name for p in (sandbox.assembly_dir / f"asset.{asset_hash}").iterdir()}
    assert shipped == {"handler.py", "schema.json"}


# ---------------------------------------------------------------- least privilege


def test_no_inline_policies_and_no_wildcard_actions(synth):
    t = template(synth)
    t.resource_count_is("AWS::IAM::Policy", 0)
    for name, policy in t.find_resources("AWS::IAM::ManagedPolicy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), (name, statement)


def test_delivery_role_trusts_firehose_of_this_account_only(synth):
    role_id = delivery_role(synth)["Fn::GetAtt"][0]
    role = template(synth).find_resources("AWS::IAM::Role")[role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [{
        "Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"},
        "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}}]


def test_delivery_writes_only_its_own_prefixes(synth):
    by_sid = {s["Sid"]: s for s in role_statements(synth, delivery_role(synth))}
    objects = by_sid["WriteOnlyTheStreamPrefixes"]
    prefix = synth.built.settings.name_prefix
    written = sorted(r["Fn::Join"][1][-1] for r in objects["Resource"])
    assert written == ["/errors/sensor_readings-source-backup/*", "/errors/sensor_readings/*",
                       "/sensor_readings/*", "/source-backup/sensor_readings/*"]
    assert all(r["Fn::Join"][1][2] == f":s3:::{prefix}-raw-" for r in objects["Resource"])
    assert sorted(objects["Action"]) == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    assert by_sid["ReadTheSourceStream"]["Resource"] == get_att_arn(synth, "AWS::Kinesis::Stream")
    assert by_sid["InvokeTheTransform"]["Resource"] == get_att_arn(synth, "AWS::Lambda::Function")
    for sid, service in (("DecryptTheSourceStream", "kinesis."), ("EncryptWithTheZoneKey", "s3.")):
        via = by_sid[sid]["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1]
        assert via[0] == service, sid


def test_transform_may_only_write_its_logs_and_traces(synth):
    statements = role_statements(synth, transform_role(synth))
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


def log_grants(synth, role_arn: dict) -> list[str]:
    def listed(value) -> list:
        return value if isinstance(value, list) else [value]

    return [concrete(r) for s in role_statements(synth, role_arn)
            if any(a.startswith("logs:") for a in listed(s["Action"])) for r in listed(s["Resource"])]


def test_the_transform_may_write_to_the_streams_lambda_creates(synth):
    """Regression: `GetAtt LogGroup.Arn` ends in `:*`, so `<that>:log-stream:*` matched no stream."""
    function = f"{dataset_name(synth)}-transform"
    stream = (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function}"
              ":log-stream:2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef")
    grants = log_grants(synth, transform_role(synth))
    assert grants and any(iam_matches(g, stream) for g in grants), grants
    other = stream.replace(function, "someone-else")
    assert not any(iam_matches(g, other) for g in grants)


def test_firehose_may_write_its_two_delivery_log_streams_only(synth):
    group = f"/aws/kinesisfirehose/{dataset_name(synth)}"
    grants = log_grants(synth, delivery_role(synth))
    for stream in ("DestinationDelivery", "BackupDelivery"):
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{stream}"
        assert any(iam_matches(g, arn) for g in grants), (stream, grants)
    assert not any(iam_matches(g, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:Other")
                   for g in grants)


# ---------------------------------------------------------------- alarms and topic


def alarms(synth) -> dict[str, dict]:
    """Alarm properties by alarm id, the part of the alarm name after `<prefix>-sensor-readings-`."""
    named = f"{dataset_name(synth)}-"
    return {a["Properties"]["AlarmName"].removeprefix(named): a["Properties"]
            for a in template(synth).find_resources("AWS::CloudWatch::Alarm").values()}


def test_every_alarm_notifies_the_encrypted_alerts_topic(synth):
    t = template(synth)
    topic = ref(synth, "AWS::SNS::Topic")
    t.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": get_att_arn(synth, "AWS::KMS::Key")})
    assert set(alarms(synth)) == ALARMS
    t.all_resources_properties("AWS::CloudWatch::Alarm", {
        "AlarmActions": [topic], "OKActions": [topic], "TreatMissingData": "notBreaching"})


def test_alarms_watch_this_stream_function_and_delivery_stream(synth):
    by_id = alarms(synth)
    stream = [{"Name": "StreamName", "Value": ref(synth, "AWS::Kinesis::Stream")}]
    function = [{"Name": "FunctionName", "Value": ref(synth, "AWS::Lambda::Function")}]
    delivery_stream_name = synth.only(STACK, DELIVERY)[1]["Properties"]["DeliveryStreamName"]
    delivery = [{"Name": "DeliveryStreamName", "Value": delivery_stream_name}]
    assert {alarm_id: (props["Namespace"], props["Dimensions"]) for alarm_id, props in by_id.items()} == {
        "IteratorAge": ("AWS/Kinesis", stream),
        "TransformErrors": ("AWS/Lambda", function),
        **{alarm_id: ("AWS/Firehose", delivery)
           for alarm_id in ("DeliveryFreshness", "DeliveryFailures", "ConversionFailures", "TransformRejections")},
    }


def test_alarm_thresholds_follow_the_settings(synth):
    by_id = alarms(synth)
    assert by_id["IteratorAge"]["MetricName"] == "GetRecords.IteratorAgeMilliseconds"
    assert by_id["IteratorAge"]["Threshold"] == settings(synth).iterator_age_alarm_seconds * 1000
    assert by_id["DeliveryFreshness"]["MetricName"] == "DeliveryToS3.DataFreshness"
    assert by_id["DeliveryFreshness"]["Threshold"] == settings(synth).data_freshness_alarm_seconds
    assert (by_id["DeliveryFailures"]["MetricName"], by_id["DeliveryFailures"]["ComparisonOperator"]) == (
        "DeliveryToS3.Success", "LessThanThreshold")
    assert by_id["TransformErrors"]["MetricName"] == "Errors"
    assert by_id["ConversionFailures"]["MetricName"] == "FailedConversion.Records"


def test_topic_refuses_publishing_without_tls(synth):
    template(synth).has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": Match.exact({"Bool": {"aws:SecureTransport": "false"}})})]),
    }})


def test_email_subscription_exists_only_when_configured(sandbox, custom):
    template(sandbox).resource_count_is("AWS::SNS::Subscription", 0)
    template(sandbox).resource_count_is("AWS::SQS::Queue", 0)
    queue = ref(custom, "AWS::SQS::Queue")["Ref"]
    template(custom).has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": "ml-oncall@example.com", "TopicArn": ref(custom, "AWS::SNS::Topic"),
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [queue, "Arn"]}}})
    template(custom).has_resource_properties("AWS::SQS::Queue", {
        "KmsMasterKeyId": get_att_arn(custom, "AWS::KMS::Key")})


def test_outputs_refer_to_what_producers_and_later_stacks_need(synth):
    t = template(synth)
    stream_id = logical_id(synth, "AWS::Kinesis::Stream")
    # The producer policy: records into this stream, attached to no role of this stack.
    (producer_policy_id,) = t.find_resources("AWS::IAM::ManagedPolicy", {"Properties": {
        "Roles": Match.absent(),
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Sid": "PutRecords", "Resource": {"Fn::GetAtt": [stream_id, "Arn"]}})])},
    }})
    expected = {
        "StreamName": {"Ref": stream_id},
        "StreamArn": {"Fn::GetAtt": [stream_id, "Arn"]},
        "StreamKeyArn": get_att_arn(synth, "AWS::KMS::Key"),
        "ProducerPolicyArn": {"Ref": producer_policy_id},
        "DeliveryStreamName": ref(synth, DELIVERY),
        "RawDatabaseName": f"{synth.built.settings.name_prefix.replace('-', '_')}_raw",
        "RawTableName": "sensor_readings",
        "AlertsTopicArn": ref(synth, "AWS::SNS::Topic"),
    }
    # Other outputs are CDK's own, for references of later stacks (the SageMaker alarms' topic).
    outputs = t.find_outputs("*")
    assert {output_id: outputs[output_id]["Value"] for output_id in expected} == expected


def test_typed_properties_for_later_stacks(sandbox, custom):
    stack = sandbox.built.stacks[STACK]
    # The topic later stacks notify is the one every alarm of this stack notifies.
    topic = stack.resolve(stack.alerts.topic.topic_arn)
    assert topic == ref(sandbox, "AWS::SNS::Topic")
    template(sandbox).all_resources_properties("AWS::CloudWatch::Alarm", {"AlarmActions": [topic]})
    # ... and, through it, the endpoint alarms of the SageMaker stack (custom hosts an endpoint).
    topic = custom.built.stacks[STACK].resolve(custom.built.stacks[STACK].alerts.topic.topic_arn)
    endpoint_alarms = Template.from_json(custom.templates["SageMaker"]).find_resources("AWS::CloudWatch::Alarm")
    assert endpoint_alarms
    for alarm in endpoint_alarms.values():
        (action,) = alarm["Properties"]["AlarmActions"]
        assert custom.templates[STACK]["Outputs"][action["Fn::GetStackOutput"]["OutputName"]]["Value"] == topic
    # The raw table the catalog stack reads is the table Firehose converts with.
    assert (stack.table.database_name, stack.table.table_name) == ("mlspec_sbx_raw", "sensor_readings")
    template(sandbox).has_resource_properties(DELIVERY, {"ExtendedS3DestinationConfiguration": {
        "DataFormatConversionConfiguration": {"SchemaConfiguration": {
            "DatabaseName": stack.table.database_name, "TableName": stack.table.table_name}}}})
