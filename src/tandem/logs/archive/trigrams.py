"""A trigram skip index for free text over the archive (decision 0045, amendment of
2026-12-06).

A free-text search that finds little decompresses and scans every event's JSON of its range
(about 0.5 s of CPU per million events for zstd alone). Compaction writes, in each merged
file's Parquet footer, one 65,536-bit map per block of ``BLOCK_ROWS`` events: bit ``h`` is set
when some three consecutive bytes of those events' JSON hash to ``h``. A search reads a file
only when some block has every bit of the needle's trigrams; a needle is found in a text only
if each of its three-byte windows is in that text, so a skipped file holds no match (no false
negative; a hash collision or a block that holds the trigrams apart only costs a read).

Case: the search matches the needle with RE2's case-insensitive flag. Before hashing, both
sides are mapped the same way: ASCII letters to lower case, the two non-ASCII letters that RE2
folds onto ASCII (KELVIN SIGN to ``k``, LONG S to ``s``) to those letters, and every other
byte of a non-ASCII character to one marker byte; the needle's windows that hold a marker are
not used (two characters that fold together may differ in length). A needle with fewer than
three ASCII characters in a row uses no window: every file is read.

Built with Arrow kernels over each block's bytes at once (no Python loop per character), so
compaction pays a few microseconds of CPU per event, appends nothing: files not compacted yet
(the current hour) have no index and are always read. Pure but for the footer read.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: The footer key of the index: a version byte, then zlib of the blocks' maps, one after
#: the other (``MAP_BYTES`` each).
TRIGRAMS_KEY = b"tandem.trigrams"
_VERSION = b"\x01"
#: Events per map: small enough that a map stays sparse (about 7,800 distinct trigrams in
#: 8,192 generated events: 11 % of the bits), so most needles that are absent skip.
BLOCK_ROWS = 8192
MAP_BITS = 1 << 16
MAP_BYTES = MAP_BITS // 8
_MARKER = 0x80
# ASCII letters to lower case; every byte of a multi-byte (non-ASCII) character to a marker.
_FOLD = bytes(range(128)).lower() + bytes([_MARKER]) * 128
# The only non-ASCII characters RE2's case-insensitive matching folds onto ASCII letters
# (checked over every code point by the tests).
_ONTO_ASCII = ((b"\xe2\x84\xaa", b"k"), (b"\xc5\xbf", b"s"))
_GOLDEN = 2654435761  # Knuth's multiplicative hash; the map's bit is the product's bits 16-31


def _folded(data: bytes) -> bytes:
    for original, ascii_letter in _ONTO_ASCII:
        data = data.replace(original, ascii_letter)
    return data.translate(_FOLD)


def _hashes(data: bytes) -> pa.Array:
    """The map bit of every three-byte window of ``data`` (folded), as uint32: the window is
    the low 24 bits of a little-endian uint32 read at each offset (four aligned views)."""
    found = []
    for shift in range(4):
        words = (len(data) - shift) // 4
        if words <= 0:
            continue
        view = pa.Array.from_buffers(pa.uint32(), words, [None, pa.py_buffer(data[shift:])])
        window = pc.bit_wise_and(view, pa.scalar(0xFFFFFF, pa.uint32()))
        product = pc.multiply(window, pa.scalar(_GOLDEN, pa.uint32()))
        found.append(pc.shift_right(product, pa.scalar(16, pa.uint32())))
    return pc.unique(pa.chunked_array(found, pa.uint32())) if found else pa.array([], pa.uint32())


def _window_hash(window: bytes) -> int:
    code = window[0] | window[1] << 8 | window[2] << 16
    return ((code * _GOLDEN) & 0xFFFFFFFF) >> 16


def index(events: pa.Array | pa.ChunkedArray) -> bytes:
    """The footer value for a file whose ``event`` column is ``events`` (in file order)."""
    column = events.combine_chunks() if isinstance(events, pa.ChunkedArray) else events
    column = column.cast(pa.string())
    _, offset_buffer, values = column.buffers()
    offsets = pa.Array.from_buffers(
        pa.int32(), column.offset + len(column) + 1, [None, offset_buffer]
    ).to_pylist()[column.offset :]
    maps = bytearray()
    for begin in range(0, len(column), BLOCK_ROWS):
        # The block's texts, one after the other, straight from the column's buffer (a
        # window across two events only adds a bit, never removes one).
        first, last = offsets[begin], offsets[min(begin + BLOCK_ROWS, len(column))]
        data = _folded(values[first:last].to_pybytes()) if last > first else b""
        bits = bytearray(MAP_BYTES)
        for bit in _hashes(data).to_pylist():
            bits[bit >> 3] |= 1 << (bit & 7)
        maps += bits
    return _VERSION + zlib.compress(bytes(maps), 1)


def needle(text: str) -> frozenset[int]:
    """The map bits a text must have to hold ``text`` (in its JSON spelling, case-folded as
    the search's regular expression folds it); empty when no window is usable."""
    data = _folded(orjson.dumps(text)[1:-1])
    return frozenset(
        _window_hash(data[i : i + 3])
        for i in range(len(data) - 2)
        if _MARKER not in data[i : i + 3]
    )


def may_hold(path: Path, bits: frozenset[int]) -> bool:
    """Whether the file at ``path`` may hold a text with every bit of ``bits``: True unless
    the file has an index and none of its blocks has them all."""
    if not bits:
        return True
    try:
        stat = path.stat()
    except FileNotFoundError:
        return True  # gone: the query's retry lists the hour again
    maps = _maps(str(path), stat.st_mtime_ns, stat.st_size)
    if maps is None:
        return True
    for begin in range(0, len(maps), MAP_BYTES):
        if all(maps[begin + (bit >> 3)] >> (bit & 7) & 1 for bit in bits):
            return True
    return False


@functools.lru_cache(maxsize=512)
def _maps(path: str, mtime_ns: int, size: int) -> bytes | None:
    """A file's maps from its footer (cached: a file never changes; about 8 KB per block)."""
    raw = (pq.read_metadata(path).metadata or {}).get(TRIGRAMS_KEY)
    if not raw or raw[:1] != _VERSION:
        return None
    return zlib.decompress(raw[1:])
