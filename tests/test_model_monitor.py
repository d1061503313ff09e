"""Model Monitor on the pipeline endpoint (prod turns it on, the sandbox leaves it off).

The setup state machine is walked with tests/asl.py on scripted SageMaker answers; the trigger's
event pattern is matched by moto's EventBridge against events shaped like SageMaker's; the jobs'
network, keys and image are followed to what the network and lake stacks export.
"""

from __future__ import annotations

import json
import re

import pytest

from config.aws_limits import monitor_schedule_hours
from patterns import model_monitor
from patterns.dataset_schema import load_schema
from patterns.model_monitor_image import REGISTRIES, REPOSITORY
from scripts import costs
from stacks.sensor_dataset import MODEL_FEATURES, SCHEMA_FILE
from tests import asl
from tests.test_sagemaker import STACK, exported_marker, marker, network_subnets, statements_by_sid, template

ENDPOINT = "mlspec-prod-pipeline-endpoint"
SCHEDULE = f"{ENDPOINT}-data-quality"


def machine(synth) -> tuple[str, dict]:
    (found,) = template(synth).find_resources("AWS::StepFunctions::StateMachine", {"Properties": {
        "StateMachineName": f"{synth.built.settings.name_prefix}-monitor"}}).items()
    return found


def definition(synth) -> dict:
    parts = machine(synth)[1]["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else marker(synth, p) for p in parts))


def policy_of_role(synth, role_id: str) -> dict:
    (policy,) = [p for p in synth.resources(STACK, "AWS::IAM::ManagedPolicy").values()
                 if {"Ref": role_id} in p["Properties"].get("Roles", [])
                 and any(s.get("Sid") != "DenySageMakerResourcesOutsideAVpc"
                         for s in p["Properties"]["PolicyDocument"]["Statement"])]
    return statements_by_sid(policy)


# ---------------------------------------------------------------- the switch and the image


def monitor_rules(synth) -> list[dict]:
    """The rules that react to endpoint state changes (the deploy's rule reacts to approvals)."""
    return [rule for rule in synth.resources(STACK, "AWS::Events::Rule").values()
            if rule["Properties"]["EventPattern"]["detail-type"] == ["SageMaker Endpoint State Change"]]


def machine_names(synth) -> list[str]:
    return [m["Properties"]["StateMachineName"] for m in synth.resources(STACK, "AWS::StepFunctions::StateMachine").values()]


def test_the_sandbox_has_no_monitor_and_its_execution_role_no_monitoring_access(sandbox, prod):
    assert not sandbox.built.settings.sagemaker.model_monitor.enabled
    assert monitor_rules(sandbox) == []
    assert not [name for name in machine_names(sandbox) if name.endswith("-monitor")]
    assert "MonitoringScheduleName" not in sandbox.templates[STACK]["Outputs"]
    executions = [p for p in sandbox.resources(STACK, "AWS::IAM::ManagedPolicy").values()
                  if "WriteModelsCheckpointsAndCapture" in json.dumps(p)]
    assert executions and "ReadAndWriteBaselinesAndReports" not in json.dumps(executions)
    assert prod.built.settings.sagemaker.model_monitor.enabled
    assert len(monitor_rules(prod)) == 1


def test_the_analyzer_registries_are_the_sagemaker_sdks():
    from sagemaker.core import image_uris

    sdk = image_uris.config_for_framework("model-monitor")["versions"][""]["registries"]
    assert REGISTRIES == {region: account for region, account in sdk.items() if not region.startswith("us-iso")}
    for region in ("us-east-1", "eu-west-1", "cn-north-1"):
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        assert image_uris.retrieve(framework="model-monitor", region=region) == \
            f"{REGISTRIES[region]}.dkr.ecr.{region}.{suffix}/{REPOSITORY}"


def test_the_model_features_are_numeric_columns_of_the_dataset_and_not_its_label():
    columns = {c.name: c for c in load_schema(SCHEMA_FILE).columns}
    assert all(columns[f].type in ("double", "int", "bigint") for f in MODEL_FEATURES)
    assert "status" not in MODEL_FEATURES  # the label (deploy guide step 5)


@pytest.mark.parametrize("expression, hours", [
    ("cron(0 * ? * * *)", 1), ("cron(0 0 ? * * *)", 24), ("cron(0 12 ? * * *)", 24), ("cron(0 17/12 ? * * *)", 12),
    ("cron(0 0/2 ? * * *)", 2), ("cron(0 24 ? * * *)", None), ("cron(0 0/0 ? * * *)", None),
    ("cron(5 * ? * * *)", None), ("cron(0 */2 ? * * *)", None), ("rate(1 hour)", None)])
def test_the_pattern_and_the_settings_accept_the_same_schedules(expression, hours):
    """The forms of the ScheduleConfig API reference; the pattern cannot import the settings' check."""
    assert monitor_schedule_hours(expression) == hours
    if hours is None:
        with pytest.raises(ValueError, match="schedule_expression"):
            model_monitor.schedule_hours(expression)
    else:
        assert model_monitor.schedule_hours(expression) == hours


# ---------------------------------------------------------------- the trigger


def sagemaker_event(endpoint: str, status: str) -> dict:
    """An endpoint state change as SageMaker sends it (EventBridge documentation's example)."""
    return {
        "version": "0", "id": "2ab2d6e8-2c4e-4a1b-9c5e-0f1d2e3c4b5a", "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "eu-west-1",
        "resources": [f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{endpoint}"],
        "detail": {"EndpointName": endpoint, "EndpointArn": f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{endpoint}",
                   "EndpointConfigName": "mlspec-prod-xgboost-0f1e2d3c", "ProductionVariants": [
                       {"DesiredWeight": 1.0, "DesiredInstanceCount": 2.0}],
                   "EndpointStatus": status, "CreationTime": 1795253400250.0, "LastModifiedTime": 1795253400250.0,
                   "Tags": {}},
    }


def test_the_rule_starts_the_setup_only_when_this_endpoint_goes_in_service(prod):
    from moto.events.models import EventPattern  # moto's EventBridge matcher: an independent reading

    (rule,) = monitor_rules(prod)
    pattern = EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))
    assert pattern.matches_event(sagemaker_event(ENDPOINT, "IN_SERVICE"))
    assert not pattern.matches_event(sagemaker_event("mlspec-prod-hosted-endpoint", "IN_SERVICE"))
    assert not pattern.matches_event(sagemaker_event(ENDPOINT, "UPDATING"))
    assert not pattern.matches_event(sagemaker_event(ENDPOINT, "InService"))  # DescribeEndpoint's spelling, not the event's
    assert not pattern.matches_event({**sagemaker_event(ENDPOINT, "IN_SERVICE"), "source": "my.app"})


