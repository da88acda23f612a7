"""A tenant's desk configuration as plain data, cached in each worker process.

Routing a ticket and computing its SLA clocks read the same dozen tables every time: the
responsibility matrix, coverage calendars, SLA policies, engagements and their scope, the
parties, areas, sites, categories and the desk settings. Read through the ORM, that was
two dozen queries and most of the time of opening a ticket. They change rarely, so each
process keeps one immutable :class:`DeskConfig` per tenant.

Freshness: ``DeskSettings.config_token`` changes (a new random UUID) in the same
transaction as any change to one of those tables, through the signal handlers at the end of
this module (save, delete and many-to-many changes of every model the configuration reads).
A reader takes the token from the tenant's desk-settings row, which it reads anyway (opening
a ticket locks that row for the next number), and uses the cached configuration only when
the token matches. Because the token is random rather than a counter, a change rolled back
with its transaction cannot leave behind a cached configuration that a later, different
change would match. The day is part of the key too: an engagement's start and end dates
decide who may hold tickets today.

Writes that bypass ``save()`` (``QuerySet.update``, ``bulk_update``, raw SQL) on these tables
must call :func:`invalidate` themselves.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from tandem.accounts.principals import engagement_is_live
from tandem.core.scoping import system_context, within_tenant
from tandem.responsibility import routing
from tandem.responsibility.models import Coverage, ResponsibilityRow
from tandem.responsibility.queries import register_routing_inputs
from tandem.servicedesk.choices import StatusKind
from tandem.servicedesk.config.models import Category, DeskSettings
from tandem.sla import clock
from tandem.sla.calendar import BusinessCalendar, always_open, build_calendar
from tandem.sla.models import Calendar, SlaPolicy
from tandem.sla.priority import PriorityMatrix
from tandem.tenancy.models import AssetGroup, Engagement, Party, ServiceArea, Site, Tenant

#: How many tenants' configurations one process keeps (least recently used ones go first).
CACHE_SIZE = 2048


@dataclass(frozen=True)
class EngagementScope:
    """What a live engagement lets its party hold: service areas, and sites when narrowed."""

    party_id: int
    area_ids: frozenset[int]
    site_ids: frozenset[int]


@dataclass(frozen=True)
class DeskConfig:
    """Everything routing and the SLA engine read about one tenant, as plain data."""

    tenant_id: int
    token: uuid.UUID
    day: dt.date
    time_zone: str
    priority_matrix: PriorityMatrix
    #: ((key, name, kind), ...) in display order; the first is a new ticket's status.
    statuses: tuple[tuple[str, str, str], ...]
    urgent_priority_max: int
    ping_pong_minutes: int
    reopen_days: int
    internal_party_id: int
    party_names: dict[int, str]
    area_names: dict[int, str]
    site_ids: frozenset[int]
    asset_group_ids: frozenset[int]
    #: Category id -> (service area id, still offered).
    categories: dict[int, tuple[int, bool]]
    rows: tuple[routing.MatrixRow, ...]
    coverage: tuple[routing.CoverageEntry, ...]
    engagements: tuple[EngagementScope, ...]
    #: Party id -> its active SLA policy (parties without one have no clock).
    policies: dict[int, clock.SlaPolicy]
    #: Party id -> its SLA calendar; key 0 is the default (around the clock, tenant zone).
    calendars: dict[int, BusinessCalendar]

    @property
    def status_kinds(self) -> dict[str, str]:
        return {key: kind for key, _name, kind in self.statuses}

    @property
    def resolved_status(self) -> str | None:
        """The tenant's first status of kind "resolved" (else "closed"): where the system
        puts a ticket it resolves (an offline device back, a resolved security alert)."""
        for wanted in (StatusKind.RESOLVED, StatusKind.CLOSED):
            for key, _name, kind in self.statuses:
                if kind == wanted:
                    return key
        return None

    def eligible(
        self, area_ids: Iterable[int | None], site_ids: Iterable[int | None]
    ) -> dict[tuple[int | None, int | None], frozenset[int]]:
        """For each (area, site): the parties that may hold such a ticket today.

        Internal IT always; a provider party while its engagement is live and covers the
        area (and the site, when the engagement names sites).
        """
        site_list = list(site_ids)
        result = {}
        for area_id in area_ids:
            for site_id in site_list:
                allowed = {self.internal_party_id}
                for scope in self.engagements:
                    if area_id in scope.area_ids and (
                        not scope.site_ids or site_id is None or site_id in scope.site_ids
                    ):
                        allowed.add(scope.party_id)
                result[(area_id, site_id)] = frozenset(allowed)
        return result

    def routing_context(
        self, *, area_ids: Iterable[int | None] = (), site_ids: Iterable[int | None] = ()
    ) -> routing.RoutingContext:
        """The inputs of the pure routing core (``responsibility.routing``)."""
        return routing.RoutingContext(
            rows=list(self.rows),
            coverage=list(self.coverage),
            party_names=self.party_names,
            area_names=self.area_names,
            triage_party_id=self.internal_party_id,
            eligible=self.eligible(list(area_ids), [None, *site_ids]),
            urgent_max=self.urgent_priority_max,
        )


# --- The stored rows the configuration is made of ---------------------------------------------


def desk_settings(tenant_id: int) -> DeskSettings:
    """The tenant's desk settings row: a plain read. Every tenant has one from its creation
    (``config.services.set_up_desk``; migration 0021 made the rows of older tenants)."""
    return DeskSettings.objects.get(tenant_id=tenant_id)


def priority_matrix(settings: DeskSettings) -> PriorityMatrix:
    """The pure priority matrix of the tenant's settings."""
    data = settings.priority_matrix
    return PriorityMatrix(
        impacts=tuple(data["impacts"]),
        urgencies=tuple(data["urgencies"]),
        priorities=tuple(data["priorities"]),
        grid=tuple(tuple(row) for row in data["grid"]),
    )


