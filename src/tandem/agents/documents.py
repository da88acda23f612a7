"""The inventory document's rules on the server side: canonical bytes, hash and applying a
delta, exactly as decision 0025 states them and ``tandem_agent.inventory`` implements them
for the agent. The server does not import the agent (they are separate packages, meeting
only in the protocol); ``agents/tests/test_documents.py`` checks both give the same hashes
and the same results on the same inputs.

The work a delta check-in does on a ~1,700-package document (decision 0049, fourth round):
the stored form is inflated with ISA-L (``isal``, the same zlib format as ``zlib``'s, read and
written by either) and parsed by orjson when that certainly gives what ``json`` gives; the
result is hashed, and its canonical bytes made, by orjson when they hash to the state the
delta names (as a full inventory's are: decision 0039), and those bytes are then stored.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import orjson
from isal import isal_zlib

Document = dict[str, Any]


class DeltaError(ValueError):
    """A delta does not apply to the stored state: the server answers ``need_full``."""


def canonical(document: Any) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_for(document: Any, named_hash: str | None) -> tuple[bytes, str]:
    """:func:`canonical` bytes of ``document`` and their hash, the bytes made by orjson
    when they hash to ``named_hash`` (the hash the agent sent with it), else by ``json``.

    orjson is ~5 times faster on a ~1,500-package inventory, but its float formatting
    differs from ``json``'s (``1.5e-05`` against ``0.000015``; the agent hashes with
    ``json``), so its bytes are taken only when they hash to what the agent hashed: then
    they are those bytes. Any difference (a float, an escape) fails that check and the
    bytes are made as before (decision 0039)."""
    if named_hash is not None:
        try:
            fast = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            fast = None
        if fast is not None and hash_of(fast) == named_hash:
            return fast, named_hash
    made = canonical(document)
    return made, hash_of(made)


def state_hash(document: Document) -> str:
    return hash_of(canonical(document))


def hash_of(canonical_bytes: bytes) -> str:
    """The state hash of a document's :func:`canonical` bytes."""
    return "sha256:" + hashlib.sha256(canonical_bytes).hexdigest()


def pack(document: Document, canonical_bytes: bytes | None = None) -> bytes:
    """The stored form of a document: its canonical bytes, zlib-compressed (a ~1,500-package
    inventory is ~0.3 MB of JSON and ~40 KB packed; decision 0028). ``canonical_bytes``:
    the document's :func:`canonical` bytes when the caller already made them (hashing a
    full inventory or a delta's result does): serialising ~1,500 packages is the dearest
    step of the two.

    Compressed by ISA-L at its level 1: a zlib stream as ``zlib.compress`` makes (other
    bytes, the same format), ~4 times faster (decision 0049, fourth round)."""
    return isal_zlib.compress(
        canonical_bytes if canonical_bytes is not None else canonical(document), 1
    )


def unpack(packed: bytes | memoryview) -> Document:
    """A document from :func:`pack`'s bytes (or ``zlib.compress``'s: the same format)."""
    result: Document = loads(isal_zlib.decompress(packed))
    return result


#: Every byte to ``0`` when it is an ASCII digit, else to a space: a run of
#: :data:`_LONG_NUMBER` in the result is a run of that many digits in the original.
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
#: 19 digits: every JSON integer of 18 digits or fewer is within 64 bits, which orjson
#: reads as integers; beyond 64 bits it reads them as floats, where ``json`` keeps them.
_LONG_NUMBER = b"0" * 19


def loads(raw: bytes) -> Any:
    """``json.loads(raw)``, made by orjson (~2.5 times faster on a ~1,700-package document)
    whenever that is certainly the same value.

    orjson and ``json`` read strict JSON alike (strings, 64-bit integers, floats correctly
    rounded, the last of duplicate keys), with two differences: an integer beyond 64 bits
    is a float to orjson, and orjson refuses what ``json`` takes (a lone surrogate
    ``"\\ud800"``, ``NaN``, ``1e400``). So a text holding any run of 19
    digits (an integer that might be that long; in a string too, which costs only time) and
    anything orjson refuses are read by ``json``, exactly as before."""
    if _LONG_NUMBER not in raw.translate(_DIGITS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def apply(
    previous: Document, change: dict[str, Any], *, previous_hash: str | None = None
) -> Document:
    """``previous`` with ``change`` applied; :class:`DeltaError` when the delta names another
    base or does not lead to the state it names. Malformed parts are errors too.

    ``previous_hash``: the hash the caller already holds for ``previous`` (the server keeps
    it beside the document), so the document is not serialised again to check the base.
    The result shares the sections the delta leaves alone with ``previous`` (neither is
    changed in place afterwards): copying a ~1,500-package document per delta cost more
    than applying it (decision 0028).
    """
    return apply_canonical(previous, change, previous_hash=previous_hash)[0]


def apply_canonical(
    previous: Document, change: dict[str, Any], *, previous_hash: str | None = None
) -> tuple[Document, bytes]:
    """:func:`apply`'s result and its :func:`canonical` bytes, checked against the state the
    delta names: made by orjson when they hash to it (then they are the bytes the agent
    hashed, decision 0039), else by ``json``. The check-in stores these bytes (``pack``)
    instead of serialising the document a second time."""
    base = previous_hash if previous_hash is not None else state_hash(previous)
    if change.get("base_hash") != base:
        raise DeltaError("the delta was made against another state")
    sections = change.get("sections", {})
    if not isinstance(sections, dict):
        raise DeltaError("a delta's sections must be an object")
    result = dict(previous)
    result["schema_version"] = change.get("schema_version", previous.get("schema_version"))
    for name, section in sections.items():
        if not isinstance(section, dict):
            raise DeltaError(f"section {name!r} of the delta is not an object")
        if section.get("remove"):
            result.pop(name, None)
        elif "replace" in section:
            result[name] = copy.deepcopy(section["replace"])
        elif "set" in section or "unset" in section:
            record = result.get(name, {})
            if not isinstance(record, dict) or not isinstance(section.get("set", {}), dict):
                raise DeltaError(f"section {name!r} is not a record")
            record = dict(record)
            for field in section.get("unset", []):
                record.pop(field, None)
            record.update(copy.deepcopy(section.get("set", {})))
            result[name] = record
        else:
            result[name] = _apply_list(name, result.get(name, []), section)
    named = change.get("state_hash")
    made, computed = canonical_for(result, named if isinstance(named, str) else None)
    if computed != named:
        raise DeltaError("the delta does not lead to the state it names")
    return result, made


def _apply_list(name: str, items: Any, section: dict[str, Any]) -> list[Any]:
    if not isinstance(items, list):
        raise DeltaError(f"section {name!r} is not a list")
    try:
        by_id = {item["id"]: item for item in items}
        for removed in section.get("removed", []):
            by_id.pop(removed, None)
        for item in [*section.get("added", []), *section.get("changed", [])]:
            by_id[item["id"]] = copy.deepcopy(item)
        return [by_id[i] for i in sorted(by_id)]
    except (KeyError, TypeError) as exc:
        raise DeltaError(f"section {name!r} of the delta is malformed") from exc