def test_the_trigger_may_only_start_the_setup_and_keeps_what_it_cannot_deliver(prod):
    (rule,) = monitor_rules(prod)
    (target,) = rule["Properties"]["Targets"]
    setup_id, _ = machine(prod)
    assert target["Arn"] == {"Ref": setup_id}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    assert policy_of_role(prod, role_id) == {"StartTheSetup": {
        "Sid": "StartTheSetup", "Effect": "Allow", "Action": "states:StartExecution", "Resource": {"Ref": setup_id}}}
    assert not [p for p in prod.resources(STACK, "AWS::IAM::Policy").values()]  # nothing inline
    (queue_id, queue), = [(i, q) for i, q in prod.resources(STACK, "AWS::SQS::Queue").items()
                          if q["Properties"].get("QueueName") == "mlspec-prod-monitor-undelivered-triggers"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    key_id = queue["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_policy = prod.resources(STACK, "AWS::KMS::Key")[key_id]["Properties"]["KeyPolicy"]["Statement"]
    (events_statement,) = [s for s in key_policy if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert "ArnEquals" in events_statement["Condition"]


# ---------------------------------------------------------------- the setup state machine


class FakeSageMaker:
    """Answers the setup's tasks: the baseline job's outcome, and whether the schedule exists."""

    def __init__(self, *, baseline_fails: bool = False, schedule_exists: bool = False,
                 describe_error: str = "SageMaker.ResourceNotFoundException",
                 create_refused_because_created_by_another: bool | None = None) -> None:
        self.baseline_fails, self.schedule_exists, self.describe_error = baseline_fails, schedule_exists, describe_error
        self.create_refused = create_refused_because_created_by_another
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, name: str, parameters: dict):
        self.calls.append((name, parameters))
        if name == "Baseline":
            if self.baseline_fails:
                raise asl.TaskError("States.TaskFailed", "ClientError: no data in the baseline input")
            return {"ProcessingJobStatus": "Completed"}
        if name == "CreateSchedule" and self.create_refused is not None:
            self.schedule_exists = self.create_refused  # True: a concurrent setup created it meanwhile
            raise asl.TaskError("SageMaker.ResourceInUseException", f"Monitoring schedule {SCHEDULE} already exists")
        if name in ("FindSchedule", "FindScheduleAgain"):
            if not self.schedule_exists:
                raise asl.TaskError(self.describe_error, f"Could not find monitoring schedule {SCHEDULE}")
            return {"MonitoringScheduleStatus": "Scheduled"}
        if name in ("CreateSchedule", "UpdateSchedule"):
            return {"MonitoringScheduleArn": f"arn:aws:sagemaker:eu-west-1:123456789012:monitoring-schedule/{SCHEDULE}"}
        raise AssertionError(f"unexpected task {name}")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def run_setup(prod, fake: FakeSageMaker) -> str:
    end, _, _ = asl.run(definition(prod), fake, sagemaker_event(ENDPOINT, "IN_SERVICE"))
    return end


def test_first_deploy_runs_the_baseline_then_creates_the_schedule(prod):
    fake = FakeSageMaker()
    assert run_setup(prod, fake) == "Succeed:ScheduleCreated"
    assert fake.names() == ["Baseline", "FindSchedule", "CreateSchedule"]
    baseline, created = fake.calls[0][1], fake.calls[2][1]
    assert baseline["ProcessingJobName"].startswith("mlspec-prod-monitor-")
    assert len(baseline["ProcessingJobName"]) <= 63
    assert created["MonitoringScheduleName"] == SCHEDULE
    job = created["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert job["MonitoringInputs"] == [{"EndpointInput": {
        "EndpointName": ENDPOINT, "LocalPath": "/opt/ml/processing/input/endpoint", "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated"}}]
    # The schedule checks against what this run's baseline wrote.
    written = baseline["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert job["BaselineConfig"] == {"ConstraintsResource": {"S3Uri": f"{written}/constraints.json"},
                                     "StatisticsResource": {"S3Uri": f"{written}/statistics.json"}}


