"""The logs pages: a tenant's ingest sources with their counters (managed through the API);
the event search over the tenant's archive and the archive's retention (decision 0045).

Thin handlers: the tenant through the queries (out of reach is 404), the search parsed by
``event_query`` (a bad one is a 422 page naming the reason), one query or service.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode

from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.policies import allowed
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.logs import queries, services
from tandem.logs.event_query import PRESET_LABELS, EventQuery, query_from_params
from tandem.logs.models import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
from tandem.logs.permissions import CHANGE_ARCHIVE_SETTINGS, MANAGE_SOURCES, SEARCH_EVENTS
from tandem.logs.policies import may_manage_in
from tandem.tenancy.models import Tenant

#: The navigation section of the event pages (``LogsConfig.tenant_sections``).
SECTION = "events"


@page(MANAGE_SOURCES)
def source_list(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's ingest sources: kind, token prefix, limits, accepted and refused counts.
    Out of reach is 404 whatever the method (the tenant is checked first)."""
    tenant = tenant_in_reach(request.principal, tenant_id, MANAGE_SOURCES)
    if not may_manage_in(request.principal, tenant.pk):
        raise Http404
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context = {
        "tenant": tenant,
        "sources": queries.sources(request.principal, tenant.pk).select_related("device"),
        "devices": queries.mappable_devices(tenant.pk),
        "ingest_url": request.build_absolute_uri("/ingest/v1/events"),
    }
    return render(request, "logs/ingestsource_list.html", context)


@page(MANAGE_SOURCES)
def source_device(request: TandemRequest, tenant_id: int, source_id: int) -> HttpResponse:
    """Change the device a syslog source is (POST ``device_id``, empty for none), from the
    sources page; back to it with what happened. Events already archived keep the device
    they were recorded with. A source out of reach, or of another tenant, is 404."""
    tenant = tenant_in_reach(request.principal, tenant_id, MANAGE_SOURCES)
    if not may_manage_in(request.principal, tenant.pk):
        raise Http404
    source = queries.source_in_reach(request.principal, source_id)
    if source.tenant_id != tenant.pk:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    raw = request.POST.get("device_id", "").strip()
    try:
        device_id = int(raw) if raw else None
    except ValueError:
        device_id = -1  # no device has it: refused below with the service's reason
    try:
        services.set_ingest_source_device(
            actor=request.principal, source=source, device_id=device_id
        )
    except InvalidInput as exc:
        messages.error(request, exc.in_words)
    except Conflict as exc:
        messages.info(request, str(exc))
    else:
        messages.success(
            request,
            f"{source.name}: events from now on are recorded as "
            f"{source.device.name if source.device else 'no device'}'s; "
            "events already archived keep the device they were recorded with.",
        )
    return redirect("logs:source-list", tenant.pk)


