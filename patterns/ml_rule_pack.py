"""MLSpecialtyChecks: a cdk-nag v3 rule pack for the ML controls the five upstream packs lack.

Each rule mirrors an AWS Config managed rule where one exists (and says so where none does) and a
statement of the study notes (docs/study-notes). Rules read the L1 resource's own properties,
resolved with `Stack.of(node).resolve(...)`, as the upstream packs do (raw overrides are not
seen, as upstream), and are conservative with intrinsic functions: a value they cannot prove
compliant (an `Fn::If` that may yield `AWS::NoValue`, a parameter where a literal `true` is
required, a Step Functions field filled in at run time with `.$` or JSONata) is a finding.
Model Monitor resources in CloudFormation (job definitions, schedules) are checked with the same
fields as the API actions that create them.

The Step Functions rules read every state machine definition (`DefinitionString`, an `Fn::Join`
or `Fn::Sub` with tokens, or `Definition`) and check every SageMaker task, optimized
(`arn:aws:states:::sagemaker:createTrainingJob.sync`) or AWS SDK
(`arn:aws:states:::aws-sdk:sagemaker:createTrainingJob`), against the fields its API has
(botocore's sagemaker service model): training and tuning jobs (per training job definition),
processing jobs (`NetworkConfig`, cluster volume, output config), transform jobs (volume,
output and batch data capture keys: they take no VPC or isolation, their model does), Model
Monitor job definitions and schedules created or updated with an inline definition (`NetworkConfig`, job resources,
monitoring output), models, and endpoint configs.

Usage, beside the upstream packs (acknowledge with `patterns.compliance.acknowledge` and an
id such as `MLSpecialty-SM1`)::

    cdk.Validations.of(app).add_plugins(MLSpecialtyChecks(app, write_suppressions_to_cloud_formation=True))
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsii
from aws_cdk import CfnResource, Stack
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

PACK_NAME = "MLSpecialty"
S000, S003, S004 = "000_9189b603e09bc9bf.txt", "003_a34f3d96b6317154.txt", "004_0a8284ca0a231664.txt"

# A check returns None when the rule does not apply to the resource, else what is wrong (empty: compliant).
Check = Callable[[Mapping[str, Any]], "list[str] | None"]


@dataclasses.dataclass(frozen=True)
class MlRule:
    """One rule: `MLSpecialty-<suffix>` on resources of `resource_types`."""

    suffix: str
    resource_types: tuple[str, ...]
    checks: str  # what a compliant resource has (the finding's info adds what is not met)
    explanation: str
    config_rule: str  # the AWS Config managed rule it mirrors, or why none
    note: tuple[str, str]  # (file in docs/study-notes, verbatim statement)
    check: Check | Mapping[str, Check]  # one check, or one per resource type

    @property
    def rule_id(self) -> str:
        return f"{PACK_NAME}-{self.suffix}"

    def evaluate(self, props: Mapping[str, Any], resource_type: str) -> list[str] | None:
        check = self.check[resource_type] if isinstance(self.check, Mapping) else self.check
        return check(props)


# ---------------------------------------------------------------- reading resolved values


def _get(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]...`, keys compared case-insensitively (the L1's own properties are
    camelCase, CloudFormation's and the States language's PascalCase); None when absent."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        wanted = key.lower()
        value = next((v for k, v in value.items() if k.lower() == wanted), None)
    return value


def _branches(value: Any) -> list[Any] | None:
    """The two outcomes of an `Fn::If`, or None when `value` is not one."""
    if isinstance(value, Mapping) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        return [when_true, when_false]
    return None


def _present(value: Any) -> bool:
    """Set to something, whatever it resolves to at deploy time; an `Fn::If` only when both outcomes are,
    a value filled in at run time (JSONata `{% ... %}`) never."""
    branches = _branches(value)
    if branches is not None:
        return all(_present(b) for b in branches)
    if isinstance(value, Mapping):
        return bool(value) and value.get("Ref") != "AWS::NoValue"
    if isinstance(value, str):
        return bool(value.strip()) and not value.lstrip().startswith("{%")
    if isinstance(value, (list, tuple)):
        return bool(value)
    return value is not None and value is not False


def _is(value: Any, expected: Any) -> bool:
    """Provably `expected` (a literal; booleans also as "true"/"false"); an `Fn::If` only when both outcomes are."""
    branches = _branches(value)
    if branches is not None:
        return all(_is(b, expected) for b in branches)
    if isinstance(expected, bool):
        return value is expected or (isinstance(value, str) and value.lower() == str(expected).lower())
    return value == expected


def _problems(*checks: tuple[bool, str]) -> list[str]:
    return [problem for ok, problem in checks if not ok]


def _vpc(config: Any) -> bool:
    return _present(_get(config, "Subnets")) and _present(_get(config, "SecurityGroupIds"))


# ---------------------------------------------------------------- SageMaker resources


def _model_in_vpc(props):
    return _problems((_vpc(_get(props, "VpcConfig")), "no VpcConfig with subnets and security groups"))


def _model_isolated(props):
    return _problems((_is(_get(props, "EnableNetworkIsolation"), True), "EnableNetworkIsolation is not true"))


def _endpoint_config_kms(props):
    return _problems((_present(_get(props, "KmsKeyId")), "no KmsKeyId"))


def _capture_problems(capture: Any) -> list[str]:
    if not _present(capture):
        return ["no DataCaptureConfig"]
    enabled = _get(capture, "EnableCapture")
    return _problems((enabled is None or _is(enabled, True), "DataCaptureConfig.EnableCapture is not true"),
                     (_present(_get(capture, "KmsKeyId")), "no DataCaptureConfig.KmsKeyId"))


def _endpoint_config_capture(props):
    return _capture_problems(_get(props, "DataCaptureConfig"))


def _notebook_root(props):
    # Absent means Enabled, the API's default.
    return _problems((_is(_get(props, "RootAccess"), "Disabled"), "RootAccess is not Disabled"))


def _notebook_internet(props):
    # Absent means Enabled; Disabled needs a subnet, through which the notebook reaches AWS.
    return _problems((_is(_get(props, "DirectInternetAccess"), "Disabled"), "DirectInternetAccess is not Disabled"),
                     (_present(_get(props, "SubnetId")), "no SubnetId"))


# ---------------------------------------------------------------- Step Functions definitions

_TOKEN = "__cfn_token_{}__"
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")
_SAGEMAKER_TASK = re.compile(r":states:::(?:aws-sdk:)?sagemaker:(\w+?)(?:\.(?:sync|waitForTaskToken)(?::\d+)?)?$")


class _JsonText:
    """Rebuilds a definition string from its literal parts and tokens. A token inside a JSON string
    becomes a placeholder word, elsewhere a placeholder string, so the text parses either way."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tokens = 0
        self._in_string = False
        self._escaped = False

    def literal(self, text: str) -> None:
        for char in text:
            if self._escaped:
                self._escaped = False
            elif char == "\\" and self._in_string:
                self._escaped = True
            elif char == '"':
                self._in_string = not self._in_string
        self.parts.append(text)

    def token(self) -> None:
        word = _TOKEN.format(self.tokens)
        self.tokens += 1
        self.parts.append(word if self._in_string else f'"{word}"')

    def text(self, template: str, substitutions: Mapping[str, Any]) -> None:
        """A literal that may hold `${name}` substitutions (Fn::Sub, DefinitionSubstitutions)."""
        position = 0
        for match in _SUB.finditer(template):
            self.literal(template[position:match.start()].replace("${!", "${"))
            value = substitutions.get(match.group(1))
            if isinstance(value, str):
                self.text(value, {})
            else:
                self.token()
            position = match.end()
        self.literal(template[position:].replace("${!", "${"))


