"""Smoke test of a deployment: every step of the data path, each reported as soon as it ends.

Steps (a step is skipped when one it needs did not pass):
  credentials        STS GetCallerIdentity
  stacks             the five data-path stacks (not Audit) are deployed and complete; their outputs
  send events        sample readings into the stream, 10% invalid on purpose
  delivered to raw   a fresh file under the raw zone's sensor_readings/ day partition
  raw query          the saved query readings-per-day counts at least the valid readings just sent
  ETL job            a run of the Glue job raw -> curated (EtlJobName) ends SUCCEEDED
  curated Parquet    that run wrote Parquet under the curated zone's sensor_readings/ partitions
  curated query      the curated table holds exactly the valid readings just sent
  crawler            liveness only: a crawler run ends SUCCEEDED (crawlers exclude the dataset's
                     own tables, so this proves nothing about the data)
  training pipeline  (--train) an execution of the Step Functions pipeline ends SUCCEEDED and names the
                     model package it registered
  model deploy       (--train) that package is Approved (automatic in the sandbox; with manual approval
                     a SKIP says how to approve it) and the deploy EventBridge started for it SUCCEEDED
  invoke endpoint    (--invoke) the endpoint is InService (waits while Creating or Updating) and answers
  batch transform    (--transform) an execution of the batch transform state machine (the latest
                     Approved model of the registry over the configured curated prefix) ends
                     SUCCEEDED and wrote .out objects under the results zone's batch-predictions/<run>/
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
from collections.abc import Callable, Mapping
from typing import Any

from config.settings import Settings
from ops import approve, aws, send_events
from ops.cli import (
    NoAwsAccess,
    OpsError,
    Runtime,
    add_aws_options,
    add_deployment_options,
    deployment_settings,
    describe_deployment,
)
from patterns.dataset_schema import load_schema
from stacks.sensor_dataset import SCHEMA_FILE

NAME = "smoke"
EXAMPLES = """examples:
  python -m ops smoke                                          # the sandbox
  python -m ops smoke --config deployments/example.json --region eu-west-1
  python -m ops smoke --train --invoke --timeout 2400          # also the pipeline and the endpoint
  python -m ops smoke --transform --timeout 3600               # also a batch transform run"""

STACK_SUFFIXES = ("data-lake", "streaming", "catalog", "ml-network", "sagemaker")
SERVICES = ("sts", "cloudformation", "kinesis", "s3", "glue", "athena", "stepfunctions", "sagemaker",
            "sagemaker-runtime")
SAMPLE_ROW = "71.5,40.25,88"  # temperature_c, humidity_pct, battery_pct: the model's features
INVALID_RATIO = 0.1
QUERY_FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")
JOB_RUN_FINISHED = ("SUCCEEDED", "FAILED", "ERROR", "TIMEOUT", "STOPPED", "EXPIRED")
ENDPOINT_CHANGING = ("Creating", "Updating", "SystemUpdating", "RollingBack")
NOTE_EVERY_SECONDS = 60


class StepFailed(RuntimeError):
    pass


