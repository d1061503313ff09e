"""This app's settings: the typed, validated schema of one deployment, and its own rules.

Frozen dataclasses that pydantic validates (config/validation.py), checked against what AWS accepts
(config/aws_limits.py). `parse_settings` turns a profile's raw mapping (plus overrides) into a
`Settings` and collects *every* problem before any construct is built, so a bad value fails with one
readable message instead of a jsii traceback.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, model_validator

from config.aws_limits import (
    ACCOUNT_ID_LENGTH,
    ARCHIVE_STORAGE_CLASSES,
    ATHENA_MIN_CUTOFF_MB,
    BUCKET_NAME_MAX,
    CRON_FIELDS,
    GLUE_WORKER_TYPES,
    HOSTING_INSTANCE_TYPES,
    INTERFACE_ENDPOINT_NAMES,
    LOG_RETENTION_DAYS,
    LONGEST_REGION_NAME,
    MAX_AZ_COUNT,
    MIN_DAYS_IN_INFREQUENT_ACCESS,
    MIN_INFREQUENT_ACCESS_DAY,
    MODEL_APPROVAL_MODES,
    NOTEBOOK_INSTANCE_TYPES,
    PROCESSING_INSTANCE_TYPES,
    RESERVED_BUCKET_PREFIXES,
    TAG_CHARACTERS,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    TRAINING_INSTANCE_TYPES,
    TRANSFORM_INSTANCE_TYPES,
    TRANSFORM_MAX_PAYLOAD_MB,
    TUNING_JOB_NAME,
    TUNING_MAX_JOBS,
    TUNING_MAX_PARALLEL_JOBS,
    TUNING_MAX_WARM_START_PARENTS,
    TUNING_SCALING_TYPES,
    VARIANT_NAME,
    WARM_START_TYPES,
    XGBOOST_HYPERPARAMETERS,
    XGBOOST_TUNABLE,
    XGBOOST_TUNING_METRICS,
    bucket_name_problem,
    cron_field_ok,
    monitor_schedule_hours,
    tag_text_ok,
)
from config.validation import (
    as_json,
    distinct,
    fail,
    flag,
    number,
    one_of,
    parse,
    settings_class,
    show,
    suggest,
    text,
)

ZONE_NAMES = ("raw", "curated", "results")
ACCESS_LOGS_BUCKET_PURPOSE = "access-logs"  # the access-log bucket's name part (patterns/data_lake.py)
CRAWLABLE_ZONES = ("raw", "curated")

# Bucket names are "<prefix>-<zone or access-logs>-<account id>-<region>"; S3 allows 63 characters.
LONGEST_BUCKET_PURPOSE = max(map(len, (*ZONE_NAMES, ACCESS_LOGS_BUCKET_PURPOSE)))
MAX_NAME_PREFIX = BUCKET_NAME_MAX - len("---") - LONGEST_BUCKET_PURPOSE - ACCOUNT_ID_LENGTH - LONGEST_REGION_NAME
# Lowercase letters, digits and single hyphens; no dots (they break TLS on virtual-hosted URLs). It
# starts with a letter because it also starts every stack name, and CloudFormation requires that.
NAME_PREFIX_PATTERN = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Letters, digits and _ - . = per segment, each segment followed by "/". No IAM wildcards (* ?): the
# prefix ends up in policy resources.
KEY_PREFIX = re.compile(r"^(?:[A-Za-z0-9_.=-]+/)+$")
SUBNET_PREFIX_LENGTH = 24  # one isolated /24 per availability zone (the stack passes it to the network)


# --------------------------------------------------------------------------- text formats

_CRON_HELP = ("use cron(minutes hours day-of-month month day-of-week year) with '?' in exactly one of "
              "day-of-month and day-of-week, e.g. cron(0 3 * * ? *)")


def _cron_problem(value: str) -> str | None:
    match = re.fullmatch(r"cron\((.*)\)", value.strip())
    fields = match.group(1).split() if match else []
    if len(fields) != len(CRON_FIELDS):
        return f"={show(value)} is not a Glue cron expression: {_CRON_HELP}"
    if [fields[2], fields[4]].count("?") != 1:
        return f"={show(value)} needs '?' in exactly one of day-of-month and day-of-week, e.g. cron(0 3 * * ? *)"
    for field, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        if field == "?" and name in ("day-of-month", "day-of-week"):
            continue
        if not cron_field_ok(field, name, low, high, names):
            named = f" or {names[0]}..{names[-1]}" if names else ""
            return (f"={show(value)}: the {name} field \"{field}\" is not valid: use {low}..{high}{named}, "
                    "*, lists (a,b), ranges (a-b) or steps (a/n)")
    return None


def _model_artifact_problem(value: str) -> str | None:
    if not value.startswith("s3://"):
        why = "it must start with s3://"
    else:
        bucket, _, key = value.removeprefix("s3://").partition("/")
        segments = key.split("/")
        why = bucket_name_problem(bucket) or (
            "the key must end with .tar.gz" if not key.endswith(".tar.gz") or key == ".tar.gz" else
            "the key has no empty, '.' or '..' segments" if {"", ".", ".."} & set(segments) else
            "the key has at most 1024 characters" if len(key.encode()) > 1024 else None)
    if why is None:
        return None
    return f"={show(value)} is not an S3 URI of a model archive ({why}): use s3://bucket/path/model.tar.gz"


def _prefix_problem(value: str) -> str | None:
    if KEY_PREFIX.match(value) and not {".", ".."} & set(value.split("/")):
        return None
    return (f"={show(value)} is not a key prefix in the curated zone: use segments of letters, digits and "
            "_ - . = each ending with '/', no leading '/', no '.' or '..' segments, e.g. \"training/sensor_readings/\"")


def _cidr_problem(value: str) -> str | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        return f"={show(value)} is not a CIDR block ({error}): use e.g. \"10.40.0.0/16\""
    if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 24:
        return (f"={show(value)}: use a private IPv4 block from /16 to /24 (inside 10.0.0.0/8, 172.16.0.0/12 or "
                "192.168.0.0/16)")
    return None


def _tags(tags: dict[str, str]) -> dict[str, str]:
    problems = []
    for key, value in tags.items():
        if not 1 <= len(key) <= TAG_KEY_MAX or not tag_text_ok(key) or key.lower().startswith("aws:"):
            problems.append(f": the tag key {show(key)} is not allowed: use 1..{TAG_KEY_MAX} {TAG_CHARACTERS}, "
                            "not starting with aws:")
        if len(value) > TAG_VALUE_MAX or not tag_text_ok(value):
            problems.append(f".{key}={show(value)} is not a tag value: use at most {TAG_VALUE_MAX} {TAG_CHARACTERS}")
    if problems:
        fail(*problems)
    return tags


def _hyperparameters(values: dict[str, str]) -> dict[str, str]:
    problems = []
    for name, value in values.items():
        if name not in XGBOOST_HYPERPARAMETERS:
            hint = suggest(name, XGBOOST_HYPERPARAMETERS)
            problems.append(f".{name}={show(value)} is not a hyperparameter of SageMaker's XGBoost 1.7 "
                            f"algorithm{hint}; allowed: {', '.join(sorted(XGBOOST_HYPERPARAMETERS))}")
            continue
        allowed, ok = XGBOOST_HYPERPARAMETERS[name]
        if not ok(value):
            problems.append(f".{name}={show(value)} is not valid: use {allowed}, as a string")
    if "num_round" not in values:
        problems.append('.num_round is missing: the algorithm requires it, e.g. "100"')
    if values.get("objective", "").startswith("multi:") and "num_class" not in values:
        problems.append(f'.num_class is missing: objective {values["objective"]} requires it, e.g. "3"')
    if problems:
        fail(*problems)
    return values


# --------------------------------------------------------------------------- the settings

Retention = Annotated[int, one_of(LOG_RETENTION_DAYS, "a CloudWatch Logs retention in days")]
Flag = Annotated[bool, flag()]


def _zone_names(value: Any) -> Any:
    """Check the zone names first: an unknown zone is one message, not one per missing key inside it."""
    if isinstance(value, Mapping):
        problems = [f".{name}={show(body)} is not a lake zone: the zones are exactly {', '.join(ZONE_NAMES)}"
                    for name, body in value.items() if name not in ZONE_NAMES]
        problems += [f".{name} is missing" for name in ZONE_NAMES if name not in value]
        if problems:
            fail(*problems)
    return value


@settings_class
class ZoneLifecycle:
    """Storage tiering of one lake zone: Standard -> Standard-IA -> an archive class -> expiry."""

    infrequent_access_after_days: Annotated[int | None, number(
        int, MIN_INFREQUENT_ACCESS_DAY, 36500, " days", null="to skip it",
        note=f"; S3 allows the Standard-IA transition from day {MIN_INFREQUENT_ACCESS_DAY} on")]
    archive_after_days: Annotated[int | None, number(int, 0, 36500, " days", null="to skip it")]
    archive_storage_class: Annotated[Literal["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"],
                                     one_of(ARCHIVE_STORAGE_CLASSES, "an archive storage class")]
    expire_after_days: Annotated[int | None, number(int, 1, 36500, " days", null="to keep objects")]
    noncurrent_versions_expire_after_days: Annotated[int, number(int, 1, 3650, " days")]

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
            fail(*problems)
        return self


@settings_class
class DataLakeSettings:
    zones: Annotated[dict[str, ZoneLifecycle], BeforeValidator(_zone_names)]
    abort_incomplete_multipart_upload_after_days: Annotated[int, number(int, 1, 365, " days")]
    access_logs_expire_after_days: Annotated[int, number(int, 1, 3650, " days")]


@settings_class
class StreamingSettings:
    """Kinesis Data Streams -> Firehose (Lambda transform, Parquet) -> the raw zone."""

    capacity_mode: Annotated[Literal["PROVISIONED", "ON_DEMAND"],
                             one_of(("PROVISIONED", "ON_DEMAND"), "a Kinesis capacity mode")]
    shard_count: Annotated[int | None, number(int, 1, 500, " shards", null="with ON_DEMAND")]  # PROVISIONED only
    retention_hours: Annotated[int, number(int, 24, 8760, " hours", note=" (24 hours to 365 days)")]
    buffer_size_mib: Annotated[int, number(int, 64, 128, " MiB",
                                           note="; Parquet conversion needs a buffer of at least 64 MiB")]
    buffer_interval_seconds: Annotated[int, number(int, 60, 900, " seconds")]
    transform_memory_mib: Annotated[int, number(int, 128, 10240, " MiB")]
    transform_reserved_concurrency: Annotated[int | None, number(
        int, 1, 1000, null="for no reservation (a new account's quota of 10 leaves none to reserve)")]
    iterator_age_alarm_seconds: Annotated[int, number(int, 60, 8760 * 3600, " seconds")]
    data_freshness_alarm_seconds: Annotated[int, number(int, 60, 86400, " seconds")]
    alarm_email: Annotated[str | None, text(
        lambda v: None if EMAIL_PATTERN.match(v) else f"={show(v)} is not an e-mail address (or null for none)",
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
            fail(*problems)
        return self


def _crawler_zones(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        fail(f"=[]: use one or more distinct zones of {', '.join(CRAWLABLE_ZONES)}")
    return distinct(value)


Cron = Annotated[str, text(_cron_problem, allowed="a Glue cron expression such as \"cron(0 3 * * ? *)\"")]


@settings_class
class CatalogSettings:
    """Glue crawler and ETL job, the Data Catalog's encryption, and the Athena workgroup."""

    crawler_zones: Annotated[tuple[Annotated[str, one_of(
        CRAWLABLE_ZONES, "a crawlable zone", note=" (the results zone holds query output, not datasets)")], ...],
        AfterValidator(_crawler_zones)]
    crawler_schedule_enabled: Flag  # false: the crawler exists but runs only when started by hand
    crawler_schedule: Cron
    etl_schedule_enabled: Flag  # false: the ETL job runs only when started by hand
    etl_schedule: Cron
    etl_worker_type: Annotated[Literal["G.1X", "G.2X", "G.4X", "G.8X"], one_of(GLUE_WORKER_TYPES,
                                                                               "a Glue worker type")]
    etl_workers: Annotated[int, number(int, 2, 100, " workers")]
    etl_timeout_minutes: Annotated[int, number(int, 1, 2880, " minutes")]
    athena_bytes_scanned_cutoff_mb: Annotated[int, number(
        int, ATHENA_MIN_CUTOFF_MB, 10**9, " MB", note=f" (Athena's minimum is {ATHENA_MIN_CUTOFF_MB} MB per query)")]
    # Account-wide: encrypts the whole Data Catalog of the account and region, not only this app's.
    data_catalog_encryption: Flag


