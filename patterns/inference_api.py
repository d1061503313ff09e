"""InferenceApi: a REST API in front of a SageMaker endpoint, for applications that are not in the VPC.

API Gateway (IAM/SigV4 auth on every method, the request body validated against the model's
features, stage throttling, KMS-encrypted access and execution logs, X-Ray) -> a Lambda function in
the isolated VPC -> sagemaker-runtime InvokeEndpoint through the VPC's interface endpoint.

Why IAM (SigV4) and not Cognito or API keys: the callers are applications and operators with AWS
credentials, so IAM needs no user pool and no shared secret, each call is signed (integrity,
replay window), and who may call is one IAM action (`execute-api:Invoke` on the method ARN) that
the rest of the app's least-privilege model already speaks. Cognito fits end users signing in;
API keys identify a client for metering but authenticate nobody (they travel as a plain header).

Throttling, as API Gateway really applies it: the stage's rate and burst limit every caller. A
usage plan's throttle and quota apply only to requests that carry an API key of the plan; with
`quota_requests_per_day` set, the method requires an API key (in addition to SigV4) and the plan
meters it; with None, there is no usage plan and no key (it would limit nothing).

`private_endpoint`: a PRIVATE API, reachable only through that execute-api VPC endpoint; its
resource policy denies any call that does not come through it and lets the account's own IAM
policies decide the rest. The endpoint answers only the security groups its group admits, so the
construct adds `caller_security_group`: attach it to a caller in the VPC (HTTPS to the interface
endpoints only; the endpoints' group lets it in on 443). `manage_account_cloudwatch_role` creates the account-wide
AWS::ApiGateway::Account setting (API Gateway's CloudWatch Logs role for the whole region, needed
by access and execution logs); leave it False where the account already has one.

Usage, in any stack::

    api = InferenceApi(stack, "Api", name="acme-inference", endpoint_name="acme-endpoint",
                       features=features_from_schema(Path("schema.json"), ("x", "y")), missing_value=-1,
                       code_directory="lambda/inference_api", key=key, vpc=vpc, subnets=vpc.isolated_subnets,
                       endpoint_security_group=endpoints_sg)
    api.url  # https://.../v1/predictions
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import acknowledge, finding_reference, skip_checkov
from patterns.log_groups import encrypted_log_group, log_stream_arn
from patterns.roles import depend_on_policy_only, service_role

RUNTIME = lambda_.Runtime.PYTHON_3_14
ASSET_EXCLUDES = ["tests", "__pycache__", "*.pyc", ".pytest_cache"]
# API Gateway ends an integration after 29 s; the function stops before, its client before that.
TIMEOUT = Duration.seconds(28)
STAGE = "v1"
RESOURCE = "predictions"
HTTPS = ec2.Port.tcp(443)
# Dataset schema types -> JSON Schema types of a feature (only numeric columns can be features).
FEATURE_TYPES = {"double": "number", "int": "integer", "bigint": "integer"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Feature:
    """One input of the model: a JSON Schema type ("number" or "integer"), whether a request must give
    it, and its allowed range (None: unbounded)."""

    name: str
    type: str
    required: bool
    minimum: float | None = None
    maximum: float | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def features_from_schema(schema_file: Path, names: Sequence[str]) -> list[Feature]:
    """The features `names`, in that order, with type, required and range from a dataset schema file
    (patterns/dataset_schema.py's format, plus its optional `minimum`/`maximum`)."""
    columns = {c["name"]: c for c in json.loads(Path(schema_file).read_text())["columns"]}
    features = []
    for name in names:
        if name not in columns:
            raise ValueError(f"feature {name!r} is not a column of {schema_file}")
        column = columns[name]
        if column["type"] not in FEATURE_TYPES:
            raise ValueError(f"feature {name!r} has type {column['type']!r}; features must be one of "
                             f"{', '.join(FEATURE_TYPES)}")
        features.append(Feature(name=name, type=FEATURE_TYPES[column["type"]], required=column["required"],
                                minimum=column.get("minimum"), maximum=column.get("maximum")))
    return features


def request_schema(features: Sequence[Feature], max_rows: int) -> apigw.JsonSchema:
    """The request body's JSON Schema (draft 4, what API Gateway validates): {"instances": [rows]}."""

    def feature_schema(feature: Feature) -> apigw.JsonSchema:
        kind = apigw.JsonSchemaType.NUMBER if feature.type == "number" else apigw.JsonSchemaType.INTEGER
        return apigw.JsonSchema(type=kind if feature.required else [kind, apigw.JsonSchemaType.NULL],
                                minimum=feature.minimum, maximum=feature.maximum)

    # Draft 4 requires `required` to list at least one name: left out when every feature is optional.
    required = [f.name for f in features if f.required] or None
    row = apigw.JsonSchema(
        type=apigw.JsonSchemaType.OBJECT, additional_properties=False, required=required,
        properties={f.name: feature_schema(f) for f in features},
    )
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4, title="PredictionRequest", type=apigw.JsonSchemaType.OBJECT,
        additional_properties=False, required=["instances"],
        properties={"instances": apigw.JsonSchema(type=apigw.JsonSchemaType.ARRAY, min_items=1, max_items=max_rows,
                                                  items=row)},
    )


