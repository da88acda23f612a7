"""Shared by the agents app's tests: tokens made through the service, bodies sent as the
agent sends them (gzip JSON), small inventory documents."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from django.test import Client
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.agents.documents import state_hash
from tandem.agents.models import EnrolmentToken
from tandem.agents.services import create_enrolment_token
from tandem.core.scoping import system_context
from tandem.tenancy.models import Tenant


def make_token(world: World, tenant: str = "tenant", **options: Any) -> tuple[EnrolmentToken, str]:
    persona = "owner" if tenant == "tenant" else "other_tenant_owner"
    with system_context("test: the tenant"):
        found = Tenant.objects.get(pk=world[tenant])
    return create_enrolment_token(
        actor=resolve_principal(user_of(world, persona)),
        tenant=found,
        name=options.pop("name", "Lab machines"),
        **options,
    )


def post(
    client: Client,
    path: str,
    payload: Any,
    *,
    credential: str | None = None,
    raw: bytes | None = None,
) -> Any:
    body = raw if raw is not None else gzip.compress(json.dumps(payload).encode(), mtime=0)
    headers = {"HTTP_CONTENT_ENCODING": "gzip"}
    if credential:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {credential}"
    return client.generic(
        "POST", f"/agent/v1/{path}", body, content_type="application/json", **headers
    )


def enrol(
    client: Client, secret: str, *, hardware_id: str = "hw-1", hostname: str = "lab-1"
) -> Any:
    return post(
        client,
        "enrol",
        {
            "token": secret,
            "site": None,
            "device": {"hostname": hostname, "hardware_id": hardware_id, "os": {"family": "linux"}},
            "agent_version": "0.1.0",
        },
    )


def document(
    packages: dict[str, str], updates: dict[str, tuple[str, str, bool]] | None = None
) -> dict[str, Any]:
    """An inventory with ``packages`` (name → version) and ``updates`` (name → (current,
    candidate, security))."""
    return {
        "schema_version": 1,
        "device": {"hostname": "lab-1", "hardware_id": "hw-1"},
        "os": {
            "family": "linux",
            "pretty_name": "Debian GNU/Linux 12",
            "kernel": "6.1.0",
            "arch": "x86_64",
        },
        "software": [
            {
                "id": f"{n}:amd64",
                "name": n,
                "version": v,
                "arch": "amd64",
                "source": n,
                "source_version": v,
            }
            for n, v in sorted(packages.items())
        ],
        "updates": [
            {
                "id": f"{n}:amd64",
                "name": n,
                "arch": "amd64",
                "installed_version": c,
                "candidate_version": k,
                "security": s,
                "origins": [
                    {
                        "label": "Debian-Security" if s else "Debian",
                        "version": "12",
                        "suite": "stable",
                    }
                ],
            }
            for n, (c, k, s) in sorted((updates or {}).items())
        ],
    }


def report(sequence: int, **body: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "sequence": sequence,
        "kind": "inventory",
        "agent_time": dt.datetime.now(dt.UTC).isoformat(),
        **body,
    }


def full(sequence: int, doc: dict[str, Any]) -> dict[str, Any]:
    return report(sequence, state_hash=state_hash(doc), inventory=doc)


def check_in(client: Client, credential: str, device_id: str, reports: list[dict[str, Any]]) -> Any:
    return post(
        client,
        "check-in",
        {"device_id": device_id, "agent_version": "0.1.0", "agent_time": None, "reports": reports},
        credential=credential,
    )


# --- the real agent, as a process ---------------------------------------------------------


def run_agent(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``tandem-agent --state-dir STATE ARGS…`` as its own process (the installed package)."""
    return subprocess.run(
        [sys.executable, "-m", "tandem_agent", "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def enrol_real_agent(world: World, server_url: str, state: Path) -> None:
    """Enrol a real agent in ``state`` with a fresh one-use token of Acme."""
    _token, secret = make_token(world, max_uses=1)
    enrolled = run_agent(state, "enrol", "--server", server_url, "--token", secret)
    assert enrolled.returncode == 0, enrolled.stderr


def closed_port() -> int:
    """A local port nothing listens on: a server that cannot be reached."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
