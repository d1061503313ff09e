"""Diagrams generated from the app itself: one data-flow picture per architecture, and an overview.

- `flow-<architecture>.dot`: drawn from the data-path contract (scripts/data_paths.py), the same
  hop table the tests evaluate against the templates: AWS service icons (the `diagrams` package),
  arrows in the direction data moves, each labelled with its hop ids and actions. Only hops that
  must be allowed are drawn; the denied ones are in docs/data-paths.md.
- `overview.dot`: the stacks, their patterns and what each consumes (templates' cross-stack
  references), plus the deploy order carried by names.

The DOT sources are deterministic (icon paths relative to the `diagrams` package) and committed
next to the PNGs graphviz renders from them; `docs/diagrams/manifest.json` records the hash of the
DOT each PNG was rendered from, so a test can tell when either is stale.

Usage: python -m scripts.diagrams            (needs graphviz's `dot`: apt-get install graphviz)
"""

from __future__ import annotations

import hashlib
import json
import re
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
    # Its logical id gets a hash of the API's definition at synth time, unknown to the construct tree.
    "AWS::ApiGateway::Deployment",
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


# ---- data flow ----------------------------------------------------------------------------------
# Hops that test a guard policy rather than move data.
POLICY_CHECK_PRINCIPALS = ("principal with the VPC guard",)
# Actions that only read: data moves from the resource to the caller, against the call.
READ_VERBS = ("Get", "List", "Describe", "BatchGet")
# Icon per node (module of diagrams.aws, class), by keyword. A keyword matches at the start of a word
# of the node's name ("log" matches "logs" and "flow-log", not "catalog"); of several, the one that
# ends last wins, as a label ends with what the node is ("deploy dead-letter queue" is a queue,
# "log-group key" a key, "VPC flow logs" flow logs), then the longest ("model registry group").
ICONS = (
    ("producer", ("general", "Users")), ("application", ("general", "Client")), ("analyst", ("general", "User")),
    ("anyone", ("general", "Users")), ("notebook", ("ml", "SagemakerNotebook")), ("endpoint", ("ml", "Sagemaker")),
    ("Kinesis stream", ("analytics", "KinesisDataStreams")), ("Firehose", ("analytics", "KinesisDataFirehose")),
    ("Lambda", ("compute", "Lambda")), ("Glue table", ("analytics", "GlueDataCatalog")),
    ("Data Catalog", ("analytics", "GlueDataCatalog")), ("database", ("analytics", "GlueDataCatalog")),
    ("crawler", ("analytics", "GlueCrawlers")), ("ETL job", ("analytics", "Glue")), ("Athena", ("analytics", "Athena")),
    ("zone", ("storage", "SimpleStorageServiceS3Bucket")), ("bucket", ("storage", "SimpleStorageServiceS3Bucket")),
    ("artifact", ("storage", "SimpleStorageServiceS3Object")), ("script", ("storage", "SimpleStorageServiceS3Object")),
    ("bookmarks", ("security", "KeyManagementService")), ("key", ("security", "KeyManagementService")),
    ("alarm", ("management", "CloudwatchAlarm")), ("metrics", ("management", "Cloudwatch")),
    ("log", ("management", "CloudwatchLogs")), ("topic", ("integration", "SimpleNotificationServiceSnsTopic")),
    ("queue", ("integration", "SimpleQueueServiceSqsQueue")), ("EventBridge", ("integration", "EventbridgeRule")),
    ("pipeline", ("integration", "StepFunctions")), ("execution role", ("security", "IAMRole")),
    ("training job", ("ml", "SagemakerTrainingJob")), ("model", ("ml", "SagemakerModel")),
    ("VPC", ("network", "VPC")), ("flow logs", ("network", "VPCFlowLogs")),
    ("CloudTrail", ("management", "Cloudtrail")), ("trail", ("management", "Cloudtrail")),
    ("auditor", ("general", "User")),
    ("Lake Formation", ("analytics", "LakeFormation")),
    ("batch transform", ("integration", "StepFunctions")), ("transform job", ("ml", "Sagemaker")),
    ("monitor setup", ("integration", "StepFunctions")), ("baseline job", ("ml", "Sagemaker")),
    ("monitoring job", ("ml", "Sagemaker")), ("monitoring schedule", ("ml", "Sagemaker")),
    ("API", ("network", "APIGateway")),
    # model registry and approved deploys
    ("rule", ("integration", "EventbridgeRule")), ("deploy", ("integration", "StepFunctions")),
    ("package", ("ml", "SagemakerModel")), ("tuning job", ("ml", "SagemakerTrainingJob")),
    ("model registry", ("ml", "SagemakerModel")),
)


