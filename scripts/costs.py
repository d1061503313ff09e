"""Idle-cost report: what each stack costs per month with zero traffic, from its synthesized template.

Only resources that bill by the hour (or per run on a schedule) cost anything idle; everything
billed per request, per GB or per second of work (S3, Firehose, Lambda, Athena, Step Functions,
training, CloudWatch Logs ingestion) costs nothing at zero traffic and is left out.

Usage: python -m scripts.costs [cdk.out]
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from config.aws_limits import monitor_schedule_hours

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 30
# us-east-1 list prices in USD, as used by this report; check the AWS pricing pages before you rely on them.
PRICES = {
    "as_of": "2026-11",
    "region": "us-east-1",
    "interface_endpoint_per_az_hour": 0.01,
    "nat_gateway_hour": 0.045,
    "kms_key_month": 1.00,
    "kinesis_shard_hour": 0.015,
    "kinesis_on_demand_stream_hour": 0.04,
    "cloudwatch_alarm_month": 0.10,
    "glue_dpu_hour": 0.44,
    "glue_crawler_minimum_minutes": 10,  # crawlers bill per second with a 10-minute minimum
    "glue_job_minimum_minutes": 1,  # Glue 5.0 jobs bill per second with a 1-minute minimum
    "sagemaker_hosting_hour": {"ml.t2.medium": 0.056, "ml.t2.large": 0.111, "ml.m5.large": 0.115,
                               "ml.m5.xlarge": 0.23, "ml.c5.large": 0.102, "ml.c5.xlarge": 0.204,
                               "ml.r5.large": 0.151},
    "sagemaker_notebook_hour": {"ml.t3.medium": 0.05, "ml.t3.large": 0.10, "ml.m5.xlarge": 0.23},
    "sagemaker_transform_hour": {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461,
                                 "ml.m5.4xlarge": 0.922, "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408,
                                 "ml.c5.4xlarge": 0.816, "ml.m6i.large": 0.115, "ml.m6i.xlarge": 0.23,
                                 "ml.c6i.large": 0.102, "ml.c6i.xlarge": 0.204},
    "cloudtrail_management_copy_per_100k": 2.00,  # the account's first copy of management events is free
    "cloudtrail_data_events_per_100k": 0.10,
    "s3_standard_gb_month": 0.023,
    "cloudwatch_logs_ingestion_gb": 0.50,
    # Processing jobs (Model Monitor's baseline and scheduled runs) bill per second of instance time.
    "sagemaker_processing_hour": {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461,
                                  "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408, "ml.r5.large": 0.151,
                                  "ml.r5.xlarge": 0.302},
    # Training (on demand; managed spot bills up to ~70% less): each training job of a run, and each
    # job of a tuning run, bills its instances for as long as it runs.
    "sagemaker_training_hour": {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461,
                                "ml.m5.4xlarge": 0.922, "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408,
                                "ml.c5.4xlarge": 0.816, "ml.r5.large": 0.151, "ml.r5.xlarge": 0.302,
                                "ml.r5.2xlarge": 0.605},
}
# The audit trail's volume-driven costs, at a stated volume (they are zero at zero traffic, but a
# trail is never idle: every API call of the account is an event).
AUDIT_ASSUMPTIONS = {"data_events_per_month": 1_000_000, "log_files_gb_stored": 5,
                     "events_gb_ingested_per_month": 1}
ASSUMED = "at the assumed volume"
# One batch transform run, as priced: instances bill per second from start to the job's end;
# assumed 15 minutes (about 5-8 of them starting the instances) for the curated prefix of a sandbox.
BATCH_TRANSFORM_RUN_MINUTES = 15
GLUE_WORKER_DPU = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}


@dataclasses.dataclass(frozen=True)
class Line:
    stack: str
    item: str
    monthly_usd: float
    driver: str  # the setting that changes it
    # "idle": billed from deploy on. "after a pipeline run": the pipeline's endpoint (and its
    # monitoring schedule), created by the first run outside CloudFormation and billed until deleted;
    # not part of the idle total. "per endpoint deployment": a one-off each time the endpoint deploys.
    when: str = "idle"


def _resources(template: dict, type_: str) -> Iterator[tuple[str, dict]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource["Type"] == type_:
            yield logical_id, resource.get("Properties", {})


def _cron_runs_per_month(expression: str) -> int:
    """Runs per month of a Glue cron(min hour dom month dow year); daily unless days are listed."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    day_of_week = fields[4]
    if day_of_week == "MON-FRI":
        return 22
    if day_of_week not in ("?", "*"):
        return 4 * len(day_of_week.split(","))
    return DAYS_PER_MONTH


