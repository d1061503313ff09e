"""The transform as a plain function, with Firehose transformation events for a Kinesis source."""

from __future__ import annotations

import base64
import json

import pytest

from tests.firehose_events import b64, decoded, firehose_event, reading

EXPECTED_OK = {
    "event_id": "e-0001",
    "event_time": 1795253400250,
    "device_id": "press-07",
    "temperature_c": 71.5,
    "humidity_pct": 40.25,
    "battery_pct": 88,
    "status": "ok",
}


def run(handler_module, payloads):
    event = firehose_event(payloads)
    response = handler_module.handler(event, None)
    assert [r["recordId"] for r in response["records"]] == [r["recordId"] for r in event["records"]]
    return response["records"]


def test_valid_json_reading_is_normalized_to_one_json_line(handler_module):
    (record,) = run(handler_module, [json.dumps(reading())])
    assert record["result"] == "Ok"
    line = base64.b64decode(record["data"]).decode()
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == EXPECTED_OK
    assert list(json.loads(line)) == handler_module.COLUMN_NAMES


def test_csv_reading_in_schema_order_becomes_the_same_json(handler_module):
    csv_line = "e-0001,2026-11-21T09:30:00.250Z,press-07,71.5,40.25,88,OK\n"
    (record,) = run(handler_module, [csv_line])
    assert record["result"] == "Ok"
    assert decoded(record) == EXPECTED_OK


def test_optional_fields_may_be_missing_or_empty(handler_module):
    no_optionals = {k: v for k, v in reading().items() if k not in ("humidity_pct", "battery_pct")}
    json_record, csv_record = run(handler_module, [json.dumps(no_optionals), "e-2,1795253400250,d,20,,,warning"])
    assert decoded(json_record)["humidity_pct"] is None and decoded(json_record)["battery_pct"] is None
    assert decoded(csv_record) == {"event_id": "e-2", "event_time": 1795253400250, "device_id": "d",
                                   "temperature_c": 20.0, "humidity_pct": None, "battery_pct": None,
                                   "status": "warning"}


@pytest.mark.parametrize(
    ("event_time", "millis"),
    [
        ("2026-11-21T09:30:00Z", 1795253400000),
        ("2026-11-21T10:30:00+01:00", 1795253400000),
        ("2026-11-21 09:30:00.5+00:00", 1795253400500),
        (1795253400000, 1795253400000),
        ("1795253400000", 1795253400000),
    ],
)
def test_timestamps_are_normalized_to_utc_epoch_millis(handler_module, event_time, millis):
    (record,) = run(handler_module, [json.dumps(reading(event_time=event_time))])
    assert decoded(record)["event_time"] == millis


def failure(record: dict) -> tuple[str, bytes]:
    """(reason, original bytes) of a rejected record."""
    assert record["result"] == "ProcessingFailed"
    reason_line, original = base64.b64decode(record["data"]).split(b"\n", 1)
    assert reason_line.startswith(b"ProcessingFailed: ")
    return json.loads(reason_line.removeprefix(b"ProcessingFailed: ")), original


def failure_reason(record: dict) -> str:
    return failure(record)[0]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"event_id": "e-1", "event_time": ', "malformed JSON: Expecting value at position 33"),
        ("[1, 2]", "JSON record must be an object, got an array"),
        ('"just a string"', "CSV record must have 7 fields"),
        ("", "record is empty"),
        ("a,b,c", "CSV record must have 7 fields (event_id,event_time,device_id,temperature_c,humidity_pct,"
                  "battery_pct,status), got 3"),
        (json.dumps(reading(temperature_c="hot")), "temperature_c: must be a number, got 'hot'"),
        (json.dumps(reading(temperature_c=True)), "temperature_c: must be a number, got True"),
        (json.dumps(reading(temperature_c=float("nan"))), "temperature_c: must be a finite number"),
        (json.dumps(reading(temperature_c=500)), "temperature_c: 500.0 is outside -80..200"),
        (json.dumps(reading(battery_pct=50.5)), "battery_pct: must be a whole number, got 50.5"),
        (json.dumps(reading(device_id={"id": 7})), 'device_id: must be a string, got {"id": 7}'),
        (json.dumps(reading(device_id="x" * 65)), "device_id: is longer than 64 characters"),
        (json.dumps(reading(status="exploded")), "status: 'exploded' is not one of ok, warning, fault"),
        (json.dumps(reading(event_time="yesterday")), "event_time: 'yesterday' is not an ISO 8601 timestamp"),
        (json.dumps(reading(event_time="2026-11-21T09:30:00")), "event_time: '2026-11-21T09:30:00' has no time zone"),
        (json.dumps(reading(event_time=1795253400)), "event_time: 1795253400 is before 1973: send epoch milliseconds"),
        (json.dumps({k: v for k, v in reading().items() if k != "device_id"}), "device_id: is required"),
        (json.dumps(reading(colour="red")), "unknown field(s) colour; allowed: event_id, event_time"),
    ],
)
def test_invalid_records_fail_with_the_reason_and_the_original_data(handler_module, payload, reason):
    (record,) = run(handler_module, [payload])
    found_reason, original = failure(record)
    assert reason in found_reason
    assert original == payload.encode()