def _definition_text(value: Any, substitutions: Mapping[str, Any], out: _JsonText) -> None:
    if isinstance(value, str):
        out.text(value, substitutions)
    elif isinstance(value, Mapping) and set(value) == {"Fn::Join"}:
        delimiter, items = value["Fn::Join"]
        for i, item in enumerate(items):
            if i:
                out.text(delimiter, substitutions)
            _definition_text(item, substitutions, out)
    elif isinstance(value, Mapping) and set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        template, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
        # A variable given as a literal is text; any other (an intrinsic) is a token.
        out.text(template, {**substitutions, **{k: v if isinstance(v, str) else None for k, v in variables.items()}})
    elif isinstance(value, Mapping):
        out.token()
    else:
        raise ValueError(f"cannot read a state machine definition from {json.dumps(value)[:200]}")


def state_machine_definition(props: Mapping[str, Any]) -> Any:
    """The definition of a resolved AWS::StepFunctions::StateMachine, tokens replaced by placeholders.
    Raises ValueError when it cannot be read (a definition in S3, or text that is not JSON)."""
    definition = _get(props, "Definition")
    if definition is not None:
        return definition
    text = _get(props, "DefinitionString")
    if text is None:
        raise ValueError("the definition is not in the template (DefinitionS3Location): it cannot be checked")
    substitutions = _get(props, "DefinitionSubstitutions") or {}
    out = _JsonText()
    _definition_text(text, substitutions, out)
    return json.loads("".join(out.parts))