@settings_class
class NetworkSettings:
    """The isolated VPC that SageMaker jobs, models and notebooks run in."""

    az_count: Annotated[int, number(int, 1, MAX_AZ_COUNT, note="; environment-agnostic stacks can place subnets "
                                                              "in at most two availability zones")]
    vpc_cidr: Annotated[str, text(_cidr_problem, allowed="a CIDR block such as \"10.40.0.0/16\"")]
    extra_interface_endpoints: Annotated[
        tuple[Annotated[str, one_of(INTERFACE_ENDPOINT_NAMES, "a supported interface endpoint")], ...],
        AfterValidator(distinct)]
    flow_log_retention_days: Retention

    @model_validator(mode="after")
    def _fits(self) -> NetworkSettings:
        network = ipaddress.ip_network(self.vpc_cidr)
        if 2 ** (SUBNET_PREFIX_LENGTH - network.prefixlen) < self.az_count:
            fail(f".vpc_cidr={show(self.vpc_cidr)} is too small for {self.az_count} /{SUBNET_PREFIX_LENGTH} "
                 "subnets: use a larger block or fewer availability zones")
        return self


ModelArtifact = Annotated[str | None, text(_model_artifact_problem, allowed="an S3 URI of a model.tar.gz",
                                           null="for no endpoint")]


