"""The desk's and the notifications app's services, each with one minimal call that must add
an audit entry (``DESK_CALLS``) or the reason it adds none (``DESK_NOT_AUDITED``).

``tests/test_service_audit.py`` finds the services and runs these calls on the persona world
(tests/personas.py, with the desk of tests/desk/setup.py); this table is kept beside the
desk's test set-up because it names the desk's world objects.
"""

from __future__ import annotations

from collections.abc import Callable

from tandem.accounts.principals import resolve_principal
from tandem.core.principal import Principal
from tandem.notifications import services as notifications
from tandem.servicedesk.config import services as config
from tandem.servicedesk.config import sla_services as sla
from tandem.servicedesk.config.models import CannedReply, Category, DeskSettings
from tandem.servicedesk.mail import inbound, outbound
from tandem.servicedesk.mail import services as mail
from tandem.servicedesk.mail.models import InboundMessage, OutboundMessage
from tandem.servicedesk.queues import services as queues
from tandem.servicedesk.queues.models import SavedView
from tandem.servicedesk.tickets import link_services as links
from tandem.servicedesk.tickets import note_services as notes
from tandem.servicedesk.tickets import services as tickets
from tandem.servicedesk.tickets.models import Ticket
from tandem.sla.models import Calendar, SlaPolicy
from tandem.tenancy.models import Party, Tenant
from tests.desk.setup import OFFICE
from tests.personas import World, user_of

Call = Callable[[Principal, World], Callable[[], object]]

T = "tandem.servicedesk.tickets.services."
N = "tandem.servicedesk.tickets.note_services."
L = "tandem.servicedesk.tickets.link_services."
C = "tandem.servicedesk.config.services."
S = "tandem.servicedesk.config.sla_services."
Q = "tandem.servicedesk.queues.services."
M = "tandem.servicedesk.mail.services."
MI = "tandem.servicedesk.mail.inbound."
MO = "tandem.servicedesk.mail.outbound."
W = "tandem.notifications.services."

#: Keyword-only public functions of those modules that are not audited writes, with why.
DESK_NOT_AUDITED = {
    L + "check_merge": "a read: says whether a merge would be refused, before asking",
    C + "clean_priority_matrix": "pure validation, shared by the pages and the service",
    C + "set_up_desk": (
        "part of creating a tenant (tenancy.services.create_tenant, which audits it): the "
        "desk's settings row with the defaults"
    ),
    S + "clean_calendar": "pure validation, shared by the pages and the service",
    # The mail pipeline: what no person does.
    MI + "receive_message": (
        "the listener keeps a message as received, before anyone acts; what processing makes "
        "of it (a ticket, a note) is audited by the ticket services"
    ),
    MI + "process_inbound_message": (
        "the worker's processing of a kept message: the ticket or note it makes is audited by "
        "the ticket services, the outcome is recorded on the message"
    ),
    MO + "send_outbound_message": (
        "the worker's delivery of a queued message: the outcome is recorded on the message"
    ),
    # Notifications: subscribers of events their services audited, and the worker's jobs.
    W + "accountable": "a subscriber's wording: whom to tell and what; writes nothing",
    W + "assigned": "a subscriber's wording: whom to tell and what; writes nothing",
    W + "handed_off": "a subscriber's wording: whom to tell and what; writes nothing",
    W + "public_reply": "a subscriber's wording: whom to tell and what; writes nothing",
    W + "reopened": "a subscriber's wording: whom to tell and what; writes nothing",
    W + "sla_alert": "a subscriber's wording: whom to tell and what; writes nothing",
    W + "queue_event_webhooks": (
        "a subscriber: queues the deliveries of an event its own service audited"
    ),
    W + "deliver_webhook": "the worker sends a queued delivery and records the attempt on it",
    W + "requeue_due_deliveries": "a periodic job: queues again the deliveries due a retry",
    W + "mark_notification_read": "a person's own read mark on their own notice",
    W + "mark_all_read": "a person's own read marks on their own notices",
}


def _tenant(world: World) -> Tenant:
    return Tenant.objects.get(pk=world["tenant"])


def _ticket(world: World, name: str = "ticket") -> Ticket:
    return Ticket.objects.get(pk=world[name])


