"""The data-path contract: every hop data takes once deployed, as declarative data.

A hop is one authorized call: a principal, an action, a concrete resource, the request context the
caller really sends (TLS, the SSE headers a writer sends, kms:ViaService, the SageMaker VPC keys...),
the KMS key and encryption context the call makes AWS use, and the VPC endpoint it goes through.
`tests/test_data_path.py` resolves every `{placeholder}` from the synthesized templates of each
profile and evaluates every hop the way IAM does (identity, resource, key and endpoint policies,
explicit denies first) with `@cloud-copilot/iam-simulate`; `docs/data-paths.md` is generated
from this module (`python -m scripts.docs --write`).

Placeholders: `{name}` is a fact located in the templates (FACTS), `{record.field}` a field of a
fact with one record per resource, and `|filter` converts it (s3arn, bucketarn, key, name,
firehose: the prefix expressions for 2026-11-24 10:00; asl: States.Format and States.UUID()).
A hop whose facts have no record in a profile (no hosted endpoint, no notebook, no VPC guard...)
does not apply to that profile. `{region}` and `{account}` are fixed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-paths.md"
UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"  # what States.UUID() returns in the contract
DAY = "year=2026/month=11/day=24"


# ---- where a fact lives in the templates --------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Output:
    """A stack output (optional: no record when the output is absent)."""

    stack: str
    name: str
    optional: bool = False

    def __str__(self) -> str:
        return f"{self.stack} output `{self.name}`" + (" (when present)" if self.optional else "")


@dataclasses.dataclass(frozen=True)
class One:
    """A property of the only resource of a type in a stack (`a.b[0].c[Key=value]`, `[key.with.dots]`,
    `X#json` parses a JSON string); of several, the only one that has the path, or `where`."""

    stack: str
    type: str
    path: str
    where: str = ""  # only resources that have this path count ("!path": that do not have it)

    def __str__(self) -> str:
        return f"{self.stack} `{self.type}` `{self.path}`" + (f" (the one with `{self.where}`)" if self.where else "")


@dataclasses.dataclass(frozen=True)
class Each:
    """One record per resource of a type (stack "*": every stack) that has every field."""

    stack: str
    type: str
    fields: str | Mapping[str, str]
    where: str = ""  # only resources that have this path count ("!path": that do not have it)

    def __str__(self) -> str:
        fields = self.fields if isinstance(self.fields, str) else ", ".join(f"{k}: {v}" for k, v in self.fields.items())
        where = "every stack" if self.stack == "*" else self.stack
        return f"each `{self.type}` of {where}: `{fields}`"


FIREHOSE, DEST = "AWS::KinesisFirehose::DeliveryStream", "ExtendedS3DestinationConfiguration"
BACKUP = f"{DEST}.S3BackupConfiguration"
SECCONF, JOB, WORKGROUP = "AWS::Glue::SecurityConfiguration", "AWS::Glue::Job", "AWS::Athena::WorkGroup"
PIPELINE = "AWS::StepFunctions::StateMachine"
DEFINITION = "DefinitionString#json"
TRAIN = f"{DEFINITION}.States.Train.Parameters"
BATCH = f"{DEFINITION}.States.Transform.Parameters"
BASELINE = f"{DEFINITION}.States.Baseline.Parameters"
SCHEDULE = f"{DEFINITION}.States.CreateSchedule.Parameters"
MONITOR_JOB = f"{SCHEDULE}.MonitoringScheduleConfig.MonitoringJobDefinition"
# The training pipeline (the batch transform names its runs in a NameTheRun step too).
REGISTER = f"{DEFINITION}.States.RegisterTheModel"
# The approval rule (the Model Monitor's rule matches endpoint states instead).
APPROVAL_RULE = "EventPattern.detail.ModelApprovalStatus"
TUNE = f"{DEFINITION}.States.Tune.Parameters.TrainingJobDefinition"  # with sagemaker.tuning.enabled
DEPLOY_CONFIG = f"{DEFINITION}.States.CreateEndpointConfig.Parameters"
# The deploy of approved packages (the batch transform has a CreateModel step too).
DEPLOY = f"{DEFINITION}.States.NameTheDeploy"

FACTS: dict[str, Output | One | Each | tuple[Each, ...]] = {
    # data lake
    "raw_bucket": Output("DataLake", "RawBucketName"),
    "curated_bucket": Output("DataLake", "CuratedBucketName"),
    "results_bucket": Output("DataLake", "ResultsBucketName"),
    "lake_key": Output("DataLake", "LakeKeyArn"),
    # streaming
    "stream": Output("Streaming", "StreamArn"),
    "stream_key": Output("Streaming", "StreamKeyArn"),
    "alerts_topic": Output("Streaming", "AlertsTopicArn"),
    "alerts_key": One("Streaming", "AWS::SNS::Topic", "KmsMasterKeyId"),
    "raw_database": Output("Streaming", "RawDatabaseName"),
    "dataset": Output("Streaming", "RawTableName"),
    "firehose_role": One("Streaming", FIREHOSE, f"{DEST}.RoleARN"),
    "transform": One("Streaming", FIREHOSE,
                     f"{DEST}.ProcessingConfiguration.Processors[Type=Lambda].Parameters[ParameterName=LambdaArn].ParameterValue"),
    "transform_role": One("Streaming", "AWS::Lambda::Function", "Role"),
    "transform_log_group": One("Streaming", "AWS::Lambda::Function", "LoggingConfig.LogGroup"),
    "destination": One("Streaming", FIREHOSE, f"{DEST}.BucketARN"),
    "destination_prefix": One("Streaming", FIREHOSE, f"{DEST}.Prefix"),
    "destination_error_prefix": One("Streaming", FIREHOSE, f"{DEST}.ErrorOutputPrefix"),
    "destination_key": One("Streaming", FIREHOSE, f"{DEST}.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN"),
    "destination_log_group": One("Streaming", FIREHOSE, f"{DEST}.CloudWatchLoggingOptions.LogGroupName"),
    "destination_log_stream": One("Streaming", FIREHOSE, f"{DEST}.CloudWatchLoggingOptions.LogStreamName"),
    "backup": One("Streaming", FIREHOSE, f"{BACKUP}.BucketARN"),
    "backup_prefix": One("Streaming", FIREHOSE, f"{BACKUP}.Prefix"),
    "backup_key": One("Streaming", FIREHOSE, f"{BACKUP}.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN"),
    "backup_log_group": One("Streaming", FIREHOSE, f"{BACKUP}.CloudWatchLoggingOptions.LogGroupName"),
    "backup_log_stream": One("Streaming", FIREHOSE, f"{BACKUP}.CloudWatchLoggingOptions.LogStreamName"),
    "alarm": Each("*", "AWS::CloudWatch::Alarm", {"name": "@Ref"}),
    "dead_letter_queue": Each("Streaming", "AWS::SQS::Queue", {"arn": "@Arn", "key": "KmsMasterKeyId"}),
    "log_group": Each("*", "AWS::Logs::LogGroup", {"name": "@Ref", "key": "KmsKeyId"}),
    # catalog and Athena
    "crawler": Each("Catalog", "AWS::Glue::Crawler",
                    {"name": "Name", "role": "Role", "database": "DatabaseName", "target": "Targets.S3Targets[0].Path"}),
    "security_configuration": One("Catalog", SECCONF, "Name"),
    "glue_s3_key": One("Catalog", SECCONF, "EncryptionConfiguration.S3Encryptions[0].KmsKeyArn"),
    "glue_logs_key": One("Catalog", SECCONF, "EncryptionConfiguration.CloudWatchEncryption.KmsKeyArn"),
    "bookmarks_key": One("Catalog", SECCONF, "EncryptionConfiguration.JobBookmarksEncryption.KmsKeyArn"),
    "etl_role": One("Catalog", JOB, "Role"),
    "etl_script": One("Catalog", JOB, "Command.ScriptLocation"),
    "etl_input": One("Catalog", JOB, "DefaultArguments.--raw_path"),
    "etl_output": One("Catalog", JOB, "DefaultArguments.--curated_path"),
    "curated_database": Output("Catalog", "CuratedDatabaseName"),
    "workgroup": One("Catalog", WORKGROUP, "Name"),
    "athena_output": One("Catalog", WORKGROUP, "WorkGroupConfiguration.ResultConfiguration.OutputLocation"),
    "athena_key": One("Catalog", WORKGROUP,
                      "WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.KmsKey"),
    "catalog_key": Each("Catalog", "AWS::Glue::DataCatalogEncryptionSettings",
                        "DataCatalogEncryptionSettings.EncryptionAtRest.SseAwsKmsKeyId"),
    # ML network
    "flow_logs_role": One("MlNetwork", "AWS::EC2::FlowLog", "DeliverLogsPermissionArn"),
    "flow_log_group": One("MlNetwork", "AWS::EC2::FlowLog", "LogGroupName"),
    # SageMaker
    "execution_role": Output("SageMaker", "ExecutionRoleArn"),
    "pipeline": Output("SageMaker", "TrainingPipelineArn"),
    # Two state machines: the training pipeline (it names runs in NameTheRun) and the deploy of
    # approved packages (NameTheDeploy); a fact that exists in one of them only tells them apart.
    "pipeline_role": Each("SageMaker", PIPELINE, {"arn": "RoleArn", "step": f"{DEFINITION}.States.NameTheRun.Type"},
                          where=REGISTER),
    "pipeline_endpoint": Output("SageMaker", "PipelineEndpointName"),
    # The name the pipeline gives one run (its training job and package).
    "run": Each("SageMaker", PIPELINE, f"{DEFINITION}.States.NameTheRun.Parameters[name.$]", where=REGISTER),
    # The registry group and the deploy of its approved packages.
    "model_group": Output("SageMaker", "ModelPackageGroupName"),
    "deploy": Output("SageMaker", "DeployStateMachineArn"),
    "deploy_role": Each("SageMaker", PIPELINE, {"arn": "RoleArn", "step": f"{DEFINITION}.States.NameTheDeploy.Type"}),
    "automatic_approval": Each("SageMaker", PIPELINE, f"{DEFINITION}.States.ApproveTheModel.Parameters.ModelApprovalStatus",
                               where=REGISTER),
    # The pipeline's own training step: absent with sagemaker.tuning.enabled (the tuning job trains).
    "train_step": Each("SageMaker", PIPELINE, f"{DEFINITION}.States.Train.Resource", where=REGISTER),
    "tuning_run": Each("SageMaker", PIPELINE, f"{DEFINITION}.States.NameTheTuningJob.Parameters[name.$]",
                       where=REGISTER),
    "deploy_run": Each("SageMaker", PIPELINE, f"{DEFINITION}.States.NameTheDeploy.Parameters[name.$]", where=DEPLOY),
    "rule_role": One("SageMaker", "AWS::Events::Rule", "Targets[0].RoleArn", where=APPROVAL_RULE),
    "rule": One("SageMaker", "AWS::Events::Rule", "@Arn", where=APPROVAL_RULE),
    "deploy_queue": One("SageMaker", "AWS::Events::Rule", "Targets[0].DeadLetterConfig.Arn", where=APPROVAL_RULE),
    # The deploy's dead-letter queue has no name; the Model Monitor's has one.
    "deploy_queue_key": One("SageMaker", "AWS::SQS::Queue", "KmsMasterKeyId", where="!QueueName"),
    "endpoint_volume_key": Each("SageMaker", PIPELINE, f"{DEPLOY_CONFIG}.KmsKeyId", where=DEPLOY),
    "pipeline_capture_key": Each("SageMaker", PIPELINE, f"{DEPLOY_CONFIG}.DataCaptureConfig.KmsKeyId", where=DEPLOY),
    "train_input": (Each("SageMaker", PIPELINE, f"{TRAIN}.InputDataConfig[ChannelName=train].DataSource.S3DataSource.S3Uri"),
                    Each("SageMaker", PIPELINE, f"{TUNE}.InputDataConfig[ChannelName=train].DataSource.S3DataSource.S3Uri")),
    "train_output": (Each("SageMaker", PIPELINE, f"{TRAIN}.OutputDataConfig.S3OutputPath"),
                     Each("SageMaker", PIPELINE, f"{TUNE}.OutputDataConfig.S3OutputPath")),
    "train_output_key": (Each("SageMaker", PIPELINE, f"{TRAIN}.OutputDataConfig.KmsKeyId"),
                         Each("SageMaker", PIPELINE, f"{TUNE}.OutputDataConfig.KmsKeyId")),
    "train_volume_key": (Each("SageMaker", PIPELINE, f"{TRAIN}.ResourceConfig.VolumeKmsKeyId"),
                         Each("SageMaker", PIPELINE, f"{TUNE}.ResourceConfig.VolumeKmsKeyId")),
    "train_subnets": (Each("SageMaker", PIPELINE, f"{TRAIN}.VpcConfig.Subnets"),
                      Each("SageMaker", PIPELINE, f"{TUNE}.VpcConfig.Subnets")),
    "model_subnets": Each("SageMaker", PIPELINE, f"{DEFINITION}.States.CreateModel.Parameters.VpcConfig.Subnets",
                          where=DEPLOY),
    "checkpoints": (Each("SageMaker", PIPELINE, f"{TRAIN}.CheckpointConfig.S3Uri"),
                    Each("SageMaker", PIPELINE, f"{TUNE}.CheckpointConfig.S3Uri")),
    # The pipeline endpoint's capture (what Model Monitor reads), then the hosted endpoint's.
    "pipeline_capture": Each("SageMaker", PIPELINE, {"uri": f"{DEPLOY_CONFIG}.DataCaptureConfig.DestinationS3Uri",
                                                     "key": f"{DEPLOY_CONFIG}.DataCaptureConfig.KmsKeyId"},
                             where=DEPLOY),
    "capture": (
        Each("SageMaker", PIPELINE, {"uri": f"{DEPLOY_CONFIG}.DataCaptureConfig.DestinationS3Uri",
                                     "key": f"{DEPLOY_CONFIG}.DataCaptureConfig.KmsKeyId"}, where=DEPLOY),
        Each("SageMaker", "AWS::SageMaker::EndpointConfig",
             {"uri": "DataCaptureConfig.DestinationS3Uri", "key": "DataCaptureConfig.KmsKeyId"}),
    ),
    "model": Each("SageMaker", "AWS::SageMaker::Model", {"artifact": "PrimaryContainer.ModelDataUrl"}),
    "hosted_endpoint": Each("SageMaker", "AWS::SageMaker::Endpoint", "EndpointName"),
    "notebook_role": Each("SageMaker", "AWS::SageMaker::NotebookInstance", "RoleArn"),
    "vpc_guard": Output("SageMaker", "VpcOnlyGuardPolicyArn", optional=True),
    # Model Monitor (sagemaker.model_monitor.enabled): the setup machine, its trigger and queue.
    "monitor": Each("SageMaker", PIPELINE, {
        "role": "RoleArn", "run": "DefinitionString#json.States.NameTheBaseline.Parameters[name.$]",
        "input": f"{BASELINE}.ProcessingInputs[0].S3Input.S3Uri",
        "baseline": f"{BASELINE}.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri",
        "baseline_key": f"{BASELINE}.ProcessingOutputConfig.KmsKeyId",
        "volume_key": f"{BASELINE}.ProcessingResources.ClusterConfig.VolumeKmsKeyId",
        "subnets": f"{BASELINE}.NetworkConfig.VpcConfig.Subnets",
        "schedule": f"{SCHEDULE}.MonitoringScheduleName",
        "endpoint": f"{MONITOR_JOB}.MonitoringInputs[0].EndpointInput.EndpointName",
        "reports": f"{MONITOR_JOB}.MonitoringOutputConfig.MonitoringOutputs[0].S3Output.S3Uri",
        "reports_key": f"{MONITOR_JOB}.MonitoringOutputConfig.KmsKeyId",
        "schedule_subnets": f"{MONITOR_JOB}.NetworkConfig.VpcConfig.Subnets"}),
    "monitor_trigger": Each("SageMaker", "AWS::Events::Rule",
                            {"arn": "@Arn", "role": "Targets[0].RoleArn", "machine": "Targets[0].Arn"},
                            where="EventPattern.detail.EndpointStatus"),
    "monitor_queue": Each("SageMaker", "AWS::SQS::Queue", {"arn": "@Arn", "key": "KmsMasterKeyId"}, where="QueueName"),
    "producer_policy": Output("Streaming", "ProducerPolicyArn"),
    "analyst_policy": Output("Catalog", "AnalystPolicyArn"),
    # audit trail
    "trail": Output("Audit", "TrailArn"),
    "audit_bucket": Output("Audit", "AuditBucketName"),
    "audit_key": Output("Audit", "AuditKeyArn"),
    "audit_database": Output("Audit", "AuditDatabaseName"),
    "audit_workgroup": Output("Audit", "AuditWorkGroupName"),
    "audit_output": One("Audit", WORKGROUP, "WorkGroupConfiguration.ResultConfiguration.OutputLocation"),
    "audit_results_key": One("Audit", WORKGROUP,
                             "WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.KmsKey"),
    "auditor_policy": Output("Audit", "AuditorPolicyArn"),
    # Only when audit.cloudwatch_logs is on.
    "trail_log_role": Each("Audit", "AWS::CloudTrail::Trail", "CloudWatchLogsRoleArn"),
    "trail_log_group": Each("Audit", "AWS::Logs::LogGroup", {"name": "@Ref"}),
    # Lake Formation (lake_formation.enabled): each registered zone and the role Lake Formation uses there.
    "lf_location": Each("Catalog", "AWS::LakeFormation::Resource", {"bucket": "ResourceArn", "role": "RoleArn"}),
    # batch transform (when sagemaker.batch_transform.enabled): one record, its state machine's facts
    "batch": Each("SageMaker", PIPELINE, {
        "role": "RoleArn", "run": "DefinitionString#json.States.NameTheRun.Parameters[name.$]",
        "group": "DefinitionString#json.States.FindTheLatestApprovedPackage.Parameters.ModelPackageGroupName",
        "input": "DefinitionString#json.States.ScoreTheConfiguredPrefix.Parameters.uri",
        "subnets": "DefinitionString#json.States.CreateModel.Parameters.VpcConfig.Subnets",
        "output_key": f"{BATCH}.TransformOutput.KmsKeyId",
        "volume_key": f"{BATCH}.TransformResources.VolumeKmsKeyId"}, where=BATCH),
    # inference API (when inference_api.enabled): regional or private, never both
    "regional_api": Each("SageMaker", "AWS::ApiGateway::RestApi",
                         {"id": "@Ref", "type": "EndpointConfiguration.Types[=REGIONAL]"}),
    "private_api": Each("SageMaker", "AWS::ApiGateway::RestApi",
                        {"id": "@Ref", "type": "EndpointConfiguration.Types[=PRIVATE]"}),
    "inference_function": Each("SageMaker", "AWS::Lambda::Function", {
        "arn": "@Arn", "role": "Role", "log_group": "LoggingConfig.LogGroup",
        "endpoint": "Environment.Variables.ENDPOINT_NAME"}),
    "api_invoke_policy": Output("SageMaker", "InferenceApiInvokePolicyArn", optional=True),
}


# ---- who calls ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Role:
    """A role of the app: its identity policies come from the templates."""

    arn: str


@dataclasses.dataclass(frozen=True)
class Service:
    """An AWS service principal: only resource policies can grant it anything."""

    name: str


@dataclasses.dataclass(frozen=True)
class AccountPrincipal:
    """A principal of this account that the app defines no policy for (a person, an application):
    its identity is taken to allow everything, so the hop checks the resource side only (bucket,
    key and topic policies, endpoint policies, explicit denies), plus these template policies."""

    attached: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Holding:
    """A principal of this account holding exactly these managed policies of the app (by ARN)."""

    policies: tuple[str, ...]


PRINCIPALS: dict[str, Role | Service | AccountPrincipal | Holding] = {
    "producer": Holding(("{producer_policy}",)),
    "Firehose delivery role": Role("{firehose_role}"),
    "transform Lambda role": Role("{transform_role}"),
    "CloudWatch Logs": Service("logs.{region}.amazonaws.com"),
    "CloudWatch alarms": Service("cloudwatch.amazonaws.com"),
    "SNS": Service("sns.amazonaws.com"),
    "crawler role": Role("{crawler.role}"),
    "ETL job role": Role("{etl_role}"),
    "analyst": Holding(("{analyst_policy}",)),
    "flow-logs role": Role("{flow_logs_role}"),
    "pipeline role": Role("{pipeline_role.arn}"),
    "deploy role": Role("{deploy_role.arn}"),
    "approval rule role": Role("{rule_role}"),
    "EventBridge": Service("events.amazonaws.com"),
    "SageMaker execution role": Role("{execution_role}"),
    "notebook role": Role("{notebook_role}"),
    "monitor setup role": Role("{monitor.role}"),
    "monitor trigger role": Role("{monitor_trigger.role}"),
    "application": AccountPrincipal(),
    "principal with the VPC guard": AccountPrincipal(attached=("{vpc_guard}",)),
    "CloudTrail": Service("cloudtrail.amazonaws.com"),
    "trail's CloudWatch Logs role": Role("{trail_log_role}"),
    "auditor": Holding(("{auditor_policy}",)),
    "Lake Formation registration role": Role("{lf_location.role}"),
    "batch transform role": Role("{batch.role}"),
    "API Gateway": Service("apigateway.amazonaws.com"),
    "inference Lambda role": Role("{inference_function.role}"),
    "API caller": Holding(("{api_invoke_policy}",)),
}


# ---- hops ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Kms:
    """The KMS call a hop makes AWS perform with the caller's credentials."""

    key: str
    actions: tuple[str, ...]
    via: str | None = None  # the service that calls KMS (kms:ViaService)
    context: Mapping[str, str] = dataclasses.field(default_factory=dict)  # encryption context
    request: Mapping[str, str] = dataclasses.field(default_factory=dict)  # other request keys


