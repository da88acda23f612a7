"""The logs API, mounted at ``/api/v1/``: a tenant's ingest sources (list with counters,
create with the token shown once, rotate the token, disable, enable, change a syslog
source's device); the search of its
archived events and the archive's retention (decision 0045). The batch endpoint
itself is ``/ingest/v1/events`` (``ingest_views``), never this API.

Thin handlers: the tenant through ``tenant_in_reach`` or ``tenant_in_body``, sources
through the queries (404 out of reach), one service.
"""

from typing import Any

from django.http import Http404
from django.utils import timezone
from ninja import Query, Router
from ninja.pagination import paginate

from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination
from tandem.core.request import TandemRequest, tenant_in_body, tenant_in_reach
from tandem.logs import queries, services
from tandem.logs.event_query import parse_event_query
from tandem.logs.models import IngestSource
from tandem.logs.permissions import CHANGE_ARCHIVE_SETTINGS, MANAGE_SOURCES, SEARCH_EVENTS
from tandem.logs.policies import may_manage_in
from tandem.logs.schemas import (
    ArchiveSettingsIn,
    ArchiveSettingsOut,
    EventSearchOut,
    EventSearchQuery,
    IngestSourceDeviceIn,
    IngestSourceIn,
    IngestSourceOut,
    IngestSourceWithToken,
)

router = Router(tags=["logs"])


def _with_token(source: IngestSource, token: str | None) -> dict[str, Any]:
    return {**IngestSourceOut.from_orm(source).dict(by_alias=True), "token": token}


@router.get("/tenants/{tenant_id}/ingest-sources", response=list[IngestSourceOut])
@paginate(Pagination)
@declare_action(MANAGE_SOURCES)
def list_ingest_sources(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's ingest sources with their counters of accepted and refused events."""
    tenant = tenant_in_reach(request.principal, tenant_id, MANAGE_SOURCES)
    if not may_manage_in(request.principal, tenant.pk):
        raise Http404  # an engagement narrower than the tenant reaches no source
    return queries.sources(request.principal, tenant.pk)


@router.post("/ingest-sources", response={201: IngestSourceWithToken})
@declare_action(MANAGE_SOURCES)
def create_ingest_source(request: TandemRequest, payload: IngestSourceIn):  # type: ignore[no-untyped-def]
    """A new source; an HTTP source's ``token`` is in this answer and nowhere else."""
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    source, token = services.create_ingest_source(
        actor=request.principal,
        tenant=tenant,
        name=payload.name,
        kind=payload.kind,
        device_id=payload.device_id,
        allowed_networks=payload.allowed_networks,
        max_events_per_minute=payload.max_events_per_minute,
        max_batch_events=payload.max_batch_events,
    )
    return 201, _with_token(source, token)


@router.post("/ingest-sources/{source_id}/rotate-token", response=IngestSourceWithToken)
@declare_action(MANAGE_SOURCES)
def rotate_ingest_token(request: TandemRequest, source_id: Id):  # type: ignore[no-untyped-def]
    """A new token for an HTTP source; the old one is refused from now on."""
    source = queries.source_in_reach(request.principal, source_id)
    source, token = services.rotate_ingest_token(actor=request.principal, source=source)
    return _with_token(source, token)


@router.post("/ingest-sources/{source_id}/disable", response=IngestSourceOut)
@declare_action(MANAGE_SOURCES)
def disable_ingest_source(request: TandemRequest, source_id: Id):  # type: ignore[no-untyped-def]
    """Refuse the source's token and senders until it is enabled again."""
    source = queries.source_in_reach(request.principal, source_id)
    return services.set_ingest_source_enabled(actor=request.principal, source=source, enabled=False)


@router.post("/ingest-sources/{source_id}/enable", response=IngestSourceOut)
@declare_action(MANAGE_SOURCES)
def enable_ingest_source(request: TandemRequest, source_id: Id):  # type: ignore[no-untyped-def]
    """Take the source's events again."""
    source = queries.source_in_reach(request.principal, source_id)
    return services.set_ingest_source_enabled(actor=request.principal, source=source, enabled=True)


@router.put("/ingest-sources/{source_id}/device", response=IngestSourceOut)
@declare_action(MANAGE_SOURCES)
def set_ingest_source_device(request: TandemRequest, source_id: Id, payload: IngestSourceDeviceIn):  # type: ignore[no-untyped-def]
    """Map a syslog source to a device of its tenant (or to none, ``null``): events taken
    from now on are recorded as that device's; those already archived keep theirs. 422 for
    an HTTP source or a device of another tenant, 409 when unchanged."""
    source = queries.source_in_reach(request.principal, source_id)
    return services.set_ingest_source_device(
        actor=request.principal, source=source, device_id=payload.device_id
    )


@router.get("/tenants/{tenant_id}/events", response=EventSearchOut)
@declare_action(SEARCH_EVENTS)
def search_events(request: TandemRequest, tenant_id: Id, params: Query[EventSearchQuery]):  # type: ignore[no-untyped-def]
    """The tenant's archived events matching every filter, newest first, ``limit`` at a
    time; ``next_cursor`` asks for the next page. A bad filter, ``from`` after ``to`` or a
    range over 31 days is 422 with the reason."""
    principal = request.principal
    tenant = queries.search_tenant(principal, tenant_id)
    query = parse_event_query(
        now=timezone.now(),
        default_zone="UTC",
        range_=params.range,
        start=params.from_,
        end=params.to,
        tz=params.tz,
        host=params.host,
        fields=params.field,
        text=params.text,
        cursor=params.cursor,
        limit=params.limit,
        device=params.device,
    )
    results = queries.search_events(principal, tenant, query, count=params.count)
    histogram = None
    if params.histogram:
        counted = queries.event_histogram(principal, tenant, query)
        histogram = {
            "bucket_seconds": int(counted.bucket.total_seconds()),
            "buckets": [{"start": start, "count": number} for start, number in counted.buckets],
        }
    return {
        "tenant_id": tenant.pk,
        "start": query.start,
        "end": query.end,
        "count": results.count,
        "count_exact": results.count_exact,
        "next_cursor": results.next_cursor,
        "events": results.events,
        "histogram": histogram,
    }


@router.get("/tenants/{tenant_id}/event-archive/settings", response=ArchiveSettingsOut)
@declare_action(SEARCH_EVENTS)
def get_archive_settings(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """How many days the tenant's archived events are kept."""
    tenant = queries.search_tenant(request.principal, tenant_id)
    return {"tenant_id": tenant.pk, "retention_days": queries.retention_days(tenant.pk)}


@router.put("/tenants/{tenant_id}/event-archive/settings", response=ArchiveSettingsOut)
@declare_action(CHANGE_ARCHIVE_SETTINGS)
def put_archive_settings(request: TandemRequest, tenant_id: Id, payload: ArchiveSettingsIn):  # type: ignore[no-untyped-def]
    """Set the retention (1 to 3650 days; the tenant's own IT; 409 when nothing changes).
    Hours older than it are deleted at the next daily retention run."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_ARCHIVE_SETTINGS)
    found = services.set_archive_settings(
        actor=principal, tenant=tenant, retention_days=payload.retention_days
    )
    return {"tenant_id": tenant.pk, "retention_days": found.retention_days}
