"""DeployTimeFunction: a small Lambda function that only CloudFormation invokes (a custom-resource handler).

Why not CDK's own providers (`restrict_default_security_group`, `auto_delete_objects`,
`custom_resources.Provider`)? They are plain `CfnResource` objects, so the in-app cdk-nag run skips
them while an auditor who reloads the template (or AWS Config) flags them. This construct is an L2
`Function` that every check sees: its own role and managed policy (no inline policy, no AWS-managed
policy), an encrypted log group with bounded retention, X-Ray tracing, and the three Lambda
controls that cannot apply to a handler CloudFormation calls synchronously acknowledged, with
reasons, on the function itself.

Usage, in any stack (the key must let CloudWatch Logs use it)::

    handler = DeployTimeFunction(stack, "CloseDefaultSg", name="acme-close-default-sg",
                                 description="Custom resource: revoke the default security group's rules",
                                 source=Path("assets/close_default_security_group"), key=log_key,
                                 statements=[iam.PolicyStatement(actions=["ec2:DescribeSecurityGroups"],
                                                                 resources=["*"])],
                                 wildcard_reason="DescribeSecurityGroups supports no resource-level permissions.")
    CustomResource(stack, "Closed", service_token=handler.function.function_arn,
                   resource_type="Custom::DefaultSecurityGroupClosed", properties={...})
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference
from patterns.log_groups import encrypted_log_group, log_stream_arn
from patterns.roles import depend_on_policy_only, service_role

RUNTIME = lambda_.Runtime.PYTHON_3_14
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


class DeployTimeFunction(Construct):
    """`statements` are the function's permissions besides its own log streams and X-Ray;
    `wildcard_reason` says why any of them, or a finding on them, needs a wildcard (the X-Ray
    actions always do). `source` is a directory holding `handler.py` with a `handler` function."""

    def __init__(self, scope: Construct, id_: str, *, name: str, description: str, source: Path,
                 key: kms.IKey, statements: Sequence[iam.PolicyStatement], wildcard_reason: str,
                 wildcard_findings: Sequence[str] = (), timeout: Duration = Duration.minutes(1),
                 log_retention_days: int = 365, destroy_on_removal: bool = False) -> None:
        super().__init__(scope, id_)
        log_group_name = f"/aws/lambda/{name}"
        log_group = encrypted_log_group(self, "Logs", name=log_group_name, key=key,
                                        retention_days=log_retention_days, destroy_on_removal=destroy_on_removal)
        streams = log_stream_arn(log_group_name)
        role, self.policy = service_role(
            self, "", service="lambda.amazonaws.com", description=f"{name}: {description}",
            statements=[*statements,
                        iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[streams]),
                        iam.PolicyStatement(actions=XRAY_ACTIONS, resources=["*"])],
        )
        self.function = lambda_.Function(
            self, "Function", function_name=name, description=description,
            runtime=RUNTIME, architecture=lambda_.Architecture.ARM_64, handler="handler.handler",
            code=lambda_.Code.from_asset(str(source), exclude=["tests", "__pycache__", "*.pyc", ".pytest_cache"]),
            memory_size=128, timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE, role=role.without_policy_updates(), log_group=log_group,
        )
        depend_on_policy_only(self.function, self.policy)
        acknowledge(
            self.policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, streams)}]", "AwsSolutions-IAM5[Resource::*]",
             *wildcard_findings],
            f"{wildcard_reason} The X-Ray actions support no resource-level permissions; Lambda names its log "
            "streams at run time, so the log grant covers the streams of this function's own log group only.",
        )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC", "PCI.DSS.321-LambdaInsideVPC"],
            "A deploy-time handler, invoked only by CloudFormation, that calls AWS service APIs and reads "
            "nothing inside a VPC; an attachment would add network interfaces and no control (and the "
            "isolated VPC has no route to the EC2 API).",
            checkov=["CKV_AWS_117"],
        )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ", "Serverless-LambdaDLQ"],
            "Invoked only by CloudFormation for its custom resources; the handler reports every outcome, "
            "errors included, to CloudFormation, which fails and rolls back the deploy. A dead-letter "
            "queue would hold a stale deploy request nobody can replay.",
            checkov=["CKV_AWS_116"],
        )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency"],
            "Runs once per deploy; a reservation would only take concurrency from the account, and in a "
            "new account (quota 10, all of which Lambda keeps unreserved) it would fail the deploy.",
            checkov=["CKV_AWS_115"],
        )
