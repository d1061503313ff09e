"""Session fixtures: each profile is synthesized once per test session, with every check on."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# A call to a deprecated CDK API raises instead of printing a warning nobody reads.
os.environ["JSII_DEPRECATED"] = "fail"

import pytest  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from scripts import gates  # noqa: E402
from stacks.app_factory import PROJECT_ROOT, BuiltApp, build_app  # noqa: E402

_ASSERTION_TEMPLATES: dict[tuple[int, str], Template] = {}


@dataclasses.dataclass(frozen=True)
class Synth:
    built: BuiltApp
    assembly_dir: Path
    templates: dict[str, dict[str, Any]]  # stack id -> template

    def resources(self, stack_id: str, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[stack_id]["Resources"].items() if v["Type"] == type_}

    def assertions(self, stack_id: str) -> Template:
        """The stack's template for aws_cdk.assertions, parsed once per session."""
        key = (id(self), stack_id)
        if key not in _ASSERTION_TEMPLATES:
            _ASSERTION_TEMPLATES[key] = Template.from_json(self.templates[stack_id])
        return _ASSERTION_TEMPLATES[key]

    def only(self, stack_id: str, type_: str) -> tuple[str, dict[str, Any]]:
        """(logical id, resource) of the one resource of `type_` in the stack."""
        found = self.resources(stack_id, type_)
        assert len(found) == 1, f"expected one {type_} in {stack_id}, got {list(found)}"
        return next(iter(found.items()))


def synthesize(outdir: Path, context: dict[str, Any]) -> Synth:
    built = build_app(context, outdir=str(outdir))
    assembly = built.app.synth()
    templates = {stack_id: assembly.get_stack_by_name(stack.stack_name).template
                 for stack_id, stack in built.stacks.items()}
    return Synth(built=built, assembly_dir=outdir, templates=templates)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("sandbox"), {"profile": "sandbox"})


@pytest.fixture(scope="session")
def prod(tmp_path_factory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("prod"), {"profile": "prod"})


# Every non-default value a setting can take that changes a template, in one extra synth.
CUSTOM_OVERRIDES = {
    "name_prefix": "acme-ml",
    "destroy_data_on_removal": False,
    "log_retention_days": 30,
    "data_lake": {
        "zones": {
            "raw": {"infrequent_access_after_days": None, "archive_after_days": 0,
                    "archive_storage_class": "DEEP_ARCHIVE", "expire_after_days": 400},
            "curated": {"infrequent_access_after_days": 45, "archive_after_days": 75,
                        "archive_storage_class": "GLACIER", "noncurrent_versions_expire_after_days": 7},
        },
        "abort_incomplete_multipart_upload_after_days": 3,
        "access_logs_expire_after_days": 90,
    },
    "streaming": {
        "shard_count": 3,
        "retention_hours": 48,
        "buffer_size_mib": 100,
        "buffer_interval_seconds": 120,
        "transform_memory_mib": 512,
        "transform_reserved_concurrency": 7,
        "iterator_age_alarm_seconds": 600,
        "data_freshness_alarm_seconds": 400,
        "alarm_email": "ml-oncall@example.com",
    },
    "catalog": {
        "crawler_zones": ["raw", "curated"],
        "crawler_schedule_enabled": True,
        "crawler_schedule": "cron(15 4 ? * MON-FRI *)",
        "etl_schedule_enabled": True,
        "etl_schedule": "cron(30 1 * * ? *)",
        "etl_worker_type": "G.2X",
        "etl_workers": 3,
        "etl_timeout_minutes": 45,
        "athena_bytes_scanned_cutoff_mb": 50,
        "data_catalog_encryption": False,
    },
    "network": {"az_count": 2, "vpc_cidr": "10.60.0.0/20", "extra_interface_endpoints": ["kms", "ecr.dkr"],
                "flow_log_retention_days": 30},
    "sagemaker": {
        "deny_jobs_outside_vpc": False,
        "training_instance_type": "ml.c5.2xlarge",
        "training_instance_count": 2,
        "training_volume_gb": 30,
        "training_max_runtime_minutes": 90,
        "training_input_mode": "FastFile",
        "managed_spot_training": False,
        "model_artifact": "s3://acme-models/xgboost/v1/model.tar.gz",
        "endpoint_variants": [
            {"name": "champion", "instance_type": "ml.m5.large", "initial_instance_count": 2, "weight": 0.9,
             "model_artifact": None},
            {"name": "challenger", "instance_type": "ml.t2.medium", "initial_instance_count": 1, "weight": 0.1,
             "model_artifact": "s3://acme-models/xgboost/v2/model.tar.gz"},
        ],
        "data_capture_sampling_percent": 25,
        "autoscaling_max_instances": 4,
        "notebook_enabled": True,
        "batch_transform": {"enabled": True, "instance_type": "ml.c5.xlarge", "instance_count": 2,
                            "max_payload_mb": 20, "max_concurrent_transforms": 4,
                            "input_prefix": "scoring/sensor_readings/", "timeout_minutes": 60},
        "xgboost_hyperparameters": {"eval_metric": "mlogloss,merror"},
        "tuning": {"enabled": True, "objective_metric": "validation:merror",
                   "ranges": {"alpha": {"min": 0.001, "max": 10, "scaling": "Logarithmic"},
                              "subsample": {"min": 0.5, "max": 1, "scaling": "Linear"}},
                   "max_jobs": 10, "max_parallel_jobs": 3, "early_stopping": "Off",
                   "warm_start_parents": ["acme-ml-xgboost-1a2b3c4d"], "warm_start_type": "TransferLearning"},
        "registry": {"approval": "manual"},
    },
    "lake_formation": {
        "enabled": True,
        "admins": ["arn:aws:iam::123456789012:role/DataLakeAdmin"],
        "analyst_principals": ["arn:aws:iam::123456789012:role/analytics/Analyst"],
    },
}


