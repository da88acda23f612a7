"""Reads of patching: effective policies (with their sources), a device's updates, a
tenant's dashboard, who approves a device's updates, a provider's approval queue across
its client tenants, and the inputs of install planning.

Every read that starts from a person takes the principal and filters through the app's
policies; the system reads (the subscriber, planning) run in a named system context.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Count, F, Func, Max, Q, QuerySet
from django.utils import timezone

from tandem.assets.apps import VIEW_DEVICE
from tandem.assets.models import Device
from tandem.core.errors import InvalidInput
from tandem.core.policies import visible
from tandem.core.principal import Principal
from tandem.patching import compliance, inheritance, scheduling
from tandem.patching.choices import Approval, UpdateStatus
from tandem.patching.models import (
    ComplianceStanding,
    DeviceUpdateState,
    MaintenanceWindow,
    PatchingSettings,
    PatchPolicy,
    PatchRing,
    UpdateCatalogueEntry,
)
from tandem.patching.permissions import APPROVE_UPDATES, VIEW_PATCHING
from tandem.patching.policies import VIEW_PATCH_POLICY, VIEW_PATCHING_DEVICES
from tandem.patching.windows import WindowSpec, next_window
from tandem.responsibility import routing
from tandem.responsibility.queries import routing_inputs, who_handles
from tandem.tenancy.models import AssetGroup, Party, ServiceArea, Site, Tenant

SEVERITY_ORDER = ("critical", "high", "medium", "low", "unknown")
#: Rows the provider's approval queue shows at most (the rest: narrow by tenant).
QUEUE_LIMIT = 500


# --- Policies --------------------------------------------------------------------------------


def policy_label(policy: PatchPolicy) -> str:
    """The policy's level in words: "tenant", "site Berlin", "device web-01"."""
    if policy.level == "tenant":
        return "tenant"
    target = policy.site or policy.asset_group or policy.device
    return f"{policy.get_level_display().lower()} {target}"


def layer_of(policy: PatchPolicy) -> inheritance.PolicyLayer:
    """One stored policy as the pure core's layer."""
    return inheritance.PolicyLayer(
        level=policy.level,
        label=policy_label(policy),
        settings={name: getattr(policy, name) for name in inheritance.SETTINGS},
        excluded_packages=tuple(policy.excluded_packages or ()),
    )


def policies_for(device: Device) -> list[PatchPolicy]:
    """The stored policies on ``device``'s chain (tenant, its site, its group, itself)."""
    chain = Q(level="tenant") | Q(level="device", device_id=device.pk)
    if device.site_id is not None:
        chain |= Q(level="site", site_id=device.site_id)
    if device.asset_group_id is not None:
        chain |= Q(level="asset_group", asset_group_id=device.asset_group_id)
    return list(
        PatchPolicy.objects.filter(chain, tenant_id=device.tenant_id).select_related(
            "site", "asset_group", "device"
        )
    )


def effective_policy(device: Device) -> inheritance.EffectivePolicy:
    """The policy that applies to ``device``, with each setting's source."""
    return inheritance.resolve([layer_of(p) for p in policies_for(device)])


def visible_policies(principal: Principal, tenant_id: int) -> QuerySet[PatchPolicy]:
    """The tenant's policies the principal may read, tenant level first."""
    rows = PatchPolicy.objects.filter(tenant_id=tenant_id).select_related(
        "site", "asset_group", "device", "ring", "maintenance_window"
    )
    return visible(principal, VIEW_PATCH_POLICY, rows).order_by("level", "id")


