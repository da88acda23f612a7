"""The whole community ruleset (``../shared/sigma``, 3,754 SigmaHQ rule files, present in CI):
every file loads or is listed with its reason, the cache gives back the same rules, and every
rule's generated function compiles."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tandem.detection.engine import compile_rules, load_rules
from tandem.detection.engine.codegen import compiled_predicate

ROOT = Path(__file__).resolve().parents[4]
SIGMA = Path(os.environ.get("TANDEM_SIGMA_RULES", ROOT.parent / "shared" / "sigma"))

pytestmark = pytest.mark.slow


def test_every_community_rule_file_loads_or_is_listed_with_its_reason(tmp_path: Path) -> None:
    if not SIGMA.is_dir():
        pytest.skip(f"the community ruleset is not at {SIGMA} (set TANDEM_SIGMA_RULES)")
    files = {
        p.relative_to(SIGMA).as_posix() for p in SIGMA.rglob("*") if p.suffix in (".yml", ".yaml")
    }
    rules = load_rules(SIGMA, cache_dir=tmp_path)
    accounted = {r.source for r in rules.loaded} | {r.source for r in rules.refused}
    assert accounted == files
    assert all(r.reason for r in rules.refused)
    # Nearly all evaluate: the refusals are the few rules whose placeholders nobody set.
    assert len(rules.loaded) >= 0.99 * len(files), Counter(r.kind for r in rules.refused)

    cached = load_rules(SIGMA, cache_dir=tmp_path)
    assert cached.from_cache and not rules.from_cache
    assert cached.loaded == rules.loaded and cached.refused == rules.refused
    assert cached.pack == rules.pack

    # Every rule's generated function compiles (the engine compiles each on its first use).
    for rule in cached.loaded:
        assert callable(compiled_predicate(rule.condition)), rule.source

    # A real attack shape meets the rules written for it.
    engine = compile_rules(cached)
    event = {
        "Event": {
            "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
            "EventData": {
                "Image": "C:\\Windows\\System32\\whoami.exe",
                "OriginalFileName": "whoami.exe",
                "CommandLine": "whoami /priv",
                "ParentImage": "C:\\Windows\\System32\\cmd.exe",
            },
        }
    }
    titles = {m.title for m in engine.match(event)}
    assert "Security Privileges Enumeration Via Whoami.EXE" in titles
