"""The ML network stack: isolated subnets only, the exact endpoint set, and who may reach them."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match, Template

from config.aws_limits import INTERFACE_ENDPOINT_NAMES, LOG_RETENTION_DAYS
from patterns.isolated_network import INTERFACE_ENDPOINT_SERVICES
from patterns.log_groups import RETENTION
from stacks.wiring import NOTEBOOK_ENDPOINTS

STACK = "MlNetwork"
NO_INTERNET_TYPES = ["AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::VPCGatewayAttachment",
                     "AWS::EC2::EgressOnlyInternetGateway", "AWS::EC2::EIP", "AWS::EC2::TransitGatewayAttachment"]
SECURITY_GROUPS = {"endpoint": "Interface endpoints: HTTPS from the workload security group only",
                   "workload": "SageMaker training jobs, models and notebooks"}
_TEMPLATES: dict[int, Template] = {}


def template(synth) -> Template:
    """The network template for aws_cdk.assertions, built once per synth."""
    if id(synth) not in _TEMPLATES:
        _TEMPLATES[id(synth)] = Template.from_json(synth.templates[STACK])
    return _TEMPLATES[id(synth)]


def of_type(synth, type_: str) -> dict[str, dict]:
    return synth.resources(STACK, type_)


def endpoints(synth) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in of_type(synth, "AWS::EC2::VPCEndpoint").items()}


def service_suffix(endpoint: dict) -> str:
    """`com.amazonaws.<region>.<service>` -> `<service>`."""
    name = endpoint["ServiceName"]
    parts = name["Fn::Join"][1] if isinstance(name, dict) else [name]
    return parts[-1].removeprefix(".")


def security_group_ids(synth) -> dict[str, str]:
    """"endpoint" / "workload" -> logical id of that security group, found by its description."""
    ids = {}
    for role, description in SECURITY_GROUPS.items():
        (ids[role],) = template(synth).find_resources("AWS::EC2::SecurityGroup", {
            "Properties": {"GroupDescription": description}})
    assert len(of_type(synth, "AWS::EC2::SecurityGroup")) == 2
    return ids


def group_id(logical_id: str) -> dict:
    return {"Fn::GetAtt": [logical_id, "GroupId"]}


def test_there_is_no_path_to_the_internet(synth):
    for type_ in NO_INTERNET_TYPES:
        assert of_type(synth, type_) == {}, type_
    for route in of_type(synth, "AWS::EC2::Route").values():
        assert "GatewayId" not in route["Properties"] and "NatGatewayId" not in route["Properties"]
    for subnet in of_type(synth, "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_subnets_follow_the_az_count_and_cidr(synth):
    network = synth.built.settings.network
    subnets = of_type(synth, "AWS::EC2::Subnet")
    assert len(subnets) == network.az_count
    (vpc,) = of_type(synth, "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == network.vpc_cidr
    assert vpc["Properties"]["EnableDnsHostnames"] is True and vpc["Properties"]["EnableDnsSupport"] is True
    assert all(s["Properties"]["CidrBlock"].endswith("/24") for s in subnets.values())


def interface_services(synth) -> list[str]:
    return sorted(service_suffix(e) for e in endpoints(synth).values() if e["VpcEndpointType"] == "Interface")


def test_interface_endpoints_exist_only_for_deployed_consumers(sandbox, prod, custom):
    # Isolated training and hosting use the S3 gateway endpoint only; in the sandbox and prod VPCs
    # only the inference API's Lambda calls an AWS API (and prod's private API needs execute-api).
    assert interface_services(sandbox) == ["sagemaker.runtime"]
    assert interface_services(prod) == ["execute-api", "sagemaker.runtime"]
    # The custom profile has the notebook (which calls the APIs itself) and two extras.
    assert sorted(NOTEBOOK_ENDPOINTS) == ["sagemaker.api", "sagemaker.runtime", "states", "sts"]
    assert interface_services(custom) == sorted(["sagemaker.api", "sagemaker.runtime", "states", "sts", "kms",
                                                 "ecr.dkr"])
    consumers = custom.built.stacks["MlNetwork"].network.interface_endpoint_consumers
    assert consumers["states"] == ("notebook (start the training pipeline)",)
    assert consumers["kms"] == ("your workloads (network.extra_interface_endpoints)",)


def test_interface_endpoints_use_private_dns_and_only_the_endpoint_security_group(synth):
    groups = security_group_ids(synth)
    for endpoint in endpoints(synth).values():
        if endpoint["VpcEndpointType"] != "Interface":
            continue
        assert endpoint["PrivateDnsEnabled"] is True
        assert endpoint["SecurityGroupIds"] == [{"Fn::GetAtt": [groups["endpoint"], "GroupId"]}]
        assert len(endpoint["SubnetIds"]) == synth.built.settings.network.az_count


def test_endpoints_accept_https_only_from_the_workload_security_group(synth):
    groups = security_group_ids(synth)
    # No CIDR rule on the group itself: CDK's open=False.
    template(synth).has_resource("AWS::EC2::SecurityGroup", {"Properties": {
        "GroupDescription": SECURITY_GROUPS["endpoint"], "SecurityGroupIngress": Match.absent()}})
    ingress = template(synth).find_resources("AWS::EC2::SecurityGroupIngress", {
        "Properties": {"GroupId": group_id(groups["endpoint"])}})
    assert [r["Properties"] for r in ingress.values()] == [{
        "Description": "HTTPS from SageMaker workloads", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp",
        "GroupId": group_id(groups["endpoint"]), "SourceSecurityGroupId": group_id(groups["workload"])}]


def test_workload_egress_is_https_to_s3_and_the_endpoints_and_its_own_job_only(synth):
    groups = security_group_ids(synth)
    # No CIDR rule on the group itself, 0.0.0.0/0 least of all.
    template(synth).has_resource("AWS::EC2::SecurityGroup", {"Properties": {
        "GroupDescription": SECURITY_GROUPS["workload"], "SecurityGroupEgress": Match.absent()}})
    egress = [r["Properties"] for r in of_type(synth, "AWS::EC2::SecurityGroupEgress").values()]
    (lookup_id,) = of_type(synth, "Custom::PrefixListLookup")
    to_groups = sorted((e["DestinationSecurityGroupId"]["Fn::GetAtt"][0], e["IpProtocol"], e.get("FromPort"),
                        e.get("ToPort")) for e in egress if "DestinationSecurityGroupId" in e)
    # Its own job: TCP, and the IPsec of inter-container traffic encryption (IKE on UDP 500, ESP).
    assert to_groups == sorted([(groups["endpoint"], "tcp", 443, 443), (groups["workload"], "tcp", 0, 65535),
                                (groups["workload"], "udp", 500, 500), (groups["workload"], "50", None, None)])
    (to_s3,) = [e for e in egress if "DestinationPrefixListId" in e]
    assert (to_s3["DestinationPrefixListId"], to_s3["FromPort"], to_s3["ToPort"], to_s3["IpProtocol"]) == (
        {"Fn::GetAtt": [lookup_id, "PrefixListId"]}, 443, 443, "tcp")
    assert len(egress) == 5 and not any("CidrIp" in e for e in egress)


def test_the_training_job_instances_reach_each_other_including_ipsec(synth):
    """Inter-container traffic encryption is always on: without UDP 500 and ESP within the group,
    a job of two or more instances cannot start its IPsec tunnels."""
    groups = security_group_ids(synth)
    workload = {"Fn::GetAtt": [groups["workload"], "GroupId"]}
    ingress = sorted((r["Properties"]["IpProtocol"], r["Properties"].get("FromPort"))
                     for r in of_type(synth, "AWS::EC2::SecurityGroupIngress").values()
                     if r["Properties"]["GroupId"] == workload)
    assert ingress == [("50", None), ("tcp", 0), ("udp", 500)]


def test_the_s3_prefix_list_is_looked_up_by_its_regional_name_at_deploy_time(synth):
    (lookup,) = of_type(synth, "Custom::PrefixListLookup").values()
    assert lookup["Properties"]["PrefixListName"] == {
        "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]}
    (function_id, function), = template(synth).find_resources("AWS::Lambda::Function", {"Properties": {
        "FunctionName": f"{synth.built.settings.name_prefix}-ml-network-prefix-list-lookup"}}).items()
    assert lookup["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = template(synth).find_resources("AWS::IAM::ManagedPolicy", {"Properties": {
        "Roles": [{"Ref": role_id}]}}).values()
    actions = [a for s in policy["Properties"]["PolicyDocument"]["Statement"]
               for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert "ec2:DescribeManagedPrefixLists" in actions
    assert not [a for a in actions if a.startswith("ec2:") and a != "ec2:DescribeManagedPrefixLists"]


def test_s3_gateway_endpoint_policy_names_only_the_lake_buckets(synth):
    (gateway,) = [e for e in endpoints(synth).values() if e["VpcEndpointType"] == "Gateway"]
    assert service_suffix(gateway) == "s3"
    statements = {s["Sid"]: s for s in gateway["PolicyDocument"]["Statement"]}
    prefix = synth.built.settings.name_prefix
    buckets = {r["Fn::Join"][1][2] for r in statements["OnlyTheLakeBuckets"]["Resource"]}
    assert buckets == {f":s3:::{prefix}-{zone}-" for zone in ("raw", "curated", "results")}
    assert "s3:*" not in statements["OnlyTheLakeBuckets"]["Action"]


def test_s3_endpoint_allows_exactly_the_configured_model_artifacts(sandbox, custom):
    def statements(synth):
        (gateway,) = [e for e in endpoints(synth).values() if e["VpcEndpointType"] == "Gateway"]
        return {s["Sid"]: s for s in gateway["PolicyDocument"]["Statement"]}

    assert "ConfiguredModelArtifacts" not in statements(sandbox)
    artifacts = statements(custom)["ConfiguredModelArtifacts"]
    assert artifacts["Action"] == "s3:GetObject"
    assert sorted(r["Fn::Join"][1][-1] for r in artifacts["Resource"]) == [
        ":s3:::acme-models/xgboost/v1/model.tar.gz", ":s3:::acme-models/xgboost/v2/model.tar.gz"]


def test_ecr_layer_bucket_is_allowed_only_with_the_ecr_endpoint(sandbox, custom):
    def sids(synth):
        (gateway,) = [e for e in endpoints(synth).values() if e["VpcEndpointType"] == "Gateway"]
        return {s["Sid"] for s in gateway["PolicyDocument"]["Statement"]}

    assert "EcrImageLayers" not in sids(sandbox)
    assert "EcrImageLayers" in sids(custom)


def test_flow_logs_capture_all_traffic_into_an_encrypted_bounded_log_group(synth):
    (flow_log,) = of_type(synth, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    log_group_id = flow_log["Properties"]["LogGroupName"]["Ref"]
    log_group = of_type(synth, "AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["LogGroupName"] == f"/aws/vpc-flow-logs/{synth.built.settings.name_prefix}-ml-network"
    assert log_group["Properties"]["RetentionInDays"] == synth.built.settings.network.flow_log_retention_days
    (key_id,) = of_type(synth, "AWS::KMS::Key")
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert of_type(synth, "AWS::IAM::Policy") == {}


def test_default_security_group_is_closed_by_the_apps_own_function(synth):
    (vpc_id,) = of_type(synth, "AWS::EC2::VPC")
    (closed,) = of_type(synth, "Custom::DefaultSecurityGroupClosed").values()
    assert closed["Properties"]["GroupId"] == {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}
    functions = of_type(synth, "AWS::Lambda::Function")
    function_id = closed["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    assert functions[function_id]["Properties"]["Handler"] == "handler.handler"
    # Its role may revoke rules of that one group only.
    role_id = functions[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [p for p in of_type(synth, "AWS::IAM::ManagedPolicy").values()
                 if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    (revoke,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                 if s["Action"] == ["ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"]]
    assert json.dumps({"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}) in json.dumps(revoke["Resource"])
    assert of_type(synth, "Custom::VpcRestrictDefaultSG") == {}  # CDK's provider, unscanned in-app


def test_outputs_for_the_operator_command_refer_to_the_vpc_its_subnets_the_workload_group_and_the_key(synth):
    (vpc_id,) = of_type(synth, "AWS::EC2::VPC")
    (key_id,) = of_type(synth, "AWS::KMS::Key")
    outputs = template(synth)
    outputs.has_output("VpcId", {"Value": {"Ref": vpc_id}})
    outputs.has_output("WorkloadSecurityGroupId", {"Value": group_id(security_group_ids(synth)["workload"])})
    outputs.has_output("MlKeyArn", {"Value": {"Fn::GetAtt": [key_id, "Arn"]}})
    # "subnet-a,subnet-b": a plain Ref when there is one subnet.
    refs = [{"Ref": subnet_id} for subnet_id in sorted(of_type(synth, "AWS::EC2::Subnet"))]
    joined = [part for ref in refs for part in (",", ref)][1:]
    outputs.has_output("SubnetIds", {"Value": refs[0] if len(refs) == 1 else {"Fn::Join": ["", joined]}})


# ---------------------------------------------------------------- settings and patterns agree


def test_the_settings_offer_exactly_the_interface_endpoints_the_network_can_create():
    assert sorted(INTERFACE_ENDPOINT_NAMES) == sorted(INTERFACE_ENDPOINT_SERVICES)


def test_the_settings_accept_exactly_the_retention_periods_log_groups_can_have():
    assert LOG_RETENTION_DAYS == tuple(RETENTION)
