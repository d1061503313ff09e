"""CloudFormation custom resource: remove every rule of a VPC's default security group.

A new VPC's default security group lets its members talk to each other and send anywhere. Nothing
in the isolated network uses it, and CloudFormation cannot remove those rules, so this handler
revokes them at deploy time (what CDK's `restrict_default_security_group` does with a provider that
template scanners flag; this one is an ordinary, reviewed Lambda function):

  ResourceProperties: {"GroupId": "sg-..."}   (the VPC's DefaultSecurityGroup attribute)
  Data returned:      {"RevokedIngress": n, "RevokedEgress": n}

Create and Update close the group (idempotent: a closed group is left as it is); Delete leaves it
closed (the VPC and its default group are being deleted, or no longer need watching). Plain Python
and boto3; every outcome, errors included, is reported back to CloudFormation.
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


def close(ec2: Any, group_id: str) -> tuple[int, int]:
    """Revoke every ingress and egress rule of `group_id`; the numbers of rules revoked."""
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    if group.get("GroupName") != "default":
        raise ValueError(f"{group_id} is {group.get('GroupName')!r}, not a VPC's default security group")
    ingress, egress = group.get("IpPermissions", []), group.get("IpPermissionsEgress", [])
    if ingress:
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
    if egress:
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=egress)
    return len(ingress), len(egress)


def send_response(url: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(data))})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - CloudFormation's presigned URL
        response.read()


def handle(event: dict[str, Any], ec2: Any) -> dict[str, Any]:
    """The response body for CloudFormation (no I/O besides the EC2 calls)."""
    group_id = event.get("ResourceProperties", {}).get("GroupId", "")
    body = {
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "PhysicalResourceId": f"default-security-group-closed:{group_id}",
    }
    if event["RequestType"] == "Delete":
        return {**body, "PhysicalResourceId": event.get("PhysicalResourceId") or body["PhysicalResourceId"],
                "Status": "SUCCESS"}
    try:
        ingress, egress = close(ec2, group_id)
    except Exception as error:  # noqa: BLE001 - any failure must reach CloudFormation, not a log only
        return {**body, "Status": "FAILED", "Reason": f"{type(error).__name__}: {error}"[:1000]}
    return {**body, "Status": "SUCCESS", "Data": {"RevokedIngress": ingress, "RevokedEgress": egress}}


def handler(event: dict[str, Any], _context: Any, *,
            client: Callable[[], Any] = lambda: boto3.client("ec2", config=EC2_CONFIG),
            respond: Callable[[str, dict[str, Any]], None] = send_response) -> None:
    try:
        # Delete calls nothing: it must not fail for want of a client.
        body = handle(event, client() if event.get("RequestType") != "Delete" else None)
    except Exception as error:  # noqa: BLE001 - even a malformed event or a client that cannot be made gets an answer
        group_id = event.get("ResourceProperties", {}).get("GroupId", "")
        body = {"StackId": event.get("StackId"), "RequestId": event.get("RequestId"),
                "LogicalResourceId": event.get("LogicalResourceId"),
                "PhysicalResourceId": event.get("PhysicalResourceId") or f"default-security-group-closed:{group_id}",
                "Status": "FAILED", "Reason": f"{type(error).__name__}: {error}"[:1000]}
    print(json.dumps(body))
    respond(event["ResponseURL"], body)
