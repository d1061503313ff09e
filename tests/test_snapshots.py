"""Normalized JSON snapshots of every stack of every profile. They complement the assertion tests:
any template change shows up in review. Accept an intended change with `make snapshots`."""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.normalize import normalize


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


# custom: the fully overridden sandbox, the only profile with a hosted endpoint, a notebook and an
# e-mail subscription.
@pytest.mark.parametrize("fixture", ["sandbox", "prod", "custom"])
def test_stack_templates_match_their_snapshots(request, fixture, snapshot_json):
    synth = request.getfixturevalue(fixture)
    for stack_id in sorted(synth.templates):
        assert normalize(synth.templates[stack_id]) == snapshot_json(name=f"{fixture}-{stack_id}")


def test_normalization_removes_only_volatile_parts(sandbox):
    template = sandbox.templates["DataLake"]
    normalized = normalize(template)
    assert "CDKMetadata" not in normalized["Resources"]
    assert "BootstrapVersion" not in normalized.get("Parameters", {})
    assert set(normalized["Resources"]) == set(template["Resources"]) - {"CDKMetadata"}
    assert all("aws:cdk:path" not in r.get("Metadata", {}) for r in normalized["Resources"].values())
    # Security metadata stays in the snapshot: a dropped acknowledgement is a visible change.
    assert any("cdk_nag" in r.get("Metadata", {}) for r in normalized["Resources"].values())