@dataclasses.dataclass(frozen=True)
class Hop:
    id: str
    src: str
    dst: str
    principal: str  # a key of PRINCIPALS
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    carries: str
    context: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    kms: Kms | tuple[Kms, ...] | None = None
    endpoint: str | None = None  # VPC endpoint service the call goes through ("s3", "states")
    expect: str = "Allowed"  # or ExplicitlyDenied / ImplicitlyDenied for a hop that must fail
    denied_by: str | None = None  # a deny must come from this statement id (or "vpce")


def sse(key: str) -> dict[str, str]:
    """The headers a writer configured with an SSE-KMS key sends on s3:PutObject."""
    return {"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": key}


def through_s3(key: str, bucket_arn: str, *actions: str) -> Kms:
    # Bucket keys are on: S3 calls KMS with the bucket ARN as encryption context.
    return Kms(key, actions, "s3", {"aws:s3:arn": bucket_arn})


def glue_arns(database: str, table: str) -> tuple[str, ...]:
    base = "arn:aws:glue:{region}:{account}"
    return f"{base}:catalog", f"{base}:database/{database}", f"{base}:table/{database}/{table}"


def log_stream(group: str, stream: str) -> str:
    return f"arn:aws:logs:{{region}}:{{account}}:log-group:{group}:log-stream:{stream}"


