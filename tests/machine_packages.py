"""The machine's package database, as tests share it.

``scripts/test`` runs the suite twice at once (SQLite beside PostgreSQL, then a year ahead
beside a year back), and dpkg's database is the machine's, not a run's. A test that
installs a package (the patching test's probe) and a test that compares the real agent's
report with what dpkg lists must not overlap: the probe installed between the agent's
report and the test's own ``dpkg-query`` makes the counts differ by one. So the first holds
this lock exclusively for as long as its package is installed, the second shares it for
as long as it compares. dpkg's own lock does not serve: it is held only while dpkg writes.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: In /tmp itself, not ``tempfile.gettempdir()``: runs with another ``TMPDIR`` must meet.
LOCK = Path("/tmp/tandem-tests-machine-packages.lock")


@contextmanager
def machine_packages(*, changing: bool) -> Iterator[None]:
    """Hold the package database for the block: alone when ``changing`` it, else shared
    with other readers. Waits as long as another run holds it (the lock goes with its
    process, so a run that died holds nothing)."""
    with LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if changing else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
