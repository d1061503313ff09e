"""ModelMonitor: a data-quality baseline and an hourly (or daily) monitoring schedule for an endpoint
that Step Functions creates, set up each time the endpoint goes in service.

The endpoint does not exist at deploy time (the training pipeline creates it) and
CreateMonitoringSchedule needs it, so an EventBridge rule on "SageMaker Endpoint State Change"
(`EndpointStatus` IN_SERVICE, this endpoint's name only) starts a "monitor setup" state machine:

    name the run -> baseline (a processing job with the Model Monitor analyzer over the
    features-only baseline CSV: in the VPC, network-isolated, inter-container traffic encrypted,
    volume and output KMS) -> describe the schedule -> update it, or create it when it is missing.

The schedule's jobs run the same analyzer, with the same network and keys, over the endpoint's
captured requests, and publish one drift metric per feature (`feature_baseline_drift_<feature>`,
namespace `aws/sagemaker/Endpoints/data-metrics`, dimensions Endpoint and MonitoringSchedule). An
alarm on the largest of them, one on failed setups and one on undelivered triggers notify the
alerts topic. The baseline CSV has no header, like the requests the endpoint receives, so the
analyzer names the columns `_c0`, `_c1`, ... in both; `features` gives their meaning, in order.

Usage, in any stack (`lake`, `ml_key`, `network`, `execution` as in patterns/sagemaker_execution.py,
the execution built with `monitoring=True`, `alerts` an AlertsTopic)::

    monitor = ModelMonitor(
        stack, "Monitor", name="acme-monitor", endpoint_name="acme-endpoint",
        features=("temperature_c", "humidity_pct", "battery_pct"), lake=lake, ml_key=ml_key,
        execution=execution, security_group=network.workload_security_group,
        subnets=network.subnets.subnets, alerts=alerts, schedule_expression="cron(0 * ? * * *)",
    )
    monitor.state_machine  # started by monitor.rule; start it by hand to rebuild the baseline
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from patterns.alerts import AlertsTopic
from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.keys import customer_managed_key, removal_policy
from patterns.model_monitor_image import ModelMonitorImage
from patterns.roles import service_role
from patterns.sagemaker_execution import SageMakerExecution
from patterns.sagemaker_lake import BASELINE_INPUT_FOLDER, MONITORING_PREFIX
from patterns.sagemaker_steps import (
    deliver_logs_and_traces,
    pass_execution_role,
    sagemaker_state_machine,
    sagemaker_task,
    wait_for_sagemaker_jobs,
)
from patterns.training_pipeline import SDK_TRANSIENT_ERRORS, TRANSIENT_ERRORS, run_name_stem, sagemaker_arn

METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
IN_SERVICE = "IN_SERVICE"  # EventBridge's spelling; DescribeEndpoint says InService
# What Model Monitor accepts: hourly, daily at an hour, or every N hours from an hour (UTC).
SCHEDULE = re.compile(r"cron\(0 (?:\*|(\d{1,2})(?:/(\d{1,2}))?) \? \* \* \*\)")
BASELINE_INPUT = "/opt/ml/processing/input/baseline_dataset_input"
ENDPOINT_INPUT = "/opt/ml/processing/input/endpoint"
OUTPUT = "/opt/ml/processing/output"
# A missing schedule, as the AWS SDK integration names it: Step Functions uses the Java SDK's
# exception class (ResourceNotFoundException) for SageMaker's ResourceNotFound error code.
SCHEDULE_NOT_FOUND = ["SageMaker.ResourceNotFoundException", "SageMaker.ResourceNotFound"]


def schedule_hours(schedule_expression: str) -> int:
    """Hours between two runs of a Model Monitor schedule (24 for a daily one)."""
    match = SCHEDULE.fullmatch(schedule_expression)
    start, step = match.groups() if match else (None, None)
    if not match or (start is not None and int(start) > 23) or (step is not None and not 1 <= int(step) <= 24):
        raise ValueError(f"schedule_expression={schedule_expression!r}: use cron(0 * ? * * *) (hourly), "
                         "cron(0 H ? * * *) (daily at hour H, 0..23) or cron(0 H/N ? * * *) (every N hours, 1..24)")
    return 1 if start is None else 24 if step is None else int(step)


class ModelMonitor(Construct):
    """EventBridge (endpoint IN_SERVICE) -> Step Functions: baseline (processing job in the VPC,
    isolated, encrypted) -> create or update the data-quality monitoring schedule; drift alarm."""

    def __init__(self, scope: Construct, id_: str, *, name: str, endpoint_name: str, features: Sequence[str],
                 lake: DataLakeStorage, ml_key: kms.IKey, execution: SageMakerExecution,
                 security_group: ec2.ISecurityGroup, subnets: Sequence[ec2.ISubnet], alerts: AlertsTopic,
                 schedule_expression: str = "cron(0 * ? * * *)", instance_type: str = "ml.m5.large",
                 volume_gb: int = 20, max_runtime_minutes: int = 30, drift_alarm_threshold: float = 0.1,
                 log_retention_days: int = 365, destroy_on_removal: bool = False) -> None:
        """`name`: the state machine's name and the stem of the baseline jobs' names.
        `endpoint_name`: the endpoint to monitor (it must capture its requests). `features`: the
        names of the CSV columns the endpoint receives, in order. The baseline reads
        `<training data prefix>baseline/` of the curated zone (features only, no header, the
        endpoint's column order) and writes `monitoring/baselines/<endpoint>/`; the schedule's
        reports go to `monitoring/reports/<endpoint>/`. `max_runtime_minutes` bounds every job
        and must fit between two runs. The drift alarm fires when a feature's drift exceeds
        `drift_alarm_threshold` (a distance between distributions, 0..1)."""
        super().__init__(scope, id_)
        hours = schedule_hours(schedule_expression)
        if not 1 <= max_runtime_minutes <= min(60, hours * 60):
            raise ValueError(f"max_runtime_minutes={max_runtime_minutes}: use 1..60, so a run ends before the next")
        if not features:
            raise ValueError("features=(): name the endpoint's input columns, in order")
        if not 0 < drift_alarm_threshold <= 1:
            raise ValueError(f"drift_alarm_threshold={drift_alarm_threshold}: use a distance in (0, 1]")
        self.endpoint_name = endpoint_name
        self.schedule_name = f"{endpoint_name}-data-quality"
        self.run_name_stem = run_name_stem(name)
        self.image = ModelMonitorImage(self, "Image")
        curated = f"s3://{lake.curated.bucket_name}"
        self.baseline_input = f"{curated}/{execution.training_data_prefix}{BASELINE_INPUT_FOLDER}"
        self.baseline_output = f"{curated}/{MONITORING_PREFIX}baselines/{endpoint_name}"
        self.reports_output = f"{curated}/{MONITORING_PREFIX}reports/{endpoint_name}"
        network = {"VpcConfig": {"SecurityGroupIds": [security_group.security_group_id],
                                 "Subnets": [s.subnet_id for s in subnets]},
                   "EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True}
        cluster = {"InstanceCount": 1, "InstanceType": instance_type, "VolumeSizeInGB": volume_gb,
                   "VolumeKmsKeyId": ml_key.key_arn}
        stopping = {"MaxRuntimeInSeconds": max_runtime_minutes * 60}

        # The analyzer's own interface (what the SageMaker SDK's suggest_baseline sends it).
        self.baseline_parameters: dict[str, Any] = {
            "ProcessingJobName.$": "$.run.name",
            "RoleArn": execution.role.role_arn,
            "AppSpecification": {"ImageUri": self.image.uri},
            "Environment": {"dataset_format": json.dumps({"csv": {"header": False}}),
                            "dataset_source": BASELINE_INPUT, "output_path": OUTPUT,
                            "publish_cloudwatch_metrics": "Disabled"},
            "ProcessingInputs": [{"InputName": "baseline_dataset_input", "S3Input": {
                "S3Uri": self.baseline_input, "LocalPath": BASELINE_INPUT, "S3DataType": "S3Prefix",
                "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}],
            "ProcessingOutputConfig": {"KmsKeyId": lake.key.key_arn, "Outputs": [{
                "OutputName": "monitoring_output", "S3Output": {
                    "S3Uri": self.baseline_output, "LocalPath": OUTPUT, "S3UploadMode": "EndOfJob"}}]},
            "ProcessingResources": {"ClusterConfig": cluster},
            "StoppingCondition": stopping,
            "NetworkConfig": network,
        }
        # An inline job definition: UpdateMonitoringSchedule replaces it whole, whereas a
        # DataQualityJobDefinition cannot be updated (only deleted and recreated under another name).
        self.schedule_parameters: dict[str, Any] = {
            "MonitoringScheduleName": self.schedule_name,
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": schedule_expression},
                "MonitoringType": "DataQuality",
                "MonitoringJobDefinition": {
                    "BaselineConfig": {
                        "ConstraintsResource": {"S3Uri": f"{self.baseline_output}/constraints.json"},
                        "StatisticsResource": {"S3Uri": f"{self.baseline_output}/statistics.json"}},
                    "MonitoringInputs": [{"EndpointInput": {
                        "EndpointName": endpoint_name, "LocalPath": ENDPOINT_INPUT, "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated"}}],
                    "MonitoringOutputConfig": {"KmsKeyId": lake.key.key_arn, "MonitoringOutputs": [{"S3Output": {
                        "S3Uri": self.reports_output, "LocalPath": OUTPUT, "S3UploadMode": "EndOfJob"}}]},
                    "MonitoringResources": {"ClusterConfig": cluster},
                    "MonitoringAppSpecification": {"ImageUri": self.image.uri},
                    "StoppingCondition": stopping,
                    "Environment": {"publish_cloudwatch_metrics": "Enabled"},
                    "NetworkConfig": network,
                    "RoleArn": execution.role.role_arn,
                },
            },
        }

        fail = sfn.Fail(self, "Failed", cause_path="$.error.Cause", error_path="$.error.Error")
        name_run = sfn.Pass(self, "NameTheBaseline", result_path="$.run", parameters={
            "name.$": f"States.Format('{self.run_name_stem}-{{}}', States.UUID())"})
        baseline = self._task("Baseline", "sagemaker:createProcessingJob.sync", self.baseline_parameters,
                              "$.baseline", TRANSIENT_ERRORS)
        baseline.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        find = self._task("FindSchedule", "aws-sdk:sagemaker:describeMonitoringSchedule",
                          {"MonitoringScheduleName": self.schedule_name}, "$.existing", SDK_TRANSIENT_ERRORS)
        create = self._task("CreateSchedule", "aws-sdk:sagemaker:createMonitoringSchedule",
                            self.schedule_parameters, "$.schedule", SDK_TRANSIENT_ERRORS)
        update = self._task("UpdateSchedule", "aws-sdk:sagemaker:updateMonitoringSchedule",
                            self.schedule_parameters, "$.schedule", SDK_TRANSIENT_ERRORS)
        # First deploy: no schedule yet -> create it; later deploys: update it (new baseline, settings).
        find.add_catch(create, errors=SCHEDULE_NOT_FOUND, result_path="$.existing")
        find.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        # SageMaker may send several IN_SERVICE events for one change: two setups can both find no
        # schedule, and the second CreateMonitoringSchedule is refused (ResourceInUse). A refused
        # create looks again: the schedule the other setup created is updated with this baseline;
        # still no schedule fails the setup with CreateMonitoringSchedule's error.
        look_again = self._task("FindScheduleAgain", "aws-sdk:sagemaker:describeMonitoringSchedule",
                                {"MonitoringScheduleName": self.schedule_name}, "$.existing", SDK_TRANSIENT_ERRORS)
        look_again.add_catch(fail, errors=["States.ALL"], result_path="$.notFound")
        look_again.next(update)
        create.add_catch(look_again, errors=["States.ALL"], result_path="$.error")
        update.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        create.next(sfn.Succeed(self, "ScheduleCreated"))
        update.next(sfn.Succeed(self, "ScheduleUpdated"))
        definition = name_run.next(baseline).next(find).next(update)

        self.role, self.policy = self._role(name, execution, ml_key, lake.key)
        self.state_machine = sagemaker_state_machine(
            self, name=name, definition=definition, role=self.role, policy=self.policy,
            timeout=Duration.minutes(max_runtime_minutes + 30),  # the baseline's limit, and time to start it
            execution=execution, key=ml_key, log_retention_days=log_retention_days,
            destroy_on_removal=destroy_on_removal)
        self._trigger(name, endpoint_name, destroy_on_removal)
        self._alarms(name, features, alerts, hours, drift_alarm_threshold)

    def _task(self, id_: str, action: str, parameters: dict[str, Any], result_path: str,
              retry_on: Sequence[str]) -> sfn.CustomState:
        return sagemaker_task(self, id_, action, parameters, result_path, retry_on=retry_on)

    def _role(self, name: str, execution: SageMakerExecution, ml_key: kms.IKey,
              lake_key: kms.IKey) -> tuple[iam.Role, iam.ManagedPolicy]:
        jobs = sagemaker_arn(f"processing-job/{self.run_name_stem}-*")
        schedule = sagemaker_arn(f"monitoring-schedule/{self.schedule_name}")
        via_sagemaker = {"kms:ViaService": f"sagemaker.{Aws.REGION}.amazonaws.com"}
        role, policy = service_role(
            self, "StateMachine", service="states.amazonaws.com",
            description=f"{name}: baseline and monitoring schedule of {self.endpoint_name}",
            statements=[
                iam.PolicyStatement(sid="RunTheBaseline", actions=[
                    "sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob", "sagemaker:AddTags", "sagemaker:ListTags"], resources=[jobs]),
                iam.PolicyStatement(sid="CreateOrUpdateTheSchedule", actions=[
                    "sagemaker:DescribeMonitoringSchedule", "sagemaker:CreateMonitoringSchedule",
                    "sagemaker:UpdateMonitoringSchedule", "sagemaker:AddTags", "sagemaker:ListTags"],
                    resources=[schedule]),
                # SageMaker checks the keys the requests name (volumes: ML key; output: lake key).
                iam.PolicyStatement(sid="DescribeTheKeysThroughSageMaker", actions=["kms:DescribeKey"],
                                    resources=[ml_key.key_arn, lake_key.key_arn],
                                    conditions={"StringEquals": via_sagemaker}),
                pass_execution_role(execution.role),
                wait_for_sagemaker_jobs("Processing"),
                deliver_logs_and_traces(),
            ],
        )
        acknowledge(
            policy, [f"AwsSolutions-IAM5[Resource::{finding_reference(self, jobs)}]", "AwsSolutions-IAM5[Resource::*]"],
            "Each setup names its baseline processing job with a UUID generated at run time, so the grant "
            "covers this monitor's name stem only (the schedule is named exactly); CloudWatch Logs delivery "
            "and X-Ray actions support no resource-level permissions.",
        )
        return role, policy

    def _trigger(self, name: str, endpoint_name: str, destroy_on_removal: bool) -> None:
        rule_name = f"{name}-endpoint-in-service"
        # Built from the name, not the rule's token: the key and queue must exist before the rule.
        rule_arn = regional_arn("events", f"rule/{rule_name}")
        key = customer_managed_key(self, "EventsKey", alias=f"alias/{name}-events",
                                   description=f"{name}: undelivered setup triggers",
                                   destroy_on_removal=destroy_on_removal)
        key.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowTheTriggerRuleToEncryptUndeliveredEvents",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=["*"],
            conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
        ))
        self.dead_letter_queue = sqs.Queue(
            self, "UndeliveredTriggers", queue_name=f"{name}-undelivered-triggers",
            encryption=sqs.QueueEncryption.KMS, encryption_master_key=key, enforce_ssl=True,
            retention_period=Duration.days(14), removal_policy=removal_policy(destroy_on_removal),
        )
        acknowledge(
            self.dead_letter_queue, ["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"],
            "This queue is itself the dead-letter queue of the setup trigger (the EventBridge target's "
            "DeadLetterConfig points here); a dead-letter queue for it would only move the same events again.",
        )
        trigger_role, trigger_policy = service_role(
            self, "Trigger", service="events.amazonaws.com",
            description=f"{name}: start the monitor setup when {endpoint_name} is in service",
            statements=[iam.PolicyStatement(sid="StartTheSetup", actions=["states:StartExecution"],
                                            resources=[self.state_machine.state_machine_arn])],
            trust_conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
        )
        self.trigger_role = trigger_role
        self.rule = events.Rule(
            self, "EndpointInService", rule_name=rule_name,
            description=f"{endpoint_name} is in service: rebuild its baseline and monitoring schedule",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"], detail_type=[ENDPOINT_STATE_CHANGE],
                detail={"EndpointName": [endpoint_name], "EndpointStatus": [IN_SERVICE]}),
            # The role's permission is its managed policy: CDK would add an inline one otherwise.
            targets=[targets.SfnStateMachine(self.state_machine, role=trigger_role.without_policy_updates(),
                                             dead_letter_queue=self.dead_letter_queue, retry_attempts=8,
                                             max_event_age=Duration.hours(2))],
        )
        self.rule.node.add_dependency(trigger_policy)

    def _alarms(self, name: str, features: Sequence[str], alerts: AlertsTopic, hours: int,
                threshold: float) -> None:
        period = Duration.hours(hours)
        dimensions = {"Endpoint": self.endpoint_name, "MonitoringSchedule": self.schedule_name}
        # Header-less CSV: the analyzer names the columns _c0, _c1, ... (the baseline's and the requests').
        self.drift_metrics = {
            f"drift{i}": cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=f"feature_baseline_drift__c{i}",
                                           dimensions_map=dimensions, statistic="Maximum", period=period,
                                           label=feature)
            for i, feature in enumerate(features)}
        largest = cloudwatch.MathExpression(expression=f"MAX([{', '.join(self.drift_metrics)}])",
                                            using_metrics=self.drift_metrics, period=period,
                                            label="largest feature drift")
        # A run publishes once per interval; no data means no run with captured requests (no traffic,
        # or a failed job), which says nothing about drift: keep the last state.
        self.drift_alarm = alerts.notify(cloudwatch.Alarm(
            self, "DriftAlarm", alarm_name=f"{name}-feature-drift", metric=largest, threshold=threshold,
            evaluation_periods=1, comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            alarm_description=f"A feature of {self.endpoint_name}'s requests ({', '.join(features)}) drifted more "
                              f"than {threshold} from the baseline; see the reports under monitoring/reports/.",
        ))
        self.setup_failed_alarm = alerts.notify(cloudwatch.Alarm(
            self, "SetupFailedAlarm", alarm_name=f"{name}-setup-failed",
            metric=self.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"), threshold=1,
            evaluation_periods=1, comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # no execution, no failure
            alarm_description=f"The baseline or schedule setup of {self.endpoint_name} failed: the endpoint is "
                              "not monitored with its current model (see the execution's error).",
        ))
        self.undelivered_alarm = alerts.notify(cloudwatch.Alarm(
            self, "UndeliveredTriggerAlarm", alarm_name=f"{name}-undelivered-trigger",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"),
            threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"EventBridge could not start the monitor setup of {self.endpoint_name}: start "
                              "the state machine by hand, then purge the queue.",
        ))
