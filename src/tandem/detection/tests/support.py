"""Helpers for the engine's tests: rules written for them, events in the contract's shapes."""

from __future__ import annotations

import textwrap
from typing import Any

from tandem.detection.engine import RuleSet, compile_rules, load_rules_text


def rule_yaml(detection: str, *, logsource: str = "product: windows", rule_id: str = "") -> str:
    """A whole rule around a ``detection:`` body (indented YAML, without the key)."""
    body = textwrap.indent(textwrap.dedent(detection).strip(), "    ")
    ident = f"id: {rule_id}\n" if rule_id else ""
    return (
        f"title: test rule\n{ident}status: test\nlevel: high\n"
        f"tags: [attack.execution]\nlogsource:\n    {logsource}\n"
        f"detection:\n{body}\n"
    )


def ruleset(*detections: str, placeholders: dict[str, list[str]] | None = None) -> RuleSet:
    return load_rules_text(
        {f"r{i}.yml": rule_yaml(d) for i, d in enumerate(detections)}, placeholders=placeholders
    )


def matches(detection: str, event: dict[str, Any], **kwargs: Any) -> bool:
    """Whether the one rule made of ``detection`` matches ``event`` (the rule must load)."""
    rules = ruleset(detection, **kwargs)
    assert not rules.refused, rules.refused
    return bool(compile_rules(rules).match(event))


def windows(channel: str = "Security", event_id: int = 4688, **data: Any) -> dict[str, Any]:
    return {
        "Event": {
            "System": {
                "EventID": event_id,
                "Channel": channel,
                "Computer": "ws-01.corp.example",
                "Provider": {"Name": "Microsoft-Windows-Security-Auditing"},
            },
            "EventData": data,
        },
        "_logsource": {"product": "windows", "category": None, "service": "security"},
        "_host": "ws-01",
        "_time": "2030-01-01T00:00:00Z",
    }