def policy_target(
    principal: Principal, tenant: Tenant, level: str, target_id: int | None
) -> dict[str, Any]:
    """The ``site`` / ``asset_group`` / ``device`` keyword a policy of ``level`` names, found
    among the tenant's ones the principal sees (the API and the policy page both ask here).
    Raises :class:`InvalidInput` naming the field when the target is missing or out of
    reach: a policy page never tells another tenant's site from a missing one."""
    if level == "tenant":
        return {}
    if target_id is None:
        raise InvalidInput({"target_id": [f"A {level.replace('_', ' ')} policy names its target."]})
    if level == "device":
        found: Any = visible(
            principal, VIEW_DEVICE, Device.objects.filter(tenant=tenant, pk=target_id)
        ).first()
    elif level in ("site", "asset_group"):
        model: Any = Site if level == "site" else AssetGroup
        action = "tenancy.view_site" if level == "site" else "tenancy.view_assetgroup"
        rows = model.objects.filter(tenant=tenant, pk=target_id)
        found = visible(principal, action, rows).first()
    else:
        raise InvalidInput({"level": ["Choose tenant, site, asset_group or device."]})
    if found is None:
        raise InvalidInput({"target_id": [f"No such {level.replace('_', ' ')} in this tenant."]})
    return {level: found}


def policy_levels(principal: Principal, tenant: Tenant) -> dict[str, list[tuple[int, str]]]:
    """The sites and asset groups of the tenant the principal sees, as (id, name) choices for
    "set the policy of ..." (devices are chosen from their own page)."""
    return {
        "site": [
            (s.pk, s.name)
            for s in visible(principal, "tenancy.view_site", Site.objects.filter(tenant=tenant))
        ],
        "asset_group": [
            (g.pk, g.name)
            for g in visible(
                principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant=tenant)
            )
        ],
    }


def policy_at(tenant_id: int, targets: dict[str, Any]) -> PatchPolicy | None:
    """The stored policy of one level (``targets`` as :func:`policy_target` gives), if any."""
    level = next(iter(targets), "tenant")
    return PatchPolicy.objects.filter(tenant_id=tenant_id, level=level, **targets).first()


def windows(tenant_id: int) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(tenant_id=tenant_id)


def rings(tenant_id: int) -> QuerySet[PatchRing]:
    return PatchRing.objects.filter(tenant_id=tenant_id)


def window_spec(window: MaintenanceWindow) -> WindowSpec:
    """A stored window as the pure core's spec (its first start read as local time)."""
    return WindowSpec(
        rule=window.rrule,
        first_start=window.first_start.replace(tzinfo=None),
        time_zone=window.time_zone,
        duration=dt.timedelta(minutes=window.duration_minutes),
    )


# --- Who approves ---------------------------------------------------------------------------


def patching_area(tenant_id: int) -> ServiceArea | None:
    """The service area whose matrix rows name who approves updates: the tenant's setting,
    else its area keyed ``patching``, else none (the matrix's rows for no area)."""
    chosen = (
        PatchingSettings.objects.filter(tenant_id=tenant_id).select_related("service_area").first()
    )
    if chosen is not None and chosen.service_area is not None:
        return chosen.service_area
    return ServiceArea.objects.filter(tenant_id=tenant_id, key="patching", is_active=True).first()


def approver_of(
    device: Device,
    *,
    at: dt.datetime | None = None,
    area: ServiceArea | None | bool = False,
    context: routing.RoutingContext | None = None,
) -> routing.Decision:
    """The party the responsibility matrix names for ``device``'s updates.

    Approving is planned work, not an incident: the question is asked at the tenant's
    least urgent priority, where the matrix answers the row's Responsible party whether or
    not it is on duty now (an urgent priority would hand it to whoever is on duty, and the
    right to approve would move with the clock)."""
    tenant_id = device.tenant_id
    chosen = patching_area(tenant_id) if area is False else area
    priority = max(1, routing_inputs().priority_count(tenant_id))
    return who_handles(
        tenant=tenant_id,
        area=chosen if isinstance(chosen, ServiceArea) else None,
        site=device.site_id,
        asset_group=device.asset_group_id,
        priority=priority,
        at=at or timezone.now(),
        context=context,
    )


# --- States ---------------------------------------------------------------------------------


def visible_states(principal: Principal) -> QuerySet[DeviceUpdateState]:
    return visible(principal, VIEW_PATCHING, DeviceUpdateState.objects.all())


def device_updates(principal: Principal, device: Device) -> QuerySet[DeviceUpdateState]:
    """The device's update states the principal sees (the caller checked the device):
    missing first, then by severity and package."""
    return (
        visible_states(principal)
        .filter(device=device)
        .select_related("entry", "approved_by", "approved_party")
        .order_by("status", "entry__package", "entry__version", "id")
    )


