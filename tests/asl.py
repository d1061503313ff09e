"""A small Amazon States Language walker for the pipeline's control flow.

It runs a definition's states in order with every Task answered by a scripted fake, and supports
exactly what the training, deploy and batch transform pipelines use: Pass (Parameters, ResultPath,
the States.Format, States.UUID, States.StringSplit and States.ArrayGetItem intrinsics), Task
(ResultSelector, ResultPath, Catch), Choice (StringEquals, StringEqualsPath, IsPresent, StringMatches,
And, Or), Wait, Succeed and Fail. Retries and timing are not modelled. Anything else
raises, so a definition that grows past this walker fails loudly instead of passing untested.

`request_problems` checks a Task's Parameters against the SageMaker API's input shape in botocore's
service model (service-2.json): required members, unknown members (casing included), types, enums,
lengths and ranges, recursively; values taken from the document (`.$` keys) and CloudFormation
tokens are checked for presence only.
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


# Step Functions' optimized SageMaker integrations and the API operation each one calls.
OPTIMIZED_SAGEMAKER = {"createEndpoint", "createEndpointConfig", "createHyperParameterTuningJob", "createLabelingJob",
                       "createModel", "createProcessingJob", "createTrainingJob", "createTransformJob",
                       "updateEndpoint"}


def sagemaker_operation(resource: str) -> str:
    """The SageMaker API operation a Task's Resource calls: `arn:...:states:::sagemaker:createModel`,
    `...:sagemaker:createTransformJob.sync` or `...:aws-sdk:sagemaker:describeEndpoint`. Raises for
    anything Step Functions would not accept as a SageMaker integration."""
    action = resource.split(":states:::", 1)[1]
    if action.startswith("aws-sdk:sagemaker:"):
        name = action.removeprefix("aws-sdk:sagemaker:")
        if not name[:1].islower():  # the SDK integration names actions in camelCase
            raise ValueError(f"{resource}: the AWS SDK integration names the action in camelCase")
    elif action.startswith("sagemaker:") and action.removeprefix("sagemaker:").removesuffix(".sync") in OPTIMIZED_SAGEMAKER:
        name = action.removeprefix("sagemaker:").removesuffix(".sync")
    else:
        raise ValueError(f"{resource}: not a Step Functions SageMaker integration")
    return name[0].upper() + name[1:]


def _token(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


def _shape_problems(shape: Any, value: Any, path: str) -> list[str]:
    kind = shape.type_name
    if _token(value):  # a CloudFormation token (tests render them as <...>): known at deploy time only
        return [] if kind == "string" else [f"{path}: a token where the API takes a {kind}"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: the API takes an object"]
        given = {key.removesuffix(".$"): key for key in value}
        problems = [f"{path}.{name}: required" for name in shape.required_members if name not in given]
        for name, key in given.items():
            if name not in shape.members:
                problems.append(f"{path}.{name}: no such member (members: {', '.join(shape.members)})")
            elif not key.endswith(".$"):
                problems += _shape_problems(shape.members[name], value[key], f"{path}.{name}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: the API takes a list"]
        problems = [f"{path}: at least {shape.metadata['min']} items"] if len(value) < shape.metadata.get("min", 0) else []
        return problems + [p for i, item in enumerate(value) for p in _shape_problems(shape.member, item, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: the API takes a map"]
        return [p for k, item in value.items() for p in _shape_problems(shape.value, item, f"{path}[{k}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: the API takes a string, not {value!r}"]
        if shape.enum and value not in shape.enum:
            return [f"{path}: {value!r} is not one of {shape.enum}"]
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
        if len(value) < low or (high is not None and len(value) > high):
            return [f"{path}: {len(value)} characters, allowed {low}..{high}"]
        return []
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: the API takes an integer, not {value!r}"]
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            return [f"{path}: {value} outside {low}..{high}"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: the API takes a boolean, not {value!r}"]
    if kind in ("float", "double"):
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{path}: a number"]
    return [f"{path}: unchecked shape type {kind}"]


def request_problems(state: dict) -> list[str]:
    """What SageMaker would reject in a Task's request before running anything (empty: none)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    operation = sagemaker_operation(state["Resource"])
    if operation not in model.operation_names:
        return [f"{operation}: SageMaker has no such operation"]
    return _shape_problems(model.operation_model(operation).input_shape, state.get("Parameters", {}), operation)


def output_shape(state: dict) -> Any:
    """What a Task returns: the operation's output, or for `.sync` the job's Describe output (what
    Step Functions returns once the job ends, e.g. DescribeHyperParameterTuningJob's)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    operation = sagemaker_operation(state["Resource"])
    if state["Resource"].endswith(".sync"):
        operation = "Describe" + operation.removeprefix("Create")
    return model.operation_model(operation).output_shape


def selector_problems(state: dict) -> list[str]:
    """ResultSelector paths that the Task's output shape does not have (a missing path is a
    States.Runtime error, which no Catch handles)."""
    problems = []
    for key, path in state.get("ResultSelector", {}).items():
        if not key.endswith(".$") or path == "$":
            continue
        shape = output_shape(state)
        for part in path.removeprefix("$.").split("."):
            name = re.sub(r"\[\d+\]$", "", part)
            if shape.type_name != "structure" or name not in shape.members:
                problems.append(f"{key}: {path} ({name} is not in the output)")
                break
            shape = shape.members[name]
            if part != name:
                shape = shape.member
    return problems
