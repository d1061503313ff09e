"""Architecture diagrams generated from the app itself: one per stack and one overview.

The construct tree gives each resource its pattern (the stack's top-level construct); the
synthesized templates give the edges (Ref, GetAtt and cross-stack Fn::GetStackOutput). The DOT
sources are deterministic and committed next to the PNGs that graphviz renders from them;
`docs/diagrams/manifest.json` records the hash of the DOT each PNG was rendered from, so a test
can tell when either is stale.

Usage: python -m scripts.diagrams            (needs graphviz's `dot`: apt-get install graphviz)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

OUT = Path(__file__).resolve().parent.parent / "docs" / "diagrams"
# Plumbing that would only clutter a picture of the architecture.
HIDDEN_TYPES = {
    "AWS::CDK::Metadata", "AWS::KMS::Alias", "AWS::Logs::LogStream", "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress",
    "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::IAM::ManagedPolicy", "AWS::Lambda::Permission",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
}
HIDDEN_PATTERNS = {"Custom::S3AutoDeleteObjectsCustomResourceProvider",
                   "Custom::VpcRestrictDefaultSGCustomResourceProvider"}


def _references(value: Any) -> Iterator[tuple[str, str | None]]:
    """(logical id, None) for Ref/GetAtt, ("stack output", name) for Fn::GetStackOutput."""
    if isinstance(value, dict):
        if "Ref" in value and not str(value["Ref"]).startswith("AWS::"):
            yield value["Ref"], None
        elif "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0], None
        elif "Fn::GetStackOutput" in value:
            yield value["Fn::GetStackOutput"]["StackName"], value["Fn::GetStackOutput"]["OutputName"]
        else:
            for child in value.values():
                yield from _references(child)
    elif isinstance(value, list):
        for child in value:
            yield from _references(child)


def resource_patterns(stack: cdk.Stack) -> dict[str, tuple[str, str, str]]:
    """logical id -> (pattern, construct id, resource type) for every visible resource of `stack`."""
    found = {}
    for pattern in stack.node.children:
        if pattern.node.id in HIDDEN_PATTERNS:
            continue
        for construct in pattern.node.find_all():
            if isinstance(construct, cdk.CfnResource) and construct.cfn_resource_type not in HIDDEN_TYPES:
                owner = construct.node.scope if construct.node.id == "Resource" else construct
                found[stack.get_logical_id(construct)] = (pattern.node.id, owner.node.id, construct.cfn_resource_type)
    return found


def _quote(text: str) -> str:
    return '"' + text.replace('"', r"\"") + '"'


def _short(resource_type: str) -> str:
    return resource_type.removeprefix("AWS::")


def stack_dot(stack_id: str, stack: cdk.Stack, template: Mapping[str, Any]) -> str:
    resources = resource_patterns(stack)
    lines = [f"digraph {_quote(stack_id)} {{", "  rankdir=LR; node [shape=box, style=rounded, fontsize=10];",
             f"  label={_quote(stack_id + ' stack (' + stack.stack_name + ')')}; labelloc=t;"]
    by_pattern: dict[str, list[str]] = {}
    for logical_id, (pattern, _, _) in sorted(resources.items()):
        by_pattern.setdefault(pattern, []).append(logical_id)
    for index, (pattern, ids) in enumerate(sorted(by_pattern.items())):
        lines.append(f"  subgraph cluster_{index} {{ label={_quote(pattern)}; style=dashed;")
        for logical_id in ids:
            _, construct_id, type_ = resources[logical_id]
            lines.append(f"    {_quote(logical_id)} [label={_quote(construct_id + chr(10) + _short(type_))}];")
        lines.append("  }")
    edges = set()
    for logical_id in resources:
        resource = template["Resources"][logical_id]
        for target, output in _references(resource.get("Properties", {})):
            if output is None and target in resources and target != logical_id:
                edges.add((logical_id, target, ""))
        for target in resource.get("DependsOn", []):  # references by name, made explicit
            if target in resources and (logical_id, target, "") not in edges:
                edges.add((logical_id, target, " [style=dotted]"))
    lines += [f"  {_quote(a)} -> {_quote(b)}{style};" for a, b, style in sorted(edges)]
    return "\n".join(lines + ["}"]) + "\n"


def overview_dot(built_stacks: Mapping[str, cdk.Stack], templates: Mapping[str, Mapping[str, Any]]) -> str:
    names = {stack.stack_name: stack_id for stack_id, stack in built_stacks.items()}
    patterns = {stack_id: resource_patterns(stack) for stack_id, stack in built_stacks.items()}
    lines = ["digraph overview {", "  rankdir=LR; compound=true; node [shape=box, style=rounded, fontsize=10];",
             '  label="ML Specialty reference: stacks, their patterns and what they consume"; labelloc=t;']
    for index, stack_id in enumerate(built_stacks):
        lines.append(f"  subgraph cluster_{index} {{ label={_quote(stack_id)};")
        for pattern in sorted({p for p, _, _ in patterns[stack_id].values()}):
            lines.append(f"    {_quote(stack_id + '/' + pattern)} [label={_quote(pattern)}];")
        lines.append("  }")
    edges = set()
    for stack_id, template in templates.items():
        for logical_id, (pattern, _, _) in patterns[stack_id].items():
            for producer_name, output in _references(template["Resources"][logical_id].get("Properties", {})):
                if output is None or producer_name not in names:
                    continue
                producer = names[producer_name]
                produced = templates[producer]["Outputs"][output]["Value"]
                for target, _ in _references(produced):
                    if target in patterns[producer]:
                        edges.add((f"{stack_id}/{pattern}", f"{producer}/{patterns[producer][target][0]}"))
    lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in sorted(edges)]
    # Stack dependencies carried by names rather than references: dashed, cluster to cluster.
    order = list(built_stacks)
    first = {stack_id: f"{stack_id}/{min(p for p, _, _ in patterns[stack_id].values())}" for stack_id in order}
    for stack_id, stack in built_stacks.items():
        for dependency in sorted(stack.dependencies, key=lambda d: d.stack_name):
            producer = names[dependency.stack_name]
            if not any(a.startswith(f"{stack_id}/") and b.startswith(f"{producer}/") for a, b in edges):
                lines.append(f"  {_quote(first[stack_id])} -> {_quote(first[producer])} [style=dashed, "
                             f"ltail=cluster_{order.index(stack_id)}, lhead=cluster_{order.index(producer)}, "
                             'label="deploys after"];')
    return "\n".join(lines + ["}"]) + "\n"


def dot_sources(built_stacks: Mapping[str, cdk.Stack], templates: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    sources = {"overview.dot": overview_dot(built_stacks, templates)}
    for stack_id, stack in built_stacks.items():
        sources[f"{stack_id}.dot"] = stack_dot(stack_id, stack, templates[stack_id])
    return sources


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def main(argv: list[str]) -> int:
    if shutil.which("dot") is None:
        print("graphviz is missing: apt-get install graphviz (or brew install graphviz)", file=sys.stderr)
        return 1
    from stacks.app_factory import build_app

    with tempfile.TemporaryDirectory() as tmp:
        built = build_app({"profile": "sandbox"}, outdir=tmp)
        assembly = built.app.synth()
        templates = {i: assembly.get_stack_by_name(s.stack_name).template for i, s in built.stacks.items()}
        sources = dot_sources(built.stacks, templates)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        (OUT / name).write_text(text)
        subprocess.run(["dot", "-Tpng", "-Gdpi=110", "-o", str(OUT / name.replace(".dot", ".png")), str(OUT / name)],
                       check=True)
    manifest = {name: digest(text) for name, text in sorted(sources.items())}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(sources)} diagrams to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