def test_a_redeploy_updates_the_existing_schedule(prod):
    fake = FakeSageMaker(schedule_exists=True)
    assert run_setup(prod, fake) == "Succeed:ScheduleUpdated"
    assert fake.names() == ["Baseline", "FindSchedule", "UpdateSchedule"]
    assert fake.calls[2][1]["MonitoringScheduleName"] == SCHEDULE


def test_a_failed_baseline_fails_the_setup_without_touching_the_schedule(prod):
    fake = FakeSageMaker(baseline_fails=True)
    end, _, document = asl.run(definition(prod), fake, sagemaker_event(ENDPOINT, "IN_SERVICE"))
    assert end == "Fail:Failed"
    assert fake.names() == ["Baseline"]
    assert document["error"] == {"Error": "States.TaskFailed", "Cause": "ClientError: no data in the baseline input"}


def test_a_create_refused_because_a_duplicate_setup_created_the_schedule_updates_it(prod):
    """SageMaker may send several IN_SERVICE events for one deploy: two setups run, both find no
    schedule, the second create is refused. It updates the schedule instead of failing (and
    raising the setup-failed alarm for nothing); a refusal with still no schedule fails."""
    fake = FakeSageMaker(create_refused_because_created_by_another=True)
    assert run_setup(prod, fake) == "Succeed:ScheduleUpdated"
    assert fake.names() == ["Baseline", "FindSchedule", "CreateSchedule", "FindScheduleAgain", "UpdateSchedule"]
    assert fake.calls[-1][1] == fake.calls[2][1]  # the same schedule, with this setup's baseline
    fake = FakeSageMaker(create_refused_because_created_by_another=False)
    end, _, document = asl.run(definition(prod), fake, sagemaker_event(ENDPOINT, "IN_SERVICE"))
    assert end == "Fail:Failed" and document["error"]["Error"] == "SageMaker.ResourceInUseException"
    assert "UpdateSchedule" not in fake.names()


