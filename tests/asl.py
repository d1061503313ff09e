"""A small Amazon States Language walker for the pipeline's control flow.

It runs a definition's states in order with every Task answered by a scripted fake, and supports
exactly what the training pipeline and the batch transform use: Pass (Parameters, ResultPath, the
States.Format and States.UUID intrinsics), Task (ResultSelector, ResultPath, Catch), Choice
(StringEquals, StringEqualsPath, IsPresent, StringMatches, And, Or), Wait, Succeed and Fail. Retries and timing are not modelled. Anything else
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


def intrinsic(expression: str, document: dict | None = None) -> str:
    """States.Format('...{}...', arg, ...) whose args are States.UUID(), 'literals' or JSONPaths."""
    expression = re.sub(r"States\.UUID\(\)", lambda _: f"'{uuid.uuid4()}'", expression)
    match = re.fullmatch(r"States\.Format\('([^']*)'((?:, *(?:'[^']*'|\$[\w.\[\]]+))+)\)", expression)
    if not match:
        raise NotImplementedError(f"intrinsic {expression}")
    text = match.group(1)
    for arg in re.findall(r"'[^']*'|\$[\w.\[\]]+", match.group(2)):
        text = text.replace("{}", arg[1:-1] if arg.startswith("'") else str(get(document or {}, arg)), 1)
    return text


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
