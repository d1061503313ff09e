"""Every pattern outside this app: built in a bare `cdk.Stack(cdk.App(), "S")` with only its required
props (no settings, no cdk.json context or feature flags), each test asserts a secure default.

To add a pattern: one `test_<pattern>_alone` below, in its own section, that builds it with
`bare_stack()` and checks the template with aws_cdk.assertions, and its required-props build in
tests/standalone_app.py (the app built from a copy of `patterns/` alone).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from patterns.alerts import AlertsTopic
from patterns.athena import AnalystAccess, QueryWorkgroup
from patterns.curation_job import CurationJob
from patterns.data_lake import DataLakeStorage, ZoneTiering
from patterns.dataset_schema import Column, DatasetSchema, load_schema
from patterns.dataset_table import DatasetTable
from patterns.glue_security import GlueSecurity
from patterns.isolated_network import IsolatedNetwork
from patterns.keys import customer_managed_key
from patterns.kinesis_stream import EncryptedStream
from patterns.log_groups import RETENTION, encrypted_log_group
from patterns.model_deploy import ModelDeploy
from patterns.model_registry import ModelPackageGroup
from patterns.parquet_delivery import ParquetDelivery
from patterns.private_notebook import PrivateNotebook
from patterns.realtime_endpoint import RealtimeEndpoint
from patterns.record_transform import RecordTransform
from patterns.sagemaker_execution import SageMakerExecution
from patterns.saved_queries import SavedQuery
from patterns.streaming_alarms import StreamingAlarms
from patterns.training_pipeline import TrainingPipeline, Tuning
from patterns.xgboost_image import XgboostImage
from patterns.zone_crawler import ZoneCrawler
from stacks.app_factory import PROJECT_ROOT

# Every module a platform team copies with the folder.
PATTERN_MODULES = sorted(f"patterns.{path.stem}" for path in (PROJECT_ROOT / "patterns").glob("*.py")
                         if path.stem != "__init__")
SCHEMA = DatasetSchema(dataset="clicks", description="Page clicks", columns=(
    Column(name="page", type="string", required=True, comment="Page path"),
    Column(name="at", type="timestamp", required=True, comment="When")))


def bare_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "S")


def key_in(stack: cdk.Stack):
    return customer_managed_key(stack, "Key", alias="alias/acme", description="acme", for_log_groups=True)


def lake_in(stack: cdk.Stack, *zones: str) -> DataLakeStorage:
    return DataLakeStorage(stack, "Lake", name_prefix="acme", zones={zone: ZoneTiering() for zone in zones})


def get_att_arn(stack: cdk.Stack, construct) -> dict:
    return {"Fn::GetAtt": [stack.get_logical_id(construct.node.default_child), "Arn"]}


def test_a_copy_of_patterns_alone_imports_every_module_and_builds_every_non_streaming_pattern(tmp_path):
    """`patterns/` copied into an empty folder, run in an isolated interpreter (`-I`: only that folder
    and the venv on sys.path): every module imports, each non-streaming pattern builds with its
    required props (tests/standalone_app.py), nothing of this app is loaded and every asset comes from
    the copy (the prefix-list lookup ships in patterns/assets/) or the team's own files."""
    shutil.copytree(PROJECT_ROOT / "patterns", tmp_path / "patterns", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run([sys.executable, "-I", str(PROJECT_ROOT / "tests" / "standalone_app.py"), str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)
    assert built["imported"] == PATTERN_MODULES and "patterns.isolated_network" in PATTERN_MODULES
    assert built["app_modules"] == []
    assert built["patterns_from"] == "patterns"
    ours = [source for source in built["asset_sources"] if source.startswith(str(tmp_path))]
    assert ours == [str(tmp_path / "curate.py"),
                    str(tmp_path / "patterns" / "assets" / "close_default_security_group"),
                    str(tmp_path / "patterns" / "assets" / "prefix_list_lookup")]
    assert not [source for source in built["asset_sources"] if source.startswith(str(PROJECT_ROOT))]
    assert {"Custom::PrefixListLookup", "Custom::DefaultSecurityGroupClosed", "AWS::Glue::Job", "AWS::Glue::Crawler", "AWS::Athena::WorkGroup",
            "AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::SageMaker::Endpoint",
            "AWS::SageMaker::NotebookInstance", "AWS::CloudTrail::Trail"} <= set(built["resource_types"])


# ---------------------------------------------------------------- keys


def test_customer_managed_key_alone_rotates_and_is_retained():
    stack = bare_stack()
    customer_managed_key(stack, "Key", alias="alias/acme", description="acme")
    template = Template.from_stack(stack)
    template.has_resource("AWS::KMS::Key", {
        "Properties": Match.object_like({"EnableKeyRotation": True, "PendingWindowInDays": 30}),
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
    })
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/acme"})


# ---------------------------------------------------------------- log groups


def test_encrypted_log_group_alone_is_encrypted_bounded_and_retained():
    stack = bare_stack()
    key = key_in(stack)
    encrypted_log_group(stack, "Logs", key=key)
    Template.from_stack(stack).has_resource("AWS::Logs::LogGroup", {
        "Properties": {"KmsKeyId": get_att_arn(stack, key), "RetentionInDays": 365},
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
    })


def test_every_retention_period_maps_to_the_cdk_member_that_synthesizes_it():
    """The days -> RetentionDays table, checked against what CDK itself writes for each member."""
    stack = bare_stack()
    key = key_in(stack)
    groups = {days: encrypted_log_group(stack, f"Logs{days}", key=key, retention_days=days) for days in RETENTION}
    resources = Template.from_stack(stack).find_resources("AWS::Logs::LogGroup")
    assert {days: resources[stack.get_logical_id(group.node.default_child)]["Properties"]["RetentionInDays"]
            for days, group in groups.items()} == {days: days for days in RETENTION}
    # Every bounded CDK member is covered; INFINITE is refused on purpose.
    assert {m.name for m in logs.RetentionDays} - {m.name for m in RETENTION.values()} == {"INFINITE"}


@pytest.mark.parametrize("days", [0, 2, 9999, True])
def test_a_retention_cloudwatch_logs_does_not_offer_is_refused(days):
    with pytest.raises(ValueError, match=rf"retention_days={days!r} is not a CloudWatch Logs retention period: "
                                         r"use one of 1, 3, 5, 7, 14, 30, .*, 3653$"):
        stack = bare_stack()
        encrypted_log_group(stack, "Logs", key=key_in(stack), retention_days=days)


# ---------------------------------------------------------------- data lake


def test_data_lake_alone_encrypts_denies_plain_http_logs_access_and_keeps_data():
    stack = bare_stack()
    lake = lake_in(stack, "raw")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::S3::Bucket", 2)  # the zone and its access-log bucket
    template.has_resource("AWS::S3::Bucket", {
        "Properties": Match.object_like({
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": get_att_arn(stack, lake.key)},
            }]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            # ZoneTiering's defaults: nothing moves or expires, replaced versions go after 90 days.
            "LifecycleConfiguration": {"Rules": [Match.exact({
                "Id": "raw-tiering", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            })]},
            "LoggingConfiguration": {"DestinationBucketName": {"Ref": stack.get_logical_id(
                lake.access_log_bucket.node.default_child)}, "LogFilePrefix": "raw/"},
        }),
        "DeletionPolicy": "Retain",
    })
    template.resource_count_is("Custom::EmptyBucketOnDelete", 0)
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
    ])}})
    # Log delivery by bucket policy, without the app's feature flag: ACL-disabled buckets refuse the ACL.
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                           "Action": "s3:PutObject"}),
    ])}})
    assert not template.find_resources("AWS::S3::Bucket", {"Properties": {"AccessControl": Match.any_value()}})


