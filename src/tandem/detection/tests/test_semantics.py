"""The Sigma semantics the engine implements, each with a case that fails if it is wrong.

Every case is a rule written for it (``support.rule_yaml``) and a Windows event; the rule
must load, and match exactly when expected.
"""

from __future__ import annotations

import base64

import pytest

from tandem.detection.engine import compile_rules, load_rules_text
from tandem.detection.tests.support import matches, rule_yaml, ruleset, windows

CASES = [
    # Plain values: whole-value, case-insensitive.
    (
        "sel: {Image: 'C:\\Windows\\cmd.exe'}\ncondition: sel",
        {"Image": "c:\\windows\\CMD.EXE"},
        True,
    ),
    ("sel: {Image: 'cmd.exe'}\ncondition: sel", {"Image": "C:\\Windows\\cmd.exe"}, False),
    # contains / startswith / endswith
    ("sel: {CommandLine|contains: whoami}\ncondition: sel", {"CommandLine": "x WHOAMI /all"}, True),
    ("sel: {CommandLine|contains: whoami}\ncondition: sel", {"CommandLine": "who ami"}, False),
    ("sel: {Image|startswith: 'C:\\Temp'}\ncondition: sel", {"Image": "c:\\temp\\a.exe"}, True),
    ("sel: {Image|startswith: 'C:\\Temp'}\ncondition: sel", {"Image": "D:\\c:\\temp"}, False),
    ("sel: {Image|endswith: '\\a.exe'}\ncondition: sel", {"Image": "C:\\x\\A.EXE"}, True),
    ("sel: {Image|endswith: '\\a.exe'}\ncondition: sel", {"Image": "C:\\x\\a.exe.txt"}, False),
    # Lists are OR; |all makes them AND.
    ("sel: {CommandLine|contains: [aaa, bbb]}\ncondition: sel", {"CommandLine": "xbbbx"}, True),
    ("sel: {CommandLine|contains|all: [aaa, bbb]}\ncondition: sel", {"CommandLine": "bbb"}, False),
    (
        "sel: {CommandLine|contains|all: [aaa, bbb]}\ncondition: sel",
        {"CommandLine": "bbbaaa"},
        True,
    ),
    # Several fields in one map are AND; a list of maps is OR.
    ("sel: {Image: a, User: b}\ncondition: sel", {"Image": "a", "User": "c"}, False),
    ("sel:\n  - Image: a\n  - User: b\ncondition: sel", {"Image": "z", "User": "b"}, True),
    # Wildcards and escapes.
    ("sel: {Image: 'c:\\\\*\\a?.exe'}\ncondition: sel", {"Image": "C:\\dir\\sub\\ab.exe"}, True),
    ("sel: {Image: 'c:\\\\*\\a?.exe'}\ncondition: sel", {"Image": "C:\\dir\\a.exe"}, False),
    ("sel: {Title: 'what\\?'}\ncondition: sel", {"Title": "whatX"}, False),
    ("sel: {Title: 'what\\?'}\ncondition: sel", {"Title": "what?"}, True),
    ("sel: {Title: 'a\\*b'}\ncondition: sel", {"Title": "a*b"}, True),
    ("sel: {Title: 'a\\*b'}\ncondition: sel", {"Title": "axxb"}, False),
    ("sel: {Path: 'c:\\\\\\\\share'}\ncondition: sel", {"Path": "c:\\\\share"}, True),
    # cased
    ("sel: {Image|cased: Abc}\ncondition: sel", {"Image": "abc"}, False),
    ("sel: {Image|cased: Abc}\ncondition: sel", {"Image": "Abc"}, True),
    ("sel: {Image|contains|cased: Bc}\ncondition: sel", {"Image": "abc"}, False),
    ("sel: {Image|contains|cased: Bc}\ncondition: sel", {"Image": "aBc"}, True),
    # re with flags: case-sensitive and single-line by default.
    ("sel: {CommandLine|re: 'a[0-9]+b'}\ncondition: sel", {"CommandLine": "xa123bx"}, True),
    ("sel: {CommandLine|re: 'a[0-9]+b'}\ncondition: sel", {"CommandLine": "A123B"}, False),
    ("sel: {CommandLine|re|i: 'a[0-9]+b'}\ncondition: sel", {"CommandLine": "A123B"}, True),
    ("sel: {CommandLine|re: '^b$'}\ncondition: sel", {"CommandLine": "a\nb"}, False),
    ("sel: {CommandLine|re|m: '^b$'}\ncondition: sel", {"CommandLine": "a\nb"}, True),
    ("sel: {CommandLine|re: 'a.b'}\ncondition: sel", {"CommandLine": "a\nb"}, False),
    ("sel: {CommandLine|re|s: 'a.b'}\ncondition: sel", {"CommandLine": "a\nb"}, True),
    # cidr
    ("sel: {IpAddress|cidr: 10.0.0.0/8}\ncondition: sel", {"IpAddress": "10.2.3.4"}, True),
    ("sel: {IpAddress|cidr: 10.0.0.0/8}\ncondition: sel", {"IpAddress": "11.2.3.4"}, False),
    ("sel: {IpAddress|cidr: 'fe80::/10'}\ncondition: sel", {"IpAddress": "fe80::1"}, True),
    ("sel: {IpAddress|cidr: 10.0.0.0/8}\ncondition: sel", {"IpAddress": "not an ip"}, False),
    # a list of ranges (one predicate: each address's version against its own ranges)
    (
        "sel: {IpAddress|cidr: [10.0.0.0/8, 'fe80::/10']}\ncondition: sel",
        {"IpAddress": "fe80::9"},
        True,
    ),
    (
        "sel: {IpAddress|cidr: [10.0.0.0/8, 'fe80::/10']}\ncondition: sel",
        {"IpAddress": "::ffff:10.0.0.1"},
        False,
    ),
    (
        "sel: {IpAddress|cidr: [10.0.0.0/8, 192.168.0.0/16]}\ncondition: sel",
        {"IpAddress": ["1.1.1.1", "192.168.255.255"]},
        True,
    ),
    (
        "sel: {IpAddress|cidr: [10.0.0.0/8, 192.168.0.0/16]}\ncondition: sel",
        {"IpAddress": "192.169.0.0"},
        False,
    ),
    # a list of numbers: equal numbers or their decimal text, never a boolean
    ("sel: {DestinationPort: [25, 1]}\ncondition: sel", {"DestinationPort": 25.0}, True),
    ("sel: {DestinationPort: [25, 1]}\ncondition: sel", {"DestinationPort": "25"}, True),
    ("sel: {DestinationPort: [25, 1]}\ncondition: sel", {"DestinationPort": True}, False),
    ("sel: {DestinationPort: [25, 1]}\ncondition: sel", {"DestinationPort": [3, 1]}, True),
    ("sel: {DestinationPort: [25, 1]}\ncondition: sel", {"DestinationPort": "025"}, False),
    # windash: - and / and the dashes
    (
        "sel: {CommandLine|windash|contains: ' -enc '}\ncondition: sel",
        {"CommandLine": "p /enc x"},
        True,
    ),
    (
        "sel: {CommandLine|windash|contains: ' -enc '}\ncondition: sel",
        {"CommandLine": "p \u2013enc x"},
        True,
    ),
    (
        "sel: {CommandLine|windash|contains: ' -enc '}\ncondition: sel",
        {"CommandLine": "p enc x"},
        False,
    ),
    # exists
    ("sel: {Signed|exists: true}\ncondition: sel", {"Signed": "false"}, True),
    ("sel: {Signed|exists: true}\ncondition: sel", {"Other": 1}, False),
    ("sel: {Signed|exists: false}\ncondition: sel", {"Other": 1}, True),
    # numbers: a number matches the number or its text; a string matches a number's text
    ("sel: {EventID: 4688}\ncondition: sel", {}, True),
    ("sel: {EventID: 4624}\ncondition: sel", {}, False),
    ("sel: {LogonType: 3}\ncondition: sel", {"LogonType": "3"}, True),
    ("sel: {LogonType: '3'}\ncondition: sel", {"LogonType": 3}, True),
    ("sel: {LogonType: 3}\ncondition: sel", {"LogonType": "03x"}, False),
    # gt / gte / lt / lte compare numbers (numeric text too), never strings
    ("sel: {Size|gt: 100}\ncondition: sel", {"Size": 101}, True),
    ("sel: {Size|gt: 100}\ncondition: sel", {"Size": 100}, False),
    ("sel: {Size|gte: 100}\ncondition: sel", {"Size": "100"}, True),
    ("sel: {Size|lt: 100}\ncondition: sel", {"Size": "99.5"}, True),
    ("sel: {Size|lte: 100}\ncondition: sel", {"Size": 101}, False),
    ("sel: {Size|gt: 100}\ncondition: sel", {"Size": "big"}, False),
    # null and empty
    ("sel: {ParentImage: null}\ncondition: sel", {"Image": "a"}, True),
    ("sel: {ParentImage: null}\ncondition: sel", {"ParentImage": ""}, False),
    ("sel: {ParentImage: ''}\ncondition: sel", {"ParentImage": ""}, True),
    ("sel: {ParentImage: ''}\ncondition: sel", {"Image": "a"}, False),
    # fieldref: the value of another field
    (
        "sel: {TargetUserName|fieldref: SubjectUserName}\ncondition: sel",
        {"TargetUserName": "Bob", "SubjectUserName": "bob"},
        True,
    ),
    (
        "sel: {TargetUserName|fieldref: SubjectUserName}\ncondition: sel",
        {"TargetUserName": "bob", "SubjectUserName": "alice"},
        False,
    ),
    # Conditions: not, and/or precedence, parentheses, 1 of / all of with wildcards and them.
    ("a: {Image: x}\nb: {User: y}\ncondition: a and not b", {"Image": "x", "User": "y"}, False),
    ("a: {Image: x}\nb: {User: y}\ncondition: a and not b", {"Image": "x", "User": "z"}, True),
    ("a: {Image: x}\nb: {User: y}\nc: {Z: z}\ncondition: a or b and c", {"Image": "x"}, True),
    ("a: {Image: x}\nb: {User: y}\nc: {Z: z}\ncondition: (a or b) and c", {"Image": "x"}, False),
    ("sel_a: {Image: x}\nsel_b: {User: y}\ncondition: 1 of sel_*", {"User": "y"}, True),
    ("sel_a: {Image: x}\nsel_b: {User: y}\ncondition: all of sel_*", {"User": "y"}, False),
    (
        "sel_a: {Image: x}\nsel_b: {User: y}\ncondition: all of them",
        {"Image": "x", "User": "y"},
        True,
    ),
    (
        "sel_a: {Image: x}\nf: {User: y}\ncondition: sel_a and not 1 of f*",
        {"Image": "x", "User": "y"},
        False,
    ),
    # Keywords: searched in every value of the event, case-insensitively.
    (
        "keywords: [mimikatz, 'sekurlsa::']\ncondition: keywords",
        {"CommandLine": "run SEKURLSA::logonpasswords"},
        True,
    ),
    ("keywords: [mimikatz]\ncondition: keywords", {"CommandLine": "nothing"}, False),
    # A list-valued field matches when an element does.
    ("sel: {Hashes|contains: 'MD5=ABC'}\ncondition: sel", {"Hashes": ["SHA1=1", "MD5=abc"]}, True),
    # Provider_Name is Event.System.Provider.Name; System fields resolve too.
    (
        "sel:\n  Provider_Name: Microsoft-Windows-Security-Auditing\n  Channel: Security\n"
        "condition: sel",
        {},
        True,
    ),
    # Security 4688 names answer the Sysmon taxonomy's (Image is NewProcessName).
    (
        "sel: {Image|endswith: '\\net.exe'}\ncondition: sel",
        {"NewProcessName": "C:\\W\\net.exe"},
        True,
    ),
]


