"""The MLSpecialty cdk-nag pack: each rule flags its failing fixture and passes its passing one (built
in a bare stack), intrinsics are handled conservatively, the pack runs in the app's synth, and its
findings are acknowledged through the project's one helper."""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn

from patterns import compliance
from patterns.compliance import acknowledge
from patterns.ml_rule_pack import PACK_NAME, RULES, MLSpecialtyChecks
from scripts import gates, traceability
from stacks.app_factory import NAG_PACKS, PROJECT_ROOT, build_app, cdk_json_context

REASON = "Test of the helper: an MLSpecialty finding acknowledged on one resource with a reason."
SG, SUBNET = "sg-0123456789abcdef0", "subnet-0123456789abcdef0"
ROLE = "arn:aws:iam::123456789012:role/ml-execution"


def findings(scope: cdk.Stack) -> dict[str, set[str]]:
    """Rule id -> construct paths the pack reports, through cdk-nag's own entry point."""
    report = MLSpecialtyChecks().validate_scope(scope)
    return {v.rule_name: {r.construct_path for r in v.violating_resources} for v in report.violations}


# ---------------------------------------------------------------- fixtures, as CloudFormation writes them


def _raw(stack: cdk.Stack, id_: str, type_: str, properties: dict[str, Any]) -> cdk.CfnResource:
    return cdk.CfnResource(stack, id_, type=type_, properties=properties)


def _without(document: dict, *path: str) -> dict:
    result = copy.deepcopy(document)
    target = result
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return result


def _with(document: dict, value: Any, *path: str) -> dict:
    result = copy.deepcopy(document)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


def model(stack, id_, *, vpc=True, isolation=True):
    """A real L1 (camelCase properties), as patterns/realtime_endpoint.py builds it."""
    return sagemaker.CfnModel(
        stack, id_, execution_role_arn=ROLE,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image="image", model_data_url="s3://m/a"),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(security_group_ids=[SG], subnets=[SUBNET]) if vpc else None,
        enable_network_isolation=isolation)


ENDPOINT_CONFIG = {
    "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234",
    "ProductionVariants": [{"VariantName": "primary", "ModelName": "m", "InstanceType": "ml.t2.medium",
                            "InitialInstanceCount": 1}],
    "DataCaptureConfig": {"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://b/c/",
                          "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234",
                          "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]},
}


def notebook(stack, id_, **overrides):
    props = dict(instance_type="ml.t3.medium", role_arn=ROLE, subnet_id=SUBNET, security_group_ids=[SG],
                 direct_internet_access="Disabled", root_access="Disabled")
    props.update(overrides)
    return sagemaker.CfnNotebookInstance(stack, id_, **{k: v for k, v in props.items() if v is not None})


S3_DESTINATION = {
    "BucketARN": "arn:aws:s3:::raw", "RoleARN": ROLE, "Prefix": "data/year=!{timestamp:yyyy}/",
    "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
    "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": "arn:aws:kms:us-east-1:123456789012:key/1"}},
}
FIREHOSE = {
    "DeliveryStreamType": "DirectPut",
    "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK",
                                                   "KeyARN": "arn:aws:kms:us-east-1:123456789012:key/2"},
    "ExtendedS3DestinationConfiguration": {**S3_DESTINATION, "S3BackupMode": "Enabled",
                                           "S3BackupConfiguration": {**S3_DESTINATION, "Prefix": "backup/"}},
}
WORKGROUP = {"Name": "wg", "WorkGroupConfiguration": {"EnforceWorkGroupConfiguration": True,
                                                      "BytesScannedCutoffPerQuery": 10_000_000}}


