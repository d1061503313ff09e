"""Generated doc sections, so the docs cannot drift from the code.

`python -m scripts.docs --write` rewrites every section between
`<!-- BEGIN generated:NAME -->` and `<!-- END generated:NAME -->` in the README and the pages of
docs/, and writes docs/data-paths.md whole; the tests fail when any differs from what this module
renders.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

from config.profiles import PROFILES, load_settings
from scripts import costs, data_paths, gates, rescan, summary, traceability

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# Every document with generated sections (docs/data-paths.md is generated whole).
DOCUMENTS = (README, *(ROOT / "docs" / page for page in ("settings.md", "security.md", "costs.md",
                                                         "traceability.md", "development.md")))
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
    """A value as JSON, the way a settings file or -c overrides writes it."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "`" + json.dumps(to_jsonable_python(value), ensure_ascii=False).replace("|", "\\|") + "`"


def settings_table() -> str:
    """Every setting of every profile, as the validated Settings objects hold them."""
    flat = {name: _flatten(load_settings(name)) for name in PROFILES}
    names = list(PROFILES)
    keys = list(dict.fromkeys(key for name in names for key in flat[name]))  # a key one profile lacks too
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


def patterns_table() -> str:
    """Every public class of patterns/, with the first line of its docstring (what it builds)."""
    import importlib
    import inspect

    lines = ["| module | class | what it builds |", "|---|---|---|"]
    for path in sorted((ROOT / "patterns").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"patterns.{path.stem}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or name.startswith("_"):
                continue
            doc = cls.__doc__ or ""
            if not doc or doc.startswith(f"{name}("):  # none, or a dataclass's generated signature
                doc = module.__doc__ or ""
            summary = " ".join(doc.strip().split("\n\n")[0].split()).replace("|", "\\|")
            lines.append(f"| `patterns/{path.name}` | `{name}` | {summary} |")
    return "\n".join(lines) + "\n"


def ml_rules_table() -> str:
    """The MLSpecialty nag pack's rules, read from the pack itself."""
    from patterns.ml_rule_pack import RULES

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| rule | resource | what it checks | AWS Config rule mirrored | study note |", "|---|---|---|---|---|"]
    lines += [f"| `{rule.rule_id}` | {', '.join(f'`{t}`' for t in rule.resource_types)} | {cell(rule.checks)} | {cell(rule.config_rule)} | "
              f"`{rule.note[0]}`: \"{cell(rule.note[1])}\" |" for rule in RULES]
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
                             checkov_result or gates.checkov(paths), shown_as=Path("cdk.out"),
                             auditor=rescan.rescan(sandbox_assembly))
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
        "patterns": patterns_table(),
        "ml-rule-pack": ml_rules_table(),
    }


def rendered_documents(sections: Mapping[str, str]) -> dict[Path, str]:
    """Every generated document as it should read, by path."""
    documents = {path: render(path.read_text(), sections) for path in DOCUMENTS}
    documents[data_paths.DOC] = data_paths.markdown()
    return documents


def main(argv: list[str]) -> int:
    from stacks.app_factory import build_app

    with tempfile.TemporaryDirectory() as tmp:
        dirs = []
        for profile in PROFILES:
            outdir = Path(tmp) / profile
            build_app({"profile": profile}, outdir=str(outdir)).app.synth()
            dirs.append(outdir)
        documents = rendered_documents(sections_from(dirs))
    stale = [path for path, text in documents.items() if not path.exists() or path.read_text() != text]
    if "--write" in argv:
        for path in stale:
            path.write_text(documents[path])
        print(f"wrote {len(stale)} of {len(documents)} generated documents")
        return 0
    for path in stale:
        print(f"{path.relative_to(ROOT)} is stale: run `make docs`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
