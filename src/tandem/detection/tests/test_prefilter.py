"""The prefilter never drops a true match (decision 0034, "Speed").

The literals taken from regular expressions are checked on random patterns (literal runs,
classes such as ``[Ss]``, groups, alternations, repeats, lookaheads, inline ``(?i:...)``)
and texts the pattern finds a match in, including the characters ``re.IGNORECASE`` matches
with an ASCII letter although they lowercase to something else (``ſ``, ``ı``, ``İ``, the
Kelvin sign). Then whole regex rules go through the engine, with and without the
prefilter, against the reference evaluator.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tandem.detection.engine import compile_rules, load_rules_text, matching
from tandem.detection.engine.compiler import regex_clauses
from tandem.detection.engine.fields import texts_of
from tandem.detection.engine.prefilter import (
    PREFILTER_FOLD,
    Literals,
    json_text,
    prefilter_text,
    searchable,
)
from tandem.detection.tests import reference
from tandem.detection.tests.support import rule_yaml, windows
from tandem.detection.tests.test_properties import rule_and_event

#: ASCII letters and their troublesome look-alikes under ``re.IGNORECASE``.
LETTERS = "abcikKsSI-. \\`^,;"
LOOK_ALIKES = {"s": "ſ", "S": "ſ", "i": "ıİ", "I": "ıİ", "k": "\u212a", "K": "\u212a"}

_leaf = st.one_of(
    st.text(alphabet=LETTERS + "ſıİ", min_size=1, max_size=5).map(re.escape),
    st.sampled_from([".", r"\s", r"\w", r"\d", "[Ss]", "[Ii]", "[a-c]", "[^a]", "^", "$", r"\b"]),
)


def _wrap(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(inner, min_size=2, max_size=4).map("".join),
        st.tuples(inner, inner).map(lambda t: f"(?:{t[0]}|{t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]}|{t[1]})"),
        inner.map(lambda x: f"(?:{x})+"),
        inner.map(lambda x: f"(?:{x})*"),
        inner.map(lambda x: f"(?:{x})?"),
        inner.map(lambda x: f"(?:{x}){{2,3}}"),
        inner.map(lambda x: f"(?>{x})"),
        inner.map(lambda x: f"(?={x})"),
        inner.map(lambda x: f"(?i:{x})"),
    )


patterns = st.recursive(_leaf, _wrap, max_leaves=8)
FLAGS = [0, re.IGNORECASE, re.IGNORECASE | re.DOTALL, re.MULTILINE]


@st.composite
def pattern_and_text(draw: st.DrawFn) -> tuple[str, int, str]:
    """A pattern, its flags, and a text it finds a match in (letters sometimes swapped for
    their case variants or look-alikes, which a case-insensitive pattern still matches)."""
    pattern = draw(patterns)
    flags = draw(st.sampled_from(FLAGS))
    try:
        compiled = re.compile(pattern, flags)
    except re.error:
        assume(False)
        raise
    text = draw(st.from_regex(compiled))
    swapped = []
    for char in text:
        choice = draw(st.integers(0, 3))
        if choice == 1:
            char = char.swapcase()
        elif choice == 2 and char in LOOK_ALIKES:
            char = draw(st.sampled_from(LOOK_ALIKES[char]))
        swapped.append(char)
    candidate = "".join(swapped)
    if compiled.search(candidate):
        text = candidate
    assume(compiled.search(text) is not None)
    return pattern, flags, text


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(pattern_and_text())
def test_every_regex_literal_is_in_every_text_it_matches(case: tuple[str, int, str]) -> None:
    pattern, flags, text = case
    searched = prefilter_text({"Field": text})
    for clause in regex_clauses(pattern, flags):
        assert any(literal.translate(PREFILTER_FOLD) in searched for literal in clause), (
            pattern,
            flags,
            text,
            clause,
        )


def test_literals_come_out_of_the_common_shapes() -> None:
    """What the community rules write: runs, ``[Pp]`` classes, alternations, repeats."""
    assert regex_clauses(r"(cmd|powershell|pwsh)\.exe", 0) == (
        frozenset({".exe"}),
        frozenset({"cmd", "powershell", "pwsh"}),
    )
    assert regex_clauses(r"[Pp]ower[Ss]hell\s+-enc", re.IGNORECASE) == (
        frozenset({"powershell"}),
        frozenset({"-enc"}),
    )
    assert regex_clauses(r"(?:abc)?xyz|foo", 0) == (frozenset({"xyz", "foo"}),)
    assert regex_clauses(r"^.*$", 0) == ()
    assert regex_clauses(r"\w+-\w+", 0) == ()  # one dash is in everything
    assert regex_clauses(r"\w+`\w+`", 0) == (frozenset({"`"}),)  # a backtick is not
    # a repeated group's first characters continue the run before it
    assert regex_clauses(r'"(?:\{\d\})+"\s*-f', 0) == (frozenset({'"{'}),)
    assert regex_clauses(r"(ab)c(?:de)+", 0) == (frozenset({"abcde"}),)
    assert regex_clauses(r"(?!secret)\d{4}", 0) == ()


@st.composite
def regex_rule_and_event(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    pattern, flags, text = draw(pattern_and_text())
    modifiers = ["re"] + (["i"] if flags & re.IGNORECASE else [])
    other = draw(st.sampled_from(["CommandLine", "Image"]))
    # The other selection's values have no letter with look-alikes: plain comparisons
    # lowercase (the engine) where the reference's regexes use re.IGNORECASE, which differ
    # on exactly those letters; that is not what this test is about.
    detection: dict[str, Any] = {
        "selection": {"|".join(["CommandLine", *modifiers]): pattern},
        "other": {f"{other}|contains": draw(st.sampled_from(["abc", "zzz", "b-c"]))},
        "condition": draw(
            st.sampled_from(["selection", "selection or other", "selection and not other"])
        ),
    }
    document = {
        "title": "random regex",
        "logsource": {"product": "windows"},
        "detection": detection,
    }
    data: dict[str, Any] = {"CommandLine": draw(st.sampled_from([text, [text, "x"]]))}
    if draw(st.booleans()):
        data["Image"] = draw(st.sampled_from(["C:\\abc.exe", "İabc", text.upper()]))
    event = {
        "Event": {"System": {"EventID": 1, "Channel": "Security"}, "EventData": data},
        "_logsource": {"product": "windows", "category": None, "service": "security"},
    }
    return yaml.safe_dump(document, allow_unicode=True), event


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(regex_rule_and_event())
def test_regex_rules_agree_with_the_reference(case: tuple[str, dict[str, Any]]) -> None:
    yaml_text, event = case
    rules = load_rules_text({"r.yml": yaml_text})
    assume(rules.loaded)
    expected = reference.rule_matches(yaml_text, event)
    assert bool(compile_rules(rules).match(event)) is expected, (yaml_text, event)
    assert bool(compile_rules(rules, prefilter=False).match(event)) is expected


def test_literals_with_nul_characters_still_find_their_events() -> None:
    """Hyperscan's binding reads literals as C strings: a NUL never cuts one short of a
    match (the longest piece without NUL is searched, or none)."""
    rules = load_rules_text(
        {
            "r.yml": "title: nul\nlogsource: {product: windows}\ndetection:\n"
            '  a: {CommandLine|contains: "\\0\\0\\0"}\n'
            '  b: {Image|contains: "x\\0yz"}\n'
            "  condition: a or b\n"
        }
    )
    engine = compile_rules(rules)

    def event(**data: str) -> dict[str, Any]:
        return {
            "Event": {"System": {"EventID": 1, "Channel": "Security"}, "EventData": data},
            "_logsource": {"product": "windows", "service": "security"},
        }

    assert engine.match(event(CommandLine="run \0\0\0 now"))
    assert engine.match(event(Image="ax\0yzb"))
    assert not engine.match(event(CommandLine="run \0\0 now", Image="x yz"))


# --- The search itself: the event as orjson writes it, or its values' text -----------------

_scalar = st.one_of(
    st.text(alphabet='aBcXy"\\/\n\t\x01\x7f-. :İſıK€', max_size=8),
    st.integers(-(10**20), 10**20),  # past 64 bits orjson cannot write: the slow path
    st.floats(),  # NaN and infinities included: written as null, so the slow path
    st.booleans(),
    st.none(),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(alphabet='ab_"\\', max_size=3), inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.text(alphabet="abE_", max_size=3), _value, min_size=1), st.data())
def test_every_literal_in_a_value_is_found(event: dict[str, Any], data: st.DataObject) -> None:
    """Whichever way the event is searched (written by orjson, ignoring ASCII case, or its
    values' lowercased text), a literal in one value's lowercased text is found."""
    texts = [t.lower().translate(PREFILTER_FOLD) for t in texts_of(event)]
    assume(texts)
    text = data.draw(st.sampled_from(texts))
    start = data.draw(st.integers(0, len(text)))
    literal = text[start : data.draw(st.integers(start, len(text)))]
    assume(searchable(literal))
    found = Literals(["zzzz", 'q"q', literal]).find(event)
    assert 2 in found, (event, literal, json_text(event))


def test_an_ascii_event_is_searched_as_written() -> None:
    event = {"Image": "C:\\Windows\\System32\\CMD.exe", "Args": ['/c "ECHO"', 7, True]}
    assert json_text(event) is not None  # the fast path is the one tested
    literals = Literals(["\\system32\\cmd.exe", '/c "echo"', "7", "true", "nothere"])
    assert sorted(literals.find(event)) == [0, 1, 2, 3]


def test_floats_nulls_and_other_letters_take_the_slow_path() -> None:
    """Python writes ``1e-05`` where orjson writes ``0.00001``; NaN becomes ``null``; an
    uppercase non-ASCII letter lowercases to another one."""
    literals = Literals(["1e-05", "nan", "éé"])
    assert literals.find({"x": 1e-05}) == [0]
    assert literals.find({"x": [float("nan")]}) == [1]
    assert literals.find({"x": "ÉÉ"}) == [2]


@pytest.mark.parametrize("narrow_after", [None, 1])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(rule_and_event(), min_size=2, max_size=4), st.randoms())
def test_the_learned_index_keeps_every_match(
    narrow_after: int | None, cases: list[Any], rng: Any
) -> None:
    """Each log source's index is rebuilt on the literals its first events held: it
    changes which clause indexes a rule, never which events a rule matches. With
    ``narrow_after``, the scan then looks for the literals that index a rule only and
    checks the rules' other clauses in the written event (events that are not ASCII or
    hold floats or nulls take the full scan): the matches are the same again."""
    rules = load_rules_text({f"r{i}.yml": yaml_text for i, (yaml_text, _) in enumerate(cases)})
    assume(rules.loaded)
    events = [event for _, event in cases] * 4
    rng.shuffle(events)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching, "LEARN_EVENTS", 3 if narrow_after is None else 2)
        engine = compile_rules(rules)
        if narrow_after is not None:
            engine.narrow_after = narrow_after
        plain = compile_rules(rules, prefilter=False)
        for event in events:
            assert engine.match(event) == plain.match(event), event


def test_a_narrowed_scan_checks_the_other_clauses_in_the_written_event() -> None:
    """A rule indexed by its rare clause is visited when that literal is found; its other
    clause (a literal the narrowed database no longer reports) is looked for in the event
    as orjson writes it, ignoring ASCII case."""
    rules = load_rules_text(
        {
            "r.yml": rule_yaml(
                "a: {CommandLine|contains: 'rare-thing'}\n"
                "b: {Image|endswith: '\\cmd.exe'}\n"
                "condition: a and b"
            )
        }
    )
    hit = windows(Image="C:\\Windows\\CMD.EXE", CommandLine="x RARE-THING y")
    miss = windows(Image="C:\\Windows\\powershell.exe", CommandLine="x rare-thing y")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching, "LEARN_EVENTS", 1)
        engine = compile_rules(rules)
        engine.narrow_after = 1
        for _ in range(3):
            assert [m.rule_id for m in engine.match(hit)] and not engine.match(miss)
    assert all(bucket.narrowed for bucket in engine._buckets.values())