def test_bytes_that_are_not_utf8_or_base64(handler_module):
    (not_utf8,) = run(handler_module, [b"\xff\xfe\x00bad"])
    assert failure(not_utf8) == ("data is not UTF-8 text", b"\xff\xfe\x00bad")
    event = firehose_event(["x"])
    event["records"][0]["data"] = "***not base64***"
    (not_b64,) = handler_module.handler(event, None)["records"]
    assert failure(not_b64) == ("data is not valid base64", b"***not base64***")


def test_long_reasons_are_truncated_so_failures_stay_small(handler_module):
    (record,) = run(handler_module, [json.dumps(reading(colour="x", **{f"extra_{i}": 1 for i in range(50)}))])
    assert len(failure_reason(record)) == handler_module.MAX_REASON_CHARS


def test_failures_are_logged_with_record_id_and_reason(handler_module, caplog):
    caplog.set_level("WARNING")
    (record,) = run(handler_module, [json.dumps(reading(status="exploded"))])
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.levelname == "WARNING"]
    assert logged == [{"recordId": record["recordId"], "result": "ProcessingFailed",
                       "reason": "status: 'exploded' is not one of ok, warning, fault"}]


def test_heartbeats_are_dropped_on_purpose_and_nothing_else_is(handler_module):
    records = run(handler_module, ['{"heartbeat": true}', '{"heartbeat": false}', json.dumps(reading())])
    assert [r["result"] for r in records] == ["Dropped", "ProcessingFailed", "Ok"]


def test_an_unexpected_error_fails_only_its_own_record(handler_module, monkeypatch):
    original = handler_module.normalize

    def explode_on_press_13(event):
        if event.get("device_id") == "press-13":
            raise KeyError("boom")
        return original(event)

    monkeypatch.setattr(handler_module, "normalize", explode_on_press_13)
    records = run(handler_module, [json.dumps(reading(device_id="press-13")), json.dumps(reading())])
    assert [r["result"] for r in records] == ["ProcessingFailed", "Ok"]
    assert failure_reason(records[0]) == "transform error: KeyError"


def test_empty_batch(handler_module):
    assert handler_module.handler(firehose_event([]), None) == {"records": []}


def test_every_record_id_comes_back_once_in_a_mixed_batch(handler_module):
    payloads = [json.dumps(reading(event_id=f"e-{i}")) if i % 3 else "not,valid" for i in range(300)]
    records = run(handler_module, payloads)
    assert len({r["recordId"] for r in records}) == 300
    assert sum(r["result"] == "Ok" for r in records) == 200
    assert sum(r["result"] == "ProcessingFailed" for r in records) == 100


def _size(document: dict) -> int:
    return len(json.dumps(document).encode())


@pytest.mark.parametrize(
    "payload_of",
    [
        lambda i: "",  # empty: the smallest record, rejected
        lambda i: "x",  # tiny and rejected with the longest CSV reason
        lambda i: "y" * 1000,  # ~1 KB rejected
        lambda i: f"e-{i:06d},2026-11-21T09:30:00.250Z,p,71.5,40.25,88,ok",  # CSV grows into JSON
        lambda i: json.dumps({"heartbeat": True}),
    ],
    ids=["empty", "tiny-invalid", "1kb-invalid", "csv-to-json", "heartbeat"],
)
def test_the_response_is_never_larger_than_the_request(handler_module, payload_of):
    """Firehose's request is at most 6 MB (Lambda's limit); a response no larger always fits."""
    event = firehose_event([payload_of(i) for i in range(2000)])
    assert _size(handler_module.handler(event, None)) <= _size(event)


def test_a_large_batch_stays_under_the_6_mb_lambda_response_limit(handler_module):
    """A full 1 MiB processor buffer (the stream's setting) of short CSV readings, half invalid."""
    csv_line = "e-{:06d},2026-11-21T09:30:00.250Z,press-07,71.5,40.25,88,ok"
    payloads, size = [], 0
    while size < 1024 * 1024:
        payload = csv_line.format(len(payloads)) if len(payloads) % 2 else "x" * 60
        payloads.append(payload)
        size += len(payload)
    response = handler_module.handler(firehose_event(payloads), None)
    assert _size(response) < 6 * 1024 * 1024
    assert len(response["records"]) == len(payloads)


def test_schema_file_and_handler_agree(handler_module):
    assert handler_module.COLUMN_NAMES == [c["name"] for c in handler_module.SCHEMA["columns"]]
    assert {c["type"] for c in handler_module.COLUMNS} <= set(handler_module.CONVERTERS)


def test_b64_helper_round_trips():
    assert base64.b64decode(b64("é")).decode() == "é"
