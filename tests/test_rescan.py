"""The auditor's view equals ours: every synthesized template, reloaded and re-checked with every
cdk-nag pack (scripts/rescan.py), gives the in-app verdict, finding for finding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from scripts import rescan
from stacks.app_factory import NAG_PACKS, cdk_json_context

PROFILES = ["sandbox", "prod", "custom"]
_SCANS: dict[str, tuple[rescan.Scan, rescan.Scan]] = {}


@pytest.fixture(params=PROFILES)
def scans(request) -> tuple[rescan.Scan, rescan.Scan]:
    """(in-app, re-scan) of one profile's cloud assembly, computed once per session."""
    if request.param not in _SCANS:
        assembly = request.getfixturevalue(request.param).assembly_dir
        _SCANS[request.param] = rescan.in_app(assembly), rescan.rescan(assembly)
    return _SCANS[request.param]


def pack_names() -> list[str]:
    """What each registered pack calls itself, read from a pack instance (not from the code under test)."""
    return [pack().read_pack_name for pack in NAG_PACKS]


def test_the_rescan_reaches_the_in_app_verdict_finding_for_finding(scans):
    ours, auditor = scans
    assert ours.unacknowledged == [] and auditor.unacknowledged == []
    assert ours.acknowledged, "expected acknowledged findings"
    # Same rule, same resource (stack, logical id), same acknowledgement id and reason; no duplicates.
    assert auditor.acknowledged == ours.acknowledged
    assert rescan.compare(ours, auditor) == []


def test_every_registered_pack_ran_in_both(scans):
    ours, auditor = scans
    # cdk-nag leaves a pack out of its report when it has nothing to say (MLSpecialty finds nothing
    # to acknowledge here; tests/test_ml_rule_pack.py proves it runs): the five that report do so in both.
    assert list(ours.packs) == list(auditor.packs)
    assert set(pack_names()) - set(ours.packs) <= {"MLSpecialty"}


def _tiny_assembly(tmp_path, **bucket_props) -> Path:
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path / "assembly"))
    stack = cdk.Stack(app, "Tiny")
    s3.Bucket(stack, "Bucket", **bucket_props)
    cdk.Validations.of(app).add_plugins(*(pack(app, write_suppressions_to_cloud_formation=True) for pack in NAG_PACKS))
    with pytest.raises(Exception, match="ValidationFailed"):  # the bare bucket has findings of its own
        app.synth()
    return tmp_path / "assembly"


def test_the_rescan_sees_the_cdk_provider_resources_the_in_app_run_skips(tmp_path):
    assembly = _tiny_assembly(tmp_path, auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)
    resources = json.loads((assembly / "Tiny.template.json").read_text())["Resources"]
    (handler,) = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    (role,) = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    ours, auditor = rescan.in_app(assembly), rescan.rescan(assembly)
    assert {f.logical_id for f in ours.unacknowledged} & {handler, role} == set()
    flagged = {(f.logical_id, f.rule) for f in auditor.unacknowledged}
    assert {(handler, "Serverless-LambdaTracing"), (handler, "NIST.800.53.R5-LambdaInsideVPC"),
            (role, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                   "AWSLambdaBasicExecutionRole]")} <= flagged
    assert any(line.startswith("only in the re-scan, unacknowledged:") for line in rescan.compare(ours, auditor))


def test_acknowledgements_count_only_when_carried_in_the_template(sandbox, tmp_path):
    """Strip the cdk_nag metadata of one resource: the re-scan reports its findings as open."""
    for name in ("Streaming.template.json", "Streaming.metadata.json"):
        shutil.copy(sandbox.assembly_dir / name, tmp_path / name)
    template = json.loads((tmp_path / "Streaming.template.json").read_text())
    logical_id, resource = next((k, r) for k, r in template["Resources"].items()
                                if r["Type"] == "AWS::Lambda::Function" and "cdk_nag" in r.get("Metadata", {}))
    stripped = {rule["id"].split("::", 1)[1] for rule in resource["Metadata"].pop("cdk_nag")["rules_to_suppress"]}
    (tmp_path / "Streaming.template.json").write_text(json.dumps(template))
    auditor = rescan.rescan(tmp_path)
    assert {f.rule for f in auditor.unacknowledged if f.logical_id == logical_id} == stripped
    assert {f.logical_id for f in auditor.unacknowledged} == {logical_id}


def test_the_rescan_runs_the_ml_pack_on_state_machine_definitions(sandbox, tmp_path):
    """The ML pack has nothing to report on the app, so its presence in the re-scan is proven by a
    gap: drop network isolation from the deploy pipeline's CreateModel in a copy of the template,
    and the re-scan flags that state machine (and nothing else) under MLSpecialty-SFN2."""
    for name in ("SageMaker.template.json", "SageMaker.metadata.json"):
        shutil.copy(sandbox.assembly_dir / name, tmp_path / name)
    template = json.loads((tmp_path / "SageMaker.template.json").read_text())
    (logical_id,) = [k for k, r in template["Resources"].items()
                     if r["Type"] == "AWS::StepFunctions::StateMachine" and k.startswith("DeployStateMachine")]
    parts = template["Resources"][logical_id]["Properties"]["DefinitionString"]["Fn::Join"][1]
    (index,) = [i for i, part in enumerate(parts) if isinstance(part, str) and '"EnableNetworkIsolation":true' in part]
    parts[index] = parts[index].replace(',"EnableNetworkIsolation":true', "", 1)
    (tmp_path / "SageMaker.template.json").write_text(json.dumps(template))
    auditor = rescan.rescan(tmp_path)
    assert [(f.logical_id, f.rule) for f in auditor.unacknowledged] == [(logical_id, "MLSpecialty-SFN2")]
    assert "MLSpecialty" in auditor.packs