def sagemaker_tasks(definition: Any) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(state name, lower-case SageMaker API action, parameters) of every SageMaker Task state, in
    nested Parallel branches and Map iterators too."""
    if isinstance(definition, Mapping):
        for name, state in (_get(definition, "States") or {}).items():
            resource = state.get("Resource") if isinstance(state, Mapping) else None
            if state.get("Type") == "Task" and isinstance(resource, str):
                match = _SAGEMAKER_TASK.search(resource)
                if match:
                    parameters = state.get("Parameters", state.get("Arguments", {}))
                    yield name, match.group(1).lower(), parameters if isinstance(parameters, Mapping) else {}
        for child in definition.values():
            yield from sagemaker_tasks(child)
    elif isinstance(definition, list):
        for child in definition:
            yield from sagemaker_tasks(child)


def _tuning_definitions(parameters):
    definitions = [d for d in [_get(parameters, "TrainingJobDefinition"),
                               *(_get(parameters, "TrainingJobDefinitions") or [])] if d is not None]
    return definitions or [{}]  # none (or only given at run time): nothing is proven


# Per API action, per control: the problems of one task's parameters (the API shapes of botocore's
# sagemaker model). An action missing from a control's table does not have that control's fields.
_TASK_CONTROLS: dict[str, dict[str, Callable[[Mapping[str, Any]], list[str]]]] = {
    "vpc": {
        "createtrainingjob": lambda p: _problems((_vpc(_get(p, "VpcConfig")), "VpcConfig")),
        "createhyperparametertuningjob": lambda p: _problems(
            *((_vpc(_get(d, "VpcConfig")), "VpcConfig") for d in _tuning_definitions(p))),
        "createprocessingjob": lambda p: _problems((_vpc(_get(p, "NetworkConfig", "VpcConfig")),
                                                    "NetworkConfig.VpcConfig")),
        "createmodel": lambda p: _problems((_vpc(_get(p, "VpcConfig")), "VpcConfig")),
    },
    "isolation": {
        "createtrainingjob": lambda p: _problems((_is(_get(p, "EnableNetworkIsolation"), True),
                                                  "EnableNetworkIsolation")),
        "createhyperparametertuningjob": lambda p: _problems(
            *((_is(_get(d, "EnableNetworkIsolation"), True), "EnableNetworkIsolation")
              for d in _tuning_definitions(p))),
        "createprocessingjob": lambda p: _problems((_is(_get(p, "NetworkConfig", "EnableNetworkIsolation"), True),
                                                    "NetworkConfig.EnableNetworkIsolation")),
        "createmodel": lambda p: _problems((_is(_get(p, "EnableNetworkIsolation"), True), "EnableNetworkIsolation")),
    },
    "inter_container": {
        "createtrainingjob": lambda p: _problems((_is(_get(p, "EnableInterContainerTrafficEncryption"), True),
                                                  "EnableInterContainerTrafficEncryption")),
        "createhyperparametertuningjob": lambda p: _problems(
            *((_is(_get(d, "EnableInterContainerTrafficEncryption"), True), "EnableInterContainerTrafficEncryption")
              for d in _tuning_definitions(p))),
        "createprocessingjob": lambda p: _problems(
            (_is(_get(p, "NetworkConfig", "EnableInterContainerTrafficEncryption"), True),
             "NetworkConfig.EnableInterContainerTrafficEncryption")),
    },
    "volume_kms": {
        "createtrainingjob": lambda p: _problems((_present(_get(p, "ResourceConfig", "VolumeKmsKeyId")),
                                                  "ResourceConfig.VolumeKmsKeyId")),
        "createhyperparametertuningjob": lambda p: _problems(
            *((_present(_get(d, "ResourceConfig", "VolumeKmsKeyId"))
               or _present(_get(d, "HyperParameterTuningResourceConfig", "VolumeKmsKeyId")), "VolumeKmsKeyId")
              for d in _tuning_definitions(p))),
        "createprocessingjob": lambda p: _problems(
            (_present(_get(p, "ProcessingResources", "ClusterConfig", "VolumeKmsKeyId")),
             "ProcessingResources.ClusterConfig.VolumeKmsKeyId")),
        "createtransformjob": lambda p: _problems((_present(_get(p, "TransformResources", "VolumeKmsKeyId")),
                                                   "TransformResources.VolumeKmsKeyId")),
    },
    "output_kms": {
        "createtrainingjob": lambda p: _problems((_present(_get(p, "OutputDataConfig", "KmsKeyId")),
                                                  "OutputDataConfig.KmsKeyId")),
        "createhyperparametertuningjob": lambda p: _problems(
            *((_present(_get(d, "OutputDataConfig", "KmsKeyId")), "OutputDataConfig.KmsKeyId")
              for d in _tuning_definitions(p))),
        # A processing job without an output config writes nothing to encrypt.
        "createprocessingjob": lambda p: _problems(
            (_get(p, "ProcessingOutputConfig") is None or _present(_get(p, "ProcessingOutputConfig", "KmsKeyId")),
             "ProcessingOutputConfig.KmsKeyId")),
        "createtransformjob": lambda p: _problems(
            (_present(_get(p, "TransformOutput", "KmsKeyId")), "TransformOutput.KmsKeyId"),
            (_get(p, "DataCaptureConfig") is None or _present(_get(p, "DataCaptureConfig", "KmsKeyId")),
             "DataCaptureConfig.KmsKeyId")),
    },
    "endpoint_config_kms": {
        "createendpointconfig": lambda p: _problems((_present(_get(p, "KmsKeyId")), "KmsKeyId")),
    },
    "endpoint_config_capture": {
        "createendpointconfig": lambda p: _capture_problems(_get(p, "DataCaptureConfig")),
    },
}


# Model Monitor: the job definitions (and a schedule's inline definition) take a processing job's
# controls under other names; a schedule that names a definition is checked where that is created.
_MONITORING_OUTPUTS = {
    "createdataqualityjobdefinition": "DataQualityJobOutputConfig",
    "createmodelqualityjobdefinition": "ModelQualityJobOutputConfig",
    "createmodelbiasjobdefinition": "ModelBiasJobOutputConfig",
    "createmodelexplainabilityjobdefinition": "ModelExplainabilityJobOutputConfig",
}


# UpdateMonitoringSchedule takes the whole MonitoringScheduleConfig again, inline definition included:
# an update could otherwise replace a compliant schedule's job with one outside the VPC.
_SCHEDULE_ACTIONS = ("createmonitoringschedule", "updatemonitoringschedule")


def _monitoring_job(action: str, parameters: Mapping[str, Any]) -> tuple[str, dict[str, tuple[str, Any]]] | None:
    if action in _SCHEDULE_ACTIONS:
        config = _get(parameters, "MonitoringScheduleConfig")
        definition = _get(config, "MonitoringJobDefinition")
        if definition is None and _present(_get(config, "MonitoringJobDefinitionName")):
            return None
        prefix, resources, output = "MonitoringScheduleConfig.MonitoringJobDefinition.", "MonitoringResources", \
            "MonitoringOutputConfig"
    else:
        definition, prefix, resources, output = parameters, "", "JobResources", _MONITORING_OUTPUTS[action]
    return prefix, {"network": ("NetworkConfig", _get(definition, "NetworkConfig")),
                    "volume": (f"{resources}.ClusterConfig.VolumeKmsKeyId",
                               _get(definition, resources, "ClusterConfig", "VolumeKmsKeyId")),
                    "output": (f"{output}.KmsKeyId", _get(definition, output, "KmsKeyId"))}


def _monitoring_control(action: str, control: str) -> Callable[[Mapping[str, Any]], list[str]]:
    def check(parameters):
        job = _monitoring_job(action, parameters)
        if job is None:
            return []
        prefix, fields = job
        where, network = fields["network"]
        if control == "vpc":
            return _problems((_vpc(_get(network, "VpcConfig")), f"{prefix}{where}.VpcConfig"))
        if control == "isolation":
            return _problems((_is(_get(network, "EnableNetworkIsolation"), True),
                              f"{prefix}{where}.EnableNetworkIsolation"))
        if control == "inter_container":
            return _problems((_is(_get(network, "EnableInterContainerTrafficEncryption"), True),
                              f"{prefix}{where}.EnableInterContainerTrafficEncryption"))
        where, key = fields["volume" if control == "volume_kms" else "output"]
        return _problems((_present(key), f"{prefix}{where}"))

    return check


for _action in (*_MONITORING_OUTPUTS, *_SCHEDULE_ACTIONS):
    for _control in ("vpc", "isolation", "inter_container", "volume_kms", "output_kms"):
        _TASK_CONTROLS[_control][_action] = _monitoring_control(_action, _control)


def _tasks_check(control: str) -> Check:
    def check(props):
        controls = _TASK_CONTROLS[control]
        tasks = [(name, action, parameters) for name, action, parameters in
                 sagemaker_tasks(state_machine_definition(props)) if action in controls]
        if not tasks:
            return None
        return [f"state {name} ({action}): {', '.join(missing)}" for name, action, parameters in tasks
                if (missing := controls[action](parameters))]

    return check


# ---------------------------------------------------------------- data services


def _s3_destinations(props) -> Iterator[tuple[str, Any]]:
    """(property path, configuration) of the S3 destination Firehose writes to, and of its backup."""
    for name in ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration"):
        destination = _get(props, name)
        if destination is not None:
            yield name, destination
            backup = _get(destination, "S3BackupConfiguration")
            if backup is not None:
                yield f"{name}.S3BackupConfiguration", backup


def _buckets(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every S3 configuration (anything with a BucketARN) of a delivery stream, whatever its destination."""
    if isinstance(value, Mapping):
        if _get(value, "BucketARN") is not None:
            yield path or "(root)", value
        for key, child in value.items():
            yield from _buckets(child, f"{path}.{key}" if path else key)


