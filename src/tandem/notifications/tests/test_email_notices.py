"""E-mail to IT people on assignment, handoff, public reply, SLA warning and breach: who gets
one, what it says (and never says), per-person preferences, and the check when it is sent.

Mail goes through Django's test outbox here; servicedesk/mail/tests/test_mail_over_smtp.py
sends it over SMTP.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail as django_mail
from tests.clock import earlier
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.audit.models import AuditEntry
from tandem.core.errors import InvalidInput
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.notifications import services
from tandem.notifications.models import EmailNotice, Notification, Webhook
from tandem.servicedesk import sla_alerts
from tandem.servicedesk.mail import services as mail_services
from tandem.servicedesk.mail.models import OutboundMessage
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Engagement, Party, Tenant
from tandem.tenancy.services import suspend_engagement

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
# Before the world's own tickets, whose clocks would otherwise raise alerts of their own.
MONDAY = earlier(0, 0, BERLIN, span=2)
SITE = "https://desk.example.com"


@pytest.fixture(autouse=True)
def mail_settings(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = SITE
    settings.MAIL_DOMAIN = "tandem.localhost"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings


def _as(world, persona):  # type: ignore[no-untyped-def]
    return resolve_principal(user_of(world, persona))


def _ticket(world, name="ticket"):  # type: ignore[no-untyped-def]
    with system_context("test"):
        return Ticket.objects.select_related("tenant").get(pk=world[name])


def _mails_to(address: str) -> list[django_mail.EmailMessage]:
    return [m for m in django_mail.outbox if m.to == [address]]


def _addresses() -> list[str]:
    return sorted(m.to[0] for m in django_mail.outbox)


def _assign(world, actor_persona, assignee_persona, capture):  # type: ignore[no-untyped-def]
    actor = _as(world, actor_persona)
    with capture(execute=True), principal_scope(actor):
        ticket_services.assign_ticket(
            actor=actor, ticket=_ticket(world), assignee=user_of(world, assignee_persona)
        )


def _hand_to_northwind(world, capture, *, execute=True):  # type: ignore[no-untyped-def]
    actor = _as(world, "internal_tech")
    with system_context("test"):
        northwind = Party.objects.get(pk=world["party"])
    with capture(execute=execute) as callbacks, principal_scope(actor):
        ticket_services.handoff_ticket(
            actor=actor, ticket=_ticket(world), to_party=northwind, reason="Needs a patch run"
        )
    return callbacks


# --- Assignment ----------------------------------------------------------------------------------


def test_assignment_mails_the_assignee_a_short_notice(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    _assign(world, "owner", "internal_tech", django_capture_on_commit_callbacks)
    ticket = _ticket(world)
    [sent] = django_mail.outbox
    assert sent.to == ["tech@acme.test"]
    assert sent.subject == f"[acme#{ticket.number}] Assigned to you: Acme file server is slow"
    body = sent.body
    assert "owner@acme.test assigned it to you." in body
    assert "Tenant:   Acme Corp" in body
    assert f"Priority: P{ticket.priority}" in body
    assert f"Open the ticket: {SITE}/tickets/{ticket.pk}/" in body
    assert f"{SITE}/account/notifications/" in body
    # The due time is the holder's next SLA target, in the tenant's zone.
    local = ticket.first_response_due.astimezone(BERLIN)  # type: ignore[union-attr]
    assert f"Due:      First response by {local:%Y-%m-%d %H:%M} (Europe/Berlin)" in body
    # Threading and loop protection as for every desk mail.
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert sent.reply_to == [f"acme+{ticket.number}@tandem.localhost"]
    with system_context("test"):
        logged = OutboundMessage.objects.get(ticket=ticket, kind="assigned")
    assert logged.status == "sent" and logged.to_address == "tech@acme.test"


def test_nobody_is_mailed_about_their_own_action(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    _assign(world, "internal_tech", "internal_tech", django_capture_on_commit_callbacks)
    assert django_mail.outbox == []
    with system_context("test"):
        # Only the requester's acknowledgement of the world's ticket: no assignment mail.
        kinds = set(
            OutboundMessage.objects.filter(ticket_id=world["ticket"]).values_list("kind", flat=True)
        )
    assert kinds == {"ticket_created"}


# --- Handoff -------------------------------------------------------------------------------------


def test_a_handoff_mails_the_receiving_partys_people_only(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    _hand_to_northwind(world, django_capture_on_commit_callbacks)
    # Northwind's technician and admin; not the one who handed it over, nor Acme's owner,
    # nor the other providers.
    assert _addresses() == ["admin@northwind.test", "tech@northwind.test"]
    [sent] = _mails_to("tech@northwind.test")
    ticket = _ticket(world)
    assert sent.subject == f"[acme#{ticket.number}] Handed to you: Acme file server is slow"
    assert sent.body.startswith("Hello Provider Tech,\n")
    assert (
        "The ticket is now with your party. tech@acme.test handed it from Acme Corp IT to "
        "Northwind MSP: Needs a patch run" in sent.body
    )


def test_the_people_working_a_ticket_are_its_assignee_else_the_partys(  # type: ignore[no-untyped-def]
    world,
) -> None:
    # working_people: the assignee when there is one for that party, else the party's people.
    ticket = _ticket(world)
    with system_context("test"):
        internal = Party.objects.get(pk=world["internal_party"])
        ticket.assignee = user_of(world, "internal_tech")
        everyone = services.working_people(ticket, internal)
        ticket.assignee = None
        nobody_assigned = services.working_people(ticket, internal)
    assert [u.email for u in everyone] == ["tech@acme.test"]
    assert {u.email for u in nobody_assigned} >= {"owner@acme.test", "tech@acme.test"}


def test_a_muted_kind_mails_nobody_but_still_notifies_in_the_app(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    tech = _as(world, "provider_tech")
    services.set_email_preferences(actor=tech, email={"handoff": False})
    _hand_to_northwind(world, django_capture_on_commit_callbacks)
    assert _addresses() == ["admin@northwind.test"]
    with system_context("test"):
        assert Notification.objects.filter(
            user_id=world["user:provider_tech"], kind="handoff"
        ).exists()


# --- Public reply --------------------------------------------------------------------------------


def test_a_public_reply_mails_the_assignee_and_it_watchers_without_its_text(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    ticket = _ticket(world)
    _assign(world, "owner", "internal_tech", django_capture_on_commit_callbacks)
    with system_context("test"):
        ticket.watchers.add(user_of(world, "owner"))
    django_mail.outbox.clear()
    requester = _as(world, "requester")
    with django_capture_on_commit_callbacks(execute=True), principal_scope(requester):
        ticket_notes.add_comment(
            actor=requester,
            ticket=_ticket(world),
            body="My password is Hunter2, please log in as me",
            visibility="public",
        )
    # The assignee and the watching owner; the requester (author) hears nothing.
    assert _addresses() == ["owner@acme.test", "tech@acme.test"]
    for sent in django_mail.outbox:
        assert sent.subject == f"[acme#{ticket.number}] New public reply: Acme file server is slow"
        assert "requester@acme.test wrote a public reply." in sent.body
        assert "Hunter2" not in sent.body


def test_no_tier_reaches_it_mail_even_through_a_tenant_template(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    """A tenant's template for IT mail may name ``comment_body``; it stays empty, so no
    party-private or IT-shared text can reach someone whose party may not read it."""
    owner = _as(world, "owner")
    with system_context("test"):
        acme = Tenant.objects.get(pk=world["tenant"])
    with principal_scope(owner):
        mail_services.set_mail_template(
            actor=owner,
            tenant=acme,
            kind="handoff",
            subject="Yours now: {{ ticket_subject }} ({{ ticket_priority }})",
            body="[{{ comment_body }}|{{ author_name }}] {{ reason }} {{ ticket_url }}",
        )
    tech = _as(world, "internal_tech")
    with principal_scope(tech):
        ticket_notes.add_comment(
            actor=tech, ticket=_ticket(world), body="Acme-only secret", visibility="private"
        )
    _hand_to_northwind(world, django_capture_on_commit_callbacks)
    [sent] = _mails_to("tech@northwind.test")
    ticket = _ticket(world)
    assert sent.subject == f"[acme#{ticket.number}] Yours now: Acme file server is slow (P3)"
    assert sent.body.startswith("[|] tech@acme.test handed it from")
    assert "Acme-only secret" not in sent.body


# --- SLA warning and breach ----------------------------------------------------------------------


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """``day`` 10 is a working Monday in the past and 11 the working Tuesday after it (the
    days of the month these tests were first written for)."""
    return MONDAY + dt.timedelta(days=day - 10, hours=hour, minutes=minute)


def test_sla_warning_and_breach_mail_the_holders_people_once(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    with system_context("test"):
        ticket = ticket_services.create_ticket(
            actor=system_principal("test"),
            tenant=Tenant.objects.get(pk=world["tenant"]),
            requester=user_of(world, "requester"),
            subject="Backup job failed",
            category_id=world["category"],
            site_id=world["site"],
            impact=2,
            urgency=2,
            now=_at(10, 9),
        )
    owner = _as(world, "owner")
    services.set_email_preferences(actor=owner, email={"sla_warning": False})
    # The world's webhook subscribes to breaches; it has no server to reach here.
    with system_context("test"):
        hook = Webhook.objects.get(pk=world["webhook"])
    with principal_scope(owner):
        services.disable_webhook(actor=owner, webhook=hook)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_alerts.check_sla(now=_at(10, 12, 15)) == 1
    # Acme IT holds it: its people with an inbox, minus the owner who muted warnings.
    assert "owner@acme.test" not in _addresses()
    [warning] = _mails_to("tech@acme.test")
    assert warning.subject == (
        f"[acme#{ticket.number}] SLA warning (first response): Backup job failed"
    )
    assert "SLA warning: The first response target of Acme Corp IT is due soon." in warning.body
    assert f"Due:      First response by {MONDAY:%Y-%m-%d} 13:00 (Europe/Berlin)" in warning.body
    assert not [a for a in _addresses() if not a.endswith("@acme.test")]

    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_alerts.check_sla(now=_at(10, 12, 30)) == 0
        assert sla_alerts.check_sla(now=_at(10, 13, 1)) == 1
        assert sla_alerts.check_sla(now=_at(10, 13, 30)) == 0
    [breach] = _mails_to("tech@acme.test")
    assert "owner@acme.test" in _addresses()  # breaches were not muted
    assert breach.subject == (
        f"[acme#{ticket.number}] SLA breached (first response): Backup job failed"
    )
    assert "The first response target of Acme Corp IT was missed." in breach.body
    assert f"{MONDAY:%Y-%m-%d} 13:00 (Europe/Berlin)" in breach.body


# --- When it is sent -----------------------------------------------------------------------------


def test_mail_to_someone_who_lost_access_is_not_sent(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    callbacks = _hand_to_northwind(world, django_capture_on_commit_callbacks, execute=False)
    with system_context("test"):
        engagement = Engagement.objects.get(pk=world["engagement"])
    suspend_engagement(
        actor=system_principal("test"), engagement=engagement, reason="Contract under review"
    )
    for callback in callbacks:
        callback()
    assert django_mail.outbox == []
    with system_context("test"):
        rows = list(OutboundMessage.objects.filter(ticket_id=world["ticket"], kind="handoff"))
    assert len(rows) == 2
    for row in rows:
        assert row.status == "failed"
        assert row.error == f"not sent: {row.to_address} no longer sees this ticket"


def test_every_it_mail_has_a_notice_and_requester_mail_none(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    _hand_to_northwind(world, django_capture_on_commit_callbacks)
    tech = _as(world, "provider_tech")
    with django_capture_on_commit_callbacks(execute=True), principal_scope(tech):
        ticket_notes.add_comment(
            actor=tech, ticket=_ticket(world), body="On it", visibility="public"
        )
    with system_context("test"):
        rows = {o.kind: o for o in OutboundMessage.objects.filter(ticket_id=world["ticket"])}
        notices = {n.outbound_id: n for n in EmailNotice.objects.all()}
    assert rows["public_reply"].pk not in notices  # to the requester: no notice, body included
    assert rows["handoff"].pk in notices
    assert "On it" in _mails_to("requester@acme.test")[0].body


# --- Preferences ---------------------------------------------------------------------------------


def test_preferences_through_the_api(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")
    url = "/api/v1/me/notification-preferences"
    answer = client.get(url).json()
    assert answer["email"] == {
        "assigned": True,
        "public_reply": True,
        "handoff": True,
        "sla_warning": True,
        "sla_breach": True,
        "reopened": True,
    }
    assert answer["kinds"]["handoff"] == "Handed to your party"
    with system_context("test"):
        before = AuditEntry.objects.count()
    changed = client.put(url, {"email": {"sla_warning": False}}, content_type="application/json")
    assert changed.status_code == 200
    assert changed.json()["email"]["sla_warning"] is False
    assert changed.json()["email"]["handoff"] is True
    assert client.get(url).json()["email"]["sla_warning"] is False
    with system_context("test"):
        entry = AuditEntry.objects.order_by("-id").first()
        assert AuditEntry.objects.count() == before + 1
    assert entry is not None and entry.action == "notifications.set_email_preferences"
    assert entry.changes == {"email.sla_warning": [True, False]}
    # Saying the same again changes nothing and writes nothing.
    client.put(url, {"email": {"sla_warning": False}}, content_type="application/json")
    with system_context("test"):
        assert AuditEntry.objects.count() == before + 1
    # Someone else's settings are theirs.
    assert as_persona("provider_admin").get(url).json()["email"]["sla_warning"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"email": {"coffee": False}},
        {"email": {"handoff": "no"}},
        {"email": {"handoff": 0}},
        {"email": {"handoff": False}, "extra": 1},
    ],
)
def test_bad_preferences_are_refused(world, as_persona, body) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    url = "/api/v1/me/notification-preferences"
    answer = client.put(url, body, content_type="application/json")
    assert answer.status_code == 422
    assert all(client.get(url).json()["email"].values())


def test_the_service_refuses_unknown_kinds(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="Unknown kinds"):
        services.set_email_preferences(actor=_as(world, "owner"), email={"breach": False})


def test_preferences_page(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    page = client.get("/account/notifications/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Handed to your party by e-mail" in text and "tech@acme.test" in text
    # Untick "SLA warning" (an unticked box is not sent) and save.
    ticked = {k: "on" for k in ("assigned", "public_reply", "handoff", "sla_breach", "reopened")}
    saved = client.post("/account/notifications/", ticked)
    assert saved.status_code == 302
    answer = client.get("/api/v1/me/notification-preferences").json()["email"]
    assert answer == {
        "assigned": True,
        "public_reply": True,
        "handoff": True,
        "sla_warning": False,
        "sla_breach": True,
        "reopened": True,
    }
    again = client.get("/account/notifications/").content.decode()
    assert 'name="sla_warning"' in again and "Your e-mail preferences are saved." in again
    assert 'name="sla_warning" id="id_sla_warning" checked' not in again
    assert 'name="handoff" id="id_handoff" checked' in again
    # The account menu links to the page.
    assert 'href="/account/notifications/"' in again


def test_a_providers_breach_is_told_to_the_accountable_party_too(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    """Server patching: Acme IT is Responsible and Accountable, Northwind Consulted and on
    duty at night. An urgent ticket at night goes to Northwind; when Northwind misses its
    first response, Acme IT hears of it as well: in the app and by e-mail (unless muted)."""
    with system_context("test"):
        ticket = ticket_services.create_ticket(
            actor=system_principal("test"),
            tenant=Tenant.objects.get(pk=world["tenant"]),
            requester=user_of(world, "requester"),
            subject="Backup server down",
            category_id=world["category"],
            site_id=world["site"],
            impact=1,
            urgency=1,
            now=_at(10, 22),
        )
        hook = Webhook.objects.get(pk=world["webhook"])
    assert ticket.party_id == world["party"]  # Northwind, on duty for P1 at night
    owner = _as(world, "owner")
    with principal_scope(owner):
        services.disable_webhook(actor=owner, webhook=hook)  # no server to reach here
    services.set_email_preferences(actor=_as(world, "internal_tech"), email={"sla_breach": False})
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_alerts.check_sla(now=_at(10, 22, 20)) == 1  # due 22:15
        assert sla_alerts.check_sla(now=_at(10, 23)) == 0  # once

    def inbox(persona: str) -> list[str]:
        with system_context("test"):
            return list(
                Notification.objects.filter(
                    user_id=world[f"user:{persona}"], ticket=ticket, kind="sla_breach"
                ).values_list("text", flat=True)
            )

    # Northwind's people, as before.
    [holder_notice] = inbox("provider_tech")
    assert holder_notice.startswith("SLA breached: first response")
    # Acme IT, Accountable for the row that routed the ticket: owner, technician, auditor.
    for persona in ("owner", "internal_tech", "auditor"):
        [notice] = inbox(persona)
        assert notice.startswith(
            f"SLA breached by Northwind MSP: first response of #{ticket.number}"
        )
        assert notice.endswith("Acme Corp IT is Accountable.")
    assert inbox("requester") == []
    # E-mail: per preference (the technician turned breach e-mail off).
    [mail] = _mails_to("owner@acme.test")
    assert mail.subject == (
        f"[acme#{ticket.number}] SLA breached (first response) on a ticket you are "
        "Accountable for: Backup server down"
    )
    assert (
        "Northwind MSP missed the first response target of a ticket Acme Corp IT is "
        "Accountable for in the responsibility matrix." in mail.body
    )
    assert f"{SITE}/tickets/{ticket.pk}/" in mail.body
    assert _mails_to("tech@acme.test") == []
    assert _mails_to("tech@northwind.test")  # the holder's own breach mail
