"""Dashboards through the ORM, the pages and the API, on a hand-computed fixture.

Day D is a working day (Berlin) 8 to 20 days ago, so every figure falls in the 30-day
window. Four P2 tickets (impact 1, urgency 2) of server patching at the HQ site, opened by
the requester at D 09:00 and routed to Acme IT (office hours, OLA P2: first response 60 min,
resolution 480 min):

    T1  public reply 09:20 (met)       resolved D 11:00 (met)
    T2  public reply 09:50 (met)       resolved D+1 10:00 (breached at D 17:00)
    T3  public reply 10:30 (breached)  resolved D+1 12:00 (breached at D 17:00)
    T4  handed to Northwind 09:10, handed back 09:40 (ping-pong), public reply 09:45
        (Acme IT's clock: 10 + 5 = 15 min, met), resolved D 10:00 (10 + 20 = 30 min, met).
        Northwind's nights calendar is closed on a weekday morning: its clocks use nothing
        and end met when the ticket is answered and resolved.

By hand: Acme IT first response 3 met + 1 breached = 75.0 %, resolution 2 + 2 = 50.0 %;
Northwind 1 + 0 = 100.0 % for both; breaches: Acme IT first response 1, resolution 2;
handoffs: Acme IT → Northwind 1 (0 ping-pong), Northwind → Acme IT 1 (1 ping-pong).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from tests.desk.setup import desk_of
from tests.personas import World, login_client, user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.scoping import principal_scope
from tandem.reports import queries
from tandem.servicedesk.tickets import models as ticket_models
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import services as ticket_services

BERLIN = ZoneInfo("Europe/Berlin")


def _day_d() -> dt.date:
    today = dt.datetime.now(BERLIN).date()
    days_off = holidays.country_holidays("DE", subdiv="BE", years=[today.year - 1, today.year])
    for back in range(10, 21):
        day = today - dt.timedelta(days=back)
        if day.weekday() < 4 and day not in days_off:
            return day
    raise AssertionError("no working day found")  # pragma: no cover


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def fixture_tickets(world: World) -> dict[str, int]:
    desk = desk_of(world)
    d = _day_d()
    d1 = d + dt.timedelta(days=1)
    requester = user_of(world, "requester")
    asker = resolve_principal(requester)
    tech = resolve_principal(user_of(world, "internal_tech"))
    msp = resolve_principal(user_of(world, "provider_tech"))

    def open_ticket(subject: str) -> ticket_models.Ticket:
        with principal_scope(asker):
            return ticket_services.create_ticket(
                actor=asker,
                tenant=desk.tenant,
                requester=requester,
                subject=subject,
                category_id=desk.category_id,
                site_id=world["site"],
                impact=1,
                urgency=2,
                now=_at(d, 9),
            )

    def reply(ticket: ticket_models.Ticket, when: dt.datetime) -> None:
        with principal_scope(tech):
            ticket_notes.add_comment(
                actor=tech, ticket=ticket, body="On it", visibility="public", now=when
            )

    def resolve(ticket: ticket_models.Ticket, when: dt.datetime) -> None:
        with principal_scope(tech):
            ticket_services.change_status(actor=tech, ticket=ticket, status="resolved", now=when)

    t1, t2, t3, t4 = (open_ticket(f"Dashboard fixture {n}") for n in range(1, 5))
    assert {t.party_id for t in (t1, t2, t3, t4)} == {desk.internal.pk}
    assert {t.priority for t in (t1, t2, t3, t4)} == {2}
    reply(t1, _at(d, 9, 20))
    resolve(t1, _at(d, 11))
    reply(t2, _at(d, 9, 50))
    resolve(t2, _at(d1, 10))
    reply(t3, _at(d, 10, 30))
    resolve(t3, _at(d1, 12))
    with principal_scope(tech):
        ticket_services.handoff_ticket(
            actor=tech,
            ticket=t4,
            to_party=desk.northwind,
            reason="Needs server access",
            now=_at(d, 9, 10),
        )
    with principal_scope(msp):
        back = ticket_services.handoff_ticket(
            actor=msp,
            ticket=t4,
            to_party=desk.internal,
            reason="Application issue",
            now=_at(d, 9, 40),
        )
    assert back.is_ping_pong
    reply(t4, _at(d, 9, 45))
    resolve(t4, _at(d, 10))
    return {"internal": desk.internal.pk, "northwind": desk.northwind.pk}


def _party(payload: dict, party_id: int) -> dict:
    return next(p for p in payload["parties"] if p["party_id"] == party_id)


def _figures(party: dict) -> dict[str, tuple[int, int, float | None]]:
    return {m: (a["met"], a["breached"], a["percent"]) for m, a in party["attainment"].items()}


def test_tenant_dashboard_api_matches_the_hand_count(world, fixture_tickets) -> None:  # type: ignore[no-untyped-def]
    client = login_client(Client(), world, "owner")
    response = client.get(f"/api/v1/tenants/{world['tenant']}/dashboard")
    assert response.status_code == 200
    payload = response.json()
    internal = _party(payload, fixture_tickets["internal"])
    northwind = _party(payload, fixture_tickets["northwind"])
    assert _figures(internal) == {
        "first_response": (3, 1, 75.0),
        "resolution": (2, 2, 50.0),
    }
    assert _figures(northwind) == {
        "first_response": (1, 0, 100.0),
        "resolution": (1, 0, 100.0),
    }
    assert internal["breaches"] == {"first_response": 1, "resolution": 2}
    assert northwind["breaches"] == {}
    handoffs = {(h["from_party_id"], h["to_party_id"]): h for h in payload["handoffs"]}
    i, n = fixture_tickets["internal"], fixture_tickets["northwind"]
    assert (handoffs[(i, n)]["handoffs"], handoffs[(i, n)]["ping_pong"]) == (1, 0)
    assert (handoffs[(n, i)]["handoffs"], handoffs[(n, i)]["ping_pong"]) == (1, 1)
    # Open: the world's server ticket (Acme IT) and its security incident (Sentinel).
    assert internal["open"] == 1
    assert payload["open"] == 2
    assert sum(b["open"] for b in payload["backlog"]) == 2


def test_a_ticket_resolved_before_the_window_counts_in_no_figure(world, fixture_tickets) -> None:  # type: ignore[no-untyped-def]
    """Resolved 40 days ago, late: its clocks ended (breached) before the window, so it
    changes neither attainment nor breaches, is not open work and is not counted."""
    desk = desk_of(world)
    requester = user_of(world, "requester")
    asker = resolve_principal(requester)
    tech = resolve_principal(user_of(world, "internal_tech"))
    long_ago = _at(_day_d() - dt.timedelta(days=35), 9)
    client = login_client(Client(), world, "owner")
    url = f"/api/v1/tenants/{world['tenant']}/dashboard"
    before = client.get(url).json()
    with principal_scope(asker):
        old = ticket_services.create_ticket(
            actor=asker,
            tenant=desk.tenant,
            requester=requester,
            subject="Resolved long ago",
            category_id=desk.category_id,
            site_id=world["site"],
            impact=1,
            urgency=2,
            now=long_ago,
        )
    with principal_scope(tech):
        ticket_services.change_status(
            actor=tech, ticket=old, status="resolved", now=long_ago + dt.timedelta(days=3)
        )
    after = client.get(url).json()
    assert after["tickets"] == before["tickets"] == 6
    assert after["parties"] == before["parties"]
    assert after["open"] == before["open"] == 2


def test_tenant_dashboard_page_shows_the_same_numbers(world, fixture_tickets) -> None:  # type: ignore[no-untyped-def]
    client = login_client(Client(), world, "internal_tech")
    response = client.get(f"/tenants/{world['tenant']}/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()

    def cells(party: int, metric: str) -> list[str]:
        match = re.search(
            rf'<tr data-party="{party}" data-metric="{metric}">(.*?)</tr>', html, re.S
        )
        assert match, (party, metric)
        return [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
        ]

    i, n = fixture_tickets["internal"], fixture_tickets["northwind"]
    assert cells(i, "first_response") == ["Acme Corp IT", "First response", "3", "1", "75.0 %"]
    assert cells(i, "resolution") == ["Acme Corp IT", "Resolution", "2", "2", "50.0 %"]
    assert cells(n, "first_response")[2:] == ["1", "0", "100.0 %"]
    # The charts are inline SVG with no inline style or script.
    assert "<svg" in html and "75.0 % (3/4)" in html and "50.0 % (2/4)" in html
    assert "style=" not in html and "<script>" not in html
    assert f'href="/tenants/{world["tenant"]}/dashboard/"' in html  # the tenant nav entry


def test_provider_dashboard_spans_its_tenants_but_only_its_scope(world, fixture_tickets) -> None:  # type: ignore[no-untyped-def]
    client = login_client(Client(), world, "provider_tech")
    response = client.get(f"/api/v1/providers/{world['provider']}/dashboard")
    assert response.status_code == 200
    payload = response.json()
    # Acme: the four fixture tickets and the world's server ticket (all in Northwind's scope);
    # Globex: its tier-1 desk ticket. Never Sentinel's security incident.
    assert payload["tickets"] == 6
    assert {p["tenant_id"] for p in payload["parties"]} == {world["tenant"], world["other_tenant"]}
    assert world["second_party"] not in {p["party_id"] for p in payload["parties"]}
    assert _figures(_party(payload, fixture_tickets["northwind"]))["first_response"] == (
        1,
        0,
        100.0,
    )
    page = client.get(f"/providers/{world['provider']}/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Globex Industries" in html and "Sentinel" not in html
    assert "Acme suspicious sign-ins" not in html


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("other_tenant_owner", "/tenants/{tenant}/dashboard/"),
        ("requester", "/tenants/{tenant}/dashboard/"),
        ("suspended_provider_tech", "/tenants/{tenant}/dashboard/"),
        ("second_provider_tech", "/providers/{provider}/dashboard/"),
        ("owner", "/providers/{provider}/dashboard/"),
    ],
)
def test_others_get_not_found(world, persona, url) -> None:  # type: ignore[no-untyped-def]
    client = login_client(Client(), world, persona)
    target = url.format(tenant=world["tenant"], provider=world["provider"])
    assert client.get(target).status_code == 404


@pytest.mark.parametrize("persona", ["other_tenant_owner", "requester"])
def test_the_api_refuses_outsiders_and_requesters(world, persona) -> None:  # type: ignore[no-untyped-def]
    client = login_client(Client(), world, persona)
    assert client.get(f"/api/v1/tenants/{world['tenant']}/dashboard").status_code == 404


def test_requesters_have_no_dashboard_entry(world) -> None:  # type: ignore[no-untyped-def]
    client = login_client(Client(), world, "requester")
    html = client.get(f"/tenants/{world['tenant']}/tickets/").content.decode()
    assert "/dashboard/" not in html


def test_the_dashboard_loads_in_a_fixed_number_of_queries(world, fixture_tickets) -> None:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    desk = desk_of(world)
    with principal_scope(owner), CaptureQueriesContext(connection) as captured:
        dashboard = queries.tenant_dashboard(owner, desk.tenant)
    assert dashboard.tickets >= 6
    # Tickets, workflows, handoffs, time by party, party names, tenant names: never one
    # per ticket.
    assert len(captured) <= 6, [q["sql"] for q in captured]


def test_time_logged_is_shown_as_far_as_the_reader_may_see_it(world, fixture_tickets) -> None:  # type: ignore[no-untyped-def]
    """The tenant's IT sees every party's time; a provider only its own party's, on the
    tenant's dashboard and on its own."""
    desk = desk_of(world)
    tech = resolve_principal(user_of(world, "internal_tech"))
    msp = resolve_principal(user_of(world, "provider_tech"))
    with principal_scope(tech):
        ticket = ticket_models.Ticket.objects.get(tenant=desk.tenant, subject="Dashboard fixture 4")
        ticket_notes.log_time(actor=tech, ticket=ticket, minutes=50, work_date=_day_d())
        server = ticket_models.Ticket.objects.get(pk=world["ticket"])
        ticket_services.handoff_ticket(
            actor=tech, ticket=server, to_party=desk.northwind, reason="Your patch window"
        )
    with principal_scope(msp):
        ticket_notes.log_time(actor=msp, ticket=server, minutes=90, billable=False)

    def time_of(persona: str, url: str) -> dict[int, tuple[int, int]]:
        client = login_client(Client(), world, persona)
        payload = client.get(url).json()
        return {t["party_id"]: (t["minutes"], t["billable_minutes"]) for t in payload["time"]}

    tenant_url = f"/api/v1/tenants/{world['tenant']}/dashboard"
    provider_url = f"/api/v1/providers/{world['provider']}/dashboard"
    internal, northwind = fixture_tickets["internal"], fixture_tickets["northwind"]
    assert time_of("owner", tenant_url) == {internal: (50, 50), northwind: (90, 0)}
    assert time_of("provider_tech", tenant_url) == {northwind: (90, 0)}
    assert time_of("provider_tech", provider_url) == {northwind: (90, 0)}
    page = login_client(Client(), world, "owner").get(f"/tenants/{world['tenant']}/dashboard/")
    assert 'id="stat-time">2h 20m<' in page.content.decode()


def test_the_provider_dashboard_is_linked_from_the_sidebar(world) -> None:  # type: ignore[no-untyped-def]
    """It was reachable only by typing its address."""
    link = f'href="/providers/{world["provider"]}/dashboard/"'
    provider_page = login_client(Client(), world, "provider_tech").get("/").content.decode()
    assert link in provider_page and "Northwind MSP dashboard" in provider_page
    owner_page = login_client(Client(), world, "owner").get("/").content.decode()
    assert "/providers/" not in owner_page or link not in owner_page
    dashboard = login_client(Client(), world, "provider_tech").get(
        f"/providers/{world['provider']}/dashboard/"
    )
    assert f'{link} aria-current="page"' in dashboard.content.decode()
