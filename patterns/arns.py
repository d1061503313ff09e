"""ARNs of resources in the deploying stack's own account and region, built from pseudo parameters
so the stacks stay environment-agnostic."""

from __future__ import annotations

from aws_cdk import Aws


def regional_arn(service: str, resource: str) -> str:
    """`arn:<partition>:<service>:<region>:<account>:<resource>`, e.g. regional_arn("glue", "catalog")."""
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"
