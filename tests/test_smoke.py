"""`python -m ops smoke` against a sandbox emulated in-process.

moto holds the deployed state: stacks and their outputs, the Kinesis stream, the zone buckets, the
Glue catalog, job and crawler, the Athena workgroup and saved queries, the state machine and the
endpoint. What moto cannot run is played by the project's real code, on each poll of the command:
Firehose is the real transform handler on the records in the moto stream; the Glue job is the ETL
script's CURATE_SQL on DuckDB; Athena runs each query's text on DuckDB over the same rows. moto's
own gaps are patched here and named: crawls that never end (and end COMPLETED, a status Glue does
not have), job runs without ErrorMessage, training executions and endpoints that never change.
"""

from __future__ import annotations

import base64
import datetime
import io
import json

import duckdb
import pytest
from moto.athena.models import AthenaBackend, QueryResults
from moto.core import DEFAULT_ACCOUNT_ID
from moto.glue.models import FakeCrawler, FakeJobRun, glue_backends
from moto.moto_api import state_manager
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime.models import sagemakerruntime_backends
from moto.stepfunctions.models import stepfunctions_backends

from config.profiles import load_settings
from ops import smoke
from ops.__main__ import main
from ops.cli import Runtime
from stacks.sensor_dataset import SAVED_QUERIES
from tests.firehose_events import firehose_event
from tests.lambda_code import load, load_etl
from tests.moto_aws import REGION, deploy_stack, emulated_aws

SENT_AT = datetime.datetime(2026, 11, 21, 9, 30, tzinfo=datetime.timezone.utc)
RAW_DB, CURATED_DB, TABLE = "mlspec_sbx_raw", "mlspec_sbx_curated", "sensor_readings"
RAW_BUCKET, CURATED_BUCKET = "mlspec-sbx-raw-123456789012-eu-west-1", "mlspec-sbx-curated-123456789012-eu-west-1"
STREAM, JOB, CRAWLER = "mlspec-sbx-sensor-readings", "mlspec-sbx-raw-to-curated", "mlspec-sbx-curated"
ENDPOINT, WORKGROUP = "mlspec-sbx-pipeline-endpoint", "mlspec-sbx-analytics"
RESULTS_BUCKET, BATCH = "mlspec-sbx-results-123456789012-eu-west-1", "mlspec-sbx-batch-transform"
GROUP = "mlspec-sbx-models"
PROJECTION = {"classification": "parquet", "projection.enabled": "true", "projection.year.type": "integer",
              "projection.year.range": "2024,2099", "projection.month.type": "integer",
              "projection.month.range": "1,12", "projection.month.digits": "2", "projection.day.type": "integer",
              "projection.day.range": "1,31", "projection.day.digits": "2"}
COLUMNS = ("event_id VARCHAR, event_time TIMESTAMPTZ, device_id VARCHAR, temperature_c DOUBLE, humidity_pct DOUBLE, "
           "battery_pct INTEGER, status VARCHAR, year VARCHAR, month VARCHAR, day VARCHAR")
HAPPY = ["credentials", "stacks", "send events", "delivered to raw", "raw query", "ETL job", "curated Parquet",
         "curated query", "crawler"]


@pytest.fixture
def aws(monkeypatch, tmp_path):
    yield from emulated_aws(monkeypatch, tmp_path)


def backend(backends):
    return backends[DEFAULT_ACCOUNT_ID][REGION]


