r"""Every write of the notifications app.

The app's subscribers (``notifications.subscribers``) hear of the desk's and the other
apps' domain events (decision 0022) after they commit and turn each into :class:`Tell`\ s:
the in-app :class:`Notification` rows (:func:`notify`, right after the commit), one e-mail
per person told (an ``OutboundMessage`` of the desk's mail pipeline with the
:class:`EmailNotice` that words it, unless the person turned e-mail off for that kind) and
one pending :class:`WebhookDelivery` per subscribed webhook (:func:`mail_and_webhooks`, in
the worker). The worker then sends the mail and delivers the webhooks (``deliver_webhook``),
with retries and exponential backoff. The notifications themselves are bookkeeping of a
change that is already audited, so they are not audited again; creating and disabling
webhooks and changing one's e-mail preferences is.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from tandem.accounts.models import User
from tandem.audit.services import diff, record_audit
from tandem.core import events as domain_events
from tandem.core.errors import Conflict, require
from tandem.core.policies import SIGNED_IN, authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.notifications import targets
from tandem.notifications.choices import DeliveryStatus, NotificationKind
from tandem.notifications.models import (
    EmailNotice,
    Notification,
    NotificationPreference,
    Webhook,
    WebhookDelivery,
)
from tandem.notifications.policies import MANAGE_WEBHOOK
from tandem.notifications.queries import (
    email_muted,
    email_preferences,
    it_people_among,
    own_notifications,
    party_people,
)
from tandem.servicedesk.mail.services import queue_message
from tandem.tenancy.models import Party, Tenant

log = logging.getLogger(__name__)

MAX_URL = 500
MAX_WEBHOOKS_PER_TENANT = 20
#: Waits after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure is final.
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=12),
)
MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 10
#: A claimed delivery is not claimed again for this long (a worker that died mid-send).
CLAIM_LEASE = dt.timedelta(minutes=5)


# --- Emitting --------------------------------------------------------------------------------


def _ticket_label(ticket: Any) -> str:
    return f"#{ticket.number} {ticket.subject}"


def _notify(
    *, ticket: Any, kind: str, text: str, users: Iterable[User], exclude_user_id: int | None
) -> list[Notification]:
    rows = [
        Notification(tenant_id=ticket.tenant_id, user=u, kind=kind, ticket=ticket, text=text[:500])
        for u in users
        if u.pk != exclude_user_id
    ]
    with system_context("write notifications"):
        Notification.objects.bulk_create(rows)
    return rows


def _queue_webhooks(
    *, ticket: Any, kind: str, text: str, extra: dict[str, Any], occurred_at: dt.datetime
) -> None:
    """A pending delivery per active webhook of the tenant that subscribes to ``kind``;
    their sending is enqueued once the caller's transaction commits. The payload is the one
    ticket events always had: the ticket as it is now, ``occurred_at`` the event's time."""
    with system_context("queue webhook deliveries"):
        hooks = [
            h
            for h in Webhook.objects.filter(tenant_id=ticket.tenant_id, is_active=True)
            if kind in h.events
        ]
        if not hooks:
            return
        payload = {
            "event": kind,
            "occurred_at": occurred_at.isoformat(),
            "tenant_id": ticket.tenant_id,
            "ticket": {
                "id": ticket.pk,
                "number": ticket.number,
                "subject": ticket.subject,
                "priority": ticket.priority,
                "status": ticket.status,
                "party_id": ticket.party_id,
                "assignee_id": ticket.assignee_id,
            },
            "text": text,
            **extra,
        }
        _create_deliveries(hooks, kind, payload)


def queue_event_webhooks(
    *, tenant_id: int, event_type: str, data: dict[str, Any], occurred_at: dt.datetime
) -> int:
    """A pending delivery per active webhook of the tenant that subscribes to the domain
    event ``event_type`` (``ticket.opened``, ``engagement.suspended``, ...; the catalogue is
    ``core.events.event_types()``). The payload is ``event``, ``occurred_at``,
    ``tenant_id`` and the event's own values under ``data``. Returns how many."""
    with system_context("queue webhook deliveries"):
        hooks = [
            h
            for h in Webhook.objects.filter(tenant_id=tenant_id, is_active=True)
            if event_type in h.events
        ]
        if not hooks:
            return 0
        payload = {
            "event": event_type,
            "occurred_at": occurred_at.isoformat(),
            "tenant_id": tenant_id,
            "data": data,
        }
        return len(_create_deliveries(hooks, event_type, payload))


