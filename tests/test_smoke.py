"""The smoke command's request sequence against a deployed sandbox, offline with botocore's Stubber."""

from __future__ import annotations

import datetime
import io

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from config.profiles import load_settings
from scripts import smoke

SENT_AT = datetime.datetime(2026, 11, 21, 9, 30, tzinfo=datetime.timezone.utc)
OUTPUTS = {
    "mlspec-sbx-data-lake": {"RawBucketName": "mlspec-sbx-raw-123456789012-eu-west-1"},
    "mlspec-sbx-streaming": {"StreamName": "mlspec-sbx-sensor-readings"},
    "mlspec-sbx-catalog": {"WorkGroupName": "mlspec-sbx-analytics", "CuratedCrawlerName": "mlspec-sbx-curated"},
    "mlspec-sbx-ml-network": {},
    "mlspec-sbx-sagemaker": {"TrainingPipelineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:mlspec-sbx-xgboost",
                             "PipelineEndpointName": "mlspec-sbx-xgboost-endpoint"},
}


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def stubbed():
    session = boto3.session.Session(region_name="eu-west-1", aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
    clients = {name: session.client(name) for name in smoke.SERVICES}
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    yield clients, stubbers
    for stubber in stubbers.values():
        stubber.deactivate()


def run(clients, **options):
    clock = FakeClock()
    return smoke.Smoke(clients, load_settings("sandbox"), timeout_seconds=60, poll_seconds=15, events=3,
                       sleep=clock.sleep, clock=clock, now=lambda: SENT_AT, **options).run()


def expect_identity(stubbers):
    stubbers["sts"].add_response("get_caller_identity", {"Account": "123456789012", "UserId": "AIDA",
                                                         "Arn": "arn:aws:iam::123456789012:user/ml"}, {})


def expect_stacks(stubbers, outputs=OUTPUTS):
    for name, stack_outputs in outputs.items():
        stubbers["cloudformation"].add_response("describe_stacks", {"Stacks": [{
            "StackName": name, "CreationTime": SENT_AT, "StackStatus": "CREATE_COMPLETE",
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in stack_outputs.items()]}]}, {"StackName": name})


def expect_happy_data_path(stubbers):
    stubbers["kinesis"].add_response("put_records", {"Records": [{"SequenceNumber": "1", "ShardId": "s"}] * 3},
                                     {"StreamName": "mlspec-sbx-sensor-readings", "Records": ANY})
    listing = {"Bucket": "mlspec-sbx-raw-123456789012-eu-west-1", "Prefix": "sensor_readings/year=2026/month=11/day=21/"}
    stubbers["s3"].add_response("list_objects_v2", {"KeyCount": 0}, listing)
    stubbers["s3"].add_response("list_objects_v2", {"Contents": [
        {"Key": "sensor_readings/year=2026/month=11/day=21/part-1.parquet",
         "LastModified": SENT_AT + datetime.timedelta(seconds=90)}]}, listing)
    stubbers["glue"].add_response("start_crawler", {}, {"Name": "mlspec-sbx-curated"})
    stubbers["glue"].add_response("get_crawler", {"Crawler": {"Name": "mlspec-sbx-curated", "State": "RUNNING"}},
                                  {"Name": "mlspec-sbx-curated"})
    stubbers["glue"].add_response("get_crawler", {"Crawler": {"Name": "mlspec-sbx-curated", "State": "READY",
                                                              "LastCrawl": {"Status": "SUCCEEDED"}}},
                                  {"Name": "mlspec-sbx-curated"})
    stubbers["athena"].add_response("list_named_queries", {"NamedQueryIds": ["q1", "q2"]},
                                    {"WorkGroup": "mlspec-sbx-analytics"})
    stubbers["athena"].add_response("batch_get_named_query", {"NamedQueries": [
        {"Name": "latest-partition", "Database": "mlspec_sbx_raw", "QueryString": "SELECT 2"},
        {"Name": "readings-per-day", "Database": "mlspec_sbx_raw", "QueryString": "SELECT 1"}]},
        {"NamedQueryIds": ["q1", "q2"]})
    stubbers["athena"].add_response("start_query_execution", {"QueryExecutionId": "run-1"},
                                    {"QueryString": "SELECT 1", "WorkGroup": "mlspec-sbx-analytics",
                                     "QueryExecutionContext": {"Database": "mlspec_sbx_raw"}})
    stubbers["athena"].add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}},
                                    {"QueryExecutionId": "run-1"})
    stubbers["athena"].add_response("get_query_results", {"ResultSet": {"Rows": [{"Data": []}, {"Data": []}]}},
                                    {"QueryExecutionId": "run-1"})