class Sandbox:
    """The deployed sandbox (moto) and its moving parts (played on every poll of the command)."""

    def __init__(self, session, monkeypatch, *, curated_parameters=PROJECTION, outputs=None):
        self.session, self.seconds, self.queries, self.delivered = session, 0.0, [], 0
        self._clients: dict[str, object] = {}
        self.job_error = self.crawl_result = None
        self.athena_sees_raw = self.job_writes = True
        self.endpoint_states: list[tuple[str, str | None]] = []
        self.execution_result = ("SUCCEEDED", None, None)
        self.transform_writes = True
        self.deploy_result = ("SUCCEEDED", None, None)
        self.approval = "automatic"  # sagemaker.registry.approval: automatic approves the run's package
        self._deploy(curated_parameters, outputs)
        self.engine = duckdb.connect()
        self.engine.execute("SET TimeZone = 'UTC'")
        for database in (RAW_DB, CURATED_DB):
            self.engine.execute(f"CREATE SCHEMA {database}")
            self.engine.execute(f"CREATE TABLE {database}.{TABLE} ({COLUMNS})")
        self._patch_moto(monkeypatch)

    # ------------------------------------------------------------ deployed state in moto

    def client(self, service: str):
        """One client per service (creating a boto3 client costs ~30 ms)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def _deploy(self, curated_parameters, outputs) -> None:
        client = self.client
        client("kinesis").create_stream(StreamName=STREAM, ShardCount=1)
        self.shard = client("kinesis").get_shard_iterator(
            StreamName=STREAM, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for bucket in (RAW_BUCKET, CURATED_BUCKET, RESULTS_BUCKET):
            client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        glue = client("glue")
        for database in (RAW_DB, CURATED_DB):
            glue.create_database(DatabaseInput={"Name": database})
        glue.create_table(DatabaseName=CURATED_DB, TableInput={
            "Name": TABLE, "Parameters": curated_parameters, "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": key, "Type": "string"} for key in ("year", "month", "day")]})
        glue.create_job(Name=JOB, Role="arn:aws:iam::123456789012:role/glue",
                        Command={"Name": "glueetl", "ScriptLocation": "s3://assets/raw_to_curated.py"})
        glue.create_crawler(Name=CRAWLER, Role="arn:aws:iam::123456789012:role/glue", DatabaseName=CURATED_DB,
                            Targets={"S3Targets": [{"Path": f"s3://{CURATED_BUCKET}/"}]})
        athena = client("athena")
        athena.create_work_group(Name=WORKGROUP)
        for query in SAVED_QUERIES:
            athena.create_named_query(Name=query.name, Database=RAW_DB, WorkGroup=WORKGROUP,
                                      QueryString=query.sql(RAW_DB, TABLE))
        machine = client("stepfunctions").create_state_machine(
            name="mlspec-sbx-xgboost", roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "Train", "States": {"Train": {"Type": "Pass", "End": True}}}))
        batch = client("stepfunctions").create_state_machine(
            name=BATCH, roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "Transform", "States": {"Transform": {"Type": "Pass", "End": True}}}))
        self.deploy_machine = client("stepfunctions").create_state_machine(
            name="mlspec-sbx-deploy", roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "Deploy", "States": {"Deploy": {"Type": "Pass", "End": True}}}))
        sagemaker = client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        sagemaker.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/exec",
                               PrimaryContainer={"Image": "xgboost"})
        sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
            "VariantName": "primary", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
        sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c")
        stacks = outputs or {
            "data-lake": {"RawBucketName": RAW_BUCKET, "CuratedBucketName": CURATED_BUCKET,
                          "ResultsBucketName": RESULTS_BUCKET},
            "streaming": {"StreamName": STREAM},
            "catalog": {"WorkGroupName": WORKGROUP, "CuratedDatabaseName": CURATED_DB, "EtlJobName": JOB,
                        "CuratedCrawlerName": CRAWLER},
            "ml-network": {"SubnetIds": "subnet-0a"},
            "sagemaker": {"TrainingPipelineArn": machine["stateMachineArn"], "PipelineEndpointName": ENDPOINT,
                          "BatchTransformArn": batch["stateMachineArn"],
                          "DeployStateMachineArn": self.deploy_machine["stateMachineArn"]},
        }
        for suffix, values in stacks.items():
            deploy_stack(self.session, f"mlspec-sbx-{suffix}", values, client=client("cloudformation"))

    def _patch_moto(self, monkeypatch) -> None:
        world = self

        def query_results(athena_backend, execution_id):
            return world.athena(athena_backend.executions[execution_id].query)

        monkeypatch.setattr(AthenaBackend, "get_query_results", query_results)
        # Glue reports a crawl's end as SUCCEEDED/FAILED/CANCELLED; moto only knows COMPLETED.
        monkeypatch.setattr(FakeCrawler, "status", property(
            lambda crawler: "RUNNING" if crawler.crawls and crawler.crawls[-1].status == "RUNNING" else "READY"))
        as_dict = FakeJobRun.as_dict
        monkeypatch.setattr(FakeJobRun, "as_dict", lambda run: {
            **as_dict(run), **({"ErrorMessage": run.error_message} if getattr(run, "error_message", None) else {})})
        # A job run is STARTING, then RUNNING, then SUCCEEDED, one state per GetJobRun.
        state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 1})  # unset by build

    # ------------------------------------------------------------ what moto cannot run

    def sleep(self, seconds: float) -> None:
        """Time passes: Firehose delivers, the job runs, crawls and executions end, the endpoint changes."""
        self.seconds += seconds
        self.firehose()
        self.glue_job()
        for crawler in backend(glue_backends).crawlers.values():
            if crawler.crawls and crawler.crawls[-1].status == "RUNNING":
                crawler.crawls[-1].status = self.crawl_result or "SUCCEEDED"
        for machine in backend(stepfunctions_backends).state_machines:
            for execution in machine.executions:
                if execution.status != "RUNNING":
                    continue
                if machine.name == "mlspec-sbx-deploy":
                    execution.status, execution.error, execution.cause = self.deploy_result
                    continue
                execution.status, execution.error, execution.cause = self.execution_result
                if machine.name == BATCH and execution.status == "SUCCEEDED" and self.transform_writes:
                    # What SageMaker writes: <output path><input key relative to the prefix>.out
                    label = json.loads(execution.execution_input)["RunName"]
                    self.client("s3").put_object(
                        Bucket=RESULTS_BUCKET, Body=b"1,0.91,0.07,0.02\n",
                        Key=f"batch-predictions/{label}/{BATCH}-0f1e/validation/part-0000.csv.out")
                elif execution.status == "SUCCEEDED":
                    self.register(execution)
        if self.endpoint_states:
            endpoint = backend(sagemaker_backends).endpoints[ENDPOINT]
            endpoint.endpoint_status, endpoint.failure_reason = self.endpoint_states.pop(0)

    def register(self, execution) -> None:
        """What a training run does at its end: register the model, approve it when approval is
        automatic; EventBridge then starts the deploy with the approval event."""
        sagemaker = self.client("sagemaker")
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=GROUP, ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://m/model.tar.gz"}],
                                    "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
        execution.output = json.dumps({"run": {"name": "mlspec-sbx-xgboost-1"}, "package": {"ModelPackageArn": arn}})
        if self.approval == "automatic":
            sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
            self.client("stepfunctions").start_execution(
                stateMachineArn=self.deploy_machine["stateMachineArn"],
                input=json.dumps({"detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
                                  "detail": {"ModelPackageGroupName": GROUP, "ModelPackageArn": arn,
                                             "ModelApprovalStatus": "Approved"}}))

    def firehose(self) -> None:
        kinesis = self.client("kinesis")
        page = kinesis.get_records(ShardIterator=self.shard)
        self.shard = page["NextShardIterator"]
        if not page["Records"]:
            return
        results = load("event_transform").handler(firehose_event([r["Data"] for r in page["Records"]]), None)
        rows = [json.loads(base64.b64decode(r["data"])) for r in results["records"] if r["result"] == "Ok"]
        self.delivered += len(rows)  # readings the real transform accepted
        arrival = SENT_AT + datetime.timedelta(seconds=self.seconds)
        partition = f"year={arrival:%Y}/month={arrival:%m}/day={arrival:%d}"
        self.client("s3").put_object(
            Bucket=RAW_BUCKET, Key=f"{TABLE}/{partition}/{STREAM}-1-{arrival:%Y-%m-%d-%H-%M-%S}-f00d.parquet",
            Body=b"PAR1")
        if self.athena_sees_raw:
            self.engine.executemany(
                f"INSERT INTO {RAW_DB}.{TABLE} VALUES (?, to_timestamp(? / 1000.0), ?, ?, ?, ?, ?, ?, ?, ?)",
                [[r["event_id"], r["event_time"], r["device_id"], r["temperature_c"], r["humidity_pct"],
                  r["battery_pct"], r["status"], f"{arrival:%Y}", f"{arrival:%m}", f"{arrival:%d}"] for r in rows])

    def glue_job(self) -> None:
        for run in backend(glue_backends).jobs[JOB].job_runs:
            if getattr(run, "played", False):
                continue
            run.played = True
            if self.job_error:
                run.status, run.error_message = "FAILED", self.job_error
                continue
            etl = load_etl()
            self.engine.execute(f"CREATE OR REPLACE VIEW {etl.RAW_VIEW} AS SELECT * FROM {RAW_DB}.{TABLE}")
            rows = self.engine.execute(etl.CURATE_SQL).fetchall() if self.job_writes else []
            if rows:
                self.engine.executemany(f"INSERT INTO {CURATED_DB}.{TABLE} VALUES ({', '.join(['?'] * 10)})", rows)
            for year, month, day in sorted({row[-3:] for row in rows}):
                self.client("s3").put_object(
                    Bucket=CURATED_BUCKET, Key=f"{TABLE}/year={year}/month={month}/day={day}/"
                                               "run-1-part-block-0-r-00000-snappy.parquet", Body=b"PAR1")

    def athena(self, sql: str) -> QueryResults:
        self.queries.append(sql)
        if sql.startswith("MSCK REPAIR TABLE"):
            return QueryResults(rows=[], column_info=[])
        cursor = self.engine.execute(sql)
        names = [d[0] for d in cursor.description]
        rows = [names, *[["" if v is None else str(v) for v in row] for row in cursor.fetchall()]]
        return QueryResults(rows=[{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
                            column_info=[{"Name": n, "Type": "varchar"} for n in names])

    def valid_readings_in_curated(self) -> int:
        return self.engine.execute(f"SELECT count(*) FROM {CURATED_DB}.{TABLE}").fetchone()[0]


@pytest.fixture
def build(aws, monkeypatch):
    """Build a Sandbox with options; undoes moto's global state-transition setting afterwards."""
    yield lambda **options: Sandbox(aws, monkeypatch, **options)
    state_manager.unset_transition("glue::job_run")


