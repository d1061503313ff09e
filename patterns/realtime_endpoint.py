"""RealtimeEndpoint: a real-time SageMaker endpoint in the VPC, with data capture, autoscaling and alarms.

One model per variant (network-isolated, in the VPC), an endpoint config encrypted with the ML key
that captures requests and responses to the lake, the endpoint, target-tracking autoscaling per
variant and 5xx/latency alarms to an alerts topic. Instance-based on purpose: serverless inference
supports no VPC, no network isolation, no data capture and no multiple variants.

Usage, in any stack (`lake`, `ml_key`, `network`, `execution` as in patterns/sagemaker_execution.py;
the execution role reads the lake's `models/` prefix)::

    image = XgboostImage(stack, "XgboostImage")
    alerts_key = customer_managed_key(stack, "AlertsKey", alias="alias/acme-alerts", description="acme alerts",
                                      for_alarm_topics=True)
    models = f"s3://{lake.curated.bucket_name}/models"
    endpoint = RealtimeEndpoint(
        stack, "Hosting", name="acme-endpoint", model_artifact=f"{models}/v1/model.tar.gz", lake=lake,
        ml_key=ml_key, execution=execution, image=image, security_group=network.workload_security_group,
        subnets=network.subnets.subnets, alerts=AlertsTopic(stack, "Alerts", name="acme-alerts", key=alerts_key),
        variants=[EndpointVariant(name="champion", weight=0.9),
                  EndpointVariant(name="challenger", weight=0.1, model_artifact=f"{models}/v2/model.tar.gz")],
    )
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from patterns.alerts import AlertsTopic
from patterns.data_lake import DataLakeStorage
from patterns.sagemaker_execution import SageMakerExecution
from patterns.sagemaker_lake import data_capture
from patterns.xgboost_image import XgboostImage


@dataclasses.dataclass(frozen=True, kw_only=True)
class EndpointVariant:
    """One production variant of an endpoint; several split traffic by `weight` (A/B test).
    `model_artifact`: s3:// URI of the model it serves; None serves the endpoint's model_artifact.
    ml.t2.medium is the cheapest real-time instance that allows VPC, isolation, KMS and data capture."""

    name: str = "primary"
    instance_type: str = "ml.t2.medium"
    initial_instance_count: int = 1
    weight: float = 1.0
    model_artifact: str | None = None


def _id(variant: EndpointVariant) -> str:
    return variant.name.title().replace("-", "")


class RealtimeEndpoint(Construct):
    """Models, endpoint config, endpoint, autoscaling and alarms of one real-time endpoint."""

    def __init__(self, scope: Construct, id_: str, *, name: str, model_artifact: str, lake: DataLakeStorage,
                 ml_key: kms.IKey, execution: SageMakerExecution, image: XgboostImage,
                 security_group: ec2.ISecurityGroup, subnets: Sequence[ec2.ISubnet], alerts: AlertsTopic,
                 variants: Sequence[EndpointVariant] = (EndpointVariant(),), data_capture_sampling_percent: int = 100,
                 autoscaling_max_instances: int = 2, autoscaling_target_invocations_per_instance: int = 100,
                 alarm_5xx_errors_per_5_minutes: int = 5, alarm_model_latency_ms: int = 500) -> None:
        """`name`: the endpoint's name. `model_artifact`: s3:// URI of the model.tar.gz every variant
        serves unless it names its own; `execution` must be able to read each (its
        `model_artifacts`, or the curated `models/` prefix). `variants`: one, or more that split
        traffic by weight (A/B test). `data_capture_sampling_percent`: share of requests and
        responses captured to the raw zone's `data-capture/` prefix, encrypted with the lake key
        (0: none). Each variant scales from its initial instance count to
        `autoscaling_max_instances` on invocations per instance; its 5xx errors and p90 model
        latency alarm to `alerts`."""
        super().__init__(scope, id_)
        names = [v.name for v in variants]
        if not variants or len(set(names)) != len(names):
            raise ValueError(f"variants={names}: give at least one variant, with distinct names")
        if autoscaling_max_instances < max(v.initial_instance_count for v in variants):
            raise ValueError(f"autoscaling_max_instances={autoscaling_max_instances} is below a variant's "
                             "initial_instance_count")
        self.models: dict[str, sagemaker.CfnModel] = {}
        for variant in variants:
            model = sagemaker.CfnModel(
                self, f"{_id(variant)}Model",
                execution_role_arn=execution.role.role_arn,
                primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                    image=image.uri, model_data_url=variant.model_artifact or model_artifact),
                vpc_config=sagemaker.CfnModel.VpcConfigProperty(security_group_ids=[security_group.security_group_id],
                                                                subnets=[s.subnet_id for s in subnets]),
                enable_network_isolation=True,
            )
            model.node.add_dependency(execution.policy)
            self.models[variant.name] = model
        capture = data_capture(data_capture_sampling_percent, lake).get("DataCaptureConfig")
        self.config = sagemaker.CfnEndpointConfig(
            self, "Config", kms_key_id=ml_key.key_arn,
            production_variants=[self._variant(v) for v in variants],
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True, initial_sampling_percentage=capture["InitialSamplingPercentage"],
                destination_s3_uri=capture["DestinationS3Uri"], kms_key_id=capture["KmsKeyId"],
                capture_options=[sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=m)
                                 for m in ("Input", "Output")]) if capture else None,
        )
        self.endpoint = sagemaker.CfnEndpoint(self, "Endpoint", endpoint_name=name,
                                              endpoint_config_name=self.config.attr_endpoint_config_name)
        self._autoscaling(name, variants, autoscaling_max_instances, autoscaling_target_invocations_per_instance)
        self.alarms = self._alarms(name, variants, alerts, alarm_5xx_errors_per_5_minutes, alarm_model_latency_ms)

    def _variant(self, variant: EndpointVariant) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant.name, model_name=self.models[variant.name].attr_model_name,
            instance_type=variant.instance_type, initial_instance_count=variant.initial_instance_count,
            initial_variant_weight=variant.weight)

    def _autoscaling(self, name: str, variants: Sequence[EndpointVariant], max_instances: int,
                     target_invocations_per_instance: int) -> None:
        # Application Auto Scaling acts through its service-linked role for SageMaker (created on
        # first use), which holds exactly the permissions it needs; a new role would hold none.
        service_linked_role = iam.Role.from_role_arn(
            self, "AutoScalingServiceLinkedRole",
            f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
            "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            mutable=False,
        )
        for variant in variants:
            target = autoscaling.ScalableTarget(
                self, f"{_id(variant)}Scaling",
                service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
                resource_id=f"endpoint/{name}/variant/{variant.name}",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                min_capacity=variant.initial_instance_count, max_capacity=max_instances,
                role=service_linked_role,
            )
            target.node.add_dependency(self.endpoint)
            target.scale_to_track_metric(
                "InvocationsPerInstance",
                target_value=target_invocations_per_instance,
                predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
                scale_in_cooldown=Duration.minutes(5), scale_out_cooldown=Duration.minutes(1),
            )

    def _alarms(self, name: str, variants: Sequence[EndpointVariant], alerts: AlertsTopic, errors_5xx: int,
                latency_ms: int) -> dict[str, cloudwatch.Alarm]:
        def metric(variant: EndpointVariant, metric_name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace="AWS/SageMaker", metric_name=metric_name, statistic=statistic,
                                     period=Duration.minutes(5),
                                     dimensions_map={"EndpointName": name, "VariantName": variant.name})

        alarms = {}
        for variant in variants:
            for alarm_id, (alarm_metric, threshold, description) in {
                "5xxErrors": (metric(variant, "Invocation5XXErrors", "Sum"), errors_5xx,
                              f"{name}/{variant.name}: model server errors in 5 minutes"),
                "ModelLatency": (metric(variant, "ModelLatency", "p90"), latency_ms * 1000,
                                 f"{name}/{variant.name}: p90 model latency above {latency_ms} ms"),
            }.items():
                alarms[f"{variant.name}-{alarm_id}"] = alerts.notify(cloudwatch.Alarm(
                    self, f"{_id(variant)}{alarm_id}Alarm",
                    alarm_name=f"{name}-{variant.name}-{alarm_id}", alarm_description=description,
                    metric=alarm_metric, threshold=threshold, evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING))
        return alarms