# Step Functions: one task per SageMaker API, every field its API has (botocore's shapes).
KEY = "arn:aws:kms:us-east-1:123456789012:key/3"
VPC = {"SecurityGroupIds": [SG], "Subnets": [SUBNET]}
TRAINING_DEFINITION = {
    "AlgorithmSpecification": {"TrainingImage": "i", "TrainingInputMode": "File"}, "RoleArn": ROLE,
    "OutputDataConfig": {"S3OutputPath": "s3://b/models/", "KmsKeyId": KEY},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10, "VolumeKmsKeyId": KEY},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "VpcConfig": VPC,
    "EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
}
TASKS = {
    "Train": ("sagemaker:createTrainingJob.sync", {"TrainingJobName.$": "$.name", **TRAINING_DEFINITION}),
    "Tune": ("sagemaker:createHyperParameterTuningJob.sync", {
        "HyperParameterTuningJobName.$": "$.name", "HyperParameterTuningJobConfig": {"Strategy": "Bayesian"},
        "TrainingJobDefinitions": [{**TRAINING_DEFINITION, "DefinitionName": "a"},
                                   {**TRAINING_DEFINITION, "DefinitionName": "b"}]}),
    "Baseline": ("aws-sdk:sagemaker:createProcessingJob", {
        "ProcessingJobName.$": "$.name", "RoleArn": ROLE, "AppSpecification": {"ImageUri": "i"},
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                                  "VolumeSizeInGB": 10, "VolumeKmsKeyId": KEY}},
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o", "S3Output": {
            "S3Uri": "s3://b/o/", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}],
            "KmsKeyId": KEY},
        "NetworkConfig": {"VpcConfig": VPC, "EnableNetworkIsolation": True,
                          "EnableInterContainerTrafficEncryption": True}}),
    # A transform job takes no VPC or isolation (its model does): SFN1-3 do not apply to it.
    "Transform": ("sagemaker:createTransformJob.sync", {
        "TransformJobName.$": "$.name", "ModelName": "m",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
        "TransformOutput": {"S3OutputPath": "s3://b/out/", "KmsKeyId": KEY},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeKmsKeyId": KEY}}),
    "Monitor": ("aws-sdk:sagemaker:createMonitoringSchedule", {
        "MonitoringScheduleName.$": "$.name", "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringJobDefinition": {
                "RoleArn": ROLE, "MonitoringAppSpecification": {"ImageUri": "i"},
                "MonitoringInputs": [{"EndpointInput": {"EndpointName": "e", "LocalPath": "/opt/ml/processing/input"}}],
                "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                    "S3Uri": "s3://b/monitor/", "LocalPath": "/opt/ml/processing/output"}}], "KmsKeyId": KEY},
                "MonitoringResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                                          "VolumeSizeInGB": 10, "VolumeKmsKeyId": KEY}},
                "NetworkConfig": {"VpcConfig": VPC, "EnableNetworkIsolation": True,
                                  "EnableInterContainerTrafficEncryption": True}}}}),
    "DataQuality": ("aws-sdk:sagemaker:createDataQualityJobDefinition", {
        "JobDefinitionName.$": "$.name", "RoleArn": ROLE, "DataQualityAppSpecification": {"ImageUri": "i"},
        "DataQualityJobInput": {"EndpointInput": {"EndpointName": "e", "LocalPath": "/opt/ml/processing/input"}},
        "DataQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": "s3://b/quality/", "LocalPath": "/opt/ml/processing/output"}}], "KmsKeyId": KEY},
        "JobResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10,
                                           "VolumeKmsKeyId": KEY}},
        "NetworkConfig": {"VpcConfig": VPC, "EnableNetworkIsolation": True,
                          "EnableInterContainerTrafficEncryption": True}}),
    "CreateModel": ("sagemaker:createModel", {"ModelName.$": "$.name", "ExecutionRoleArn": ROLE,
                                              "PrimaryContainer": {"Image": "i"}, "VpcConfig": VPC,
                                              "EnableNetworkIsolation": True}),
    "CreateEndpointConfig": ("sagemaker:createEndpointConfig", {
        "EndpointConfigName.$": "$.name", "ProductionVariants": ENDPOINT_CONFIG["ProductionVariants"],
        "KmsKeyId": KEY, "DataCaptureConfig": ENDPOINT_CONFIG["DataCaptureConfig"]}),
}


