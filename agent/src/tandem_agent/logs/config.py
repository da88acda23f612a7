"""The log forwarder's settings: ``logs.json`` in the agent's state directory (decision 0047).

Every key is optional; a missing file means the defaults. A source's ``enabled`` is
``"auto"`` (the default), ``true`` or ``false``. "auto" picks what this machine has: on
Windows the event log channels; on Linux journald when it runs, else the log files that
exist. Not both: on a Debian or Red Hat system rsyslog writes ``auth.log`` and ``syslog``
*from* the journal, so reading both would send every line twice. ``true`` turns a source
on regardless (its files or channels that do not exist are skipped, saying so).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem_agent.logs.files import DEFAULT_PATHS
from tandem_agent.logs.windows import DEFAULT_CHANNELS

AUTO = "auto"


class ConfigError(ValueError):
    """``logs.json`` is not what this module reads; the message says which key."""


@dataclass
class LogConfig:
    enabled: bool = True
    files: bool | str = AUTO
    paths: list[str] = field(default_factory=lambda: list(DEFAULT_PATHS))
    #: A file or journal seen for the first time: ``end`` (only what is written from now
    #: on) or ``beginning`` (everything it holds).
    start_at: str = "end"
    journald: bool | str = AUTO
    journal_directory: str | None = None
    windows: bool | str = AUTO
    channels: list[str] = field(default_factory=lambda: list(DEFAULT_CHANNELS))
    #: Records per request and bytes per request before compression.
    batch_records: int = 500
    batch_bytes: int = 1024 * 1024
    #: The rate cap on sending: records per second, averaged (bursts of one batch).
    max_records_per_second: float = 2000.0
    #: The queue's bound: past it sources stop reading (their positions wait) until the
    #: server has taken some. 200,000 records is about 100 MB of disk at most.
    queue_max_records: int = 200_000
    #: Seconds between looks at the sources when nothing is waiting.
    poll_seconds: float = 2.0


def load_config(path: Path) -> LogConfig:
    """The settings in ``path``, or the defaults when it does not exist."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return LogConfig()
    except ValueError as error:
        raise ConfigError(f"{path} is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    config = LogConfig()
    for key, value in data.items():
        if key not in LogConfig.__dataclass_fields__:
            raise ConfigError(f"{path}: unknown key {key!r}")
        _check(key, value, getattr(config, key))
        setattr(config, key, value)
    if config.start_at not in ("end", "beginning"):
        raise ConfigError(f"{path}: start_at is 'end' or 'beginning'")
    return config


def _check(key: str, value: Any, default: Any) -> None:
    if key in ("files", "journald", "windows"):
        if value is True or value is False or value == AUTO:
            return
        raise ConfigError(f'logs.json: {key} is true, false or "auto"')
    if isinstance(default, list):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return
        raise ConfigError(f"logs.json: {key} is a list of strings")
    if key == "journal_directory":
        if value is None or isinstance(value, str):
            return
        raise ConfigError("logs.json: journal_directory is a path or null")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return
        raise ConfigError(f"logs.json: {key} is true or false")
    if isinstance(default, int | float) and not isinstance(value, bool):
        if isinstance(value, int | float) and value > 0:
            return
        raise ConfigError(f"logs.json: {key} is a positive number")
    if isinstance(default, str) and isinstance(value, str):
        return
    raise ConfigError(f"logs.json: {key} has the wrong type")


def wanted(setting: bool | str, *, auto: bool) -> bool:
    return auto if setting == AUTO else bool(setting)


def on_windows() -> bool:
    return sys.platform == "win32"