def _person(world: World, persona: str) -> Principal:
    return resolve_principal(user_of(world, persona))


def _assign(actor: Principal, world: World) -> Callable[[], object]:
    ticket = _ticket(world)
    # Someone of the party holding it (who holds it depends on the hour it was opened).
    persona = "internal_tech" if ticket.party_id == world["internal_party"] else "provider_tech"
    return lambda: tickets.assign_ticket(
        actor=actor, ticket=ticket, assignee=user_of(world, persona)
    )


def _rate(actor: Principal, world: World) -> Callable[[], object]:
    ticket = tickets.change_status(actor=actor, ticket=_ticket(world), status="resolved")
    requester = _person(world, "requester")
    return lambda: notes.rate_ticket(actor=requester, ticket=ticket, score=5)


def _unwatch(actor: Principal, world: World) -> Callable[[], object]:
    tech = _person(world, "internal_tech")
    ticket = links.watch_ticket(actor=tech, ticket=_ticket(world))
    return lambda: links.unwatch_ticket(actor=tech, ticket=ticket)


def _statuses(actor: Principal, world: World) -> Callable[[], object]:
    statuses = DeskSettings.objects.get(tenant_id=world["tenant"]).statuses
    return lambda: config.set_statuses(
        actor=actor, tenant=_tenant(world), statuses=[*statuses, ["on-hold", "On hold", "waiting"]]
    )


def _matrix(actor: Principal, world: World) -> Callable[[], object]:
    matrix = DeskSettings.objects.get(tenant_id=world["tenant"]).priority_matrix
    grid = [["P1", "P1", "P2"], *matrix["grid"][1:]]
    return lambda: config.set_priority_matrix(
        actor=actor,
        tenant=_tenant(world),
        impacts=matrix["impacts"],
        urgencies=matrix["urgencies"],
        priorities=matrix["priorities"],
        grid=grid,
    )


def _disable_webhook(actor: Principal, world: World) -> Callable[[], object]:
    webhook, _secret = notifications.create_webhook(
        actor=actor, tenant=_tenant(world), url="https://hooks.acme.test/off", events=["assigned"]
    )
    return lambda: notifications.disable_webhook(actor=actor, webhook=webhook)


def _inbound(world: World, status: str, reason_code: str = "") -> InboundMessage:
    raw = (
        b"From: Pat Jones <pat@example.test>\r\nTo: desk@tandem.test\r\n"
        b"Subject: Printer\r\n\r\nIt jams.\r\n"
    )
    return InboundMessage.objects.create(
        tenant_id=world["tenant"],
        envelope_from="pat@example.test",
        raw=raw,
        size=len(raw),
        status=status,
        reason="kept for the audit check",
        reason_code=reason_code,
    )


def _failed_outbound(world: World) -> OutboundMessage:
    return OutboundMessage.objects.create(
        tenant_id=world["tenant"],
        ticket=_ticket(world),
        kind="public_reply",
        to_address="pat@example.test",
        message_id="<audit-check@tandem.test>",
        status="failed",
        error="connection refused",
    )


def _file(**more: object) -> dict[str, object]:
    return {"filename": "audit.txt", "content_type": "text/plain", "content": b"42\n", **more}


