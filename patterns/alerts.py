"""AlertsTopic: the encrypted SNS topic every alarm of the app notifies.

Usage, in any stack::

    key = customer_managed_key(stack, "AlertsKey", alias="alias/acme-alerts", description="acme alerts",
                               for_alarm_topics=True)
    alerts = AlertsTopic(stack, "Alerts", name="acme-alerts", key=key, email="oncall@example.com")
    alerts.notify(cloudwatch.Alarm(stack, "Errors", metric=errors, threshold=1, evaluation_periods=1))
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge
from patterns.keys import removal_policy


class AlertsTopic(Construct):
    """SNS topic encrypted with `key` (which must allow CloudWatch alarms and SNS), TLS-only
    publishing, and an optional e-mail subscription whose undeliverable notifications are kept
    in an encrypted dead-letter queue."""

    def __init__(self, scope: Construct, id_: str, *, name: str, key: kms.IKey, email: str | None = None,
                 destroy_on_removal: bool = False) -> None:
        super().__init__(scope, id_)
        self.topic = sns.Topic(self, "Topic", topic_name=name, display_name=name, master_key=key, enforce_ssl=True)
        # The topic policy replaces SNS's default one, so the alarms of this account must be let in
        # explicitly, or every alarm action fails with "not authorized to perform: SNS:Publish".
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowAlarmsOfThisAccount",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[self.topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                        "ArnLike": {"aws:SourceArn": regional_arn("cloudwatch", "alarm:*")}},
        ))
        self.dead_letter_queue: sqs.Queue | None = None
        if email is not None:
            self.dead_letter_queue = sqs.Queue(
                self,
                "UndeliveredAlerts",
                queue_name=f"{name}-undelivered",
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=key,
                enforce_ssl=True,
                retention_period=Duration.days(14),
                removal_policy=removal_policy(destroy_on_removal),
            )
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letter_queue)
            )
            acknowledge(
                self.dead_letter_queue,
                ["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"],
                "This queue is itself the dead-letter queue of the e-mail subscription (the SNS "
                "subscription's RedrivePolicy points here, which cdk-nag does not trace); a "
                "dead-letter queue for it would only move the same undelivered alerts again.",
            )
        self._action = cloudwatch_actions.SnsAction(self.topic)

    def notify(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        """Send both the ALARM and the OK transition of `alarm` to the topic."""
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        return alarm
