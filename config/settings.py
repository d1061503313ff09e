"""Typed, validated settings: one object per environment profile.

Every value that shapes a template lives here. `parse_settings` turns a profile's raw mapping (plus
overrides) into frozen dataclasses and collects *every* problem before any construct is built, so a
bad value fails with one readable message instead of a jsii traceback.

pydantic does the structural work (nested objects, lists, missing and unknown keys, and collecting
every error); the field validators below do the type and range checks with our own messages, and a
field that has the wrong type is never range-checked. Each message names the setting, its value (as
JSON, the way it was written) and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import re
import typing
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, NoReturn, get_args, get_origin

from pydantic import AfterValidator, BeforeValidator, ConfigDict, PlainValidator, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

ZONE_NAMES = ("raw", "curated", "results")
ACCESS_LOGS_BUCKET_PURPOSE = "access-logs"
CRAWLABLE_ZONES = ("raw", "curated")
ARCHIVE_STORAGE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")

# S3 rejects a transition to STANDARD_IA before day 30, and an object must spend 30 days in
# STANDARD_IA before a lifecycle rule may move it on.
MIN_INFREQUENT_ACCESS_DAY = 30
MIN_DAYS_IN_INFREQUENT_ACCESS = 30

# Bucket names are "<prefix>-<zone or access-logs>-<account id>-<region>"; S3 allows 63 characters.
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12
LONGEST_REGION_NAME = 16  # e.g. "ap-southeast-5" is 14; leave room for new regions
LONGEST_BUCKET_PURPOSE = max(map(len, (*ZONE_NAMES, ACCESS_LOGS_BUCKET_PURPOSE)))
MAX_NAME_PREFIX = BUCKET_NAME_MAX - len("---") - LONGEST_BUCKET_PURPOSE - ACCOUNT_ID_LENGTH - LONGEST_REGION_NAME
# Lowercase letters, digits and single hyphens; no dots (they break TLS on virtual-hosted URLs). It
# starts with a letter because it also starts every stack name, and CloudFormation requires that.
NAME_PREFIX_PATTERN = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
ATHENA_MIN_CUTOFF_MB = 10  # Athena refuses a per-query cutoff below 10,000,000 bytes

# Interface endpoints the VPC can hold. The app creates the ones its deployed consumers need (see
# stacks/interface_endpoints.py); `extra_interface_endpoints` adds more for your own workloads.
INTERFACE_ENDPOINT_NAMES = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "monitoring", "kms", "ecr.api",
                            "ecr.dkr", "states", "glue", "athena", "kinesis-streams")
# SageMaker instance types this app accepts. All are EBS-backed: SageMaker cannot apply a KMS key to
# instance-store (NVMe) volumes, and every volume here is encrypted with the ML key.
TRAINING_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.c5.xlarge",
                           "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.r5.large", "ml.r5.xlarge", "ml.r5.2xlarge")
HOSTING_INSTANCE_TYPES = ("ml.t2.medium", "ml.t2.large", "ml.m5.large", "ml.m5.xlarge", "ml.c5.large",
                          "ml.c5.xlarge", "ml.r5.large")
NOTEBOOK_INSTANCE_TYPES = ("ml.t3.medium", "ml.t3.large", "ml.m5.xlarge")
VARIANT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Letters, digits and _ - . = per segment, each segment followed by "/". No IAM wildcards (* ?): the
# prefix ends up in policy resources.
KEY_PREFIX = re.compile(r"^(?:[A-Za-z0-9_.=-]+/)+$")
# Environment-agnostic stacks resolve at most two availability zones (Fn::GetAZs, no lookup).
MAX_AZ_COUNT = 2
SUBNET_PREFIX_LENGTH = 24  # one isolated /24 per availability zone


class SettingsError(ValueError):
    """Raised with every problem found in a deployment's settings, one per line."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = problems
        self.source = source  # e.g. "profile prod, settings file deploy/prod.json"
        heading = f"Invalid settings ({source}):" if source else "Invalid settings:"
        super().__init__("\n".join([heading, *(f"  - {p}" for p in problems)]))


# --------------------------------------------------------------------------- field checks
# A check raises `_fail(...)` with messages relative to the setting it checks: "=<value> ..." for a
# field, ".<name>=<value> ..." for a field of the object a cross-field check runs on.


