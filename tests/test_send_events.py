"""The sample producer, `python -m ops send-events`: what it would send (dry run), usage errors, and
what arrives in a Kinesis stream emulated in-process by moto, read back record by record."""

from __future__ import annotations

import base64
import datetime
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ops import send_events
from ops.__main__ import main
from ops.cli import OpsError, Runtime
from tests.firehose_events import firehose_event
from tests.lambda_code import load
from tests.moto_aws import REGION, deploy_stack, emulated_aws

NOW = datetime.datetime(2026, 11, 21, 9, 30, tzinfo=datetime.timezone.utc)


@pytest.fixture
def aws(monkeypatch, tmp_path):
    yield from emulated_aws(monkeypatch, tmp_path)


def at_now(tty: bool = False) -> Runtime:
    return Runtime(now=lambda: NOW, sleep=lambda _: None, tty=tty)


def transform(payloads: list[str]) -> list[dict]:
    return load("event_transform").handler(firehose_event(payloads), None)["records"]


def test_dry_run_prints_valid_readings_and_sends_nothing(capsys):
    assert main(["send-events", "--dry-run", "--count", "20"]) == 0
    out, err = capsys.readouterr()
    entries = [json.loads(line) for line in out.splitlines()]
    assert len(entries) == 20 and "dry run: 20 records not sent" in err
    assert {r["result"] for r in transform([e["Data"] for e in entries])} == {"Ok"}
    assert all(e["PartitionKey"] == json.loads(e["Data"])["device_id"] for e in entries)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_invalid_ratio_produces_records_the_transform_rejects(fmt):
    entries = list(send_events.events(400, fmt, 0.25, seed=3, now=NOW))
    records = transform([e["Data"] for e in entries])
    rejected = sum(r["result"] == "ProcessingFailed" for r in records)
    assert 60 <= rejected <= 140  # about a quarter, and never silently accepted
    assert sum(r["result"] == "Ok" for r in records) == 400 - rejected


def test_the_valid_flag_is_the_transform_s_verdict():
    # The smoke test counts the valid readings it sent and expects exactly those downstream.
    pairs = list(send_events.readings(200, 0.3, seed=5, now=NOW))
    verdicts = [r["result"] for r in transform([json.dumps(record) for record, _ in pairs])]
    assert [valid for _, valid in pairs] == [verdict == "Ok" for verdict in verdicts]
    assert 30 <= sum(not valid for _, valid in pairs) <= 90


def test_same_seed_same_records():
    assert list(send_events.events(5, "json", 0.5, seed=1, now=NOW)) == list(
        send_events.events(5, "json", 0.5, seed=1, now=NOW))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dry-run", "--count", "0"], "argument --count: must be at least 1, got 0"),
        (["--dry-run", "--invalid-ratio", "2"], "argument --invalid-ratio: must be between 0 and 1, got 2"),
        (["--dry-run", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["--stream", "a", "--stack", "b"], "argument --stack: not allowed with argument --stream"),
        (["--profile", "staging"], "argument --profile: 'staging' is not a settings profile (use prod or sandbox)"),
    ],
)
def test_bad_arguments_get_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["send-events", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------- against moto


def stream_with_stack(session, stack="mlspec-sbx-streaming", stream="mlspec-sbx-sensor-readings") -> None:
    session.client("kinesis").create_stream(StreamName=stream, ShardCount=1)
    deploy_stack(session, stack, {"StreamName": stream, "StreamArn": "arn:aws:kinesis:...:stream/x"})


def received(session, stream="mlspec-sbx-sensor-readings") -> list[tuple[str, str]]:
    """(payload, partition key) of every record in the stream, in order."""
    kinesis = session.client("kinesis")
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        records += [(r["Data"].decode(), r["PartitionKey"]) for r in page["Records"]]
        if not page["Records"]:
            return records
        iterator = page["NextShardIterator"]


def test_sends_to_the_stream_of_the_deployment_s_streaming_stack(aws, capsys):
    stream_with_stack(aws)
    assert main(["send-events", "--count", "25", "--invalid-ratio", "0.2", "--region", REGION],
                runtime=at_now()) == 0
    expected = list(send_events.events(25, "json", 0.2, seed=7, now=NOW))
    assert received(aws) == [(e["Data"], e["PartitionKey"]) for e in expected]
    out, err = capsys.readouterr()
    assert out == "sent 25 records to mlspec-sbx-sensor-readings\n"
    assert f"sending 25 records to mlspec-sbx-sensor-readings in region {REGION} (from --region)" in err


def test_a_config_file_selects_another_deployment(aws, tmp_path):
    stream_with_stack(aws, stack="acme-dev-streaming", stream="acme-dev-readings")
    stream_with_stack(aws)  # the sandbox's stream must stay empty
    config = tmp_path / "deploy.json"
    config.write_text(json.dumps({"profile": "sandbox", "overrides": {"name_prefix": "acme-dev"}}))
    assert main(["send-events", "--config", str(config), "--count", "3", "--format", "csv",
                 "--region", REGION], runtime=at_now()) == 0
    assert len(received(aws, "acme-dev-readings")) == 3 and received(aws) == []
    assert received(aws, "acme-dev-readings")[0][0].count(",") == 6  # CSV, 7 columns


def test_stream_by_name_needs_no_stack(aws):
    aws.client("kinesis").create_stream(StreamName="hand-made", ShardCount=1)
    assert main(["send-events", "--stream", "hand-made", "--count", "2", "--region", REGION], runtime=at_now()) == 0
    assert len(received(aws, "hand-made")) == 2


def test_progress_one_line_per_put_records_call(aws, capsys):
    stream_with_stack(aws)
    assert main(["send-events", "--count", "1001", "--region", REGION], runtime=at_now()) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if " sent, " in line] == [
        "500/1001 sent, 0 failed and retried", "1000/1001 sent, 0 failed and retried",
        "1001/1001 sent, 0 failed and retried"]
    assert len(received(aws)) == 1001


