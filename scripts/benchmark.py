"""Speed and size benchmark (targets are checked here, not in timed tests).

Usage: python -m scripts.benchmark [--runs N] [--skip-tests]
Targets on the 2-core reference machine: full synth with all nag packs <= 15 s (median),
whole test suite <= 90 s once dependencies are installed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SYNTH_TARGET_S = 15.0
SUITE_TARGET_S = 90.0


def _env() -> dict[str, str]:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_VERSION_CHECK": "1",
           "CDK_DISABLE_CLI_TELEMETRY": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(args: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=PROJECT_ROOT, env=_env(), check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def transform_throughput(batches: int = 20) -> tuple[float, int]:
    """Records per second through the transform handler, 500-record batches of ~1 KB records.

    Returns (records per second, bytes per record). Records are realistic readings padded to
    ~1 KB with JSON indentation (still one valid object each), every tenth one invalid.
    """
    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.firehose_events import firehose_event, reading
    from tests.lambda_code import load

    handler = load("event_transform")
    handler.LOGGER.disabled = True  # measure the transform, not log formatting to stderr
    payloads = [json.dumps(reading(event_id=f"e-{i:06d}", status="exploded" if i % 10 == 0 else "ok"), indent=110)
                for i in range(500)]
    event = firehose_event(payloads)
    start = time.perf_counter()
    for _ in range(batches):
        handler.handler(event, None)
    elapsed = time.perf_counter() - start
    return batches * len(payloads) / elapsed, sum(map(len, payloads)) // len(payloads)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="synth runs for the median (default 5)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    args = parser.parse_args(argv)
    python = str(PROJECT_ROOT / ".venv" / "bin" / "python")

    with tempfile.TemporaryDirectory() as outdir:
        env_outdir = {"CDK_OUTDIR": outdir}
        synth_times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([python, "app.py"], cwd=PROJECT_ROOT, env={**_env(), **env_outdir}, check=True,
                           stdout=subprocess.DEVNULL)
            synth_times.append(time.perf_counter() - start)
        templates = sorted(Path(outdir).glob("*.template.json"))
        sizes = {t.name.removesuffix(".template.json"): (len(json.loads(t.read_text())["Resources"]), t.stat().st_size)
                 for t in templates}
        cli_times = []
        for _ in range(max(1, args.runs // 2)):
            cli_times.append(timed([str(PROJECT_ROOT / "node_modules/.bin/cdk"), "--no-notices", "synth", "--quiet",
                                    "-o", str(Path(outdir) / "cli")]))

    median = statistics.median(synth_times)
    ok = median <= SYNTH_TARGET_S
    print(f"full synth, all 5 nag packs: median {median:.2f} s over {args.runs} runs "
          f"(min {min(synth_times):.2f}, max {max(synth_times):.2f}); target <= {SYNTH_TARGET_S:.0f} s "
          f"{'OK' if ok else 'MISSED'}")
    print(f"same through the pinned CDK CLI (cdk synth): median {statistics.median(cli_times):.2f} s "
          f"over {len(cli_times)} runs")
    for stack, (resources, size) in sizes.items():
        print(f"  {stack:<12} {resources:>3} resources  {size:>7} template bytes (python app.py, no path metadata)")
    rate, record_bytes = transform_throughput()
    print(f"transform throughput: {rate:,.0f} records/s ({rate * record_bytes / 1e6:.1f} MB/s) in 500-record "
          f"batches of {record_bytes}-byte records, 10% invalid")
    if not args.skip_tests:
        suite = timed([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        suite_ok = suite <= SUITE_TARGET_S
        ok = ok and suite_ok
        print(f"whole test suite: {suite:.1f} s wall; target <= {SUITE_TARGET_S:.0f} s {'OK' if suite_ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