def test_zone_tiering_refuses_an_unknown_archive_class():
    with pytest.raises(ValueError, match="archive_storage_class='STANDARD': use one of GLACIER_IR, GLACIER, "
                                         "DEEP_ARCHIVE"):
        ZoneTiering(archive_storage_class="STANDARD")


@pytest.mark.parametrize(("props", "message"), [
    ({"infrequent_access_after_days": 29}, "infrequent_access_after_days=29: S3 allows Standard-IA from day 30"),
    ({"infrequent_access_after_days": 30, "archive_after_days": 59},
     "archive_after_days=59: use 60 or later, 30 days after infrequent_access_after_days=30"),
    ({"infrequent_access_after_days": 30, "archive_after_days": 60, "expire_after_days": 60},
     "expire_after_days=60: use a day after the last transition (day 60)"),
    ({"infrequent_access_after_days": 90, "expire_after_days": 30},
     "expire_after_days=30: use a day after the last transition (day 90)"),
])
def test_zone_tiering_refuses_days_s3_lifecycle_rejects(props, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ZoneTiering(**props)


def test_zone_tiering_accepts_the_earliest_days_s3_allows():
    tiering = ZoneTiering(infrequent_access_after_days=30, archive_after_days=60, expire_after_days=61)
    assert (tiering.archive_after_days, tiering.expire_after_days) == (60, 61)
    ZoneTiering(archive_after_days=0, archive_storage_class="DEEP_ARCHIVE", expire_after_days=1)  # no Standard-IA step


@pytest.mark.parametrize(("name_prefix", "message"), [
    ("a" * 22, f"name_prefix='{'a' * 22}' has 22 characters: use at most 21, so "
               "<prefix>-access-logs-<account>-<region> fits 63"),
    ("Acme", "name_prefix='Acme': use lowercase letters, digits and hyphens"),
    ("acme.data", "name_prefix='acme.data': use lowercase letters"),
    ("acme-", "name_prefix='acme-': use lowercase letters"),
    ("", "name_prefix='': use lowercase letters"),
    ("xn--acme", "name_prefix='xn--acme': use lowercase letters, digits and hyphens, a letter or digit at each end, "
                 "not starting with xn--, sthree-, amzn-s3-demo-"),
])
def test_data_lake_refuses_a_name_prefix_s3_would_reject(name_prefix, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DataLakeStorage(bare_stack(), "Lake", name_prefix=name_prefix, zones={"raw": ZoneTiering()})


def test_data_lake_takes_the_longest_name_prefix_that_fits_and_refuses_a_zone_that_does_not():
    # 21 + len("-access-logs-") + 12 + len("-") + 16 = 63 characters
    DataLakeStorage(bare_stack(), "Lake", name_prefix="a" * 21, zones={"raw": ZoneTiering()})
    with pytest.raises(ValueError, match=re.escape(f"zones: name '{'z' * 29}': use 1 to 28 lowercase letters")):
        DataLakeStorage(bare_stack(), "Lake", name_prefix="acme", zones={"z" * 29: ZoneTiering()})
    with pytest.raises(ValueError, match=re.escape("zones: name 'Raw': use 1 to 28 lowercase letters")):
        DataLakeStorage(bare_stack(), "Lake", name_prefix="acme", zones={"Raw": ZoneTiering()})


def test_a_destroyable_lake_empties_each_bucket_with_its_own_scanned_function():
    from patterns.bucket_emptier import EMPTY_ON_DELETE_TAG
    from patterns.compliance import unscanned_resources

    stack = bare_stack()
    lake = DataLakeStorage(stack, "Lake", name_prefix="acme", zones={"raw": ZoneTiering()},
                           destroy_on_removal=True, log_retention_days=14)
    template = Template.from_stack(stack)
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    assert unscanned_resources(stack) == []  # no CDK provider the in-app checks would skip
    buckets = [lake.raw, lake.access_log_bucket]
    emptied = template.find_resources("Custom::EmptyBucketOnDelete")
    assert sorted(r["Properties"]["BucketName"]["Ref"] for r in emptied.values()) == \
        sorted(stack.get_logical_id(b.node.default_child) for b in buckets)
    for logical_id, bucket in template.find_resources("AWS::S3::Bucket").items():
        assert bucket["DeletionPolicy"] == "Delete", logical_id
        assert {"Key": EMPTY_ON_DELETE_TAG, "Value": "true"} in bucket["Properties"]["Tags"], logical_id
    template.has_resource_properties("AWS::Lambda::Function", {"FunctionName": "acme-empty-lake-buckets",
                                                               "TracingConfig": {"Mode": "Active"}})
    template.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": "/aws/lambda/acme-empty-lake-buckets",
                                                             "RetentionInDays": 14, "KmsKeyId": Match.any_value()})


