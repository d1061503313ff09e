"""The SageMaker stack: execution role and guard, training pipeline, model registry and approved-model
deploys, optional endpoint and notebook.

It maps `settings.sagemaker` to the patterns' props; the ML key, the alerts topic and the log
retention come from `Shared` (see stacks/shared.py for who owns them).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from config.settings import Settings
from patterns.batch_transform import BatchTransform
from patterns.data_lake import DataLakeStorage
from patterns.inference_api import InferenceApi, features_from_schema
from patterns.isolated_network import IsolatedNetwork
from patterns.model_deploy import ModelDeploy
from patterns.model_monitor import ModelMonitor
from patterns.model_registry import ModelPackageGroup
from patterns.private_notebook import PrivateNotebook
from patterns.realtime_endpoint import EndpointVariant, RealtimeEndpoint
from patterns.sagemaker_execution import SageMakerExecution
from patterns.training_pipeline import TrainingPipeline, Tuning
from patterns.xgboost_image import XgboostImage
from stacks.sensor_dataset import MISSING_FEATURE_VALUE, MODEL_FEATURES, ROOT, SCHEMA_FILE
from stacks.shared import Shared
from stacks.wiring import model_artifacts, s3_object_arn


class SageMakerStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, settings: Settings, lake: DataLakeStorage,
                 network: IsolatedNetwork, shared: Shared, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        prefix, ml, destroy = settings.name_prefix, settings.sagemaker, settings.destroy_data_on_removal
        subnets = network.subnets.subnets
        sg = network.workload_security_group
        self.image = XgboostImage(self, "XgboostImage")
        self.execution = SageMakerExecution(
            self, "Execution", name_prefix=prefix, lake=lake, ml_key=shared.ml_key, vpc=network.vpc,
            training_data_prefix=ml.training_data_prefix, deny_jobs_outside_vpc=ml.deny_jobs_outside_vpc,
            model_artifacts=[s3_object_arn(uri) for uri in model_artifacts(settings)],
            monitoring=ml.model_monitor.enabled,
        )
        pipeline_variant = ml.endpoint_variants[0]
        # The model registry: the pipeline registers every trained model here; approved packages deploy.
        self.registry = ModelPackageGroup(self, "Registry", name=f"{prefix}-models", destroy_on_removal=destroy)
        tuning = ml.tuning
        self.pipeline = TrainingPipeline(
            self, "Training", name=f"{prefix}-xgboost", registry=self.registry,
            hyperparameters=ml.xgboost_hyperparameters, lake=lake, ml_key=shared.ml_key, execution=self.execution,
            image=self.image, security_group=sg, subnets=subnets,
            training_instance_type=ml.training_instance_type, training_instance_count=ml.training_instance_count,
            training_volume_gb=ml.training_volume_gb, training_max_runtime_minutes=ml.training_max_runtime_minutes,
            training_input_mode=ml.training_input_mode, managed_spot_training=ml.managed_spot_training,
            spot_max_wait_minutes=ml.spot_max_wait_minutes,
            tuning=Tuning(objective_metric=tuning.objective_metric, objective_type=tuning.objective_type,
                          ranges=tuning.ranges, max_jobs=tuning.max_jobs, max_parallel_jobs=tuning.max_parallel_jobs,
                          early_stopping=tuning.early_stopping, warm_start_parents=tuning.warm_start_parents,
                          warm_start_type=tuning.warm_start_type) if tuning.enabled else None,
            approval=ml.registry.approval,
            inference_instance_types=list(dict.fromkeys(v.instance_type for v in ml.endpoint_variants)),
            log_retention_days=shared.app_log_retention_days, destroy_on_removal=destroy,
        )
        self.deploy = ModelDeploy(
            self, "Deploy", name=f"{prefix}-deploy", endpoint_name=f"{prefix}-pipeline-endpoint",
            registry=self.registry, lake=lake, ml_key=shared.ml_key, queue_key=shared.ml_key,
            execution=self.execution, security_group=sg, subnets=subnets,
            endpoint_variant_name=pipeline_variant.name, endpoint_instance_type=pipeline_variant.instance_type,
            endpoint_instance_count=pipeline_variant.initial_instance_count,
            data_capture_sampling_percent=ml.data_capture_sampling_percent,
            log_retention_days=shared.app_log_retention_days, destroy_on_removal=destroy,
        )
        # EventBridge delivers approval events it could not start a deploy with to the dead-letter
        # queue, encrypted with the ML key: the key must let EventBridge of this account use it.
        shared.ml_key.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowEventBridgeDeadLetterQueues", principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}))
        self.endpoint = None
        if ml.model_artifact is not None:
            self.endpoint = RealtimeEndpoint(
                self, "Hosting", name=f"{prefix}-hosted-endpoint", model_artifact=ml.model_artifact, lake=lake,
                ml_key=shared.ml_key, execution=self.execution, image=self.image, security_group=sg, subnets=subnets,
                alerts=shared.alerts,
                variants=[EndpointVariant(name=v.name, instance_type=v.instance_type,
                                          initial_instance_count=v.initial_instance_count, weight=v.weight,
                                          model_artifact=v.model_artifact) for v in ml.endpoint_variants],
                data_capture_sampling_percent=ml.data_capture_sampling_percent,
                autoscaling_max_instances=ml.autoscaling_max_instances,
                autoscaling_target_invocations_per_instance=ml.autoscaling_target_invocations_per_instance,
                alarm_5xx_errors_per_5_minutes=ml.alarm_5xx_errors_per_5_minutes,
                alarm_model_latency_ms=ml.alarm_model_latency_ms,
            )
        self.notebook = None
        if ml.notebook_enabled:
            self.notebook = PrivateNotebook(
                self, "Notebook", name=f"{prefix}-notebook", instance_type=ml.notebook_instance_type,
                ml_key=shared.ml_key, lake=lake, security_group=sg, subnet=subnets[0], pipeline=self.pipeline,
                pipeline_endpoint=self.deploy.endpoint_name, deploy_run_stem=self.deploy.run_name_stem,
                hosted_endpoint=self.endpoint.endpoint.endpoint_name if self.endpoint else None,
                destroy_on_removal=destroy,
            )
        # Batch transform: the latest Approved package of the registry group over a curated prefix.
        self.batch_transform = None
        if ml.batch_transform.enabled:
            batch = ml.batch_transform
            self.batch_transform = BatchTransform(
                self, "BatchTransform", name=f"{prefix}-batch-transform", model_package_group=self.registry.group_name,
                lake=lake, ml_key=shared.ml_key, execution=self.execution, security_group=sg, subnets=subnets,
                # null: the held-out split of the training data (label first, as the transform's filters expect;
                # not baseline/, which has no label).
                input_prefix=batch.input_prefix or f"{ml.training_data_prefix}validation/",
                prediction_columns=prediction_columns(ml.xgboost_hyperparameters),
                instance_type=batch.instance_type, instance_count=batch.instance_count,
                max_payload_mb=batch.max_payload_mb, max_concurrent_transforms=batch.max_concurrent_transforms,
                timeout_minutes=batch.timeout_minutes, log_retention_days=shared.app_log_retention_days,
                destroy_on_removal=destroy,
            )
        self.monitor = None
        if ml.model_monitor.enabled:
            monitor = ml.model_monitor
            self.monitor = ModelMonitor(
                self, "Monitor", name=f"{prefix}-monitor", endpoint_name=self.deploy.endpoint_name,
                features=MODEL_FEATURES, lake=lake, ml_key=shared.ml_key, execution=self.execution,
                security_group=sg, subnets=subnets, alerts=shared.alerts, schedule_expression=monitor.schedule,
                instance_type=monitor.instance_type, volume_gb=monitor.volume_gb,
                max_runtime_minutes=monitor.max_runtime_minutes, drift_alarm_threshold=monitor.drift_alarm_threshold,
                log_retention_days=shared.app_log_retention_days, destroy_on_removal=destroy,
            )
        self.inference_api = None
        api = settings.inference_api
        if api.enabled:
            # Fronts the pipeline's endpoint: its name is known now, the endpoint exists after a run.
            self.inference_api = InferenceApi(
                self, "InferenceApi", name=f"{prefix}-inference", endpoint_name=self.deploy.endpoint_name,
                features=features_from_schema(SCHEMA_FILE, MODEL_FEATURES), missing_value=MISSING_FEATURE_VALUE,
                code_directory=ROOT / "lambda" / "inference_api", key=shared.ml_key, vpc=network.vpc,
                subnets=subnets, endpoint_security_group=network.endpoint_security_group,
                max_rows=api.max_rows_per_request, throttle_rate_per_second=api.throttle_rate_per_second,
                throttle_burst=api.throttle_burst, quota_requests_per_day=api.quota_requests_per_day,
                reserved_concurrency=api.reserved_concurrency,
                private_endpoint=network.interface_endpoints["execute-api"] if api.private else None,
                manage_account_cloudwatch_role=api.manage_account_cloudwatch_role,
                log_retention_days=shared.app_log_retention_days, destroy_on_removal=destroy,
            )
        outputs = {
            "ExecutionRoleArn": self.execution.role.role_arn,
            "TrainingPipelineArn": self.pipeline.state_machine.state_machine_arn,
            "PipelineEndpointName": self.deploy.endpoint_name,
            "ModelPackageGroupName": self.registry.group_name,
            "DeployStateMachineArn": self.deploy.state_machine.state_machine_arn,
            "XgboostImageUri": self.image.uri,
        }
        if self.execution.guard is not None:
            outputs["VpcOnlyGuardPolicyArn"] = self.execution.guard.managed_policy_arn
        if self.monitor is not None:
            outputs["MonitorSetupArn"] = self.monitor.state_machine.state_machine_arn
            outputs["MonitoringScheduleName"] = self.monitor.schedule_name
        if self.endpoint is not None:
            outputs["HostedEndpointName"] = self.endpoint.endpoint.attr_endpoint_name
        if self.batch_transform is not None:
            outputs["BatchTransformArn"] = self.batch_transform.state_machine.state_machine_arn
        if self.inference_api is not None:
            outputs["InferenceApiUrl"] = self.inference_api.url
            outputs["InferenceApiMethodArn"] = self.inference_api.method_arn
            outputs["InferenceApiInvokePolicyArn"] = self.inference_api.invoke_policy.managed_policy_arn
            if self.inference_api.api_key is not None:
                outputs["InferenceApiKeyId"] = self.inference_api.api_key.key_id
            if self.inference_api.caller_security_group is not None:
                # A private API's callers in the VPC attach this group (HTTPS to the execute-api endpoint).
                outputs["InferenceApiCallerSecurityGroupId"] = self.inference_api.caller_security_group.security_group_id
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)


def prediction_columns(hyperparameters: dict[str, str]) -> int:
    """Columns XGBoost answers per CSV line: one probability per class for multi:softprob, else one."""
    if hyperparameters.get("objective") == "multi:softprob":
        return int(hyperparameters["num_class"])
    return 1
