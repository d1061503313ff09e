"""BatchTransform: a Step Functions state machine that scores a curated prefix with a registered model.

Name the run -> choose the input (the configured curated prefix, or the execution's `InputPrefix`
inside it) and the output folder -> resolve the model package (the execution's `ModelPackageArn`,
or the latest Approved package of the registry group; fail clearly when there is none) -> check it
is Approved -> create a model from it (in the VPC, network-isolated) -> run a batch transform job
(.sync) whose predictions, joined to each input line's label, go to the results zone (output and
volume encrypted) -> delete the run's model, whatever the job's outcome.

Execution input, every field optional::

    {"ModelPackageArn": "arn:aws:sagemaker:...:model-package/acme-models/3",
     "InputPrefix": "training/clicks/validation/",   # inside the configured input prefix
     "RunName": "monthly-2026-11"}                   # output under <output_prefix><RunName>/<run>/

Usage, in any stack (`lake`, `ml_key`, `network`, `execution` as in patterns/sagemaker_execution.py)::

    transform = BatchTransform(
        stack, "BatchTransform", name="acme-batch-transform", model_package_group="acme-models",
        lake=lake, ml_key=ml_key, execution=execution, security_group=network.workload_security_group,
        subnets=network.subnets.subnets, input_prefix="training/clicks/", prediction_columns=1,
    )
    transform.state_machine  # start an execution to score the prefix
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.roles import service_role
from patterns.sagemaker_execution import SageMakerExecution
from patterns.sagemaker_steps import (
    deliver_logs_and_traces,
    pass_execution_role,
    sagemaker_state_machine,
    sagemaker_task,
    wait_for_sagemaker_jobs,
)
from patterns.training_pipeline import SDK_TRANSIENT_ERRORS, TRANSIENT_ERRORS, run_name_stem, sagemaker_arn

BATCH_PREDICTIONS_PREFIX = "batch-predictions/"  # in the results zone
OUTPUT_ZONE = "results"
# CSV lines are label-first: the model sees the features only, the output keeps the label and the
# prediction (SageMaker joins the whole input line, then the prediction columns, before filtering).
INPUT_FILTER = "$[1:]"
FILTER_MAX = 63  # DataProcessing filters: at most 63 characters
MAX_PAYLOAD_MB = 100  # MaxPayloadInMB, and MaxPayloadInMB * MaxConcurrentTransforms


def output_filter(prediction_columns: int) -> str:
    """The label (column 0 of the joined line) and the last `prediction_columns` columns, the
    prediction; the whole joined line when that list would not fit a filter. SageMaker accepts a
    list of indexes (negative ones count from the end) but not an index mixed with a range."""
    if prediction_columns < 1:
        raise ValueError(f"prediction_columns={prediction_columns}: use 1 or more")
    kept = "$[0," + ",".join(str(-i) for i in range(prediction_columns, 0, -1)) + "]"
    return kept if len(kept) <= FILTER_MAX else "$"


class BatchTransform(Construct):
    """Step Functions: registry model package -> model (VPC, isolated) -> batch transform (.sync,
    KMS) of a curated prefix into the results zone -> delete the run's model."""

    def __init__(self, scope: Construct, id_: str, *, name: str, model_package_group: str, lake: DataLakeStorage,
                 ml_key: kms.IKey, execution: SageMakerExecution, security_group: ec2.ISecurityGroup,
                 subnets: Sequence[ec2.ISubnet], input_prefix: str, prediction_columns: int = 1,
                 instance_type: str = "ml.m5.large", instance_count: int = 1, max_payload_mb: int = 6,
                 max_concurrent_transforms: int = 1, timeout_minutes: int = 120, log_retention_days: int = 365,
                 destroy_on_removal: bool = False) -> None:
        """`name`: the state machine's name and the stem of each run's model and job names.
        `model_package_group`: the registry group whose Approved packages may be used.
        `input_prefix`: the curated-zone folder scored by default; an execution's `InputPrefix` must
        lie inside it (the execution role reads nothing else). Its CSV lines are label-first.
        `prediction_columns`: how many columns the model answers per line (1, or the class count of
        a multi:softprob model). Predictions go to the results zone under `batch-predictions/`,
        encrypted with the lake key; the instances' volumes with `ml_key`."""
        super().__init__(scope, id_)
        if not input_prefix.endswith("/") or input_prefix.startswith("/"):
            raise ValueError(f"input_prefix={input_prefix!r} is not a folder of the curated zone: end it with '/', "
                             "no leading '/'")
        if not 1 <= max_payload_mb <= MAX_PAYLOAD_MB:
            raise ValueError(f"max_payload_mb={max_payload_mb}: use 1 to {MAX_PAYLOAD_MB}")
        if max_concurrent_transforms < 1 or max_payload_mb * max_concurrent_transforms > MAX_PAYLOAD_MB:
            raise ValueError(f"max_concurrent_transforms={max_concurrent_transforms}: use 1 or more, with "
                             f"max_payload_mb x max_concurrent_transforms at most {MAX_PAYLOAD_MB} MB")
        self.run_name_stem = run_name_stem(name)
        self.model_package_group = model_package_group
        self.input_prefix, self.output_prefix = input_prefix, BATCH_PREDICTIONS_PREFIX
        curated, results = f"s3://{lake.curated.bucket_name}", f"s3://{lake.results.bucket_name}"
        network = {"SecurityGroupIds": [security_group.security_group_id], "Subnets": [s.subnet_id for s in subnets]}

        self.transform_parameters: dict[str, Any] = {
            "TransformJobName.$": "$.run.name",
            "ModelName.$": "$.run.name",
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": max_payload_mb,
            "MaxConcurrentTransforms": max_concurrent_transforms,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": "$.run.input.uri"}},
                "ContentType": "text/csv",
                "SplitType": "Line",
                "CompressionType": "None",
            },
            "TransformOutput": {"S3OutputPath.$": "$.run.output.uri", "Accept": "text/csv", "AssembleWith": "Line",
                                "KmsKeyId": lake.key.key_arn},
            "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count,
                                   "VolumeKmsKeyId": ml_key.key_arn},
            "DataProcessing": {"InputFilter": INPUT_FILTER, "JoinSource": "Input",
                               "OutputFilter": output_filter(prediction_columns)},
        }
        self.model_parameters: dict[str, Any] = {
            "ModelName.$": "$.run.name",
            "ExecutionRoleArn": execution.role.role_arn,
            "Containers": [{"ModelPackageName.$": "$.package.arn"}],
            "VpcConfig": network,
            "EnableNetworkIsolation": True,
        }

        fail = sfn.Fail(self, "Failed", cause_path="$.error.Cause", error_path="$.error.Error")
        # One generated name for the run's model and job (execution names may hold "_").
        name_run = sfn.Pass(self, "NameTheRun", result_path="$.run", parameters={
            "name.$": f"States.Format('{self.run_name_stem}-{{}}', States.UUID())"})

        # Input: the configured prefix, or the execution's InputPrefix when it lies inside it.
        def input_uri(id_: str, key: str) -> sfn.Pass:
            return sfn.Pass(self, id_, result_path="$.run.input", parameters={
                "uri.$": f"States.Format('{curated}/{{}}', {key})"})

        given_input, default_input = input_uri("ScoreTheGivenPrefix", "$.InputPrefix"), sfn.Pass(
            self, "ScoreTheConfiguredPrefix", result_path="$.run.input", parameters={"uri": f"{curated}/{input_prefix}"})
        outside = sfn.Fail(self, "InputPrefixNotAllowed", error="InputPrefixNotAllowed",
                           cause=f"InputPrefix must be a folder inside the curated zone's {input_prefix} (the "
                                 "transform's execution role reads nothing else).")
        choose_input = (sfn.Choice(self, "WhichInput")
                        .when(sfn.Condition.and_(sfn.Condition.is_present("$.InputPrefix"),
                                                 sfn.Condition.string_matches("$.InputPrefix", f"{input_prefix}*")),
                              given_input)
                        .when(sfn.Condition.is_present("$.InputPrefix"), outside)
                        .otherwise(default_input))

        # Output: <results>/batch-predictions/[<RunName>/]<run>/
        labelled = sfn.Pass(self, "WriteUnderTheRunName", result_path="$.run.output", parameters={
            "uri.$": f"States.Format('{results}/{BATCH_PREDICTIONS_PREFIX}{{}}/{{}}/', $.RunName, $.run.name)"})
        unlabelled = sfn.Pass(self, "WriteUnderTheRun", result_path="$.run.output", parameters={
            "uri.$": f"States.Format('{results}/{BATCH_PREDICTIONS_PREFIX}{{}}/', $.run.name)"})
        choose_output = (sfn.Choice(self, "WhichOutput")
                         .when(sfn.Condition.is_present("$.RunName"), labelled)
                         .otherwise(unlabelled))
        given_input.next(choose_output)
        default_input.next(choose_output)

        # Model package: the given one, or the latest Approved of the group; either must be Approved.
        given_package = sfn.Pass(self, "UseTheGivenPackage", result_path="$.package",
                                 parameters={"arn.$": "$.ModelPackageArn"})
        find_latest = self._task("FindTheLatestApprovedPackage", "aws-sdk:sagemaker:listModelPackages", {
            "ModelPackageGroupName": model_package_group, "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1,
        }, "$.latest", fail, retry_on=SDK_TRANSIENT_ERRORS,
            result_selector={"packages.$": "$.ModelPackageSummaryList"})
        none_approved = sfn.Fail(self, "NoApprovedModelPackage", error="NoApprovedModelPackage",
                                 cause=f"Model package group {model_package_group} has no Approved package: approve "
                                       "one (aws sagemaker update-model-package --model-approval-status Approved) "
                                       "or start the execution with a ModelPackageArn.")
        latest_package = sfn.Pass(self, "UseTheLatestApprovedPackage", result_path="$.package",
                                  parameters={"arn.$": "$.latest.packages[0].ModelPackageArn"})
        find_latest.next(sfn.Choice(self, "IsAnyPackageApproved")
                         .when(sfn.Condition.is_present("$.latest.packages[0]"), latest_package)
                         .otherwise(none_approved))
        # Describing it also proves the package is of the group: the role may describe no other.
        describe = self._task("DescribeThePackage", "aws-sdk:sagemaker:describeModelPackage",
                              {"ModelPackageName.$": "$.package.arn"}, "$.package.described", fail,
                              retry_on=SDK_TRANSIENT_ERRORS,
                              result_selector={"approval.$": "$.ModelApprovalStatus"})
        given_package.next(describe)
        latest_package.next(describe)
        not_approved = sfn.Fail(self, "ModelPackageNotApproved", error="ModelPackageNotApproved",
                                cause="The model package is not Approved: only Approved packages of the group "
                                      "are used.")
        choose_package = (sfn.Choice(self, "WhichPackage")
                          .when(sfn.Condition.is_present("$.ModelPackageArn"), given_package)
                          .otherwise(find_latest))
        unlabelled.next(choose_package)
        labelled.next(choose_package)

        create_model = self._task("CreateModel", "sagemaker:createModel", self.model_parameters, "$.model", fail)
        describe.next(sfn.Choice(self, "IsThePackageApproved")
                      .when(sfn.Condition.string_equals("$.package.described.approval", "Approved"), create_model)
                      .otherwise(not_approved))
        # The transform's failure is kept in $.error so the model is deleted before the run fails;
        # a failed deletion fails the run too (after a successful transform), naming the model.
        cleanup_failed = sfn.Fail(self, "ModelNotDeleted", error="ModelNotDeleted", cause_path="$.cleanup.Cause")
        outcome = (sfn.Choice(self, "DidTheTransformSucceed")
                   .when(sfn.Condition.is_present("$.error"), fail)
                   .when(sfn.Condition.is_present("$.cleanup"), cleanup_failed)
                   .otherwise(sfn.Succeed(self, "PredictionsWritten")))
        delete_model = self._task("DeleteTheRunsModel", "aws-sdk:sagemaker:deleteModel",
                                  {"ModelName.$": "$.run.name"}, "$.deleted", outcome, retry_on=SDK_TRANSIENT_ERRORS,
                                  catch_result_path="$.cleanup")
        transform = self._task("Transform", "sagemaker:createTransformJob.sync", self.transform_parameters,
                               "$.transform", delete_model,
                               result_selector={"status.$": "$.TransformJobStatus",
                                                "output.$": "$.TransformOutput.S3OutputPath"})
        create_model.next(transform).next(delete_model).next(outcome)
        definition = name_run.next(choose_input)

        self.role, self.policy = self._role(name, execution)
        self.state_machine = sagemaker_state_machine(
            self, name=name, definition=definition, role=self.role, policy=self.policy,
            timeout=Duration.minutes(timeout_minutes),
            execution=execution, key=ml_key, log_retention_days=log_retention_days,
            destroy_on_removal=destroy_on_removal)
        self.execution_policy = execution.grant_batch_transform(
            self, "ExecutionPolicy", lake=lake, input_prefix=input_prefix, output_zone=OUTPUT_ZONE,
            output_prefix=BATCH_PREDICTIONS_PREFIX)

    def _task(self, id_: str, action: str, parameters: Mapping[str, Any], result_path: str, catch: sfn.IChainable,
              retry_on: Sequence[str] = TRANSIENT_ERRORS, result_selector: Mapping[str, Any] | None = None,
              catch_result_path: str = "$.error") -> sfn.CustomState:
        state = sagemaker_task(self, id_, action, parameters, result_path, retry_on=retry_on,
                               selector=result_selector)
        state.add_catch(catch, errors=["States.ALL"], result_path=catch_result_path)
        return state

    def _role(self, name: str, execution: SageMakerExecution) -> tuple[iam.Role, iam.ManagedPolicy]:
        runs = f"{self.run_name_stem}-*"
        packages = sagemaker_arn(f"model-package/{self.model_package_group}/*")
        models, jobs = sagemaker_arn(f"model/{runs}"), sagemaker_arn(f"transform-job/{runs}")
        role, policy = service_role(
            self, "StateMachine", service="states.amazonaws.com",
            description=f"{name}: score a curated prefix with an Approved model of {self.model_package_group}",
            statements=[
                # ListModelPackages supports no resource-level permission (Service Authorization Reference).
                iam.PolicyStatement(sid="FindApprovedPackages", actions=["sagemaker:ListModelPackages"],
                                    resources=["*"]),
                iam.PolicyStatement(sid="ReadTheGroupsPackages", actions=["sagemaker:DescribeModelPackage"],
                                    resources=[packages]),
                iam.PolicyStatement(sid="CreateAndDeleteTheRunsModel", actions=[
                    "sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel"], resources=[models]),
                iam.PolicyStatement(sid="RunTheTransformJob", actions=[
                    "sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
                    "sagemaker:AddTags", "sagemaker:ListTags"], resources=[jobs]),
                pass_execution_role(execution.role),
                wait_for_sagemaker_jobs("Transform"),
                deliver_logs_and_traces(),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, r)}]" for r in (packages, models, jobs)]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "Each execution creates a model and a transform job named with a UUID generated at run time, "
            "so those grants cover this state machine's name stem only; packages are versions of the one "
            "registry group; ListModelPackages, CloudWatch Logs delivery and X-Ray actions support no "
            "resource-level permissions.",
        )
        return role, policy