DESK_CALLS: dict[str, Call] = {
    # tickets
    T + "assign_ticket": _assign,
    T + "change_status": lambda a, w: (
        lambda: tickets.change_status(actor=a, ticket=_ticket(w), status="in-progress")
    ),
    T + "create_ticket": lambda a, w: (
        lambda: tickets.create_ticket(
            actor=a,
            tenant=_tenant(w),
            requester=user_of(w, "requester"),
            subject="Audit ticket",
            category_id=w["category"],
        )
    ),
    T + "handoff_ticket": lambda a, w: (
        lambda: tickets.handoff_ticket(
            actor=a,
            ticket=_ticket(w, "sentinel_ticket"),
            to_party=Party.objects.get(pk=w["internal_party"]),
            reason="Back to the tenant's IT",
        )
    ),
    T + "log_ticket_for_caller": lambda a, w: (
        lambda: tickets.log_ticket_for_caller(
            actor=_person(w, "internal_tech"),
            tenant=_tenant(w),
            subject="Caller's printer",
            source="phone",
            requester_id=user_of(w, "requester").pk,
            category_id=w["category"],
        )
    ),
    T + "reprioritise_ticket": lambda a, w: (
        lambda: tickets.reprioritise_ticket(actor=a, ticket=_ticket(w), impact=1)
    ),
    # notes, files, time, the requester's close and rating
    N + "add_comment": lambda a, w: (
        lambda: notes.add_comment(
            actor=_person(w, "internal_tech"), ticket=_ticket(w), body="Looking into it"
        )
    ),
    N + "add_comment_with_file": lambda a, w: (
        lambda: notes.add_comment_with_file(
            actor=_person(w, "internal_tech"), ticket=_ticket(w), body="The log", **_file()
        )
    ),
    N + "attach_file": lambda a, w: (
        lambda: notes.attach_file(actor=_person(w, "internal_tech"), ticket=_ticket(w), **_file())
    ),
    N + "close_ticket_by_requester": lambda a, w: (
        lambda: notes.close_ticket_by_requester(actor=_person(w, "requester"), ticket=_ticket(w))
    ),
    N + "log_time": lambda a, w: (
        lambda: notes.log_time(actor=_person(w, "internal_tech"), ticket=_ticket(w), minutes=15)
    ),
    N + "rate_ticket": _rate,
    # merge, parent, tags, watchers
    L + "link_parent": lambda a, w: (
        lambda: links.link_parent(actor=a, ticket=_ticket(w), parent=_ticket(w, "sentinel_ticket"))
    ),
    L + "merge_ticket": lambda a, w: (
        lambda: links.merge_ticket(actor=a, ticket=_ticket(w, "sentinel_ticket"), into=_ticket(w))
    ),
    L + "set_tags": lambda a, w: (
        lambda: links.set_tags(actor=a, ticket=_ticket(w), tags=["audited"])
    ),
    L + "unwatch_ticket": _unwatch,
    L + "watch_ticket": lambda a, w: (
        lambda: links.watch_ticket(actor=_person(w, "internal_tech"), ticket=_ticket(w))
    ),
    # configuration: categories, canned replies, settings
    C + "add_category": lambda a, w: (
        lambda: config.add_category(
            actor=a, tenant=_tenant(w), name="Audit category", service_area_id=w["service_area"]
        )
    ),
    C + "create_category": lambda a, w: (
        lambda: config.create_category(
            actor=a, tenant=_tenant(w), name="Made category", service_area_id=w["service_area"]
        )
    ),
    C + "create_canned_reply": lambda a, w: (
        lambda: config.create_canned_reply(
            actor=_person(w, "owner"),
            tenant=_tenant(w),
            name="Audit reply",
            body="Thanks",
            shared=True,
        )
    ),
    C + "delete_canned_reply": lambda a, w: (
        lambda: config.delete_canned_reply(
            actor=_person(w, "owner"), reply=CannedReply.objects.get(pk=w["canned_reply"])
        )
    ),
    C + "update_canned_reply": lambda a, w: (
        lambda: config.update_canned_reply(
            actor=_person(w, "owner"),
            reply=CannedReply.objects.get(pk=w["canned_reply"]),
            name="Renamed reply",
        )
    ),
    C + "reactivate_category": lambda a, w: (
        lambda: config.reactivate_category(
            actor=a, category=Category.objects.get(pk=w["retired_category"])
        )
    ),
    C + "retire_category": lambda a, w: (
        lambda: config.retire_category(actor=a, category=Category.objects.get(pk=w["category"]))
    ),
    C + "update_category": lambda a, w: (
        lambda: config.update_category(
            actor=a, category=Category.objects.get(pk=w["category"]), name="Renamed category"
        )
    ),
    C + "set_desk_thresholds": lambda a, w: (
        lambda: config.set_desk_thresholds(actor=a, tenant=_tenant(w), reopen_days=7)
    ),
    C + "set_mail_senders": lambda a, w: (
        lambda: config.set_mail_senders(actor=a, tenant=_tenant(w), sender_policy="anyone")
    ),
    C + "set_priority_matrix": _matrix,
    C + "set_statuses": _statuses,
    # configuration: calendars and SLA policies
    S + "activate_sla_policy": lambda a, w: (
        lambda: sla.activate_sla_policy(
            actor=a, policy=SlaPolicy.objects.get(pk=w["other_sla_policy"])
        )
    ),
    S + "add_calendar": lambda a, w: (
        lambda: sla.add_calendar(
            actor=a, tenant=_tenant(w), name="Audit hours", time_zone="UTC", weekly=OFFICE
        )
    ),
    S + "add_sla_policy": lambda a, w: (
        lambda: sla.add_sla_policy(
            actor=a,
            tenant=_tenant(w),
            name="Sentinel SLA",
            party_id=w["second_party"],
            calendar_id=w["office_calendar"],
            targets={"3": {"resolution": 1440}},
        )
    ),
    S + "create_calendar": lambda a, w: (
        lambda: sla.create_calendar(
            actor=a, tenant=_tenant(w), name="Made hours", time_zone="UTC", weekly=OFFICE
        )
    ),
    S + "create_sla_policy": lambda a, w: (
        lambda: sla.create_sla_policy(
            actor=a,
            tenant=_tenant(w),
            name="Made SLA",
            party=Party.objects.get(pk=w["second_party"]),
            calendar_id=w["office_calendar"],
            targets={"3": {"resolution": 1440}},
        )
    ),
    S + "deactivate_sla_policy": lambda a, w: (
        lambda: sla.deactivate_sla_policy(actor=a, policy=SlaPolicy.objects.get(pk=w["sla_policy"]))
    ),
    S + "delete_calendar": lambda a, w: (
        lambda: sla.delete_calendar(actor=a, calendar=Calendar.objects.get(pk=w["spare_calendar"]))
    ),
    S + "update_calendar": lambda a, w: (
        lambda: sla.update_calendar(
            actor=a, calendar=Calendar.objects.get(pk=w["spare_calendar"]), name="Renamed hours"
        )
    ),
    S + "update_sla_policy": lambda a, w: (
        lambda: sla.update_sla_policy(
            actor=a, policy=SlaPolicy.objects.get(pk=w["sla_policy"]), name="Renamed SLA"
        )
    ),
    # queues
    Q + "bulk_update_tickets": lambda a, w: (
        lambda: queues.bulk_update_tickets(
            actor=a, tickets=[_ticket(w)], action="priority", impact=1
        )
    ),
    Q + "create_saved_view": lambda a, w: (
        lambda: queues.create_saved_view(
            actor=_person(w, "owner"), name="Audit view", filters={"sla": "breached"}
        )
    ),
    Q + "delete_saved_view": lambda a, w: (
        lambda: queues.delete_saved_view(
            actor=_person(w, "owner"), view=SavedView.objects.get(pk=w["saved_view"])
        )
    ),
    # mail
    M + "set_mail_template": lambda a, w: (
        lambda: mail.set_mail_template(
            actor=a,
            tenant=_tenant(w),
            kind="public_reply",
            subject="Update on {{ ticket_subject }}",
            body="{{ ticket_subject }} has an answer.",
        )
    ),
    MI + "retry_inbound_message": lambda a, w: (
        lambda: inbound.retry_inbound_message(actor=a, message=_inbound(w, "failed"))
    ),
    MI + "accept_inbound_message": lambda a, w: (
        lambda: inbound.accept_inbound_message(
            actor=a, message=_inbound(w, "kept", reason_code="sender")
        )
    ),
    MO + "retry_outbound_message": lambda a, w: (
        lambda: outbound.retry_outbound_message(actor=a, outbound=_failed_outbound(w))
    ),
    # notifications
    W + "create_webhook": lambda a, w: (
        lambda: notifications.create_webhook(
            actor=a, tenant=_tenant(w), url="https://hooks.acme.test/audit", events=["assigned"]
        )
    ),
    W + "disable_webhook": _disable_webhook,
    W + "set_email_preferences": lambda a, w: (
        lambda: notifications.set_email_preferences(
            actor=_person(w, "internal_tech"), email={"handoff": False}
        )
    ),
}
