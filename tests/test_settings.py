"""Every bad setting fails before any construct exists, naming the setting, the value and what is allowed.

The matrix below runs each bad value through `build_app` with the context the CDK CLI would pass
(`-c overrides=...`), the same path `cdk synth` takes. A few tests run the real `python app.py` and
the pinned CDK CLI as subprocesses for what only they show: -c handling, CDK_CONTEXT_JSON, exit code 2.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import os
import re
import subprocess
import sys
import typing
from typing import Any, get_args, get_origin

import pytest

from config import deployment
from config.profiles import PROFILES, load_deployment, load_settings
from config.settings import MAX_NAME_PREFIX, Settings, SettingsError, parse_settings
from stacks.app_factory import PROJECT_ROOT, build_app

VARIANT = {"name": "a", "instance_type": "ml.t2.medium", "initial_instance_count": 1, "weight": 1.0,
           "model_artifact": None}
ARTIFACT = "s3://acme-models/xgboost/v1/model.tar.gz"


@dataclasses.dataclass(frozen=True)
class Bad:
    """One bad value: `path` as the messages write it (a[0].b for list items), set on top of `also`."""

    path: str
    value: Any
    allowed: str  # what the message must say is allowed
    also: dict = dataclasses.field(default_factory=dict)
    profile: str = "sandbox"
    shown: str | None = None  # what names the setting and value, when it is not "<path>=<json value>"

    def overrides(self) -> dict:
        head, index, tail = re.fullmatch(r"(.+?)(?:\[(\d+)\]\.?(.*))?", self.path).groups()
        value = self.value
        if index is not None:  # a list item: a copy of the profile's list with that item changed
            items = copy.deepcopy(_get(PROFILES[self.profile], head))
            if tail:
                items[int(index)][tail] = value
            else:
                items[int(index)] = value
            value = items
        nested: Any = value
        for part in reversed(head.split(".")):
            nested = {part: nested}
        return _merge(copy.deepcopy(self.also), nested)

    def expected_setting_and_value(self) -> str:
        if self.shown is not None:
            return self.shown
        return f"{self.path}={json.dumps(self.value, ensure_ascii=False)}"[:len(self.path) + 70]


def _get(raw: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        raw = raw[part]
    return raw


def _merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        base[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) and isinstance(
            base.get(key), dict) else value
    return base


def _sm(path: str, value: Any, allowed: str, **kw: Any) -> Bad:
    return Bad(f"sagemaker.{path}", value, allowed, **kw)


LF_ADMIN = "arn:aws:iam::123456789012:role/DataLakeAdmin"


def _lf(path: str, value: Any, allowed: str, **kw: Any) -> Bad:
    return Bad(f"lake_formation.{path}", value, allowed, **kw)


_TUNING_ON = {"sagemaker": {"tuning": {"enabled": True}}}


def _hp(name: str, value: Any, allowed: str) -> Bad:
    return _sm(f"xgboost_hyperparameters.{name}", value, allowed)


MATRIX = [
    # --- top level
    Bad("name_prefix", "1abc", "starting with a letter"),
    Bad("name_prefix", "ML_Lake", "lowercase letters, digits and single hyphens"),
    Bad("name_prefix", "ml--lake", "single hyphens"),
    Bad("name_prefix", "ml-", "ending with a letter or digit"),
    Bad("name_prefix", "ml.lake", "lowercase letters, digits and single hyphens"),
    Bad("name_prefix", "", f"use 1..{MAX_NAME_PREFIX}"),
    Bad("name_prefix", "a" * (MAX_NAME_PREFIX + 1), f"use 1..{MAX_NAME_PREFIX}"),
    Bad("name_prefix", "xn--ml", "not starting with xn--"),
    Bad("name_prefix", "sthree-ml", "sthree-"),
    Bad("name_prefix", 5, "lowercase letters, digits and hyphens"),
    Bad("bucket_prefix", "x", "did you mean name_prefix?"),
    Bad("destroy_data_on_removal", "yes", "must be true or false"),
    Bad("destroy_data_on_removal", 1, "must be true or false"),
    Bad("destroy_data_on_removal", True, "not allowed in profile \"prod\"", profile="prod"),
    Bad("profile", "prod", "cannot change the profile", shown='overrides.profile="prod"'),
    Bad("tags.team", 5, "must be a string"),
    Bad("tags.owner", "a#b", "letters, digits, spaces and _ . : / = + - @"),
    Bad("tags.note", "x" * 257, "at most 256"),
    Bad("tags.cost center!", "x", "1..128 letters, digits, spaces", shown='tags: the tag key "cost center!"'),
    Bad("tags.aws:owner", "x", "not starting with aws:", shown='tags: the tag key "aws:owner"'),
    Bad("tags", ["a"], "must be an object"),
    # --- data lake
    Bad("data_lake", "x", "must be an object"),
    Bad("data_lake.zones", [], "must be an object"),
    Bad("data_lake.zones.bronze", {"expire_after_days": 3}, "the zones are exactly raw, curated, results"),
    Bad("data_lake.zones.raw.ia_days", 30, "the settings of data_lake.zones.raw are infrequent_access_after_days"),
    Bad("data_lake.zones.raw.infrequent_access_after_days", 7, "from day 30 on"),
    Bad("data_lake.zones.raw.infrequent_access_after_days", "60", "allowed 30..36500 days (or null to skip it)"),
    Bad("data_lake.zones.raw.archive_after_days", 70, "at least infrequent_access_after_days + 30 = 90",
        also={"data_lake": {"zones": {"raw": {"infrequent_access_after_days": 60}}}}),
    Bad("data_lake.zones.raw.archive_after_days", -1, "allowed 0..36500 days"),
    Bad("data_lake.zones.raw.archive_storage_class", "GLACIER_FLEXIBLE", "use one of GLACIER_IR, GLACIER, DEEP_ARCHIVE"),
    Bad("data_lake.zones.raw.archive_storage_class", None, "use one of GLACIER_IR"),
    Bad("data_lake.zones.curated.expire_after_days", 100, "greater than the last transition day (180)"),
    Bad("data_lake.zones.results.expire_after_days", 40000, "allowed 1..36500 days"),
    Bad("data_lake.zones.results.expire_after_days", "30", "must be a whole number"),
    Bad("data_lake.zones.results.noncurrent_versions_expire_after_days", 0, "allowed 1..3650 days"),
    Bad("data_lake.zones.curated.noncurrent_versions_expire_after_days", 1.5, "must be a whole number"),
    Bad("data_lake.abort_incomplete_multipart_upload_after_days", 400, "allowed 1..365 days"),
    Bad("data_lake.abort_incomplete_multipart_upload_after_days", True, "must be a whole number, not true/false"),
    Bad("data_lake.zones.raw.expire_after_days", 90, "greater than the last transition day (90)"),
    Bad("data_lake.zones.raw.noncurrent_versions_expire_after_days", 4000, "allowed 1..3650 days"),
    Bad("data_lake.zones.curated.infrequent_access_after_days", 29, "from day 30 on"),
    Bad("data_lake.zones.curated.archive_after_days", 100, "at least infrequent_access_after_days + 30 = 120"),
    Bad("data_lake.zones.curated.archive_storage_class", "glacier", "use one of GLACIER_IR, GLACIER, DEEP_ARCHIVE"),
    Bad("data_lake.zones.results.infrequent_access_after_days", True, "must be a whole number, not true/false"),
    Bad("data_lake.zones.results.archive_after_days", 36501, "allowed 0..36500 days (or null to skip it)"),
    Bad("data_lake.zones.results.archive_storage_class", "STANDARD_IA", "use one of GLACIER_IR"),
    Bad("data_lake.access_logs_expire_after_days", 0, "allowed 1..3650 days"),
    Bad("data_lake.access_logs_expire_after_days", None, "must be a whole number, not null"),
    # --- streaming
    Bad("streaming", [], "must be an object"),
    Bad("streaming.capacity_mode", "SERVERLESS", "use one of PROVISIONED, ON_DEMAND"),
    Bad("streaming.shard_count", 1, "must be null with capacity_mode ON_DEMAND",
        also={"streaming": {"capacity_mode": "ON_DEMAND"}}),
    Bad("streaming.shard_count", 0, "allowed 1..500 shards"),
    Bad("streaming.shard_count", "2", "allowed 1..500 shards"),
    Bad("streaming.shard_count", None, "PROVISIONED streams need 1..500 shards"),
    Bad("streaming.shards", 2, "did you mean shard_count?"),
    Bad("streaming.retention_hours", 12, "allowed 24..8760 hours (24 hours to 365 days)"),
    Bad("streaming.retention_hours", 9000, "allowed 24..8760 hours"),
    Bad("streaming.retention_hours", "48", "must be a whole number, not a string"),
    Bad("streaming.buffer_size_mib", 32, "Parquet conversion needs a buffer of at least 64 MiB"),
    Bad("streaming.buffer_size_mib", 64.5, "must be a whole number"),
    Bad("streaming.buffer_interval_seconds", 30, "allowed 60..900 seconds"),
    Bad("streaming.buffer_interval_seconds", 1000, "allowed 60..900 seconds"),
    Bad("streaming.transform_memory_mib", 64, "allowed 128..10240 MiB"),
    Bad("streaming.transform_reserved_concurrency", 0, "allowed 1..1000"),
    Bad("streaming.transform_reserved_concurrency", "5", "allowed 1..1000"),
    Bad("log_retention_days", 10, "use one of 1, 3, 5, 7, 14"),
    Bad("log_retention_days", "14", "write it without quotes"),
    Bad("streaming.iterator_age_alarm_seconds", 90000, "up to the stream retention (86400 seconds)"),
    Bad("streaming.iterator_age_alarm_seconds", 30, "allowed 60.."),
    Bad("streaming.data_freshness_alarm_seconds", 60, "must be greater than buffer_interval_seconds=60"),
    Bad("streaming.data_freshness_alarm_seconds", "900", "must be a whole number"),
    Bad("streaming.alarm_email", "oncall", "not an e-mail address (or null for none)"),
    Bad("streaming.alarm_email", 5, "must be an e-mail address (or null for none)"),
    # --- catalog
    Bad("catalog.crawler_zones[0]", "bronze", "use one of raw, curated"),
    Bad("catalog.crawler_zones[0]", "results", "the results zone holds query output"),
    Bad("catalog.crawler_zones", [], "use one or more distinct zones of raw, curated"),
    Bad("catalog.crawler_zones", ["raw", "raw"], "list each at most once"),
    Bad("catalog.crawler_zones", "curated", "must be a list"),
    Bad("catalog.crawler_schedule_enabled", "no", "must be true or false"),
    Bad("catalog.crawler_schedule", "cron(0 3 * * * *)", "'?' in exactly one of day-of-month and day-of-week"),
    Bad("catalog.crawler_schedule", "cron(99 99 * * ? *)", "the minutes field \"99\" is not valid: use 0..59"),
    Bad("catalog.crawler_schedule", "cron(a b c d ? e)", "the minutes field \"a\" is not valid"),
    Bad("catalog.crawler_schedule", "rate(1 day)", "use cron(minutes hours day-of-month month day-of-week year)"),
    Bad("catalog.crawler_schedule", "cron(0 3 32 * ? *)", "day-of-month field \"32\" is not valid: use 1..31"),
    Bad("catalog.etl_schedule", "cron(0 25 * * ? *)", "hours field \"25\" is not valid: use 0..23"),
    Bad("catalog.etl_schedule", "cron(0 2 ? * MON-FUNDAY *)", "day-of-week field \"MON-FUNDAY\" is not valid: "
                                                                "use 1..7 or SUN..SAT"),
    Bad("catalog.etl_schedule", "cron(0 2 * 13 ? *)", "month field \"13\" is not valid: use 1..12 or JAN..DEC"),
    Bad("catalog.etl_schedule", "cron(0 2 * * ? 1800)", "year field \"1800\" is not valid: use 1970..2199"),
    Bad("catalog.etl_schedule", 5, "must be a Glue cron expression such as"),
    Bad("catalog.etl_schedule_enabled", 1, "must be true or false"),
    Bad("catalog.etl_worker_type", "G.3X", "use one of G.1X, G.2X, G.4X, G.8X"),
    Bad("catalog.etl_workers", 1, "allowed 2..100 workers"),
    Bad("catalog.etl_workers", "2", "allowed 2..100 workers"),
    Bad("catalog.etl_timeout_minutes", 0, "allowed 1..2880 minutes"),
    Bad("catalog.athena_bytes_scanned_cutoff_mb", 5, "Athena's minimum is 10 MB per query"),
    Bad("catalog.athena_bytes_scanned_cutoff_mb", "1024", "must be a whole number"),
    Bad("catalog.data_catalog_encryption", "true", "must be true or false"),
    # --- network
    Bad("network.az_count", 3, "at most two availability zones"),
    Bad("network.az_count", 0, "allowed 1..2"),
    Bad("network.az_count", "2", "must be a whole number, not a string: allowed 1..2"),
    Bad("network.vpc_cidr", "10.40.0.0/33", "is not a CIDR block"),
    Bad("network.vpc_cidr", "10.40.0.1/16", "has host bits set"),
    Bad("network.vpc_cidr", "8.8.0.0/16", "use a private IPv4 block from /16 to /24"),
    Bad("network.vpc_cidr", "10.0.0.0/8", "use a private IPv4 block from /16 to /24"),
    Bad("network.vpc_cidr", "10.1.2.0/24", "too small for 2 /24 subnets", also={"network": {"az_count": 2}}),
    Bad("network.vpc_cidr", 10, "must be a CIDR block"),
    Bad("network.extra_interface_endpoints", ["dynamodb"], "use one of sagemaker.api",
        shown='network.extra_interface_endpoints[0]="dynamodb"'),
    Bad("network.extra_interface_endpoints", ["kms", "kms"], "list each at most once"),
    Bad("network.extra_interface_endpoints", "kms", "must be a list"),
    Bad("network.flow_log_retention_days", 2, "use one of 1, 3, 5"),
    Bad("network.flow_log_retention_days", "365", "write it without quotes"),
    # --- SageMaker
    _sm("deny_jobs_outside_vpc", "false", "must be true or false"),
    _sm("training_instance_type", "ml.m5.huge", "use one of ml.m5.large"),
    _sm("training_instance_type", "ml.g4dn.xlarge", "supported training instance type"),
    _sm("training_instance_count", 0, "allowed 1..20"),
    _sm("training_instance_count", "1", "must be a whole number"),
    _sm("training_volume_gb", 0, "allowed 1..16384 GB"),
    _sm("training_max_runtime_minutes", 50000, "allowed 1..40320 minutes"),
    _sm("training_input_mode", "Stream", "use one of File, Pipe, FastFile"),
    _sm("training_data_prefix", "/training/", "no leading '/'"),
    _sm("training_data_prefix", "training/../x/", "no '.' or '..' segments"),
    _sm("training_data_prefix", "training", "each ending with '/'"),
    _sm("training_data_prefix", "training/*/", "letters, digits and _ - . ="),
    _sm("training_data_prefix", 5, "a key prefix such as"),
    _sm("managed_spot_training", "yes", "must be true or false"),
    _sm("spot_max_wait_minutes", 30, "at least training_max_runtime_minutes=60 with spot training"),
    _sm("spot_max_wait_minutes", "120", "must be a whole number"),
    _hp("max_dept", "5", "did you mean max_depth?"),
    _hp("num_class", "banana", "use a whole number from 2 up"),
    _hp("num_round", 100, "must be a string (SageMaker passes hyperparameters as strings)"),
    _hp("num_round", "0", "use a whole number from 1 up"),
    _hp("eta", "1.5", "use a number in [0, 1]"),
    _hp("eta", "nan", "use a number in [0, 1]"),
    _hp("objective", "multi:soft", "use one of reg:squarederror"),
    _hp("eval_metric", "accuracy", "a comma-separated list of rmse"),
    _hp("tree_method", "gpu", "use one of auto, exact, approx, hist, gpu_hist"),
    _hp("subsample", "0", "use a number in (0, 1]"),
    _hp("booster", "forest", "use one of gbtree, gblinear, dart"),
    _hp("max_depth", "-1", "use a whole number from 0 up"),
    _hp("verbosity", "4", "use one of 0, 1, 2, 3"),
    _sm("xgboost_hyperparameters", "num_round=100", "must be an object"),
    _sm("model_artifact", "https://example.com/model.tar.gz", "it must start with s3://"),
    _sm("model_artifact", "s3://bucket/model.zip", "the key must end with .tar.gz"),
    _sm("model_artifact", "s3://192.168.1.1/model.tar.gz", "a bucket name is not an IP address"),
    _sm("model_artifact", "s3://a..b/model.tar.gz", "a bucket name has no '..'"),
    _sm("model_artifact", "s3://Models/model.tar.gz", "lowercase letters, digits, dots and hyphens"),
    _sm("model_artifact", "s3://ab/model.tar.gz", "a bucket name has 3..63 characters"),
    _sm("model_artifact", "s3://models-s3alias/model.tar.gz", "or end with -s3alias"),
    _sm("model_artifact", "s3://models/a/../model.tar.gz", "no empty, '.' or '..' segments"),
    _sm("model_artifact", 5, "an S3 URI of a model.tar.gz (or null for no endpoint)"),
    _sm("endpoint_variants", [], "give one variant, or two for an A/B test (got 0)",
        shown="sagemaker.endpoint_variants=[0 variants]"),
    _sm("endpoint_variants", [VARIANT, {**VARIANT, "name": "b"}, {**VARIANT, "name": "c"}], "got 3",
        shown="sagemaker.endpoint_variants=[3 variants]"),
    _sm("endpoint_variants", "primary", "must be a list"),
    _sm("endpoint_variants", [VARIANT, VARIANT], "variant names must be distinct",
        shown='sagemaker.endpoint_variants names=["a", "a"]'),
    _sm("endpoint_variants", [VARIANT, {**VARIANT, "name": "b"}], "needs a model_artifact on at least one variant",
        shown="sagemaker.endpoint_variants model_artifact=[null, null]"),
    _sm("endpoint_variants[0].weight", 1.5, "allowed 0..1 (a traffic share)"),
    _sm("endpoint_variants[0].weight", -0.1, "allowed 0..1"),
    _sm("endpoint_variants[0].weight", "1", "must be a number, not a string"),
    _sm("endpoint_variants[0].weight", 0, "the weights must not all be 0",
        shown="sagemaker.endpoint_variants weights=[0.0]"),
    _sm("endpoint_variants[0].instance_type", "ml.p3.2xlarge", "supported hosting instance type: use one of"),
    _sm("endpoint_variants[0].name", "a_b", "use 1..63 letters, digits and hyphens"),
    _sm("endpoint_variants[0].name", 5, "must be a variant name"),
    _sm("endpoint_variants[0].initial_instance_count", 3, "from the largest initial_instance_count (3) to 20",
        shown="sagemaker.autoscaling_max_instances=2"),
    _sm("endpoint_variants[0].initial_instance_count", 0, "allowed 1..10"),
    _sm("endpoint_variants[0].initial_instance_count", "1", "must be a whole number, not a string: allowed 1..10"),
    _sm("endpoint_variants[0].model_artifact", ARTIFACT, "set sagemaker.model_artifact too"),
    _sm("endpoint_variants[0].model_artifact", "s3://models/model.zip", "the key must end with .tar.gz",
        also={"sagemaker": {"model_artifact": ARTIFACT}}),
    _sm("endpoint_variants[0].colour", "red", "the settings of sagemaker.endpoint_variants[0] are name"),
    _sm("endpoint_variants[0]", {"instance_type": "ml.t2.medium", "initial_instance_count": 1, "weight": 1},
        "is missing", shown="sagemaker.endpoint_variants[0].name is missing"),
    _sm("data_capture_sampling_percent", 101, "allowed 0..100 percent"),
    _sm("data_capture_sampling_percent", "20", "must be a whole number"),
    _sm("autoscaling_max_instances", 21, "allowed 1..20 instances"),
    _sm("autoscaling_max_instances", 1, "from the largest initial_instance_count (2) to 20", profile="prod"),
    _sm("autoscaling_target_invocations_per_instance", 0, "allowed 1..1000000"),
    _sm("alarm_5xx_errors_per_5_minutes", "5", "must be a whole number"),
    _sm("alarm_model_latency_ms", 0, "allowed 1..1000000 ms"),
    _sm("notebook_enabled", "no", "must be true or false"),
    _sm("notebook_instance_type", "t3.medium", "supported notebook instance type: use one of ml.t3.medium"),
    # --- audit trail
    Bad("audit", True, "must be an object"),
    Bad("audit.enabled", "yes", "must be true or false"),
    Bad("audit.multi_region", 1, "must be true or false"),
    Bad("audit.s3_data_events", "reads", "use one of none, read, write, all"),
    Bad("audit.s3_data_events", None, "use one of none, read, write, all"),
    Bad("audit.cloudwatch_logs", "false", "must be true or false"),
    Bad("audit.log_retention_days", 10, "a CloudWatch Logs retention in days"),
    Bad("audit.object_lock_mode", "LEGAL_HOLD", "use one of GOVERNANCE, COMPLIANCE (or null for no Object Lock)"),
    Bad("audit.object_lock_mode", "GOVERNANCE", "Object Lock mode GOVERNANCE needs a retention of 1..36500 days",
        shown="audit.object_lock_days=null"),
    Bad("audit.object_lock_days", 30, "must be null while object_lock_mode is null"),
    Bad("audit.object_lock_days", 0, "allowed 1..36500 days (or null with no Object Lock)", profile="prod"),
    Bad("audit.object_lock_days", 3000, "must be at least object_lock_days=3000: S3 cannot expire a locked log file",
        profile="prod", shown="audit.expire_after_days=2557"),
    Bad("audit.archive_after_days", 3000, "must be greater than archive_after_days=3000", profile="prod",
        shown="audit.expire_after_days=2557"),
    Bad("audit.archive_after_days", -1, "allowed 0..36500 days (or null to skip it)"),
    Bad("audit.expire_after_days", 0, "allowed 1..36500 days"),
    Bad("audit.expire_after_days", "90", "must be a whole number"),
    Bad("audit.athena_bytes_scanned_cutoff_mb", 5, "Athena's minimum is 10 MB per query"),
    Bad("audit.trail_name", "x", "the settings of audit are enabled"),
    # --- lake_formation
    Bad("lake_formation.enabled", "true", "must be true or false"),
    _lf("admins", [], "with enabled=true name at least one IAM role or user ARN",
        also={"lake_formation": {"enabled": True}}),
    _lf("admins", ["arn:aws:iam::123456789012:group/DataAdmins"], "not an IAM role or user ARN",
        shown='lake_formation.admins[0]="arn:aws:iam::123456789012:group/DataAdmins"'),
    _lf("admins", ["arn:aws:iam::123456789012:role/*"], "no wildcards",
        shown='lake_formation.admins[0]="arn:aws:iam::123456789012:role/*"'),
    _lf("admins", ["arn:aws:iam::123456789012:root"], "no account root",
        shown='lake_formation.admins[0]="arn:aws:iam::123456789012:root"'),
    _lf("admins", ["DataLakeAdmin"], "arn:aws:iam::<12-digit account>:role/<name>",
        shown='lake_formation.admins[0]="DataLakeAdmin"'),
    _lf("admins", ["arn:aws:iam::1234:role/DataLakeAdmin"], "<12-digit account>",
        shown='lake_formation.admins[0]="arn:aws:iam::1234:role/DataLakeAdmin"'),
    _lf("admins", [LF_ADMIN, LF_ADMIN], "more than once: list each at most once"),
    _lf("admins", LF_ADMIN, "must be a list"),
    _lf("analyst_principals", ["arn:aws:sts::123456789012:assumed-role/Analyst/alice"], "not an IAM role or user ARN",
        shown='lake_formation.analyst_principals[0]="arn:aws:sts::123456789012:assumed-role/Analyst/alice"'),
    _lf("analyst_principals", ["arn:aws:iam::210987654321:role/Analyst"], "use principals of the one account",
        also={"lake_formation": {"enabled": True, "admins": [LF_ADMIN]}},
        shown="lake_formation.admins/.analyst_principals name accounts 123456789012, 210987654321"),
    _lf("admin", [LF_ADMIN], "did you mean admins?"),
    # --- sagemaker.batch_transform
    _sm("batch_transform.enabled", "yes", "must be true or false"),
    _sm("batch_transform.instance_type", "ml.c5.large", "supported transform instance type: use one of ml.m5.large"),
    _sm("batch_transform.instance_type", "ml.t2.medium", "supported transform instance type"),
    _sm("batch_transform.instance_count", 0, "allowed 1..20 instances"),
    _sm("batch_transform.max_payload_mb", 0, "allowed 1..100 MB"),
    _sm("batch_transform.max_payload_mb", 101, "allowed 1..100 MB"),
    _sm("batch_transform.max_concurrent_transforms", 0, "allowed 1..100"),
    _sm("batch_transform.max_payload_mb", 30, "at most 100 MB in flight per instance",
        also={"sagemaker": {"batch_transform": {"max_concurrent_transforms": 4}}},
        shown="sagemaker.batch_transform.max_payload_mb=30 x max_concurrent_transforms=4 = 120 MB"),
    _sm("batch_transform.input_prefix", "/scoring/", "is not a key prefix in the curated zone"),
    _sm("batch_transform.input_prefix", "scoring", "ending with '/'"),
    _sm("batch_transform.input_prefix", 5, "a key prefix such as \"training/\" (or null for "
        "the validation/ split of sagemaker.training_data_prefix)"),
    _sm("batch_transform.timeout_minutes", 5, "allowed 10..2880 minutes"),
    # --- sagemaker.model_monitor
    _sm("model_monitor.enabled", "yes", "must be true or false"),
    _sm("model_monitor.schedule", "cron(0 */2 ? * * *)", "not a schedule Model Monitor accepts: use cron(0 * ? * * *)"),
    _sm("model_monitor.schedule", "cron(30 * ? * * *)", "cron(0 H ? * * *) (daily at hour H, 0..23 UTC)"),
    _sm("model_monitor.schedule", "cron(0 24 ? * * *)", "daily at hour H, 0..23 UTC"),
    _sm("model_monitor.schedule", "cron(0 0/25 ? * * *)", "every N hours, N 1..24"),
    _sm("model_monitor.schedule", "rate(1 hour)", "not a schedule Model Monitor accepts"),
    _sm("model_monitor.instance_type", "ml.t2.medium", "supported processing instance type: use one of ml.m5.large"),
    _sm("model_monitor.volume_gb", 0, "allowed 1..16384 GB"),
    _sm("model_monitor.max_runtime_minutes", 61, "allowed 1..60 minutes (a run must end before the next one starts)"),
    _sm("model_monitor.max_runtime_minutes", 30.5, "must be a whole number"),
    _sm("model_monitor.drift_alarm_threshold", 0, "allowed 0.01..1 (a distance between distributions)"),
    _sm("model_monitor.drift_alarm_threshold", "0.2", "must be a number"),
    _sm("model_monitor.enabled", True, "needs data_capture_sampling_percent above 0: Model Monitor analyzes",
        also={"sagemaker": {"data_capture_sampling_percent": 0}}),
    # --- inference API
    Bad("inference_api.enabled", "yes", "must be true or false"),
    Bad("inference_api.private", 1, "must be true or false, not a number"),
    Bad("inference_api.throttle_rate_per_second", 0, "allowed 1..10000 requests per second"),
    Bad("inference_api.throttle_rate_per_second", 20000, "allowed 1..10000 requests per second"),
    Bad("inference_api.throttle_rate_per_second", "10", "must be a whole number"),
    Bad("inference_api.throttle_burst", 5001, "allowed 1..5000 requests"),
    Bad("inference_api.throttle_burst", 5, "must be at least throttle_rate_per_second=10"),
    Bad("inference_api.quota_requests_per_day", 0, "allowed 1..1000000000 requests (or null for no daily quota)"),
    Bad("inference_api.max_rows_per_request", 1001, "allowed 1..1000 rows"),
    Bad("inference_api.max_rows_per_request", None, "must be a whole number, not null"),
    Bad("inference_api.reserved_concurrency", 0, "(or null for no reservation"),
    Bad("inference_api.manage_account_cloudwatch_role", "true", "must be true or false"),
    Bad("inference_api.privat", True, "did you mean private?"),
    # automatic model tuning and the model registry
    _sm("tuning.enabled", "yes", "must be true or false"),
    _sm("tuning.objective_metric", "validation:precision", "a metric XGBoost emits for tuning: use one of "
        "validation:accuracy, validation:auc"),
    _sm("tuning.objective_metric", "auc", "(the direction follows from the metric)"),
    _sm("tuning.objective_metric", "validation:auc", "xgboost_hyperparameters.eval_metric=\"mlogloss\" computes "
        "validation:mlogloss; use one of those or add auc to eval_metric", also=_TUNING_ON,
        shown='sagemaker.tuning.objective_metric="validation:auc" is not emitted'),
    _sm("tuning.ranges", {"max_bin": {"min": 2, "max": 10}}, "not a tunable hyperparameter of SageMaker's XGBoost: "
        "use alpha, colsample_bylevel", shown="sagemaker.tuning.ranges.max_bin="),
    _sm("tuning.ranges", {"etta": {"min": 0.1, "max": 0.5}}, "(did you mean eta?)", shown="sagemaker.tuning.ranges.etta="),
    _sm("tuning.ranges.eta", 0.3, 'use an object like {"min": 0.1, "max": 0.5, "scaling": "Auto"}'),
    _sm("tuning.ranges.gamma", {"min": 1}, 'is not a range: use an object like {"min": 0, "max": 5'),
    _sm("tuning.ranges.eta", {"min": 0.1, "max": 0.5, "step": 0.1}, "is not a range",
        shown="sagemaker.tuning.ranges.eta="),
    _sm("tuning.ranges.eta.max", 2, "is outside what eta allows: use a number in [0, 1] (recommended 0.1..0.5)"),
    _sm("tuning.ranges.subsample.min", 0, "use a number in (0, 1]",
        also={"sagemaker": {"tuning": {"ranges": {"subsample": {"max": 1}}}}}),
    _sm("tuning.ranges.eta.min", "0.1", "must be a number: eta is an Continuous range"),
    _sm("tuning.ranges.max_depth.max", 8.5, "must be a whole number: max_depth is an Integer range"),
    _sm("tuning.ranges.num_round.min", 0, "use a whole number from 1 up"),
    _sm("tuning.ranges.eta.min", 0.6, "must be less than max=0.5", shown="sagemaker.tuning.ranges.eta.min=0.6"),
    _sm("tuning.ranges.eta.scaling", "Exponential", "not a scaling type: use one of Auto, Linear, Logarithmic, "
        "ReverseLogarithmic"),
    _sm("tuning.ranges.alpha", {"min": 0, "max": 10, "scaling": "Logarithmic"}, 'needs min > 0 (got 0)',
        shown='sagemaker.tuning.ranges.alpha.scaling="Logarithmic"'),
    _sm("tuning.ranges.max_depth.scaling", "ReverseLogarithmic", "works only for continuous ranges within 0 <= x < 1"),
    _sm("tuning.max_jobs", 0, "allowed 1..500 training jobs"),
    _sm("tuning.max_jobs", 1, "must be at most max_jobs=1", shown="sagemaker.tuning.max_parallel_jobs=2"),
    _sm("tuning.max_parallel_jobs", 101, "allowed 1..100 training jobs"),
    _sm("tuning.early_stopping", "On", "not an early-stopping type: use one of Auto, Off"),
    _sm("tuning.warm_start_parents", ["a_b"], "is not a tuning job name: use 1..32 letters, digits and hyphens",
        shown='sagemaker.tuning.warm_start_parents[0]="a_b"'),
    _sm("tuning.warm_start_parents", ["a" * 33], "is not a tuning job name",
        shown="sagemaker.tuning.warm_start_parents[0]="),
    _sm("tuning.warm_start_parents", [f"job-{i}" for i in range(6)], "use at most 5",
        shown="sagemaker.tuning.warm_start_parents=[6 jobs]"),
    _sm("tuning.warm_start_parents", ["job-1", "job-1"], "names job-1 more than once"),
    _sm("tuning.warm_start_type", "Identical", "not a warm-start type: use one of IdenticalDataAndAlgorithm, "
        "TransferLearning"),
    _sm("registry.approval", "auto", "not an approval mode: use one of automatic, manual"),
    _sm("registry.approval", True, "not an approval mode"),
    _sm("registry.reviewers", ["a"], "the settings of sagemaker.registry are approval"),
]


def rejected(bad: Bad) -> str:
    """The message of the CLI's path (build_app with -c overrides) for one bad value; no other exception."""
    context = {"profile": bad.profile, "overrides": json.dumps(bad.overrides())}
    with pytest.raises(SettingsError) as caught:
        build_app(context)
    return str(caught.value)


