"""Summary of a synthesized cloud assembly: stacks, resources, security verdict, template paths.

Usage: python -m scripts.summary [cdk.out]. Exits 1 when any gate fails.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

from scripts import gates


def main(argv: list[str]) -> int:
    assembly = Path(argv[0] if argv else "cdk.out")
    paths = gates.templates(assembly)
    if not paths:
        print(f"No templates in {assembly}/: run `make synth` first.", file=sys.stderr)
        return 1

    print(f"\nStacks ({len(paths)}), resources by type:")
    for path in paths:
        resources = json.loads(path.read_text())["Resources"]
        kinds = collections.Counter(r["Type"] for r in resources.values() if r["Type"] != "AWS::CDK::Metadata")
        detail = ", ".join(f"{n} {t.split('::', 1)[1]}" for t, n in sorted(kinds.items()))
        print(f"  {path.name.removesuffix('.template.json'):<12} {sum(kinds.values()):>3} resources  "
              f"{path.stat().st_size:>7} bytes  ({detail})")

    nag = gates.nag_verdict(assembly)
    lint = gates.cfn_lint(paths)
    scan = gates.checkov(paths)
    lint_errors = [f for f in lint if f["level"] == "Error"]
    verdicts = [
        ("cdk-nag (AwsSolutions, HIPAA, NIST 800-53 R5, PCI DSS 3.2.1, Serverless)", nag.passed,
         f"{len(nag.unacknowledged)} unacknowledged, {len(nag.acknowledged)} acknowledged with reasons"),
        ("cfn-lint", not lint, f"{len(lint_errors)} errors, {len(lint) - len(lint_errors)} warnings/info"),
        ("checkov (cloudformation)", not scan.failed,
         f"{scan.passed} passed, {len(scan.failed)} failed, {len(scan.skipped)} skipped with reasons"),
    ]
    print("\nSecurity verdict:")
    for name, passed, detail in verdicts:
        print(f"  {'PASS' if passed else 'FAIL'}  {name}: {detail}")
    for finding in nag.unacknowledged:
        print(f"        nag: {finding['rule']} at {finding['path']}")
    for finding in lint:
        print(f"        cfn-lint: {finding['rule']} {finding['message']} ({finding['file']})")
    for finding in scan.failed:
        print(f"        checkov: {finding['check']} {finding['resource']} ({finding['name']})")

    print(f"\nTemplates: {', '.join(str(p) for p in paths)}")
    print(f"Full nag report: {assembly / 'validation-report.json'}")
    return 0 if all(passed for _, passed, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