# ---------------------------------------------------------------- isolated network


def test_isolated_network_alone_has_no_internet_path_and_only_the_given_buckets():
    stack = bare_stack()
    IsolatedNetwork(stack, "Network", name="acme-ml", cidr="10.40.0.0/16", key=key_in(stack),
                    bucket_arns=["arn:aws:s3:::acme-data"])
    template = Template.from_stack(stack)
    for type_ in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
        template.resource_count_is(type_, 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)  # az_count's default
    template.all_resources_properties("AWS::EC2::Subnet", Match.object_like({
        "CidrBlock": Match.string_like_regexp(r"^10\.40\.\d+\.0/24$"), "MapPublicIpOnLaunch": False}))
    template.resource_count_is("Custom::DefaultSecurityGroupClosed", 1)
    template.resource_count_is("Custom::VpcRestrictDefaultSG", 0)  # CDK's provider, unscanned in-app
    template.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway", "PolicyDocument": {
        "Statement": [Match.object_like({"Sid": "OnlyTheLakeBuckets",
                                         "Resource": ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"]})]}})
    template.resource_count_is("AWS::EC2::VPCEndpoint", 1)  # no paid interface endpoint by default
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})
    template.has_resource("AWS::Logs::LogGroup", {
        "Properties": Match.object_like({"LogGroupName": "/aws/vpc-flow-logs/acme-ml", "RetentionInDays": 365}),
        "DeletionPolicy": "Retain"})


def test_isolated_network_refuses_an_unknown_interface_endpoint():
    stack = bare_stack()
    with pytest.raises(ValueError, match="interface_endpoints: sagemaker unknown; use sagemaker.api, "):
        IsolatedNetwork(stack, "Network", name="acme-ml", cidr="10.40.0.0/16", key=key_in(stack),
                        bucket_arns=["arn:aws:s3:::acme-data"], interface_endpoints={"sagemaker": ["me"]})


# ---------------------------------------------------------------- Glue security, crawler, job


def test_glue_security_alone_encrypts_with_kms_and_leaves_the_account_catalog_alone():
    stack = bare_stack()
    lake = lake_in(stack, "raw")
    security = GlueSecurity(stack, "GlueSecurity", name_prefix="acme", lake=lake)
    template = Template.from_stack(stack)
    own_key = get_att_arn(stack, security.key)
    template.has_resource_properties("AWS::Glue::SecurityConfiguration", {"EncryptionConfiguration": {
        "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": get_att_arn(stack, lake.key)}],
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": own_key},
        "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": own_key},
    }})
    template.resource_count_is("AWS::Glue::DataCatalogEncryptionSettings", 0)  # account-wide: opt in only


def test_zone_crawler_alone_runs_on_demand_and_never_rewrites_tables():
    stack = bare_stack()
    lake = lake_in(stack, "raw")
    security = GlueSecurity(stack, "GlueSecurity", name_prefix="acme", lake=lake)
    ZoneCrawler(stack, "Crawler", name="acme-raw", lake=lake, zone="raw", database_name="acme_raw", security=security)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Glue::Crawler", {
        "DatabaseName": "acme_raw",
        "Schedule": Match.absent(),
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
        "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
        "CrawlerSecurityConfiguration": {"Ref": stack.get_logical_id(security.configuration)},
    })
    template.resource_count_is("AWS::IAM::Policy", 0)  # its grants live in one managed policy


def curation_inputs(stack: cdk.Stack, tmp_path) -> dict:
    """Everything CurationJob requires: a lake, its security configuration, both tables, a script."""
    lake = lake_in(stack, "raw", "curated")
    security = GlueSecurity(stack, "GlueSecurity", name_prefix="acme", lake=lake)
    raw = DatasetTable(stack, "RawTable", name_prefix="acme", zone="raw", schema=SCHEMA, bucket=lake.raw)
    curated = DatasetTable(stack, "CuratedTable", name_prefix="acme", zone="curated", schema=SCHEMA,
                           bucket=lake.curated)
    script = tmp_path / "curate.py"
    script.write_text("print('curate')\n")
    return {"lake": lake, "raw_table": raw, "curated_table": curated, "security": security, "script": script}


def test_curation_job_alone_is_small_bounded_bookmarked_and_unscheduled(tmp_path):
    stack = bare_stack()
    inputs = curation_inputs(stack, tmp_path)
    security = inputs["security"]
    CurationJob(stack, "Job", name="acme-curate", **inputs)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Glue::Job", {
        "WorkerType": "G.1X", "NumberOfWorkers": 2, "Timeout": 60, "MaxRetries": 1,
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "SecurityConfiguration": {"Ref": stack.get_logical_id(security.configuration)},
        "DefaultArguments": Match.object_like({"--job-bookmark-option": "job-bookmark-enable"}),
    })
    template.resource_count_is("AWS::Glue::Trigger", 0)


@pytest.mark.parametrize(("props", "message"), [
    ({"worker_type": "Standard"}, "worker_type='Standard': use one of G.1X, G.2X, G.4X, G.8X"),
    ({"schedule": "rate(1 day)"}, "schedule='rate(1 day)': use cron(minutes hours day-of-month month day-of-week "
                                  "year) with '?' in one day field, e.g. cron(0 3 * * ? *)"),
    ({"schedule": "cron(0 3 * * ?)"}, "schedule='cron(0 3 * * ?)': use cron("),  # five fields
    ({"schedule": "cron(0 3 * * * *)"}, "schedule='cron(0 3 * * * *)': use cron("),  # no '?'
])
def test_curation_job_refuses_what_glue_would(tmp_path, props, message):
    stack = bare_stack()
    with pytest.raises(ValueError, match=re.escape(message)):
        CurationJob(stack, "Job", name="acme-curate", **curation_inputs(stack, tmp_path), **props)


