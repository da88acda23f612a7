"""Desk pages beyond what the isolation matrix checks: a ticket's history, and the tenant's
queue with the filters, saved views, export and pages of the cross-tenant queue (/queue/).

The world (tests/personas.py): ``ticket`` (Acme, "Acme file server is slow", from the
requester, held by Acme Corp IT), ``sentinel_ticket`` (Acme, held by Sentinel MSSP) and
``other_ticket`` (Globex). The owner has one saved view, "Acme breaching" (SLA breached).
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.personas import user_of

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.servicedesk.queues import views as queue_views
from tandem.servicedesk.queues.models import SavedView
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_ticket_handed_off_by_the_system_shows_its_history(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    # The world's Sentinel ticket was handed off by a system principal (no acting person).
    page = as_persona("owner").get(f"/tickets/{world['sentinel_ticket']}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Security incident" in text and "system" in text


# --- The tenant's queue: the filters, saved views, export and pages of /queue/ ---------------

ACME_TICKET = "Acme file server is slow"
SENTINEL_TICKET = "Acme suspicious sign-ins"
GLOBEX_TICKET = "Globex printer jam"


def _queue(client, tenant_id: int, **params) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("servicedesk:tickets", args=[tenant_id]), params)
    assert response.status_code == 200
    return response.content.decode()  # type: ignore[no-any-return]


def _shown(page: str) -> set[str]:
    """The world's ticket subjects the queue lists."""
    return {s for s in (ACME_TICKET, SENTINEL_TICKET, GLOBEX_TICKET) if s in page}


def _change(pk: int, **fields) -> None:  # type: ignore[no-untyped-def]
    # The SLA clock sets due dates from business calendars; tests pin them directly.
    with system_context("test: pin a ticket's fields"):
        Ticket.objects.filter(pk=pk).update(**fields)