@pytest.mark.parametrize(("detection", "data", "expected"), CASES)
def test_semantics(detection: str, data: dict, expected: bool) -> None:
    assert matches(detection, windows(**data)) is expected


def _b64(text: str, encoding: str = "utf-8") -> str:
    return base64.b64encode(text.encode(encoding)).decode()


def test_base64_matches_the_encoded_text_only() -> None:
    detection = "sel: {CommandLine|base64: 'IEX ('}\ncondition: sel"
    assert matches(detection, windows(CommandLine=_b64("IEX (")))
    assert not matches(detection, windows(CommandLine="IEX ("))


@pytest.mark.parametrize("prefix", ["", "a", "ab"])
def test_base64offset_finds_the_text_at_any_offset(prefix: str) -> None:
    detection = "sel: {CommandLine|base64offset|contains: 'http://'}\ncondition: sel"
    encoded = _b64(prefix + "http://evil.example/payload")
    assert matches(detection, windows(CommandLine=f"powershell -enc {encoded}"))
    assert not matches(detection, windows(CommandLine=_b64(prefix + "ftp://evil.example/x")))


def test_wide_and_utf16_encode_before_base64() -> None:
    wide = "sel: {CommandLine|wide|base64offset|contains: 'ping'}\ncondition: sel"
    assert matches(wide, windows(CommandLine=_b64("x ping y", "utf-16le")))
    assert not matches(wide, windows(CommandLine=_b64("x ping y")))
    be = "sel: {CommandLine|utf16be|base64: 'ab'}\ncondition: sel"
    assert matches(be, windows(CommandLine=_b64("ab", "utf-16-be")))
    bom = "sel: {CommandLine|utf16|base64: 'ab'}\ncondition: sel"
    assert matches(bom, windows(CommandLine=_b64("ab", "utf-16")))