def _create_deliveries(
    hooks: list[Webhook], event: str, payload: dict[str, Any]
) -> list[WebhookDelivery]:
    now = timezone.now()
    created = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                tenant_id=h.tenant_id,
                webhook=h,
                event=event,
                payload=payload,
                next_attempt_at=now,
            )
            for h in hooks
        ]
    )
    for delivery in created:
        transaction.on_commit(functools.partial(_enqueue_delivery, delivery.pk), robust=True)
    return created


def _enqueue_delivery(delivery_id: int, run_after: dt.datetime | None = None) -> None:
    task = (
        deliver_webhook_task
        if run_after is None
        else deliver_webhook_task.using(run_after=run_after)
    )
    task.enqueue(delivery_id)


#: The desk's mail kind (``servicedesk.choices.MailKind``) of each event, when it is mailed
#: to IT people. Each has a built-in template and may have the tenant's own.
MAIL_KINDS: dict[str, str] = {
    NotificationKind.ASSIGNED: "assigned",
    NotificationKind.HANDOFF: "handoff",
    NotificationKind.PUBLIC_REPLY: "it_public_reply",
    NotificationKind.SLA_WARNING: "sla_warning",
    NotificationKind.SLA_BREACH: "sla_breach",
    NotificationKind.REOPENED: "reopened",
}
_DUE_LABELS = (
    ("first_response_due", "first response"),
    ("next_update_due", "next update"),
    ("resolution_due", "resolution"),
)


def next_due(ticket: Any) -> tuple[dt.datetime | None, str]:
    """The holder's next SLA target that is still running (or breached): when, and which."""
    dues = [
        (getattr(ticket, field), label)
        for field, label in _DUE_LABELS
        if getattr(ticket, field) is not None
    ]
    return min(dues, key=lambda pair: pair[0]) if dues else (None, "")


def _mail(
    *,
    ticket: Any,
    kind: str,
    users: Iterable[User],
    exclude_user_id: int | None,
    reason: str,
    due: tuple[dt.datetime | None, str] | None = None,
    mail_kind: str | None = None,
) -> list[EmailNotice]:
    """Queue one short e-mail about ``ticket`` per person in ``users``: not the actor, not
    anybody without an address or inactive, nor those who turned e-mail off for ``kind``.

    Runs inside the caller's transaction: the mail is due exactly when the change commits,
    and is sent after it (``servicedesk.mail.outbound``). ``users`` are IT people picked
    the same way as for the in-app notification; the mail names no note's text.
    ``mail_kind`` words it otherwise than ``kind``'s own mail (the preference that applies
    is still ``kind``'s).
    """
    people = {u.pk: u for u in users if u.pk != exclude_user_id and u.is_active and u.email}
    if not people:
        return []
    muted = email_muted(kind, people)
    due_at, due_label = due if due is not None else next_due(ticket)
    notices = []
    with within_tenant(ticket.tenant_id):
        for pk in sorted(set(people) - muted):
            outbound = queue_message(ticket, mail_kind or MAIL_KINDS[kind], people[pk].email)
            notices.append(
                EmailNotice.objects.create(
                    tenant_id=ticket.tenant_id,
                    outbound=outbound,
                    user=people[pk],
                    event=kind,
                    reason=reason[:500],
                    due_at=due_at,
                    due_label=due_label,
                )
            )
    return notices


@dataclass(frozen=True)
class Actor:
    """Who caused an event, as the event names them: never told of their own doing."""

    user_id: int | None
    label: str


@dataclass
class Tell:
    """One event on ``ticket`` as the people told of it hear it: an in-app notice and a
    short e-mail (per each person's preferences) to ``people`` but ``exclude_user_id``, and
    (when ``webhook_extra`` is not None) the tenant's webhooks of ``kind``."""

    ticket: Any
    kind: str
    text: str
    people: list[User]
    reason: str
    exclude_user_id: int | None = None
    webhook_extra: dict[str, Any] | None = None
    due: tuple[dt.datetime | None, str] | None = None
    mail_kind: str | None = None


def notify(tells: Iterable[Tell]) -> None:
    """The in-app part of ``tells`` (cheap: run right after the change commits)."""
    for t in tells:
        _notify(
            ticket=t.ticket,
            kind=t.kind,
            text=t.text,
            users=t.people,
            exclude_user_id=t.exclude_user_id,
        )


