"""Build the whole app: used by `app.py` (and so by the CDK CLI), the tests and the scripts.

The CDK CLI applies cdk.json's context (feature flags included) to the app; `python app.py` and a
bare `cdk.App()` in a test would not. `build_app` applies the same context itself, so the tests
check exactly what the CLI deploys. Under the CLI, context given with `-c` still wins.

The context is checked first (config.deployment): only this app's keys (profile, config,
overrides), cdk.json's and CDK's own are accepted, so a typo fails instead of building the sandbox.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)

from config import deployment
from config.settings import Settings
from patterns.compliance import refuse_unscanned_resources
from patterns.ml_rule_pack import MLSpecialtyChecks
from stacks.audit_stack import AuditStack
from stacks.catalog_stack import CatalogStack
from stacks.data_lake_stack import DataLakeStack
from stacks.ml_network_stack import MlNetworkStack
from stacks.sagemaker_stack import SageMakerStack
from stacks.shared import Shared
from stacks.streaming_stack import StreamingStack

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NAG_PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks,
             MLSpecialtyChecks)


def cdk_json_context() -> dict[str, Any]:
    return json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]


@dataclasses.dataclass(frozen=True)
class BuiltApp:
    app: cdk.App
    settings: Settings
    stacks: Mapping[str, cdk.Stack]


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> BuiltApp:
    """Validate the settings, then compose every stack and register every security check.

    Raises `SettingsError` before any stack exists when a setting or a context key is invalid.
    """
    used = deployment.resolve(context or {}, cdk_json_context())
    settings = used.settings
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    deployment.write_record(app.outdir, used)

    stacks: dict[str, cdk.Stack] = {}

    def add(stack_class: type, stack_id: str, name: str, summary: str, **consumed: Any) -> Any:
        # No env: every stack is environment-agnostic and synthesizes with no credentials.
        stacks[stack_id] = stack_class(
            app, stack_id, stack_name=f"{settings.name_prefix}-{name}", description=f"ML Specialty reference: {summary}",
            termination_protection=settings.profile == "prod", settings=settings, **consumed,
        )
        return stacks[stack_id]

    data_lake = add(DataLakeStack, "DataLake", "data-lake", "KMS-encrypted, tiered S3 data lake")
    lake = data_lake.lake
    streaming = add(StreamingStack, "Streaming", "streaming",
                    "Kinesis Data Streams -> Firehose (Lambda, Parquet) -> S3 raw zone", lake=lake)
    catalog = add(CatalogStack, "Catalog", "catalog", "Glue crawler and ETL -> Data Catalog -> Athena",
                  lake=lake, raw_table=streaming.table,
                  training_data_prefix=settings.sagemaker.training_data_prefix)
    ml_network = add(MlNetworkStack, "MlNetwork", "ml-network",
                     "isolated VPC (no internet path), VPC endpoints, flow logs", lake=lake)
    # What the stacks share, each taken from its one owner (stacks/shared.py).
    shared = Shared(
        alerts=streaming.alerts,
        ml_key=ml_network.key,
        app_log_retention_days=settings.log_retention_days,
    )
    sagemaker = add(SageMakerStack, "SageMaker", "sagemaker",
                    "SageMaker training and tuning, model registry with approved deploys, batch transform, "
                    "inference API and Model Monitor in a private VPC", lake=lake,
                    network=ml_network.network, shared=shared)
    if settings.audit.enabled:
        add(AuditStack, "Audit", "audit", "CloudTrail audit trail -> encrypted S3 -> Athena saved queries",
            lake=lake, training_data_prefix=settings.sagemaker.training_data_prefix)
    # Lake Formation (when on) grants the SageMaker execution role read access to the curated dataset.
    catalog.grant_lake_formation_reader("SageMakerExecution", sagemaker.execution.role.role_arn)
    # Names, not tokens, carry these: make the deploy order explicit.
    catalog.add_stack_dependency(streaming, "the ETL job and saved queries read the raw table")
    sagemaker.add_stack_dependency(streaming, "endpoint alarms notify the alerts topic")

    for stack in stacks.values():
        refuse_unscanned_resources(stack)
    for key, value in settings.tags.items():
        cdk.Tags.of(app).add(key, value)
    cdk.Validations.of(app).add_plugins(
        *(pack(app, write_suppressions_to_cloud_formation=True) for pack in NAG_PACKS)
    )
    return BuiltApp(app=app, settings=settings, stacks=stacks)