def test_expand_resolves_placeholders_from_the_map() -> None:
    detection = "sel: {Computer|expand: '%domain_controllers%'}\ncondition: sel"
    event = windows()
    assert matches(detection, event, placeholders={"domain_controllers": ["ws-01.*", "dc-1"]})
    assert not matches(detection, event, placeholders={"domain_controllers": ["dc-1"]})


def test_unresolved_placeholder_refuses_the_rule_with_its_name() -> None:
    rules = ruleset("sel: {Computer|expand: '%dcs%'}\ncondition: sel")
    assert [r.reason for r in rules.refused] == ["unresolved placeholder: %dcs%"]
    assert rules.loaded == []


def test_unparseable_rule_is_refused_with_the_reason_and_others_load() -> None:
    rules = load_rules_text(
        {
            "good.yml": rule_yaml("sel: {Image: a}\ncondition: sel"),
            "bad.yml": rule_yaml("sel: {Image|nosuchmodifier: a}\ncondition: sel"),
            "broken.yml": "title: [unclosed\n",
            "timestamp.yml": rule_yaml("sel: {Time|hour: 3}\ncondition: sel"),
        }
    )
    assert [r.source for r in rules.loaded] == ["good.yml"]
    reasons = {r.source: r.reason for r in rules.refused}
    assert "nosuchmodifier" in reasons["bad.yml"]
    assert reasons["broken.yml"].startswith("parse error")
    assert reasons["timestamp.yml"] == "unsupported modifier: hour"


