"""The SageMaker stack: execution role and guard, training pipeline, optional endpoint and notebook."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import Settings
from patterns.alerts import AlertsTopic
from patterns.data_lake import DataLakeStorage
from patterns.isolated_network import IsolatedNetwork
from patterns.sagemaker_ml import PrivateNotebook, RealtimeEndpoint, SageMakerExecution, TrainingPipeline, XgboostImage
from stacks.wiring import model_artifacts, s3_object_arn


class SageMakerStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, settings: Settings, lake: DataLakeStorage,
                 network: IsolatedNetwork, ml_key, alerts: AlertsTopic, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        prefix, ml = settings.name_prefix, settings.sagemaker
        subnets = network.subnets.subnets
        sg = network.workload_security_group
        self.image = XgboostImage(self, "XgboostImage")
        self.execution = SageMakerExecution(
            self, "Execution", name_prefix=prefix, lake=lake, ml_key=ml_key,
            training_data_prefix=ml.training_data_prefix, vpc=network.vpc,
            deny_jobs_outside_vpc=ml.deny_jobs_outside_vpc,
            model_artifacts=[s3_object_arn(uri) for uri in model_artifacts(settings)],
        )
        self.pipeline = TrainingPipeline(
            self, "Training", name=f"{prefix}-xgboost", endpoint_name=f"{prefix}-pipeline-endpoint", settings=ml,
            lake=lake, ml_key=ml_key,
            execution=self.execution, image=self.image, security_group=sg, subnets=subnets,
            log_retention_days=settings.streaming.log_retention_days,
            destroy_on_removal=settings.destroy_data_on_removal,
        )
        self.endpoint = None
        if ml.model_artifact is not None:
            self.endpoint = RealtimeEndpoint(
                self, "Hosting", name=f"{prefix}-hosted-endpoint", settings=ml, lake=lake, ml_key=ml_key,
                execution=self.execution, image=self.image, security_group=sg, subnets=subnets, alerts=alerts,
            )
        self.notebook = None
        if ml.notebook_enabled:
            self.notebook = PrivateNotebook(
                self, "Notebook", name=f"{prefix}-notebook", instance_type=ml.notebook_instance_type, ml_key=ml_key,
                lake=lake, security_group=sg, subnet=subnets[0], pipeline=self.pipeline,
                hosted_endpoint=self.endpoint.endpoint.endpoint_name if self.endpoint else None,
                destroy_on_removal=settings.destroy_data_on_removal,
            )
        outputs = {
            "ExecutionRoleArn": self.execution.role.role_arn,
            "TrainingPipelineArn": self.pipeline.state_machine.state_machine_arn,
            "PipelineEndpointName": self.pipeline.endpoint_name,
            "XgboostImageUri": self.image.uri,
        }
        if self.execution.guard is not None:
            outputs["VpcOnlyGuardPolicyArn"] = self.execution.guard.managed_policy_arn
        if self.endpoint is not None:
            outputs["HostedEndpointName"] = self.endpoint.endpoint.attr_endpoint_name
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)
