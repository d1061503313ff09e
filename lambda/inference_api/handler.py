"""The inference API's Lambda: a JSON request from API Gateway (REST, proxy integration) -> CSV rows
in the model's feature order -> sagemaker-runtime InvokeEndpoint -> JSON predictions.

Request body: {"instances": [{"temperature_c": 71.5, "humidity_pct": 40.25, "battery_pct": 88}, ...]}
Response:     200 {"predictions": [<the model's output for each row>]}: a number per row (binary or
              regression objectives) or a list of class probabilities per row (multi:softprob, the
              app's default: [[p_ok, p_warning, p_fault], ...]).

The API validates the body against the same schema first (request model); this handler checks again,
so it is safe behind any trigger, and its messages name the field. Errors are JSON {"message": ...}:
400 bad JSON or fields, 413 too many rows, 429 throttled, 502 the model or endpoint failed (a model
error carries the model's own status; an answer that is not one prediction per row is 502 too),
503 endpoint not deployed yet or not ready, 504 timeout.
No stack trace or payload is ever returned or logged: one structured log line per request.

Configuration (environment): ENDPOINT_NAME, FEATURES (JSON list of {name, type: number|integer,
required, minimum, maximum}), MISSING_VALUE (written for an absent optional feature), MAX_ROWS.
Standard library and boto3 only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import os
import re
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

# API Gateway gives up on an integration after 29 s: answer 504 well before that, and do not retry
# (a throttled or busy endpoint is reported to the caller, who may retry with backoff).
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=20, retries={"total_max_attempts": 1})
JSON_HEADERS = {"Content-Type": "application/json"}


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@functools.cache
def settings() -> dict[str, Any]:
    return {"endpoint": os.environ["ENDPOINT_NAME"], "features": json.loads(os.environ["FEATURES"]),
            "missing": os.environ.get("MISSING_VALUE", "-1"), "max_rows": int(os.environ.get("MAX_ROWS", "100"))}


@functools.cache
def runtime():
    return boto3.client("sagemaker-runtime", config=CLIENT_CONFIG)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _body(event: dict) -> Any:
    raw = event.get("body")
    if raw is None or raw == "":
        raise BadRequest(400, 'the request has no body: send {"instances": [{...}]}')
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(400, "the body is not valid base64-encoded UTF-8") from None
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except ValueError as error:
        raise BadRequest(400, f"the body is not valid JSON: {str(error)[:120]}") from None


def _value(row_number: int, feature: dict, value: Any) -> str:
    where = f"instances[{row_number}].{feature['name']}"
    if value is None:
        if feature["required"]:
            raise BadRequest(400, f"{where} is required")
        return settings()["missing"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(400, f"{where} must be a {feature['type']}, not {type(value).__name__}")
    if feature["type"] == "integer" and not float(value).is_integer():
        raise BadRequest(400, f"{where}={value} must be a whole number")
    if not math.isfinite(value):
        raise BadRequest(400, f"{where} must be a finite number")
    low, high = feature.get("minimum"), feature.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadRequest(400, f"{where}={value} is out of range {low}..{high}")
    return repr(int(value)) if feature["type"] == "integer" else repr(float(value))


def csv_rows(body: Any) -> list[str]:
    """The endpoint's CSV rows (features in order, no header, no label) for a request body."""
    config = settings()
    if not isinstance(body, dict) or "instances" not in body:
        raise BadRequest(400, 'the body must be a JSON object with "instances": a list of objects')
    extra = sorted(set(body) - {"instances"})
    if extra:
        raise BadRequest(400, f"unknown field {extra[0]!r}: the body holds only \"instances\"")
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequest(400, "instances must be a non-empty list of objects")
    if len(instances) > config["max_rows"]:
        raise BadRequest(413, f"too many rows: {len(instances)}, at most {config['max_rows']} per request")
    names = [f["name"] for f in config["features"]]
    rows = []
    for number, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise BadRequest(400, f"instances[{number}] must be an object with {', '.join(names)}")
        unknown = sorted(set(instance) - set(names))
        if unknown:
            raise BadRequest(400, f"instances[{number}].{unknown[0]} is not a feature: use {', '.join(names)}")
        rows.append(",".join(_value(number, f, instance.get(f["name"])) for f in config["features"]))
    return rows


