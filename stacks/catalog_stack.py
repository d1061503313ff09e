"""The catalog stack: Glue security, curated database and table, crawler, ETL job, Athena."""

from __future__ import annotations

from aws_cdk import CfnOutput, DefaultStackSynthesizer, Fn, Stack
from constructs import Construct

from config.settings import Settings
from patterns.athena import AnalystAccess, QueryWorkgroup
from patterns.curation_job import CurationJob
from patterns.data_lake import DataLakeStorage
from patterns.dataset_table import DatasetTable
from patterns.glue_security import GlueSecurity
from patterns.lake_formation import ALL_TABLES, LakeGovernance
from patterns.parquet_delivery import prefixes
from patterns.sagemaker_lake import CHECKPOINTS_PREFIX, DATA_CAPTURE_PREFIX, MODELS_PREFIX, MONITORING_PREFIX
from patterns.zone_crawler import ZoneCrawler
from stacks.sensor_dataset import ETL_SCRIPT, SAVED_QUERIES


class CatalogStack(Stack):
    """Consumes the lake and the streaming stack's raw table; owns everything that catalogs and queries."""

    def __init__(self, scope: Construct, id_: str, *, settings: Settings, lake: DataLakeStorage,
                 raw_table: DatasetTable, training_data_prefix: str, **kwargs) -> None:
        """`training_data_prefix`: where SageMaker reads training data in the curated zone (the crawler
        leaves it alone; analysts may UNLOAD there). It is the SageMaker settings', handed over by build_app."""
        super().__init__(scope, id_, **kwargs)
        prefix, destroy, catalog = settings.name_prefix, settings.destroy_data_on_removal, settings.catalog
        self.security = GlueSecurity(self, "GlueSecurity", name_prefix=prefix, lake=lake,
                                     data_catalog_encryption=catalog.data_catalog_encryption,
                                     destroy_on_removal=destroy)
        self.curated_table = DatasetTable(self, "CuratedTable", name_prefix=prefix, zone="curated",
                                          schema=raw_table.schema, bucket=lake.curated, destroy_on_removal=destroy)
        databases = {"raw": raw_table.database_name, "curated": self.curated_table.database_name}
        # Explicit tables, the stream's own output and SageMaker's folders (training data, models,
        # checkpoints, endpoint data capture) are not the crawler's to guess.
        owned = {
            "raw": [*prefixes(raw_table.schema.dataset).values(), DATA_CAPTURE_PREFIX],
            "curated": [self.curated_table.table_name, training_data_prefix, MODELS_PREFIX,
                        CHECKPOINTS_PREFIX, MONITORING_PREFIX],
        }
        exclusions = {zone: [f"{top}/**" for top in sorted({p.split("/", 1)[0] for p in keys})]
                      for zone, keys in owned.items()}
        # Spark's S3 committer writes a "<dataset>_$folder$" marker beside the curated dataset.
        exclusions["curated"].append(f"{self.curated_table.table_name}_$folder$")
        self.crawlers = {
            zone: ZoneCrawler(
                self, f"{zone.capitalize()}Crawler", name=f"{prefix}-{zone}", lake=lake, zone=zone,
                database_name=databases[zone], exclusions=exclusions[zone], security=self.security,
                schedule=catalog.crawler_schedule if catalog.crawler_schedule_enabled else None,
            )
            for zone in catalog.crawler_zones
        }
        self.job = CurationJob(
            self, "Curation", name=f"{prefix}-raw-to-curated", lake=lake, raw_table=raw_table,
            curated_table=self.curated_table, security=self.security, script=ETL_SCRIPT,
            worker_type=catalog.etl_worker_type, workers=catalog.etl_workers,
            timeout_minutes=catalog.etl_timeout_minutes,
            schedule=catalog.etl_schedule if catalog.etl_schedule_enabled else None,
        )
        self.workgroup = QueryWorkgroup(
            self, "Athena", name=f"{prefix}-analytics", lake=lake,
            bytes_scanned_cutoff_mb=catalog.athena_bytes_scanned_cutoff_mb, destroy_on_removal=destroy,
        )
        self.workgroup.save_queries(SAVED_QUERIES, database=raw_table.database_name, table=raw_table.table_name)
        self.analysts = AnalystAccess(
            self, "Analysts", name=f"{prefix}-analyst", workgroup=self.workgroup, lake=lake,
            databases=list(databases.values()),
            readable={"raw": [f"{raw_table.table_name}/*"], "curated": ["*"]},
            # Training data is prepared with Athena UNLOAD (README, deploy step 5).
            writable={"curated": [f"{training_data_prefix}*"]},
        )
        self.lake_formation = (self._govern(settings, lake, raw_table, databases)
                               if settings.lake_formation.enabled else None)
        outputs = {
            "AnalystPolicyArn": (self.analysts.policy.managed_policy_arn,
                                 "Attach to analysts: queries in this workgroup over the lake's tables"),
            "WorkGroupName": (self.workgroup.workgroup.ref, "Athena workgroup (encrypted, capped results)"),
            "CuratedDatabaseName": (self.curated_table.database_name, "Glue database of the curated zone"),
            "EtlJobName": (self.job.job.ref, "Glue job raw -> curated"),
            **{f"{zone.capitalize()}CrawlerName": (crawler.crawler.ref, f"Glue crawler of the {zone} zone")
               for zone, crawler in self.crawlers.items()},
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)

    def _govern(self, settings: Settings, lake: DataLakeStorage, raw_table: DatasetTable,
                databases: dict[str, str]) -> LakeGovernance:
        """Lake Formation in hybrid access mode over the zones that hold datasets (not query results),
        with each principal's grants mirroring what its IAM policy already allows."""
        if not isinstance(self.synthesizer, DefaultStackSynthesizer):
            raise ValueError("lake_formation.enabled=true needs CDK's default stack synthesizer: its "
                             "CloudFormation execution role must become a data-lake administrator")
        governance = LakeGovernance(
            self, "LakeFormation", lake=lake, zones=list(databases), admins=settings.lake_formation.admins,
            # ${AWS::Partition}, ${AWS::AccountId} and ${AWS::Region} placeholders: substituted at deploy.
            deploy_role_arn=Fn.sub(self.synthesizer.cloud_formation_execution_role_arn),
        )
        curated = self.curated_table
        for zone, crawler in self.crawlers.items():
            # Crawled tables point into a registered zone: creating them (and their partitions)
            # needs DATA_LOCATION_ACCESS even in hybrid mode.
            governance.grant(f"{zone.capitalize()}Crawler", principal=crawler.role.role_arn, database=databases[zone],
                             database_permissions=["DESCRIBE", "CREATE_TABLE"],
                             tables={ALL_TABLES: ["ALTER", "DESCRIBE"]}, location_zones=[zone],
                             # The curated database is this stack's: grant once it exists.
                             after=[curated.table] if zone == "curated" else [])
        # The job reads and writes by S3 path today; these are what it needs once opted in and
        # reading through the catalog.
        governance.grant("EtlRaw", principal=self.job.role.role_arn, database=raw_table.database_name,
                         tables={raw_table.table_name: ["SELECT", "DESCRIBE"]})
        governance.grant("EtlCurated", principal=self.job.role.role_arn, database=curated.database_name,
                         tables={curated.table_name: ["SELECT", "INSERT", "DESCRIBE"]}, after=[curated.table])
        for number, analyst in enumerate(settings.lake_formation.analyst_principals, start=1):
            governance.grant(f"Analyst{number}Raw", principal=analyst, database=raw_table.database_name,
                             tables={raw_table.table_name: ["SELECT", "DESCRIBE"]})
            governance.grant(f"Analyst{number}Curated", principal=analyst, database=curated.database_name,
                             tables={ALL_TABLES: ["SELECT", "DESCRIBE"]}, after=[curated.table])
        return governance

    def grant_lake_formation_reader(self, id_: str, principal_arn: str) -> None:
        """With Lake Formation on, let `principal_arn` (e.g. the SageMaker execution role, from another
        stack: a weak cross-stack reference) describe and read the curated dataset; otherwise nothing."""
        if self.lake_formation is not None:
            self.lake_formation.grant(id_, principal=principal_arn, database=self.curated_table.database_name,
                                      tables={self.curated_table.table_name: ["SELECT", "DESCRIBE"]},
                                      after=[self.curated_table.table])
