"""DatasetTable: a Glue database and a partition-projected Parquet table for one lake dataset.

Usage, in any stack::

    schema = DatasetSchema(dataset="clicks", description="Page clicks",
                           columns=(Column(name="page", type="string", required=True, comment="Page path"),))
    table = DatasetTable(stack, "ClicksTable", name_prefix="acme", zone="raw", schema=schema, bucket=raw_bucket)
    table.location  # s3://<bucket>/clicks/, partitioned year=/month=/day=
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from patterns.arns import regional_arn
from patterns.data_lake import dataset_prefix
from patterns.dataset_schema import PARTITION_KEYS, DatasetSchema
from patterns.keys import removal_policy

# A fixed range (not "this year + n"): two synths must give the same template in any year.
FIRST_PARTITION_YEAR = 2024
LAST_PARTITION_YEAR = 2099
PARQUET = {
    "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "serde": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
}


def glue_name(*parts: str) -> str:
    """Glue/Athena-friendly name: lowercase with underscores (hyphens need quoting in Athena)."""
    return "_".join(parts).replace("-", "_").lower()


class DatasetTable(Construct):
    """Glue database `<prefix>_<zone>` and table `<dataset>` over `s3://<bucket>/<dataset>/`.

    Partition projection (year/month/day) makes new days queryable without a crawler or
    `MSCK REPAIR TABLE`; Firehose reads the same table to convert JSON to Parquet.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        zone: str,
        schema: DatasetSchema,
        bucket: s3.IBucket,
        destroy_on_removal: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        self.schema = schema
        self.database_name = glue_name(name_prefix, zone)
        self.table_name = glue_name(schema.dataset)
        self.location = f"s3://{bucket.bucket_name}/{dataset_prefix(schema.dataset)}"
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description=f"{zone} zone of the {name_prefix} data lake"
            ),
        )
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=self.table_name,
                description=schema.description,
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name=k, type="string") for k in PARTITION_KEYS],
                parameters={
                    "classification": "parquet",
                    "parquet.compression": "SNAPPY",
                    "projection.enabled": "true",
                    "projection.year.type": "integer",
                    "projection.year.range": f"{FIRST_PARTITION_YEAR},{LAST_PARTITION_YEAR}",
                    "projection.month.type": "integer",
                    "projection.month.range": "1,12",
                    "projection.month.digits": "2",
                    "projection.day.type": "integer",
                    "projection.day.range": "1,31",
                    "projection.day.digits": "2",
                    "storage.location.template": self.location
                    + "/".join(f"{k}=${{{k}}}" for k in PARTITION_KEYS) + "/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=c.name, type=c.glue_type, comment=c.comment)
                             for c in schema.columns],
                    location=self.location,
                    input_format=PARQUET["input_format"],
                    output_format=PARQUET["output_format"],
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET["serde"]),
                ),
            ),
        )
        self.table.node.add_dependency(self.database)
        # A crawler or a user may add tables to the database: prod keeps the catalog.
        for resource in (self.database, self.table):
            resource.apply_removal_policy(removal_policy(destroy_on_removal))

    def arns(self) -> list[str]:
        """The catalog, database and table ARNs: what a principal needs to read this table's schema."""
        return [regional_arn("glue", "catalog"), regional_arn("glue", f"database/{self.database_name}"),
                regional_arn("glue", f"table/{self.database_name}/{self.table_name}")]
