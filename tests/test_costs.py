"""The idle-cost report: computed from the synthesized templates, so it follows the settings."""

from __future__ import annotations

import pytest

from scripts import costs


def lines_by_item(synth) -> dict[str, costs.Line]:
    return {line.item: line for lines in costs.report(synth.assembly_dir).values() for line in lines}


def test_the_whole_sandbox_idles_under_25_usd_a_month_with_the_endpoint_and_notebook_off(sandbox):
    report = costs.report(sandbox.assembly_dir)
    assert sandbox.built.settings.sagemaker.model_artifact is None
    assert not sandbox.built.settings.sagemaker.notebook_enabled
    # 1 provisioned shard 10.95 + 5 KMS keys 5.00 + 6 alarms 0.60 + the inference API's
    # sagemaker.runtime interface endpoint in 1 AZ 7.30.
    assert costs.total(report) == pytest.approx(23.85)
    assert costs.total(report) < costs.SANDBOX_TARGET_USD


def test_sandbox_drivers(sandbox):
    lines = lines_by_item(sandbox)
    assert [item for item in lines if "interface endpoint" in item] == [
        "interface endpoint sagemaker.runtime x 1 AZ, for inference API (its Lambda calls InvokeEndpoint)"]
    assert lines["Kinesis stream, 1 provisioned shard"].monthly_usd == pytest.approx(10.95)
    keys = [line for stack in costs.report(sandbox.assembly_dir).values() for line in stack if "KMS key" in line.item]
    assert sorted(line.stack for line in keys) == ["Audit", "Catalog", "DataLake", "MlNetwork", "Streaming"]
    assert sum(line.monthly_usd for line in keys) == pytest.approx(5.0)
    assert not any("NAT" in item or item.startswith("endpoint variant") or "crawler" in item for item in lines)


def test_prod_drivers_follow_its_settings(prod):
    lines = lines_by_item(prod)
    endpoints = {item: line for item, line in lines.items() if "interface endpoint" in item}
    # The inference API's two (prod's API is private): the private API's own idle charge is execute-api.
    private = endpoints.pop("interface endpoint execute-api x 2 AZ, for private inference API (callers in the VPC)")
    assert private.monthly_usd == pytest.approx(14.60)
    assert private.driver == "network.az_count, inference_api.private"
    runtime = endpoints.pop("interface endpoint sagemaker.runtime x 2 AZ, for inference API (its Lambda calls "
                            "InvokeEndpoint)")
    assert runtime.driver == "network.az_count, inference_api.enabled"
    assert endpoints == {}
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


def test_every_interface_endpoint_names_its_consumer_and_costs_7_30_per_az(custom):
    endpoints = {item: line for item, line in lines_by_item(custom).items() if "interface endpoint" in item}
    assert len(endpoints) == 6
    states = endpoints["interface endpoint states x 2 AZ, for notebook (start the training pipeline)"]
    assert states.monthly_usd == pytest.approx(2 * 7.30)
    assert states.driver == "network.az_count, sagemaker.notebook_enabled"
    kms = endpoints["interface endpoint kms x 2 AZ, for your workloads (network.extra_interface_endpoints)"]
    assert kms.driver == "network.az_count, network.extra_interface_endpoints"


def test_every_hosting_and_notebook_type_the_settings_allow_has_a_price():
    from config.settings import HOSTING_INSTANCE_TYPES, NOTEBOOK_INSTANCE_TYPES

    assert set(HOSTING_INSTANCE_TYPES) <= set(costs.PRICES["sagemaker_hosting_hour"])
    assert set(NOTEBOOK_INSTANCE_TYPES) <= set(costs.PRICES["sagemaker_notebook_hour"])


def test_rendered_table_has_stack_totals_and_a_grand_total(sandbox):
    table = costs.render(costs.report(sandbox.assembly_dir), "Idle cost")
    assert "| SageMaker | **stack total** | **0.00** | |" in table
    assert "| all | **total** | **23.85** | |" in table


def test_the_pipeline_endpoint_is_priced_as_a_run_time_cost_not_an_idle_one(sandbox, prod):
    sandbox_line = lines_by_item(sandbox)["pipeline endpoint variant primary: 1 x ml.t2.medium"]
    assert (sandbox_line.monthly_usd, sandbox_line.when) == (pytest.approx(0.056 * 730), "after a pipeline run")
    assert lines_by_item(prod)["pipeline endpoint variant primary: 2 x ml.m5.large"].monthly_usd == \
        pytest.approx(2 * 0.115 * 730)
    table = costs.render(costs.report(sandbox.assembly_dir), "Idle cost")
    idle, after = table.split("After the first pipeline run")
    assert "pipeline endpoint" not in idle and "| SageMaker | pipeline endpoint variant primary" in after
    assert costs.total(costs.report(sandbox.assembly_dir)) == pytest.approx(23.85)  # not in the idle total