@pytest.fixture
def sandbox(build):
    return build()


def run(world: Sandbox, **options) -> dict[str, smoke.Result]:
    clients = {name: world.session.client(name) for name in smoke.SERVICES}
    runtime = Runtime(sleep=world.sleep, clock=lambda: world.seconds, now=lambda: SENT_AT, tty=False)
    results = smoke.Smoke(clients, load_settings("sandbox"), runtime, timeout_seconds=300, poll_seconds=15,
                          **options).run()
    return {r.step: r for r in results}


def statuses(results: dict[str, smoke.Result]) -> dict[str, str]:
    return {step: r.status for step, r in results.items()}


# ---------------------------------------------------------------- the whole path


def test_every_step_passes_in_order_against_a_healthy_sandbox(sandbox):
    results = run(sandbox)
    assert list(results) == HAPPY and {r.status for r in results.values()} == {"PASS"}
    valid = sandbox.delivered  # what the real transform accepted from the stream
    assert 40 <= valid < 50 and sandbox.valid_readings_in_curated() == valid
    assert results["send events"].detail == f"50 records to {STREAM} ({50 - valid} invalid on purpose)"
    assert results["delivered to raw"].detail.startswith(f"s3://{RAW_BUCKET}/{TABLE}/year=2026/month=11/day=21/")
    assert results["raw query"].detail == (
        f"readings-per-day counts {valid} readings on 2026-11-21, the {valid} valid ones just sent included")
    assert results["ETL job"].detail.startswith(f"job {JOB} run jr_") and results["ETL job"].detail.endswith(
        " SUCCEEDED")
    assert results["curated Parquet"].detail == f"1 Parquet file(s) under s3://{CURATED_BUCKET}/{TABLE}/ (2026-11-21)"
    assert results["curated query"].detail == f"{CURATED_DB}.{TABLE} holds all {valid} valid readings just sent"
    assert "liveness only" in results["crawler"].detail
    # The raw table through the saved query, then the curated table by this batch's event ids; the
    # curated table uses partition projection, so no MSCK REPAIR TABLE.
    saved, curated = sandbox.queries
    assert saved == next(q for q in SAVED_QUERIES if q.name == "readings-per-day").sql(RAW_DB, TABLE)
    assert curated == (f"SELECT count(*) AS readings FROM {CURATED_DB}.{TABLE} WHERE event_id LIKE "
                       f"'evt-{int(SENT_AT.timestamp())}-%' AND ((year = '2026' AND month = '11' AND day = '21'))")


