"""Every traced statement is in the study notes, and its construct, template property and test exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from scripts import traceability
from scripts.traceability import NOTES, TRACES
from stacks.app_factory import PROJECT_ROOT


@pytest.fixture(scope="module")
def templates_by_profile(sandbox, prod, custom):
    return {"sandbox": sandbox.templates, "prod": prod.templates, "custom": custom.templates}


@pytest.mark.parametrize("trace", TRACES, ids=lambda t: t.statement[:40])
def test_statement_is_quoted_from_the_notes(trace):
    notes = traceability.normalized((NOTES / trace.notes).read_text())
    assert traceability.normalized(trace.statement) in notes


@pytest.mark.parametrize("trace", TRACES, ids=lambda t: t.statement[:40])
def test_construct_exists(trace):
    module, name = trace.construct.rsplit(".", 1)
    assert hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize("trace", TRACES, ids=lambda t: t.statement[:40])
def test_template_property_holds(trace, templates_by_profile):
    assert traceability.holds(trace, templates_by_profile), trace.property_text


@pytest.mark.parametrize("trace", TRACES, ids=lambda t: t.statement[:40])
def test_named_test_exists(trace):
    path, name = trace.test.split("::")
    assert re.search(rf"^def {re.escape(name)}\(", (PROJECT_ROOT / path).read_text(), re.M), trace.test


def test_a_false_property_is_detected(templates_by_profile):
    """Guard for the checker itself: a wrong expectation must not hold."""
    wrong = traceability.Trace(TRACES[0].notes, TRACES[0].statement, TRACES[0].construct,
                               ("sandbox", "Streaming", "AWS::Kinesis::Stream", "RetentionPeriodHours", 25), "x::y")
    assert not traceability.holds(wrong, templates_by_profile)


def test_every_study_note_file_is_traced():
    assert {t.notes for t in TRACES} == {path.name for path in NOTES.glob("*.txt")}


def test_the_study_notes_are_the_seed_notes():
    seeds = Path("/work/shared/seeds")  # the session's seed notes, mirrored in docs/study-notes
    if not seeds.is_dir():
        pytest.skip("the seed notes are not on this machine")
    assert {p.name: p.read_bytes() for p in NOTES.glob("*.txt")} == {p.name: p.read_bytes() for p in seeds.glob("*.txt")}


# Each capability of issues 11 and 12 and the module that implements it: each needs a traced row.
CAPABILITIES = {
    "audit trail": "patterns.audit_trail", "Lake Formation": "patterns.lake_formation",
    "ML rule pack": "patterns.ml_rule_pack", "inference API": "patterns.inference_api",
    "model registry": "patterns.model_registry", "approval and deploy": "patterns.model_deploy",
    "tuning": "patterns.training_pipeline", "batch transform": "patterns.batch_transform",
    "Model Monitor": "patterns.model_monitor",
}


@pytest.mark.parametrize("capability", list(CAPABILITIES))
def test_every_new_capability_has_a_traced_row(capability):
    assert any(t.construct.rsplit(".", 1)[0] == CAPABILITIES[capability] for t in TRACES), capability
