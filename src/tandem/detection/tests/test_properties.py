"""The engine against the plain reference evaluator (``reference.py``) on random rules and
random events: random detections (fields, modifiers, values with wildcards and escapes, lists,
lists of maps, keywords) and conditions (and/or/not, parentheses, ``1 of``/``all of`` with
wildcards and ``them``), and events built mostly from the rule's own values so they often
hit. Engine and reference must agree on every pair, with and without the prefilter."""

from __future__ import annotations

import base64
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tandem.detection.engine import compile_rules, load_rules_text
from tandem.detection.tests import reference

FIELDS = ["Image", "CommandLine", "User", "Count", "Ip", "EventID"]
ALPHABET = "abcAB.-/\\ *?"
PLAIN = "abcAB.-/ "

text = st.text(alphabet=ALPHABET, min_size=0, max_size=6)
plain = st.text(alphabet=PLAIN, min_size=1, max_size=6)

STRING_MODIFIERS = [
    [],
    ["contains"],
    ["startswith"],
    ["endswith"],
    ["contains", "all"],
    ["cased"],
    ["contains", "cased"],
    ["windash"],
    ["windash", "contains"],
    ["base64"],
    ["base64offset", "contains"],
    ["wide", "base64offset", "contains"],
]


@st.composite
def detection_item(draw: st.DrawFn) -> tuple[str, Any]:
    """One ``field|modifiers: value(s)`` entry."""
    field = draw(st.sampled_from(FIELDS))
    kind = draw(
        st.sampled_from(
            ["string"] * 6 + ["number", "compare", "regex", "cidr", "null", "exists", "fieldref"]
        )
    )
    if kind == "number":
        return field, draw(st.one_of(st.integers(0, 20), st.lists(st.integers(0, 20), max_size=3)))
    if kind == "compare":
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte"]))
        return f"{field}|{op}", draw(st.integers(0, 20))
    if kind == "regex":
        flags = draw(st.sampled_from([[], ["i"], ["m"], ["s"], ["i", "s"]]))
        pattern = draw(st.sampled_from(["^a.b$", "a+b", "[ab]c", "^A", "b$", "a\\.b", "(?:ab|ba)"]))
        return "|".join([field, "re", *flags]), pattern
    if kind == "cidr":
        ranges = st.sampled_from(["10.0.0.0/8", "10.1.0.0/16", "fe80::/10", "192.168.0.0/16"])
        return f"{field}|cidr", draw(st.one_of(ranges, st.lists(ranges, min_size=2, max_size=3)))
    if kind == "null":
        return field, draw(st.sampled_from([None, ""]))
    if kind == "exists":
        return f"{field}|exists", draw(st.booleans())
    if kind == "fieldref":
        return f"{field}|fieldref", draw(st.sampled_from([f for f in FIELDS if f != field]))
    modifiers = draw(st.sampled_from(STRING_MODIFIERS))
    if "base64" in modifiers or "base64offset" in modifiers:
        value: Any = draw(plain)
    else:
        value = draw(st.one_of(text, st.lists(text, min_size=1, max_size=3)))
    return "|".join([field, *modifiers]), value


@st.composite
def rule(draw: st.DrawFn) -> tuple[str, list[Any]]:
    """A rule's YAML and the plain values it mentions (to build events that hit)."""
    names = [f"sel_{i}" for i in range(draw(st.integers(1, 3)))]
    detection: dict[str, Any] = {}
    values: list[Any] = []
    for name in names:
        if draw(st.integers(0, 5)) == 0:
            keywords = draw(st.lists(plain, min_size=1, max_size=3))
            detection[name] = keywords
            values.extend(keywords)
            continue
        maps = []
        for _ in range(draw(st.integers(1, 2))):
            entries = dict(draw(st.lists(detection_item(), min_size=1, max_size=3)))
            maps.append(entries)
            for v in entries.values():
                values.extend(v if isinstance(v, list) else [v])
        detection[name] = maps[0] if len(maps) == 1 else maps
    detection["condition"] = draw(condition(names))
    document = {
        "title": "random",
        "logsource": {"product": "windows"},
        "detection": detection,
    }
    return yaml.safe_dump(document, allow_unicode=True), values


def condition(names: list[str]) -> st.SearchStrategy[str]:
    leaf = st.sampled_from([*names, "1 of sel_*", "all of sel_*", "1 of them", "all of them"])
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda a: f"not {a}", inner),
            st.builds(lambda a, b: f"({a} and {b})", inner, inner),
            st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        ),
        max_leaves=4,
    )


def _from_values(values: list[Any]) -> st.SearchStrategy[Any]:
    """An event value: often one of the rule's own values (wildcards filled in, encoded as
    the encoding modifiers would), sometimes random."""
    texts = [str(v).replace("*", "xx").replace("?", "y") for v in values if v is not None]
    variants: list[Any] = []
    for t in texts:
        variants += [t, t.upper(), f"a{t}b", t.replace("-", "/"), "10.1.2.3", "fe80::1"]
        variants.append(base64.b64encode(t.encode()).decode())
        variants.append("z" + base64.b64encode(("ab" + t).encode("utf-16le")).decode())
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    options: list[st.SearchStrategy[Any]] = [text, st.integers(0, 20), st.sampled_from(["", "10"])]
    if variants:
        options.append(st.sampled_from(variants))
    if numbers:
        options.append(st.sampled_from(numbers))
        options.append(st.sampled_from([str(n) for n in numbers]))
    return st.one_of(*options)


@st.composite
def rule_and_event(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    yaml_text, values = draw(rule())
    source = _from_values(values)
    data: dict[str, Any] = {}
    for field in FIELDS:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            continue  # absent
        if choice == 1:
            data[field] = None
        elif choice == 2:
            data[field] = draw(st.lists(source, min_size=1, max_size=2))
        else:
            data[field] = draw(source)
    event = {
        "Event": {"System": {"EventID": 1, "Channel": "Security"}, "EventData": data},
        "_logsource": {"product": "windows", "category": None, "service": "security"},
    }
    return yaml_text, event


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_and_event())
def test_engine_agrees_with_the_reference(case: tuple[str, dict[str, Any]]) -> None:
    yaml_text, event = case
    rules = load_rules_text({"r.yml": yaml_text})
    assume(rules.loaded)  # pySigma refuses some random combinations (e.g. a bad base64 input)
    expected = reference.rule_matches(yaml_text, event)
    assert bool(compile_rules(rules).match(event)) is expected, (yaml_text, event)
    assert bool(compile_rules(rules, prefilter=False).match(event)) is expected


def test_the_generator_produces_both_outcomes() -> None:
    """The property is only worth something if random pairs both hit and miss."""
    outcomes: set[bool] = set()

    @settings(max_examples=150, deadline=None, database=None)
    @given(rule_and_event())
    def collect(case: tuple[str, dict[str, Any]]) -> None:
        yaml_text, event = case
        if load_rules_text({"r.yml": yaml_text}).loaded:
            outcomes.add(reference.rule_matches(yaml_text, event))

    collect()
    assert outcomes == {True, False}