def test_curation_job_schedules_a_glue_cron(tmp_path):
    stack = bare_stack()
    CurationJob(stack, "Job", name="acme-curate", **curation_inputs(stack, tmp_path), schedule="cron(0 3 ? * MON *)")
    Template.from_stack(stack).has_resource_properties("AWS::Glue::Trigger", {
        "Type": "SCHEDULED", "Schedule": "cron(0 3 ? * MON *)", "Actions": [{"JobName": "acme-curate"}]})


# ---------------------------------------------------------------- Athena


def test_query_workgroup_alone_enforces_encrypted_capped_results_and_is_retained():
    stack = bare_stack()
    lake = lake_in(stack, "raw", "results")
    QueryWorkgroup(stack, "Athena", name="acme-analytics", lake=lake)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Athena::WorkGroup", {
        "RecursiveDeleteOption": False,
        "WorkGroupConfiguration": Match.object_like({
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": 1024 * 1_000_000,
            "ResultConfiguration": Match.object_like({"EncryptionConfiguration": {
                "EncryptionOption": "SSE_KMS", "KmsKey": get_att_arn(stack, lake.key)}}),
        }),
    })
    template.resource_count_is("AWS::Athena::NamedQuery", 0)


def test_query_workgroup_refuses_a_cutoff_below_athenas_minimum():
    stack = bare_stack()
    lake = lake_in(stack, "raw", "results")
    with pytest.raises(ValueError, match=re.escape("bytes_scanned_cutoff_mb=9: Athena's minimum is 10 (MB)")):
        QueryWorkgroup(stack, "Athena", name="acme-analytics", lake=lake, bytes_scanned_cutoff_mb=9)
    QueryWorkgroup(stack, "Athena10", name="acme-small", lake=lake, bytes_scanned_cutoff_mb=10)


def test_analyst_access_alone_queries_one_workgroup_and_reads_only_what_it_is_given():
    stack = bare_stack()
    lake = lake_in(stack, "raw", "results")
    workgroup = QueryWorkgroup(stack, "Athena", name="acme-analytics", lake=lake)
    AnalystAccess(stack, "Analysts", name="acme-analyst", workgroup=workgroup, lake=lake, databases=["acme_raw"],
                  readable={"raw": ["clicks/*"]})
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy").values()
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert by_sid["QueryInTheWorkgroup"]["Resource"]["Fn::Join"][1][-1] == ":workgroup/acme-analytics"
    assert by_sid["ReadTheDatasets"]["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":s3:::acme-raw-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"},
        "/clicks/*"]]}


# ---------------------------------------------------------------- alerts


def test_alerts_topic_alone_is_encrypted_tls_only_and_has_no_subscription():
    stack = bare_stack()
    key = customer_managed_key(stack, "Key", alias="alias/acme", description="acme", for_alarm_topics=True)
    AlertsTopic(stack, "Alerts", name="acme-alerts", key=key)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SNS::Topic", {"TopicName": "acme-alerts",
                                                         "KmsMasterKeyId": get_att_arn(stack, key)})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})
    template.resource_count_is("AWS::SNS::Subscription", 0)
    template.resource_count_is("AWS::SQS::Queue", 0)


# ---------------------------------------------------------------- dataset schema, table and saved queries


def test_dataset_schema_loads_any_schema_file(tmp_path):
    path = tmp_path / "clicks.json"
    path.write_text(json.dumps({"dataset": "clicks", "description": "Page clicks", "columns": [
        {"name": "page", "type": "string", "required": True, "comment": "Page path"},
        {"name": "at", "type": "timestamp", "required": True, "comment": "When"}]}))
    assert load_schema(path) == SCHEMA
    path.write_text(json.dumps({"dataset": "x", "description": "", "columns": [
        {"name": "a", "type": "varchar", "required": True, "comment": ""}]}))
    with pytest.raises(ValueError, match=r"column types \['varchar'\] have no Glue type"):
        load_schema(path)


def test_dataset_table_alone_is_projected_parquet_and_retained():
    stack = bare_stack()
    bucket = cdk.aws_s3.Bucket(stack, "Bucket")
    DatasetTable(stack, "Table", name_prefix="acme", zone="raw", schema=SCHEMA, bucket=bucket)
    template = Template.from_stack(stack)
    template.has_resource("AWS::Glue::Database", {"Properties": {
        "CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": Match.object_like({"Name": "acme_raw"})},
        "DeletionPolicy": "Retain"})
    template.has_resource("AWS::Glue::Table", {"Properties": Match.object_like({
        "DatabaseName": "acme_raw",
        "TableInput": Match.object_like({
            "Name": "clicks",
            "Parameters": Match.object_like({"classification": "parquet", "projection.enabled": "true"}),
            "StorageDescriptor": Match.object_like({"Columns": [
                {"Name": "page", "Type": "string", "Comment": "Page path"},
                {"Name": "at", "Type": "timestamp", "Comment": "When"}]}),
        }),
    }), "DeletionPolicy": "Retain"})


def test_saved_query_fills_in_the_qualified_table():
    query = SavedQuery(name="daily", description="Rows per day",
                       template="\nSELECT day, count(*) FROM {table} GROUP BY day\n\n")
    assert query.sql("acme_raw", "clicks") == "SELECT day, count(*) FROM acme_raw.clicks GROUP BY day\n"


# ---------------------------------------------------------------- streaming: stream, transform, delivery, alarms