def pretty(event: dict[str, Any]) -> str:
    """An event as indented JSON, rendered as text in ``<pre>`` (the template escapes it:
    an event is written by whoever sent it)."""
    return json.dumps(event, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _page_links(tenant: Tenant, query: EventQuery, next_cursor: str | None) -> dict[str, str]:
    """The query strings of the next (older) page and of the first page: the range as
    absolute times, so that paging does not slide with the clock."""
    params: list[tuple[str, str]] = [
        ("range", "custom"),
        ("from", query.start.isoformat()),
        ("to", query.end.isoformat()),
        ("tz", query.zone.key),
        ("limit", str(query.limit)),
    ]
    if query.host:
        params.append(("host", query.host))
    params.extend(("field", line) for line in query.field_lines)
    if query.text:
        params.append(("text", query.text))
    if query.device:
        params.append(("device", str(query.device)))
    links = {
        "first": urlencode(params),
        "count": urlencode([*params, ("count", "1")]),
        "count_only": urlencode([*params, ("count", "only")]),
        "histogram_only": urlencode([*params, ("count", "histogram")]),
    }
    if next_cursor:
        links["next"] = urlencode([*params, ("cursor", next_cursor)])
    return links


#: The histogram's drawing: bar width and the chart's height, in SVG units.
BAR_WIDTH, CHART_HEIGHT = 10, 60


def histogram_context(query: EventQuery, histogram: queries.Histogram) -> dict[str, Any]:
    """The histogram as the template draws it (an inline SVG, no script): one bar per
    bucket, its height scaled to the highest, with its time and count as a tooltip."""
    highest = histogram.highest or 1
    bars = []
    for index, (start, number) in enumerate(histogram.buckets):
        height = round(CHART_HEIGHT * number / highest, 1) if number else 0
        bars.append(
            {
                "x": index * BAR_WIDTH,
                "y": round(CHART_HEIGHT - height, 1),
                "height": height,
                "count": number,
                "at": _local(query, start, sep=" ")[:16],
            }
        )
    return {
        "histogram": histogram,
        "bars": bars,
        "chart_width": BAR_WIDTH * len(bars),
        "chart_height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH - 1,
        "bucket_minutes": int(histogram.bucket.total_seconds() // 60),
        "query": query,
    }


def _local(query: EventQuery, moment: Any, sep: str = "T") -> str:
    """A moment in the query's zone, as a ``datetime-local`` input shows it (``sep=" "``:
    as the result list shows it)."""
    return str(moment.astimezone(query.zone).strftime(f"%Y-%m-%d{sep}%H:%M:%S"))


@page(SEARCH_EVENTS)
def event_search(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Search the tenant's archived events by time range, host, ``field = value`` filters
    and free text; newest first, a page at a time, each event expandable to its JSON."""
    principal = request.principal
    tenant = queries.search_tenant(principal, tenant_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context: dict[str, Any] = {
        "tenant": tenant,
        "section": SECTION,
        "presets": PRESET_LABELS,
        "params": request.GET,
        "fields": [*request.GET.getlist("field"), ""],
        "tz_given": bool(request.GET.get("tz")),
        "selected_range": request.GET.get("range") or "",
        "local_from": request.GET.get("from", "")[:19],
        "local_to": request.GET.get("to", "")[:19],
        "zone": request.GET.get("tz") or tenant.time_zone or "UTC",
        "default_zone": tenant.time_zone or "UTC",
        "retention_days": queries.retention_days(tenant.pk),
        "may_change_retention": allowed(principal, CHANGE_ARCHIVE_SETTINGS, tenant),
    }
    counting = request.GET.get("count", "")
    try:
        query = query_from_params(
            request.GET, now=timezone.now(), default_zone=tenant.time_zone or "UTC"
        )
        if counting == "only":
            # The page's count, asked for once its first page is shown (htmx): a count
            # that finds many matches reads the whole range, the page does not wait for it.
            number, exact = queries.count_events(principal, tenant, query)
            counted = {"query": query, "count": number, "count_exact": exact}
            return render(request, "logs/_event_count.html", counted)
        if counting == "histogram":
            # The matches over time, asked for once the first page is shown (htmx).
            histogram = queries.event_histogram(principal, tenant, query)
            return render(
                request, "logs/_event_histogram.html", histogram_context(query, histogram)
            )
        results = queries.search_events(principal, tenant, query, count=counting == "1")
        if counting == "1":  # no script: the count and the histogram in the page
            context |= histogram_context(query, queries.event_histogram(principal, tenant, query))
    except InvalidInput as exc:
        context["errors"] = exc.field_errors
        return render(request, "logs/event_search.html", context, status=422)
    context |= dict(
        query=query,
        selected_range=query.preset,
        zone=query.zone.key,
        local_from=_local(query, query.start) if query.preset == "custom" else "",
        local_to=_local(query, query.end) if query.preset == "custom" else "",
        fields=[*query.field_lines, ""],
        results=results,
        rows=[
            (found, _local(query, found.time, sep=" "), pretty(found.event))
            for found in results.events
        ],
        links=_page_links(tenant, query, results.next_cursor),
        count=results.count,
        count_exact=results.count_exact,
        searched=bool(request.GET),
    )
    return render(request, "logs/event_search.html", context)


@page(SEARCH_EVENTS)
def event_retention(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """How long the tenant's archived events are kept; its own IT changes it here."""
    principal = request.principal
    tenant = queries.search_tenant(principal, tenant_id)
    may_change = allowed(principal, CHANGE_ARCHIVE_SETTINGS, tenant)
    status = 200
    error = ""
    if request.method == "POST":
        if not may_change:
            raise Http404("no such page")
        try:
            days = int(request.POST.get("retention_days", ""))
        except ValueError:
            days = 0
        try:
            services.set_archive_settings(actor=principal, tenant=tenant, retention_days=days)
            messages.success(request, f"Events are now kept {days} days.")
            return redirect("logs:event-retention", tenant.pk)
        except InvalidInput as exc:
            status, error = 422, exc.in_words
        except Conflict as exc:
            messages.info(request, str(exc))
            return redirect("logs:event-retention", tenant.pk)
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "logs/archivesettings_form.html",
        {
            "tenant": tenant,
            "section": SECTION,
            "retention_days": queries.retention_days(tenant.pk),
            "may_change": may_change,
            "error": error,
            "min_days": MIN_RETENTION_DAYS,
            "max_days": MAX_RETENTION_DAYS,
        },
        status=status,
    )
