"""``tandem bench detect`` (decision 0034): the figures it prints come from the events it
generated, and its steady pass (new events through the warmed engine) misses nothing a
fresh engine finds."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from tandem.bench import detect as bench
from tandem.detection.engine import compile_rules, infer_logsource, load_rules
from tandem.detection.tests.support import rule_yaml


def _rules(folder: Path) -> Path:
    folder.mkdir()
    (folder / "whoami.yml").write_text(
        rule_yaml(
            "sel: {Image|endswith: '\\whoami.exe'}\ncondition: sel",
            logsource="category: process_creation",
            rule_id="5f1a4c07-0000-4000-8000-0000000000b1",
        )
    )
    (folder / "sshd.yml").write_text(
        rule_yaml(
            "keywords: ['Failed password for invalid user']\ncondition: keywords",
            logsource="{product: linux, service: sshd}",
            rule_id="5f1a4c07-0000-4000-8000-0000000000b2",
        )
    )
    return folder


def _alerts_of_a_fresh_engine(rules: Path, events: int, seed: int, tmp_path: Path) -> int:
    file = tmp_path / "fresh.jsonl"
    bench.write_events(file, events, seed)
    engine = compile_rules(load_rules(rules))
    found = 0
    for line in file.read_bytes().splitlines():
        event = orjson.loads(line)
        found += len(engine.match(event, infer_logsource(event)))
    return found


def test_the_bench_reports_the_first_and_the_steady_pass(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules")
    result = bench.run(rules=rules, events=3000, seed=7)
    assert result["rules_loaded"] == 2 and result["events"] == 3000
    assert result["alerts"] == _alerts_of_a_fresh_engine(rules, 3000, 7, tmp_path) > 0
    steady = result["steady"]
    assert steady["events"] == 3000 and steady["seed"] == 8
    assert steady["alerts"] == _alerts_of_a_fresh_engine(rules, 3000, 8, tmp_path) > 0
    assert steady["cpu_us_per_event"] > 0
    assert json.loads(bench.report(result, as_json=True))["steady"] == steady
    text = bench.report(result, as_json=False)
    assert "the next 3,000 events (steady)" in text
