"""A plain Sigma evaluator, written to be obviously correct rather than fast: it walks
pySigma's parsed condition of one rule for one event, with no compiled form, no index and no
prefilter. The property tests compare the engine with it.

Field lookup is the engine's documented mapping (:func:`tandem.detection.engine.fields.resolve`),
which is the contract, not the matching being checked. Every value comparison is written here
again: a Sigma string becomes a regular expression (``*`` any run, ``?`` one character)
matched against the whole value, ignoring case unless ``|cased``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
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
    SpecialChars,
)

from tandem.detection.engine.fields import MISSING, leaves, logsource_applies, resolve
from tandem.detection.engine.rules import LogSource


def rule_matches(
    rule_yaml: str, event: dict[str, Any], placeholders: Mapping[str, Sequence[str]] = {}
) -> bool:
    rule = SigmaCollection.from_yaml(rule_yaml).rules[0]
    source = event.get("_logsource") or {}
    wanted = LogSource(rule.logsource.product, rule.logsource.category, rule.logsource.service)
    if not logsource_applies(wanted, LogSource(**source)):
        return False
    return any(
        evaluate(condition.parsed, event, placeholders)
        for condition in rule.detection.parsed_condition
    )


def evaluate(node: Any, event: dict[str, Any], placeholders: Mapping[str, Sequence[str]]) -> bool:
    if isinstance(node, ConditionAND):
        return all(evaluate(arg, event, placeholders) for arg in node.args)
    if isinstance(node, ConditionOR):
        return any(evaluate(arg, event, placeholders) for arg in node.args)
    if isinstance(node, ConditionNOT):
        return not evaluate(node.args[0], event, placeholders)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_matches(node.field, node.value, event, placeholders)
    if isinstance(node, ConditionValueExpression):
        return keyword_matches(node.value, event, placeholders)
    raise TypeError(node)


def text_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def string_regex(value: SigmaString, *, search: bool = False) -> re.Pattern[str]:
    pattern = ""
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            pattern += ".*"
        elif part is SpecialChars.WILDCARD_SINGLE:
            pattern += "."
        else:
            pattern += re.escape(part)
    if search:
        pattern = ".*" + pattern + ".*"
    flags = re.DOTALL if isinstance(value, SigmaCasedString) else re.DOTALL | re.IGNORECASE
    return re.compile(pattern, flags)


def expand(value: SigmaString, placeholders: Mapping[str, Sequence[str]]) -> list[SigmaString]:
    if not value.contains_placeholder():
        return [value]
    return list(
        value.replace_placeholders(lambda p: iter([SigmaString(v) for v in placeholders[p.name]]))
    )


def number_of(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def one_value_matches(
    sigma: Any, value: Any, event: dict[str, Any], placeholders: Mapping[str, Sequence[str]]
) -> bool:
    """Whether one event value (not a list) matches one Sigma value."""
    if isinstance(sigma, SigmaExpansion):
        return any(one_value_matches(v, value, event, placeholders) for v in sigma.values)
    if isinstance(sigma, SigmaString):
        text = text_of(value)
        return text is not None and any(
            string_regex(s).fullmatch(text) is not None for s in expand(sigma, placeholders)
        )
    if isinstance(sigma, SigmaNumber):
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return value == sigma.number
        return isinstance(value, str) and value == str(sigma.number)
    if isinstance(sigma, SigmaBool):
        return value is sigma.boolean or (
            isinstance(value, str) and value.lower() == str(sigma.boolean).lower()
        )
    if isinstance(sigma, SigmaCompareExpression):
        number = number_of(value)
        if number is None:
            return False
        bound = sigma.number.number
        return {
            CompareOperators.LT: number < bound,
            CompareOperators.LTE: number <= bound,
            CompareOperators.GT: number > bound,
            CompareOperators.GTE: number >= bound,
            CompareOperators.NEQ: number != bound,
        }[sigma.op]
    if isinstance(sigma, SigmaRegularExpression):
        text = text_of(value)
        flags = 0
        if SigmaRegularExpressionFlag.IGNORECASE in sigma.flags:
            flags |= re.IGNORECASE
        if SigmaRegularExpressionFlag.MULTILINE in sigma.flags:
            flags |= re.MULTILINE
        if SigmaRegularExpressionFlag.DOTALL in sigma.flags:
            flags |= re.DOTALL
        return text is not None and re.search(str(sigma.regexp), text, flags) is not None
    if isinstance(sigma, SigmaCIDRExpression):
        try:
            return isinstance(value, str) and ipaddress.ip_address(value) in ipaddress.ip_network(
                sigma.cidr, strict=False
            )
        except ValueError:
            return False
    if isinstance(sigma, SigmaFieldReference):
        text = text_of(value)
        other = resolve(event, sigma.field)
        others = other if isinstance(other, list) else [other]
        for item in others:
            ref = text_of(item)
            if text is None or ref is None:
                continue
            text_l, ref_l = text.lower(), ref.lower()
            if sigma.starts_with and sigma.ends_with:
                hit = ref_l in text_l
            elif sigma.starts_with:
                hit = text_l.startswith(ref_l)
            elif sigma.ends_with:
                hit = text_l.endswith(ref_l)
            else:
                hit = text_l == ref_l
            if hit:
                return True
        return False
    raise TypeError(sigma)


def field_matches(
    field: str, sigma: Any, event: dict[str, Any], placeholders: Mapping[str, Sequence[str]]
) -> bool:
    value = resolve(event, field)
    if isinstance(sigma, SigmaNull):
        return value is MISSING or value is None
    if isinstance(sigma, SigmaExists):
        present = value is not MISSING and value is not None
        return present == sigma.exists
    if value is MISSING or value is None:
        return False
    values = value if isinstance(value, list) else [value]
    return any(one_value_matches(sigma, v, event, placeholders) for v in values)


def keyword_matches(
    sigma: Any, event: dict[str, Any], placeholders: Mapping[str, Sequence[str]]
) -> bool:
    """A keyword is looked for inside every value of the event."""
    if isinstance(sigma, SigmaExpansion):
        return any(keyword_matches(v, event, placeholders) for v in sigma.values)
    for value in leaves(event):
        if isinstance(sigma, SigmaString):
            text = text_of(value)
            if text is not None and any(
                string_regex(s, search=True).fullmatch(text) for s in expand(sigma, placeholders)
            ):
                return True
        elif one_value_matches(sigma, value, event, placeholders):
            return True
    return False
