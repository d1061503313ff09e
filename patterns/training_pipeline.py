"""TrainingPipeline: a Step Functions pipeline that trains XGBoost in the VPC and deploys the model.

Name the run -> train (network-isolated, in the VPC, volumes and output encrypted, spot optional)
-> create the model -> create the endpoint config (KMS, data capture) -> create the endpoint, or
update it when it is in service, recreate it when it failed, wait while it changes, and fail when
it needs a person -> succeed only once the endpoint serves this run's config. Every SageMaker
step retries throttling and transient errors. The state machine's role may act only on this
pipeline's runs and endpoint, and carries the execution's VPC-only guard.

Usage, in any stack (`lake`, `ml_key`, `network`, `execution` as in patterns/sagemaker_execution.py,
`image = XgboostImage(stack, "XgboostImage")`)::

    pipeline = TrainingPipeline(
        stack, "Training", name="acme-xgboost", endpoint_name="acme-endpoint",
        hyperparameters={"objective": "binary:logistic", "num_round": "100"},
        lake=lake, ml_key=ml_key, execution=execution, image=image,
        security_group=network.workload_security_group, subnets=network.subnets.subnets,
        managed_spot_training=True,
    )
    pipeline.state_machine  # start an execution to train and deploy
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.log_groups import encrypted_log_group
from patterns.roles import depend_on_policy_only, service_role
from patterns.sagemaker_execution import SageMakerExecution
from patterns.sagemaker_lake import CHECKPOINTS_PREFIX, MODELS_PREFIX, data_capture
from patterns.xgboost_image import XgboostImage

INPUT_MODES = ("File", "Pipe", "FastFile")
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


def sagemaker_arn(resource: str) -> str:
    """ARN of a SageMaker resource of this account and region, e.g. `endpoint/<name>`."""
    return regional_arn("sagemaker", resource)


class TrainingPipeline(Construct):
    """Step Functions: train (XGBoost, in the VPC, isolated, encrypted) -> create model ->
    endpoint config (KMS, data capture) -> create the endpoint, or update it if it exists."""

    def __init__(self, scope: Construct, id_: str, *, name: str, endpoint_name: str,
                 hyperparameters: Mapping[str, str], lake: DataLakeStorage, ml_key: kms.IKey,
                 execution: SageMakerExecution, image: XgboostImage, security_group: ec2.ISecurityGroup,
                 subnets: Sequence[ec2.ISubnet], training_instance_type: str = "ml.m5.large",
                 training_instance_count: int = 1, training_volume_gb: int = 10, training_max_runtime_minutes: int = 60,
                 training_input_mode: str = "File", managed_spot_training: bool = False,
                 spot_max_wait_minutes: int = 120, endpoint_variant_name: str = "primary",
                 endpoint_instance_type: str = "ml.t2.medium", endpoint_instance_count: int = 1,
                 data_capture_sampling_percent: int = 100, log_retention_days: int = 365,
                 destroy_on_removal: bool = False) -> None:
        """`name`: the state machine's name, and the stem of every run's SageMaker names.
        `endpoint_name`: the endpoint every run deploys to (created on the first run, then
        updated); it lives outside CloudFormation, so delete it before tearing the stack down.
        `hyperparameters`: XGBoost's, as strings. Training reads `<prefix>train/` and
        `<prefix>validation/` of the curated zone, `prefix` being `execution.training_data_prefix`,
        as `training_input_mode` (File, Pipe or FastFile), and writes the model under `models/`.
        `managed_spot_training` runs on spot capacity, waiting up to `spot_max_wait_minutes` (at
        least `training_max_runtime_minutes`) and checkpointing under `checkpoints/`. The endpoint
        gets one variant; `data_capture_sampling_percent` as in RealtimeEndpoint. The state
        machine's logs are encrypted with `ml_key` and kept `log_retention_days`."""
        super().__init__(scope, id_)
        if training_input_mode not in INPUT_MODES:
            raise ValueError(f"training_input_mode={training_input_mode!r}: use one of {', '.join(INPUT_MODES)}")
        if managed_spot_training and spot_max_wait_minutes < training_max_runtime_minutes:
            raise ValueError(f"spot_max_wait_minutes={spot_max_wait_minutes} must be at least "
                             f"training_max_runtime_minutes={training_max_runtime_minutes} with spot training")
        if not all(isinstance(value, str) for value in hyperparameters.values()):
            raise ValueError(f"hyperparameters={dict(hyperparameters)}: give every value as a string")
        self.endpoint_name = endpoint_name
        self.run_name_stem = run_name_stem(name)
        curated = f"s3://{lake.curated.bucket_name}"
        network = {"SecurityGroupIds": [security_group.security_group_id], "Subnets": [s.subnet_id for s in subnets]}

        self.training_parameters: dict[str, Any] = {
            "TrainingJobName.$": "$.run.name",
            "AlgorithmSpecification": {"TrainingImage": image.uri, "TrainingInputMode": training_input_mode},
            "RoleArn": execution.role.role_arn,
            "HyperParameters": dict(hyperparameters),
            "InputDataConfig": [
                {"ChannelName": channel, "ContentType": "text/csv", "InputMode": training_input_mode,
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3DataDistributionType": "FullyReplicated",
                                                 "S3Uri": f"{curated}/{execution.training_data_prefix}{channel}/"}}}
                for channel in ("train", "validation")
            ],
            "OutputDataConfig": {"S3OutputPath": f"{curated}/{MODELS_PREFIX}", "KmsKeyId": lake.key.key_arn},
            "ResourceConfig": {"InstanceType": training_instance_type, "InstanceCount": training_instance_count,
                               "VolumeSizeInGB": training_volume_gb, "VolumeKmsKeyId": ml_key.key_arn},
            "StoppingCondition": {"MaxRuntimeInSeconds": training_max_runtime_minutes * 60},
            "VpcConfig": network,
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
        }
        if managed_spot_training:
            self.training_parameters["EnableManagedSpotTraining"] = True
            self.training_parameters["StoppingCondition"]["MaxWaitTimeInSeconds"] = spot_max_wait_minutes * 60
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
            "ProductionVariants": [{"VariantName": endpoint_variant_name, "ModelName.$": "$.run.name",
                                    "InstanceType": endpoint_instance_type,
                                    "InitialInstanceCount": endpoint_instance_count,
                                    "InitialVariantWeight": 1}],
            **data_capture(data_capture_sampling_percent, lake),
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
            # Training's limit, the spot wait and an hour to deploy the endpoint.
            timeout=Duration.minutes(training_max_runtime_minutes + spot_max_wait_minutes + 60),
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
        runs = f"{self.run_name_stem}-*"
        sagemaker_resources = [sagemaker_arn(f"training-job/{runs}"), sagemaker_arn(f"model/{runs}"),
                               sagemaker_arn(f"endpoint-config/{runs}"), sagemaker_arn(f"endpoint/{self.endpoint_name}")]
        via_sagemaker = {"kms:ViaService": f"sagemaker.{Aws.REGION}.amazonaws.com"}
        events_rule = regional_arn("events", "rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule")
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