def _node_name(label: str) -> str:
    """"raw zone: errors" and "raw zone (bucket)" are the raw zone."""
    return label.split(":", 1)[0].split(" (", 1)[0].strip()


def _keywords(name: str) -> list[str]:
    """The ICONS keywords that match `name`, the deciding one first."""
    found = {}
    for keyword, _ in ICONS:
        ends = [m.end() for m in re.finditer(rf"(?<![a-z0-9]){re.escape(keyword.lower())}", name.lower())]
        if ends:
            found[keyword] = (max(ends), len(keyword))
    return sorted(found, key=found.__getitem__, reverse=True)


def _icon(name: str) -> tuple[str, str]:
    found = _keywords(name)
    if not found:
        raise KeyError(f"no icon for the data-path node {name!r}: add a keyword to scripts.diagrams.ICONS")
    return dict(ICONS)[found[0]]


def _short_actions(actions: tuple[str, ...]) -> str:
    names = [a.split(":", 1)[1] for a in actions]
    return ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")


def flow_edges(hops) -> dict[tuple[str, str], list[str]]:
    """(from, to) in the direction data moves -> edge label lines, for the hops that must be allowed."""
    edges: dict[tuple[str, str], list[str]] = {}
    for hop in hops:
        if hop.expect != "Allowed" or hop.principal in POLICY_CHECK_PRINCIPALS:
            continue
        src, dst = _node_name(hop.src), _node_name(hop.dst)
        reads = all(a.split(":", 1)[1].startswith(READ_VERBS) for a in hop.actions)
        edges.setdefault((dst, src) if reads else (src, dst), []).append(f"{hop.id}: {_short_actions(hop.actions)}")
    return edges


def flow_dot(title: str, hops) -> str:
    """A deterministic DOT source of one architecture's data flow (icon paths package-relative)."""
    import importlib

    import diagrams

    edges = flow_edges(hops)
    names = sorted({n for edge in edges for n in edge})
    # Built without the `with` block, whose exit would run graphviz: the tests need no graphviz.
    diagram = diagrams.Diagram(title, show=False, direction="LR", graph_attr={
        "fontsize": "16", "pad": "0.3", "nodesep": "0.6", "ranksep": "1.6", "splines": "spline"},
        edge_attr={"fontsize": "10"})
    diagrams.setdiagram(diagram)
    try:
        nodes = {}
        for index, name in enumerate(names):
            module, cls = _icon(name)
            icon_class = getattr(importlib.import_module(f"diagrams.aws.{module}"), cls)
            nodes[name] = icon_class(name, nodeid=f"n{index}")
        for (src, dst), labels in sorted(edges.items()):
            nodes[src] >> diagrams.Edge(label="\n".join(labels)) >> nodes[dst]
    finally:
        diagrams.setdiagram(None)
    source = str(diagram.dot).replace(str(Path(diagrams.__file__).resolve().parent.parent) + "/", "<diagrams>/")
    return source if source.endswith("\n") else source + "\n"


def flow_file(title: str) -> str:
    return "flow-" + "-".join(title.lower().replace(" and ", " ").split()) + ".dot"


def dot_sources(built_stacks: Mapping[str, cdk.Stack], templates: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    from scripts.data_paths import ARCHITECTURES

    sources = {"overview.dot": overview_dot(built_stacks, templates)}
    for title, hops in ARCHITECTURES.items():
        sources[flow_file(title)] = flow_dot(title, hops)
    return sources


def renderable(dot_source: str) -> str:
    """The committed DOT with the icons' absolute paths back, for graphviz."""
    import diagrams

    return dot_source.replace("<diagrams>/", str(Path(diagrams.__file__).resolve().parent.parent) + "/")


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
    for stale in [*OUT.glob("*.dot"), *OUT.glob("*.png")]:
        stale.unlink()
    for name, text in sources.items():
        (OUT / name).write_text(text)
        subprocess.run(["dot", "-Tpng", "-Gdpi=90", "-o", str(OUT / name.replace(".dot", ".png"))],
                       input=renderable(text).encode(), check=True)
    manifest = {name: digest(text) for name, text in sorted(sources.items())}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(sources)} diagrams to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
