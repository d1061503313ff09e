"""Every bad setting fails before any construct exists, naming the setting, the value and what is allowed."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from config.profiles import PROFILES, load_settings
from config.settings import MAX_NAME_PREFIX, SettingsError
from stacks.app_factory import PROJECT_ROOT, build_app


def problems_for(overrides=None, profile="sandbox") -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(profile, overrides)
    return str(caught.value)


def test_both_profiles_load_and_sandbox_is_the_default():
    assert load_settings().profile == "sandbox"
    assert {name: load_settings(name).profile for name in PROFILES} == {"sandbox": "sandbox", "prod": "prod"}


def test_prod_retains_data_and_sandbox_says_it_may_destroy():
    assert load_settings("prod").destroy_data_on_removal is False
    assert load_settings("sandbox").destroy_data_on_removal is True


def test_unknown_profile():
    message = problems_for(profile="staging")
    assert "profile='staging' is unknown" in message and "prod, sandbox" in message


@pytest.mark.parametrize(
    "prefix",
    ["ML-Lake", "ml_lake", "-ml", "ml-", "ml--lake", "ml.lake", "", "xn--ml", "sthree-ml", "a" * (MAX_NAME_PREFIX + 1)],
)
def test_name_prefix_that_breaks_bucket_naming(prefix):
    message = problems_for({"name_prefix": prefix})
    assert f"name_prefix={prefix!r} breaks S3 bucket naming" in message
    assert f"1..{MAX_NAME_PREFIX} lowercase letters, digits and single hyphens" in message


def test_longest_allowed_prefix_fits_the_longest_bucket_name():
    settings = load_settings("sandbox", {"name_prefix": "a" * MAX_NAME_PREFIX})
    longest = f"{settings.name_prefix}-access-logs-123456789012-ap-southeast-5xx"
    assert len(settings.name_prefix) == MAX_NAME_PREFIX and len(longest) <= 63


def test_lifecycle_days_not_ascending():
    message = problems_for({"data_lake": {"zones": {"raw": {"infrequent_access_after_days": 60,
                                                             "archive_after_days": 70}}}})
    assert "data_lake.zones.raw: lifecycle days must ascend: archive_after_days=70" in message
    assert "infrequent_access_after_days + 30 = 90" in message


def test_expiry_before_last_transition():
    message = problems_for({"data_lake": {"zones": {"curated": {"expire_after_days": 100}}}})
    assert "data_lake.zones.curated: lifecycle days must ascend: expire_after_days=100" in message
    assert "last transition day (180)" in message


def test_infrequent_access_before_day_30():
    message = problems_for({"data_lake": {"zones": {"raw": {"infrequent_access_after_days": 7}}}})
    assert "data_lake.zones.raw.infrequent_access_after_days=7" in message
    assert "from day 30 on" in message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"data_lake": {"access_logs_expire_after_days": 0}},
         "data_lake.access_logs_expire_after_days=0 is out of range: allowed 1..3650 days"),
        ({"data_lake": {"abort_incomplete_multipart_upload_after_days": 400}},
         "data_lake.abort_incomplete_multipart_upload_after_days=400 is out of range: allowed 1..365 days"),
        ({"data_lake": {"zones": {"results": {"noncurrent_versions_expire_after_days": 0}}}},
         "data_lake.zones.results.noncurrent_versions_expire_after_days=0 is out of range: allowed 1..3650"),
        ({"data_lake": {"zones": {"results": {"expire_after_days": 40000}}}},
         "data_lake.zones.results.expire_after_days=40000 is out of range: allowed 1..36500"),
    ],
)
def test_retention_out_of_range(overrides, expected):
    assert expected in problems_for(overrides)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"bucket_prefix": "x"}, "settings: unknown key 'bucket_prefix'; allowed keys: profile, name_prefix"),
        ({"data_lake": {"zones": {"raw": {"ia_days": 30}}}},
         "data_lake.zones.raw: unknown key 'ia_days'; allowed keys: infrequent_access_after_days"),
        ({"data_lake": {"zones": {"bronze": PROFILES["sandbox"]["data_lake"]["zones"]["raw"]}}},
         "data_lake.zones: got ['bronze', 'curated', 'raw', 'results'], expected exactly ['raw', 'curated', 'results']"),
    ],
)
def test_unknown_keys(overrides, expected):
    assert expected in problems_for(overrides)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"destroy_data_on_removal": "yes"}, "destroy_data_on_removal='yes' must be bool, got str"),
        ({"data_lake": {"access_logs_expire_after_days": True}},
         "data_lake.access_logs_expire_after_days=True must be int, got bool"),
        ({"data_lake": {"zones": {"raw": {"archive_storage_class": "GLACIER_FLEXIBLE"}}}},
         "data_lake.zones.raw.archive_storage_class='GLACIER_FLEXIBLE' is not allowed: use one of "
         "'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'"),
    ],
)
def test_wrong_types_and_choices(overrides, expected):
    assert expected in problems_for(overrides)


def test_prod_cannot_be_told_to_destroy_data():
    message = problems_for({"destroy_data_on_removal": True}, profile="prod")
    assert "destroy_data_on_removal=true is not allowed in profile 'prod'" in message


def test_every_problem_is_reported_at_once():
    error = pytest.raises(SettingsError, load_settings, "sandbox",
                          {"name_prefix": "BAD", "data_lake": {"access_logs_expire_after_days": 0}}).value
    assert len(error.problems) == 2


def test_overrides_must_be_a_json_object():
    assert "overrides is not valid JSON" in problems_for("{not json")
    assert "overrides must be a JSON object, got list" in problems_for("[1]")


def test_build_app_validates_before_building_any_stack():
    with pytest.raises(SettingsError, match="name_prefix='Bad'"):
        build_app({"overrides": json.dumps({"name_prefix": "Bad"})})


def test_cdk_cli_reports_a_bad_setting_without_a_traceback():
    """The real user path: the pinned CDK CLI running app.py with a bad -c value."""
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    result = subprocess.run(
        [str(PROJECT_ROOT / "node_modules/.bin/cdk"), "--no-notices", "synth", "--quiet",
         "-c", "profile=staging", "-o", "/tmp/cdk.out.bad-profile"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "profile='staging' is unknown: allowed profiles are prod, sandbox" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# ---------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"retention_hours": 12}, "streaming.retention_hours=12 is out of range: allowed 24..8760 (24 hours to 365 days)"),
        ({"retention_hours": 9000}, "streaming.retention_hours=9000 is out of range"),
        ({"buffer_size_mib": 32}, "streaming.buffer_size_mib=32 is out of range: allowed 64..128; Parquet conversion "
                                  "needs a buffer of at least 64 MiB"),
        ({"shard_count": 0}, "streaming.shard_count=0: PROVISIONED streams need 1..500 shards"),
        ({"shard_count": None}, "streaming.shard_count=None: PROVISIONED streams need 1..500 shards"),
        ({"capacity_mode": "ON_DEMAND"}, "streaming.shard_count=1: must be null with capacity_mode ON_DEMAND"),
        ({"capacity_mode": "SERVERLESS"}, "streaming.capacity_mode='SERVERLESS' is not allowed: use one of "
                                          "'PROVISIONED', 'ON_DEMAND'"),
        ({"log_retention_days": 10}, "streaming.log_retention_days=10 is not a CloudWatch Logs retention: use one "
                                     "of 1, 3, 5, 7, 14"),
        ({"buffer_interval_seconds": 30}, "streaming.buffer_interval_seconds=30 is out of range: allowed 60..900"),
        ({"data_freshness_alarm_seconds": 60}, "streaming.data_freshness_alarm_seconds=60 must be greater than "
                                               "buffer_interval_seconds=60"),
        ({"iterator_age_alarm_seconds": 90000}, "streaming.iterator_age_alarm_seconds=90000: allowed 60 up to the "
                                                "stream retention"),
        ({"alarm_email": "oncall"}, "streaming.alarm_email='oncall' is not an e-mail address"),
        ({"transform_memory_mib": 64}, "streaming.transform_memory_mib=64 is out of range: allowed 128..10240"),
        ({"transform_reserved_concurrency": 0}, "streaming.transform_reserved_concurrency=0 is out of range"),
    ],
)
def test_bad_streaming_settings(overrides, expected):
    assert expected in problems_for({"streaming": overrides})


def test_prod_streaming_is_on_demand_with_a_week_of_retention():
    streaming = load_settings("prod").streaming
    assert (streaming.capacity_mode, streaming.shard_count, streaming.retention_hours) == ("ON_DEMAND", None, 168)


# ---------------------------------------------------------------- catalog


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"crawler_schedule": "cron(0 3 * * * *)"}, "catalog.crawler_schedule='cron(0 3 * * * *)' is not a Glue cron "
                                                   "expression: use cron(minutes hours day-of-month month "
                                                   "day-of-week year) with '?'"),
        ({"etl_schedule": "rate(1 day)"}, "catalog.etl_schedule='rate(1 day)' is not a Glue cron expression"),
        ({"athena_bytes_scanned_cutoff_mb": 5}, "catalog.athena_bytes_scanned_cutoff_mb=5 is below Athena's minimum "
                                                "of 10 MB per query"),
        ({"crawler_zones": ["bronze"]}, "catalog.crawler_zones=['bronze']: use one or more distinct zones of raw, "
                                        "curated (the results zone holds query output, not datasets)"),
        ({"crawler_zones": ["results"]}, "catalog.crawler_zones=['results']"),
        ({"crawler_zones": []}, "catalog.crawler_zones=[]"),
        ({"crawler_zones": "curated"}, "catalog.crawler_zones must be a list, got str"),
        ({"etl_worker_type": "G.3X"}, "catalog.etl_worker_type='G.3X' is not allowed: use one of 'G.1X', 'G.2X'"),
        ({"etl_workers": 1}, "catalog.etl_workers=1 is out of range: allowed 2..100 workers"),
        ({"etl_timeout_minutes": 0}, "catalog.etl_timeout_minutes=0 is out of range: allowed 1..2880 minutes"),
        ({"crawler_schedule_enabled": "no"}, "catalog.crawler_schedule_enabled='no' must be bool, got str"),
    ],
)
def test_bad_catalog_settings(overrides, expected):
    assert expected in problems_for({"catalog": overrides})


def test_schedules_are_off_in_the_sandbox_and_on_in_prod():
    sandbox, prod = load_settings("sandbox").catalog, load_settings("prod").catalog
    assert (sandbox.crawler_schedule_enabled, sandbox.etl_schedule_enabled) == (False, False)
    assert (prod.crawler_schedule_enabled, prod.etl_schedule_enabled) == (True, True)
    assert (sandbox.data_catalog_encryption, prod.data_catalog_encryption) == (False, True)


# ---------------------------------------------------------------- network and SageMaker

VARIANT = {"name": "a", "instance_type": "ml.t2.medium", "initial_instance_count": 1, "weight": 1.0,
           "model_artifact": None}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"az_count": 3}, "network.az_count=3: allowed 1..2; environment-agnostic stacks can place subnets in at most "
                          "two availability zones"),
        ({"az_count": 0}, "network.az_count=0: allowed 1..2"),
        ({"vpc_cidr": "10.40.0.0/33"}, "network.vpc_cidr='10.40.0.0/33' is not a CIDR block"),
        ({"vpc_cidr": "10.40.0.1/16"}, "network.vpc_cidr='10.40.0.1/16' is not a CIDR block (10.40.0.1/16 has host "
                                       "bits set)"),
        ({"vpc_cidr": "8.8.0.0/16"}, "network.vpc_cidr='8.8.0.0/16': use a private IPv4 block from /16 to /24"),
        ({"vpc_cidr": "10.0.0.0/8"}, "network.vpc_cidr='10.0.0.0/8': use a private IPv4 block from /16 to /24"),
        ({"vpc_cidr": "10.1.2.0/24", "az_count": 2}, "network.vpc_cidr='10.1.2.0/24' is too small for 2 /24 subnets"),
        ({"extra_interface_endpoints": ["sts"]}, "network.extra_interface_endpoints: 'sts' is always created"),
        ({"extra_interface_endpoints": ["dynamodb"]}, "network.extra_interface_endpoints='dynamodb' is not a "
                                                      "supported optional interface endpoint: use one of monitoring"),
        ({"flow_log_retention_days": 2}, "network.flow_log_retention_days=2 is not a CloudWatch Logs retention"),
    ],
)
def test_bad_network_settings(overrides, expected):
    assert expected in problems_for({"network": overrides})


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"training_instance_type": "ml.m5.huge"}, "sagemaker.training_instance_type='ml.m5.huge' is not a supported "
                                                   "training instance type: use one of ml.m5.large"),
        ({"training_instance_type": "ml.g4dn.xlarge"}, "sagemaker.training_instance_type='ml.g4dn.xlarge' is not a "
                                                       "supported training instance type"),
        ({"notebook_instance_type": "t3.medium"}, "sagemaker.notebook_instance_type='t3.medium' is not a supported "
                                                  "notebook instance type"),
        ({"model_artifact": "https://example.com/model.tar.gz"}, "sagemaker.model_artifact='https://example.com/model."
                                                                 "tar.gz' is not an S3 URI of a model.tar.gz"),
        ({"model_artifact": "s3://bucket/model.zip"}, "is not an S3 URI of a model.tar.gz"),
        ({"spot_max_wait_minutes": 30}, "sagemaker.spot_max_wait_minutes=30 must be at least "
                                        "training_max_runtime_minutes=60 with spot training"),
        ({"training_data_prefix": "/training"}, "sagemaker.training_data_prefix='/training': a key prefix in the "
                                                "curated zone, without a leading '/' and ending with '/'"),
        ({"training_input_mode": "Stream"}, "sagemaker.training_input_mode='Stream' is not allowed: use one of "
                                            "'File', 'Pipe', 'FastFile'"),
        ({"data_capture_sampling_percent": 101}, "sagemaker.data_capture_sampling_percent=101 is out of range: "
                                                 "allowed 0..100 percent"),
        ({"endpoint_variants": []}, "sagemaker.endpoint_variants: give one variant, or two for an A/B test (got 0)"),
        ({"endpoint_variants": [VARIANT, {**VARIANT, "name": "b"}, {**VARIANT, "name": "c"}]},
         "give one variant, or two for an A/B test (got 3)"),
        ({"endpoint_variants": [{**VARIANT, "weight": 0}]}, "the weights must not all be 0"),
        ({"endpoint_variants": [{**VARIANT, "weight": 1.5}]}, "sagemaker.endpoint_variants[0].weight=1.5: use a "
                                                              "traffic share from 0 to 1"),
        ({"endpoint_variants": [{**VARIANT, "weight": -0.1}]}, "weight=-0.1: use a traffic share from 0 to 1"),
        ({"endpoint_variants": [VARIANT, VARIANT]}, "variant names must be distinct"),
        ({"endpoint_variants": [VARIANT, {**VARIANT, "name": "b"}]}, "an A/B test needs a model_artifact on at least "
                                                                     "one variant"),
        ({"endpoint_variants": [{**VARIANT, "instance_type": "ml.p3.2xlarge"}]},
         "sagemaker.endpoint_variants[0].instance_type='ml.p3.2xlarge' is not a supported hosting instance type"),
        ({"endpoint_variants": [{**VARIANT, "name": "a_b"}]}, "endpoint_variants[0].name='a_b': use 1..63 letters"),
        ({"endpoint_variants": [{**VARIANT, "initial_instance_count": 3}]},
         "sagemaker.autoscaling_max_instances=2: allowed from the largest initial_instance_count (3) to 20"),
        ({"xgboost_hyperparameters": {"num_round": 100}}, "sagemaker.xgboost_hyperparameters.num_round=100 must be "
                                                          "str, got int"),
    ],
)
def test_bad_sagemaker_settings(overrides, expected):
    assert expected in problems_for({"sagemaker": overrides})


def test_sandbox_hosts_nothing_until_a_model_exists():
    ml = load_settings("sandbox").sagemaker
    assert ml.model_artifact is None and ml.notebook_enabled is False
    assert ml.endpoint_variants[0].instance_type == "ml.t2.medium"