@dataclass(frozen=True)
class DashboardRow:
    device_id: int
    device_name: str
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class Dashboard:
    """A tenant's missing updates by severity, overall and per device (worst first)."""

    by_severity: dict[str, int]
    awaiting_approval: int
    devices: list[DashboardRow]


def dashboard(principal: Principal, tenant_id: int, limit: int = 200) -> Dashboard:
    """Missing updates of the tenant's devices the principal sees (two aggregate queries)."""
    missing = visible_states(principal).filter(tenant_id=tenant_id, status=UpdateStatus.MISSING)
    totals = Counter(
        {
            row["entry__severity"]: row["n"]
            for row in missing.values("entry__severity").annotate(n=Count("id"))
        }
    )
    per_device: dict[int, dict[str, int]] = {}
    names: dict[int, str] = {}
    for row in missing.values("device_id", "device__name", "entry__severity").annotate(
        n=Count("id")
    ):
        per_device.setdefault(row["device_id"], {})[row["entry__severity"]] = row["n"]
        names[row["device_id"]] = row["device__name"]
    rows = [
        DashboardRow(
            device_id=device_id,
            device_name=names[device_id],
            counts={s: counts.get(s, 0) for s in SEVERITY_ORDER},
            total=sum(counts.values()),
        )
        for device_id, counts in per_device.items()
    ]
    rows.sort(key=lambda r: (*(-r.counts[s] for s in SEVERITY_ORDER), r.device_name))
    return Dashboard(
        by_severity={s: totals.get(s, 0) for s in SEVERITY_ORDER},
        awaiting_approval=missing.filter(approval=Approval.AWAITING).count(),
        devices=rows[:limit],
    )


@dataclass(frozen=True)
class QueueItem:
    """An update awaiting approval by the reader's party."""

    state: DeviceUpdateState
    party_name: str
    reason: str


def approval_queue(
    principal: Principal, tenant_id: int | None = None, limit: int = QUEUE_LIMIT
) -> list[QueueItem]:
    """Updates awaiting approval, across the reader's tenants, on devices whose approver
    (the matrix's party) is one the reader acts for: a provider's view of what its party
    must decide at every client. One matrix question per (tenant, site, group)."""
    rows = visible(principal, APPROVE_UPDATES, DeviceUpdateState.objects.all()).filter(
        status=UpdateStatus.MISSING, approval=Approval.AWAITING
    )
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    rows = rows.select_related("device", "entry", "tenant").order_by(
        "tenant__name", "device__name", "entry__package", "id"
    )
    decisions: dict[tuple[int, int | None, int | None], routing.Decision] = {}
    party_names: dict[int, str] = {}
    found: list[QueueItem] = []
    for state in rows[: limit * 4]:
        device = state.device
        key = (device.tenant_id, device.site_id, device.asset_group_id)
        if key not in decisions:
            decisions[key] = approver_of(device)
        decision = decisions[key]
        if decision.party_id not in principal.party_ids_in(device.tenant_id):
            continue
        if decision.party_id not in party_names:
            party_names[decision.party_id] = str(
                Party.objects.filter(pk=decision.party_id).values_list("name", flat=True).first()
            )
        found.append(QueueItem(state, party_names[decision.party_id], decision.reason))
        if len(found) >= limit:
            break
    return found


def catalogue(tenant_id: int) -> QuerySet[UpdateCatalogueEntry]:
    return UpdateCatalogueEntry.objects.filter(tenant_id=tenant_id)


# --- Planning inputs ------------------------------------------------------------------------


