"""API shapes of the dashboards."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class AttainmentOut(Schema):
    met: int
    breached: int
    #: met / (met + breached) in percent, one decimal; null when no clock ended in the window.
    percent: float | None


class PartyFiguresOut(Schema):
    party_id: int
    name: str
    tenant_id: int
    open: int
    #: By metric: ``first_response`` and ``resolution``.
    attainment: dict[str, AttainmentOut]
    #: Breached clocks in the window by metric (``first_response``, ``next_update``,
    #: ``resolution``); metrics without a breach are left out.
    breaches: dict[str, int]


class BacklogBucketOut(Schema):
    bucket: str
    open: int


class HandoffFiguresOut(Schema):
    from_party_id: int
    to_party_id: int
    handoffs: int
    ping_pong: int


class TimeFiguresOut(Schema):
    party_id: int
    #: Minutes logged with a work date in the window (billable and not).
    minutes: int
    billable_minutes: int
    entries: int


class DashboardOut(Schema):
    since: dt.datetime
    until: dt.datetime
    tickets: int = Field(
        description="Tickets the figures are drawn from: open now, or resolved in the window."
    )
    open: int
    parties: list[PartyFiguresOut]
    backlog: list[BacklogBucketOut]
    handoffs: list[HandoffFiguresOut]
    time: list[TimeFiguresOut] = Field(
        default_factory=list,
        description="Time logged in the window by party (a provider sees its own party's).",
    )