@settings_class
class VariantSettings:
    """One production variant of the endpoint; two of them split traffic for A/B tests."""

    name: Annotated[str, text(lambda v: None if VARIANT_NAME.match(v) else
                              f"={show(v)}: use 1..63 letters, digits and hyphens", allowed="a variant name")]
    instance_type: Annotated[str, one_of(HOSTING_INSTANCE_TYPES, "a supported hosting instance type")]
    initial_instance_count: Annotated[int, number(int, 1, 10)]
    weight: Annotated[float, number(float, 0, 1, note=" (a traffic share)")]
    model_artifact: ModelArtifact = None  # null: the endpoint's model_artifact


def _monitor_schedule_problem(value: str) -> str | None:
    if monitor_schedule_hours(value) is not None:
        return None
    return (f"={show(value)} is not a schedule Model Monitor accepts: use cron(0 * ? * * *) (hourly), "
            "cron(0 H ? * * *) (daily at hour H, 0..23 UTC) or cron(0 H/N ? * * *) (every N hours, N 1..24)")


@settings_class
class ModelMonitorSettings:
    """Model Monitor on the pipeline endpoint: a data-quality baseline and a schedule over its captured
    requests, with a drift alarm. The schedule's jobs bill while the endpoint exists, traffic or not."""

    enabled: Flag  # false: no setup state machine, rule, alarms or schedule
    schedule: Annotated[str, text(_monitor_schedule_problem, allowed="a Model Monitor schedule such as "
                                                                    "\"cron(0 * ? * * *)\"")]
    instance_type: Annotated[str, one_of(PROCESSING_INSTANCE_TYPES, "a supported processing instance type")]
    volume_gb: Annotated[int, number(int, 1, 16384, " GB")]
    max_runtime_minutes: Annotated[int, number(int, 1, 60, " minutes",
                                               note=" (a run must end before the next one starts)")]
    drift_alarm_threshold: Annotated[float, number(float, 0.01, 1, note=" (a distance between distributions)")]

    @model_validator(mode="after")
    def _fits(self) -> ModelMonitorSettings:
        hours = monitor_schedule_hours(self.schedule) or 24
        if self.max_runtime_minutes > hours * 60:
            fail(f".max_runtime_minutes={self.max_runtime_minutes}: allowed 1..{hours * 60} with schedule "
                 f"{self.schedule} (a run must end before the next one starts)")
        return self