class InferenceApi(Construct):
    """POST /predictions on stage v1 of API `name`, invoking endpoint `endpoint_name` (its ARN is the
    only one the function may invoke). The function `name` runs in `subnets` with its own security
    group, which may send HTTPS only to `endpoint_security_group` (the interface endpoints'; this
    construct lets it in). Logs: `/aws/lambda/<name>`, `/aws/apigateway/<name>/access` and API
    Gateway's execution-log group, all encrypted with `key` and kept `log_retention_days`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        endpoint_name: str,
        features: Sequence[Feature],
        missing_value: float,
        code_directory: str | os.PathLike[str],
        key: kms.IKey,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        endpoint_security_group: ec2.ISecurityGroup,
        max_rows: int = 100,
        throttle_rate_per_second: int = 10,
        throttle_burst: int = 20,
        quota_requests_per_day: int | None = None,
        reserved_concurrency: int | None = None,
        private_endpoint: ec2.IInterfaceVpcEndpoint | None = None,
        manage_account_cloudwatch_role: bool = False,
        memory_mib: int = 256,
        log_retention_days: int = 365,
        destroy_on_removal: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        if not features:
            raise ValueError("features: the model needs at least one")
        if not 1 <= max_rows <= 1000:
            raise ValueError(f"max_rows={max_rows!r}: allowed 1..1000")
        if throttle_burst < throttle_rate_per_second:
            raise ValueError(f"throttle_burst={throttle_burst} must be at least throttle_rate_per_second="
                             f"{throttle_rate_per_second}")
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(f"reserved_concurrency={reserved_concurrency!r}: reserve at least 1, or None")
        self.endpoint_arn = regional_arn("sagemaker", f"endpoint/{endpoint_name.lower()}")
        self._function(name, endpoint_name, features, missing_value, code_directory, key, vpc, subnets,
                       endpoint_security_group, max_rows, reserved_concurrency, memory_mib, log_retention_days,
                       destroy_on_removal)
        self._api(name, features, max_rows, key, throttle_rate_per_second, throttle_burst, quota_requests_per_day,
                  private_endpoint, manage_account_cloudwatch_role, log_retention_days, destroy_on_removal)
        self.caller_security_group = None
        if private_endpoint is not None:
            self.caller_security_group = self._allow_into_endpoints(
                "Caller", vpc, endpoint_security_group, f"{name} callers: HTTPS to the private API endpoint only",
                "the private API through its execute-api endpoint", f"HTTPS from callers of {name}")

    # ------------------------------------------------------------------ the function

    def _function(self, name, endpoint_name, features, missing_value, code_directory, key, vpc, subnets,
                  endpoint_security_group, max_rows, reserved_concurrency, memory_mib, log_retention_days,
                  destroy_on_removal) -> None:
        log_group_name = f"/aws/lambda/{name}"
        self.function_log_group = encrypted_log_group(self, "FunctionLogs", name=log_group_name, key=key,
                                                      retention_days=log_retention_days,
                                                      destroy_on_removal=destroy_on_removal)
        self.security_group = self._allow_into_endpoints(
            "Function", vpc, endpoint_security_group, f"{name}: HTTPS to the interface endpoints only",
            "sagemaker-runtime through its endpoint", f"HTTPS from {name}")
        streams = log_stream_arn(log_group_name)
        self.role, policy = service_role(
            self, "Function", service="lambda.amazonaws.com",
            description=f"{name}: invoke {endpoint_name} only, its own logs and traces, its VPC interfaces",
            statements=[
                iam.PolicyStatement(sid="InvokeTheEndpoint", actions=["sagemaker:InvokeEndpoint"],
                                    resources=[self.endpoint_arn]),
                iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[streams]),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
                # What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's network
                # interfaces with the function's role, and these actions take no resource ARN.
                iam.PolicyStatement(sid="VpcNetworkInterfaces", actions=[
                    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                    resources=["*"]),
            ],
        )
        self.function = lambda_.Function(
            self, "Function", function_name=name,
            description=f"Inference API: JSON -> CSV -> {endpoint_name} -> JSON",
            runtime=RUNTIME, architecture=lambda_.Architecture.ARM_64, handler="handler.handler",
            code=lambda_.Code.from_asset(str(code_directory), exclude=ASSET_EXCLUDES),
            memory_size=memory_mib, timeout=TIMEOUT, reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE, role=self.role.without_policy_updates(), log_group=self.function_log_group,
            vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)), security_groups=[self.security_group],
            environment={"ENDPOINT_NAME": endpoint_name, "MISSING_VALUE": str(missing_value), "MAX_ROWS": str(max_rows),
                         "FEATURES": json.dumps([f.as_json() for f in features], separators=(",", ":"))},
        )
        depend_on_policy_only(self.function, policy)
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, streams)}]", "AwsSolutions-IAM5[Resource::*]"],
            "Lambda names its log streams at run time (the grant covers this function's own log group); "
            "X-Ray PutTraceSegments/PutTelemetryRecords and the EC2 network-interface actions Lambda uses "
            "for a VPC function support no resource-level permissions. The endpoint grant names one ARN.",
        )
        skip_checkov(policy, ["CKV_AWS_111"],
                     "Lambda creates and deletes the VPC function's network interfaces with the function's role "
                     "and validates these EC2 actions on any resource at deploy time (the grant "
                     "AWSLambdaVPCAccessExecutionRole makes); every other write names its ARN.")
        acknowledge(
            self.function, ["HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ", "Serverless-LambdaDLQ"],
            "API Gateway invokes this function synchronously and returns its answer, or its error, to the "
            "caller, who retries; a dead-letter queue receives only failed asynchronous invocations, of "
            "which there are none.",
            checkov=["CKV_AWS_116"],
        )
        skip_checkov(self.function, ["CKV_AWS_173"],
                     "The environment holds only the endpoint name, the feature list and limits, nothing "
                     "secret; Lambda encrypts it at rest with its service key.")
        if reserved_concurrency is None:
            acknowledge(
                self.function, ["HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency"],
                "No reservation was asked for (reserved_concurrency=None): Lambda keeps 10 executions "
                "unreserved, so in an account whose concurrency quota is still 10, such as a new sandbox "
                "account, any reservation fails the deploy. The stage throttle bounds the load instead.",
                checkov=["CKV_AWS_115"],
            )

    def _allow_into_endpoints(self, prefix, vpc, endpoint_security_group, description, egress, ingress):
        """A security group that may send HTTPS to the interface endpoints' group, which lets it in."""
        group = ec2.SecurityGroup(self, f"{prefix}SecurityGroup", vpc=vpc, allow_all_outbound=False,
                                  description=description)
        group.add_egress_rule(endpoint_security_group, HTTPS, egress)
        # An L1 rule in this construct's stack: add_ingress_rule would put it in the endpoint group's
        # stack, which would then depend on this one (a cycle when the network is another stack).
        ec2.CfnSecurityGroupIngress(
            self, "EndpointIngress" if prefix == "Function" else f"{prefix}EndpointIngress",
            group_id=endpoint_security_group.security_group_id, ip_protocol="tcp", from_port=443, to_port=443,
            source_security_group_id=group.security_group_id, description=ingress)
        return group

    # ------------------------------------------------------------------ the API

    def _api(self, name, features, max_rows, key, rate, burst, quota, private_endpoint, manage_account_role,
             log_retention_days, destroy_on_removal) -> None:
        self.access_log_group = encrypted_log_group(self, "AccessLogs", name=f"/aws/apigateway/{name}/access", key=key,
                                                    retention_days=log_retention_days,
                                                    destroy_on_removal=destroy_on_removal)
        policy = None
        if private_endpoint is not None:
            invoke = f"execute-api:/{STAGE}/POST/{RESOURCE}"
            vpce = {"aws:SourceVpce": private_endpoint.vpc_endpoint_id}
            policy = iam.PolicyDocument(statements=[
                # The account's principals, whose own IAM policies must still allow execute-api:Invoke.
                iam.PolicyStatement(sid="AccountCallersThroughTheVpcEndpoint", actions=["execute-api:Invoke"],
                                    principals=[iam.AccountRootPrincipal()], resources=[invoke],
                                    conditions={"StringEquals": vpce}),
                iam.PolicyStatement(sid="DenyCallsNotThroughTheVpcEndpoint", effect=iam.Effect.DENY,
                                    actions=["execute-api:Invoke"], principals=[iam.AnyPrincipal()],
                                    resources=["execute-api:/*"], conditions={"StringNotEquals": vpce}),
            ])
        self.api = apigw.RestApi(
            self, "Api", rest_api_name=name, description=f"{name}: predictions of the model (IAM auth)",
            endpoint_configuration=apigw.EndpointConfiguration(
                types=[apigw.EndpointType.PRIVATE if private_endpoint else apigw.EndpointType.REGIONAL],
                vpc_endpoints=[private_endpoint] if private_endpoint else None),
            policy=policy,
            cloud_watch_role=manage_account_role,
            # The account setting must outlive this stack: other APIs of the region log through it.
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if manage_account_role else None,
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            deploy_options=apigw.StageOptions(
                stage_name=STAGE, throttling_rate_limit=rate, throttling_burst_limit=burst, tracing_enabled=True,
                metrics_enabled=True, logging_level=apigw.MethodLoggingLevel.ERROR, data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True, http_method=True, ip=True, protocol=True, request_time=True, resource_path=True,
                    response_length=True, status=True, user=True)),
        )
        self.api.node.try_remove_child("Endpoint")  # CDK's own URL output; the stack names its outputs
        # API Gateway writes execution logs to this group name; created here, it is encrypted and bounded.
        self.execution_log_group = encrypted_log_group(
            self, "ExecutionLogs", name=f"API-Gateway-Execution-Logs_{self.api.rest_api_id}/{STAGE}", key=key,
            retention_days=log_retention_days, destroy_on_removal=destroy_on_removal)
        self.api.deployment_stage.node.add_dependency(self.execution_log_group)
        self.api.add_gateway_response(
            "BadRequestBody", type=apigw.ResponseType.BAD_REQUEST_BODY, status_code="400",
            templates={"application/json": '{"message": "$context.error.validationErrorString"}'})
        model = self.api.add_model("PredictionRequest", content_type="application/json", model_name="PredictionRequest",
                                   schema=request_schema(features, max_rows))
        # Parameters too: the method declares none required, so this only makes the validator complete.
        validator = self.api.add_request_validator("BodyValidator", validate_request_body=True,
                                                   validate_request_parameters=True)
        self.method = self.api.root.add_resource(RESOURCE).add_method(
            "POST", apigw.LambdaIntegration(self.function, proxy=True, allow_test_invoke=False),
            authorization_type=apigw.AuthorizationType.IAM, request_models={"application/json": model},
            request_validator=validator, api_key_required=quota is not None,
        )
        self.api_key = None
        if quota is not None:
            self.api_key = self.api.add_api_key("ApiKey", description=f"{name}: the key the usage plan meters")
            plan = self.api.add_usage_plan(
                "UsagePlan", name=f"{name}-plan", description="Per-key throttle and daily quota",
                throttle=apigw.ThrottleSettings(rate_limit=rate, burst_limit=burst),
                quota=apigw.QuotaSettings(limit=quota, period=apigw.Period.DAY),
            )
            plan.add_api_stage(stage=self.api.deployment_stage)
            plan.add_api_key(self.api_key)
        acknowledge(
            self.method, ["AwsSolutions-COG4"],
            "The method uses IAM (SigV4) authorization: the callers are applications and operators with AWS "
            "credentials, who need no Cognito user pool; execute-api:Invoke on this method's ARN decides who "
            "may call (see the module docstring for why not Cognito or API keys).",
        )
        self.url = self.api.url_for_path(f"/{RESOURCE}")
        self.method_arn = self.method.method_arn
        # What callers attach: the one action IAM auth checks, on this method of this stage only.
        self.invoke_policy = iam.ManagedPolicy(
            self, "InvokePolicy", managed_policy_name=f"{name}-invoke",
            description=f"Call POST /{RESOURCE} of {name} (stage {STAGE}) with SigV4",
            statements=[iam.PolicyStatement(sid="InvokeThePredictionsMethod", actions=["execute-api:Invoke"],
                                            resources=[self.method_arn])])
        stage = self.api.deployment_stage.node.default_child
        acknowledge(
            stage, ["AwsSolutions-APIG3", "NIST.800.53.R5-APIGWAssociatedWithWAF", "PCI.DSS.321-APIGWAssociatedWithWAF"],
            "Every method requires SigV4-signed IAM credentials, the body is validated against the model's "
            "schema and the stage is throttled; a web ACL (about $6 a month idle) would filter anonymous "
            "web traffic that IAM authorization already rejects before any integration runs.",
        )
        acknowledge(
            stage, ["HIPAA.Security-APIGWCacheEnabledAndEncrypted", "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
                    "PCI.DSS.321-APIGWCacheEnabledAndEncrypted"],
            "Each POST asks for a prediction of new readings: a response cache would bill by the hour and "
            "answer nothing (caching is for GET methods); there is no cache to encrypt.",
            checkov=["CKV_AWS_120"],
        )
        acknowledge(
            stage, ["HIPAA.Security-APIGWSSLEnabled", "NIST.800.53.R5-APIGWSSLEnabled", "PCI.DSS.321-APIGWSSLEnabled"],
            "A client certificate authenticates API Gateway to an HTTP backend; the backend here is a Lambda "
            "proxy integration, called through the Lambda API with the API's invoke permission.",
        )
        if manage_account_role:
            role = self.api.node.find_child("CloudWatchRole")
            acknowledge(
                role, ["AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                       "AmazonAPIGatewayPushToCloudWatchLogs]"],
                "API Gateway's account-wide logging role serves every API of the region, whose log groups "
                "this app cannot name; the AWS managed policy is the one API Gateway documents for it.",
            )