def _show(value: Any) -> str:
    """A value the way the user wrote it: JSON, shortened."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a decimal number", str: "a string", type(None): "null", list: "a list",
            tuple: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def suggest(name: str, names: Iterable[str]) -> str:
    """ " (did you mean x?)" for a likely typo of one of `names`, else "". """
    names = list(names)
    close = difflib.get_close_matches(name, names, n=1) or [n for n in names if len(name) >= 5 and n[:5] == name[:5]]
    return f" (did you mean {close[0]}?)" if close else ""


def _fail(*problems: str) -> NoReturn:
    raise PydanticCustomError("settings", "{problems}", {"problems": list(problems)})


def _number(kind: type, low: float, high: float, unit: str = "", note: str = "", null: str = "") -> PlainValidator:
    """A whole number (kind=int) or any number (kind=float) in low..high; `null` says what null means."""
    or_null = f" (or null {null})" if null else ""

    def check(value: Any) -> Any:
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float)):
            what = "whole number" if kind is int else "number"
            _fail(f"={_show(value)} must be a {what}, not {_kind(value)}: allowed {low}..{high}{unit}{or_null}")
        if not low <= value <= high:
            _fail(f"={_show(value)} is out of range: allowed {low}..{high}{unit}{or_null}{note}")
        return kind(value)

    return PlainValidator(check)


def _one_of(allowed: tuple[Any, ...], what: str, note: str = "") -> PlainValidator:
    def check(value: Any) -> Any:
        # type() too: True == 1 and "14" is not 14.
        if value not in allowed or type(value) is not type(allowed[0]):
            choices = ", ".join(map(str, allowed))
            hint = "; write it without quotes" if isinstance(value, str) and value in map(str, allowed) else ""
            _fail(f"={_show(value)} is not {what}: use one of {choices}{note}{hint}")
        return value

    return PlainValidator(check)


def _flag() -> PlainValidator:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            _fail(f"={_show(value)} must be true or false, not {_kind(value)}")
        return value

    return PlainValidator(check)


def _text(problem: Callable[[str], str | None] = lambda _: None, *, allowed: str = "a string",
          null: str = "") -> PlainValidator:
    """A string; `problem(value)` returns what is wrong with it ("=<value> ...") or None."""

    def check(value: Any) -> Any:
        if value is None and null:
            return None
        if not isinstance(value, str):
            _fail(f"={_show(value)} must be {allowed}{f' (or null {null})' if null else ''}, not {_kind(value)}")
        if (found := problem(value)) is not None:
            _fail(found)
        return value

    return PlainValidator(check)


def _distinct(value: tuple[Any, ...]) -> tuple[Any, ...]:
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        _fail(f"={_show(list(value))} names {', '.join(map(str, repeated))} more than once: list each at most once")
    return value


# --------------------------------------------------------------------------- text formats

# Glue cron: minutes hours day-of-month month day-of-week year, '?' in exactly one of the two day
# fields. Each field: * or a comma list of values, ranges (a-b) and steps (x/n).
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS = (("minutes", 0, 59, ()), ("hours", 0, 23, ()), ("day-of-month", 1, 31, ()),
                ("month", 1, 12, _MONTHS), ("day-of-week", 1, 7, _WEEKDAYS), ("year", 1970, 2199, ()))
_CRON_HELP = ("use cron(minutes hours day-of-month month day-of-week year) with '?' in exactly one of "
              "day-of-month and day-of-week, e.g. cron(0 3 * * ? *)")


def _whole(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+", text))


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.upper() in names:
        return True
    return _whole(text) and low <= int(text) <= high


def _cron_field_ok(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if name == "day-of-month" and re.fullmatch(r"L|LW|[0-9]{1,2}W", text):
        return text in ("L", "LW") or 1 <= int(text[:-1]) <= 31
    if name == "day-of-week" and (special := re.fullmatch(r"(\w+)(?:L|#[1-5])", text)):
        return _cron_value(special.group(1), low, high, names)
    if name == "day-of-week" and text == "L":
        return True
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (_whole(step) and 1 <= int(step) <= high):
            return False
        if base == "*":
            continue
        ends = base.split("-")
        if len(ends) > 2 or not all(_cron_value(end, low, high, names) for end in ends):
            return False
    return True


def _cron_problem(value: str) -> str | None:
    match = re.fullmatch(r"cron\((.*)\)", value.strip())
    fields = match.group(1).split() if match else []
    if len(fields) != len(_CRON_FIELDS):
        return f"={_show(value)} is not a Glue cron expression: {_CRON_HELP}"
    if [fields[2], fields[4]].count("?") != 1:
        return f"={_show(value)} needs '?' in exactly one of day-of-month and day-of-week, e.g. cron(0 3 * * ? *)"
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        if text == "?" and name in ("day-of-month", "day-of-week"):
            continue
        if not _cron_field_ok(text, name, low, high, names):
            named = f" or {names[0]}..{names[-1]}" if names else ""
            return (f"={_show(value)}: the {name} field \"{text}\" is not valid: use {low}..{high}{named}, "
                    "*, lists (a,b), ranges (a-b) or steps (a/n)")
    return None


def _bucket_problem(bucket: str) -> str | None:
    """What breaks S3's general-purpose bucket naming rules, or None."""
    if not 3 <= len(bucket) <= 63:
        return "a bucket name has 3..63 characters"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", bucket):
        return "a bucket name uses lowercase letters, digits, dots and hyphens, and starts and ends with a letter or digit"
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return "a bucket name has no '..', '.-' or '-.'"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket):
        return "a bucket name is not an IP address"
    if bucket.startswith(RESERVED_BUCKET_PREFIXES) or bucket.endswith(RESERVED_BUCKET_SUFFIXES):
        return (f"a bucket name does not start with {', '.join(RESERVED_BUCKET_PREFIXES)} or end with "
                f"{', '.join(RESERVED_BUCKET_SUFFIXES)}")
    return None


