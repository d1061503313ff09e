"""LakeGovernance: Lake Formation over the lake's zones in hybrid access mode, and least-privilege grants.

It registers zone buckets with Lake Formation (hybrid access mode, with a role of its own that can
use the lake key through S3), ADDS data-lake administrators (MutationType APPEND: the account's
existing administrators stay), keeps the IAMAllowedPrincipals defaults for new databases and tables
(so every IAM-only reader and writer keeps working), and grants database, table and data-location
permissions to named principals.

Hybrid access mode: a principal is governed by these grants only once a data-lake administrator
opts it in (CreateLakeFormationOptIn, which has no CloudFormation resource); every other principal
keeps using its IAM policies. Registration alone enforces one thing for everybody: creating a
table, or adding a partition, whose location is in a registered zone needs DATA_LOCATION_ACCESS
(or being an administrator), so every principal that does must be granted it here.

Traps this construct handles:
- The principal CloudFormation deploys with must be an administrator, or the grants (and later
  table updates in registered zones) fail: `deploy_role_arn` is added to the administrators.
- PutDataLakeSettings REPLACES the administrator list: MutationType APPEND adds to it instead.
- Default permissions: IAM_ALLOWED_PRINCIPALS keeps ALL on new databases and tables (Lake
  Formation's own default, written explicitly): an empty list would make every table created
  afterwards (crawled tables too) Lake-Formation-only, breaking the IAM path.

Usage, in any stack::

    lake = DataLakeStorage(stack, "Lake", name_prefix="acme", zones={"raw": ZoneTiering()})
    governance = LakeGovernance(stack, "LakeFormation", lake=lake, zones=["raw"],
                                admins=["arn:aws:iam::111122223333:role/DataLakeAdmin"],
                                # the bootstrap role's ARN holds ${AWS::...} placeholders: Fn.sub fills them in
                                deploy_role_arn=Fn.sub(stack.synthesizer.cloud_formation_execution_role_arn))
    governance.grant("Analyst", principal="arn:aws:iam::111122223333:role/Analyst",
                     database="acme_raw", database_permissions=["DESCRIBE"],
                     tables={"events": ["SELECT", "DESCRIBE"]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Aws, CfnResource
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lakeformation as lakeformation
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.roles import service_role

IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
ALL_TABLES = "*"  # a `tables` key: every table of the database, present and future (TableWildcard)
DATABASE_PERMISSIONS = ("ALTER", "CREATE_TABLE", "DESCRIBE", "DROP")
TABLE_PERMISSIONS = ("ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT", "SELECT")


class LakeGovernance(Construct):
    """Registers `zones` of `lake` in hybrid access mode, adds `admins` and `deploy_role_arn` as
    data-lake administrators, and grants what `grant` is asked for (nothing else)."""

    def __init__(self, scope: Construct, id_: str, *, lake: DataLakeStorage, zones: Sequence[str],
                 admins: Sequence[str], deploy_role_arn: str) -> None:
        """`admins`: IAM role or user ARNs of the people who administer Lake Formation (at least
        one: the deploy role alone would leave nobody to opt principals in). `deploy_role_arn`: the
        role CloudFormation deploys with (CDK's bootstrap "cfn-exec" role)."""
        super().__init__(scope, id_)
        if not admins:
            raise ValueError("admins=[]: name at least one IAM role or user that administers Lake Formation")
        if not zones:
            raise ValueError("zones=[]: register at least one zone of the lake")
        self.lake = lake
        buckets = [lake.bucket_arn(zone) for zone in zones]  # raises on an unknown zone
        objects = [lake.objects_arn(zone, "*") for zone in zones]
        self.role, policy = service_role(
            self,
            "Registration",
            service="lakeformation.amazonaws.com",
            description=f"Lake Formation: read and write the registered zones ({', '.join(zones)}) for the "
                        "services it vends credentials to",
            statements=[
                iam.PolicyStatement(sid="ListTheRegisteredZones", actions=["s3:ListBucket"], resources=buckets),
                iam.PolicyStatement(sid="ReadAndWriteTheRegisteredZones",
                                    actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources=objects),
                # The zones are SSE-KMS with the lake key: without it every vended read fails.
                lake.key_through_s3("UseTheLakeKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"]),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]" for arn in objects],
            "Lake Formation vends credentials for any table whose data lives in a registered zone, so "
            "its registration role reads and writes every object of those zones and of no other bucket.",
        )
        self.admins = [*admins, deploy_role_arn]
        self.settings = lakeformation.CfnDataLakeSettings(
            self,
            "Settings",
            # APPEND, not REPLACE: the account's existing administrators keep their role.
            mutation_type="APPEND",
            admins=[lakeformation.CfnDataLakeSettings.DataLakePrincipalProperty(data_lake_principal_identifier=arn)
                    for arn in self.admins],
            create_database_default_permissions=[_iam_allowed_principals()],
            create_table_default_permissions=[_iam_allowed_principals()],
        )
        self.registrations: dict[str, lakeformation.CfnResource] = {}
        for zone, bucket in zip(zones, buckets, strict=True):
            registration = lakeformation.CfnResource(
                self,
                f"{zone.capitalize()}Location",
                resource_arn=bucket,
                role_arn=self.role.role_arn,
                use_service_linked_role=False,  # the service-linked role cannot use the lake key
                hybrid_access_enabled=True,
                with_federation=False,
            )
            registration.add_resource_dependency(policy.node.default_child)
            registration.add_resource_dependency(self.settings)
            self.registrations[zone] = registration
        self.grants: list[lakeformation.CfnPrincipalPermissions] = []

    def grant(self, id_: str, *, principal: str, database: str, database_permissions: Sequence[str] = ("DESCRIBE",),
              tables: Mapping[str, Sequence[str]] | None = None, location_zones: Sequence[str] = (),
              after: Sequence[CfnResource] = ()) -> None:
        """Grant `principal` (an IAM role or user ARN) `database_permissions` on `database`, the
        permissions in `tables` (table name, or ALL_TABLES, -> permissions) and DATA_LOCATION_ACCESS
        on the registered `location_zones`. `after`: resources (the tables) the grants must wait for."""
        for permission in database_permissions:
            if permission not in DATABASE_PERMISSIONS:
                raise ValueError(f"{id_}: database permission {permission!r}: use {', '.join(DATABASE_PERMISSIONS)}")
        for table, permissions in (tables or {}).items():
            if not permissions or set(permissions) - set(TABLE_PERMISSIONS):
                raise ValueError(f"{id_}: table {table!r} permissions {list(permissions)}: use one or more of "
                                 f"{', '.join(TABLE_PERMISSIONS)}")
        for zone in location_zones:
            if zone not in self.registrations:
                raise ValueError(f"{id_}: location zone {zone!r} is not registered: {', '.join(self.registrations)}")
        resource = lakeformation.CfnPrincipalPermissions.ResourceProperty
        if database_permissions:
            self._grant(f"{id_}Database", principal, sorted(database_permissions), resource(
                database=lakeformation.CfnPrincipalPermissions.DatabaseResourceProperty(
                    catalog_id=Aws.ACCOUNT_ID, name=database)), after)
        for table, permissions in (tables or {}).items():
            table_resource = lakeformation.CfnPrincipalPermissions.TableResourceProperty(
                catalog_id=Aws.ACCOUNT_ID, database_name=database,
                **({"table_wildcard": {}} if table == ALL_TABLES else {"name": table}))
            suffix = "AllTables" if table == ALL_TABLES else _camel(table)
            self._grant(f"{id_}{suffix}", principal, sorted(permissions), resource(table=table_resource), after)
        for zone in location_zones:
            self._grant(f"{id_}{zone.capitalize()}Location", principal, ["DATA_LOCATION_ACCESS"], resource(
                data_location=lakeformation.CfnPrincipalPermissions.DataLocationResourceProperty(
                    catalog_id=Aws.ACCOUNT_ID, resource_arn=self.lake.bucket_arn(zone))),
                [*after, self.registrations[zone]])

    def _grant(self, id_: str, principal: str, permissions: list[str],
               resource: lakeformation.CfnPrincipalPermissions.ResourceProperty, after: Sequence[CfnResource]) -> None:
        grant = lakeformation.CfnPrincipalPermissions(
            self, id_, catalog=Aws.ACCOUNT_ID, principal=lakeformation.CfnPrincipalPermissions.DataLakePrincipalProperty(
                data_lake_principal_identifier=principal),
            resource=resource, permissions=permissions, permissions_with_grant_option=[],
        )
        # Only an administrator may grant: the deploy role becomes one in `settings`.
        grant.add_resource_dependency(self.settings)
        for resource_ in after:
            grant.add_resource_dependency(resource_)
        self.grants.append(grant)


def _iam_allowed_principals() -> lakeformation.CfnDataLakeSettings.PrincipalPermissionsProperty:
    return lakeformation.CfnDataLakeSettings.PrincipalPermissionsProperty(
        permissions=["ALL"],
        principal=lakeformation.CfnDataLakeSettings.DataLakePrincipalProperty(
            data_lake_principal_identifier=IAM_ALLOWED_PRINCIPALS),
    )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
