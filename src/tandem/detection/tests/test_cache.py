"""The detection cache cleans itself (decision 0034): files of old pack versions, engine
versions and placeholder maps, unused for long, go; the installed packs' stay; the folder
keeps under its bound; a removed file is compiled again with the same rules and alerts;
a process loading while another cleans is never broken."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tandem.cli import main as tandem
from tandem.core.principal import system_principal
from tandem.detection import cache, rulesets, services
from tandem.detection.engine import compile_rules, load_rules, packs, prefilter
from tandem.detection.engine.diskcache import (
    DAY,
    HYPERSCAN,
    PACK,
    CacheFile,
    Policy,
    cache_files,
    plan_cleanup,
    remove,
)
from tandem.detection.engine.packs import cache_name
from tandem.detection.packs import STARTER
from tandem.detection.tests.support import rule_yaml, windows

EVENT = windows(Image="C:\\Tools\\A.EXE")


def _pack(folder: Path, value: str = "a.exe") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "r.yml").write_text(rule_yaml(f"sel: {{Image|endswith: '{value}'}}\ncondition: sel"))
    return folder


def _age(folder: Path, days: float) -> None:
    """Every file of the folder last used ``days`` ago."""
    at = time.time() - days * DAY
    for file in folder.iterdir():
        os.utime(file, (at, at))


def _run(folder: Path, cache_dir: Path, event: dict[str, Any] = EVENT) -> list[str]:
    """Load the pack and match the event: the ids of the rules that fire."""
    engine = compile_rules(load_rules(folder, cache_dir=cache_dir))
    return [m.rule_id for m in engine.match(event)]


def test_old_versions_and_placeholder_maps_go_the_pack_in_use_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache_dir = _pack(tmp_path / "rules"), tmp_path / "cache"
    with monkeypatch.context() as patch:  # what an older engine left behind
        patch.setattr(packs, "ENGINE_VERSION", -1)
        load_rules(folder, cache_dir=cache_dir)
    load_rules(folder, cache_dir=cache_dir, placeholders={"admins": ["alice"]})  # a CLI run's
    assert _run(folder, cache_dir)  # the pack before its upgrade, with its Hyperscan database
    old = {f.name for f in cache_files(cache_dir)}
    kinds = [f.kind for f in cache_files(cache_dir)]
    assert kinds.count(PACK) == 3 and kinds.count(HYPERSCAN) >= 1

    _pack(folder, "b.exe")  # the upgrade
    upgraded = load_rules(folder, cache_dir=cache_dir)
    current = cache_name(upgraded.pack.content_hash)
    _age(cache_dir, 30)
    # The worker restarts after a month: it reads the pack and its database (touching them).
    assert _run(folder, cache_dir, windows(Image="C:\\B.EXE")) and _run(folder, cache_dir) == []
    in_use = {f.name for f in cache_files(cache_dir) if f.used > time.time() - 60}

    removed = remove(plan_cleanup(cache_files(cache_dir), time.time(), Policy(max_age=14 * DAY)))
    assert {r.file.name for r in removed} == old  # each unused for 30 days
    assert all(r.reason == "unused for 30 days" for r in removed)
    assert {f.name for f in cache_files(cache_dir)} == in_use and current in in_use
    with monkeypatch.context() as patch:  # the kept database is read, not compiled
        patch.setattr(prefilter.hyperscan, "Database", None)
        assert load_rules(folder, cache_dir=cache_dir).from_cache


def test_an_installed_pack_is_kept_however_long_unused(tmp_path: Path) -> None:
    folder, cache_dir = _pack(tmp_path / "rules"), tmp_path / "cache"
    pack = load_rules(folder, cache_dir=cache_dir).pack
    _age(cache_dir, 400)
    rules = Policy(max_age=14 * DAY, max_bytes=1, keep=frozenset([cache_name(pack.content_hash)]))
    plan = plan_cleanup(cache_files(cache_dir), time.time(), rules)
    assert plan == []  # over the bound too: the installed pack's file alone stays
    assert load_rules(folder, cache_dir=cache_dir).from_cache


def test_a_removed_file_is_compiled_again_with_the_same_rules_and_alerts(tmp_path: Path) -> None:
    folder, cache_dir = _pack(tmp_path / "rules"), tmp_path / "cache"
    first = load_rules(folder, cache_dir=cache_dir)
    alerts = _run(folder, cache_dir)
    assert alerts
    _age(cache_dir, 1)
    removed = remove(plan_cleanup(cache_files(cache_dir), time.time(), Policy(max_age=60)))
    assert len(removed) >= 2 and cache_files(cache_dir) == []
    again = load_rules(folder, cache_dir=cache_dir)
    assert not again.from_cache
    assert again.loaded == first.loaded and again.pack == first.pack
    assert _run(folder, cache_dir) == alerts
    assert {f.kind for f in cache_files(cache_dir)} == {PACK, HYPERSCAN}  # written back


def _file(folder: Path, name: str, size: int, hours_ago: float) -> CacheFile:
    path = folder / name
    path.write_bytes(b"x" * size)
    at = time.time() - hours_ago * 3600
    os.utime(path, (at, at))
    [found] = [f for f in cache_files(folder) if f.name == name]
    return found


def test_the_size_bound_removes_the_least_recently_used(tmp_path: Path) -> None:
    files = [_file(tmp_path, f"hyperscan-{n:02}.db", 100_000, hours_ago=n + 2) for n in range(10)]
    kept = _file(tmp_path, "sigma-installed.pickle", 300_000, hours_ago=500)
    fresh = _file(tmp_path, "sigma-just-written.pickle", 300_000, hours_ago=0.1)
    (tmp_path / "notes.txt").write_text("not the engine's")
    rules = Policy(max_age=365 * DAY, max_bytes=1_000_000, keep=frozenset([kept.name]))

    removed = remove(plan_cleanup(cache_files(tmp_path), time.time(), rules))
    # 1.6 MB: the six least recently used databases go (oldest first), nothing else.
    assert [r.file.name for r in removed] == [f.name for f in files[::-1][:6]]
    assert {r.reason for r in removed} == {"over the size bound"}
    left = cache_files(tmp_path)
    assert sum(f.size for f in left) <= 1_000_000
    assert {kept.name, fresh.name} <= {f.name for f in left}
    assert (tmp_path / "notes.txt").exists()


def test_unfinished_writes_go_a_write_in_progress_stays(tmp_path: Path) -> None:
    dead = _file(tmp_path, ".sigma-abc-x1y2.tmp", 10, hours_ago=3)
    writing = _file(tmp_path, ".hyperscan-abc-z3.tmp", 10, hours_ago=0)
    removed = remove(plan_cleanup(cache_files(tmp_path), time.time(), Policy(max_age=60)))
    assert [r.file.name for r in removed] == [dead.name]
    assert [f.name for f in cache_files(tmp_path)] == [writing.name]


def test_a_file_loaded_since_it_was_listed_is_not_removed(tmp_path: Path) -> None:
    folder, cache_dir = _pack(tmp_path / "rules"), tmp_path / "cache"
    load_rules(folder, cache_dir=cache_dir)
    _age(cache_dir, 30)
    plan = plan_cleanup(cache_files(cache_dir), time.time(), Policy(max_age=14 * DAY))
    assert len(plan) == 1
    time.sleep(0.01)
    assert load_rules(folder, cache_dir=cache_dir).from_cache  # another process loads it
    assert remove(plan) == []
    assert load_rules(folder, cache_dir=cache_dir).from_cache


def test_loading_while_another_thread_cleans_everything_always_works(tmp_path: Path) -> None:
    folder, cache_dir = _pack(tmp_path / "rules"), tmp_path / "cache"
    expected = _run(folder, cache_dir)
    errors: list[BaseException] = []
    results: list[list[str]] = []
    stop = threading.Event()

    def load() -> None:
        try:
            while not stop.is_set():
                results.append(_run(folder, cache_dir))
        except BaseException as exc:  # noqa: BLE001 - any failure is the test's finding
            errors.append(exc)

    loader = threading.Thread(target=load)
    loader.start()
    removed = 0
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not errors:
            # Everything is removable (no age, no keep): the worst a cleaning can do.
            plan = plan_cleanup(cache_files(cache_dir), time.time() + 60, Policy(max_age=0))
            removed += len(remove(plan))
    finally:
        stop.set()
        loader.join()
    assert errors == []
    assert removed and len(results) > 3
    assert all(found == expected for found in results)


@pytest.mark.django_db
def test_the_daily_job_keeps_the_installed_packs_and_the_command_shows_the_folder(
    tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    settings.DETECTION_CACHE_DIR = tmp_path / "cache"
    cache_dir = settings.DETECTION_CACHE_DIR
    with monkeypatch.context() as patch:  # a pack compiled by the engine before
        patch.setattr(packs, "ENGINE_VERSION", -1)
        load_rules(STARTER, cache_dir=cache_dir)
    installed = rulesets.InstalledRules.load([("starter", STARTER)])
    services.sync_installed_packs(
        actor=system_principal("test: the worker records its packs"),
        rulesets=installed.rulesets,
    )
    current = cache_name(installed.rulesets[0].pack.content_hash)
    assert cache.in_use() == {current}
    _age(cache_dir, 30)

    assert tandem(["detect-cache", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and all("MB" in line and "pack" in line for line in listed)
    assert [line for line in listed if "in use" in line] == [
        next(line for line in listed if current in line)
    ]

    assert tandem(["detect-cache", "clean", "--dry-run"]) == 0
    assert "would remove sigma-" in capsys.readouterr().out
    assert len(cache_files(cache_dir)) == 2

    assert cache.clean_cache_task.func() == 1
    assert [f.name for f in cache_files(cache_dir)] == [current]
    assert rulesets.InstalledRules.load([("starter", STARTER)]).rulesets[0].from_cache


def test_a_cache_that_cannot_be_written_does_not_stop_loading(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "rules")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    expected = _run(folder, tmp_path / "cache")
    # The folder cannot be made: the rules load and match all the same, from the YAML.
    assert _run(folder, blocked / "cache") == expected
    assert not load_rules(folder, cache_dir=blocked / "cache").from_cache
