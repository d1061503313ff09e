"""Realistic Firehose transformation events for the event_transform handler."""

from __future__ import annotations

import base64
import json


def b64(payload: str | bytes) -> str:
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    return base64.b64encode(raw).decode("ascii")


def firehose_event(payloads: list[str | bytes]) -> dict:
    """A transformation event as Firehose sends it for a Kinesis Data Streams source."""
    stream_arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/mlspec-sbx-sensor-readings"
    return {
        "invocationId": "6f7a3cb2-8c1e-4d0b-9d7e-1f2a3b4c5d6e",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/mlspec-sbx-sensor-readings",
        "sourceKinesisStreamArn": stream_arn,
        "region": "eu-west-1",
        "records": [
            {
                "recordId": f"49546986683135544286507457936321625675700192471156785154{i:06d}",
                "approximateArrivalTimestamp": 1763683200000 + i,
                "data": b64(payload),
                "kinesisRecordMetadata": {
                    "sequenceNumber": f"49546986683135544286507457936321625675700192471156785{i:09d}",
                    "subsequenceNumber": 0,
                    "partitionKey": f"device-{i % 7}",
                    "shardId": "shardId-000000000000",
                    "approximateArrivalTimestamp": 1763683200000 + i,
                },
            }
            for i, payload in enumerate(payloads)
        ],
    }


def reading(**overrides) -> dict:
    value = {
        "event_id": "e-0001",
        "event_time": "2026-11-21T09:30:00.250Z",
        "device_id": "press-07",
        "temperature_c": 71.5,
        "humidity_pct": 40.25,
        "battery_pct": 88,
        "status": "ok",
    }
    value.update(overrides)
    return value


def decoded(record: dict) -> dict:
    return json.loads(base64.b64decode(record["data"]))