def install_plan_inputs(
    tenant_id: int, now: dt.datetime, device_ids: Iterable[int] | None = None
) -> tuple[list[scheduling.DevicePlanInput], list[scheduling.Candidate]]:
    """The tenant's devices and their approved missing updates as planning's plain data
    (call in a system or tenant context). Ring promotion: a device in a ring after the
    first takes an update only once the ring before it passed the gate for it."""
    states = DeviceUpdateState.objects.filter(
        tenant_id=tenant_id,
        status=UpdateStatus.MISSING,
        approval__in=[Approval.AUTO, Approval.APPROVED],
    ).select_related("entry")
    if device_ids is not None:
        states = states.filter(device_id__in=list(device_ids))
    by_device: dict[int, list[DeviceUpdateState]] = {}
    for state in states:
        by_device.setdefault(state.device_id, []).append(state)
    devices = Device.objects.filter(pk__in=list(by_device), status="active")
    windows_by_id = {w.pk: w for w in windows(tenant_id)}
    rings_by_id = {r.pk: r for r in rings(tenant_id)}
    ordered_rings = sorted(rings_by_id.values(), key=lambda r: (r.order, r.pk))
    outcomes = _ring_outcomes(tenant_id)
    plan_devices, candidates = [], []
    for device in devices:
        policy = effective_policy(device)
        window = windows_by_id.get(policy["maintenance_window_id"])
        ring = rings_by_id.get(policy["ring_id"])
        previous = _previous_ring(ordered_rings, ring)
        plan_devices.append(
            scheduling.DevicePlanInput(
                device_id=device.pk,
                tenant_id=tenant_id,
                window=window_spec(window) if window else None,
                reboot_mode=policy["reboot_mode"],
                reboot_deadline_hours=policy["reboot_deadline_hours"],
            )
        )
        for state in by_device[device.pk]:
            held = False
            if previous is not None:
                ok, bad = outcomes.get((previous.pk, state.entry_id), (0, 0))
                held = not scheduling.promotion_open(
                    successes=ok,
                    failures=bad,
                    min_successes=previous.min_successes,
                    max_failure_percent=previous.max_failure_percent,
                )
            candidates.append(
                scheduling.Candidate(
                    device_id=device.pk,
                    entry_id=state.entry_id,
                    item_id=state.item_id,
                    package=state.entry.package,
                    version=state.entry.version,
                    approval=state.approval,
                    installable_from=scheduling.installable_from(
                        approval=state.approval,
                        approved_at=state.approved_at,
                        released_at=state.entry.released_at,
                        missing_since=state.missing_since,
                        auto_approve_after_days=policy["auto_approve_after_days"],
                        ring_deferral_days=ring.deferral_days if ring else 0,
                    ),
                    held_back=held,
                )
            )
    return plan_devices, candidates


def _previous_ring(ordered: list[PatchRing], ring: PatchRing | None) -> PatchRing | None:
    if ring is None or ring not in ordered:
        return None
    index = ordered.index(ring)
    return ordered[index - 1] if index > 0 else None


def _ring_outcomes(tenant_id: int) -> dict[tuple[int, int], tuple[int, int]]:
    """(ring id, entry id) → (successes, failures) of the tenant's last install attempts,
    counting each device in the ring its effective policy puts it in."""
    attempts = DeviceUpdateState.objects.filter(tenant_id=tenant_id).exclude(last_job_outcome="")
    rows = list(attempts.values("device_id", "entry_id", "last_job_outcome"))
    if not rows:
        return {}
    ring_of: dict[int, Any] = {}
    for device in Device.objects.filter(pk__in={r["device_id"] for r in rows}):
        ring_of[device.pk] = effective_policy(device)["ring_id"]
    counts: dict[tuple[int, int], list[int]] = {}
    for row in rows:
        ring_id = ring_of.get(row["device_id"])
        if ring_id is None:
            continue
        pair = counts.setdefault((ring_id, row["entry_id"]), [0, 0])
        pair[0 if row["last_job_outcome"] == "succeeded" else 1] += 1
    return {key: (ok, bad) for key, (ok, bad) in counts.items()}


@dataclass(frozen=True)
class WindowRow:
    window: MaintenanceWindow
    next_start: dt.datetime | None
    next_end: dt.datetime | None


def window_rows(tenant_id: int, now: dt.datetime | None = None) -> list[WindowRow]:
    """The tenant's windows with their next occurrence (open now, or the next)."""
    now = now or timezone.now()
    rows = []
    for window in windows(tenant_id):
        found = next_window(window_spec(window), now)
        rows.append(WindowRow(window, *(found or (None, None))))
    return rows


# --- Compliance (decision 0033) ---------------------------------------------------------------

