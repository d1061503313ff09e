"""The catalog stack: Glue security, curated database and table, crawler, ETL job, Athena."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import Settings
from patterns.athena import AnalystAccess, QueryWorkgroup
from patterns.curation_job import CurationJob
from patterns.data_lake import DataLakeStorage
from patterns.dataset_table import DatasetTable
from patterns.glue_security import GlueSecurity
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
