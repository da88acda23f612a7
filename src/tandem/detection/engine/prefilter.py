"""Which prefilter literals are in an event: one Hyperscan pass (decision 0034).

A rule's prefilter literals (lowercased, :func:`.compiler.required_clauses`) are found when
they are in the lowercased text of one of the event's values. Building that text (every
value walked, joined, lowercased) cost more than the search itself, so the search runs on the
event as ``orjson`` writes it instead (about a microsecond, in C), with each literal written
as ``orjson`` writes it inside a string and searched ignoring ASCII case. That finds every
literal the values' text holds when the written event is ASCII and holds no float and no
``null``:

- ``orjson`` writes a string by escaping ``"``, ``\\`` and the control characters, each
  character on its own and always the same way, and nothing else; so a literal in a string's
  lowercased text is, written the same way, in the string as written (ignoring case, which
  for ASCII text is what lowercasing does: the escapes add no letter a literal could need
  in another case);
- integers and booleans are written as their text (:func:`.fields.as_text`);
- keys, reserved keys (``_logsource``) and ``null`` add text: more literals found, never
  fewer (the prefilter may let a rule through, never keep one out);
- a float is written differently from Python's ``str`` (``0.00001`` for ``1e-05``), NaN
  and infinities as ``null``, a non-ASCII character as itself (whose lowercase may be
  another character, or fold, :data:`PREFILTER_FOLD`): such an event, one ``orjson``
  cannot write, and one where a float or ``null`` might be (the check errs towards the
  slow path), is searched the old way, in the lowercased joined text of its values.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hyperscan
import orjson

from tandem.detection.engine.diskcache import read_or_none, touch, write_atomically
from tandem.detection.engine.fields import texts_of

#: Applied to the prefilter's text (when it is not ASCII) and to every literal: the
#: characters ``re.IGNORECASE`` matches with an ASCII letter although their lowercase is
#: another (``ſ`` matches ``s``, ``ı`` and ``İ`` match ``i``; ``İ`` lowercases to ``i`` and
#: a combining dot), so a literal taken from such a regex is still found. Folding both
#: sides keeps every other literal found too (it maps characters one by one).
PREFILTER_FOLD = str.maketrans({"\u017f": "s", "\u0131": "i", "\u0307": None})

#: Where a float may be in ``orjson``'s output (a number with a fraction or exponent after
#: a key, at the start, in a list), or a ``null`` (which NaN and infinities become). They
#: match inside some strings too: those events only take the slower path. Searched in the
#: same Hyperscan pass as the literals (a regular expression over the whole text in Python
#: cost more than the rest of the prefilter).
NOT_AS_WRITTEN = (rb'(?:^|":|[,\[])-?[0-9]+[.eE]', rb"null")


def event_text(event: dict[str, Any]) -> str:
    """All the event's values, lowercased, one per line: what the prefilter searches."""
    return "\n".join(texts_of(event)).lower()


def prefilter_text(event: dict[str, Any]) -> str:
    """:func:`event_text`, folded by :data:`PREFILTER_FOLD` when it is not ASCII."""
    text = "\n".join(texts_of(event)).lower()
    return text if text.isascii() else text.translate(PREFILTER_FOLD)


def json_text(event: Any) -> bytes | None:
    """The event as ``orjson`` writes it, when it is ASCII (the text may still hold a
    float or ``null``: :data:`NOT_AS_WRITTEN`); else None."""
    try:
        written = orjson.dumps(event)
    except TypeError:  # orjson.JSONEncodeError: a type or an integer it cannot write
        return None
    return written if written.isascii() else None


#: The binding's version, in the name of a kept database (a database another Hyperscan
#: wrote is refused by ``loadb`` too, and compiled again).
_HYPERSCAN = importlib.metadata.version("hyperscan")

#: A byte Hyperscan must not read as syntax: every one but ASCII letters and digits.
_SYNTAX = re.compile(rb"[^0-9A-Za-z]")


def _pattern(literal: bytes) -> bytes:
    """A literal as a Hyperscan regular expression: every byte but letters and digits
    escaped (``\\xHH``)."""
    return _SYNTAX.sub(lambda found: b"\\x%02x" % found[0][0], literal)


def searchable(literal: str) -> bool:
    """Whether a (lowercased, folded) literal can be searched for: not empty, and with a
    piece without a NUL character (the binding reads each literal as a C string)."""
    return bool(_longest_piece(literal))


def _longest_piece(literal: str) -> str:
    """Any piece of a literal is in every text the literal is in."""
    if "\0" not in literal:
        return literal
    return max(literal.split("\0"), key=len)


def _hit(literal: int, start: int, end: int, flags: int, found: list[int]) -> None:
    """Hyperscan's match callback: each literal is reported once (``SINGLEMATCH``)."""
    found.append(literal)