@settings_class
class BatchTransformSettings:
    """The batch transform state machine: the latest Approved model of the registry over a curated
    prefix, predictions to the results zone. It runs (and costs) only when started."""

    enabled: Flag  # false: no state machine, no role
    instance_type: Annotated[str, one_of(TRANSFORM_INSTANCE_TYPES, "a supported transform instance type")]
    instance_count: Annotated[int, number(int, 1, 20, " instances")]
    max_payload_mb: Annotated[int, number(int, 1, TRANSFORM_MAX_PAYLOAD_MB, " MB")]
    max_concurrent_transforms: Annotated[int, number(int, 1, TRANSFORM_MAX_PAYLOAD_MB)]
    # null: <training_data_prefix>validation/ (label-first CSV lines, as the filters expect; baseline/ has no label)
    input_prefix: Annotated[str | None, text(_prefix_problem, allowed="a key prefix such as \"training/\"",
                                             null="for the validation/ split of sagemaker.training_data_prefix")]
    timeout_minutes: Annotated[int, number(int, 10, 2880, " minutes")]

    @model_validator(mode="after")
    def _payload_fits(self) -> BatchTransformSettings:
        total = self.max_payload_mb * self.max_concurrent_transforms
        if total > TRANSFORM_MAX_PAYLOAD_MB:
            fail(f".max_payload_mb={self.max_payload_mb} x max_concurrent_transforms={self.max_concurrent_transforms}"
                 f" = {total} MB: SageMaker allows at most {TRANSFORM_MAX_PAYLOAD_MB} MB in flight per instance; "
                 "lower either")
        return self
# --------------------------------------------------------------------------- model tuning and registry

_RANGE_KEYS = ("min", "max", "scaling")