def test_every_step_passes_in_order_against_a_healthy_sandbox(stubbed):
    clients, stubbers = stubbed
    expect_identity(stubbers)
    expect_stacks(stubbers)
    expect_happy_data_path(stubbers)
    results = run(clients)
    assert [(r.step, r.status) for r in results] == [
        ("credentials", "PASS"), ("stacks", "PASS"), ("send events", "PASS"), ("delivered to raw", "PASS"),
        ("crawler", "PASS"), ("saved query", "PASS")]
    assert results[3].detail.endswith("part-1.parquet") and results[5].detail == "readings-per-day returned 1 day(s)"
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()


def test_training_and_invocation_when_asked(stubbed):
    clients, stubbers = stubbed
    expect_identity(stubbers)
    expect_stacks(stubbers)
    expect_happy_data_path(stubbers)
    execution = "arn:aws:states:eu-west-1:123456789012:execution:mlspec-sbx-xgboost:run-7"
    stubbers["stepfunctions"].add_response("start_execution", {"executionArn": execution, "startDate": SENT_AT},
                                           {"stateMachineArn": OUTPUTS["mlspec-sbx-sagemaker"]["TrainingPipelineArn"]})
    stubbers["stepfunctions"].add_response("describe_execution", {
        "executionArn": execution, "stateMachineArn": "x", "status": "SUCCEEDED", "startDate": SENT_AT},
        {"executionArn": execution})
    body = StreamingBody(io.BytesIO(b"[0.91, 0.07, 0.02]"), 18)
    stubbers["sagemaker-runtime"].add_response("invoke_endpoint", {"Body": body, "ContentType": "application/json"},
                                               {"EndpointName": "mlspec-sbx-xgboost-endpoint",
                                                "ContentType": "text/csv", "Body": smoke.SAMPLE_ROW.encode()})
    results = run(clients, train=True, invoke=True)
    assert [r.status for r in results] == ["PASS"] * 8
    assert results[-1].detail == "mlspec-sbx-xgboost-endpoint answered '[0.91, 0.07, 0.02]'"


def test_no_credentials_fails_clearly_and_skips_the_rest(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.session.Session(region_name="eu-west-1")
    results = run({name: session.client(name) for name in smoke.SERVICES})
    assert (results[0].status, results[0].detail) == (
        "FAIL", "no AWS credentials: configure a profile or export AWS_PROFILE")
    assert {r.status for r in results[1:]} == {"SKIP"}


def test_a_missing_stack_is_named(stubbed):
    clients, stubbers = stubbed
    expect_identity(stubbers)
    stubbers["cloudformation"].add_client_error("describe_stacks", "ValidationError",
                                                "Stack with id mlspec-sbx-data-lake does not exist")
    results = run(clients)
    assert results[1].status == "FAIL"
    assert results[1].detail == ("stack mlspec-sbx-data-lake is not deployed (Stack with id mlspec-sbx-data-lake does "
                                 "not exist); deploy with: node_modules/.bin/cdk deploy --all")
    assert [r.status for r in results[2:]] == ["SKIP"] * 4


def test_a_delivery_that_never_comes_times_out(stubbed):
    clients, stubbers = stubbed
    expect_identity(stubbers)
    expect_stacks(stubbers)
    stubbers["kinesis"].add_response("put_records", {"Records": [{"SequenceNumber": "1", "ShardId": "s"}] * 3},
                                     {"StreamName": "mlspec-sbx-sensor-readings", "Records": ANY})
    for _ in range(5):  # t = 0, 15, 30, 45, 60 s
        stubbers["s3"].add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": ANY, "Prefix": ANY})
    stubbers["glue"].add_client_error("start_crawler", "CrawlerRunningException", "Crawler is already running")
    stubbers["athena"].add_response("list_named_queries", {"NamedQueryIds": ["q1"]},
                                    {"WorkGroup": "mlspec-sbx-analytics"})
    stubbers["athena"].add_response("batch_get_named_query", {"NamedQueries": [
        {"Name": "latest-partition", "Database": "mlspec_sbx_raw", "QueryString": "SELECT 2"}]},
        {"NamedQueryIds": ["q1"]})
    results = {r.step: r for r in run(clients)}
    assert results["delivered to raw"].status == "FAIL"
    assert results["delivered to raw"].detail.startswith("timed out after 60 s: no Parquet file under s3://")
    assert results["crawler"].detail.endswith("Crawler is already running")
    assert results["saved query"].detail == "saved query readings-per-day not found in workgroup mlspec-sbx-analytics"


def test_cli_prints_one_line_per_step_and_fails_on_any_failure(stubbed, capsys):
    clients, stubbers = stubbed
    stubbers["sts"].add_client_error("get_caller_identity", "ExpiredToken", "The security token has expired")
    assert smoke.main(["--timeout", "1"], clients=clients) == 1
    out = capsys.readouterr().out
    assert "FAIL  credentials        An error occurred (ExpiredToken)" in out
    assert "smoke result: 0 steps passed, 1 failed, 5 skipped" in out
