"""The pure core of the audit chain: hashing and verification over plain data.

No ORM here: ``tandem audit verify`` and the API feed rows in, tests feed dicts in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

#: The fields an entry's hash commits to, in this order. Changing this list breaks every
#: existing chain, so it is versioned with the hash prefix below.
HASHED_FIELDS = (
    "chain_key",
    "seq",
    "tenant_id",
    "created_at",
    "actor_id",
    "actor_label",
    "party_id",
    "provider_id",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "changes",
    "request_id",
)
HASH_VERSION = b"tandem-audit-v1\n"


def canonical(content: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an entry's content: sorted keys, no spaces, UTF-8."""
    subset = {name: content[name] for name in HASHED_FIELDS}
    return json.dumps(
        subset, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """SHA-256 over the version tag, the previous entry's hash and this entry's content."""
    digest = hashlib.sha256()
    digest.update(HASH_VERSION)
    digest.update(prev_hash.encode())
    digest.update(b"\n")
    digest.update(canonical(content))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """The first place where a chain stops being what was written."""

    seq: int
    kind: str  # "altered", "removed", "reordered", "truncated"
    detail: str

    def __str__(self) -> str:
        return f"entry #{self.seq} {self.kind}: {self.detail}"


@dataclass(frozen=True)
class ChainReport:
    chain_key: str
    entries_checked: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(
    chain_key: str,
    entries: Iterable[Mapping[str, Any]],
    *,
    head_seq: int,
    head_hash: str,
) -> ChainReport:
    """Recompute a chain and name its first bad entry.

    ``entries`` must come ordered by ``seq``; each carries the hashed fields plus
    ``prev_hash`` and ``entry_hash`` as stored. ``head_seq``/``head_hash`` are what the chain
    head says was last written, so deleting the newest entries is caught as well.
    """
    expected_seq = 1
    prev = GENESIS
    checked = 0
    for entry in entries:
        seq = int(entry["seq"])
        if seq > expected_seq:
            return ChainReport(
                chain_key,
                checked,
                ChainProblem(expected_seq, "removed", f"missing; next stored entry is #{seq}"),
            )
        if seq < expected_seq:
            return ChainReport(
                chain_key, checked, ChainProblem(seq, "reordered", "sequence number repeats")
            )
        if entry["prev_hash"] != prev:
            return ChainReport(
                chain_key,
                checked,
                ChainProblem(seq, "reordered", "does not follow the previous entry's hash"),
            )
        recomputed = entry_hash(prev, entry)
        if recomputed != entry["entry_hash"]:
            return ChainReport(
                chain_key,
                checked,
                ChainProblem(seq, "altered", "content does not match its hash"),
            )
        prev = entry["entry_hash"]
        expected_seq += 1
        checked += 1
    last_seq = expected_seq - 1
    if last_seq < head_seq:
        return ChainReport(
            chain_key,
            checked,
            ChainProblem(last_seq + 1, "removed", f"chain head says #{head_seq} was written"),
        )
    if last_seq > head_seq or (head_seq and prev != head_hash):
        return ChainReport(
            chain_key,
            checked,
            ChainProblem(last_seq, "altered", "the chain head does not match the last entry"),
        )
    return ChainReport(chain_key, checked, None)
