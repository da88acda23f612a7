"""Request bodies inflated by ISA-L (decision 0049, fourth round) get exactly the answers
``zlib`` gave: the same limits (a gzip bomb stops at ``MAX_JSON_BYTES``), the same refusals
of what is not gzip or is cut short, and the same JSON from everything else."""

from __future__ import annotations

import gzip
import io
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.agents.wire import (
    MAX_BODY_BYTES,
    MAX_JSON_BYTES,
    WireError,
    _inflate,
    _inflate_zlib,
    decode_body,
)


def _answer(inflate, body: bytes) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    try:
        return ("inflated", inflate(body))
    except WireError as error:
        return (error.status, error.code, error.detail)


def _named(data: bytes) -> bytes:
    """``data`` gzipped with a file name in the header (an optional field)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="inventory.json", mode="wb", fileobj=buffer, mtime=0) as file:
        file.write(data)
    return buffer.getvalue()


GOOD = gzip.compress(b'{"reports": []}' * 100)
#: Flags with reserved bits set: RFC 1952 (and zlib) refuse them, ISA-L does not look.
RESERVED = GOOD[:3] + bytes([GOOD[3] | 0x20]) + GOOD[4:]
BAD_CRC = GOOD[:-8] + bytes([GOOD[-8] ^ 1]) + GOOD[-7:]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GOOD, ("inflated", b'{"reports": []}' * 100)),
        (_named(b"{}"), ("inflated", b"{}")),
        # What follows the first member is left alone, as before.
        (GOOD + b"trailing", ("inflated", b'{"reports": []}' * 100)),
        (GOOD + gzip.compress(b"[]"), ("inflated", b'{"reports": []}' * 100)),
        (b"not gzip at all", (400, "malformed", "The body is not valid gzip.")),
        (zlib.compress(b"{}"), (400, "malformed", "The body is not valid gzip.")),
        (zlib.compress(b"{}")[2:-4], (400, "malformed", "The body is not valid gzip.")),
        (RESERVED, (400, "malformed", "The body is not valid gzip.")),
        (BAD_CRC, (400, "malformed", "The body is not valid gzip.")),
        (b"", (400, "malformed", "The gzip body is truncated.")),
        (GOOD[:-1], (400, "malformed", "The gzip body is truncated.")),
        (GOOD[: len(GOOD) // 2], (400, "malformed", "The gzip body is truncated.")),
    ],
)
def test_bodies_get_the_answers_zlib_gave(body: bytes, expected: tuple[object, ...]) -> None:
    assert _answer(_inflate, body) == expected
    assert _answer(_inflate_zlib, body) == expected


@pytest.mark.parametrize(
    ("size", "accepted"),
    [(MAX_JSON_BYTES - 1, True), (MAX_JSON_BYTES, True), (MAX_JSON_BYTES + 1, False)],
)
def test_the_inflated_size_limit_is_exact(size: int, accepted: bool) -> None:
    # Valid JSON of exactly ``size`` bytes: an array padded with spaces.
    body = gzip.compress(b"[" + b" " * (size - 2) + b"]")
    if accepted:
        assert decode_body(body, content_encoding="gzip") == []
    else:
        with pytest.raises(WireError) as refused:
            decode_body(body, content_encoding="gzip")
        assert (refused.value.status, refused.value.code) == (413, "too_large")


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (MAX_JSON_BYTES * 12), compresslevel=9)
    assert len(bomb) < MAX_BODY_BYTES // 10
    with pytest.raises(WireError) as refused:
        decode_body(bomb, content_encoding="gzip")
    assert (refused.value.status, refused.value.detail) == (
        413,
        "Request body too large once decompressed.",
    )
    with pytest.raises(WireError) as too_big:
        decode_body(b"\0" * (MAX_BODY_BYTES + 1), content_encoding="gzip")
    assert (too_big.value.status, too_big.value.detail) == (413, "Request body too large.")


@settings(max_examples=300)
@given(
    st.sampled_from([GOOD, _named(b'{"a": 1}'), gzip.compress(bytes(range(256)) * 8)]),
    st.lists(
        st.tuples(st.sampled_from(["set", "flip", "cut", "append"]), st.integers(0, 10**6)),
        min_size=1,
        max_size=3,
    ),
)
def test_a_damaged_body_gets_zlibs_answer(base: bytes, damage: list[tuple[str, int]]) -> None:
    body = bytearray(base)
    for how, at in damage:
        rng = random.Random(at)
        # Mostly the header and the trailer, where the two could disagree.
        where = rng.choice([at % 24, len(body) - 1 - at % 12, at]) % max(1, len(body))
        if how == "set" and body:
            body[where] = at % 256
        elif how == "flip" and body:
            body[where] ^= 1 << at % 8
        elif how == "cut":
            del body[where:]
        else:
            body += bytes([at % 256]) * (at % 9)
    assert _answer(_inflate, bytes(body)) == _answer(_inflate_zlib, bytes(body))
