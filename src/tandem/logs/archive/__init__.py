"""The event archive: a tenant's raw security events, kept as hourly Parquet and searched
with DuckDB (decision record 0040). Pure: no Django; every function takes the archive's
base directory and a tenant id.
"""

from tandem.logs.archive.retention import prune
from tandem.logs.archive.search import EventPage, around, count, histogram, search
from tandem.logs.archive.writer import (
    DEVICE_KEY,
    STREAM_ID_KEY,
    AppendResult,
    append,
    compact,
    compact_tenant,
)

__all__ = [
    "DEVICE_KEY",
    "STREAM_ID_KEY",
    "AppendResult",
    "EventPage",
    "append",
    "around",
    "compact",
    "compact_tenant",
    "count",
    "histogram",
    "prune",
    "search",
]