def test_the_command_prints_each_step_as_it_ends_and_its_waits(sandbox, capsys):
    seen_at_first_wait = []
    played = sandbox.sleep

    def sleep(seconds):
        if not seen_at_first_wait:
            seen_at_first_wait.append(capsys.readouterr())  # what the operator sees while it waits
        played(seconds)

    runtime = Runtime(sleep=sleep, clock=lambda: sandbox.seconds, now=lambda: SENT_AT, tty=False)
    assert main(["smoke", "--region", REGION], runtime=runtime) == 0
    (early,) = seen_at_first_wait
    assert [line[:25] for line in early.out.splitlines()] == [
        "PASS  credentials        ", "PASS  stacks             ", "PASS  send events        "]
    assert early.err.splitlines() == [
        f"smoke test of deployment mlspec-sbx (profile sandbox), region {REGION} (from --region)",
        f"      delivered to raw: no new file under s3://{RAW_BUCKET}/{TABLE}/year=2026/month=11/day=21/ yet "
        "(Firehose buffers up to 60 s) (0 s)"]
    out, err = capsys.readouterr()
    *steps, summary = out.splitlines()
    assert [line[:25] for line in steps] == [f"PASS  {step:<18} " for step in HAPPY[3:]]
    assert summary == "smoke result: 9 steps passed, 0 failed, 0 skipped"
    assert f"      ETL job: job {JOB} is RUNNING (0 s)" in err.splitlines()


