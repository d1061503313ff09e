"""The auditor's view: every synthesized template reloaded and re-checked with every cdk-nag pack.

The in-app run checks the construct tree, where CDK's own provider functions and roles are plain
`CfnResource` objects that the rules skip. An auditor who reloads a template (here with
`cloudformation_include.CfnInclude`, which rebuilds every resource as its L1 class) or runs AWS
Config after the deploy sees every resource. This module runs that reload, and reports findings by
(stack, logical id, rule), the same key as the in-app report (`in_app`), so both can be compared.

cdk-nag v3 reads acknowledgements only from construct metadata, not from a template's
`Metadata.cdk_nag.rules_to_suppress` (which the in-app run writes with
`write_suppressions_to_cloud_formation`): the reload re-applies each one, on its own resource, from
that template metadata. So an acknowledgement counts only if its reason is carried in the template.

Usage: python -m scripts.rescan [cdk.out]. Exits 1 when the re-scan finds an unacknowledged finding
or disagrees with the in-app report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from scripts import gates


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    stack: str
    logical_id: str
    rule: str
    acknowledged_id: str = ""  # empty when unacknowledged
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Scan:
    unacknowledged: list[Finding]
    acknowledged: list[Finding]
    packs: tuple[str, ...]  # the nag packs that ran, as the validation report names them

    @property
    def passed(self) -> bool:
        return not self.unacknowledged


def _findings(assembly_dir: Path, locate) -> Scan:
    """The findings of `assembly_dir`'s validation report keyed by (stack, logical id), which
    `locate(construct path)` gives."""
    verdict = gates.nag_verdict(assembly_dir)
    report = json.loads((Path(assembly_dir) / "validation-report.json").read_text())
    unacknowledged = sorted(Finding(*locate(f["path"]), f["rule"]) for f in verdict.unacknowledged)
    acknowledged = sorted(Finding(*locate(f["path"]), f["rule"], f["acknowledged_id"], f["reason"])
                          for f in verdict.acknowledged)
    return Scan(unacknowledged, acknowledged, tuple(plugin["pluginName"] for plugin in report["pluginReports"]))


def in_app(assembly_dir: Path) -> Scan:
    """The in-app run's verdict (validation-report.json), with construct paths turned into logical ids
    through the stacks' metadata files."""
    logical_ids: dict[str, tuple[str, str]] = {}
    for template in gates.templates(assembly_dir):
        stack = template.name.removesuffix(".template.json")
        metadata = json.loads((template.parent / f"{stack}.metadata.json").read_text())
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:logicalId":
                    logical_ids[path.lstrip("/")] = (stack, entry["data"])

    def locate(path: str) -> tuple[str, str]:
        if path not in logical_ids:
            raise KeyError(f"{path}: no logical id in the assembly's metadata; is path metadata recorded?")
        return logical_ids[path]

    return _findings(assembly_dir, locate)


INCLUDE_ID = "Template"


def _loadable(node):
    """`node` with each `Fn::GetStackOutput` (CDK's cross-stack reference, which CfnInclude cannot
    parse) written as the `Fn::ImportValue` of the same output: still an unresolved reference to
    another stack, which is all the rules can know about it in the in-app run too."""
    if isinstance(node, dict):
        if set(node) == {"Fn::GetStackOutput"}:
            output = node["Fn::GetStackOutput"]
            return {"Fn::ImportValue": f"{output['StackName']}:{output['OutputName']}"}
        return {key: _loadable(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_loadable(item) for item in node]
    return node


def rescan(assembly_dir: Path) -> Scan:
    """Reload every template of `assembly_dir` in a fresh app (one stack each), re-apply the
    acknowledgements carried in each resource's template metadata, run every pack of
    `stacks.app_factory.NAG_PACKS`, and return the findings."""
    import aws_cdk as cdk
    from aws_cdk import cloudformation_include as cfn_inc

    from stacks.app_factory import NAG_PACKS, cdk_json_context

    with tempfile.TemporaryDirectory(prefix="rescan-") as outdir:
        app = cdk.App(outdir=outdir, context=cdk_json_context())
        for path in gates.templates(assembly_dir):
            template = json.loads(path.read_text())
            loadable = Path(outdir) / "input" / path.name
            loadable.parent.mkdir(exist_ok=True)
            loadable.write_text(json.dumps(_loadable(template)))
            # No bootstrap parameter or rule of its own: the included template brings the original ones.
            stack = cdk.Stack(app, path.name.removesuffix(".template.json"),
                              synthesizer=cdk.BootstraplessSynthesizer())
            included = cfn_inc.CfnInclude(stack, INCLUDE_ID, template_file=str(loadable))
            for logical_id, resource in template["Resources"].items():
                for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                    cdk.Validations.of(included.get_resource(logical_id)).acknowledge(
                        cdk.Acknowledgment(id=rule["id"], reason=rule["reason"]))
        cdk.Validations.of(app).add_plugins(*(pack(app) for pack in NAG_PACKS))
        try:
            app.synth()
        except Exception as error:  # jsii wraps the validation failure in a generic RuntimeError
            if "ValidationFailed" not in str(error):
                raise

        def locate(path: str) -> tuple[str, str]:
            stack, include, logical_id = path.split("/")
            assert include == INCLUDE_ID, path
            return stack, logical_id

        return _findings(Path(outdir), locate)


def compare(ours: Scan, auditor: Scan) -> list[str]:
    """Each difference between the in-app verdict and the re-scan, as a line; empty when they agree."""
    lines = []
    for name, mine, theirs in (("unacknowledged", ours.unacknowledged, auditor.unacknowledged),
                               ("acknowledged", ours.acknowledged, auditor.acknowledged)):
        lines += [f"only in-app, {name}: {f.stack}/{f.logical_id} {f.rule}" for f in sorted(set(mine) - set(theirs))]
        lines += [f"only in the re-scan, {name}: {f.stack}/{f.logical_id} {f.rule}"
                  for f in sorted(set(theirs) - set(mine))]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.rescan",
        description="Reload every template of a synthesized assembly, scan it with every nag pack (the auditor's "
                    "view) and compare with the in-app verdict. Exit 0 when both pass with the same findings.")
    parser.add_argument("assembly", nargs="?", default="cdk.out", help="the cloud assembly (default: cdk.out)")
    assembly = Path(parser.parse_args(argv).assembly)
    if not gates.templates(assembly):
        print(f"No templates in {assembly}/: run `make synth` first.", file=sys.stderr)
        return 1
    ours, auditor = in_app(assembly), rescan(assembly)
    print(f"in-app:  {len(ours.unacknowledged)} unacknowledged, {len(ours.acknowledged)} acknowledged")
    print(f"re-scan: {len(auditor.unacknowledged)} unacknowledged, {len(auditor.acknowledged)} acknowledged")
    differences = compare(ours, auditor)
    for line in differences:
        print(f"  {line}")
    return 0 if ours.passed and auditor.passed and not differences else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