def test_match_names_the_rule() -> None:
    rules = load_rules_text(
        {
            "r.yml": rule_yaml(
                "sel: {Image: a}\ncondition: sel", rule_id="5f1a4c07-0000-4000-8000-000000000001"
            )
        }
    )
    [found] = compile_rules(rules).match(windows(Image="A"))
    assert found.rule_id == "5f1a4c07-0000-4000-8000-000000000001"
    assert (found.title, found.level, found.tags) == ("test rule", "high", ("attack.execution",))


def test_logsource_fields_the_rule_leaves_out_are_wildcards() -> None:
    def hits(logsource: str, event_source: dict) -> bool:
        rules = load_rules_text(
            {"r.yml": rule_yaml("sel: {Image: a}\ncondition: sel", logsource=logsource)}
        )
        event = windows(Image="a")
        event["_logsource"] = event_source
        return bool(compile_rules(rules).match(event))

    sysmon = {"product": "windows", "category": "process_creation", "service": "sysmon"}
    assert hits("product: windows", sysmon)
    assert hits("category: process_creation", sysmon)
    assert hits("{product: windows, category: process_creation}", sysmon)
    assert not hits("{product: windows, service: security}", sysmon)
    assert not hits("product: linux", sysmon)
    assert not hits("category: process_creation", {"product": "windows", "service": "security"})
    # registry_event covers the finer registry categories
    registry = {"product": "windows", "category": "registry_set", "service": "sysmon"}
    assert hits("category: registry_event", registry)


def test_prefilter_never_changes_the_result() -> None:
    rules = ruleset(
        "sel: {CommandLine|contains: [alpha, beta]}\ncondition: sel",
        "sel: {Image|endswith: '\\x.exe', CommandLine|contains: gamma}\ncondition: sel",
        "sel: {CommandLine|re: 'del.ta'}\ncondition: sel",
        "sel: {Image: x}\ncondition: not sel",
    )
    fast, plain = compile_rules(rules), compile_rules(rules, prefilter=False)
    for line in ("alpha", "gamma", "c:\\x.exe gamma", "delta", "x", "BETA"):
        for event in (windows(CommandLine=line, Image="c:\\x.exe"), windows(CommandLine=line)):
            assert fast.match(event) == plain.match(event)
