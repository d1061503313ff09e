"""Empty buckets when their stack deletes them (S3 deletes only empty buckets), for destroyable data.

One `DeployTimeFunction` (this project's reviewed handler, not CDK's `auto_delete_objects` provider,
which template scanners flag and the in-app checks cannot see) and one `Custom::EmptyBucketOnDelete`
per bucket. The handler empties only a bucket still tagged EMPTY_ON_DELETE_TAG, so turning
destruction off (which removes the tag before the resources) never empties a retained bucket.

Usage, in the construct that owns the buckets (their names must be known at synth)::

    emptiers = empty_on_delete(self, name="acme-empty-buckets", what="a lake bucket",
                               buckets={"Raw": (raw_bucket, "acme-raw-123456789012-eu-west-1")}, key=key,
                               wildcard_reason="It deletes every object of the lake's own buckets ...",
                               log_retention_days=14)
    emptiers["Raw"]  # the custom resource, to order deletions after it
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Aws, CustomResource, Duration, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from patterns.compliance import finding_reference
from patterns.deploy_time_function import DeployTimeFunction

EMPTY_BUCKET_SOURCE = Path(__file__).resolve().parent / "assets" / "empty_bucket"
EMPTY_ON_DELETE_TAG = "empty-on-delete"  # on every bucket to empty; the handler checks it


def empty_on_delete(scope: Construct, *, name: str, what: str, buckets: Mapping[str, tuple[s3.IBucket, str]],
                    key: kms.IKey, wildcard_reason: str, log_retention_days: int) -> dict[str, CustomResource]:
    """Tag each of `buckets` (id -> (bucket, its literal name)) and empty it when the stack deletes it.

    Children of `scope`: the function `EmptyOnDelete` and a custom resource `<id>EmptyOnDelete` per
    bucket. `key` must let CloudWatch Logs use it (the function's log group)."""
    arns = [f"arn:{Aws.PARTITION}:s3:::{bucket_name}" for _, bucket_name in buckets.values()]
    emptier = DeployTimeFunction(
        scope, "EmptyOnDelete", name=name,
        description=f"Custom resource: empty {what} (every version) when the stack deletes it",
        source=EMPTY_BUCKET_SOURCE, key=key, timeout=Duration.minutes(15),
        statements=[
            iam.PolicyStatement(actions=["s3:GetBucketTagging", "s3:ListBucketVersions"], resources=arns),
            iam.PolicyStatement(actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                                resources=[f"{arn}/*" for arn in arns]),
        ],
        wildcard_findings=[f"AwsSolutions-IAM5[Resource::{finding_reference(scope, f'{arn}/*')}]" for arn in arns],
        wildcard_reason=wildcard_reason, log_retention_days=log_retention_days, destroy_on_removal=True,
    )
    emptiers = {}
    for id_, (bucket, _) in buckets.items():
        Tags.of(bucket).add(EMPTY_ON_DELETE_TAG, "true")
        emptiers[id_] = CustomResource(
            scope, f"{id_}EmptyOnDelete", service_token=emptier.function.function_arn,
            resource_type="Custom::EmptyBucketOnDelete", service_timeout=Duration.minutes(20),
            properties={"BucketName": bucket.bucket_name, "TagKey": EMPTY_ON_DELETE_TAG, "TagValue": "true"})
    return emptiers
