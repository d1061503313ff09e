"""Approve (or reject) a registered model package; an approval deploys it to the pipeline endpoint.

The training pipeline registers every model in the deployment's group `<name_prefix>-models`,
PendingManualApproval (the sandbox approves its own). Approving sets ModelApprovalStatus Approved;
SageMaker then emits a "SageMaker Model Package State Change" event and the deployment's rule
starts the deploy state machine, which deploys the package to `<name_prefix>-pipeline-endpoint`.
With --wait the command follows that deploy execution to its end. The same without this command:
`aws sagemaker update-model-package --model-package-arn ARN --model-approval-status Approved`.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from config.settings import Settings
from ops import aws
from ops.cli import (
    OpsError,
    Runtime,
    UsageError,
    add_aws_options,
    add_deployment_options,
    deployment_settings,
    describe_deployment,
)

NAME = "approve"
EXAMPLES = """examples:
  python -m ops approve arn:aws:sagemaker:eu-west-1:111122223333:model-package/mlspec-prod-models/3 --profile prod
  python -m ops approve <package-arn> --wait                   # and follow the deploy it starts
  python -m ops approve <package-arn> --reject --description "validation:mlogloss regressed\""""

PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/([a-zA-Z0-9-]+)/(\d+)$")
POLL_SECONDS = 30
DEPLOY_FINISHED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
RECENT_EXECUTIONS = 50  # deploy executions searched for the one of a package, newest first


def group_name(settings: Settings) -> str:
    return f"{settings.name_prefix}-models"


def package_group(arn: str) -> str:
    """The group of a versioned package ARN; UsageError when `arn` is not one."""
    match = PACKAGE_ARN.match(arn)
    if not match:
        raise UsageError(f"{arn!r} is not a versioned model package ARN: use "
                         "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>")
    return match.group(1)


def deploy_of(stepfunctions, machine_arn: str, package_arn: str) -> dict[str, Any] | None:
    """The newest execution of the deploy state machine started for `package_arn` (its input is
    the approval event), described; None if there is none yet."""
    listed = stepfunctions.list_executions(stateMachineArn=machine_arn, maxResults=RECENT_EXECUTIONS)["executions"]
    for summary in sorted(listed, key=lambda e: e["startDate"], reverse=True):
        execution = stepfunctions.describe_execution(executionArn=summary["executionArn"])
        try:
            event = json.loads(execution.get("input") or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("detail", {}).get("ModelPackageArn") == package_arn:
            return execution
    return None


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_deployment_options(p)
    add_aws_options(p)
    p.add_argument("package_arn", metavar="PACKAGE_ARN", help="the model package (version) to approve")
    p.add_argument("--reject", action="store_true", help="set Rejected instead (nothing is deployed)")
    p.add_argument("--description", help="ApprovalDescription (default: who approved with this command)")
    p.add_argument("--wait", action="store_true", help="follow the deploy the approval starts; exit 1 if it fails")
    p.add_argument("--timeout", type=int, default=3600, help="seconds --wait waits for the deploy (default 3600)")


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = deployment_settings(args)
    group = package_group(args.package_arn)
    if group != group_name(settings):
        raise UsageError(f"{args.package_arn} is a package of {group}, not of this deployment's group "
                         f"{group_name(settings)}: only its packages deploy to {settings.name_prefix}-pipeline-endpoint")
    session = aws.connect(args.region, args.aws_profile)
    runtime.note(f"{describe_deployment(settings)}, {session.describe()}")
    sagemaker = session.client("sagemaker")
    status = "Rejected" if args.reject else "Approved"
    description = args.description or f"{status} with python -m ops approve"
    before = sagemaker.describe_model_package(ModelPackageName=args.package_arn)["ModelApprovalStatus"]
    sagemaker.update_model_package(ModelPackageArn=args.package_arn, ModelApprovalStatus=status,
                                   ApprovalDescription=description)
    runtime.say(f"{args.package_arn}: {before} -> {status}")
    if args.reject or not args.wait:
        return 0
    outputs = aws.outputs(aws.deployed_stack(session.client("cloudformation"), f"{settings.name_prefix}-sagemaker"))
    if "DeployStateMachineArn" not in outputs:
        raise OpsError(f"stack {settings.name_prefix}-sagemaker has no output DeployStateMachineArn: deploy it first")
    stepfunctions = session.client("stepfunctions")
    started = runtime.clock()
    while True:
        execution = deploy_of(stepfunctions, outputs["DeployStateMachineArn"], args.package_arn)
        if execution and execution["status"] in DEPLOY_FINISHED:
            break
        if runtime.clock() - started >= args.timeout:
            state = execution["status"] if execution else "not started"
            raise OpsError(f"timed out after {args.timeout} s: the deploy of {args.package_arn} is {state}")
        runtime.note(f"  deploy {'is ' + execution['status'] if execution else 'not started yet'} "
                     f"({int(runtime.clock() - started)} s)")
        runtime.sleep(POLL_SECONDS)
    if execution["status"] != "SUCCEEDED":
        raise OpsError(f"deploy {execution['status']}: {execution.get('error', '')} {execution.get('cause', '')}".rstrip())
    runtime.say(f"deployed to {settings.name_prefix}-pipeline-endpoint by {execution['executionArn'].rsplit(':', 1)[1]}")
    return 0