def handler_in(directory) -> str:
    """A minimal Firehose transform: every record back, unchanged."""
    (directory / "handler.py").write_text(
        "def handler(event, context):\n"
        "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok', 'data': r['data']}"
        " for r in event['records']]}\n")
    return str(directory)


def test_encrypted_stream_alone_is_on_demand_encrypted_with_its_key_and_retained():
    stack = bare_stack()
    key = customer_managed_key(stack, "Key", alias="alias/acme", description="acme")
    stream = EncryptedStream(stack, "Clicks", name="acme-clicks", key=key)
    template = Template.from_stack(stack)
    template.has_resource("AWS::Kinesis::Stream", {"Properties": {
        "Name": "acme-clicks", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}, "ShardCount": Match.absent(),
        "RetentionPeriodHours": 24, "StreamEncryption": {"EncryptionType": "KMS", "KeyId": get_att_arn(stack, key)},
    }, "DeletionPolicy": "Retain"})
    # Producers get put and the key through Kinesis only; attaching it is theirs to do.
    template.has_resource_properties("AWS::IAM::ManagedPolicy", {
        "ManagedPolicyName": "acme-clicks-producer", "Roles": Match.absent(), "PolicyDocument": {"Statement": [
            Match.object_like({"Sid": "PutRecords", "Resource": get_att_arn(stack, stream.stream)}),
            Match.object_like({"Sid": "EncryptThroughKinesis", "Action": "kms:GenerateDataKey",
                               "Resource": get_att_arn(stack, key)}),
        ]}})


@pytest.mark.parametrize(("props", "message"), [
    ({"capacity_mode": "PROVISIONED"}, r"shard_count=None: a PROVISIONED stream needs 1 to 500 shards"),
    ({"shard_count": 2}, r"shard_count=2: leave it None with ON_DEMAND"),
    ({"capacity_mode": "on-demand"}, r"capacity_mode='on-demand': use one of PROVISIONED, ON_DEMAND"),
    ({"retention_hours": 12}, r"retention_hours=12: Kinesis keeps records 24 to 8760 hours"),
])
def test_encrypted_stream_refuses_what_kinesis_would(props, message):
    stack = bare_stack()
    with pytest.raises(ValueError, match=message):
        EncryptedStream(stack, "Clicks", name="acme-clicks", key=key_in(stack), **props)


def test_record_transform_alone_is_traced_bounded_and_logs_encrypted(tmp_path):
    stack = bare_stack()
    key = key_in(stack)
    transform = RecordTransform(stack, "ClicksTransform", function_name="acme-clicks-transform",
                                code_directory=handler_in(tmp_path), key=key)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "acme-clicks-transform", "Handler": "handler.handler", "Architectures": ["arm64"],
        "MemorySize": 256, "ReservedConcurrentExecutions": 5, "Timeout": 60, "TracingConfig": {"Mode": "Active"},
        "Role": get_att_arn(stack, transform.role),
        "LoggingConfig": {"LogGroup": {"Ref": stack.get_logical_id(transform.log_group.node.default_child)}},
    })
    template.has_resource("AWS::Logs::LogGroup", {"Properties": {
        "LogGroupName": "/aws/lambda/acme-clicks-transform", "RetentionInDays": 365,
        "KmsKeyId": get_att_arn(stack, key)}, "DeletionPolicy": "Retain"})
    template.resource_count_is("AWS::IAM::Policy", 0)  # its grants live in one managed policy


def delivery_inputs(stack, tmp_path) -> dict:
    """Everything ParquetDelivery requires: a key, a lake, the dataset's table, a stream, a transform."""
    key, lake = key_in(stack), lake_in(stack, "raw")
    table = DatasetTable(stack, "Table", name_prefix="acme", zone="raw", schema=SCHEMA, bucket=lake.raw)
    stream = EncryptedStream(stack, "Clicks", name="acme-clicks", key=key)
    transform = RecordTransform(stack, "ClicksTransform", function_name="acme-clicks-transform",
                                code_directory=handler_in(tmp_path), key=key)
    return {"stream": stream.stream, "key": key, "transform": transform.function, "table": table, "lake": lake,
            "zone": "raw"}


