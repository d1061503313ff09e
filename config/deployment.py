"""The CDK context this app accepts, read the way the CDK CLI passes it, and the record of what a
synth used.

The CLI hands the app its context in the CDK_CONTEXT_JSON environment variable (or, when that is
too large, in a file named by CONTEXT_OVERFLOW_LOCATION_ENV), with `-c` values as strings. It keeps
only the last of repeated `-c key=...` flags without a word, so the app reads the CLI's own
command line to catch them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from config.profiles import load_deployment
from config.settings import Settings, SettingsError, settings_as_json, suggest

APP_KEYS = ("profile", "config", "overrides")
# CDK's own keys: feature flags, CLI-added keys, and what `cdk acknowledge` writes to cdk.context.json.
CDK_KEY_PREFIXES = ("@aws-cdk/", "@aws-cdk-containers/", "aws:cdk:", "aws-cdk:", "cdk-")
CDK_KEYS = ("acknowledged-issue-numbers",)
# The file in the cloud assembly that says which profile and settings file a synth used.
RECORD = "settings.json"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The context the CDK CLI passed, {} outside the CLI. Raises SettingsError when it is malformed."""
    context: dict[str, Any] = {}
    sources = [("CDK_CONTEXT_JSON", environ.get("CDK_CONTEXT_JSON"))]
    if overflow := environ.get("CONTEXT_OVERFLOW_LOCATION_ENV"):
        try:
            sources.append((f"the context file {overflow} (CONTEXT_OVERFLOW_LOCATION_ENV)", Path(overflow).read_text()))
        except OSError as error:
            raise SettingsError([f"CONTEXT_OVERFLOW_LOCATION_ENV={overflow}: cannot read it ({error.strerror})"]) \
                from None
    for name, text in sources:
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            value = error
        if not isinstance(value, dict):
            why = f"{value.msg} at column {value.colno}" if isinstance(value, json.JSONDecodeError) else "not an object"
            raise SettingsError([f"{name} is not a JSON object of context values ({why}): the CDK CLI sets it; if you "
                                 "set it by hand, unset it and pass context with -c KEY=VALUE"])
        context.update(value)
    return context


def parse_flags(args: Sequence[str]) -> list[tuple[str, str]]:
    """The (key, value) pairs of `-c KEY=VALUE` / `--context KEY=VALUE` flags among `args`, in order."""
    flags = []
    for i, arg in enumerate(args):
        if arg in ("-c", "--context") and i + 1 < len(args):
            text = args[i + 1]
        elif arg.startswith("--context="):
            text = arg.removeprefix("--context=")
        else:
            continue
        key, _, value = text.partition("=")
        flags.append((key, value))
    return flags


def cli_flags(environ: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """The -c flags of the CDK CLI process that runs this app, [] when there is none (or no /proc)."""
    if "CDK_CLI_VERSION" not in environ:
        return []
    pid = os.getppid()
    for _ in range(5):  # the CLI -> sh -c -> (env ->) python
        try:
            args = [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return []
        if any(Path(a).name == "cdk" or a.endswith(("aws-cdk/bin/cdk", "aws-cdk/lib/index.js")) for a in args[:3]):
            return parse_flags(args)
        if pid <= 1:
            return []
    return []


def _dotted_overrides(key: str, value: str) -> str:
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    for part in reversed(key.split(".")):
        parsed = {part: parsed}
    return json.dumps(parsed)


def _cdk_owned(key: str) -> bool:
    # CDK's prefixes, or a context-lookup result cached in cdk.context.json ("vpc-provider:account=...").
    return key.startswith(CDK_KEY_PREFIXES) or (":" in key and "account=" in key)


def check(context: Mapping[str, Any], flags: Iterable[tuple[str, str]], known_keys: Iterable[str]) -> None:
    """Reject unknown context keys, empty profile/config values and repeated -c flags, all at once."""
    known = set(APP_KEYS) | set(known_keys) | set(CDK_KEYS)
    problems = []
    for key, value in context.items():
        if key in known or _cdk_owned(key):
            continue
        if "." in key and key.split(".")[0] in Settings.__dataclass_fields__:
            hint = (f" (settings are changed with -c overrides='{_dotted_overrides(key, str(value))}' or in a "
                    "settings file, -c config=FILE)")
        else:
            hint = suggest(key, APP_KEYS)
        problems.append(f"-c {key}={_short(value)}: {key} is not a context key of this app{hint}; allowed: "
                        f"{', '.join(APP_KEYS)}, the keys of cdk.json's context, and CDK's own "
                        "(@aws-cdk/..., aws:cdk:...)")
    for key in ("profile", "config"):
        value = context.get(key, "x")
        if not isinstance(value, str) or not value.strip():
            what = "sandbox or prod (or leave it out for sandbox)" if key == "profile" else "the path of a settings file"
            problems.append(f"-c {key}={_short(value)} is {'empty' if isinstance(value, str) else 'not text'}: "
                            f"give {what}")
    given: dict[str, list[str]] = {}
    for key, value in flags:
        given.setdefault(key, []).append(value)
    problems += [f"-c {key}=... was given {len(values)} times ({'; '.join(map(_short, values))}): give each key "
                 "once (the CDK CLI would silently keep only the last): one JSON object for all overrides, or a "
                 "settings file (-c config=FILE)" for key, values in given.items() if len(values) > 1]
    if problems:
        raise SettingsError(problems, source="CDK context")


@dataclasses.dataclass(frozen=True)
class Deployment:
    settings: Settings
    config_file: str | None
    cli_overrides: bool  # overrides came from -c (on top of the file's, if any)


def resolve(context: Mapping[str, Any], cdk_json: Mapping[str, Any]) -> Deployment:
    """Check the app's context (`context` over cdk.json's, the CLI's over both, as cdk.App merges
    them) and load the settings it selects. Raises SettingsError."""
    effective = {**cdk_json, **context, **from_environment()}
    check(effective, cli_flags(), known_keys=cdk_json)
    config_file = effective.get("config")
    settings = load_deployment(config_file, effective.get("profile"), effective.get("overrides"))
    return Deployment(settings, config_file, "overrides" in effective)


def write_record(outdir: str | Path, used: Deployment) -> None:
    """Say in the cloud assembly which profile and settings file this synth used (scripts.summary prints it)."""
    record = {"profile": used.settings.profile, "settings_file": used.config_file,
              "cli_overrides": used.cli_overrides, "settings": settings_as_json(used.settings)}
    Path(outdir).mkdir(parents=True, exist_ok=True)
    (Path(outdir) / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def read_record(outdir: str | Path) -> dict[str, Any] | None:
    path = Path(outdir) / RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def describe(record: Mapping[str, Any] | None) -> str:
    """One line for the summary: which profile and settings file the synth used."""
    if record is None:
        return f"Settings: unknown (no {RECORD} in the cloud assembly: synthesize again)"
    source = f"settings file {record['settings_file']}" if record["settings_file"] else "no settings file"
    extra = ", plus -c overrides" if record["cli_overrides"] else ""
    return f"Settings: profile {record['profile']}, {source}{extra}"
