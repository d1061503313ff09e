"""SageMaker building blocks, all inside the isolated VPC, one construct per capability.

- XgboostImage: the built-in XGBoost container URI of the deployment region (a CloudFormation
  mapping generated from the SageMaker SDK, so the stack stays environment-agnostic).
- SageMakerExecution: the execution role SageMaker assumes, scoped to the lake prefixes and keys
  it needs, and the optional guard that denies jobs and models outside the VPC.
- TrainingPipeline: Step Functions train -> create model -> endpoint config -> create or update.
- RealtimeEndpoint: model(s), endpoint config with data capture, endpoint, autoscaling, alarms.
- PrivateNotebook: a notebook instance in the VPC, no internet, no root, encrypted volume.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnMapping, Duration
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from config.settings import SageMakerSettings, VariantSettings
from patterns.alerts import AlertsTopic
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.keys import removal_policy
from patterns.log_groups import encrypted_log_group
from patterns.roles import depend_on_policy_only, service_role

IMAGE_MAP = Path(__file__).resolve().parent / "xgboost_images.json"
MODELS_PREFIX = "models/"
CHECKPOINTS_PREFIX = "checkpoints/"
DATA_CAPTURE_PREFIX = "data-capture/"
# SageMaker names: 1..63 letters, digits and hyphens. A run is named "<stem>-<UUID>" (36 characters).
SAGEMAKER_NAME_MAX = 63
UUID_LENGTH = 36
ENDPOINT_POLL = Duration.minutes(1)
# Errors worth a retry: throttling and SageMaker's transient internal errors.
TRANSIENT_ERRORS = ["SageMaker.AmazonSageMakerException", "ThrottlingException", "States.Timeout"]
# The same for AWS SDK integrations, which name errors after the SDK's exceptions.
SDK_TRANSIENT_ERRORS = ["SageMaker.ThrottlingException", "SageMaker.InternalFailure", "States.Timeout"]


def run_name_stem(pipeline_name: str) -> str:
    """The part of every run's SageMaker names before the UUID, cut so the whole fits 63 characters."""
    return pipeline_name[: SAGEMAKER_NAME_MAX - UUID_LENGTH - 1].rstrip("-")


class XgboostImage(Construct):
    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        table = json.loads(IMAGE_MAP.read_text())
        self.version = table["version"]
        self.mapping = CfnMapping(self, "Images", mapping={region: {"uri": uri} for region, uri in table["images"].items()})
        self.uri = self.mapping.find_in_map(Aws.REGION, "uri")