def test_progress_bar_on_a_terminal(aws, capsys):
    stream_with_stack(aws)
    assert main(["send-events", "--count", "1000", "--region", REGION], runtime=at_now(tty=True)) == 0
    err = capsys.readouterr().err
    assert f"\r[{'#' * 15:<30}] 500/1000 sent, 0 failed and retried" in err
    assert err.endswith(f"\r[{'#' * 30}] 1000/1000 sent, 0 failed and retried\n")


def test_a_missing_stack_names_the_stack_and_the_region(aws, capsys):
    assert main(["send-events", "--count", "1", "--region", REGION], runtime=at_now()) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: stack mlspec-sbx-streaming is not deployed in {REGION}: deploy it (README, Deploy guide) "
        "or check --region and --profile/--config")


def test_a_stack_without_a_stream_output_is_a_clear_error(aws, capsys):
    deploy_stack(aws, "mlspec-sbx-streaming", {"Other": "x"})
    assert main(["send-events", "--region", REGION], runtime=at_now()) == 1
    assert "stack mlspec-sbx-streaming has no StreamName output" in capsys.readouterr().err


def test_a_missing_stream_is_a_one_line_error(aws, capsys):
    deploy_stack(aws, "mlspec-sbx-streaming", {"StreamName": "gone"})
    assert main(["send-events", "--region", REGION], runtime=at_now()) == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "ResourceNotFoundException" in line and "gone" in line


# ---------------------------------------------------------------- retries (moto never throttles: Stubber)


def stubbed_kinesis():
    return boto3.session.Session(region_name="eu-west-1", aws_access_key_id="testing",
                                 aws_secret_access_key="testing").client("kinesis")


def test_sends_in_batches_of_500_and_retries_only_failed_records():
    client = stubbed_kinesis()
    entries = list(send_events.events(501, "json", 0.0, seed=1, now=NOW))
    waits, progress = [], []
    with Stubber(client) as kinesis:
        first = {"StreamName": "mlspec-sbx-sensor-readings",
                 "Records": [{"Data": e["Data"].encode(), "PartitionKey": e["PartitionKey"]} for e in entries[:500]]}
        kinesis.add_response("put_records", {
            "FailedRecordCount": 1,
            "Records": [{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}]
            + [{"SequenceNumber": "1", "ShardId": "shardId-000000000000"}] * 499,
        }, first)
        kinesis.add_response("put_records", {"Records": [{"SequenceNumber": "2", "ShardId": "s"}]},
                             {"StreamName": "mlspec-sbx-sensor-readings", "Records": first["Records"][:1]})
        kinesis.add_response("put_records", {"Records": [{"SequenceNumber": "3", "ShardId": "s"}]},
                             {"StreamName": "mlspec-sbx-sensor-readings",
                              "Records": [{"Data": entries[500]["Data"].encode(),
                                           "PartitionKey": entries[500]["PartitionKey"]}]})
        sent = send_events.send(client, "mlspec-sbx-sensor-readings", entries, sleep=waits.append,
                                progress=lambda *counts: progress.append(counts))
        kinesis.assert_no_pending_responses()
    assert sent == 501
    assert progress == [(499, 1), (500, 1), (501, 1)] and waits == [0.2]


def test_records_still_failing_after_retries_are_reported():
    client = stubbed_kinesis()
    entries = list(send_events.events(1, "json", 0.0, seed=1, now=NOW))
    waits = []
    with Stubber(client) as kinesis:
        for _ in range(send_events.MAX_ATTEMPTS):
            kinesis.add_response("put_records", {"FailedRecordCount": 1, "Records": [
                {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}, {"StreamName": "s", "Records": ANY})
        with pytest.raises(OpsError, match=r"1 records still failing after 5 attempts: \['InternalFailure'\] "
                                           r"\(0 of 1 sent\)"):
            send_events.send(client, "s", entries, sleep=waits.append)
    assert waits == [0.2, 0.4, 0.8, 1.6]  # backoff between the 5 attempts


def test_payload_is_the_utf8_of_the_record():
    (entry,) = send_events.events(1, "csv", 0.0, seed=1, now=NOW)
    assert base64.b64encode(entry["Data"].encode()).decode().isascii()
    assert entry["Data"].count(",") == 6