def _database(
    expressions: Sequence[bytes],
    ids: Sequence[int],
    flags: int,
    literal: bool,
    cache_dir: Path | None = None,
) -> Any:
    """A Hyperscan block-mode database of plain literals (or regular expressions), each
    reported once per scan. Hyperscan scans the bytes in one pass in C, whatever the number
    of expressions. Compiling one costs ~10-20 µs per expression (about a second for the
    community rules' log sources): with ``cache_dir`` the database is kept there, under the
    hash of what it was compiled from, and read back instead (milliseconds)."""
    file = None
    if cache_dir is not None:
        digest = hashlib.sha256(
            repr((_HYPERSCAN, flags, literal, list(ids))).encode() + b"\0".join(expressions)
        ).hexdigest()
        file = cache_dir / f"hyperscan-{digest[:40]}.db"
        kept = read_or_none(file)
        if kept is not None:
            try:
                loaded = hyperscan.loadb(kept, hyperscan.HS_MODE_BLOCK)
                loaded.scratch = hyperscan.Scratch(loaded)  # a read database has none
                touch(file)  # its last use, which the cache's cleaning reads
                return loaded
            except hyperscan.error:  # damaged, or another Hyperscan's: compiled again
                pass
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=list(expressions),
        ids=list(ids),
        elements=len(expressions),
        flags=flags | hyperscan.HS_FLAG_SINGLEMATCH,
        literal=literal,
    )
    if file is not None:
        write_atomically(file, hyperscan.dumpb(database))
    return database


class Found:
    """The literals one scan found: ``numbers`` (each once), and whether a literal not
    reported is known to be absent (``has``). A database narrowed to the literals that
    index rules (:meth:`Literals.narrow`) reports only those; the other literals of a
    rule's clauses are then looked for in the lowercased written event, as bytes."""

    __slots__ = ("numbers", "_written", "_lowered", "_patterns")

    def __init__(
        self, numbers: list[int], written: bytes | None, patterns: tuple[bytes | None, ...]
    ) -> None:
        self.numbers = numbers
        #: the event as orjson wrote it when the scan was narrowed; None: ``numbers`` is all
        self._written = written
        self._lowered: bytes | None = None
        self._patterns = patterns

    def has(self, clause: frozenset[int]) -> bool:
        """Whether a literal of the clause that was not reported is in the event."""
        if self._written is None:
            return False
        lowered = self._lowered
        if lowered is None:
            lowered = self._lowered = self._written.lower()
        patterns = self._patterns
        for number in clause:
            pattern = patterns[number]
            # ASCII case ignored on both sides, as the scan does; a literal that is not
            # ASCII is in no ASCII text.
            if pattern is not None and pattern in lowered:
                return True
        return False


class Literals:
    """Numbered literals (lowercased, folded) and what finds them in an event: a database
    of their ``orjson``-written forms searched ignoring ASCII case, and, built the first
    time an event needs it, a database of their UTF-8 for the lowercased text."""

    __slots__ = ("literals", "_other", "_json", "_text", "_narrowed", "_patterns", "_cache")

    def __init__(self, literals: Sequence[str], cache_dir: Path | None = None) -> None:
        self.literals = tuple(literals)
        self._cache = cache_dir
        # A literal that is not ASCII is in no ASCII text: left out of the JSON database,
        # which also finds the floats and nulls (numbered after the literals).
        numbered = [
            (_pattern(orjson.dumps(x)[1:-1]), n) for n, x in enumerate(self.literals) if x.isascii()
        ]
        self._other = len(self.literals)
        numbered += [(pattern, self._other) for pattern in NOT_AS_WRITTEN]
        self._json: Any = _database(
            [p for p, _ in numbered],
            [n for _, n in numbered],
            hyperscan.HS_FLAG_CASELESS,
            False,
            self._cache,
        )
        self._text: Any = None
        self._narrowed: Any = None
        self._patterns: tuple[bytes | None, ...] = ()

    def narrow(self, keep: Sequence[int]) -> None:
        """From now on, scan ASCII events for the literals ``keep`` only (those that index a
        rule, :meth:`.matching._Bucket.index`): Hyperscan calls back into Python for each
        literal found (~0.2 µs), and most literals found index no rule. Compiling costs
        about 10-20 µs per literal kept, once. Not kept in the cache folder: which literals
        index a rule depends on the events learnt from, so each run would add a file."""
        kept = [n for n in keep if self.literals[n].isascii()]
        numbered = [(_pattern(orjson.dumps(self.literals[n])[1:-1]), n) for n in kept]
        numbered += [(pattern, self._other) for pattern in NOT_AS_WRITTEN]
        self._narrowed = _database(
            [p for p, _ in numbered],
            [n for _, n in numbered],
            hyperscan.HS_FLAG_CASELESS,
            False,
        )
        self._patterns = tuple(
            orjson.dumps(x)[1:-1].lower() if x.isascii() else None for x in self.literals
        )

    def scan(self, event: dict[str, Any]) -> Found:
        """:meth:`find`, or the narrowed scan once :meth:`narrow` was called."""
        if self._narrowed is not None:
            written = json_text(event)
            if written is not None:
                found: list[int] = []
                self._narrowed.scan(written, match_event_handler=_hit, context=found)
                if self._other not in found:
                    return Found(found, written, self._patterns)
        return Found(self.find(event), None, ())

    def find(self, event: dict[str, Any]) -> list[int]:
        """The numbers of the literals in the event's values' lowercased text (perhaps
        some more), each once."""
        found: list[int] = []
        written = json_text(event)
        if written is not None:
            self._json.scan(written, match_event_handler=_hit, context=found)
            if self._other not in found:
                return found
            found.clear()
        if self._text is None:
            self._text = _database(
                [_longest_piece(x).encode() for x in self.literals],
                range(len(self.literals)),
                0,
                True,
                self._cache,
            )
        self._text.scan(prefilter_text(event).encode(), match_event_handler=_hit, context=found)
        return found
