"""SavedQuery: an Athena saved query over one table, written once for any database and table.

Plain Python (no CDK import). QueryWorkgroup.save_queries saves them in a workgroup.

Usage, anywhere::

    daily = SavedQuery(name="daily", description="Rows per day",
                       template="SELECT day, count(*) FROM {table} GROUP BY day")
    daily.sql("acme_raw", "clicks")  # 'SELECT day, count(*) FROM acme_raw.clicks GROUP BY day\\n'
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class SavedQuery:
    """A named query: `template` is its SQL with `{table}` where the fully qualified table goes, and
    `sql(database, table)` the text Athena saves (trimmed, one final newline)."""

    name: str
    description: str
    template: str  # {table}: the fully qualified table, database.table

    def sql(self, database: str, table: str) -> str:
        return self.template.format(table=f"{database}.{table}").strip() + "\n"
