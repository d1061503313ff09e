"""The inference API in the templates: IAM auth on every method, the request model generated from the
dataset schema, throttling and the usage plan, encrypted logs, X-Ray, the VPC Lambda and its grants,
the private option (prod), and the off switch (nothing of it is built)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

from stacks.app_factory import build_app

API = "AWS::ApiGateway::RestApi"


def one(synth, type_):
    return synth.only("SageMaker", type_)[1]


def test_every_method_requires_iam_sigv4(each_profile):
    methods = each_profile.resources("SageMaker", "AWS::ApiGateway::Method")
    assert [m["Properties"]["HttpMethod"] for m in methods.values()] == ["POST"]
    assert {m["Properties"]["AuthorizationType"] for m in methods.values()} == {"AWS_IAM"}


def test_the_request_model_is_the_models_features_from_the_dataset_schema(sandbox):
    model = one(sandbox, "AWS::ApiGateway::Model")["Properties"]
    assert model["ContentType"] == "application/json"
    # Literal: the schema file's numeric features, its ranges, required only where the schema says so.
    assert model["Schema"] == {
        "$schema": "http://json-schema.org/draft-04/schema#", "title": "PredictionRequest", "type": "object",
        "additionalProperties": False, "required": ["instances"],
        "properties": {"instances": {"type": "array", "minItems": 1, "maxItems": 100, "items": {
            "type": "object", "additionalProperties": False, "required": ["temperature_c"],
            "properties": {"temperature_c": {"type": "number", "minimum": -80, "maximum": 200},
                           "humidity_pct": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
                           "battery_pct": {"type": ["integer", "null"], "minimum": 0, "maximum": 100}}}}},
    }
    validator = one(sandbox, "AWS::ApiGateway::RequestValidator")["Properties"]
    assert validator["ValidateRequestBody"] is True
    method = one(sandbox, "AWS::ApiGateway::Method")["Properties"]
    assert method["RequestValidatorId"] == {"Ref": sandbox.only("SageMaker", "AWS::ApiGateway::RequestValidator")[0]}
    response = one(sandbox, "AWS::ApiGateway::GatewayResponse")["Properties"]
    assert response["ResponseType"] == "BAD_REQUEST_BODY"
    assert "$context.error.validationErrorString" in response["ResponseTemplates"]["application/json"]


def test_stage_throttling_xray_and_encrypted_json_access_logs(sandbox):
    stage = one(sandbox, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == "v1" and stage["TracingEnabled"] is True
    (settings,) = stage["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (10, 20)
    assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    access = stage["AccessLogSetting"]
    assert "InferenceApiAccessLogs" in json.dumps(access["DestinationArn"])
    assert json.loads(access["Format"])["requestId"] == "$context.requestId"
    groups = {json.dumps(g["Properties"]["LogGroupName"]): g["Properties"]
              for g in sandbox.resources("SageMaker", "AWS::Logs::LogGroup").values()}
    ml_key = "PublishOutputFnGetAttKey"
    for name in ('"/aws/apigateway/mlspec-sbx-inference/access"', '"/aws/lambda/mlspec-sbx-inference"'):
        assert ml_key in json.dumps(groups[name]["KmsKeyId"]) and groups[name]["RetentionInDays"] == 14
    execution = [g for n, g in groups.items() if "API-Gateway-Execution-Logs_" in n]
    assert len(execution) == 1 and ml_key in json.dumps(execution[0]["KmsKeyId"])


def test_the_usage_plan_meters_an_api_key_that_the_method_requires(sandbox, prod):
    plan = one(sandbox, "AWS::ApiGateway::UsagePlan")["Properties"]
    assert plan["Quota"] == {"Limit": 10000, "Period": "DAY"}
    assert plan["Throttle"] == {"RateLimit": 10, "BurstLimit": 20}
    assert one(sandbox, "AWS::ApiGateway::Method")["Properties"]["ApiKeyRequired"] is True
    assert len(sandbox.resources("SageMaker", "AWS::ApiGateway::UsagePlanKey")) == 1
    # No quota (prod): a plan would limit nothing without keys, so there is neither plan nor key.
    assert not prod.resources("SageMaker", "AWS::ApiGateway::UsagePlan")
    assert not prod.resources("SageMaker", "AWS::ApiGateway::ApiKey")
    assert one(prod, "AWS::ApiGateway::Method")["Properties"]["ApiKeyRequired"] is False


def test_the_function_runs_in_the_isolated_subnets_with_https_only_to_the_endpoints(sandbox):
    function = one(sandbox, "AWS::Lambda::Function")["Properties"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Timeout"] == 28 and "ReservedConcurrentExecutions" not in function
    vpc = function["VpcConfig"]
    assert "isolatedSubnet" in json.dumps(vpc["SubnetIds"])
    (group,) = vpc["SecurityGroupIds"]
    sg_id = group["Fn::GetAtt"][0]
    egress = [r["Properties"] for r in sandbox.resources("SageMaker", "AWS::EC2::SecurityGroupEgress").values()
              if r["Properties"]["GroupId"] == group]
    assert len(egress) == 1
    assert (egress[0]["IpProtocol"], egress[0]["FromPort"], egress[0]["ToPort"]) == ("tcp", 443, 443)
    assert "EndpointSecurityGroup" in json.dumps(egress[0]["DestinationSecurityGroupId"])
    assert sandbox.resources("SageMaker", "AWS::EC2::SecurityGroup")[sg_id]["Properties"].get(
        "SecurityGroupEgress", []) == []
    ingress = one(sandbox, "AWS::EC2::SecurityGroupIngress")["Properties"]
    assert ingress["SourceSecurityGroupId"] == group and ingress["FromPort"] == 443
    assert "EndpointSecurityGroup" in json.dumps(ingress["GroupId"])
    env = function["Environment"]["Variables"]
    assert env["ENDPOINT_NAME"] == "mlspec-sbx-pipeline-endpoint" and env["MISSING_VALUE"] == "-1"
    assert [f["name"] for f in json.loads(env["FEATURES"])] == ["temperature_c", "humidity_pct", "battery_pct"]


def test_reserved_concurrency_follows_the_setting(sandbox, prod):
    assert "ReservedConcurrentExecutions" not in one(sandbox, "AWS::Lambda::Function")["Properties"]
    assert one(prod, "AWS::Lambda::Function")["Properties"]["ReservedConcurrentExecutions"] == 20


def test_only_this_api_stage_and_method_may_invoke_the_function(sandbox):
    (permission,) = sandbox.resources("SageMaker", "AWS::Lambda::Permission").values()
    props = permission["Properties"]
    assert props["Principal"] == "apigateway.amazonaws.com" and props["Action"] == "lambda:InvokeFunction"
    assert props["SourceArn"]["Fn::Join"][1][-1] == "/POST/predictions"  # no test-invoke-stage permission


def test_the_sagemaker_runtime_endpoint_exists_for_the_api_and_names_it(sandbox):
    endpoints = sandbox.resources("MlNetwork", "AWS::EC2::VPCEndpoint")
    runtime = [e for e in endpoints.values() if "sagemaker.runtime" in json.dumps(e["Properties"]["ServiceName"])]
    assert len(runtime) == 1
    assert runtime[0]["Metadata"]["ConsumedBy"] == ["inference API (its Lambda calls InvokeEndpoint)"]
    assert not [e for e in endpoints.values() if "execute-api" in json.dumps(e["Properties"]["ServiceName"])]


def test_prod_is_a_private_api_that_denies_calls_not_through_its_vpc_endpoint(prod, sandbox):
    assert one(sandbox, API)["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    api = one(prod, API)["Properties"]
    assert api["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    statements = {s["Sid"]: s for s in api["Policy"]["Statement"]}
    deny = statements["DenyCallsNotThroughTheVpcEndpoint"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert "ExecuteApiEndpoint" in json.dumps(deny["Condition"]["StringNotEquals"]["aws:SourceVpce"])
    allow = statements["AccountCallersThroughTheVpcEndpoint"]
    assert ":root" in json.dumps(allow["Principal"])  # the account's IAM policies still decide
    endpoints = prod.resources("MlNetwork", "AWS::EC2::VPCEndpoint")
    (execute_api,) = [e for e in endpoints.values() if "execute-api" in json.dumps(e["Properties"]["ServiceName"])]
    assert execute_api["Metadata"]["ConsumedBy"] == ["private inference API (callers in the VPC)"]
    assert len(execute_api["Properties"]["SubnetIds"]) == 2


def test_the_account_cloudwatch_role_is_explicit_and_retained(sandbox):
    account = one(sandbox, "AWS::ApiGateway::Account")
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert sandbox.templates["SageMaker"]["Resources"][role_id]["DeletionPolicy"] == "Retain"


def test_the_outputs_name_the_url_and_the_method_arn(sandbox):
    outputs = sandbox.templates["SageMaker"]["Outputs"]
    assert "/predictions" in json.dumps(outputs["InferenceApiUrl"]["Value"])
    arn = outputs["InferenceApiMethodArn"]["Value"]["Fn::Join"][1]
    assert arn[2] == ":execute-api:" and arn[-1] == "/POST/predictions" and "Stagev1" in arn[-2]["Ref"]
    assert "InferenceApiKeyId" in outputs and "InferenceApiEndpoint9C1E1CC0" not in outputs


def _constructs(built, kind):
    return [c for stack in built.stacks.values() for c in stack.node.find_all() if isinstance(c, kind)]


def test_turned_off_nothing_of_it_is_built():
    built = build_app({"overrides": json.dumps({"inference_api": {"enabled": False, "private": True}})})
    assert not _constructs(built, apigw.CfnRestApi) and not _constructs(built, apigw.CfnAccount)
    assert not [f for f in _constructs(built, lambda_.CfnFunction) if "inference" in f.node.path.lower()]
    endpoints = _constructs(built, ec2.CfnVPCEndpoint)
    assert not [e for e in endpoints if "Runtime" in e.node.path or "ExecuteApi" in e.node.path]
    assert "InferenceApiUrl" not in [c.node.id for c in built.stacks["SageMaker"].node.children]


def test_without_the_account_setting_no_account_wide_resource_is_created():
    built = build_app({"overrides": json.dumps({"inference_api": {"manage_account_cloudwatch_role": False}})})
    assert _constructs(built, apigw.CfnRestApi) and not _constructs(built, apigw.CfnAccount)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_rows": 0}, "max_rows=0: allowed 1..1000"),
    ({"throttle_rate_per_second": 10, "throttle_burst": 5}, "throttle_burst=5 must be at least"),
    ({"reserved_concurrency": 0}, "reserved_concurrency=0"),
    ({"features": []}, "features: the model needs at least one"),
])
def test_the_pattern_refuses_props_aws_would_refuse(kwargs, message):
    from aws_cdk import Stack

    from patterns.inference_api import Feature, InferenceApi
    stack = Stack()
    vpc = ec2.Vpc(stack, "Vpc")
    props = {"name": "x", "endpoint_name": "e", "features": [Feature(name="a", type="number", required=True)],
             "missing_value": -1, "code_directory": "lambda/inference_api", "key": None, "vpc": vpc,
             "subnets": vpc.isolated_subnets, "endpoint_security_group": None, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        InferenceApi(stack, "Api", **props)


def test_a_non_numeric_column_cannot_be_a_feature(tmp_path):
    from patterns.inference_api import features_from_schema
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"columns": [{"name": "status", "type": "string", "required": True}]}))
    with pytest.raises(ValueError, match="features must be one of double, int, bigint"):
        features_from_schema(schema, ["status"])
    with pytest.raises(ValueError, match="'nope' is not a column"):
        features_from_schema(schema, ["nope"])


def test_the_request_model_is_valid_draft_4_and_accepts_exactly_the_handlers_bodies(sandbox):
    """API Gateway validates with JSON Schema draft 4 only: the model must be a valid draft-4 schema,
    and it must accept the documented body and refuse what the handler would refuse."""
    from jsonschema import Draft4Validator
    schema = one(sandbox, "AWS::ApiGateway::Model")["Properties"]["Schema"]
    Draft4Validator.check_schema(schema)
    validator = Draft4Validator(schema)
    reading = {"temperature_c": 71.5, "humidity_pct": 40.25, "battery_pct": 88}
    assert validator.is_valid({"instances": [reading, {"temperature_c": 20, "humidity_pct": None}]})
    for bad in ({"instances": []}, {"instances": [{"humidity_pct": 40}]}, {"instances": [{**reading, "status": "ok"}]},
                {"instances": [{**reading, "battery_pct": 88.5}]}, {"instances": [{**reading, "temperature_c": 201}]},
                {"instances": [reading], "extra": 1}, {"instances": [reading] * 101}):
        assert not validator.is_valid(bad), bad


def test_all_optional_features_give_a_valid_draft_4_schema():
    """Draft 4's `required` must name at least one property: with no required feature it is left out."""
    from aws_cdk import Stack
    from aws_cdk import aws_apigateway as apigateway
    from aws_cdk.assertions import Template
    from jsonschema import Draft4Validator

    from patterns.inference_api import Feature, request_schema
    stack = Stack()
    api = apigateway.RestApi(stack, "Api")
    api.root.add_method("GET")
    api.add_model("M", content_type="application/json",
                  schema=request_schema([Feature(name="a", type="number", required=False)], 5))
    (model,) = Template.from_stack(stack).find_resources("AWS::ApiGateway::Model").values()
    schema = model["Properties"]["Schema"]
    Draft4Validator.check_schema(schema)
    assert "required" not in schema["properties"]["instances"]["items"]
    assert Draft4Validator(schema).is_valid({"instances": [{}, {"a": None}, {"a": 1.5}]})


