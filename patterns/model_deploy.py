"""ModelDeploy: deploy each approved model package of a registry group to one real-time endpoint.

An EventBridge rule on the group's approvals ("SageMaker Model Package State Change", this group,
ModelApprovalStatus Approved) starts a Step Functions execution with the event as input: name the
deploy -> check the package is Approved and of this group (an execution started by hand with
another input deploys nothing) -> create a model from the package (in the VPC, network-isolated)
-> create the endpoint config (KMS, data capture) -> create the endpoint, or update it when it is
in service, recreate it when it failed, wait while it changes, and fail when it needs a person ->
succeed once the endpoint serves this deploy's config (or a later deploy's). The rule's role may only
start this state machine; events it cannot deliver go to an encrypted dead-letter queue after retries.

Duplicate events: SageMaker may send several events for one change, EventBridge delivers at least
once, and every later update of an Approved package (its description, metadata) is another
Approved event, so two deploys of one package can run at once. They converge instead of failing:
a deploy whose CreateEndpoint fails because another deploy created the endpoint meanwhile, or whose
UpdateEndpoint is refused because another deploy is changing it, waits for the endpoint to settle
and updates it then (a refusal while nothing else changes it fails the run with SageMaker's error);
and a deploy whose config a later deploy replaced succeeds (SupersededByALaterDeploy)
instead of reporting a rollback. Only "InService with the config it had before this deploy" is a
rollback. A duplicate costs one extra endpoint update (and a Model Monitor re-baseline), no failure.

Usage, in any stack (`registry` a ModelPackageGroup; `execution`, `network`, `ml_key`, `lake` as
for TrainingPipeline; `queue_key` must let events.amazonaws.com use it)::

    deploy = ModelDeploy(
        stack, "Deploy", name="acme-deploy", endpoint_name="acme-endpoint", registry=registry,
        lake=lake, ml_key=ml_key, queue_key=ml_key, execution=execution,
        security_group=network.workload_security_group, subnets=network.subnets.subnets,
    )
    deploy.state_machine, deploy.rule, deploy.dead_letter_queue
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.keys import removal_policy
from patterns.model_registry import APPROVED, ModelPackageGroup, approved_package_pattern
from patterns.roles import service_role
from patterns.sagemaker_execution import SageMakerExecution
from patterns.sagemaker_lake import data_capture
from patterns.sagemaker_steps import (
    deliver_logs_and_traces,
    pass_execution_role,
    sagemaker_state_machine,
    sagemaker_task,
)

# SageMaker names: 1..63 letters, digits and hyphens. A deploy is named "<stem>-<UUID>" (36 characters).
SAGEMAKER_NAME_MAX = 63
UUID_LENGTH = 36
ENDPOINT_POLL = Duration.minutes(1)
# Endpoint states that end by themselves (DescribeEndpoint's EndpointStatus).
CHANGING = ("Creating", "Updating", "SystemUpdating", "RollingBack")
# Errors worth a retry: throttling and SageMaker's transient internal errors.
TRANSIENT_ERRORS = ["SageMaker.AmazonSageMakerException", "ThrottlingException", "States.Timeout"]
# The same for AWS SDK integrations, which name errors after the SDK's exceptions.
SDK_TRANSIENT_ERRORS = ["SageMaker.ThrottlingException", "SageMaker.InternalFailure", "States.Timeout"]
# EventBridge's delivery to the state machine: retries, then the dead-letter queue.
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(2)


def run_name_stem(name: str) -> str:
    """The part of every run's SageMaker names before the UUID, cut so the whole fits 63 characters."""
    return name[: SAGEMAKER_NAME_MAX - UUID_LENGTH - 1].rstrip("-")


def sagemaker_arn(resource: str) -> str:
    """ARN of a SageMaker resource of this account and region, e.g. `endpoint/<name>`."""
    return regional_arn("sagemaker", resource)


