"""The agent's state directory: its enrolment, its credential, its status and its queue.

Default ``/var/lib/tandem-agent``; ``TANDEM_AGENT_STATE_DIR`` or ``--state-dir`` choose
another. Files:

- ``config.json``: server URL, device id, CA file, check-in interval (written at enrolment);
- ``credential``: the device's bearer credential, mode 0600 from the moment it exists;
- ``status.json``: last check-in, last error, server clock offset, revoked, next sequence;
- ``acked-inventory.json``: the last inventory the server acknowledged, the base of deltas;
- ``queue.sqlite3``: reports waiting to be sent (:mod:`tandem_agent.queue`);
- ``events.sqlite3``: log records waiting to be sent, and each log source's position
  (:mod:`tandem_agent.logs.queue`); ``logs.json``: the log forwarder's settings.

Every file is replaced atomically (write a temporary file, fsync, rename), so a kill at any
moment leaves the old content or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = "/var/lib/tandem-agent"
STATE_DIR_ENV = "TANDEM_AGENT_STATE_DIR"


def resolve_state_dir(option: str | None) -> Path:
    """``--state-dir``, else ``TANDEM_AGENT_STATE_DIR``, else ``/var/lib/tandem-agent``."""
    return Path(option or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data``; the file has ``mode`` before it holds a byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass
class Enrolment:
    server: str
    device_id: str
    ca_file: str | None = None
    interval: int = 300


@dataclass
class Status:
    last_check_in: str | None = None
    last_error: str | None = None
    server_offset_seconds: float | None = None
    revoked: str | None = None
    acked_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class StateDir:
    """One agent's files; creating it makes the folder with mode 0700."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure(self) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)

    # Enrolment and credential -------------------------------------------------------------

    @property
    def credential_path(self) -> Path:
        return self.path / "credential"

    def enrolment(self) -> Enrolment | None:
        data = self._read_json("config.json")
        return Enrolment(**data) if data else None

    def save_enrolment(self, enrolment: Enrolment) -> None:
        self.ensure()
        self._write_json("config.json", asdict(enrolment), mode=0o600)

    def credential(self) -> str | None:
        try:
            return self.credential_path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def save_credential(self, credential: str) -> None:
        """Written with mode 0600: only the agent's user may read the device's secret."""
        self.ensure()
        write_atomically(self.credential_path, credential.encode() + b"\n", mode=0o600)

    # Status -----------------------------------------------------------------------------

    def status(self) -> Status:
        data = self._read_json("status.json")
        known = set(Status.__dataclass_fields__)
        return Status(**{k: v for k, v in data.items() if k in known}) if data else Status()

    def save_status(self, status: Status) -> None:
        self.ensure()
        self._write_json("status.json", asdict(status), mode=0o600)

    def acked_inventory(self) -> dict[str, Any] | None:
        return self._read_json("acked-inventory.json")

    def save_acked_inventory(self, document: dict[str, Any]) -> None:
        self.ensure()
        self._write_json("acked-inventory.json", document, mode=0o600)

    @property
    def queue_path(self) -> Path:
        return self.path / "queue.sqlite3"

    @property
    def events_path(self) -> Path:
        """Log records waiting for the server, and the sources' positions (decision 0047)."""
        return self.path / "events.sqlite3"

    # Files ------------------------------------------------------------------------------

    def _read_json(self, name: str) -> dict[str, Any] | None:
        try:
            value = json.loads((self.path / name).read_text())
        except FileNotFoundError:
            return None
        return value if isinstance(value, dict) else None

    def _write_json(self, name: str, value: dict[str, Any], *, mode: int) -> None:
        write_atomically(self.path / name, json.dumps(value, indent=1).encode(), mode=mode)