def log_group(group: str) -> str:
    return f"arn:aws:logs:{{region}}:{{account}}:log-group:{group}"


FIREHOSE_OBJECT = "{destination}/{destination_prefix|firehose}part-0001.parquet"
CURATED_OBJECT = "{etl_output|s3arn}" + DAY + "/part-00000.snappy.parquet"
RUN = "{run|asl}"
DEPLOY_RUN = "{deploy_run|asl}"
TUNING_RUN = "{tuning_run|asl}"
PACKAGE = "model-package/{model_group}/1"
TRAINED_MODEL = "{train_output|s3arn}" + RUN + "/output/model.tar.gz"
GLUE_JOB_LOGS = "/aws-glue/jobs/{security_configuration}-role/{etl_role|name}/output"
GLUE_CRAWLER_LOGS = "/aws-glue/crawlers-role/{crawler.role|name}-{security_configuration}"
SAGEMAKER = "arn:aws:sagemaker:{region}:{account}"

STREAMING = (
    Hop("stream-01", "producer", "Kinesis stream", "producer",
        ("kinesis:PutRecords", "kinesis:PutRecord", "kinesis:DescribeStreamSummary"), ("{stream}",),
        "sensor readings (JSON or CSV)",
        kms=Kms("{stream_key}", ("kms:GenerateDataKey",), "kinesis", {"aws:kinesis:arn": "{stream}"})),
    Hop("stream-02", "Firehose", "Kinesis stream", "Firehose delivery role",
        ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator",
         "kinesis:GetRecords", "kinesis:ListShards"), ("{stream}",), "records, decrypted by Kinesis",
        kms=Kms("{stream_key}", ("kms:Decrypt",), "kinesis", {"aws:kinesis:arn": "{stream}"})),
    Hop("stream-03", "Firehose", "transform Lambda", "Firehose delivery role",
        ("lambda:InvokeFunction", "lambda:GetFunctionConfiguration"), ("{transform}",), "1 MiB record batches"),
    Hop("stream-04", "transform Lambda", "its log group", "transform Lambda role",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (log_stream("{transform_log_group}", "2026/11/24/[$LATEST]0123456789abcdef"),),
        "rejection reasons (JSON logs)"),
    Hop("stream-05", "Firehose", "Glue table (Parquet schema)", "Firehose delivery role",
        ("glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"), glue_arns("{raw_database}", "{dataset}"),
        "the table's column types"),
    Hop("stream-06", "Firehose", "raw zone (bucket)", "Firehose delivery role",
        ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"), ("{destination}",),
        "bucket listing for multipart uploads"),
    Hop("stream-07", "Firehose", "raw zone: dataset", "Firehose delivery role", ("s3:PutObject",), (FIREHOSE_OBJECT,),
        "Parquet files", context=sse("{destination_key}"),
        kms=through_s3("{destination_key}", "{destination}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("stream-08", "Firehose", "raw zone: errors", "Firehose delivery role", ("s3:PutObject",),
        ("{destination}/{destination_error_prefix|firehose}part-0001",), "records the transform or conversion rejected",
        context=sse("{destination_key}"),
        kms=through_s3("{destination_key}", "{destination}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("stream-09", "Firehose", "raw zone: source backup", "Firehose delivery role", ("s3:PutObject",),
        ("{backup}/{backup_prefix|firehose}part-0001.gz",), "every source record, GZIP",
        context=sse("{backup_key}"), kms=through_s3("{backup_key}", "{backup}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("stream-10", "Firehose", "its delivery log streams", "Firehose delivery role", ("logs:PutLogEvents",),
        (log_stream("{destination_log_group}", "{destination_log_stream}"),
         log_stream("{backup_log_group}", "{backup_log_stream}")), "delivery errors"),
    # Must fail:
    Hop("stream-11", "Firehose", "raw zone, SSE-S3", "Firehose delivery role", ("s3:PutObject",), (FIREHOSE_OBJECT,),
        "an upload asking for SSE-S3", context={"s3:x-amz-server-side-encryption": "AES256"},
        expect="ExplicitlyDenied", denied_by="DenyUploadsNotUsingSseKms"),
    Hop("stream-12", "Firehose", "raw zone, another key", "Firehose delivery role", ("s3:PutObject",),
        (FIREHOSE_OBJECT,), "an upload asking for another KMS key", context=sse("{stream_key}"),
        expect="ExplicitlyDenied", denied_by="DenyUploadsUsingAnotherKmsKey"),
    Hop("stream-13", "Firehose", "raw zone, SSE-C", "Firehose delivery role", ("s3:PutObject",), (FIREHOSE_OBJECT,),
        "an upload with a customer-provided key",
        context={"s3:x-amz-server-side-encryption-customer-algorithm": "AES256"},
        expect="ExplicitlyDenied", denied_by="DenyUploadsUsingSseC"),
    Hop("stream-14", "Firehose", "raw zone over HTTP", "Firehose delivery role", ("s3:PutObject",), (FIREHOSE_OBJECT,),
        "an upload without TLS", context={**sse("{destination_key}"), "aws:SecureTransport": "false"},
        expect="ExplicitlyDenied"),
    Hop("stream-15", "Firehose", "raw zone, outside its prefixes", "Firehose delivery role", ("s3:PutObject",),
        ("{destination}/other_dataset/part-0001.parquet",), "a write to another dataset",
        context=sse("{destination_key}"), expect="ImplicitlyDenied"),
    Hop("stream-16", "transform Lambda", "raw zone", "transform Lambda role", ("s3:GetObject",), (FIREHOSE_OBJECT,),
        "nothing: the transform reads no bucket", expect="ImplicitlyDenied"),
    Hop("stream-17", "Firehose", "lake key, not through S3", "Firehose delivery role", ("kms:Decrypt",),
        ("{destination_key}",), "direct use of the lake key", expect="ImplicitlyDenied"),
)

LOGS_AND_ALARMS = (
    Hop("logs-01", "CloudWatch Logs", "log-group key", "CloudWatch Logs",
        ("kms:GenerateDataKey", "kms:Decrypt"), ("{log_group.key}",), "every encrypted log group of the app",
        context={"kms:EncryptionContext:aws:logs:arn": log_group("{log_group.name}")}),
    Hop("logs-02", "CloudWatch alarm", "alerts topic", "CloudWatch alarms", ("sns:Publish",), ("{alerts_topic}",),
        "ALARM and OK notifications",
        context={"aws:SourceArn": "arn:aws:cloudwatch:{region}:{account}:alarm:{alarm.name}"},
        kms=Kms("{alerts_key}", ("kms:GenerateDataKey", "kms:Decrypt"))),
    Hop("logs-03", "alerts topic", "e-mail dead-letter queue", "SNS", ("sqs:SendMessage",),
        ("{dead_letter_queue.arn}",), "undeliverable notifications", context={"aws:SourceArn": "{alerts_topic}"},
        kms=Kms("{dead_letter_queue.key}", ("kms:GenerateDataKey", "kms:Decrypt"))),
    # Must fail:
    Hop("logs-04", "CloudWatch Logs", "streaming key, another account", "CloudWatch Logs", ("kms:GenerateDataKey",),
        ("{stream_key}",), "a log group of another account",
        context={"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:{region}:444455556666:log-group:borrowed"},
        expect="ImplicitlyDenied"),
    Hop("logs-05", "anyone", "alerts topic over HTTP", "application", ("sns:Publish",), ("{alerts_topic}",),
        "a publish without TLS", context={"aws:SecureTransport": "false"},
        expect="ExplicitlyDenied", denied_by="AllowPublishThroughSSLOnly"),
)

CATALOG = (
    Hop("catalog-01", "crawler", "its zone (bucket)", "crawler role", ("s3:ListBucket",),
        ("{crawler.target|bucketarn}",), "object listing"),
    Hop("catalog-02", "crawler", "its zone (objects)", "crawler role", ("s3:GetObject",),
        ("{crawler.target|s3arn}new_dataset/part-0000.parquet",), "file headers and samples",
        kms=through_s3("{lake_key}", "{crawler.target|bucketarn}", "kms:Decrypt")),
    Hop("catalog-03", "crawler", "its database", "crawler role", ("glue:GetDatabase",),
        glue_arns("{crawler.database}", "new_dataset")[:2], "the target database"),
    Hop("catalog-04", "crawler", "Data Catalog", "crawler role",
        ("glue:GetTable", "glue:CreateTable", "glue:UpdateTable", "glue:BatchCreatePartition"),
        glue_arns("{crawler.database}", "new_dataset"), "inferred tables and partitions"),
    Hop("catalog-05", "crawler", "Glue log group", "crawler role", ("logs:CreateLogGroup", "logs:AssociateKmsKey"),
        (log_group(GLUE_CRAWLER_LOGS),), "crawl logs (encrypted log group)"),
    Hop("catalog-06", "crawler", "Glue log streams", "crawler role", ("logs:CreateLogStream", "logs:PutLogEvents"),
        (log_stream(GLUE_CRAWLER_LOGS, "{crawler.name}"),), "crawl logs"),
    Hop("catalog-07", "ETL job", "its script (CDK assets bucket)", "ETL job role", ("s3:GetObject",),
        ("{etl_script|s3arn}",), "etl/raw_to_curated.py"),
    Hop("catalog-08", "ETL job", "raw zone (bucket)", "ETL job role", ("s3:ListBucket",), ("{destination}",),
        "partition discovery"),
    Hop("catalog-09", "ETL job", "raw zone (what Firehose wrote)", "ETL job role", ("s3:GetObject",),
        (FIREHOSE_OBJECT,), "raw Parquet", kms=through_s3("{lake_key}", "{destination}", "kms:Decrypt")),
    Hop("catalog-10", "ETL job", "curated zone", "ETL job role", ("s3:PutObject",), (CURATED_OBJECT,),
        "deduplicated Parquet by reading date", context=sse("{glue_s3_key}"),
        kms=through_s3("{glue_s3_key}", "{etl_output|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("catalog-11", "ETL job", "job bookmarks", "ETL job role", ("kms:GenerateDataKey", "kms:Decrypt"),
        ("{bookmarks_key}",), "bookmark state (CSE-KMS)"),
    Hop("catalog-12", "ETL job", "Glue job logs", "ETL job role", ("logs:CreateLogStream", "logs:PutLogEvents"),
        (log_stream(GLUE_JOB_LOGS, "jr_0123456789abcdef"),), "continuous job logs"),
    Hop("catalog-13", "CloudWatch Logs", "catalog key (Glue logs)", "CloudWatch Logs",
        ("kms:GenerateDataKey", "kms:Decrypt"), ("{glue_logs_key}",), "Glue's encrypted log groups",
        context={"kms:EncryptionContext:aws:logs:arn": log_group(GLUE_JOB_LOGS)}),
    Hop("catalog-14", "analyst", "Athena (workgroup)", "analyst", ("athena:StartQueryExecution", "athena:GetQueryResults"),
        ("arn:aws:athena:{region}:{account}:workgroup/{workgroup}",), "SQL"),
    Hop("catalog-15", "Athena", "raw zone", "analyst", ("s3:GetObject",), (FIREHOSE_OBJECT,), "scanned Parquet",
        context={"aws:CalledVia": ["athena.amazonaws.com"]},
        kms=through_s3("{lake_key}", "{destination}", "kms:Decrypt")),
    Hop("catalog-16", "Athena", "curated zone", "analyst", ("s3:GetObject",), (CURATED_OBJECT,), "scanned Parquet",
        context={"aws:CalledVia": ["athena.amazonaws.com"]},
        kms=through_s3("{lake_key}", "{etl_output|bucketarn}", "kms:Decrypt")),
    Hop("catalog-17", "Athena (UNLOAD)", "curated zone: training data", "analyst", ("s3:PutObject",),
        ("{train_input|s3arn}20261124_000000_00000_abcde_part-0000",), "training CSV for the pipeline (deploy guide step 5)",
        context={**sse("{athena_key}"), "aws:CalledVia": ["athena.amazonaws.com"]},
        kms=through_s3("{athena_key}", "{train_input|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("catalog-18", "Athena", "results zone", "analyst", ("s3:PutObject",),
        ("{athena_output|s3arn}00000000-1111-2222-3333-444444444444.csv",), "query results",
        context={**sse("{athena_key}"), "aws:CalledVia": ["athena.amazonaws.com"]},
        kms=through_s3("{athena_key}", "{athena_output|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("catalog-19", "Firehose", "encrypted Data Catalog", "Firehose delivery role", ("glue:GetTable",),
        glue_arns("{raw_database}", "{dataset}"), "the schema, when the account's catalog is encrypted",
        kms=Kms("{catalog_key}", ("kms:Decrypt",), "glue")),
    # Must fail:
    Hop("catalog-20", "ETL job", "raw zone (write)", "ETL job role", ("s3:PutObject",), (FIREHOSE_OBJECT,),
        "nothing: the job never writes raw", context=sse("{glue_s3_key}"), expect="ImplicitlyDenied"),
    Hop("catalog-21", "analyst", "curated zone: training data (clear)", "analyst", ("s3:DeleteObject",),
        ("{train_input|s3arn}20261124_000000_00000_abcde_part-0000",),
        "nothing: old training data goes, so an UNLOAD can run again (it needs an empty target)"),
    Hop("catalog-22", "analyst", "curated zone: the curated dataset (delete)", "analyst", ("s3:DeleteObject",),
        (CURATED_OBJECT,), "nothing: analysts read the dataset, they never delete it", expect="ImplicitlyDenied"),
)

ML_NETWORK = (
    Hop("network-01", "VPC flow logs", "flow-log group", "flow-logs role", ("logs:CreateLogStream", "logs:PutLogEvents"),
        (log_stream("{flow_log_group}", "eni-0123456789abcdef0-all"),), "accepted and rejected traffic records"),
    # Must fail:
    Hop("network-02", "workload in the VPC", "a bucket outside the lake", "application", ("s3:PutObject",),
        ("arn:aws:s3:::somebody-elses-bucket/exfiltrated.csv",), "nothing: the S3 endpoint names only lake buckets",
        endpoint="s3", expect="ImplicitlyDenied", denied_by="vpce"),
)

SAGEMAKER_HOPS = (
    Hop("sagemaker-01", "pipeline", "execution role", "pipeline role", ("iam:PassRole",), ("{execution_role}",),
        "the role SageMaker runs jobs and models with", context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Hop("sagemaker-02", "pipeline", "training job", "pipeline role", ("sagemaker:CreateTrainingJob",),
        (f"{SAGEMAKER}:training-job/{RUN}",), "the training request (in the VPC; {train_step})",
        context={"sagemaker:VpcSubnets": "{train_subnets}", "sagemaker:NetworkIsolation": "true",
                 "sagemaker:InterContainerTrafficEncryption": "true",
                 "sagemaker:VolumeKmsKeyArn": "{train_volume_key}", "sagemaker:OutputKmsKeyArn": "{train_output_key}"}),
    Hop("sagemaker-03", "pipeline", "training job (wait)", "pipeline role",
        ("sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:ListTags"),
        (f"{SAGEMAKER}:training-job/{RUN}",), "job status and tags (the .sync integration reads both; {train_step})"),
    Hop("sagemaker-04", "pipeline", "EventBridge rule (.sync)", "pipeline role",
        ("events:PutRule", "events:PutTargets", "events:DescribeRule"),
        ("arn:aws:events:{region}:{account}:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule",),
        "training-job state changes ({train_step})"),
    Hop("sagemaker-05", "deploy", "model", "deploy role", ("sagemaker:CreateModel",), (f"{SAGEMAKER}:model/{DEPLOY_RUN}",),
        "a model from the approved package (in the VPC)",
        context={"sagemaker:VpcSubnets": "{model_subnets}", "sagemaker:NetworkIsolation": "true"}),
    Hop("sagemaker-06", "deploy", "endpoint config", "deploy role", ("sagemaker:CreateEndpointConfig",),
        (f"{SAGEMAKER}:endpoint-config/{DEPLOY_RUN}",), "variants and data capture",
        kms=(Kms("{endpoint_volume_key}", ("kms:DescribeKey",), "sagemaker"),
             Kms("{pipeline_capture_key}", ("kms:DescribeKey",), "sagemaker"))),
    Hop("sagemaker-07", "deploy", "pipeline endpoint", "deploy role",
        ("sagemaker:DescribeEndpoint", "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint"),
        (f"{SAGEMAKER}:endpoint/{{pipeline_endpoint}}",), "the new endpoint config (a failed endpoint is deleted)",
        kms=Kms("{endpoint_volume_key}", ("kms:CreateGrant",), "sagemaker", request={"kms:GrantIsForAWSResource": "true"})),
    Hop("sagemaker-08", "training job", "curated zone (list)", "SageMaker execution role", ("s3:ListBucket",),
        ("{train_input|bucketarn}",), "channel listing", context={"s3:prefix": "{train_input|key}"}, endpoint="s3"),
    Hop("sagemaker-09", "training job", "curated zone: training data", "SageMaker execution role", ("s3:GetObject",),
        ("{train_input|s3arn}part-0000.csv",), "training CSV", endpoint="s3",
        kms=through_s3("{lake_key}", "{train_input|bucketarn}", "kms:Decrypt")),
    Hop("sagemaker-10", "training job", "curated zone: model artifact", "SageMaker execution role", ("s3:PutObject",),
        (TRAINED_MODEL,), "model.tar.gz", context=sse("{train_output_key}"), endpoint="s3",
        kms=through_s3("{train_output_key}", "{train_output|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("sagemaker-11", "training job", "curated zone: checkpoints", "SageMaker execution role", ("s3:PutObject",),
        ("{checkpoints|s3arn}" + RUN + "/checkpoint-1.ckpt",), "spot checkpoints (bucket default SSE-KMS)",
        endpoint="s3", kms=through_s3("{lake_key}", "{checkpoints|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("sagemaker-12", "training job", "ML key", "SageMaker execution role",
        ("kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"), ("{train_volume_key}",),
        "encrypted training volumes"),
    Hop("sagemaker-13", "training job", "ML key (grant)", "SageMaker execution role", ("kms:CreateGrant",),
        ("{train_volume_key}",), "a grant for the volumes' AWS resources",
        context={"kms:GrantIsForAWSResource": "true"}),
    Hop("sagemaker-14", "training job", "its logs", "SageMaker execution role",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (log_stream("/aws/sagemaker/TrainingJobs", RUN + "/algo-1-1732442400"),), "training logs"),
    Hop("sagemaker-15", "training job", "metrics", "SageMaker execution role", ("cloudwatch:PutMetricData",), ("*",),
        "training metrics", context={"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}),
    Hop("sagemaker-16", "model", "trained artifact", "SageMaker execution role", ("s3:GetObject",), (TRAINED_MODEL,),
        "model.tar.gz from the pipeline", endpoint="s3",
        kms=through_s3("{lake_key}", "{train_output|bucketarn}", "kms:Decrypt")),
    Hop("sagemaker-17", "model", "configured artifact", "SageMaker execution role", ("s3:GetObject",),
        ("{model.artifact|s3arn}",), "model.tar.gz named by sagemaker.model_artifact (any bucket)", endpoint="s3"),
    Hop("sagemaker-18", "endpoints (data capture)", "raw zone: data capture", "SageMaker execution role", ("s3:PutObject",),
        ("{capture.uri|s3arn}endpoint/primary/2026/11/24/10/capture-0001.jsonl",), "captured requests and responses",
        context=sse("{capture.key}"), endpoint="s3",
        kms=through_s3("{capture.key}", "{capture.uri|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("sagemaker-19", "application", "pipeline endpoint", "application", ("sagemaker:InvokeEndpoint",),
        (f"{SAGEMAKER}:endpoint/{{pipeline_endpoint}}",), "CSV rows in, class probabilities out"),
    Hop("sagemaker-20", "application", "hosted endpoint", "application", ("sagemaker:InvokeEndpoint",),
        (f"{SAGEMAKER}:endpoint/{{hosted_endpoint}}",), "CSV rows in, class probabilities out"),
    Hop("sagemaker-21", "notebook", "curated zone", "notebook role", ("s3:GetObject",), (CURATED_OBJECT,),
        "curated Parquet", endpoint="s3", kms=through_s3("{lake_key}", "{etl_output|bucketarn}", "kms:Decrypt")),
    Hop("sagemaker-22", "notebook", "pipeline", "notebook role", ("states:StartExecution",), ("{pipeline}",),
        "a training run", endpoint="states"),
    Hop("sagemaker-22b", "notebook", "deployed model", "notebook role", ("sagemaker:DescribeModel",),
        (f"{SAGEMAKER}:model/{DEPLOY_RUN}",), "the model an approved deploy created", endpoint="sagemaker.api"),
    Hop("sagemaker-22c", "notebook", "deployed endpoint config", "notebook role",
        ("sagemaker:DescribeEndpointConfig",), (f"{SAGEMAKER}:endpoint-config/{DEPLOY_RUN}",),
        "what an approved deploy put behind the endpoint", endpoint="sagemaker.api"),
    Hop("sagemaker-23", "principal with the VPC guard", "batch transform job", "principal with the VPC guard",
        ("sagemaker:CreateTransformJob",), (f"{SAGEMAKER}:transform-job/batch-0001",),
        "a batch transform (its request has no VPC keys)"),
    Hop("sagemaker-24", "principal with the VPC guard", "training job in the VPC", "principal with the VPC guard",
        ("sagemaker:CreateTrainingJob",), (f"{SAGEMAKER}:training-job/manual-0001",), "a training request with subnets",
        context={"sagemaker:VpcSubnets": "{train_subnets}"}),
    # Must fail:
    Hop("sagemaker-25", "principal with the VPC guard", "training job outside a VPC", "principal with the VPC guard",
        ("sagemaker:CreateTrainingJob",), (f"{SAGEMAKER}:training-job/manual-0002",),
        "a training request without subnets", expect="ExplicitlyDenied", denied_by="DenySageMakerResourcesOutsideAVpc"),
    Hop("sagemaker-26", "principal with the VPC guard", "model outside a VPC", "principal with the VPC guard",
        ("sagemaker:CreateModel",), (f"{SAGEMAKER}:model/manual-0002",), "a model without subnets",
        expect="ExplicitlyDenied", denied_by="DenySageMakerResourcesOutsideAVpc"),
    Hop("sagemaker-27", "training job", "a bucket outside the lake", "SageMaker execution role", ("s3:GetObject",),
        ("arn:aws:s3:::somebody-elses-bucket/train.csv",), "nothing: training reads only the lake", endpoint="s3",
        expect="ImplicitlyDenied"),
    Hop("sagemaker-28", "pipeline", "execution role to another service", "pipeline role", ("iam:PassRole",),
        ("{execution_role}",), "nothing: the role is passed to SageMaker only",
        context={"iam:PassedToService": "glue.amazonaws.com"}, expect="ImplicitlyDenied"),
)

# CloudTrail's key layout: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz
TRAIL_LOG_FILE = ("arn:aws:s3:::{audit_bucket}/AWSLogs/{account}/CloudTrail/{region}/2026/11/24/"
                  "{account}_CloudTrail_{region}_20261124T1005Z_a1B2c3D4e5F6g7H8.json.gz")
TRAIL_DIGEST_FILE = ("arn:aws:s3:::{audit_bucket}/AWSLogs/{account}/CloudTrail-Digest/{region}/2026/11/24/"
                     "{account}_CloudTrail-Digest_{region}_{audit_bucket}_{region}_20261124T100000Z.json.gz")
FROM_THE_TRAIL = {"aws:SourceArn": "{trail}"}
AS_CLOUDTRAIL_WRITES = {**FROM_THE_TRAIL, "s3:x-amz-acl": "bucket-owner-full-control",
                        "s3:x-amz-server-side-encryption": "aws:kms",
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": "{audit_key}"}
ANOTHER_TRAIL = "arn:aws:cloudtrail:{region}:{account}:trail/another-trail"
TRAIL_KEY = Kms("{audit_key}", ("kms:GenerateDataKey",), context={"aws:cloudtrail:arn": "{trail}"},
                request=FROM_THE_TRAIL)
VIA_ATHENA = {"aws:CalledVia": ["athena.amazonaws.com"]}

AUDIT = (
    Hop("audit-01", "CloudTrail", "audit bucket", "CloudTrail", ("s3:GetBucketAcl",),
        ("arn:aws:s3:::{audit_bucket}",), "the ACL check before delivery", context=FROM_THE_TRAIL),
    Hop("audit-02", "CloudTrail", "audit bucket: log files", "CloudTrail", ("s3:PutObject",), (TRAIL_LOG_FILE,),
        "management and S3 data events (JSON, gzip), SSE-KMS with the trail's key", context=AS_CLOUDTRAIL_WRITES,
        kms=TRAIL_KEY),
    Hop("audit-03", "CloudTrail", "audit bucket: digest files", "CloudTrail", ("s3:PutObject",), (TRAIL_DIGEST_FILE,),
        "hourly signed digests (log-file validation)", context=AS_CLOUDTRAIL_WRITES, kms=TRAIL_KEY),
    Hop("audit-04", "CloudTrail", "audit key", "CloudTrail", ("kms:DescribeKey",), ("{audit_key}",),
        "the key check when the trail is created or updated", context=FROM_THE_TRAIL),
    Hop("audit-05", "CloudTrail", "trail log group", "trail's CloudWatch Logs role",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (log_stream("{trail_log_group.name}", "{account}_CloudTrail_{region}"),
         log_stream("{trail_log_group.name}", "{account}_CloudTrail_us-east-1")),
        "events, one stream per recorded region (audit.cloudwatch_logs)"),
    Hop("audit-06", "auditor", "Athena (audit workgroup)", "auditor",
        ("athena:StartQueryExecution", "athena:GetQueryResults", "athena:GetNamedQuery"),
        ("arn:aws:athena:{region}:{account}:workgroup/{audit_workgroup}",), "the saved audit queries"),
    Hop("audit-07", "auditor", "audit database: trail table", "auditor", ("glue:GetTable", "glue:GetPartitions"),
        glue_arns("{audit_database}", "cloudtrail"), "the CloudTrail columns and projection"),
    Hop("audit-08", "Athena", "audit bucket (list)", "auditor", ("s3:ListBucket",), ("arn:aws:s3:::{audit_bucket}",),
        "the projected day's files", context=VIA_ATHENA),
    Hop("audit-09", "Athena", "audit bucket: log files", "auditor", ("s3:GetObject",), (TRAIL_LOG_FILE,),
        "scanned log files", context=VIA_ATHENA,
        kms=Kms("{audit_key}", ("kms:Decrypt",), "s3", {"aws:cloudtrail:arn": "{trail}"})),
    Hop("audit-10", "Athena", "results zone: audit results", "auditor", ("s3:PutObject",),
        ("{audit_output|s3arn}00000000-1111-2222-3333-444444444444.csv",), "query results",
        context={**sse("{audit_results_key}"), **VIA_ATHENA},
        kms=through_s3("{audit_results_key}", "{audit_output|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    # Must fail:
    Hop("audit-11", "another trail", "audit bucket: log files", "CloudTrail", ("s3:PutObject",), (TRAIL_LOG_FILE,),
        "nothing: only this trail writes here", context={**AS_CLOUDTRAIL_WRITES, "aws:SourceArn": ANOTHER_TRAIL},
        expect="ImplicitlyDenied"),
    Hop("audit-12", "another trail", "audit bucket (ACL check)", "CloudTrail", ("s3:GetBucketAcl",),
        ("arn:aws:s3:::{audit_bucket}",), "nothing: only this trail", context={"aws:SourceArn": ANOTHER_TRAIL},
        expect="ImplicitlyDenied"),
    Hop("audit-13", "another trail", "audit key", "CloudTrail", ("kms:GenerateDataKey",), ("{audit_key}",),
        "nothing: only this trail encrypts with the key",
        context={"aws:SourceArn": ANOTHER_TRAIL, "kms:EncryptionContext:aws:cloudtrail:arn": ANOTHER_TRAIL},
        expect="ImplicitlyDenied"),
    Hop("audit-14", "CloudTrail", "audit bucket, another account's prefix", "CloudTrail", ("s3:PutObject",),
        ("arn:aws:s3:::{audit_bucket}/AWSLogs/444455556666/CloudTrail/{region}/2026/11/24/x.json.gz",),
        "nothing: only this account's log files", context=AS_CLOUDTRAIL_WRITES, expect="ImplicitlyDenied"),
    Hop("audit-15", "CloudTrail", "audit bucket, without the owner ACL", "CloudTrail", ("s3:PutObject",),
        (TRAIL_LOG_FILE,), "nothing: CloudTrail always sends bucket-owner-full-control",
        context={**AS_CLOUDTRAIL_WRITES, "s3:x-amz-acl": "private"}, expect="ImplicitlyDenied"),
    Hop("audit-16", "anyone", "audit bucket over HTTP", "application", ("s3:GetObject",), (TRAIL_LOG_FILE,),
        "a read without TLS", context={"aws:SecureTransport": "false"}, expect="ExplicitlyDenied"),
    Hop("audit-17", "analyst", "audit bucket: log files", "analyst", ("s3:GetObject",), (TRAIL_LOG_FILE,),
        "nothing: the lake's analysts do not read the trail", context=VIA_ATHENA, expect="ImplicitlyDenied"),
    Hop("audit-18", "auditor", "audit bucket: delete a log file", "auditor", ("s3:DeleteObject",), (TRAIL_LOG_FILE,),
        "nothing: auditors read the trail, they never change it", expect="ImplicitlyDenied"),
    Hop("audit-19", "auditor", "audit key, not through S3", "auditor", ("kms:Decrypt",), ("{audit_key}",),
        "direct use of the trail's key", context={"kms:EncryptionContext:aws:cloudtrail:arn": "{trail}"},
        expect="ImplicitlyDenied"),
    Hop("audit-20", "CloudTrail", "another log group", "trail's CloudWatch Logs role", ("logs:PutLogEvents",),
        (log_stream("{transform_log_group}", "{account}_CloudTrail_{region}"),),
        "nothing: the role writes only the trail's log group", expect="ImplicitlyDenied"),
)

LF_OBJECT = "{lf_location.bucket}/sensor_readings/" + DAY + "/part-0001.parquet"
LAKE_FORMATION = (  # only where lake_formation.enabled (its facts have no record otherwise)
    # Lake Formation reads and writes a registered zone with its registration role when it vends
    # credentials to an opted-in principal (Athena, Glue, EMR): the zones are SSE-KMS with the lake key.
    Hop("lakeformation-01", "Lake Formation", "registered zone (bucket)", "Lake Formation registration role",
        ("s3:ListBucket",), ("{lf_location.bucket}",), "listings for vended credentials"),
    Hop("lakeformation-02", "Lake Formation", "registered zone (objects)", "Lake Formation registration role",
        ("s3:GetObject",), (LF_OBJECT,), "table data read with vended credentials",
        kms=through_s3("{lake_key}", "{lf_location.bucket}", "kms:Decrypt")),
    Hop("lakeformation-03", "Lake Formation", "registered zone (write)", "Lake Formation registration role",
        ("s3:PutObject",), (LF_OBJECT,), "table data written with vended credentials", context=sse("{lake_key}"),
        kms=through_s3("{lake_key}", "{lf_location.bucket}", "kms:GenerateDataKey", "kms:Decrypt")),
    # Must fail:
    Hop("lakeformation-04", "Lake Formation", "results zone (not registered)", "Lake Formation registration role",
        ("s3:GetObject",), ("arn:aws:s3:::{results_bucket}/athena/query-0001.csv",),
        "nothing: query results are not a registered location", expect="ImplicitlyDenied"),
    Hop("lakeformation-05", "Lake Formation", "lake key, not through S3", "Lake Formation registration role",
        ("kms:Decrypt",), ("{lake_key}",), "nothing: the lake key only through S3", expect="ImplicitlyDenied"),
)
BATCH_RUN = "{batch.run|asl}"
# SageMaker writes `<output path><input key relative to the input prefix>.out`.
PREDICTIONS = "arn:aws:s3:::{results_bucket}/batch-predictions/" + BATCH_RUN + "/part-0000.csv.out"
BATCH_TRANSFORM_HOPS = (
    Hop("batch-01", "batch transform", "model registry (find)", "batch transform role",
        ("sagemaker:ListModelPackages",), ("*",), "the latest Approved package of the group"),
    Hop("batch-02", "batch transform", "model registry (a package of the group)", "batch transform role",
        ("sagemaker:DescribeModelPackage",), (f"{SAGEMAKER}:model-package/{{batch.group}}/3",),
        "its approval status"),
    Hop("batch-03", "batch transform", "execution role", "batch transform role", ("iam:PassRole",),
        ("{execution_role}",), "the role the model and the job run as",
        context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Hop("batch-04", "batch transform", "the run's model (from the package)", "batch transform role",
        ("sagemaker:CreateModel",), (f"{SAGEMAKER}:model/{BATCH_RUN}",), "the package's container (in the VPC)",
        context={"sagemaker:VpcSubnets": "{batch.subnets}", "sagemaker:NetworkIsolation": "true"}),
    Hop("batch-05", "batch transform", "transform job", "batch transform role",
        ("sagemaker:CreateTransformJob",), (f"{SAGEMAKER}:transform-job/{BATCH_RUN}",),
        "the transform request (volume and output keys)",
        context={"sagemaker:VolumeKmsKeyArn": "{batch.volume_key}", "sagemaker:OutputKmsKeyArn": "{batch.output_key}"}),
    Hop("batch-05b", "batch transform", "transform job (wait)", "batch transform role",
        ("sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:ListTags"),
        (f"{SAGEMAKER}:transform-job/{BATCH_RUN}",), "job status and tags (the .sync integration reads both)"),
    Hop("batch-06", "batch transform", "EventBridge rule (.sync)", "batch transform role",
        ("events:PutRule", "events:PutTargets", "events:DescribeRule"),
        ("arn:aws:events:{region}:{account}:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule",),
        "transform-job state changes"),
    Hop("batch-07", "batch transform", "the run's model (clean up)", "batch transform role",
        ("sagemaker:DeleteModel",), (f"{SAGEMAKER}:model/{BATCH_RUN}",), "nothing: the model is deleted"),
    Hop("batch-08", "transform job", "curated zone (list)", "SageMaker execution role", ("s3:ListBucket",),
        ("{batch.input|bucketarn}",), "input listing", context={"s3:prefix": "{batch.input|key}"}, endpoint="s3"),
    Hop("batch-09", "transform job", "curated zone: input prefix", "SageMaker execution role", ("s3:GetObject",),
        ("{batch.input|s3arn}part-0000.csv",), "label-first CSV lines", endpoint="s3",
        kms=through_s3("{lake_key}", "{batch.input|bucketarn}", "kms:Decrypt")),
    Hop("batch-10", "transform job", "results zone: predictions", "SageMaker execution role", ("s3:PutObject",),
        (PREDICTIONS,), "label and prediction per line (.out files)", context=sse("{batch.output_key}"),
        endpoint="s3",
        kms=through_s3("{batch.output_key}", "arn:aws:s3:::{results_bucket}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("batch-11", "transform job", "ML key (volumes)", "SageMaker execution role",
        ("kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"), ("{batch.volume_key}",),
        "encrypted transform volumes"),
    # Must fail:
    Hop("batch-12", "transform job", "curated zone outside the input prefix", "SageMaker execution role",
        ("s3:GetObject",), (CURATED_OBJECT,), "nothing: the job reads only its input prefix", endpoint="s3",
        expect="ImplicitlyDenied"),
    Hop("batch-13", "transform job", "results zone outside the predictions prefix", "SageMaker execution role",
        ("s3:PutObject",), ("arn:aws:s3:::{results_bucket}/athena/" + BATCH_RUN + ".csv",),
        "nothing: predictions go under batch-predictions/ only", context=sse("{batch.output_key}"), endpoint="s3",
        expect="ImplicitlyDenied"),
    Hop("batch-14", "batch transform", "a package of another group", "batch transform role",
        ("sagemaker:DescribeModelPackage",), (f"{SAGEMAKER}:model-package/somebody-elses-models/1",),
        "nothing: only the registry group's packages are used", expect="ImplicitlyDenied"),
    Hop("batch-15", "batch transform", "a model that is not the run's", "batch transform role",
        ("sagemaker:CreateModel",), (f"{SAGEMAKER}:model/somebody-elses-model",),
        "nothing: the role creates its runs' models only",
        context={"sagemaker:VpcSubnets": "{batch.subnets}", "sagemaker:NetworkIsolation": "true"},
        expect="ImplicitlyDenied"),
    Hop("batch-15b", "batch transform", "a model that is not the run's (delete)", "batch transform role",
        ("sagemaker:DeleteModel",), (f"{SAGEMAKER}:model/somebody-elses-model",),
        "nothing: the role deletes its runs' models only", expect="ImplicitlyDenied"),
    Hop("batch-16", "batch transform", "model outside a VPC", "batch transform role", ("sagemaker:CreateModel",),
        (f"{SAGEMAKER}:model/{BATCH_RUN}",), "nothing: the VPC guard ({vpc_guard}) is attached to this role too",
        expect="ExplicitlyDenied", denied_by="DenySageMakerResourcesOutsideAVpc"),
    Hop("batch-17", "batch transform", "execution role to another service", "batch transform role",
        ("iam:PassRole",), ("{execution_role}",), "nothing: the role is passed to SageMaker only",
        context={"iam:PassedToService": "glue.amazonaws.com"}, expect="ImplicitlyDenied"),
)
MONITOR_RUN = "{monitor.run|asl}"
MODEL_MONITOR_HOPS = (
    Hop("monitor-01", "state-change EventBridge rule", "monitor setup", "monitor trigger role", ("states:StartExecution",),
        ("{monitor_trigger.machine}",), "the endpoint's state-change event"),
    Hop("monitor-02", "state-change EventBridge rule", "undelivered-trigger queue", "EventBridge", ("sqs:SendMessage",),
        ("{monitor_queue.arn}",), "an event the rule could not deliver after its retries",
        context={"aws:SourceArn": "{monitor_trigger.arn}"},
        kms=Kms("{monitor_queue.key}", ("kms:GenerateDataKey", "kms:Decrypt"),
                request={"aws:SourceArn": "{monitor_trigger.arn}"})),
    Hop("monitor-03", "monitor setup", "execution role", "monitor setup role", ("iam:PassRole",), ("{execution_role}",),
        "the role the baseline and scheduled jobs run as", context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Hop("monitor-04", "monitor setup", "baseline job", "monitor setup role",
        ("sagemaker:CreateProcessingJob",), (f"{SAGEMAKER}:processing-job/{MONITOR_RUN}",),
        "the baseline request (in the VPC)",
        context={"sagemaker:VpcSubnets": "{monitor.subnets}", "sagemaker:NetworkIsolation": "true",
                 "sagemaker:InterContainerTrafficEncryption": "true",
                 "sagemaker:VolumeKmsKeyArn": "{monitor.volume_key}", "sagemaker:OutputKmsKeyArn": "{monitor.baseline_key}"},
        kms=(Kms("{monitor.volume_key}", ("kms:DescribeKey",), "sagemaker"),
             Kms("{monitor.baseline_key}", ("kms:DescribeKey",), "sagemaker"))),
    Hop("monitor-05", "monitor setup", "baseline job (wait)", "monitor setup role",
        ("sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:ListTags"),
        (f"{SAGEMAKER}:processing-job/{MONITOR_RUN}",), "job status and tags (the .sync integration)"),
    Hop("monitor-06", "monitor setup", "EventBridge rule (.sync)", "monitor setup role",
        ("events:PutRule", "events:PutTargets", "events:DescribeRule"),
        ("arn:aws:events:{region}:{account}:rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule",),
        "processing-job state changes"),
    Hop("monitor-07", "monitor setup", "monitoring schedule (find)", "monitor setup role",
        ("sagemaker:DescribeMonitoringSchedule",), (f"{SAGEMAKER}:monitoring-schedule/{{monitor.schedule}}",),
        "whether to create or update it"),
    Hop("monitor-08", "monitor setup", "monitoring schedule", "monitor setup role",
        ("sagemaker:CreateMonitoringSchedule", "sagemaker:UpdateMonitoringSchedule"),
        (f"{SAGEMAKER}:monitoring-schedule/{{monitor.schedule}}",),
        "the schedule over the endpoint's captured requests (in the VPC)",
        context={"sagemaker:VpcSubnets": "{monitor.schedule_subnets}", "sagemaker:NetworkIsolation": "true",
                 "sagemaker:InterContainerTrafficEncryption": "true"}),
    Hop("monitor-09", "baseline job", "curated zone: baseline input (list)", "SageMaker execution role",
        ("s3:ListBucket",), ("{monitor.input|bucketarn}",), "the features-only CSV's objects",
        context={"s3:prefix": "{monitor.input|key}"}, endpoint="s3"),
    Hop("monitor-10", "baseline job", "curated zone: baseline input", "SageMaker execution role", ("s3:GetObject",),
        ("{monitor.input|s3arn}20261124_000000_00000_abcde_part-0000",), "features-only CSV (deploy guide step 5)",
        endpoint="s3", kms=through_s3("{lake_key}", "{monitor.input|bucketarn}", "kms:Decrypt")),
    Hop("monitor-11", "baseline job", "curated zone: baseline", "SageMaker execution role", ("s3:PutObject",),
        ("{monitor.baseline|s3arn}/statistics.json", "{monitor.baseline|s3arn}/constraints.json"),
        "statistics and constraints", context=sse("{monitor.baseline_key}"), endpoint="s3",
        kms=through_s3("{monitor.baseline_key}", "{monitor.baseline|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("monitor-12", "monitoring job", "raw zone: data capture (list)", "SageMaker execution role", ("s3:ListBucket",),
        ("{pipeline_capture.uri|bucketarn}",), "the hour's captured requests",
        context={"s3:prefix": "{pipeline_capture.uri|key}{monitor.endpoint}/primary/2026/11/24/10/"}, endpoint="s3"),
    Hop("monitor-13", "monitoring job", "raw zone: data capture", "SageMaker execution role", ("s3:GetObject",),
        ("{pipeline_capture.uri|s3arn}{monitor.endpoint}/primary/2026/11/24/10/capture-0001.jsonl",),
        "captured requests", endpoint="s3",
        kms=through_s3("{pipeline_capture.key}", "{pipeline_capture.uri|bucketarn}", "kms:Decrypt")),
    Hop("monitor-14", "monitoring job", "curated zone: baseline", "SageMaker execution role", ("s3:GetObject",),
        ("{monitor.baseline|s3arn}/constraints.json",), "the constraints to check", endpoint="s3",
        kms=through_s3("{lake_key}", "{monitor.baseline|bucketarn}", "kms:Decrypt")),
    Hop("monitor-15", "monitoring job", "curated zone: reports", "SageMaker execution role", ("s3:PutObject",),
        ("{monitor.reports|s3arn}/2026/11/24/10/constraint_violations.json",), "statistics and violations of the hour",
        context=sse("{monitor.reports_key}"), endpoint="s3",
        kms=through_s3("{monitor.reports_key}", "{monitor.reports|bucketarn}", "kms:GenerateDataKey", "kms:Decrypt")),
    Hop("monitor-16", "principal with the VPC guard", "monitoring schedule in the VPC", "principal with the VPC guard",
        ("sagemaker:CreateMonitoringSchedule",), (f"{SAGEMAKER}:monitoring-schedule/manual-0001",),
        "a schedule whose jobs have subnets", context={"sagemaker:VpcSubnets": "{train_subnets}"}),
    # Must fail:
    Hop("monitor-17", "principal with the VPC guard", "monitoring schedule outside a VPC", "principal with the VPC guard",
        ("sagemaker:CreateMonitoringSchedule", "sagemaker:UpdateMonitoringSchedule"),
        (f"{SAGEMAKER}:monitoring-schedule/manual-0002",), "a schedule whose jobs have no subnets",
        expect="ExplicitlyDenied", denied_by="DenySageMakerResourcesOutsideAVpc"),
    Hop("monitor-18", "monitor setup", "another endpoint's schedule", "monitor setup role",
        ("sagemaker:CreateMonitoringSchedule",), (f"{SAGEMAKER}:monitoring-schedule/someone-elses-schedule",),
        "nothing: the setup manages its own endpoint's schedule only",
        context={"sagemaker:VpcSubnets": "{monitor.schedule_subnets}"}, expect="ImplicitlyDenied"),
    Hop("monitor-19", "monitoring job", "curated zone: curated dataset (write)", "SageMaker execution role",
        ("s3:PutObject",), (CURATED_OBJECT,), "nothing: monitoring writes only under monitoring/",
        context=sse("{monitor.reports_key}"), endpoint="s3", expect="ImplicitlyDenied"),
)
def api_method(api: str, method: str = "POST/predictions") -> str:
    return f"arn:aws:execute-api:{{region}}:{{account}}:{{{api}.id}}/v1/{method}"


INFERENCE_API = (
    Hop("api-01", "inference API", "inference Lambda", "API Gateway", ("lambda:InvokeFunction",),
        ("{inference_function.arn}",), "the caller's JSON request (proxy event)",
        context={"aws:SourceArn": api_method("regional_api"), "aws:SourceAccount": "{account}"}),
    Hop("api-02", "private inference API", "inference Lambda", "API Gateway", ("lambda:InvokeFunction",),
        ("{inference_function.arn}",), "the caller's JSON request (proxy event)",
        context={"aws:SourceArn": api_method("private_api"), "aws:SourceAccount": "{account}"}),
    Hop("api-03", "inference Lambda", "pipeline endpoint", "inference Lambda role", ("sagemaker:InvokeEndpoint",),
        (f"{SAGEMAKER}:endpoint/{{inference_function.endpoint}}",), "CSV rows in the features' order",
        endpoint="sagemaker.runtime"),
    Hop("api-04", "inference Lambda", "its log group", "inference Lambda role",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (log_stream("{inference_function.log_group}", "2026/11/24/[$LATEST]0123456789abcdef"),),
        "one structured line per request (no payload)"),
    Hop("api-05", "application", "inference API", "API caller", ("execute-api:Invoke",), (api_method("regional_api"),),
        "a SigV4-signed JSON request"),
    Hop("api-06", "workload in the VPC", "private inference API", "API caller", ("execute-api:Invoke",),
        (api_method("private_api"),), "a SigV4-signed JSON request through the execute-api endpoint",
        endpoint="execute-api"),
    # Must fail:
    Hop("api-07", "inference Lambda", "another endpoint", "inference Lambda role", ("sagemaker:InvokeEndpoint",),
        (f"{SAGEMAKER}:endpoint/another-endpoint",), "nothing: the function invokes its endpoint only",
        endpoint="sagemaker.runtime", expect="ImplicitlyDenied"),
    Hop("api-08", "API Gateway, another API", "inference Lambda", "API Gateway", ("lambda:InvokeFunction",),
        ("{inference_function.arn}",), "nothing: only this API's POST /predictions may invoke it",
        context={"aws:SourceArn": "arn:aws:execute-api:{region}:{account}:otherapi01/v1/POST/predictions",
                 "aws:SourceAccount": "{account}"}, expect="ImplicitlyDenied"),
    Hop("api-09", "application", "another method of the API", "API caller", ("execute-api:Invoke",),
        (api_method("regional_api", "DELETE/predictions"),), "nothing: the policy names POST /predictions only",
        expect="ImplicitlyDenied"),
    Hop("api-10", "outside the VPC", "private inference API", "API caller", ("execute-api:Invoke",),
        (api_method("private_api"),), "nothing: the private API refuses calls not through its VPC endpoint",
        expect="ExplicitlyDenied", denied_by="DenyCallsNotThroughTheVpcEndpoint"),
)
LIFECYCLE = (
    Hop("lifecycle-01", "pipeline", "model registry group", "pipeline role", ("sagemaker:CreateModelPackage",),
        (f"{SAGEMAKER}:{PACKAGE}",),
        "the trained (or best tuned) model, PendingManualApproval"),
    Hop("lifecycle-02", "pipeline", "its package (automatic approval)", "pipeline role",
        ("sagemaker:UpdateModelPackage",), (f"{SAGEMAKER}:{PACKAGE}",),
        "ModelApprovalStatus {automatic_approval} (sagemaker.registry.approval automatic only)"),
    Hop("lifecycle-03", "approval rule", "deploy", "approval rule role", ("states:StartExecution",), ("{deploy}",),
        "the approval event (package ARN)"),
    Hop("lifecycle-04", "approval rule", "deploy dead-letter queue", "EventBridge", ("sqs:SendMessage",),
        ("{deploy_queue}",), "approval events it could not deliver", context={"aws:SourceArn": "{rule}"},
        kms=Kms("{deploy_queue_key}", ("kms:GenerateDataKey", "kms:Decrypt"))),
    Hop("lifecycle-05", "deploy", "approved package", "deploy role", ("sagemaker:DescribeModelPackage",),
        (f"{SAGEMAKER}:{PACKAGE}",), "its approval status and group, checked before deploying"),
    Hop("lifecycle-06", "deploy", "execution role", "deploy role", ("iam:PassRole",), ("{execution_role}",),
        "the role the model runs with (CreateModel)", context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Hop("lifecycle-12", "pipeline", "tuning job", "pipeline role", ("sagemaker:CreateHyperParameterTuningJob",),
        (f"{SAGEMAKER}:hyper-parameter-tuning-job/{TUNING_RUN}",),
        "the tuning request: the training job definition, in the VPC (sagemaker.tuning.enabled)",
        context={"sagemaker:VpcSubnets": "{train_subnets}", "sagemaker:NetworkIsolation": "true",
                 "sagemaker:InterContainerTrafficEncryption": "true"}),
    Hop("lifecycle-13", "pipeline", "tuning job (wait, best job)", "pipeline role",
        ("sagemaker:DescribeHyperParameterTuningJob", "sagemaker:StopHyperParameterTuningJob",
         "sagemaker:ListTrainingJobsForHyperParameterTuningJob", "sagemaker:ListTags"),
        (f"{SAGEMAKER}:hyper-parameter-tuning-job/{TUNING_RUN}",), "status and the best training job"),
    Hop("lifecycle-14", "pipeline", "best training job", "pipeline role", ("sagemaker:DescribeTrainingJob",),
        (f"{SAGEMAKER}:training-job/{TUNING_RUN}-003-1a2b3c4d",), "the best job's model artifact"),
    Hop("lifecycle-15", "pipeline", "EventBridge rule (tuning .sync)", "pipeline role",
        ("events:PutRule", "events:PutTargets", "events:DescribeRule"),
        ("arn:aws:events:{region}:{account}:rule/StepFunctionsGetEventsForSageMakerTuningJobsRule",),
        f"state changes of tuning jobs such as {TUNING_RUN}"),
    # Must fail:
    Hop("lifecycle-07", "deploy", "approve a package", "deploy role", ("sagemaker:UpdateModelPackage",),
        (f"{SAGEMAKER}:{PACKAGE}",), "nothing: deploying cannot approve", expect="ImplicitlyDenied"),
    Hop("lifecycle-08", "deploy", "another group's package", "deploy role",
        ("sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"),
        (f"{SAGEMAKER}:model-package/someone-elses-models/1",), "nothing: only this group's packages",
        expect="ImplicitlyDenied"),
    Hop("lifecycle-09", "pipeline", "another group", "pipeline role", ("sagemaker:CreateModelPackage",),
        (f"{SAGEMAKER}:model-package/someone-elses-models/1",), "nothing: it registers in its group only",
        expect="ImplicitlyDenied"),
    Hop("lifecycle-10", "approval rule", "training pipeline", "approval rule role", ("states:StartExecution",),
        ("{pipeline}",), "nothing: the rule starts deploys only", expect="ImplicitlyDenied"),
    Hop("lifecycle-11", "deploy", "model outside the VPC", "deploy role", ("sagemaker:CreateModel",),
        (f"{SAGEMAKER}:model/{DEPLOY_RUN}",), "nothing without subnets: the VPC guard {vpc_guard} binds the deploy too",
        expect="ExplicitlyDenied",
        denied_by="DenySageMakerResourcesOutsideAVpc"),
)

ARCHITECTURES: dict[str, tuple[Hop, ...]] = {
    "Streaming ingestion into the data lake": STREAMING,
    "Logs and alarms": LOGS_AND_ALARMS,
    "Catalog and Athena": CATALOG,
    "ML network": ML_NETWORK,
    "SageMaker": SAGEMAKER_HOPS,
    "Audit trail": AUDIT,
    "Lake Formation": LAKE_FORMATION,
    "Batch transform": BATCH_TRANSFORM_HOPS,
    "Model Monitor": MODEL_MONITOR_HOPS,
    "Inference API": INFERENCE_API,
    "Model registry and approved deploys": LIFECYCLE,
}
HOPS: tuple[Hop, ...] = tuple(hop for hops in ARCHITECTURES.values() for hop in hops)


# ---- docs/data-paths.md -------------------------------------------------------------------------
INTRO = """\
# Data paths once deployed

Generated from `scripts/data_paths.py` by `python -m scripts.docs --write`; a test fails when this
file is stale.

Every hop below is one call data makes once the stacks are deployed: a principal, an action, a
concrete resource, the request context the caller really sends, the KMS key AWS then uses with the
caller's credentials, and the VPC endpoint the call goes through. `tests/test_data_path.py`
resolves every `{placeholder}` from the synthesized templates of the `sandbox`, `prod` and a fully
overridden profile (account 111122223333, eu-west-1) and evaluates each request the way IAM does,
with [`@cloud-copilot/iam-simulate`](https://github.com/cloud-copilot/iam-simulate) 0.1.173
(a test-only devDependency; its license is AGPL-3.0 and nothing of it is shipped):

- **identity policies** of the calling role (inline, attached managed policies, AWS::IAM::Policy);
- **resource policies**: the zone bucket policies (TLS only, TLS 1.2, no SSE-S3, no other KMS key,
  no SSE-C), the key policies, the alerts topic and dead-letter queue policies; in one account,
  the identity *or* the resource policy may allow; a service principal only by the resource policy;
- **KMS**: the key policy must allow directly, or delegate to the account (its root statement) and
  then the identity policies must allow, with the `kms:ViaService` and encryption context the
  calling service sends;
- **VPC endpoint policies** for calls from the isolated VPC (AWS's full-access default when an
  endpoint has none): the endpoint policy must allow too;
- **explicit denies** anywhere decide, with the condition operators the templates use (`Null`,
  negated operators on absent keys, `ArnLike`, `NumericLessThan` on `s3:TlsVersion`...).

Hops marked *must be denied* prove the guard rails: each must be refused, and, where named, by
that statement.

What this cannot prove: it is not a deploy. Network reachability (routes, security groups, DNS),
service-side behaviour (what a service really sends, retries, formats), quotas, eventual
consistency, the SCPs and RCPs of the real account, and policies of resources outside the app
(the CDK assets bucket, a model bucket named by `sagemaker.model_artifact`) are out of its reach.
The producer and the analyst hold only the managed policies the app exports for them (Streaming
output `ProducerPolicyArn`, Catalog output `AnalystPolicyArn`). A principal the app defines no
policy for (an application invoking an endpoint) is taken to hold an allow-all identity policy, so
those hops check the resource side only. Lake Formation's own grants (when `lake_formation.enabled`)
are a second authorization layer the evaluator does not model: its hops check the registration
role's S3 and KMS access on the registered zones; the grants are asserted on the template
(`tests/test_lake_formation.py`).
"""


def _code(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return f"`{text}`".replace("|", "\\|")


def _context(context: Mapping[str, Any]) -> str:
    return "<br>".join(f"{_code(k)} = {_code(v)}" for k, v in context.items()) or "–"


def _kms(kms: Kms | tuple[Kms, ...] | None) -> str:
    if kms is None:
        return "–"
    if isinstance(kms, tuple):
        return "<br>".join(map(_kms, kms))
    via = f" via {kms.via}" if kms.via else ""
    context = "".join(f"<br>{_code('kms:EncryptionContext:' + k)} = {_code(v)}" for k, v in kms.context.items())
    request = "".join(f"<br>{_code(k)} = {_code(v)}" for k, v in kms.request.items())
    return f"{_code(kms.key)}: {', '.join(a.removeprefix('kms:') for a in kms.actions)}{via}{context}{request}"


def _principal(name: str) -> str:
    spec = PRINCIPALS[name]
    if isinstance(spec, Role):
        return f"role {_code(spec.arn)} (policies from the templates)"
    if isinstance(spec, Service):
        return f"service principal {_code(spec.name)}"
    if isinstance(spec, Holding):
        return f"a principal holding only {', '.join(map(_code, spec.policies))}"
    attached = f" plus the template's {', '.join(map(_code, spec.attached))}" if spec.attached else ""
    return f"any principal of the account: an allow-all identity policy{attached}, so the hop checks the rest"


def markdown() -> str:
    lines = [INTRO, "## Facts read from the templates", "", "| placeholder | where |", "|---|---|"]
    for name, locator in FACTS.items():
        where = " and ".join(map(str, locator)) if isinstance(locator, tuple) else str(locator)
        lines.append(f"| `{{{name}}}` | {where} |")
    lines += ["", f"Fixed: `{{account}}` 111122223333, `{{region}}` eu-west-1, `States.UUID()` `{UUID}`.", "",
              "## Principals", "", "| principal | who |", "|---|---|"]
    lines += [f"| {name} | {_principal(name)} |" for name in PRINCIPALS]
    for title, hops in ARCHITECTURES.items():
        allowed = [h for h in hops if h.expect == "Allowed"]
        denied = [h for h in hops if h.expect != "Allowed"]
        lines += ["", f"## {title}", "",
                  "| hop | from → to | principal | actions | resources | context | KMS | VPC endpoint | carries |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {h.id} | {h.src} → {h.dst} | {h.principal} | {', '.join(h.actions)} | "
                  f"{'<br>'.join(map(_code, h.resources))} | {_context(h.context)} | {_kms(h.kms)} | "
                  f"{h.endpoint or '–'} | {h.carries} |" for h in allowed]
        if denied:
            lines += ["", "Must be denied:", "",
                      "| hop | from → to | principal | actions | resources | context | VPC endpoint | result | decided by |",
                      "|---|---|---|---|---|---|---|---|---|"]
            lines += [f"| {h.id} | {h.src} → {h.dst} | {h.principal} | {', '.join(h.actions)} | "
                      f"{'<br>'.join(map(_code, h.resources))} | {_context(h.context)} | {h.endpoint or '–'} | "
                      f"{h.expect} | {_code(h.denied_by) if h.denied_by else '–'} |" for h in denied]
    return "\n".join(lines) + "\n"