def _range_problems(name: str, body: Any) -> list[str]:
    """What is wrong with one hyperparameter range: {"min": x, "max": y, "scaling": "Auto"}."""
    if name not in XGBOOST_TUNABLE:
        return [f".{name}={show(body)} is not a tunable hyperparameter of SageMaker's XGBoost{suggest(name, XGBOOST_TUNABLE)}: "
                f"use {', '.join(XGBOOST_TUNABLE)}"]
    kind_, low, high = XGBOOST_TUNABLE[name]
    shape = f'{{"min": {low:g}, "max": {high:g}, "scaling": "Auto"}}'
    if not isinstance(body, Mapping) or not {"min", "max"} <= set(body) or set(body) - set(_RANGE_KEYS):
        return [f".{name}={show(body)} is not a range: use an object like {shape} (scaling optional)"]
    problems = []
    number_type = int if kind_ == "Integer" else (int, float)
    bounds = [body["min"], body["max"]]
    allowed, ok = XGBOOST_HYPERPARAMETERS[name]
    for end, value in zip(("min", "max"), bounds, strict=True):
        if isinstance(value, bool) or not isinstance(value, number_type):
            problems.append(f".{name}.{end}={show(value)} must be a {'whole ' if kind_ == 'Integer' else ''}number: "
                            f"{name} is an {kind_} range")
        elif not ok(str(value)):
            problems.append(f".{name}.{end}={show(value)} is outside what {name} allows: use {allowed} "
                            f"(recommended {low:g}..{high:g})")
    scaling = body.get("scaling", "Auto")
    if scaling not in TUNING_SCALING_TYPES:
        problems.append(f".{name}.scaling={show(scaling)} is not a scaling type: use one of {', '.join(TUNING_SCALING_TYPES)}")
    if problems:
        return problems
    if bounds[0] >= bounds[1]:
        problems.append(f".{name}.min={show(bounds[0])} must be less than max={show(bounds[1])}")
    if scaling == "Logarithmic" and bounds[0] <= 0:
        problems.append(f".{name}.scaling=\"Logarithmic\" needs min > 0 (got {show(bounds[0])})")
    if scaling == "ReverseLogarithmic" and (kind_ == "Integer" or not (0 <= bounds[0] and bounds[1] < 1)):
        problems.append(f".{name}.scaling=\"ReverseLogarithmic\" works only for continuous ranges within 0 <= x < 1")
    return problems


def _tuning_ranges(value: dict[str, Any]) -> dict[str, Any]:
    problems = [p for name, body in value.items() for p in _range_problems(name, body)]
    if problems:
        fail(*problems)
    return value


def _parent_name(value: str) -> str | None:
    if TUNING_JOB_NAME.match(value):
        return None
    return f"={show(value)} is not a tuning job name: use 1..32 letters, digits and hyphens"


