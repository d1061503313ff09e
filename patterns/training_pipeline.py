"""TrainingPipeline: a Step Functions pipeline that trains XGBoost in the VPC and registers the model.

Name the run -> train (network-isolated, in the VPC, volumes and output encrypted, spot optional),
or, with `tuning`, run a hyperparameter tuning job with the same job definition and take its best
training job's model -> register the model as a package of a model registry group
(PendingManualApproval) -> with `approval="automatic"`, approve it (which emits the approval event a
ModelDeploy reacts to) -> succeed. Every SageMaker step retries throttling and transient errors.
The state machine's role may act only on this pipeline's runs and the group's packages, and carries
the execution's VPC-only guard. Deploying is ModelDeploy's job (patterns/model_deploy.py).

Usage, in any stack (`lake`, `ml_key`, `network`, `execution` as in patterns/sagemaker_execution.py,
`image = XgboostImage(stack, "XgboostImage")`, `registry` a ModelPackageGroup)::

    pipeline = TrainingPipeline(
        stack, "Training", name="acme-xgboost", registry=registry,
        hyperparameters={"objective": "binary:logistic", "num_round": "100", "eval_metric": "auc"},
        lake=lake, ml_key=ml_key, execution=execution, image=image,
        security_group=network.workload_security_group, subnets=network.subnets.subnets,
        managed_spot_training=True, approval="manual",
        tuning=Tuning(objective_metric="validation:auc", objective_type="Maximize",
                      ranges={"eta": {"min": 0.1, "max": 0.5}}, max_jobs=6, max_parallel_jobs=2),
    )
    pipeline.state_machine  # start an execution to train and register a model
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.model_registry import APPROVED, PENDING, ModelPackageGroup
from patterns.roles import service_role
from patterns.sagemaker_execution import SageMakerExecution
from patterns.sagemaker_lake import CHECKPOINTS_PREFIX, MODELS_PREFIX
from patterns.sagemaker_steps import (
    deliver_logs_and_traces,
    pass_execution_role,
    sagemaker_state_machine,
    sagemaker_task,
    wait_for_sagemaker_jobs,
)
from patterns.xgboost_image import XgboostImage

INPUT_MODES = ("File", "Pipe", "FastFile")
APPROVAL_MODES = ("automatic", "manual")
# SageMaker names: 1..63 letters, digits and hyphens. A run is named "<stem>-<UUID>" (36 characters).
SAGEMAKER_NAME_MAX = 63
UUID_LENGTH = 36
# Tuning job names have at most 32 characters: "<stem>-<first 8 hex digits of a UUID>".
TUNING_NAME_MAX = 32
TUNING_SUFFIX_LENGTH = 8
# Errors worth a retry: throttling and SageMaker's transient internal errors.
TRANSIENT_ERRORS = ["SageMaker.AmazonSageMakerException", "ThrottlingException", "States.Timeout"]
# The same for AWS SDK integrations, which name errors after the SDK's exceptions.
SDK_TRANSIENT_ERRORS = ["SageMaker.ThrottlingException", "SageMaker.InternalFailure", "States.Timeout"]
SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
# Integer-valued XGBoost hyperparameters that tuning can range over; the others are continuous.
INTEGER_HYPERPARAMETERS = ("max_delta_step", "max_depth", "num_round")


def run_name_stem(pipeline_name: str) -> str:
    """The part of every run's SageMaker names before the UUID, cut so the whole fits 63 characters."""
    return pipeline_name[: SAGEMAKER_NAME_MAX - UUID_LENGTH - 1].rstrip("-")


def tuning_name_stem(pipeline_name: str) -> str:
    """The part of every tuning job's name before its 8 random hex digits (the whole fits 32)."""
    return pipeline_name[: TUNING_NAME_MAX - TUNING_SUFFIX_LENGTH - 1].rstrip("-")


def sagemaker_arn(resource: str) -> str:
    """ARN of a SageMaker resource of this account and region, e.g. `endpoint/<name>`."""
    return regional_arn("sagemaker", resource)


