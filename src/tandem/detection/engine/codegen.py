"""Each rule's condition as one generated Python function (decision 0034, "Evaluation").

The compiled rules stay plain data (:mod:`.rules`, what the cache pickles); each condition
becomes the source of one function, compiled once, the first time the rule is a candidate
(:func:`predicate`)::

    def rule(view):
        return (
            (f_image := lower1(view, 'Image')) ...
        )

What that saves over a tree of closures: one Python call per rule instead of one per node;
each field read once per rule into a local (``:=`` where it is first read on every path,
the local afterwards) and once per event for all rules (:class:`.EventView` caches it);
the common single-text field tested inline, without a loop (a field with none or several
texts takes a generator); the cheap tests of an AND or OR first. Same-field alternatives of
an OR become one test: a set for equality, ``str.startswith/endswith`` with a tuple, an
Aho-Corasick automaton from :data:`.evaluation.AUTOMATON_FROM` ``contains`` values on, one
set of numbers, one list of address ranges.

Nothing from a rule file is written into the source except field names and texts through
``repr`` of a plain ``str`` (and ``repr`` of a plain ``int``): every other value (sets,
tuples, patterns, test functions, floats) is a constant of the function's namespace,
named ``k0``, ``k1``... :func:`rule_source` shows a rule's function and its constants.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tandem.detection.engine.evaluation import (
    AUTOMATON_FROM,
    EventView,
    Predicate,
    automaton_test,
    cidr_test,
    fieldref_test,
    keyword_test,
    numbers_test,
    some_value,
    text_pattern,
    value_test,
)
from tandem.detection.engine.fields import MISSING
from tandem.detection.engine.rules import Node

_STRING_KINDS = ("eq", "startswith", "endswith", "contains")
#: Test kind → the family of same-field alternatives an OR groups into one test.
_FAMILY = {**{kind: "string" for kind in _STRING_KINDS}, "number": "number", "cidr": "cidr"}

#: What every generated function may use besides its constants.
_BUILTINS: dict[str, Any] = {
    "__builtins__": {"any": any, "type": type, "str": str, "int": int},
    "MISSING": MISSING,
    "lower1": EventView.lower1,
    "text1": EventView.text1,
    "value": EventView.value,
}

#: A field's accessor → the prefix of its local's name.
_PREFIX = {"lower1": "f", "text1": "t", "value": "v"}
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_]")

# Rough cost of a test, to put the cheap ones of an AND or OR first.
_COST = {"null": 1, "exists": 1, "eq": 2, "number": 2, "startswith": 3, "endswith": 3}


class _Writer:
    """The source of one rule's function and the constants it names."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = dict(_BUILTINS)
        self.constants: dict[str, Any] = {}
        self._locals: dict[tuple[str, str], str] = {}

    # --- names --------------------------------------------------------------------------

    def constant(self, value: Any) -> str:
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        self.namespace[name] = value
        return name

    def literal(self, value: Any) -> str:
        """A plain str or int as its ``repr`` (safe and readable); anything else a constant."""
        if type(value) is str or type(value) is int:
            return repr(value)
        return self.constant(value)

    def local(self, accessor: str, field: str) -> str:
        """The local holding a field as an accessor reads it: ``f_image`` for
        ``lower1(view, 'Image')``; unique per (accessor, field)."""
        key = (accessor, field)
        name = self._locals.get(key)
        if name is None:
            stem = _NOT_IDENTIFIER.sub("_", field.lower())[:30] if type(field) is str else ""
            name = f"{_PREFIX[accessor]}_{stem}"
            taken = set(self._locals.values())
            stem, number = name, 1
            while name in taken:
                name, number = f"{stem}_{number}", number + 1
            self._locals[key] = name
        return name

    def read(self, accessor: str, field: str, bound: set[str]) -> tuple[str, str]:
        """(the first reference, later references) to a field's local in one test: read
        into the local with ``:=`` unless every path to here has read it already."""
        name = self.local(accessor, field)
        if name in bound:
            return name, name
        return f"({name} := {accessor}(view, {self.literal(field)}))", name

    # --- tests --------------------------------------------------------------------------

    def strings(self, field: str, tests: Sequence[Node], bound: set[str]) -> str:
        """An OR of eq / startswith / endswith / contains tests of one field, one casing."""
        cased = tests[0][2]
        first, name = self.read("text1" if cased else "lower1", field, bound)
        equal = list(dict.fromkeys(t[1] for t in tests if t[0] == "eq"))
        starts = tuple(dict.fromkeys(t[1] for t in tests if t[0] == "startswith"))
        ends = tuple(dict.fromkeys(t[1] for t in tests if t[0] == "endswith"))
        inside = list(dict.fromkeys(t[1] for t in tests if t[0] == "contains"))
        # Each test as the code before and after the text's name (a repr may hold braces,
        # so no format templates).
        parts: list[tuple[str, str]] = []
        if len(equal) == 1:
            parts.append(("", f" == {self.literal(equal[0])}"))
        elif equal:
            parts.append(("", f" in {self.constant(frozenset(equal))}"))
        for method, texts in (("startswith", starts), ("endswith", ends)):
            if texts:
                k = self.literal(texts[0]) if len(texts) == 1 else self.constant(texts)
                parts.append(("", f".{method}({k})"))
        if len(inside) >= AUTOMATON_FROM:
            parts.append((f"{self.constant(automaton_test(inside))}(", ")"))
        else:
            parts.extend((f"{self.literal(t)} in ", "") for t in inside)
        return self.texted(first, name, parts)

    def texted(self, first: str, name: str, parts: Sequence[tuple[str, str]]) -> str:
        """An OR of text tests of a field's one text, inline; over a tuple of texts (none,
        several) with a generator."""
        one = " or ".join(f"{before}{name}{after}" for before, after in parts)
        many = " or ".join(f"{before}s{after}" for before, after in parts)
        if len(parts) > 1:
            one, many = f"({one})", f"({many})"
        return f"({one} if type({first}) is str else {name} != () and any({many} for s in {name}))"

    def pattern(self, field: str, test: Node, bound: set[str]) -> str:
        cased = test[0] == "regex" or test[2]
        first, name = self.read("text1" if cased else "lower1", field, bound)
        compiled = text_pattern(test)
        k = self.constant(compiled.fullmatch if test[0] == "glob" else compiled.search)
        return self.texted(first, name, [(f"{k}(", ") is not None")])

    def numbers(self, field: str, tests: Sequence[Node], bound: set[str]) -> str:
        first, name = self.read("value", field, bound)
        numbers = list(dict.fromkeys(t[1] for t in tests))
        slow = self.constant(some_value(numbers_test(numbers)))
        if len(numbers) == 1 and type(numbers[0]) is int:
            fast = f"{name} == {numbers[0]!r}"
        else:
            fast = f"{name} in {self.constant(frozenset(numbers))}"
        return f"({fast} if type({first}) is int else {slow}({name}))"

    def field(self, field: str, test: Node, bound: set[str]) -> str:
        kind = test[0]
        if kind in _STRING_KINDS:
            return self.strings(field, [test], bound)
        if kind in ("glob", "regex"):
            return self.pattern(field, test, bound)
        if kind == "number":
            return self.numbers(field, [test], bound)
        if kind == "fieldref":
            return f"{self.constant(fieldref_test(field, test[1], test[2]))}(view)"
        first, name = self.read("value", field, bound)
        if kind == "null" or (kind == "exists" and not test[1]):
            return f"({first} is MISSING or {name} is None)"
        if kind == "exists":
            return f"({first} is not MISSING and {name} is not None)"
        if kind == "cidr":
            return f"{self.constant(some_value(cidr_test([test[1]])))}({first})"
        return f"{self.constant(some_value(value_test(test)))}({first})"

    def group(self, field: str, family: str, tests: list[Node], bound: set[str]) -> str:
        if family == "number":
            return self.numbers(field, tests, bound)
        if family == "cidr":
            first, _ = self.read("value", field, bound)
            return f"{self.constant(some_value(cidr_test([t[1] for t in tests])))}({first})"
        return self.strings(field, tests, bound)

    # --- conditions ---------------------------------------------------------------------

    def expression(self, node: Node, bound: set[str], depth: int) -> tuple[str, set[str]]:
        """The node's expression, and the locals read on every path through it (those the
        tests after it may use without reading again)."""
        kind = node[0]
        if kind == "field":
            code = self.field(node[1], node[2], bound)
            return code, {self.local(*_accessor(node[1], node[2]))} if _reads(node[2]) else set()
        if kind == "keyword":
            return f"{self.constant(keyword_test(node[1]))}(view)", set()
        if kind == "true":
            return "True", set()
        if kind == "false":
            return "False", set()
        if kind == "not":
            inner, read = self.expression(node[1], bound, depth)
            return f"not {inner}" if "\n" not in inner else f"not (\n{inner})", read
        if kind in ("and", "or"):
            return self.boolean(kind, node[1], bound, depth)
        raise ValueError(f"unknown node {kind!r}")

    def boolean(
        self, kind: str, children: Sequence[Node], bound: set[str], depth: int
    ) -> tuple[str, set[str]]:
        items = _parts(kind, children)
        if len(items) == 1 and items[0][0] == "node":
            return self.expression(items[0][1], bound, depth)
        inner = set(bound)
        codes: list[str] = []
        first_read: set[str] | None = None
        for item in sorted(items, key=_item_cost):
            if item[0] == "group":
                _, field, family, tests = item
                code = self.group(field, family, tests, inner)
                read = {self.local(*_accessor(field, tests[0]))}
            else:
                code, read = self.expression(item[1], inner, depth + 1)
                if "\n" in code and item[1][0] in ("and", "or"):
                    code = f"(\n{code}\n{'    ' * (depth + 2)})"
            codes.append(code)
            inner |= read
            if first_read is None:
                first_read = read
        indent = "    " * (depth + 2)
        if len(codes) == 1:
            return codes[0], first_read or set()
        joined = f"\n{indent}{kind} ".join(codes)
        return f"{indent}{joined}", first_read or set()


