"""Pages: the signed-in person's own notifications and e-mail preferences; a tenant's
webhooks with their delivery log; the tenant's mail that did not become a ticket or a note,
and notifications that could not be sent."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.core.actions import page
from tandem.core.errors import Conflict
from tandem.core.pages import submit_form
from tandem.core.policies import SIGNED_IN
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.notifications import queries, services
from tandem.notifications.choices import NotificationKind
from tandem.notifications.forms import EmailPreferencesForm, WebhookForm
from tandem.notifications.policies import MANAGE_WEBHOOK, REVIEW_MAIL
from tandem.servicedesk.mail.services import (
    ACCEPTABLE,
    accept_inbound_message,
    retry_inbound_message,
    retry_outbound_message,
)
from tandem.tenancy.models import Tenant


@page(SIGNED_IN)
def notification_list(request: TandemRequest) -> HttpResponse:
    principal = request.principal
    unread_only = request.GET.get("unread") == "1"
    rows = queries.own_notifications(principal, unread=True if unread_only else None)
    page_obj = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/notification_list.html",
        {
            "page_obj": page_obj,
            "notifications": page_obj.object_list,
            "unread_only": unread_only,
            "section": "notifications",
        },
    )


@page(SIGNED_IN)
@require_POST
def notification_read(request: TandemRequest, notification_id: int) -> HttpResponse:
    principal = request.principal
    notification = queries.own_notifications(principal).filter(pk=notification_id).first()
    if notification is None:
        raise Http404("no such notification")
    services.mark_notification_read(actor=principal, notification=notification)
    return redirect("notifications:notifications")


@page(SIGNED_IN)
@require_POST
def notification_read_all(request: TandemRequest) -> HttpResponse:
    services.mark_all_read(actor=request.principal)
    return redirect("notifications:notifications")


# --- E-mail preferences ------------------------------------------------------------------------


@page(SIGNED_IN)
def notification_preferences(request: TandemRequest) -> HttpResponse:
    """Which kinds of notification also come by e-mail; the in-app ones always come."""
    principal = request.principal
    current = queries.email_preferences(principal.user_id or 0)
    form = EmailPreferencesForm(request.POST or None, current=current)
    saved, status = submit_form(
        request,
        form,
        lambda data: services.set_email_preferences(
            actor=principal, email={kind: bool(data.get(kind)) for kind in NotificationKind.values}
        ),
    )
    if saved is not None:
        messages.success(request, "Your e-mail preferences are saved.")
        return redirect("notifications:notification-preferences")
    return render(
        request,
        "notifications/notificationpreference_form.html",
        {"form": form, "section": "notification-preferences"},
        status=status,
    )


# --- A tenant's webhooks -----------------------------------------------------------------------


@page(MANAGE_WEBHOOK)
def webhooks(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's webhooks, and a form to add one (its signing secret is shown once)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, MANAGE_WEBHOOK)
    form = WebhookForm(request.POST or None)
    created, status = submit_form(
        request,
        form,
        lambda data: services.create_webhook(
            actor=principal, tenant=tenant, url=data["url"], events=data["events"]
        ),
    )
    webhook = secret = None
    if created is not None:
        webhook, secret = created
        form, status = WebhookForm(), 201
    return render(
        request,
        "notifications/webhook_list.html",
        {
            "tenant": tenant,
            "webhooks": list(queries.tenant_webhooks(principal, tenant.pk)),
            "form": form,
            "created": webhook,
            "secret": secret,
            "section": "webhooks",
        },
        status=status,
    )


@page(MANAGE_WEBHOOK)
def webhook_detail(request: TandemRequest, tenant_id: int, webhook_id: int) -> HttpResponse:
    """One webhook and its delivery log: every event, its status, attempts, the answer's
    status code and the last error, newest first."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, MANAGE_WEBHOOK)
    webhook = queries.tenant_webhook(principal, tenant.pk, webhook_id)
    deliveries = queries.deliveries(principal, webhook.pk)
    page_obj = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/webhook_detail.html",
        {
            "tenant": tenant,
            "webhook": webhook,
            "page_obj": page_obj,
            "deliveries": page_obj.object_list,
            "section": "webhooks",
        },
    )


