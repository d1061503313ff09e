"""The offline security and lint gates, shared by `make synth` (scripts.summary) and the tests.

- cdk-nag: runs inside synth; its verdict is read back from the cloud assembly's
  `validation-report.json`.
- cfn-lint and checkov: run over every synthesized template.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CFN_LINT = PROJECT_ROOT / ".venv" / "bin" / "cfn-lint"
# checkov lives in its own environment: its pins conflict with pytest 9 (see requirements-checkov.in).
CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"


def templates(assembly_dir: Path) -> list[Path]:
    return sorted(Path(assembly_dir).glob("*.template.json"))


@dataclasses.dataclass(frozen=True)
class NagVerdict:
    unacknowledged: list[dict]
    acknowledged: list[dict]

    @property
    def passed(self) -> bool:
        return not self.unacknowledged


def nag_verdict(assembly_dir: Path) -> NagVerdict:
    report = json.loads((Path(assembly_dir) / "validation-report.json").read_text())
    unacknowledged, acknowledged = [], []
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                unacknowledged.append({"rule": violation["ruleName"], "path": construct["constructPath"]})
        for violation in plugin.get("suppressedViolations", []):
            for construct in violation["violatingConstructs"]:
                acknowledged.append(
                    {
                        "rule": violation["ruleName"],
                        "path": construct["constructPath"],
                        "acknowledged_id": violation["acknowledgedId"],
                        "acknowledged_at": violation["acknowledgedAt"],
                        "reason": violation["reason"],
                    }
                )
    return NagVerdict(unacknowledged=unacknowledged, acknowledged=acknowledged)


def cfn_lint(paths: Sequence[Path]) -> list[dict]:
    """Every cfn-lint finding (errors, warnings and informational) over `paths`."""
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", *map(str, paths)], capture_output=True, text=True, check=False
    )
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) or not result.stdout.strip():
        raise RuntimeError(f"cfn-lint failed to run (exit {result.returncode}): {result.stderr[-2000:]}")
    return [
        {"rule": m["Rule"]["Id"], "level": m["Level"], "file": m["Filename"], "path": m["Location"]["Path"],
         "message": m["Message"]}
        for m in json.loads(result.stdout)
    ]


@dataclasses.dataclass(frozen=True)
class CheckovResult:
    passed: list[dict]
    failed: list[dict]
    skipped: list[dict]

    def only(self, paths: Sequence[Path]) -> CheckovResult:
        """The part of the result that concerns `paths`."""
        wanted = {str(Path(p).resolve()) for p in paths}
        return CheckovResult(*([c for c in checks if c["file"] in wanted]
                               for checks in (self.passed, self.failed, self.skipped)))


def _check(check: dict) -> dict:
    return {
        "check": check["check_id"],
        "resource": check["resource"],
        "name": check["check_name"],
        "file": str(Path(check["file_abs_path"]).resolve()),
        "reason": (check.get("check_result") or {}).get("suppress_comment", ""),
    }


def checkov(paths: Sequence[Path]) -> CheckovResult:
    """checkov's CloudFormation checks over `paths`, offline (no platform download)."""
    args = [str(CHECKOV), "--framework", "cloudformation", "--output", "json", "--compact", "--skip-download"]
    for path in paths:
        args += ["--file", str(path)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_COLOR": "1"}
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed to run (exit {result.returncode}): {result.stderr[-2000:]}")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return CheckovResult(*([_check(c) for report in reports for c in report["results"].get(kind, [])]
                           for kind in ("passed_checks", "failed_checks", "skipped_checks")))
