"""pySigma's parsed rules to the engine's compiled form (:mod:`.rules`).

pySigma does the Sigma-specific work: YAML, the condition grammar (``1 of sel*``, ``all of
them``, parentheses), and every value modifier (``contains`` adds wildcards, ``windash`` and
``base64offset`` expand to alternatives, ``wide`` re-encodes, ``re`` with its flags, ``cidr``,
``gt``..., ``exists``, ``fieldref``, ``expand`` inserts placeholders). Its post-processed
condition tree holds only AND/OR/NOT, field = value and keyword items; this module turns that
tree into nested tuples, resolves ``%placeholders%`` from the given map, and computes each
rule's prefilter literals. A value type it cannot evaluate refuses the rule with the reason.
"""

from __future__ import annotations

import ipaddress
import re
import re._constants as sre_constants
import re._parser as sre_parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from tandem.detection.engine.rules import (
    UNRESOLVED_PLACEHOLDER,
    CompiledCorrelation,
    CompiledRule,
    LogSource,
    Node,
)

#: A literal shorter than this is no useful prefilter (it is in almost every event).
MIN_LITERAL = 3

_COMPARE = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
    CompareOperators.NEQ: "neq",
}
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


class Unsupported(Exception):
    """The rule uses something the engine cannot evaluate; the message is the reason."""


def rule_identity(rule: SigmaRule | SigmaCorrelationRule, source: str, index: int) -> str:
    """The rule's ``id``; a rule without one is named by its file (and place in it)."""
    if rule.id is not None:
        return str(rule.id)
    return source if index == 0 else f"{source}#{index}"


def _level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    return rule.level.name.lower() if rule.level is not None else "medium"


def compile_rule(
    rule: SigmaRule,
    *,
    source: str,
    index: int = 0,
    placeholders: Mapping[str, Sequence[str]] | None = None,
) -> CompiledRule:
    """One parsed Sigma rule to its compiled form; raises :class:`Unsupported`."""
    if rule.errors:
        raise Unsupported(f"parse error: {rule.errors[0]}")
    conditions = rule.detection.parsed_condition
    translator = _Translator(placeholders or {})
    nodes = [translator.node(condition.parsed) for condition in conditions]
    if translator.missing:
        # Every placeholder the rule lacks is named, so that a tenant can see all the
        # lists a rule waits for (decision 0051), not only the first.
        names = ", ".join(f"%{name}%" for name in translator.missing)
        raise Unsupported(f"{UNRESOLVED_PLACEHOLDER}: {names}")
    node = nodes[0] if len(nodes) == 1 else ("or", tuple(nodes))
    logsource = rule.logsource
    return CompiledRule(
        rule_id=rule_identity(rule, source, index),
        title=rule.title,
        level=_level(rule),
        tags=tuple(str(tag) for tag in rule.tags),
        logsource=LogSource(
            _lower(logsource.product), _lower(logsource.category), _lower(logsource.service)
        ),
        condition=node,
        clauses=_ordered(required_clauses(node)),
        event_ids=required_event_ids(node),
        source=source,
        name=rule.name,
    )


def _ordered(clauses: tuple[frozenset[str], ...]) -> tuple[frozenset[str], ...]:
    return tuple(sorted(clauses, key=_selectivity))


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


