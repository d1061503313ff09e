"""CloudFormation custom resource: empty a bucket (every version) when its stack deletes it.

S3 deletes only empty buckets. For a throwaway deployment (`destroy_on_removal`), one of these
resources per bucket deletes every object version and delete marker when CloudFormation deletes
the resource, just before the bucket itself (what CDK's `auto_delete_objects` does with a provider
that template scanners flag; this one is an ordinary, reviewed Lambda function):

  ResourceProperties: {"BucketName": "...", "TagKey": "...", "TagValue": "true"}

Create and Update do nothing. Delete empties the bucket only if it still carries the tag
`TagKey=TagValue`: a deployment that stops destroying its data removes the tag from the bucket
before CloudFormation removes this resource, so a retained bucket is never emptied. A bucket that
no longer exists is already gone. Plain Python and boto3; every outcome, errors included, is
reported back to CloudFormation.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

S3_CONFIG = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"})
BATCH = 1000  # DeleteObjects takes at most 1000 keys per request
STOP_BEFORE_TIMEOUT_MS = 60_000  # time kept to report to CloudFormation (S3 calls time out after 65 s)


def tagged(s3: Any, bucket: str, key: str, value: str) -> bool:
    try:
        tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchTagSet":
            return False
        raise
    return {"Key": key, "Value": value} in tags


def empty(s3: Any, bucket: str, time_left_ms: Callable[[], int] = lambda: 10**9) -> int:
    """Delete every object version and delete marker of `bucket`; how many were deleted.

    Lists from the start again after each batch (what it listed is gone), instead of paginating
    with markers that name versions it has just deleted. Stops with an error while there is still
    time to tell CloudFormation (`time_left_ms`: the invocation's remaining time), rather than being
    cut off by the Lambda timeout and leaving the stack waiting for a response that never comes."""
    deleted = 0
    while True:
        if time_left_ms() < STOP_BEFORE_TIMEOUT_MS:
            raise TimeoutError(f"{bucket}: {deleted} object versions deleted, more remain; delete the stack again")
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=BATCH)
        versions = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if not versions:
            return deleted
        errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": versions, "Quiet": True}).get("Errors", [])
        if errors:
            first = errors[0]
            raise RuntimeError(f"{len(errors)} objects of {bucket} not deleted, e.g. {first['Key']}: "
                               f"{first.get('Code')} {first.get('Message')}")
        deleted += len(versions)


def send_response(url: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(data))})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - CloudFormation's presigned URL
        response.read()


def handle(event: dict[str, Any], s3: Any, time_left_ms: Callable[[], int] = lambda: 10**9) -> dict[str, Any]:
    """The response body for CloudFormation (no I/O besides the S3 calls)."""
    properties = event.get("ResourceProperties", {})
    bucket = properties.get("BucketName", "")
    body = {
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"empty-on-delete:{bucket}",
        "Status": "SUCCESS",
    }
    if event["RequestType"] != "Delete":
        return {**body, "PhysicalResourceId": f"empty-on-delete:{bucket}"}
    try:
        if tagged(s3, bucket, properties.get("TagKey", ""), properties.get("TagValue", "")):
            print(json.dumps({"bucket": bucket, "deleted": empty(s3, bucket, time_left_ms)}))
        else:
            print(json.dumps({"bucket": bucket, "deleted": 0, "why": "not tagged for emptying: retained"}))
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchBucket":
            return {**body, "Status": "FAILED", "Reason": f"ClientError: {error}"[:1000]}
    except Exception as error:  # noqa: BLE001 - any failure must reach CloudFormation, not a log only
        return {**body, "Status": "FAILED", "Reason": f"{type(error).__name__}: {error}"[:1000]}
    return body


def handler(event: dict[str, Any], context: Any, *,
            client: Callable[[], Any] = lambda: boto3.client("s3", config=S3_CONFIG),
            respond: Callable[[str, dict[str, Any]], None] = send_response) -> None:
    try:
        time_left_ms = context.get_remaining_time_in_millis if context is not None else (lambda: 10**9)
        body = handle(event, client(), time_left_ms)
    except Exception as error:  # noqa: BLE001 - even a malformed event or a client that cannot be made gets an answer
        body = {"StackId": event.get("StackId"), "RequestId": event.get("RequestId"),
                "LogicalResourceId": event.get("LogicalResourceId"),
                "PhysicalResourceId": event.get("PhysicalResourceId")
                or f"empty-on-delete:{event.get('ResourceProperties', {}).get('BucketName', '')}",
                "Status": "FAILED", "Reason": f"{type(error).__name__}: {error}"[:1000]}
    print(json.dumps(body))
    respond(event["ResponseURL"], body)
