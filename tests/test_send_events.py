"""The sample producer: what it would send (dry run), argument errors, and the exact requests
it sends, checked offline with botocore's Stubber."""

from __future__ import annotations

import base64
import datetime
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from scripts import send_events
from tests.firehose_events import firehose_event
from tests.lambda_code import load

NOW = datetime.datetime(2026, 11, 21, 9, 30, tzinfo=datetime.timezone.utc)


def test_dry_run_prints_valid_readings_and_sends_nothing(capsys):
    assert send_events.main(["--dry-run", "--count", "20"]) == 0
    out, err = capsys.readouterr()
    entries = [json.loads(line) for line in out.splitlines()]
    assert len(entries) == 20 and "dry run: 20 records not sent" in err
    records = load("event_transform").handler(firehose_event([e["Data"] for e in entries]), None)["records"]
    assert {r["result"] for r in records} == {"Ok"}
    assert all(e["PartitionKey"] == json.loads(e["Data"])["device_id"] for e in entries)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_invalid_ratio_produces_records_the_transform_rejects(fmt):
    entries = list(send_events.events(400, fmt, 0.25, seed=3, now=NOW))
    records = load("event_transform").handler(firehose_event([e["Data"] for e in entries]), None)["records"]
    rejected = sum(r["result"] == "ProcessingFailed" for r in records)
    assert 60 <= rejected <= 140  # about a quarter, and never silently accepted
    assert sum(r["result"] == "Ok" for r in records) == 400 - rejected


def test_same_seed_same_records():
    assert list(send_events.events(5, "json", 0.5, seed=1, now=NOW)) == list(
        send_events.events(5, "json", 0.5, seed=1, now=NOW))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--count", "5"], "give --stream or --stack (or --dry-run to only print the records)"),
        (["--dry-run", "--count", "0"], "argument --count: must be at least 1, got 0"),
        (["--dry-run", "--invalid-ratio", "2"], "argument --invalid-ratio: must be between 0 and 1, got 2"),
        (["--dry-run", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["--stream", "a", "--stack", "b"], "argument --stack: not allowed with argument --stream"),
    ],
)
def test_bad_arguments_get_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        send_events.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def stubbed_session():
    session = boto3.session.Session(region_name="eu-west-1", aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
    clients = {name: session.client(name) for name in ("kinesis", "cloudformation")}
    session.client = lambda name, **_: clients[name]
    return session, clients


def test_sends_in_batches_of_500_and_retries_only_throttled_records():
    session, clients = stubbed_session()
    entries = list(send_events.events(501, "json", 0.0, seed=1, now=NOW))
    with Stubber(clients["kinesis"]) as kinesis:
        first = {"StreamName": "mlspec-sbx-sensor-readings",
                 "Records": [{"Data": e["Data"].encode(), "PartitionKey": e["PartitionKey"]} for e in entries[:500]]}
        kinesis.add_response("put_records", {
            "FailedRecordCount": 1,
            "Records": [{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}]
            + [{"SequenceNumber": "1", "ShardId": "shardId-000000000000"}] * 499,
        }, first)
        kinesis.add_response("put_records", {"Records": [{"SequenceNumber": "2",
                                                                                   "ShardId": "s"}]},
                             {"StreamName": "mlspec-sbx-sensor-readings", "Records": first["Records"][:1]})
        kinesis.add_response("put_records", {"Records": [{"SequenceNumber": "3",
                                                                                   "ShardId": "s"}]},
                             {"StreamName": "mlspec-sbx-sensor-readings",
                              "Records": [{"Data": entries[500]["Data"].encode(),
                                           "PartitionKey": entries[500]["PartitionKey"]}]})
        assert send_events.send(clients["kinesis"], "mlspec-sbx-sensor-readings", entries) == 501
        kinesis.assert_no_pending_responses()


def test_stream_name_comes_from_the_stack_output(capsys):
    session, clients = stubbed_session()
    with Stubber(clients["cloudformation"]) as cloudformation, Stubber(clients["kinesis"]) as kinesis:
        cloudformation.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": "mlspec-sbx-streaming", "CreationTime": NOW, "StackStatus": "CREATE_COMPLETE",
                         "Outputs": [{"OutputKey": "StreamName", "OutputValue": "mlspec-sbx-sensor-readings"}]}]},
            {"StackName": "mlspec-sbx-streaming"},
        )
        kinesis.add_response("put_records", {
                                             "Records": [{"SequenceNumber": "1", "ShardId": "s"}] * 3},
                             {"StreamName": "mlspec-sbx-sensor-readings", "Records": ANY})
        assert send_events.main(["--stack", "mlspec-sbx-streaming", "--count", "3"], session=session) == 0
    assert "sent 3 records to mlspec-sbx-sensor-readings" in capsys.readouterr().out


def test_a_missing_stack_is_a_clear_error(capsys):
    session, clients = stubbed_session()
    with Stubber(clients["cloudformation"]) as cloudformation:
        cloudformation.add_client_error("describe_stacks", "ValidationError", "Stack with id nope does not exist")
        assert send_events.main(["--stack", "nope", "--count", "1"], session=session) == 1
    assert "Stack with id nope does not exist" in capsys.readouterr().err


def test_records_still_failing_after_retries_are_reported(monkeypatch):
    monkeypatch.setattr(send_events.time, "sleep", lambda _: None)
    session, clients = stubbed_session()
    entries = list(send_events.events(1, "json", 0.0, seed=1, now=NOW))
    with Stubber(clients["kinesis"]) as kinesis:
        for _ in range(send_events.MAX_ATTEMPTS):
            kinesis.add_response("put_records", {"FailedRecordCount": 1, "Records": [
                {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}, {"StreamName": "s", "Records": ANY})
        with pytest.raises(RuntimeError, match=r"1 records still failing after 5 attempts: \['InternalFailure'\]"):
            send_events.send(clients["kinesis"], "s", entries)


def test_payload_is_the_utf8_of_the_record():
    (entry,) = send_events.events(1, "csv", 0.0, seed=1, now=NOW)
    assert base64.b64encode(entry["Data"].encode()).decode().isascii()
    assert entry["Data"].count(",") == 6
