"""Ingest sources: made, rotated, disabled through the services (audited), by whom, with
which limits; and the sources page with its counters."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.audit.models import AuditEntry
from tandem.core.errors import InvalidInput
from tandem.core.scoping import system_context
from tandem.logs import ingest, services
from tandem.logs.models import IngestSource
from tandem.logs.services import find_source_by_token
from tandem.tenancy.models import Tenant


def acme(world: World) -> Tenant:
    with system_context("test: the tenant"):
        return Tenant.objects.get(pk=world["tenant"])


def actor(world: World, persona: str = "owner"):  # type: ignore[no-untyped-def]
    return resolve_principal(user_of(world, persona))


def found(token: str) -> IngestSource | None:
    with system_context("test: find by token"):
        return find_source_by_token(token)


def test_an_http_source_gets_a_token_kept_only_as_its_hash(world):
    source, token = services.create_ingest_source(
        actor=actor(world), tenant=acme(world), name="  Vector  on web1 ", kind="http"
    )
    assert token and token.startswith("tdi_")
    assert source.name == "Vector on web1"
    assert token not in (source.secret_hash or "") and source.prefix in token
    assert found(token) == source
    with system_context("test: audit"):
        made = AuditEntry.objects.filter(action="logs.create_ingest_source")
        assert made.filter(target_id=str(source.pk)).count() == 1


def test_a_syslog_source_needs_valid_sender_networks(world):
    with pytest.raises(InvalidInput, match="sender networks"):
        services.create_ingest_source(
            actor=actor(world), tenant=acme(world), name="Firewall", kind="syslog"
        )
    with pytest.raises(InvalidInput, match="not a network"):
        services.create_ingest_source(
            actor=actor(world),
            tenant=acme(world),
            name="Firewall",
            kind="syslog",
            allowed_networks=["10.1.2.3/8"],
        )
    source, token = services.create_ingest_source(
        actor=actor(world),
        tenant=acme(world),
        name="Firewall",
        kind="syslog",
        allowed_networks=["192.0.2.0/24", "2001:db8::/32", "192.0.2.0/24"],
    )
    assert token is None and source.secret_hash is None
    assert source.allowed_networks == ["192.0.2.0/24", "2001:db8::/32"]


def test_rotating_a_token_refuses_the_old_one_at_once(world):
    source, old = services.create_ingest_source(
        actor=actor(world), tenant=acme(world), name="Shipper", kind="http"
    )
    _, new = services.rotate_ingest_token(actor=actor(world, "internal_tech"), source=source)
    assert found(old) is None
    assert found(new) == source


def test_a_disabled_source_is_refused_and_enabling_takes_it_back(world):
    source, token = services.create_ingest_source(
        actor=actor(world), tenant=acme(world), name="Shipper", kind="http"
    )
    services.set_ingest_source_enabled(actor=actor(world), source=source, enabled=False)
    with system_context("test: state"):
        assert not IngestSource.objects.get(pk=source.pk).enabled
    assert ingest.authenticate(f"Bearer {token}").status == 403  # type: ignore[union-attr]
    services.set_ingest_source_enabled(actor=actor(world), source=source, enabled=True)
    assert ingest.authenticate(f"Bearer {token}").source == source  # type: ignore[union-attr]


@pytest.mark.parametrize("persona", ["provider_admin", "provider_tech", "requester"])
def test_who_may_not_make_a_source(world, persona):
    with pytest.raises(PermissionDenied):
        services.create_ingest_source(
            actor=actor(world, persona), tenant=acme(world), name="Nope", kind="http"
        )
    with system_context("test: nothing made"):
        assert not IngestSource.objects.filter(name="Nope").exists()


def test_the_sources_page_shows_the_counters(world):
    with system_context("test: counts"):
        source = IngestSource.objects.get(pk=world["ingest_source"])
    services.count_ingest(
        source=source, accepted=1234, refused={"malformed_json": 7, "quota": 50, "bogus": 3}
    )
    client = Client()
    client.force_login(user_of(world, "internal_tech"))
    page = client.get(f"/tenants/{world['tenant']}/ingest-sources/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Acme firewall shipper" in text and "1234" in text and ">7<" in text
    assert "Globex shipper" not in text
