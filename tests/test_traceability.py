"""Every traced statement is in the study notes, and its construct, template property and test exist."""

from __future__ import annotations

import importlib
import re

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
    assert {t.notes for t in TRACES} >= {"000_9189b603e09bc9bf.txt", "003_a34f3d96b6317154.txt",
                                         "004_0a8284ca0a231664.txt"}