def _firehose_error_prefix(props):
    destinations = list(_s3_destinations(props))
    if not destinations:
        return None
    return [f"{path}: no ErrorOutputPrefix" for path, config in destinations
            if not _present(_get(config, "ErrorOutputPrefix"))]


def _firehose_kms(props):
    problems = [f"{path}: no EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN"
                for path, config in _buckets(props)
                if not _present(_get(config, "EncryptionConfiguration", "KMSEncryptionConfig", "AWSKMSKeyARN"))]
    # A stream fed by a Kinesis stream (or MSK) cannot take SSE: the source's encryption covers it.
    if _get(props, "DeliveryStreamType") in (None, "DirectPut"):
        sse = _get(props, "DeliveryStreamEncryptionConfigurationInput")
        problems += _problems((_is(_get(sse, "KeyType"), "CUSTOMER_MANAGED_CMK") and _present(_get(sse, "KeyARN")),
                               "DirectPut without DeliveryStreamEncryptionConfigurationInput "
                               "(KeyType CUSTOMER_MANAGED_CMK, KeyARN)"))
    return problems


def _athena_enforced(props):
    return _problems((_is(_get(props, "WorkGroupConfiguration", "EnforceWorkGroupConfiguration"), True),
                      "WorkGroupConfiguration.EnforceWorkGroupConfiguration is not true"))


