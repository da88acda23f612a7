"""What the detection worker hands to alerts (issue 12's contract 3, decision 0037): a
:class:`Detection` is plain data (no Django, no engine types), one rule matching one event
of one tenant. ``tandem.alerts.services.record_detections`` takes a batch of them.

The pure preparation lives here too: the rule's level as a severity, ATT&CK tags split into
tactics and techniques, the host as compared, and the dedup key (rule × host × key fields).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

#: Sigma's levels, and what an unknown or missing level counts as (a rule without a level
#: still deserves a look; Sigma calls that the usual level).
LEVELS = ("informational", "low", "medium", "high", "critical")
DEFAULT_LEVEL = "medium"
#: Bounds on what one detection may carry (a rule id, a title, the host, key fields).
MAX_RULE_ID, MAX_TITLE, MAX_HOST, MAX_TAGS = 200, 300, 255, 50
MAX_KEY_FIELDS, MAX_KEY_VALUE = 10, 500

_TECHNIQUE = re.compile(r"^t\d{4}(\.\d{3})?$")
#: ``attack.g0016`` (groups), ``attack.s0002`` (software) are neither tactic nor technique.
_OTHER_ATTACK = re.compile(r"^[gsm]\d{4}$")


@dataclass(frozen=True, kw_only=True)
class Detection:
    """One rule matched one event.

    ``time`` is the event's time (an aware datetime, or ISO 8601; naive means UTC);
    ``event`` the normalised event (contract 1); ``key_fields`` the values that tell one
    occurrence of the rule on a host from another (``{"TargetUserName": "bob"}``): two
    detections dedup into one alert when rule, host and key fields are equal.
    """

    rule_id: str
    rule_title: str
    level: str
    tags: list[str] = field(default_factory=list)
    host: str = ""
    time: dt.datetime | str
    event: dict[str, Any] = field(default_factory=dict)
    key_fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_match(
        cls, match: Any, event: dict[str, Any], key_fields: dict[str, Any] | None = None
    ) -> Detection:
        """A detection from the engine's ``Match`` (``rule_id``, ``title``, ``level``,
        ``tags``) and the event it matched, whose reserved ``_host`` and ``_time`` keys
        (contract 1) give the host and the time."""
        return cls(
            rule_id=str(match.rule_id),
            rule_title=str(getattr(match, "title", "") or match.rule_id),
            level=str(getattr(match, "level", "") or ""),
            tags=list(getattr(match, "tags", ()) or ()),
            host=str(event.get("_host") or ""),
            time=event.get("_time") or dt.datetime.now(dt.UTC),
            event=event,
            key_fields=dict(key_fields or {}),
        )


@dataclass(frozen=True)
class Prepared:
    """A detection checked and put in the form alerts store and compare."""

    rule_id: str
    rule_title: str
    level: str
    severity: str
    tags: list[str]
    tactics: list[str]
    techniques: list[str]
    host: str
    at: dt.datetime
    event: dict[str, Any]
    key_fields: dict[str, str]
    dedup_key: str


def _text(value: Any) -> str:
    """Text as stored: without NUL characters, which PostgreSQL text refuses (a malformed
    log line may carry one)."""
    return str(value or "").replace("\x00", "")


def storable(value: Any) -> Any:
    """A JSON value the database keeps: NUL characters replaced, non-finite numbers
    (``NaN``, which Python's JSON reader accepts and PostgreSQL refuses) as text, keys as
    text, other objects as their text."""
    if isinstance(value, dict):
        return {_text(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def severity_of(level: str) -> str:
    """The alert's severity from the rule's level (Sigma's five; anything else: medium)."""
    level = (level or "").strip().lower()
    return level if level in LEVELS else DEFAULT_LEVEL


def split_attack_tags(tags: list[str]) -> tuple[list[str], list[str]]:
    """ATT&CK tactics (``attack.defense_evasion`` → ``defense-evasion``) and techniques
    (``attack.t1059.001`` → ``T1059.001``) among Sigma tags; other tags are left out."""
    tactics: list[str] = []
    techniques: list[str] = []
    for tag in tags:
        name = tag.strip().lower()
        if not name.startswith("attack."):
            continue
        value = name.removeprefix("attack.")
        if _TECHNIQUE.match(value):
            techniques.append(value.upper())
        elif value and not _OTHER_ATTACK.match(value):
            tactics.append(value.replace("_", "-"))
    return list(dict.fromkeys(tactics)), list(dict.fromkeys(techniques))


def host_of(host: str) -> str:
    """The host as alerts compare it: trimmed, lower case (host names are not case
    sensitive), at most 255 characters."""
    return _text(host).strip().lower()[:MAX_HOST]


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(storable(value), sort_keys=True)
    return _text(text)[:MAX_KEY_VALUE]


def key_fields_of(values: dict[str, Any]) -> dict[str, str]:
    """Key fields as compared: names trimmed, values as text (not JSON-typed: ``4625`` and
    ``"4625"`` are the same occurrence), sorted by name."""
    cleaned = {_text(name).strip()[:100]: _value(value) for name, value in values.items()}
    return {name: cleaned[name] for name in sorted(cleaned) if name}


def dedup_key(rule_id: str, host: str, key_fields: dict[str, str]) -> str:
    """The identity of "the same thing again": rule × host × key fields, hashed."""
    text = json.dumps([rule_id, host, key_fields], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def time_of(value: dt.datetime | str, now: dt.datetime) -> dt.datetime:
    """The event's time, aware and never after ``now`` (a clock ahead must not keep an
    alert collecting past its window). Raises ``ValueError`` for a time that is no time."""
    if isinstance(value, str):
        text = value.strip()
        at = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    elif isinstance(value, dt.datetime):
        at = value
    else:
        raise ValueError("time must be a datetime or ISO 8601 text")
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return min(at, now)


def prepare(detection: Detection, now: dt.datetime) -> Prepared:
    """Check one detection and put it in stored form. Raises ``ValueError`` with the reason
    for one that cannot make an alert (no rule id, a time that is no time, an event that is
    not an object)."""
    rule_id = _text(detection.rule_id).strip()
    if not rule_id:
        raise ValueError("a detection needs its rule id")
    if len(rule_id) > MAX_RULE_ID:
        raise ValueError(f"rule id longer than {MAX_RULE_ID} characters")
    if not isinstance(detection.event, dict):
        raise ValueError("the event must be a JSON object")
    if not isinstance(detection.key_fields, dict) or len(detection.key_fields) > MAX_KEY_FIELDS:
        raise ValueError(f"key fields must be an object of at most {MAX_KEY_FIELDS} fields")
    tags = [_text(tag)[:100] for tag in list(detection.tags or ())[:MAX_TAGS]]
    tactics, techniques = split_attack_tags(tags)
    host = host_of(detection.host)
    key_fields = key_fields_of(detection.key_fields)
    return Prepared(
        rule_id=rule_id,
        rule_title=(_text(detection.rule_title) or rule_id).strip()[:MAX_TITLE],
        level=_text(detection.level).strip().lower()[:20],
        severity=severity_of(detection.level),
        tags=tags,
        tactics=tactics,
        techniques=techniques,
        host=host,
        at=time_of(detection.time, now),
        event=detection.event,
        key_fields=key_fields,
        dedup_key=dedup_key(rule_id, host, key_fields),
    )