def test_the_audit_trail_prices_data_events_and_storage_at_the_stated_volume_not_as_idle(sandbox, prod):
    sandbox_lines, prod_lines = lines_by_item(sandbox), lines_by_item(prod)
    management = [line for item, line in sandbox_lines.items() if item.startswith("trail management events")]
    assert [(line.monthly_usd, line.when) for line in management] == [(0.0, "idle")]
    # 1,000,000 data events at $0.10 per 100,000; 5 GB at $0.023.
    data = sandbox_lines["S3 data events of the lake (reads and writes), assumed 1,000,000 a month"]
    assert (data.monthly_usd, data.when, data.driver) == (pytest.approx(1.00), costs.ASSUMED, "audit.s3_data_events")
    assert sandbox_lines["trail log files in S3 Standard, assumed 5 GB stored"].monthly_usd == pytest.approx(0.115)
    assert "trail events to CloudWatch Logs, assumed 1 GB a month ingested" not in sandbox_lines
    assert prod_lines["trail events to CloudWatch Logs, assumed 1 GB a month ingested"].monthly_usd == \
        pytest.approx(0.50)
    table = costs.render(costs.report(sandbox.assembly_dir), "Idle cost")
    idle, assumed = table.split("The audit trail at an assumed volume")
    assert "S3 data events" not in idle and "| Audit | S3 data events of the lake" in assumed


def test_a_batch_transform_run_is_priced_per_run_not_idle(sandbox, prod):
    from config.aws_limits import TRANSFORM_INSTANCE_TYPES

    assert set(TRANSFORM_INSTANCE_TYPES) <= set(costs.PRICES["sagemaker_transform_hour"])
    line = lines_by_item(sandbox)["one batch transform run: 1 x ml.m5.large for 15 min"]
    assert (line.monthly_usd, line.when) == (pytest.approx(0.115 / 4), "per batch transform run")
    assert lines_by_item(prod)["one batch transform run: 1 x ml.m5.xlarge for 15 min"].monthly_usd == \
        pytest.approx(0.23 / 4)
    table = costs.render(costs.report(sandbox.assembly_dir), "Idle cost")
    idle, per_run = table.split("Per batch transform run")
    assert "batch transform" not in idle and "| SageMaker | one batch transform run" in per_run
    assert costs.total(costs.report(sandbox.assembly_dir)) == pytest.approx(23.85)  # nothing idle


def test_a_pipeline_run_is_priced_per_run_and_tuning_multiplies_it(sandbox, prod):
    from config.aws_limits import TRAINING_INSTANCE_TYPES

    assert set(TRAINING_INSTANCE_TYPES) <= set(costs.PRICES["sagemaker_training_hour"])
    (single,) = [line for line in costs.lines_for("SageMaker", sandbox.templates["SageMaker"])
                 if line.when == "per pipeline run"]
    assert single.monthly_usd == pytest.approx(1 * 1 * 1.0 * 0.115)  # one ml.m5.large job, at most 60 minutes
    (tuned,) = [line for line in costs.lines_for("SageMaker", prod.templates["SageMaker"])
                if line.when == "per pipeline run"]
    assert tuned.monthly_usd == pytest.approx(4 * 1 * 1.0 * 0.23)  # 4 tuning jobs of one ml.m5.xlarge
    assert "tuning job, 4 training jobs" in tuned.item
    table = costs.render(costs.report(prod.assembly_dir), "Idle cost")
    assert table.split("Per training pipeline run")[1].count("one pipeline run at most") == 1
    assert costs.total(costs.report(sandbox.assembly_dir)) == pytest.approx(23.85)  # not idle