def test_a_private_api_has_a_caller_group_that_its_endpoint_lets_in(prod, sandbox):
    """The execute-api endpoint's group admits only listed groups: without one for callers, nobody but
    SageMaker workloads could reach the private API."""
    groups = prod.resources("SageMaker", "AWS::EC2::SecurityGroup")
    (caller_id,) = [k for k in groups if k.startswith("InferenceApiCallerSecurityGroup")]
    egress = [r["Properties"] for r in prod.resources("SageMaker", "AWS::EC2::SecurityGroupEgress").values()
              if r["Properties"]["GroupId"] == {"Fn::GetAtt": [caller_id, "GroupId"]}]
    assert [(e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in egress] == [("tcp", 443, 443)]
    assert "EndpointSecurityGroup" in json.dumps(egress[0]["DestinationSecurityGroupId"])
    assert groups[caller_id]["Properties"].get("SecurityGroupEgress", [{}])[0].get("CidrIp") != "0.0.0.0/0"
    ingress = [r["Properties"] for r in prod.resources("SageMaker", "AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["SourceSecurityGroupId"] == {"Fn::GetAtt": [caller_id, "GroupId"]}]
    assert [(i["IpProtocol"], i["FromPort"], i["ToPort"]) for i in ingress] == [("tcp", 443, 443)]
    assert "EndpointSecurityGroup" in json.dumps(ingress[0]["GroupId"])
    assert prod.built.stacks["SageMaker"].inference_api.caller_security_group is not None
    # Callers find the group through the stack output.
    assert prod.templates["SageMaker"]["Outputs"]["InferenceApiCallerSecurityGroupId"]["Value"] == {
        "Fn::GetAtt": [caller_id, "GroupId"]}
    # A regional API needs no caller group.
    assert not [k for k in sandbox.resources("SageMaker", "AWS::EC2::SecurityGroup") if "Caller" in k]
