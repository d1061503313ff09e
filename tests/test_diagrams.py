"""The committed diagrams are generated from the current app: a test fails when they are stale."""

from __future__ import annotations

import json

from scripts import diagrams


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


def test_one_diagram_per_stack_and_an_overview(sandbox):
    assert {p.stem for p in diagrams.OUT.glob("*.png")} == {"overview", *sandbox.templates}


def test_overview_shows_what_each_stack_consumes(sandbox):
    overview = diagrams.overview_dot(sandbox.built.stacks, sandbox.templates)
    assert '"Streaming/Streaming" -> "DataLake/Lake";' in overview
    assert '"SageMaker/Training" -> "MlNetwork/Network";' in overview
    assert 'label="deploys after"' in overview
    assert "AutoDeleteObjects" not in overview


def test_stack_diagram_groups_resources_by_pattern(sandbox):
    dot = diagrams.stack_dot("DataLake", sandbox.built.stacks["DataLake"], sandbox.templates["DataLake"])
    assert 'subgraph cluster_0 { label="Lake";' in dot
    assert "S3::Bucket" in dot and "BucketPolicy" not in dot