def _model_artifact_problem(value: str) -> str | None:
    if not value.startswith("s3://"):
        why = "it must start with s3://"
    else:
        bucket, _, key = value.removeprefix("s3://").partition("/")
        segments = key.split("/")
        why = _bucket_problem(bucket) or (
            "the key must end with .tar.gz" if not key.endswith(".tar.gz") or key == ".tar.gz" else
            "the key has no empty, '.' or '..' segments" if {"", ".", ".."} & set(segments) else
            "the key has at most 1024 characters" if len(key.encode()) > 1024 else None)
    if why is None:
        return None
    return f"={_show(value)} is not an S3 URI of a model archive ({why}): use s3://bucket/path/model.tar.gz"


def _prefix_problem(value: str) -> str | None:
    if KEY_PREFIX.match(value) and not {".", ".."} & set(value.split("/")):
        return None
    return (f"={_show(value)} is not a key prefix in the curated zone: use segments of letters, digits and "
            "_ - . = each ending with '/', no leading '/', no '.' or '..' segments, e.g. \"training/sensor_readings/\"")


def _cidr_problem(value: str) -> str | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        return f"={_show(value)} is not a CIDR block ({error}): use e.g. \"10.40.0.0/16\""
    if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 24:
        return (f"={_show(value)}: use a private IPv4 block from /16 to /24 (inside 10.0.0.0/8, 172.16.0.0/12 or "
                "192.168.0.0/16)")
    return None


def _tag_text_ok(text: str) -> bool:
    """CloudFormation's tag pattern: Unicode letters, digits, spaces and _ . : / = + - @."""
    return all(unicodedata.category(ch)[0] in "LNZ" or ch in "_.:/=+-@" for ch in text)


def _tags(tags: dict[str, str]) -> dict[str, str]:
    allowed = "letters, digits, spaces and _ . : / = + - @"
    problems = []
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _tag_text_ok(key) or key.lower().startswith("aws:"):
            problems.append(f": the tag key {_show(key)} is not allowed: use 1..128 {allowed}, "
                            "not starting with aws:")
        if len(value) > 256 or not _tag_text_ok(value):
            problems.append(f".{key}={_show(value)} is not a tag value: use at most 256 {allowed}")
    if problems:
        _fail(*problems)
    return tags


# --------------------------------------------------------------------------- XGBoost hyperparameters
# The built-in SageMaker XGBoost algorithm (1.7) takes every hyperparameter as a string. Each entry:
# what is allowed (for the message) and whether a string is allowed.


def _hp_int(low: int, high: int | None = None) -> tuple[str, Callable[[str], bool]]:
    desc = f"a whole number from {low}" + (f" to {high}" if high is not None else " up")
    return desc, lambda t: bool(re.fullmatch(r"-?[0-9]+", t)) and low <= int(t) and (high is None or int(t) <= high)


