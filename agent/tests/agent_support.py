"""Helpers for the agent's tests: the recorded outputs in ``data/`` and a fake command runner."""

from __future__ import annotations

from collections.abc import Sequence
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
