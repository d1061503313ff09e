"""PrivateNotebook: a SageMaker notebook instance in the VPC for exploring the lake and running a pipeline.

No direct internet access (it reaches AWS through the VPC's endpoints: the notebook needs
sagemaker.api, sagemaker.runtime, sts and states interface endpoints), no root access, IMDSv2
only, its volume encrypted with the ML key. Its role reads the curated zone, starts and follows
one TrainingPipeline and invokes its endpoints; nothing else.

Usage, in any stack (`lake`, `ml_key`, `network` as in patterns/sagemaker_execution.py, `pipeline` a
TrainingPipeline)::

    notebook = PrivateNotebook(stack, "Notebook", name="acme-notebook", ml_key=ml_key, lake=lake,
                               security_group=network.workload_security_group,
                               subnet=network.subnets.subnets[0], pipeline=pipeline)
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.keys import removal_policy
from patterns.roles import service_role
from patterns.training_pipeline import TrainingPipeline, sagemaker_arn


class PrivateNotebook(Construct):
    def __init__(self, scope: Construct, id_: str, *, name: str, ml_key: kms.IKey, lake: DataLakeStorage,
                 security_group: ec2.ISecurityGroup, subnet: ec2.ISubnet, pipeline: TrainingPipeline,
                 instance_type: str = "ml.t3.medium", hosted_endpoint: str | None = None,
                 pipeline_endpoint: str | None = None, deploy_run_stem: str | None = None,
                 destroy_on_removal: bool = False) -> None:
        """`name`: the notebook instance's. Its role reads the curated zone, starts and follows
        `pipeline`, and invokes `pipeline_endpoint` (where approved models deploy) and `hosted_endpoint`;
        `deploy_run_stem`: the stem the deploy of approved packages names its models and configs with.
        `ml_key` encrypts its volume, which is retained unless `destroy_on_removal`."""
        super().__init__(scope, id_)
        endpoints = [sagemaker_arn(f"endpoint/{e}") for e in (pipeline_endpoint, hosted_endpoint) if e]
        # The pipeline names its training jobs; the deploy of approved packages its models and configs.
        runs = [sagemaker_arn(f"training-job/{pipeline.run_name_stem}-*"),
                *(sagemaker_arn(f"{kind}/{deploy_run_stem}-*") for kind in ("model", "endpoint-config")
                  if deploy_run_stem)]
        self.role, policy = service_role(
            self, "Notebook", service="sagemaker.amazonaws.com",
            description=f"{name}: explore the curated zone, run the training pipeline, invoke its endpoints",
            statements=[
                *([iam.PolicyStatement(sid="InvokeTheEndpoints", actions=["sagemaker:InvokeEndpoint"],
                                       resources=endpoints)] if endpoints else []),
                iam.PolicyStatement(sid="FollowThePipelineRuns", actions=[
                    "sagemaker:DescribeTrainingJob", "sagemaker:DescribeModel", "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeEndpoint"], resources=[*runs, *endpoints]),
                iam.PolicyStatement(sid="ListTheCuratedZone", actions=["s3:ListBucket"],
                                    resources=[lake.bucket_arn("curated")]),
                iam.PolicyStatement(sid="ReadTheCuratedZone", actions=["s3:GetObject"],
                                    resources=[lake.objects_arn("curated", "*")]),
                lake.key_through_s3("DecryptThroughS3", ["kms:Decrypt"]),
                iam.PolicyStatement(sid="StartTraining", actions=["states:StartExecution", "states:DescribeExecution"],
                                    resources=[pipeline.state_machine.state_machine_arn,
                                               regional_arn("states", "execution:"
                                                            f"{pipeline.state_machine.state_machine_name}:*")]),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, lake.objects_arn('curated', '*'))}]",
             f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
             f"{finding_reference(self, pipeline.state_machine.state_machine_name)}:*]",
             *(f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]" for arn in runs)],
            "A notebook explores the whole curated zone read-only, and follows the executions of the "
            "training pipeline and the jobs, models and configs they create, whose names are chosen "
            "at start time.",
        )
        self.instance = sagemaker.CfnNotebookInstance(
            self, "Instance", notebook_instance_name=name, instance_type=instance_type, role_arn=self.role.role_arn,
            subnet_id=subnet.subnet_id, security_group_ids=[security_group.security_group_id],
            direct_internet_access="Disabled", root_access="Disabled", kms_key_id=ml_key.key_id,
            volume_size_in_gb=10, platform_identifier="notebook-al2-v3",
            instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version="2"),
        )
        self.instance.node.add_dependency(policy)
        # Its volume holds the users' notebooks: prod keeps it.
        self.instance.apply_removal_policy(removal_policy(destroy_on_removal))