def _warm_start_parents(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(value) > TUNING_MAX_WARM_START_PARENTS:
        fail(f"=[{len(value)} jobs] names too many parent tuning jobs: use at most {TUNING_MAX_WARM_START_PARENTS}")
    return distinct(value)


@settings_class
class TuningSettings:
    """Optional automatic model tuning: a HyperParameterTuningJob replaces the single training job,
    and the best training job's model is registered."""

    enabled: Flag  # false: one training job with xgboost_hyperparameters
    objective_metric: Annotated[str, one_of(tuple(XGBOOST_TUNING_METRICS), "a metric XGBoost emits for tuning",
                                            note=" (the direction follows from the metric)")]
    # hyperparameter -> {"min", "max", "scaling"}; the rest of xgboost_hyperparameters stays static.
    ranges: Annotated[dict[str, Any], AfterValidator(_tuning_ranges)]
    max_jobs: Annotated[int, number(int, 1, TUNING_MAX_JOBS, " training jobs")]
    max_parallel_jobs: Annotated[int, number(int, 1, TUNING_MAX_PARALLEL_JOBS, " training jobs")]
    early_stopping: Annotated[Literal["Auto", "Off"], one_of(("Auto", "Off"), "an early-stopping type")]
    # Earlier tuning jobs to start from (at most 5); empty: a cold start.
    warm_start_parents: Annotated[tuple[Annotated[str, text(_parent_name, allowed="a tuning job name")], ...],
                                  AfterValidator(_warm_start_parents)]
    warm_start_type: Annotated[Literal["IdenticalDataAndAlgorithm", "TransferLearning"],
                               one_of(WARM_START_TYPES, "a warm-start type")]

    @model_validator(mode="after")
    def _consistent(self) -> TuningSettings:
        problems = []
        if self.max_parallel_jobs > self.max_jobs:
            problems.append(f".max_parallel_jobs={self.max_parallel_jobs} must be at most max_jobs={self.max_jobs}")
        if self.enabled and not self.ranges:
            problems.append(".ranges={}: tuning needs at least one hyperparameter range, e.g. "
                            '{"eta": {"min": 0.1, "max": 0.5}}')
        if problems:
            fail(*problems)
        return self

    @property
    def objective_type(self) -> str:
        return XGBOOST_TUNING_METRICS[self.objective_metric]


@settings_class
class RegistrySettings:
    """The model registry: every trained model becomes a package; only Approved ones are deployed."""

    # automatic: the pipeline approves its own package (sandbox); manual: a person approves (prod).
    approval: Annotated[Literal["automatic", "manual"], one_of(MODEL_APPROVAL_MODES, "an approval mode")]


def _tuning_problems(ml: Any) -> list[str]:
    """Tuning against the static hyperparameters: the objective must be a metric training emits."""
    tuning = ml.tuning
    if not tuning.enabled:
        return []
    problems = []
    metric = tuning.objective_metric.removeprefix("validation:")
    eval_metrics = [m for m in ml.xgboost_hyperparameters.get("eval_metric", "").split(",") if m]
    if eval_metrics and metric not in eval_metrics:
        problems.append(f".tuning.objective_metric={show(tuning.objective_metric)} is not emitted: "
                        f"xgboost_hyperparameters.eval_metric={show(','.join(eval_metrics))} computes "
                        f"{', '.join('validation:' + m for m in eval_metrics)}; use one of those or add {metric} to "
                        "eval_metric")
    return problems


@settings_class
class SageMakerSettings:
    """Training pipeline, hosting and the notebook, all inside the isolated VPC."""

    deny_jobs_outside_vpc: Flag
    training_instance_type: Annotated[str, one_of(TRAINING_INSTANCE_TYPES, "a supported training instance type")]
    training_instance_count: Annotated[int, number(int, 1, 20)]
    training_volume_gb: Annotated[int, number(int, 1, 16384, " GB")]
    training_max_runtime_minutes: Annotated[int, number(int, 1, 40320, " minutes")]
    training_input_mode: Annotated[Literal["File", "Pipe", "FastFile"],
                                   one_of(("File", "Pipe", "FastFile"), "a training input mode")]
    training_data_prefix: Annotated[str, text(_prefix_problem, allowed="a key prefix such as \"training/\"")]
    managed_spot_training: Flag
    spot_max_wait_minutes: Annotated[int, number(int, 1, 40320, " minutes")]
    xgboost_hyperparameters: Annotated[dict[str, Annotated[str, text(allowed="a string (SageMaker passes "
                                                                             "hyperparameters as strings)")]],
                                       AfterValidator(_hyperparameters)]
    model_artifact: ModelArtifact  # null: no model, endpoint config or endpoint (no hosting cost)
    endpoint_variants: tuple[VariantSettings, ...]
    data_capture_sampling_percent: Annotated[int, number(int, 0, 100, " percent")]
    autoscaling_max_instances: Annotated[int, number(int, 1, 20, " instances")]
    autoscaling_target_invocations_per_instance: Annotated[int, number(int, 1, 1_000_000)]
    alarm_5xx_errors_per_5_minutes: Annotated[int, number(int, 1, 1_000_000)]
    alarm_model_latency_ms: Annotated[int, number(int, 1, 1_000_000, " ms")]
    notebook_enabled: Flag
    notebook_instance_type: Annotated[str, one_of(NOTEBOOK_INSTANCE_TYPES, "a supported notebook instance type")]
    batch_transform: BatchTransformSettings
    model_monitor: ModelMonitorSettings
    tuning: TuningSettings
    registry: RegistrySettings

    @model_validator(mode="after")
    def _consistent(self) -> SageMakerSettings:
        problems = _tuning_problems(self)
        variants = self.endpoint_variants
        if self.managed_spot_training and self.spot_max_wait_minutes < self.training_max_runtime_minutes:
            problems.append(f".spot_max_wait_minutes={self.spot_max_wait_minutes} must be at least "
                            f"training_max_runtime_minutes={self.training_max_runtime_minutes} with spot training")
        if not 1 <= len(variants) <= 2:
            problems.append(f".endpoint_variants=[{len(variants)} variants]: give one variant, or two for an A/B test "
                            f"(got {len(variants)})")
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            problems.append(f".endpoint_variants names={show(names)}: variant names must be distinct")
        if variants and sum(v.weight for v in variants) <= 0:
            problems.append(f".endpoint_variants weights={show([v.weight for v in variants])}: the weights must "
                            "not all be 0 (no variant would get traffic)")
        if len(variants) == 2 and {v.model_artifact for v in variants} == {None}:
            problems.append(".endpoint_variants model_artifact=[null, null]: an A/B test needs a model_artifact on "
                            "at least one variant, or both variants serve the same model")
        if self.model_artifact is None:
            problems += [f".endpoint_variants[{i}].model_artifact={show(v.model_artifact)} has no effect while "
                         "sagemaker.model_artifact is null (null means no endpoint): set sagemaker.model_artifact "
                         "too, or remove the variant's" for i, v in enumerate(variants) if v.model_artifact]
        if self.model_monitor.enabled and self.data_capture_sampling_percent == 0:
            problems.append(".model_monitor.enabled=true needs data_capture_sampling_percent above 0: Model Monitor "
                            "analyzes the endpoint's captured requests")
        largest_initial = max((v.initial_instance_count for v in variants), default=1)
        if self.autoscaling_max_instances < largest_initial:
            problems.append(f".autoscaling_max_instances={self.autoscaling_max_instances}: allowed from the largest "
                            f"initial_instance_count ({largest_initial}) to 20")
        if problems:
            fail(*problems)
        return self


AUDIT_DATA_EVENTS = ("none", "read", "write", "all")
OBJECT_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")


@settings_class
class AuditSettings:
    """The CloudTrail audit trail, its bucket and the Athena queries over it."""

    enabled: Flag  # false: no Audit stack at all (no trail, bucket, key or queries)
    multi_region: Flag  # one trail recording every region (true) or the deployment's region only
    # S3 object-level events of the lake's raw and curated zones: none, reads, writes or both.
    s3_data_events: Annotated[Literal["none", "read", "write", "all"],
                              one_of(AUDIT_DATA_EVENTS, "an S3 data-event choice",
                                     note=" (data events cost $0.10 per 100,000)")]
    cloudwatch_logs: Flag  # also deliver events to an encrypted log group (for metric filters and alarms)
    log_retention_days: Retention  # that log group's retention
    object_lock_mode: Annotated[str | None, text(
        lambda v: None if v in OBJECT_LOCK_MODES else (f"={show(v)} is not an Object Lock mode: use one of "
                                                       f"{', '.join(OBJECT_LOCK_MODES)} (or null for no Object Lock)"),
        allowed="an Object Lock mode", null="for no Object Lock")]  # prod: on; sandbox: off
    object_lock_days: Annotated[int | None, number(int, 1, 36500, " days", null="with no Object Lock")]
    archive_after_days: Annotated[int | None, number(int, 0, 36500, " days", null="to skip it")]  # Glacier IR
    expire_after_days: Annotated[int, number(int, 1, 36500, " days")]
    athena_bytes_scanned_cutoff_mb: Annotated[int, number(
        int, ATHENA_MIN_CUTOFF_MB, 10**9, " MB", note=f" (Athena's minimum is {ATHENA_MIN_CUTOFF_MB} MB per query)")]

    @model_validator(mode="after")
    def _consistent(self) -> AuditSettings:
        problems = []
        if self.object_lock_mode is not None and self.object_lock_days is None:
            problems.append(f".object_lock_days=null: Object Lock mode {self.object_lock_mode} needs a retention "
                            "of 1..36500 days")
        if self.object_lock_mode is None and self.object_lock_days is not None:
            problems.append(f".object_lock_days={self.object_lock_days}: must be null while object_lock_mode is "
                            "null (Object Lock is off)")
        if self.object_lock_days is not None and self.expire_after_days < self.object_lock_days:
            problems.append(f".expire_after_days={self.expire_after_days} must be at least object_lock_days="
                            f"{self.object_lock_days}: S3 cannot expire a locked log file")
        if self.archive_after_days is not None and self.expire_after_days <= self.archive_after_days:
            problems.append(f".expire_after_days={self.expire_after_days} must be greater than archive_after_days="
                            f"{self.archive_after_days} (lifecycle days must ascend)")
        if problems:
            fail(*problems)
        return self

# --------------------------------------------------------------------------- Lake Formation

# An IAM role or user ARN: Lake Formation grants to roles and users (not groups, not wildcards).
IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):(?:role|user)/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


