"""Turns synthesized CloudFormation into concrete policies, for one fixed account and region.

Every intrinsic the app's templates use is resolved (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
Fn::Select, Fn::Split, Fn::GetAZs, Fn::FindInMap, pseudo parameters and CDK's weak cross-stack
references, `Fn::GetStackOutput`, looked up in the other template's Outputs). Physical names that
CloudFormation would generate are made up deterministically from the stack and logical id. An
intrinsic this module does not know raises `Unresolvable` naming it, so a policy is never
evaluated with a placeholder in it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PARTITION = "aws"
AZS = [f"{REGION}{zone}" for zone in "abc"]
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION,
          "AWS::URLSuffix": "amazonaws.com"}
# What a VPC endpoint without a PolicyDocument gets: AWS's default full-access policy.
DEFAULT_ENDPOINT_POLICY = {"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
_NO_VALUE = object()


# The property that names a resource, when the template sets it.
NAME_PROPERTY = {
    "AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::S3::Bucket": "BucketName",
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::Logs::LogStream": "LogStreamName",
    "AWS::Kinesis::Stream": "Name", "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::Lambda::Function": "FunctionName", "AWS::SNS::Topic": "TopicName", "AWS::SQS::Queue": "QueueName",
    "AWS::StepFunctions::StateMachine": "StateMachineName", "AWS::Glue::Crawler": "Name",
    "AWS::Glue::Job": "Name", "AWS::Glue::SecurityConfiguration": "Name", "AWS::Athena::WorkGroup": "Name",
    "AWS::SageMaker::Model": "ModelName", "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Endpoint": "EndpointName", "AWS::SageMaker::NotebookInstance": "NotebookInstanceName",
    "AWS::CloudWatch::Alarm": "AlarmName", "AWS::KMS::Alias": "AliasName", "AWS::Events::Rule": "Name",
    "AWS::ApiGateway::Stage": "StageName",
}
# Physical ids CloudFormation generates, by type.
ID_PREFIX = {"AWS::EC2::VPC": "vpc", "AWS::EC2::Subnet": "subnet", "AWS::EC2::SecurityGroup": "sg",
             "AWS::EC2::VPCEndpoint": "vpce", "AWS::EC2::RouteTable": "rtb"}


class Unresolvable(ValueError):
    """The templates use something this resolver cannot turn into a concrete value."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