# ---------------------------------------------------------------- failures


def test_a_missing_stack_is_named_and_the_rest_is_skipped(aws, build):
    world = build()
    aws.client("cloudformation").delete_stack(StackName="mlspec-sbx-catalog")
    results = run(world)
    assert results["stacks"].detail == (f"stack mlspec-sbx-catalog is not deployed in {REGION}: deploy it "
                                        "(README, Deploy guide) or check --region and --profile/--config")
    assert statuses(results) == {"credentials": "PASS", "stacks": "FAIL", **{s: "SKIP" for s in HAPPY[2:]}}


def test_a_failed_etl_run_fails_with_its_error_message(sandbox):
    sandbox.job_error = "AnalysisException: Path does not exist: s3://mlspec-sbx-raw-123456789012-eu-west-1/x"
    results = run(sandbox)
    assert statuses(results) == {**{s: "PASS" for s in HAPPY}, "ETL job": "FAIL", "curated Parquet": "SKIP",
                                 "curated query": "SKIP"}
    assert results["ETL job"].detail.endswith(f" FAILED: {sandbox.job_error}")
    assert results["curated query"].detail == "needs curated Parquet"


def test_a_job_run_that_writes_nothing_fails(sandbox):
    sandbox.job_writes = False  # the job "succeeds" reading nothing: the bug this step exists for
    results = run(sandbox)
    assert results["ETL job"].status == "PASS" and results["curated Parquet"].status == "FAIL"
    assert results["curated Parquet"].detail == (
        f"the job run wrote no Parquet under s3://{CURATED_BUCKET}/{TABLE}/ (2026-11-21)")


