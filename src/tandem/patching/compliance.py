"""Patch compliance figures (decision 0033, domain.md §1.3): a pure core over plain rows.

No Django here: ``queries.compliance_for_tenant`` fetches the rows set-based and calls
:func:`evaluate`; tests build rows by hand.

Definitions (all "now"-relative, over the devices *in scope*: active and seen within the
staleness threshold):

- An update is **covered** by the rule when the rule gives its severity a deadline. Under
  Cyber Essentials a *security* update without a severity counts as high; a severity that is
  unknown but has a CVSS score is banded first (:func:`band_cvss`).
- Its clock starts at the vendor's release date, else when the device was first seen
  missing it. It is **overdue** when still missing past ``start + deadline``.
- A device is **current** when none of its covered updates is overdue. Installed and
  superseded updates are not missing (superseded counts as installed, at ``closed_at``).
- **SLA attainment** over a period: covered (device, update) pairs whose clock started in
  the period; met when resolved (installed or superseded) within the deadline; a pair still
  open past its deadline is a miss, one still open within it is not counted yet.
- **Time to patch** per severity, over pairs resolved in the period: from release (else
  first seen missing) and, separately, from first seen missing (the agent-side latency).
- **Reboot debt**: the device's agent reports a pending reboot, and the debt began more than
  ``reboot_debt_days`` ago. It began at the last install recorded no later than the first
  report of the pending reboot (that install asked for it), else at that first report.
- **Coverage**: in-scope devices that checked in within ``coverage_days`` (7), of all in scope.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

SEVERITIES = ("critical", "high", "medium", "low", "unknown")
DAY = dt.timedelta(days=1)


class Preset:
    """The frameworks whose deadlines a tenant can choose (``PatchingSettings``)."""

    CYBER_ESSENTIALS = "cyber_essentials"
    CIS_7_3 = "cis_7_3"
    ESSENTIAL_EIGHT = "essential_eight"
    CUSTOM = "custom"

    CHOICES = (
        (CYBER_ESSENTIALS, "Cyber Essentials: critical, high and unrated within 14 days"),
        (CIS_7_3, "CIS Controls v8 7.3: critical and high monthly (30 days)"),
        (
            ESSENTIAL_EIGHT,
            "Essential Eight ML1/ML2: internet-facing critical 48 hours, high 2 weeks; "
            "others 1 month",
        ),
        (CUSTOM, "Custom: critical and high within N days"),
    )


@dataclass(frozen=True)
class Rule:
    """Deadlines by severity: ``deadlines`` for ordinary devices, ``internet_facing`` for
    internet-facing ones. A severity absent from a mapping is not covered."""

    preset: str
    label: str
    deadlines: Mapping[str, dt.timedelta]
    internet_facing: Mapping[str, dt.timedelta]
    #: Cyber Essentials: a security update the vendor gave no severity counts as high.
    unknown_as_high: bool = False

    def deadline(self, severity: str, *, internet_facing: bool) -> dt.timedelta | None:
        table = self.internet_facing if internet_facing else self.deadlines
        return table.get(severity)

    @property
    def summary(self) -> str:
        """The rule in words, shortest deadline first."""
        parts = [
            f"{s} {_days_text(d)}" for s, d in sorted(self.deadlines.items(), key=_by_severity)
        ]
        text = ", ".join(parts)
        if dict(self.internet_facing) != dict(self.deadlines):
            facing = ", ".join(
                f"{s} {_days_text(d)}"
                for s, d in sorted(self.internet_facing.items(), key=_by_severity)
            )
            text += f"; internet-facing: {facing}"
        return text


def _by_severity(item: tuple[str, dt.timedelta]) -> int:
    return SEVERITIES.index(item[0])


def _days_text(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h" if hours < 72 else f"{hours / 24:g} days"


def rule_for(preset: str, days: int = 14) -> Rule:
    """The rule of a preset (``days`` is used by ``custom`` only). Unknown presets are a
    programming error: the settings' choices hold only these."""
    if preset == Preset.CYBER_ESSENTIALS:
        table = {"critical": 14 * DAY, "high": 14 * DAY}
        return Rule(preset, "Cyber Essentials", table, table, unknown_as_high=True)
    if preset == Preset.CIS_7_3:
        table = {"critical": 30 * DAY, "high": 30 * DAY}
        return Rule(preset, "CIS Controls v8 7.3", table, table)
    if preset == Preset.ESSENTIAL_EIGHT:
        return Rule(
            preset,
            "Essential Eight (ML1/ML2)",
            {"critical": 30 * DAY, "high": 30 * DAY},
            {"critical": 2 * DAY, "high": 14 * DAY},
        )
    if preset == Preset.CUSTOM:
        if days < 1:
            raise ValueError("a custom deadline is at least one day")
        table = {"critical": days * DAY, "high": days * DAY}
        return Rule(preset, f"Custom ({days} days)", table, table)
    raise ValueError(f"unknown compliance preset {preset!r}")


