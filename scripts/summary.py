"""Summary of a synthesized cloud assembly: which settings, stacks, resources, security verdict, template paths.

Usage: python -m scripts.summary [cdk.out] [--no-rescan]. Exits 1 when any gate fails.

The cdk-nag verdict is given twice: in-app (read from the synth's validation report) and the
auditor's view, a re-scan of every template with every pack (scripts/rescan.py, ~2 s, run while
cfn-lint and checkov run); `--no-rescan` leaves the re-scan out.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import sys
from pathlib import Path

from config import deployment
from scripts import costs, gates, rescan


def render(assembly: Path, nag: gates.NagVerdict, lint: list[dict], scan: gates.CheckovResult,
           shown_as: Path | None = None, auditor: rescan.Scan | None = None) -> tuple[str, bool]:
    """The summary text and whether every gate passed. `shown_as` replaces the assembly path in the text;
    `auditor` is the re-scan of the templates (scripts.rescan), left out of the verdict when None."""
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
    ]
    differences = []
    if auditor is not None:
        differences = rescan.compare(rescan.in_app(assembly), auditor)
        verdicts.append(
            ("cdk-nag re-scan of the templates, every pack (the auditor's view)", auditor.passed and not differences,
             f"{len(auditor.unacknowledged)} unacknowledged, {len(auditor.acknowledged)} acknowledged with reasons"
             f" from the template metadata; {'same' if not differences else 'NOT the same'} findings as in-app"))
    verdicts += [
        ("cfn-lint", not lint, f"{len(lint_errors)} errors, {len(lint) - len(lint_errors)} warnings/info"),
        ("checkov (cloudformation)", not scan.failed,
         f"{len(scan.passed)} passed, {len(scan.failed)} failed, {len(scan.skipped)} skipped with reasons"),
    ]
    lines += ["", "Security verdict:"]
    lines += [f"  {'PASS' if passed else 'FAIL'}  {name}: {detail}" for name, passed, detail in verdicts]
    lines += [f"        nag: {f['rule']} at {f['path']}" for f in nag.unacknowledged]
    lines += [f"        re-scan: {line}" for line in differences]
    lines += [f"        cfn-lint: {f['rule']} {f['message']} ({f['file']})" for f in lint]
    lines += [f"        checkov: {f['check']} {f['resource']} ({f['name']})" for f in scan.failed]
    lines += ["", costs.render(costs.report(assembly), "Idle cost").rstrip("\n")]
    lines += ["", f"Templates: {', '.join(str(shown / p.name) for p in paths)}",
              f"Full nag report: {shown / 'validation-report.json'}"]
    return "\n".join(lines) + "\n", all(passed for _, passed, _ in verdicts)


def main(argv: list[str]) -> int:
    args = [arg for arg in argv if arg != "--no-rescan"]
    assembly = Path(args[0] if args else "cdk.out")
    paths = gates.templates(assembly)
    if not paths:
        print(f"No templates in {assembly}/: run `make synth` first.", file=sys.stderr)
        return 1
    # cfn-lint and checkov are subprocesses: the re-scan runs meanwhile.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        lint, scan = pool.submit(gates.cfn_lint, paths), pool.submit(gates.checkov, paths)
        auditor = pool.submit(rescan.rescan, assembly) if "--no-rescan" not in argv else None
        text, passed = render(assembly, gates.nag_verdict(assembly), lint.result(), scan.result(),
                              auditor=auditor.result() if auditor else None)
    print("\n" + text, end="")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