def test_a_curated_table_that_sees_nothing_fails(sandbox, monkeypatch):
    played = sandbox.glue_job

    def job_with_files_outside_the_table():
        played()
        sandbox.engine.execute(f"DELETE FROM {CURATED_DB}.{TABLE}")

    monkeypatch.setattr(sandbox, "glue_job", job_with_files_outside_the_table)
    results = run(sandbox)
    assert results["curated Parquet"].status == "PASS" and results["curated query"].status == "FAIL"
    assert results["curated query"].detail == (
        f"{CURATED_DB}.{TABLE} holds 0 of the {sandbox.delivered} valid readings just sent")


def test_zero_rows_in_the_raw_table_fail_the_raw_query(sandbox):
    sandbox.athena_sees_raw = False  # files delivered, but the table shows none of them
    results = run(sandbox)
    assert results["delivered to raw"].status == "PASS" and results["raw query"].status == "FAIL"
    assert results["raw query"].detail == (
        f"timed out after 300 s: readings-per-day counts 0 readings on 2026-11-21, expected at least "
        f"{sandbox.delivered}")
    assert len(sandbox.queries) > 10  # the query was re-run while waiting for the delivery to show


def test_a_table_without_projection_gets_its_partitions_registered_first(build):
    world = build(curated_parameters={"classification": "parquet"})
    results = run(world)
    assert results["curated query"].status == "PASS"
    assert results["curated query"].detail.endswith("(after MSCK REPAIR TABLE)")
    assert world.queries[1] == f"MSCK REPAIR TABLE {CURATED_DB}.{TABLE}"
    assert world.queries[2].startswith("SELECT count(*) AS readings FROM ")


def test_a_delivery_that_never_comes_times_out(sandbox, monkeypatch):
    monkeypatch.setattr(sandbox, "firehose", lambda: None)
    results = run(sandbox)
    assert results["delivered to raw"].detail == (
        f"timed out after 300 s: no new file under s3://{RAW_BUCKET}/{TABLE}/year=2026/month=11/day=21/ yet "
        "(Firehose buffers up to 60 s)")
    assert statuses(results) == {**{s: "SKIP" for s in HAPPY[4:8]}, "credentials": "PASS", "stacks": "PASS",
                                 "send events": "PASS", "delivered to raw": "FAIL", "crawler": "PASS"}


def test_the_crawler_is_a_liveness_check_only(sandbox):
    sandbox.crawl_result = "FAILED"
    results = run(sandbox)
    assert results["crawler"].status == "FAIL" and results["crawler"].detail.startswith(f"crawler {CRAWLER} FAILED")
    assert results["curated query"].status == "PASS"  # the data proof does not depend on it


def test_no_crawler_deployed_is_a_skip(build):
    world = build(outputs={
        "data-lake": {"RawBucketName": RAW_BUCKET, "CuratedBucketName": CURATED_BUCKET},
        "streaming": {"StreamName": STREAM},
        "catalog": {"WorkGroupName": WORKGROUP, "CuratedDatabaseName": CURATED_DB, "EtlJobName": JOB},
        "ml-network": {}, "sagemaker": {}})
    results = run(world)
    assert (results["crawler"].status, results["crawler"].detail) == (
        "SKIP", "no crawler deployed (catalog.crawler_zones is empty)")
    assert results["curated query"].status == "PASS"


