"""Send realistic sensor readings to the deployed stream.

Readings follow lambda/event_transform/schema.json; --invalid-ratio mixes in records the transform
must reject (they land under errors/<dataset>/processing-failed/ with the reason). The stream is
the StreamName output of the deployment's streaming stack, unless --stream or --stack names one.
--dry-run prints the records and needs no credentials.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from ops import aws
from ops.cli import OpsError, Runtime, add_aws_options, add_deployment_options, deployment_settings
from patterns.dataset_schema import load_schema
from stacks.sensor_dataset import SCHEMA_FILE

NAME = "send-events"
EXAMPLES = """examples:
  python -m ops send-events --dry-run --count 5                # print the records, send nothing
  python -m ops send-events --count 1000 --invalid-ratio 0.05  # the sandbox's stream
  python -m ops send-events --config deployments/example.json  # another deployment's stream
  python -m ops send-events --stream my-stream --format csv --region eu-west-1"""

PUT_RECORDS_MAX = 500  # Kinesis PutRecords limit per call
MAX_ATTEMPTS = 5
STATUSES = ("ok", "ok", "ok", "ok", "ok", "ok", "warning", "warning", "fault")


def reading(rng: random.Random, index: int, now: datetime.datetime) -> dict[str, Any]:
    device = f"press-{rng.randrange(1, 25):02d}"
    status = rng.choice(STATUSES)
    base = {"ok": 65.0, "warning": 88.0, "fault": 120.0}[status]
    return {
        "event_id": f"{batch_id(now)}-{index:07d}",
        "event_time": (now - datetime.timedelta(milliseconds=rng.randrange(0, 60_000)))
        .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "device_id": device,
        "temperature_c": round(rng.gauss(base, 4.0), 2),
        "humidity_pct": round(rng.uniform(20, 80), 1) if rng.random() > 0.1 else None,
        "battery_pct": rng.randrange(5, 101) if rng.random() > 0.1 else None,
        "status": status,
    }


def batch_id(now: datetime.datetime) -> str:
    """The prefix of every event_id sent at `now`: finds this batch again downstream."""
    return f"evt-{int(now.timestamp())}"


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


def readings(count: int, invalid_ratio: float, seed: int, now: datetime.datetime) -> Iterator[tuple[dict, bool]]:
    """(reading, valid) pairs; about `invalid_ratio` of them are corrupted (valid=False)."""
    rng = random.Random(seed)
    for index in range(count):
        record = reading(rng, index, now)
        if rng.random() < invalid_ratio:
            yield rng.choice(INVALID)(record), False
        else:
            yield record, True


def entry(record: dict[str, Any], fmt: str, columns: list[str]) -> dict[str, str]:
    """A PutRecords entry: {"Data": payload, "PartitionKey": device id}."""
    return {"Data": encode(record, fmt, columns), "PartitionKey": record.get("device_id", "unknown")}


def events(count: int, fmt: str, invalid_ratio: float, seed: int, now: datetime.datetime) -> Iterator[dict[str, str]]:
    columns = [c.name for c in load_schema(SCHEMA_FILE).columns]
    for record, _ in readings(count, invalid_ratio, seed, now):
        yield entry(record, fmt, columns)


Progress = Callable[[int, int], None]  # (records sent so far, records failed and retried so far)


def send(client, stream: str, entries: list[dict[str, str]], *, progress: Progress = lambda sent, failed: None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """Put `entries` in batches of 500, retrying failed records with backoff. Returns records sent."""
    sent = retried = 0
    for start in range(0, len(entries), PUT_RECORDS_MAX):
        pending = entries[start:start + PUT_RECORDS_MAX]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = client.put_records(
                StreamName=stream,
                Records=[{"Data": e["Data"].encode("utf-8"), "PartitionKey": e["PartitionKey"]} for e in pending],
            )
            failed = [entry for entry, result in zip(pending, response["Records"]) if "ErrorCode" in result]
            sent += len(pending) - len(failed)
            retried += len(failed) if attempt < MAX_ATTEMPTS else 0
            progress(sent, retried)
            if not failed:
                break
            if attempt == MAX_ATTEMPTS:
                codes = sorted({r["ErrorCode"] for r in response["Records"] if "ErrorCode" in r})
                raise OpsError(f"{len(failed)} records still failing after {MAX_ATTEMPTS} attempts: {codes} "
                               f"({sent} of {len(entries)} sent)")
            pending = failed
            sleep(min(2 ** attempt * 0.1, 2.0))
    return sent


def progress_printer(runtime: Runtime, total: int) -> Progress:
    """A bar redrawn in place on a terminal; otherwise one line per PutRecords call."""
    def show(sent: int, failed: int) -> None:
        counts = f"{sent}/{total} sent, {failed} failed and retried"
        if runtime.interactive:
            bar = "#" * (30 * sent // total)
            runtime.note(f"\r[{bar:<30}] {counts}", end="\n" if sent == total else "")
        else:
            runtime.note(counts)
    return show


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


def add_arguments(p: argparse.ArgumentParser) -> None:
    target = p.add_mutually_exclusive_group()
    target.add_argument("--stream", help="Kinesis stream name")
    target.add_argument("--stack", help="streaming stack name (default <name_prefix>-streaming of the deployment)")
    p.add_argument("--count", type=positive, default=100, help="number of records (default 100)")
    p.add_argument("--format", choices=("json", "csv"), default="json", help="record format (default json)")
    p.add_argument("--invalid-ratio", type=ratio, default=0.0, help="share of records to corrupt, 0..1")
    p.add_argument("--seed", type=int, default=7, help="random seed, for repeatable batches (default 7)")
    p.add_argument("--dry-run", action="store_true", help="print the records instead of sending them")
    add_deployment_options(p)
    add_aws_options(p)


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    entries = list(events(args.count, args.format, args.invalid_ratio, args.seed, runtime.now()))
    if args.dry_run:
        for item in entries:
            runtime.say(json.dumps(item))
        runtime.note(f"dry run: {len(entries)} records not sent")
        return 0
    stack = None if args.stream else args.stack or f"{deployment_settings(args).name_prefix}-streaming"
    session = aws.connect(args.region, args.aws_profile)
    stream = args.stream
    if stack:
        stream = aws.outputs(aws.deployed_stack(session.client("cloudformation"), stack)).get("StreamName")
        if stream is None:
            raise OpsError(f"stack {stack} has no StreamName output: is it the streaming stack?")
    runtime.note(f"sending {len(entries)} records to {stream} in {session.describe()}")
    sent = send(session.client("kinesis"), stream, entries, progress=progress_printer(runtime, len(entries)),
                sleep=runtime.sleep)
    runtime.say(f"sent {sent} records to {stream}")
    return 0
