"""Send realistic sensor readings to the deployed stream.

Examples:
  python -m scripts.send_events --dry-run --count 5
  python -m scripts.send_events --stream mlspec-sbx-sensor-readings --count 1000 --invalid-ratio 0.05
  python -m scripts.send_events --stack mlspec-sbx-streaming --format csv   # stream name from the stack output

Readings follow lambda/event_transform/schema.json; `--invalid-ratio` mixes in records the
transform must reject (they land under errors/<dataset>/processing-failed/ with the reason).
Uses boto3 and the usual AWS credential chain; --dry-run needs no credentials.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

from patterns.dataset_schema import load_schema

PUT_RECORDS_MAX = 500  # Kinesis PutRecords limit per call
MAX_ATTEMPTS = 5
STATUSES = ("ok", "ok", "ok", "ok", "ok", "ok", "warning", "warning", "fault")


def reading(rng: random.Random, index: int, now: datetime.datetime) -> dict[str, Any]:
    device = f"press-{rng.randrange(1, 25):02d}"
    status = rng.choice(STATUSES)
    base = {"ok": 65.0, "warning": 88.0, "fault": 120.0}[status]
    return {
        "event_id": f"evt-{int(now.timestamp())}-{index:07d}",
        "event_time": (now - datetime.timedelta(milliseconds=rng.randrange(0, 60_000)))
        .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "device_id": device,
        "temperature_c": round(rng.gauss(base, 4.0), 2),
        "humidity_pct": round(rng.uniform(20, 80), 1) if rng.random() > 0.1 else None,
        "battery_pct": rng.randrange(5, 101) if rng.random() > 0.1 else None,
        "status": status,
    }


# Realistic mistakes, each of which the transform must reject with a reason.
INVALID = (
    lambda r: {**r, "temperature_c": "n/a"},
    lambda r: {**r, "status": "exploded"},
    lambda r: {k: v for k, v in r.items() if k != "device_id"},
    lambda r: {**r, "event_time": "2026-13-45T99:00:00Z"},
)


def encode(record: dict[str, Any], fmt: str, columns: list[str]) -> str:
    if fmt == "json":
        return json.dumps(record)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(["" if record.get(c) is None else record.get(c) for c in columns])
    return buffer.getvalue()


def events(count: int, fmt: str, invalid_ratio: float, seed: int, now: datetime.datetime) -> Iterator[dict[str, str]]:
    """PutRecords entries: {"Data": payload, "PartitionKey": device id}."""
    rng = random.Random(seed)
    columns = [c.name for c in load_schema().columns]
    for index in range(count):
        record = reading(rng, index, now)
        if rng.random() < invalid_ratio:
            record = rng.choice(INVALID)(record)
        yield {"Data": encode(record, fmt, columns), "PartitionKey": record.get("device_id", "unknown")}


def send(client, stream: str, entries: list[dict[str, str]]) -> int:
    """Put `entries` in batches of 500, retrying throttled records with backoff. Returns records sent."""
    sent = 0
    for start in range(0, len(entries), PUT_RECORDS_MAX):
        pending = entries[start:start + PUT_RECORDS_MAX]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = client.put_records(
                StreamName=stream,
                Records=[{"Data": e["Data"].encode("utf-8"), "PartitionKey": e["PartitionKey"]} for e in pending],
            )
            failed = [entry for entry, result in zip(pending, response["Records"]) if "ErrorCode" in result]
            sent += len(pending) - len(failed)
            if not failed:
                break
            if attempt == MAX_ATTEMPTS:
                codes = sorted({r["ErrorCode"] for r in response["Records"] if "ErrorCode" in r})
                raise RuntimeError(f"{len(failed)} records still failing after {MAX_ATTEMPTS} attempts: {codes}")
            pending = failed
            time.sleep(min(2 ** attempt * 0.1, 2.0))
    return sent


def stream_from_stack(cloudformation, stack: str) -> str:
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output["OutputKey"] == "StreamName":
            return output["OutputValue"]
    raise RuntimeError(f"stack {stack} has no StreamName output: is it the streaming stack?")


def ratio(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scripts.send_events", description=__doc__.splitlines()[0],
                                epilog="\n".join(__doc__.splitlines()[2:6]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_mutually_exclusive_group()
    target.add_argument("--stream", help="Kinesis stream name")
    target.add_argument("--stack", help="streaming stack name; the stream comes from its StreamName output")
    p.add_argument("--count", type=positive, default=100, help="number of records (default 100)")
    p.add_argument("--format", choices=("json", "csv"), default="json", help="record format (default json)")
    p.add_argument("--invalid-ratio", type=ratio, default=0.0, help="share of records to corrupt, 0..1")
    p.add_argument("--seed", type=int, default=7, help="random seed, for repeatable batches (default 7)")
    p.add_argument("--region", help="AWS region (default: your AWS configuration)")
    p.add_argument("--dry-run", action="store_true", help="print the records instead of sending them")
    return p


def main(argv: list[str] | None = None, *, session=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.dry_run and not (args.stream or args.stack):
        p.error("give --stream or --stack (or --dry-run to only print the records)")
    entries = list(events(args.count, args.format, args.invalid_ratio, args.seed,
                          datetime.datetime.now(datetime.timezone.utc)))
    if args.dry_run:
        for entry in entries:
            print(json.dumps(entry))
        print(f"dry run: {len(entries)} records not sent", file=sys.stderr)
        return 0

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    session = session or boto3.session.Session(region_name=args.region)
    try:
        stream = args.stream or stream_from_stack(session.client("cloudformation"), args.stack)
        sent = send(session.client("kinesis"), stream, entries)
    except NoCredentialsError:
        print("error: no AWS credentials found: configure a profile or export AWS_PROFILE", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"sent {sent} records to {stream}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