def mail_and_webhooks(tells: Iterable[Tell], *, occurred_at: dt.datetime) -> None:
    """The e-mail and webhook part of ``tells`` (run in the worker)."""
    for t in tells:
        _mail(
            ticket=t.ticket,
            kind=t.kind,
            users=t.people,
            exclude_user_id=t.exclude_user_id,
            reason=t.reason,
            due=t.due,
            mail_kind=t.mail_kind,
        )
        if t.webhook_extra is not None:
            _queue_webhooks(
                ticket=t.ticket,
                kind=t.kind,
                text=t.text,
                extra=t.webhook_extra,
                occurred_at=occurred_at,
            )


def assigned(*, actor: Actor, ticket: Any) -> list[Tell]:
    """Tell the new assignee (unless they assigned it to themselves)."""
    if ticket.assignee_id is None:
        return []
    return [
        Tell(
            ticket=ticket,
            kind=NotificationKind.ASSIGNED,
            text=f"{_ticket_label(ticket)} was assigned to you by {actor.label}.",
            people=[ticket.assignee],
            reason=f"{actor.label} assigned it to you.",
            exclude_user_id=actor.user_id,
            webhook_extra={"actor": actor.label},
        )
    ]


def working_people(ticket: Any, party: Party) -> list[User]:
    """Who works ``ticket`` for ``party``: its assignee if they act for that party, else the
    party's people in the tenant (``party_people``)."""
    people = party_people(party)
    if ticket.assignee_id is not None and ticket.party_id == party.pk:
        assigned = [u for u in people if u.pk == ticket.assignee_id]
        if assigned:
            return assigned
    return people


def handed_off(*, actor: Actor, ticket: Any, handoff: Any) -> list[Tell]:
    """Tell the receiving party's people that the ticket is theirs now. ``ticket`` is the
    ticket as it is now: a later handoff's receivers are its own event's business."""
    return [
        Tell(
            ticket=ticket,
            kind=NotificationKind.HANDOFF,
            text=f"{_ticket_label(ticket)} was handed to {handoff.to_party.name}: {handoff.reason}",
            people=working_people(ticket, handoff.to_party),
            reason=(
                f"{actor.label} handed it from {handoff.from_party.name} to "
                f"{handoff.to_party.name}: {handoff.reason}"
            ),
            exclude_user_id=actor.user_id,
            webhook_extra={
                "from_party_id": handoff.from_party_id,
                "to_party_id": handoff.to_party_id,
                "reason": handoff.reason,
                "ping_pong": handoff.is_ping_pong,
            },
        )
    ]


def public_reply(*, actor: Actor, comment: Any) -> list[Tell]:
    """A public note (from IT or the requester): tell the assignee and the watching IT
    people, never the author. Internal and shared notes notify nobody here."""
    if comment.visibility != "public":
        return []
    ticket = comment.ticket
    with system_context("who watches a ticket"):
        watchers = list(ticket.watchers.all())
    candidates = [*watchers, *([ticket.assignee] if ticket.assignee_id else [])]
    return [
        Tell(
            ticket=ticket,
            kind=NotificationKind.PUBLIC_REPLY,
            text=f"New public reply on {_ticket_label(ticket)} from {comment.author_label}.",
            people=it_people_among(ticket.tenant_id, candidates),
            reason=f"{comment.author_label} wrote a public reply.",
            exclude_user_id=actor.user_id,
            webhook_extra={"comment_id": comment.pk},
        )
    ]


def reopened(*, actor: Actor, ticket: Any, follow_up: Any | None) -> list[Tell]:
    """The requester answered ``ticket`` after it was resolved: tell the people who work it
    for its holder party that it is open again, or that ``follow_up`` was opened for the
    answer because the reopen window had passed."""
    holder = follow_up if follow_up is not None else ticket
    if follow_up is None:
        text = f"{_ticket_label(ticket)} was reopened: {actor.label} answered it."
        reason = f"{actor.label} answered the resolved ticket, which reopened it."
    else:
        text = (
            f"{_ticket_label(follow_up)} was opened: {actor.label} answered "
            f"#{ticket.number} after its reopen window."
        )
        reason = f"{actor.label} answered #{ticket.number} after its reopen window."
    with system_context("who holds a reopened ticket"):
        party = Party.objects.get(pk=holder.party_id) if holder.party_id else None
    return [
        Tell(
            ticket=holder,
            kind=NotificationKind.REOPENED,
            text=text,
            people=working_people(holder, party) if party is not None else [],
            reason=reason,
            exclude_user_id=actor.user_id,
            webhook_extra={"follow_up_of": ticket.pk} if follow_up is not None else {},
        )
    ]


