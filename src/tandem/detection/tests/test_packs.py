"""Rule packs: name, version and content hash; the compiled cache and what invalidates it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tandem.detection.engine import compile_rules, load_rules, prefilter
from tandem.detection.tests.support import rule_yaml, windows


def _pack(folder: Path, value: str = "a.exe") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "r.yml").write_text(
        rule_yaml(f"sel: {{Image|endswith: '{value}'}}\ncondition: sel")
    )
    (folder / "README.md").write_text("not a rule")
    return folder


def test_a_restart_reads_the_cache_and_a_change_recompiles(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "corp-rules")
    cache = tmp_path / "cache"
    first = load_rules(folder, cache_dir=cache)
    again = load_rules(folder, cache_dir=cache)
    assert (first.from_cache, again.from_cache) == (False, True)
    assert again.loaded == first.loaded and again.pack == first.pack
    assert first.pack.name == "corp-rules" and first.pack.version == first.pack.content_hash[:12]
    assert compile_rules(again).match(windows(Image="C:\\A.EXE"))

    _pack(folder, "b.exe")  # the rule changed: another hash, parsed again
    changed = load_rules(folder, cache_dir=cache)
    assert not changed.from_cache and changed.pack.content_hash != first.pack.content_hash
    assert not compile_rules(changed).match(windows(Image="C:\\A.EXE"))
    assert compile_rules(changed).match(windows(Image="C:\\B.EXE"))

    # Other placeholder values are another compiled pack too.
    assert not load_rules(folder, cache_dir=cache, placeholders={"x": ["y"]}).from_cache


def test_version_file_names_the_version_and_a_broken_cache_is_rebuilt(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "rules")
    (folder / "VERSION").write_text("2030.1\n")
    cache = tmp_path / "cache"
    assert load_rules(folder, cache_dir=cache).pack.version == "2030.1"
    for file in cache.iterdir():
        file.write_bytes(b"garbage")
    rebuilt = load_rules(folder, cache_dir=cache)
    assert not rebuilt.from_cache and len(rebuilt.loaded) == 1
    assert load_rules(folder, cache_dir=cache).from_cache


def test_the_prefilter_databases_are_kept_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine keeps each log source's Hyperscan database beside the compiled pack: a
    restart reads it instead of compiling; a damaged one is compiled again."""
    folder = _pack(tmp_path / "rules")
    cache = tmp_path / "cache"
    event = windows(Image="C:\\A.EXE")
    assert compile_rules(load_rules(folder, cache_dir=cache)).match(event)
    kept = sorted(cache.glob("hyperscan-*.db"))
    assert kept

    with monkeypatch.context() as patch:
        patch.setattr(prefilter.hyperscan, "Database", None)  # compiling would fail
        assert compile_rules(load_rules(folder, cache_dir=cache)).match(event)

    for file in kept:
        file.write_bytes(b"garbage")
    assert compile_rules(load_rules(folder, cache_dir=cache)).match(event)
    assert all(file.read_bytes() != b"garbage" for file in kept)
