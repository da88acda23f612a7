"""The logs part of the persona world (tests/personas.py): an HTTP ingest source in Acme
(``ingest_source``, managed by Acme's owner and internal IT only: Northwind's admin is
engaged for HQ alone, and a source's logs may name any host), a syslog source in Acme
mapped to no device (``syslog_source``) and one HTTP source in Globex
(``other_ingest_source``). Their tokens are in ``world.secrets``.

The world's event archive lives in a fresh temporary directory (``LOG_ARCHIVE_DIR`` is
pointed at it): a few events of Acme's and Globex's from the last minutes, each naming its
tenant in a marker (``ACME_MARKER``, ``GLOBEX_MARKER``) the isolation matrix looks for.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.logs import archive, streams
from tandem.logs.services import create_ingest_source
from tandem.tenancy.models import Tenant

ACME_MARKER = "acme-archived-secret"
GLOBEX_MARKER = "globex-archived-secret"


def build_logs_world(world: Any) -> None:
    actor = system_principal("build the test world: ingest sources")
    with system_context("test world: ingest sources"):
        tenants = {t.pk: t for t in Tenant.objects.all()}
    for name, tenant, label in (
        ("ingest_source", "tenant", "Acme firewall shipper"),
        ("other_ingest_source", "other_tenant", "Globex shipper"),
    ):
        source, token = create_ingest_source(
            actor=actor, tenant=tenants[world[tenant]], name=label, kind="http"
        )
        world.ids[name] = source.pk
        world.secrets[name] = token
    # A syslog sender of Acme's, mapped to no device yet (its device can be changed).
    syslog, _ = create_ingest_source(
        actor=actor,
        tenant=tenants[world["tenant"]],
        name="Acme firewall syslog",
        kind="syslog",
        allowed_networks=["198.51.100.240/28"],
    )
    world.ids["syslog_source"] = syslog.pk
    build_archive(world)


@contextmanager
def own_stream(settings: Any, root: Path, *, ack_wait: int = 1) -> Iterator[Path]:
    """An embedded event stream (and detection cache) of the test's own under ``root``,
    reset before and after, so no other test's events are read."""
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = root / "stream"
    settings.LOG_STREAM_ACK_WAIT_SECONDS = ack_wait
    settings.DETECTION_CACHE_DIR = root / "sigma-cache"
    streams.reset_stream()
    try:
        yield settings.LOG_STREAM_DIR
    finally:
        streams.reset_stream()


def build_archive(world: Any) -> None:
    """Archive three events of each tenant from the last half hour, in a new directory."""
    settings.LOG_ARCHIVE_DIR = Path(tempfile.mkdtemp(prefix="tandem-world-archive-"))
    now = timezone.now()
    for tenant, host, marker in (
        ("tenant", "acme-ws-01", ACME_MARKER),
        ("other_tenant", "globex-ws-01", GLOBEX_MARKER),
    ):
        events = [
            {
                "_tenant": world[tenant],
                "_time": (now - dt.timedelta(minutes=minutes)).isoformat(),
                "_host": host,
                "_logsource": {"product": "linux", "service": "sshd"},
                "message": f"{marker} number {minutes}",
                "process": {"name": "sshd"},
            }
            for minutes in (5, 10, 20)
        ]
        archive.append(settings.LOG_ARCHIVE_DIR, world[tenant], events)
