"""Reading the systemd journal with ``journalctl -o json`` from a persisted cursor
(decision 0047).

``journalctl --after-cursor=<cursor> -o json`` prints one JSON object per entry, oldest
first; the agent reads at most ``max_records`` lines of it (then stops the program: a
backlog of a million entries costs one batch of memory at a time) and the position is the
``__CURSOR`` of the last entry read. The first time, the position is the cursor of the
journal's newest entry (``-n 1``): history from before the agent is not shipped.

Entries go to the server as journalctl wrote them, less the cursor and the monotonic and
boot fields no rule reads; the server normalises them (``MESSAGE``, ``SYSLOG_IDENTIFIER``,
``_PID``, ``_EXE``, ``_CMDLINE``, ...) into the same ECS shape as syslog lines.

Journald runs where ``/run/systemd/journal/socket`` exists; elsewhere (a container, a
system without systemd) the source is unavailable and says so once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from typing import Any

from tandem_agent.logs.base import Position, ReadResult, SourceError, SourceUnavailable

JOURNAL_SOCKET = "/run/systemd/journal/socket"
#: Fields of every entry that only journalctl itself needs.
_DROPPED = frozenset({"__CURSOR", "__MONOTONIC_TIMESTAMP", "__SEQNUM", "__SEQNUM_ID"})


def journald_available(socket_path: str = JOURNAL_SOCKET) -> str | None:
    """None when journald can be read here, else the plain reason it cannot."""
    if shutil.which("journalctl") is None:
        return "journalctl is not installed"
    if not os.path.exists(socket_path):
        return f"journald is not running ({socket_path} does not exist)"
    return None


def parse_entries(lines: Iterable[str], *, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` entries of ``journalctl -o json`` output, and the last one's cursor.
    A line that is not a JSON object (never seen, but a program's output is not ours) is
    skipped; an entry without a cursor cannot be resumed after and ends the batch."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    for line in lines:
        if len(entries) >= limit:
            break
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("__CURSOR"), str):
            continue
        cursor = entry["__CURSOR"]
        entries.append({k: v for k, v in entry.items() if k not in _DROPPED})
    return entries, cursor


class JournaldSource:
    """The local journal (or the one in ``directory``, journalctl's ``--directory``)."""

    name = "journald"

    def __init__(self, *, directory: str | None = None, program: str = "journalctl") -> None:
        self.directory = directory
        self.program = program

    def _command(self, *args: str) -> list[str]:
        command = [self.program, "-o", "json", "--no-pager", "-q"]
        if self.directory:
            command += ["--directory", self.directory]
        return command + list(args)

    def read(self, position: Position | None, *, max_records: int) -> ReadResult:
        if position is None or not position.get("cursor"):
            _, cursor = _run(self._command("-n", "1"), limit=1)
            return ReadResult(position={"cursor": cursor} if cursor else None)
        entries, cursor = _run(
            self._command(f"--after-cursor={position['cursor']}"), limit=max_records
        )
        return ReadResult(
            entries,
            {"cursor": cursor} if cursor else position,
            more=len(entries) >= max_records,
        )


def _run(command: Sequence[str], *, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Read at most ``limit`` entries from journalctl, then stop it."""
    try:
        # A fixed program and arguments the agent builds; the cursor is journalctl's own.
        process = subprocess.Popen(  # noqa: S603
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env={**os.environ, "LC_ALL": "C", "SYSTEMD_PAGER": ""},
        )
    except OSError as error:
        raise SourceUnavailable(f"cannot run journalctl: {error}") from error
    assert process.stdout is not None and process.stderr is not None
    try:
        entries, cursor = parse_entries(process.stdout, limit=limit)
    finally:
        if process.poll() is None:
            process.terminate()
        process.stdout.close()
        stderr = process.stderr.read()
        process.stderr.close()
        code = process.wait()
    if code not in (0, -15) and not entries:
        raise SourceError(f"journalctl failed ({code}): {stderr.strip()[:200]}")
    return entries, cursor
