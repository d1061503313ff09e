"""Log groups: KMS-encrypted, bounded retention, retained unless told otherwise.

Usage, in any stack (the key must let CloudWatch Logs use it)::

    key = customer_managed_key(stack, "LogKey", alias="alias/acme-logs", description="acme logs",
                               for_log_groups=True)
    group = encrypted_log_group(stack, "Logs", name="/acme/app", key=key, retention_days=90)
"""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from patterns.arns import regional_arn
from patterns.keys import removal_policy

# Days -> CDK's member for every bounded retention CloudWatch Logs offers (RetentionDays.INFINITE
# is left out on purpose: logs are kept for a bounded time). jsii enums expose names, not numbers,
# hence the table; tests/test_patterns_standalone.py checks each against what CDK synthesizes.
RETENTION = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS, 5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS, 120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS, 1096: logs.RetentionDays.THREE_YEARS, 1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS, 2557: logs.RetentionDays.SEVEN_YEARS, 2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """CDK's retention for `days`, one of the periods CloudWatch Logs accepts."""
    if isinstance(days, bool) or days not in RETENTION:
        raise ValueError(f"retention_days={days!r} is not a CloudWatch Logs retention period: use one of "
                         f"{', '.join(map(str, RETENTION))}")
    return RETENTION[days]


def encrypted_log_group(
    scope: Construct, id_: str, *, key: kms.IKey, name: str | None = None, retention_days: int = 365,
    destroy_on_removal: bool = False,
) -> logs.LogGroup:
    """A log group encrypted with `key`, kept `retention_days`; deleted with the stack only when
    `destroy_on_removal` says so. `name=None` lets CloudFormation name it."""
    return logs.LogGroup(
        scope,
        id_,
        log_group_name=name,
        retention=retention(retention_days),
        encryption_key=key,
        removal_policy=removal_policy(destroy_on_removal),
    )


def log_group_arn(log_group_name: str) -> str:
    """ARN of a log group as IAM matches group-level actions (DescribeLogStreams): no trailing `:*`."""
    return regional_arn("logs", f"log-group:{log_group_name}")


def log_stream_arn(log_group_name: str, log_stream_name: str = "*") -> str:
    """ARN of streams of a log group, built from its name.

    Not `f"{group.log_group_arn}:log-stream:..."`: GetAtt LogGroup.Arn already ends in `:*`, so
    that form reads `log-group:NAME:*:log-stream:...` and matches no stream at all.
    """
    return f"{log_group_arn(log_group_name)}:log-stream:{log_stream_name}"
