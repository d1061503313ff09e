"""The app a platform team writes after copying `patterns/` alone: run by
tests/test_patterns_standalone.py as `python -I standalone_app.py <dir>`, where <dir> holds only the
copy (and this script's inputs): nothing of this repository is importable, and a path a pattern
builds from its own file can only point into the copy.

It imports every pattern module and builds each non-streaming pattern with its required props in
one stack (no synth: assets are staged, and their source paths checked, at construction), then
prints what the test checks as JSON.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

root = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(root))

import aws_cdk as cdk  # noqa: E402

from patterns.alerts import AlertsTopic  # noqa: E402
from patterns.athena import AnalystAccess, QueryWorkgroup  # noqa: E402
from patterns.audit_trail import DENIED_CALLS, AuditQueries, AuditTrail, ObjectLock, TrailTable  # noqa: E402
from patterns.curation_job import CurationJob  # noqa: E402
from patterns.data_lake import DataLakeStorage, ZoneTiering  # noqa: E402
from patterns.dataset_schema import load_schema  # noqa: E402
from patterns.dataset_table import DatasetTable  # noqa: E402
from patterns.glue_security import GlueSecurity  # noqa: E402
from patterns.isolated_network import IsolatedNetwork  # noqa: E402
from patterns.keys import customer_managed_key  # noqa: E402
from patterns.model_deploy import ModelDeploy  # noqa: E402
from patterns.model_registry import ModelPackageGroup  # noqa: E402
from patterns.private_notebook import PrivateNotebook  # noqa: E402
from patterns.realtime_endpoint import RealtimeEndpoint  # noqa: E402
from patterns.sagemaker_execution import SageMakerExecution  # noqa: E402
from patterns.training_pipeline import TrainingPipeline  # noqa: E402
from patterns.xgboost_image import XgboostImage  # noqa: E402
from patterns.zone_crawler import ZoneCrawler  # noqa: E402

modules = [f"patterns.{path.stem}" for path in sorted((root / "patterns").glob("*.py"))
           if path.stem != "__init__"]
for module in modules:
    importlib.import_module(module)

# The team's own inputs: a schema file and a Glue script.
(root / "clicks.json").write_text(json.dumps({"dataset": "clicks", "description": "Page clicks", "columns": [
    {"name": "page", "type": "string", "required": True, "comment": "Page path"}]}))
(root / "curate.py").write_text("print('curate')\n")

stack = cdk.Stack(cdk.App(), "S")
key = customer_managed_key(stack, "Key", alias="alias/acme", description="acme", for_log_groups=True,
                           for_alarm_topics=True)
lake = DataLakeStorage(stack, "Lake", name_prefix="acme",
                       zones={zone: ZoneTiering() for zone in ("raw", "curated", "results")})
schema = load_schema(root / "clicks.json")
raw = DatasetTable(stack, "Raw", name_prefix="acme", zone="raw", schema=schema, bucket=lake.raw)
curated = DatasetTable(stack, "Curated", name_prefix="acme", zone="curated", schema=schema,
                       bucket=lake.curated)
security = GlueSecurity(stack, "GlueSecurity", name_prefix="acme", lake=lake)
ZoneCrawler(stack, "Crawler", name="acme-raw", lake=lake, zone="raw", database_name="acme_raw",
            security=security)
CurationJob(stack, "Job", name="acme-curate", lake=lake, raw_table=raw, curated_table=curated,
            security=security, script=root / "curate.py")
workgroup = QueryWorkgroup(stack, "Athena", name="acme-analytics", lake=lake)
AnalystAccess(stack, "Analysts", name="acme-analyst", workgroup=workgroup, lake=lake, databases=["acme_raw"],
              readable={"raw": ["clicks/*"]})
alerts = AlertsTopic(stack, "Alerts", name="acme-alerts", key=key)
network = IsolatedNetwork(stack, "Network", name="acme-ml", cidr="10.40.0.0/16", key=key,
                          bucket_arns=[lake.bucket_arn(zone) for zone in lake.buckets])
execution = SageMakerExecution(stack, "Execution", name_prefix="acme", lake=lake, ml_key=key, vpc=network.vpc)
image = XgboostImage(stack, "XgboostImage")
placement = {"security_group": network.workload_security_group, "subnets": network.subnets.subnets}
registry = ModelPackageGroup(stack, "Registry", name="acme-models")
pipeline = TrainingPipeline(stack, "Training", name="acme-xgboost", registry=registry, lake=lake,
                            ml_key=key, execution=execution, image=image, hyperparameters={"num_round": "10"},
                            **placement)
ModelDeploy(stack, "Deploy", name="acme-deploy", endpoint_name="acme-endpoint", registry=registry, lake=lake,
            ml_key=key, queue_key=key, execution=execution, **placement)
RealtimeEndpoint(stack, "Hosting", name="acme-endpoint", model_artifact="s3://acme-models/model.tar.gz",
                 lake=lake, ml_key=key, execution=execution, image=image, alerts=alerts, **placement)
PrivateNotebook(stack, "Notebook", name="acme-notebook", ml_key=key, lake=lake,
                subnet=network.subnets.subnets[0], security_group=network.workload_security_group,
                pipeline=pipeline)
trail = AuditTrail(stack, "Trail", name="acme-audit", bucket_name="acme-audit-trail",
                   access_log_bucket_name="acme-audit-logs",
                   key_alias="alias/acme-audit", data_events="read", data_event_buckets=[lake.bucket_arn("curated")],
                   object_lock=ObjectLock(mode="GOVERNANCE", days=30), cloudwatch_logs_retention_days=30)
trail_table = TrailTable(stack, "TrailTable", trail=trail, database_name="acme_audit")
AuditQueries(stack, "AuditQueries", name="acme-audit", trail=trail, table=trail_table,
             results_bucket_name=lake.bucket_names["results"], results_key=lake.key, results_prefix="audit/",
             queries=[DENIED_CALLS])

print(json.dumps({
    "imported": modules,
    "app_modules": sorted(name for name in sys.modules
                          if name.split(".")[0] in ("config", "stacks", "ops", "tests")),
    "patterns_from": str(Path(sys.modules["patterns"].__file__).parent.relative_to(root)),
    "asset_sources": sorted(staging.source_path for staging in stack.node.find_all()
                            if isinstance(staging, cdk.AssetStaging)),
    "resource_types": sorted({child.cfn_resource_type for child in stack.node.find_all()
                              if isinstance(child, cdk.CfnResource)}),
}))