def state_machine(stack, id_, **changes) -> sfn.StateMachine:
    """An L2 state machine (so its DefinitionString is an Fn::Join with tokens: the partition in every
    Resource, a KMS key ARN) running every task in turn, the last one inside a Parallel branch.
    `changes`: state name -> parameters (None removes the state)."""
    key = kms.Key(stack, f"{id_}Key")
    states = []
    for name, (action, parameters) in TASKS.items():
        parameters = changes.get(name, parameters)
        if parameters is None:
            continue
        parameters = json.loads(json.dumps(parameters).replace(KEY, "KEY_TOKEN"))
        parameters = _replace(parameters, "KEY_TOKEN", key.key_arn)
        states.append(sfn.CustomState(stack, f"{id_}{name}", state_json={
            "Type": "Task", "Resource": f"arn:{cdk.Aws.PARTITION}:states:::{action}", "Parameters": parameters}))
    chain = sfn.Chain.start(states[0])
    for state in states[1:-1]:
        chain = chain.next(state)
    branch = sfn.Parallel(stack, f"{id_}Branch").branch(states[-1])
    return sfn.StateMachine(stack, id_, definition_body=sfn.DefinitionBody.from_chainable(chain.next(branch)))


def _replace(value: Any, marker: str, token: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, marker, token) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, marker, token) for v in value]
    return token if value == marker else value


def _two_definitions(second: dict) -> dict:
    tune = copy.deepcopy(TASKS["Tune"][1])
    tune["TrainingJobDefinitions"][1] = second
    return tune


# Model Monitor in CloudFormation takes the fields of the API action that creates it.
DATA_QUALITY = {k: v for k, v in TASKS["DataQuality"][1].items() if not k.endswith(".$")}
DATA_QUALITY_TYPE = "AWS::SageMaker::DataQualityJobDefinition"


