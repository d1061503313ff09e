"""Summary of a synthesized cloud assembly: which settings, stacks, resources, security verdict, template paths.

Usage: python -m scripts.summary [cdk.out]. Exits 1 when any gate fails.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

from config import deployment
from scripts import costs, gates


def render(assembly: Path, nag: gates.NagVerdict, lint: list[dict], scan: gates.CheckovResult,
           shown_as: Path | None = None) -> tuple[str, bool]:
    """The summary text and whether every gate passed. `shown_as` replaces the assembly path in the text."""
    shown = shown_as or assembly
    paths = gates.templates(assembly)
    lines = [deployment.describe(deployment.read_record(assembly)), "", f"Stacks ({len(paths)}), resources by type:"]
    for path in paths:
        resources = json.loads(path.read_text())["Resources"]
        kinds = collections.Counter(r["Type"] for r in resources.values() if r["Type"] != "AWS::CDK::Metadata")
        detail = ", ".join(f"{n} {t.split('::', 1)[1]}" for t, n in sorted(kinds.items()))
        lines.append(f"  {path.name.removesuffix('.template.json'):<12} {sum(kinds.values()):>3} resources  "
                     f"({detail})")

    lint_errors = [f for f in lint if f["level"] == "Error"]
    verdicts = [
        ("cdk-nag (AwsSolutions, HIPAA, NIST 800-53 R5, PCI DSS 3.2.1, Serverless, MLSpecialty)", nag.passed,
         f"{len(nag.unacknowledged)} unacknowledged, {len(nag.acknowledged)} acknowledged with reasons"),
        ("cfn-lint", not lint, f"{len(lint_errors)} errors, {len(lint) - len(lint_errors)} warnings/info"),
        ("checkov (cloudformation)", not scan.failed,
         f"{len(scan.passed)} passed, {len(scan.failed)} failed, {len(scan.skipped)} skipped with reasons"),
    ]
    lines += ["", "Security verdict:"]
    lines += [f"  {'PASS' if passed else 'FAIL'}  {name}: {detail}" for name, passed, detail in verdicts]
    lines += [f"        nag: {f['rule']} at {f['path']}" for f in nag.unacknowledged]
    lines += [f"        cfn-lint: {f['rule']} {f['message']} ({f['file']})" for f in lint]
    lines += [f"        checkov: {f['check']} {f['resource']} ({f['name']})" for f in scan.failed]
    lines += ["", costs.render(costs.report(assembly), "Idle cost").rstrip("\n")]
    lines += ["", f"Templates: {', '.join(str(shown / p.name) for p in paths)}",
              f"Full nag report: {shown / 'validation-report.json'}"]
    return "\n".join(lines) + "\n", all(passed for _, passed, _ in verdicts)


def main(argv: list[str]) -> int:
    assembly = Path(argv[0] if argv else "cdk.out")
    paths = gates.templates(assembly)
    if not paths:
        print(f"No templates in {assembly}/: run `make synth` first.", file=sys.stderr)
        return 1
    text, passed = render(assembly, gates.nag_verdict(assembly), gates.cfn_lint(paths), gates.checkov(paths))
    print("\n" + text, end="")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