def _hp_float(interval: str) -> tuple[str, Callable[[str], bool]]:
    """A number in an interval written like "[0, 1]", "(0, 1]" or "[0, inf)"."""
    low, high = (float(end) for end in interval[1:-1].split(","))

    def ok(text: str) -> bool:
        try:
            number = float(text) if text.isascii() else float("nan")
        except ValueError:
            return False
        above = number > low if interval[0] == "(" else number >= low
        below = number < high if interval[-1] == ")" else number <= high
        return above and below and number == number  # NaN is not a number here

    return f"a number in {interval}", ok


def _hp_enum(*values: str) -> tuple[str, Callable[[str], bool]]:
    return "one of " + ", ".join(values), lambda t: t in values


_OBJECTIVES = ("reg:squarederror", "reg:squaredlogerror", "reg:logistic", "reg:pseudohubererror",
               "reg:absoluteerror", "reg:gamma", "reg:tweedie", "binary:logistic", "binary:logitraw",
               "binary:hinge", "count:poisson", "survival:cox", "survival:aft", "multi:softmax", "multi:softprob",
               "rank:pairwise", "rank:ndcg", "rank:map")
_EVAL_METRICS = ("rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc", "aucpr",
                 "ndcg", "map", "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "gamma-deviance",
                 "tweedie-nloglik", "aft-nloglik", "interval-regression-accuracy")
_EVAL_METRIC = re.compile("|".join(map(re.escape, _EVAL_METRICS))
                          + r"|error@[0-9.]+|tweedie-nloglik@[0-9.]+|(?:ndcg|map)(?:@\d+)?-?")
_ANY_TEXT = ("a string", lambda t: True)
XGBOOST_HYPERPARAMETERS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "num_round": _hp_int(1), "num_class": _hp_int(2), "alpha": _hp_float("[0, inf)"),
    "base_score": _hp_float("(-inf, inf)"), "booster": _hp_enum("gbtree", "gblinear", "dart"),
    "colsample_bylevel": _hp_float("(0, 1]"), "colsample_bynode": _hp_float("(0, 1]"),
    "colsample_bytree": _hp_float("(0, 1]"), "csv_weights": _hp_enum("0", "1"),
    "deterministic_histogram": _hp_enum("true", "false"), "early_stopping_rounds": _hp_int(1),
    "eta": _hp_float("[0, 1]"),
    "eval_metric": (f"a comma-separated list of {', '.join(_EVAL_METRICS)} (error@t, ndcg@n, map@n allowed)",
                    lambda t: all(_EVAL_METRIC.fullmatch(m) for m in t.split(","))),
    "gamma": _hp_float("[0, inf)"), "grow_policy": _hp_enum("depthwise", "lossguide"),
    "interaction_constraints": _ANY_TEXT, "lambda": _hp_float("[0, inf)"), "lambda_bias": _hp_float("[0, 1]"),
    "max_bin": _hp_int(2), "max_delta_step": _hp_float("[0, inf)"), "max_depth": _hp_int(0),
    "max_leaves": _hp_int(0), "min_child_weight": _hp_float("[0, inf)"), "monotone_constraints": _ANY_TEXT,
    "normalize_type": _hp_enum("tree", "forest"), "nthread": _hp_int(1), "objective": _hp_enum(*_OBJECTIVES),
    "one_drop": _hp_enum("0", "1"), "process_type": _hp_enum("default", "update"), "rate_drop": _hp_float("[0, 1]"),
    "refresh_leaf": _hp_enum("0", "1"), "sample_type": _hp_enum("uniform", "weighted"),
    "scale_pos_weight": _hp_float("(0, inf)"), "seed": _hp_int(0),
    "single_precision_histogram": _hp_enum("true", "false"), "sketch_eps": _hp_float("(0, 1)"),
    "skip_drop": _hp_float("[0, 1]"), "subsample": _hp_float("(0, 1]"),
    "tree_method": _hp_enum("auto", "exact", "approx", "hist", "gpu_hist"),
    "tweedie_variance_power": _hp_float("(1, 2)"), "updater": _ANY_TEXT,
    "use_dask_gpu_training": _hp_enum("true", "false"), "verbosity": _hp_enum("0", "1", "2", "3"),
}


