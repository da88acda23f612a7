"""The queue pages: a tenant's queue, the cross-tenant queue and its old address, filters,
sorting, the requester's view and the query count.

The world (tests/personas.py) holds Acme's desk and three tickets: ``ticket`` (Acme, held by
Acme Corp IT, inside Northwind's scope), ``sentinel_ticket`` (Acme, held by Sentinel MSSP)
and ``other_ticket`` (Globex).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ACME_TICKET = "Acme file server is slow"
SENTINEL_TICKET = "Acme suspicious sign-ins"
GLOBEX_TICKET = "Globex printer jam"


def _url(name: str, *args: int) -> str:
    return reverse(f"servicedesk:{name}", args=args)


QUEUE = reverse("servicedesk_queues:queue")


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()  # type: ignore[no-any-return]


# --- Queues -------------------------------------------------------------------------------------


def test_provider_techs_queue_spans_its_tenants_within_its_scope(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("provider_tech").get(QUEUE))

    assert ACME_TICKET in page  # Acme, inside Northwind's engagement scope
    assert GLOBEX_TICKET in page  # Globex engages Northwind for its whole tier-1 desk
    assert SENTINEL_TICKET not in page  # Sentinel's, outside Northwind's scope
    assert ">Acme Corp</a>" in page and ">Globex Industries</a>" in page  # the tenant column

    mine = _text(as_persona("provider_tech").get(QUEUE, {"scope": "mine"}))
    assert ACME_TICKET not in mine
    assert "No tickets match these filters." in mine


def test_the_old_cross_tenant_queue_address_opens_the_queue_with_its_filters(  # type: ignore[no-untyped-def]
    as_persona, world
) -> None:
    client = as_persona("provider_tech")
    moved = client.get(_url("my-queue"), {"mine": "on", "open_only": "on", "q": "slow"})
    assert moved.status_code == 302
    assert moved["Location"] == f"{QUEUE}?q=slow&scope=mine&status=is%3Aopen"
    assert client.get(_url("my-queue"))["Location"] == QUEUE
    page = _text(client.get(_url("my-queue"), {"my_parties": "on"}, follow=True))
    assert '<option value="my_parties" selected>' in page


def test_tenant_queue_filters_and_sorts(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("tickets", world["tenant"])

    page = _text(client.get(url))
    assert ACME_TICKET in page and SENTINEL_TICKET in page
    assert GLOBEX_TICKET not in page
    assert "Held by" in page and "Resolution due" in page

    held = _text(client.get(url, {"party": world["second_party"]}))
    assert SENTINEL_TICKET in held and ACME_TICKET not in held
    searched = _text(client.get(url, {"q": "file server"}))
    assert ACME_TICKET in searched and SENTINEL_TICKET not in searched

    by_priority = _text(client.get(url, {"sort": "priority"}))
    assert by_priority.index(SENTINEL_TICKET) < by_priority.index(ACME_TICKET)  # P1 first
    assert 'aria-sort="ascending"' in by_priority

    partial = client.get(url, {"q": "file server"}, HTTP_HX_REQUEST="true")
    assert _text(partial).lstrip().startswith('<div id="ticket-results">')


def test_requester_queue_shows_own_tickets_without_internal_columns(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("requester").get(_url("tickets", world["tenant"])))

    assert ACME_TICKET in page
    assert SENTINEL_TICKET not in page  # the owner's ticket
    assert "Held by" not in page and "Resolution due" not in page
    assert "Acme Corp IT" not in page
    assert "New ticket" in page


def test_the_queue_needs_a_fixed_number_of_queries(  # type: ignore[no-untyped-def]
    as_persona, world, django_assert_max_num_queries
) -> None:
    client = as_persona("owner")
    url = _url("tickets", world["tenant"])
    client.get(url)  # warm the session
    # 21: +1 for the unread bell in the top bar (one COUNT per page).
    with django_assert_max_num_queries(21):
        client.get(url)
    with django_assert_max_num_queries(21):
        client.get(QUEUE)
