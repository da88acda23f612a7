"""``tandem detect``: alerts as JSON lines naming the event's line, a summary on stderr."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from tandem.cli import main as tandem
from tandem.detection.tests.support import rule_yaml, windows

WHOAMI = "5f1a4c07-0000-4000-8000-0000000000a1"
SSHD = "5f1a4c07-0000-4000-8000-0000000000a2"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "whoami.yml").write_text(
        rule_yaml(
            "sel: {Image|endswith: '\\whoami.exe'}\ncondition: sel",
            logsource="category: process_creation",
            rule_id=WHOAMI,
        )
    )
    (folder / "sshd.yml").write_text(
        rule_yaml(
            "keywords: ['error in libcrypto']\ncondition: keywords",
            logsource="{product: linux, service: sshd}",
            rule_id=SSHD,
        )
    )
    (folder / "broken.yml").write_text("title: [oops\n")
    return folder


def _events(tmp_path: Path, lines: list[str]) -> Path:
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(lines) + "\n")
    return file


def test_detect_writes_one_alert_per_line_and_a_summary(
    tmp_path: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sysmon = windows("Microsoft-Windows-Sysmon/Operational", 1, Image="C:\\W\\whoami.exe")
    del sysmon["_logsource"]  # inferred: Sysmon event 1 is process_creation
    sshd = {"message": "fatal: error in libcrypto", "log": {"syslog": {"appname": "sshd"}}}
    other = windows(Image="C:\\W\\notepad.exe")
    lines = [json.dumps(other), "{not json", json.dumps(sysmon), json.dumps(sshd)]
    code = tandem(
        [
            "detect",
            "--rules",
            str(rules),
            "--events",
            str(_events(tmp_path, lines)),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"rule_id": WHOAMI, "line": 2},
        {"rule_id": SSHD, "line": 3},
    ]
    assert "rules: 2 loaded, 1 refused (1 parse error)" in err
    assert "events: 3 (1 malformed lines skipped)" in err
    assert "alerts: 2" in err


def test_logsource_option_applies_to_events_without_one(
    tmp_path: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = {"Image": "C:\\W\\whoami.exe"}  # no Windows envelope: nothing to infer from
    events = _events(tmp_path, [json.dumps(bare)])
    archive = tmp_path / "rules.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in rules.iterdir():
            zf.write(file, file.name)
    base = ["detect", "--rules", str(archive), "--events", str(events), "--no-cache"]
    assert tandem(base) == 0
    assert capsys.readouterr().out == ""
    assert tandem([*base, "--logsource", "product=windows,category=process_creation"]) == 0
    assert json.loads(capsys.readouterr().out) == {"rule_id": WHOAMI, "line": 0}


def test_bad_arguments_are_one_clear_line(
    tmp_path: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _events(tmp_path, ["{}"])
    assert tandem(["detect", "--rules", str(tmp_path / "nope"), "--events", str(events)]) == 1
    assert "no rules at" in capsys.readouterr().err
    code = tandem(
        ["detect", "--rules", str(rules), "--events", str(events), "--logsource", "os=linux"]
    )
    assert code == 1
    assert "--logsource 'os=linux'" in capsys.readouterr().err


def test_show_source_prints_a_rules_generated_function(
    tmp_path: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = str(tmp_path / "cache")
    assert (
        tandem(["detect", "--rules", str(rules), "--cache-dir", cache, "--show-source", WHOAMI])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith(f"# whoami.yml ({WHOAMI})\ndef rule(view):")
    assert "lower1(view, 'Image')" in out and ".endswith('\\\\whoami.exe')" in out
    nope = ["detect", "--rules", str(rules), "--cache-dir", cache, "--show-source", "nope"]
    assert tandem(nope) == 1
    assert "no loaded rule has the id or file 'nope'" in capsys.readouterr().err


def test_detect_cleans_its_own_cache_folder_but_keeps_the_pack_it_loads(
    tmp_path: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    events = _events(tmp_path, [json.dumps(windows("Microsoft-Windows-Sysmon/Operational", 1))])
    base = ["detect", "--rules", str(rules), "--events", str(events), "--cache-dir", str(cache)]
    assert tandem(base) == 0
    [pack] = cache.glob("sigma-*.pickle")
    stale = cache / "sigma-0123456789abcdef0123456789abcdef.pickle"  # another pack's, long unused
    stale.write_bytes(b"old")
    month_ago = time.time() - 30 * 24 * 3600
    for file in (pack, stale):
        os.utime(file, (month_ago, month_ago))
    capsys.readouterr()
    assert tandem(base) == 0
    assert "from the cache" in capsys.readouterr().err  # read, then the folder cleaned
    assert pack.exists() and not stale.exists()