class _Translator:
    def __init__(self, placeholders: Mapping[str, Sequence[str]]) -> None:
        self.placeholders = placeholders
        #: The placeholders without a value, in the order the rule names them.
        self.missing: list[str] = []

    def node(self, item: Any) -> Node:
        if isinstance(item, ConditionAND):
            return ("and", tuple(self.node(arg) for arg in item.args))
        if isinstance(item, ConditionOR):
            return ("or", tuple(self.node(arg) for arg in item.args))
        if isinstance(item, ConditionNOT):
            return ("not", self.node(item.args[0]))
        if isinstance(item, ConditionFieldEqualsValueExpression):
            return self.alternatives(item.value, lambda test: ("field", item.field, test))
        if isinstance(item, ConditionValueExpression):
            return self.alternatives(item.value, self._keyword)
        raise Unsupported(f"unsupported condition: {type(item).__name__}")

    @staticmethod
    def _keyword(test: Node) -> Node:
        if test[0] not in ("eq", "startswith", "endswith", "contains", "glob", "regex", "number"):
            raise Unsupported(f"unsupported keyword value: {test[0]}")
        return ("keyword", test)

    def alternatives(self, value: Any, wrap: Callable[[Node], Node]) -> Node:
        """A value that may stand for several (expansions, placeholders): their OR."""
        if isinstance(value, SigmaExpansion):
            return _or([self.alternatives(v, wrap) for v in value.values])
        if isinstance(value, SigmaString) and value.contains_placeholder():
            return _or([wrap(self.test(v)) for v in self._expand(value)])
        return wrap(self.test(value))

    def _expand(self, value: SigmaString) -> list[SigmaString]:
        """The value once per placeholder value; a missing placeholder is noted (the rule
        is refused once the whole condition is read) and stands for an empty string."""

        def resolve(placeholder: Placeholder) -> Iterator[SigmaString]:
            values = self.placeholders.get(placeholder.name)
            if values is None:
                if placeholder.name not in self.missing:
                    self.missing.append(placeholder.name)
                return iter([SigmaString("")])
            return iter([SigmaString(v) for v in values])

        return list(value.replace_placeholders(resolve))

    def test(self, value: Any) -> Node:
        if isinstance(value, SigmaTimestampPart):
            raise Unsupported(f"unsupported modifier: {value.timestamp_part.name.lower()}")
        if isinstance(value, SigmaString):
            return string_test(value)
        if isinstance(value, SigmaNumber):
            return ("number", value.number)
        if isinstance(value, SigmaBool):
            return ("bool", value.boolean)
        if isinstance(value, SigmaNull):
            return ("null",)
        if isinstance(value, SigmaExists):
            return ("exists", value.exists)
        if isinstance(value, SigmaCompareExpression):
            return ("compare", _COMPARE[value.op], value.number.number)
        if isinstance(value, SigmaRegularExpression):
            flags = 0
            for flag in value.flags:
                flags |= _REGEX_FLAGS[flag]
            source = str(value.regexp)
            try:
                re.compile(source, flags)
            except re.error as exc:
                raise Unsupported(f"regular expression: {exc}") from exc
            return ("regex", source, flags)
        if isinstance(value, SigmaCIDRExpression):
            return ("cidr", str(ipaddress.ip_network(value.cidr, strict=False)))
        if isinstance(value, SigmaFieldReference):
            mode = (
                "contains"
                if value.starts_with and value.ends_with
                else "startswith"
                if value.starts_with
                else "endswith"
                if value.ends_with
                else "eq"
            )
            return ("fieldref", value.field, mode, False)
        raise Unsupported(f"unsupported value type: {type(value).__name__}")


