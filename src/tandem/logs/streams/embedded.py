"""The embedded event stream: a durable append-only log in the data directory (decision 0035).

Layout under the stream's folder::

    00000000000000000000.seg   segments, named by the log offset of their first byte
    00000000000067108912.seg
    append.lock                held (fcntl) by whoever appends or truncates
    groups/<group>.json        a group's state: committed offset, leases, out-of-order acks
    groups/<group>.lock        held while the state is read and rewritten
    groups/<group>.dead.ndjson batches set aside after ``max_deliver`` deliveries

A record is one batch: a header (payload length, CRC-32 of the payload; big-endian u32
each) and the payload (JSON). An offset is a position in the whole log (segment base plus
position in the segment), so an offset names a record forever, across segment rolls.

Appends take the append lock (a thread lock plus ``flock``: several processes on one
machine append safely), write the record with one ``write`` and ``fdatasync`` before
returning. A crash can leave a partial record only at the end of the last segment, since
appends are serialised and each is synced before the next: opening the stream, and any
appender that finds the log longer than it left it, checks the new tail and truncates a
record that is short or fails its checksum. Readers never truncate: a record not (yet)
whole is simply not delivered.

A group's state changes under its own lock and is rewritten whole (temporary file, fsync,
rename, directory fsync), so every process sees one consistent state and an ack is durable
on return. A lease (a delivered, unacknowledged batch) carries an expiry: once past it, the
batch goes to the next consumer that fetches. Segments every group has committed past are
deleted; the last segment always stays.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tandem.logs.streams.base import (
    Batch,
    BatchTooLarge,
    Limits,
    StreamBusy,
    StreamError,
    check_name,
)

logger = logging.getLogger(__name__)

HEADER = struct.Struct(">II")
SEGMENT_SUFFIX = ".seg"
#: Segments roll over past this size (a segment is deleted whole, so smaller segments
#: free space sooner; larger ones mean fewer files).
SEGMENT_BYTES = 64 * 1024 * 1024
#: How often a waiting ``fetch`` looks for new records.
POLL_SECONDS = 0.02


def _segment_name(base: int) -> str:
    return f"{base:020d}{SEGMENT_SUFFIX}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _flock(path: Path, thread_lock: threading.Lock) -> Iterator[None]:
    """Exclusive across threads (the thread lock: ``flock`` is per open file, so threads
    of one process sharing a descriptor would not exclude each other) and processes."""
    with thread_lock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


class EmbeddedStream:
    """The log in ``root`` (created if missing). Safe to open in several processes."""

    def __init__(
        self, root: Path | str, *, limits: Limits | None = None, segment_bytes: int = SEGMENT_BYTES
    ) -> None:
        self.root = Path(root)
        self.limits = limits or Limits()
        self.segment_bytes = segment_bytes
        self.groups_dir = self.root / "groups"
        self.groups_dir.mkdir(parents=True, exist_ok=True)
        self._append_lock = threading.Lock()
        self._group_locks: dict[str, threading.Lock] = {}
        self._group_locks_guard = threading.Lock()
        self._bases: list[int] = []
        self._readers: dict[int, int] = {}
        self._writer: tuple[int, int] | None = None  # (segment base, fd)
        #: The end of the log as this instance last validated or wrote it.
        self._known_end = -1
        with self._locked_append():
            self._recover_tail()

    # -- segments ---------------------------------------------------------------------

    def _list_bases(self) -> list[int]:
        bases = sorted(
            int(name[: -len(SEGMENT_SUFFIX)])
            for name in os.listdir(self.root)
            if name.endswith(SEGMENT_SUFFIX)
        )
        self._bases = bases
        return bases

    def _segment_path(self, base: int) -> Path:
        return self.root / _segment_name(base)

    def _create_segment(self, base: int) -> None:
        fd = os.open(self._segment_path(base), os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        _fsync_dir(self.root)

    @contextlib.contextmanager
    def _locked_append(self) -> Iterator[None]:
        with _flock(self.root / "append.lock", self._append_lock):
            yield

    def _writer_fd(self, base: int) -> int:
        if self._writer is not None and self._writer[0] == base:
            return self._writer[1]
        if self._writer is not None:
            os.close(self._writer[1])
        fd = os.open(self._segment_path(base), os.O_WRONLY | os.O_APPEND)
        self._writer = (base, fd)
        return fd

    def _recover_tail(self) -> None:
        """Under the append lock: make sure the last segment ends on a whole record."""
        bases = self._list_bases()
        if not bases:
            self._create_segment(0)
            bases = self._list_bases()
        base = bases[-1]
        path = self._segment_path(base)
        size = path.stat().st_size
        start = self._known_end - base if base <= self._known_end <= base + size else 0
        good = self._scan(base, start, size)
        if good < size:
            logger.warning(
                "event stream %s: truncating a partial record at offset %d (%d bytes)",
                self.root,
                base + good,
                size - good,
            )
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, good)
                os.fsync(fd)
            finally:
                os.close(fd)
        self._known_end = base + good

    def _scan(self, base: int, position: int, size: int) -> int:
        """The end of the last whole, valid record from ``position`` on."""
        fd = self._reader_fd(base)
        while position + HEADER.size <= size:
            length, crc = HEADER.unpack(os.pread(fd, HEADER.size, position))
            end = position + HEADER.size + length
            if length > self.limits.max_batch_bytes or end > size:
                break
            if zlib.crc32(os.pread(fd, length, position + HEADER.size)) != crc:
                break
            position = end
        return position

    def _reader_fd(self, base: int) -> int:
        fd = self._readers.get(base)
        if fd is None:
            fd = os.open(self._segment_path(base), os.O_RDONLY)
            self._readers[base] = fd
        return fd

    # -- appending --------------------------------------------------------------------

    def append(
        self,
        tenant_id: int,
        source_id: int | None,
        events: list[dict[str, Any]],
        *,
        append_id: str | None = None,
    ) -> None:
        record_fields: dict[str, Any] = {"t": tenant_id, "s": source_id, "a": time.time()}
        if append_id is not None:
            record_fields["d"] = append_id
        payload = orjson.dumps({**record_fields, "e": events})
        if len(payload) > self.limits.max_batch_bytes:
            raise BatchTooLarge(
                f"A batch of {len(payload)} bytes is over the stream's "
                f"{self.limits.max_batch_bytes}: send fewer events at once."
            )
        record = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._locked_append():
            bases = self._list_bases()
            base = bases[-1]
            size = self._segment_path(base).stat().st_size
            if base + size != self._known_end:
                # Another process appended (or crashed while appending) since we looked.
                self._recover_tail()
                base, size = self._bases[-1], self._known_end - self._bases[-1]
            if self._known_end - bases[0] + len(record) > self.limits.max_bytes:
                raise StreamBusy("The event stream is full: its consumers are behind.")
            if size >= self.segment_bytes:
                base, size = self._known_end, 0
                self._create_segment(base)
                self._bases.append(base)
            fd = self._writer_fd(base)
            written = os.write(fd, record)
            if written != len(record):  # a full disk; undo the partial record
                os.ftruncate(fd, size)
                raise StreamBusy("The event stream could not write the batch (disk full?).")
            os.fdatasync(fd)
            self._known_end = base + size + len(record)

    def mark(self) -> int:
        """The end of the log under the append lock: never inside a record another process
        is writing (a scan from there would stop at once, finding nothing)."""
        with self._locked_append():
            self._recover_tail()
            return self._known_end

    def appended_since(self, mark: int, append_ids: set[str]) -> set[str]:
        """Reads every record after ``mark`` (from the oldest kept one when its segment
        was deleted: every group had read it, and its id went with it)."""
        found: set[str] = set()
        offset = max(mark, self._list_bases()[0])
        while (read := self._read_at(offset)) is not None:
            record, offset = read
            if record.get("d") in append_ids:
                found.add(record["d"])
        return found

    # -- reading ----------------------------------------------------------------------

    def _read_at(self, offset: int) -> tuple[dict[str, Any], int] | None:
        """The record at ``offset`` and the offset after it, or None when there is no
        whole record there (yet)."""
        for refresh in (False, True):
            bases = self._list_bases() if refresh or not self._bases else self._bases
            index = bisect.bisect_right(bases, offset) - 1
            if index < 0:
                raise StreamError(f"Offset {offset} was deleted from the event stream.")
            base = bases[index]
            try:
                fd = self._reader_fd(base)
            except FileNotFoundError:
                continue
            position = offset - base
            header = os.pread(fd, HEADER.size, position)
            if len(header) < HEADER.size:
                continue  # the end of this segment: maybe the next one has begun
            length, crc = HEADER.unpack(header)
            if length > self.limits.max_batch_bytes:
                return None
            payload = os.pread(fd, length, position + HEADER.size)
            if len(payload) < length or zlib.crc32(payload) != crc:
                return None  # being written, or a torn tail the next appender truncates
            return orjson.loads(payload), offset + HEADER.size + length
        return None

    # -- groups -----------------------------------------------------------------------

    def _group_lock(self, group: str) -> threading.Lock:
        with self._group_locks_guard:
            return self._group_locks.setdefault(group, threading.Lock())

    @contextlib.contextmanager
    def _locked_group(self, group: str) -> Iterator[dict[str, Any]]:
        """The group's state, locked; written back (durably) if the body changed it."""
        with _flock(self.groups_dir / f"{group}.lock", self._group_lock(group)):
            path = self.groups_dir / f"{group}.json"
            try:
                state = orjson.loads(path.read_bytes())
            except FileNotFoundError:
                start = self._list_bases()[0]
                state = {"committed": start, "next": start, "leases": {}, "done": {}}
            before = orjson.dumps(state)
            yield state
            if orjson.dumps(state) != before or not path.exists():
                temporary = path.with_suffix(".tmp")
                with open(temporary, "wb") as file:
                    file.write(orjson.dumps(state))
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, path)
                _fsync_dir(self.groups_dir)

    def ensure_group(self, group: str) -> None:
        check_name("group", group)
        with self._locked_group(group):
            pass

    def consumer(self, group: str, name: str) -> EmbeddedConsumer:
        self.ensure_group(group)
        return EmbeddedConsumer(self, group, check_name("consumer", name))

    def _lease(self, group: str, consumer: str, wanted: int) -> list[Batch]:
        batches: list[Batch] = []
        now = time.time()
        with self._locked_group(group) as state:
            leases: dict[str, list[Any]] = state["leases"]
            for key in sorted(leases, key=int):
                if len(batches) >= wanted:
                    break
                end, _owner, expires, deliveries = leases[key]
                if expires > now:
                    continue
                found = self._read_at(int(key))
                if found is None:  # cannot happen for a record once read; be safe
                    continue
                if deliveries >= self.limits.max_deliver:
                    self._dead_letter(group, found[0], deliveries)
                    del leases[key]
                    state["done"][key] = end
                    continue
                leases[key] = [end, consumer, now + self.limits.ack_wait, deliveries + 1]
                batches.append(_batch(key, found[0], deliveries + 1))
            while len(batches) < wanted:
                offset = state["next"]
                found = self._read_at(offset)
                if found is None:
                    break
                record, end = found
                key = str(offset)
                leases[key] = [end, consumer, now + self.limits.ack_wait, 1]
                state["next"] = end
                batches.append(_batch(key, record, 1))
            _advance(state)
        return batches

    def _ack(self, group: str, batch: Batch) -> None:
        with self._locked_group(group) as state:
            lease = state["leases"].pop(batch.id, None)
            if lease is not None:
                state["done"][batch.id] = lease[0]
            _advance(state)
            committed = state["committed"]
        if len(self._bases) > 1 and committed >= self._bases[1]:
            self._delete_consumed()

    def _dead_letter(self, group: str, record: dict[str, Any], deliveries: int) -> None:
        logger.error(
            "event stream %s: group %s set aside a batch of tenant %s after %d deliveries",
            self.root,
            group,
            record.get("t"),
            deliveries,
        )
        with open(self.groups_dir / f"{group}.dead.ndjson", "ab") as file:
            file.write(orjson.dumps(record) + b"\n")
            file.flush()
            os.fsync(file.fileno())

    def _delete_consumed(self) -> None:
        """Delete the segments every group has committed past (never the last one)."""
        committed = []
        for path in self.groups_dir.glob("*.json"):
            try:
                committed.append(orjson.loads(path.read_bytes())["committed"])
            except (FileNotFoundError, orjson.JSONDecodeError):
                return  # being replaced: try on a later ack
        if not committed:
            return
        low = min(committed)
        bases = self._list_bases()
        for base, following in zip(bases, bases[1:], strict=False):
            if following > low:
                break
            fd = self._readers.pop(base, None)
            if fd is not None:
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                self._segment_path(base).unlink()
        self._list_bases()

    def group_lag(self, group: str) -> dict[str, int]:
        """Bytes appended but not yet committed by the group, and batches in flight."""
        with self._locked_group(group) as state:
            committed, leases = state["committed"], len(state["leases"])
        with self._locked_append():
            self._recover_tail()
        return {"pending_bytes": self._known_end - committed, "in_flight": leases}

    def close(self) -> None:
        for fd in self._readers.values():
            os.close(fd)
        self._readers.clear()
        if self._writer is not None:
            os.close(self._writer[1])
            self._writer = None


def _advance(state: dict[str, Any]) -> None:
    """Move the committed offset over the acknowledged batches right after it."""
    done: dict[str, int] = state["done"]
    while str(state["committed"]) in done:
        state["committed"] = done.pop(str(state["committed"]))


def _batch(key: str, record: dict[str, Any], deliveries: int) -> Batch:
    return Batch(
        id=key,
        tenant_id=record["t"],
        source_id=record["s"],
        appended_at=record["a"],
        events=record["e"],
        deliveries=deliveries,
    )


class EmbeddedConsumer:
    """One consumer of a group of the embedded stream."""

    def __init__(self, stream: EmbeddedStream, group: str, name: str) -> None:
        self.stream = stream
        self.group = group
        self.name = name

    def fetch(self, max_batches: int = 1, timeout: float = 1.0) -> list[Batch]:
        deadline = time.monotonic() + timeout
        while True:
            batches = self.stream._lease(self.group, self.name, max_batches)
            if batches or time.monotonic() >= deadline:
                return batches
            time.sleep(POLL_SECONDS)

    def ack(self, batch: Batch) -> None:
        self.stream._ack(self.group, batch)

    def close(self) -> None:
        pass
