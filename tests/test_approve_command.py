"""`python -m ops approve`: approve or reject a package of the deployment's group, follow its deploy.

moto stands in for SageMaker (model package groups and packages), Step Functions and CloudFormation;
the deploy execution EventBridge would start is started by the test's clock, like in tests/test_smoke.py.
"""

from __future__ import annotations

import json

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.models import stepfunctions_backends

from ops.__main__ import main
from ops.cli import Runtime
from tests.moto_aws import REGION, deploy_stack, emulated_aws

GROUP = "mlspec-sbx-models"


@pytest.fixture
def world(monkeypatch, tmp_path):
    for session in emulated_aws(monkeypatch, tmp_path):
        yield World(session)


class World:
    def __init__(self, session):
        self.session, self.seconds, self.deploy_result = session, 0.0, ("SUCCEEDED", None, None)
        sagemaker, sfn = session.client("sagemaker"), session.client("stepfunctions")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        self.package = sagemaker.create_model_package(
            ModelPackageGroupName=GROUP, ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://m/model.tar.gz"}],
                                    "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
        self.deploy = sfn.create_state_machine(
            name="mlspec-sbx-deploy", roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "D", "States": {"D": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
        deploy_stack(session, "mlspec-sbx-sagemaker", {"DeployStateMachineArn": self.deploy})
        self.started = False

    def sleep(self, seconds: float) -> None:
        """EventBridge starts the deploy of an approved package; the next poll sees it end."""
        self.seconds += seconds
        machine = next(m for m in stepfunctions_backends[DEFAULT_ACCOUNT_ID][REGION].state_machines)
        for execution in machine.executions:
            if execution.status == "RUNNING":
                execution.status, execution.error, execution.cause = self.deploy_result
        status = self.session.client("sagemaker").describe_model_package(
            ModelPackageName=self.package)["ModelApprovalStatus"]
        if status == "Approved" and not self.started:
            self.started = True
            self.session.client("stepfunctions").start_execution(stateMachineArn=self.deploy, input=json.dumps({
                "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
                "detail": {"ModelPackageGroupName": GROUP, "ModelPackageArn": self.package,
                           "ModelApprovalStatus": "Approved"}}))

    def approve(self, *args: str) -> int:
        return main(["approve", "--region", REGION, *args],
                    runtime=Runtime(sleep=self.sleep, clock=lambda: self.seconds, tty=False))

    def status(self) -> str:
        return self.session.client("sagemaker").describe_model_package(ModelPackageName=self.package)[
            "ModelApprovalStatus"]


def test_approve_sets_approved_and_follows_the_deploy_it_starts(world, capsys):
    assert world.approve(world.package, "--wait") == 0
    assert world.status() == "Approved"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{world.package}: PendingManualApproval -> Approved"
    assert out[1].startswith("deployed to mlspec-sbx-pipeline-endpoint by ")


def test_a_failed_deploy_exits_1_with_its_error(world, capsys):
    world.deploy_result = ("FAILED", "EndpointNeedsAttention", "The endpoint is OutOfService")
    assert world.approve(world.package, "--wait") == 1
    assert "error: deploy FAILED: EndpointNeedsAttention The endpoint is OutOfService" in capsys.readouterr().err


def test_reject_deploys_nothing(world):
    assert world.approve(world.package, "--reject", "--description", "validation:mlogloss regressed") == 0
    assert world.status() == "Rejected"
    assert not world.started


@pytest.mark.parametrize(("arn", "message"), [
    ("mlspec-sbx-models/1", "is not a versioned model package ARN"),
    ("arn:aws:sagemaker:eu-west-1:123456789012:model-package/someone-elses-models/1",
     "is a package of someone-elses-models, not of this deployment's group mlspec-sbx-models"),
])
def test_only_packages_of_the_deployments_group_are_approved(world, capsys, arn, message):
    assert world.approve(arn) == 2
    assert message in capsys.readouterr().err
    assert world.status() == "PendingManualApproval"