def _reads(test: Node) -> bool:
    """Whether a field test reads the field into a local (fieldref reads it itself)."""
    return test[0] != "fieldref"


def _accessor(field: str, test: Node) -> tuple[str, str]:
    kind = test[0]
    if kind in _STRING_KINDS or kind == "glob":
        return ("text1" if test[2] else "lower1"), field
    if kind == "regex":
        return "text1", field
    return "value", field


def _parts(kind: str, children: Sequence[Node]) -> list[tuple[Any, ...]]:
    """An AND's or OR's operands, nested ones of the same kind flattened; in an OR, the
    same-field alternatives of one family (and casing) as one ``("group", ...)``."""
    flat: list[Node] = []
    stack = list(reversed(children))
    while stack:
        child = stack.pop()
        if child[0] == kind:
            stack.extend(reversed(child[1]))
        else:
            flat.append(child)
    if kind == "and":
        return [("node", c) for c in flat]
    groups: dict[tuple[str, str, bool], list[Node]] = {}
    items: list[tuple[Any, ...]] = []
    for child in flat:
        family = _FAMILY.get(child[2][0]) if child[0] == "field" else None
        if family is None:
            items.append(("node", child))
            continue
        cased = bool(child[2][2]) if family == "string" else False
        key = (child[1], family, cased)
        if key not in groups:
            groups[key] = []
            items.append(("group", child[1], family, groups[key]))
        groups[key].append(child[2])
    return [
        ("node", ("field", item[1], item[3][0]))
        if item[0] == "group" and len(item[3]) == 1
        else item
        for item in items
    ]


