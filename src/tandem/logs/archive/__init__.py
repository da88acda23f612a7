"""The event archive: a tenant's raw security events, kept as hourly Parquet and searched
with DuckDB (decision record 0040). Pure: no Django; every function takes the archive's
base directory and a tenant id.
"""

from tandem.logs.archive.retention import prune
from tandem.logs.archive.search import EventPage, around, count, search
from tandem.logs.archive.writer import STREAM_ID_KEY, AppendResult, append, compact, compact_tenant

__all__ = [
    "STREAM_ID_KEY",
    "AppendResult",
    "EventPage",
    "append",
    "around",
    "compact",
    "compact_tenant",
    "count",
    "prune",
    "search",
]
