"""Rule packs: Sigma YAML files from a folder or a zip, read through pySigma, compiled, and
cached on disk.

A pack is a name (the folder's or zip's name unless given), a version (the ``VERSION`` file at
its root, else the first 12 hex digits of the content hash) and a content hash (SHA-256 over
every rule file's path and bytes, in path order). The compiled form is cached under
``cache_dir`` keyed by the content hash, :data:`.rules.ENGINE_VERSION` and the placeholder
map, so a restart with an unchanged pack reads one pickle instead of parsing YAML. The cache
is the server's own data (never a file from elsewhere: pickle runs code when loaded).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from tandem.detection.engine.compiler import (
    Unsupported,
    compile_correlation,
    compile_rule,
    rule_identity,
)
from tandem.detection.engine.diskcache import touch, write_atomically
from tandem.detection.engine.rules import ENGINE_VERSION, Refusal, RulePack, RuleSet

RULE_SUFFIXES = (".yml", ".yaml")


def _read_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(relative path, content) of every rule file, in path order."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file() and file.suffix.lower() in RULE_SUFFIXES:
                yield file.relative_to(path).as_posix(), file.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                if not name.endswith("/") and name.lower().endswith(RULE_SUFFIXES):
                    yield name, archive.read(name)
    else:
        raise FileNotFoundError(f"{path} is neither a folder nor a zip of Sigma rules")


def read_rule_texts(path: str | Path, sources: Iterable[str]) -> dict[str, str]:
    """The text of some rule files of a pack (their paths as ``Refusal.source`` gives
    them), e.g. the rules refused only for a missing placeholder, which are compiled again
    per tenant with its values (decision 0051). A file no longer there is left out."""
    path = Path(path)
    wanted = set(sources)
    found: dict[str, str] = {}
    if path.is_dir():
        root = path.resolve()
        for source in sorted(wanted):
            file = (path / source).resolve()
            if file.is_relative_to(root) and file.is_file():
                found[source] = file.read_text(encoding="utf-8", errors="replace")
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(wanted & set(archive.namelist())):
                found[name] = archive.read(name).decode("utf-8", errors="replace")
    return found


def _version_file(path: Path) -> str | None:
    if path.is_dir():
        file = path / "VERSION"
        return file.read_text(encoding="utf-8").strip() if file.is_file() else None
    with zipfile.ZipFile(path) as archive:
        if "VERSION" in archive.namelist():
            return archive.read("VERSION").decode("utf-8").strip()
    return None


def content_hash(files: Sequence[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def cache_name(content_hash: str, placeholders: Mapping[str, Sequence[str]] | None = None) -> str:
    """The file name of a pack's compiled form in the cache folder: its content hash,
    :data:`.rules.ENGINE_VERSION` and the placeholder map (the cleaning keeps the names of
    the installed packs, decision 0034)."""
    extra = json.dumps(sorted((k, list(v)) for k, v in (placeholders or {}).items()))
    digest = hashlib.sha256(f"{content_hash}|{ENGINE_VERSION}|{extra}".encode())
    return f"sigma-{digest.hexdigest()[:32]}.pickle"


def load_rules(
    path: str | Path,
    *,
    name: str | None = None,
    version: str | None = None,
    placeholders: Mapping[str, Sequence[str]] | None = None,
    cache_dir: str | Path | None = None,
) -> RuleSet:
    """Every Sigma rule in a folder or zip, compiled; those that cannot be evaluated are in
    ``refused`` with the reason. ``placeholders``: values for ``|expand``'s ``%name%``
    (unresolved ones refuse the rule). ``cache_dir``: where compiled packs are kept."""
    started = time.perf_counter()
    path = Path(path)
    files = list(_read_files(path))
    digest = content_hash(files)
    pack = RulePack(
        name=name or path.stem,
        version=version or _version_file(path) or digest[:12],
        content_hash=digest,
    )
    placeholders = dict(placeholders or {})
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / cache_name(pack.content_hash, placeholders)
        cached = _read_cache(cache_file)
        if cached is not None:
            touch(cache_file)  # its last use, which the cache's cleaning reads
            cached.pack = pack
            cached.cache_dir = str(cache_dir)
            cached.from_cache = True
            cached.seconds = time.perf_counter() - started
            return cached
    ruleset = compile_files(files, pack=pack, placeholders=placeholders)
    if cache_file is not None:
        _write_cache(cache_file, ruleset)
        ruleset.cache_dir = str(cache_dir)  # after writing: the folder is not the pack's
    ruleset.seconds = time.perf_counter() - started
    return ruleset


def load_rules_text(
    texts: Mapping[str, str], *, placeholders: Mapping[str, Sequence[str]] | None = None
) -> RuleSet:
    """Rules given as text (file name → YAML), e.g. a custom rule being uploaded."""
    files = sorted((name, text.encode()) for name, text in texts.items())
    pack = RulePack(name="inline", version="0", content_hash=content_hash(files))
    return compile_files(files, pack=pack, placeholders=dict(placeholders or {}))


def compile_files(
    files: Sequence[tuple[str, bytes]],
    *,
    pack: RulePack,
    placeholders: Mapping[str, Sequence[str]],
) -> RuleSet:
    ruleset = RuleSet(pack=pack)
    correlations: list[tuple[str, int, SigmaCorrelationRule]] = []
    ids_by_name: dict[str, str] = {}
    for source, data in files:
        try:
            collection = SigmaCollection.from_yaml(
                data.decode("utf-8"), collect_errors=True, resolve_references=False
            )
        except (SigmaError, yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
            ruleset.refused.append(Refusal(source, f"parse error: {_first_line(exc)}"))
            continue
        for error in collection.errors:
            ruleset.refused.append(Refusal(source, f"parse error: {_first_line(error)}"))
        for index, rule in enumerate(collection.rules):
            if isinstance(rule, SigmaCorrelationRule):
                correlations.append((source, index, rule))
                continue
            if not isinstance(rule, SigmaRule):
                ruleset.refused.append(
                    Refusal(source, f"unsupported rule type: {type(rule).__name__}")
                )
                continue
            try:
                compiled = compile_rule(rule, source=source, index=index, placeholders=placeholders)
            except Unsupported as exc:
                ruleset.refused.append(
                    Refusal(source, str(exc), rule_identity(rule, source, index), rule.title)
                )
                continue
            except (SigmaError, ValueError) as exc:
                ruleset.refused.append(
                    Refusal(
                        source,
                        f"parse error: {_first_line(exc)}",
                        rule_identity(rule, source, index),
                        rule.title,
                    )
                )
                continue
            ruleset.loaded.append(compiled)
            ids_by_name[compiled.rule_id] = compiled.rule_id
            if compiled.name:
                ids_by_name[compiled.name] = compiled.rule_id
    for source, index, rule in correlations:
        try:
            ruleset.correlations.append(
                compile_correlation(rule, source=source, index=index, ids_by_name=ids_by_name)
            )
        except (Unsupported, SigmaError, ValueError) as exc:
            ruleset.refused.append(
                Refusal(source, str(exc), rule_identity(rule, source, index), rule.title)
            )
    return ruleset


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_cache(file: Path) -> RuleSet | None:
    try:
        with file.open("rb") as handle:
            found = pickle.load(handle)  # noqa: S301 - our own cache in our data directory
    except Exception:  # a damaged cache is rebuilt, whatever unpickling raises
        return None
    return found if isinstance(found, RuleSet) else None


def _write_cache(file: Path, ruleset: RuleSet) -> None:
    """Atomically: a reader sees the old file, the whole new one, or none."""
    write_atomically(file, pickle.dumps(ruleset, protocol=pickle.HIGHEST_PROTOCOL))