#: The period SLA attainment and time to patch look back over, unless asked otherwise.
COMPLIANCE_PERIOD_DAYS = 90


def compliance_settings(tenant_id: int) -> PatchingSettings:
    """The tenant's patching settings, or the defaults (unsaved) when it has none."""
    found = PatchingSettings.objects.filter(tenant_id=tenant_id).first()
    return found if found is not None else PatchingSettings(tenant_id=tenant_id)


def compliance_options(
    chosen: PatchingSettings,
    period_days: int = COMPLIANCE_PERIOD_DAYS,
    preset: str | None = None,
) -> compliance.Options:
    """The pure core's options from the tenant's settings, judged by ``preset`` (another
    preset than the tenant's, to compare; ``custom`` with the tenant's days), by default
    the tenant's own."""
    return compliance.Options(
        rule=compliance.rule_for(preset or chosen.compliance_preset, chosen.compliance_days),
        staleness_days=chosen.staleness_days,
        reboot_debt_days=chosen.reboot_debt_days,
        period_days=period_days,
    )


@dataclass(frozen=True)
class TenantCompliance:
    """A tenant's patch compliance over the devices the reader sees (``evaluation`` holds
    everything; the properties name the headline figures)."""

    tenant_id: int
    settings: PatchingSettings
    evaluation: compliance.Evaluation
    #: Read from the worker's snapshot (decision 0048): its time is ``evaluation.now``.
    from_snapshot: bool = False
    #: The snapshot is older than a change the worker has not taken in yet.
    stale: bool = False
    #: The snapshot's device standings the reader sees (None when live: the devices are
    #: ``evaluation.devices``; from a snapshot those are left empty and read from here).
    standings: QuerySet[ComplianceStanding] | None = None

    @property
    def overall(self) -> compliance.Figures:
        return self.evaluation.overall

    @property
    def percent_current(self) -> float | None:
        """Share of in-scope devices with no covered update overdue (None: none in scope)."""
        return self.overall.percent_current

    @property
    def in_scope(self) -> int:
        return self.overall.in_scope

    @property
    def current(self) -> int:
        return self.overall.current

    @property
    def sla_percent(self) -> float | None:
        return self.overall.sla_percent

    @property
    def coverage_percent(self) -> float | None:
        return self.overall.coverage_percent

    @property
    def reboot_debt(self) -> int:
        return self.overall.reboot_debt

    @property
    def overdue_updates(self) -> int:
        return self.overall.overdue_updates

    def median_days_to_patch(self, severity: str) -> float | None:
        """Median days from release (else detection) to install, over the period."""
        return self.overall.time_to_patch[severity].median_days

    def device_results(self) -> Iterator[compliance.DeviceResult]:
        """Each device's standing, worst first (the CSV's rows): streamed from the
        snapshot's table, a chunk at a time."""
        if self.standings is None:
            yield from self.evaluation.devices
            return
        rows = self.standings.order_by(*ComplianceStanding.ORDER)
        for values in rows.values_list(*ComplianceStanding.RESULT_COLUMNS).iterator(2000):
            yield compliance.result_of(values)

    def failing(self, limit: int = 200) -> list[compliance.DeviceResult]:
        """The first ``limit`` devices not current (the page's list), worst first."""
        if self.standings is None:
            return [d for d in self.evaluation.devices if d.current is False][:limit]
        rows = self.standings.filter(current=False).order_by(*ComplianceStanding.ORDER)
        columns = rows.values_list(*ComplianceStanding.RESULT_COLUMNS)
        return [compliance.result_of(values) for values in columns[:limit]]


