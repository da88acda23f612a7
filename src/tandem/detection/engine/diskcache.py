"""The engine's files in its cache folder: written whole or not at all, touched when used,
and cleaned by age and size (decision 0034).

The compiled rule packs (:mod:`.packs`) and the Hyperscan databases of the prefilter
(:mod:`.prefilter`) are kept there, so that a restart neither parses YAML nor compiles
Hyperscan databases again. Each file's name carries the hash of what it was made from; a
reader sees an old file, the whole new one, or none. The folder is the server's own data
(a pickle or a Hyperscan database is never read from elsewhere).

**Cleaning** (decision 0034, "The cache cleans itself"): nothing overwrites a file made
from other input (another pack version, engine version, placeholder map or Hyperscan), so
old files are removed by :func:`plan_cleanup` and :func:`remove`. A file's modification
time is its *last use*: writing sets it and every load :func:`touch`-es it, in whichever
process loads it, from the process's clock (:func:`_stamp`), the very clock the cleaning
compares with. Removing a file never breaks a process using it: a loader reads the
whole file into memory (an unlink after its ``open`` leaves the open file readable on
Linux), and a loader that finds no file compiles it again and writes it back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

#: The files of the cache, by kind: a compiled pack, a Hyperscan database, and the
#: temporary file a writer renames into place (``.<stem>-XXXX.tmp``).
PACK, HYPERSCAN, TEMPORARY = "pack", "hyperscan", "temporary"

DAY = 24 * 3600

log = logging.getLogger(__name__)


def write_atomically(file: Path, data: bytes) -> bool:
    """Write ``data`` to ``file`` through a temporary file renamed over it; True when done.

    A cache that cannot be written is no error: the caller has what it made and goes on
    (a warning is logged; False). A full disk, a read-only folder, or a temporary file that
    a cleaning took meanwhile (one that looked a dead writer's) must never stop detection."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.stem[:20]}-", suffix=".tmp")
    except OSError as exc:
        log.warning("detection cache: %s not written: %s", file.name, exc)
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            _stamp(tmp)  # a live writer's file is young to the cleaning, whatever its clock
            handle.write(data)
        _stamp(tmp)
        os.replace(tmp, file)
        return True
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        log.warning("detection cache: %s not written: %s", file.name, exc)
        return False
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_or_none(file: Path) -> bytes | None:
    """The file's bytes; None when it is not there or cannot be read."""
    try:
        return file.read_bytes()
    except OSError:
        return None


def touch(file: Path) -> None:
    """Record that ``file`` was just used (its modification time, which the cleaning reads
    as its last use). A file removed meanwhile, or a read-only folder, is no error: the
    file was read already."""
    with contextlib.suppress(OSError):
        _stamp(file)


def _stamp(file: Path | str) -> None:
    """Set ``file``'s times to now as ``time.time`` says, not as the filesystem does: the
    cleaning judges ages against ``time.time`` (the same clock in production; the test
    suite, run a year ahead and back, moves only Python's)."""
    now = time.time()
    os.utime(file, (now, now))


def kind_of(name: str) -> str | None:
    """The kind of a file of the cache folder by its name; None for a file that is not the
    engine's (left alone: the folder may be shared by mistake)."""
    if name.startswith("sigma-") and name.endswith(".pickle"):
        return PACK
    if name.startswith("hyperscan-") and name.endswith(".db"):
        return HYPERSCAN
    if name.startswith(".") and name.endswith(".tmp"):
        return TEMPORARY
    return None


@dataclass(frozen=True)
class CacheFile:
    """A file of the cache folder: its kind, size in bytes and last use (epoch seconds)."""

    path: Path
    kind: str
    size: int
    used: float

    @property
    def name(self) -> str:
        return self.path.name


def cache_files(folder: Path) -> list[CacheFile]:
    """The engine's files in ``folder`` (none when it does not exist), oldest use first."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        kind = kind_of(entry.name)
        if kind is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
        except FileNotFoundError:  # removed meanwhile
            continue
        found.append(CacheFile(Path(entry.path), kind, stat.st_size, stat.st_mtime))
    return sorted(found, key=lambda f: (f.used, f.name))


@dataclass(frozen=True)
class Policy:
    """What the cleaning keeps. ``keep``: names of files in use (the installed packs'
    compiled form), never removed; ``max_age``: seconds without use after which a file
    goes; ``max_bytes``: the folder's bound, reached by removing the least recently used
    files (None: no bound); ``recent``: a file used this recently is never removed for
    size (a process may just have written it); ``unfinished``: a temporary file this old
    is a write that died (a write takes seconds)."""

    max_age: float = 14 * DAY
    max_bytes: int | None = 1024 * 1024 * 1024
    keep: frozenset[str] = frozenset()
    recent: float = 3600
    unfinished: float = 3600


@dataclass(frozen=True)
class Removal:
    """A file the cleaning removes, and why."""

    file: CacheFile
    reason: str


def plan_cleanup(files: Iterable[CacheFile], now: float, policy: Policy) -> list[Removal]:
    """The files to remove (pure): temporary files of writes that died; files not used
    for ``max_age``; then, while the folder is over ``max_bytes``, the least recently
    used of the rest. Never a file named in ``keep``, a temporary file still being
    written, or (for size) a file used within ``recent``. When what must stay is over the
    bound alone, the folder stays over it (the caller reports it)."""
    removals: list[Removal] = []
    remaining: list[CacheFile] = []
    for file in sorted(files, key=lambda f: (f.used, f.name)):
        age = now - file.used
        if file.kind == TEMPORARY:
            if age > policy.unfinished:
                removals.append(Removal(file, "unfinished write"))
            else:
                remaining.append(file)
        elif file.name in policy.keep:
            remaining.append(file)
        elif age > policy.max_age:
            removals.append(Removal(file, f"unused for {age / DAY:.0f} days"))
        else:
            remaining.append(file)
    if policy.max_bytes is not None:
        total = sum(f.size for f in remaining)
        for file in remaining:  # least recently used first
            if total <= policy.max_bytes:
                break
            if file.kind == TEMPORARY or file.name in policy.keep:
                continue
            if now - file.used <= policy.recent:
                continue
            removals.append(Removal(file, "over the size bound"))
            total -= file.size
    return removals


def remove(removals: Collection[Removal]) -> list[Removal]:
    """Remove the planned files; the ones actually removed. A file used again since it
    was listed (its time moved: another process loaded it) or already gone is left."""
    done = []
    for removal in removals:
        file = removal.file
        try:
            if os.stat(file.path, follow_symlinks=False).st_mtime != file.used:
                continue
            file.path.unlink()
        except FileNotFoundError:
            continue
        done.append(removal)
    return done
