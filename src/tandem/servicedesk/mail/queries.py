"""Reads of the desk's mail for its review: what came in and did not become a ticket or a
note, and what could not be sent. A tenant's owners read them (``REVIEW_MAIL``); the instance
operator reads the mail that reached no tenant."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.servicedesk.choices import InboundStatus, OutboundStatus
from tandem.servicedesk.mail.models import InboundMessage, OutboundMessage
from tandem.servicedesk.policies import REVIEW_MAIL


def unprocessed_inbound(principal: Principal, tenant_id: int) -> QuerySet[InboundMessage]:
    """The tenant's kept e-mail that opened no ticket and added no note (ignored, with the
    reason, or failed, with the error), newest first; the raw bytes are not loaded."""

    rows = InboundMessage.objects.filter(
        tenant_id=tenant_id, status__in=[InboundStatus.KEPT, InboundStatus.FAILED]
    ).defer("raw")
    return visible(principal, REVIEW_MAIL, rows)


def tenant_inbound(principal: Principal, tenant_id: int, status: str | None = None) -> Any:
    """Every message the listener accepted for the tenant's desk, newest first, without the
    raw bytes; ``status`` narrows it."""

    rows = InboundMessage.objects.filter(tenant_id=tenant_id).defer("raw")
    if status:
        rows = rows.filter(status=status)
    return visible(principal, REVIEW_MAIL, rows.order_by("-received_at", "-id"))


def tenant_inbound_message(principal: Principal, tenant_id: int, inbound_id: int) -> Any:
    """One message of the tenant's desk, any status (404 when out of reach)."""

    return get_visible_or_404(
        principal,
        REVIEW_MAIL,
        InboundMessage.objects.defer("raw"),
        pk=inbound_id,
        tenant_id=tenant_id,
    )


def unrouted_inbound(message_id: int | None = None, *, limit: int = 100) -> list[Any]:
    """Kept e-mail that belongs to no tenant (its recipient named a desk that does not
    exist), the newest ``limit`` first, without the raw bytes; with ``message_id``, that one message
    (raw bytes included) or nothing. For the instance operator's command line, never a
    tenant's page.

    The rows have no tenant, so no principal's scope reaches them; they are read in a
    named system context.
    """

    with system_context("operator: inbound mail that matched no tenant"):
        rows = InboundMessage.objects.filter(
            tenant__isnull=True, status__in=[InboundStatus.KEPT, InboundStatus.FAILED]
        ).order_by("-received_at", "-id")
        if message_id is not None:
            return list(rows.filter(pk=message_id))
        return list(rows.defer("raw")[: max(limit, 0)])


def inbound_message(principal: Principal, tenant_id: int, inbound_id: int) -> Any:
    """One kept message of the tenant that did not become a ticket or note, raw bytes
    included (404 otherwise)."""

    return get_visible_or_404(
        principal,
        REVIEW_MAIL,
        InboundMessage.objects.filter(status__in=[InboundStatus.KEPT, InboundStatus.FAILED]),
        pk=inbound_id,
        tenant_id=tenant_id,
    )


def failed_outbound(principal: Principal, tenant_id: int) -> QuerySet[Any]:
    """The tenant's notifications that could not be sent, newest first."""

    rows = (
        OutboundMessage.objects.filter(tenant_id=tenant_id, status=OutboundStatus.FAILED)
        .select_related("ticket")
        .order_by("-created_at", "-id")
    )
    return visible(principal, REVIEW_MAIL, rows)


def outbound_message(principal: Principal, tenant_id: int, outbound_id: int) -> Any:
    """One notification of the tenant (any status: a retry of one already sent is refused
    by the service with a clear message), 404 when out of reach."""

    return get_visible_or_404(
        principal,
        REVIEW_MAIL,
        OutboundMessage.objects.all(),
        pk=outbound_id,
        tenant_id=tenant_id,
    )
