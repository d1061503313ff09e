"""Every shell command in README.md and docs/*.md works as written (issue 10), checked offline.

The commands are the lines of ```bash/```sh blocks and the inline `code` spans that start with a
command word. Each kind has its own check, against what really exists:
- make: `make -n` (a dry run) accepts the targets, the variables are ones the Makefile uses, and
  the commands the recipe would run pass their own checks (so STACKS=/CONFIG=/PROFILE= values
  reach the CDK CLI check below);
- the CDK CLI: the subcommand and every flag exist in the pinned CLI's --help, stack arguments are
  stack ids of the synthesized sandbox assembly (the CLI selects stacks by id, not by stack name:
  test_pinned_cli_selects_stacks_by_id), -c flags are accepted by the app;
- python -m ops: the arguments parse with the ops package's own parser; python app.py: the app's
  own context check; other python -m modules exist (and a project module handles each --flag);
- aws: the service, the operation and each parameter exist in botocore's service models.
An unknown command word in a shell block fails, so that a new kind of command gets a check.
Resource names given to those commands with the sandbox prefix (`--job-name mlspec-sbx-...`) exist
in the synthesized sandbox templates.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import difflib
import fnmatch
import functools
import importlib.util
import io
import itertools
import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

import app
from config import deployment
from config.settings import SettingsError
from stacks.app_factory import PROJECT_ROOT

ROOT = PROJECT_ROOT
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
CDK_ENV = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "1",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
CDK_JSON_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
MAKEFILE = (ROOT / "Makefile").read_text()
MAKE_VARIABLES = set(re.findall(r"\$[({]([A-Za-z_]\w*)[)}]", MAKEFILE))
MAKE_TARGETS = sorted(set(re.findall(r"^([\w-]+):(?!=)", MAKEFILE, re.M)))

SHELL_LANGUAGES = {"bash", "sh", "shell"}
PYTHONS = {"python", "python3", ".venv/bin/python"}
COMMAND_WORDS = {"make", "cdk", "node_modules/.bin/cdk", "npx", "aws", *PYTHONS}
IGNORED_WORDS = {"export", "cd", "git"}  # shell set-up lines in a block: nothing to check
ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
PLACEHOLDER = re.compile(r"<[^<>\n]*>")
SEPARATORS = {"&&", "||", ";", "|"}

# AWS CLI options that every command takes (value-taking, then switches), and the paginated ones.
AWS_GLOBAL_VALUES = {"--query", "--output", "--region", "--profile", "--cli-binary-format", "--endpoint-url",
                     "--max-items", "--starting-token", "--page-size"}
AWS_GLOBAL_SWITCHES = {"--no-paginate", "--debug", "--no-cli-pager"}
AWS_PAGINATION = {"--max-items", "--starting-token", "--page-size", "--no-paginate"}
AWS_CHOICES = {"--output": {"json", "text", "table", "yaml", "yaml-stream"},
               "--cli-binary-format": {"base64", "raw-in-base64-out"}}
AWS_CLI_SERVICES = {"s3api": "s3", "configservice": "config"}  # CLI names that are not botocore's
# Flags whose values name a deployed resource; with the sandbox prefix they must exist in its templates.
NAME_FLAGS = {"aws": {"--job-name", "--name", "--work-group", "--endpoint-name"}, "ops": {"--stream"}}
SANDBOX_PREFIX = "mlspec-sbx-"
ENVIRONMENT = r"aws://(\d{12}|unknown-account)/[\w-]+"  # what cdk bootstrap takes


def placeholder(value: str) -> bool:
    return ("<" in value and ">" in value) or "..." in value or value.startswith("$")


def suggestion(word: str, choices, prefix: str = "") -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# Finding the commands


@dataclasses.dataclass(frozen=True)
class Snippet:
    where: str  # file:line
    text: str
    inline: bool


def extract(markdown: str, name: str) -> list[Snippet]:
    """The lines of shell blocks (continuations joined) and the inline spans that start with a command."""
    snippets, prose, fence, pending = [], [], None, None
    for number, line in enumerate(markdown.splitlines(), 1):
        opening = re.match(r"\s*(`{3,}|~{3,})\s*([\w+-]*)", line)
        if fence is None and opening:
            fence = (opening.group(1), opening.group(2).lower())
            prose.append("")
            continue
        if fence is not None:
            prose.append("")
            if line.strip().startswith(fence[0]) and not line.strip().lstrip(fence[0][0]):
                fence = None
            elif fence[1] in SHELL_LANGUAGES and (line.strip() or pending):
                start, before = pending or (number, "")
                text = f"{before} {line.strip()}".strip()
                pending = (start, text[:-1].rstrip()) if text.endswith("\\") else None
                if pending is None and text:
                    snippets.append(Snippet(f"{name}:{start}", text, inline=False))
            continue
        prose.append(line)
    text = "\n".join(prose)
    for span in re.finditer(r"(`+)(.+?)\1", text, re.S):
        code = " ".join(span.group(2).split())
        words = PLACEHOLDER.sub(lambda m: m.group(0).replace(" ", "_"), code).split()
        first = next((w for w in words if not ASSIGNMENT.match(w)), "")
        if first in COMMAND_WORDS:
            snippets.append(Snippet(f"{name}:{text.count(chr(10), 0, span.start()) + 1}", code, inline=True))
    return snippets


def documented_snippets() -> list[Snippet]:
    return [s for path in DOC_FILES for s in extract(path.read_text(), str(path.relative_to(ROOT)))]


def split_commands(line: str, *, inline: bool = False) -> list[list[str]]:
    """The argv of each command on a shell line. Placeholders (`<its QueryString>`) stay one word; in
    an inline span `a|b|c` is a choice of words, so each choice is a command of its own."""
    words = shlex.split(PLACEHOLDER.sub(lambda m: m.group(0).replace(" ", "_"), line), comments=True)
    commands: list[list[str]] = [[]]
    for word in words:
        if word in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    if inline:
        alternatives = re.compile(r"[\w.-]+(\|[\w.-]+)+")
        choices = [[w.split("|") if alternatives.fullmatch(w) else [w] for w in c] for c in commands]
        commands = [list(p) for c in choices for p in itertools.product(*c)]
    return [c for c in commands if c]


def classify(argv: list[str]) -> tuple[str, list[str], list[str]]:
    """(kind, VAR=value words before the command, the command's arguments after its program words)."""
    env = list(itertools.takewhile(ASSIGNMENT.match, argv))
    words = argv[len(env):]
    word, rest = (words[0], words[1:]) if words else ("", [])
    if not words:
        return "assignment", env, []
    if word == "make":
        return "make", env, rest
    if word in ("cdk", "node_modules/.bin/cdk") or (word == "npx" and rest[:1] == ["cdk"]):
        return "cdk", env, rest[1:] if word == "npx" else rest
    if word in PYTHONS and rest[:2] == ["-m", "ops"]:
        return "ops", env, rest[2:]
    if word in PYTHONS and rest[:1] == ["-m"] and len(rest) > 1:
        return "module", env, rest[1:]
    if word in PYTHONS and rest[:1] == ["app.py"]:
        return "app", env, rest[1:]
    if word == "aws":
        return "aws", env, rest
    return ("ignored" if word in IGNORED_WORDS else "unknown"), env, words


# ---------------------------------------------------------------------------------------------
# The pinned CDK CLI's help


@dataclasses.dataclass(frozen=True)
class CliHelp:
    options: dict[str, tuple[str, tuple[str, ...]]]  # --flag or -f -> (yargs type, choices)
    commands: dict[str, tuple[str, str]]  # command or alias -> (command, its positional: STACKS, ...)


def parse_help(text: str) -> CliHelp:
    options: dict[str, tuple[str, tuple[str, ...]]] = {}
    commands: dict[str, tuple[str, str]] = {}
    entries: list[list] = []  # [names, text] of each option
    section = ""
    for line in text.splitlines():
        if re.match(r"\S.*:$", line):
            section = line
        elif line and not line.startswith(" "):
            section = ""
        elif section == "Commands:" and (m := re.match(r"  cdk (\S+)(?: \[(\w+)(?:\.\.)?\])?", line)):
            commands[m.group(1)] = last_command = (m.group(1), m.group(2) or "")
        if section == "Commands:" and (m := re.search(r"\[aliases: ([^\]]+)\]", line)):  # maybe a line later
            commands.update(dict.fromkeys(m.group(1).split(", "), last_command))
        if section != "Options:":
            continue
        if m := re.match(r"  (-{1,2}[\w-]+(?:, -{1,2}[\w-]+)*)(?=\s|$)", line):
            entries.append([m.group(1).split(", "), line[m.end():]])
        elif entries and (m := re.match(r"  ([^\s-]\S*)", line)):  # a long flag name wrapped onto this line
            entries[-1][0][-1] += m.group(1)
            entries[-1][1] += " " + line[m.end():]
        elif entries:
            entries[-1][1] += " " + line.strip()
    for names, description in entries:
        kind = re.search(r"\[(boolean|count|string|array|number)\]", description)
        choices = re.search(r"\[choices: ([^\]]+)\]", description)
        for name in names:
            options[name] = (kind.group(1) if kind else "string",
                             tuple(re.findall(r'"([^"]*)"', choices.group(1))) if choices else ())
    return CliHelp(options, commands)


class PinnedCdk:
    """`cdk [COMMAND] --help` of the pinned CLI, each run once and in parallel (~1 s each)."""

    def __init__(self, commands=()):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
        self._help: dict[str, concurrent.futures.Future] = {}
        for command in ("", *commands):
            self._start(command)

    def run(self, args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
        return subprocess.run([str(CDK), "--no-notices", *args], cwd=cwd, env=CDK_ENV,
                              capture_output=True, text=True, timeout=120)

    def _start(self, command: str) -> concurrent.futures.Future:
        if command not in self._help:
            self._help[command] = self._pool.submit(
                lambda: parse_help(self.run([command, "--help"] if command else ["--help"]).stdout))
        return self._help[command]

    def help(self, command: str = "") -> CliHelp:
        return self._start(command).result()

    def submit(self, *args, **kwargs) -> concurrent.futures.Future:
        return self._pool.submit(self.run, *args, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# The checks: each returns the problems of one command, [] when it works as written


def app_context_problems(argv: list[str]) -> list[str]:
    """What the app says about its -c flags (python app.py ARGS, or the CDK CLI's -c flags)."""
    if not argv:
        return []
    try:
        context = app.context_from_args(argv)
        if any(placeholder(v) for v in context.values()):
            deployment.check(context, deployment.parse_flags(argv), known_keys=CDK_JSON_CONTEXT)
        else:
            with contextlib.chdir(ROOT):  # a settings file path is relative to the project
                deployment.resolve(context, CDK_JSON_CONTEXT)
    except SettingsError as error:
        return [p for p in error.problems if not p.startswith("usage:")]
    return []


def check_ops(args: list[str]) -> list[str]:
    from ops.__main__ import parser
    from ops.cli import UsageError, deployment_settings

    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            parsed = parser().parse_args(args)
    except SystemExit as exit_:
        return [] if exit_.code == 0 else [errors.getvalue().strip().splitlines()[-1]]
    if getattr(parsed, "config", None) and not placeholder(parsed.config):
        try:
            with contextlib.chdir(ROOT):
                deployment_settings(parsed)
        except UsageError as error:
            return [str(error)]
    return []


def check_module(args: list[str]) -> list[str]:
    name, flags = args[0], [a.split("=")[0] for a in args[1:] if a.startswith("-")]
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return [f"no module {name}"]
    origin = Path(spec.origin or "")
    if not origin.is_relative_to(ROOT) or ".venv" in origin.parts:
        return []  # a tool's module (pytest): its flags are its own business
    source = origin.read_text()
    return [f"{name} does not handle {flag}" for flag in flags if f'"{flag}"' not in source]


def negated(member):
    """A boolean parameter given as --no-name."""
    return member if member and member[1].type_name == "boolean" else None


@functools.cache
def botocore_session():
    return botocore.session.get_session()


def check_aws(args: list[str]) -> list[str]:
    if len(args) < 2:
        return ["expected aws SERVICE OPERATION [--parameter value ...]"]
    service, operation = args[0], args[1]
    session = botocore_session()
    name = AWS_CLI_SERVICES.get(service, service)
    if name not in session.get_available_services():
        return [f"no AWS service {service}{suggestion(service, session.get_available_services())}"]
    model = session.get_service_model(name)
    operations = {xform_name(o, "-"): o for o in model.operation_names}
    if operation not in operations:
        return [f"{service} has no operation {operation}{suggestion(operation, operations)}"]
    op = model.operation_model(operations[operation])
    inputs = op.input_shape.members if op.input_shape else {}
    members = {xform_name(m, "-"): (m, shape) for m, shape in inputs.items()}
    try:
        paginated = bool(session.get_paginator_model(name).get_paginator(op.name))
    except Exception:  # no paginator model for the service, or none for the operation
        paginated = False
    problems, given, positionals, i = [], set(), [], 2
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("--"):
            positionals.append(arg)
            continue
        flag = arg[2:]
        if arg in AWS_PAGINATION and not paginated:
            problems.append(f"{arg}: {service} {operation} is not paginated")
        if arg in AWS_GLOBAL_VALUES:
            if i == len(args):
                problems.append(f"{arg} needs a value")
            elif arg in AWS_CHOICES and args[i] not in AWS_CHOICES[arg]:
                problems.append(f"{arg} {args[i]}: allowed {', '.join(sorted(AWS_CHOICES[arg]))}")
            i += 1
        elif arg in AWS_GLOBAL_SWITCHES:
            pass
        elif member := members.get(flag) or negated(members.get(flag.removeprefix("no-"))):
            name, shape = member
            given.add(name)
            if shape.type_name == "boolean":
                continue
            values = list(itertools.takewhile(lambda a: not a.startswith("--"), args[i:]))
            if not values:
                problems.append(f"{arg} needs a value")
            i += len(values) if shape.type_name == "list" else min(len(values), 1)
        else:
            problems.append(f"{service} {operation} has no parameter {arg}{suggestion(flag, members, '--')}")
            i += 1 if i < len(args) and not args[i].startswith("--") else 0  # its value, not a positional
    if positionals and not (op.has_streaming_output and len(positionals) == 1):
        problems.append(f"unexpected argument(s) {' '.join(positionals)}")
    if op.has_streaming_output and not positionals:
        problems.append(f"{service} {operation} needs an output file argument")
    required = [m for m in (op.input_shape.required_members if op.input_shape else [])
                if not inputs[m].metadata.get("idempotencyToken")]  # the AWS CLI generates those
    problems += [f"{service} {operation} needs --{xform_name(m, '-')}" for m in required if m not in given]
    return problems


def read_flags(args: list[str], options, *, until_command: bool = False) -> tuple[list[str], list[str]]:
    """Read CDK CLI arguments as yargs does: (problems of the flags and -c values, positionals). With
    until_command, stop at the first positional (the command) and return it and all after it."""
    problems, positionals, context, i = [], [], [], 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            if until_command:
                positionals = args[i - 1:]
                break
            positionals.append(arg)
            continue
        flag, has_value, value = arg.partition("=")
        spec = options.get(flag)
        if spec is None and flag.startswith("--no-") and options.get("--" + flag[5:], ("",))[0] == "boolean":
            spec = ("boolean", ())  # yargs takes --no-X for any boolean --X
        if spec is None:
            problems.append(f"the pinned CDK CLI has no option {flag}{suggestion(flag, options)}")
            continue
        kind, choices = spec
        if kind in ("boolean", "count"):
            continue
        if not has_value:
            if i == len(args):
                problems.append(f"{flag} needs a value")
                continue
            value, i = args[i], i + 1
        if choices and value not in choices:
            problems.append(f"{flag} {value}: allowed {', '.join(choices)}")
        if flag in ("-c", "--context"):
            context += ["-c", value]
    return problems + app_context_problems(context), positionals


@dataclasses.dataclass
class Checker:
    stack_ids: frozenset[str]
    cdk: PinnedCdk

    def check(self, line: str, *, inline: bool = False) -> list[str]:
        """The problems of every command on one documented line."""
        try:
            commands = split_commands(line, inline=inline)
        except ValueError as error:
            return [f"cannot read it as a shell line: {error}"]
        problems = []
        for argv in commands:
            kind, env, args = classify(argv)
            if inline and not args and kind in ("make", "cdk", "ops", "aws"):
                continue  # `make`, `python -m ops`: a program's name in prose, not a command
            if kind == "unknown":
                problems.append(f"{argv[0]}: no check for this command (add one to {Path(__file__).name})")
            elif kind not in ("ignored", "assignment"):
                problems += self.check_kind(kind, env, args)
        return problems

    def check_kind(self, kind: str, env: list[str], args: list[str]) -> list[str]:
        if kind == "make":
            return self.check_make(env, args)
        if kind == "cdk":
            return self.check_cdk(args)
        checks = {"ops": check_ops, "module": check_module, "app": app_context_problems, "aws": check_aws}
        return checks[kind](args)

    def check_make(self, env: list[str], args: list[str]) -> list[str]:
        assignments = [a.split("=", 1) for a in env + [a for a in args if "=" in a]]
        used = ", ".join(sorted(MAKE_VARIABLES))
        problems = [f"{name}: the Makefile uses no such variable (it uses {used})"
                    for name, _ in assignments if name not in MAKE_VARIABLES]
        # A dry run (make -n prints the recipes, runs nothing), without this shell's make variables.
        outer = MAKE_VARIABLES | {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
        environment = {k: v for k, v in os.environ.items() if k not in outer}
        environment.update(a.split("=", 1) for a in env)
        dry = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=ROOT, env=environment,
                             capture_output=True, text=True, timeout=60)
        if dry.returncode != 0:
            error = dry.stderr.strip().splitlines()[-1].removeprefix("make: *** ")
            target = re.search(r"target '([^']*)'", error)
            return problems + [error + (suggestion(target.group(1), MAKE_TARGETS) if target else "")]
        for recipe_line in dry.stdout.splitlines():
            for argv in split_commands(recipe_line):
                kind, _, recipe_args = classify(argv)
                if kind in ("cdk", "ops", "module", "app", "aws"):
                    problems += [f"runs `{shlex.join(argv)}`: {problem}"
                                 for problem in self.check_kind(kind, [], recipe_args)]
        return problems

    def check_cdk(self, args: list[str]) -> list[str]:
        top = self.cdk.help()
        problems, rest = read_flags(args, top.options, until_command=True)
        if not rest:
            return problems + ["no CDK CLI command"]
        command = rest[0]
        if command not in top.commands:
            return problems + [f"the pinned CDK CLI has no command {command}"
                               f"{suggestion(command, top.commands)}"]
        canonical, positional_kind = top.commands[command]
        more, positionals = read_flags(rest[1:], self.cdk.help(canonical).options)
        problems += more
        for value in positionals:
            if placeholder(value):
                continue
            if not positional_kind:
                problems.append(f"cdk {canonical} takes no argument {value}")
            elif positional_kind.startswith("STACK") and not fnmatch.filter(self.stack_ids, value):
                problems.append(f"{value} is not a stack id of the app; the CDK CLI takes stack ids: "
                                f"{', '.join(sorted(self.stack_ids))} (or --all)")
            elif positional_kind == "ENVIRONMENTS" and not re.fullmatch(ENVIRONMENT, value):
                problems.append(f"{value} is not an environment aws://ACCOUNT/REGION")
        return problems


def cdk_commands_in(snippets: list[Snippet]) -> set[str]:
    """The CDK CLI commands the docs use (directly or via make), to start their --help early."""
    words = {w for s in snippets for w in re.findall(r"\bcdk(?: --?[\w-]+)* ([a-z][\w-]*)", s.text)}
    return words | {"synth", "deploy", "destroy", "diff", "bootstrap"}


def deployed_names(snippet: Snippet) -> Iterator[str]:
    """Values of resource-name flags that name a sandbox resource (`--job-name mlspec-sbx-...`)."""
    for argv in split_commands(snippet.text, inline=snippet.inline):
        kind, _, args = classify(argv)
        for flag, value in zip(args, args[1:]):
            if flag in NAME_FLAGS.get(kind, ()) and value.startswith(SANDBOX_PREFIX):
                yield value


def template_names(templates: dict[str, dict]) -> set[str]:
    """Literal resource names (properties named ...Name) and literal output values of the templates."""
    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, k)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v, key)
        elif isinstance(node, str) and key.endswith("Name"):
            yield node

    names = set()
    for template in templates.values():
        for resource in template["Resources"].values():
            names |= set(walk(resource.get("Properties", {})))
        names |= {o["Value"] for o in template.get("Outputs", {}).values() if isinstance(o["Value"], str)}
    return names


# ---------------------------------------------------------------------------------------------
# Fixtures and tests


@pytest.fixture(scope="session")
def pinned_cdk() -> Iterator[PinnedCdk]:
    cli = PinnedCdk(sorted(cdk_commands_in(documented_snippets())))
    yield cli
    cli.close()


@pytest.fixture(scope="session")
def checker(pinned_cdk, sandbox) -> Checker:  # pinned_cdk first: its --help calls run during the synth
    return Checker(frozenset(sandbox.built.stacks), pinned_cdk)


def test_every_documented_command_works_as_written(checker):
    snippets = documented_snippets()
    kinds = {classify(argv)[0] for s in snippets for argv in split_commands(s.text, inline=s.inline)}
    assert {"make", "cdk", "ops", "app", "module", "aws"} <= kinds, f"commands of the docs not found: {kinds}"
    problems = [f"{s.where}: {s.text}\n      {problem}"
                for s in snippets for problem in checker.check(s.text, inline=s.inline)]
    assert not problems, f"{len(problems)} problem(s) in documented commands:\n" + "\n".join(problems)


def test_resource_names_in_the_docs_exist_in_the_sandbox_templates(sandbox):
    used = {(s.where, name) for s in documented_snippets() for name in deployed_names(s)}
    names = {name for _, name in used}
    assert {"mlspec-sbx-pipeline-endpoint", "mlspec-sbx-raw-to-curated", "mlspec-sbx-analytics"} <= names
    known = template_names(sandbox.templates)
    missing = sorted(f"{where}: {name}" for where, name in used if name not in known)
    assert not missing, "names in the docs that no sandbox template defines:\n" + "\n".join(missing)


def test_a_misspelt_resource_name_is_caught(sandbox):
    known = template_names(sandbox.templates)
    good, bad = (list(deployed_names(Snippet("x:1", f"aws glue start-job-run --job-name {name}", True)))
                 for name in ("mlspec-sbx-raw-to-curated", "mlspec-sbx-raw-to-curate"))
    assert good == ["mlspec-sbx-raw-to-curated"] and set(good) <= known
    assert bad == ["mlspec-sbx-raw-to-curate"] and not set(bad) & known


def test_pinned_cli_selects_stacks_by_id(pinned_cdk, sandbox):
    """The premise of the stack check: the CLI lists the assembly's stacks by id and finds no stack
    by its CloudFormation name (issue 10: `cdk deploy mlspec-sbx-streaming` -> 'No stacks match')."""
    app_, where = ["--app", str(sandbox.assembly_dir)], sandbox.assembly_dir.parent
    listing = pinned_cdk.submit(["ls", *app_], cwd=where)
    by_name = pinned_cdk.submit(["synth", "--quiet", *app_, "mlspec-sbx-streaming"], cwd=where)
    assert {line.split()[0] for line in listing.result().stdout.splitlines() if line.strip()} \
        == {"DataLake", "Streaming", "Catalog", "MlNetwork", "SageMaker", "Audit"} == set(sandbox.built.stacks)
    assert by_name.result().returncode != 0
    assert "No stacks match the name(s) mlspec-sbx-streaming" in by_name.result().stderr


# (works, broken, what the message must name): each mistake is caught, and its fix is not.
MISTAKES = [
    ("node_modules/.bin/cdk deploy Streaming", "node_modules/.bin/cdk deploy mlspec-sbx-streaming",
     "mlspec-sbx-streaming is not a stack id"),
    ("make deploy", "make deploi", "No rule to make target 'deploi'"),
    ("aws athena start-query-execution --work-group x --query-string q",
     "aws athena start-query --work-group x",
     "athena has no operation start-query (did you mean start-query-execution?)"),
    ("node_modules/.bin/cdk diff --fail", "node_modules/.bin/cdk diff --alll", "no option --alll"),
    # The pinned CLI's diff has no --all (yargs would only warn and ignore it); deploy has.
    ("node_modules/.bin/cdk deploy --all", "node_modules/.bin/cdk diff --all", "no option --all"),
    ("python -m ops smoke --train", "python -m ops smoke --trian", "unrecognized arguments: --trian"),
    ("make deploy STACKS=Streaming", "make deploy STACKS=mlspec-sbx-streaming",
     "mlspec-sbx-streaming is not a stack id"),
    ("make deploy STACKS=Streaming", "make deploy STACK=Streaming",
     "STACK: the Makefile uses no such variable"),
    ("CONFIG=deployments/demo.json make synth", "CONFIG=deployments/nope.json make synth",
     "deployments/nope.json"),
    ("PROFILE=prod make synth", "PROFILE=production make synth", "production"),
    ("npx cdk synth -c profile=prod", "npx cdk synth -c prfile=prod", "prfile is not a context key"),
    ("npx cdk deploy --require-approval never", "npx cdk deploy --require-approval sometimes", "sometimes"),
    ("npx cdk bootstrap aws://123456789012/eu-west-1", "npx cdk bootstrap 123456789012",
     "aws://ACCOUNT/REGION"),
    ("npx cdk synth", "npx cdk synthesise", "no command synthesise"),
    ("python app.py -c config=deployments/example.json", "python app.py -c config=deployments/nope.json",
     "deployments/nope.json"),
    ("python -m scripts.docs --write", "python -m scripts.docs --rewrite", "does not handle --rewrite"),
    ("aws glue start-crawler --name c", "aws glue start-crawler --crawler-name c",
     "no parameter --crawler-name"),
    ("aws athena start-query-execution --query-string q", "aws athena start-query-execution --work-group w",
     "needs --query-string"),
    ("aws glue get-job-runs --job-name j --max-items 1",
     "aws glue get-job-run --job-name j --run-id r --max-items 1",
     "not paginated"),
    ("aws sagemaker-runtime invoke-endpoint --endpoint-name e --body b out.json",
     "aws sagemaker-runtime invoke-endpoint --endpoint-name e --body b", "needs an output file"),
    ("git clone https://example.com/repo.git", "terraform apply", "terraform: no check for this command"),
]


@pytest.mark.parametrize(("works", "broken", "message"), MISTAKES, ids=[m[1] for m in MISTAKES])
def test_a_broken_command_is_rejected_and_its_fix_is_not(checker, works, broken, message):
    assert checker.check(works) == []
    problems = checker.check(broken)
    assert any(message in p for p in problems), problems


def test_commands_are_found_in_shell_blocks_and_inline_spans():
    markdown = "\n".join([
        "Run `make synth` (needs `uv` and `make`), `CONFIG=<a file> make synth`,",  # 1
        "`python -m ops send-events|smoke`.",
        "```bash",
        "make test   # all of it",  # 4
        "export AWS_PROFILE=x",
        "node_modules/.bin/cdk synth \\",  # 6
        "    -c profile=prod",
        "```",
        "```json",
        '{"make": "`make nothing`"}',  # 10
        "```",
        "   ```sh",
        "   aws glue start-crawler --name x",  # 13
        "   ```",
        "Then `aws athena get-named-query",  # 15
        "--named-query-id <id>`.",
    ])
    found = [(s.where, s.text, s.inline) for s in extract(markdown, "doc.md")]
    assert found == [
        ("doc.md:4", "make test   # all of it", False),
        ("doc.md:5", "export AWS_PROFILE=x", False),
        ("doc.md:6", "node_modules/.bin/cdk synth -c profile=prod", False),
        ("doc.md:13", "aws glue start-crawler --name x", False),
        ("doc.md:1", "make synth", True),
        ("doc.md:1", "make", True),
        ("doc.md:1", "CONFIG=<a file> make synth", True),
        ("doc.md:2", "python -m ops send-events|smoke", True),
        ("doc.md:15", "aws athena get-named-query --named-query-id <id>", True),
    ]
    assert split_commands("python -m ops send-events|smoke --help", inline=True) == [
        ["python", "-m", "ops", "send-events", "--help"], ["python", "-m", "ops", "smoke", "--help"]]
    assert split_commands('x=$(a) && aws athena get-named-query --named-query-id "<its Id>"  # c') == [
        ["x=$(a)"], ["aws", "athena", "get-named-query", "--named-query-id", "<its_Id>"]]