@pytest.mark.parametrize("bad", MATRIX, ids=lambda b: f"{b.path}={json.dumps(b.value)[:30]}")
def test_bad_setting_is_rejected_with_setting_value_and_what_is_allowed(bad):
    message = rejected(bad)
    assert bad.expected_setting_and_value() in message
    assert bad.allowed in message
    assert "Traceback" not in message


def _leaves(tp: Any, path: str) -> set[str]:
    """Every setting path of a Settings class, with list items as [] and mappings as their own leaf."""
    while get_origin(tp) is typing.Annotated or type(None) in get_args(tp):
        tp = get_args(tp)[0] if get_origin(tp) is typing.Annotated else next(
            a for a in get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        return set().union(*(_leaves(hints[f.name], f"{path}.{f.name}".lstrip(".")) for f in dataclasses.fields(tp)))
    if get_origin(tp) is tuple and dataclasses.is_dataclass(get_args(tp)[0]):
        return _leaves(get_args(tp)[0], f"{path}[]")
    if path == "data_lake.zones":
        return set().union(*(_leaves(get_args(tp)[1], f"{path}.{zone}") for zone in PROFILES["sandbox"]["data_lake"]["zones"]))
    return {path}


def test_the_matrix_covers_every_setting_with_at_least_120_bad_values():
    leaves = _leaves(Settings, "")
    covered = set()
    for bad in MATRIX:
        path = re.sub(r"\[\d+\]", "[]", bad.path)
        covered |= {leaf for leaf in leaves if path == leaf or path.startswith((leaf + ".", leaf + "["))}
    # Whole objects and lists (data_lake, endpoint_variants[0]...) count for no single setting.
    assert sorted(leaves - covered) == []
    assert len(MATRIX) >= 120 and len(leaves) > 60


def test_the_settings_doc_lists_every_setting_with_each_profiles_value():
    from scripts import docs

    table = docs.settings_table()
    assert (PROJECT_ROOT / "docs" / "settings.md").read_text().count(table) == 1, "docs/settings.md is stale"
    rows = {line.split("`")[1]: line for line in table.splitlines()[2:]}
    for leaf in _leaves(Settings, ""):
        setting = leaf.split("[]", 1)[0]  # a list of objects is one row
        assert any(key == setting or key.startswith(setting + ".") for key in rows), leaf
    for key, row in rows.items():
        if key in ("sagemaker.tuning.enabled", "sagemaker.registry.approval", "inference_api.private",
                   "sagemaker.model_monitor.enabled", "audit.cloudwatch_logs"):
            cells = [c.strip() for c in row.split("|")[2:-1]]
            expected = [docs._cell(docs._flatten(load_settings(name))[key]) for name in PROFILES]
            assert cells == expected and cells[0] != cells[1], key  # these differ between sandbox and prod


def test_the_settings_doc_keeps_a_key_only_one_profile_has(monkeypatch):
    from scripts import docs

    monkeypatch.setattr(docs, "PROFILES", {"sandbox": {}, "prod": {}})
    monkeypatch.setattr(docs, "load_settings", lambda name: {"tags": {"project": "x"}} if name == "sandbox"
                        else {"tags": {"project": "x", "cost-center": "ml"}})
    table = docs.settings_table()
    assert "| `tags.cost-center` | off | `\"ml\"` |" in table


JUNK = [None, True, 0, -1, 1.5, float("nan"), "", "x", "²", "🙂", [], {}, [1], {"a": 1}, 10**20, "s3://", "cron()"]


def test_junk_in_any_setting_is_accepted_or_rejected_but_never_crashes():
    """Beyond the matrix: every junk value in every setting of both profiles raises SettingsError or
    passes; any other exception (a traceback for the user) fails."""
    crashes = []
    for leaf in sorted(_leaves(Settings, "")):
        for value, profile in itertools.product(JUNK, PROFILES):
            try:
                load_settings(profile, Bad(leaf.replace("[]", "[0]"), value, "", profile=profile).overrides())
            except SettingsError:
                pass
            except Exception as error:  # noqa: BLE001 - the point of the test
                crashes.append(f"{profile} {leaf}={value!r}: {type(error).__name__}: {error}")
    assert crashes == []


def test_every_problem_is_reported_at_once_and_a_type_error_stops_only_its_own_checks():
    overrides = {"name_prefix": "BAD", "streaming": {"shard_count": "2", "retention_hours": 12},
                 "data_lake": {"access_logs_expire_after_days": 0}}
    error = pytest.raises(SettingsError, load_settings, "sandbox", overrides).value
    assert [p.split("=")[0] for p in error.problems] == [
        "name_prefix", "data_lake.access_logs_expire_after_days", "streaming.shard_count", "streaming.retention_hours"]


# ---------------------------------------------------------------- profiles


def test_both_profiles_load_and_sandbox_is_the_default():
    assert load_settings().profile == "sandbox"
    assert {name: load_settings(name).profile for name in PROFILES} == {"sandbox": "sandbox", "prod": "prod"}


def test_prod_retains_data_and_sandbox_says_it_may_destroy():
    assert load_settings("prod").destroy_data_on_removal is False
    assert load_settings("sandbox").destroy_data_on_removal is True


def test_prod_needs_no_extra_interface_endpoints():
    assert load_settings("prod").network.extra_interface_endpoints == ()


def test_unknown_profile():
    message = str(pytest.raises(SettingsError, load_settings, "staging").value)
    assert 'profile="staging" is unknown: allowed profiles are prod, sandbox' in message


def test_longest_allowed_prefix_fits_the_longest_bucket_name():
    settings = load_settings("sandbox", {"name_prefix": "a" * MAX_NAME_PREFIX})
    longest = f"{settings.name_prefix}-access-logs-123456789012-ap-southeast-5xx"
    assert len(settings.name_prefix) == MAX_NAME_PREFIX and len(longest) <= 63


def test_values_that_are_allowed_pass():
    """The other side of the matrix: edge values that must not be rejected."""
    settings = load_settings("sandbox", {
        "name_prefix": "a1", "tags": {"cost center": "ml/é=+@:1", "empty": ""},
        "log_retention_days": 3653, "streaming": {"shard_count": 500, "retention_hours": 8760},
        "catalog": {"crawler_schedule": "cron(0/15 8-17 ? * MON-FRI *)", "etl_schedule": "cron(0 12 L * ? 2030)"},
        "network": {"extra_interface_endpoints": ["kms", "glue"]},
        "sagemaker": {"model_artifact": ARTIFACT, "training_data_prefix": "training/year=2026/",
                      "xgboost_hyperparameters": {"num_round": "10", "objective": "binary:logistic",
                                                  "eval_metric": "auc,error@0.6", "max_depth": "0"},
                      "endpoint_variants": [{"name": "a", "instance_type": "ml.t2.medium", "initial_instance_count": 1,
                                             "weight": 1}]},
    })
    variant = settings.sagemaker.endpoint_variants[0]
    assert (variant.weight, variant.model_artifact) == (1.0, None)
    for schedule in ("cron(0 * ? * * *)", "cron(0 23 ? * * *)", "cron(0 5/6 ? * * *)", "cron(0 0/24 ? * * *)"):
        monitor = {"enabled": True, "schedule": schedule, "max_runtime_minutes": 60}
        assert load_settings("prod", {"sagemaker": {"model_monitor": monitor}}).sagemaker.model_monitor.schedule == schedule
    assert settings.tags["cost center"] == "ml/é=+@:1"


def test_required_hyperparameters():
    """Overrides cannot remove a key, so this takes a raw mapping without num_round and num_class."""
    raw = copy.deepcopy(PROFILES["sandbox"])
    raw["sagemaker"]["xgboost_hyperparameters"] = {"objective": "multi:softmax"}
    problems = pytest.raises(SettingsError, parse_settings, raw).value.problems
    assert problems == ['sagemaker.xgboost_hyperparameters.num_round is missing: the algorithm requires it, e.g. "100"',
                        "sagemaker.xgboost_hyperparameters.num_class is missing: objective multi:softmax requires it, "
                        'e.g. "3"']


def test_overrides_must_be_a_json_object():
    assert "overrides is not valid JSON: Expecting property name" in str(
        pytest.raises(SettingsError, load_settings, "sandbox", "{not json").value)
    assert "overrides must be a JSON object, got list" in str(pytest.raises(SettingsError, load_settings, "sandbox", "[1]").value)


def test_build_app_validates_before_building_any_stack():
    with pytest.raises(SettingsError, match='name_prefix="Bad"'):
        build_app({"overrides": json.dumps({"name_prefix": "Bad"})})


# ---------------------------------------------------------------- settings files


def write(tmp_path, content: Any, name: str = "deploy.json") -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_a_settings_file_selects_the_profile_and_its_overrides(tmp_path):
    config = write(tmp_path, {"profile": "prod", "overrides": {"streaming": {"retention_hours": 48}}})
    settings = load_deployment(config)
    assert (settings.profile, settings.streaming.retention_hours) == ("prod", 48)
    # Command-line overrides apply on top of the file's; an agreeing profile is fine.
    layered = load_deployment(config, "prod", '{"streaming": {"retention_hours": 72}}')
    assert layered.streaming.retention_hours == 72 and layered.streaming.capacity_mode == "ON_DEMAND"
    assert load_deployment(write(tmp_path, {"overrides": {}}, "plain.json"), "prod").profile == "prod"


@pytest.mark.parametrize(
    ("content", "profile", "expected"),
    [
        ("{oops", None, "is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ([1], None, 'must hold a JSON object {"profile": "sandbox" or "prod", "overrides": {...settings...}}'),
        ({"profile": "prod", "streaming": {}}, None, '"streaming" is not allowed at the top level'),
        ({"profile": "staging"}, None, 'profile="staging" is unknown: allowed profiles are prod, sandbox'),
        ({"overrides": []}, None, "overrides=[] must be a JSON object of settings"),
        ({"profile": "prod"}, "sandbox", 'profile="sandbox" contradicts the settings file'),
        ({"overrides": {"profile": "prod"}}, None, "cannot change the profile"),
        ({"profile": "prod", "overrides": {"streaming": {"shard_count": "2"}}}, None,
         'streaming.shard_count="2" must be a whole number'),
    ],
)
def test_bad_settings_files(tmp_path, content, profile, expected):
    config = write(tmp_path, content)
    message = str(pytest.raises(SettingsError, load_deployment, config, profile).value)
    assert expected in message


def test_a_missing_settings_file_and_an_empty_profile():
    assert 'config="/nonexistent/deploy.json": cannot read the settings file' in str(
        pytest.raises(SettingsError, load_deployment, "/nonexistent/deploy.json").value)
    assert 'profile="" is empty' in str(pytest.raises(SettingsError, load_deployment, None, "").value)


def test_the_errors_of_a_settings_file_say_which_file(tmp_path):
    config = write(tmp_path, {"profile": "prod", "overrides": {"name_prefix": "X"}})
    message = str(pytest.raises(SettingsError, load_deployment, config).value)
    assert message.startswith(f"Invalid settings (profile prod, settings file {config}):")


def test_the_shipped_example_settings_file_loads():
    settings = load_deployment(str(PROJECT_ROOT / "deployments" / "example.json"))
    assert (settings.profile, settings.name_prefix) == ("sandbox", "mlspec-dev")


# ---------------------------------------------------------------- CDK context


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"prfile": "prod"}, "-c prfile=prod: prfile is not a context key of this app (did you mean profile?)"),
        ({"streaming.shard_count": "3"},
         "settings are changed with -c overrides='{\"streaming\": {\"shard_count\": 3}}'"),
        ({"profile": ""}, "-c profile= is empty: give sandbox or prod"),
        ({"config": " "}, "-c config=  is empty: give the path of a settings file"),
    ],
)
def test_bad_context_keys_fail_instead_of_building_the_sandbox(context, expected):
    message = str(pytest.raises(SettingsError, build_app, context).value)
    assert expected in message
    assert "allowed: profile, config, overrides" in message or "is empty" in message