def test_parquet_delivery_alone_converts_to_parquet_and_encrypts_with_the_lake_key(tmp_path):
    stack = bare_stack()
    inputs = delivery_inputs(stack, tmp_path)
    delivery = ParquetDelivery(stack, "ClicksDelivery", name="acme-clicks", **inputs)
    stream, lake = inputs["stream"], inputs["lake"]
    template = Template.from_stack(stack)
    day = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    lake_key = {"KMSEncryptionConfig": {"AWSKMSKeyARN": get_att_arn(stack, lake.key)}}
    template.has_resource_properties("AWS::KinesisFirehose::DeliveryStream", {
        "DeliveryStreamName": "acme-clicks",
        "KinesisStreamSourceConfiguration": {"KinesisStreamARN": get_att_arn(stack, stream),
                                             "RoleARN": get_att_arn(stack, delivery.role)},
        "ExtendedS3DestinationConfiguration": {
            "BucketARN": get_att_arn(stack, lake.raw),
            "Prefix": f"clicks/{day}",
            "ErrorOutputPrefix": f"errors/clicks/!{{firehose:error-output-type}}/{day}",
            "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 300},
            "CompressionFormat": "UNCOMPRESSED",
            "EncryptionConfiguration": lake_key,
            "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda"}]},
            "DataFormatConversionConfiguration": {
                "Enabled": True,
                "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}},
                "SchemaConfiguration": {"DatabaseName": "acme_raw", "TableName": "clicks"},
            },
            "S3BackupMode": "Enabled",
            "S3BackupConfiguration": {"Prefix": f"source-backup/clicks/{day}", "CompressionFormat": "GZIP",
                                      "EncryptionConfiguration": lake_key},
        },
    })
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [
        Match.object_like({"Principal": {"Service": "firehose.amazonaws.com"},
                           "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}})]}})
    template.has_resource("AWS::Logs::LogGroup", {"Properties": {
        "LogGroupName": "/aws/kinesisfirehose/acme-clicks", "RetentionInDays": 365}, "DeletionPolicy": "Retain"})


def test_parquet_delivery_refuses_a_buffer_too_small_for_parquet(tmp_path):
    stack = bare_stack()
    with pytest.raises(ValueError, match=r"buffer_size_mib=32: allowed 64 to 128"):
        ParquetDelivery(stack, "ClicksDelivery", name="acme-clicks", **delivery_inputs(stack, tmp_path),
                        buffer_size_mib=32)


def test_streaming_alarms_alone_notify_the_topic_and_let_an_idle_stream_be():
    """With a plain CDK stream and function: the alarms need no other pattern of this app but AlertsTopic."""
    stack = bare_stack()
    key = customer_managed_key(stack, "Key", alias="alias/acme", description="acme", for_alarm_topics=True)
    alerts = AlertsTopic(stack, "Alerts", name="acme-alerts", key=key)
    stream = kinesis.Stream(stack, "Stream")
    function = lambda_.Function(stack, "Transform", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
                                code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))
    StreamingAlarms(stack, "ClicksAlarms", name="acme-clicks", stream=stream, transform=function,
                    delivery_stream_name="acme-clicks", alerts=alerts)
    template = Template.from_stack(stack)
    topic = {"Ref": stack.get_logical_id(alerts.topic.node.default_child)}
    template.resource_count_is("AWS::CloudWatch::Alarm", 6)
    template.all_resources_properties("AWS::CloudWatch::Alarm", {
        "AlarmActions": [topic], "OKActions": [topic], "TreatMissingData": "notBreaching"})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "acme-clicks-IteratorAge", "Threshold": 900 * 1000,
        "Dimensions": [{"Name": "StreamName", "Value": {"Ref": stack.get_logical_id(stream.node.default_child)}}]})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "acme-clicks-DeliveryFreshness", "Threshold": 900,
        "Dimensions": [{"Name": "DeliveryStreamName", "Value": "acme-clicks"}]})


def test_two_of_each_streaming_pattern_fit_in_one_stack_beside_a_stream_of_its_own_and_take_tags(tmp_path):
    """Each pattern is a construct of its own: its ids cannot clash with another's or the user's."""
    stack = bare_stack()
    key = customer_managed_key(stack, "Key", alias="alias/acme", description="acme", for_log_groups=True,
                               for_alarm_topics=True)
    lake = lake_in(stack, "raw")
    table = DatasetTable(stack, "Table", name_prefix="acme", zone="raw", schema=SCHEMA, bucket=lake.raw)
    alerts = AlertsTopic(stack, "Alerts", name="acme-alerts", key=key)
    kinesis.Stream(stack, "Stream")  # the user's own, with the id the stream pattern gives its stream
    code = handler_in(tmp_path)
    streams = {}
    for dataset in ("clicks", "views"):
        name = f"acme-{dataset}"
        streams[dataset] = stream = EncryptedStream(stack, f"{dataset}Stream", name=name, key=key)
        transform = RecordTransform(stack, f"{dataset}Transform", function_name=f"{name}-transform",
                                    code_directory=code, key=key)
        delivery = ParquetDelivery(stack, f"{dataset}Delivery", name=name, stream=stream.stream, key=key,
                                   transform=transform.function, table=table, lake=lake, zone="raw")
        StreamingAlarms(stack, f"{dataset}Alarms", name=name, stream=stream.stream, transform=transform.function,
                        delivery_stream_name=delivery.delivery_stream_name, alerts=alerts)
    cdk.Tags.of(streams["views"]).add("team", "views")
    template = Template.from_stack(stack)
    for type_, count in (("AWS::Kinesis::Stream", 3), ("AWS::Lambda::Function", 2),
                         ("AWS::KinesisFirehose::DeliveryStream", 2), ("AWS::CloudWatch::Alarm", 12)):
        template.resource_count_is(type_, count)
    tagged = template.find_resources("AWS::Kinesis::Stream", {"Properties": {
        "Tags": Match.array_with([{"Key": "team", "Value": "views"}])}})
    assert [resource["Properties"]["Name"] for resource in tagged.values()] == ["acme-views"]


# ---------------------------------------------------------------- SageMaker: image, execution, pipeline, endpoint, notebook


@dataclasses.dataclass(frozen=True)
class MlBase:
    """What the SageMaker patterns need, built with the other patterns' minimal props."""

    lake: DataLakeStorage
    key: Any
    network: IsolatedNetwork
    execution: SageMakerExecution
    image: XgboostImage

    @property
    def placement(self) -> dict[str, Any]:
        return {"security_group": self.network.workload_security_group, "subnets": self.network.subnets.subnets}


def ml_base_in(stack: cdk.Stack) -> MlBase:
    lake = lake_in(stack, "raw", "curated")
    key = key_in(stack)
    network = IsolatedNetwork(stack, "Network", name="acme-ml", cidr="10.40.0.0/16", key=key,
                              bucket_arns=[lake.bucket_arn(zone) for zone in lake.buckets])
    execution = SageMakerExecution(stack, "Execution", name_prefix="acme", lake=lake, ml_key=key, vpc=network.vpc)
    return MlBase(lake, key, network, execution, XgboostImage(stack, "XgboostImage"))


def pipeline_in(stack: cdk.Stack, base: MlBase, **props) -> TrainingPipeline:
    props = {"hyperparameters": {"num_round": "10"}, **props}
    registry = ModelPackageGroup(stack, "Registry", name="acme-models")
    return TrainingPipeline(stack, "Training", name="acme-xgboost", registry=registry, lake=base.lake,
                            ml_key=base.key, execution=base.execution, image=base.image, **base.placement, **props)


def logical_id(stack: cdk.Stack, construct) -> str:
    return stack.get_logical_id(construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child)