def _or(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else ("or", tuple(nodes))


def string_test(value: SigmaString) -> Node:
    """A Sigma string (wildcards already placed by the modifiers) to the cheapest test."""
    cased = isinstance(value, SigmaCasedString)
    parts = list(value.s)
    if any(not isinstance(p, str | SpecialChars) for p in parts):
        raise Unsupported(UNRESOLVED_PLACEHOLDER)

    def text(part: str) -> str:
        return part if cased else part.lower()

    star = SpecialChars.WILDCARD_MULTI
    inner = parts
    lead = bool(inner) and inner[0] is star
    trail = len(inner) > (1 if lead else 0) and inner[-1] is star
    middle = inner[(1 if lead else 0) : (len(inner) - 1 if trail else len(inner))]
    if all(isinstance(p, str) for p in middle):
        literal = text("".join(middle))  # type: ignore[arg-type]
        if lead and trail:
            return ("contains", literal, cased)
        if lead:
            return ("endswith", literal, cased)
        if trail:
            return ("startswith", literal, cased)
        return ("eq", literal, cased)
    pattern = "".join(
        ".*" if p is star else "." if p is SpecialChars.WILDCARD_SINGLE else re.escape(text(p))  # type: ignore[arg-type]
        for p in parts
    )
    longest = max((p for p in parts if isinstance(p, str)), key=len, default="")
    return ("glob", pattern, cased, longest.lower())


# --- Prefilter literals -------------------------------------------------------------------


def _usable(literal: str) -> bool:
    """Long enough to be rare; a non-ASCII character (an emoji, a homoglyph) is rare alone,
    and so are two signs that are neither letters, digits nor spaces (``^^``, ``,;``: the
    obfuscation rules look for them)."""
    return (
        len(literal) >= MIN_LITERAL
        or (literal != "" and not literal.isascii())
        or (len(literal) == 2 and not any(c.isalnum() or c.isspace() for c in literal))
        or literal in RARE_SIGNS
    )


#: The shells' escape characters (PowerShell's backtick, cmd's caret): rare in what
#: programs are normally started with, the mark of the obfuscation rules that look for them.
RARE_SIGNS = frozenset("`^")


def _test_clauses(test: Node) -> tuple[frozenset[str], ...]:
    """The clauses of literals a value passing ``test`` contains (lowercased)."""
    kind = test[0]
    if kind in ("eq", "startswith", "endswith", "contains"):
        literal = test[1].lower()
        return (frozenset((literal,)),) if _usable(literal) else ()
    if kind == "glob":
        return (frozenset((test[3],)),) if _usable(test[3]) else ()
    if kind == "number" and isinstance(test[1], int) and not isinstance(test[1], bool):
        literal = str(test[1])
        return (frozenset((literal,)),) if len(literal) >= MIN_LITERAL else ()
    if kind == "regex":
        return regex_clauses(test[1], test[2])
    return ()


def regex_clauses(source: str, flags: int) -> tuple[frozenset[str], ...]:
    """Clauses of literals that every text a regular expression finds a match in contains,
    lowercased: the runs of plain characters the pattern requires (``[Pp]`` counts as
    ``p``), an alternation giving one clause of its branches' literals.

    Only ASCII characters are taken. Under ``re.IGNORECASE`` four non-ASCII characters
    match ASCII letters (``İ`` and ``ı`` match ``i``, ``ſ`` ``s``, the Kelvin sign ``k``):
    the prefilter folds them in the event's text (:data:`PREFILTER_FOLD`), so the literal is
    still found there. A pattern the parser refuses gives no clause."""
    try:
        parsed = sre_parse.parse(source, flags)
    except (re.error, RecursionError):
        return ()
    return _ordered(tuple(dict.fromkeys(_sequence_clauses(list(parsed)))))


def _plain_char(op: Any, av: Any) -> str | None:
    """The lowercased ASCII character a regex item stands for (``a``, or a class of one
    letter's cases such as ``[Pp]``), or None."""
    if op is sre_constants.LITERAL:
        return chr(av).lower() if av < 128 else None
    if op is sre_constants.IN and all(kind is sre_constants.LITERAL and v < 128 for kind, v in av):
        letters = {chr(v).lower() for _kind, v in av}
        return letters.pop() if len(letters) == 1 else None
    return None


def _leading(items: Sequence[Any]) -> tuple[list[str], bool]:
    """The plain characters a sequence of regex items starts with, and whether they are all
    of it (groups are looked into)."""
    chars: list[str] = []
    for op, av in items:
        char = _plain_char(op, av)
        if char is not None:
            chars.append(char)
            continue
        if op is sre_constants.SUBPATTERN or op is sre_constants.ATOMIC_GROUP:
            inner, whole = _leading(list(av[3] if op is sre_constants.SUBPATTERN else av))
            chars.extend(inner)
            if whole:
                continue
        return chars, False
    return chars, True


def _sequence_clauses(items: Sequence[Any]) -> list[frozenset[str]]:
    """The clauses (AND) of a sequence of parsed regex items: each run of plain characters
    (groups are part of the run: they match where they stand), the clauses of what is
    repeated at least once (whose first characters continue the run before it), and one
    clause for an alternation."""
    clauses: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        literal = "".join(run)
        run.clear()
        if _usable(literal):
            clauses.append(frozenset((literal,)))

    def walk(sequence: Sequence[Any]) -> None:
        for op, av in sequence:
            char = _plain_char(op, av)
            if char is not None:
                run.append(char)
            elif op is sre_constants.SUBPATTERN:
                walk(list(av[3]))
            elif op is sre_constants.ATOMIC_GROUP:
                walk(list(av))
            elif op in _REPEATS and av[0] >= 1:
                body = list(av[2])
                run.extend(_leading(body)[0])
                flush()
                clauses.extend(_sequence_clauses(body))
            elif op is sre_constants.BRANCH:
                flush()
                union: set[str] = set()
                for branch in av[1]:
                    found = _sequence_clauses(list(branch))
                    if not found:
                        union.clear()
                        break
                    union |= min(found, key=_selectivity)
                if union:
                    clauses.append(frozenset(union))
            else:
                # Any character, other classes, anchors, lookarounds, back references,
                # optional parts: no literal, and the run ends.
                flush()

    walk(items)
    flush()
    return clauses


_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


def required_clauses(node: Node) -> tuple[frozenset[str], ...]:
    """Clauses of literals the (lowercased) text of every event the node matches satisfies:
    each clause has at least one of its literals in the text. AND gathers its children's
    clauses; OR gives one clause, the union of one clause of each child (none if a child has
    none); a regex its required literals (:func:`regex_clauses`); NOT, null, compared
    numbers give none (no guarantee)."""
    kind = node[0]
    if kind in ("field", "keyword"):
        return _test_clauses(node[-1])
    if kind == "and":
        clauses: list[frozenset[str]] = []
        for child in node[1]:
            for clause in required_clauses(child):
                if clause not in clauses:
                    clauses.append(clause)
        return tuple(clauses)
    if kind == "or":
        # (A and B) or C is (A or C) and (B or C): each clause of the OR takes one clause
        # of every child. Keeping only some of them stays sound (each clause alone is
        # necessary), so the product is cut to the most selective few.
        combined: list[frozenset[str]] = [frozenset()]
        for child in node[1]:
            found_clauses = required_clauses(child)
            if not found_clauses:
                return ()
            best = sorted(found_clauses, key=_selectivity)[:OR_CLAUSES]
            product = {a | b for a in combined for b in best}
            combined = sorted(product, key=_clause_order)[:OR_CLAUSES]
        return tuple(combined)
    return ()


#: At most this many clauses come out of one OR (and are taken from each of its children).
OR_CLAUSES = 4


def _clause_order(clause: AbstractSet[str]) -> tuple[tuple[int, int], list[str]]:
    """Selectivity first, then the literals, so the chosen clauses do not depend on the
    order of a set."""
    return _selectivity(clause), sorted(clause)


def required_event_ids(node: Node) -> frozenset[int] | None:
    """The ``EventID`` numbers of which the event must have one for the node to match, or
    None when there is no such requirement (AND: any child's, intersected; OR: every
    child's, united)."""
    kind = node[0]
    if kind == "field":
        test = node[2]
        if node[1] == "EventID" and test[0] == "number" and type(test[1]) is int:
            return frozenset((test[1],))
        return None
    if kind == "and":
        found: frozenset[int] | None = None
        for child in node[1]:
            ids = required_event_ids(child)
            if ids is not None:
                found = ids if found is None else found & ids
        return found
    if kind == "or":
        union: set[int] = set()
        for child in node[1]:
            ids = required_event_ids(child)
            if ids is None:
                return None
            union |= ids
        return frozenset(union)
    return None


def _selectivity(clause: AbstractSet[str]) -> tuple[int, int]:
    """The clause to index a rule by comes first: the one whose shortest literal is longest
    (up to 10 characters: ``.exe`` is in every process event, a hash in almost none), then
    the one with fewer literals."""
    return (-min(min(len(x) for x in clause), 10), len(clause))


# --- Correlations --------------------------------------------------------------------------


def compile_correlation(
    rule: SigmaCorrelationRule, *, source: str, index: int, ids_by_name: Mapping[str, str]
) -> CompiledCorrelation:
    """A correlation rule; its referenced rules named by ``id`` or ``name``."""
    if rule.errors:
        raise Unsupported(f"parse error: {rule.errors[0]}")
    kind = rule.type.name.lower()
    if kind not in ("event_count", "value_count", "temporal", "temporal_ordered"):
        raise Unsupported(f"unsupported correlation type: {kind}")
    if rule.aliases.aliases:
        raise Unsupported("unsupported correlation: field aliases")
    refs: list[str] = []
    for ref in rule.rules or []:
        name = str(ref.reference)
        if name not in ids_by_name:
            raise Unsupported(f"unknown referenced rule: {name}")
        refs.append(ids_by_name[name])
    if not refs:
        raise Unsupported("unsupported correlation: no referenced rules")
    condition: list[tuple[str, float]] = []
    value_field: str | None = None
    cond = rule.condition
    if kind in ("event_count", "value_count"):
        if not isinstance(cond, SigmaCorrelationCondition):
            raise Unsupported("unsupported correlation condition")
        condition.append((cond.op.name.lower(), float(cond.count)))
        fieldref = cond.fieldref
        if isinstance(fieldref, list):
            if len(fieldref) != 1:
                raise Unsupported("unsupported correlation: value_count over several fields")
            fieldref = fieldref[0]
        value_field = fieldref
        if kind == "value_count" and not value_field:
            raise Unsupported("value_count without a field")
    elif not isinstance(cond, SigmaCorrelationCondition):
        raise Unsupported("unsupported correlation: extended temporal condition")
    return CompiledCorrelation(
        rule_id=rule_identity(rule, source, index),
        title=rule.title,
        level=_level(rule),
        tags=tuple(str(tag) for tag in rule.tags),
        kind=kind,
        rules=tuple(refs),
        group_by=tuple(rule.group_by or ()),
        timespan=float(rule.timespan.seconds),
        condition=tuple(condition),
        value_field=value_field,
        source=source,
        generate=bool(rule.generate),
    )
