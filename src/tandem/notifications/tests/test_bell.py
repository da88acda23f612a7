"""The unread bell in the top bar: on every page of a signed-in person, with the count of
their own unread notifications, for one query per page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.personas import user_of

from tandem.core.scoping import system_context
from tandem.notifications import services
from tandem.notifications.choices import NotificationKind
from tandem.notifications.context_processors import UnreadBell
from tandem.servicedesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _bell(page: str) -> str:
    start = page.index('id="notification-bell"')
    return page[start : page.index("</a>", start)]


def test_the_bell_counts_ones_own_unread_notifications_on_every_page(  # type: ignore[no-untyped-def]
    world, as_persona
) -> None:
    auditor = as_persona("auditor")  # the world left one notification in the auditor's inbox
    for url in (
        reverse("tenancy:home"),
        reverse("accounts:tokens"),
        reverse("tenancy:tenant", args=[world["tenant"]]),
    ):
        response = auditor.get(url, follow=True)
        assert response.status_code == 200, url
        bell = _bell(response.content.decode())
        assert "Notifications: 1 unread" in bell, url
        assert 'class="bell-count" aria-hidden="true">1<' in bell
        assert "?unread=1" in bell  # the bell opens the unread ones

    # Reading them empties the bell.
    auditor.post(reverse("notifications:notifications-read-all"))
    bell = _bell(auditor.get(reverse("tenancy:home"), follow=True).content.decode())
    assert "nothing unread" in bell and "bell-count" not in bell

    # Somebody else's inbox is not counted: the owner has nothing unread.
    home = as_persona("owner").get(reverse("tenancy:home"), follow=True)
    owner_bell = _bell(home.content.decode())
    assert "nothing unread" in owner_bell


def test_the_bell_says_99_plus_for_a_neglected_inbox(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: a full inbox"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        for _ in range(11):
            services._notify(
                ticket=ticket,
                kind=NotificationKind.ASSIGNED,
                text="Look at this",
                users=[user_of(world, "owner")] * 10,
                exclude_user_id=None,
            )
    page = as_persona("owner").get(reverse("tenancy:home"), follow=True).content.decode()
    assert "Notifications: 99+ unread" in _bell(page)
    listed = as_persona("owner").get(reverse("notifications:notifications")).content.decode()
    assert "99+ unread." in listed


def test_nobody_signed_out_sees_a_bell(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get(reverse("accounts:login")).content.decode()
    assert "notification-bell" not in page


@pytest.mark.parametrize(
    ("persona", "url_name", "args"),
    [
        ("provider_tech", "servicedesk_queues:queue", []),
        ("internal_tech", "servicedesk:tickets", ["tenant"]),
        ("requester", "servicedesk:portal", []),
        ("owner", "tenancy:tenant", ["tenant"]),
        ("auditor", "notifications:notifications", []),
    ],
)
def test_the_bell_costs_exactly_one_query_per_page(  # type: ignore[no-untyped-def]
    world, as_persona, monkeypatch, persona, url_name, args
) -> None:
    """The queue pages and every other page grow by one query, not one per notification or
    per template: the count is read once per request, and only when a page shows it."""
    client = as_persona(persona)
    url = reverse(url_name, args=[world[a] for a in args])
    client.get(url)  # warm the session and the cached principal

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    with_bell = count()
    monkeypatch.setattr(UnreadBell, "count", property(lambda self: 0))
    without_bell = count()
    assert with_bell == without_bell + 1