def state_machine_definition(template: Template) -> dict:
    """The definition with each token shown as `<Ref:X>`, `<GetAtt:X.Y>` or `<Map:X>`."""
    def marker(token: dict) -> str:
        if "Ref" in token:
            return f"<Ref:{token['Ref']}>"
        if "Fn::GetAtt" in token:
            return f"<GetAtt:{'.'.join(token['Fn::GetAtt'])}>"
        return f"<Map:{token['Fn::FindInMap'][0]}>"

    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else marker(p) for p in parts))


def test_xgboost_image_alone_is_the_deploy_regions_uri():
    stack = bare_stack()
    image = XgboostImage(stack, "XgboostImage")
    mapping_id = logical_id(stack, image.mapping)
    assert stack.resolve(image.uri) == {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "uri"]}
    images = Template.from_stack(stack).find_mappings(mapping_id)[mapping_id]
    assert images["eu-west-1"]["uri"].endswith(".dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1")


def test_sagemaker_execution_alone_is_scoped_to_the_vpc_and_key_and_guarded_by_default():
    stack = bare_stack()
    base = ml_base_in(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [
        Match.object_like({"Principal": {"Service": "sagemaker.amazonaws.com"}})]}})
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy", {"Properties": {
        "Roles": [{"Ref": logical_id(stack, base.execution.role)}]}}).values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["EncryptVolumesWithTheMlKey"]["Resource"] == get_att_arn(stack, base.key)
    vpc_arn = statements["ManageJobNetworkInterfaces"]["Condition"]["ArnEquals"]["ec2:Vpc"]["Fn::Join"][1]
    assert vpc_arn[-1] == {"Ref": logical_id(stack, base.network.vpc)}
    # The default training data prefix is the one listed and read.
    assert "training/*" in statements["ListTheirPrefixes"]["Condition"]["StringLike"]["s3:prefix"]
    # deny_jobs_outside_vpc defaults to on; the guard waits for the roles that create jobs.
    template.has_resource_properties("AWS::IAM::ManagedPolicy", {
        "Roles": Match.absent(),
        "PolicyDocument": {"Statement": [Match.object_like({
            "Effect": "Deny", "Action": Match.array_with(["sagemaker:CreateTrainingJob", "sagemaker:CreateModel"]),
            "Condition": {"Null": {"sagemaker:VpcSubnets": "true"}}})]},
    })


def test_training_pipeline_alone_trains_on_demand_isolated_and_encrypted_and_keeps_its_logs():
    stack = bare_stack()
    base = ml_base_in(stack)
    pipeline = pipeline_in(stack, base)
    template = Template.from_stack(stack)
    definition = state_machine_definition(template)
    training = definition["States"]["Train"]["Parameters"]
    key = f"<GetAtt:{logical_id(stack, base.key)}.Arn>"
    assert (training["EnableNetworkIsolation"], training["EnableInterContainerTrafficEncryption"]) == (True, True)
    assert training["VpcConfig"] == {
        "SecurityGroupIds": [f"<GetAtt:{logical_id(stack, base.network.workload_security_group)}.GroupId>"],
        "Subnets": [f"<Ref:{logical_id(stack, s)}>" for s in base.network.subnets.subnets]}
    assert training["ResourceConfig"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10,
                                          "VolumeKmsKeyId": key}
    assert training["OutputDataConfig"]["KmsKeyId"] == f"<GetAtt:{logical_id(stack, base.lake.key)}.Arn>"
    assert training["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"].endswith("/training/train/")
    assert "EnableManagedSpotTraining" not in training  # on-demand unless asked
    assert definition["TimeoutSeconds"] == (60 + 30) * 60  # training on demand, then 30 minutes to register
    # Registered for a person to approve unless asked otherwise; the role cannot approve.
    assert definition["States"]["RegisterTheModel"]["Parameters"]["ModelApprovalStatus"] == "PendingManualApproval"
    assert "ApproveTheModel" not in definition["States"]
    template.has_resource("AWS::Logs::LogGroup", {
        "Properties": {"LogGroupName": "/aws/vendedlogs/states/acme-xgboost", "RetentionInDays": 365,
                       "KmsKeyId": get_att_arn(stack, base.key)},
        "DeletionPolicy": "Retain"})
    # The execution's guard now binds the role that creates the jobs.
    template.has_resource_properties("AWS::IAM::ManagedPolicy", {
        "Roles": [{"Ref": logical_id(stack, pipeline.role)}],
        "PolicyDocument": {"Statement": [Match.object_like({"Effect": "Deny"})]}})


@pytest.mark.parametrize("props, message", [
    ({"managed_spot_training": True, "spot_max_wait_minutes": 30},
     "spot_max_wait_minutes=30 must be at least training_max_runtime_minutes=60 with spot training"),
    ({"training_input_mode": "Stream"}, "training_input_mode='Stream': use one of File, Pipe, FastFile"),
    ({"hyperparameters": {"num_round": 10}}, "give every value as a string"),
    ({"approval": "auto"}, "approval='auto': use one of automatic, manual"),
    ({"tuning": Tuning(objective_metric="validation:auc", objective_type="Maximise", ranges={})},
     "tuning: objective_type='Maximise': use Maximize or Minimize; ranges={}: give at least one"),
    ({"tuning": Tuning(objective_metric="validation:auc", objective_type="Maximize",
                       ranges={"eta": {"min": 0.1, "max": 0.5}}, max_jobs=2, max_parallel_jobs=3)},
     "max_parallel_jobs=3 must be 1..max_jobs=2"),
])
def test_training_pipeline_refuses_props_sagemaker_would_reject(props, message):
    stack = bare_stack()
    base = ml_base_in(stack)
    with pytest.raises(ValueError, match=re.escape(message)):
        pipeline_in(stack, base, **props)


