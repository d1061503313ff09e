"""Typed, validated settings: one object per environment profile.

Every value that shapes a template lives here. `load_settings` turns a profile's raw mapping
(plus optional overrides) into frozen dataclasses and collects *every* problem before any
construct is built, so a bad value fails with one readable message instead of a jsii traceback.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

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
# Lowercase letters, digits and single hyphens; no dots (they break TLS on virtual-hosted URLs).
NAME_PREFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Glue schedules: cron(minutes hours day-of-month month day-of-week year), and one of the two day
# fields must be "?".
CRON_PATTERN = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
ATHENA_MIN_CUTOFF_MB = 10  # Athena refuses a per-query cutoff below 10,000,000 bytes


def _cron(value: str, path: str, problems: list[str]) -> None:
    match = CRON_PATTERN.match(value)
    if not match or "?" not in (match.group(3), match.group(5)):
        problems.append(
            f"{path}={value!r} is not a Glue cron expression: use cron(minutes hours day-of-month month "
            "day-of-week year) with '?' in day-of-month or day-of-week, e.g. cron(0 3 * * ? *)"
        )


# Interface endpoints: the ones every SageMaker-in-a-VPC deployment needs, and the optional ones.
REQUIRED_INTERFACE_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts", "logs")
OPTIONAL_INTERFACE_ENDPOINTS = ("monitoring", "kms", "ecr.api", "ecr.dkr", "states", "glue", "athena", "kinesis-streams")
# SageMaker instance types this app accepts. All are EBS-backed: SageMaker cannot apply a KMS key to
# instance-store (NVMe) volumes, and every volume here is encrypted with the ML key.
TRAINING_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.c5.xlarge",
                           "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.r5.large", "ml.r5.xlarge", "ml.r5.2xlarge")
HOSTING_INSTANCE_TYPES = ("ml.t2.medium", "ml.t2.large", "ml.m5.large", "ml.m5.xlarge", "ml.c5.large",
                          "ml.c5.xlarge", "ml.r5.large")
NOTEBOOK_INSTANCE_TYPES = ("ml.t3.medium", "ml.t3.large", "ml.m5.xlarge")
S3_MODEL_ARTIFACT = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+\.tar\.gz$")
VARIANT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Environment-agnostic stacks resolve at most two availability zones (Fn::GetAZs, no lookup).
MAX_AZ_COUNT = 2
SUBNET_PREFIX_LENGTH = 24  # one isolated /24 per availability zone


def _choice(value: str, path: str, problems: list[str], allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        problems.append(f"{path}={value!r} is not a supported {what}: use one of {', '.join(allowed)}")


class SettingsError(ValueError):
    """Raised with every problem found in a profile's settings, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


