"""cdk-nag, cfn-lint and checkov at zero, with every acknowledgement scoped, reasoned and used."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from patterns.compliance import (
    MIN_REASON_LENGTH,
    acknowledge,
    refuse_unscanned_resources,
    skip_checkov,
    unscanned_resources,
)
from patterns.compliance import NAG_PACKS as PACK_NAMES
from scripts import gates
from stacks.app_factory import NAG_PACKS, cdk_json_context

PROFILES = ["sandbox", "prod", "custom"]


def tree_acknowledgements(app: cdk.App) -> set[tuple[str, str]]:
    """(construct path, acknowledged id) for every cdk-nag acknowledgement anywhere in the tree.

    CDK itself acknowledges a few of its own built-in CloudFormation validation rules
    (`CloudFormation-Validate::...`) on its L2 constructs; those are not ours and not cdk-nag's.
    """
    found = set()
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found |= {(construct.node.path, rule_id) for rule_id in entry.data
                          if rule_id.split("::", 1)[0] in PACK_NAMES}
    return found


# ---------------------------------------------------------------- cdk-nag


@pytest.mark.parametrize("fixture", PROFILES)
def test_no_unacknowledged_nag_finding(request, fixture):
    verdict = gates.nag_verdict(request.getfixturevalue(fixture).assembly_dir)
    assert verdict.unacknowledged == []


def test_every_nag_pack_is_registered():
    assert [p.__name__ for p in NAG_PACKS] == [
        "AwsSolutionsChecks", "HIPAASecurityChecks", "NIST80053R5Checks", "PCIDSS321Checks", "ServerlessChecks",
        "MLSpecialtyChecks"]


@pytest.mark.parametrize("fixture", PROFILES)
def test_every_acknowledgement_is_used(request, fixture):
    """Each acknowledgement matched a real finding: without it, that finding would fail synth."""
    synth = request.getfixturevalue(fixture)
    recorded = tree_acknowledgements(synth.built.app)
    used = {(a["acknowledged_at"], a["acknowledged_id"]) for a in gates.nag_verdict(synth.assembly_dir).acknowledged}
    assert recorded, "expected some acknowledgements"
    assert recorded - used == set(), "acknowledgements that match no finding"
    assert used == recorded


@pytest.mark.parametrize("fixture", PROFILES)
def test_no_acknowledgement_is_app_stack_or_construct_wide(request, fixture):
    synth = request.getfixturevalue(fixture)
    by_path = {c.node.path: c for c in synth.built.app.node.find_all()}
    for path, rule_id in tree_acknowledgements(synth.built.app):
        assert isinstance(by_path[path], cdk.CfnResource), f"{rule_id} acknowledged on {path}, not on one resource"
    for ack in gates.nag_verdict(synth.assembly_dir).acknowledged:
        assert ack["path"] == ack["acknowledged_at"], ack


@pytest.mark.parametrize("fixture", PROFILES)
def test_acknowledgements_have_specific_reasons_and_reach_the_template_metadata(request, fixture):
    synth = request.getfixturevalue(fixture)
    verdict = gates.nag_verdict(synth.assembly_dir)
    in_templates = {
        (rule["id"], rule["reason"])
        for template in synth.templates.values()
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    for ack in verdict.acknowledged:
        assert len(ack["reason"]) >= MIN_REASON_LENGTH
        assert (ack["acknowledged_id"], ack["reason"]) in in_templates


def _tiny_app_with_managed_policy_role(acknowledged: bool) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Tiny")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                        "service-role/AWSLambdaBasicExecutionRole")])
    if acknowledged:
        acknowledge(role, ["AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                           "AWSLambdaBasicExecutionRole]"],
                    "Test of the helper: a finding id that contains an ARN, and therefore '::'.")
    cdk.Validations.of(app).add_plugins(NAG_PACKS[0](app))
    return app, stack


def test_findings_whose_ids_contain_arns_can_be_acknowledged():
    app, _ = _tiny_app_with_managed_policy_role(acknowledged=True)
    assembly = app.synth(force=True)  # raises if the finding were still open
    (ack,) = gates.nag_verdict(assembly.directory).acknowledged
    assert ack["path"] == "Tiny/Role/Resource"
    assert ack["acknowledged_id"] == ("AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
                                      "policy/service-role/AWSLambdaBasicExecutionRole]")


def test_without_the_acknowledgement_the_same_finding_fails_synth():
    app, _ = _tiny_app_with_managed_policy_role(acknowledged=False)
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth(force=True)


def test_helpers_refuse_anything_but_one_resource_and_a_real_reason():
    stack = cdk.Stack(cdk.App(), "Refusals")
    bucket = s3.Bucket(stack, "Bucket")
    reason = "A reason long enough to pass the length check of the helper."
    with pytest.raises(TypeError, match="one CloudFormation resource"):
        acknowledge(stack, ["AwsSolutions-S1"], reason)
    with pytest.raises(TypeError, match="one CloudFormation resource"):
        skip_checkov(stack, ["CKV_AWS_18"], reason)
    with pytest.raises(ValueError, match="unknown cdk-nag pack 'Awssolutions'"):
        acknowledge(bucket, ["Awssolutions-S1"], reason)
    with pytest.raises(ValueError, match=f"at least {MIN_REASON_LENGTH} characters"):
        acknowledge(bucket, ["AwsSolutions-S1"], "not needed")


@pytest.mark.parametrize("fixture", PROFILES)
def test_no_resource_hides_from_the_in_app_checks(request, fixture):
    """No plain CfnResource (CDK's provider functions and roles) that the in-app rules would skip;
    tests/test_rescan.py proves the same from the templates."""
    assert unscanned_resources(request.getfixturevalue(fixture).built.app) == []


def test_a_cdk_provider_is_refused_by_its_type_with_the_way_out():
    stack = cdk.Stack(cdk.App(), "Providers")
    s3.Bucket(stack, "Bucket", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)
    assert sorted(unscanned_resources(stack)) == ["Providers/Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler",
                                                  "Providers/Custom::S3AutoDeleteObjectsCustomResourceProvider/Role"]
    with pytest.raises(ValueError, match="S3AutoDeleteObjectsCustomResourceProvider/Handler.*DeployTimeFunction"):
        refuse_unscanned_resources(stack)
    # An ordinary custom resource of the app's own (an L2 Function behind it) is not refused.
    own = cdk.Stack(cdk.App(), "Own")
    cdk.CustomResource(own, "Thing", service_token="arn:aws:lambda:eu-west-1:111122223333:function:f")
    assert unscanned_resources(own) == []


# ---------------------------------------------------------------- cfn-lint and checkov


def test_cfn_lint_has_no_errors_and_no_warnings(cfn_lint_findings):
    assert cfn_lint_findings == []


def test_checkov_has_no_failed_check(checkov_result):
    assert checkov_result.failed == []
    assert len(checkov_result.passed) > 0


def test_every_checkov_skip_is_justified_in_the_template_and_used(all_templates, checkov_result):
    declared = set()
    for path in all_templates:
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip["comment"]) >= MIN_REASON_LENGTH, (logical_id, skip)
                declared.add((logical_id, skip["id"]))
    applied = {(s["resource"].split(".", 1)[1], s["check"]) for s in checkov_result.skipped}
    assert declared == applied
