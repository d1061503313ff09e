"""The environment profiles, as plain data, and the functions that turn a deployment into Settings.

A deployment is a profile plus overrides, deep-merged onto it. Keep them in one settings file,
`{"profile": "prod", "overrides": {"streaming": {"shard_count": 2}}}`, that every command reads:
`cdk synth -c config=FILE` (or `CONFIG=FILE make synth|diff|deploy|destroy`) and the operator
commands' `--config FILE`. For a one-off change, `-c profile=prod` and
`-c overrides='{"data_lake": {"access_logs_expire_after_days": 30}}'` work too (overrides given on
the command line apply on top of the file's).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.settings import Settings, SettingsError, deep_merge, parse_settings

DEFAULT_PROFILE = "sandbox"

_LAKE_ZONES: dict[str, dict[str, Any]] = {
    # Landing data: replayable from the stream's backup, so it tiers early and expires.
    "raw": {
        "infrequent_access_after_days": 30,
        "archive_after_days": 90,
        "archive_storage_class": "GLACIER_IR",
        "expire_after_days": 365,
        "noncurrent_versions_expire_after_days": 30,
    },
    # Training and query data: read often for months, then archived, never expired by default.
    "curated": {
        "infrequent_access_after_days": 90,
        "archive_after_days": 180,
        "archive_storage_class": "GLACIER_IR",
        "expire_after_days": None,
        "noncurrent_versions_expire_after_days": 90,
    },
    # Athena query results: cheap to recompute, so they just expire.
    "results": {
        "infrequent_access_after_days": None,
        "archive_after_days": None,
        "archive_storage_class": "GLACIER_IR",
        "expire_after_days": 30,
        "noncurrent_versions_expire_after_days": 1,
    },
}

_STREAMING: dict[str, Any] = {
    # One provisioned shard (~$11/month) instead of on-demand (~$29/month idle).
    "capacity_mode": "PROVISIONED",
    "shard_count": 1,
    "retention_hours": 24,
    "buffer_size_mib": 64,
    "buffer_interval_seconds": 60,  # see data within a minute or two in the sandbox
    "transform_memory_mib": 256,
    # No reservation: Lambda keeps 10 executions unreserved, and a new account's quota is 10, so any
    # reservation would fail the sandbox deploy. Prod reserves (it has a raised quota).
    "transform_reserved_concurrency": None,
    "iterator_age_alarm_seconds": 900,
    "data_freshness_alarm_seconds": 900,
    "alarm_email": None,
}

_CATALOG: dict[str, Any] = {
    "crawler_zones": ["curated"],
    "crawler_schedule_enabled": False,  # sandbox: crawl by hand, no idle cost
    "crawler_schedule": "cron(0 3 * * ? *)",
    "etl_schedule_enabled": False,
    "etl_schedule": "cron(0 2 * * ? *)",
    "etl_worker_type": "G.1X",
    "etl_workers": 2,
    "etl_timeout_minutes": 30,
    "athena_bytes_scanned_cutoff_mb": 1024,
    "data_catalog_encryption": False,
}

_NETWORK: dict[str, Any] = {
    "az_count": 1,  # each interface endpoint costs ~$7.30 per AZ per month
    "vpc_cidr": "10.40.0.0/16",
    "extra_interface_endpoints": [],
    "flow_log_retention_days": 14,
}

_SAGEMAKER: dict[str, Any] = {
    "deny_jobs_outside_vpc": True,
    "training_instance_type": "ml.m5.large",
    "training_instance_count": 1,
    "training_volume_gb": 10,
    "training_max_runtime_minutes": 60,
    "training_input_mode": "File",
    "training_data_prefix": "training/sensor_readings/",
    "managed_spot_training": True,
    "spot_max_wait_minutes": 120,
    "xgboost_hyperparameters": {"objective": "multi:softprob", "num_class": "3", "num_round": "100",
                                "max_depth": "5", "eta": "0.2", "eval_metric": "mlogloss"},
    "model_artifact": None,  # no endpoint until a model exists: hosting is the largest idle cost
    # ml.t2.medium: the cheapest real-time instance that allows VPC, isolation, KMS and data capture.
    "endpoint_variants": [{"name": "primary", "instance_type": "ml.t2.medium", "initial_instance_count": 1,
                           "weight": 1.0, "model_artifact": None}],
    "data_capture_sampling_percent": 100,
    "autoscaling_max_instances": 2,
    "autoscaling_target_invocations_per_instance": 100,
    "alarm_5xx_errors_per_5_minutes": 5,
    "alarm_model_latency_ms": 500,
    "notebook_enabled": False,
    "notebook_instance_type": "ml.t3.medium",
    # Runs only when started (no idle cost); 6 MB x 1 is SageMaker's default payload.
    "batch_transform": {"enabled": True, "instance_type": "ml.m5.large", "instance_count": 1, "max_payload_mb": 6,
                        "max_concurrent_transforms": 1, "input_prefix": None, "timeout_minutes": 120},
    # Off in the sandbox: once the pipeline endpoint exists, hourly jobs bill traffic or not (docs/costs.md).
    "model_monitor": {"enabled": False, "schedule": "cron(0 * ? * * *)", "instance_type": "ml.m5.large",
                      "volume_gb": 20, "max_runtime_minutes": 30, "drift_alarm_threshold": 0.2},
    # Automatic model tuning: off in the sandbox (each tuning run pays for max_jobs training jobs).
    "tuning": {
        "enabled": False,
        "objective_metric": "validation:mlogloss",  # the eval_metric above; Minimize follows from it
        "ranges": {"eta": {"min": 0.1, "max": 0.5, "scaling": "Auto"},
                   "max_depth": {"min": 3, "max": 8, "scaling": "Auto"},
                   "num_round": {"min": 50, "max": 200, "scaling": "Auto"}},
        "max_jobs": 6,
        "max_parallel_jobs": 2,
        "early_stopping": "Auto",
        "warm_start_parents": [],
        "warm_start_type": "IdenticalDataAndAlgorithm",
    },
    # The sandbox approves its own models, so a training run ends in a deployed endpoint.
    "registry": {"approval": "automatic"},
}

_AUDIT: dict[str, Any] = {
    "enabled": True,
    "multi_region": False,  # sandbox: the deployment's region only
    # The lake is small in a sandbox: record reads and writes, so "who read the training data" answers.
    "s3_data_events": "all",
    "cloudwatch_logs": False,  # no log-group ingestion cost; Athena answers the questions
    "log_retention_days": 14,
    "object_lock_mode": None,  # a locked bucket could not be torn down
    "object_lock_days": None,
    "archive_after_days": None,
    "expire_after_days": 90,
    "athena_bytes_scanned_cutoff_mb": 1024,
}

# Off in both profiles: it changes account-wide Lake Formation settings (docs/security.md).
_LAKE_FORMATION: dict[str, Any] = {
    "enabled": False,
    "admins": [],
    "analyst_principals": [],
}

_INFERENCE_API: dict[str, Any] = {
    "enabled": True,  # fronts <prefix>-pipeline-endpoint; its sagemaker.runtime endpoint costs ~$7.30 per AZ
    "private": False,  # a regional API: callable with SigV4 from anywhere the caller's IAM policy allows
    "throttle_rate_per_second": 10,
    "throttle_burst": 20,
    "quota_requests_per_day": 10_000,
    "max_rows_per_request": 100,
    "reserved_concurrency": None,  # as streaming.transform_reserved_concurrency: a new account has none to spare
    "manage_account_cloudwatch_role": True,  # account-wide; access logs need the role (docs/settings.md)
}

PROFILES: dict[str, dict[str, Any]] = {
    "sandbox": {
        "profile": "sandbox",
        "name_prefix": "mlspec-sbx",
        "destroy_data_on_removal": True,
        "tags": {"project": "ml-specialty-cdk", "environment": "sandbox"},
        "log_retention_days": 14,
        "data_lake": {
            "zones": _LAKE_ZONES,
            "abort_incomplete_multipart_upload_after_days": 1,
            "access_logs_expire_after_days": 30,
        },
        "streaming": _STREAMING,
        "catalog": _CATALOG,
        "network": _NETWORK,
        "sagemaker": _SAGEMAKER,
        "audit": _AUDIT,
        "lake_formation": _LAKE_FORMATION,
        "inference_api": _INFERENCE_API,
    },
    "prod": {
        "profile": "prod",
        "name_prefix": "mlspec-prod",
        "destroy_data_on_removal": False,
        "tags": {"project": "ml-specialty-cdk", "environment": "prod"},
        "log_retention_days": 365,
        "data_lake": {
            "zones": deep_merge(
                _LAKE_ZONES,
                {"raw": {"expire_after_days": 730}, "results": {"expire_after_days": 90}},
            ),
            "abort_incomplete_multipart_upload_after_days": 7,
            "access_logs_expire_after_days": 365,
        },
        "streaming": deep_merge(
            _STREAMING,
            {
                "capacity_mode": "ON_DEMAND",
                "shard_count": None,
                "retention_hours": 168,
                "buffer_size_mib": 128,
                "buffer_interval_seconds": 300,
                "transform_reserved_concurrency": 50,
                "iterator_age_alarm_seconds": 3600,
                "data_freshness_alarm_seconds": 1200,
            },
        ),
        "catalog": deep_merge(
            _CATALOG,
            {
                "crawler_schedule_enabled": True,
                "etl_schedule_enabled": True,
                "etl_workers": 4,
                "etl_timeout_minutes": 120,
                "athena_bytes_scanned_cutoff_mb": 10240,
                "data_catalog_encryption": True,  # account-wide: see README "Account-wide settings"
            },
        ),
        "network": deep_merge(
            _NETWORK,
            {"az_count": 2, "flow_log_retention_days": 365},
        ),
        "sagemaker": deep_merge(
            _SAGEMAKER,
            {
                "training_instance_type": "ml.m5.xlarge",
                "managed_spot_training": False,
                "endpoint_variants": [{"name": "primary", "instance_type": "ml.m5.large", "initial_instance_count": 2,
                                       "weight": 1.0, "model_artifact": None}],
                "data_capture_sampling_percent": 20,
                "autoscaling_max_instances": 6,
                "batch_transform": {"enabled": True, "instance_type": "ml.m5.xlarge", "instance_count": 1,
                                    "max_payload_mb": 6, "max_concurrent_transforms": 2, "input_prefix": None,
                                    "timeout_minutes": 240},
                "model_monitor": {"enabled": True},
                # Small tuning runs, and a person approves every model before it is deployed.
                "tuning": {"enabled": True, "max_jobs": 4, "max_parallel_jobs": 2},
                "registry": {"approval": "manual"},
            },
        ),
        "audit": deep_merge(
            _AUDIT,
            {
                "multi_region": True,
                "cloudwatch_logs": True,
                "log_retention_days": 365,
                # Governance: nobody deletes a log file for a year unless granted s3:BypassGovernanceRetention.
                "object_lock_mode": "GOVERNANCE",
                "object_lock_days": 365,
                "archive_after_days": 90,
                "expire_after_days": 2557,  # seven years
                "athena_bytes_scanned_cutoff_mb": 10240,
            },
        ),
        "lake_formation": _LAKE_FORMATION,
        "inference_api": deep_merge(
            _INFERENCE_API,
            # Private: reachable only from the VPC (or networks joined to it) through execute-api.
            {"private": True, "throttle_rate_per_second": 100, "throttle_burst": 200,
             "quota_requests_per_day": None, "reserved_concurrency": 20},
        ),
    },
}


DEPLOYMENT_FILE_KEYS = ("profile", "overrides")


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError([f"{what} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"]) \
            from None


def read_deployment_file(config_file: str) -> tuple[str | None, Mapping[str, Any]]:
    """The profile (None when the file names none) and the overrides of a deployment settings file."""
    where = f"settings file {config_file}"
    try:
        text = Path(config_file).read_text()
    except OSError as error:
        raise SettingsError([f"config={json.dumps(config_file)}: cannot read the settings file ({error.strerror})"]) \
            from None
    data = _json(text, where)
    shape = '{"profile": "sandbox" or "prod", "overrides": {...settings...}}'
    if not isinstance(data, dict):
        raise SettingsError([f"{where} must hold a JSON object {shape}"])
    problems = [f"{where}: {json.dumps(key)} is not allowed at the top level: use {shape} (settings go under "
                "\"overrides\")" for key in data if key not in DEPLOYMENT_FILE_KEYS]
    profile, overrides = data.get("profile"), data.get("overrides", {})
    if profile is not None and (not isinstance(profile, str) or profile not in PROFILES):
        problems.append(f"{where}: profile={json.dumps(profile)} is unknown: allowed profiles are "
                        f"{', '.join(sorted(PROFILES))}")
    if not isinstance(overrides, dict):
        problems.append(f"{where}: overrides={json.dumps(overrides)[:60]} must be a JSON object of settings")
    if problems:
        raise SettingsError(problems)
    return profile, overrides


def _overrides(overrides: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if isinstance(overrides, str):
        overrides = _json(overrides, "overrides")
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise SettingsError([f"overrides must be a JSON object, got {type(overrides).__name__}"])
    return overrides


def load_deployment(config_file: str | None = None, profile: str | None = None,
                    overrides: Mapping[str, Any] | str | None = None) -> Settings:
    """The validated settings of one deployment: a settings file and/or a profile, plus overrides.

    `profile` (e.g. from `--profile` or `-c profile=`) must agree with the file's profile when both
    name one; without either, the profile is "sandbox". `overrides` (a mapping or JSON text) apply
    on top of the file's. Raises SettingsError with every problem.
    """
    if profile is not None and (not isinstance(profile, str) or not profile):
        raise SettingsError([f"profile={json.dumps(profile)} is empty: use one of {', '.join(sorted(PROFILES))} "
                             f"(or leave it out for {DEFAULT_PROFILE})"])
    file_profile, file_overrides = read_deployment_file(config_file) if config_file else (None, {})
    if profile and file_profile and profile != file_profile:
        raise SettingsError([f"profile={json.dumps(profile)} contradicts the settings file {config_file}, which "
                             f"says profile={json.dumps(file_profile)}: drop one of them"])
    name = profile or file_profile or DEFAULT_PROFILE
    if name not in PROFILES:
        raise SettingsError([f"profile={json.dumps(name)} is unknown: allowed profiles are {', '.join(sorted(PROFILES))}"])
    raw = copy.deepcopy(PROFILES[name])
    for layer, what in ((file_overrides, f"the settings file {config_file}"), (_overrides(overrides), "-c overrides")):
        if layer.get("profile", name) != name:
            raise SettingsError([f"overrides.profile={json.dumps(layer['profile'])} in {what} cannot change the "
                                 "profile: set \"profile\" in the settings file, or -c profile=... (--profile)"])
        raw = deep_merge(raw, layer)
    source = f"profile {name}" + (f", settings file {config_file}" if config_file else "")
    try:
        return parse_settings(raw)
    except SettingsError as error:
        raise SettingsError(error.problems, source=source) from None


def load_settings(profile: str | None = None, overrides: Mapping[str, Any] | str | None = None) -> Settings:
    """Return the validated settings of `profile`, with `overrides` (a mapping or JSON text) applied."""
    return load_deployment(None, profile, overrides)
