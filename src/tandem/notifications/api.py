"""Notifications API: a person's own inbox and e-mail preferences; a tenant's webhooks and
their delivery log; the tenant's inbound mail (its review)."""

from typing import Literal

from django.http import Http404
from ninja import Router
from ninja.pagination import paginate

from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination
from tandem.core.request import TandemRequest, tenant_in_body, tenant_in_reach
from tandem.notifications import queries, services
from tandem.notifications.choices import NotificationKind
from tandem.notifications.policies import MANAGE_WEBHOOK, REVIEW_MAIL
from tandem.notifications.schemas import (
    DeliveryOut,
    EmailPreferencesIn,
    EmailPreferencesOut,
    InboundMailOut,
    NotificationOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)
from tandem.servicedesk.mail.services import accept_inbound_message, retry_inbound_message

router = Router(tags=["notifications"])


@router.get("/notifications", response=list[NotificationOut])
@paginate(Pagination)
@declare_action(policies.SIGNED_IN)
def list_notifications(request: TandemRequest, unread: bool | None = None):  # type: ignore[no-untyped-def]
    """Your own notifications, newest first; ``unread=true`` for the unread ones only."""
    return queries.own_notifications(request.principal, unread=unread)


@router.post("/notifications/{notification_id}/read", response=NotificationOut)
@declare_action(policies.SIGNED_IN)
def read_notification(request: TandemRequest, notification_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    notification = queries.own_notifications(principal).filter(pk=notification_id).first()
    if notification is None:
        raise Http404("not found")
    return services.mark_notification_read(actor=principal, notification=notification)


def _preferences(email: dict[str, bool]) -> dict[str, object]:
    return {"email": email, "kinds": {k.value: str(k.label) for k in NotificationKind}}


@router.get("/me/notification-preferences", response=EmailPreferencesOut)
@declare_action(policies.SIGNED_IN)
def get_notification_preferences(request: TandemRequest):  # type: ignore[no-untyped-def]
    """Which kinds of notification also come to you by e-mail (in-app ones always come)."""
    principal = request.principal
    return _preferences(queries.email_preferences(principal.user_id or 0))


@router.put("/me/notification-preferences", response=EmailPreferencesOut)
@declare_action(policies.SIGNED_IN)
def set_notification_preferences(request: TandemRequest, payload: EmailPreferencesIn):  # type: ignore[no-untyped-def]
    """Turn e-mail on or off per kind, e.g. ``{"email": {"sla_warning": false}}``; kinds
    left out keep their setting."""
    principal = request.principal
    return _preferences(services.set_email_preferences(actor=principal, email=payload.email))


@router.get("/webhooks", response=list[WebhookOut])
@paginate(Pagination)
@declare_action(MANAGE_WEBHOOK)
def list_webhooks(request: TandemRequest):  # type: ignore[no-untyped-def]
    return queries.webhooks(request.principal)


@router.post("/webhooks", response={201: WebhookCreated})
@declare_action(MANAGE_WEBHOOK)
def create_webhook(request: TandemRequest, payload: WebhookIn):  # type: ignore[no-untyped-def]
    """Register an endpoint. The answer carries the signing secret, shown only this once."""
    principal = request.principal
    tenant = tenant_in_body(principal, payload.tenant_id)
    webhook, secret = services.create_webhook(
        actor=principal, tenant=tenant, url=payload.url, events=payload.events
    )
    return 201, {**WebhookOut.from_orm(webhook).model_dump(), "secret": secret}


@router.post("/webhooks/{webhook_id}/disable", response=WebhookOut)
@declare_action(MANAGE_WEBHOOK)
def disable_webhook(request: TandemRequest, webhook_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    webhook = queries.webhook(principal, webhook_id)
    return services.disable_webhook(actor=principal, webhook=webhook)


@router.get("/webhooks/{webhook_id}/deliveries", response=list[DeliveryOut])
@paginate(Pagination)
@declare_action(MANAGE_WEBHOOK)
def list_deliveries(request: TandemRequest, webhook_id: Id):  # type: ignore[no-untyped-def]
    """The delivery log of one webhook, newest first."""
    return queries.deliveries(request.principal, webhook_id)


# --- Inbound mail: the review ------------------------------------------------------------------


@router.get("/tenants/{tenant_id}/inbound-mail", response=list[InboundMailOut])
@paginate(Pagination)
@declare_action(REVIEW_MAIL)
def list_inbound_mail(  # type: ignore[no-untyped-def]
    request: TandemRequest,
    tenant_id: Id,
    status: Literal["pending", "processed", "kept", "failed"] | None = None,
):
    """Every message the desk received, newest first: sender, subject, status, the reason
    it was kept or the error it failed with, the ticket and note it became, the files kept.
    ``status`` narrows the list (``failed`` and ``kept`` are the ones to review)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, REVIEW_MAIL)
    return queries.tenant_inbound(principal, tenant.pk, status)


@router.post("/tenants/{tenant_id}/inbound-mail/{inbound_id}/retry", response=InboundMailOut)
@declare_action(REVIEW_MAIL)
def retry_inbound_mail(request: TandemRequest, tenant_id: Id, inbound_id: Id):  # type: ignore[no-untyped-def]
    """Process a failed or kept message again (409 for one already processed). It is
    processed after the answer; read it again for the outcome."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, REVIEW_MAIL)
    message = queries.tenant_inbound_message(principal, tenant.pk, inbound_id)
    return retry_inbound_message(actor=principal, message=message)


@router.post("/tenants/{tenant_id}/inbound-mail/{inbound_id}/accept", response=InboundMailOut)
@declare_action(REVIEW_MAIL)
def accept_inbound_mail(request: TandemRequest, tenant_id: Id, inbound_id: Id):  # type: ignore[no-untyped-def]
    """Accept a message kept for its sender (or taken for automatic, bounce or list mail):
    the sender becomes a requester and it opens its ticket. 409 for any other message."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, REVIEW_MAIL)
    message = queries.tenant_inbound_message(principal, tenant.pk, inbound_id)
    return accept_inbound_message(actor=principal, message=message)
