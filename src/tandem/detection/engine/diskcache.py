"""The engine's files in its cache folder: written whole or not at all (decision 0034).

The compiled rule packs (:mod:`.packs`) and the Hyperscan databases of the prefilter
(:mod:`.prefilter`) are kept there, so that a restart neither parses YAML nor compiles
Hyperscan databases again. Each file's name carries the hash of what it was made from; a
reader sees an old file, the whole new one, or none. The folder is the server's own data
(a pickle or a Hyperscan database is never read from elsewhere).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(file: Path, data: bytes) -> None:
    """Write ``data`` to ``file`` through a temporary file renamed over it."""
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.stem[:20]}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_or_none(file: Path) -> bytes | None:
    """The file's bytes; None when it is not there or cannot be read."""
    try:
        return file.read_bytes()
    except OSError:
        return None
