"""ZoneCrawler: a least-privilege Glue crawler over one lake zone, recrawling new folders only.

It catalogs the datasets users add to the zone into one database, never rewrites or deletes a table,
and skips the prefixes given as `exclusions` (datasets with explicit tables, other services' output).

Usage, in any stack::

    lake = DataLakeStorage(stack, "Lake", name_prefix="acme", zones={"raw": ZoneTiering()})
    security = GlueSecurity(stack, "GlueSecurity", name_prefix="acme", lake=lake)
    crawler = ZoneCrawler(stack, "RawCrawler", name="acme-raw", lake=lake, zone="raw",
                          database_name="acme_raw", security=security, schedule="cron(0 3 * * ? *)")
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from constructs import Construct

from patterns.compliance import acknowledge, finding_reference
from patterns.data_lake import DataLakeStorage
from patterns.glue_security import GlueSecurity, glue_arn, glue_log_groups, glue_log_statements
from patterns.roles import service_role


class ZoneCrawler(Construct):
    """Crawls the datasets users add to a zone; explicitly defined datasets are excluded. With no
    `schedule` (a Glue cron expression) it runs only when started."""

    def __init__(self, scope: Construct, id_: str, *, name: str, lake: DataLakeStorage, zone: str, database_name: str,
                 security: GlueSecurity, exclusions: Sequence[str] = (), schedule: str | None = None) -> None:
        super().__init__(scope, id_)
        bucket = lake.zone(zone)
        tables = glue_arn(f"table/{database_name}/*")
        self.role, policy = service_role(
            self,
            "Crawler",
            service="glue.amazonaws.com",
            description=f"{name}: read the {zone} zone, write its tables in {database_name}",
            statements=[
                iam.PolicyStatement(sid="ListTheZone", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]),
                iam.PolicyStatement(sid="ReadTheZone", actions=["s3:GetObject"], resources=[lake.objects_arn(zone, "*")]),
                lake.key_through_s3("DecryptTheZone", ["kms:Decrypt"]),
                iam.PolicyStatement(
                    sid="CatalogTheZone",
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                             "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
                             "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition",
                             "glue:BatchUpdatePartition"],
                    resources=[glue_arn("catalog"), glue_arn(f"database/{database_name}"), tables],
                ),
                iam.PolicyStatement(sid="ReadTheSecurityConfiguration", actions=["glue:GetSecurityConfiguration"],
                                    resources=["*"]),
                *glue_log_statements("crawlers"),
                *security.key_statements(),
            ],
        )
        acknowledge(
            policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]"
             for arn in (lake.objects_arn(zone, "*"), tables, glue_log_groups("crawlers"),
                         f"{glue_log_groups('crawlers')}:log-stream:*")]
            + ["AwsSolutions-IAM5[Resource::*]"],
            "A crawler discovers what it catalogs: it reads every object of its zone and creates "
            "tables it cannot name in advance, in its own database only; Glue names its log groups "
            "after the role and security configuration; GetSecurityConfiguration has no resource ARN.",
        )
        self.crawler = glue.CfnCrawler(
            self,
            "Crawler",
            name=name,
            role=self.role.role_arn,
            database_name=database_name,
            description=f"Catalogs new datasets in the {zone} zone (explicit tables excluded)",
            targets=glue.CfnCrawler.TargetsProperty(
                s3_targets=[glue.CfnCrawler.S3TargetProperty(path=f"s3://{bucket.bucket_name}/",
                                                             exclusions=list(exclusions))]),
            schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression=schedule) if schedule else None,
            # Crawling new folders only requires LOG for both behaviours: the crawler never
            # rewrites or deletes a table definition, it only adds new tables and partitions.
            recrawl_policy=glue.CfnCrawler.RecrawlPolicyProperty(recrawl_behavior="CRAWL_NEW_FOLDERS_ONLY"),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(update_behavior="LOG",
                                                                           delete_behavior="LOG"),
            # The Ref (the name) makes CloudFormation create the configuration first.
            crawler_security_configuration=security.configuration.ref,
            configuration=json.dumps({"Version": 1.0, "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
                                      "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}}),
        )
        self.crawler.node.add_dependency(policy)
