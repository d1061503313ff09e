"""What every state machine that drives SageMaker needs: its task states and the statements of its role.

Shared by the training pipeline, the deploy of approved packages, the batch transform and the Model
Monitor setup, so each builds its tasks and grants the same way::

    train = sagemaker_task(self, "Train", "sagemaker:createTrainingJob.sync", parameters, "$.training",
                           retry_on=TRANSIENT_ERRORS)
    train.add_catch(failed, errors=["States.ALL"], result_path="$.error")
    statements = [pass_execution_role(execution), wait_for_sagemaker_jobs("Training"), deliver_logs_and_traces()]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from patterns.arns import regional_arn
from patterns.log_groups import encrypted_log_group
from patterns.roles import depend_on_policy_only
from patterns.sagemaker_execution import SageMakerExecution

SYNC_JOB_KINDS = ("Training", "Tuning", "Processing", "Transform")


def sagemaker_task(scope: Construct, id_: str, action: str, parameters: Mapping[str, Any], result_path: str, *,
                   retry_on: Sequence[str], selector: Mapping[str, Any] | None = None) -> sfn.CustomState:
    """A Task state calling `arn:<partition>:states:::<action>` that retries `retry_on` three times
    (10 s, backing off x2). Callers add their own catch."""
    state_json: dict[str, Any] = {
        "Type": "Task",
        "Resource": f"arn:{Aws.PARTITION}:states:::{action}",
        "Parameters": parameters,
        "ResultPath": result_path,
        "Retry": [{"ErrorEquals": list(retry_on), "IntervalSeconds": 10, "MaxAttempts": 3, "BackoffRate": 2.0}],
    }
    if selector:
        state_json["ResultSelector"] = dict(selector)
    return sfn.CustomState(scope, id_, state_json=state_json)


def pass_execution_role(role: iam.IRole) -> iam.PolicyStatement:
    """Pass the SageMaker execution role, to SageMaker only."""
    return iam.PolicyStatement(sid="PassTheExecutionRole", actions=["iam:PassRole"], resources=[role.role_arn],
                               conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})


def wait_for_sagemaker_jobs(kind: str) -> iam.PolicyStatement:
    """What a `.sync` integration of `kind` jobs needs: the managed EventBridge rule Step Functions
    keeps for them (StepFunctionsGetEventsForSageMaker<kind>JobsRule)."""
    if kind not in SYNC_JOB_KINDS:
        raise ValueError(f"kind={kind!r}: use one of {', '.join(SYNC_JOB_KINDS)}")
    return iam.PolicyStatement(
        sid=f"WaitFor{kind}Jobs", actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources=[regional_arn("events", f"rule/StepFunctionsGetEventsForSageMaker{kind}JobsRule")])


def deliver_logs_and_traces() -> iam.PolicyStatement:
    """A state machine's log delivery to CloudWatch Logs and its X-Ray traces (no resource-level
    permissions exist for these actions)."""
    return iam.PolicyStatement(sid="DeliverLogsAndTraces", actions=[
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
        "xray:GetSamplingRules", "xray:GetSamplingTargets"], resources=["*"])


def sagemaker_state_machine(scope: Construct, *, name: str, definition: sfn.IChainable, role: iam.Role,
                            policy: iam.ManagedPolicy, timeout: Duration, execution: SageMakerExecution,
                            key: kms.IKey, log_retention_days: int, destroy_on_removal: bool) -> sfn.StateMachine:
    """The state machine `name` (child `StateMachine`), running as `role` whose permissions are all in
    `policy`, traced, logging every event without execution data to `/aws/vendedlogs/states/<name>`
    (child `Logs`, encrypted with `key`), and carrying the execution's VPC-only guard."""
    log_group = encrypted_log_group(scope, "Logs", name=f"/aws/vendedlogs/states/{name}", key=key,
                                    retention_days=log_retention_days, destroy_on_removal=destroy_on_removal)
    state_machine = sfn.StateMachine(
        scope, "StateMachine", state_machine_name=name,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        role=role.without_policy_updates(), timeout=timeout, tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
    )
    depend_on_policy_only(state_machine, policy)
    if execution.guard is not None:
        execution.guard.attach_to_role(role)
    return state_machine
