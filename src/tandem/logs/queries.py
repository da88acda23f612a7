"""Reads of the logs app: ingest sources in reach, with their counters (every list goes
through the policy, ``visible``, so a list never shows what a page refuses); the tenant's
archived events, searched and around an alert, and the archive's retention (decision
0045)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from tandem.assets.models import Device
from tandem.assets.policies import device_scope
from tandem.core.errors import InvalidInput
from tandem.core.policies import allowed, authorize, get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.request import tenant_in_reach
from tandem.core.scoping import system_context, within_tenant
from tandem.logs import archive
from tandem.logs.event_query import EventQuery, histogram_bucket, summary
from tandem.logs.models import DEFAULT_RETENTION_DAYS, ArchiveSettings, IngestSource
from tandem.logs.permissions import MANAGE_SOURCES, SEARCH_EVENTS
from tandem.logs.policies import narrowed, searches_events, security_area_id
from tandem.tenancy.models import Tenant


def sources(principal: Principal, tenant_id: int) -> QuerySet[IngestSource]:
    return visible(principal, MANAGE_SOURCES, IngestSource.objects.filter(tenant_id=tenant_id))


def mappable_devices(tenant_id: int) -> list[tuple[int, str]]:
    """The tenant's devices a syslog source may be mapped to (id, name), by name. Asked
    only for a manager of the whole tenant (``may_manage_in``), who reaches every device."""
    with within_tenant(tenant_id):
        return list(
            Device.objects.filter(tenant_id=tenant_id)
            .order_by("name", "id")
            .values_list("id", "name")
        )


def source_in_reach(principal: Principal, source_id: int) -> IngestSource:
    """The source if ``principal`` manages it, else 404."""
    return get_visible_or_404(principal, MANAGE_SOURCES, IngestSource.objects.all(), pk=source_id)


# --- The event archive (decision 0045) -------------------------------------------------------


@dataclass(frozen=True)
class FoundEvent:
    """One archived event as the search shows it: its time, host, a one-line summary and
    the event itself."""

    time: dt.datetime
    host: str
    summary: str
    event: dict[str, Any]
    #: The device that sent it (recorded at ingest), else None; and its name.
    device_id: int | None = None
    device_name: str = ""


@dataclass(frozen=True)
class EventResults:
    """A page of matches, newest first, with the count of all matches in the range (exact,
    or a lower bound when ``count_exact`` is false)."""

    events: list[FoundEvent]
    next_cursor: str | None
    #: None when not counted (asked not to, and the page does not hold every match).
    count: int | None
    count_exact: bool


#: Matches are counted up to this many; beyond it the page says "more than".
COUNT_CAP = 10_000


def search_tenant(principal: Principal, tenant_id: int) -> Tenant:
    """The tenant whose events the reader searches: its own IT, or a provider engaged for
    its security monitoring over the whole tenant; anyone else gets 404."""
    return tenant_in_reach(principal, tenant_id, SEARCH_EVENTS)


def may_search(principal: Principal, tenant: Tenant) -> bool:
    """Whether the reader searches this tenant's events (no 404: for links on other pages)."""
    return allowed(principal, SEARCH_EVENTS, tenant)


def event_devices(principal: Principal, tenant: Tenant) -> list[int] | None:
    """The devices whose events the reader reads in this tenant: None for every event (its
    own IT, an engagement over the whole tenant), else the ids of the devices in the scope
    of its narrowed engagements (an event without a device is in none)."""
    if principal.is_system:
        return None
    accesses = principal.accesses_with(SEARCH_EVENTS, tenant.pk)
    area_id = security_area_id(tenant.pk)
    searching = [access for access in accesses if searches_events(access, area_id)]
    if any(not narrowed(access) for access in searching):
        return None
    rule = Q(pk__in=[])
    for access in searching:
        rule |= device_scope(access)  # its sites and asset groups, as for devices
    with within_tenant(tenant.pk):
        return sorted(Device.objects.filter(rule, tenant_id=tenant.pk).values_list("pk", flat=True))


def _filters(principal: Principal, tenant: Tenant, query: EventQuery) -> dict[str, Any]:
    """The archive's filters for ``query``, within the reader's devices."""
    return {
        "host": query.host,
        "fields": query.fields or None,
        "text": query.text,
        "device": query.device,
        "devices": event_devices(principal, tenant),
    }