class StepSkipped(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class Result:
    step: str
    status: str  # PASS, FAIL or SKIP
    detail: str


def whole_second(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(microsecond=0)  # S3 LastModified has whole seconds


def partition(day: datetime.date) -> str:
    return f"year={day:%Y}/month={day:%m}/day={day:%d}/"


class Smoke:
    def __init__(self, clients: Mapping[str, Any], settings: Settings, runtime: Runtime | None = None, *,
                 timeout_seconds: int = 600, poll_seconds: int = 15, events: int = 50, train: bool = False,
                 invoke: bool = False, transform: bool = False,
                 report: Callable[[Result], None] = lambda result: None):
        self.clients, self.settings, self.runtime = clients, settings, runtime or Runtime()
        self.timeout, self.poll, self.events = timeout_seconds, poll_seconds, events
        self.train, self.invoke, self.report = train, invoke, report
        self.transform = transform
        self.dataset = load_schema(SCHEMA_FILE).dataset
        self.outputs: dict[str, str] = {}
        self.package: str | None = None  # the model package the training run registered
        self.step = ""

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise StepFailed(f"the deployed stacks have no output {key}: redeploy them (cdk deploy --all)")
        return self.outputs[key]

    # ------------------------------------------------------------------ steps

    def credentials(self) -> str:
        identity = self.clients["sts"].get_caller_identity()
        return f"account {identity['Account']} as {identity['Arn']}"

    def stacks(self) -> str:
        for suffix in STACK_SUFFIXES:
            name = f"{self.settings.name_prefix}-{suffix}"
            stack = aws.deployed_stack(self.clients["cloudformation"], name)
            if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
                raise StepFailed(f"stack {name} is {stack['StackStatus']}")
            self.outputs.update(aws.outputs(stack))
        return f"{len(STACK_SUFFIXES)} stacks complete"

    def send(self) -> str:
        self.sent_at = self.runtime.now()
        columns = [c.name for c in load_schema(SCHEMA_FILE).columns]
        pairs = list(send_events.readings(self.events, INVALID_RATIO, seed=11, now=self.sent_at))
        self.valid = [record for record, valid in pairs if valid]
        stream = self.output("StreamName")
        sent = send_events.send(self.clients["kinesis"], stream,
                                [send_events.entry(record, "json", columns) for record, _ in pairs],
                                sleep=self.runtime.sleep)
        return f"{sent} records to {stream} ({len(pairs) - len(self.valid)} invalid on purpose)"

    def delivered(self) -> str:
        bucket, since = self.output("RawBucketName"), whole_second(self.sent_at)
        # Firehose partitions by arrival time: a batch sent just before midnight lands on the next day.
        days = sorted({self.sent_at.date(), (self.sent_at + datetime.timedelta(minutes=15)).date()})

        def fresh() -> str | None:
            keys = [obj["Key"] for day in days for obj in self._list(bucket, f"{self.dataset}/{partition(day)}")
                    if obj["LastModified"] >= since]
            return min(keys) if keys else None

        key = self._wait(fresh, lambda: f"no new file under s3://{bucket}/{self.dataset}/{partition(days[0])} yet "
                                        f"(Firehose buffers up to {self.settings.streaming.buffer_interval_seconds} s)")
        self.arrival = tuple(part.split("=", 1)[1] for part in key.split("/")[1:4])  # (year, month, day)
        return f"s3://{bucket}/{key}"

    def raw_query(self) -> str:
        query = self._saved_query("readings-per-day")
        expected, day = max(len(self.valid), 1), "-".join(self.arrival)
        counted = [0]

        def enough() -> int | None:
            rows = self._athena(query["QueryString"], query["Database"])
            counted[0] = sum(int(r["readings"]) for r in rows if (r["year"], r["month"], r["day"]) == self.arrival)
            return counted[0] if counted[0] >= expected else None

        count = self._wait(enough, lambda: f"readings-per-day counts {counted[0]} readings on {day}, "
                                           f"expected at least {expected}")
        return f"readings-per-day counts {count} readings on {day}, the {len(self.valid)} valid ones just sent included"

    def etl(self) -> str:
        glue, job = self.clients["glue"], self.output("EtlJobName")
        run_id = glue.start_job_run(JobName=job)["JobRunId"]
        state = ["STARTING"]

        def finished() -> dict | None:
            run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
            state[0] = run["JobRunState"]
            return run if state[0] in JOB_RUN_FINISHED else None

        run = self._wait(finished, lambda: f"job {job} is {state[0]}")
        self.etl_started = run["StartedOn"]
        if run["JobRunState"] != "SUCCEEDED":
            raise StepFailed(f"job {job} run {run_id} {run['JobRunState']}: {run.get('ErrorMessage', 'no message')}")
        return f"job {job} run {run_id} SUCCEEDED"

    def curated_files(self) -> str:
        bucket, since = self.output("CuratedBucketName"), whole_second(self.etl_started)
        keys = [obj["Key"] for day in self._event_days()
                for obj in self._list(bucket, f"{self.dataset}/{partition(day)}")
                if obj["Key"].endswith(".parquet") and obj["LastModified"] >= since]
        where = f"s3://{bucket}/{self.dataset}/ ({', '.join(map(str, self._event_days()))})"
        if not keys:
            raise StepFailed(f"the job run wrote no Parquet under {where}")
        return f"{len(keys)} Parquet file(s) under {where}"

    def curated_query(self) -> str:
        database, table = self.output("CuratedDatabaseName"), self.dataset
        parameters = self.clients["glue"].get_table(DatabaseName=database, Name=table)["Table"].get("Parameters", {})
        repaired = ""
        # Partition projection needs no registered partitions; a table without it does.
        if parameters.get("projection.enabled") != "true":
            self._athena(f"MSCK REPAIR TABLE {database}.{table}", database)
            repaired = " (after MSCK REPAIR TABLE)"
        days = " OR ".join(f"(year = '{d:%Y}' AND month = '{d:%m}' AND day = '{d:%d}')" for d in self._event_days())
        rows = self._athena(f"SELECT count(*) AS readings FROM {database}.{table} "
                            f"WHERE event_id LIKE '{send_events.batch_id(self.sent_at)}-%' AND ({days})", database)
        count, expected = int(rows[0]["readings"]) if rows else 0, len(self.valid)
        if count != expected or count == 0:
            raise StepFailed(f"{database}.{table} holds {count} of the {expected} valid readings just sent{repaired}")
        return f"{database}.{table} holds all {count} valid readings just sent{repaired}"

    def crawl(self) -> str:
        name = self.outputs.get("CuratedCrawlerName") or self.outputs.get("RawCrawlerName")
        if name is None:
            raise StepSkipped("no crawler deployed (catalog.crawler_zones is empty)")
        glue = self.clients["glue"]
        try:
            glue.start_crawler(Name=name)
        except glue.exceptions.CrawlerRunningException:
            pass  # a scheduled crawl is running: its end proves the same

        def finished() -> dict | None:
            crawler = glue.get_crawler(Name=name)["Crawler"]
            return crawler.get("LastCrawl") if crawler["State"] == "READY" else None

        last = self._wait(finished, lambda: f"crawler {name} is running")
        if last["Status"] != "SUCCEEDED":
            raise StepFailed(f"crawler {name} {last['Status']}: {last.get('ErrorMessage', 'no message')}")
        return f"crawler {name} run SUCCEEDED (liveness only: it skips the {self.dataset} tables, so proves no data)"

    def training(self) -> str:
        sfn = self.clients["stepfunctions"]
        arn = sfn.start_execution(stateMachineArn=self.output("TrainingPipelineArn"))["executionArn"]
        execution = self._succeeded(arn, "pipeline")
        self.package = json.loads(execution.get("output") or "{}").get("package", {}).get("ModelPackageArn")
        if not self.package:
            raise StepFailed(f"pipeline execution {arn.rsplit(':', 1)[1]} succeeded but names no model package "
                             "(its output has no package.ModelPackageArn)")
        return f"pipeline execution {arn.rsplit(':', 1)[1]} succeeded: registered {self.package}"

    def deployment(self) -> str:
        """The deploy of the package the run registered: EventBridge starts it once it is Approved."""
        package = self.package
        status = [self.clients["sagemaker"].describe_model_package(ModelPackageName=package)["ModelApprovalStatus"]]
        if status[0] == "PendingManualApproval":
            raise StepSkipped(f"{package} awaits approval (sagemaker.registry.approval is manual): "
                              f"python -m ops approve {package} --wait")
        if status[0] == "Rejected":
            raise StepFailed(f"{package} was rejected: nothing is deployed")
        sfn, machine = self.clients["stepfunctions"], self.output("DeployStateMachineArn")

        def finished() -> dict | None:
            execution = approve.deploy_of(sfn, machine, package)
            status[0] = execution["status"] if execution else "not started"
            return execution if execution and execution["status"] != "RUNNING" else None

        execution = self._wait(finished, lambda: f"the deploy of {package} is {status[0]}")
        name = execution["executionArn"].rsplit(":", 1)[1]
        if execution["status"] != "SUCCEEDED":
            raise StepFailed(f"deploy {name} {execution['status']}: {execution.get('error', '')} "
                             f"{execution.get('cause', '')}".rstrip())
        return f"deploy execution {name} succeeded: {self.output('PipelineEndpointName')} serves {package}"

    def invocation(self) -> str:
        # After --train, the endpoint that run deployed; otherwise the hosted one, if the stack has it.
        endpoint = (self.output("PipelineEndpointName") if self.train
                    else self.outputs.get("HostedEndpointName") or self.output("PipelineEndpointName"))
        status = ["?"]

        def in_service() -> bool:
            try:
                described = self.clients["sagemaker"].describe_endpoint(EndpointName=endpoint)
            except self.clients["sagemaker"].exceptions.ClientError as error:
                if "Could not find endpoint" not in error.response["Error"]["Message"]:
                    raise
                raise StepFailed(f"endpoint {endpoint} does not exist: run the training pipeline (--train) "
                                 "or set sagemaker.model_artifact") from None
            status[0] = described["EndpointStatus"]
            if status[0] == "InService":
                return True
            if status[0] in ENDPOINT_CHANGING:
                return False
            raise StepFailed(f"endpoint {endpoint} is {status[0]}: {described.get('FailureReason', 'no reason given')}")

        self._wait(in_service, lambda: f"endpoint {endpoint} is {status[0]}")
        response = self.clients["sagemaker-runtime"].invoke_endpoint(EndpointName=endpoint, ContentType="text/csv",
                                                                     Body=SAMPLE_ROW.encode())
        return f"{endpoint} answered {response['Body'].read().decode()[:80]!r}"

    def batch_transform(self) -> str:
        sfn, started = self.clients["stepfunctions"], whole_second(self.runtime.now())
        # RunName labels the output folder, so the predictions of this run are easy to find.
        label = f"smoke-{started:%Y%m%dT%H%M%S}"
        arn = sfn.start_execution(stateMachineArn=self.output("BatchTransformArn"),
                                  input=json.dumps({"RunName": label}))["executionArn"]
        self._succeeded(arn, "batch transform")
        bucket, prefix = self.output("ResultsBucketName"), f"batch-predictions/{label}/"
        written = [obj["Key"] for obj in self._list(bucket, prefix) if obj["Key"].endswith(".out")]
        if not written:
            raise StepFailed(f"the run succeeded but wrote no .out object under s3://{bucket}/{prefix}")
        return f"{len(written)} prediction file(s) under s3://{bucket}/{prefix}"

    # ------------------------------------------------------------------ helpers

    def _list(self, bucket: str, prefix: str) -> list[dict]:
        pages = self.clients["s3"].get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]

    def _event_days(self) -> list[datetime.date]:
        """The days the ETL job partitions the valid readings by: their own UTC date."""
        return sorted({datetime.datetime.fromisoformat(r["event_time"]).date() for r in self.valid})

    def _saved_query(self, name: str) -> dict:
        athena, workgroup = self.clients["athena"], self.output("WorkGroupName")
        for query_id in athena.list_named_queries(WorkGroup=workgroup)["NamedQueryIds"]:
            query = athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]
            if query["Name"] == name:
                return query
        raise StepFailed(f"saved query {name} not found in workgroup {workgroup}")

    def _athena(self, sql: str, database: str) -> list[dict[str, str]]:
        """Run `sql` in the deployment's workgroup; the result rows as dicts (the header row gives the keys)."""
        athena = self.clients["athena"]
        execution_id = athena.start_query_execution(QueryString=sql, WorkGroup=self.output("WorkGroupName"),
                                                    QueryExecutionContext={"Database": database})["QueryExecutionId"]

        def done() -> dict | None:
            status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
            return status if status["State"] in QUERY_FINISHED else None

        status = self._wait(done, lambda: f"query {execution_id} is running")
        if status["State"] != "SUCCEEDED":
            raise StepFailed(f"query {execution_id} {status['State']}: {status.get('StateChangeReason', '')}")
        pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)
        rows = [row for page in pages for row in page["ResultSet"]["Rows"]]
        values = [[cell.get("VarCharValue") for cell in row["Data"]] for row in rows]
        return [dict(zip(values[0], row)) for row in values[1:]]

    def _succeeded(self, arn: str, what: str) -> dict:
        """Wait for the Step Functions execution `arn` to end; it must have succeeded."""
        sfn = self.clients["stepfunctions"]

        def finished() -> dict | None:
            execution = sfn.describe_execution(executionArn=arn)
            return execution if execution["status"] != "RUNNING" else None

        execution = self._wait(finished, lambda: f"{what} execution {arn.rsplit(':', 1)[1]} is RUNNING")
        if execution["status"] != "SUCCEEDED":
            raise StepFailed(f"{what} {execution['status']}: {execution.get('error', '')} "
                             f"{execution.get('cause', '')}".rstrip())
        return execution

    def _wait(self, check: Callable[[], Any], waiting_for: Callable[[], str]) -> Any:
        """Poll `check` until it returns something true; note progress; fail after the timeout."""
        clock = self.runtime.clock
        started = clock()
        noted, noted_at = None, started
        while True:
            value = check()
            if value:
                return value
            now, text = clock(), waiting_for()
            if now - started >= self.timeout:
                raise StepFailed(f"timed out after {self.timeout} s: {text}")
            if text != noted or now - noted_at >= NOTE_EVERY_SECONDS:
                self.runtime.note(f"      {self.step}: {text} ({int(now - started)} s)")
                noted, noted_at = text, now
            self.runtime.sleep(self.poll)

    # ------------------------------------------------------------------ runner

    def plan(self) -> list[tuple[str, Callable[[], str], tuple[str, ...]]]:
        steps = [
            ("credentials", self.credentials, ()),
            ("stacks", self.stacks, ("credentials",)),
            ("send events", self.send, ("stacks",)),
            ("delivered to raw", self.delivered, ("send events",)),
            ("raw query", self.raw_query, ("delivered to raw",)),
            ("ETL job", self.etl, ("delivered to raw",)),
            ("curated Parquet", self.curated_files, ("ETL job",)),
            ("curated query", self.curated_query, ("curated Parquet",)),
            ("crawler", self.crawl, ("stacks",)),
        ]
        if self.train:
            steps.append(("training pipeline", self.training, ("stacks",)))
            steps.append(("model deploy", self.deployment, ("training pipeline",)))
        if self.invoke:
            steps.append(("invoke endpoint", self.invocation, ("model deploy",) if self.train else ("stacks",)))
        if self.transform:
            steps.append(("batch transform", self.batch_transform, ("stacks",)))
        return steps

    def run(self) -> list[Result]:
        """Run every step in order, reporting each result as it ends. NoAwsAccess ends the run."""
        results: dict[str, Result] = {}
        for name, step, needs in self.plan():
            self.step = name
            blocked = [need for need in needs if results[need].status != "PASS"]
            if blocked:
                result = Result(name, "SKIP", f"needs {blocked[0]}")
            else:
                try:
                    result = Result(name, "PASS", step())
                except StepSkipped as skipped:
                    result = Result(name, "SKIP", str(skipped))
                except (StepFailed, OpsError) as error:
                    if isinstance(error, NoAwsAccess):
                        raise
                    result = Result(name, "FAIL", str(error))
                except aws.AWS_ERRORS as error:
                    failure = aws.failure(error)
                    if isinstance(failure, NoAwsAccess):
                        raise failure from None
                    result = Result(name, "FAIL", str(failure))
            results[name] = result
            self.report(result)
        return list(results.values())


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_deployment_options(p)
    add_aws_options(p)
    p.add_argument("--timeout", type=int, default=600, help="seconds to wait for each asynchronous step (default 600)")
    p.add_argument("--train", action="store_true", help="also run the training pipeline and wait for the deploy of the model it registers "
                        "(about 20-40 minutes)")
    p.add_argument("--invoke", action="store_true", help="also check and invoke the endpoint")
    p.add_argument("--transform", action="store_true",
                   help="also run the batch transform (needs an Approved model package; about 10-20 minutes)")


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = deployment_settings(args)
    session = aws.connect(args.region, args.aws_profile)
    runtime.note(f"smoke test of {describe_deployment(settings)}, {session.describe()}")
    clients = {name: session.client(name) for name in SERVICES}

    def report(result: Result) -> None:
        runtime.say(f"{result.status:<4}  {result.step:<18} {result.detail}")

    results = Smoke(clients, settings, runtime, timeout_seconds=args.timeout, train=args.train, invoke=args.invoke,
                    transform=args.transform, report=report).run()
    counts = {status: sum(r.status == status for r in results) for status in ("PASS", "FAIL", "SKIP")}
    runtime.say(f"smoke result: {counts['PASS']} steps passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0
