"""EncryptedStream: a Kinesis data stream encrypted with a customer-managed key, and the managed
policy its producers need (put records, use the key through Kinesis, nothing else).

Usage, in any stack::

    key = customer_managed_key(stack, "StreamKey", alias="alias/acme-clicks", description="acme clicks")
    clicks = EncryptedStream(stack, "Clicks", name="acme-clicks", key=key)  # on demand, 24 h retention
    producer_role.add_managed_policy(clicks.producer_policy)
"""

from __future__ import annotations

from typing import Literal

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from constructs import Construct

from patterns.compliance import acknowledge
from patterns.keys import removal_policy

CAPACITY_MODES = {"PROVISIONED": kinesis.StreamMode.PROVISIONED, "ON_DEMAND": kinesis.StreamMode.ON_DEMAND}
RETENTION_HOURS = (24, 8760)  # what Kinesis accepts: 24 hours to 365 days
MAX_SHARDS = 500


class EncryptedStream(Construct):
    """Stream `name` encrypted with `key`, kept `retention_hours`, on demand unless
    `capacity_mode="PROVISIONED"` with `shard_count` shards; retained when the stack is deleted
    unless `destroy_on_removal`. `producer_policy` (`<name>-producer`) is what producers attach;
    `stream` and `key` are what a consumer such as ParquetDelivery reads with."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        key: kms.IKey,
        capacity_mode: Literal["PROVISIONED", "ON_DEMAND"] = "ON_DEMAND",
        shard_count: int | None = None,
        retention_hours: int = 24,
        destroy_on_removal: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        _check(capacity_mode, shard_count, retention_hours)
        self.key = key
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_name=name,
            stream_mode=CAPACITY_MODES[capacity_mode],
            shard_count=shard_count,
            retention_period=Duration.hours(retention_hours),
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=key,
            removal_policy=removal_policy(destroy_on_removal),
        )
        acknowledge(
            self.stream,
            ["AwsSolutions-KDS3"],
            "A customer-managed key is required here: its key policy, rotation and CloudTrail "
            "record are ours to control, and the same key encrypts the stream's logs and alerts. "
            "The rule only prefers aws/kinesis to save the $1/month key fee.",
        )
        self.producer_policy = iam.ManagedPolicy(
            self, "ProducerPolicy", managed_policy_name=f"{name}-producer",
            description=f"Attach to producers of {name}: put records into the stream, nothing else",
            statements=[
                iam.PolicyStatement(sid="PutRecords", actions=["kinesis:PutRecord", "kinesis:PutRecords",
                                                               "kinesis:DescribeStreamSummary", "kinesis:ListShards"],
                                    resources=[self.stream.stream_arn]),
                # Kinesis encrypts each record with the stream key on the producer's behalf.
                iam.PolicyStatement(
                    sid="EncryptThroughKinesis", actions=["kms:GenerateDataKey"], resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"kinesis.{Aws.REGION}.amazonaws.com"}},
                ),
            ],
        )


def _check(capacity_mode: str, shard_count: int | None, retention_hours: int) -> None:
    if capacity_mode not in CAPACITY_MODES:
        raise ValueError(f"capacity_mode={capacity_mode!r}: use one of {', '.join(CAPACITY_MODES)}")
    if capacity_mode == "PROVISIONED" and not (isinstance(shard_count, int) and 1 <= shard_count <= MAX_SHARDS):
        raise ValueError(f"shard_count={shard_count!r}: a PROVISIONED stream needs 1 to {MAX_SHARDS} shards")
    if capacity_mode == "ON_DEMAND" and shard_count is not None:
        raise ValueError(f"shard_count={shard_count!r}: leave it None with ON_DEMAND (Kinesis sizes the stream)")
    low, high = RETENTION_HOURS
    if not low <= retention_hours <= high:
        raise ValueError(f"retention_hours={retention_hours!r}: Kinesis keeps records {low} to {high} hours")
