"""The idle-cost report: computed from the synthesized templates, so it follows the settings."""

from __future__ import annotations

import pytest

from scripts import costs


def lines_by_item(synth) -> dict[str, costs.Line]:
    return {line.item: line for lines in costs.report(synth.assembly_dir).values() for line in lines}


def test_the_whole_sandbox_idles_under_45_usd_a_month_with_the_endpoint_off(sandbox):
    report = costs.report(sandbox.assembly_dir)
    assert sandbox.built.settings.sagemaker.model_artifact is None
    assert costs.total(report) == pytest.approx(44.75)
    assert costs.total(report) < costs.SANDBOX_TARGET_USD


def test_sandbox_drivers(sandbox):
    lines = lines_by_item(sandbox)
    assert lines["4 interface endpoints x 1 AZ"].monthly_usd == pytest.approx(29.20)
    assert lines["Kinesis stream, 1 provisioned shard"].monthly_usd == pytest.approx(10.95)
    keys = [line for stack in costs.report(sandbox.assembly_dir).values() for line in stack if "KMS key" in line.item]
    assert sorted(line.stack for line in keys) == ["Catalog", "DataLake", "MlNetwork", "Streaming"]
    assert sum(line.monthly_usd for line in keys) == pytest.approx(4.0)
    assert not any("NAT" in item or "endpoint variant" in item or "crawler" in item for item in lines)


def test_prod_drivers_follow_its_settings(prod):
    lines = lines_by_item(prod)
    assert lines["9 interface endpoints x 2 AZ"].monthly_usd == pytest.approx(131.40)
    assert lines["Kinesis on-demand stream"].monthly_usd == pytest.approx(29.20)
    assert lines["crawler mlspec-prod-curated, 30 scheduled runs"].monthly_usd == pytest.approx(2.20)
    assert lines["ETL job mlspec-prod-raw-to-curated, 30 scheduled runs with no new data"].monthly_usd == \
        pytest.approx(0.88)


def test_hosting_and_notebook_are_counted_when_configured(custom):
    lines = lines_by_item(custom)
    assert lines["endpoint variant champion: 2 x ml.m5.large"].monthly_usd == pytest.approx(2 * 0.115 * 730)
    assert lines["endpoint variant challenger: 1 x ml.t2.medium"].monthly_usd == pytest.approx(0.056 * 730)
    assert lines["notebook ml.t3.medium (until stopped)"].monthly_usd == pytest.approx(36.50)
    assert lines["crawler acme-ml-raw, 22 scheduled runs"].driver == "catalog.crawler_schedule_enabled"


def test_every_hosting_and_notebook_type_the_settings_allow_has_a_price():
    from config.settings import HOSTING_INSTANCE_TYPES, NOTEBOOK_INSTANCE_TYPES

    assert set(HOSTING_INSTANCE_TYPES) <= set(costs.PRICES["sagemaker_hosting_hour"])
    assert set(NOTEBOOK_INSTANCE_TYPES) <= set(costs.PRICES["sagemaker_notebook_hour"])


def test_rendered_table_has_stack_totals_and_a_grand_total(sandbox):
    table = costs.render(costs.report(sandbox.assembly_dir), "Idle cost")
    assert "| SageMaker | **stack total** | **0.00** | |" in table
    assert table.rstrip().endswith("| all | **total** | **44.75** | |")
