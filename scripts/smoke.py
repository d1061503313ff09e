"""Smoke test of a deployed sandbox: every step of the data path, reported pass/fail.

Steps: credentials -> stacks deployed -> send sample events -> Parquet delivered to the raw zone ->
crawler run -> saved Athena query -> (--train) training pipeline -> (--invoke) endpoint invocation.
A step that cannot run because an earlier one failed is reported as skipped.

Usage:
  python -m scripts.smoke                        # sandbox profile, default credentials and region
  python -m scripts.smoke --train --invoke --timeout 2400
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from config.profiles import PROFILES, load_settings
from config.settings import Settings
from scripts import send_events

STACK_SUFFIXES = ("data-lake", "streaming", "catalog", "ml-network", "sagemaker")
SERVICES = ("sts", "cloudformation", "kinesis", "s3", "glue", "athena", "stepfunctions", "sagemaker-runtime")
SAMPLE_ROW = "71.5,40.25,88"  # temperature_c, humidity_pct, battery_pct: the model's features


class StepFailed(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class Result:
    step: str
    status: str  # PASS, FAIL or SKIP
    detail: str


class Smoke:
    def __init__(self, clients: Mapping[str, Any], settings: Settings, *, timeout_seconds: int = 600,
                 poll_seconds: int = 15, events: int = 50, train: bool = False, invoke: bool = False,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc)):
        self.clients, self.settings = clients, settings
        self.timeout, self.poll, self.events = timeout_seconds, poll_seconds, events
        self.train, self.invoke = train, invoke
        self.sleep, self.clock, self.now = sleep, clock, now
        self.outputs: dict[str, str] = {}

    # ------------------------------------------------------------------ steps

    def credentials(self) -> str:
        identity = self.clients["sts"].get_caller_identity()
        return f"account {identity['Account']} as {identity['Arn']}"

    def stacks(self) -> str:
        for suffix in STACK_SUFFIXES:
            name = f"{self.settings.name_prefix}-{suffix}"
            try:
                stack = self.clients["cloudformation"].describe_stacks(StackName=name)["Stacks"][0]
            except self.clients["cloudformation"].exceptions.ClientError as error:
                raise StepFailed(f"stack {name} is not deployed ({error.response['Error']['Message']}); "
                                 "deploy with: node_modules/.bin/cdk deploy --all") from None
            if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
                raise StepFailed(f"stack {name} is {stack['StackStatus']}")
            self.outputs.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
        return f"{len(STACK_SUFFIXES)} stacks complete"

    def send(self) -> str:
        self.sent_at = self.now()
        entries = list(send_events.events(self.events, "json", 0.1, seed=11, now=self.sent_at))
        sent = send_events.send(self.clients["kinesis"], self.outputs["StreamName"], entries)
        return f"{sent} records to {self.outputs['StreamName']} (10% invalid on purpose)"

    def delivered(self) -> str:
        bucket = self.outputs["RawBucketName"]
        day = self.sent_at
        prefix = f"sensor_readings/year={day:%Y}/month={day:%m}/day={day:%d}/"

        def newest():
            listing = self.clients["s3"].list_objects_v2(Bucket=bucket, Prefix=prefix)
            fresh = [o["Key"] for o in listing.get("Contents", []) if o["LastModified"] >= self.sent_at]
            return fresh[-1] if fresh else None

        key = self._wait(newest, f"no Parquet file under s3://{bucket}/{prefix} yet (Firehose buffers up to "
                                 f"{self.settings.streaming.buffer_interval_seconds} s)")
        return f"s3://{bucket}/{key}"

    def crawl(self) -> str:
        name = self.outputs.get("CuratedCrawlerName") or self.outputs["RawCrawlerName"]
        glue = self.clients["glue"]
        glue.start_crawler(Name=name)

        def finished():
            crawler = glue.get_crawler(Name=name)["Crawler"]
            return crawler.get("LastCrawl") if crawler["State"] == "READY" else None

        last = self._wait(finished, f"crawler {name} still running")
        if last["Status"] != "SUCCEEDED":
            raise StepFailed(f"crawler {name} {last['Status']}: {last.get('ErrorMessage', 'no message')}")
        return f"crawler {name} succeeded"

    def query(self) -> str:
        athena, workgroup = self.clients["athena"], self.outputs["WorkGroupName"]
        ids = athena.list_named_queries(WorkGroup=workgroup)["NamedQueryIds"]
        queries = athena.batch_get_named_query(NamedQueryIds=ids)["NamedQueries"] if ids else []
        (query,) = [q for q in queries if q["Name"] == "readings-per-day"] or [None]
        if query is None:
            raise StepFailed(f"saved query readings-per-day not found in workgroup {workgroup}")
        execution = athena.start_query_execution(QueryString=query["QueryString"], WorkGroup=workgroup,
                                                 QueryExecutionContext={"Database": query["Database"]})
        execution_id = execution["QueryExecutionId"]

        def done():
            status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
            return status if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

        status = self._wait(done, f"query {execution_id} still running")
        if status["State"] != "SUCCEEDED":
            raise StepFailed(f"query {execution_id} {status['State']}: {status.get('StateChangeReason', '')}")
        rows = athena.get_query_results(QueryExecutionId=execution_id)["ResultSet"]["Rows"]
        return f"readings-per-day returned {len(rows) - 1} day(s)"

    def training(self) -> str:
        sfn = self.clients["stepfunctions"]
        arn = sfn.start_execution(stateMachineArn=self.outputs["TrainingPipelineArn"])["executionArn"]

        def finished():
            execution = sfn.describe_execution(executionArn=arn)
            return execution if execution["status"] != "RUNNING" else None

        execution = self._wait(finished, f"pipeline execution {arn} still running")
        if execution["status"] != "SUCCEEDED":
            raise StepFailed(f"pipeline {execution['status']}: {execution.get('cause', execution.get('error', ''))}")
        return f"pipeline execution {arn.rsplit(':', 1)[1]} succeeded"

    def invocation(self) -> str:
        endpoint = self.outputs.get("HostedEndpointName") or self.outputs["PipelineEndpointName"]
        response = self.clients["sagemaker-runtime"].invoke_endpoint(EndpointName=endpoint, ContentType="text/csv",
                                                                     Body=SAMPLE_ROW.encode())
        return f"{endpoint} answered {response['Body'].read().decode()[:80]!r}"

    # ------------------------------------------------------------------ runner

    def _wait(self, check: Callable[[], Any], waiting_for: str) -> Any:
        deadline = self.clock() + self.timeout
        while True:
            value = check()
            if value:
                return value
            if self.clock() >= deadline:
                raise StepFailed(f"timed out after {self.timeout} s: {waiting_for}")
            self.sleep(self.poll)

    def run(self) -> list[Result]:
        steps = [("credentials", self.credentials), ("stacks", self.stacks), ("send events", self.send),
                 ("delivered to raw", self.delivered), ("crawler", self.crawl), ("saved query", self.query)]
        if self.train:
            steps.append(("training pipeline", self.training))
        if self.invoke:
            steps.append(("invoke endpoint", self.invocation))
        results, blocked = [], None
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        for name, step in steps:
            if blocked:
                results.append(Result(name, "SKIP", f"needs {blocked}"))
                continue
            try:
                results.append(Result(name, "PASS", step()))
            except NoCredentialsError:
                results.append(Result(name, "FAIL", "no AWS credentials: configure a profile or export AWS_PROFILE"))
            except (StepFailed, ClientError, BotoCoreError, KeyError) as error:
                detail = f"missing stack output {error}" if isinstance(error, KeyError) else str(error)
                results.append(Result(name, "FAIL", detail))
            if results[-1].status == "FAIL" and name in ("credentials", "stacks", "send events"):
                blocked = name
        return results


def main(argv: list[str] | None = None, *, clients: Mapping[str, Any] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.smoke", description=__doc__.splitlines()[0])
    p.add_argument("--profile", choices=sorted(PROFILES), default="sandbox")
    p.add_argument("--region", help="AWS region (default: your AWS configuration)")
    p.add_argument("--timeout", type=int, default=600, help="seconds to wait for each asynchronous step")
    p.add_argument("--train", action="store_true", help="also run the training pipeline (about 10-30 minutes)")
    p.add_argument("--invoke", action="store_true", help="also invoke the endpoint")
    args = p.parse_args(argv)
    if clients is None:
        import boto3

        session = boto3.session.Session(region_name=args.region)
        clients = {name: session.client(name) for name in SERVICES}
    results = Smoke(clients, load_settings(args.profile), timeout_seconds=args.timeout, train=args.train,
                    invoke=args.invoke).run()
    for result in results:
        print(f"{result.status:<4}  {result.step:<18} {result.detail}")
    counts = {status: sum(r.status == status for r in results) for status in ("PASS", "FAIL", "SKIP")}
    print(f"smoke result: {counts['PASS']} steps passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    failed = counts["FAIL"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
