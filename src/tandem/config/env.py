"""Typed environment settings, validated once at start.

Every knob an operator may turn is read here, so a wrong value fails at start with a message
naming the variable instead of surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import os
from pathlib import Path


class SettingsError(RuntimeError):
    """A TANDEM_* or DATABASE_URL variable holds a value Tandem cannot use."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


#: The embedded database's file name inside the data directory.
SQLITE_FILE = "tandem.sqlite3"


def data_dir() -> Path:
    """Where the embedded database, the secret key and uploads live: ``TANDEM_DATA_DIR``, or
    ``./var`` under the directory Tandem was started from. Read by the settings and by the
    ``tandem`` command (which checks for a database before the settings create this folder)."""
    return env_path("TANDEM_DATA_DIR", Path.cwd() / "var")
