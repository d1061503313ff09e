"""The deploy-time handlers that replace CDK's unscanned providers, against moto: closing a VPC's
default security group (patterns/assets/close_default_security_group) and emptying a destroyable
lake's buckets (patterns/assets/empty_bucket)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.lambda_code import PROJECT_ROOT, load_file

REGION = "eu-west-1"
ASSETS = PROJECT_ROOT / "patterns" / "assets"


def cfn_event(request_type: str, resource_type: str, properties: dict, **extra) -> dict:
    return {"RequestType": request_type, "ResponseURL": "https://cloudformation-custom-resource-response/x",
            "StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/mlspec-sbx/1",
            "RequestId": "req-1", "LogicalResourceId": "Resource", "ResourceType": resource_type,
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", **properties}, **extra}


def run(module, event, client) -> dict:
    sent = []
    module.handler(event, None, client=lambda: client, respond=lambda url, body: sent.append((url, body)))
    assert len(sent) == 1 and sent[0][0] == event["ResponseURL"]
    body = sent[0][1]
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == \
        (event["StackId"], event["RequestId"], event["LogicalResourceId"])
    return body


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


class NoCalls:
    def __getattr__(self, name):
        raise AssertionError(f"must not call {name}")


# ---------------------------------------------------------------- default security group


@pytest.fixture
def closer():
    return load_file(ASSETS / "close_default_security_group" / "handler.py", "close_default_security_group_handler")


@pytest.fixture
def default_group(aws):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                     {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    if not group["IpPermissions"]:  # AWS lets members in; moto's default group has only the egress rule
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group["GroupId"]}]}])
    return ec2, group["GroupId"]


def rules(ec2, group_id):
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return group["IpPermissions"], group["IpPermissionsEgress"]


def test_create_revokes_every_rule_of_the_default_group(closer, default_group):
    ec2, group_id = default_group
    ingress, egress = rules(ec2, group_id)
    assert ingress and egress, "a new VPC's default group starts open (members in, anything out)"
    body = run(closer, cfn_event("Create", "Custom::DefaultSecurityGroupClosed", {"GroupId": group_id}), ec2)
    assert body["Status"] == "SUCCESS", body
    assert rules(ec2, group_id) == ([], [])
    assert body["Data"] == {"RevokedIngress": len(ingress), "RevokedEgress": len(egress)}
    assert body["PhysicalResourceId"] == f"default-security-group-closed:{group_id}"


def test_update_of_a_closed_group_succeeds_and_keeps_the_physical_id(closer, default_group):
    ec2, group_id = default_group
    created = run(closer, cfn_event("Create", "Custom::DefaultSecurityGroupClosed", {"GroupId": group_id}), ec2)
    updated = run(closer, cfn_event("Update", "Custom::DefaultSecurityGroupClosed", {"GroupId": group_id},
                                    PhysicalResourceId=created["PhysicalResourceId"]), ec2)
    assert updated["Status"] == "SUCCESS" and updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert updated["Data"] == {"RevokedIngress": 0, "RevokedEgress": 0}


def test_a_group_that_is_not_a_default_group_is_refused_untouched(closer, default_group):
    ec2, group_id = default_group
    (vpc_id,) = {g["VpcId"] for g in ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]}
    other = ec2.create_security_group(GroupName="workload", Description="x", VpcId=vpc_id)["GroupId"]
    before = rules(ec2, other)
    body = run(closer, cfn_event("Create", "Custom::DefaultSecurityGroupClosed", {"GroupId": other}), ec2)
    assert body["Status"] == "FAILED" and "not a VPC's default security group" in body["Reason"]
    assert rules(ec2, other) == before


def test_an_api_error_is_reported_not_raised(closer):
    class Broken:
        def describe_security_groups(self, **_):
            raise PermissionError("not authorized to perform ec2:DescribeSecurityGroups")

    body = run(closer, cfn_event("Create", "Custom::DefaultSecurityGroupClosed", {"GroupId": "sg-1"}), Broken())
    assert body["Status"] == "FAILED" and "ec2:DescribeSecurityGroups" in body["Reason"]


def test_a_client_that_cannot_be_made_is_still_answered(closer):
    """CloudFormation waits (up to the service timeout) for a response that a raised exception never sends."""
    def no_client():
        raise RuntimeError("no region")

    sent = []
    closer.handler(cfn_event("Create", "Custom::DefaultSecurityGroupClosed", {"GroupId": "sg-1"}), None,
                   client=no_client, respond=lambda url, body: sent.append(body))
    assert [(b["Status"], b["RequestId"], b["PhysicalResourceId"]) for b in sent] == \
        [("FAILED", "req-1", "default-security-group-closed:sg-1")]
    assert "no region" in sent[0]["Reason"]
    sent.clear()
    closer.handler(cfn_event("Delete", "Custom::DefaultSecurityGroupClosed", {"GroupId": "sg-1"},
                             PhysicalResourceId="default-security-group-closed:sg-1"), None,
                   client=no_client, respond=lambda url, body: sent.append(body))
    assert [b["Status"] for b in sent] == ["SUCCESS"]


def test_delete_leaves_the_group_alone(closer):
    body = run(closer, cfn_event("Delete", "Custom::DefaultSecurityGroupClosed", {"GroupId": "sg-1"},
                                 PhysicalResourceId="default-security-group-closed:sg-1"), NoCalls())
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "default-security-group-closed:sg-1"


# ---------------------------------------------------------------- emptying a bucket on delete

TAG = {"TagKey": "empty-on-delete", "TagValue": "true"}


@pytest.fixture
def emptier():
    return load_file(ASSETS / "empty_bucket" / "handler.py", "empty_bucket_handler")


@pytest.fixture
def s3(aws):
    return boto3.client("s3", region_name=REGION)


def versioned_bucket(s3, name: str, *, tagged: bool, objects: int = 3) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if tagged:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "empty-on-delete", "Value": "true"},
                                                               {"Key": "project", "Value": "mlspec"}]})
    for i in range(objects):
        for version in range(2):  # two versions each
            s3.put_object(Bucket=name, Key=f"raw/part-{i}.parquet", Body=f"v{version}".encode())
    s3.delete_object(Bucket=name, Key="raw/part-0.parquet")  # and a delete marker


def versions(s3, name: str) -> int:
    page = s3.list_object_versions(Bucket=name)
    return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))


def test_delete_empties_a_tagged_bucket_of_every_version_so_it_can_be_deleted(emptier, s3):
    versioned_bucket(s3, "lake-raw", tagged=True)
    assert versions(s3, "lake-raw") == 7
    body = run(emptier, cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "lake-raw", **TAG},
                                  PhysicalResourceId="empty-on-delete:lake-raw"), s3)
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "empty-on-delete:lake-raw"
    assert versions(s3, "lake-raw") == 0
    s3.delete_bucket(Bucket="lake-raw")  # what CloudFormation does next


def test_delete_leaves_an_untagged_bucket_full(emptier, s3):
    """A deployment that stops destroying its data drops the tag before this resource is removed."""
    versioned_bucket(s3, "lake-kept", tagged=False)
    body = run(emptier, cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "lake-kept", **TAG}), s3)
    assert body["Status"] == "SUCCESS"
    assert versions(s3, "lake-kept") == 7


def test_more_than_one_delete_request_of_objects(emptier, s3, monkeypatch):
    monkeypatch.setattr(emptier, "BATCH", 2)
    versioned_bucket(s3, "lake-big", tagged=True, objects=5)
    body = run(emptier, cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "lake-big", **TAG}), s3)
    assert body["Status"] == "SUCCESS" and versions(s3, "lake-big") == 0


def test_a_bucket_already_gone_is_success(emptier, s3):
    body = run(emptier, cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "never-made", **TAG}), s3)
    assert body["Status"] == "SUCCESS"


def test_a_failed_deletion_is_reported_not_raised(emptier, s3):
    versioned_bucket(s3, "lake-locked", tagged=True)

    class Refusing:
        def __getattr__(self, name):
            return getattr(s3, name)

        def delete_objects(self, Bucket, Delete):  # noqa: N803 - boto3's argument names
            return {"Errors": [{"Key": o["Key"], "Code": "AccessDenied", "Message": "denied"} for o in Delete["Objects"]]}

    body = run(emptier, cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "lake-locked", **TAG}),
               Refusing())
    assert body["Status"] == "FAILED" and "AccessDenied" in body["Reason"]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_touch_nothing(emptier, request_type):
    body = run(emptier, cfn_event(request_type, "Custom::EmptyBucketOnDelete", {"BucketName": "lake-raw", **TAG}),
               NoCalls())
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "empty-on-delete:lake-raw"


class Deadline:
    """A Lambda context whose remaining time runs out after `calls` looks."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def get_remaining_time_in_millis(self) -> int:
        self.calls -= 1
        return 900_000 if self.calls >= 0 else 1_000


