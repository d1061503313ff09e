"""Log groups: KMS-encrypted, bounded retention, removal tied to the settings."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from config.settings import LOG_RETENTION_DAYS
from patterns.keys import removal_policy

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
assert tuple(RETENTION) == LOG_RETENTION_DAYS, "settings and CDK retention periods disagree"


def encrypted_log_group(
    scope: Construct, id_: str, *, name: str | None, key: kms.IKey, retention_days: int, destroy_on_removal: bool
) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        id_,
        log_group_name=name,
        retention=RETENTION[retention_days],
        encryption_key=key,
        removal_policy=removal_policy(destroy_on_removal),
    )


def log_group_arn(log_group_name: str) -> str:
    """ARN of a log group as IAM matches group-level actions (DescribeLogStreams): no trailing `:*`."""
    return f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{log_group_name}"


def log_stream_arn(log_group_name: str, log_stream_name: str = "*") -> str:
    """ARN of streams of a log group, built from its name.

    Not `f"{group.log_group_arn}:log-stream:..."`: GetAtt LogGroup.Arn already ends in `:*`, so
    that form reads `log-group:NAME:*:log-stream:...` and matches no stream at all.
    """
    return f"{log_group_arn(log_group_name)}:log-stream:{log_stream_name}"
