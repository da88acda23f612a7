"""Each tenant's rules, for the detection worker (decision 0044).

The installed packs are compiled once per worker into **one shared engine**
(:class:`InstalledRules`); a tenant's view of them (:class:`TenantMatcher`) is a fork of it
(its own correlation state, decision 0041) whose matches of disabled rules and packs are
dropped, plus, when the tenant has custom rules, a small engine of its own for them. The
engine itself stays pure: this module only composes its public API (``load_rules``,
``load_rules_text``, ``compile_rules``, ``Engine.fork``, ``Engine.match``).

:class:`TenantRules` keeps one matcher per tenant and asks the database one question per
batch, the tenant's ``rules_version``; only when it moved does it read the tenant's
choices and compile its custom rules again (a change takes effect on the next batch,
without restarting the worker). The shared fork is kept across rebuilds, so a change of
custom rules does not forget the built-in correlations' counts.

**Placeholders** (decision 0051): an installed rule refused only because placeholders it
expands (``%known_cdcs%``) have no value is kept as text (:class:`WaitingRule`); a tenant
whose placeholder lists give each of them values gets it compiled with those values into
its small engine, beside its custom rules. Rules refused for any other reason stay out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from tandem.detection import queries
from tandem.detection.engine import (
    Engine,
    Match,
    RulePack,
    RuleSet,
    compile_rules,
    infer_logsource,
    load_rules,
    load_rules_text,
    read_rule_texts,
)
from tandem.detection.packs import STARTER

log = logging.getLogger(__name__)


def pack_paths(community: Path | None = None) -> list[tuple[str, Path]]:
    """The packs the worker runs, (name, path): the starter pack, then the community set of
    ``TANDEM_DETECTION_RULES`` (or ``community``, the command's ``--rules``)."""
    found = [("starter", STARTER)]
    path = community or (
        Path(settings.DETECTION_RULES).expanduser() if settings.DETECTION_RULES else None
    )
    if path is not None:
        if not path.exists():
            raise FileNotFoundError(f"no detection rules at {path} (TANDEM_DETECTION_RULES)")
        if path.resolve() != STARTER.resolve():
            found.append((path.stem, path))
    return found


@dataclass(frozen=True)
class WaitingRule:
    """An installed rule refused only for placeholders without a value: its pack, the
    text of its file and the placeholders it expands."""

    rule_id: str
    pack_name: str
    source: str
    text: str
    placeholders: frozenset[str]


@dataclass
class InstalledRules:
    """The installed packs, loaded, and one engine compiled over all of them."""

    rulesets: list[RuleSet]
    engine: Engine
    #: pack name → the ids of its rules (single-event and correlations), including those
    #: waiting for placeholder values (turning the pack off turns them off too).
    rule_ids: dict[str, frozenset[str]] = field(default_factory=dict)
    #: rule id → the installed rules waiting for placeholder values.
    waiting: dict[str, WaitingRule] = field(default_factory=dict)

    @classmethod
    def load(
        cls, packs: Sequence[tuple[str, Path]] | None = None, *, cache_dir: Path | None = None
    ) -> InstalledRules:
        """Read every pack (from the compiled cache when it holds it) and compile one
        engine over them all. Refused rules are logged with the reason."""
        rulesets = []
        waiting: list[WaitingRule] = []
        for name, path in packs if packs is not None else pack_paths():
            ruleset = load_rules(
                path, name=name, cache_dir=cache_dir or settings.DETECTION_CACHE_DIR
            )
            for refusal in ruleset.refused:
                log.warning("detection rule refused: %s: %s", refusal.source, refusal.reason)
            log.info(
                "detection rules: pack %s %s: %d loaded, %d refused, %s in %.2f s",
                ruleset.pack.name,
                ruleset.pack.version,
                len(ruleset.loaded) + len(ruleset.correlations),
                len(ruleset.refused),
                "from the cache" if ruleset.from_cache else "parsed",
                ruleset.seconds,
            )
            rulesets.append(ruleset)
            waiting.extend(waiting_rules(ruleset, path))
        return cls.from_rulesets(rulesets, waiting)

    @classmethod
    def from_rulesets(
        cls, rulesets: Sequence[RuleSet], waiting: Sequence[WaitingRule] = ()
    ) -> InstalledRules:
        merged = RuleSet(pack=RulePack(name="installed", version="", content_hash=""))
        # The engine keeps its Hyperscan databases beside the packs' compiled form.
        merged.cache_dir = next((r.cache_dir for r in rulesets if r.cache_dir), None)
        rule_ids: dict[str, frozenset[str]] = {}
        for ruleset in rulesets:
            merged.loaded.extend(ruleset.loaded)
            merged.correlations.extend(ruleset.correlations)
            rule_ids[ruleset.pack.name] = frozenset(
                [r.rule_id for r in ruleset.loaded]
                + [c.rule_id for c in ruleset.correlations]
                + [w.rule_id for w in waiting if w.pack_name == ruleset.pack.name]
            )
        return cls(list(rulesets), compile_rules(merged), rule_ids, {w.rule_id: w for w in waiting})


def waiting_rules(ruleset: RuleSet, path: Path) -> list[WaitingRule]:
    """The pack's rules refused only for placeholders without a value, with their text
    (read from the pack: the compiled cache keeps no YAML)."""
    refused = [r for r in ruleset.refused if r.placeholders and r.rule_id]
    texts = read_rule_texts(path, {r.source for r in refused})
    return [
        WaitingRule(
            rule_id=r.rule_id,
            pack_name=ruleset.pack.name,
            source=r.source,
            text=texts[r.source],
            placeholders=frozenset(r.placeholders),
        )
        for r in refused
        if r.rule_id is not None and r.source in texts
    ]


@dataclass
class TenantMatcher:
    """One tenant's rules: the shared engine's fork less what the tenant turned off, plus
    its custom rules and the installed rules its placeholder values complete (their
    matches are filtered by what the tenant turned off too). ``match`` answers like
    ``Engine.match``."""

    version: int
    shared: Engine | None
    disabled: frozenset[str] = frozenset()
    custom: Engine | None = None

    def match(self, event: dict[str, Any]) -> list[Match]:
        if self.custom is None:
            found = self.shared.match(event) if self.shared is not None else []
        else:
            # Two engines: the event's log source is worked out once for both.
            source = infer_logsource(event)
            found = self.shared.match(event, source) if self.shared is not None else []
        if self.custom is not None:
            found.extend(self.custom.match(event, source))
        if self.disabled and found:
            found = [m for m in found if m.rule_id not in self.disabled]
        return found


class TenantRules:
    """The worker's hook (``DetectionWorker(rules=...)``): each tenant's matcher, rebuilt
    when the tenant's rules version moves."""

    def __init__(self, installed: InstalledRules) -> None:
        self.installed = installed
        self._matchers: dict[int, TenantMatcher] = {}
        self._forks: dict[int, Engine] = {}

    def for_tenant(self, tenant_id: int) -> TenantMatcher:
        version = queries.rules_version(tenant_id)
        found = self._matchers.get(tenant_id)
        if found is not None and found.version == version:
            return found
        found = self._matchers[tenant_id] = self._build(tenant_id, version)
        return found

    def _build(self, tenant_id: int, version: int) -> TenantMatcher:
        choices = queries.tenant_choices(tenant_id)
        disabled = set(choices.disabled_rules)
        packs_on = [n for n in self.installed.rule_ids if n not in choices.disabled_packs]
        for name in choices.disabled_packs:
            disabled |= self.installed.rule_ids.get(name, frozenset())
        shared = None
        if packs_on:
            shared = self._forks.get(tenant_id)
            if shared is None:
                shared = self._forks[tenant_id] = self.installed.engine.fork()
        completed = [
            w
            for w in self.installed.waiting.values()
            if w.placeholders <= choices.placeholders.keys() and w.rule_id not in disabled
        ]
        custom = compile_custom(choices.custom_sources, completed, choices.placeholders)
        log.info(
            "tenant %s rules version %s: %d packs on, %d rules off, %d custom, "
            "%d completed by its %d placeholder lists",
            tenant_id,
            version,
            len(packs_on),
            len(disabled),
            len(choices.custom_sources),
            len(completed),
            len(choices.placeholders),
        )
        return TenantMatcher(version, shared, frozenset(disabled), custom)


def compile_custom(
    sources: Mapping[str, str],
    completed: Sequence[WaitingRule] = (),
    placeholders: Mapping[str, Sequence[str]] | None = None,
) -> Engine | None:
    """The engine of a tenant's custom rules (rule id → YAML) and of the installed rules
    its placeholder values complete, compiled with those values; None when there are none.
    A rule that still does not compile (refused for another reason once its placeholders
    are filled, or a stored custom rule a newer engine refuses) is logged and left out."""
    if not sources and not completed:
        return None
    texts = {f"custom/{rule_id}.yml": text for rule_id, text in sources.items()}
    texts.update({f"pack/{w.pack_name}/{w.source}": w.text for w in completed})
    ruleset = load_rules_text(texts, placeholders=placeholders)
    for refusal in ruleset.refused:
        if refusal.source.startswith("custom/") or refusal.rule_id in {
            w.rule_id for w in completed
        }:
            log.warning("tenant rule refused: %s: %s", refusal.source, refusal.reason)
    # A pack file may hold other rules than the waiting one: those run in the shared engine.
    wanted = {w.rule_id for w in completed}
    ruleset.loaded = [
        r for r in ruleset.loaded if r.source.startswith("custom/") or r.rule_id in wanted
    ]
    ruleset.correlations = [c for c in ruleset.correlations if c.source.startswith("custom/")]
    if not ruleset.loaded and not ruleset.correlations:
        return None
    return compile_rules(ruleset)