def _hyperparameters(values: dict[str, str]) -> dict[str, str]:
    problems = []
    for name, value in values.items():
        if name not in XGBOOST_HYPERPARAMETERS:
            hint = suggest(name, XGBOOST_HYPERPARAMETERS)
            problems.append(f".{name}={_show(value)} is not a hyperparameter of SageMaker's XGBoost 1.7 "
                            f"algorithm{hint}; allowed: {', '.join(sorted(XGBOOST_HYPERPARAMETERS))}")
            continue
        allowed, ok = XGBOOST_HYPERPARAMETERS[name]
        if not ok(value):
            problems.append(f".{name}={_show(value)} is not valid: use {allowed}, as a string")
    if "num_round" not in values:
        problems.append('.num_round is missing: the algorithm requires it, e.g. "100"')
    if values.get("objective", "").startswith("multi:") and "num_class" not in values:
        problems.append(f'.num_class is missing: objective {values["objective"]} requires it, e.g. "3"')
    if problems:
        _fail(*problems)
    return values


# --------------------------------------------------------------------------- the settings

# Frozen dataclasses that pydantic validates; an unknown key is an error.
_settings_class = dataclass(frozen=True, kw_only=True, config=ConfigDict(extra="forbid"))
Retention = Annotated[int, _one_of(LOG_RETENTION_DAYS, "a CloudWatch Logs retention in days")]
Flag = Annotated[bool, _flag()]


def _zone_names(value: Any) -> Any:
    """Check the zone names first: an unknown zone is one message, not one per missing key inside it."""
    if isinstance(value, Mapping):
        problems = [f".{name}={_show(body)} is not a lake zone: the zones are exactly {', '.join(ZONE_NAMES)}"
                    for name, body in value.items() if name not in ZONE_NAMES]
        problems += [f".{name} is missing" for name in ZONE_NAMES if name not in value]
        if problems:
            _fail(*problems)
    return value


@_settings_class
class ZoneLifecycle:
    """Storage tiering of one lake zone: Standard -> Standard-IA -> an archive class -> expiry."""

    infrequent_access_after_days: Annotated[int | None, _number(
        int, MIN_INFREQUENT_ACCESS_DAY, 36500, " days", null="to skip it",
        note=f"; S3 allows the Standard-IA transition from day {MIN_INFREQUENT_ACCESS_DAY} on")]
    archive_after_days: Annotated[int | None, _number(int, 0, 36500, " days", null="to skip it")]
    archive_storage_class: Annotated[Literal["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"],
                                     _one_of(ARCHIVE_STORAGE_CLASSES, "an archive storage class")]
    expire_after_days: Annotated[int | None, _number(int, 1, 36500, " days", null="to keep objects")]
    noncurrent_versions_expire_after_days: Annotated[int, _number(int, 1, 3650, " days")]

    @model_validator(mode="after")
    def _ascending(self) -> ZoneLifecycle:
        ia, archive, expire = self.infrequent_access_after_days, self.archive_after_days, self.expire_after_days
        problems = []
        if ia is not None and archive is not None and archive < ia + MIN_DAYS_IN_INFREQUENT_ACCESS:
            problems.append(f".archive_after_days={archive} must be at least infrequent_access_after_days + "
                            f"{MIN_DAYS_IN_INFREQUENT_ACCESS} = {ia + MIN_DAYS_IN_INFREQUENT_ACCESS} "
                            "(lifecycle days must ascend)")
        last_transition = max((d for d in (ia, archive) if d is not None), default=None)
        if expire is not None and last_transition is not None and expire <= last_transition:
            problems.append(f".expire_after_days={expire} must be greater than the last transition day "
                            f"({last_transition}) (lifecycle days must ascend)")
        if problems:
            _fail(*problems)
        return self


@_settings_class
class DataLakeSettings:
    zones: Annotated[dict[str, ZoneLifecycle], BeforeValidator(_zone_names)]
    abort_incomplete_multipart_upload_after_days: Annotated[int, _number(int, 1, 365, " days")]
    access_logs_expire_after_days: Annotated[int, _number(int, 1, 3650, " days")]


