"""Notifications API: a person's own inbox and e-mail preferences; a tenant's webhooks and
their delivery log."""

from django.http import Http404, HttpRequest
from ninja import Router
from ninja.pagination import paginate

from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination, principal_of
from tandem.core.errors import InvalidInput
from tandem.notifications import queries, services
from tandem.notifications.choices import NotificationKind
from tandem.notifications.policies import MANAGE_WEBHOOK
from tandem.notifications.schemas import (
    DeliveryOut,
    EmailPreferencesIn,
    EmailPreferencesOut,
    NotificationOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)
from tandem.tenancy import queries as tenancy_queries

router = Router(tags=["notifications"])


@router.get("/notifications", response=list[NotificationOut])
@paginate(Pagination)
@declare_action(policies.SIGNED_IN)
def list_notifications(request: HttpRequest, unread: bool | None = None):  # type: ignore[no-untyped-def]
    """Your own notifications, newest first; ``unread=true`` for the unread ones only."""
    return queries.own_notifications(principal_of(request), unread=unread)


@router.post("/notifications/{notification_id}/read", response=NotificationOut)
@declare_action(policies.SIGNED_IN)
def read_notification(request: HttpRequest, notification_id: Id):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    notification = queries.own_notifications(principal).filter(pk=notification_id).first()
    if notification is None:
        raise Http404("not found")
    return services.mark_notification_read(actor=principal, notification=notification)


def _preferences(email: dict[str, bool]) -> dict[str, object]:
    return {"email": email, "kinds": {k.value: str(k.label) for k in NotificationKind}}


@router.get("/me/notification-preferences", response=EmailPreferencesOut)
@declare_action(policies.SIGNED_IN)
def get_notification_preferences(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Which kinds of notification also come to you by e-mail (in-app ones always come)."""
    principal = principal_of(request)
    return _preferences(queries.email_preferences(principal.user_id or 0))


@router.put("/me/notification-preferences", response=EmailPreferencesOut)
@declare_action(policies.SIGNED_IN)
def set_notification_preferences(request: HttpRequest, payload: EmailPreferencesIn):  # type: ignore[no-untyped-def]
    """Turn e-mail on or off per kind, e.g. ``{"email": {"sla_warning": false}}``; kinds
    left out keep their setting."""
    principal = principal_of(request)
    return _preferences(services.set_email_preferences(actor=principal, email=payload.email))


@router.get("/webhooks", response=list[WebhookOut])
@paginate(Pagination)
@declare_action(MANAGE_WEBHOOK)
def list_webhooks(request: HttpRequest):  # type: ignore[no-untyped-def]
    return queries.webhooks(principal_of(request))


@router.post("/webhooks", response={201: WebhookCreated})
@declare_action(MANAGE_WEBHOOK)
def create_webhook(request: HttpRequest, payload: WebhookIn):  # type: ignore[no-untyped-def]
    """Register an endpoint. The answer carries the signing secret, shown only this once."""
    principal = principal_of(request)
    try:
        tenant = tenancy_queries.tenant(principal, payload.tenant_id)
    except Http404 as exc:
        raise InvalidInput({"tenant_id": ["No such tenant."]}) from exc
    webhook, secret = services.create_webhook(
        actor=principal, tenant=tenant, url=payload.url, events=payload.events
    )
    return 201, {**WebhookOut.from_orm(webhook).model_dump(), "secret": secret}


@router.post("/webhooks/{webhook_id}/disable", response=WebhookOut)
@declare_action(MANAGE_WEBHOOK)
def disable_webhook(request: HttpRequest, webhook_id: Id):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    webhook = queries.webhook(principal, webhook_id)
    return services.disable_webhook(actor=principal, webhook=webhook)


@router.get("/webhooks/{webhook_id}/deliveries", response=list[DeliveryOut])
@paginate(Pagination)
@declare_action(MANAGE_WEBHOOK)
def list_deliveries(request: HttpRequest, webhook_id: Id):  # type: ignore[no-untyped-def]
    """The delivery log of one webhook, newest first."""
    return queries.deliveries(principal_of(request), webhook_id)
