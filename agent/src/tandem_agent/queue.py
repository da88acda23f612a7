"""The durable queue of outgoing reports: SQLite in WAL mode, synchronous commits.

A report is queued before the agent tries to send it and leaves the queue only when the
server has acknowledged its id, so nothing collected is lost while the server is down or
the agent is killed. Reports go oldest first; each carries a unique id (the server drops one
it has already taken) and a sequence number that only grows, so the server orders them
whatever the agent's clock says (decision 0025).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS report (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    agent_time TEXT NOT NULL,
    body TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class QueuedReport:
    sequence: int
    id: str
    kind: str
    agent_time: str
    body: dict[str, Any]


class ReportQueue:
    """Reports waiting for the server's acknowledgement, oldest first."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The reports hold the inventory: the file is the agent's alone from its creation.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before put() returns, even if the machine loses power.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def put(self, kind: str, body: dict[str, Any], *, agent_time: str) -> QueuedReport:
        """Queue a report; its id is new, its sequence above every earlier one."""
        report_id = str(uuid.uuid4())
        cursor = self._db.execute(
            "INSERT INTO report (id, kind, agent_time, body) VALUES (?, ?, ?, ?)",
            (report_id, kind, agent_time, json.dumps(body, separators=(",", ":"))),
        )
        sequence = cursor.lastrowid
        assert sequence is not None
        return QueuedReport(sequence, report_id, kind, agent_time, body)

    def oldest(self, limit: int) -> list[QueuedReport]:
        rows = self._db.execute(
            "SELECT sequence, id, kind, agent_time, body FROM report ORDER BY sequence LIMIT ?",
            (limit,),
        ).fetchall()
        return [QueuedReport(s, i, k, t, json.loads(b)) for s, i, k, t, b in rows]

    def acknowledge(self, ids: Iterable[str]) -> int:
        """Remove the reports the server took; unknown ids are ignored. Returns the count."""
        ids = list(ids)
        if not ids:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        removed = 0
        for report_id in ids:
            removed += self._db.execute("DELETE FROM report WHERE id = ?", (report_id,)).rowcount
        self._db.execute("COMMIT")
        return removed

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM report").fetchone()[0])