class ModelDeploy(Construct):
    """EventBridge (approved package) -> Step Functions: model from the package -> endpoint config
    (KMS, data capture) -> create the endpoint, or update it if it exists."""

    def __init__(self, scope: Construct, id_: str, *, name: str, endpoint_name: str, registry: ModelPackageGroup,
                 lake: DataLakeStorage, ml_key: kms.IKey, queue_key: kms.IKey, execution: SageMakerExecution,
                 security_group: ec2.ISecurityGroup, subnets: Sequence[ec2.ISubnet],
                 endpoint_variant_name: str = "primary", endpoint_instance_type: str = "ml.t2.medium",
                 endpoint_instance_count: int = 1, data_capture_sampling_percent: int = 100,
                 log_retention_days: int = 365, destroy_on_removal: bool = False) -> None:
        """`name`: the state machine's name, and the stem of every deploy's model and endpoint
        config. `endpoint_name`: the endpoint every approved package deploys to (created by the
        first deploy, then updated); it lives outside CloudFormation, so delete it before tearing
        the stack down. The endpoint gets one variant; `data_capture_sampling_percent` as in
        RealtimeEndpoint. The state machine's logs are encrypted with `ml_key` and kept
        `log_retention_days`; undeliverable approval events wait 14 days in a queue encrypted
        with `queue_key`."""
        super().__init__(scope, id_)
        self.endpoint_name = endpoint_name
        self.run_name_stem = run_name_stem(name)
        self.registry = registry
        network = {"SecurityGroupIds": [security_group.security_group_id], "Subnets": [s.subnet_id for s in subnets]}

        fail = sfn.Fail(self, "Failed", cause_path="$.error.Cause", error_path="$.error.Error")
        # One generated name for the deploy's model and endpoint config; the package comes from the
        # approval event.
        name_run = sfn.Pass(self, "NameTheDeploy", result_path="$.run", parameters={
            "name.$": f"States.Format('{self.run_name_stem}-{{}}', States.UUID())",
            "package.$": "$.detail.ModelPackageArn"})
        check = self._task("CheckTheApproval", "aws-sdk:sagemaker:describeModelPackage",
                           {"ModelPackageName.$": "$.run.package"}, "$.approval", fail,
                           retry_on=SDK_TRANSIENT_ERRORS,
                           selector={"status.$": "$.ModelApprovalStatus", "group.$": "$.ModelPackageGroupName"})
        not_approved = sfn.Fail(self, "PackageNotApproved", error="PackageNotApproved",
                                cause=f"Only Approved packages of the group {registry.group_name} are deployed.")
        create_model = self._task("CreateModel", "sagemaker:createModel", {
            "ModelName.$": "$.run.name",
            "ExecutionRoleArn": execution.role.role_arn,
            "Containers": [{"ModelPackageName.$": "$.run.package"}],
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
        # A failed CreateEndpoint is a failure only if the endpoint still does not exist: when a
        # concurrent deploy (a duplicate event) created it meanwhile, wait for it and update it.
        look_again = sfn.CustomState(self, "DidAnotherDeployCreateIt", state_json={
            "Type": "Task", "Resource": f"arn:{Aws.PARTITION}:states:::aws-sdk:sagemaker:describeEndpoint",
            "Parameters": {"EndpointName": self.endpoint_name}, "ResultPath": "$.created",
            "ResultSelector": {"status.$": "$.EndpointStatus"},
            "Retry": [{"ErrorEquals": SDK_TRANSIENT_ERRORS, "IntervalSeconds": 10, "MaxAttempts": 3,
                       "BackoffRate": 2.0}],
        })
        look_again.add_catch(fail, errors=["States.ALL"], result_path="$.notFound")  # fails with CreateEndpoint's error
        create_endpoint = self._task("CreateEndpoint", "sagemaker:createEndpoint", endpoint_parameters, "$.endpoint",
                                     look_again)
        # Likewise a failed UpdateEndpoint is a failure only if nobody else is changing the endpoint:
        # two deploys that both saw it InService race, and the second one's update is refused.
        busy = sfn.CustomState(self, "IsAnotherDeployChangingIt", state_json={
            "Type": "Task", "Resource": f"arn:{Aws.PARTITION}:states:::aws-sdk:sagemaker:describeEndpoint",
            "Parameters": {"EndpointName": self.endpoint_name}, "ResultPath": "$.busy",
            "ResultSelector": {"status.$": "$.EndpointStatus"},
            "Retry": [{"ErrorEquals": SDK_TRANSIENT_ERRORS, "IntervalSeconds": 10, "MaxAttempts": 3,
                       "BackoffRate": 2.0}],
        })
        busy.add_catch(fail, errors=["States.ALL"], result_path="$.notFound")
        update_endpoint = self._task("UpdateEndpoint", "sagemaker:updateEndpoint", endpoint_parameters, "$.endpoint",
                                     busy)
        # No optimized integration exists for DeleteEndpoint: the AWS SDK one is used.
        delete_failed = self._task("DeleteFailedEndpoint", "aws-sdk:sagemaker:deleteEndpoint",
                                   {"EndpointName": self.endpoint_name}, "$.deleted", fail,
                                   retry_on=SDK_TRANSIENT_ERRORS)

        def describe(id_: str, result_path: str = "$.existing") -> sfn.CustomState:
            return sfn.CustomState(self, id_, state_json={
                "Type": "Task", "Resource": f"arn:{Aws.PARTITION}:states:::aws-sdk:sagemaker:describeEndpoint",
                "Parameters": {"EndpointName": self.endpoint_name}, "ResultPath": result_path,
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
        # No endpoint yet: nothing was served before this deploy.
        none_yet = sfn.Pass(self, "NoEndpointYet", result_path="$.existing",
                            parameters={"status": "Missing", "config": ""})
        find.add_catch(none_yet, errors=["States.TaskFailed"], result_path="$.existing")
        none_yet.next(create_endpoint)
        settle = sfn.Wait(self, "WaitForTheEndpointToSettle", time=sfn.WaitTime.duration(ENDPOINT_POLL))
        settle.next(find)
        look_again.next(settle)
        busy.next(sfn.Choice(self, "IsItChanging")
                  .when(sfn.Condition.or_(*[sfn.Condition.string_equals("$.busy.status", changing)
                                            for changing in CHANGING]), settle)
                  .otherwise(fail))  # fails with UpdateEndpoint's error
        find.next(sfn.Choice(self, "WhatToDeploy")
                  .when(sfn.Condition.string_equals(status, "InService"), update_endpoint)
                  .when(sfn.Condition.string_equals(status, "Failed"), delete_failed)
                  .when(sfn.Condition.or_(sfn.Condition.string_equals(status, "OutOfService"),
                                          sfn.Condition.string_equals(status, "UpdateRollbackFailed")), stuck)
                  .otherwise(settle))
        delete_failed.next(settle)
        # After deploying: the run succeeds when the endpoint serves this run's config, or a later
        # deploy's (a concurrent deploy updated it after this one); InService with the config it
        # had before this deploy ($.existing.config) is a rollback.
        wait = sfn.Wait(self, "WaitForTheEndpoint", time=sfn.WaitTime.duration(ENDPOINT_POLL))
        poll = describe("PollEndpoint", "$.current")
        poll.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        rolled_back = sfn.Fail(self, "EndpointRolledBack", error="EndpointRolledBack",
                               cause="The endpoint is InService with its previous configuration: the update "
                                     "failed and SageMaker rolled it back (see DescribeEndpoint FailureReason).")
        failed = sfn.Fail(self, "EndpointFailed", error="EndpointFailed",
                          cause="The endpoint failed to deploy (see DescribeEndpoint FailureReason).")
        current = "$.current.status"
        in_service = sfn.Condition.string_equals(current, "InService")
        wait.next(poll).next(sfn.Choice(self, "IsTheEndpointReady")
                             .when(sfn.Condition.and_(in_service, sfn.Condition.string_equals_json_path(
                                 "$.current.config", "$.run.name")), sfn.Succeed(self, "EndpointInService"))
                             .when(sfn.Condition.and_(in_service, sfn.Condition.string_equals_json_path(
                                 "$.current.config", "$.existing.config")), rolled_back)
                             .when(in_service, sfn.Succeed(self, "SupersededByALaterDeploy"))
                             .when(sfn.Condition.string_equals(current, "Failed"), failed)
                             .when(sfn.Condition.or_(sfn.Condition.string_equals(current, "OutOfService"),
                                                     sfn.Condition.string_equals(current, "UpdateRollbackFailed")),
                                   stuck)
                             .otherwise(wait))
        create_endpoint.next(wait)
        update_endpoint.next(wait)
        approved = sfn.Condition.and_(sfn.Condition.string_equals("$.approval.status", APPROVED),
                                      sfn.Condition.string_equals("$.approval.group", registry.group_name))
        definition = name_run.next(check).next(
            sfn.Choice(self, "IsThePackageApproved").when(approved, create_model).otherwise(not_approved))
        create_model.next(create_config).next(find)

        self.role, self.policy = self._role(name, execution, ml_key, lake.key)
        self.state_machine = sagemaker_state_machine(
            self, name=name, definition=definition, role=self.role, policy=self.policy,
            timeout=Duration.hours(2),  # an endpoint deploy takes 5-15 minutes; an update waits for the last
            execution=execution, key=ml_key, log_retention_days=log_retention_days,
            destroy_on_removal=destroy_on_removal)
        self._rule(name, queue_key, destroy_on_removal)

    def _rule(self, name: str, queue_key: kms.IKey, destroy_on_removal: bool) -> None:
        self.dead_letter_queue = sqs.Queue(
            self, "DeadLetterQueue", encryption=sqs.QueueEncryption.KMS, encryption_master_key=queue_key,
            enforce_ssl=True, retention_period=Duration.days(14),
            removal_policy=removal_policy(destroy_on_removal))
        acknowledge(self.dead_letter_queue, ["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"],
                    "This queue is itself the dead-letter queue of the approval rule's target: approval "
                    "events EventBridge could not deliver wait here for an operator; a dead-letter queue "
                    "for it would only move the same events again.")
        self.rule_role, rule_policy = service_role(
            self, "Rule", service="events.amazonaws.com",
            description=f"{name}: start a deploy for each approved model package",
            statements=[iam.PolicyStatement(sid="StartTheDeploy", actions=["states:StartExecution"],
                                            resources=[self.state_machine.state_machine_arn])],
            trust_conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
        self.rule = events.Rule(
            self, "OnApproval", description=f"Deploy each Approved package of {self.registry.group_name}",
            event_pattern=approved_package_pattern(self.registry.group_name),
            targets=[targets.SfnStateMachine(
                self.state_machine, role=self.rule_role.without_policy_updates(),
                dead_letter_queue=self.dead_letter_queue, retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=TARGET_MAX_EVENT_AGE)],
        )
        self.rule.node.add_dependency(rule_policy)

    def _task(self, id_: str, action: str, parameters: Mapping[str, Any], result_path: str,
              fail: sfn.Fail, retry_on: Sequence[str] = TRANSIENT_ERRORS,
              selector: Mapping[str, str] | None = None) -> sfn.CustomState:
        state = sagemaker_task(self, id_, action, parameters, result_path, retry_on=retry_on, selector=selector)
        state.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        return state

    def _role(self, name: str, execution: SageMakerExecution, ml_key: kms.IKey,
              lake_key: kms.IKey) -> tuple[iam.Role, iam.ManagedPolicy]:
        runs = f"{self.run_name_stem}-*"
        sagemaker_resources = [sagemaker_arn(f"model/{runs}"), sagemaker_arn(f"endpoint-config/{runs}"),
                               sagemaker_arn(f"endpoint/{self.endpoint_name}")]
        via_sagemaker = {"kms:ViaService": f"sagemaker.{Aws.REGION}.amazonaws.com"}
        role, policy = service_role(
            self, "StateMachine", service="states.amazonaws.com",
            description=f"{name}: deploy approved model packages to the endpoint",
            statements=[
                iam.PolicyStatement(sid="DeployToTheEndpoint", actions=[
                    "sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpoint",
                    "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint"],
                    resources=sagemaker_resources),
                # Read only: this role cannot register, approve or change packages.
                iam.PolicyStatement(sid="ReadTheGroupsPackages", actions=["sagemaker:DescribeModelPackage"],
                                    resources=[self.registry.packages_arn]),
                # The ML key encrypts the endpoint's volumes: SageMaker checks the key named in the
                # endpoint config and, on CreateEndpoint/UpdateEndpoint, creates grants on it with
                # the caller's credentials (CreateEndpointConfig API reference). The lake key is
                # only named (data capture) and checked.
                iam.PolicyStatement(sid="DescribeTheKeysThroughSageMaker", actions=["kms:DescribeKey"],
                                    resources=[ml_key.key_arn, lake_key.key_arn],
                                    conditions={"StringEquals": via_sagemaker}),
                iam.PolicyStatement(sid="GrantTheMlKeyToEndpointVolumes", actions=["kms:CreateGrant"],
                                    resources=[ml_key.key_arn],
                                    conditions={"StringEquals": via_sagemaker,
                                                "Bool": {"kms:GrantIsForAWSResource": "true"}}),
                pass_execution_role(execution.role),
                deliver_logs_and_traces(),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, r)}]"
             for r in [*sagemaker_resources[:2], self.registry.packages_arn]]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "Each deploy creates a model and endpoint config named with a UUID generated at run time, "
            "so those grants cover this deploy's name stem only (the endpoint is named exactly); "
            "package versions are numbered by SageMaker, so reading covers this group's packages "
            "only; CloudWatch Logs delivery and X-Ray actions support no resource-level permissions.",
        )
        return role, policy
