"""Tailing text log files (``/var/log/auth.log``, ``/var/log/syslog``, ``/var/log/secure``,
``/var/log/messages``) from a persisted position (decision 0047).

The position is the file's identity (device and inode) and the byte offset after the last
whole line queued. Each read:

- **same file, grown**: the lines after the offset;
- **same file, shorter than the offset** (``copytruncate``): from the start again;
- **another file at the path** (rename-and-create rotation): the rest of the old file,
  found beside it by its inode (``auth.log.1``; a compressed one can no longer be read), then
  the new file from its start;
- a line is taken only once its newline is written (a writer may be half-way through it),
  except the last line of a rotated-away file, which will not grow any more.

Lines are sent as written: ``{"syslog": line, "path": path, "hostname": host}``. The server
parses them (RFC 3164 or 5424; a line that is neither stays whole as the message) with the
same parser as its syslog listener, so the agent ships no second copy of it. A line longer
than :data:`MAX_LINE_BYTES` is cut there and the rest up to its newline skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tandem_agent.logs.base import Position, ReadResult, SourceError

#: Debian/Ubuntu keep these; RPM systems /var/log/secure and /var/log/messages.
DEFAULT_PATHS = ("/var/log/auth.log", "/var/log/syslog", "/var/log/secure", "/var/log/messages")
MAX_LINE_BYTES = 64 * 1024
#: Bytes read per call at most, whatever ``max_records`` allows: bounded memory.
MAX_READ_BYTES = 4 * 1024 * 1024
#: The position of a file that does not exist (yet, or again after a rotation).
_WAITING: Position = {"dev": 0, "inode": 0, "offset": 0}


@dataclass
class _Lines:
    lines: list[str]
    offset: int
    at_end: bool  # nothing more to read (a partial last line waits for its newline)


class FileTail:
    """One file, followed across rotations."""

    def __init__(self, path: str, *, hostname: str, start_at_end: bool = True) -> None:
        self.path = path
        self.name = f"file:{path}"
        self.hostname = hostname
        #: First sight of a file: start at its end (do not ship years of history) or start.
        self.start_at_end = start_at_end

    def read(self, position: Position | None, *, max_records: int) -> ReadResult:
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if position is None:
            if current is None:
                # Not there yet: once it appears, every line of it is new.
                return ReadResult(position=_WAITING)
            start = current.st_size if self.start_at_end else 0
            if start:
                # Whatever is before the end was there before the agent: start after it.
                return ReadResult(position=_position(current, start))
            position = _position(current, 0)
        records: list[dict[str, Any]] = []
        if current is None or not _same_file(position, current):
            rotated = self._rotated_away(position)
            if rotated is not None:
                got = _read_lines(rotated, position["offset"], max_records, final=True)
                records += self._records(got.lines)
                if not got.at_end:
                    return ReadResult(records, {**position, "offset": got.offset}, more=True)
            if current is None:
                # Rotated and not yet re-created: wait for the new file, from its start.
                return ReadResult(records, _WAITING)
            position = _position(current, 0)
        elif current.st_size < position["offset"]:
            position = _position(current, 0)  # copytruncate
        got = _read_lines(
            Path(self.path), position["offset"], max_records - len(records), final=False
        )
        records += self._records(got.lines)
        return ReadResult(records, {**position, "offset": got.offset}, more=not got.at_end)

    def _records(self, lines: list[str]) -> list[dict[str, Any]]:
        return [
            {"syslog": line, "path": self.path, "hostname": self.hostname}
            for line in lines
            if line.strip()
        ]

    def _rotated_away(self, position: Position) -> Path | None:
        """The file the position names, now under another name beside the path."""
        if not position.get("inode"):
            return None
        path = Path(self.path)
        try:
            siblings = list(path.parent.iterdir())
        except OSError:
            return None
        for sibling in sorted(siblings):
            if not sibling.name.startswith(path.name) or sibling == path:
                continue
            try:
                found = sibling.stat()
            except OSError:
                continue
            if _same_file(position, found):
                return sibling
        return None


def _position(stat: os.stat_result, offset: int) -> Position:
    return {"dev": stat.st_dev, "inode": stat.st_ino, "offset": offset}


def _same_file(position: Position, stat: os.stat_result) -> bool:
    return bool(position.get("inode") == stat.st_ino and position.get("dev") == stat.st_dev)


def _read_lines(path: Path, offset: int, max_lines: int, *, final: bool) -> _Lines:
    """Whole lines from ``offset``, at most ``max_lines`` and about MAX_READ_BYTES.
    ``final``: the file will not grow, so an unterminated last line counts."""
    lines: list[str] = []
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return _Lines(lines, offset, True)  # gone between the look and the read
    except OSError as error:
        raise SourceError(f"cannot read {path}: {error.strerror}") from error
    with file:
        file.seek(offset)
        read = 0
        while len(lines) < max_lines and read < MAX_READ_BYTES:
            raw = file.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return _Lines(lines, offset, True)
            consumed = len(raw)
            if not raw.endswith(b"\n"):
                if len(raw) <= MAX_LINE_BYTES and not final:
                    return _Lines(lines, offset, True)  # partial: wait for the newline
                if len(raw) > MAX_LINE_BYTES:
                    raw = raw[:MAX_LINE_BYTES]
                    consumed += _skip_to_newline(file)
            offset += consumed
            read += consumed
            lines.append(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
        return _Lines(lines, offset, False)


def _skip_to_newline(file: BinaryIO) -> int:
    skipped = 0
    while True:
        chunk = file.readline(MAX_LINE_BYTES)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped
