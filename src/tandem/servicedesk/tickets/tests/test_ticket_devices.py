"""Tickets name their devices (decision 0026): at creation through the API and the pages,
and changed afterwards; each reader sees only the links to devices it may see, and a
device's page lists the tickets its reader may see."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.audit.models import AuditEntry
from tandem.core.policies import allowed
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.servicedesk.tickets.device_services import set_ticket_devices
from tandem.servicedesk.tickets.models import Ticket, TicketDevice
from tandem.servicedesk.tickets.services import handoff_ticket
from tandem.tenancy.models import Party

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _send(client, method: str, url: str, body):  # type: ignore[no-untyped-def]
    return client.generic(method, API + url, data=json.dumps(body), content_type="application/json")


def _linked(ticket_id: int) -> set[int]:
    with system_context("test: a ticket's devices"):
        return set(
            TicketDevice.objects.filter(ticket_id=ticket_id).values_list("device_id", flat=True)
        )


def _ids(response) -> set[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    body = response.json()
    return {item["id"] for item in (body["items"] if isinstance(body, dict) else body)}


def test_a_ticket_names_devices_when_it_is_opened(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    body = {
        "tenant_id": world["tenant"],
        "subject": "Database down",
        "service_area_id": world["service_area"],
        "device_ids": [world["device"], world["device_unplaced"]],
    }
    response = _send(as_persona("internal_tech"), "POST", "/tickets", body)
    assert response.status_code == 201, response.content
    ticket_id = response.json()["id"]
    assert _linked(ticket_id) == {world["device"], world["device_unplaced"]}
    with system_context("test: the audit entry"):
        entry = AuditEntry.objects.get(action="servicedesk.create_ticket", target_id=str(ticket_id))
    assert entry.changes["device_ids"] == [None, sorted(body["device_ids"])]


@pytest.mark.parametrize("device", ["other_device", "device_out_of_scope"])
def test_a_device_the_caller_cannot_see_is_refused_and_nothing_is_opened(
    as_persona, world, device
) -> None:  # type: ignore[no-untyped-def]
    # Northwind's technician sees neither Globex's device here nor Acme's Branch PC.
    with system_context("test: count"):
        before = Ticket.objects.count()
    body = {
        "tenant_id": world["tenant"],
        "subject": "Slow",
        "service_area_id": world["service_area"],
        "device_ids": [world[device]],
    }
    response = _send(as_persona("provider_tech"), "POST", "/tickets", body)
    assert response.status_code == 422
    assert "No such device in this tenant" in response.content.decode()
    with system_context("test: count"):
        assert Ticket.objects.count() == before


def test_each_reader_sees_the_links_to_devices_it_may_see(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = f"{API}/tickets/{world['ticket']}/devices"
    acme = {world["device"], world["device_out_of_scope"], world["device_unplaced"]}
    assert _ids(as_persona("owner").get(url)) == acme
    assert _ids(as_persona("provider_tech").get(url)) == {world["device"]}
    assert _ids(as_persona("requester").get(url)) == set()
    page = as_persona("provider_tech").get(reverse("servicedesk:ticket", args=[world["ticket"]]))
    text = page.content.decode()
    assert "acme-hq-db01" in text and "acme-branch-pc07" not in text


def test_setting_devices_keeps_the_links_the_actor_cannot_see(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    # Acme's IT replaces the three with one, then the ticket names that one only.
    client = as_persona("owner")
    url = f"/tickets/{world['ticket']}/devices"
    response = _send(client, "PUT", url, {"device_ids": [world["device"]]})
    assert _ids(response) == {world["device"]}
    assert _linked(world["ticket"]) == {world["device"]}
    again = _send(client, "PUT", url, {"device_ids": [world["device"]]})
    assert again.status_code == 409
    refused = _send(client, "PUT", url, {"device_ids": [world["other_device"]]})
    assert refused.status_code == 422 and "No such device" in refused.content.decode()
    assert _linked(world["ticket"]) == {world["device"]}


def test_a_narrower_actor_leaves_hidden_links_alone(world) -> None:  # type: ignore[no-untyped-def]
    # The ticket goes to Northwind, whose admin may then change it but sees only the HQ
    # device of its three: clearing "its" devices keeps the two it cannot see.
    system = system_principal("test: hand the ticket to Northwind")
    with system_context("test: the ticket"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        northwind = Party.objects.get(pk=world["party"])
        handoff_ticket(actor=system, ticket=ticket, to_party=northwind, reason="Their server")
    admin = resolve_principal(user_of(world, "provider_admin"))
    with principal_scope(admin):
        ticket = Ticket.objects.get(pk=world["ticket"])
        assert allowed(admin, "servicedesk.change_ticket", ticket)
        set_ticket_devices(actor=admin, ticket=ticket, device_ids=[])
    assert _linked(world["ticket"]) == {world["device_out_of_scope"], world["device_unplaced"]}
    with system_context("test: the audit entry"):
        entry = AuditEntry.objects.filter(action="servicedesk.set_ticket_devices").latest("id")
    # The entry says what the admin saw and did, nothing of the devices it cannot see.
    assert entry.changes == {"device_ids": [[world["device"]], []]}


def test_the_ticket_page_sets_devices(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    page = client.get(reverse("servicedesk:ticket", args=[world["ticket"]])).content.decode()
    assert "Save devices" in page
    response = client.post(
        reverse("servicedesk:ticket-devices", args=[world["ticket"]]),
        {"device_ids": [world["device_out_of_scope"]]},
    )
    assert response.status_code == 302
    assert _linked(world["ticket"]) == {world["device_out_of_scope"]}


def test_the_new_ticket_page_offers_the_devices_the_reader_sees(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = as_persona("provider_tech").get(
        reverse("servicedesk:ticket-create", args=[world["tenant"]])
    )
    text = page.content.decode()
    assert "acme-hq-db01" in text and "acme-branch-pc07" not in text
    # Requesters see no devices: the field is not there.
    page = as_persona("requester").get(reverse("servicedesk:ticket-create", args=[world["tenant"]]))
    assert 'name="device_ids"' not in page.content.decode()


def test_the_device_page_and_api_list_the_readers_tickets(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assets:device", args=[world["device"]])
    page = as_persona("provider_tech").get(url).content.decode()
    assert "Acme file server is slow" in page
    # Sentinel sees the device (all of Acme) but not that ticket (not security work).
    page = as_persona("second_provider_tech").get(url).content.decode()
    assert "Acme file server is slow" not in page
    assert "No tickets you may see name this device." in page
    api = f"{API}/devices/{world['device']}/tickets"
    assert _ids(as_persona("owner").get(api)) == {world["ticket"]}
    assert _ids(as_persona("second_provider_tech").get(api)) == set()
    assert as_persona("out_of_scope_tech").get(api).status_code == 404