@dataclasses.dataclass(frozen=True)
class Tuning:
    """A hyperparameter tuning job in place of the single training job. `ranges`: hyperparameter ->
    {"min", "max", "scaling"} (integer ranges for INTEGER_HYPERPARAMETERS, continuous otherwise);
    `objective_type` must be the metric's direction (Maximize or Minimize); `warm_start_parents`:
    up to 5 earlier tuning jobs of this pipeline to start from."""

    objective_metric: str
    objective_type: str
    ranges: Mapping[str, Mapping[str, Any]]
    max_jobs: int = 6
    max_parallel_jobs: int = 2
    early_stopping: str = "Auto"
    warm_start_parents: Sequence[str] = ()
    warm_start_type: str = "IdenticalDataAndAlgorithm"

    def problems(self) -> list[str]:
        found = []
        if self.objective_type not in ("Maximize", "Minimize"):
            found.append(f"objective_type={self.objective_type!r}: use Maximize or Minimize")
        if not self.ranges:
            found.append("ranges={}: give at least one hyperparameter range")
        if not 1 <= self.max_parallel_jobs <= self.max_jobs:
            found.append(f"max_parallel_jobs={self.max_parallel_jobs} must be 1..max_jobs={self.max_jobs}")
        if self.early_stopping not in ("Auto", "Off"):
            found.append(f"early_stopping={self.early_stopping!r}: use Auto or Off")
        if len(self.warm_start_parents) > 5:
            found.append(f"warm_start_parents: at most 5 tuning jobs, got {len(self.warm_start_parents)}")
        found += [f"ranges[{name!r}].scaling={r.get('scaling')!r}: use one of {', '.join(SCALING_TYPES)}"
                  for name, r in self.ranges.items() if r.get("scaling", "Auto") not in SCALING_TYPES]
        return found

    def parameter_ranges(self) -> dict[str, list[dict[str, Any]]]:
        """CreateHyperParameterTuningJob's ParameterRanges (bounds as strings, as the API takes them)."""
        continuous, integer = [], []
        for name, r in sorted(self.ranges.items()):
            target = integer if name in INTEGER_HYPERPARAMETERS else continuous
            target.append({"Name": name, "MinValue": str(r["min"]), "MaxValue": str(r["max"]),
                           "ScalingType": r.get("scaling", "Auto")})
        ranges: dict[str, list[dict[str, Any]]] = {}
        if continuous:
            ranges["ContinuousParameterRanges"] = continuous
        if integer:
            ranges["IntegerParameterRanges"] = integer
        return ranges


