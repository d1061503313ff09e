"""Generated README sections, so the docs cannot drift from the code.

`python -m scripts.docs --write` rewrites every section between
`<!-- BEGIN generated:NAME -->` and `<!-- END generated:NAME -->`; the tests fail when the README
differs from what this module renders.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from config.profiles import PROFILES, load_settings
from scripts import costs, gates, summary, traceability

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = re.compile(r"(<!-- BEGIN generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)", re.S)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, child in value.items():
            flat.update(_flatten(child, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if hasattr(value, "__dataclass_fields__"):
        return _flatten({name: getattr(value, name) for name in value.__dataclass_fields__}, prefix)
    return {prefix: value}


def _cell(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "`" + ", ".join(map(str, value)) + "`"
    return f"`{value}`"


def settings_table() -> str:
    """Every setting of every profile, as the validated Settings objects hold them."""
    flat = {name: _flatten(load_settings(name)) for name in PROFILES}
    names = list(PROFILES)
    keys = list(flat[names[0]])
    lines = ["| setting | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in keys:
        lines.append(f"| `{key}` | " + " | ".join(_cell(flat[n].get(key)) for n in names) + " |")
    return "\n".join(lines) + "\n"


def acknowledgements_table(assembly_dirs: Iterable[Path]) -> str:
    """Every acknowledged nag finding of the given cloud assemblies, grouped by resource and reason."""
    grouped: dict[tuple[str, str], set[str]] = {}
    for assembly in assembly_dirs:
        for ack in gates.nag_verdict(assembly).acknowledged:
            resource = ack["path"].removesuffix("/Resource")
            grouped.setdefault((resource, ack["reason"]), set()).add(ack["rule"])
    lines = ["| resource | findings | reason |", "|---|---|---|"]
    lines += [
        f"| `{resource}` | {', '.join(f'`{rule}`' for rule in sorted(rules))} | {reason} |"
        for (resource, reason), rules in sorted(grouped.items())
    ]
    return "\n".join(lines) + "\n"


def checkov_skips_table(templates: Iterable[Path]) -> str:
    rows = set()
    for path in templates:
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                rows.add((skip["id"], re.sub(r"[0-9A-F]{8}$", "", logical_id), skip["comment"]))
    lines = ["| check | resource | reason |", "|---|---|---|"]
    lines += [f"| `{check}` | `{resource}` | {reason} |" for check, resource, reason in sorted(rows)]
    return "\n".join(lines) + "\n"


def render(text: str, sections: Mapping[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in sections:
            raise KeyError(f"README has a generated section {name!r} that scripts.docs does not render")
        return match.group(1) + sections[name] + match.group(4)

    return SECTION.sub(replace, text)


def synth_summary(sandbox_assembly: Path, checkov_result: gates.CheckovResult | None = None) -> str:
    """What `make synth` prints for the sandbox profile."""
    paths = gates.templates(sandbox_assembly)
    text, _ = summary.render(sandbox_assembly, gates.nag_verdict(sandbox_assembly), gates.cfn_lint(paths),
                             checkov_result or gates.checkov(paths), shown_as=Path("cdk.out"))
    return "```\n" + text + "```\n"


def sections_from(assembly_dirs: list[Path], sandbox_checkov: gates.CheckovResult | None = None) -> dict[str, str]:
    """Every generated section; the first assembly is the sandbox one."""
    templates = [t for d in assembly_dirs for t in gates.templates(d)]
    return {
        "synth-summary": synth_summary(assembly_dirs[0], sandbox_checkov),
        "idle-cost": "".join(costs.render(costs.report(d), f"Profile `{name}`") + "\n"
                             for name, d in zip(PROFILES, assembly_dirs)).rstrip("\n") + "\n",
        "settings": settings_table(),
        "traceability": traceability.table(),
        "acknowledgements": acknowledgements_table(assembly_dirs),
        "checkov-skips": checkov_skips_table(templates),
    }


def main(argv: list[str]) -> int:
    from stacks.app_factory import build_app

    with tempfile.TemporaryDirectory() as tmp:
        dirs = []
        for profile in PROFILES:
            outdir = Path(tmp) / profile
            build_app({"profile": profile}, outdir=str(outdir)).app.synth()
            dirs.append(outdir)
        rendered = render(README.read_text(), sections_from(dirs))
    if "--write" in argv:
        README.write_text(rendered)
        print(f"wrote the generated sections of {README}")
        return 0
    if rendered != README.read_text():
        print("README.md is stale: run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
