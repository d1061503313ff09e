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
    # Training (on demand; managed spot bills up to ~70% less): each training job of a run, and each
    # job of a tuning run, bills its instances for as long as it runs.
    "sagemaker_training_hour": {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461,
                                "ml.m5.4xlarge": 0.922, "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408,
                                "ml.c5.4xlarge": 0.816, "ml.r5.large": 0.151, "ml.r5.xlarge": 0.302,
                                "ml.r5.2xlarge": 0.605},
}
GLUE_WORKER_DPU = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}


@dataclasses.dataclass(frozen=True)
class Line:
    stack: str
    item: str
    monthly_usd: float
    driver: str  # the setting that changes it
    # "idle": billed from deploy on. "after a pipeline run": the pipeline's endpoint, created by the
    # first run outside CloudFormation and billed until deleted; not part of the idle total.
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
CONSUMER_SETTINGS = {"notebook": "sagemaker.notebook_enabled", "your": "network.extra_interface_endpoints"}


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
    alarms = len(list(_resources(template, "AWS::CloudWatch::Alarm")))
    if alarms:
        lines.append(Line(stack, f"{alarms} CloudWatch alarms", alarms * PRICES["cloudwatch_alarm_month"], "-"))
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
    for _, props in _resources(template, "AWS::StepFunctions::StateMachine"):
        lines += _pipeline_run(stack, props)
    for _, props in _resources(template, "AWS::SageMaker::NotebookInstance"):
        price = PRICES["sagemaker_notebook_hour"][props["InstanceType"]]
        lines.append(Line(stack, f"notebook {props['InstanceType']} (until stopped)", price * HOURS_PER_MONTH,
                          "sagemaker.notebook_enabled"))
    return lines


def _pipeline_endpoint_variants(props: dict) -> list[dict]:
    """The variants a state machine's CreateEndpointConfig step deploys ([] for other machines)."""
    definition = props.get("DefinitionString")
    parts = definition["Fn::Join"][1] if isinstance(definition, dict) else [definition or "{}"]
    # Tokens only ever stand inside JSON strings here: any placeholder keeps the document valid.
    document = json.loads("".join(p if isinstance(p, str) else "token" for p in parts))
    step = document.get("States", {}).get("CreateEndpointConfig", {})
    return step.get("Parameters", {}).get("ProductionVariants", [])


def _definition(props: dict) -> dict:
    definition = props.get("DefinitionString")
    parts = definition["Fn::Join"][1] if isinstance(definition, dict) else [definition or "{}"]
    return json.loads("".join(p if isinstance(p, str) else "token" for p in parts))


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


SANDBOX_TARGET_USD = 17.0


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
    later, runs = [], []
    for stack, lines in stacks.items():
        for line in lines:
            row = f"| {line.stack} | {line.item} | {line.monthly_usd:.2f} | {line.driver} |"
            {"idle": out, "per pipeline run": runs}.get(line.when, later).append(row)
        by_stack[stack] = sum(line.monthly_usd for line in lines if line.when == "idle")
    for stack, subtotal in by_stack.items():
        out.append(f"| {stack} | **stack total** | **{subtotal:.2f}** | |")
    out.append(f"| all | **total** | **{sum(by_stack.values()):.2f}** | |")
    if later:
        out += ["", "After the first pipeline run (the pipeline's endpoint, outside CloudFormation, until deleted):",
                "", "| stack | run-time cost driver | USD/month | changed by |", "|---|---|---:|---|", *later]
    if runs:
        out += ["", "Per training pipeline run (run-time, not idle; tuning multiplies it by its max jobs):",
                "", "| stack | run-time cost driver | USD per run | changed by |", "|---|---|---:|---|", *runs]
    return "\n".join(out) + "\n"


def total(stacks: dict[str, list[Line]]) -> float:
    """The idle total (run-time lines such as the pipeline's endpoint are not idle)."""
    return sum(line.monthly_usd for lines in stacks.values() for line in lines if line.when == "idle")


def main(argv: list[str]) -> int:
    print(render(report(Path(argv[0] if argv else "cdk.out")), "Idle cost"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