def test_cdk_and_cdk_json_context_keys_are_accepted():
    deployment.check({"@aws-cdk/core:newStyleStackSynthesis": True, "aws:cdk:enable-path-metadata": True,
                      "cli-telemetry": False, "acknowledged-issue-numbers": [1],
                      "availability-zones:account=123456789012:region=eu-west-1": ["a"]},
                     flags=[], known_keys={"cli-telemetry": False})


def test_repeated_context_flags_fail():
    flags = deployment.parse_flags(["synth", "-c", "overrides={}", "--context", "profile=prod",
                                    "--context=overrides={\"a\": 1}"])
    assert flags == [("overrides", "{}"), ("profile", "prod"), ("overrides", '{"a": 1}')]
    message = str(pytest.raises(SettingsError, deployment.check, {}, flags, ()).value)
    assert '-c overrides=... was given 2 times ({}; {"a": 1})' in message and "profile" not in message


def test_malformed_cdk_context_json_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CDK_CONTEXT_JSON", "{bad")
    message = str(pytest.raises(SettingsError, build_app, {}).value)
    assert "CDK_CONTEXT_JSON is not a JSON object of context values (Expecting property name" in message
    monkeypatch.setenv("CDK_CONTEXT_JSON", '{"profile": "prod"}')
    overflow = write(tmp_path, '["x"]', "overflow.json")
    monkeypatch.setenv("CONTEXT_OVERFLOW_LOCATION_ENV", overflow)
    assert f"the context file {overflow} (CONTEXT_OVERFLOW_LOCATION_ENV) is not a JSON object" in str(
        pytest.raises(SettingsError, build_app, {}).value)


def test_the_cli_context_wins_like_in_cdk_app(monkeypatch):
    monkeypatch.setenv("CDK_CONTEXT_JSON", json.dumps({"profile": "sandbox", "overrides": '{"name_prefix": "Bad"}'}))
    with pytest.raises(SettingsError, match='name_prefix="Bad"'):
        deployment.resolve({"profile": "prod"}, {})


def test_the_assembly_records_which_profile_and_file_a_synth_used(tmp_path):
    config = write(tmp_path, {"profile": "prod"})
    used = deployment.resolve({"config": config}, {})
    deployment.write_record(tmp_path / "out", used)
    record = deployment.read_record(tmp_path / "out")
    assert (record["profile"], record["settings_file"], record["settings"]["name_prefix"]) == (
        "prod", config, "mlspec-prod")
    assert deployment.describe(record) == f"Settings: profile prod, settings file {config}"
    assert deployment.describe(None).startswith("Settings: unknown")


def test_the_summary_says_which_profile_and_file_it_used(tmp_path):
    from scripts import gates, summary

    config = write(tmp_path, {"profile": "prod"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "DataLake.template.json").write_text('{"Resources": {}}')
    deployment.write_record(tmp_path / "out", deployment.resolve({"config": config}, {}))
    text, _ = summary.render(tmp_path / "out", gates.NagVerdict([], []), [], gates.CheckovResult([], [], []))
    assert text.startswith(f"Settings: profile prod, settings file {config}\n")


# ---------------------------------------------------------------- the real command lines (a few: each costs ~1 s)


def run(args: list[str], env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CDK_CONTEXT_JSON", None)
    env.update(env_extra or {})
    return subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=120, check=False)


def cdk(*args: str) -> subprocess.CompletedProcess:
    return run([str(PROJECT_ROOT / "node_modules/.bin/cdk"), "--no-notices", "synth", "--quiet",
                "-o", "/tmp/cdk.out.bad-settings", *args])


def test_cdk_cli_reports_a_bad_profile_without_a_traceback():
    result = cdk("-c", "profile=staging")
    assert result.returncode != 0
    assert 'profile="staging" is unknown: allowed profiles are prod, sandbox' in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cdk_cli_repeated_overrides_are_caught_from_the_cli_command_line():
    result = cdk("-c", 'overrides={"name_prefix": "one"}', "-c", 'overrides={"name_prefix": "two"}')
    assert result.returncode != 0
    assert "-c overrides=... was given 2 times" in result.stderr and "Traceback" not in result.stderr


def test_cdk_cli_reads_a_settings_file(tmp_path):
    config = write(tmp_path, {"profile": "prod", "overrides": {"catalog": {"etl_workers": "4"}}})
    result = cdk("-c", f"config={config}")
    assert f"Invalid settings (profile prod, settings file {config}):" in result.stderr
    assert 'catalog.etl_workers="4" must be a whole number, not a string: allowed 2..100 workers' in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["-c", "profile=prod", "-c", 'overrides={"name_prefix": "X"}'], {}, "Invalid settings (profile prod):"),
        (["-c", "prfile=prod"], {}, "prfile is not a context key of this app (did you mean profile?)"),
        (["--profile", "prod"], {}, 'unexpected argument "--profile": this app takes only -c KEY=VALUE'),
        (["-c", "overrides={}", "-c", "overrides={}"], {}, "-c overrides=... was given 2 times"),
        ([], {"CDK_CONTEXT_JSON": "{bad"}, "CDK_CONTEXT_JSON is not a JSON object of context values"),
    ],
)
def test_python_app_py_takes_context_flags_like_the_cli_and_exits_2(args, env, expected):
    result = run([sys.executable, "app.py", *args], {"CDK_OUTDIR": "/tmp/cdk.out.app-py", **env})
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_moved_setting_says_where_it_went_not_a_look_alike():
    with pytest.raises(SettingsError) as error:
        load_settings("sandbox", {"streaming": {"log_retention_days": 30}})
    (problem,) = error.value.problems
    assert problem.startswith("streaming.log_retention_days=30 is not a setting (it moved to log_retention_days")
    assert "did you mean" not in problem


def test_tuning_without_ranges_is_rejected_and_the_direction_follows_the_metric():
    """Overrides merge into the profile's ranges, so an empty set only comes from a raw mapping."""
    raw = copy.deepcopy(PROFILES["sandbox"])
    raw["sagemaker"]["tuning"].update({"enabled": True, "ranges": {}})
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw)
    assert "sagemaker.tuning.ranges={}: tuning needs at least one hyperparameter range" in str(caught.value)
    raw["sagemaker"]["tuning"]["ranges"] = {"eta": {"min": 0.1, "max": 0.5}}
    raw["sagemaker"]["xgboost_hyperparameters"]["eval_metric"] = "auc,rmse"
    for metric, direction in (("validation:auc", "Maximize"), ("validation:rmse", "Minimize")):
        raw["sagemaker"]["tuning"]["objective_metric"] = metric
        assert parse_settings(raw).sagemaker.tuning.objective_type == direction