def test_the_tenant_queue_filters_like_the_queue(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    _change(world["ticket"], resolution_due=now - dt.timedelta(minutes=5), first_response_due=None)
    _change(
        world["sentinel_ticket"],
        resolution_due=now + dt.timedelta(minutes=30),
        first_response_due=None,
        next_update_due=None,
        status="in-progress",
    )
    with system_context("test: assign the requester's ticket"):
        ticket_services.assign_ticket(
            actor=system_principal("test"),
            ticket=Ticket.objects.get(pk=world["ticket"]),
            assignee=user_of(world, "internal_tech"),
        )
    client = as_persona("owner")
    tenant = world["tenant"]
    page = _queue(client, tenant)
    for field in ("q", "scope", "status", "priority", "party", "assignee", "service_area", "sla"):
        assert f'name="{field}"' in page, field
    assert 'name="tenant"' not in page  # the page is one tenant's
    assert _shown(page) == {ACME_TICKET, SENTINEL_TICKET}

    assert _shown(_queue(client, tenant, sla="breached")) == {ACME_TICKET}
    assert _shown(_queue(client, tenant, sla="due_soon")) == {SENTINEL_TICKET}
    assert _shown(_queue(client, tenant, status="in-progress")) == {SENTINEL_TICKET}
    assert _shown(_queue(client, tenant, priority=1)) == {SENTINEL_TICKET}  # impact and urgency 1
    assert _shown(_queue(client, tenant, service_area=world["service_area"])) == {ACME_TICKET}
    assert _shown(_queue(client, tenant, assignee=world["user:internal_tech"])) == {ACME_TICKET}
    assert _shown(_queue(client, tenant, party=world["second_party"])) == {SENTINEL_TICKET}
    assert _shown(_queue(client, tenant, q="suspicious")) == {SENTINEL_TICKET}
    both = _queue(client, tenant, sla="breached", service_area=world["service_area_out_of_scope"])
    assert _shown(both) == set()
    assert "No tickets match these filters." in both
    # Another tenant's party is no choice here: the filter is ignored, never a way across.
    assert _shown(_queue(client, tenant, party=world["other_party"])) == {
        ACME_TICKET,
        SENTINEL_TICKET,
    }
    assert _shown(_queue(as_persona("internal_tech"), tenant, scope="mine")) == {ACME_TICKET}


def test_a_requester_filters_their_own_tickets_without_the_it_filters(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    _change(world["sentinel_ticket"], resolution_due=timezone.now() - dt.timedelta(hours=1))
    client = as_persona("requester")
    page = _queue(client, world["tenant"])
    for field in ("scope", "party", "assignee", "service_area", "sla"):
        assert f'name="{field}"' not in page, field
    assert 'name="q"' in page and 'name="status"' in page
    assert 'id="save-view-form"' not in page
    # IT filters given by hand are ignored: they tell a requester nothing about who holds
    # a ticket or its clocks.
    probed = _queue(client, world["tenant"], sla="breached", party=world["internal_party"])
    assert _shown(probed) == {ACME_TICKET}
    assert _shown(_queue(client, world["tenant"], q="file")) == {ACME_TICKET}


def test_the_tenant_queue_pages_keep_the_filters(as_persona, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]

    monkeypatch.setattr(queue_views, "PAGE_SIZE", 1)
    client = as_persona("owner")
    first = _queue(client, world["tenant"], q="Acme")
    assert "1–1 of 2 tickets" in first
    assert 'href="?q=Acme&amp;page=2"' in first
    second = _queue(client, world["tenant"], q="Acme", page=2)
    assert "2–2 of 2 tickets" in second
    assert len(_shown(first) | _shown(second)) == 2
    assert _shown(first) != _shown(second)


def test_queue_pages_count_up_to_a_cap_and_say_so(as_persona, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tandem.core import pagination

    client = as_persona("owner")
    assert "of 2 tickets" in _queue(client, world["tenant"], q="Acme")
    monkeypatch.setattr(pagination, "COUNT_CAP", 1)
    capped = _queue(client, world["tenant"], q="Acme")
    assert "1–1 of 1+ ticket" in capped
    assert "Narrow the filters or export the list to see the rest." in capped
    cross = client.get(reverse("servicedesk_queues:queue")).content.decode()
    assert "1–1 of 1+ ticket" in cross and "Narrow the filters" in cross


def test_saved_views_are_saved_listed_and_opened_on_the_tenant_queue(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    _change(world["ticket"], resolution_due=timezone.now() - dt.timedelta(minutes=5))
    client = as_persona("owner")
    tickets_url = reverse("servicedesk:tickets", args=[world["tenant"]])
    page = _queue(client, world["tenant"])
    # The owner's view of every tenant ("Acme breaching": SLA breached) opens here too, with
    # its filter shown in the form.
    assert f'<a href="{tickets_url}?view={world["saved_view"]}">Acme breaching</a>' in page
    opened = _queue(client, world["tenant"], view=world["saved_view"])
    assert _shown(opened) == {ACME_TICKET}
    assert '<option value="breached" selected>' in opened

    # The save form carries the current filters and this tenant, and comes back here.
    filtered = _queue(client, world["tenant"], party=world["second_party"])
    query = f"party={world['second_party']}&tenant={world['tenant']}"
    assert f'name="query" value="{html.escape(query)}"' in filtered
    saved = client.post(
        reverse("servicedesk_queues:saved-view-create"),
        {"name": "Sentinel's", "query": query, "return_tenant": world["tenant"]},
    )
    assert saved.status_code == 302
    with system_context("test: the saved view"):
        view = SavedView.objects.get(owner_id=world["user:owner"], name="Sentinel's")
    assert view.filters == {"party_id": world["second_party"], "tenant_id": world["tenant"]}
    assert saved["Location"] == f"{tickets_url}?view={view.pk}"
    shown = client.get(saved["Location"]).content.decode()
    assert "Saved the view" in shown
    assert _shown(shown) == {SENTINEL_TICKET}

    deleted = client.post(
        reverse("servicedesk_queues:saved-view-delete", args=[view.pk]),
        {"return_tenant": world["tenant"]},
    )
    assert deleted["Location"] == tickets_url


def test_a_view_saved_for_one_tenant_is_listed_on_that_tenants_queue_only(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")  # Northwind works in Acme and in Globex
    saved = client.post(
        reverse("servicedesk_queues:saved-view-create"),
        {"name": "Globex desk", "query": f"tenant={world['other_tenant']}"},
    )
    assert saved.status_code == 302
    assert "Globex desk" in _queue(client, world["other_tenant"])
    assert "Globex desk" not in _queue(client, world["tenant"])


def test_the_htmx_results_carry_the_new_filters_for_saving_and_export(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = reverse("servicedesk:tickets", args=[world["tenant"]])
    partial = client.get(url, {"sla": "on_time"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="ticket-results">')
    query = f"sla=on_time&tenant={world['tenant']}"
    assert f'name="query" value="{html.escape(query)}"' in partial
    export = reverse("servicedesk_queues:queue-export") + "?" + query
    assert f'href="{html.escape(export)}"' in partial

    rows = b"".join(client.get(export).streaming_content).decode().splitlines()[1:]
    assert rows and all(",Acme Corp," in row for row in rows)


def test_the_filtered_tenant_queue_needs_a_fixed_number_of_queries(  # type: ignore[no-untyped-def]
    as_persona, world, django_assert_max_num_queries
) -> None:
    client = as_persona("owner")
    url = reverse("servicedesk:tickets", args=[world["tenant"]])
    params = {"sla": "on_time", "party": world["internal_party"], "q": "Acme"}
    client.get(url, params)  # warm the session
    with django_assert_max_num_queries(26):  # +1: the unread bell
        assert client.get(url, {**params, "view": world["saved_view"]}).status_code == 200