# rule suffix -> (build the passing fixture, build the failing fixture), each `(stack, id) -> construct`
FIXTURES = {
    "SM1": (lambda s, i: model(s, i), lambda s, i: model(s, i, vpc=False)),
    "SM2": (lambda s, i: model(s, i), lambda s, i: model(s, i, isolation=False)),
    "SM3": (lambda s, i: _raw(s, i, "AWS::SageMaker::EndpointConfig", ENDPOINT_CONFIG),
            lambda s, i: _raw(s, i, "AWS::SageMaker::EndpointConfig", _without(ENDPOINT_CONFIG, "KmsKeyId"))),
    "SM4": (lambda s, i: _raw(s, i, "AWS::SageMaker::EndpointConfig", ENDPOINT_CONFIG),
            lambda s, i: _raw(s, i, "AWS::SageMaker::EndpointConfig",
                              _without(ENDPOINT_CONFIG, "DataCaptureConfig", "KmsKeyId"))),
    "SM5": (lambda s, i: notebook(s, i), lambda s, i: notebook(s, i, root_access=None)),
    "SM6": (lambda s, i: notebook(s, i), lambda s, i: notebook(s, i, direct_internet_access="Enabled")),
    "SM7": (lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, DATA_QUALITY),
            lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, _without(DATA_QUALITY, "NetworkConfig", "VpcConfig"))),
    "SM8": (lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, DATA_QUALITY),
            lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, _with(DATA_QUALITY, False, "NetworkConfig",
                                                             "EnableNetworkIsolation"))),
    "SM9": (lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, DATA_QUALITY),
            lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, _without(DATA_QUALITY, "NetworkConfig",
                                                                "EnableInterContainerTrafficEncryption"))),
    "SM10": (lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, DATA_QUALITY),
             lambda s, i: _raw(s, i, DATA_QUALITY_TYPE, _without(DATA_QUALITY, "JobResources", "ClusterConfig",
                                                                 "VolumeKmsKeyId"))),
    "SFN1": (lambda s, i: state_machine(s, i),
             lambda s, i: state_machine(s, i, Baseline=_without(TASKS["Baseline"][1], "NetworkConfig", "VpcConfig"))),
    "SFN2": (lambda s, i: state_machine(s, i),
             lambda s, i: state_machine(s, i, Tune=_two_definitions(
                 _without(TRAINING_DEFINITION, "EnableNetworkIsolation")))),
    "SFN3": (lambda s, i: state_machine(s, i),
             lambda s, i: state_machine(s, i, Train=_with(TASKS["Train"][1], False,
                                                          "EnableInterContainerTrafficEncryption"))),
    "SFN4": (lambda s, i: state_machine(s, i),
             lambda s, i: state_machine(s, i, Transform=_without(TASKS["Transform"][1], "TransformResources",
                                                                 "VolumeKmsKeyId"))),
    "SFN5": (lambda s, i: state_machine(s, i),
             lambda s, i: state_machine(s, i, Baseline=_without(TASKS["Baseline"][1], "ProcessingOutputConfig",
                                                                "KmsKeyId"))),
    "SFN6": (lambda s, i: state_machine(s, i),
             lambda s, i: state_machine(s, i, CreateEndpointConfig=_without(TASKS["CreateEndpointConfig"][1],
                                                                            "KmsKeyId"))),
    "SFN7": (lambda s, i: state_machine(s, i),
             lambda s, i: state_machine(s, i, CreateEndpointConfig=_without(TASKS["CreateEndpointConfig"][1],
                                                                            "DataCaptureConfig"))),
    "FH1": (lambda s, i: _raw(s, i, "AWS::KinesisFirehose::DeliveryStream", FIREHOSE),
            lambda s, i: _raw(s, i, "AWS::KinesisFirehose::DeliveryStream", _without(
                FIREHOSE, "ExtendedS3DestinationConfiguration", "S3BackupConfiguration", "ErrorOutputPrefix"))),
    "FH2": (lambda s, i: _raw(s, i, "AWS::KinesisFirehose::DeliveryStream", FIREHOSE),
            lambda s, i: _raw(s, i, "AWS::KinesisFirehose::DeliveryStream",
                              _without(FIREHOSE, "DeliveryStreamEncryptionConfigurationInput"))),
    "ATH1": (lambda s, i: _raw(s, i, "AWS::Athena::WorkGroup", WORKGROUP),
             lambda s, i: _raw(s, i, "AWS::Athena::WorkGroup",
                               _with(WORKGROUP, False, "WorkGroupConfiguration", "EnforceWorkGroupConfiguration"))),
    "ATH2": (lambda s, i: _raw(s, i, "AWS::Athena::WorkGroup", WORKGROUP),
             lambda s, i: _raw(s, i, "AWS::Athena::WorkGroup",
                               _without(WORKGROUP, "WorkGroupConfiguration", "BytesScannedCutoffPerQuery"))),
    "LOG1": (lambda s, i: logs.LogGroup(s, i, retention=logs.RetentionDays.ONE_MONTH, encryption_key=kms.Key(s, f"{i}K")),
             lambda s, i: logs.LogGroup(s, i, retention=logs.RetentionDays.INFINITE,
                                        encryption_key=kms.Key(s, f"{i}K"))),
    "LOG2": (lambda s, i: logs.LogGroup(s, i, retention=logs.RetentionDays.ONE_MONTH, encryption_key=kms.Key(s, f"{i}K")),
             lambda s, i: logs.LogGroup(s, i, retention=logs.RetentionDays.ONE_MONTH)),
    "KDS1": (lambda s, i: kinesis.Stream(s, i, encryption_key=kms.Key(s, f"{i}K")),
             lambda s, i: kinesis.Stream(s, i, encryption=kinesis.StreamEncryption.MANAGED)),
}


def _path(construct) -> str:
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    return resource.node.path


@pytest.fixture(scope="module")
def fixture_findings() -> tuple[dict[str, tuple[str, str]], dict[str, set[str]]]:
    """Every rule's two fixtures side by side in one bare stack, checked once."""
    stack = cdk.Stack(cdk.App(), "Fixtures")
    paths = {suffix: (_path(passing(stack, f"{suffix}Passing")), _path(failing(stack, f"{suffix}Failing")))
             for suffix, (passing, failing) in FIXTURES.items()}
    return paths, findings(stack)


def test_every_rule_has_a_passing_and_a_failing_fixture():
    assert sorted(FIXTURES) == sorted(rule.suffix for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.rule_id)
def test_rule_flags_its_failing_fixture_and_not_its_passing_one(rule, fixture_findings):
    paths, found = fixture_findings
    passing, failing = paths[rule.suffix]
    assert failing in found.get(rule.rule_id, set())
    assert passing not in found.get(rule.rule_id, set())


