"""The compiled form of a rule: plain, picklable data (nested tuples), what the on-disk cache
holds and what :mod:`.matching` turns into predicates. Nothing here imports pySigma, so a
restart that finds the cache never loads it.

A condition node is one of::

    ("and", (node, ...))      ("or", (node, ...))      ("not", node)
    ("true",)                 ("false",)
    ("field", name, test)     the value(s) of the Sigma field ``name`` pass ``test``
    ("keyword", test)         some string value anywhere in the event passes ``test``

and a test one of::

    ("eq" | "startswith" | "endswith" | "contains", text, cased)
    ("glob", regex_source, cased, longest_literal)   wildcards ``*`` ``?`` inside
    ("number", n)                     numeric equality (a number, or its decimal text)
    ("bool", b)
    ("null",)                         field absent or null
    ("exists", b)
    ("compare", op, n)                op in lt, lte, gt, gte, neq
    ("regex", source, flags)          Python ``re`` flags, searched (unanchored)
    ("cidr", network)
    ("fieldref", other_field, mode, cased)   mode in eq, startswith, endswith, contains

Case-insensitive texts (``cased`` false) are stored lowercased; the matcher compares them with
the lowercased event value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Bump when the compiled form or its meaning changes: the on-disk cache is keyed by it.
ENGINE_VERSION = "6"

#: The reason a rule is refused when a ``%name%`` placeholder it expands has no value,
#: followed by ``: %a%, %b%`` (every one it lacks).
UNRESOLVED_PLACEHOLDER = "unresolved placeholder"
_PLACEHOLDER_NAME = re.compile(r"%([^%\\]+)%")

Node = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class LogSource:
    """A rule's ``logsource`` (None = any), or an event's ``_logsource``."""

    product: str | None = None
    category: str | None = None
    service: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule_id: str
    title: str
    level: str
    tags: tuple[str, ...]
    logsource: LogSource
    condition: Node
    #: The prefilter: the rule can only match an event whose lowercased text contains, for
    #: each clause, at least one of its literals (most selective clause first; the index
    #: keys on it). Empty when nothing is known: the rule is always a candidate.
    clauses: tuple[frozenset[str], ...]
    #: The Windows ``EventID`` values the rule requires (one of them), when its condition
    #: says so; None when it does not. The index leaves the rule out for other ids.
    event_ids: frozenset[int] | None
    #: The file it came from, relative to the pack's root.
    source: str
    #: The Sigma ``name`` (correlations may reference a rule by it).
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledCorrelation:
    """A correlation rule (Sigma ``correlation:``) over the matches of other rules."""

    rule_id: str
    title: str
    level: str
    tags: tuple[str, ...]
    kind: str  # event_count, value_count, temporal, temporal_ordered
    rules: tuple[str, ...]  # rule ids of the referenced rules
    group_by: tuple[str, ...]
    timespan: float  # seconds
    #: (op, number) pairs that must all hold for the count; op in lt, lte, gt, gte, eq, neq.
    condition: tuple[tuple[str, float], ...]
    value_field: str | None  # value_count: the field whose distinct values are counted
    source: str
    #: Sigma ``generate``: whether the referenced rules also alert on their own.
    generate: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rule (or file) the engine cannot evaluate, and why."""

    source: str
    reason: str
    rule_id: str | None = None
    title: str | None = None

    @property
    def kind(self) -> str:
        """The reason's first words, to count refusals by kind."""
        return self.reason.split(":", 1)[0]

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The placeholders the rule waits for, when that is why it is refused (else ())."""
        return missing_placeholders(self.reason)


def missing_placeholders(reason: str) -> tuple[str, ...]:
    """The placeholder names of an "unresolved placeholder" refusal reason, else ()."""
    if not reason.startswith(UNRESOLVED_PLACEHOLDER + ":"):
        return ()
    return tuple(_PLACEHOLDER_NAME.findall(reason.split(":", 1)[1]))


@dataclass(frozen=True, slots=True)
class RulePack:
    """A versioned set of rules: where it came from and the hash of its content."""

    name: str
    version: str
    content_hash: str


@dataclass(slots=True)
class RuleSet:
    pack: RulePack
    loaded: list[CompiledRule] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    from_cache: bool = False
    seconds: float = 0.0
    #: The cache folder it was loaded through (None: none): the engine keeps its Hyperscan
    #: databases there too.
    cache_dir: str | None = None