@pytest.fixture(scope="session")
def custom(tmp_path_factory) -> Synth:
    return synthesize(
        tmp_path_factory.mktemp("custom"),
        {"profile": "sandbox", "overrides": json.dumps(CUSTOM_OVERRIDES)},
    )


@pytest.fixture(scope="session", params=["sandbox", "prod"])
def each_profile(request) -> Synth:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["sandbox", "prod", "custom"])
def synth(request) -> Synth:
    """Each profile, and the fully overridden sandbox."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def all_templates(sandbox, prod, custom) -> list[Path]:
    return [path for synth in (sandbox, prod, custom) for path in gates.templates(synth.assembly_dir)]


@pytest.fixture(scope="session")
def external_gates(all_templates) -> tuple[list[dict], gates.CheckovResult]:
    """cfn-lint and checkov over every template of every profile, run side by side (~10 s each)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        lint = pool.submit(gates.cfn_lint, all_templates)
        scan = pool.submit(gates.checkov, all_templates)
        return lint.result(), scan.result()


@pytest.fixture(scope="session")
def checkov_result(external_gates) -> gates.CheckovResult:
    return external_gates[1]


@pytest.fixture(scope="session")
def cfn_lint_findings(external_gates) -> list[dict]:
    return external_gates[0]


@pytest.fixture(scope="session", autouse=True)
def second_synth(tmp_path_factory):
    """A second synth of the sandbox profile in another process, started when the session starts so
    that it runs while other tests do; the determinism test compares it with the first."""
    outdir = tmp_path_factory.mktemp("second-synth")
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "PYTHONHASHSEED": "12345",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("JSII_DEPRECATED", None)
    process = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield process, outdir
    if process.poll() is None:
        process.kill()


@pytest.fixture(scope="session", autouse=True)
def spark_starting(request):
    """Local Spark (~7 s to start), started when the session starts if any test uses `spark`, so the
    JVM starts while the synth fixtures run."""
    if not any("spark" in item.fixturenames for item in request.session.items):
        yield None
        return
    from tests import local_spark

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        starting = pool.submit(local_spark.start_session)
        yield starting
        if starting.exception() is None:
            starting.result().stop()


@pytest.fixture(scope="session")
def spark(spark_starting):
    if isinstance(spark_starting.exception(), RuntimeError):  # no usable Java: fail loudly, never skip
        pytest.fail(str(spark_starting.exception()), pytrace=False)
    return spark_starting.result()