def test_realtime_endpoint_alone_is_isolated_encrypted_captured_scaled_and_alarmed():
    stack = bare_stack()
    base = ml_base_in(stack)
    alerts_key = customer_managed_key(stack, "AlertsKey", alias="alias/acme-alerts", description="acme",
                                      for_alarm_topics=True)
    alerts = AlertsTopic(stack, "Alerts", name="acme-alerts", key=alerts_key)
    endpoint = RealtimeEndpoint(stack, "Hosting", name="acme-endpoint", model_artifact="s3://acme-models/model.tar.gz",
                                lake=base.lake, ml_key=base.key, execution=base.execution, image=base.image,
                                alerts=alerts, **base.placement)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SageMaker::Model", {
        "EnableNetworkIsolation": True,
        "PrimaryContainer": {"Image": Match.any_value(), "ModelDataUrl": "s3://acme-models/model.tar.gz"},
        "VpcConfig": {"SecurityGroupIds": [{"Fn::GetAtt": [logical_id(stack, base.network.workload_security_group),
                                                           "GroupId"]}],
                      "Subnets": [{"Ref": logical_id(stack, s)} for s in base.network.subnets.subnets]},
    })
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {
        "KmsKeyId": get_att_arn(stack, base.key),
        "ProductionVariants": [Match.object_like({"VariantName": "primary", "InstanceType": "ml.t2.medium",
                                                  "InitialInstanceCount": 1, "InitialVariantWeight": 1})],
        "DataCaptureConfig": Match.object_like({
            "EnableCapture": True, "InitialSamplingPercentage": 100, "KmsKeyId": get_att_arn(stack, base.lake.key),
            "DestinationS3Uri": {"Fn::Join": ["", ["s3://", {"Ref": logical_id(stack, base.lake.raw)},
                                                   "/data-capture/"]]}}),
    })
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {
        "ResourceId": "endpoint/acme-endpoint/variant/primary", "MinCapacity": 1, "MaxCapacity": 2})
    topic = {"Ref": logical_id(stack, alerts.topic)}
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    template.all_resources_properties("AWS::CloudWatch::Alarm", {"AlarmActions": [topic], "OKActions": [topic]})
    assert set(endpoint.alarms) == {"primary-5xxErrors", "primary-ModelLatency"}


def test_training_pipeline_alone_tunes_on_spot_with_the_job_definition_of_a_training_job():
    stack = bare_stack()
    base = ml_base_in(stack)
    pipeline_in(stack, base, managed_spot_training=True, approval="automatic", tuning=Tuning(
        objective_metric="validation:auc", objective_type="Maximize", ranges={"eta": {"min": 0.1, "max": 0.5}},
        max_jobs=6, max_parallel_jobs=2))
    definition = state_machine_definition(Template.from_stack(stack))
    tune = definition["States"]["Tune"]["Parameters"]
    job = tune["TrainingJobDefinition"]
    assert (job["EnableManagedSpotTraining"], job["EnableNetworkIsolation"],
            job["EnableInterContainerTrafficEncryption"]) == (True, True, True)
    assert job["CheckpointConfig"]["S3Uri"].endswith("/checkpoints/")
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert job["StaticHyperParameters"] == {"num_round": "10"}
    # Three sequential batches of two jobs, each up to the runtime and the spot wait, then 30 minutes.
    assert definition["TimeoutSeconds"] == (3 * (60 + 120) + 30) * 60
    assert definition["States"]["RegisterTheModel"]["Next"] == "ApproveTheModel"


def test_model_deploy_alone_starts_only_on_approvals_of_its_group_and_keeps_undelivered_events():
    stack = bare_stack()
    base = ml_base_in(stack)
    registry = ModelPackageGroup(stack, "Registry", name="acme-models", destroy_on_removal=True)
    deploy = ModelDeploy(stack, "Deploy", name="acme-deploy", endpoint_name="acme-endpoint", registry=registry,
                         lake=base.lake, ml_key=base.key, queue_key=base.key, execution=base.execution,
                         **base.placement)
    template = Template.from_stack(stack)
    template.has_resource("AWS::SageMaker::ModelPackageGroup", {
        "Properties": {"ModelPackageGroupName": "acme-models"}, "DeletionPolicy": "Delete"})
    template.has_resource_properties("AWS::Events::Rule", {
        "EventPattern": {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
                         "detail": {"ModelPackageGroupName": ["acme-models"], "ModelApprovalStatus": ["Approved"]}},
        "Targets": [Match.object_like({"Arn": {"Ref": logical_id(stack, deploy.state_machine)},
                                       "DeadLetterConfig": {"Arn": get_att_arn(stack, deploy.dead_letter_queue)}})]})
    template.has_resource("AWS::SQS::Queue", {"Properties": Match.object_like({
        "KmsMasterKeyId": get_att_arn(stack, base.key)}), "DeletionPolicy": "Retain"})
    definition = state_machine_definition(template)
    assert definition["StartAt"] == "NameTheDeploy"
    assert definition["States"]["CreateModel"]["Parameters"]["Containers"] == [{"ModelPackageName.$": "$.run.package"}]


def test_private_notebook_alone_has_no_internet_no_root_an_encrypted_kept_volume_and_imdsv2():
    stack = bare_stack()
    base = ml_base_in(stack)
    pipeline = pipeline_in(stack, base)
    PrivateNotebook(stack, "Notebook", name="acme-notebook", ml_key=base.key, lake=base.lake,
                    security_group=base.network.workload_security_group,
                    subnet=base.network.subnets.subnets[0], pipeline=pipeline)
    template = Template.from_stack(stack)
    template.has_resource("AWS::SageMaker::NotebookInstance", {
        "Properties": Match.object_like({
            "InstanceType": "ml.t3.medium", "DirectInternetAccess": "Disabled", "RootAccess": "Disabled",
            "KmsKeyId": {"Ref": logical_id(stack, base.key)},
            "SubnetId": {"Ref": logical_id(stack, base.network.subnets.subnets[0])},
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"}}),
        "DeletionPolicy": "Retain"})
    # It may start this pipeline and nothing else.
    template.has_resource_properties("AWS::IAM::ManagedPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Sid": "StartTraining", "Resource": Match.array_with([
            {"Ref": logical_id(stack, pipeline.state_machine)}])})])}})
