"""The logs part of the persona world (tests/personas.py): an HTTP ingest source in Acme
(``ingest_source``, managed by Acme's owner and internal IT only: Northwind's admin is
engaged for HQ alone, and a source's logs may name any host) and one in Globex
(``other_ingest_source``). Their tokens are in ``world.secrets``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.logs import streams
from tandem.logs.services import create_ingest_source
from tandem.tenancy.models import Tenant


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