def sla_alert(
    *,
    ticket: Any,
    party: Party,
    metric: str,
    kind: str,
    due_at: dt.datetime,
    target_due: dt.datetime,
) -> list[Tell]:
    """A warning (``due_at`` is when it fell due) or breach (``due_at`` is the missed
    target) of ``party``'s ``metric``, told to that party's people and, for a breach, to the
    Accountable party's (``accountable``); ``target_due`` is the target the e-mail names."""
    label = metric.replace("_", " ")
    if kind == NotificationKind.SLA_BREACH:
        text = (
            f"SLA breached: {label} of {_ticket_label(ticket)} was due {due_at:%Y-%m-%d %H:%M} UTC."
        )
        reason = f"The {label} target of {party.name} was missed."
    else:
        text = f"SLA warning: {label} of {_ticket_label(ticket)} is due soon."
        reason = f"The {label} target of {party.name} is due soon."
    people = party_people(party)
    tells = [
        Tell(
            ticket=ticket,
            kind=kind,
            text=text,
            people=people,
            reason=reason,
            due=(target_due, label),
            webhook_extra={"metric": metric, "party_id": party.pk, "due_at": due_at.isoformat()},
        )
    ]
    if kind == NotificationKind.SLA_BREACH:
        tells += accountable(
            ticket=ticket, holder=party, label=label, due_at=target_due, told=people
        )
    return tells


def accountable_party(ticket: Any, holder: Party) -> Party | None:
    """The Accountable party of the matrix row that routed ``ticket``, when that is not the
    party that missed the target (which hears of its own breaches anyway); None without
    such a row."""
    row = ticket.routing_row
    if row is None or row.accountable_id == holder.pk:
        return None
    return row.accountable  # type: ignore[no-any-return]


def accountable(
    *, ticket: Any, holder: Party, label: str, due_at: dt.datetime, told: Iterable[User]
) -> list[Tell]:
    """A breach by the holder (an MSP, say) is also the business of the party Accountable
    for the ticket in the responsibility matrix (usually the tenant's own IT): its people
    get the in-app notice and, unless they turned SLA-breach e-mail off, a mail that says
    who missed what. No webhook: the breach's own delivery covers it."""
    party = accountable_party(ticket, holder)
    if party is None:
        return []
    already = {u.pk for u in told}
    people = [u for u in party_people(party) if u.pk not in already]
    if not people:
        return []
    text = (
        f"SLA breached by {holder.name}: {label} of {_ticket_label(ticket)} was due "
        f"{due_at:%Y-%m-%d %H:%M} UTC. {party.name} is Accountable."
    )[:500]
    reason = (
        f"{holder.name} missed the {label} target of a ticket {party.name} is "
        "Accountable for in the responsibility matrix."
    )
    return [
        Tell(
            ticket=ticket,
            kind=NotificationKind.SLA_BREACH,
            text=text,
            people=people,
            reason=reason,
            due=(due_at, label),
            mail_kind="accountable_breach",
        )
    ]


# --- Reading ---------------------------------------------------------------------------------


def mark_notification_read(
    *, actor: Principal, notification: Notification, now: dt.datetime | None = None
) -> Notification:
    """Mark one of the actor's own notifications read (again is a no-op)."""
    require(notification.user_id == actor.user_id, "notification_id", "Not yours.")
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        with within_tenant(notification.tenant_id):
            Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
                read_at=notification.read_at
            )
    return notification


def mark_all_read(*, actor: Principal, now: dt.datetime | None = None) -> int:
    return own_notifications(actor, unread=True).update(read_at=now or timezone.now())


# --- E-mail preferences ------------------------------------------------------------------------