def _principal_problem(value: str) -> str | None:
    if IAM_PRINCIPAL_ARN.match(value):
        return None
    return (f"={show(value)} is not an IAM role or user ARN: use arn:aws:iam::<12-digit account>:role/<name> or "
            ":user/<name> (no wildcards, no groups, no account root)")


PrincipalArns = Annotated[tuple[Annotated[str, text(_principal_problem, allowed="an IAM role or user ARN")], ...],
                          AfterValidator(distinct)]


@settings_class
class LakeFormationSettings:
    """Opt-in Lake Formation over the raw and curated zones, in hybrid access mode (IAM keeps working)."""

    enabled: Flag  # false: no Lake Formation resource at all
    # Added to the account's data-lake administrators (never replacing them); required when enabled.
    admins: PrincipalArns
    # The people or roles that query through Athena (the analyst policy is not a principal).
    analyst_principals: PrincipalArns

    @model_validator(mode="after")
    def _consistent(self) -> LakeFormationSettings:
        problems = []
        if self.enabled and not self.admins:
            problems.append(".admins=[]: with enabled=true name at least one IAM role or user ARN that administers "
                            "Lake Formation (the app adds its deploy role; nobody else could opt principals in)")
        accounts = sorted({IAM_PRINCIPAL_ARN.match(arn).group(1) for arn in (*self.admins, *self.analyst_principals)})
        if len(accounts) > 1:
            problems.append(f".admins/.analyst_principals name accounts {', '.join(accounts)}: use principals of the "
                            "one account the lake is deployed to")
        if problems:
            fail(*problems)
        return self


