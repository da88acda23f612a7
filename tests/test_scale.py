"""``tandem demo --scale``: MSP-sized data that looks like production data to the queries.

A small run (3 tenants, 2 providers, 600 tickets) is generated and then read the way the
product reads it: the ticket history, numbering, SLA clocks, note tiers and authors, who
holds what, the API as a provider technician and as a requester, the audit chains.
"""

from __future__ import annotations

import collections
import datetime as dt
import statistics
from typing import Any

import pytest

from tandem.accounts.models import Membership, User
from tandem.audit.models import AuditEntry
from tandem.cli import main as tandem
from tandem.core.scoping import system_context
from tandem.scale import ScaleOptions, ScaleSummary, generate
from tandem.scale.plan import make_plan
from tandem.servicedesk.config.models import DeskSettings
from tandem.servicedesk.tickets.models import Comment, Handoff, Ticket, TicketEvent, TimeEntry
from tandem.tenancy.models import Engagement, Party, Provider, Tenant

SMALL = ScaleOptions(tenants=3, providers=2, tickets=600, seed=11)


def _generate(options: ScaleOptions = SMALL) -> ScaleSummary:
    lines: list[str] = []
    summary = generate(options, progress=lines.append, processes=0)
    assert lines and "tickets" in lines[-1]
    return summary


def _counts() -> dict[str, int]:
    with system_context("test: count rows"):
        return {
            "tenants": Tenant.objects.count(),
            "providers": Provider.objects.count(),
            "users": User.objects.count(),
            "tickets": Ticket.objects.count(),
            "audit": AuditEntry.objects.count(),
        }


def _scopes() -> dict[int, tuple[int, set[int], set[int], int]]:
    """Provider party id -> (tenant id, engaged area ids, engaged site ids, provider id)."""
    found = {}
    for engagement in Engagement.objects.filter(provider__slug__startswith="scale-msp-"):
        found[engagement.party.pk] = (
            engagement.tenant_id,
            {a.pk for a in engagement.service_areas.all()},
            {s.pk for s in engagement.sites.all()},
            engagement.provider_id,
        )
    return found


def _works_for(user_id: int, party: Party) -> bool:
    if party.provider_id is None:
        return Membership.objects.filter(user_id=user_id, party=party, is_active=True).exists()
    return Membership.objects.filter(
        user_id=user_id, provider_id=party.provider_id, is_active=True
    ).exists()


def test_the_plan_is_msp_shaped_at_full_size() -> None:
    plan = make_plan(tenants=500, providers=40, tickets=1_000_000, seed=1)
    sizes = sorted(t.tickets for t in plan.tenants)
    assert sum(sizes) == 1_000_000
    assert sizes[-1] >= 20_000 and sum(s >= 10_000 for s in sizes) >= 5  # a few big ones
    assert statistics.median(sizes) < 2_000  # many with hundreds
    assert all(1 <= len(t.providers) <= 4 for t in plan.tenants)
    served = collections.Counter(p for t in plan.tenants for p in t.providers)
    assert served.most_common(1)[0][1] >= 50  # some providers serve 50+ tenants
    assert [t.slug for t in plan.tenants[:2]] == ["scale-0001", "scale-0002"]
    assert plan.tenants[-1].slug == "scale-0500" and plan.providers[-1].slug == "scale-msp-40"
    assert make_plan(tenants=500, providers=40, tickets=1_000_000, seed=1) == plan


def test_a_small_run_looks_like_data_the_services_wrote(db) -> None:  # type: ignore[no-untyped-def]
    summary = _generate()
    assert summary.tenants == 3 and summary.providers == 2
    assert summary.rows["tickets"] == 600
    with system_context("test: read the scale data"):
        tenants = list(Tenant.objects.filter(slug__startswith="scale-").order_by("slug"))
        assert [t.slug for t in tenants] == ["scale-0001", "scale-0002", "scale-0003"]
        assert sorted(Provider.objects.filter(slug__startswith="scale-msp-").values_list(
            "slug", flat=True
        )) == ["scale-msp-01", "scale-msp-02"]  # fmt: skip
        for email in (
            "owner@scale-0001.scale.test",
            "it1@scale-0001.scale.test",
            "it2@scale-0001.scale.test",
            "user1@scale-0001.scale.test",
            "admin@scale-msp-01.scale.test",
            "tech1@scale-msp-01.scale.test",
        ):
            assert User.objects.get(email=email).check_password("tandem-demo-2026")

        tickets = {t.pk: t for t in Ticket.objects.filter(tenant__in=tenants)}
        assert len(tickets) == 600
        events: dict[int, list[TicketEvent]] = collections.defaultdict(list)
        for event in TicketEvent.objects.filter(ticket_id__in=tickets).order_by("at", "id"):
            events[event.ticket_id].append(event)

        # Numbers 1..n per tenant; the desk's counter is past the last one.
        for tenant in tenants:
            numbers = sorted(t.number for t in tickets.values() if t.tenant_id == tenant.pk)
            assert numbers == list(range(1, len(numbers) + 1))
            assert DeskSettings.objects.get(tenant=tenant).next_number == len(numbers) + 1

        # The history: created first (once), and the ticket is its last state.
        responded: collections.Counter[int] = collections.Counter()
        for pk, ticket in tickets.items():
            history = events[pk]
            assert history[0].kind == "created" and history[0].at == ticket.created_at
            assert [e.kind for e in history].count("created") == 1
            last = history[-1]
            assert (ticket.status, ticket.party_id, ticket.priority) == (
                last.status,
                last.party_id,
                last.priority,
            )
            done = ticket.status in ("resolved", "closed")
            assert (ticket.resolved_at is not None) == done
            assert (ticket.closed_at is not None) == (ticket.status == "closed")
            responses = [e.at for e in history if e.kind == "responded"]
            responded[pk] = len(responses)
            assert ticket.first_responded_at == (responses[0] if responses else None)
            assert ticket.requester_id in {w.pk for w in ticket.watchers.all()}
        per_ticket = [len(h) for h in events.values()]
        assert 3 <= statistics.mean(per_ticket) <= 6 and max(per_ticket) <= 12
        open_share = sum(t.status not in ("resolved", "closed") for t in tickets.values()) / 600
        assert 0.05 <= open_share <= 0.3

        # Holders and assignees: internal IT or an engaged provider whose scope covers the
        # ticket; the assignee works for the holder.
        scopes = _scopes()
        parties = {p.pk: p for p in Party.objects.filter(tenant__in=tenants)}
        for ticket in tickets.values():
            for party_id in {e.party_id for e in events[ticket.pk]}:
                if party_id in scopes:
                    tenant_id, areas, sites, _ = scopes[party_id]
                    assert ticket.tenant_id == tenant_id and ticket.service_area_id in areas
                    assert not sites or ticket.site_id is None or ticket.site_id in sites
                else:
                    assert parties[party_id].kind == "internal"
            if ticket.assignee_id is not None:
                assert _works_for(ticket.assignee_id, parties[ticket.party_id])
        assert {t.party_id for t in tickets.values()} & set(scopes)  # providers hold some

        # Notes: three tiers; public IT notes are the responses; authors write for their
        # party; requesters write public notes on their own tickets.
        comments = list(Comment.objects.filter(ticket_id__in=tickets))
        assert 1.5 <= len(comments) / 600 <= 2.6
        assert {c.visibility for c in comments} == {"private", "shared", "public"}
        public_it = collections.Counter(
            c.ticket_id for c in comments if c.visibility == "public" and c.party_id
        )
        assert public_it == +responded
        for comment in comments:
            ticket = tickets[comment.ticket_id]
            assert comment.created_at >= ticket.created_at
            if comment.party_id is None:
                assert comment.visibility == "public"
                assert comment.author_id == ticket.requester_id
            else:
                assert _works_for(comment.author_id, parties[comment.party_id])
                assert comment.author_label == User.objects.get(pk=comment.author_id).email

        # Time on most resolved tickets, by people of the party they log for.
        entries = list(TimeEntry.objects.filter(ticket_id__in=tickets))
        resolved = {pk for pk, t in tickets.items() if t.resolved_at}
        assert len({e.ticket_id for e in entries} & resolved) >= 0.6 * len(resolved)
        for entry in entries[:200]:
            assert _works_for(entry.user_id, parties[entry.party_id])
            assert entry.work_date <= dt.date.today()

        # Handoffs: some, each with its history event, between parties that may hold it.
        handoffs = list(Handoff.objects.filter(ticket_id__in=tickets))
        assert handoffs
        assert len(handoffs) == sum(e.kind == "handoff" for h in events.values() for e in h)
        assert all(h.from_party_id != h.to_party_id for h in handoffs)


def test_stored_sla_clocks_are_what_the_sla_engine_computes(db) -> None:  # type: ignore[no-untyped-def]
    from tandem.servicedesk.sla_bridge import recompute_sla

    summary = _generate()
    as_of = dt.datetime.fromisoformat(summary.as_of)
    with system_context("test: recompute clocks"):
        rows = Ticket.objects.filter(tenant__slug__startswith="scale-").select_related("tenant")
        open_ones = list(rows.exclude(status__in=["resolved", "closed"]).order_by("pk")[:40])
        closed = list(rows.filter(status__in=["resolved", "closed"]).order_by("-pk")[:40])
        assert open_ones and closed
        assert any(t.first_response_due or t.resolution_due for t in open_ones)
        for ticket in open_ones + closed:
            stored = (
                ticket.sla_state,
                ticket.first_response_due,
                ticket.next_update_due,
                ticket.resolution_due,
            )
            recompute_sla(ticket, now=as_of, save=False)
            assert stored == (
                ticket.sla_state,
                ticket.first_response_due,
                ticket.next_update_due,
                ticket.resolution_due,
            ), ticket.pk


def test_every_reference_of_the_generated_rows_exists(db) -> None:  # type: ignore[no-untyped-def]
    # PostgreSQL may load without the row-by-row foreign-key triggers: check them in bulk.
    _generate()
    with system_context("test: foreign keys"):
        for model in (Ticket, TicketEvent, Comment, TimeEntry, Handoff, Ticket.watchers.through):
            for field in model._meta.concrete_fields:
                if not field.is_relation:
                    continue
                target = field.related_model._base_manager.values("pk")
                dangling = (
                    model._base_manager.exclude(**{f"{field.attname}__isnull": True})
                    .exclude(**{f"{field.attname}__in": target})
                    .count()
                )
                assert dangling == 0, f"{model.__name__}.{field.name}"


def _listed(client: Any, url: str) -> list[dict[str, Any]]:
    """Every item of a paginated list (page until a page comes back short)."""
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(url, {"limit": 100, "offset": len(items)})
        assert page.status_code == 200
        found = page.json()["items"]
        items += found
        if len(found) < 100:
            return items


def test_the_api_shows_a_provider_technician_only_its_engagements(db, client) -> None:  # type: ignore[no-untyped-def]
    _generate()
    with system_context("test: who may see what"):
        tech = User.objects.get(email="tech1@scale-msp-01.scale.test")
        provider = Provider.objects.get(slug="scale-msp-01")
        scopes = {p: s for p, s in _scopes().items() if s[3] == provider.pk}
        held = set(
            TicketEvent.objects.filter(party_id__in=scopes).values_list("ticket_id", flat=True)
        )
        expected = set()
        for tenant_id, areas, sites, _ in scopes.values():
            for pk, area, site in Ticket.objects.filter(tenant_id=tenant_id).values_list(
                "pk", "service_area_id", "site_id"
            ):
                if (area in areas and (not sites or site in sites)) or pk in held:
                    expected.add(pk)
        total = Ticket.objects.filter(tenant__slug__startswith="scale-").count()
    assert scopes and 0 < len(expected) < total
    client.force_login(tech)
    listed = _listed(client, "/api/v1/tickets")
    assert {t["id"] for t in listed} == expected
    engaged = {tenant_id: (areas, sites) for tenant_id, areas, sites, _ in scopes.values()}
    for ticket in listed:
        areas, sites = engaged[ticket["tenant_id"]]
        assert ticket["service_area_id"] in areas
        assert not sites or ticket["site_id"] is None or ticket["site_id"] in sites


def test_the_api_shows_a_requester_only_own_tickets(db, client) -> None:  # type: ignore[no-untyped-def]
    _generate()
    with system_context("test: own tickets"):
        requester = User.objects.get(email="user1@scale-0001.scale.test")
        own = set(Ticket.objects.filter(requester=requester).values_list("pk", flat=True))
    assert own
    client.force_login(requester)
    assert {t["id"] for t in _listed(client, "/api/v1/tickets")} == own


def test_the_audit_chains_verify_with_one_entry_per_tenant(db, capsys) -> None:  # type: ignore[no-untyped-def]
    before = _counts()
    summary = _generate()
    assert tandem(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    with system_context("test: audit"):
        for tenant in Tenant.objects.filter(slug__startswith="scale-"):
            assert f"ok    tenant:{tenant.pk}:" in out
            entries = AuditEntry.objects.filter(tenant=tenant)
            data = entries.get(action="servicedesk.generate_scale_data")
            assert data.changes["tickets"][1] == Ticket.objects.filter(tenant=tenant).count()
            assert entries.filter(action="servicedesk.generate_scale_desk").count() == 1
            # One entry per configuration step, none per ticket, note or person.
            assert entries.count() < 30
        staff = AuditEntry.objects.filter(action="accounts.generate_scale_staff")
        assert staff.count() == 2
    assert _counts()["audit"] - before["audit"] < 30 * summary.tenants + 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tenants", "0"], "--tenants: Use 1 to 9999"),
        (["--tenants", "10000"], "--tenants: Use 1 to 9999"),
        (["--providers", "0"], "--providers: Use 1 to 99"),
        (["--providers", "100"], "--providers: Use 1 to 99"),
        (["--tickets", "-1"], "--tickets: Use 0 to"),
        (["--seed", "-3"], "--seed"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(db, capsys, argv, message) -> None:  # type: ignore[no-untyped-def]
    before = _counts()
    assert tandem(["demo", "--scale", *argv]) == 2
    assert message in capsys.readouterr().err
    assert _counts() == before


def test_scale_options_need_scale(db, capsys) -> None:  # type: ignore[no-untyped-def]
    before = _counts()
    assert tandem(["demo", "--tenants", "3"]) == 2
    assert "--tenants only go with --scale" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        tandem(["demo", "--scale", "--tickets", "many"])
    assert exit_.value.code == 2
    assert _counts() == before


def test_the_command_reports_progress_and_refuses_a_second_run(db, capsys) -> None:  # type: ignore[no-untyped-def]
    # Through the command, with its worker processes.
    argv = ["demo", "--scale", "--tenants", "2", "--providers", "1", "--tickets", "80"]
    assert tandem([*argv, "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "tenants    2/2  tickets        80/80 (100%)" in out
    assert "Scale data written in" in out and "80 tickets" in out
    assert "it1@scale-0001.scale.test" in out and "tech1@scale-msp-01.scale.test" in out
    before = _counts()
    assert before["tickets"] >= 80
    assert tandem(argv) == 1
    assert "scale data is already present" in capsys.readouterr().err
    assert _counts() == before


@pytest.mark.django_db(transaction=True)
def test_a_run_that_owns_its_transactions_commits_tenant_by_tenant(capsys) -> None:  # type: ignore[no-untyped-def]
    # As from the command line (no test transaction around it): on PostgreSQL the desks
    # are configured in a second thread while tickets are written; the tasks the services
    # queue run at each desk's commit and leave nothing in the queue.
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.count()
    argv = ["demo", "--scale", "--tenants", "3", "--providers", "2", "--tickets", "150"]
    assert tandem([*argv, "--seed", "9"]) == 0
    assert "Scale data written in" in capsys.readouterr().out
    with system_context("test: committed scale data"):
        assert Ticket.objects.filter(tenant__slug__startswith="scale-").count() == 150
        for tenant in Tenant.objects.filter(slug__startswith="scale-"):
            count = Ticket.objects.filter(tenant=tenant).count()
            assert DeskSettings.objects.get(tenant=tenant).next_number == count + 1
    assert DBTaskResult.objects.count() == queued
    assert tandem(["audit", "verify"]) == 0
