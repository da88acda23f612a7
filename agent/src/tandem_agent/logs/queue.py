"""The durable queue of log records waiting for the server, and each source's position.

One SQLite file (``events.sqlite3`` in the state directory, WAL, synchronous commits),
apart from the report queue: a burst of log lines never sits in front of an inventory.
Records and the position a source reached after reading them are written in **one
transaction** (:meth:`EventQueue.put`): after a crash either both are on disk or neither,
so a restart neither skips lines (position ahead of the queue) nor reads them twice
(queue ahead of the position). Records leave the queue only when the server took them.
A batch is sent under a stable id (:meth:`EventQueue.batch_id`): a resend after a lost
answer is recognised by the server and appended once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS log_record (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS log_position (
        source TEXT PRIMARY KEY,
        position TEXT NOT NULL
    )""",
    # This queue's own name, made once: batch ids stay unique when the state directory is
    # made afresh and the sequences start again.
    """CREATE TABLE IF NOT EXISTS log_queue (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL
    )""",
)


@dataclass(frozen=True)
class QueuedRecord:
    sequence: int
    source: str
    line: bytes  # the record as one NDJSON line, without the newline


class EventQueue:
    """Log records oldest first, and the positions of the sources that read them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Log lines name users and hosts: the file is the agent's alone from its creation.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.execute(
            "INSERT OR IGNORE INTO log_queue (id, name) VALUES (1, ?)", (uuid.uuid4().hex,)
        )
        self.name: str = self._db.execute("SELECT name FROM log_queue").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def position(self, source: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT position FROM log_position WHERE source = ?", (source,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def positions(self) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT source, position FROM log_position ORDER BY source")
        return {source: json.loads(position) for source, position in rows}

    def put(
        self, source: str, records: Sequence[dict[str, Any]], position: dict[str, Any] | None
    ) -> None:
        """Queue ``records`` read by ``source`` and move its position, in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT INTO log_record (source, body) VALUES (?, ?)",
                [
                    (source, json.dumps(r, separators=(",", ":"), ensure_ascii=False))
                    for r in records
                ],
            )
            if position is not None:
                self._db.execute(
                    "INSERT INTO log_position (source, position) VALUES (?, ?) "
                    "ON CONFLICT (source) DO UPDATE SET position = excluded.position",
                    (source, json.dumps(position, separators=(",", ":"))),
                )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def oldest(self, *, max_records: int, max_bytes: int) -> list[QueuedRecord]:
        """The oldest records, at most ``max_records`` and about ``max_bytes`` (always at
        least one, so a single large record still goes)."""
        rows = self._db.execute(
            "SELECT sequence, source, body FROM log_record ORDER BY sequence LIMIT ?",
            (max_records,),
        )
        taken: list[QueuedRecord] = []
        size = 0
        for sequence, source, body in rows:
            line = body.encode("utf-8")
            if taken and size + len(line) + 1 > max_bytes:
                break
            taken.append(QueuedRecord(sequence, source, line))
            size += len(line) + 1
        return taken

    def batch_id(self, records: Sequence[QueuedRecord]) -> str:
        """A stable name for a batch of these records (``Tandem-Batch-Id``, decision 0050):
        the same records sent again carry the same id, so the server appends them once;
        any other set of records (a batch halved, its taken prefix removed) another id."""
        first, last = records[0].sequence, records[-1].sequence
        return f"{self.name}.{first}-{last}.{len(records)}"

    def remove(self, records: Sequence[QueuedRecord]) -> int:
        """Remove records the server took (or refused for good). Returns the count."""
        if not records:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        removed = 0
        for record in records:
            removed += self._db.execute(
                "DELETE FROM log_record WHERE sequence = ?", (record.sequence,)
            ).rowcount
        self._db.execute("COMMIT")
        return removed

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM log_record").fetchone()[0])
