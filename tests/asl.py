"""A small Amazon States Language walker for the pipeline's control flow.

It runs a definition's states in order with every Task answered by a scripted fake, and supports
exactly what the training, deploy and batch transform pipelines use: Pass (Parameters, ResultPath,
the States.Format, States.UUID, States.StringSplit and States.ArrayGetItem intrinsics), Task
(ResultSelector, ResultPath, Catch), Choice (StringEquals, StringEqualsPath, IsPresent, StringMatches,
And, Or), Wait, Succeed and Fail. Retries and timing are not modelled. Anything else
raises, so a definition that grows past this walker fails loudly instead of passing untested.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from typing import Any


class TaskError(Exception):
    def __init__(self, error: str, cause: str = ""):
        super().__init__(error)
        self.error, self.cause = error, cause


def get(document: Any, path: str) -> Any:
    """`$.a.b[0].c`; KeyError or IndexError when absent."""
    if path == "$":
        return document
    value = document
    for part in path.removeprefix("$.").split("."):
        name, *indexes = re.findall(r"[^\[\]]+", part)
        value = value[name]
        for index in indexes:
            value = value[int(index)]
    return value


def present(document: Any, path: str) -> bool:
    try:
        get(document, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def put(document: dict, path: str, value: Any) -> dict:
    if path == "$":
        return value
    result = copy.deepcopy(document)
    target = result
    parts = path.removeprefix("$.").split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return result


def intrinsic(expression: str, document: dict | None = None) -> Any:
    """Evaluate the intrinsic functions the pipelines use: States.Format, States.UUID,
    States.StringSplit and States.ArrayGetItem, with string, number and path arguments."""
    value, rest = _call(expression.strip(), document or {})
    if rest.strip():
        raise NotImplementedError(f"intrinsic {expression}")
    return value


def _call(text: str, document: dict) -> tuple[Any, str]:
    if text.startswith("'"):
        end = text.index("'", 1)
        return text[1:end], text[end + 1:]
    if text.startswith("$"):
        match = re.match(r"\$[\w.\[\]]*", text)
        return get(document, match.group(0)), text[match.end():]
    number = re.match(r"-?\d+", text)
    if number:
        return int(number.group(0)), text[number.end():]
    match = re.match(r"States\.(\w+)\(", text)
    if not match:
        raise NotImplementedError(f"intrinsic {text}")
    name, rest, args = match.group(1), text[match.end():].lstrip(), []
    while not rest.startswith(")"):
        value, rest = _call(rest.lstrip(), document)
        args.append(value)
        rest = rest.lstrip().removeprefix(",").lstrip()
    rest = rest[1:]
    if name == "UUID" and not args:
        return str(uuid.uuid4()), rest
    if name == "Format":
        template, *values = args
        for value in values:
            template = template.replace("{}", str(value), 1)
        return template, rest
    if name == "StringSplit":
        return [part for part in args[0].split(args[1]) if part], rest
    if name == "ArrayGetItem":
        return args[0][args[1]], rest
    raise NotImplementedError(f"intrinsic States.{name}")


def resolve(template: Any, document: dict) -> Any:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = intrinsic(value, document) if value.startswith("States.") else get(document, value)
            else:
                out[key] = resolve(value, document)
        return out
    if isinstance(template, list):
        return [resolve(v, document) for v in template]
    return template


def condition(rule: dict, document: dict) -> bool:
    if "And" in rule:
        return all(condition(r, document) for r in rule["And"])
    if "Or" in rule:
        return any(condition(r, document) for r in rule["Or"])
    if "StringEquals" in rule:
        return get(document, rule["Variable"]) == rule["StringEquals"]
    if "StringEqualsPath" in rule:
        return get(document, rule["Variable"]) == get(document, rule["StringEqualsPath"])
    if "IsPresent" in rule:
        return present(document, rule["Variable"]) == rule["IsPresent"]
    if "StringMatches" in rule:  # only the "*" wildcard (no escapes), as the definitions here use it
        value = get(document, rule["Variable"])
        pattern = ".*".join(map(re.escape, rule["StringMatches"].split("*")))
        return isinstance(value, str) and re.fullmatch(pattern, value, re.DOTALL) is not None
    raise NotImplementedError(f"choice rule {rule}")


def run(definition: dict, tasks: Callable[[str, dict], Any], document: dict | None = None,
        max_steps: int = 200) -> tuple[str, list[str], dict]:
    """(final state type and name, visited state names, final document). `tasks(name, parameters)`
    returns the task's result or raises TaskError."""
    document = document or {}
    name, visited = definition["StartAt"], []
    for _ in range(max_steps):
        visited.append(name)
        state = definition["States"][name]
        kind = state["Type"]
        if kind in ("Succeed", "Fail"):
            return f"{kind}:{name}", visited, document
        if kind == "Pass":
            document = put(document, state.get("ResultPath", "$"), resolve(state.get("Parameters", {}), document))
        elif kind == "Wait":
            pass
        elif kind == "Choice":
            name = next((c["Next"] for c in state["Choices"] if condition(c, document)), state.get("Default"))
            if name is None:
                raise AssertionError(f"no choice matched in {visited[-1]}: {document}")
            continue
        elif kind == "Task":
            try:
                result = tasks(name, resolve(state.get("Parameters", {}), document))
            except TaskError as error:
                catcher = next((c for c in state.get("Catch", []) if error.error in c["ErrorEquals"]
                                or "States.ALL" in c["ErrorEquals"]
                                or ("States.TaskFailed" in c["ErrorEquals"] and not error.error.startswith("States."))),
                               None)
                if catcher is None:
                    return f"Unhandled:{error.error}", visited, document
                document = put(document, catcher.get("ResultPath", "$"), {"Error": error.error, "Cause": error.cause})
                name = catcher["Next"]
                continue
            if "ResultSelector" in state:
                result = resolve(state["ResultSelector"], result)
            document = put(document, state.get("ResultPath", "$"), result)
        else:
            raise NotImplementedError(f"state type {kind}")
        if state.get("End"):
            return f"End:{name}", visited, document
        name = state["Next"]
    raise AssertionError(f"no end after {max_steps} steps: {visited[-10:]}")
