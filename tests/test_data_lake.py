"""The data lake stack, property by property, for the defaults of both profiles and for overrides."""

from __future__ import annotations

import datetime

import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from config.aws_limits import ACCOUNT_ID_LENGTH, BUCKET_NAME_MAX, LONGEST_REGION_NAME
from config.settings import MAX_NAME_PREFIX, ZONE_NAMES
from patterns.data_lake import dataset_prefix
from tests.conftest import CUSTOM_OVERRIDES

STACK = "DataLake"

def template(synth) -> Template:
    """The data lake template for aws_cdk.assertions, built once per synth."""
    return synth.assertions(STACK)


def buckets(synth) -> dict[str, dict]:
    return synth.resources(STACK, "AWS::S3::Bucket")


def bucket_name(synth, purpose: str) -> dict:
    """`<prefix>-<purpose>-<account>-<region>`, as the template should write it."""
    return {"Fn::Join": ["", [f"{synth.built.settings.name_prefix}-{purpose}-", {"Ref": "AWS::AccountId"}, "-",
                              {"Ref": "AWS::Region"}]]}


def named_bucket(synth, purpose: str) -> tuple[str, dict]:
    """(logical id, resource) of the one bucket named for `purpose` (a zone or "access-logs")."""
    found = template(synth).find_resources("AWS::S3::Bucket", {"Properties": {"BucketName": bucket_name(synth, purpose)}})
    assert len(found) == 1, f"expected one bucket named {purpose}, got {list(found)}"
    return next(iter(found.items()))


def zone_bucket(synth, zone: str) -> tuple[str, dict]:
    return named_bucket(synth, zone)


def access_log_bucket(synth) -> tuple[str, dict]:
    return named_bucket(synth, "access-logs")


def policy_statements(synth, bucket_logical_id: str) -> list[dict]:
    (policy,) = template(synth).find_resources("AWS::S3::BucketPolicy", {
        "Properties": {"Bucket": {"Ref": bucket_logical_id}}}).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def key_logical_id(synth) -> str:
    return synth.only(STACK, "AWS::KMS::Key")[0]


def objects_of(bucket_logical_id: str) -> dict:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_logical_id, "Arn"]}, "/*"]]}


def expected_lifecycle_rule(zone: str, lifecycle, abort_days: int) -> dict:
    """The CloudFormation rule the settings should produce, written independently of the pattern."""
    rule = {
        "Id": f"{zone}-tiering",
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": abort_days},
        "NoncurrentVersionExpiration": {"NoncurrentDays": lifecycle.noncurrent_versions_expire_after_days},
    }
    transitions = []
    if lifecycle.infrequent_access_after_days is not None:
        transitions.append({"StorageClass": "STANDARD_IA", "TransitionInDays": lifecycle.infrequent_access_after_days})
    if lifecycle.archive_after_days is not None:
        transitions.append({"StorageClass": lifecycle.archive_storage_class,
                            "TransitionInDays": lifecycle.archive_after_days})
    if transitions:
        rule["Transitions"] = transitions
    if lifecycle.expire_after_days is not None:
        rule["ExpirationInDays"] = lifecycle.expire_after_days
    return rule


# ---------------------------------------------------------------- key


def test_one_customer_managed_key_with_rotation_and_alias(each_profile):
    keys = each_profile.resources(STACK, "AWS::KMS::Key")
    assert len(keys) == 1
    (key,) = keys.values()
    assert key["Properties"]["EnableKeyRotation"] is True
    aliases = each_profile.resources(STACK, "AWS::KMS::Alias")
    assert [a["Properties"]["AliasName"] for a in aliases.values()] == [
        f"alias/{each_profile.built.settings.name_prefix}-lake"
    ]


def test_key_deletion_window_is_short_only_where_data_may_be_destroyed(sandbox, prod):
    template(sandbox).has_resource_properties("AWS::KMS::Key", {"PendingWindowInDays": 7})
    template(prod).has_resource_properties("AWS::KMS::Key", {"PendingWindowInDays": 30})


# ---------------------------------------------------------------- zone buckets


def test_exactly_the_zone_buckets_and_one_log_bucket(each_profile):
    assert len(buckets(each_profile)) == len(ZONE_NAMES) + 1
    for zone in ZONE_NAMES:
        zone_bucket(each_profile, zone)
    access_log_bucket(each_profile)


@pytest.mark.parametrize("zone", ZONE_NAMES)
def test_zone_bucket_is_sse_kms_with_bucket_key_and_the_lake_key(each_profile, zone):
    _, bucket = zone_bucket(each_profile, zone)
    assert bucket["Properties"]["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "KMSMasterKeyID": {"Fn::GetAtt": [key_logical_id(each_profile), "Arn"]},
                    "SSEAlgorithm": "aws:kms",
                },
            }
        ]
    }


