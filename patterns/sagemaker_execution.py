"""SageMakerExecution: the role SageMaker training jobs and models run as, and the VPC-only guard.

The role reads the training data and model prefixes of the curated zone, writes models,
checkpoints (curated) and captured requests (raw), uses the lake key only through S3 and the ML
key for volumes, manages network interfaces only in the given VPC, and writes SageMaker's logs
and metrics. Nothing else in the lake. The optional guard denies SageMaker jobs, models and
notebooks created outside a VPC to any role it is attached to.

Usage, in any stack::

    lake = DataLakeStorage(stack, "Lake", name_prefix="acme", zones={"raw": ZoneTiering(), "curated": ZoneTiering()})
    ml_key = customer_managed_key(stack, "MlKey", alias="alias/acme-ml", description="acme ML", for_log_groups=True)
    network = IsolatedNetwork(stack, "Network", name="acme-ml", cidr="10.40.0.0/16", key=ml_key,
                              bucket_arns=[lake.bucket_arn(zone) for zone in lake.buckets])
    execution = SageMakerExecution(stack, "Execution", name_prefix="acme", lake=lake, ml_key=ml_key,
                                   vpc=network.vpc, training_data_prefix="training/clicks/")
    execution.role    # pass it to CreateTrainingJob / CreateModel
    execution.guard   # attach it to the roles that create SageMaker jobs (None if deny_jobs_outside_vpc=False)
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.roles import service_role
from patterns.sagemaker_lake import CHECKPOINTS_PREFIX, DATA_CAPTURE_PREFIX, MODELS_PREFIX, MONITORING_PREFIX


class SageMakerExecution(Construct):
    """The role SageMaker jobs and models run as: the training data and model prefixes of the
    curated zone, the data-capture prefix of the raw zone, the keys, VPC network interfaces,
    logs and metrics. Nothing else in the lake."""

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, lake: DataLakeStorage, ml_key: kms.IKey,
                 vpc: ec2.IVpc, training_data_prefix: str = "training/", deny_jobs_outside_vpc: bool = True,
                 model_artifacts: Sequence[str] = (), monitoring: bool = False) -> None:
        """`lake` must have a `curated` and a `raw` zone. `ml_key` encrypts the training volumes.
        `training_data_prefix`: the curated-zone folder training reads (`<prefix>train/`,
        `<prefix>validation/`). `deny_jobs_outside_vpc` creates `guard`, a managed policy that
        denies creating SageMaker jobs, models and notebooks without VPC subnets: attach it to
        every role that creates them (TrainingPipeline attaches it to its own role).
        `model_artifacts`: ARNs of model.tar.gz objects the hosted models load from outside the
        curated `models/` prefix (the network's S3 endpoint policy must allow them too).
        `monitoring`: Model Monitor jobs run as this role too: list the captured requests, and read
        and write the curated `monitoring/` prefix (baselines, reports); the baseline's input lies in
        the training-data prefix, which the role reads already."""
        super().__init__(scope, id_)
        if not training_data_prefix.endswith("/") or training_data_prefix.startswith("/"):
            raise ValueError(f"training_data_prefix={training_data_prefix!r} is not a folder of the curated zone: "
                             "end it with '/', no leading '/', e.g. 'training/'")
        self.training_data_prefix = training_data_prefix
        readable = [lake.objects_arn("curated", f"{training_data_prefix}*"), lake.objects_arn("curated", f"{MODELS_PREFIX}*")]
        configured = [arn for arn in model_artifacts if arn not in readable]
        writable = [lake.objects_arn("curated", f"{MODELS_PREFIX}*"), lake.objects_arn("curated", f"{CHECKPOINTS_PREFIX}*"),
                    lake.objects_arn("raw", f"{DATA_CAPTURE_PREFIX}*")]
        sagemaker_logs = regional_arn("logs", "log-group:/aws/sagemaker/*")
        monitoring_objects = [lake.objects_arn("curated", f"{MONITORING_PREFIX}*")] if monitoring else []
        monitoring_statements = [
            iam.PolicyStatement(sid="ListCapturedRequests", actions=["s3:ListBucket"],
                                resources=[lake.bucket_arn("raw")],
                                conditions={"StringLike": {"s3:prefix": [f"{DATA_CAPTURE_PREFIX}*"]}}),
            iam.PolicyStatement(sid="ListMonitoringOutput", actions=["s3:ListBucket"],
                                resources=[lake.bucket_arn("curated")],
                                conditions={"StringLike": {"s3:prefix": [f"{MONITORING_PREFIX}*"]}}),
            iam.PolicyStatement(sid="ReadAndWriteBaselinesAndReports", actions=[
                "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], resources=monitoring_objects),
        ] if monitoring else []
        self.role, self.policy = service_role(
            self,
            "Execution",
            service="sagemaker.amazonaws.com",
            description=f"{name_prefix}: SageMaker training jobs and models (lake prefixes, ML key, VPC)",
            statements=[
                iam.PolicyStatement(sid="ListTheirPrefixes", actions=["s3:ListBucket"],
                                    resources=[lake.bucket_arn("curated")],
                                    conditions={"StringLike": {"s3:prefix": [f"{training_data_prefix}*",
                                                                              f"{MODELS_PREFIX}*",
                                                                              f"{CHECKPOINTS_PREFIX}*"]}}),
                iam.PolicyStatement(sid="ReadTrainingDataAndModels", actions=["s3:GetObject"], resources=readable),
                *([iam.PolicyStatement(sid="ReadConfiguredModelArtifacts", actions=["s3:GetObject"],
                                       resources=configured)] if configured else []),
                iam.PolicyStatement(sid="WriteModelsCheckpointsAndCapture", actions=["s3:PutObject", "s3:GetObject",
                                                                                     "s3:AbortMultipartUpload"],
                                    resources=writable),
                lake.key_through_s3("UseTheLakeKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"]),
                iam.PolicyStatement(sid="EncryptVolumesWithTheMlKey",
                                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                                    resources=[ml_key.key_arn]),
                # Training volumes are EBS volumes SageMaker attaches for the job: it creates a
                # grant on the ML key for them, with this role's credentials.
                iam.PolicyStatement(sid="GrantTheMlKeyToVolumes", actions=["kms:CreateGrant"],
                                    resources=[ml_key.key_arn],
                                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
                iam.PolicyStatement(
                    sid="ManageJobNetworkInterfaces",
                    actions=["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                             "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
                    resources=["*"],
                    conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
                ),
                iam.PolicyStatement(sid="DescribeTheNetwork", actions=[
                    "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], resources=["*"]),
                iam.PolicyStatement(sid="WriteSageMakerLogs", actions=["logs:CreateLogGroup", "logs:CreateLogStream",
                                                                       "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                    resources=[sagemaker_logs, f"{sagemaker_logs}:log-stream:*"]),
                iam.PolicyStatement(sid="PublishSageMakerMetrics", actions=["cloudwatch:PutMetricData"],
                                    resources=["*"],
                                    conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*",
                                                                                         "aws/sagemaker/*"]}}),
                *monitoring_statements,
            ],
        )
        acknowledge(
            self.policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]"
             for arn in dict.fromkeys([*readable, *writable, sagemaker_logs, f"{sagemaker_logs}:log-stream:*",
                                       *monitoring_objects])]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "SageMaker names model artifacts, checkpoints, captured requests and log streams at run "
            "time, so access is per prefix this role owns; network-interface actions are limited "
            "to this VPC by ec2:Vpc, and EC2 Describe* and PutMetricData (limited to SageMaker "
            "namespaces) support no resource-level permissions.",
        )
        self.guard: iam.ManagedPolicy | None = None
        if deny_jobs_outside_vpc:
            # Only actions whose requests carry sagemaker:VpcSubnets (Service Authorization
            # Reference). CreateTransformJob never does, so a Null test would deny every transform
            # job; a transform job runs in the VPC of its model, and CreateModel is guarded.
            self.guard = iam.ManagedPolicy(
                self,
                "VpcOnlyGuard",
                description=f"{name_prefix}: deny SageMaker jobs, models and notebooks outside a VPC",
                statements=[iam.PolicyStatement(
                    sid="DenySageMakerResourcesOutsideAVpc",
                    effect=iam.Effect.DENY,
                    actions=["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
                             "sagemaker:CreateHyperParameterTuningJob", "sagemaker:CreateModel",
                             "sagemaker:CreateNotebookInstance",
                             # A monitoring schedule's jobs, inline or from a job definition.
                             "sagemaker:CreateMonitoringSchedule", "sagemaker:UpdateMonitoringSchedule",
                             "sagemaker:CreateDataQualityJobDefinition"],
                    resources=["*"],
                    conditions={"Null": {"sagemaker:VpcSubnets": "true"}},
                )],
            )

    def grant_batch_transform(self, scope: Construct, id_: str, *, lake: DataLakeStorage, input_prefix: str,
                              output_zone: str, output_prefix: str) -> iam.ManagedPolicy:
        """A managed policy, attached to the role, for batch transform jobs that run as it: list and
        read the curated zone's `input_prefix`, write under `output_prefix` of `output_zone`. The
        lake key is already usable through S3 (see above); nothing else is added."""
        for what, prefix in (("input_prefix", input_prefix), ("output_prefix", output_prefix)):
            if not prefix.endswith("/") or prefix.startswith("/"):
                raise ValueError(f"{what}={prefix!r} is not a folder: end it with '/', no leading '/'")
        readable = lake.objects_arn("curated", f"{input_prefix}*")
        writable = lake.objects_arn(output_zone, f"{output_prefix}*")
        policy = iam.ManagedPolicy(
            scope, id_, roles=[self.role],
            description=f"SageMaker batch transform: read curated {input_prefix}, write {output_zone} {output_prefix}",
            statements=[
                iam.PolicyStatement(sid="ListTheTransformInput", actions=["s3:ListBucket"],
                                    resources=[lake.bucket_arn("curated")],
                                    conditions={"StringLike": {"s3:prefix": [f"{input_prefix}*"]}}),
                iam.PolicyStatement(sid="ReadTheTransformInput", actions=["s3:GetObject"], resources=[readable]),
                iam.PolicyStatement(sid="WriteTheTransformOutput", actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                                    resources=[writable]),
            ],
        )
        acknowledge(policy, [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]" for arn in (readable, writable)],
                    "Batch transform reads every object of its input prefix and names its output objects after "
                    "them at run time, so access is per prefix: the input folder of the curated zone and the "
                    "predictions folder of the results zone.")
        return policy
