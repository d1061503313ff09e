"""The committed diagrams are generated from the current app and the data-path contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scripts import data_paths, diagrams


def test_dot_sources_match_the_current_app(sandbox):
    """Regenerate with `make diagrams` when this fails."""
    sources = diagrams.dot_sources(sandbox.built.stacks, sandbox.templates)
    assert sorted(sources) == sorted(p.name for p in diagrams.OUT.glob("*.dot"))
    for name, text in sources.items():
        assert (diagrams.OUT / name).read_text() == text, f"docs/diagrams/{name} is stale: run `make diagrams`"


def test_every_png_was_rendered_from_the_committed_dot():
    manifest = json.loads((diagrams.OUT / "manifest.json").read_text())
    for dot in diagrams.OUT.glob("*.dot"):
        assert manifest[dot.name] == diagrams.digest(dot.read_text()), f"{dot.name}.png is stale: run `make diagrams`"
        assert (diagrams.OUT / dot.name.replace(".dot", ".png")).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_flow_diagram_per_architecture_and_an_overview():
    expected = {"overview", *(diagrams.flow_file(title).removesuffix(".dot") for title in data_paths.ARCHITECTURES)}
    assert {p.stem for p in diagrams.OUT.glob("*.png")} == expected


def test_arrows_follow_the_data_and_carry_the_hop_actions():
    edges = diagrams.flow_edges(data_paths.ARCHITECTURES["Streaming ingestion into the data lake"])
    # Firehose reads the stream (GetRecords): the arrow goes from the stream to Firehose.
    assert ("Kinesis stream", "Firehose") in edges and ("Firehose", "Kinesis stream") not in edges
    assert edges[("Firehose", "raw zone")] == ["stream-07: PutObject", "stream-08: PutObject", "stream-09: PutObject"]
    assert edges[("producer", "Kinesis stream")] == ["stream-01: PutRecords, PutRecord +1"]
    # Denied hops are not drawn: nothing goes from the transform to the raw zone.
    assert ("raw zone", "transform Lambda") not in edges and ("transform Lambda", "raw zone") not in edges


def test_every_allowed_hop_is_drawn_once():
    for title, hops in data_paths.ARCHITECTURES.items():
        drawn = [label.split(":")[0] for labels in diagrams.flow_edges(hops).values() for label in labels]
        expected = [h.id for h in hops if h.expect == "Allowed" and h.principal not in diagrams.POLICY_CHECK_PRINCIPALS]
        assert sorted(drawn) == sorted(expected), title


def test_flow_diagrams_use_the_aws_icons_with_portable_paths():
    dot = diagrams.flow_dot("SageMaker", data_paths.ARCHITECTURES["SageMaker"])
    assert 'image="<diagrams>/resources/aws/ml/sagemaker-training-job.png"' in dot
    assert "site-packages" not in dot  # the same text on every machine
    icons = re.findall(r'image="([^"]+)"', diagrams.renderable(dot))
    assert icons and all(Path(icon).is_file() for icon in icons)


def test_overview_shows_what_each_stack_consumes(sandbox):
    overview = diagrams.overview_dot(sandbox.built.stacks, sandbox.templates)
    assert '"Streaming/Streaming" -> "DataLake/Lake";' in overview
    assert '"SageMaker/Training" -> "MlNetwork/Network";' in overview
    assert 'label="deploys after"' in overview
    assert "AutoDeleteObjects" not in overview


def _drawn_nodes() -> set[str]:
    return {name for hops in data_paths.ARCHITECTURES.values() for edge in diagrams.flow_edges(hops) for name in edge}


# The icon each node whose label holds several keywords must get, decided by reading the label.
AMBIGUOUS = {
    "deploy dead-letter queue": ("integration", "SimpleQueueServiceSqsQueue"),  # not the deploy machine
    "log-group key": ("security", "KeyManagementService"),  # not a log group
    "VPC flow logs": ("network", "VPCFlowLogs"),  # the VPC feature writing them, not CloudWatch Logs
    "pipeline endpoint": ("ml", "Sagemaker"),  # not the pipeline's state machine
    "trail log group": ("management", "CloudwatchLogs"),  # not the trail
    "model registry": ("ml", "SagemakerModel"), "model registry group": ("ml", "SagemakerModel"),
    "EventBridge rule": ("integration", "EventbridgeRule"),
    "state-change EventBridge rule": ("integration", "EventbridgeRule"),
    "deployed model": ("ml", "SagemakerModel"), "deployed endpoint config": ("ml", "Sagemaker"),  # not the deploy
}


def test_every_node_whose_label_holds_several_keywords_gets_the_intended_icon():
    several = {name for name in _drawn_nodes() if len(diagrams._keywords(name)) > 1}
    assert several <= set(AMBIGUOUS), f"decide the icon of {sorted(several - set(AMBIGUOUS))} in AMBIGUOUS"
    assert {name: diagrams._icon(name) for name in AMBIGUOUS} == AMBIGUOUS


def test_the_new_architectures_nodes_get_their_service_icons():
    expected = {
        "CloudTrail": ("management", "Cloudtrail"), "audit bucket": ("storage", "SimpleStorageServiceS3Bucket"),
        "audit key": ("security", "KeyManagementService"), "auditor": ("general", "User"),
        "Lake Formation": ("analytics", "LakeFormation"), "registered zone": ("storage", "SimpleStorageServiceS3Bucket"),
        "batch transform": ("integration", "StepFunctions"), "transform job": ("ml", "Sagemaker"),
        "monitor setup": ("integration", "StepFunctions"), "baseline job": ("ml", "Sagemaker"),
        "monitoring schedule": ("ml", "Sagemaker"), "undelivered-trigger queue": ("integration", "SimpleQueueServiceSqsQueue"),
        "inference API": ("network", "APIGateway"), "private inference API": ("network", "APIGateway"),
        "inference Lambda": ("compute", "Lambda"), "approval rule": ("integration", "EventbridgeRule"),
        "deploy": ("integration", "StepFunctions"), "approved package": ("ml", "SagemakerModel"),
        "tuning job": ("ml", "SagemakerTrainingJob"), "best training job": ("ml", "SagemakerTrainingJob"),
    }
    assert set(expected) <= _drawn_nodes()
    assert {name: diagrams._icon(name) for name in expected} == expected


def test_a_keyword_matches_whole_words_from_their_start():
    # "log" is not in "catalog", "API" not in "capital", "rule" not in "overrule", "key" not in "monkey".
    for name in ("Data Catalog", "capital", "overrule", "monkey"):
        assert not {"log", "API", "rule", "key"} & set(diagrams._keywords(name)), name
    assert diagrams._keywords("flow-log group") == ["log"]


def test_no_keyword_is_listed_twice():
    keywords = [keyword.lower() for keyword, _ in diagrams.ICONS]
    assert len(keywords) == len(set(keywords))


def test_every_diagram_is_linked_from_the_docs():
    """A picture nobody links is one a reader never finds: each PNG appears in the README or docs/."""
    root = diagrams.OUT.parent.parent
    text = "".join(p.read_text() for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
    unlinked = sorted(p.name for p in diagrams.OUT.glob("*.png") if f"diagrams/{p.name})" not in text)
    assert not unlinked, f"diagrams no page links: {unlinked}"
