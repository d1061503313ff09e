"""Athena saved queries on the streaming dataset.

Written in the SQL that Athena (Trino) and DuckDB share, with no translation shim: the tests run
these exact strings on DuckDB against Parquet laid out as Firehose writes it.

Usage, anywhere (QueryWorkgroup.save_queries saves them in a workgroup)::

    daily = SavedQuery("daily", "Rows per day", "SELECT day, count(*) FROM {table} GROUP BY day")
    daily.sql("acme_raw", "clicks")  # 'SELECT day, count(*) FROM acme_raw.clicks GROUP BY day\\n'
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    template: str  # {table}: the fully qualified table, database.table

    def sql(self, database: str, table: str) -> str:
        return self.template.format(table=f"{database}.{table}").strip() + "\n"


SAVED_QUERIES = (
    SavedQuery(
        "readings-per-day",
        "Readings delivered per day (arrival-date partitions)",
        """
SELECT year, month, day, count(*) AS readings, count(DISTINCT device_id) AS devices
FROM {table}
GROUP BY year, month, day
ORDER BY year, month, day
""",
    ),
    SavedQuery(
        "latest-partition",
        "The newest day partition and what it holds",
        """
SELECT year, month, day, count(*) AS readings, min(event_time) AS first_reading, max(event_time) AS last_reading
FROM {table}
WHERE concat(year, month, day) = (SELECT max(concat(year, month, day)) FROM {table})
GROUP BY year, month, day
""",
    ),
    SavedQuery(
        "data-quality",
        "Duplicates, missing optional values and fault share per day",
        """
SELECT year, month, day,
       count(*) AS readings,
       count(*) - count(DISTINCT event_id) AS duplicate_event_ids,
       sum(CASE WHEN humidity_pct IS NULL THEN 1 ELSE 0 END) AS missing_humidity,
       sum(CASE WHEN battery_pct IS NULL THEN 1 ELSE 0 END) AS missing_battery,
       sum(CASE WHEN status = 'fault' THEN 1 ELSE 0 END) AS faults
FROM {table}
GROUP BY year, month, day
ORDER BY year, month, day
""",
    ),
)