def _in_range(value: int | None, path: str, problems: list[str], *, low: int, high: int, unit: str = " days",
              note: str = "") -> None:
    if value is not None and not low <= value <= high:
        problems.append(f"{path}={value} is out of range: allowed {low}..{high}{unit}{note}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ZoneLifecycle:
    """Storage tiering of one lake zone: Standard -> Standard-IA -> an archive class -> expiry."""

    infrequent_access_after_days: int | None
    archive_after_days: int | None
    archive_storage_class: Literal["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]
    expire_after_days: int | None
    noncurrent_versions_expire_after_days: int

    def validate(self, path: str, problems: list[str]) -> None:
        ia, archive, expire = (
            self.infrequent_access_after_days,
            self.archive_after_days,
            self.expire_after_days,
        )
        if ia is not None and ia < MIN_INFREQUENT_ACCESS_DAY:
            problems.append(
                f"{path}.infrequent_access_after_days={ia}: S3 allows the Standard-IA transition "
                f"from day {MIN_INFREQUENT_ACCESS_DAY} on (or null to skip it)"
            )
        _in_range(ia, f"{path}.infrequent_access_after_days", problems, low=0, high=36500)
        _in_range(archive, f"{path}.archive_after_days", problems, low=0, high=36500)
        _in_range(expire, f"{path}.expire_after_days", problems, low=1, high=36500)
        _in_range(
            self.noncurrent_versions_expire_after_days,
            f"{path}.noncurrent_versions_expire_after_days",
            problems,
            low=1,
            high=3650,
        )
        if ia is not None and archive is not None and archive < ia + MIN_DAYS_IN_INFREQUENT_ACCESS:
            problems.append(
                f"{path}: lifecycle days must ascend: archive_after_days={archive} must be at least "
                f"infrequent_access_after_days + {MIN_DAYS_IN_INFREQUENT_ACCESS} = "
                f"{ia + MIN_DAYS_IN_INFREQUENT_ACCESS}"
            )
        last_transition = max((d for d in (ia, archive) if d is not None), default=None)
        if expire is not None and last_transition is not None and expire <= last_transition:
            problems.append(
                f"{path}: lifecycle days must ascend: expire_after_days={expire} must be greater "
                f"than the last transition day ({last_transition})"
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataLakeSettings:
    zones: Mapping[str, ZoneLifecycle]
    abort_incomplete_multipart_upload_after_days: int
    access_logs_expire_after_days: int

    def validate(self, path: str, problems: list[str]) -> None:
        missing = [z for z in ZONE_NAMES if z not in self.zones]
        unknown = [z for z in self.zones if z not in ZONE_NAMES]
        if missing or unknown:
            problems.append(
                f"{path}.zones: got {sorted(self.zones)}, expected exactly {list(ZONE_NAMES)}"
            )
        _in_range(
            self.abort_incomplete_multipart_upload_after_days,
            f"{path}.abort_incomplete_multipart_upload_after_days",
            problems,
            low=1,
            high=365,
        )
        _in_range(
            self.access_logs_expire_after_days,
            f"{path}.access_logs_expire_after_days",
            problems,
            low=1,
            high=3650,
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class StreamingSettings:
    """Kinesis Data Streams -> Firehose (Lambda transform, Parquet) -> the raw zone."""

    capacity_mode: Literal["PROVISIONED", "ON_DEMAND"]
    shard_count: int | None  # PROVISIONED only
    retention_hours: int
    buffer_size_mib: int
    buffer_interval_seconds: int
    transform_memory_mib: int
    transform_reserved_concurrency: int
    log_retention_days: int
    iterator_age_alarm_seconds: int
    data_freshness_alarm_seconds: int
    alarm_email: str | None

    def validate(self, path: str, problems: list[str]) -> None:
        if self.capacity_mode == "PROVISIONED" and (self.shard_count is None or not 1 <= self.shard_count <= 500):
            problems.append(f"{path}.shard_count={self.shard_count}: PROVISIONED streams need 1..500 shards")
        if self.capacity_mode == "ON_DEMAND" and self.shard_count is not None:
            problems.append(f"{path}.shard_count={self.shard_count}: must be null with capacity_mode ON_DEMAND "
                            "(Kinesis sizes on-demand streams itself)")
        for name, low, high, note in (
            ("retention_hours", 24, 8760, " (24 hours to 365 days)"),
            ("buffer_size_mib", 64, 128, "; Parquet conversion needs a buffer of at least 64 MiB"),
            ("buffer_interval_seconds", 60, 900, ""),
            ("transform_memory_mib", 128, 10240, ""),
            ("transform_reserved_concurrency", 1, 1000, ""),
        ):
            _in_range(getattr(self, name), f"{path}.{name}", problems, low=low, high=high, unit="", note=note)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            problems.append(f"{path}.log_retention_days={self.log_retention_days} is not a CloudWatch Logs "
                            f"retention: use one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        if not 60 <= self.iterator_age_alarm_seconds <= self.retention_hours * 3600:
            problems.append(f"{path}.iterator_age_alarm_seconds={self.iterator_age_alarm_seconds}: allowed 60 "
                            "up to the stream retention, after which records are already lost")
        if self.data_freshness_alarm_seconds <= self.buffer_interval_seconds:
            problems.append(f"{path}.data_freshness_alarm_seconds={self.data_freshness_alarm_seconds} must be "
                            f"greater than buffer_interval_seconds={self.buffer_interval_seconds}, or the alarm "
                            "fires on every healthy buffer")
        if self.alarm_email is not None and not EMAIL_PATTERN.match(self.alarm_email):
            problems.append(f"{path}.alarm_email={self.alarm_email!r} is not an e-mail address (or null for none)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CatalogSettings:
    """Glue crawler and ETL job, the Data Catalog's encryption, and the Athena workgroup."""

    crawler_zones: tuple[str, ...]
    crawler_schedule_enabled: bool  # false: the crawler exists but runs only when started by hand
    crawler_schedule: str
    etl_schedule_enabled: bool  # false: the ETL job runs only when started by hand
    etl_schedule: str
    etl_worker_type: Literal["G.1X", "G.2X", "G.4X", "G.8X"]
    etl_workers: int
    etl_timeout_minutes: int
    athena_bytes_scanned_cutoff_mb: int
    # Account-wide: encrypts the whole Data Catalog of the account and region, not only this app's.
    data_catalog_encryption: bool

    def validate(self, path: str, problems: list[str]) -> None:
        unknown = [z for z in self.crawler_zones if z not in CRAWLABLE_ZONES]
        if unknown or not self.crawler_zones or len(set(self.crawler_zones)) != len(self.crawler_zones):
            problems.append(f"{path}.crawler_zones={list(self.crawler_zones)}: use one or more distinct zones of "
                            f"{', '.join(CRAWLABLE_ZONES)} (the results zone holds query output, not datasets)")
        _cron(self.crawler_schedule, f"{path}.crawler_schedule", problems)
        _cron(self.etl_schedule, f"{path}.etl_schedule", problems)
        _in_range(self.etl_workers, f"{path}.etl_workers", problems, low=2, high=100, unit=" workers")
        _in_range(self.etl_timeout_minutes, f"{path}.etl_timeout_minutes", problems, low=1, high=2880,
                  unit=" minutes")
        if self.athena_bytes_scanned_cutoff_mb < ATHENA_MIN_CUTOFF_MB:
            problems.append(f"{path}.athena_bytes_scanned_cutoff_mb={self.athena_bytes_scanned_cutoff_mb} is below "
                            f"Athena's minimum of {ATHENA_MIN_CUTOFF_MB} MB per query")


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """The isolated VPC that SageMaker jobs, models and notebooks run in."""

    az_count: int
    vpc_cidr: str
    extra_interface_endpoints: tuple[str, ...]
    flow_log_retention_days: int

    def validate(self, path: str, problems: list[str]) -> None:
        if not 1 <= self.az_count <= MAX_AZ_COUNT:
            problems.append(f"{path}.az_count={self.az_count}: allowed 1..{MAX_AZ_COUNT}; environment-agnostic "
                            "stacks can place subnets in at most two availability zones")
        try:
            network = ipaddress.ip_network(self.vpc_cidr, strict=True)
        except ValueError as error:
            problems.append(f"{path}.vpc_cidr={self.vpc_cidr!r} is not a CIDR block ({error}): use e.g. 10.40.0.0/16")
        else:
            if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 24:
                problems.append(f"{path}.vpc_cidr={self.vpc_cidr!r}: use a private IPv4 block from /16 to /24 "
                                "(10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)")
            elif 2 ** (SUBNET_PREFIX_LENGTH - network.prefixlen) < self.az_count:
                problems.append(f"{path}.vpc_cidr={self.vpc_cidr!r} is too small for {self.az_count} "
                                f"/{SUBNET_PREFIX_LENGTH} subnets")
        for name in self.extra_interface_endpoints:
            if name in REQUIRED_INTERFACE_ENDPOINTS:
                problems.append(f"{path}.extra_interface_endpoints: {name!r} is always created; list only extras")
            else:
                _choice(name, f"{path}.extra_interface_endpoints", problems, OPTIONAL_INTERFACE_ENDPOINTS,
                        "optional interface endpoint")
        if self.flow_log_retention_days not in LOG_RETENTION_DAYS:
            problems.append(f"{path}.flow_log_retention_days={self.flow_log_retention_days} is not a CloudWatch "
                            f"Logs retention: use one of {', '.join(map(str, LOG_RETENTION_DAYS))}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class VariantSettings:
    """One production variant of the endpoint; two of them split traffic for A/B tests."""

    name: str
    instance_type: str
    initial_instance_count: int
    weight: float
    model_artifact: str | None  # null: the endpoint's model_artifact

    def validate(self, path: str, problems: list[str]) -> None:
        if not VARIANT_NAME.match(self.name):
            problems.append(f"{path}.name={self.name!r}: use 1..63 letters, digits and hyphens")
        _choice(self.instance_type, f"{path}.instance_type", problems, HOSTING_INSTANCE_TYPES, "hosting instance type")
        _in_range(self.initial_instance_count, f"{path}.initial_instance_count", problems, low=1, high=10, unit="")
        if not 0 <= self.weight <= 1:
            problems.append(f"{path}.weight={self.weight}: use a traffic share from 0 to 1")
        if self.model_artifact is not None and not S3_MODEL_ARTIFACT.match(self.model_artifact):
            problems.append(f"{path}.model_artifact={self.model_artifact!r} is not an S3 URI of a model.tar.gz")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SageMakerSettings:
    """Training pipeline, hosting and the notebook, all inside the isolated VPC."""

    deny_jobs_outside_vpc: bool
    training_instance_type: str
    training_instance_count: int
    training_volume_gb: int
    training_max_runtime_minutes: int
    training_input_mode: Literal["File", "Pipe", "FastFile"]
    training_data_prefix: str
    managed_spot_training: bool
    spot_max_wait_minutes: int
    xgboost_hyperparameters: Mapping[str, str]
    model_artifact: str | None  # null: no model, endpoint config or endpoint (no hosting cost)
    endpoint_variants: tuple[VariantSettings, ...]
    data_capture_sampling_percent: int
    autoscaling_max_instances: int
    autoscaling_target_invocations_per_instance: int
    alarm_5xx_errors_per_5_minutes: int
    alarm_model_latency_ms: int
    notebook_enabled: bool
    notebook_instance_type: str

    def validate(self, path: str, problems: list[str]) -> None:
        _choice(self.training_instance_type, f"{path}.training_instance_type", problems, TRAINING_INSTANCE_TYPES,
                "training instance type")
        _choice(self.notebook_instance_type, f"{path}.notebook_instance_type", problems, NOTEBOOK_INSTANCE_TYPES,
                "notebook instance type")
        _in_range(self.training_instance_count, f"{path}.training_instance_count", problems, low=1, high=20, unit="")
        _in_range(self.training_volume_gb, f"{path}.training_volume_gb", problems, low=1, high=16384, unit=" GB")
        _in_range(self.training_max_runtime_minutes, f"{path}.training_max_runtime_minutes", problems, low=1,
                  high=40320, unit=" minutes")
        if self.managed_spot_training and self.spot_max_wait_minutes < self.training_max_runtime_minutes:
            problems.append(f"{path}.spot_max_wait_minutes={self.spot_max_wait_minutes} must be at least "
                            f"training_max_runtime_minutes={self.training_max_runtime_minutes} with spot training")
        if self.training_data_prefix.startswith("/") or not self.training_data_prefix.endswith("/"):
            problems.append(f"{path}.training_data_prefix={self.training_data_prefix!r}: a key prefix in the "
                            "curated zone, without a leading '/' and ending with '/'")
        if self.model_artifact is not None and not S3_MODEL_ARTIFACT.match(self.model_artifact):
            problems.append(f"{path}.model_artifact={self.model_artifact!r} is not an S3 URI of a model.tar.gz "
                            "(s3://bucket/key.tar.gz), or null for no endpoint")
        variants = self.endpoint_variants
        if not 1 <= len(variants) <= 2:
            problems.append(f"{path}.endpoint_variants: give one variant, or two for an A/B test (got {len(variants)})")
        if len({v.name for v in variants}) != len(variants):
            problems.append(f"{path}.endpoint_variants: variant names must be distinct")
        if variants and sum(v.weight for v in variants) <= 0:
            problems.append(f"{path}.endpoint_variants: the weights must not all be 0 (no variant would get traffic)")
        if len(variants) == 2 and {v.model_artifact for v in variants} == {None}:
            problems.append(f"{path}.endpoint_variants: an A/B test needs a model_artifact on at least one variant, "
                            "or both variants serve the same model")
        _in_range(self.data_capture_sampling_percent, f"{path}.data_capture_sampling_percent", problems, low=0,
                  high=100, unit=" percent")
        largest_initial = max((v.initial_instance_count for v in variants), default=1)
        if not largest_initial <= self.autoscaling_max_instances <= 20:
            problems.append(f"{path}.autoscaling_max_instances={self.autoscaling_max_instances}: allowed from the "
                            f"largest initial_instance_count ({largest_initial}) to 20")
        for name in ("autoscaling_target_invocations_per_instance", "alarm_5xx_errors_per_5_minutes",
                     "alarm_model_latency_ms"):
            _in_range(getattr(self, name), f"{path}.{name}", problems, low=1, high=1_000_000, unit="")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything one deployment of the app needs to know."""

    profile: str
    name_prefix: str
    # The only switch that lets stateful resources be deleted with the stack.
    destroy_data_on_removal: bool
    tags: Mapping[str, str]
    data_lake: DataLakeSettings
    streaming: StreamingSettings
    catalog: CatalogSettings
    network: NetworkSettings
    sagemaker: SageMakerSettings

    def validate(self, path: str, problems: list[str]) -> None:
        prefix = self.name_prefix
        if not NAME_PREFIX_PATTERN.match(prefix) or len(prefix) > MAX_NAME_PREFIX or any(
            prefix.startswith(r) for r in RESERVED_BUCKET_PREFIXES
        ):
            problems.append(
                f"name_prefix={prefix!r} breaks S3 bucket naming: use 1..{MAX_NAME_PREFIX} "
                "lowercase letters, digits and single hyphens, starting and ending with a letter "
                f"or digit, not starting with {', '.join(RESERVED_BUCKET_PREFIXES)}"
            )
        if self.profile == "prod" and self.destroy_data_on_removal:
            problems.append(
                "destroy_data_on_removal=true is not allowed in profile 'prod': production "
                "retains every stateful resource"
            )
        for key, value in self.tags.items():
            if not 1 <= len(key) <= 128 or len(value) > 256 or key.lower().startswith("aws:"):
                problems.append(
                    f"tags.{key}: tag keys are 1..128 characters and may not start with 'aws:', "
                    "values at most 256 characters"
                )


# --------------------------------------------------------------------------- parsing


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _parse(tp: Any, raw: Any, path: str, problems: list[str]) -> Any:
    """Convert `raw` (JSON-like) into `tp`, appending a message per problem."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if raw is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _parse(inner, raw, path, problems)
    if origin is Literal:
        if raw not in get_args(tp):
            problems.append(f"{path}={raw!r} is not allowed: use {_type_name(tp)}")
        return raw
    if dataclasses.is_dataclass(tp):
        return _parse_dataclass(tp, raw, path, problems)
    if origin is tuple:
        (item_tp, _ellipsis) = get_args(tp)
        if not isinstance(raw, (list, tuple)):
            problems.append(f"{path} must be a list, got {type(raw).__name__}")
            return ()
        return tuple(_parse(item_tp, item, f"{path}[{i}]", problems) for i, item in enumerate(raw))
    if origin is Mapping or tp is Mapping:
        key_tp, value_tp = get_args(tp)
        if not isinstance(raw, Mapping):
            problems.append(f"{path} must be a mapping, got {type(raw).__name__}")
            return types.MappingProxyType({})
        return types.MappingProxyType(
            {
                _parse(key_tp, k, f"{path} key", problems): _parse(value_tp, v, f"{path}.{k}", problems)
                for k, v in raw.items()
            }
        )
    if tp is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    # bool is a subclass of int: refuse True where a number of days is expected, and 1 for a flag.
    if not isinstance(raw, tp) or (tp is int and isinstance(raw, bool)):
        problems.append(f"{path}={raw!r} must be {_type_name(tp)}, got {type(raw).__name__}")
    return raw


def _parse_dataclass(cls: type, raw: Any, path: str, problems: list[str]) -> Any:
    where = path or "settings"
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a mapping, got {type(raw).__name__}")
        return None
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            problems.append(f"{where}: unknown key {key!r}; allowed keys: {', '.join(names)}")
    values = {}
    for name in names:
        child = f"{path}.{name}" if path else name
        if name not in raw:
            problems.append(f"{child} is missing")
            continue
        values[name] = _parse(hints[name], raw[name], child, problems)
    if len(values) != len(names) or any(v is None and not _optional(hints[k]) for k, v in values.items()):
        return None
    instance = cls(**values)
    instance.validate(path, problems)
    return instance


def _optional(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType) and type(None) in get_args(tp)


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    problems: list[str] = []
    settings = _parse_dataclass(Settings, raw, "", problems)
    if problems:
        raise SettingsError(problems)
    return settings
