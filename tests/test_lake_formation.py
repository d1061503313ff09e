"""Lake Formation (lake_formation.enabled): on in the custom synth, off in sandbox and prod.

The expectations are written out by hand (who gets what on which database, table and location), not
derived from the code under test.
"""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from patterns.data_lake import DataLakeStorage, ZoneTiering
from patterns.lake_formation import ALL_TABLES, LakeGovernance
from tests.conftest import CUSTOM_OVERRIDES, synthesize

ADMIN = CUSTOM_OVERRIDES["lake_formation"]["admins"][0]
ANALYST = CUSTOM_OVERRIDES["lake_formation"]["analyst_principals"][0]
DEPLOY_ROLE = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
                          "cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"}
IAM_ALLOWED = [{"Permissions": ["ALL"], "Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}}]
RAW_DB, CURATED_DB, DATASET = "acme_ml_raw", "acme_ml_curated", "sensor_readings"

# principal -> {(kind, database or zone, table): permissions}
EXPECTED_GRANTS = {
    "raw crawler": {("database", RAW_DB, None): ["CREATE_TABLE", "DESCRIBE"],
                    ("table", RAW_DB, "*"): ["ALTER", "DESCRIBE"],
                    ("location", "raw", None): ["DATA_LOCATION_ACCESS"]},
    "curated crawler": {("database", CURATED_DB, None): ["CREATE_TABLE", "DESCRIBE"],
                        ("table", CURATED_DB, "*"): ["ALTER", "DESCRIBE"],
                        ("location", "curated", None): ["DATA_LOCATION_ACCESS"]},
    "ETL job": {("database", RAW_DB, None): ["DESCRIBE"],
                ("table", RAW_DB, DATASET): ["DESCRIBE", "SELECT"],
                ("database", CURATED_DB, None): ["DESCRIBE"],
                ("table", CURATED_DB, DATASET): ["DESCRIBE", "INSERT", "SELECT"]},
    "analyst": {("database", RAW_DB, None): ["DESCRIBE"],
                ("table", RAW_DB, DATASET): ["DESCRIBE", "SELECT"],
                ("database", CURATED_DB, None): ["DESCRIBE"],
                ("table", CURATED_DB, "*"): ["DESCRIBE", "SELECT"]},
    "SageMaker execution role": {("database", CURATED_DB, None): ["DESCRIBE"],
                                 ("table", CURATED_DB, DATASET): ["DESCRIBE", "SELECT"]},
}


def lake_formation_resources(templates: dict) -> list[str]:
    return [f"{stack}/{logical}" for stack, template in templates.items()
            for logical, resource in template["Resources"].items() if resource["Type"].startswith("AWS::LakeFormation::")]


# ---------------------------------------------------------------- off


@pytest.fixture(scope="module")
def off_with_principals(tmp_path_factory):
    """Off, but with admins and analysts filled in: the boolean alone must turn it off."""
    overrides = {"lake_formation": {**CUSTOM_OVERRIDES["lake_formation"], "enabled": False}}
    return synthesize(tmp_path_factory.mktemp("lf-off"), {"profile": "sandbox", "overrides": json.dumps(overrides)})


def test_off_creates_nothing_of_lake_formation(sandbox, prod, off_with_principals):
    for synth in (sandbox, prod, off_with_principals):
        assert lake_formation_resources(synth.templates) == []
        text = json.dumps(synth.templates)
        assert "lakeformation.amazonaws.com" not in text and "IAM_ALLOWED_PRINCIPALS" not in text
        assert "cfn-exec-role" not in text and ADMIN not in text and ANALYST not in text
        # No cross-stack reference to the SageMaker execution role either.
        assert "-sagemaker\"" not in json.dumps(synth.templates["Catalog"])
        assert "SageMaker" not in {s.node.id for s in synth.built.stacks["Catalog"].dependencies}


def test_off_leaves_the_templates_as_they_were(sandbox, off_with_principals):
    """Filling in admins while off changes no template (the setting is inert until enabled)."""
    assert off_with_principals.templates == sandbox.templates


# ---------------------------------------------------------------- on


def only(custom, type_):
    return custom.only("Catalog", type_)


def test_admins_are_added_not_replaced_and_include_the_deploy_role(custom):
    _, settings = only(custom, "AWS::LakeFormation::DataLakeSettings")
    props = settings["Properties"]
    # REPLACE (the API's and CloudFormation's default) would drop the account's existing admins.
    assert props["MutationType"] == "APPEND"
    assert props["Admins"] == [{"DataLakePrincipalIdentifier": ADMIN}, {"DataLakePrincipalIdentifier": DEPLOY_ROLE}]
    # New databases and tables stay readable through IAM (hybrid): IAMAllowedPrincipals keeps ALL.
    assert props["CreateDatabaseDefaultPermissions"] == IAM_ALLOWED
    assert props["CreateTableDefaultPermissions"] == IAM_ALLOWED


def test_the_dataset_zones_are_registered_in_hybrid_mode_with_a_role_that_can_use_the_lake_key(custom):
    registrations = custom.resources("Catalog", "AWS::LakeFormation::Resource")
    zones = sorted(re.search(r":s3:::acme-ml-([a-z]+)-", json.dumps(r["Properties"]["ResourceArn"])).group(1)
                   for r in registrations.values())
    assert zones == ["curated", "raw"]  # not the results zone: query output is no table's data
    roles = {json.dumps(r["Properties"]["RoleArn"]) for r in registrations.values()}
    assert len(roles) == 1
    for registration in registrations.values():
        props = registration["Properties"]
        assert props["HybridAccessEnabled"] is True and props["UseServiceLinkedRole"] is False
        assert props["WithFederation"] is False
    role_id = json.loads(roles.pop())["Fn::GetAtt"][0]
    role = custom.templates["Catalog"]["Resources"][role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lakeformation.amazonaws.com"}
    policies = [r for r in custom.resources("Catalog", "AWS::IAM::ManagedPolicy").values()
                if {"Ref": role_id} in r["Properties"].get("Roles", [])]
    assert len(policies) == 1
    statements = {s["Sid"]: s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ListTheRegisteredZones", "ReadAndWriteTheRegisteredZones", "UseTheLakeKeyThroughS3"}
    text = json.dumps(statements)
    assert "acme-ml-raw-" in text and "acme-ml-curated-" in text and "acme-ml-results-" not in text
    assert statements["UseTheLakeKeyThroughS3"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def _principal_labels(custom) -> dict[str, str]:
    """Each grantee as it appears in the template -> a readable label."""
    resources = custom.templates["Catalog"]["Resources"]
    labels = {}
    for crawler in custom.resources("Catalog", "AWS::Glue::Crawler").values():
        zone = crawler["Properties"]["DatabaseName"].rsplit("_", 1)[1]
        labels[json.dumps(crawler["Properties"]["Role"])] = f"{zone} crawler"
    (job,) = [r for r in resources.values() if r["Type"] == "AWS::Glue::Job"]
    labels[json.dumps(job["Properties"]["Role"])] = "ETL job"
    labels[json.dumps(ANALYST)] = "analyst"
    # The SageMaker execution role, read from the SageMaker stack (a weak cross-stack reference).
    execution = custom.templates["SageMaker"]["Outputs"]["ExecutionRoleArn"]["Value"]
    for name, output in custom.templates["SageMaker"]["Outputs"].items():
        if output["Value"] == execution and name != "ExecutionRoleArn":
            labels[json.dumps({"Fn::GetStackOutput": {"StackName": "acme-ml-sagemaker",
                                                      "Region": {"Ref": "AWS::Region"}, "OutputName": name}})] = \
                "SageMaker execution role"
    return labels


def _grants(custom) -> dict[str, dict]:
    labels = _principal_labels(custom)
    found: dict[str, dict] = {}
    for grant in custom.resources("Catalog", "AWS::LakeFormation::PrincipalPermissions").values():
        props = grant["Properties"]
        principal = labels[json.dumps(props["Principal"]["DataLakePrincipalIdentifier"])]
        resource = props["Resource"]
        if "Database" in resource:
            key = ("database", resource["Database"]["Name"], None)
        elif "Table" in resource:
            table = resource["Table"]
            key = ("table", table["DatabaseName"], "*" if "TableWildcard" in table else table["Name"])
        else:
            arn = json.dumps(resource["DataLocation"]["ResourceArn"])
            key = ("location", re.search(r":s3:::acme-ml-([a-z]+)-", arn).group(1), None)
        assert key not in found.get(principal, {}), f"{principal} {key} granted twice"
        found.setdefault(principal, {})[key] = sorted(props["Permissions"])
    return found


def test_each_principal_gets_exactly_its_least_privilege_grants(custom):
    assert _grants(custom) == EXPECTED_GRANTS


def test_no_grant_can_be_passed_on_or_is_all(custom):
    for grant in custom.resources("Catalog", "AWS::LakeFormation::PrincipalPermissions").values():
        assert grant["Properties"]["PermissionsWithGrantOption"] == []
        assert "ALL" not in grant["Properties"]["Permissions"]


def test_every_grant_waits_for_the_deploy_role_to_be_an_admin_and_locations_for_their_registration(custom):
    settings_id, _ = only(custom, "AWS::LakeFormation::DataLakeSettings")
    registrations = custom.resources("Catalog", "AWS::LakeFormation::Resource")
    curated_table = [k for k, r in custom.resources("Catalog", "AWS::Glue::Table").items()
                     if r["Properties"]["TableInput"]["Name"] == DATASET]
    for logical, grant in custom.resources("Catalog", "AWS::LakeFormation::PrincipalPermissions").items():
        depends = grant.get("DependsOn", [])
        assert settings_id in depends, logical
        resource = grant["Properties"]["Resource"]
        if "DataLocation" in resource:
            arn = resource["DataLocation"]["ResourceArn"]
            assert [k for k in registrations if registrations[k]["Properties"]["ResourceArn"] == arn][0] in depends
        if json.dumps(resource).count(CURATED_DB):
            assert curated_table[0] in depends, logical
    for registration in registrations.values():
        assert settings_id in registration["DependsOn"]


def test_the_catalog_stack_then_deploys_after_the_sagemaker_stack(custom):
    assert "SageMaker" in {s.node.id for s in custom.built.stacks["Catalog"].dependencies}
    assert "Catalog" not in {s.node.id for s in custom.built.stacks["SageMaker"].dependencies}


# ---------------------------------------------------------------- the pattern alone


def _lake(stack):
    return DataLakeStorage(stack, "Lake", name_prefix="acme",
                           zones={zone: ZoneTiering() for zone in ("raw", "curated", "results")})


def test_the_pattern_alone_refuses_no_admins_unknown_permissions_and_unregistered_locations():
    stack = cdk.Stack(cdk.App(), "S")
    lake = _lake(stack)
    with pytest.raises(ValueError, match=r"admins=\[\]: name at least one IAM role or user"):
        LakeGovernance(stack, "None", lake=lake, zones=["raw"], admins=[], deploy_role_arn="arn:aws:iam::1:role/d")
    governance = LakeGovernance(stack, "LF", lake=lake, zones=["raw"], admins=[ADMIN],
                                deploy_role_arn="arn:aws:iam::123456789012:role/deploy")
    with pytest.raises(ValueError, match="database permission 'SELECT'"):
        governance.grant("A", principal=ANALYST, database="acme_raw", database_permissions=["SELECT"])
    with pytest.raises(ValueError, match="table 't' permissions \\['CREATE_TABLE'\\]"):
        governance.grant("B", principal=ANALYST, database="acme_raw", tables={"t": ["CREATE_TABLE"]})
    with pytest.raises(ValueError, match="location zone 'curated' is not registered"):
        governance.grant("C", principal=ANALYST, database="acme_raw", location_zones=["curated"])


def test_the_pattern_alone_registers_only_the_zones_it_is_given():
    stack = cdk.Stack(cdk.App(), "S")
    governance = LakeGovernance(stack, "LF", lake=_lake(stack), zones=["curated"], admins=[ADMIN],
                                deploy_role_arn="arn:aws:iam::123456789012:role/deploy")
    governance.grant("Reader", principal=ANALYST, database="acme_curated", tables={ALL_TABLES: ["SELECT"]})
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::LakeFormation::Resource", 1)
    template.resource_count_is("AWS::LakeFormation::PrincipalPermissions", 2)  # database DESCRIBE + tables
    template.has_resource_properties("AWS::LakeFormation::PrincipalPermissions", {
        "Permissions": ["SELECT"],
        "Resource": {"Table": {"DatabaseName": "acme_curated", "TableWildcard": {}}}})