class SageMakerExecution(Construct):
    """The role SageMaker jobs and models run as: the training data and model prefixes of the
    curated zone, the data-capture prefix of the raw zone, the keys, VPC network interfaces,
    logs and metrics. Nothing else in the lake."""

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, lake: DataLakeStorage, ml_key: kms.IKey,
                 training_data_prefix: str, vpc: ec2.IVpc, deny_jobs_outside_vpc: bool,
                 model_artifacts: Sequence[str] = ()) -> None:
        """`model_artifacts`: ARNs of model.tar.gz objects the hosted models load from outside the
        curated `models/` prefix (the network's S3 endpoint policy must allow them too)."""
        super().__init__(scope, id_)
        readable = [lake.objects_arn("curated", f"{training_data_prefix}*"), lake.objects_arn("curated", f"{MODELS_PREFIX}*")]
        configured = [arn for arn in model_artifacts if arn not in readable]
        writable = [lake.objects_arn("curated", f"{MODELS_PREFIX}*"), lake.objects_arn("curated", f"{CHECKPOINTS_PREFIX}*"),
                    lake.objects_arn("raw", f"{DATA_CAPTURE_PREFIX}*")]
        sagemaker_logs = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/*"
        self.role, self.policy = service_role(
            self,
            "Execution",
            service="sagemaker.amazonaws.com",
            description=f"{name_prefix}: SageMaker training jobs and models (lake prefixes, ML key, VPC)",
            statements=[
                iam.PolicyStatement(sid="ListTheirPrefixes", actions=["s3:ListBucket"],
                                    resources=[lake.bucket_arn("curated")],
                                    conditions={"StringLike": {"s3:prefix": [f"{training_data_prefix}*",
                                                                              f"{MODELS_PREFIX}*",
                                                                              f"{CHECKPOINTS_PREFIX}*"]}}),
                iam.PolicyStatement(sid="ReadTrainingDataAndModels", actions=["s3:GetObject"], resources=readable),
                *([iam.PolicyStatement(sid="ReadConfiguredModelArtifacts", actions=["s3:GetObject"],
                                       resources=configured)] if configured else []),
                iam.PolicyStatement(sid="WriteModelsCheckpointsAndCapture", actions=["s3:PutObject", "s3:GetObject",
                                                                                     "s3:AbortMultipartUpload"],
                                    resources=writable),
                lake.key_through_s3("UseTheLakeKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"]),
                iam.PolicyStatement(sid="EncryptVolumesWithTheMlKey",
                                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                                    resources=[ml_key.key_arn]),
                # Training volumes are EBS volumes SageMaker attaches for the job: it creates a
                # grant on the ML key for them, with this role's credentials.
                iam.PolicyStatement(sid="GrantTheMlKeyToVolumes", actions=["kms:CreateGrant"],
                                    resources=[ml_key.key_arn],
                                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
                iam.PolicyStatement(
                    sid="ManageJobNetworkInterfaces",
                    actions=["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                             "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
                    resources=["*"],
                    conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
                ),
                iam.PolicyStatement(sid="DescribeTheNetwork", actions=[
                    "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], resources=["*"]),
                iam.PolicyStatement(sid="WriteSageMakerLogs", actions=["logs:CreateLogGroup", "logs:CreateLogStream",
                                                                       "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                    resources=[sagemaker_logs, f"{sagemaker_logs}:log-stream:*"]),
                iam.PolicyStatement(sid="PublishSageMakerMetrics", actions=["cloudwatch:PutMetricData"],
                                    resources=["*"],
                                    conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*",
                                                                                         "aws/sagemaker/*"]}}),
            ],
        )
        acknowledge(
            self.policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]"
             for arn in dict.fromkeys([*readable, *writable, sagemaker_logs, f"{sagemaker_logs}:log-stream:*"])]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "SageMaker names model artifacts, checkpoints, captured requests and log streams at run "
            "time, so access is per prefix this role owns; network-interface actions are limited "
            "to this VPC by ec2:Vpc, and EC2 Describe* and PutMetricData (limited to SageMaker "
            "namespaces) support no resource-level permissions.",
        )
        self.guard: iam.ManagedPolicy | None = None
        if deny_jobs_outside_vpc:
            # Only actions whose requests carry sagemaker:VpcSubnets (Service Authorization
            # Reference). CreateTransformJob never does, so a Null test would deny every transform
            # job; a transform job runs in the VPC of its model, and CreateModel is guarded.
            self.guard = iam.ManagedPolicy(
                self,
                "VpcOnlyGuard",
                description=f"{name_prefix}: deny SageMaker jobs, models and notebooks outside a VPC",
                statements=[iam.PolicyStatement(
                    sid="DenySageMakerResourcesOutsideAVpc",
                    effect=iam.Effect.DENY,
                    actions=["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
                             "sagemaker:CreateHyperParameterTuningJob", "sagemaker:CreateModel",
                             "sagemaker:CreateNotebookInstance"],
                    resources=["*"],
                    conditions={"Null": {"sagemaker:VpcSubnets": "true"}},
                )],
            )


def vpc_config(security_group: ec2.ISecurityGroup, subnets: Sequence[ec2.ISubnet]) -> dict[str, Any]:
    return {"SecurityGroupIds": [security_group.security_group_id], "Subnets": [s.subnet_id for s in subnets]}


class TrainingPipeline(Construct):
    """Step Functions: train (XGBoost, in the VPC, isolated, encrypted) -> create model ->
    endpoint config (KMS, data capture) -> create the endpoint, or update it if it exists."""

    def __init__(self, scope: Construct, id_: str, *, name: str, endpoint_name: str, settings: SageMakerSettings,
                 lake: DataLakeStorage, ml_key: kms.IKey, execution: SageMakerExecution, image: XgboostImage,
                 security_group: ec2.ISecurityGroup, subnets: Sequence[ec2.ISubnet], log_retention_days: int,
                 destroy_on_removal: bool) -> None:
        """`endpoint_name`: the endpoint every run deploys to (created on the first run, then
        updated); it lives outside CloudFormation, so delete it before tearing the stack down."""
        super().__init__(scope, id_)
        self.endpoint_name = endpoint_name
        self.run_name_stem = run_name_stem(name)
        curated = f"s3://{lake.curated.bucket_name}"
        network = vpc_config(security_group, subnets)
        variant = settings.endpoint_variants[0]

        self.training_parameters: dict[str, Any] = {
            "TrainingJobName.$": "$.run.name",
            "AlgorithmSpecification": {"TrainingImage": image.uri, "TrainingInputMode": settings.training_input_mode},
            "RoleArn": execution.role.role_arn,
            "HyperParameters": dict(settings.xgboost_hyperparameters),
            "InputDataConfig": [
                {"ChannelName": channel, "ContentType": "text/csv", "InputMode": settings.training_input_mode,
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3DataDistributionType": "FullyReplicated",
                                                 "S3Uri": f"{curated}/{settings.training_data_prefix}{channel}/"}}}
                for channel in ("train", "validation")
            ],
            "OutputDataConfig": {"S3OutputPath": f"{curated}/{MODELS_PREFIX}", "KmsKeyId": lake.key.key_arn},
            "ResourceConfig": {"InstanceType": settings.training_instance_type,
                               "InstanceCount": settings.training_instance_count,
                               "VolumeSizeInGB": settings.training_volume_gb, "VolumeKmsKeyId": ml_key.key_arn},
            "StoppingCondition": {"MaxRuntimeInSeconds": settings.training_max_runtime_minutes * 60},
            "VpcConfig": network,
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
        }
        if settings.managed_spot_training:
            self.training_parameters["EnableManagedSpotTraining"] = True
            self.training_parameters["StoppingCondition"]["MaxWaitTimeInSeconds"] = settings.spot_max_wait_minutes * 60
            self.training_parameters["CheckpointConfig"] = {"S3Uri": f"{curated}/{CHECKPOINTS_PREFIX}"}

        fail = sfn.Fail(self, "Failed", cause_path="$.error.Cause", error_path="$.error.Error")
        # One generated name for the run's training job, model and endpoint config: execution names
        # may hold "_" and run to 80 characters, SageMaker names may not.
        name_run = sfn.Pass(self, "NameTheRun", result_path="$.run", parameters={
            "name.$": f"States.Format('{self.run_name_stem}-{{}}', States.UUID())"})
        train = self._task("Train", "sagemaker:createTrainingJob.sync", self.training_parameters, "$.training", fail)
        create_model = self._task("CreateModel", "sagemaker:createModel", {
            "ModelName.$": "$.run.name",
            "ExecutionRoleArn": execution.role.role_arn,
            "PrimaryContainer": {"Image": image.uri, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"},
            "VpcConfig": network,
            "EnableNetworkIsolation": True,
        }, "$.model", fail)
        create_config = self._task("CreateEndpointConfig", "sagemaker:createEndpointConfig", {
            "EndpointConfigName.$": "$.run.name",
            "KmsKeyId": ml_key.key_arn,
            "ProductionVariants": [{"VariantName": variant.name, "ModelName.$": "$.run.name",
                                    "InstanceType": variant.instance_type,
                                    "InitialInstanceCount": variant.initial_instance_count,
                                    "InitialVariantWeight": 1}],
            **data_capture(settings, lake),
        }, "$.endpointConfig", fail)
        endpoint_parameters = {"EndpointName": self.endpoint_name, "EndpointConfigName.$": "$.run.name"}
        create_endpoint = self._task("CreateEndpoint", "sagemaker:createEndpoint", endpoint_parameters, "$.endpoint",
                                     fail)
        update_endpoint = self._task("UpdateEndpoint", "sagemaker:updateEndpoint", endpoint_parameters, "$.endpoint",
                                     fail)
        # No optimized integration exists for DeleteEndpoint: the AWS SDK one is used.
        delete_failed = self._task("DeleteFailedEndpoint", "aws-sdk:sagemaker:deleteEndpoint",
                                   {"EndpointName": self.endpoint_name}, "$.deleted", fail,
                                   retry_on=SDK_TRANSIENT_ERRORS)

        def describe(id_: str) -> sfn.CustomState:
            return sfn.CustomState(self, id_, state_json={
                "Type": "Task", "Resource": f"arn:{Aws.PARTITION}:states:::aws-sdk:sagemaker:describeEndpoint",
                "Parameters": {"EndpointName": self.endpoint_name}, "ResultPath": "$.existing",
                "ResultSelector": {"status.$": "$.EndpointStatus", "config.$": "$.EndpointConfigName"},
                "Retry": [{"ErrorEquals": SDK_TRANSIENT_ERRORS, "IntervalSeconds": 10, "MaxAttempts": 3,
                           "BackoffRate": 2.0}],
            })

        status = "$.existing.status"
        stuck = sfn.Fail(self, "EndpointNeedsAttention", error="EndpointNeedsAttention",
                         cause="The endpoint is OutOfService or UpdateRollbackFailed: it will not settle by "
                               "itself; see DescribeEndpoint FailureReason, fix or delete it, and run again.")
        # Before deploying: no endpoint -> create it; InService -> update it; Failed -> delete and
        # recreate (a Failed endpoint cannot be updated); OutOfService or UpdateRollbackFailed ->
        # fail, they need a person; anything else (Creating, Updating, SystemUpdating, RollingBack,
        # Deleting) -> wait until it settles, then look again.
        find = describe("FindEndpoint")
        find.add_catch(create_endpoint, errors=["States.TaskFailed"], result_path="$.existing")
        settle = sfn.Wait(self, "WaitForTheEndpointToSettle", time=sfn.WaitTime.duration(ENDPOINT_POLL))
        settle.next(find)
        find.next(sfn.Choice(self, "WhatToDeploy")
                  .when(sfn.Condition.string_equals(status, "InService"), update_endpoint)
                  .when(sfn.Condition.string_equals(status, "Failed"), delete_failed)
                  .when(sfn.Condition.or_(sfn.Condition.string_equals(status, "OutOfService"),
                                          sfn.Condition.string_equals(status, "UpdateRollbackFailed")), stuck)
                  .otherwise(settle))
        delete_failed.next(settle)
        # After deploying: the run succeeds only when the endpoint serves this run's config.
        wait = sfn.Wait(self, "WaitForTheEndpoint", time=sfn.WaitTime.duration(ENDPOINT_POLL))
        poll = describe("PollEndpoint")
        poll.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        rolled_back = sfn.Fail(self, "EndpointRolledBack", error="EndpointRolledBack",
                               cause="The endpoint is InService with its previous configuration: the update "
                                     "failed and SageMaker rolled it back (see DescribeEndpoint FailureReason).")
        failed = sfn.Fail(self, "EndpointFailed", error="EndpointFailed",
                          cause="The endpoint failed to deploy (see DescribeEndpoint FailureReason).")
        wait.next(poll).next(sfn.Choice(self, "IsTheEndpointReady")
                             .when(sfn.Condition.and_(sfn.Condition.string_equals(status, "InService"),
                                                      sfn.Condition.string_equals_json_path("$.existing.config",
                                                                                            "$.run.name")),
                                   sfn.Succeed(self, "EndpointInService"))
                             .when(sfn.Condition.string_equals(status, "InService"), rolled_back)
                             .when(sfn.Condition.string_equals(status, "Failed"), failed)
                             .when(sfn.Condition.or_(sfn.Condition.string_equals(status, "OutOfService"),
                                                     sfn.Condition.string_equals(status, "UpdateRollbackFailed")),
                                   stuck)
                             .otherwise(wait))
        create_endpoint.next(wait)
        update_endpoint.next(wait)
        definition = name_run.next(train).next(create_model).next(create_config).next(find)

        log_group = encrypted_log_group(self, "Logs", name=f"/aws/vendedlogs/states/{name}", key=ml_key,
                                        retention_days=log_retention_days, destroy_on_removal=destroy_on_removal)
        self.role, policy = self._role(name, execution, ml_key, lake.key)
        self.state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            role=self.role.without_policy_updates(),
            timeout=Duration.minutes(settings.training_max_runtime_minutes + settings.spot_max_wait_minutes + 60),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        depend_on_policy_only(self.state_machine, policy)
        self.policy = policy
        if execution.guard is not None:
            execution.guard.attach_to_role(self.role)

    def _task(self, id_: str, action: str, parameters: Mapping[str, Any], result_path: str,
              fail: sfn.Fail, retry_on: Sequence[str] = TRANSIENT_ERRORS) -> sfn.CustomState:
        state = sfn.CustomState(self, id_, state_json={
            "Type": "Task",
            "Resource": f"arn:{Aws.PARTITION}:states:::{action}",
            "Parameters": parameters,
            "ResultPath": result_path,
            "Retry": [{"ErrorEquals": list(retry_on), "IntervalSeconds": 10, "MaxAttempts": 3, "BackoffRate": 2.0}],
        })
        state.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        return state

    def _role(self, name: str, execution: SageMakerExecution, ml_key: kms.IKey,
              lake_key: kms.IKey) -> tuple[iam.Role, iam.ManagedPolicy]:
        def arn(resource: str) -> str:
            return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"

        runs = f"{self.run_name_stem}-*"
        sagemaker_resources = [arn(f"training-job/{runs}"), arn(f"model/{runs}"), arn(f"endpoint-config/{runs}"),
                               arn(f"endpoint/{self.endpoint_name}")]
        via_sagemaker = {"kms:ViaService": f"sagemaker.{Aws.REGION}.amazonaws.com"}
        events_rule = (f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/"
                       "StepFunctionsGetEventsForSageMakerTrainingJobsRule")
        role, policy = service_role(
            self, "StateMachine", service="states.amazonaws.com",
            description=f"{name}: run the SageMaker steps of the training pipeline",
            statements=[
                iam.PolicyStatement(sid="RunSageMakerSteps", actions=[
                    "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                    "sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpoint",
                    "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint",
                    "sagemaker:AddTags", "sagemaker:ListTags"],
                    resources=sagemaker_resources),
                # The ML key encrypts the endpoint's volumes: SageMaker checks the key named in the
                # endpoint config and, on CreateEndpoint/UpdateEndpoint, creates grants on it with
                # the caller's credentials (CreateEndpointConfig API reference: "The KMS key policy
                # must grant permission to the IAM role that you specify in your CreateEndpoint,
                # UpdateEndpoint requests"). The lake key is only named (data capture) and checked.
                iam.PolicyStatement(sid="DescribeTheKeysThroughSageMaker", actions=["kms:DescribeKey"],
                                    resources=[ml_key.key_arn, lake_key.key_arn],
                                    conditions={"StringEquals": via_sagemaker}),
                iam.PolicyStatement(sid="GrantTheMlKeyToEndpointVolumes", actions=["kms:CreateGrant"],
                                    resources=[ml_key.key_arn],
                                    conditions={"StringEquals": via_sagemaker,
                                                "Bool": {"kms:GrantIsForAWSResource": "true"}}),
                iam.PolicyStatement(sid="PassTheExecutionRole", actions=["iam:PassRole"],
                                    resources=[execution.role.role_arn],
                                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
                iam.PolicyStatement(sid="WaitForTrainingJobs", actions=["events:PutTargets", "events:PutRule",
                                                                        "events:DescribeRule"],
                                    resources=[events_rule]),
                iam.PolicyStatement(sid="DeliverLogsAndTraces", actions=[
                    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules", "xray:GetSamplingTargets"], resources=["*"]),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, r)}]" for r in sagemaker_resources[:3]]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "Each execution creates a training job, model and endpoint config named with a UUID "
            "generated at run time, so those grants cover this pipeline's name stem only (the "
            "endpoint is named exactly); CloudWatch Logs delivery and X-Ray actions support no "
            "resource-level permissions.",
        )
        return role, policy


def data_capture(settings: SageMakerSettings, lake: DataLakeStorage) -> dict[str, Any]:
    if settings.data_capture_sampling_percent == 0:
        return {}
    return {"DataCaptureConfig": {
        "EnableCapture": True,
        "InitialSamplingPercentage": settings.data_capture_sampling_percent,
        "DestinationS3Uri": f"s3://{lake.raw.bucket_name}/{DATA_CAPTURE_PREFIX}",
        "KmsKeyId": lake.key.key_arn,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }}


class RealtimeEndpoint(Construct):
    """Instance-based (serverless inference supports no VPC, isolation or data capture)."""

    def __init__(self, scope: Construct, id_: str, *, name: str, settings: SageMakerSettings, lake: DataLakeStorage,
                 ml_key: kms.IKey, execution: SageMakerExecution, image: XgboostImage,
                 security_group: ec2.ISecurityGroup, subnets: Sequence[ec2.ISubnet], alerts: AlertsTopic) -> None:
        super().__init__(scope, id_)
        network = vpc_config(security_group, subnets)
        self.models: dict[str, sagemaker.CfnModel] = {}
        for variant in settings.endpoint_variants:
            artifact = variant.model_artifact or settings.model_artifact
            model = sagemaker.CfnModel(
                self, f"{variant.name.title().replace('-', '')}Model",
                execution_role_arn=execution.role.role_arn,
                primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=image.uri,
                                                                                 model_data_url=artifact),
                vpc_config=sagemaker.CfnModel.VpcConfigProperty(security_group_ids=network["SecurityGroupIds"],
                                                                subnets=network["Subnets"]),
                enable_network_isolation=True,
            )
            model.node.add_dependency(execution.policy)
            self.models[variant.name] = model
        capture = data_capture(settings, lake).get("DataCaptureConfig")
        self.config = sagemaker.CfnEndpointConfig(
            self, "Config", kms_key_id=ml_key.key_arn,
            production_variants=[self._variant(v) for v in settings.endpoint_variants],
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True, initial_sampling_percentage=capture["InitialSamplingPercentage"],
                destination_s3_uri=capture["DestinationS3Uri"], kms_key_id=capture["KmsKeyId"],
                capture_options=[sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=m)
                                 for m in ("Input", "Output")]) if capture else None,
        )
        self.endpoint = sagemaker.CfnEndpoint(self, "Endpoint", endpoint_name=name,
                                              endpoint_config_name=self.config.attr_endpoint_config_name)
        self._autoscaling(name, settings)
        self.alarms = self._alarms(name, settings, alerts)

    def _variant(self, variant: VariantSettings) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant.name, model_name=self.models[variant.name].attr_model_name,
            instance_type=variant.instance_type, initial_instance_count=variant.initial_instance_count,
            initial_variant_weight=variant.weight)

    def _autoscaling(self, name: str, settings: SageMakerSettings) -> None:
        # Application Auto Scaling acts through its service-linked role for SageMaker (created on
        # first use), which holds exactly the permissions it needs; a new role would hold none.
        service_linked_role = iam.Role.from_role_arn(
            self, "AutoScalingServiceLinkedRole",
            f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
            "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            mutable=False,
        )
        for variant in settings.endpoint_variants:
            target = autoscaling.ScalableTarget(
                self, f"{variant.name.title().replace('-', '')}Scaling",
                service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
                resource_id=f"endpoint/{name}/variant/{variant.name}",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                min_capacity=variant.initial_instance_count, max_capacity=settings.autoscaling_max_instances,
                role=service_linked_role,
            )
            target.node.add_dependency(self.endpoint)
            target.scale_to_track_metric(
                "InvocationsPerInstance",
                target_value=settings.autoscaling_target_invocations_per_instance,
                predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
                scale_in_cooldown=Duration.minutes(5), scale_out_cooldown=Duration.minutes(1),
            )

    def _alarms(self, name: str, settings: SageMakerSettings, alerts: AlertsTopic) -> dict[str, cloudwatch.Alarm]:
        def metric(variant: VariantSettings, metric_name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace="AWS/SageMaker", metric_name=metric_name, statistic=statistic,
                                     period=Duration.minutes(5),
                                     dimensions_map={"EndpointName": name, "VariantName": variant.name})

        alarms = {}
        for variant in settings.endpoint_variants:
            for alarm_id, (alarm_metric, threshold, description) in {
                "5xxErrors": (metric(variant, "Invocation5XXErrors", "Sum"), settings.alarm_5xx_errors_per_5_minutes,
                              f"{name}/{variant.name}: model server errors in 5 minutes"),
                "ModelLatency": (metric(variant, "ModelLatency", "p90"), settings.alarm_model_latency_ms * 1000,
                                 f"{name}/{variant.name}: p90 model latency above "
                                 f"{settings.alarm_model_latency_ms} ms"),
            }.items():
                alarms[f"{variant.name}-{alarm_id}"] = alerts.notify(cloudwatch.Alarm(
                    self, f"{variant.name.title().replace('-', '')}{alarm_id}Alarm",
                    alarm_name=f"{name}-{variant.name}-{alarm_id}", alarm_description=description,
                    metric=alarm_metric, threshold=threshold, evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING))
        return alarms


class PrivateNotebook(Construct):
    def __init__(self, scope: Construct, id_: str, *, name: str, instance_type: str, ml_key: kms.IKey,
                 lake: DataLakeStorage, security_group: ec2.ISecurityGroup, subnet: ec2.ISubnet,
                 pipeline: TrainingPipeline, hosted_endpoint: str | None = None, destroy_on_removal: bool) -> None:
        super().__init__(scope, id_)

        def sagemaker_arn(resource: str) -> str:
            return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"

        endpoints = [sagemaker_arn(f"endpoint/{e}") for e in (pipeline.endpoint_name, hosted_endpoint) if e]
        runs = [sagemaker_arn(f"{kind}/{pipeline.run_name_stem}-*") for kind in ("training-job", "model",
                                                                                  "endpoint-config")]
        self.role, policy = service_role(
            self, "Notebook", service="sagemaker.amazonaws.com",
            description=f"{name}: explore the curated zone, run the training pipeline, invoke its endpoints",
            statements=[
                iam.PolicyStatement(sid="InvokeTheEndpoints", actions=["sagemaker:InvokeEndpoint"], resources=endpoints),
                iam.PolicyStatement(sid="FollowThePipelineRuns", actions=[
                    "sagemaker:DescribeTrainingJob", "sagemaker:DescribeModel", "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeEndpoint"], resources=[*runs, *endpoints]),
                iam.PolicyStatement(sid="ListTheCuratedZone", actions=["s3:ListBucket"],
                                    resources=[lake.bucket_arn("curated")]),
                iam.PolicyStatement(sid="ReadTheCuratedZone", actions=["s3:GetObject"],
                                    resources=[lake.objects_arn("curated", "*")]),
                lake.key_through_s3("DecryptThroughS3", ["kms:Decrypt"]),
                iam.PolicyStatement(sid="StartTraining", actions=["states:StartExecution", "states:DescribeExecution"],
                                    resources=[pipeline.state_machine.state_machine_arn,
                                               f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:"
                                               f"{pipeline.state_machine.state_machine_name}:*"]),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, lake.objects_arn('curated', '*'))}]",
             f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
             f"{finding_reference(self, pipeline.state_machine.state_machine_name)}:*]",
             *(f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]" for arn in runs)],
            "A notebook explores the whole curated zone read-only, and follows the executions of the "
            "training pipeline and the jobs, models and configs they create, whose names are chosen "
            "at start time.",
        )
        self.instance = sagemaker.CfnNotebookInstance(
            self, "Instance", notebook_instance_name=name, instance_type=instance_type, role_arn=self.role.role_arn,
            subnet_id=subnet.subnet_id, security_group_ids=[security_group.security_group_id],
            direct_internet_access="Disabled", root_access="Disabled", kms_key_id=ml_key.key_id,
            volume_size_in_gb=10, platform_identifier="notebook-al2-v3",
            instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version="2"),
        )
        self.instance.node.add_dependency(policy)
        # Its volume holds the users' notebooks: prod keeps it.
        self.instance.apply_removal_policy(removal_policy(destroy_on_removal))