def test_passing_fixtures_pass_every_rule(fixture_findings):
    paths, found = fixture_findings
    passing = {p for p, _ in paths.values()}
    assert {rule: flagged & passing for rule, flagged in found.items() if flagged & passing} == {}


def test_each_failing_fixture_breaks_only_its_own_rule(fixture_findings):
    """The failing fixtures differ from the passing ones in one field each, and only that rule notices."""
    paths, found = fixture_findings
    for suffix, (_, failing) in paths.items():
        assert {rule for rule, flagged in found.items() if failing in flagged} == {f"{PACK_NAME}-{suffix}"}


def test_findings_name_what_is_missing_and_the_config_rule():
    stack = cdk.Stack(cdk.App(), "Detail")
    state_machine(stack, "Pipeline", Train=_without(TASKS["Train"][1], "VpcConfig"))
    report = MLSpecialtyChecks(verbose=True).validate_scope(stack)
    (violation,) = report.violations
    assert violation.rule_name == "MLSpecialty-SFN1"
    assert "Not met: state PipelineTrain (createtrainingjob): VpcConfig." in violation.description
    assert "sagemaker-model-in-vpc" in violation.description


# ---------------------------------------------------------------- conservative with what cannot be proven


def test_a_condition_that_can_switch_a_control_off_is_a_finding():
    stack = cdk.Stack(cdk.App(), "Conditions")
    condition = cdk.CfnCondition(stack, "Prod", expression=cdk.Fn.condition_equals(cdk.Aws.ACCOUNT_ID, "1"))
    either = model(stack, "Either", isolation=cdk.Fn.condition_if(condition.logical_id, True, False))
    both = model(stack, "Both", isolation=cdk.Fn.condition_if(condition.logical_id, True, True))
    maybe_key = _raw(stack, "MaybeKey", "AWS::SageMaker::EndpointConfig", _with(
        ENDPOINT_CONFIG, cdk.Fn.condition_if(condition.logical_id, "arn:key", cdk.Aws.NO_VALUE), "KmsKeyId"))
    parameter = cdk.CfnParameter(stack, "Isolation", type="String", allowed_values=["true", "false"])
    from_parameter = _raw(stack, "FromParameter", "AWS::SageMaker::Model", {
        "ExecutionRoleArn": ROLE, "VpcConfig": VPC, "EnableNetworkIsolation": parameter.value_as_string})
    found = findings(stack)
    assert found["MLSpecialty-SM2"] == {either.node.path, from_parameter.node.path}
    assert both.node.path not in found["MLSpecialty-SM2"]
    assert found["MLSpecialty-SM3"] == {maybe_key.node.path}


def test_a_step_functions_field_filled_in_at_run_time_is_a_finding():
    stack = cdk.Stack(cdk.App(), "RunTime")
    dynamic = state_machine(stack, "Dynamic", Train={**_without(TASKS["Train"][1], "VpcConfig"),
                                                     "VpcConfig.$": "$.network"})
    jsonata = state_machine(stack, "Jsonata", Train=_with(TASKS["Train"][1], "{% $states.input.key %}",
                                                          "OutputDataConfig", "KmsKeyId"))
    found = findings(stack)
    assert found["MLSpecialty-SFN1"] == {_path(dynamic)}
    assert found["MLSpecialty-SFN5"] == {_path(jsonata)}