def band_cvss(score: float) -> str:
    """The severity of a CVSS v3 base score (domain §1.2, the Cyber Essentials banding)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


@dataclass(frozen=True)
class DeviceRow:
    """One device of the tenant with what the figures need of it."""

    device_id: int
    name: str
    active: bool
    last_seen_at: dt.datetime | None
    site_id: int | None = None
    site_name: str = ""
    party_id: int | None = None
    party_name: str = ""
    internet_facing: bool = False
    #: The agent's pending-reboot fact: True, False, or None when it never said.
    reboot_pending: bool | None = None
    #: When the agent first reported the pending reboot (cleared when it no longer does).
    reboot_pending_since: dt.datetime | None = None
    #: The last install no later than ``reboot_pending_since`` (may be older than the
    #: states given: the queries fetch it on its own).
    last_install_before_reboot: dt.datetime | None = None


@dataclass(frozen=True)
class StateRow:
    """One update on one device (a ``DeviceUpdateState`` with its entry's facts)."""

    device_id: int
    status: str  # missing | installed | superseded
    severity: str
    security: bool
    missing_since: dt.datetime
    released_at: dt.datetime | None = None
    installed_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    max_cvss: float | None = None

    @property
    def resolved_at(self) -> dt.datetime | None:
        """When it stopped being missing: installed, or superseded (counted as installed)."""
        if self.status == "installed":
            return self.installed_at or self.closed_at
        if self.status == "superseded":
            return self.closed_at or self.installed_at
        return None

    @property
    def clock_start(self) -> dt.datetime:
        """Release date when known (the frameworks count from release), else detection."""
        return self.released_at or self.missing_since


@dataclass(frozen=True)
class Options:
    """The tenant's thresholds."""

    rule: Rule
    staleness_days: int = 14
    coverage_days: int = 7
    reboot_debt_days: int = 7
    period_days: int = 90


@dataclass(frozen=True)
class Duration:
    """Count, median and mean of a set of durations, in days (None when there are none)."""

    count: int
    median_days: float | None
    mean_days: float | None

    @classmethod
    def of(cls, days: Sequence[float]) -> Duration:
        if not days:
            return cls(0, None, None)
        return cls(len(days), round(statistics.median(days), 2), round(statistics.fmean(days), 2))


@dataclass(frozen=True)
class Figures:
    """The figures of one set of devices: the tenant, one site or one responsible party."""

    devices: int
    in_scope: int
    current: int
    percent_current: float | None
    reported_recently: int
    coverage_percent: float | None
    sla_pairs: int
    sla_met: int
    sla_percent: float | None
    overdue_updates: int
    reboot_debt: int
    time_to_patch: dict[str, Duration]
    time_to_patch_from_detection: dict[str, Duration]


@dataclass(frozen=True)
class DeviceResult:
    """One device's standing (a CSV row)."""

    device_id: int
    name: str
    site_id: int | None
    site_name: str
    party_id: int | None
    party_name: str
    in_scope: bool
    current: bool | None
    overdue: dict[str, int]
    #: The clock start of its oldest overdue update (release, else first seen missing).
    oldest_overdue_since: dt.datetime | None
    last_seen_at: dt.datetime | None
    reboot_pending: bool | None
    reboot_debt_since: dt.datetime | None
    in_reboot_debt: bool
    # The pair-level contributions the group figures add up (not shown per device).
    sla_met: int = 0
    sla_missed: int = 0
    to_patch: dict[str, list[float]] = field(default_factory=dict)
    to_patch_from_detection: dict[str, list[float]] = field(default_factory=dict)
    reported_recently: bool = False


@dataclass(frozen=True)
class Group:
    """A breakdown line: a site or a party (``key`` None: none set)."""

    key: int | None
    label: str
    figures: Figures


@dataclass(frozen=True)
class Evaluation:
    """Everything the page, the API and the CSV show."""

    rule: Rule
    now: dt.datetime
    period_start: dt.datetime
    options: Options
    overall: Figures
    by_site: list[Group]
    by_party: list[Group]
    devices: list[DeviceResult]


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def covered_severity(state: StateRow, rule: Rule) -> str:
    """The severity the rule judges the update by (CVSS banding, unrated security as high
    under Cyber Essentials); ``unknown`` stays unknown otherwise."""
    severity = state.severity if state.severity in SEVERITIES else "unknown"
    if severity == "unknown" and state.max_cvss is not None:
        severity = band_cvss(state.max_cvss)
    if severity == "unknown" and rule.unknown_as_high and state.security:
        severity = "high"
    return severity


def in_scope(device: DeviceRow, now: dt.datetime, staleness_days: int) -> bool:
    """Active, and checked in within the staleness threshold."""
    return (
        device.active
        and device.last_seen_at is not None
        and now - device.last_seen_at <= dt.timedelta(days=staleness_days)
    )


def reboot_debt_since(device: DeviceRow, installs: Iterable[dt.datetime]) -> dt.datetime | None:
    """When the device's reboot debt began (None: no pending reboot reported): the last
    install no later than the first report of the pending reboot, else that report."""
    if device.reboot_pending is not True:
        return None
    since = device.reboot_pending_since
    if since is None:
        earlier = list(installs)
        return max(earlier) if earlier else None
    earlier = [at for at in installs if at <= since]
    return max(earlier) if earlier else since


def _days(delta: dt.timedelta) -> float:
    # A release date imported after the install (or clocks apart) is no negative time.
    return max(delta.total_seconds(), 0) / 86400


def evaluate_device(
    device: DeviceRow, states: Iterable[StateRow], now: dt.datetime, options: Options
) -> DeviceResult:
    """One device's standing and its contributions to the group figures."""
    rule = options.rule
    scoped = in_scope(device, now, options.staleness_days)
    period_start = now - dt.timedelta(days=options.period_days)
    overdue = {s: 0 for s in SEVERITIES}
    oldest: dt.datetime | None = None
    met = missed = 0
    to_patch: dict[str, list[float]] = {}
    from_detection: dict[str, list[float]] = {}
    installs: list[dt.datetime] = (
        [device.last_install_before_reboot] if device.last_install_before_reboot else []
    )
    for state in states:
        resolved = state.resolved_at
        if state.status == "installed" and state.installed_at is not None:
            installs.append(state.installed_at)
        if resolved is not None and period_start <= resolved <= now:
            to_patch.setdefault(state.severity, []).append(_days(resolved - state.clock_start))
            from_detection.setdefault(state.severity, []).append(
                _days(resolved - state.missing_since)
            )
        severity = covered_severity(state, rule)
        deadline = rule.deadline(severity, internet_facing=device.internet_facing)
        if deadline is None:
            continue
        due = state.clock_start + deadline
        if state.status == "missing" and due < now:
            overdue[severity] += 1
            oldest = state.clock_start if oldest is None else min(oldest, state.clock_start)
        if period_start <= state.clock_start <= now:
            if resolved is not None:
                if resolved <= due:
                    met += 1
                else:
                    missed += 1
            elif due < now:
                missed += 1
    debt_since = reboot_debt_since(device, installs)
    recently = device.last_seen_at is not None and now - device.last_seen_at <= dt.timedelta(
        days=options.coverage_days
    )
    return DeviceResult(
        device_id=device.device_id,
        name=device.name,
        site_id=device.site_id,
        site_name=device.site_name,
        party_id=device.party_id,
        party_name=device.party_name,
        in_scope=scoped,
        current=(sum(overdue.values()) == 0) if scoped else None,
        overdue=overdue,
        oldest_overdue_since=oldest,
        last_seen_at=device.last_seen_at,
        reboot_pending=device.reboot_pending,
        reboot_debt_since=debt_since,
        in_reboot_debt=debt_since is not None
        and now - debt_since > dt.timedelta(days=options.reboot_debt_days),
        sla_met=met,
        sla_missed=missed,
        to_patch=to_patch,
        to_patch_from_detection=from_detection,
        reported_recently=recently,
    )


def aggregate(results: Sequence[DeviceResult]) -> Figures:
    """The figures of a set of devices: counts over those in scope, pairs of those."""
    scoped = [r for r in results if r.in_scope]
    current = sum(1 for r in scoped if r.current)
    recently = sum(1 for r in scoped if r.reported_recently)
    met = sum(r.sla_met for r in scoped)
    pairs = met + sum(r.sla_missed for r in scoped)

    def durations(pick: Callable[[DeviceResult], dict[str, list[float]]]) -> dict[str, Duration]:
        merged: dict[str, list[float]] = {s: [] for s in SEVERITIES}
        for r in scoped:
            for severity, days in pick(r).items():
                merged.setdefault(severity, []).extend(days)
        return {s: Duration.of(days) for s, days in merged.items()}

    return Figures(
        devices=len(results),
        in_scope=len(scoped),
        current=current,
        percent_current=_percent(current, len(scoped)),
        reported_recently=recently,
        coverage_percent=_percent(recently, len(scoped)),
        sla_pairs=pairs,
        sla_met=met,
        sla_percent=_percent(met, pairs),
        overdue_updates=sum(sum(r.overdue.values()) for r in scoped),
        reboot_debt=sum(1 for r in scoped if r.in_reboot_debt),
        time_to_patch=durations(lambda r: r.to_patch),
        time_to_patch_from_detection=durations(lambda r: r.to_patch_from_detection),
    )


def _groups(
    results: Sequence[DeviceResult],
    key: Callable[[DeviceResult], int | None],
    label: Callable[[DeviceResult], str],
    none_label: str,
) -> list[Group]:
    members: dict[int | None, list[DeviceResult]] = {}
    labels: dict[int | None, str] = {}
    for r in results:
        members.setdefault(key(r), []).append(r)
        labels.setdefault(key(r), label(r) or none_label)
    groups = [Group(k, labels[k], aggregate(rows)) for k, rows in members.items()]
    # Worst first (lowest share current), then by name; groups with nobody in scope last.
    groups.sort(
        key=lambda g: (
            g.figures.percent_current is None,
            g.figures.percent_current or 0,
            g.label.lower(),
        )
    )
    return groups


def evaluate(
    devices: Iterable[DeviceRow],
    states: Iterable[StateRow],
    now: dt.datetime,
    options: Options,
) -> Evaluation:
    """The tenant's figures, per site and per party, and each device's standing."""
    by_device: dict[int, list[StateRow]] = {}
    for state in states:
        by_device.setdefault(state.device_id, []).append(state)
    results = [evaluate_device(d, by_device.get(d.device_id, ()), now, options) for d in devices]
    return summarise(results, now, options)


def summarise(results: Iterable[DeviceResult], now: dt.datetime, options: Options) -> Evaluation:
    """The figures of devices already evaluated at ``now``: what :func:`evaluate` does after
    judging each device, and all a snapshot's reader does (decision 0048). A device's result
    depends on that device alone, so any subset of a tenant's results (the devices a
    provider sees) summarises to what evaluating that subset gives."""
    results = sorted(
        results, key=lambda r: (not r.in_scope, r.current is not False, r.name.lower())
    )
    return Evaluation(
        rule=options.rule,
        now=now,
        period_start=now - dt.timedelta(days=options.period_days),
        options=options,
        overall=aggregate(results),
        by_site=_groups(results, lambda r: r.site_id, lambda r: r.site_name, "No site"),
        by_party=_groups(results, lambda r: r.party_id, lambda r: r.party_name, "No party"),
        devices=results,
    )


# --- Snapshot rows (decision 0048) ------------------------------------------------------------
# A device's result as a JSON-ready list and back, exactly: datetimes as ISO 8601 with their
# offset and microseconds, durations as the floats themselves (JSON keeps a float's repr).


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _at(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def result_row(r: DeviceResult) -> list[object]:
    """One device's result as plain JSON values (the snapshot stores a list of these)."""
    return [
        r.device_id,
        r.name,
        r.site_id,
        r.site_name,
        r.party_id,
        r.party_name,
        r.in_scope,
        r.current,
        r.overdue,
        _when(r.oldest_overdue_since),
        _when(r.last_seen_at),
        r.reboot_pending,
        _when(r.reboot_debt_since),
        r.in_reboot_debt,
        r.sla_met,
        r.sla_missed,
        r.to_patch,
        r.to_patch_from_detection,
        r.reported_recently,
    ]


def result_from_row(row: Sequence[object]) -> DeviceResult:
    """The inverse of :func:`result_row`."""
    (
        device_id,
        name,
        site_id,
        site_name,
        party_id,
        party_name,
        scoped,
        current,
        overdue,
        oldest,
        seen,
        pending,
        debt_since,
        in_debt,
        met,
        missed,
        to_patch,
        from_detection,
        recently,
    ) = row
    return DeviceResult(
        device_id=device_id,  # type: ignore[arg-type]
        name=name,  # type: ignore[arg-type]
        site_id=site_id,  # type: ignore[arg-type]
        site_name=site_name,  # type: ignore[arg-type]
        party_id=party_id,  # type: ignore[arg-type]
        party_name=party_name,  # type: ignore[arg-type]
        in_scope=scoped,  # type: ignore[arg-type]
        current=current,  # type: ignore[arg-type]
        overdue=overdue,  # type: ignore[arg-type]
        oldest_overdue_since=_at(oldest),  # type: ignore[arg-type]
        last_seen_at=_at(seen),  # type: ignore[arg-type]
        reboot_pending=pending,  # type: ignore[arg-type]
        reboot_debt_since=_at(debt_since),  # type: ignore[arg-type]
        in_reboot_debt=in_debt,  # type: ignore[arg-type]
        sla_met=met,  # type: ignore[arg-type]
        sla_missed=missed,  # type: ignore[arg-type]
        to_patch=to_patch,  # type: ignore[arg-type]
        to_patch_from_detection=from_detection,  # type: ignore[arg-type]
        reported_recently=recently,  # type: ignore[arg-type]
    )


def options_key(options: Options) -> dict[str, object]:
    """What a snapshot was computed under: a reader whose settings differ computes live."""
    return {
        "preset": options.rule.preset,
        "label": options.rule.label,
        "staleness_days": options.staleness_days,
        "coverage_days": options.coverage_days,
        "reboot_debt_days": options.reboot_debt_days,
        "period_days": options.period_days,
    }