def _athena_cutoff(props):
    cutoff = _get(props, "WorkGroupConfiguration", "BytesScannedCutoffPerQuery")
    return _problems((_present(cutoff), "no WorkGroupConfiguration.BytesScannedCutoffPerQuery"))


def _log_retention(props):
    return _problems((_present(_get(props, "RetentionInDays")), "no RetentionInDays (kept forever)"))


def _log_kms(props):
    return _problems((_present(_get(props, "KmsKeyId")), "no KmsKeyId"))


def _kinesis_customer_key(props):
    encryption = _get(props, "StreamEncryption")
    key = _get(encryption, "KeyId")
    aws_managed = "alias/aws/" in json.dumps(key)  # also inside an Fn::Join or Fn::Sub
    return _problems((_is(_get(encryption, "EncryptionType"), "KMS") and _present(key) and not aws_managed,
                      "StreamEncryption is not KMS with a customer-managed KeyId"))


# ---------------------------------------------------------------- the rules

_SM_MODEL, _SM_CONFIG, _SM_NOTEBOOK = "AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", \
    "AWS::SageMaker::NotebookInstance"
_STATES = "AWS::StepFunctions::StateMachine"
_PUBLIC_BY_DEFAULT = (S003, "The default is a public VPC i.e. access to internet")
# Model Monitor in CloudFormation: each type takes the fields of the API action that creates it.
_MONITORING_ACTIONS = {
    "AWS::SageMaker::DataQualityJobDefinition": "createdataqualityjobdefinition",
    "AWS::SageMaker::ModelQualityJobDefinition": "createmodelqualityjobdefinition",
    "AWS::SageMaker::ModelBiasJobDefinition": "createmodelbiasjobdefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "createmodelexplainabilityjobdefinition",
    "AWS::SageMaker::MonitoringSchedule": "createmonitoringschedule",
}
_MONITORING = tuple(_MONITORING_ACTIONS)


def _monitoring_check(control: str) -> dict[str, Check]:
    controls = ("volume_kms", "output_kms") if control == "kms" else (control,)
    return {type_: (lambda props, action=action: [problem for c in controls
                                                   for problem in _TASK_CONTROLS[c][action](props)])
            for type_, action in _MONITORING_ACTIONS.items()}
