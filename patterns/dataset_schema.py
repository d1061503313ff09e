"""The streaming dataset's schema, defined once in `lambda/event_transform/schema.json`.

Plain Python (no CDK import), so scripts such as the producer can use it cheaply.

The transform Lambda validates against that file (it ships inside the function's asset), and the
CDK side reads the same file to build the Glue table that Firehose converts to Parquet with and
that Athena queries. Tests write the transform's output to Parquet with these Glue types, so the
three cannot drift apart.

Usage, anywhere::

    schema = load_schema(Path("schemas/clicks.json"))  # {"dataset", "description", "columns": [...]}
    schema = DatasetSchema("clicks", "Page clicks", (Column("page", "string", True, "Page path"),))
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "lambda" / "event_transform" / "schema.json"
# Schema types -> Glue/Hive column types.
GLUE_TYPES = {"string": "string", "timestamp": "timestamp", "double": "double", "int": "int", "bigint": "bigint"}
# Hive-style day partitions, the layout of every dataset in the lake.
PARTITION_KEYS = ("year", "month", "day")


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    comment: str

    @property
    def glue_type(self) -> str:
        return GLUE_TYPES[self.type]


@dataclasses.dataclass(frozen=True)
class DatasetSchema:
    dataset: str
    description: str
    columns: tuple[Column, ...]


def load_schema(path: Path = SCHEMA_FILE) -> DatasetSchema:
    raw = json.loads(path.read_text())
    unknown_types = {c["type"] for c in raw["columns"]} - set(GLUE_TYPES)
    if unknown_types:
        raise ValueError(f"{path}: column types {sorted(unknown_types)} have no Glue type; known: {sorted(GLUE_TYPES)}")
    return DatasetSchema(
        dataset=raw["dataset"],
        description=raw["description"],
        columns=tuple(Column(c["name"], c["type"], c["required"], c["comment"]) for c in raw["columns"]),
    )