def test_definitions_as_objects_with_substitutions_and_in_s3_are_read_or_flagged():
    stack = cdk.Stack(cdk.App(), "Forms")
    key = kms.Key(stack, "Key")
    training = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "End": True,
                "Parameters": _with(TASKS["Train"][1], "${OutputKey}", "OutputDataConfig", "KmsKeyId")}
    substituted = sfn.CfnStateMachine(
        stack, "Substituted", role_arn=ROLE, definition_string=json.dumps({"StartAt": "T", "States": {"T": training}}),
        definition_substitutions={"OutputKey": key.key_arn})
    not_substituted = sfn.CfnStateMachine(
        stack, "NotSubstituted", role_arn=ROLE,
        definition_string=json.dumps({"StartAt": "T", "States": {"T": _with(
            training, "", "Parameters", "OutputDataConfig", "KmsKeyId")}}))
    as_object = sfn.CfnStateMachine(stack, "AsObject", role_arn=ROLE,
                                    definition={"StartAt": "T", "States": {"T": _with(
                                        training, False, "Parameters", "EnableNetworkIsolation")}})
    in_s3 = sfn.CfnStateMachine(stack, "InS3", role_arn=ROLE, definition_s3_location=sfn.CfnStateMachine.S3LocationProperty(
        bucket="b", key="definition.json"))
    found = findings(stack)
    assert substituted.node.path not in set().union(*found.values())
    assert found["MLSpecialty-SFN5"] == {not_substituted.node.path, in_s3.node.path}
    assert found["MLSpecialty-SFN2"] == {as_object.node.path, in_s3.node.path}