_KMS_AT_REST = (S000, "At rest encryption via KMS")
_JOBS_NOT_IN_CONFIG = "none: training, processing, transform and tuning jobs are not AWS Config resources"

RULES: tuple[MlRule, ...] = (
    MlRule("SM1", (_SM_MODEL,), "The SageMaker model runs its containers in a VPC (VpcConfig with subnets and "
           "security groups).", "A model outside the VPC reaches the lake and the internet over SageMaker's "
           "network instead of the VPC's endpoints and security groups.",
           "sagemaker-model-in-vpc", _PUBLIC_BY_DEFAULT, _model_in_vpc),
    MlRule("SM2", (_SM_MODEL,), "The SageMaker model has network isolation enabled.",
           "An isolated container makes no outbound network call at all, so a compromised model cannot "
           "exfiltrate the data it is sent.", "sagemaker-model-isolation-enabled", _PUBLIC_BY_DEFAULT,
           _model_isolated),
    MlRule("SM3", (_SM_CONFIG,), "The SageMaker endpoint config encrypts the endpoint's volumes with a KMS key "
           "(KmsKeyId).", "Endpoint volumes hold the model and may hold request data; a customer key keeps "
           "their encryption under this account's key policy.",
           "sagemaker-endpoint-configuration-kms-key-configured", _KMS_AT_REST, _endpoint_config_kms),
    MlRule("SM4", (_SM_CONFIG,), "The SageMaker endpoint config captures requests and responses "
           "(DataCaptureConfig, not disabled) encrypted with a KMS key.",
           "Model Monitor and any drift investigation need the captured traffic, and the captured data is "
           "as sensitive as the requests.",
           "none (nearest: sagemaker-endpoint-configuration-kms-key-configured)",
           (S000, "Monitor performance of the model"), _endpoint_config_capture),
    MlRule("SM5", (_SM_NOTEBOOK,), "The SageMaker notebook instance has root access disabled (RootAccess "
           "Disabled; the default is Enabled).", "Root on the notebook lets any user change its software and "
           "reach whatever its role can; lifecycle scripts still run as root.",
           "sagemaker-notebook-instance-root-access-check",
           (S003, "Give notebook root access (server access)? Set this during creation default is true."),
           _notebook_root),
    MlRule("SM6", (_SM_NOTEBOOK,), "The SageMaker notebook instance has no direct internet access "
           "(DirectInternetAccess Disabled, in a subnet).", "With direct internet access a notebook can send "
           "lake data anywhere; without it, traffic goes through the VPC's endpoints.",
           "sagemaker-notebook-no-direct-internet-access", _PUBLIC_BY_DEFAULT, _notebook_internet),
    MlRule("SM7", _MONITORING, "The Model Monitor job definition (or a monitoring schedule's inline one) runs "
           "in a VPC (NetworkConfig.VpcConfig).", "Monitoring jobs read captured requests from the lake; outside "
           "the VPC they do so over SageMaker's network.", "none (nearest: sagemaker-data-quality-job-isolation)",
           _PUBLIC_BY_DEFAULT, _monitoring_check("vpc")),
    MlRule("SM8", _MONITORING, "The Model Monitor job definition (or a monitoring schedule's inline one) has "
           "network isolation enabled (NetworkConfig.EnableNetworkIsolation).", "An isolated monitoring container "
           "cannot send the captured traffic it analyses anywhere.", "sagemaker-data-quality-job-isolation, "
           "sagemaker-model-quality-job-definition-isolation, sagemaker-model-bias-job-isolation (one per job type)",
           _PUBLIC_BY_DEFAULT, _monitoring_check("isolation")),
    MlRule("SM9", _MONITORING, "The Model Monitor job definition (or a monitoring schedule's inline one) encrypts "
           "the traffic between its containers (NetworkConfig.EnableInterContainerTrafficEncryption).",
           "Distributed monitoring jobs exchange captured data between instances.",
           "sagemaker-model-explainability-job-encrypt-in-transit and its siblings per job type (stricter: also "
           "with one instance)", (S000, "Encryption in transit (SSL/TLS) vs none"),
           _monitoring_check("inter_container")),
    MlRule("SM10", _MONITORING, "The Model Monitor job definition (or a monitoring schedule's inline one) encrypts "
           "its volumes and its reports with KMS keys (ClusterConfig.VolumeKmsKeyId, output config KmsKeyId).",
           "Monitoring volumes and reports hold captured requests and their statistics.", "none", _KMS_AT_REST,
           _monitoring_check("kms")),
    MlRule("SFN1", (_STATES,), "Every SageMaker training, tuning, processing and Model Monitor job and model a Step "
           "Functions state machine creates runs in a VPC (VpcConfig; NetworkConfig.VpcConfig for processing and "
           "monitoring).",
           "Jobs outside the VPC read and write the lake over SageMaker's network instead of the VPC's "
           "endpoints and security groups.", _JOBS_NOT_IN_CONFIG + "; sagemaker-model-in-vpc for models",
           _PUBLIC_BY_DEFAULT, _tasks_check("vpc")),
    MlRule("SFN2", (_STATES,), "Every SageMaker training, tuning, processing and Model Monitor job and model a Step "
           "Functions state machine creates has network isolation enabled.", "Isolated containers make no outbound call, so "
           "training code or a model cannot exfiltrate the data it reads.",
           _JOBS_NOT_IN_CONFIG + " (nearest: sagemaker-data-quality-job-isolation); sagemaker-model-isolation-enabled for models", _PUBLIC_BY_DEFAULT,
           _tasks_check("isolation")),
    MlRule("SFN3", (_STATES,), "Every SageMaker training, tuning, processing and Model Monitor job a Step Functions "
           "state machine creates encrypts the traffic between its containers "
           "(EnableInterContainerTrafficEncryption).",
           "Distributed jobs exchange data and model state between instances; unencrypted, it crosses the "
           "network in clear.", _JOBS_NOT_IN_CONFIG + " (nearest: sagemaker-data-quality-job-encrypt-in-transit)",
           (S000, "Encryption in transit (SSL/TLS) vs none"), _tasks_check("inter_container")),
    MlRule("SFN4", (_STATES,), "Every SageMaker training, tuning, processing, transform and Model Monitor job a Step "
           "Functions state machine creates encrypts its ML storage volumes with a KMS key (VolumeKmsKeyId).",
           "Job volumes hold the training data, checkpoints and intermediate results.", _JOBS_NOT_IN_CONFIG,
           _KMS_AT_REST, _tasks_check("volume_kms")),
    MlRule("SFN5", (_STATES,), "Every SageMaker training, tuning, processing, transform and Model Monitor job a "
           "Step Functions state machine creates encrypts its output with a KMS key (OutputDataConfig, "
           "ProcessingOutputConfig, TransformOutput, batch DataCaptureConfig, monitoring output KmsKeyId).",
           "Model artifacts, reports and predictions land in S3 under this account's key, whatever the bucket "
           "default.", _JOBS_NOT_IN_CONFIG, (S004, "SSE-KMS: Use AWS key Management Service to manage "
                                                         "encryption keys"), _tasks_check("output_kms")),
    MlRule("SFN6", (_STATES,), "Every SageMaker endpoint config a Step Functions state machine creates names a KMS "
           "key (KmsKeyId).", "The endpoint a pipeline deploys is as sensitive as one CloudFormation creates.",
           "sagemaker-endpoint-configuration-kms-key-configured (for configs created at run time)", _KMS_AT_REST,
           _tasks_check("endpoint_config_kms")),
    MlRule("SFN7", (_STATES,), "Every SageMaker endpoint config a Step Functions state machine creates captures "
           "requests and responses encrypted with a KMS key (DataCaptureConfig).", "Model Monitor needs the "
           "captured traffic of the endpoint the pipeline deploys.", "none (as MLSpecialty-SM4)",
           (S000, "Monitor performance of the model"), _tasks_check("endpoint_config_capture")),
    MlRule("FH1", ("AWS::KinesisFirehose::DeliveryStream",), "The Firehose S3 destination (and its S3 backup) has "
           "an ErrorOutputPrefix.", "Without it, failed records land under the data prefix (and prefixes with "
           "!{...} expressions are refused), where crawlers and queries read them as data.",
           "none (nearest: kinesis-firehose-delivery-stream-encrypted)",
           (S000, "error/!{firehose:random-string}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"),
           _firehose_error_prefix),
    MlRule("FH2", ("AWS::KinesisFirehose::DeliveryStream",), "Every S3 configuration of the Firehose stream encrypts "
           "with a KMS key, and a DirectPut stream encrypts at rest with a customer-managed key (a stream fed "
           "by Kinesis is encrypted by its source).", "Records are encrypted under this account's key from "
           "the stream to the bucket.", "kinesis-firehose-delivery-stream-encrypted (plus the S3 destination)",
           (S004, "SSE-KMS: Use AWS key Management Service to manage encryption keys"), _firehose_kms),
    MlRule("ATH1", ("AWS::Athena::WorkGroup",), "The Athena workgroup enforces its configuration "
           "(EnforceWorkGroupConfiguration), so clients cannot override result encryption, location or limits.",
           "A client-side setting would otherwise write unencrypted results or lift the scan cap.",
           "athena-workgroup-enforce-workgroup-configuration",
           (S000, "Encrypt results at rest in S3 staging directory"), _athena_enforced),
    MlRule("ATH2", ("AWS::Athena::WorkGroup",), "The Athena workgroup caps the bytes a query may scan "
           "(BytesScannedCutoffPerQuery).", "Athena bills per byte scanned: a cap stops one query over the "
           "whole lake from costing what a month of work does.", "none", (S000, "$5.00 per TB scanned"),
           _athena_cutoff),
    MlRule("LOG1", ("AWS::Logs::LogGroup",), "The log group has a retention period (RetentionInDays).",
           "Logs kept forever cost forever and keep personal data past any purpose.",
           "cw-loggroup-retention-period-check (any period; the Config rule's 365-day default is a profile "
           "choice here)", (S000, "Log aggregation and analysis"), _log_retention),
    MlRule("LOG2", ("AWS::Logs::LogGroup",), "The log group is encrypted with a KMS key (KmsKeyId).",
           "Job and pipeline logs can hold record values and identifiers.", "cloudwatch-log-group-encrypted",
           _KMS_AT_REST, _log_kms),
    MlRule("KDS1", ("AWS::Kinesis::Stream",), "The Kinesis stream is encrypted with a customer-managed KMS key (not "
           "alias/aws/kinesis).", "A customer key's policy, rotation and CloudTrail record are this account's "
           "to control; AwsSolutions-KDS3 only asks for encryption and prefers the AWS managed key.",
           "kinesis-stream-encrypted (stricter: a customer-managed key)",
           (S000, "TLS in flight or KMS at-rest encryption"), _kinesis_customer_key),
)
RULES_BY_TYPE: dict[str, tuple[MlRule, ...]] = {}
for _rule in RULES:
    for _type in _rule.resource_types:
        RULES_BY_TYPE[_type] = (*RULES_BY_TYPE.get(_type, ()), _rule)