class TrainingPipeline(Construct):
    """Step Functions: train (XGBoost, in the VPC, isolated, encrypted), or tune -> register the
    model in a model package group -> approve it when approval is automatic."""

    def __init__(self, scope: Construct, id_: str, *, name: str, registry: ModelPackageGroup,
                 hyperparameters: Mapping[str, str], lake: DataLakeStorage, ml_key: kms.IKey,
                 execution: SageMakerExecution, image: XgboostImage, security_group: ec2.ISecurityGroup,
                 subnets: Sequence[ec2.ISubnet], training_instance_type: str = "ml.m5.large",
                 training_instance_count: int = 1, training_volume_gb: int = 10, training_max_runtime_minutes: int = 60,
                 training_input_mode: str = "File", managed_spot_training: bool = False,
                 spot_max_wait_minutes: int = 120, tuning: Tuning | None = None, approval: str = "manual",
                 inference_instance_types: Sequence[str] = ("ml.t2.medium", "ml.m5.large"),
                 log_retention_days: int = 365, destroy_on_removal: bool = False) -> None:
        """`name`: the state machine's name, and the stem of every run's SageMaker names.
        `registry`: the group every trained model is registered in, PendingManualApproval; with
        `approval="automatic"` the run then approves its own package. `hyperparameters`: XGBoost's,
        as strings. Training reads `<prefix>train/` and `<prefix>validation/` of the curated zone,
        `prefix` being `execution.training_data_prefix`, as `training_input_mode` (File, Pipe or
        FastFile), and writes the model under `models/`; the validation channel is what XGBoost
        computes its `validation:` metrics on, so tuning needs it. `managed_spot_training` runs on
        spot capacity, waiting up to `spot_max_wait_minutes` (at least
        `training_max_runtime_minutes`) and checkpointing under `checkpoints/`. `tuning`: run a
        tuning job instead (see Tuning); the hyperparameters it ranges over are dropped from the
        static ones. `inference_instance_types`: what the package says it can be deployed on. The
        state machine's logs are encrypted with `ml_key` and kept `log_retention_days`."""
        super().__init__(scope, id_)
        if training_input_mode not in INPUT_MODES:
            raise ValueError(f"training_input_mode={training_input_mode!r}: use one of {', '.join(INPUT_MODES)}")
        if managed_spot_training and spot_max_wait_minutes < training_max_runtime_minutes:
            raise ValueError(f"spot_max_wait_minutes={spot_max_wait_minutes} must be at least "
                             f"training_max_runtime_minutes={training_max_runtime_minutes} with spot training")
        if not all(isinstance(value, str) for value in hyperparameters.values()):
            raise ValueError(f"hyperparameters={dict(hyperparameters)}: give every value as a string")
        if approval not in APPROVAL_MODES:
            raise ValueError(f"approval={approval!r}: use one of {', '.join(APPROVAL_MODES)}")
        if tuning is not None and (problems := tuning.problems()):
            raise ValueError("tuning: " + "; ".join(problems))
        self.run_name_stem = run_name_stem(name)
        self.tuning_name_stem = tuning_name_stem(name)
        self.registry, self.approval, self.tuning = registry, approval, tuning
        curated = f"s3://{lake.curated.bucket_name}"
        network = {"SecurityGroupIds": [security_group.security_group_id], "Subnets": [s.subnet_id for s in subnets]}

        # The job definition, shared by the single training job and every job of a tuning job.
        job: dict[str, Any] = {
            "AlgorithmSpecification": {"TrainingImage": image.uri, "TrainingInputMode": training_input_mode},
            "RoleArn": execution.role.role_arn,
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
            job["EnableManagedSpotTraining"] = True
            job["StoppingCondition"]["MaxWaitTimeInSeconds"] = spot_max_wait_minutes * 60
            job["CheckpointConfig"] = {"S3Uri": f"{curated}/{CHECKPOINTS_PREFIX}"}
        self.training_parameters: dict[str, Any] = {
            "TrainingJobName.$": "$.run.name", **job, "HyperParameters": dict(hyperparameters)}

        fail = sfn.Fail(self, "Failed", cause_path="$.error.Cause", error_path="$.error.Error")
        # One generated name for the run's training job and package: execution names may hold "_"
        # and run to 80 characters, SageMaker names may not.
        name_run = sfn.Pass(self, "NameTheRun", result_path="$.run", parameters={
            "name.$": f"States.Format('{self.run_name_stem}-{{}}', States.UUID())",
            "token.$": "States.UUID()"})  # CreateModelPackage's ClientToken: at most 36 characters
        if tuning is None:
            self.tuning_parameters: dict[str, Any] | None = None
            train: sfn.IChainable = self._task("Train", "sagemaker:createTrainingJob.sync", self.training_parameters,
                                               "$.training", fail)
            trained = train
        else:
            self.tuning_parameters = self._tuning_parameters(tuning, job, hyperparameters)
            name_tuning = sfn.Pass(self, "NameTheTuningJob", result_path="$.tuningJob", parameters={
                "name.$": f"States.Format('{self.tuning_name_stem}-{{}}', "
                          "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0))"})
            # The .sync output is DescribeHyperParameterTuningJob's. No ResultSelector on
            # BestTrainingJob: a tuning job none of whose jobs reported the objective has none, and a
            # missing path would be a States.Runtime error that no Catch handles.
            tune = self._task("Tune", "sagemaker:createHyperParameterTuningJob.sync", self.tuning_parameters,
                              "$.tuning", fail)
            no_best = sfn.Fail(self, "NoBestTrainingJob", error="NoBestTrainingJob",
                               cause="The tuning job ended without a best training job (no training job reported "
                                     f"{tuning.objective_metric}): nothing is registered.")
            # The best training job's artifact becomes the model.
            best = self._task("DescribeTheBestTrainingJob", "aws-sdk:sagemaker:describeTrainingJob",
                              {"TrainingJobName.$": "$.tuning.BestTrainingJob.TrainingJobName"}, "$.training", fail,
                              retry_on=SDK_TRANSIENT_ERRORS,
                              selector={"ModelArtifacts.$": "$.ModelArtifacts", "TrainingJobName.$": "$.TrainingJobName"})
            train = name_tuning.next(tune).next(
                sfn.Choice(self, "DidTuningFindABestJob")
                .when(sfn.Condition.is_present("$.tuning.BestTrainingJob.TrainingJobName"), best)
                .otherwise(no_best))
            trained = best
        register = self._task("RegisterTheModel", "aws-sdk:sagemaker:createModelPackage", {
            "ModelPackageGroupName": registry.group_name,
            "ModelPackageDescription.$": "States.Format('Trained by run {}', $.run.name)",
            "ClientToken.$": "$.run.token",  # a retried call registers the run once
            "ModelApprovalStatus": PENDING,
            "InferenceSpecification": {
                "Containers": [{"Image": image.uri, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"}],
                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
                "SupportedRealtimeInferenceInstanceTypes": list(inference_instance_types),
            },
        }, "$.package", fail, retry_on=SDK_TRANSIENT_ERRORS, selector={"ModelPackageArn.$": "$.ModelPackageArn"})
        done = sfn.Succeed(self, "Registered")
        definition = name_run.next(train)
        trained.next(register)
        if approval == "automatic":
            # Approving emits the "SageMaker Model Package State Change" event (Approved) that deploys it.
            approve = self._task("ApproveTheModel", "aws-sdk:sagemaker:updateModelPackage", {
                "ModelPackageArn.$": "$.package.ModelPackageArn", "ModelApprovalStatus": APPROVED,
                "ApprovalDescription": "Approved by the training pipeline (sagemaker.registry.approval=automatic)",
            }, "$.approval", fail, retry_on=SDK_TRANSIENT_ERRORS)
            register.next(approve).next(done)
        else:
            register.next(done)

        self.role, self.policy = self._role(name, execution)
        runtime = training_max_runtime_minutes + (spot_max_wait_minutes if managed_spot_training else 0)
        if tuning is not None:  # sequential batches of parallel jobs
            runtime *= -(-tuning.max_jobs // tuning.max_parallel_jobs)
        self.state_machine = sagemaker_state_machine(
            self, name=name, definition=definition, role=self.role, policy=self.policy,
            # Training (or every batch of a tuning job), the spot wait, and 30 minutes for the rest.
            timeout=Duration.minutes(runtime + 30),
            execution=execution, key=ml_key, log_retention_days=log_retention_days,
            destroy_on_removal=destroy_on_removal)

    def _tuning_parameters(self, tuning: Tuning, job: Mapping[str, Any],
                           hyperparameters: Mapping[str, str]) -> dict[str, Any]:
        definition = copy.deepcopy(dict(job))
        # A tuned hyperparameter may not also be static (CreateHyperParameterTuningJob rejects it).
        definition["StaticHyperParameters"] = {k: v for k, v in hyperparameters.items() if k not in tuning.ranges}
        parameters: dict[str, Any] = {
            "HyperParameterTuningJobName.$": "$.tuningJob.name",
            "HyperParameterTuningJobConfig": {
                "Strategy": "Bayesian",
                "HyperParameterTuningJobObjective": {"Type": tuning.objective_type,
                                                     "MetricName": tuning.objective_metric},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": tuning.max_jobs,
                                   "MaxParallelTrainingJobs": tuning.max_parallel_jobs},
                "ParameterRanges": tuning.parameter_ranges(),
                "TrainingJobEarlyStoppingType": tuning.early_stopping,
            },
            "TrainingJobDefinition": definition,
        }
        if tuning.warm_start_parents:
            parameters["WarmStartConfig"] = {
                "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in tuning.warm_start_parents],
                "WarmStartType": tuning.warm_start_type}
        return parameters

    def _task(self, id_: str, action: str, parameters: Mapping[str, Any], result_path: str,
              fail: sfn.Fail, retry_on: Sequence[str] = TRANSIENT_ERRORS,
              selector: Mapping[str, str] | None = None) -> sfn.CustomState:
        state = sagemaker_task(self, id_, action, parameters, result_path, retry_on=retry_on, selector=selector)
        state.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        return state

    def _role(self, name: str, execution: SageMakerExecution) -> tuple[iam.Role, iam.ManagedPolicy]:
        if self.tuning is not None:
            tuning_jobs = sagemaker_arn(f"hyper-parameter-tuning-job/{self.tuning_name_stem}-*")
            # The tuning job creates and stops its training jobs, named "<tuning job>-<NNN>-<8 hex
            # digits>"; the pipeline only reads the best one.
            best_jobs = sagemaker_arn(f"training-job/{self.tuning_name_stem}-*")
            wildcards = [best_jobs, tuning_jobs]
            statements = [
                iam.PolicyStatement(sid="RunTuningJobs", actions=[
                    "sagemaker:CreateHyperParameterTuningJob", "sagemaker:DescribeHyperParameterTuningJob",
                    "sagemaker:StopHyperParameterTuningJob", "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                    "sagemaker:AddTags", "sagemaker:ListTags"], resources=[tuning_jobs]),
                wait_for_sagemaker_jobs("Tuning"),
                iam.PolicyStatement(sid="ReadTheBestTrainingJob", actions=["sagemaker:DescribeTrainingJob"],
                                    resources=[best_jobs]),
            ]
            if self.tuning.warm_start_parents:
                # SageMaker ARNs carry resource names in lowercase, and IAM compares ARNs case-sensitively.
                statements.append(iam.PolicyStatement(
                    sid="ReadTheWarmStartParents", actions=["sagemaker:DescribeHyperParameterTuningJob"],
                    resources=[sagemaker_arn(f"hyper-parameter-tuning-job/{p.lower()}")
                               for p in self.tuning.warm_start_parents]))
        else:
            training_jobs = sagemaker_arn(f"training-job/{self.run_name_stem}-*")
            wildcards = [training_jobs]
            statements = [
                iam.PolicyStatement(sid="RunTrainingJobs", actions=[
                    "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags", "sagemaker:ListTags"], resources=[training_jobs]),
                wait_for_sagemaker_jobs("Training"),
            ]
        statements += [
            # Register in this group only (CreateModelPackage authorizes on the new package's ARN,
            # model-package/<group>/<version>); approving is granted only when approval is automatic.
            iam.PolicyStatement(sid="RegisterTheModel", actions=["sagemaker:CreateModelPackage"],
                                resources=[self.registry.packages_arn]),
            *([iam.PolicyStatement(sid="ApproveTheModel", actions=["sagemaker:UpdateModelPackage"],
                                   resources=[self.registry.packages_arn])] if self.approval == "automatic" else []),
            pass_execution_role(execution.role),
            deliver_logs_and_traces(),
        ]
        role, policy = service_role(
            self, "StateMachine", service="states.amazonaws.com",
            description=f"{name}: run the SageMaker steps of the training pipeline", statements=statements)
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, r)}]"
             for r in dict.fromkeys([*wildcards, self.registry.packages_arn])]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "Each execution creates a training (or tuning) job named with a UUID generated at run time, "
            "so those grants cover this pipeline's name stems only; package versions are numbered by "
            "SageMaker, so registering covers this group's packages only; CloudWatch Logs delivery and "
            "X-Ray actions support no resource-level permissions.",
        )
        return role, policy