class Templates:
    """The resolved view of one synthesized app: stack id -> template, stack id -> stack name."""

    def __init__(self, templates: Mapping[str, dict], stack_names: Mapping[str, str]) -> None:
        self.raw = dict(templates)
        self.stack_names = dict(stack_names)
        self._by_name = {name: stack for stack, name in stack_names.items()}
        self.resolve = cache(self._resolve_resource)

    # ---- intrinsics -------------------------------------------------------------------------
    def value(self, stack: str, node: Any) -> Any:
        """`node` of `stack`'s template with every intrinsic replaced by its concrete value."""
        if isinstance(node, list):
            return [v for v in (self.value(stack, item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self._ref(stack, arg)
            if fn == "Fn::GetAtt":
                logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.attribute(stack, logical, attribute)
            if fn == "Fn::Join":
                separator, items = arg
                return separator.join(str(v) for v in self.value(stack, items))
            if fn == "Fn::Sub":
                return self._sub(stack, arg)
            if fn == "Fn::Select":
                index, items = self.value(stack, arg)
                return items[int(index)]
            if fn == "Fn::Split":
                separator, text = self.value(stack, arg)
                return text.split(separator)
            if fn == "Fn::GetAZs":
                return list(AZS)
            if fn == "Fn::FindInMap":
                name, first, second = self.value(stack, arg)
                return self.raw[stack]["Mappings"][name][first][second]
            if fn == "Fn::GetStackOutput":
                return self.output(self._by_name[self.value(stack, arg["StackName"])], arg["OutputName"])
            if fn.startswith("Fn::") or fn == "Condition":
                raise Unresolvable(f"{stack}: intrinsic {fn} is not supported by tests/data_path/resolve.py")
        return {k: v for k, v in ((k, self.value(stack, v)) for k, v in node.items()) if v is not _NO_VALUE}

    def _sub(self, stack: str, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.value(stack, variables[name]))
            if "." in name:
                return str(self.attribute(stack, *name.split(".", 1)))
            return str(self._ref(stack, name))

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)

    def output(self, stack: str, name: str) -> Any:
        outputs = self.raw[stack].get("Outputs", {})
        if name not in outputs:
            raise Unresolvable(f"{stack} has no output {name!r} (outputs: {sorted(outputs)})")
        return self.value(stack, outputs[name]["Value"])

    # ---- Ref and GetAtt of resources --------------------------------------------------------
    def _resolve_resource(self, stack: str, logical: str) -> dict:
        resource = self.raw[stack]["Resources"][logical]
        return {"Type": resource["Type"], "Properties": self.value(stack, resource.get("Properties", {}))}

    def resources(self, stack: str, type_: str) -> dict[str, dict]:
        """Resolved resources of one type, by logical id."""
        return {logical: self.resolve(stack, logical)
                for logical, r in self.raw[stack]["Resources"].items() if r["Type"] == type_}

    def _generated(self, stack: str, logical: str, limit: int = 64, lower: bool = False) -> str:
        # CloudFormation's pattern, <stack>-<logical id>-<random>, made deterministic.
        name = f"{self.stack_names[stack]}-{logical}"[: limit - 13] + "-" + _digest(stack, logical)[:12].upper()
        return name.lower() if lower else name

    def _ref(self, stack: str, name: str) -> Any:
        if name in PSEUDO:
            return PSEUDO[name]
        if name == "AWS::StackName":
            return self.stack_names[stack]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.raw[stack].get("Parameters", {}):
            raise Unresolvable(f"{stack}: parameter {name} has no value here")
        return self.attribute(stack, name, "Ref")

    def attribute(self, stack: str, logical: str, attribute: str) -> Any:
        resource = self.resolve(stack, logical)
        type_, props = resource["Type"], resource["Properties"]
        name = self._name(stack, logical, type_, props)
        arn = self._arn(stack, logical, type_, name)
        simple = {
            "Arn": arn, "TopicArn": arn, "PolicyArn": arn, "TopicName": name, "QueueName": name, "Name": name,
            "ModelName": name, "EndpointConfigName": name, "EndpointName": name, "LogGroupName": name,
            "KeyId": name, "GroupId": f"sg-{_digest(stack, logical)[:17]}",
            "DefaultSecurityGroup": f"sg-{_digest(stack, logical, 'default')[:17]}",
            "RoleId": f"AROA{_digest(stack, logical)[:17].upper()}",
        }
        if attribute == "Ref":
            if type_ in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::IAM::ManagedPolicy",
                         "AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint"):
                return arn
            if type_ == "AWS::SQS::Queue":
                return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
            return name
        if attribute in simple and simple[attribute] is not None:
            return simple[attribute]
        raise Unresolvable(f"{stack}: Fn::GetAtt {logical}.{attribute} ({type_}) is not supported")

    def _name(self, stack: str, logical: str, type_: str, props: dict) -> str:
        if type_ == "AWS::KMS::Key":
            return str(uuid.UUID(_digest(stack, logical)[:32]))
        if type_ in ID_PREFIX:
            return f"{ID_PREFIX[type_]}-{_digest(stack, logical)[:17]}"
        if type_ == "AWS::ApiGateway::RestApi":  # Ref is the API id: 10 lowercase letters and digits
            return _digest(stack, logical)[:10]
        if type_ == "AWS::Glue::Database":
            return props["DatabaseInput"]["Name"]
        if type_ == "AWS::Glue::Table":
            return props["TableInput"]["Name"]
        prop = NAME_PROPERTY.get(type_)
        if prop and prop in props:
            return props[prop]
        lower = type_ in ("AWS::S3::Bucket", "AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig",
                          "AWS::SageMaker::Endpoint")
        return self._generated(stack, logical, limit=63 if lower else 64, lower=lower)

    def _arn(self, stack: str, logical: str, type_: str, name: str) -> str | None:
        here = f"{REGION}:{ACCOUNT}"
        return {
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::IAM::ManagedPolicy": f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{name}",
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{here}:key/{name}",
            # CloudFormation's log-group ARN ends in ":*" (the trap defect 1 is about).
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{here}:log-group:{name}:*",
            "AWS::Kinesis::Stream": f"arn:{PARTITION}:kinesis:{here}:stream/{name}",
            "AWS::KinesisFirehose::DeliveryStream": f"arn:{PARTITION}:firehose:{here}:deliverystream/{name}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{here}:function:{name}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{here}:{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{here}:{name}",
            "AWS::StepFunctions::StateMachine": f"arn:{PARTITION}:states:{here}:stateMachine:{name}",
            "AWS::Events::Rule": f"arn:{PARTITION}:events:{here}:rule/{name}",
            "AWS::CloudWatch::Alarm": f"arn:{PARTITION}:cloudwatch:{here}:alarm:{name}",
            "AWS::SageMaker::Model": f"arn:{PARTITION}:sagemaker:{here}:model/{name}",
            "AWS::SageMaker::EndpointConfig": f"arn:{PARTITION}:sagemaker:{here}:endpoint-config/{name}",
            "AWS::SageMaker::Endpoint": f"arn:{PARTITION}:sagemaker:{here}:endpoint/{name}",
            "AWS::SageMaker::NotebookInstance": f"arn:{PARTITION}:sagemaker:{here}:notebook-instance/{name}",
        }.get(type_)

    # ---- policies ---------------------------------------------------------------------------
    def all_resources(self, type_: str) -> list[tuple[str, str, dict]]:
        """(stack, logical id, resolved resource) of one type across every stack."""
        return [(stack, logical, resource) for stack in self.raw for logical, resource in self.resources(stack, type_).items()]

    @staticmethod
    def _label(stack: str, logical: str) -> str:
        return f"{stack}/{re.sub(r'[0-9A-F]{8}$', '', logical)}"

    def identity_policies(self, role_arn: str) -> list[dict]:
        """[{name, policy}] of a role: inline policies, attached managed policies, AWS::IAM::Policy."""
        roles = [(s, lid, r) for s, lid, r in self.all_resources("AWS::IAM::Role")
                 if self.attribute(s, lid, "Arn") == role_arn]
        if len(roles) != 1:
            raise Unresolvable(f"no role with ARN {role_arn} in the templates")
        stack, logical, role = roles[0]
        name = self.attribute(stack, logical, "Ref")
        found = [{"name": f"{self._label(stack, logical)}/{p['PolicyName']}", "policy": p["PolicyDocument"]}
                 for p in role["Properties"].get("Policies", [])]
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            found.append(self.managed_policy(arn))
        for type_ in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            for s, lid, policy in self.all_resources(type_):
                if name in policy["Properties"].get("Roles", []):
                    found.append({"name": self._label(s, lid), "policy": policy["Properties"]["PolicyDocument"]})
        return found

    def managed_policy(self, arn: str) -> dict:
        for s, lid, policy in self.all_resources("AWS::IAM::ManagedPolicy"):
            if self.attribute(s, lid, "Ref") == arn:
                return {"name": self._label(s, lid), "policy": policy["Properties"]["PolicyDocument"]}
        raise Unresolvable(f"managed policy {arn} is not in the templates (AWS managed policies are not modelled)")

    def resource_policy(self, arn: str) -> dict | None:
        """The resource-based policy that governs `arn`: bucket, key, topic or queue policy."""
        statements: list[dict] = []
        if arn.startswith(f"arn:{PARTITION}:s3:::"):
            bucket = arn.split(":::", 1)[1].split("/", 1)[0]
            for _, _, policy in self.all_resources("AWS::S3::BucketPolicy"):
                if policy["Properties"]["Bucket"] == bucket:
                    statements += policy["Properties"]["PolicyDocument"]["Statement"]
        elif ":kms:" in arn:
            keys = [(s, lid, k) for s, lid, k in self.all_resources("AWS::KMS::Key") if self.attribute(s, lid, "Arn") == arn]
            if not keys:
                raise Unresolvable(f"KMS key {arn} is not in the templates")
            return keys[0][2]["Properties"]["KeyPolicy"]
        elif ":sns:" in arn:
            for _, _, policy in self.all_resources("AWS::SNS::TopicPolicy"):
                if arn in policy["Properties"]["Topics"]:
                    statements += policy["Properties"]["PolicyDocument"]["Statement"]
        elif ":sqs:" in arn:
            url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{arn.rsplit(':', 1)[1]}"
            for _, _, policy in self.all_resources("AWS::SQS::QueuePolicy"):
                if url in policy["Properties"]["Queues"]:
                    statements += policy["Properties"]["PolicyDocument"]["Statement"]
        elif ":lambda:" in arn:
            # Each AWS::Lambda::Permission is one statement of the function's resource policy.
            for _, _, permission in self.all_resources("AWS::Lambda::Permission"):
                props = permission["Properties"]
                if props["FunctionName"] in (arn, arn.rsplit(":", 1)[1]):
                    statement = {"Effect": "Allow", "Principal": {"Service": props["Principal"]},
                                 "Action": props["Action"], "Resource": arn}
                    if "SourceArn" in props:
                        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": props["SourceArn"]}}
                    statements.append(statement)
        elif ":execute-api:" in arn:
            # A REST API's policy writes its resources as execute-api:/<stage>/<method>/<path>.
            api_id = arn.split(":", 5)[5].split("/", 1)[0]
            for stack, logical, api in self.all_resources("AWS::ApiGateway::RestApi"):
                if self.attribute(stack, logical, "Ref") == api_id and "Policy" in api["Properties"]:
                    prefix = f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:{api_id}/"
                    for statement in api["Properties"]["Policy"]["Statement"]:
                        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [
                            statement["Resource"]]
                        statements.append({**statement, "Resource": [
                            r.replace("execute-api:/", prefix, 1) for r in resources]})
        return {"Version": "2012-10-17", "Statement": statements} if statements else None

    def vpc_endpoint(self, service: str) -> dict | None:
        """{id, vpc, policy} of the VPC endpoint of `service` (e.g. "s3", "states"), or None."""
        for stack, logical, endpoint in self.all_resources("AWS::EC2::VPCEndpoint"):
            props = endpoint["Properties"]
            if props["ServiceName"] == f"com.amazonaws.{REGION}.{service}":
                return {"id": self.attribute(stack, logical, "Ref"), "vpc": props["VpcId"],
                        "policy": props.get("PolicyDocument", DEFAULT_ENDPOINT_POLICY)}
        return None