def test_only_a_missing_schedule_leads_to_creating_one(prod):
    fake = FakeSageMaker(describe_error="SageMaker.AccessDeniedException")
    assert run_setup(prod, fake) == "Fail:Failed"
    assert "CreateSchedule" not in fake.names()


def test_every_task_retries_transient_errors_and_is_a_real_integration(prod):
    graph = definition(prod)["States"]
    expected = {"Baseline": "sagemaker:createProcessingJob.sync",
                "FindSchedule": "aws-sdk:sagemaker:describeMonitoringSchedule",
                "CreateSchedule": "aws-sdk:sagemaker:createMonitoringSchedule",
                "FindScheduleAgain": "aws-sdk:sagemaker:describeMonitoringSchedule",
                "UpdateSchedule": "aws-sdk:sagemaker:updateMonitoringSchedule"}
    assert {name: s["Resource"] for name, s in graph.items() if s["Type"] == "Task"} == {
        name: f"arn:<Ref:AWS::Partition>:states:::{action}" for name, action in expected.items()}
    for name in expected:
        assert graph[name]["Retry"][0]["MaxAttempts"] == 3
        # A refused create looks again first; a failed second look keeps the create's error.
        catch = {"CreateSchedule": ("$.error", "FindScheduleAgain"), "FindScheduleAgain": ("$.notFound", "Failed")}
        result_path, next_ = catch.get(name, ("$.error", "Failed"))
        assert graph[name]["Catch"][-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": next_}


def test_baseline_and_scheduled_jobs_run_in_the_vpc_isolated_with_the_keys(prod):
    graph = definition(prod)["States"]
    baseline = graph["Baseline"]["Parameters"]
    job = graph["CreateSchedule"]["Parameters"]["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert graph["UpdateSchedule"]["Parameters"] == graph["CreateSchedule"]["Parameters"]
    ml_key, lake_key = exported_marker(prod, "MlNetwork", "MlKeyArn"), exported_marker(prod, "DataLake", "LakeKeyArn")
    subnets = [f"<{stack}:{marker(prod, ref)[1:-1]}>" for stack, ref in network_subnets(prod)]
    monitor = prod.built.settings.sagemaker.model_monitor
    for network, cluster, stopping in ((baseline["NetworkConfig"], baseline["ProcessingResources"]["ClusterConfig"],
                                        baseline["StoppingCondition"]),
                                       (job["NetworkConfig"], job["MonitoringResources"]["ClusterConfig"],
                                        job["StoppingCondition"])):
        assert network["EnableNetworkIsolation"] is True and network["EnableInterContainerTrafficEncryption"] is True
        assert network["VpcConfig"]["Subnets"] == subnets
        assert network["VpcConfig"]["SecurityGroupIds"] == [exported_marker(prod, "MlNetwork", "WorkloadSecurityGroupId")]
        assert cluster == {"InstanceCount": 1, "InstanceType": monitor.instance_type, "VolumeSizeInGB": monitor.volume_gb,
                           "VolumeKmsKeyId": ml_key}
        assert stopping == {"MaxRuntimeInSeconds": monitor.max_runtime_minutes * 60}
    assert baseline["ProcessingOutputConfig"]["KmsKeyId"] == lake_key
    assert job["MonitoringOutputConfig"]["KmsKeyId"] == lake_key
    assert baseline["RoleArn"] == job["RoleArn"]
    assert baseline["AppSpecification"]["ImageUri"] == job["MonitoringAppSpecification"]["ImageUri"]
    assert REPOSITORY in baseline["AppSpecification"]["ImageUri"]
    assert graph["CreateSchedule"]["Parameters"]["MonitoringScheduleConfig"]["ScheduleConfig"] == {
        "ScheduleExpression": monitor.schedule}


def test_the_baseline_reads_the_features_only_csv_and_the_schedule_publishes_metrics(prod):
    graph = definition(prod)["States"]
    baseline = graph["Baseline"]["Parameters"]
    curated = exported_marker(prod, "DataLake", "CuratedBucketName")
    training = prod.built.settings.sagemaker.training_data_prefix
    (source,) = baseline["ProcessingInputs"]
    assert source["S3Input"]["S3Uri"] == f"s3://{curated}/{training}baseline/"
    assert baseline["Environment"] == {"dataset_format": '{"csv": {"header": false}}',
                                       "dataset_source": source["S3Input"]["LocalPath"],
                                       "output_path": baseline["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"],
                                       "publish_cloudwatch_metrics": "Disabled"}
    assert baseline["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        f"s3://{curated}/monitoring/baselines/{ENDPOINT}"
    job = graph["CreateSchedule"]["Parameters"]["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert job["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert job["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] == \
        f"s3://{curated}/monitoring/reports/{ENDPOINT}"


def test_the_setup_role_carries_the_vpc_guard_and_manages_only_its_schedule_and_jobs(prod):
    setup_id, setup = machine(prod)
    role_id = setup["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    guards = [p for p in prod.resources(STACK, "AWS::IAM::ManagedPolicy").values()
              if "DenySageMakerResourcesOutsideAVpc" in json.dumps(p)]
    (guard,) = guards
    assert {"Ref": role_id} in guard["Properties"]["Roles"]
    assert {"sagemaker:CreateProcessingJob", "sagemaker:CreateMonitoringSchedule",
            "sagemaker:UpdateMonitoringSchedule"} <= set(guard["Properties"]["PolicyDocument"]["Statement"][0]["Action"])
    statements = policy_of_role(prod, role_id)
    schedule = json.dumps(statements["CreateOrUpdateTheSchedule"]["Resource"])
    assert schedule.endswith(f':monitoring-schedule/{SCHEDULE}"]]}}')
    assert json.dumps(statements["RunTheBaseline"]["Resource"]).endswith(':processing-job/mlspec-prod-monitor-*"]]}')


# ---------------------------------------------------------------- alarms


def test_the_drift_alarm_watches_every_feature_of_this_schedule_and_keeps_its_state_without_data(prod):
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in prod.resources(STACK, "AWS::CloudWatch::Alarm").values()}
    drift = alarms["mlspec-prod-monitor-feature-drift"]
    metrics = {m["Id"]: m for m in drift["Metrics"]}
    (expression,) = [m for m in drift["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "MAX([drift0, drift1, drift2])" and expression["ReturnData"] is True
    for i, feature in enumerate(MODEL_FEATURES):
        stat = metrics[f"drift{i}"]
        assert stat["Label"] == feature and stat["ReturnData"] is False
        assert stat["MetricStat"]["Metric"] == {
            "Namespace": "aws/sagemaker/Endpoints/data-metrics", "MetricName": f"feature_baseline_drift__c{i}",
            "Dimensions": [{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": SCHEDULE}]}
        assert stat["MetricStat"]["Period"] == 3600 and stat["MetricStat"]["Stat"] == "Maximum"
    assert drift["Threshold"] == prod.built.settings.sagemaker.model_monitor.drift_alarm_threshold
    assert drift["TreatMissingData"] == "ignore"
    alerts = exported_marker(prod, "Streaming", "AlertsTopicArn")
    for name in ("mlspec-prod-monitor-feature-drift", "mlspec-prod-monitor-setup-failed",
                 "mlspec-prod-monitor-undelivered-trigger"):
        actions = [marker(prod, a) for a in alarms[name]["AlarmActions"]]
        assert actions == [alerts], name
    assert alarms["mlspec-prod-monitor-setup-failed"]["MetricName"] == "ExecutionsFailed"


# ---------------------------------------------------------------- cost


def test_the_schedule_is_priced_while_the_endpoint_exists_and_the_baseline_per_deployment(sandbox, prod):
    lines = {line.item: line for lines in costs.report(prod.assembly_dir).values() for line in lines}
    monitor = prod.built.settings.sagemaker.model_monitor
    runs = 24 * 30  # hourly
    schedule = lines[f"monitoring schedule {SCHEDULE}: {runs} runs x up to 30 min on 1 x ml.m5.large"]
    assert (schedule.when, schedule.driver) == ("after a pipeline run", "sagemaker.model_monitor")
    assert schedule.monthly_usd == pytest.approx(runs * monitor.max_runtime_minutes / 60 * 0.115)  # 41.40
    baseline = lines["data-quality baseline: up to 30 min on 1 x ml.m5.large"]
    assert (baseline.when, baseline.monthly_usd) == ("per endpoint deployment", pytest.approx(0.5 * 0.115))
    # Three alarms, one of them over three metrics: five alarm metrics in the SageMaker stack.
    assert lines["3 CloudWatch alarms (5 metrics)"].monthly_usd == pytest.approx(0.50)
    assert not [item for lines_ in costs.report(sandbox.assembly_dir).values() for item in lines_
                if "monitor" in item.item or "baseline" in item.item]
    table = costs.render(costs.report(prod.assembly_dir), "Idle cost")
    idle, after = table.split("After the first pipeline run")
    assert "monitoring schedule" not in idle and "monitoring schedule" in after
    assert "| SageMaker | data-quality baseline" in after.split("Each time the pipeline deploys its endpoint")[1]


def test_every_processing_type_the_settings_allow_has_a_price():
    from config.settings import PROCESSING_INSTANCE_TYPES

    assert set(PROCESSING_INSTANCE_TYPES) <= set(costs.PRICES["sagemaker_processing_hour"])


# ---------------------------------------------------------------- the pattern on its own


def test_a_daily_schedule_gets_a_daily_alarm_period_and_is_priced_per_day():
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from patterns.alerts import AlertsTopic
    from patterns.keys import customer_managed_key
    from patterns.model_monitor import ModelMonitor
    from tests.test_patterns_standalone import ml_base_in

    stack = cdk.Stack(cdk.App(), "Monitor")
    base = ml_base_in(stack)
    alerts = AlertsTopic(stack, "Alerts", name="acme-alerts", key=customer_managed_key(
        stack, "AlertsKey", alias="alias/acme-alerts", description="acme alerts", for_alarm_topics=True))
    props = dict(name="acme-monitor", endpoint_name="acme-endpoint", features=("a", "b"), lake=base.lake,
                 ml_key=base.key, execution=base.execution, alerts=alerts, **base.placement)
    ModelMonitor(stack, "Monitor", schedule_expression="cron(0 3 ? * * *)", instance_type="ml.m5.xlarge",
                 max_runtime_minutes=20, **props)
    template = Template.from_stack(stack).to_json()
    (drift,) = [r["Properties"] for r in template["Resources"].values()
                if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("AlarmName") == "acme-monitor-feature-drift"]
    assert {m["MetricStat"]["Period"] for m in drift["Metrics"] if "MetricStat" in m} == {86400}
    assert [m["MetricStat"]["Metric"]["MetricName"] for m in drift["Metrics"] if "MetricStat" in m] == [
        "feature_baseline_drift__c0", "feature_baseline_drift__c1"]
    lines = {line.item: line for line in costs.lines_for("Monitor", template)}
    daily = lines["monitoring schedule acme-endpoint-data-quality: 30 runs x up to 20 min on 1 x ml.m5.xlarge"]
    assert daily.monthly_usd == pytest.approx(30 * 20 / 60 * 0.23)
    for bad, message in ((dict(max_runtime_minutes=61), "max_runtime_minutes=61"),
                         (dict(schedule_expression="cron(0 */2 ? * * *)"), "schedule_expression"),
                         (dict(drift_alarm_threshold=0), "drift_alarm_threshold=0")):
        with pytest.raises(ValueError, match=re.escape(message)):
            ModelMonitor(cdk.Stack(cdk.App(), "Other"), "Monitor", **{**props, **bad})
