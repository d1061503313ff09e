"""IsolatedNetwork: a VPC with no path to the internet, reachable AWS APIs through VPC endpoints.

Isolated subnets only (no internet gateway, no NAT), an S3 gateway endpoint whose policy names the
lake's buckets, interface endpoints with private DNS, and flow logs to an encrypted log group.
Workloads (training jobs, models, notebooks) use `workload_security_group`; the interface
endpoints accept HTTPS only from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config.settings import REQUIRED_INTERFACE_ENDPOINTS, SUBNET_PREFIX_LENGTH
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.log_groups import encrypted_log_group
from patterns.roles import service_role

INTERFACE_ENDPOINT_SERVICES = {
    "sagemaker.api": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "sagemaker.runtime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "ecr.api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr.dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "states": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    "glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
    "athena": ec2.InterfaceVpcEndpointAwsService.ATHENA,
    "kinesis-streams": ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
}
HTTPS = ec2.Port.tcp(443)


def _endpoint_id(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("-", ".").split(".")) + "Endpoint"


class IsolatedNetwork(Construct):
    def __init__(self, scope: Construct, id_: str, *, az_count: int, cidr: str, extra_interface_endpoints: Sequence[str],
                 lake: DataLakeStorage, key: kms.IKey, flow_log_retention_days: int, destroy_on_removal: bool) -> None:
        super().__init__(scope, id_)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=az_count,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                                                          cidr_mask=SUBNET_PREFIX_LENGTH)],
            enable_dns_hostnames=True,  # private DNS names of interface endpoints need both
            enable_dns_support=True,
        )
        self.subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self._flow_logs(key, flow_log_retention_days, destroy_on_removal)

        self.workload_security_group = ec2.SecurityGroup(
            self, "WorkloadSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="SageMaker training jobs, models and notebooks",
        )
        self.endpoint_security_group = ec2.SecurityGroup(
            self, "EndpointSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="Interface endpoints: HTTPS from the workload security group only",
        )
        self.endpoint_security_group.add_ingress_rule(self.workload_security_group, HTTPS,
                                                      "HTTPS from SageMaker workloads")
        self.workload_security_group.add_egress_rule(self.endpoint_security_group, HTTPS,
                                                     "AWS APIs through the interface endpoints")
        # Distributed training and inter-container traffic encryption talk between the job's own
        # instances; nothing else may reach them.
        self.workload_security_group.add_ingress_rule(self.workload_security_group, ec2.Port.all_tcp(),
                                                      "Between instances of the same training job")
        self.workload_security_group.add_egress_rule(self.workload_security_group, ec2.Port.all_tcp(),
                                                     "Between instances of the same training job")

        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
        self.s3_endpoint.add_to_policy(iam.PolicyStatement(
            sid="OnlyTheLakeBuckets",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation",
                     "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            resources=[arn for zone in lake.buckets for arn in (lake.bucket_arn(zone), lake.objects_arn(zone, "*"))],
        ))
        # The gateway endpoint is reached through the S3 prefix list of the route table; without an
        # internet gateway or NAT, no other destination is routable, so this rule opens only S3.
        self.workload_security_group.add_egress_rule(ec2.Peer.any_ipv4(), HTTPS,
                                                     "S3 through the gateway endpoint (the only route)")
        if "ecr.dkr" in extra_interface_endpoints:
            # Image layers are served from an AWS-owned bucket through the same gateway endpoint.
            self.s3_endpoint.add_to_policy(iam.PolicyStatement(
                sid="EcrImageLayers", principals=[iam.AnyPrincipal()], actions=["s3:GetObject"],
                resources=[f"arn:{Aws.PARTITION}:s3:::prod-{Aws.REGION}-starport-layer-bucket/*"]))

        self.interface_endpoints = {
            service: self.vpc.add_interface_endpoint(
                _endpoint_id(service),
                service=INTERFACE_ENDPOINT_SERVICES[service],
                private_dns_enabled=True,
                security_groups=[self.endpoint_security_group],
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
                open=False,  # the security group above decides who may connect
            )
            for service in (*REQUIRED_INTERFACE_ENDPOINTS, *extra_interface_endpoints)
        }

    def _flow_logs(self, key: kms.IKey, retention_days: int, destroy_on_removal: bool) -> None:
        log_group = encrypted_log_group(self, "FlowLogs", name=None, key=key, retention_days=retention_days,
                                        destroy_on_removal=destroy_on_removal)
        role, policy = service_role(
            self,
            "FlowLogs",
            service="vpc-flow-logs.amazonaws.com",
            description="VPC flow logs: deliver to their own log group only",
            statements=[iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"])],
            trust_conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
        self.flow_log = ec2.FlowLog(
            self, "FlowLog", resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group, role.without_policy_updates()),
        )
        self.flow_log.node.add_dependency(policy)
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, f'{log_group.log_group_arn}:log-stream:*')}]"],
            "The flow-logs service names one log stream per network interface at run time; the grant "
            "covers the streams of this VPC's own flow-log group only.",
        )
        self.flow_log_group, self.flow_log_policy = log_group, policy