def set_email_preferences(*, actor: Principal, email: dict[str, bool]) -> dict[str, bool]:
    """Turn e-mail on or off per kind of notification, for the actor themselves. Kinds not
    named keep their setting; in-app notifications are not affected. Returns every kind's
    setting afterwards. Audited in the instance chain (a person's own setting belongs to no
    tenant), only when something changed."""
    authorize(actor, SIGNED_IN)
    require(actor.user_id is not None, "email", "Only a person has e-mail preferences.")
    unknown = sorted(set(email) - set(NotificationKind.values))
    require(not unknown, "email", f"Unknown kinds {unknown}; use {NotificationKind.values}.")
    for kind, value in email.items():
        require(isinstance(value, bool), "email", f"Say true or false for {kind}.")
    assert actor.user_id is not None
    with transaction.atomic():
        before = email_preferences(actor.user_id)
        changes = {
            kind: [before[kind], value] for kind, value in email.items() if before[kind] != value
        }
        if not changes:
            return before
        for kind in changes:
            NotificationPreference.objects.update_or_create(
                user_id=actor.user_id, kind=kind, defaults={"email": email[kind]}
            )
        record_audit(
            actor=actor,
            action="notifications.set_email_preferences",
            target=User.objects.get(pk=actor.user_id),
            tenant_id=None,
            changes={f"email.{kind}": pair for kind, pair in sorted(changes.items())},
        )
    return before | {kind: pair[1] for kind, pair in changes.items()}


# --- Webhooks --------------------------------------------------------------------------------


def clean_webhook_url(url: str) -> str:
    url = (url or "").strip()
    require(bool(url), "url", "Give the URL.")
    require(len(url) <= MAX_URL, "url", f"At most {MAX_URL} characters.")
    require(not any(c.isspace() for c in url), "url", "A URL has no spaces.")
    parts = urlsplit(url)
    require(parts.scheme in ("http", "https"), "url", "Use an http:// or https:// URL.")
    require(bool(parts.hostname), "url", "The URL needs a host name.")
    require(not parts.username and not parts.password, "url", "No credentials in the URL.")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        require(False, "url", "The port is not a number between 0 and 65535.")
    try:
        targets.check_url_host(parts.hostname or "")
    except targets.TargetRefused as exc:
        require(False, "url", str(exc))
    return url


def webhook_event_names() -> list[str]:
    """What a webhook may subscribe to: the notification kinds (with the ticket payload
    they always had) and every domain event type of the catalogue (decision 0022)."""
    return [*NotificationKind.values, *domain_events.event_types()]


def create_webhook(
    *, actor: Principal, tenant: Tenant, url: str, events: Iterable[str]
) -> tuple[Webhook, str]:
    """Register an endpoint for some event kinds. Returns the webhook and its signing
    secret, which is shown only this once."""
    authorize(actor, MANAGE_WEBHOOK, tenant)
    url = clean_webhook_url(url)
    kinds = sorted(set(events))
    require(bool(kinds), "events", "Choose at least one event.")
    unknown = sorted(set(kinds) - set(webhook_event_names()))
    require(
        not unknown,
        "events",
        f"Unknown events {unknown}; use {NotificationKind.values} or an event type of "
        f"{sorted(domain_events.event_types())}.",
    )
    secret = secrets.token_urlsafe(32)
    with transaction.atomic(), within_tenant(tenant.pk):
        if Webhook.objects.filter(tenant=tenant, url=url, is_active=True).exists():
            raise Conflict("An active webhook already sends to this URL.")
        active = Webhook.objects.filter(tenant=tenant, is_active=True).count()
        if active >= MAX_WEBHOOKS_PER_TENANT:
            raise Conflict(f"At most {MAX_WEBHOOKS_PER_TENANT} active webhooks per tenant.")
        webhook = Webhook.objects.create(
            tenant=tenant, url=url, secret=secret, events=kinds, created_by=actor.label[:200]
        )
        record_audit(
            actor=actor,
            action="notifications.create_webhook",
            target=webhook,
            tenant_id=tenant.pk,
            changes=diff({}, {"url": url, "events": kinds}),
        )
    return webhook, secret


def disable_webhook(*, actor: Principal, webhook: Webhook) -> Webhook:
    """Stop sending to a webhook; pending deliveries are given up."""
    authorize(actor, MANAGE_WEBHOOK, webhook)
    with transaction.atomic(), within_tenant(webhook.tenant_id):
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        if not locked.is_active:
            raise Conflict("This webhook is already disabled.")
        locked.is_active = False
        locked.save(update_fields=["is_active", "updated_at"])
        WebhookDelivery.objects.filter(webhook=locked, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED,
            last_error="The webhook was disabled.",
            next_attempt_at=None,
        )
        record_audit(
            actor=actor,
            action="notifications.disable_webhook",
            target=locked,
            tenant_id=locked.tenant_id,
            changes={"is_active": [True, False]},
        )
    return locked


