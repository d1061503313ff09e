"""RecordTransform: the Lambda function Firehose calls to transform records, with its own
least-privilege role, an encrypted log group and X-Ray tracing.

The handler follows Firehose's data-transformation contract (every `recordId` back once, `Ok`,
`Dropped` or `ProcessingFailed`). Only Firehose invokes it, synchronously: the function has no
dead-letter queue and no VPC attachment, and says why in its cdk-nag acknowledgements.

Usage, in any stack (`key` must allow CloudWatch Logs, see `customer_managed_key(for_log_groups=True)`)::

    transform = RecordTransform(stack, "ClicksTransform", function_name="acme-clicks-transform", key=key,
                                code_directory="lambda/clicks_transform")  # handler.py: handler(event, _)
    transform.function  # give it to ParquetDelivery
"""

from __future__ import annotations

import os

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference
from patterns.log_groups import encrypted_log_group, log_stream_arn
from patterns.roles import depend_on_policy_only, service_role

TIMEOUT = Duration.minutes(1)  # Firehose waits at most 5 minutes; a 1 MiB batch takes seconds
RUNTIME = lambda_.Runtime.PYTHON_3_14
ASSET_EXCLUDES = ["tests", "__pycache__", "*.pyc", ".pytest_cache"]


class RecordTransform(Construct):
    """Function `function_name` from `code_directory` (its tests and caches left out of the asset),
    arm64, `memory_mib`, at most `reserved_concurrency` concurrent runs (None: no reservation), traced; it logs to
    `/aws/lambda/<function_name>`, encrypted with `key` and kept `log_retention_days`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        function_name: str,
        code_directory: str | os.PathLike[str],
        key: kms.IKey,
        handler: str = "handler.handler",
        description: str = "Transforms records for Firehose",
        memory_mib: int = 256,
        reserved_concurrency: int | None = 5,
        log_retention_days: int = 365,
        destroy_on_removal: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        if not 128 <= memory_mib <= 10240:
            raise ValueError(f"memory_mib={memory_mib!r}: Lambda allows 128 to 10240 MiB")
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(f"reserved_concurrency={reserved_concurrency!r}: reserve at least 1, or Firehose "
                             "can never invoke the function")
        log_group_name = f"/aws/lambda/{function_name}"
        self.log_group = encrypted_log_group(self, "TransformLogs", name=log_group_name, key=key,
                                             retention_days=log_retention_days, destroy_on_removal=destroy_on_removal)
        log_streams = log_stream_arn(log_group_name)
        self.role, policy = service_role(
            self,
            "Transform",
            service="lambda.amazonaws.com",
            description=f"{function_name}: its own log streams and X-Ray traces, nothing else",
            statements=[
                iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_streams]),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
            ],
        )
        self.function = lambda_.Function(
            self,
            "Transform",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(code_directory), exclude=ASSET_EXCLUDES),
            memory_size=memory_mib,
            timeout=TIMEOUT,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            # Immutable: the X-Ray grant lives in the managed policy above, not in an inline policy.
            role=self.role.without_policy_updates(),
            log_group=self.log_group,
        )
        depend_on_policy_only(self.function, policy)
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, log_streams)}]", "AwsSolutions-IAM5[Resource::*]"],
            "Lambda names its log streams at run time, so the grant covers the streams of this "
            "function's own log group only; X-Ray PutTraceSegments and PutTelemetryRecords support "
            "no resource-level permissions.",
        )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC", "PCI.DSS.321-LambdaInsideVPC"],
            "Firehose invokes this function synchronously with the records in the request; it calls "
            "no other service and reads no VPC resource, so a VPC attachment would add ENIs and no "
            "network control.",
            checkov=["CKV_AWS_117"],
        )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ", "Serverless-LambdaDLQ"],
            "Only invoked synchronously by Firehose, which retries failed invocations and then "
            "writes the batch under errors/.../processing-failed/; an async dead-letter queue "
            "would never receive an event.",
            checkov=["CKV_AWS_116"],
        )
        if reserved_concurrency is None:
            acknowledge(
                self.function,
                ["HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency"],
                "No reservation was asked for (reserved_concurrency=None): Lambda keeps 10 executions "
                "unreserved, so in an account whose concurrency quota is still 10, such as a new "
                "sandbox account, any reservation fails the deploy. Pass a reservation where the "
                "quota allows one, as this app's prod profile does.",
                checkov=["CKV_AWS_115"],
            )
