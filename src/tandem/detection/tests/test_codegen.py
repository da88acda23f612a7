"""The rules' generated functions (decision 0034, "Evaluation"): readable, never running what
a rule file says, compiled on first use, and agreeing with the plain reference evaluator on
the paths the generated code adds (lists, absent fields, fields read on some paths only)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.detection.engine import compile_rules, load_rules_text
from tandem.detection.engine.codegen import compiled_predicate, predicate, rule_source
from tandem.detection.engine.evaluation import EventView
from tandem.detection.tests import reference
from tandem.detection.tests.support import matches, ruleset, windows

HOSTILE = "x'); __import__('os').system('echo pwned') #\n\"\"\" {k0} \\"


def test_values_from_a_rule_file_are_data_not_code() -> None:
    detection = yaml.safe_dump(
        {
            "selection": {"CommandLine|contains": HOSTILE, "Odd'Field\n": HOSTILE},
            "condition": "selection",
        }
    )
    hit = windows(CommandLine=f"a{HOSTILE}b", **{"Odd'Field\n": HOSTILE})
    assert matches(detection, hit)
    assert not matches(detection, windows(CommandLine="x", **{"Odd'Field\n": HOSTILE}))
    source = rule_source(ruleset(detection).loaded[0].condition)
    function = source.split("\n\n# ")[0]
    # Texts are written through repr only: no raw newline or quote of the rule's value.
    assert "__import__('os')" not in function.replace(repr(HOSTILE.lower()), "")
    assert "\\n" in function


def test_a_rules_source_reads_each_field_once_and_lists_its_constants() -> None:
    rules = ruleset(
        """
        selection:
            Image|endswith: ['\\cmd.exe', '\\powershell.exe']
            CommandLine|contains: [' -enc ', ' /c ']
        filter:
            Image|startswith: 'C:\\Program Files\\'
        condition: selection and not filter
        """
    )
    source = rule_source(rules.loaded[0].condition)
    assert source.startswith("def rule(view):")
    assert source.count("lower1(view, 'Image')") == 1  # read once, the local after
    assert "f_image.startswith('c:\\\\program files\\\\')" in source
    assert "# k0 = ('\\\\cmd.exe', '\\\\powershell.exe')" in source


def test_a_predicate_compiles_on_its_first_call_and_stays_the_same_function() -> None:
    node = ruleset("selection:\n    Image|endswith: '\\cmd.exe'\ncondition: selection").loaded[0]
    function = predicate(node.condition)
    stub_code = function.__code__
    event = windows(Image="C:\\Windows\\cmd.exe")
    assert function(EventView(event)) is True
    assert function.__code__ is not stub_code
    assert function(EventView(windows(Image="C:\\x.exe"))) is False
    assert compiled_predicate(node.condition)(EventView(event)) is True


FIELDS = ["Image", "CommandLine", "Port"]
VALUES = ["ab", "AB", "xab", "abx", "b", "", "10", "10.1.2.3", "a b"]


@st.composite
def selection(draw: st.DrawFn) -> dict[str, Any]:
    """One map of a detection: a field's string tests (often several of one field, which
    the generated code groups), numbers, nulls and ranges."""
    entries: dict[str, Any] = {}
    for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2, unique=True)):
        modifier = draw(
            st.sampled_from(["", "|contains", "|startswith", "|endswith", "|cased", "|cidr"])
        )
        if modifier == "|cidr":
            value: Any = draw(st.sampled_from(["10.0.0.0/8", ["10.1.0.0/16", "fe80::/10"]]))
        elif draw(st.booleans()):
            value = draw(st.sampled_from([None, 10, [10, 11], "ab"]))
        else:
            value = draw(st.lists(st.sampled_from(VALUES[:5]), min_size=1, max_size=7))
        entries[f"{field}{modifier}"] = value
    return entries


@st.composite
def rule_and_event(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    names = ["sel_a", "sel_b", "sel_c"]
    detection: dict[str, Any] = {name: draw(selection()) for name in names}
    detection["condition"] = draw(
        st.sampled_from(
            [
                "sel_a and (sel_b or sel_c)",
                "(sel_a or sel_b) and not sel_c",
                "not (sel_a and sel_b) or sel_c",
                "1 of sel_* and not (sel_b and sel_c)",
                "(sel_a or (sel_b and sel_c)) and sel_a",
                "all of them or not sel_b",
            ]
        )
    )
    data: dict[str, Any] = {}
    for field in FIELDS:
        shape = draw(st.integers(0, 4))
        if shape == 1:
            data[field] = None
        elif shape == 2:
            data[field] = draw(st.lists(st.sampled_from([*VALUES, 10]), max_size=3))
        elif shape >= 3:
            data[field] = draw(st.sampled_from([*VALUES, 10, 11, True]))
    yaml_text = yaml.safe_dump(
        {"title": "random", "logsource": {"product": "windows"}, "detection": detection}
    )
    event = {
        "Event": {"System": {"EventID": 1, "Channel": "Security"}, "EventData": data},
        "_logsource": {"product": "windows", "category": None, "service": "security"},
    }
    return yaml_text, event


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_and_event())
def test_generated_code_agrees_with_the_reference(case: tuple[str, dict[str, Any]]) -> None:
    """Grouped same-field alternatives, lists and absent fields, and fields read on one
    path of an OR and used after it."""
    yaml_text, event = case
    rules = load_rules_text({"r.yml": yaml_text})
    if not rules.loaded:
        return
    expected = reference.rule_matches(yaml_text, event)
    assert bool(compile_rules(rules, prefilter=False).match(event)) is expected, (yaml_text, event)
