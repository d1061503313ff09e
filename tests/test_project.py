"""The project's own promises: docs generated from the code, two commands, CI, pinned tools."""

from __future__ import annotations

import json
import re

from scripts import docs, gates
from stacks.app_factory import PROJECT_ROOT


def test_generated_docs_are_current(sandbox, prod, checkov_result):
    sandbox_checkov = checkov_result.only(gates.templates(sandbox.assembly_dir))
    sections = docs.sections_from([sandbox.assembly_dir, prod.assembly_dir], sandbox_checkov)
    for path, text in docs.rendered_documents(sections).items():
        assert path.read_text() == text, f"{path.relative_to(PROJECT_ROOT)} is stale: run `make docs`"


def test_every_generated_section_appears_in_exactly_one_document():
    found = [m.group("name") for path in docs.DOCUMENTS for m in docs.SECTION.finditer(path.read_text())]
    assert sorted(found) == sorted(["synth-summary", "idle-cost", "settings", "traceability", "acknowledgements",
                                    "checkov-skips", "patterns", "ml-rule-pack"])


def test_generated_settings_table_shows_the_lifecycle_defaults():
    table = docs.settings_table()
    assert "| `data_lake.zones.raw.infrequent_access_after_days` | `30` | `30` |" in table
    assert "| `data_lake.zones.curated.expire_after_days` | off | off |" in table
    assert "| `destroy_data_on_removal` | true | false |" in table


def test_readme_starts_with_the_two_commands():
    first_block = (PROJECT_ROOT / "README.md").read_text().split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make synth", "make test"]


def test_ci_runs_the_readme_test_command():
    lines = [line for line in (PROJECT_ROOT / ".ci/run").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert "make test" in lines


def test_cdk_cli_is_pinned_and_locked_to_2_1148():
    declared = json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    locked = json.loads((PROJECT_ROOT / "package-lock.json").read_text())["packages"]["node_modules/aws-cdk"]
    assert re.fullmatch(r"2\.1148\.\d+", declared)
    assert locked["version"] == declared


def test_runtime_pins_match_the_lock():
    lock = (PROJECT_ROOT / "requirements-dev.lock").read_text()
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[\w.-]+==[\w.]+", line), f"unpinned: {line}"
            assert re.search(rf"^{re.escape(line)} \\", lock, re.M), f"{line} differs from requirements-dev.lock"


def test_the_settings_files_shown_in_the_docs_are_the_shipped_ones():
    """docs/settings.md shows deployments/example.json and the README deployments/demo.json: same JSON."""
    for doc, name in (("docs/settings.md", "example.json"), ("README.md", "demo.json")):
        blocks = re.findall(r"```json\n(.*?)```", (PROJECT_ROOT / doc).read_text(), re.S)
        shipped = json.loads((PROJECT_ROOT / "deployments" / name).read_text())
        assert shipped in [json.loads(block) for block in blocks], f"{doc} does not show deployments/{name}"