#: Built calendars by (row id, last change, year): building one asks the ``holidays`` package
#: for four years of holidays, which costs more than a whole SLA computation. A calendar
#: edit changes ``updated_at`` and so misses the cache; the year rolls the holiday window.
_BUILT: dict[tuple[int, dt.datetime, int], BusinessCalendar] = {}


def to_business_calendar(row: Calendar) -> BusinessCalendar:
    """The pure calendar of a stored one, with the public holidays of last year through the
    year after next (from the ``holidays`` package) plus the tenant's own days off."""
    this_year = timezone.now().year
    if row.pk is None:
        return _build_calendar(row, this_year)
    key = (row.pk, row.updated_at, this_year)
    built = _BUILT.get(key)
    if built is None:
        if len(_BUILT) > 10_000:
            _BUILT.clear()
        built = _BUILT[key] = _build_calendar(row, this_year)
    return built


def _build_calendar(row: Calendar, this_year: int) -> BusinessCalendar:
    return build_calendar(
        time_zone=row.time_zone,
        weekly={int(day): [tuple(i) for i in intervals] for day, intervals in row.weekly.items()},
        country=row.holiday_country or None,
        subdivision=row.holiday_subdivision or None,
        years=range(this_year - 1, this_year + 3),
        extra_holidays=[dt.date.fromisoformat(d) for d in row.custom_holidays],
        special_days={
            dt.date.fromisoformat(day): [tuple(i) for i in intervals]
            for day, intervals in row.special_days.items()
        },
    )


def to_clock_policy(row: SlaPolicy) -> clock.SlaPolicy:
    """The pure policy: targets in minutes become business seconds; statuses pause metrics."""
    return clock.SlaPolicy(
        targets={
            f"P{priority}": {metric: int(minutes) * 60 for metric, minutes in metrics.items()}
            for priority, metrics in row.targets.items()
        },
        pauses={metric: frozenset(statuses) for metric, statuses in row.pause_statuses.items()},
        warn_fraction=row.warn_at_percent / 100 if 0 < row.warn_at_percent < 100 else None,
        around_the_clock=frozenset({"P1"}),
    )


# --- The cache ----------------------------------------------------------------------------------

_cache: OrderedDict[tuple[int, uuid.UUID, dt.date], DeskConfig] = OrderedDict()
_lock = threading.Lock()


def load(tenant_id: int, token: uuid.UUID) -> DeskConfig:
    """The configuration of ``tenant_id`` as of ``token`` (read from its desk settings in the
    caller's transaction), from the cache or freshly built."""
    key = (tenant_id, token, timezone.localdate())
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = _build(tenant_id, token, key[2])
    with _lock:
        _cache[key] = built
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return built


def current(tenant_id: int) -> DeskConfig:
    """The configuration as the caller's transaction sees it (one query for the token)."""
    return load(tenant_id, desk_settings(tenant_id).config_token)


def invalidate(tenant_id: int) -> None:
    """Give the tenant a new configuration token, so every process rebuilds on next use.

    Runs in the caller's transaction: the new token commits or rolls back with the change.
    """
    with system_context("invalidate the cached desk configuration"):
        DeskSettings.objects.filter(tenant_id=tenant_id).update(config_token=uuid.uuid4())


def clear() -> None:
    """Forget every cached configuration (tests and benchmarks)."""
    with _lock:
        _cache.clear()


