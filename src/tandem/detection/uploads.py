"""Checking custom rules before they are stored (decision 0044): pure, no Django.

An upload is one or more files: Sigma YAML (one rule, or several YAML documents separated
by ``---``) or a zip of such files. Every document is compiled by the engine's own loader
and compiler (:func:`tandem.detection.engine.load_rules_text`, the path the packs take),
together with the tenant's stored custom rules so that a correlation may name them. The
upload is all or nothing: any file with a problem refuses the whole upload, and the
answer names each problem per file.

Each accepted document becomes one stored rule with its own YAML text, so a rule can be
edited, turned off and deleted on its own. Sigma's ``action: global`` collections span
documents and so cannot be split this way: they are refused with that reason.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tandem.detection.engine import CompiledCorrelation, CompiledRule, load_rules_text

RULE_SUFFIXES = (".yml", ".yaml")
#: Bounds on one upload: files in a zip, bytes of one rule document, bytes in all.
MAX_FILES = 200
MAX_DOCUMENT_BYTES = 64_000
MAX_UPLOAD_BYTES = 2_000_000

_DOCUMENT_START = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)
_STORED = "stored/"


@dataclass(frozen=True)
class AcceptedRule:
    """One rule of an upload that compiled: its id, what people see, and its YAML."""

    rule_id: str
    title: str
    level: str
    logsource: str
    is_correlation: bool
    source: str
    file_name: str


@dataclass
class Checked:
    """What an upload came to: the rules it holds, or the problems (file → reasons)."""

    accepted: list[AcceptedRule] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, file_name: str, reason: str) -> None:
        self.problems.setdefault(file_name or "upload", []).append(reason)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.accepted)


def expand(files: Mapping[str, bytes], checked: Checked) -> dict[str, str]:
    """The rule files of an upload as text (file name → YAML); zips are opened. Problems
    (not UTF-8, too large, a zip with nothing in it) go to ``checked``."""
    texts: dict[str, str] = {}
    total = 0
    for name, data in files.items():
        members: list[tuple[str, bytes]]
        if data[:4] == b"PK\x03\x04":
            try:
                members = _zip_members(name, data, checked)
            except zipfile.BadZipFile:
                checked.refuse(name, "not a readable zip file")
                continue
        else:
            members = [(name, data)]
        for member, content in members:
            total += len(content)
            if total > MAX_UPLOAD_BYTES:
                checked.refuse(member, f"the upload is larger than {MAX_UPLOAD_BYTES:,} bytes")
                return texts
            try:
                texts[member] = content.decode("utf-8")
            except UnicodeDecodeError:
                checked.refuse(member, "not UTF-8 text")
    if len(texts) > MAX_FILES:
        checked.refuse("upload", f"more than {MAX_FILES} rule files")
    return texts


def _zip_members(name: str, data: bytes, checked: Checked) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir() and i.filename.lower().endswith(RULE_SUFFIXES)
        ]
        if not infos:
            checked.refuse(name, "the zip holds no .yml or .yaml file")
        if sum(i.file_size for i in infos) > MAX_UPLOAD_BYTES:
            # Told by the zip's own directory, before anything is inflated.
            checked.refuse(name, f"the zip unpacks to more than {MAX_UPLOAD_BYTES:,} bytes")
            return []
        for info in sorted(infos, key=lambda i: i.filename)[: MAX_FILES + 1]:
            found.append((f"{name}:{info.filename}", archive.read(info)))
    return found


def documents(text: str) -> list[str]:
    """The YAML documents of a file, each as its own text (empty ones left out)."""
    parts = _DOCUMENT_START.split(text)
    return [part.strip("\n") + "\n" for part in parts if part.strip()]


def _logsource(rule: CompiledRule) -> str:
    source = rule.logsource
    return "/".join(p for p in (source.product, source.category, source.service) if p)


def check_upload(
    files: Mapping[str, bytes],
    *,
    stored: Mapping[str, str] | None = None,
    placeholders: Mapping[str, Sequence[str]] | None = None,
) -> Checked:
    """Check an upload. ``stored``: the tenant's other custom rules (rule id → YAML) that a
    correlation of the upload may reference; they are compiled alongside, never judged.
    ``placeholders``: the tenant's values for ``%name%`` placeholders."""
    checked = Checked()
    texts = expand(files, checked)
    pieces: dict[str, tuple[str, str]] = {}  # compiled source name → (file, document text)
    for file_name, text in texts.items():
        docs = documents(text)
        if not docs:
            checked.refuse(file_name, "no rule in the file")
        for number, doc in enumerate(docs):
            if len(doc.encode()) > MAX_DOCUMENT_BYTES:
                checked.refuse(file_name, f"a rule is larger than {MAX_DOCUMENT_BYTES:,} bytes")
                continue
            if re.search(r"^action:", doc, re.M):
                checked.refuse(
                    file_name,
                    "Sigma collections (action: global/reset/repeat) are not accepted: "
                    "upload each rule as a document of its own",
                )
                continue
            pieces[f"upload/{number:04d}/{file_name}"] = (file_name, doc)
    if checked.problems or not pieces:
        if not checked.problems:
            checked.refuse("upload", "no rule in the upload")
        return checked
    others = {f"{_STORED}{rule_id}.yml": text for rule_id, text in (stored or {}).items()}
    ruleset = load_rules_text(
        {**others, **{name: doc for name, (_, doc) in pieces.items()}},
        placeholders=placeholders,
    )
    for refusal in ruleset.refused:
        if refusal.source in pieces:
            checked.refuse(pieces[refusal.source][0], _reason(refusal.title, refusal.reason))
    compiled: list[CompiledRule | CompiledCorrelation] = [*ruleset.loaded, *ruleset.correlations]
    seen_sources: set[str] = set()
    ids: dict[str, str] = {}
    for rule in compiled:
        if rule.source not in pieces:
            continue
        file_name, doc = pieces[rule.source]
        seen_sources.add(rule.source)
        if rule.rule_id.startswith("upload/"):
            checked.refuse(file_name, _reason(rule.title, "the rule has no id: give it a UUID"))
            continue
        if rule.rule_id in ids:
            checked.refuse(file_name, f"rule id {rule.rule_id} appears twice in the upload")
            continue
        ids[rule.rule_id] = file_name
        is_correlation = isinstance(rule, CompiledCorrelation)
        checked.accepted.append(
            AcceptedRule(
                rule_id=rule.rule_id,
                title=rule.title[:300],
                level=rule.level,
                logsource="" if is_correlation else _logsource(rule),  # type: ignore[arg-type]
                is_correlation=is_correlation,
                source=doc,
                file_name=file_name[:255],
            )
        )
    refused_sources = {r.source for r in ruleset.refused}
    for name, (file_name, _doc) in pieces.items():
        if name not in seen_sources and name not in refused_sources:
            checked.refuse(file_name, "the document holds no Sigma rule")
    return checked


def _reason(title: str | None, reason: str) -> str:
    return f"{title}: {reason}" if title else reason
