"""The prefix-list lookup (IsolatedNetwork's custom resource, patterns/assets/prefix_list_lookup), against
moto's EC2 (which holds the regional AWS-managed lists)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.lambda_code import PROJECT_ROOT, load_file

REGION = "eu-west-1"


def cfn_event(request_type: str, name: str = f"com.amazonaws.{REGION}.s3", **extra) -> dict:
    return {"RequestType": request_type, "ResponseURL": "https://cloudformation-custom-resource-response/x",
            "StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/mlspec-sbx-ml-network/1",
            "RequestId": "req-1", "LogicalResourceId": "S3PrefixList", "ResourceType": "Custom::PrefixListLookup",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "PrefixListName": name}, **extra}


@pytest.fixture
def ec2(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


@pytest.fixture
def module():
    return load_file(PROJECT_ROOT / "patterns" / "assets" / "prefix_list_lookup" / "handler.py",
                     "prefix_list_lookup_handler")


def run(module, event, ec2) -> dict:
    sent = []
    module.handler(event, None, client=lambda: ec2, respond=lambda url, body: sent.append((url, body)))
    assert len(sent) == 1 and sent[0][0] == event["ResponseURL"]
    return sent[0][1]


def test_create_returns_the_regional_s3_list(module, ec2):
    expected = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.s3"]}])["PrefixLists"][0]
    body = run(module, cfn_event("Create"), ec2)
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"PrefixListId": expected["PrefixListId"]}
    assert body["Data"]["PrefixListId"].startswith("pl-")
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == \
        ("arn:aws:cloudformation:eu-west-1:111122223333:stack/mlspec-sbx-ml-network/1", "req-1", "S3PrefixList")


def test_update_keeps_the_physical_id(module, ec2):
    created = run(module, cfn_event("Create"), ec2)
    updated = run(module, cfn_event("Update", PhysicalResourceId=created["PhysicalResourceId"]), ec2)
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert updated["Data"] == created["Data"]


def test_an_unknown_name_fails_the_resource_with_the_reason(module, ec2):
    body = run(module, cfn_event("Create", name="com.amazonaws.eu-west-1.nothing"), ec2)
    assert body["Status"] == "FAILED"
    assert "expected one managed prefix list named 'com.amazonaws.eu-west-1.nothing', found 0" in body["Reason"]


def test_an_api_error_is_reported_not_raised(module):
    class Broken:
        def describe_managed_prefix_lists(self, **_):
            raise PermissionError("not authorized to perform ec2:DescribeManagedPrefixLists")

    body = run(module, cfn_event("Create"), Broken())
    assert body["Status"] == "FAILED" and "ec2:DescribeManagedPrefixLists" in body["Reason"]


def test_delete_succeeds_without_calling_ec2(module):
    class NoCalls:
        def __getattr__(self, name):
            raise AssertionError(f"delete must not call {name}")

    body = run(module, cfn_event("Delete", PhysicalResourceId="prefix-list-lookup:x"), NoCalls())
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "prefix-list-lookup:x"


def test_the_response_is_a_put_of_the_json_body(module, monkeypatch):
    captured = {}

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def read(self):
            return b""

    def fake_urlopen(request, timeout):
        captured.update(method=request.get_method(), url=request.full_url, data=request.data, timeout=timeout,
                        content_type=request.get_header("Content-type"))
        return Response()

    monkeypatch.setattr(module.urllib.request, "urlopen", fake_urlopen)
    module.send_response("https://example.invalid/presigned", {"Status": "SUCCESS"})
    assert captured == {"method": "PUT", "url": "https://example.invalid/presigned", "data": b'{"Status": "SUCCESS"}',
                        "timeout": 30, "content_type": ""}


def test_ec2_calls_give_up_well_before_the_function_timeout(module):
    """A hung call must still leave time to answer CloudFormation: 3 tries x (5 s + 10 s) < 60 s."""
    config = module.EC2_CONFIG
    assert config.retries["max_attempts"] * (config.connect_timeout + config.read_timeout) < 60
