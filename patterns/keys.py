"""Customer-managed KMS keys: rotation on, deletion window tied to the removal setting.

Usage, in any stack::

    key = customer_managed_key(stack, "Key", alias="alias/acme-data", description="acme: data at rest",
                               for_log_groups=True)
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from patterns.arns import regional_arn


def removal_policy(destroy_on_removal: bool) -> RemovalPolicy:
    return RemovalPolicy.DESTROY if destroy_on_removal else RemovalPolicy.RETAIN


def customer_managed_key(
    scope: Construct,
    id_: str,
    *,
    alias: str,
    description: str,
    destroy_on_removal: bool = False,
    for_log_groups: bool = False,
    for_alarm_topics: bool = False,
) -> kms.Key:
    """A rotated CMK, retained with a 30-day deletion window unless `destroy_on_removal` (then
    deleted with the stack, after 7 days). `for_log_groups` lets CloudWatch Logs of this account
    and region use it; `for_alarm_topics` lets CloudWatch alarms publish to SNS topics encrypted
    with it, and SNS deliver to dead-letter queues encrypted with it."""
    key = kms.Key(
        scope,
        id_,
        alias=alias,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy(destroy_on_removal),
        # A torn-down sandbox should not leave a billable key for a month.
        pending_window=Duration.days(7 if destroy_on_removal else 30),
    )
    if for_log_groups:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn":
                            regional_arn("logs", "log-group:*")
                    }
                },
            )
        )
    if for_alarm_topics:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsAndNotificationsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com"), iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
    return key