# ---------------------------------------------------------------- training and endpoint


def test_training_then_an_endpoint_that_becomes_in_service(sandbox, capsys):
    endpoint = backend(sagemaker_backends).endpoints[ENDPOINT]
    endpoint.endpoint_status = "Creating"
    sandbox.endpoint_states = [("Creating", None)] * 12 + [("InService", None)]
    backend(sagemakerruntime_backends).results_queue.append(("[0.91, 0.07, 0.02]", "application/json", "primary", ""))
    results = run(sandbox, train=True, invoke=True)
    assert list(results) == [*HAPPY, "training pipeline", "model deploy", "invoke endpoint"]
    assert {r.status for r in results.values()} == {"PASS"}
    assert results["invoke endpoint"].detail == f"{ENDPOINT} answered '[0.91, 0.07, 0.02]'"
    (package,) = [p["ModelPackageArn"] for p in sandbox.client("sagemaker").list_model_packages(
        ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]]
    assert results["training pipeline"].detail.startswith("pipeline execution ")
    assert results["training pipeline"].detail.endswith(f"succeeded: registered {package}")
    assert results["model deploy"].detail.endswith(f"succeeded: {ENDPOINT} serves {package}")
    assert f"      invoke endpoint: endpoint {ENDPOINT} is Creating (0 s)" in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("status", ["Failed", "OutOfService"])
def test_an_endpoint_that_is_not_in_service_is_not_invoked(sandbox, status):
    endpoint = backend(sagemaker_backends).endpoints[ENDPOINT]
    endpoint.endpoint_status, endpoint.failure_reason = status, "The primary container did not pass the ping check"
    results = run(sandbox, invoke=True)
    assert results["invoke endpoint"].detail == (
        f"endpoint {ENDPOINT} is {status}: The primary container did not pass the ping check")
    assert backend(sagemakerruntime_backends).results == {}  # never invoked


def test_an_endpoint_still_updating_at_the_timeout_fails(sandbox):
    backend(sagemaker_backends).endpoints[ENDPOINT].endpoint_status = "Updating"
    results = run(sandbox, invoke=True)
    assert results["invoke endpoint"].detail == f"timed out after 300 s: endpoint {ENDPOINT} is Updating"
    assert backend(sagemakerruntime_backends).results == {}


def test_a_missing_endpoint_says_how_to_get_one(sandbox):
    aws_sagemaker = sandbox.session.client("sagemaker")
    aws_sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    results = run(sandbox, invoke=True)
    assert results["invoke endpoint"].detail == (
        f"endpoint {ENDPOINT} does not exist: run the training pipeline (--train) or set sagemaker.model_artifact")


def test_a_failed_pipeline_names_its_error_and_skips_the_invocation(sandbox):
    sandbox.execution_result = ("FAILED", "SageMaker.ResourceLimitExceeded", "The account-level service limit "
                                "'ml.m5.large for spot training job usage' is 0 Instances")
    results = run(sandbox, train=True, invoke=True)
    assert results["training pipeline"].detail == (
        "pipeline FAILED: SageMaker.ResourceLimitExceeded The account-level service limit 'ml.m5.large for spot "
        "training job usage' is 0 Instances")
    assert (results["model deploy"].status, results["model deploy"].detail) == ("SKIP", "needs training pipeline")
    assert (results["invoke endpoint"].status, results["invoke endpoint"].detail) == ("SKIP", "needs model deploy")


def test_a_package_awaiting_manual_approval_says_how_to_approve_it_and_invokes_nothing(sandbox):
    sandbox.approval = "manual"
    results = run(sandbox, train=True, invoke=True)
    (package,) = [p["ModelPackageArn"] for p in sandbox.client("sagemaker").list_model_packages(
        ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]]
    assert (results["model deploy"].status, results["model deploy"].detail) == (
        "SKIP", f"{package} awaits approval (sagemaker.registry.approval is manual): "
                f"python -m ops approve {package} --wait")
    assert (results["invoke endpoint"].status, results["invoke endpoint"].detail) == ("SKIP", "needs model deploy")
    assert backend(sagemakerruntime_backends).results == {}