def _item_cost(item: tuple[Any, ...]) -> int:
    if item[0] == "node":
        return _cost(item[1])
    kinds = {t[0] for t in item[3]}
    if item[2] != "string":
        return 6  # one set lookup or one address parse
    # One set lookup for all equalities, one call per startswith/endswith tuple, one ``in``
    # per contains (an automaton from AUTOMATON_FROM on).
    contains = sum(1 for t in item[3] if t[0] == "contains")
    return (
        2 * ("eq" in kinds)
        + 3 * len(kinds & {"startswith", "endswith"})
        + 4 * min(contains, AUTOMATON_FROM // 2)
    )


def _test_cost(test: Node) -> int:
    kind = test[0]
    if kind == "contains":
        return 4
    return _COST.get(kind, 10)


def _cost(node: Node) -> int:
    """A rough cost, to order an AND's or OR's operands cheapest first."""
    kind = node[0]
    if kind == "field":
        return _test_cost(node[2]) if node[2][0] != "fieldref" else 20
    if kind == "keyword":
        return 50
    if kind == "not":
        return _cost(node[1])
    if kind in ("and", "or"):
        return sum(_item_cost(item) for item in _parts(kind, node[1]))
    return 0


def _generate(node: Node) -> tuple[str, _Writer]:
    writer = _Writer()
    body, _ = writer.expression(node, set(), 0)
    if not body.startswith(" "):
        body = f"        {body}"
    return f"def rule(view):\n    return (\n{body}\n    )\n", writer


def predicate(node: Node) -> Predicate:
    """The rule's condition as a function of an :class:`.EventView`, generated and compiled
    the first time it is called: most rules are never a candidate of the events a process
    sees, and compiling all 3,752 community rules takes a second or two. The function
    returned stays the same object: its first call fills its namespace and replaces its
    own code with the generated one."""
    # The builtins a function sees are fixed when it is made: the generated code's.
    namespace: dict[str, Any] = {
        "__builtins__": _BUILTINS["__builtins__"],
        "_node": node,
        "_first_call": _first_call,
    }
    exec(_STUB, namespace)  # noqa: S102 - a fixed stub (below)
    function: Predicate = namespace["rule"]
    return function


#: A rule before its first call: generates and compiles itself, then runs.
_STUB = compile("def rule(view):\n    return _first_call(rule, view)\n", "<sigma rule>", "exec")


def _first_call(stub: Any, view: EventView) -> bool:
    compiled = compiled_predicate(stub.__globals__["_node"])
    stub.__globals__.update(compiled.__globals__)
    stub.__code__ = compiled.__code__
    return bool(stub(view))


def compiled_predicate(node: Node) -> Predicate:
    """The rule's condition as one function, generated and compiled now."""
    source, writer = _generate(node)
    code = compile(source, "<sigma rule>", "exec")
    exec(code, writer.namespace)  # noqa: S102 - our own generated source (module docstring)
    function: Predicate = writer.namespace["rule"]
    return function


def rule_source(node: Node) -> str:
    """A rule's generated function as it is compiled, its constants listed after it."""
    source, writer = _generate(node)
    lines = [source]
    lines.extend(f"# {name} = {value!r}" for name, value in writer.constants.items())
    return "\n".join(lines)