def test_prod_idle_total_matches_a_hand_computation(prod):
    report = costs.report(prod.assembly_dir)
    # One customer key per stack: the lake's, streaming's, the catalog's, the ML key, Model Monitor's
    # undelivered-trigger queue key (SageMaker) and the trail's.
    keys = {line.stack: line.item for lines in report.values() for line in lines if "KMS key" in line.item}
    assert keys == dict.fromkeys(("DataLake", "Streaming", "Catalog", "MlNetwork", "SageMaker", "Audit"), "1 KMS key")
    hand = (6 * 1.00  # KMS keys
            + 730 * 0.04  # the on-demand stream
            + (6 + 1 + 1 + 3) * 0.10  # 6 streaming alarms; Model Monitor's 2 single-metric + 1 over 3 metrics
            + 30 * 10 / 60 * 0.44  # the daily crawler's 10-minute minimum
            + 30 * 4 * 1 / 60 * 0.44  # the daily ETL job: 2 G.2X workers (4 DPU), 1-minute minimum
            + 2 * 2 * 730 * 0.01)  # sagemaker.runtime and execute-api, 2 AZs each
    assert costs.total(report) == pytest.approx(hand) == pytest.approx(68.58)


def _sections(table: str) -> dict[str, str]:
    """The rendered table cut at each run-time section's heading ("idle" is what precedes them)."""
    cuts = sorted((table.index(heading), when) for when, (heading, _, _) in costs.RUN_TIME_SECTIONS.items()
                  if heading in table)
    bounds = [(0, "idle"), *cuts, (len(table), None)]
    return {when: table[start:end] for (start, when), (end, _) in zip(bounds, bounds[1:])}


def test_every_line_is_rendered_in_the_section_of_its_kind(synth):
    report = costs.report(synth.assembly_dir)
    sections = _sections(costs.render(report, "Idle cost"))
    lines = [line for stack in report.values() for line in stack]
    assert lines and {line.when for line in lines} <= {"idle", *costs.RUN_TIME_SECTIONS}
    for line in lines:
        row = f"| {line.stack} | {line.item} | {line.monthly_usd:.2f} |"
        assert [when for when, text in sections.items() if row in text] == [line.when], row
    # What exists only once the pipeline has deployed its endpoint is never idle.
    for line in lines:
        if "pipeline endpoint" in line.item or line.item.startswith("monitoring schedule"):
            assert line.when == "after a pipeline run", line.item
        if line.item.startswith("data-quality baseline"):
            assert line.when == "per endpoint deployment", line.item


def test_the_prose_states_the_computed_idle_totals_and_target(sandbox, prod):
    import re

    from scripts.docs import ROOT

    text = (ROOT / "docs" / "costs.md").read_text().split("<!-- END generated:idle-cost -->")[1]
    stated = re.search(r"The sandbox idles at \$([\d.]+) a month, under the \$([\d.]+) target", text)
    assert stated, "docs/costs.md no longer states the sandbox's idle total"
    assert float(stated[1]) == pytest.approx(costs.total(costs.report(sandbox.assembly_dir)))
    assert float(stated[2]) == costs.SANDBOX_TARGET_USD
    prod_stated = re.search(r"Prod idles at \$([\d.]+)", text)
    assert prod_stated and float(prod_stated[1]) == pytest.approx(costs.total(costs.report(prod.assembly_dir)))


def test_every_hand_written_idle_figure_is_the_computed_one(sandbox, prod):
    """The README, the deploy guide and the architecture page repeat idle figures in prose: each must
    be what the report computes from the templates, so a change of the templates cannot leave one stale."""
    import re

    from scripts.docs import ROOT

    sandbox_report, prod_report = costs.report(sandbox.assembly_dir), costs.report(prod.assembly_dir)
    readme = (ROOT / "README.md").read_text().split("<!-- END generated:synth-summary -->")[1]
    stated = re.search(r"The sandbox idles at \$([\d.]+) a month", readme)
    assert stated and float(stated[1]) == pytest.approx(costs.total(sandbox_report))
    deploy = re.search(r"\(sandbox: about \$([\d.]+) a month\)", (ROOT / "docs" / "deploy.md").read_text())
    assert deploy and float(deploy[1]) == pytest.approx(costs.total(sandbox_report))

    def ml_stacks(report):  # the ML network and SageMaker stacks, as the architecture page groups them
        return sum(line.monthly_usd for stack in ("MlNetwork", "SageMaker") for line in report[stack]
                   if line.when == "idle")

    architecture = (ROOT / "docs" / "architecture.md").read_text()
    two = re.search(r"\*\*Idle cost of these two stacks\*\*: \$([\d.]+) a month in the sandbox and \$([\d.]+) in "
                    r"prod", architecture)
    assert two, "docs/architecture.md no longer states the ML stacks' idle cost"
    assert float(two[1]) == pytest.approx(ml_stacks(sandbox_report))
    assert float(two[2]) == pytest.approx(ml_stacks(prod_report))
