"""The ML network stack: the isolated VPC, its endpoints and flow logs, and the ML key."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import SUBNET_PREFIX_LENGTH, Settings
from patterns.data_lake import DataLakeStorage
from patterns.isolated_network import IsolatedNetwork
from patterns.keys import customer_managed_key
from stacks.wiring import interface_endpoint_consumers, model_artifacts, s3_object_arn


class MlNetworkStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, settings: Settings, lake: DataLakeStorage, **kwargs) -> None:
        super().__init__(scope, id_, **kwargs)
        prefix, network = settings.name_prefix, settings.network
        # One key for everything of the ML stacks: flow logs here, volumes, endpoint storage,
        # notebooks and pipeline logs in the SageMaker stack.
        self.key = customer_managed_key(
            self, "Key", alias=f"alias/{prefix}-ml", description=f"{prefix}: SageMaker volumes, endpoints, ML logs",
            destroy_on_removal=settings.destroy_data_on_removal, for_log_groups=True,
        )
        self.network = IsolatedNetwork(
            self, "Network", name=f"{prefix}-ml-network", az_count=network.az_count, cidr=network.vpc_cidr,
            subnet_prefix_length=SUBNET_PREFIX_LENGTH, interface_endpoints=interface_endpoint_consumers(settings),
            bucket_arns=[lake.bucket_arn(zone) for zone in lake.buckets],
            readable_objects=[s3_object_arn(uri) for uri in model_artifacts(settings)], key=self.key,
            flow_log_retention_days=network.flow_log_retention_days,
            destroy_on_removal=settings.destroy_data_on_removal,
        )
        outputs = {
            "VpcId": self.network.vpc.vpc_id,
            "SubnetIds": ",".join(s.subnet_id for s in self.network.subnets.subnets),
            "WorkloadSecurityGroupId": self.network.workload_security_group.security_group_id,
            "MlKeyArn": self.key.key_arn,
        }
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)
