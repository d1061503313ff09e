"""CloudFormation custom resource: the ID of an AWS-managed prefix list, looked up by name.

The isolated VPC's workload security group may send HTTPS only to S3 (through the gateway
endpoint). Security groups name S3 by its managed prefix list, whose ID differs per region and
cannot be read from a template, so this handler looks it up at deploy time:

  ResourceProperties: {"PrefixListName": "com.amazonaws.<region>.s3"}
  Data returned:      {"PrefixListId": "pl-..."}

Plain Python and boto3 (in the Lambda runtime); every outcome, errors included, is reported back
to CloudFormation, so a stack never waits an hour for a response that will not come.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

# Short timeouts and few retries, so a hung EC2 call still leaves time (the function has 60 s) to
# send CloudFormation a FAILED response instead of letting the stack wait an hour for one.
EC2_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


def lookup(ec2: Any, name: str) -> str:
    lists = ec2.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [name]}])["PrefixLists"]
    if len(lists) != 1:
        raise LookupError(f"expected one managed prefix list named {name!r}, found {len(lists)}")
    return lists[0]["PrefixListId"]


def send_response(url: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(data))})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - CloudFormation's presigned URL
        response.read()


def handle(event: dict[str, Any], ec2: Any) -> dict[str, Any]:
    """The response body for CloudFormation (no I/O besides the lookup)."""
    name = event.get("ResourceProperties", {}).get("PrefixListName", "")
    body = {
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        # Stable: an update that looks up the same name keeps the same physical resource.
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"prefix-list-lookup:{name}",
    }
    if event["RequestType"] == "Delete":  # nothing was created
        return {**body, "Status": "SUCCESS"}
    try:
        prefix_list_id = lookup(ec2, name)
    except Exception as error:  # noqa: BLE001 - any failure must reach CloudFormation, not a log only
        return {**body, "Status": "FAILED", "Reason": f"{type(error).__name__}: {error}"[:1000]}
    return {**body, "Status": "SUCCESS", "PhysicalResourceId": f"prefix-list-lookup:{name}",
            "Data": {"PrefixListId": prefix_list_id}}


def handler(event: dict[str, Any], _context: Any, *,
            client: Callable[[], Any] = lambda: boto3.client("ec2", config=EC2_CONFIG),
            respond: Callable[[str, dict[str, Any]], None] = send_response) -> None:
    body = handle(event, client())
    print(json.dumps({k: v for k, v in body.items() if k != "Data"}))
    respond(event["ResponseURL"], body)
