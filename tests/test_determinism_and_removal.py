"""Two synths give identical templates; production keeps every stateful resource."""

from __future__ import annotations

import pytest

# Resource types that hold data or keys. A new stateful type added to any stack must be listed here.
STATEFUL_TYPES = {
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::Kinesis::Stream",
    "AWS::Logs::LogStream",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::SageMaker::NotebookInstance",
    "AWS::SQS::Queue",
}
# Custom resources that delete data when their stack is deleted.
DATA_DESTROYING_TYPES = {"Custom::S3AutoDeleteObjects", "Custom::EmptyBucketOnDelete"}


def test_two_synths_give_identical_templates(sandbox, second_synth):
    """A second synth in a separate process (so with another string-hash seed, which reorders
    Python sets) must write byte-identical templates and asset manifests."""
    process, outdir = second_synth
    assert process.wait(timeout=300) == 0, process.stderr.read().decode()[-2000:]
    # What is deployed: templates and asset manifests (the other files hold construct stack traces).
    files = sorted(p.name for pattern in ("*.template.json", "*.assets.json") for p in sandbox.assembly_dir.glob(pattern))
    assert len(files) == 2 * len(sandbox.templates)
    for name in files:
        assert (outdir / name).read_bytes() == (sandbox.assembly_dir / name).read_bytes(), name


def stateful(synth):
    for stack_id, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in STATEFUL_TYPES:
                yield f"{stack_id}/{logical_id}", resource


def test_prod_retains_every_stateful_resource_and_destroys_nothing(prod):
    swept = list(stateful(prod))
    assert swept, "the sweep found no stateful resource at all"
    for name, resource in swept:
        assert resource.get("DeletionPolicy") == "Retain", name
        assert resource.get("UpdateReplacePolicy") == "Retain", name
    for stack_id, template in prod.templates.items():
        for logical_id, resource in template["Resources"].items():
            assert resource["Type"] not in DATA_DESTROYING_TYPES, f"{stack_id}/{logical_id}"


@pytest.mark.parametrize("fixture", ["sandbox", "custom"])
def test_data_is_destroyed_exactly_when_the_settings_say_so(request, fixture):
    synth = request.getfixturevalue(fixture)
    destroy = synth.built.settings.destroy_data_on_removal
    for name, resource in stateful(synth):
        assert resource.get("DeletionPolicy") == ("Delete" if destroy else "Retain"), name