@_settings_class
class StreamingSettings:
    """Kinesis Data Streams -> Firehose (Lambda transform, Parquet) -> the raw zone."""

    capacity_mode: Annotated[Literal["PROVISIONED", "ON_DEMAND"],
                             _one_of(("PROVISIONED", "ON_DEMAND"), "a Kinesis capacity mode")]
    shard_count: Annotated[int | None, _number(int, 1, 500, " shards", null="with ON_DEMAND")]  # PROVISIONED only
    retention_hours: Annotated[int, _number(int, 24, 8760, " hours", note=" (24 hours to 365 days)")]
    buffer_size_mib: Annotated[int, _number(int, 64, 128, " MiB",
                                            note="; Parquet conversion needs a buffer of at least 64 MiB")]
    buffer_interval_seconds: Annotated[int, _number(int, 60, 900, " seconds")]
    transform_memory_mib: Annotated[int, _number(int, 128, 10240, " MiB")]
    transform_reserved_concurrency: Annotated[int, _number(int, 1, 1000)]
    log_retention_days: Retention
    iterator_age_alarm_seconds: Annotated[int, _number(int, 60, 8760 * 3600, " seconds")]
    data_freshness_alarm_seconds: Annotated[int, _number(int, 60, 86400, " seconds")]
    alarm_email: Annotated[str | None, _text(
        lambda v: None if EMAIL_PATTERN.match(v) else f"={_show(v)} is not an e-mail address (or null for none)",
        allowed="an e-mail address", null="for none")]

    @model_validator(mode="after")
    def _consistent(self) -> StreamingSettings:
        problems = []
        if self.capacity_mode == "PROVISIONED" and self.shard_count is None:
            problems.append(".shard_count=null: PROVISIONED streams need 1..500 shards")
        if self.capacity_mode == "ON_DEMAND" and self.shard_count is not None:
            problems.append(f".shard_count={self.shard_count}: must be null with capacity_mode ON_DEMAND "
                            "(Kinesis sizes on-demand streams itself)")
        if self.iterator_age_alarm_seconds > self.retention_hours * 3600:
            problems.append(f".iterator_age_alarm_seconds={self.iterator_age_alarm_seconds}: allowed 60 up to the "
                            f"stream retention ({self.retention_hours * 3600} seconds), after which records are "
                            "already lost")
        if self.data_freshness_alarm_seconds <= self.buffer_interval_seconds:
            problems.append(f".data_freshness_alarm_seconds={self.data_freshness_alarm_seconds} must be greater "
                            f"than buffer_interval_seconds={self.buffer_interval_seconds}, or the alarm fires on "
                            "every healthy buffer")
        if problems:
            _fail(*problems)
        return self