class BadModelAnswer(Exception):
    """The endpoint answered 200 with something that is not one prediction per row."""


# One number of the model's CSV answer (XGBoost writes str() of floats: 0.25, 1e-05, nan).
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.IGNORECASE)


def predictions(body: bytes, rows: int) -> list[Any]:
    """The model's CSV answer for `rows` rows as JSON values: a number per row, or a list per row.

    SageMaker's XGBoost container answers a real-time text/csv request on ONE line,
    ",".join(str(p) for p in predictions): "0.1,0.7" for two rows of binary:logistic (a number
    each), "[0.9, 0.05, 0.05],[0.1, 0.2, 0.7]" for two rows of multi:softprob (a list of class
    probabilities each); batch transform writes the same one row per line. So the values are read
    in order whatever the separators, and split evenly between the rows.
    """
    values = [float(v) for v in NUMBER.findall(body.decode("utf-8"))]
    if not values or len(values) % rows or not all(math.isfinite(v) for v in values):
        raise BadModelAnswer(f"{len(values)} values for {rows} rows, or not all finite")
    width = len(values) // rows
    if width == 1:
        return values
    return [values[i:i + width] for i in range(0, len(values), width)]


def _error(error: ClientError) -> tuple[int, str, dict]:
    """HTTP status, message and extra fields for a sagemaker-runtime error."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code == "ModelError":
        status = error.response.get("OriginalStatusCode")
        return 502, "the model returned an error", {"model_status": status}
    if code == "ValidationError" and "not found" in message.lower():
        return 503, "endpoint not deployed yet: run the training pipeline (docs/deploy.md)", {}
    if code in ("ThrottlingException", "TooManyRequestsException"):
        return 429, "the endpoint is throttling requests: retry with backoff", {}
    if code in ("ServiceUnavailable", "ModelNotReadyException", "InternalDependencyException"):
        return 503, "the endpoint is not ready: retry later", {}
    return 502, f"the endpoint failed the request ({code or 'unknown error'})", {}


def respond(status: int, payload: dict) -> dict:
    return {"statusCode": status, "headers": JSON_HEADERS, "body": json.dumps(payload)}


def handler(event: dict, _context: Any) -> dict:
    started = time.monotonic()
    request_id = (event.get("requestContext") or {}).get("requestId")
    log: dict[str, Any] = {"request_id": request_id, "endpoint": settings()["endpoint"]}
    try:
        rows = csv_rows(_body(event))
        log["rows"] = len(rows)
        answer = runtime().invoke_endpoint(EndpointName=settings()["endpoint"], ContentType="text/csv",
                                           Accept="text/csv", Body="\n".join(rows).encode())
        status, payload = 200, {"predictions": predictions(answer["Body"].read(), len(rows))}
    except BadRequest as bad:
        status, payload = bad.status, {"message": bad.message}
    except BadModelAnswer as error:
        status, payload = 502, {"message": "the model's answer does not fit the request: one prediction per row"}
        log["error"] = f"BadModelAnswer: {error}"
    except ClientError as error:
        status, message, extra = _error(error)
        log["error"] = error.response.get("Error", {}).get("Code")
        payload = {"message": message, **extra}
    except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError) as error:
        status, payload = 504, {"message": "the endpoint did not answer in time: retry later"}
        log["error"] = type(error).__name__
    except Exception as error:  # noqa: BLE001 - never a stack trace to the caller; logged by type
        status, payload = 500, {"message": "internal error"}
        log["error"] = type(error).__name__
    log.update(status=status, latency_ms=round((time.monotonic() - started) * 1000))
    print(json.dumps(log, sort_keys=True))
    return respond(status, payload)
