"""Acknowledging security findings: one rule, one resource, one reason a reviewer can check.

cdk-nag v3 reads acknowledgements from CDK's `Validations` metadata and, with
`write_suppressions_to_cloud_formation`, copies them into each resource's template metadata.
checkov reads its skips from the same template metadata. Both helpers below refuse to act on
anything but a single CloudFormation resource, so nothing can be silenced stack-wide.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

NAG_PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321", "Serverless", "MLSpecialty")
MIN_REASON_LENGTH = 40


def _single_resource(target: IConstruct) -> CfnResource:
    """The CloudFormation resource behind `target` (an L1, or an L2 with one default child)."""
    if isinstance(target, CfnResource):
        return target
    child = target.node.default_child
    if isinstance(child, CfnResource):
        return child
    raise TypeError(
        f"{target.node.path}: acknowledgements apply to one CloudFormation resource; "
        "pass the L1 resource or an L2 construct whose default child is one"
    )


def _check_reason(reason: str, what: str) -> None:
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"{what}: give a specific reason of at least {MIN_REASON_LENGTH} characters")


def acknowledge(target: IConstruct, rule_ids: Iterable[str], reason: str, *, checkov: Iterable[str] = ()) -> None:
    """Acknowledge cdk-nag findings `rule_ids` (and the same control's `checkov` checks) on the
    single resource behind `target`.

    A rule id is the rule name cdk-nag prints: `AwsSolutions-S1`, or a finding such as
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::bucket/*]`. It is sent fully
    qualified (`AwsSolutions::AwsSolutions-S1`), the form cdk-nag asks for, so ids that contain
    ARNs (and therefore `::`) are neither rejected nor mistaken for a plugin prefix, and bare ids
    are not rewritten to `Annotation::...`, which no nag pack reads.
    """
    resource = _single_resource(target)
    for rule_id in rule_ids:
        _check_reason(reason, f"{resource.node.path} {rule_id}")
        pack = rule_id.split("-", 1)[0]
        if pack not in NAG_PACKS:
            raise ValueError(f"{rule_id}: unknown cdk-nag pack {pack!r}; known: {', '.join(NAG_PACKS)}")
        Validations.of(resource).acknowledge(Acknowledgment(id=f"{pack}::{rule_id}", reason=reason))
    if checkov:
        skip_checkov(resource, checkov, reason)


def skip_checkov(target: IConstruct, check_ids: Iterable[str], reason: str) -> None:
    """Record checkov skips in the template metadata of the single resource behind `target`."""
    resource = _single_resource(target)
    existing = dict(resource.get_metadata("checkov") or {})
    skips = list(existing.get("skip", []))
    for check_id in check_ids:
        _check_reason(reason, f"{resource.node.path} {check_id}")
        skips.append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", {**existing, "skip": skips})


# Types that CloudFormation runs as-is, without a custom-resource handler behind them.
_UNCHECKED_TYPES = ("Custom::", "AWS::CloudFormation::CustomResource", "AWS::CDK::Metadata")


def unscanned_resources(scope: IConstruct) -> list[str]:
    """Paths of the resources under `scope` that cdk-nag's in-app run cannot check.

    The rules test L1 classes (`CfnFunction`, `CfnRole`...), so a resource built as a plain
    `CfnResource` of such a type is skipped in the app, yet checked by anyone who reloads the
    template (scripts/rescan.py) or by AWS Config. CDK's own providers (`auto_delete_objects`,
    `restrict_default_security_group`, bucket notifications, `log_retention`, `AwsCustomResource`)
    are built that way. Matched by CloudFormation type, not by construct id, so a provider this
    code has never heard of is found too.
    """
    return [construct.node.path for construct in scope.node.find_all()
            if type(construct) is CfnResource and not construct.cfn_resource_type.startswith(_UNCHECKED_TYPES)]


def refuse_unscanned_resources(stack: Stack) -> None:
    """Fail the build if `stack` holds a resource the in-app checks cannot see (see `unscanned_resources`),
    naming it, instead of leaving the finding to the auditor's re-scan."""
    found = unscanned_resources(stack)
    if found:
        raise ValueError(
            f"{', '.join(found)}: plain CfnResource objects that the in-app cdk-nag rules skip (usually CDK's "
            "own provider functions and roles). Use an L2 construct instead, e.g. "
            "patterns.deploy_time_function.DeployTimeFunction for a custom resource; see docs/security.md."
        )


def finding_reference(scope: IConstruct, value: str) -> str:
    """`value` (a string that may hold tokens) as cdk-nag writes it inside a finding id.

    For example `f"{bucket.bucket_arn}/raw/*"` becomes `<Bucket1234.Arn>/raw/*` for a bucket in the
    same stack: Fn::Join is concatenated, GetAtt and Ref are written `<Id.Attr>` and `<Id>`,
    `${...}` becomes `<...>`, and any other intrinsic stays compact JSON. Use it to build IAM5 ids
    such as `AwsSolutions-IAM5[Resource::<rendered>]` instead of copying tokens by hand.
    """

    def render(node) -> str:
        if node is None:
            return ""
        if isinstance(node, str):
            return node.replace("${", "<").replace("}", ">")
        if isinstance(node, dict) and "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(render(item) for item in items)
        if isinstance(node, dict) and "Fn::Sub" in node:
            return render(node["Fn::Sub"])
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{render(resource)}.{render(attribute)}>"
        if isinstance(node, dict) and "Fn::ImportValue" in node:
            return render(node["Fn::ImportValue"])
        if isinstance(node, dict) and "Ref" in node:
            return f"<{render(node['Ref'])}>"
        return json.dumps(node, separators=(",", ":"))

    return render(Stack.of(scope).resolve(value))