def search_events(
    principal: Principal, tenant: Tenant, query: EventQuery, *, count: bool = True
) -> EventResults:
    """One page of the tenant's archived events matching ``query``, and their count (when
    ``count``, or when the page holds every match: counting more reads the whole range).

    Only ``tenant``'s archive directory is read (its id, never a value from the request,
    names the directory), only when the reader searches it, and only the events of the
    devices in the reader's scope when its engagement is narrowed."""
    authorize(principal, SEARCH_EVENTS, tenant)
    base = settings.LOG_ARCHIVE_DIR
    filters = _filters(principal, tenant, query)
    try:
        page = archive.search(
            base,
            tenant.pk,
            start=query.start,
            end=query.end,
            limit=query.limit,
            cursor=query.cursor,
            **filters,
        )
        number: int | None
        if query.cursor is None and page.next_cursor is None:
            number, exact = len(page.events), True  # the whole result is on this page
        elif count:
            number, exact = archive.count(
                base, tenant.pk, start=query.start, end=query.end, cap=COUNT_CAP, **filters
            )
        else:
            number, exact = None, False
    except ValueError as exc:  # a filter the archive refuses: the request's fault
        raise InvalidInput(str(exc)) from exc
    return EventResults(
        events=named(
            tenant,
            [
                found_event(event, moment)
                for event, moment in zip(page.events, page.times, strict=True)
            ],
        ),
        next_cursor=page.next_cursor,
        count=number,
        count_exact=exact,
    )


def named(tenant: Tenant, events: list[FoundEvent]) -> list[FoundEvent]:
    """The events with the names of their devices (one query for the page)."""
    ids = {found.device_id for found in events if found.device_id is not None}
    if not ids:
        return events
    with within_tenant(tenant.pk):
        names = dict(
            Device.objects.filter(tenant_id=tenant.pk, pk__in=ids).values_list("pk", "name")
        )
    return [
        replace(found, device_name=names.get(found.device_id, f"device {found.device_id}"))
        if found.device_id is not None
        else found
        for found in events
    ]


def count_events(principal: Principal, tenant: Tenant, query: EventQuery) -> tuple[int, bool]:
    """How many of the tenant's archived events match ``query`` (up to ``COUNT_CAP``), and
    whether that is exact: the search page asks for it after showing the first page."""
    authorize(principal, SEARCH_EVENTS, tenant)
    try:
        return archive.count(
            settings.LOG_ARCHIVE_DIR,
            tenant.pk,
            start=query.start,
            end=query.end,
            cap=COUNT_CAP,
            **_filters(principal, tenant, query),
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


@dataclass(frozen=True)
class Histogram:
    """Matches per bucket of time over the searched range, oldest first."""

    bucket: dt.timedelta
    buckets: list[tuple[dt.datetime, int]]

    @property
    def total(self) -> int:
        return sum(number for _, number in self.buckets)

    @property
    def highest(self) -> int:
        return max((number for _, number in self.buckets), default=0)


def event_histogram(principal: Principal, tenant: Tenant, query: EventQuery) -> Histogram:
    """How many of the tenant's events (in the reader's scope) match ``query`` per bucket
    of time (its size chosen from the range: ``histogram_bucket``); the sum is the exact
    count. It reads every match of the range."""
    authorize(principal, SEARCH_EVENTS, tenant)
    bucket = histogram_bucket(query.end - query.start)
    try:
        buckets = archive.histogram(
            settings.LOG_ARCHIVE_DIR,
            tenant.pk,
            start=query.start,
            end=query.end,
            bucket=bucket,
            **_filters(principal, tenant, query),
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return Histogram(bucket=bucket, buckets=buckets)


def events_near(
    principal: Principal,
    tenant: Tenant,
    *,
    host: str,
    start: dt.datetime,
    end: dt.datetime,
    limit: int,
) -> EventResults | None:
    """The tenant's archived events on ``host`` (every host when empty) with
    ``start <= time < end``, newest first, at most ``limit``; None when the reader does not
    search the tenant's events. The context of an alert."""
    if not may_search(principal, tenant):
        return None
    page = archive.search(
        settings.LOG_ARCHIVE_DIR,
        tenant.pk,
        start=start,
        end=end,
        host=host or None,
        devices=event_devices(principal, tenant),
        limit=limit,
    )
    return EventResults(
        events=named(
            tenant,
            [found_event(event, at) for event, at in zip(page.events, page.times, strict=True)],
        ),
        next_cursor=page.next_cursor,
        count=len(page.events),
        count_exact=page.next_cursor is None,
    )


def found_event(event: dict[str, Any], moment: dt.datetime) -> FoundEvent:
    host = event.get("_host")
    device = event.get(archive.DEVICE_KEY)
    return FoundEvent(
        time=moment,
        host=str(host) if host is not None else "",
        summary=summary(event),
        event=event,
        device_id=device if isinstance(device, int) and not isinstance(device, bool) else None,
    )


def retention_days(tenant_id: int) -> int:
    """How many days the tenant's archived events are kept."""
    with within_tenant(tenant_id):
        found = (
            ArchiveSettings.objects.filter(tenant_id=tenant_id)
            .values_list("retention_days", flat=True)
            .first()
        )
    return found or DEFAULT_RETENTION_DAYS


def retention_by_tenant() -> dict[int, int]:
    """Every tenant's retention that differs from the default (for the periodic job, which
    runs in the system context)."""
    with system_context("event archive retention of every tenant"):
        return dict(ArchiveSettings.objects.values_list("tenant_id", "retention_days"))
