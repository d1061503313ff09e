"""GlueSecurity: the catalog key and the Glue security configuration every crawler and job runs with.

S3 data, CloudWatch Logs and job bookmarks are encrypted with KMS; encrypting the account's whole
Data Catalog is an explicit, account-wide option (off by default).

Usage, in any stack::

    security = GlueSecurity(stack, "GlueSecurity", name_prefix="acme", lake=lake)
    # then: a CfnJob or CfnCrawler with security_configuration=security.configuration.ref,
    # and security.key_statements() in its role's policy
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from constructs import Construct

from patterns.arns import regional_arn
from patterns.compliance import skip_checkov
from patterns.data_lake import DataLakeStorage
from patterns.keys import customer_managed_key


def glue_arn(resource: str) -> str:
    """ARN of a Glue resource of this account and region, e.g. glue_arn("database/acme_raw")."""
    return regional_arn("glue", resource)


def glue_log_groups(kind: str) -> str:
    """Glue writes to /aws-glue/<kind>... log groups whose names it derives from the role and the
    security configuration."""
    return regional_arn("logs", f"log-group:/aws-glue/{kind}*")


def glue_log_statements(kind: str) -> list[iam.PolicyStatement]:
    """What a Glue role needs to write the logs of its `kind` ("crawlers", "jobs"), KMS-encrypted."""
    return [
        iam.PolicyStatement(
            sid="WriteGlueLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            resources=[glue_log_groups(kind), f"{glue_log_groups(kind)}:log-stream:*"],
        )
    ]


class GlueSecurity(Construct):
    """Glue writes to S3 with the lake key; its own rotated key (`self.key`) encrypts Glue's logs,
    job bookmarks and, with `data_catalog_encryption`, the account's whole Data Catalog and
    connection passwords (account-wide: off by default)."""

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, lake: DataLakeStorage,
                 data_catalog_encryption: bool = False, destroy_on_removal: bool = False) -> None:
        super().__init__(scope, id_)
        self.key = customer_managed_key(
            self,
            "Key",
            alias=f"alias/{name_prefix}-catalog",
            description=f"{name_prefix}: Glue logs, job bookmarks and (optionally) the Data Catalog",
            destroy_on_removal=destroy_on_removal,
            for_log_groups=True,
        )
        self.configuration = glue.CfnSecurityConfiguration(
            self,
            "Configuration",
            name=f"{name_prefix}-glue",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=lake.key.key_arn)],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=self.key.key_arn),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=self.key.key_arn),
            ),
        )
        self.catalog_encryption: glue.CfnDataCatalogEncryptionSettings | None = None
        if data_catalog_encryption:
            # Like an AWS managed key: any principal of this account may use the key, but only
            # through Glue, so catalog readers need no extra grant and nothing else can use it.
            self.key.add_to_resource_policy(iam.PolicyStatement(
                sid="AllowDataCatalogUseThroughGlueInThisAccount",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID,
                                             "kms:ViaService": f"glue.{Aws.REGION}.amazonaws.com"}},
            ))
            skip_checkov(
                self.key,
                ["CKV_AWS_33"],
                "The * principal is bound by kms:CallerAccount (this account) and kms:ViaService "
                "(Glue), the key policy of AWS managed keys: once the account-wide catalog is "
                "encrypted, every existing catalog reader keeps working and nothing can use the key "
                "outside Glue.",
            )
            self.catalog_encryption = glue.CfnDataCatalogEncryptionSettings(
                self,
                "DataCatalogEncryption",
                catalog_id=Aws.ACCOUNT_ID,
                data_catalog_encryption_settings=glue.CfnDataCatalogEncryptionSettings.DataCatalogEncryptionSettingsProperty(
                    encryption_at_rest=glue.CfnDataCatalogEncryptionSettings.EncryptionAtRestProperty(
                        catalog_encryption_mode="SSE-KMS", sse_aws_kms_key_id=self.key.key_arn),
                    connection_password_encryption=glue.CfnDataCatalogEncryptionSettings.ConnectionPasswordEncryptionProperty(
                        return_connection_password_encrypted=True, kms_key_id=self.key.key_arn),
                ),
            )

    def key_statements(self) -> list[iam.PolicyStatement]:
        """What a Glue role needs from the catalog key (bookmarks are client-side encrypted)."""
        return [iam.PolicyStatement(sid="UseTheCatalogKey", actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                                    resources=[self.key.key_arn])]