def _compliance_rows(
    tenant_id: int,
    now: dt.datetime,
    chosen: PatchingSettings,
    options: compliance.Options,
    principal: Principal | None,
    *,
    every_state: bool = False,
    rules: Sequence[compliance.Rule] = (),
) -> tuple[list[compliance.DeviceRow], list[compliance.StateRow]]:
    """The tenant's active devices (those the principal sees) and their update states as
    plain rows: three queries and one matrix context, whatever the number of devices.
    Missing updates that can move no figure (a severity the rule does not cover, or not
    past the shortest deadline yet) are left in the database; ``every_state`` fetches them
    too (the tests show the figures are the same). With ``rules``, those that can move a
    figure under any of them (a snapshot judges every preset from one fetch)."""
    devices: QuerySet[Device] = Device.objects.filter(tenant_id=tenant_id, status="active")
    states: QuerySet[DeviceUpdateState] = DeviceUpdateState.objects.filter(
        tenant_id=tenant_id, device__status="active"
    )
    if principal is not None:
        devices = visible(principal, VIEW_PATCHING_DEVICES, devices)
        states = visible(principal, VIEW_PATCHING, states)
    device_values = list(
        devices.values_list(
            "id",
            "name",
            "last_seen_at",
            "site_id",
            "site__name",
            "asset_group_id",
            "reboot_pending",
            "reboot_pending_since",
        ).order_by()
    )
    period_start = now - dt.timedelta(days=options.period_days)
    # Missing ones the rule covers judge "current now" (once past their deadline); those
    # resolved in the period feed SLA attainment and time to patch (a pair whose clock
    # started in the period resolves in it too).
    missing = Q(status=UpdateStatus.MISSING)
    if not every_state:
        missing &= functools.reduce(
            operator.or_, (_overdue_candidates(rule, now) for rule in rules or [options.rule])
        )
    state_values = states.filter(
        missing | Q(installed_at__gte=period_start) | Q(closed_at__gte=period_start)
    ).values_list(
        "device_id",
        "status",
        "entry__severity",
        "entry__classification",
        _instant("missing_since"),
        _instant("entry__released_at"),
        _instant("installed_at"),
        _instant("closed_at"),
    )
    # The install that asked for a pending reboot may be older than the period: the last
    # install no later than the first report of the pending reboot, per device.
    last_install = dict(
        states.filter(
            device__reboot_pending=True,
            status=UpdateStatus.INSTALLED,
            installed_at__lte=F("device__reboot_pending_since"),
        )
        .values("device_id")
        .annotate(last=Max("installed_at"))
        .values_list("device_id", "last")
        .order_by()
    )
    parties = _parties_of(tenant_id, {(row[3], row[5]) for row in device_values}, now)
    facing = chosen.internet_facing_group_id
    device_rows = [
        compliance.DeviceRow(
            device_id=pk,
            name=name,
            active=True,
            last_seen_at=seen,
            site_id=site_id,
            site_name=site_name or "",
            party_id=parties[(site_id, group_id)][0],
            party_name=parties[(site_id, group_id)][1],
            asset_group_id=group_id,
            internet_facing=facing is not None and group_id == facing,
            reboot_pending=pending,
            reboot_pending_since=pending_since,
            last_install_before_reboot=last_install.get(pk),
        )
        for pk, name, seen, site_id, site_name, group_id, pending, pending_since in device_values
    ]
    state_rows = [
        compliance.StateRow(
            device_id=device_id,
            status=status,
            severity=severity,
            security=classification == "security",
            missing_since=_at(missing_since),  # type: ignore[arg-type]
            released_at=_at(released_at),
            installed_at=_at(installed_at),
            closed_at=_at(closed_at),
        )
        for (
            device_id,
            status,
            severity,
            classification,
            missing_since,
            released_at,
            installed_at,
            closed_at,
        ) in state_values.order_by().iterator(chunk_size=5000)
    ]
    return device_rows, state_rows


class _Micros(Func):
    """A timestamp as whole microseconds since the epoch (PostgreSQL). Parsing ~1.2 million
    timestamps from text was most of a 10,000-device refresh; integers cost almost nothing,
    and the value is the same to the microsecond (:func:`_at` turns it back)."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _instant(field: str) -> F | _Micros:
    """A timestamp column to fetch in bulk: as microseconds on PostgreSQL, else as is
    (SQLite returns text Django parses anyway)."""
    return _Micros(field) if connection.vendor == "postgresql" else F(field)


def _at(value: int | dt.datetime | None) -> dt.datetime | None:
    """What :func:`_instant` fetched, as an aware datetime (UTC)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return _EPOCH + dt.timedelta(microseconds=value)


