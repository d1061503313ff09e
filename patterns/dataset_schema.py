"""A dataset's schema: its columns with their Glue types, read from one JSON file.

Plain Python (no CDK import), so scripts such as a producer can use it cheaply. One file can serve
every consumer: a Lambda that validates records against it (shipped in the function's asset), the
Glue table that DatasetTable builds from it and the queries over that table, so they cannot drift
apart. This app's file is `lambda/event_transform/schema.json` (the stacks pass its path).

Usage, anywhere::

    schema = load_schema(Path("schemas/clicks.json"))  # {"dataset", "description", "columns": [...]}
    schema = DatasetSchema(dataset="clicks", description="Page clicks",
                           columns=(Column(name="page", type="string", required=True, comment="Page path"),))
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

# Schema types -> Glue/Hive column types.
GLUE_TYPES = {"string": "string", "timestamp": "timestamp", "double": "double", "int": "int", "bigint": "bigint"}
# Hive-style day partitions, the layout of every dataset in the lake.
PARTITION_KEYS = ("year", "month", "day")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Column:
    """One column: `type` is a schema type (a key of GLUE_TYPES), `required` whether every record has
    a value, `comment` what it holds (the Glue column comment)."""

    name: str
    type: str
    required: bool
    comment: str

    @property
    def glue_type(self) -> str:
        return GLUE_TYPES[self.type]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetSchema:
    """A dataset: its name (the table's and its S3 prefix's), a description and its columns, in order."""

    dataset: str
    description: str
    columns: tuple[Column, ...]


def load_schema(path: Path) -> DatasetSchema:
    """The schema in the JSON file at `path`; a column type with no Glue type is refused."""
    raw = json.loads(path.read_text())
    unknown_types = {c["type"] for c in raw["columns"]} - set(GLUE_TYPES)
    if unknown_types:
        raise ValueError(f"{path}: column types {sorted(unknown_types)} have no Glue type; known: {sorted(GLUE_TYPES)}")
    return DatasetSchema(
        dataset=raw["dataset"],
        description=raw["description"],
        columns=tuple(Column(name=c["name"], type=c["type"], required=c["required"], comment=c["comment"])
                      for c in raw["columns"]),
    )
