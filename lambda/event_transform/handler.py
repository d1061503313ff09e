"""Firehose transformation: decode, validate against schema.json, normalize to one JSON line per record.

Contract (Firehose data transformation): every input `recordId` comes back exactly once, with
- `Ok` and the normalized JSON line (the columns of schema.json, in order, nothing else);
- `Dropped` only for device heartbeats (`{"heartbeat": true}`), which carry no reading;
- `ProcessingFailed` for anything that cannot be a valid reading. Firehose then writes the record
  under the error prefix (`.../processing-failed/...`). Its data is a line
  `ProcessingFailed: "<reason>"` followed by the original bytes, and the same reason is logged as
  JSON with the recordId, so nothing is lost silently and every rejection can be explained.

Input may be a JSON object or a CSV line in schema column order. Timestamps may be ISO 8601 or
epoch milliseconds; they are emitted as epoch milliseconds (UTC), which the delivery stream's
Hive JSON deserializer reads with the `millis` format. Plain Python: no third-party imports.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime
import json
import logging
import math
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)

SCHEMA = json.loads(Path(__file__).with_name("schema.json").read_text())
COLUMNS = SCHEMA["columns"]
COLUMN_NAMES = [c["name"] for c in COLUMNS]
MAX_RECORD_BYTES = 1_000_000  # a Kinesis record is at most 1 MB
# Epoch milliseconds from 1973-03-03 on: a smaller number is almost surely epoch *seconds*.
EPOCH_MS_RANGE = (100_000_000_000, 253_402_300_799_999)


class InvalidRecord(ValueError):
    """The record cannot become a valid reading; the message is the reason stored with it."""


def _decode(data: str) -> str:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRecord("data is not valid base64") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise InvalidRecord(f"record is {len(raw)} bytes, more than {MAX_RECORD_BYTES}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRecord("data is not UTF-8 text") from None


def _parse(text: str) -> dict[str, Any]:
    stripped = text.strip()
    if not stripped:
        raise InvalidRecord("record is empty")
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise InvalidRecord(f"malformed JSON: {error.msg} at position {error.pos}") from None
        if not isinstance(value, dict):
            raise InvalidRecord("JSON record must be an object")
        return value
    if stripped.startswith("["):
        raise InvalidRecord("JSON record must be an object, got an array")
    rows = list(csv.reader([stripped]))
    if len(rows) != 1 or len(rows[0]) != len(COLUMN_NAMES):
        found = len(rows[0]) if rows else 0
        raise InvalidRecord(f"CSV record must have {len(COLUMN_NAMES)} fields ({','.join(COLUMN_NAMES)}), got {found}")
    return {name: (value if value != "" else None) for name, value in zip(COLUMN_NAMES, rows[0])}


def _timestamp_ms(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidRecord("must be an ISO 8601 timestamp or epoch milliseconds")
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        millis = int(float(value))
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidRecord(f"{value!r} is not an ISO 8601 timestamp") from None
        if moment.tzinfo is None:
            raise InvalidRecord(f"{value!r} has no time zone; send UTC ('Z') or an offset")
        millis = round(moment.timestamp() * 1000)
    else:
        raise InvalidRecord("must be an ISO 8601 timestamp or epoch milliseconds")
    if millis < EPOCH_MS_RANGE[0]:
        raise InvalidRecord(f"{value!r} is before 1973: send epoch milliseconds, not seconds")
    if millis > EPOCH_MS_RANGE[1]:
        raise InvalidRecord(f"{value!r} is after 9999-12-31")
    return millis


def _number(value: Any, column: dict[str, Any]) -> int | float:
    if isinstance(value, bool):
        raise InvalidRecord(f"must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRecord(f"must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InvalidRecord(f"must be a finite number, got {value!r}")
    if column["type"] in ("int", "bigint"):
        if not number.is_integer():
            raise InvalidRecord(f"must be a whole number, got {value!r}")
        number = int(number)
    low, high = column.get("minimum"), column.get("maximum")
    if (low is not None and number < low) or (high is not None and number > high):
        raise InvalidRecord(f"{number!r} is outside {low}..{high}")
    return number


def _string(value: Any, column: dict[str, Any]) -> str:
    if isinstance(value, (dict, list, bool)) or value is None:
        raise InvalidRecord(f"must be a string, got {json.dumps(value)}")
    text = str(value).strip()
    if not text:
        raise InvalidRecord("must not be empty")
    if len(text) > column.get("max_length", 65535):
        raise InvalidRecord(f"is longer than {column['max_length']} characters")
    if "allowed" in column and text.lower() not in column["allowed"]:
        raise InvalidRecord(f"{text!r} is not one of {', '.join(column['allowed'])}")
    return text.lower() if "allowed" in column else text


CONVERTERS = {
    "string": _string,
    "timestamp": lambda value, column: _timestamp_ms(value),
    "double": _number,
    "int": _number,
    "bigint": _number,
}


def normalize(event: dict[str, Any]) -> dict[str, Any]:
    """The reading as the schema defines it, or InvalidRecord naming the first problem."""
    unknown = sorted(set(event) - set(COLUMN_NAMES))
    if unknown:
        raise InvalidRecord(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(COLUMN_NAMES)}")
    normalized: dict[str, Any] = {}
    for column in COLUMNS:
        value = event.get(column["name"])
        if value is None:
            if column["required"]:
                raise InvalidRecord(f"{column['name']}: is required")
            normalized[column["name"]] = None
            continue
        try:
            normalized[column["name"]] = CONVERTERS[column["type"]](value, column)
        except InvalidRecord as error:
            raise InvalidRecord(f"{column['name']}: {error}") from None
    return normalized


MAX_REASON_CHARS = 160


def _encode(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def _original_bytes(record: dict[str, Any]) -> bytes:
    data = record.get("data", "")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return data.encode("utf-8", "replace")


def failed_record_data(reason: str, original: bytes) -> bytes:
    """What a rejected record becomes: one reason line, then the original bytes untouched.

    No JSON envelope and no second base64 layer, so a rejected record grows by at most
    ~200 bytes. That keeps every response smaller than the request Firehose sent (whose Kinesis
    metadata alone is ~300 bytes per record), hence under Lambda's 6 MB limit.
    """
    line = json.dumps(reason[:MAX_REASON_CHARS], ensure_ascii=True)
    return f"ProcessingFailed: {line}\n".encode("ascii") + original


def transform_record(record: dict[str, Any]) -> dict[str, Any]:
    record_id = record["recordId"]
    try:
        event = _parse(_decode(record.get("data", "")))
        if event == {"heartbeat": True}:
            return {"recordId": record_id, "result": "Dropped", "data": record.get("data", "")}
        line = json.dumps(normalize(event), separators=(",", ":")) + "\n"
        return {"recordId": record_id, "result": "Ok", "data": _encode(line.encode("utf-8"))}
    except Exception as error:  # noqa: BLE001 - one bad record must never fail the whole batch
        reason = str(error) if isinstance(error, InvalidRecord) else f"transform error: {type(error).__name__}"
        if not isinstance(error, InvalidRecord):
            LOGGER.exception("unexpected error transforming record %s", record_id)
        LOGGER.warning(json.dumps({"recordId": record_id, "result": "ProcessingFailed", "reason": reason}))
        return {
            "recordId": record_id,
            "result": "ProcessingFailed",
            "data": _encode(failed_record_data(reason, _original_bytes(record))),
        }


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    results = [transform_record(record) for record in event.get("records", [])]
    counts: dict[str, int] = {}
    for result in results:
        counts[result["result"]] = counts.get(result["result"], 0) + 1
    LOGGER.info(json.dumps({"invocationId": event.get("invocationId"), "records": len(results), **counts}))
    return {"records": results}