def _overdue_candidates(rule: compliance.Rule, now: dt.datetime) -> Q:
    """The missing states that can count (``compliance.evaluate_device``): a severity the
    rule covers (``compliance.covered_severity``: unrated security updates as high under
    Cyber Essentials; no CVSS score is read here) whose clock started before ``now``
    minus the rule's shortest deadline. A missing update counts only once overdue: as
    overdue, and as an SLA miss. At 500,000 states this leaves out a third or more."""
    covered = set(rule.deadlines) | set(rule.internet_facing)
    wanted = Q(entry__severity__in=sorted(covered & set(compliance.SEVERITIES) - {"unknown"}))
    if "unknown" in covered or (rule.unknown_as_high and "high" in covered):
        unrated = ~Q(entry__severity__in=["critical", "high", "medium", "low"])
        if "unknown" not in covered:
            unrated &= Q(entry__classification="security")
        wanted |= unrated
    shortest = min([*rule.deadlines.values(), *rule.internet_facing.values()], default=None)
    if shortest is None:
        return Q(pk__in=[])
    started = now - shortest
    clock = Q(entry__released_at__lt=started) | Q(
        entry__released_at__isnull=True, missing_since__lt=started
    )
    return wanted & clock


def _parties_of(
    tenant_id: int, keys: set[tuple[int | None, int | None]], now: dt.datetime
) -> dict[tuple[int | None, int | None], tuple[int | None, str]]:
    """The party responsible for patching each (site, asset group): the same question as
    who approves (:func:`approver_of`), asked once per distinct place with one matrix
    context for the tenant."""
    if not keys:
        return {}
    area = patching_area(tenant_id)
    context = routing_inputs().routing_context(
        tenant_id,
        area_ids=[area.pk if area else None],
        site_ids=sorted({site for site, _ in keys if site is not None}) + [None],
    )
    found: dict[tuple[int | None, int | None], tuple[int | None, str]] = {}
    for site_id, group_id in keys:
        place = Device(tenant_id=tenant_id, site_id=site_id, asset_group_id=group_id)
        decision = approver_of(place, at=now, area=area, context=context)
        found[(site_id, group_id)] = (
            decision.party_id,
            str(context.party_names.get(decision.party_id, "")) if decision.party_id else "",
        )
    return found


def compliance_for_tenant(
    tenant_id: int,
    now: dt.datetime | None = None,
    *,
    principal: Principal | None = None,
    period_days: int = COMPLIANCE_PERIOD_DAYS,
    preset: str | None = None,
) -> TenantCompliance:
    """The tenant's patch compliance at ``now`` (decision 0033): % of in-scope devices
    current under the tenant's preset (or ``preset``), SLA attainment and time to patch
    over the last ``period_days``, reboot debt and coverage, per site and per responsible
    party, and each device's standing.

    With ``principal``, over the devices it sees (a provider: those in its engagement's
    scope). Without one, call it inside a tenant or named system context (the scoping
    refuses otherwise), for example ``within_tenant(tenant_id)`` in tests and tasks."""
    now = now or timezone.now()
    chosen = compliance_settings(tenant_id)
    options = compliance_options(chosen, period_days, preset)
    devices, states = _compliance_rows(tenant_id, now, chosen, options, principal)
    return TenantCompliance(
        tenant_id=tenant_id,
        settings=chosen,
        evaluation=compliance.evaluate(devices, states, now, options),
    )


def compliance_inputs(
    tenant_id: int, now: dt.datetime, chosen: PatchingSettings, rules: Sequence[compliance.Rule]
) -> tuple[compliance.Options, list[compliance.DeviceRow], list[compliance.StateRow]]:
    """What a snapshot judges (decision 0048): the options of the tenant's settings, and
    every active device with the states that can move a figure under any of ``rules``."""
    options = compliance_options(chosen)
    devices, states = _compliance_rows(tenant_id, now, chosen, options, None, rules=rules)
    return options, devices, states


def snapshot_key(chosen: PatchingSettings, options: compliance.Options) -> dict[str, object]:
    """What a compliance snapshot depends on besides the data: the options and the
    internet-facing group (a reader whose key differs computes live)."""
    return {
        **compliance.options_key(options),
        "internet_facing_group_id": chosen.internet_facing_group_id,
    }