def test_a_failed_deploy_fails_with_its_error(sandbox):
    sandbox.deploy_result = ("FAILED", "EndpointNeedsAttention", "The endpoint is OutOfService")
    results = run(sandbox, train=True, invoke=True)
    assert results["model deploy"].status == "FAIL"
    assert results["model deploy"].detail.endswith("FAILED: EndpointNeedsAttention The endpoint is OutOfService")
    assert results["invoke endpoint"].status == "SKIP"


# ---------------------------------------------------------------- command line


def test_exit_1_and_a_summary_when_a_step_fails(sandbox, capsys):
    sandbox.job_error = "boom"
    runtime = Runtime(sleep=sandbox.sleep, clock=lambda: sandbox.seconds, now=lambda: SENT_AT, tty=False)
    assert main(["smoke", "--region", REGION, "--timeout", "120"], runtime=runtime) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "smoke result: 6 steps passed, 1 failed, 2 skipped"


@pytest.mark.parametrize(("train", "expected"), [(True, "mlspec-sbx-pipeline-endpoint"),
                                                 (False, "mlspec-sbx-hosted-endpoint")])
def test_invoke_checks_the_endpoint_the_run_just_deployed_else_the_hosted_one(train, expected):
    class SageMaker:
        class exceptions:  # noqa: N801 - mirrors botocore's client.exceptions
            ClientError = RuntimeError

        def __init__(self):
            self.described = []

        def describe_endpoint(self, EndpointName):  # noqa: N803 - boto3's parameter name
            self.described.append(EndpointName)
            return {"EndpointStatus": "InService"}

    class Runtime:
        def invoke_endpoint(self, EndpointName, **_):  # noqa: N803
            return {"Body": io.BytesIO(b"[1]")}

    sagemaker = SageMaker()
    check = smoke.Smoke({"sagemaker": sagemaker, "sagemaker-runtime": Runtime()}, load_settings("sandbox"),
                        train=train, invoke=True)
    check.outputs = {"PipelineEndpointName": "mlspec-sbx-pipeline-endpoint",
                     "HostedEndpointName": "mlspec-sbx-hosted-endpoint"}
    check.invocation()
    assert sagemaker.described == [expected]


# ---------------------------------------------------------------- batch transform


def test_a_batch_transform_run_must_write_predictions_under_its_run_name(sandbox):
    results = run(sandbox, transform=True)
    assert list(results) == [*HAPPY, "batch transform"]
    assert results["batch transform"].status == "PASS"
    assert results["batch transform"].detail == (
        f"1 prediction file(s) under s3://{RESULTS_BUCKET}/batch-predictions/smoke-20261121T093000/")
    (execution,) = [e for m in backend(stepfunctions_backends).state_machines if m.name == BATCH for e in m.executions]
    assert json.loads(execution.execution_input) == {"RunName": "smoke-20261121T093000"}


def test_a_batch_transform_that_writes_nothing_fails(sandbox):
    sandbox.transform_writes = False
    results = run(sandbox, transform=True)
    assert results["batch transform"].status == "FAIL"
    assert results["batch transform"].detail == (
        f"the run succeeded but wrote no .out object under s3://{RESULTS_BUCKET}/batch-predictions/smoke-20261121T093000/")


def test_a_failed_batch_transform_names_its_error(sandbox):
    sandbox.execution_result = ("FAILED", "NoApprovedModelPackage", "Model package group mlspec-sbx-models has no "
                                "Approved package")
    results = run(sandbox, transform=True)
    assert results["batch transform"].detail == (
        "batch transform FAILED: NoApprovedModelPackage Model package group mlspec-sbx-models has no Approved package")