# The setting that brings in each kind of interface-endpoint consumer (stacks/wiring.py).
CONSUMER_SETTINGS = {"notebook": "sagemaker.notebook_enabled", "your": "network.extra_interface_endpoints",
                     # The inference API's Lambda needs sagemaker.runtime; a private API adds execute-api,
                     # which is the private API's own idle charge (its requests cost what a regional API's do).
                     "inference": "inference_api.enabled", "private": "inference_api.private"}


def _service(props: dict) -> str:
    """`com.amazonaws.<region>.<service>` -> `<service>`."""
    name = props["ServiceName"]
    parts = name["Fn::Join"][1] if isinstance(name, dict) else [name]
    return parts[-1].removeprefix(".")


def lines_for(stack: str, template: dict) -> list[Line]:
    lines: list[Line] = []
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::EC2::VPCEndpoint" or props.get("VpcEndpointType") != "Interface":
            continue
        azs = len(props.get("SubnetIds", []))
        consumers = resource.get("Metadata", {}).get("ConsumedBy", ["nobody"])
        drivers = ["network.az_count"] + [CONSUMER_SETTINGS[c.split(" ", 1)[0]] for c in consumers]
        lines.append(Line(stack, f"interface endpoint {_service(props)} x {azs} AZ, for {'; '.join(consumers)}",
                          azs * PRICES["interface_endpoint_per_az_hour"] * HOURS_PER_MONTH,
                          ", ".join(dict.fromkeys(drivers))))
    nat = len(list(_resources(template, "AWS::EC2::NatGateway")))
    if nat:
        lines.append(Line(stack, f"{nat} NAT gateways", nat * PRICES["nat_gateway_hour"] * HOURS_PER_MONTH, "-"))
    keys = len(list(_resources(template, "AWS::KMS::Key")))
    if keys:
        lines.append(Line(stack, f"{keys} KMS key{'s' if keys > 1 else ''}", keys * PRICES["kms_key_month"], "-"))
    for _, props in _resources(template, "AWS::Kinesis::Stream"):
        if props.get("StreamModeDetails", {}).get("StreamMode") == "ON_DEMAND":
            lines.append(Line(stack, "Kinesis on-demand stream",
                              PRICES["kinesis_on_demand_stream_hour"] * HOURS_PER_MONTH, "streaming.capacity_mode"))
        else:
            shards = props.get("ShardCount", 1)
            lines.append(Line(stack, f"Kinesis stream, {shards} provisioned shard{'s' if shards > 1 else ''}",
                              shards * PRICES["kinesis_shard_hour"] * HOURS_PER_MONTH,
                              "streaming.capacity_mode, streaming.shard_count"))
    # An alarm bills per metric it evaluates: a metric-math alarm over three metrics costs three.
    metrics = [max(1, sum("MetricStat" in m for m in props.get("Metrics", [])))
               for _, props in _resources(template, "AWS::CloudWatch::Alarm")]
    if metrics:
        shown = f" ({sum(metrics)} metrics)" if sum(metrics) > len(metrics) else ""
        lines.append(Line(stack, f"{len(metrics)} CloudWatch alarms{shown}",
                          sum(metrics) * PRICES["cloudwatch_alarm_month"], "-"))
    for _, props in _resources(template, "AWS::Glue::Crawler"):
        if "Schedule" in props:
            runs = _cron_runs_per_month(props["Schedule"]["ScheduleExpression"])
            minutes = PRICES["glue_crawler_minimum_minutes"]
            lines.append(Line(stack, f"crawler {props['Name']}, {runs} scheduled runs",
                              runs * minutes / 60 * PRICES["glue_dpu_hour"], "catalog.crawler_schedule_enabled"))
    jobs = {p["Name"]: p for _, p in _resources(template, "AWS::Glue::Job")}
    for _, props in _resources(template, "AWS::Glue::Trigger"):
        if props.get("Type") == "SCHEDULED":
            job = jobs[props["Actions"][0]["JobName"]]
            runs = _cron_runs_per_month(props["Schedule"])
            dpu = GLUE_WORKER_DPU[job["WorkerType"]] * job["NumberOfWorkers"]
            lines.append(Line(stack, f"ETL job {job['Name']}, {runs} scheduled runs with no new data",
                              runs * dpu * PRICES["glue_job_minimum_minutes"] / 60 * PRICES["glue_dpu_hour"],
                              "catalog.etl_schedule_enabled"))
    configs = {p.get("EndpointConfigName", logical_id): p for logical_id, p in
               _resources(template, "AWS::SageMaker::EndpointConfig")}
    if list(_resources(template, "AWS::SageMaker::Endpoint")):
        for props in configs.values():
            for variant in props["ProductionVariants"]:
                price = PRICES["sagemaker_hosting_hour"][variant["InstanceType"]]
                count = variant["InitialInstanceCount"]
                lines.append(Line(stack, f"endpoint variant {variant['VariantName']}: {count} x "
                                         f"{variant['InstanceType']}", count * price * HOURS_PER_MONTH,
                                  "sagemaker.model_artifact, sagemaker.endpoint_variants"))
    for _, props in _resources(template, "AWS::StepFunctions::StateMachine"):
        for variant in _pipeline_endpoint_variants(props):
            price = PRICES["sagemaker_hosting_hour"][variant["InstanceType"]]
            count = variant["InitialInstanceCount"]
            lines.append(Line(stack, f"pipeline endpoint variant {variant['VariantName']}: {count} x "
                                     f"{variant['InstanceType']}", count * price * HOURS_PER_MONTH,
                              "sagemaker.endpoint_variants", when="after a pipeline run"))
    for _, props in _resources(template, "AWS::CloudTrail::Trail"):
        lines += _trail_lines(stack, props)
    for _, props in _resources(template, "AWS::StepFunctions::StateMachine"):
        for job in _transform_resources(props):
            price = PRICES["sagemaker_transform_hour"][job["InstanceType"]]
            count = job["InstanceCount"]
            lines.append(Line(stack, f"one batch transform run: {count} x {job['InstanceType']} for "
                                     f"{BATCH_TRANSFORM_RUN_MINUTES} min", count * price * BATCH_TRANSFORM_RUN_MINUTES / 60,
                              "sagemaker.batch_transform", when="per batch transform run"))
    for _, props in _resources(template, "AWS::StepFunctions::StateMachine"):
        lines += _model_monitor_lines(stack, _definition(props).get("States", {}))
    for _, props in _resources(template, "AWS::StepFunctions::StateMachine"):
        lines += _pipeline_run(stack, props)
    for _, props in _resources(template, "AWS::SageMaker::NotebookInstance"):
        price = PRICES["sagemaker_notebook_hour"][props["InstanceType"]]
        lines.append(Line(stack, f"notebook {props['InstanceType']} (until stopped)", price * HOURS_PER_MONTH,
                          "sagemaker.notebook_enabled"))
    return lines