def _crawler_zones(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        _fail(f"=[]: use one or more distinct zones of {', '.join(CRAWLABLE_ZONES)}")
    return _distinct(value)


Cron = Annotated[str, _text(_cron_problem, allowed="a Glue cron expression such as \"cron(0 3 * * ? *)\"")]


@_settings_class
class CatalogSettings:
    """Glue crawler and ETL job, the Data Catalog's encryption, and the Athena workgroup."""

    crawler_zones: Annotated[tuple[Annotated[str, _one_of(
        CRAWLABLE_ZONES, "a crawlable zone", note=" (the results zone holds query output, not datasets)")], ...],
        AfterValidator(_crawler_zones)]
    crawler_schedule_enabled: Flag  # false: the crawler exists but runs only when started by hand
    crawler_schedule: Cron
    etl_schedule_enabled: Flag  # false: the ETL job runs only when started by hand
    etl_schedule: Cron
    etl_worker_type: Annotated[Literal["G.1X", "G.2X", "G.4X", "G.8X"], _one_of(GLUE_WORKER_TYPES,
                                                                                "a Glue worker type")]
    etl_workers: Annotated[int, _number(int, 2, 100, " workers")]
    etl_timeout_minutes: Annotated[int, _number(int, 1, 2880, " minutes")]
    athena_bytes_scanned_cutoff_mb: Annotated[int, _number(
        int, ATHENA_MIN_CUTOFF_MB, 10**9, " MB", note=f" (Athena's minimum is {ATHENA_MIN_CUTOFF_MB} MB per query)")]
    # Account-wide: encrypts the whole Data Catalog of the account and region, not only this app's.
    data_catalog_encryption: Flag


@_settings_class
class NetworkSettings:
    """The isolated VPC that SageMaker jobs, models and notebooks run in."""

    az_count: Annotated[int, _number(int, 1, MAX_AZ_COUNT, note="; environment-agnostic stacks can place subnets "
                                                               "in at most two availability zones")]
    vpc_cidr: Annotated[str, _text(_cidr_problem, allowed="a CIDR block such as \"10.40.0.0/16\"")]
    extra_interface_endpoints: Annotated[
        tuple[Annotated[str, _one_of(INTERFACE_ENDPOINT_NAMES, "a supported interface endpoint")], ...],
        AfterValidator(_distinct)]
    flow_log_retention_days: Retention

    @model_validator(mode="after")
    def _fits(self) -> NetworkSettings:
        network = ipaddress.ip_network(self.vpc_cidr)
        if 2 ** (SUBNET_PREFIX_LENGTH - network.prefixlen) < self.az_count:
            _fail(f".vpc_cidr={_show(self.vpc_cidr)} is too small for {self.az_count} /{SUBNET_PREFIX_LENGTH} "
                  "subnets: use a larger block or fewer availability zones")
        return self


ModelArtifact = Annotated[str | None, _text(_model_artifact_problem, allowed="an S3 URI of a model.tar.gz",
                                            null="for no endpoint")]


@_settings_class
class VariantSettings:
    """One production variant of the endpoint; two of them split traffic for A/B tests."""

    name: Annotated[str, _text(lambda v: None if VARIANT_NAME.match(v) else
                               f"={_show(v)}: use 1..63 letters, digits and hyphens", allowed="a variant name")]
    instance_type: Annotated[str, _one_of(HOSTING_INSTANCE_TYPES, "a supported hosting instance type")]
    initial_instance_count: Annotated[int, _number(int, 1, 10)]
    weight: Annotated[float, _number(float, 0, 1, note=" (a traffic share)")]
    model_artifact: ModelArtifact = None  # null: the endpoint's model_artifact


@_settings_class
class SageMakerSettings:
    """Training pipeline, hosting and the notebook, all inside the isolated VPC."""

    deny_jobs_outside_vpc: Flag
    training_instance_type: Annotated[str, _one_of(TRAINING_INSTANCE_TYPES, "a supported training instance type")]
    training_instance_count: Annotated[int, _number(int, 1, 20)]
    training_volume_gb: Annotated[int, _number(int, 1, 16384, " GB")]
    training_max_runtime_minutes: Annotated[int, _number(int, 1, 40320, " minutes")]
    training_input_mode: Annotated[Literal["File", "Pipe", "FastFile"],
                                   _one_of(("File", "Pipe", "FastFile"), "a training input mode")]
    training_data_prefix: Annotated[str, _text(_prefix_problem, allowed="a key prefix such as \"training/\"")]
    managed_spot_training: Flag
    spot_max_wait_minutes: Annotated[int, _number(int, 1, 40320, " minutes")]
    xgboost_hyperparameters: Annotated[dict[str, Annotated[str, _text(allowed="a string (SageMaker passes "
                                                                              "hyperparameters as strings)")]],
                                       AfterValidator(_hyperparameters)]
    model_artifact: ModelArtifact  # null: no model, endpoint config or endpoint (no hosting cost)
    endpoint_variants: tuple[VariantSettings, ...]
    data_capture_sampling_percent: Annotated[int, _number(int, 0, 100, " percent")]
    autoscaling_max_instances: Annotated[int, _number(int, 1, 20, " instances")]
    autoscaling_target_invocations_per_instance: Annotated[int, _number(int, 1, 1_000_000)]
    alarm_5xx_errors_per_5_minutes: Annotated[int, _number(int, 1, 1_000_000)]
    alarm_model_latency_ms: Annotated[int, _number(int, 1, 1_000_000, " ms")]
    notebook_enabled: Flag
    notebook_instance_type: Annotated[str, _one_of(NOTEBOOK_INSTANCE_TYPES, "a supported notebook instance type")]

    @model_validator(mode="after")
    def _consistent(self) -> SageMakerSettings:
        problems = []
        variants = self.endpoint_variants
        if self.managed_spot_training and self.spot_max_wait_minutes < self.training_max_runtime_minutes:
            problems.append(f".spot_max_wait_minutes={self.spot_max_wait_minutes} must be at least "
                            f"training_max_runtime_minutes={self.training_max_runtime_minutes} with spot training")
        if not 1 <= len(variants) <= 2:
            problems.append(f".endpoint_variants=[{len(variants)} variants]: give one variant, or two for an A/B test "
                            f"(got {len(variants)})")
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            problems.append(f".endpoint_variants names={_show(names)}: variant names must be distinct")
        if variants and sum(v.weight for v in variants) <= 0:
            problems.append(f".endpoint_variants weights={_show([v.weight for v in variants])}: the weights must "
                            "not all be 0 (no variant would get traffic)")
        if len(variants) == 2 and {v.model_artifact for v in variants} == {None}:
            problems.append(".endpoint_variants model_artifact=[null, null]: an A/B test needs a model_artifact on "
                            "at least one variant, or both variants serve the same model")
        if self.model_artifact is None:
            problems += [f".endpoint_variants[{i}].model_artifact={_show(v.model_artifact)} has no effect while "
                         "sagemaker.model_artifact is null (null means no endpoint): set sagemaker.model_artifact "
                         "too, or remove the variant's" for i, v in enumerate(variants) if v.model_artifact]
        largest_initial = max((v.initial_instance_count for v in variants), default=1)
        if self.autoscaling_max_instances < largest_initial:
            problems.append(f".autoscaling_max_instances={self.autoscaling_max_instances}: allowed from the largest "
                            f"initial_instance_count ({largest_initial}) to 20")
        if problems:
            _fail(*problems)
        return self


def _name_prefix_problem(prefix: str) -> str | None:
    if NAME_PREFIX_PATTERN.match(prefix) and len(prefix) <= MAX_NAME_PREFIX and not prefix.startswith(
            RESERVED_BUCKET_PREFIXES):
        return None
    return (f"={_show(prefix)} breaks S3 bucket and stack naming: use 1..{MAX_NAME_PREFIX} lowercase letters, "
            "digits and single hyphens, starting with a letter and ending with a letter or digit, not starting "
            f"with {', '.join(RESERVED_BUCKET_PREFIXES)}")


@_settings_class
class Settings:
    """Everything one deployment of the app needs to know."""

    profile: Annotated[str, _text(allowed="a profile name")]
    name_prefix: Annotated[str, _text(_name_prefix_problem, allowed="a string of lowercase letters, digits and hyphens")]
    # The only switch that lets stateful resources be deleted with the stack.
    destroy_data_on_removal: Flag
    tags: Annotated[dict[str, Annotated[str, _text(allowed="a string")]],
                    AfterValidator(_tags)]
    data_lake: DataLakeSettings
    streaming: StreamingSettings
    catalog: CatalogSettings
    network: NetworkSettings
    sagemaker: SageMakerSettings

    @model_validator(mode="after")
    def _prod_keeps_data(self) -> Settings:
        if self.profile == "prod" and self.destroy_data_on_removal:
            _fail(".destroy_data_on_removal=true is not allowed in profile \"prod\": production retains every "
                  "stateful resource")
        return self


# --------------------------------------------------------------------------- parsing


def _unwrap(tp: Any) -> Any:
    """The class behind Annotated[...] and X | None."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif type(None) in get_args(tp):
            (tp,) = [a for a in get_args(tp) if a is not type(None)]
        else:
            return tp


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The setting names allowed in the object at `loc`."""
    tp: Any = Settings
    for part in loc:
        tp = _unwrap(tp)
        if dataclasses.is_dataclass(tp):
            tp = typing.get_type_hints(tp, include_extras=True)[part]
        else:  # tuple[X, ...] or dict[str, X]: the item type
            tp = get_args(tp)[-1 if get_origin(tp) is dict else 0]
    return [f.name for f in dataclasses.fields(_unwrap(tp))]


def _path(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _message(error: Any) -> list[str]:
    """Our messages for one pydantic error: the checks' own, or one for pydantic's structural errors."""
    loc, value, kind = tuple(error["loc"]), error["input"], error["type"]
    path = _path(loc)
    if kind == "settings":
        return [(path + problem).lstrip(".") if path or problem.startswith(".") else "settings" + problem
                for problem in error["ctx"]["problems"]]
    if kind == "missing":
        return [f"{path} is missing"]
    if kind == "unexpected_keyword_argument":
        keys = _keys_at(loc[:-1])
        hint = suggest(str(loc[-1]), keys)
        where = f" of {_path(loc[:-1])}" if loc[:-1] else ""
        return [f"{path}={_show(value)} is not a setting{hint}: the settings{where} are {', '.join(keys)}"]
    expected = {"dataclass_type": "an object", "dataclass_args_type": "an object", "dict_type": "an object",
                "tuple_type": "a list", "list_type": "a list"}.get(kind)
    if expected:
        return [f"{path or 'settings'}={_show(value)} must be {expected}, not {_kind(value)}"]
    return [f"{path or 'settings'}={_show(value)}: {error['msg']}"]


_ADAPTER = TypeAdapter(Settings)


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    """Validate a complete raw settings mapping; raise SettingsError with every problem."""
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise SettingsError([m for e in error.errors(include_url=False) for m in _message(e)]) from None


def settings_as_json(settings: Settings) -> dict[str, Any]:
    return _ADAPTER.dump_python(settings, mode="json")


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`overrides` on top of `base`: objects merge key by key, anything else (lists too) replaces."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