def properties(node: CfnResource) -> Mapping[str, Any]:
    """The L1 resource's properties, every token resolved (keys as the L1 holds them: compare with `_get`)."""
    return Stack.of(node).resolve(node._cfn_properties) or {}


@jsii.implements(IApplyRule)
class _AppliedRule:
    """One rule on one resource, as cdk-nag's applyRule reads it (properties, not attributes: jsii
    only sees class members). The info names what is missing once the rule has run."""

    def __init__(self, rule: MlRule, node: CfnResource, resource_type: str,
                 props: Callable[[], Mapping[str, Any]]) -> None:
        self._rule, self._node, self._type, self._props, self._problems = rule, node, resource_type, props, []

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.suffix

    @property
    def info(self) -> str:
        detail = f" Not met: {'; '.join(self._problems)}." if self._problems else ""
        return f"{self._rule.checks}{detail}"

    @property
    def explanation(self) -> str:
        return f"{self._rule.explanation} Mirrors AWS Config: {self._rule.config_rule}."

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @property
    def node(self) -> CfnResource:
        return self._node

    def rule(self, node: CfnResource) -> NagRuleCompliance:
        problems = self._rule.evaluate(self._props(), self._type)
        if problems is None:
            return NagRuleCompliance.NOT_APPLICABLE
        self._problems = problems
        return NagRuleCompliance.NON_COMPLIANT if problems else NagRuleCompliance.COMPLIANT


class MLSpecialtyChecks(NagPack):
    """The ML controls of the study notes that AwsSolutions, HIPAA, NIST 800-53 R5, PCI DSS and
    Serverless lack, as a cdk-nag v3 pack named `MLSpecialty` (rules in `RULES`)."""

    def __init__(self, scope=None, *, verbose: bool | None = None,
                 write_suppressions_to_cloud_formation: bool | None = None) -> None:
        super().__init__(scope, verbose=verbose,
                         write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation)
        self._pack_name = PACK_NAME

    @property
    def name(self) -> str:
        return PACK_NAME

    def _check_resource(self, node: CfnResource) -> None:
        # Only the rules of this resource type cross the jsii bridge: each call costs a round trip.
        resource_type = node.cfn_resource_type
        rules = RULES_BY_TYPE.get(resource_type)
        if not rules:
            return
        resolved: list[Mapping[str, Any]] = []

        def props() -> Mapping[str, Any]:
            if not resolved:
                resolved.append(properties(node))
            return resolved[0]

        for rule in rules:
            self._apply_rule(_AppliedRule(rule, node, resource_type, props))