# API Gateway's default account-level limits per region (rate per second, burst); a stage or usage
# plan cannot usefully ask for more.
API_GATEWAY_ACCOUNT_RATE, API_GATEWAY_ACCOUNT_BURST = 10_000, 5_000


@settings_class
class InferenceApiSettings:
    """The REST API in front of the pipeline endpoint (IAM auth, Lambda in the isolated VPC)."""

    enabled: Flag  # false: no API, no Lambda, no log groups, no interface endpoint for it
    private: Flag  # true: a PRIVATE API reachable only through the VPC's execute-api endpoint
    throttle_rate_per_second: Annotated[int, number(int, 1, API_GATEWAY_ACCOUNT_RATE, " requests per second")]
    throttle_burst: Annotated[int, number(int, 1, API_GATEWAY_ACCOUNT_BURST, " requests")]
    quota_requests_per_day: Annotated[int | None, number(int, 1, 10**9, " requests", null="for no daily quota")]
    max_rows_per_request: Annotated[int, number(int, 1, 1000, " rows")]
    reserved_concurrency: Annotated[int | None, number(
        int, 1, 1000, null="for no reservation (a new account's quota of 10 leaves none to reserve)")]
    # Account-wide: API Gateway's CloudWatch Logs role of the account and region (one per region).
    manage_account_cloudwatch_role: Flag

    @model_validator(mode="after")
    def _consistent(self) -> InferenceApiSettings:
        if self.throttle_burst < self.throttle_rate_per_second:
            fail(f".throttle_burst={self.throttle_burst} must be at least throttle_rate_per_second="
                 f"{self.throttle_rate_per_second}: the bucket must hold one second of requests")
        return self


def _name_prefix_problem(prefix: str) -> str | None:
    if NAME_PREFIX_PATTERN.match(prefix) and len(prefix) <= MAX_NAME_PREFIX and not prefix.startswith(
            RESERVED_BUCKET_PREFIXES):
        return None
    return (f"={show(prefix)} breaks S3 bucket and stack naming: use 1..{MAX_NAME_PREFIX} lowercase letters, "
            "digits and single hyphens, starting with a letter and ending with a letter or digit, not starting "
            f"with {', '.join(RESERVED_BUCKET_PREFIXES)}")


@settings_class
class Settings:
    """Everything one deployment of the app needs to know."""

    profile: Annotated[str, text(allowed="a profile name")]
    name_prefix: Annotated[str, text(_name_prefix_problem, allowed="a string of lowercase letters, digits and hyphens")]
    # The only switch that lets stateful resources be deleted with the stack.
    destroy_data_on_removal: Flag
    tags: Annotated[dict[str, Annotated[str, text(allowed="a string")]],
                    AfterValidator(_tags)]
    # Every log group of the app (stream, transform, delivery, pipeline); VPC flow logs have their own.
    log_retention_days: Retention
    data_lake: DataLakeSettings
    streaming: StreamingSettings
    catalog: CatalogSettings
    network: NetworkSettings
    sagemaker: SageMakerSettings
    audit: AuditSettings
    lake_formation: LakeFormationSettings
    inference_api: InferenceApiSettings

    @model_validator(mode="after")
    def _prod_keeps_data(self) -> Settings:
        if self.profile == "prod" and self.destroy_data_on_removal:
            fail(".destroy_data_on_removal=true is not allowed in profile \"prod\": production retains every "
                 "stateful resource")
        return self


# --------------------------------------------------------------------------- parsing


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    """Validate a complete raw settings mapping; raise SettingsError with every problem."""
    return parse(Settings, raw)


def settings_as_json(settings: Settings) -> dict[str, Any]:
    return as_json(Settings, settings)
