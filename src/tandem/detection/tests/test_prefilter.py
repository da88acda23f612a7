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

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tandem.detection.engine import compile_rules, load_rules_text
from tandem.detection.engine.compiler import regex_clauses
from tandem.detection.engine.prefilter import PREFILTER_FOLD, prefilter_text
from tandem.detection.tests import reference

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
