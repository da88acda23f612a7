"""API shapes of notifications and webhooks. A webhook's secret appears only in the answer
to its creation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field, StrictBool

from tandem.core.api import Id, Input


class NotificationOut(Schema):
    id: int
    tenant_id: int
    kind: str
    ticket_id: int
    ticket_number: int
    text: str
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_ticket_number(obj: Any) -> int:
        return obj.ticket.number  # type: ignore[no-any-return]


class WebhookIn(Input):
    tenant_id: Id
    url: str = Field(max_length=2000)
    events: list[str] = Field(max_length=10)


class WebhookOut(Schema):
    id: int
    tenant_id: int
    url: str
    events: list[str]
    is_active: bool
    created_by: str
    created_at: dt.datetime


class WebhookCreated(WebhookOut):
    #: Shown only here: verify ``X-Tandem-Signature`` with it.
    secret: str


class DeliveryOut(Schema):
    id: int
    webhook_id: int
    event: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    response_code: int | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
    payload: dict[str, Any]


class EmailPreferencesIn(Input):
    #: Kind → whether it also comes by e-mail. Kinds left out keep their setting.
    email: dict[str, StrictBool] = Field(max_length=20)


class EmailPreferencesOut(Schema):
    #: Every kind of notification → whether it also comes by e-mail (default true).
    email: dict[str, bool]
    #: Every kind's name in words.
    kinds: dict[str, str]


class InboundMailOut(Schema):
    """One message the desk's listener accepted, and what became of it."""

    #: Tandem's id for it: the listener answered "250 Accepted as inbound mail <id>".
    id: int
    received_at: dt.datetime
    envelope_from: str
    envelope_to: list[str]
    #: The sender (From), subject and Message-ID as read from it ("" until read).
    from_address: str
    subject: str
    message_id: str
    #: pending, processed, kept (with the reason) or failed (with the error).
    status: str
    reason: str
    #: automatic, bounce, bulk, loop, forged, no_desk, sender, not_allowed, rate_limit,
    #: empty or error; "" when processed.
    reason_code: str
    ticket_id: int | None
    #: The note it became (a reply); null when it opened the ticket.
    comment_id: int | None
    attachments_kept: int
    attempts: int
    accepted: bool
    size: int
    processed_at: dt.datetime | None