def _build(tenant_id: int, token: uuid.UUID, day: dt.date) -> DeskConfig:
    with within_tenant(tenant_id):
        settings = DeskSettings.objects.get(tenant_id=tenant_id)
        with system_context("the tenant's own time zone"):
            time_zone = Tenant.objects.values_list("time_zone", flat=True).get(pk=tenant_id)
        parties = list(Party.objects.filter(tenant_id=tenant_id).values_list("pk", "name", "kind"))
        rows = tuple(
            routing.MatrixRow(
                id=r.pk,
                service_area_id=r.service_area_id,
                responsible_id=r.responsible_id,
                accountable_id=r.accountable_id,
                site_id=r.site_id,
                asset_group_id=r.asset_group_id,
                consulted_ids=tuple(sorted(p.pk for p in r.consulted.all())),
                informed_ids=tuple(sorted(p.pk for p in r.informed.all())),
            )
            for r in ResponsibilityRow.objects.filter(tenant_id=tenant_id)
            .order_by("id")
            .prefetch_related("consulted", "informed")
        )
        coverage_rows = list(
            Coverage.objects.filter(tenant_id=tenant_id).select_related("calendar").order_by("id")
        )
        coverage = tuple(
            routing.CoverageEntry(
                party_id=c.party_id,
                calendar=to_business_calendar(c.calendar),
                service_area_id=c.service_area_id,
                max_priority=c.max_priority,
            )
            for c in coverage_rows
        )
        engagements = tuple(
            EngagementScope(
                party_id=e.party.pk,
                area_ids=frozenset(a.pk for a in e.service_areas.all()),
                site_ids=frozenset(s.pk for s in e.sites.all()),
            )
            for e in Engagement.objects.filter(tenant_id=tenant_id, status="active")
            .select_related("party")
            .prefetch_related("service_areas", "sites")
            .order_by("id")
            if engagement_is_live(e, day)
        )
        active_policies = list(
            SlaPolicy.objects.filter(tenant_id=tenant_id, is_active=True)
            .select_related("calendar")
            .order_by("id")
        )
        # A party's SLA calendar: its active policy's, else its first coverage calendar,
        # else around the clock in the tenant's zone.
        calendars: dict[int, BusinessCalendar] = {}
        for entry in coverage:
            calendars.setdefault(entry.party_id, entry.calendar)
        for policy in active_policies:
            calendars[policy.party_id] = to_business_calendar(policy.calendar)
        calendars.setdefault(0, always_open(time_zone))
        return DeskConfig(
            tenant_id=tenant_id,
            token=token,
            day=day,
            time_zone=time_zone,
            priority_matrix=priority_matrix(settings),
            statuses=tuple((key, name, kind) for key, name, kind in settings.statuses),
            urgent_priority_max=settings.urgent_priority_max,
            ping_pong_minutes=settings.ping_pong_minutes,
            reopen_days=settings.reopen_days,
            internal_party_id=next(pk for pk, _name, kind in parties if kind == "internal"),
            party_names={pk: name for pk, name, _kind in parties},
            area_names=dict(
                ServiceArea.objects.filter(tenant_id=tenant_id).values_list("pk", "name")
            ),
            site_ids=frozenset(
                Site.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
            ),
            asset_group_ids=frozenset(
                AssetGroup.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
            ),
            categories={
                pk: (area_id, active)
                for pk, area_id, active in Category.objects.filter(tenant_id=tenant_id).values_list(
                    "pk", "service_area_id", "is_active"
                )
            },
            rows=rows,
            coverage=coverage,
            engagements=engagements,
            policies={p.party_id: to_clock_policy(p) for p in active_policies},
            calendars=calendars,
        )


# --- Invalidation -----------------------------------------------------------------------------


def _tenant_of(instance: Any) -> int | None:
    if isinstance(instance, Tenant):
        return int(instance.pk)
    return getattr(instance, "tenant_id", None)


def _changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # fixture loading
    tenant_id = _tenant_of(instance)
    if tenant_id is not None:
        invalidate(tenant_id)


def _m2m_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        _changed(sender, instance)


def connect_signals() -> None:
    """Called from the app's ``ready()``: every model the configuration reads."""
    for model in (
        Category,
        Coverage,
        ResponsibilityRow,
        Calendar,
        SlaPolicy,
        AssetGroup,
        Engagement,
        Party,
        ServiceArea,
        Site,
        Tenant,
    ):
        post_save.connect(_changed, sender=model, dispatch_uid=f"desk-config-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"desk-config-delete-{model.__name__}"
        )
    # The settings row itself: a full save() leaves the token alone (see DeskSettings.save),
    # so the handler gives it a new one.
    post_save.connect(_changed, sender=DeskSettings, dispatch_uid="desk-config-save-settings")
    for through in (
        ResponsibilityRow.consulted.through,
        ResponsibilityRow.informed.through,
        Engagement.service_areas.through,
        Engagement.sites.through,
    ):
        m2m_changed.connect(
            _m2m_changed, sender=through, dispatch_uid=f"desk-config-m2m-{through.__name__}"
        )


# --- What the responsibility app asks the desk ---------------------------------------------------


class DeskRoutingInputs:
    """The routing inputs (``responsibility.queries.RoutingInputs``) from the cached desk
    configuration: the matrix and coverage with their calendars, who may hold what today,
    the urgent priorities and the priority matrix's size. Registered when the desk is ready,
    so that the responsibility app answers ``who_handles`` without importing the desk."""

    def routing_context(
        self,
        tenant_id: int,
        *,
        area_ids: Iterable[int | None] = (),
        site_ids: Iterable[int | None] = (),
    ) -> routing.RoutingContext:
        return current(tenant_id).routing_context(area_ids=area_ids, site_ids=site_ids)

    def priority_count(self, tenant_id: int) -> int:
        return len(current(tenant_id).priority_matrix.priorities)


def provide_routing_inputs() -> None:
    """Called from the app's ``ready()``: the desk answers the responsibility app's routing
    questions."""
    register_routing_inputs(DeskRoutingInputs())
