"""The Sigma detection engine (decision 0034), pure Python without Django.

    ruleset = load_rules("/path/to/rules", cache_dir=...)   # folder or zip; .loaded, .refused
    engine = compile_rules(ruleset)
    for match in engine.match(event): ...                  # Match(rule_id, title, level, tags)

Events are the normalised events of the issue-12 contract (:mod:`.fields` says how Sigma
field names are found in them); :func:`infer_logsource` tags an event that has no
``_logsource``.
"""

from tandem.detection.engine.fields import (
    ECS_FIELDS,
    SYSMON_CATEGORIES,
    WINDOWS_CHANNELS,
    infer_logsource,
    logsource_applies,
)
from tandem.detection.engine.matching import Engine, Match, compile_rules
from tandem.detection.engine.packs import load_rules, load_rules_text, read_rule_texts
from tandem.detection.engine.prefilter import event_text
from tandem.detection.engine.rules import (
    ENGINE_VERSION,
    CompiledCorrelation,
    CompiledRule,
    LogSource,
    Refusal,
    RulePack,
    RuleSet,
    missing_placeholders,
)

__all__ = [
    "ECS_FIELDS",
    "SYSMON_CATEGORIES",
    "WINDOWS_CHANNELS",
    "ENGINE_VERSION",
    "CompiledCorrelation",
    "CompiledRule",
    "Engine",
    "LogSource",
    "Match",
    "Refusal",
    "RulePack",
    "RuleSet",
    "compile_rules",
    "event_text",
    "infer_logsource",
    "load_rules",
    "load_rules_text",
    "logsource_applies",
    "missing_placeholders",
    "read_rule_texts",
]
