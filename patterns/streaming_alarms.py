"""StreamingAlarms: the alarms of a Kinesis -> Firehose (Lambda transform, Parquet) -> S3 path, each
notifying an AlertsTopic on ALARM and on OK.

- IteratorAge: the stream's oldest unread record is older than `iterator_age_alarm_seconds`
  (Firehose is falling behind; records expire after the stream retention);
- DeliveryFreshness: data older than `data_freshness_alarm_seconds` is not yet in S3;
- DeliveryFailures, ConversionFailures: deliveries to S3 failed, records failed Parquet conversion;
- TransformErrors, TransformRejections: the transform failed, or not all its invocations succeeded.

Missing data is not breaching: an idle stream is healthy.

Usage, in any stack::

    alerts = AlertsTopic(stack, "Alerts", name="acme-alerts", key=key)
    StreamingAlarms(stack, "ClicksAlarms", name="acme-clicks", stream=stream.stream,
                    transform=transform.function, delivery_stream_name=delivery.delivery_stream_name,
                    alerts=alerts)
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from patterns.alerts import AlertsTopic

PERIOD = Duration.minutes(5)


class StreamingAlarms(Construct):
    """Six alarms named `<name>-<Alarm>`; `alarms` maps each alarm id (IteratorAge, ...) to its alarm."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        stream: kinesis.IStream,
        transform: lambda_.IFunction,
        delivery_stream_name: str,
        alerts: AlertsTopic,
        iterator_age_alarm_seconds: int = 900,
        data_freshness_alarm_seconds: int = 900,
    ) -> None:
        super().__init__(scope, id_)
        for prop, value in (("iterator_age_alarm_seconds", iterator_age_alarm_seconds),
                            ("data_freshness_alarm_seconds", data_freshness_alarm_seconds)):
            if value < 60:
                raise ValueError(f"{prop}={value!r}: use 60 seconds or more (metrics come every 5 minutes)")

        def firehose_metric(metric_name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Firehose",
                metric_name=metric_name,
                dimensions_map={"DeliveryStreamName": delivery_stream_name},
                statistic=statistic,
                period=PERIOD,
            )

        definitions = {
            "IteratorAge": (
                stream.metric_get_records_iterator_age_milliseconds(statistic="Maximum", period=PERIOD),
                iterator_age_alarm_seconds * 1000,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: the oldest unread record is older than {iterator_age_alarm_seconds} s; "
                "Firehose is falling behind and records expire after the stream retention",
            ),
            "DeliveryFreshness": (
                firehose_metric("DeliveryToS3.DataFreshness", "Maximum"),
                data_freshness_alarm_seconds,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: data older than {data_freshness_alarm_seconds} s is not yet in S3",
            ),
            "DeliveryFailures": (
                firehose_metric("DeliveryToS3.Success", "Minimum"),
                1,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                f"{name}: some deliveries to S3 failed (see the DestinationDelivery log stream)",
            ),
            "ConversionFailures": (
                firehose_metric("FailedConversion.Records", "Sum"),
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: records failed Parquet conversion and went to errors/",
            ),
            "TransformErrors": (
                transform.metric_errors(statistic="Sum", period=PERIOD),
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"{name}: the transform Lambda failed invocations (Firehose retries, then errors/)",
            ),
            "TransformRejections": (
                firehose_metric("ExecuteProcessing.Success", "Minimum"),
                1,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                f"{name}: transform invocations did not all succeed",
            ),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {
            alarm_id: alerts.notify(
                cloudwatch.Alarm(
                    self,
                    f"{alarm_id}Alarm",
                    alarm_name=f"{name}-{alarm_id}",
                    alarm_description=description,
                    metric=metric,
                    threshold=threshold,
                    comparison_operator=operator,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
            for alarm_id, (metric, threshold, operator, description) in definitions.items()
        }