def signature(secret: str, body: bytes) -> str:
    """The ``X-Tandem-Signature`` value: ``sha256=`` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


#: What the tenant's delivery log says of a failure. Which error it was (refused, timed out,
#: no such name, not an allowed address) would map the server's network for whoever owns
#: the webhook, so the details go to the server log only.
DELIVERY_FAILED = "Delivery failed."


def deliver_webhook(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Send one due delivery and record the outcome; returns the status (or ``skipped``).

    Claimed with a conditional update (pending and due → next attempt pushed out by a
    lease), so two workers never send the same attempt. A 2xx answer is ``sent``; anything
    else schedules the next attempt after :data:`BACKOFF`, until :data:`MAX_ATTEMPTS`
    failures make it ``failed``.
    """
    now = now or timezone.now()
    with system_context("deliver a webhook"):
        claimed = WebhookDelivery.objects.filter(
            pk=delivery_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now,
            webhook__is_active=True,
        ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE)
        if not claimed:
            return "skipped"
        delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    hook = delivery.webhook
    body = json.dumps(
        {"delivery_id": delivery.pk, **delivery.payload}, sort_keys=True, separators=(",", ":")
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tandem-Webhook/1",
        "X-Tandem-Event": delivery.event,
        "X-Tandem-Delivery": str(delivery.pk),
        "X-Tandem-Signature": signature(hook.secret, body),
    }
    code: int | None = None
    try:
        # Only to an address checked now, after resolution (targets.post): the URL passed
        # the same rules when it was saved, but a name may resolve elsewhere today.
        code = targets.post(hook.url, body, headers, timeout=TIMEOUT_SECONDS)
        detail = f"HTTP {code}"
    except Exception as exc:  # noqa: BLE001 - DNS, TLS, refused, timeout: all recorded alike
        detail = f"{type(exc).__name__}: {exc}"
    if code is not None and 200 <= code < 300:
        return _record(delivery, DeliveryStatus.SENT, code=code, at=now)
    log.warning("webhook delivery %s to %s failed: %s", delivery.pk, hook.url, detail)
    # The endpoint's own answer is its owner's to see; anything else is just "failed".
    error = f"Delivery failed (HTTP {code})." if code is not None else DELIVERY_FAILED
    if delivery.attempts >= MAX_ATTEMPTS:
        return _record(delivery, DeliveryStatus.FAILED, code=code, error=error, at=now)
    retry_at = now + BACKOFF[delivery.attempts - 1]
    _record(delivery, DeliveryStatus.PENDING, code=code, error=error, at=now, retry_at=retry_at)
    transaction.on_commit(functools.partial(_enqueue_delivery, delivery.pk, retry_at), robust=True)
    return DeliveryStatus.PENDING


def _record(
    delivery: WebhookDelivery,
    status: str,
    *,
    at: dt.datetime,
    code: int | None = None,
    error: str = "",
    retry_at: dt.datetime | None = None,
) -> str:
    changes: dict[str, Any] = {
        "status": status,
        "response_code": code,
        "last_error": error[:1000],
        "next_attempt_at": retry_at,
    }
    if status == DeliveryStatus.SENT:
        changes["delivered_at"] = at
    with system_context("record a webhook delivery"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    return status


# The task sits beside what queues it (as ``core.events.dispatch_events_task`` does): the
# app's ``tasks`` module would import this one, which queues the task.
@task()
def deliver_webhook_task(delivery_id: int) -> str:
    """Send one webhook delivery attempt; failures schedule the next with backoff."""
    return deliver_webhook(delivery_id=delivery_id)


def requeue_due_deliveries(*, now: dt.datetime | None = None) -> int:
    """Enqueue pending deliveries whose attempt is overdue (a lost task, a worker that died
    mid-send): the safety net run by the scheduler."""
    now = now or timezone.now()
    with system_context("find overdue webhook deliveries"):
        due = list(
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING, next_attempt_at__lte=now - dt.timedelta(minutes=2)
            ).values_list("pk", flat=True)[:1000]
        )
    for pk in due:
        _enqueue_delivery(pk)
    return len(due)