@page(MANAGE_WEBHOOK)
@require_POST
def webhook_disable(request: TandemRequest, tenant_id: int, webhook_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, MANAGE_WEBHOOK)
    webhook = queries.tenant_webhook(principal, tenant.pk, webhook_id)
    try:
        services.disable_webhook(actor=principal, webhook=webhook)
        messages.success(request, f"The webhook to {webhook.url} is disabled.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("notifications:webhooks", tenant.pk)


# --- Mail review -------------------------------------------------------------------------------


@page(REVIEW_MAIL)
def mail_review(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """E-mail to the tenant's desk that opened no ticket and added no note (with the reason
    and the raw message), and notifications that could not be sent (with a retry)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, REVIEW_MAIL)
    inbound = Paginator(queries.unprocessed_inbound(principal, tenant.pk), 50).get_page(
        request.GET.get("inbound_page")
    )
    outbound = Paginator(queries.failed_outbound(principal, tenant.pk), 50).get_page(
        request.GET.get("outbound_page")
    )
    return render(
        request,
        "notifications/mail_review.html",
        {
            "tenant": tenant,
            "inbound": inbound,
            "outbound": outbound,
            "section": "mail-review",
            "acceptable": sorted(ACCEPTABLE),
        },
    )


@page(REVIEW_MAIL)
def mail_review_raw(request: TandemRequest, tenant_id: int, inbound_id: int) -> HttpResponse:
    """The kept message exactly as it arrived, as an .eml download (never shown inline)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, REVIEW_MAIL)
    message = queries.inbound_message(principal, tenant.pk, inbound_id)
    response = HttpResponse(bytes(message.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inbound-{message.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _review_action(
    request: TandemRequest, tenant_id: int, act: Callable[[Principal, Tenant], str]
) -> HttpResponse:
    """One button of the mail review: the tenant if the principal reviews its mail (else
    not found), one service call that says what it did, back to the review (a refusal,
    such as a message not in a state for it, as the page's error)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, REVIEW_MAIL)
    try:
        messages.success(request, act(principal, tenant))
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("notifications:mail-review", tenant.pk)


@page(REVIEW_MAIL)
@require_POST
def mail_review_retry(request: TandemRequest, tenant_id: int, outbound_id: int) -> HttpResponse:
    def act(principal: Principal, tenant: Tenant) -> str:
        outbound = queries.outbound_message(principal, tenant.pk, outbound_id)
        retry_outbound_message(actor=principal, outbound=outbound)
        return f"The e-mail to {outbound.to_address} is queued to be sent."

    return _review_action(request, tenant_id, act)


@page(REVIEW_MAIL)
@require_POST
def mail_review_inbound_retry(
    request: TandemRequest, tenant_id: int, inbound_id: int
) -> HttpResponse:
    """Process a failed or kept message again (after the fault is fixed)."""

    def act(principal: Principal, tenant: Tenant) -> str:
        message = queries.inbound_message(principal, tenant.pk, inbound_id)
        retry_inbound_message(actor=principal, message=message)
        return f"Inbound mail {message.pk} is queued to be processed again."

    return _review_action(request, tenant_id, act)


@page(REVIEW_MAIL)
@require_POST
def mail_review_inbound_accept(
    request: TandemRequest, tenant_id: int, inbound_id: int
) -> HttpResponse:
    """Accept the sender as a requester and open the ticket (or add the note)."""

    def act(principal: Principal, tenant: Tenant) -> str:
        message = queries.inbound_message(principal, tenant.pk, inbound_id)
        accept_inbound_message(actor=principal, message=message)
        return f"{message.from_address} is accepted; inbound mail {message.pk} is queued."

    return _review_action(request, tenant_id, act)