def _trail_lines(stack: str, props: dict) -> list[Line]:
    """The trail: management events (free for the account's first copy), and at AUDIT_ASSUMPTIONS'
    volume its S3 data events, the log files kept in S3 and the CloudWatch Logs delivery."""
    volume = AUDIT_ASSUMPTIONS
    lines = [Line(stack, "trail management events (first copy in the account; a second trail's copy costs "
                         f"${PRICES['cloudtrail_management_copy_per_100k']:.2f} per 100,000)", 0.0, "audit.enabled")]
    data = [s for s in props.get("AdvancedEventSelectors", [])
            if {"Field": "eventCategory", "Equals": ["Data"]} in s["FieldSelectors"]]
    if data:
        read_only = next((f["Equals"][0] for f in data[0]["FieldSelectors"] if f["Field"] == "readOnly"), None)
        kind = {"true": "reads", "false": "writes", None: "reads and writes"}[read_only]
        events = volume["data_events_per_month"]
        lines.append(Line(stack, f"S3 data events of the lake ({kind}), assumed {events:,} a month",
                          events / 100_000 * PRICES["cloudtrail_data_events_per_100k"], "audit.s3_data_events",
                          when=ASSUMED))
    stored = volume["log_files_gb_stored"]
    lines.append(Line(stack, f"trail log files in S3 Standard, assumed {stored} GB stored",
                      stored * PRICES["s3_standard_gb_month"], "audit.expire_after_days, audit.archive_after_days",
                      when=ASSUMED))
    if "CloudWatchLogsLogGroupArn" in props:
        ingested = volume["events_gb_ingested_per_month"]
        lines.append(Line(stack, f"trail events to CloudWatch Logs, assumed {ingested} GB a month ingested",
                          ingested * PRICES["cloudwatch_logs_ingestion_gb"], "audit.cloudwatch_logs", when=ASSUMED))
    return lines