def test_listing_restarts_after_each_batch_until_the_bucket_is_empty(emptier, s3, monkeypatch):
    """Pages of two versions (MaxKeys): every round lists from the start, so nothing is skipped."""
    monkeypatch.setattr(emptier, "BATCH", 2)
    versioned_bucket(s3, "lake-paged", tagged=True, objects=6)
    calls = []
    real = s3.list_object_versions

    class Counting:
        def __getattr__(self, name):
            return getattr(s3, name)

        def list_object_versions(self, **kwargs):
            calls.append(kwargs)
            return real(**kwargs)

    body = run(emptier, cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "lake-paged", **TAG}),
               Counting())
    assert body["Status"] == "SUCCESS" and versions(s3, "lake-paged") == 0
    assert len(calls) == 8 and all(set(c) == {"Bucket", "MaxKeys"} for c in calls)  # 13 versions: 7 rounds + empty


def test_running_out_of_time_is_reported_before_lambda_stops(emptier, s3, monkeypatch):
    monkeypatch.setattr(emptier, "BATCH", 2)
    versioned_bucket(s3, "lake-slow", tagged=True, objects=6)
    sent = []
    emptier.handler(cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "lake-slow", **TAG},
                              PhysicalResourceId="empty-on-delete:lake-slow"), Deadline(calls=2),
                    client=lambda: s3, respond=lambda url, body: sent.append(body))
    assert [(b["Status"], b["PhysicalResourceId"]) for b in sent] == [("FAILED", "empty-on-delete:lake-slow")]
    assert "4 object versions deleted, more remain" in sent[0]["Reason"]
    assert versions(s3, "lake-slow") == 13 - 4


def test_an_emptier_without_a_client_still_answers(emptier):
    def no_client():
        raise RuntimeError("no credentials")

    sent = []
    emptier.handler(cfn_event("Delete", "Custom::EmptyBucketOnDelete", {"BucketName": "lake-raw", **TAG}), None,
                    client=no_client, respond=lambda url, body: sent.append(body))
    assert [(b["Status"], b["PhysicalResourceId"]) for b in sent] == [("FAILED", "empty-on-delete:lake-raw")]