@pytest.mark.parametrize("zone", ZONE_NAMES)
def test_zone_bucket_name_is_prefix_zone_account_region(each_profile, zone):
    prefix = each_profile.built.settings.name_prefix
    template(each_profile).has_resource_properties("AWS::S3::Bucket", {"BucketName": {
        "Fn::Join": ["", [f"{prefix}-{zone}-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]}})


def test_the_longest_allowed_name_prefix_fits_every_bucket_name_of_the_lake(sandbox):
    """The settings cap name_prefix; every name part the lake builds must still fit S3's 63 characters."""
    prefix = sandbox.built.settings.name_prefix
    purposes = [b["Properties"]["BucketName"]["Fn::Join"][1][0].removeprefix(f"{prefix}-").removesuffix("-")
                for b in buckets(sandbox).values()]
    assert sorted(purposes) == sorted([*ZONE_NAMES, "access-logs"])
    longest = max(len(f"{'p' * MAX_NAME_PREFIX}-{purpose}-{'1' * ACCOUNT_ID_LENGTH}-{'r' * LONGEST_REGION_NAME}")
                  for purpose in purposes)
    assert longest <= BUCKET_NAME_MAX


def test_every_bucket_blocks_public_access_disables_acls_and_is_versioned(each_profile):
    for logical_id, bucket in buckets(each_profile).items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}, logical_id
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id


def test_every_bucket_denies_plain_http_and_tls_below_1_2(each_profile):
    for logical_id in buckets(each_profile):
        deny = {"Action": "s3:*", "Effect": "Deny", "Principal": {"AWS": "*"},
                "Resource": [{"Fn::GetAtt": [logical_id, "Arn"]}, objects_of(logical_id)]}
        template(each_profile).has_resource_properties("AWS::S3::BucketPolicy", {
            "Bucket": {"Ref": logical_id},
            "PolicyDocument": {"Statement": Match.array_with([
                Match.exact({**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                Match.exact({**deny, "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}}}),
            ])},
        })


@pytest.mark.parametrize("zone", ZONE_NAMES)
def test_zone_bucket_denies_uploads_asking_for_other_encryption(each_profile, zone):
    logical_id, _ = zone_bucket(each_profile, zone)
    denies = {s["Sid"]: s for s in policy_statements(each_profile, logical_id) if "Sid" in s}
    deny = {"Action": "s3:PutObject", "Effect": "Deny", "Principal": {"AWS": "*"}, "Resource": objects_of(logical_id)}
    assert denies == {
        "DenyUploadsNotUsingSseKms": {
            **deny, "Sid": "DenyUploadsNotUsingSseKms",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                          "Null": {"s3:x-amz-server-side-encryption": "false"}},
        },
        "DenyUploadsUsingAnotherKmsKey": {
            **deny, "Sid": "DenyUploadsUsingAnotherKmsKey",
            "Condition": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id":
                                    {"Fn::GetAtt": [key_logical_id(each_profile), "Arn"]}},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            },
        },
        "DenyUploadsUsingSseC": {
            **deny, "Sid": "DenyUploadsUsingSseC",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
        },
    }


@pytest.mark.parametrize("zone", ZONE_NAMES)
def test_zone_bucket_logs_to_the_access_log_bucket_under_its_zone(each_profile, zone):
    _, bucket = zone_bucket(each_profile, zone)
    log_bucket_id, _ = access_log_bucket(each_profile)
    assert bucket["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_bucket_id}, "LogFilePrefix": f"{zone}/"
    }


@pytest.mark.parametrize("fixture", ["sandbox", "prod", "custom"])
@pytest.mark.parametrize("zone", ZONE_NAMES)
def test_zone_lifecycle_follows_the_settings(request, fixture, zone):
    synth = request.getfixturevalue(fixture)
    lake = synth.built.settings.data_lake
    _, bucket = zone_bucket(synth, zone)
    assert bucket["Properties"]["LifecycleConfiguration"] == {
        "Rules": [expected_lifecycle_rule(zone, lake.zones[zone], lake.abort_incomplete_multipart_upload_after_days)]
    }


def test_sandbox_lifecycle_defaults_tier_standard_ia_then_glacier_ir(sandbox):
    """The documented defaults, spelled out, so a change to the profile is a visible decision."""
    rules = {zone: zone_bucket(sandbox, zone)[1]["Properties"]["LifecycleConfiguration"]["Rules"][0]
             for zone in ZONE_NAMES}
    assert rules["raw"]["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
                                           {"StorageClass": "GLACIER_IR", "TransitionInDays": 90}]
    assert rules["raw"]["ExpirationInDays"] == 365
    assert rules["curated"]["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 90},
                                               {"StorageClass": "GLACIER_IR", "TransitionInDays": 180}]
    assert "ExpirationInDays" not in rules["curated"]
    assert "Transitions" not in rules["results"] and rules["results"]["ExpirationInDays"] == 30


def test_overrides_reach_the_template(custom):
    """Every overridden value in CUSTOM_OVERRIDES shows up (non-default archive classes included)."""
    raw = zone_bucket(custom, "raw")[1]["Properties"]  # named acme-ml-raw-...
    assert raw["LifecycleConfiguration"]["Rules"][0]["Transitions"] == [
        {"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": 0}]
    assert raw["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 400
    curated = zone_bucket(custom, "curated")[1]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert curated["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 45},
                                      {"StorageClass": "GLACIER", "TransitionInDays": 75}]
    assert curated["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert curated["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    logs = access_log_bucket(custom)[1]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert logs["ExpirationInDays"] == CUSTOM_OVERRIDES["data_lake"]["access_logs_expire_after_days"]


# ---------------------------------------------------------------- access-log bucket


def test_access_log_bucket_is_sse_s3_and_expires_its_objects(each_profile):
    _, bucket = access_log_bucket(each_profile)
    props = bucket["Properties"]
    assert props["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert "LoggingConfiguration" not in props
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == each_profile.built.settings.data_lake.access_logs_expire_after_days
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


def test_access_log_bucket_accepts_log_delivery_only_from_the_lake_buckets_of_this_account(each_profile):
    log_bucket_id, _ = access_log_bucket(each_profile)
    grants = [s for s in policy_statements(each_profile, log_bucket_id)
              if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}]
    sources = sorted(g["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0] for g in grants)
    assert sources == sorted(zone_bucket(each_profile, zone)[0] for zone in ZONE_NAMES)
    for grant in grants:
        assert grant["Action"] == "s3:PutObject" and grant["Effect"] == "Allow"
        assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


# ---------------------------------------------------------------- removal, outputs, typed properties


def test_sandbox_empties_and_deletes_its_buckets_because_its_settings_say_so(sandbox):
    assert sandbox.built.settings.destroy_data_on_removal is True
    for logical_id, bucket in buckets(sandbox).items():
        assert bucket["DeletionPolicy"] == "Delete", logical_id
    emptied = sandbox.resources(STACK, "Custom::EmptyBucketOnDelete")
    assert sorted(r["Properties"]["BucketName"]["Ref"] for r in emptied.values()) == sorted(buckets(sandbox))
    (function_id,) = sandbox.resources(STACK, "AWS::Lambda::Function")
    for logical_id, resource in emptied.items():
        assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}, logical_id
        # The handler empties only a bucket that still carries this tag (see its tests).
        tag = {"Key": resource["Properties"]["TagKey"], "Value": resource["Properties"]["TagValue"]}
        assert tag in buckets(sandbox)[resource["Properties"]["BucketName"]["Ref"]]["Properties"]["Tags"]
    assert sandbox.resources(STACK, "Custom::S3AutoDeleteObjects") == {}  # CDK's provider, unscanned in-app


@pytest.mark.parametrize("fixture", ["prod", "custom"])
def test_retain_when_not_told_to_destroy_even_in_the_sandbox_profile(request, fixture):
    synth = request.getfixturevalue(fixture)
    assert synth.built.settings.destroy_data_on_removal is False
    for logical_id, resource in {**buckets(synth), **synth.resources(STACK, "AWS::KMS::Key")}.items():
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain"), logical_id
    assert synth.resources(STACK, "Custom::EmptyBucketOnDelete") == {}
    assert synth.resources(STACK, "AWS::Lambda::Function") == {}


def test_prod_stacks_have_termination_protection(sandbox, prod):
    assert all(stack.termination_protection for stack in prod.built.stacks.values())
    assert not any(stack.termination_protection for stack in sandbox.built.stacks.values())


def test_outputs_give_the_key_arn_and_every_bucket_name(each_profile):
    outputs = template(each_profile)
    outputs.has_output("LakeKeyArn", {"Value": {"Fn::GetAtt": [key_logical_id(each_profile), "Arn"]}})
    for zone in ZONE_NAMES:
        outputs.has_output(f"{zone.capitalize()}BucketName", {"Value": {"Ref": zone_bucket(each_profile, zone)[0]}})
    outputs.has_output("AccessLogBucketName", {"Value": {"Ref": access_log_bucket(each_profile)[0]}})


def test_typed_properties_for_the_later_stacks(sandbox):
    lake = sandbox.built.stacks[STACK].lake
    assert {zone: isinstance(bucket, s3.Bucket) for zone, bucket in lake.buckets.items()} == dict.fromkeys(
        ZONE_NAMES, True)
    assert (lake.raw, lake.curated, lake.results) == (lake.buckets["raw"], lake.buckets["curated"],
                                                      lake.buckets["results"])
    assert lake.raw.encryption_key is lake.key
    with pytest.raises(KeyError, match="zone='bronze' is unknown: zones are raw, curated, results"):
        lake.zone("bronze")


def test_tags_from_the_settings_reach_the_resources(each_profile):
    _, bucket = zone_bucket(each_profile, "raw")
    tags = {t["Key"]: t["Value"] for t in bucket["Properties"]["Tags"]}
    assert dict(each_profile.built.settings.tags).items() <= tags.items()


# ---------------------------------------------------------------- dataset layout


def test_dataset_layout_is_hive_partitioned_by_day():
    assert dataset_prefix("clickstream") == "clickstream/"
    assert dataset_prefix("clickstream", datetime.date(2026, 3, 7)) == "clickstream/year=2026/month=03/day=07/"


@pytest.mark.parametrize("bad", ["", "a/b", "year=2026"])
def test_dataset_names_that_would_break_the_layout_are_refused(bad):
    with pytest.raises(ValueError, match="dataset="):
        dataset_prefix(bad)