def _definition(props: dict) -> dict:
    """A state machine's definition, with every CloudFormation token replaced by "token"."""
    definition = props.get("DefinitionString")
    parts = definition["Fn::Join"][1] if isinstance(definition, dict) else [definition or "{}"]
    # Tokens only ever stand inside JSON strings here: any placeholder keeps the document valid.
    return json.loads("".join(p if isinstance(p, str) else "token" for p in parts))


def _processing(cluster: dict, stopping: dict) -> tuple[float, str, float]:
    """(USD per hour, "N x type", the run's limit in minutes) of a processing job's resources."""
    count, type_ = cluster["InstanceCount"], cluster["InstanceType"]
    return count * PRICES["sagemaker_processing_hour"][type_], f"{count} x {type_}", stopping["MaxRuntimeInSeconds"] / 60


def _model_monitor_lines(stack: str, states: dict) -> list[Line]:
    """A monitor setup machine's schedule (runs while the endpoint exists, traffic or not) and its
    baseline (once per endpoint deployment), each priced at the job's runtime limit: a ceiling."""
    lines = []
    schedule = states.get("CreateSchedule", {}).get("Parameters", {})
    if "MonitoringScheduleConfig" in schedule:
        config = schedule["MonitoringScheduleConfig"]
        job = config["MonitoringJobDefinition"]
        hourly, instances, minutes = _processing(job["MonitoringResources"]["ClusterConfig"], job["StoppingCondition"])
        hours = monitor_schedule_hours(config["ScheduleConfig"]["ScheduleExpression"])
        runs = -(-24 // hours) * DAYS_PER_MONTH
        lines.append(Line(stack, f"monitoring schedule {schedule['MonitoringScheduleName']}: {runs} runs x up to "
                                 f"{minutes:g} min on {instances}", runs * minutes / 60 * hourly,
                          "sagemaker.model_monitor", when="after a pipeline run"))
    baseline = states.get("Baseline", {}).get("Parameters", {})
    if "ProcessingResources" in baseline:
        hourly, instances, minutes = _processing(baseline["ProcessingResources"]["ClusterConfig"],
                                                 baseline["StoppingCondition"])
        lines.append(Line(stack, f"data-quality baseline: up to {minutes:g} min on {instances}", minutes / 60 * hourly,
                          "sagemaker.model_monitor", when="per endpoint deployment"))
    return lines


def _pipeline_endpoint_variants(props: dict) -> list[dict]:
    """The variants a state machine's CreateEndpointConfig step deploys ([] for other machines)."""
    step = _definition(props).get("States", {}).get("CreateEndpointConfig", {})
    return step.get("Parameters", {}).get("ProductionVariants", [])


def _transform_resources(props: dict) -> list[dict]:
    """The TransformResources of a state machine's Transform step ([] for other machines)."""
    step = _definition(props).get("States", {}).get("Transform", {})
    resources = step.get("Parameters", {}).get("TransformResources")
    return [resources] if resources else []


def _pipeline_run(stack: str, props: dict) -> list[Line]:
    """What one training pipeline run costs at most: its training job, or every job of its tuning
    job, for the whole MaxRuntimeInSeconds (a run that ends early costs less). The model package,
    the group, the approval event and the deploy's Step Functions transitions cost nothing that
    matters (registry: no charge; EventBridge: AWS service events are free; Step Functions: ~20
    transitions)."""
    steps = _definition(props).get("States", {})
    if "Train" in steps:
        job, jobs, what = steps["Train"]["Parameters"], 1, "training job"
    elif "Tune" in steps:
        tuning = steps["Tune"]["Parameters"]
        job = tuning["TrainingJobDefinition"]
        jobs = tuning["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
        what = f"tuning job, {jobs} training jobs"
    else:
        return []
    resources = job["ResourceConfig"]
    hours = job["StoppingCondition"]["MaxRuntimeInSeconds"] / 3600
    price = PRICES["sagemaker_training_hour"][resources["InstanceType"]]
    spot = " on spot (up to ~70% less)" if job.get("EnableManagedSpotTraining") else ""
    return [Line(stack, f"one pipeline run at most: {what} x {resources['InstanceCount']} x {resources['InstanceType']} "
                        f"x {hours:g} h{spot}", jobs * resources["InstanceCount"] * hours * price,
                 "sagemaker.tuning, sagemaker.training_*", when="per pipeline run")]


# Raised from 17 when the inference API (on in every profile, inference_api.enabled) brought its
# sagemaker.runtime interface endpoint into the sandbox (+7.30 per AZ); turn it off to save that.
SANDBOX_TARGET_USD = 25.0
# What is not idle, by Line.when: (heading, cost-driver column, unit column), in the report's order.
RUN_TIME_SECTIONS = {
    "after a pipeline run": ("After the first pipeline run (the pipeline's endpoint and, with Model Monitor, its "
                             "monitoring schedule: created outside CloudFormation, billed until deleted):",
                             "run-time cost driver", "USD/month"),
    ASSUMED: ("The audit trail at an assumed volume (not idle: every API call of the account is an event):",
              "volume cost driver", "USD/month"),
    "per pipeline run": ("Per training pipeline run (run-time, not idle; tuning multiplies it by its max jobs):",
                         "run-time cost driver", "USD per run"),
    "per batch transform run": (f"Per batch transform run (billed only while a run's instances exist; assumed "
                                f"{BATCH_TRANSFORM_RUN_MINUTES} minutes each):", "run-time cost driver", "USD/run"),
    "per endpoint deployment": ("Each time the pipeline deploys its endpoint (one-off):", "deployment cost driver",
                                "USD per deployment"),
}


def report(assembly: Path) -> dict[str, list[Line]]:
    """Idle-cost lines per stack (a stack with none maps to an empty list)."""
    return {path.name.removesuffix(".template.json"): lines_for(path.name.removesuffix(".template.json"),
                                                               json.loads(path.read_text()))
            for path in sorted(Path(assembly).glob("*.template.json"))}


def render(stacks: dict[str, list[Line]], title: str) -> str:
    """A Markdown table: every line, a subtotal per stack and the total."""
    out = [f"{title} (us-east-1 list prices of {PRICES['as_of']}, {HOURS_PER_MONTH} h/month):", "",
           "| stack | idle cost driver | USD/month | changed by |", "|---|---|---:|---|"]
    by_stack: dict[str, float] = {}
    sections: dict[str, list[str]] = {when: [] for when in RUN_TIME_SECTIONS}
    for stack, lines in stacks.items():
        for line in lines:
            row = f"| {line.stack} | {line.item} | {line.monthly_usd:.2f} | {line.driver} |"
            (out if line.when == "idle" else sections[line.when]).append(row)
        by_stack[stack] = sum(line.monthly_usd for line in lines if line.when == "idle")
    for stack, subtotal in by_stack.items():
        out.append(f"| {stack} | **stack total** | **{subtotal:.2f}** | |")
    out.append(f"| all | **total** | **{sum(by_stack.values()):.2f}** | |")
    for when, rows in sections.items():
        if rows:
            heading, driver, unit = RUN_TIME_SECTIONS[when]
            out += ["", heading, "", f"| stack | {driver} | {unit} | changed by |", "|---|---|---:|---|", *rows]
    return "\n".join(out) + "\n"


def total(stacks: dict[str, list[Line]]) -> float:
    """The idle total (run-time lines such as the pipeline's endpoint are not idle)."""
    return sum(line.monthly_usd for lines in stacks.values() for line in lines if line.when == "idle")


def main(argv: list[str]) -> int:
    print(render(report(Path(argv[0] if argv else "cdk.out")), "Idle cost"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