def test_model_monitor_jobs_are_checked_under_their_own_field_names():
    stack = cdk.Stack(cdk.App(), "Monitoring")
    schedule = TASKS["Monitor"][1]
    unisolated = state_machine(stack, "Unisolated", Monitor=_with(
        schedule, False, "MonitoringScheduleConfig", "MonitoringJobDefinition", "NetworkConfig",
        "EnableNetworkIsolation"))
    clear_text = state_machine(stack, "ClearText", DataQuality=_without(
        TASKS["DataQuality"][1], "NetworkConfig", "EnableInterContainerTrafficEncryption"))
    unencrypted = state_machine(stack, "Unencrypted", DataQuality=_without(
        TASKS["DataQuality"][1], "DataQualityJobOutputConfig", "KmsKeyId"))
    # A schedule that names a job definition: that definition is checked where it is created.
    named = state_machine(stack, "Named", Monitor={
        "MonitoringScheduleName.$": "$.name",
        "MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "quality", "MonitoringType": "DataQuality"}})
    found = findings(stack)
    assert found == {"MLSpecialty-SFN2": {_path(unisolated)}, "MLSpecialty-SFN3": {_path(clear_text)},
                     "MLSpecialty-SFN5": {_path(unencrypted)}}
    assert _path(named) not in set().union(*found.values())


def test_a_schedule_update_is_checked_like_its_creation():
    """UpdateMonitoringSchedule takes a whole inline job definition again (the monitor pipeline's
    UpdateSchedule state): one outside the VPC is flagged, a compliant one is not."""
    stack = cdk.Stack(cdk.App(), "ScheduleUpdates")
    update = ("aws-sdk:sagemaker:updateMonitoringSchedule", TASKS["Monitor"][1])
    outside = _without(TASKS["Monitor"][1], "MonitoringScheduleConfig", "MonitoringJobDefinition", "NetworkConfig")
    machines = {}
    for id_, parameters in (("Compliant", TASKS["Monitor"][1]), ("Outside", outside)):
        machines[id_] = sfn.StateMachine(stack, id_, definition_body=sfn.DefinitionBody.from_chainable(
            sfn.CustomState(stack, f"{id_}Update", state_json={
                "Type": "Task", "Resource": f"arn:{cdk.Aws.PARTITION}:states:::{update[0]}",
                "Parameters": parameters})))
    found = findings(stack)
    assert {rule for rule, paths in found.items() if _path(machines["Outside"]) in paths} == \
        {"MLSpecialty-SFN1", "MLSpecialty-SFN2", "MLSpecialty-SFN3"}
    assert _path(machines["Compliant"]) not in set().union(*found.values())


def test_every_model_monitor_type_in_cloudformation_is_checked_under_its_own_field_names():
    stack = cdk.Stack(cdk.App(), "MonitoringResources")
    monitored = {}
    for kind in ("ModelQuality", "ModelBias", "ModelExplainability"):
        properties = {k.replace("DataQuality", kind): v for k, v in DATA_QUALITY.items()}
        monitored[kind] = _raw(stack, kind, f"AWS::SageMaker::{kind}JobDefinition",
                               _without(properties, f"{kind}JobOutputConfig", "KmsKeyId"))
    inline = {k: v for k, v in TASKS["Monitor"][1].items() if not k.endswith(".$")}
    schedule = _raw(stack, "Schedule", "AWS::SageMaker::MonitoringSchedule", _with(
        inline, False, "MonitoringScheduleConfig", "MonitoringJobDefinition", "NetworkConfig", "EnableNetworkIsolation"))
    named = _raw(stack, "Named", "AWS::SageMaker::MonitoringSchedule", {"MonitoringScheduleName": "n",
        "MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "quality", "MonitoringType": "DataQuality"}})
    compliant = _raw(stack, "Compliant", "AWS::SageMaker::MonitoringSchedule", inline)
    assert findings(stack) == {"MLSpecialty-SM10": {m.node.path for m in monitored.values()},
                               "MLSpecialty-SM8": {schedule.node.path}}
    assert named and compliant


def test_a_state_machine_without_sagemaker_tasks_is_not_checked():
    stack = cdk.Stack(cdk.App(), "Plain")
    sfn.StateMachine(stack, "Plain", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Nothing")))
    assert findings(stack) == {}


# ---------------------------------------------------------------- in the app, through the one helper


def test_rule_notes_are_quoted_verbatim_from_the_study_notes():
    for rule in RULES:
        notes_file, statement = rule.note
        notes = traceability.normalized((PROJECT_ROOT / "docs" / "study-notes" / notes_file).read_text())
        assert traceability.normalized(statement) in notes, rule.rule_id


def test_the_pack_is_registered_beside_the_five_and_its_ids_are_acknowledgeable():
    assert MLSpecialtyChecks in NAG_PACKS
    assert PACK_NAME in compliance.NAG_PACKS


def _tiny_app(acknowledged: bool) -> cdk.App:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Tiny")
    unisolated = model(stack, "Model", isolation=False)
    if acknowledged:
        acknowledge(unisolated, ["MLSpecialty-SM2"], REASON)
    cdk.Validations.of(app).add_plugins(MLSpecialtyChecks(app, write_suppressions_to_cloud_formation=True))
    return app


def test_an_unacknowledged_finding_fails_synth():
    with pytest.raises(Exception, match="MLSpecialty-SM2"):
        _tiny_app(acknowledged=False).synth(force=True)


def test_an_acknowledged_finding_passes_synth_and_is_recorded_in_the_template():
    assembly = _tiny_app(acknowledged=True).synth(force=True)
    (ack,) = gates.nag_verdict(assembly.directory).acknowledged
    assert (ack["path"], ack["acknowledged_id"], ack["reason"]) == ("Tiny/Model", "MLSpecialty::MLSpecialty-SM2",
                                                                    REASON)
    metadata = assembly.get_stack_by_name("Tiny").template["Resources"]["Model"]["Metadata"]["cdk_nag"]
    assert metadata["rules_to_suppress"] == [{"id": "MLSpecialty::MLSpecialty-SM2", "reason": REASON}]


@pytest.fixture(scope="module")
def app_with_a_gap(tmp_path_factory):
    """The sandbox app as build_app registers its checks, with one unisolated model added and
    acknowledged through patterns.compliance.acknowledge."""
    built = build_app({"profile": "sandbox"}, outdir=str(tmp_path_factory.mktemp("gap")))
    unisolated = model(built.stacks["SageMaker"], "UnisolatedModel", isolation=False)
    acknowledge(unisolated, ["MLSpecialty-SM2"], REASON)
    built.app.synth()  # raises if any finding were left open
    return built, gates.nag_verdict(built.app.outdir)


def test_the_pack_runs_in_the_apps_synth_and_acknowledgements_go_through_the_helper(app_with_a_gap):
    built, verdict = app_with_a_gap
    ml = [a for a in verdict.acknowledged if a["rule"].startswith(f"{PACK_NAME}-")]
    assert [(a["rule"], a["path"], a["acknowledged_id"]) for a in ml] == [
        ("MLSpecialty-SM2", "SageMaker/UnisolatedModel", "MLSpecialty::MLSpecialty-SM2")]
    assert verdict.unacknowledged == []
