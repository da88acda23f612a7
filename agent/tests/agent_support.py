"""Helpers for the agent's tests: the recorded outputs in ``data/`` and a fake command runner."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tandem_agent.backends.base import CommandResult

DATA = Path(__file__).resolve().parent / "data"


def recorded(name: str) -> str:
    return (DATA / name).read_text()


class RecordedRunner:
    """Answers each command (by its first words) with a recorded output; logs what ran."""

    def __init__(self, answers: dict[tuple[str, ...], CommandResult]) -> None:
        self.answers = answers
        self.ran: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> CommandResult:
        self.ran.append(list(args))
        for prefix, result in self.answers.items():
            if tuple(args[: len(prefix)]) == prefix:
                return result
        return CommandResult(127, "", f"{args[0]}: not found")


#: The server's tests hold the same lock (``tests/machine_packages.py``; the agent's tests
#: run without the server's, so the few lines are repeated rather than imported): a test of
#: a run beside this one that installs a package holds it exclusively meanwhile.
MACHINE_PACKAGES_LOCK = Path("/tmp/tandem-tests-machine-packages.lock")


@contextmanager
def machine_packages_unchanged() -> Iterator[None]:
    """dpkg's database not changed by another test run while the block compares with it."""
    with MACHINE_PACKAGES_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
