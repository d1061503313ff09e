"""Batch transform: the state machine's control flow (walked with tests/asl.py), the exact transform
and model parameters, its role, and the switch that turns it off.

Cross-stack references are compared with what the producer stack exports under a documented
output name (tests/test_sagemaker.py's helpers), never with the pattern's own output.
"""

from __future__ import annotations

import json

import pytest

from patterns.batch_transform import output_filter
from patterns.training_pipeline import run_name_stem
from tests import asl
from tests.test_sagemaker import (
    STACK,
    execution_role_id,
    exported_marker,
    guards,
    marker,
    network_subnets,
    template,
)

PACKAGE = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/mlspec-sbx-models/3"
LATEST = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/mlspec-sbx-models/7"


def machine(synth) -> tuple[str, dict]:
    prefix = synth.built.settings.name_prefix
    (found,) = template(synth).find_resources("AWS::StepFunctions::StateMachine", {"Properties": {
        "StateMachineName": f"{prefix}-batch-transform"}}).items()
    return found


def definition(synth) -> dict:
    parts = machine(synth)[1]["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else marker(synth, p) for p in parts))


def states(synth) -> dict:
    return definition(synth)["States"]


def bucket(synth, output: str) -> str:
    return exported_marker(synth, "DataLake", output)


# ---------------------------------------------------------------- the control flow


class SageMaker:
    """Scripted answers of the SageMaker calls; records what each task was asked."""

    def __init__(self, approved: list[str] | None = None, approval: str = "Approved", transform_error: str = "",
                 delete_error: str = ""):
        self.approved = [LATEST] if approved is None else approved
        self.approval, self.transform_error, self.delete_error = approval, transform_error, delete_error
        self.calls: dict[str, dict] = {}

    def __call__(self, name: str, parameters: dict):
        self.calls[name] = parameters
        if name == "FindTheLatestApprovedPackage":
            return {"ModelPackageSummaryList": [{"ModelPackageArn": arn} for arn in self.approved]}
        if name == "DescribeThePackage":
            return {"ModelApprovalStatus": self.approval}
        if name == "CreateModel":
            return {"ModelArn": f"arn:model/{parameters['ModelName']}"}
        if name == "Transform":
            if self.transform_error:
                raise asl.TaskError("SageMaker.TransformJobFailed", self.transform_error)
            return {"TransformJobStatus": "Completed", "TransformOutput": {
                "S3OutputPath": parameters["TransformOutput"]["S3OutputPath"]}}
        if name == "DeleteTheRunsModel":
            if self.delete_error:
                raise asl.TaskError("SageMaker.SageMakerException", self.delete_error)
            return {}
        raise AssertionError(f"unexpected task {name}")


def walk(sandbox, fake: SageMaker, execution_input: dict | None = None):
    return asl.run(definition(sandbox), fake, dict(execution_input or {}))


def test_without_a_package_it_uses_the_latest_approved_of_the_group(sandbox):
    fake = SageMaker()
    end, visited, document = walk(sandbox, fake)
    assert end == "Succeed:PredictionsWritten"
    assert fake.calls["FindTheLatestApprovedPackage"] == {
        "ModelPackageGroupName": "mlspec-sbx-models", "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1}
    assert fake.calls["DescribeThePackage"] == {"ModelPackageName": LATEST}
    assert fake.calls["CreateModel"]["Containers"] == [{"ModelPackageName": LATEST}]
    run = document["run"]["name"]
    stem = run_name_stem("mlspec-sbx-batch-transform")
    assert run.startswith(f"{stem}-") and len(run) == len(stem) + 37 and len(run) <= 63
    # The model, the job and the deletion all name this run.
    assert fake.calls["CreateModel"]["ModelName"] == fake.calls["Transform"]["TransformJobName"] == run
    assert fake.calls["Transform"]["ModelName"] == fake.calls["DeleteTheRunsModel"]["ModelName"] == run
    transform = fake.calls["Transform"]
    assert transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{bucket(sandbox, 'CuratedBucketName')}/training/sensor_readings/validation/")
    assert transform["TransformOutput"]["S3OutputPath"] == (
        f"s3://{bucket(sandbox, 'ResultsBucketName')}/batch-predictions/{run}/")
    assert visited.index("CreateModel") < visited.index("Transform") < visited.index("DeleteTheRunsModel")


def test_a_given_package_skips_the_search_but_must_be_approved(sandbox):
    fake = SageMaker()
    end, visited, _ = walk(sandbox, fake, {"ModelPackageArn": PACKAGE, "RunName": "monthly-2026-11",
                                           "InputPrefix": "training/sensor_readings/validation/"})
    assert end == "Succeed:PredictionsWritten"
    assert "FindTheLatestApprovedPackage" not in visited
    assert fake.calls["DescribeThePackage"] == {"ModelPackageName": PACKAGE}
    assert fake.calls["CreateModel"]["Containers"] == [{"ModelPackageName": PACKAGE}]
    transform, run = fake.calls["Transform"], fake.calls["CreateModel"]["ModelName"]
    assert transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{bucket(sandbox, 'CuratedBucketName')}/training/sensor_readings/validation/")
    assert transform["TransformOutput"]["S3OutputPath"] == (
        f"s3://{bucket(sandbox, 'ResultsBucketName')}/batch-predictions/monthly-2026-11/{run}/")

    pending = SageMaker(approval="PendingManualApproval")
    end, visited, _ = walk(sandbox, pending, {"ModelPackageArn": PACKAGE})
    assert end == "Fail:ModelPackageNotApproved"
    assert "CreateModel" not in visited


def test_no_approved_package_fails_clearly_before_creating_anything(sandbox):
    fake = SageMaker(approved=[])
    end, visited, _ = walk(sandbox, fake)
    assert end == "Fail:NoApprovedModelPackage"
    assert not {"CreateModel", "Transform"} & set(visited)
    cause = states(sandbox)["NoApprovedModelPackage"]["Cause"]
    assert "mlspec-sbx-models has no Approved package" in cause and "ModelPackageArn" in cause


def test_an_input_prefix_outside_the_configured_one_is_refused(sandbox):
    for prefix in ("sensor_readings/", "models/", "training/", "xtraining/sensor_readings/"):
        fake = SageMaker()
        end, visited, _ = walk(sandbox, fake, {"InputPrefix": prefix})
        assert end == "Fail:InputPrefixNotAllowed", prefix
        assert "CreateModel" not in visited


def test_the_model_is_deleted_when_the_transform_fails_and_the_run_fails_with_its_cause(sandbox):
    fake = SageMaker(transform_error="ClientError: no output for validation/part-0000.csv")
    end, visited, document = walk(sandbox, fake)
    assert end == "Fail:Failed"
    assert visited[-3:] == ["DeleteTheRunsModel", "DidTheTransformSucceed", "Failed"]
    assert document["error"]["Cause"] == "ClientError: no output for validation/part-0000.csv"
    assert states(sandbox)["Failed"]["CausePath"] == "$.error.Cause"


def test_a_model_that_cannot_be_deleted_fails_the_run_after_a_good_transform(sandbox):
    end, visited, _ = walk(sandbox, SageMaker(delete_error="AccessDenied"))
    assert end == "Fail:ModelNotDeleted"
    assert "Transform" in visited


def test_every_sagemaker_call_retries_and_is_caught(sandbox):
    graph = states(sandbox)
    tasks = {name: state for name, state in graph.items() if state["Type"] == "Task"}
    assert set(tasks) == {"FindTheLatestApprovedPackage", "DescribeThePackage", "CreateModel", "Transform",
                          "DeleteTheRunsModel"}
    for name, state in tasks.items():
        (retry,) = state["Retry"]
        assert {"States.Timeout"} < set(retry["ErrorEquals"]) and retry["MaxAttempts"] == 3, name
        assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
    assert graph["Transform"]["Resource"].endswith(":states:::sagemaker:createTransformJob.sync")


# ---------------------------------------------------------------- the exact parameters


def test_transform_parameters_csv_filters_kms_and_payload(synth):
    batch = synth.built.settings.sagemaker.batch_transform
    transform = states(synth)["Transform"]["Parameters"]
    hyperparameters = synth.built.settings.sagemaker.xgboost_hyperparameters
    # label + one probability per class (multi:softprob), or label + the one prediction
    kept = {"3": "$[0,-3,-2,-1]"}[hyperparameters["num_class"]] if hyperparameters["objective"] == "multi:softprob" \
        else "$[0,-1]"
    assert transform["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": kept}
    assert transform["TransformInput"]["ContentType"] == "text/csv"
    assert transform["TransformInput"]["SplitType"] == "Line"
    assert transform["TransformOutput"]["Accept"] == "text/csv"
    assert transform["TransformOutput"]["AssembleWith"] == "Line"
    assert transform["BatchStrategy"] == "MultiRecord"
    assert transform["MaxPayloadInMB"] == batch.max_payload_mb
    assert transform["MaxConcurrentTransforms"] == batch.max_concurrent_transforms
    assert transform["MaxPayloadInMB"] * transform["MaxConcurrentTransforms"] <= 100
    assert transform["TransformOutput"]["KmsKeyId"] == exported_marker(synth, "DataLake", "LakeKeyArn")
    resources = transform["TransformResources"]
    assert resources == {"InstanceType": batch.instance_type, "InstanceCount": batch.instance_count,
                         "VolumeKmsKeyId": exported_marker(synth, "MlNetwork", "MlKeyArn")}


def test_the_model_runs_in_the_vpc_isolated_as_the_execution_role(synth):
    model = states(synth)["CreateModel"]["Parameters"]
    assert model["EnableNetworkIsolation"] is True
    assert model["ExecutionRoleArn"] == f"<GetAtt:{execution_role_id(synth)}.Arn>"
    assert model["VpcConfig"]["SecurityGroupIds"] == [
        exported_marker(synth, "MlNetwork", "WorkloadSecurityGroupId")]
    assert sorted(model["VpcConfig"]["Subnets"]) == sorted(
        f"<{sid}:{marker(synth, ref)[1:-1]}>" for sid, ref in network_subnets(synth))


@pytest.mark.parametrize(("columns", "expected"), [(1, "$[0,-1]"), (3, "$[0,-3,-2,-1]"), (40, "$")])
def test_output_filter_keeps_the_label_and_the_prediction_columns(columns, expected):
    assert output_filter(columns) == expected


# ---------------------------------------------------------------- the role and the switch


def test_role_is_scoped_to_the_group_and_the_runs_and_carries_the_vpc_guard(sandbox):
    machine_props = machine(sandbox)[1]["Properties"]
    role_id = machine_props["RoleArn"]["Fn::GetAtt"][0]
    t = template(sandbox).to_json()["Resources"]
    policies = {k: p for k, p in t.items() if p["Type"] == "AWS::IAM::ManagedPolicy"
                and {"Ref": role_id} in p["Properties"].get("Roles", [])}
    (guard_id,) = guards(sandbox)
    assert guard_id in policies  # the VPC guard applies to this role's CreateModel
    (grants,) = [p for k, p in policies.items() if k != guard_id]
    statements = {s["Sid"]: s for s in grants["Properties"]["PolicyDocument"]["Statement"]}
    text = json.dumps(statements)
    assert "model-package/mlspec-sbx-models/*" in json.dumps(statements["ReadTheGroupsPackages"])
    stem = run_name_stem("mlspec-sbx-batch-transform")
    assert f"model/{stem}-*" in json.dumps(statements["CreateAndDeleteTheRunsModel"])
    assert f"transform-job/{stem}-*" in json.dumps(statements["RunTheTransformJob"])
    assert statements["PassTheExecutionRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert "StepFunctionsGetEventsForSageMakerTransformJobsRule" in json.dumps(statements["WaitForTransformJobs"])
    assert '"sagemaker:*"' not in text and '"s3:' not in text


def test_logs_and_traces(sandbox):
    props = machine(sandbox)[1]["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    (group_id, group), = template(sandbox).find_resources("AWS::Logs::LogGroup", {"Properties": {
        "LogGroupName": "/aws/vendedlogs/states/mlspec-sbx-batch-transform"}}).items()
    assert props["LoggingConfiguration"]["Destinations"] == [
        {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [group_id, "Arn"]}}}]
    assert "KmsKeyId" in group["Properties"]


def test_disabled_means_no_state_machine_role_or_grants(tmp_path):
    from aws_cdk import aws_stepfunctions as sfn

    from stacks.app_factory import build_app

    # Construction only (no synth): the switch decides whether the constructs exist at all.
    built = build_app({"profile": "sandbox", "overrides": json.dumps(
        {"sagemaker": {"batch_transform": {"enabled": False}}})}, outdir=str(tmp_path))
    stack = built.stacks[STACK]
    assert stack.batch_transform is None
    machines = [c for c in stack.node.find_all() if isinstance(c, sfn.StateMachine)]
    assert [m.node.path for m in machines] == [f"{stack.node.path}/Training/StateMachine",
                                               f"{stack.node.path}/Deploy/StateMachine"]
    assert not [c for c in stack.node.find_all() if "BatchTransform" in c.node.path]
