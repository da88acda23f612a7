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
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

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
    #: Every preset, in the order the pages offer them.
    VALUES = tuple(value for value, _ in CHOICES)


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
    asset_group_id: int | None = None
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
    asset_group_id: int | None = None


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
    return evaluate_device_under(device, states, now, options, (options.rule,))[0]


def evaluate_device_under(
    device: DeviceRow,
    states: Iterable[StateRow],
    now: dt.datetime,
    options: Options,
    rules: Sequence[Rule],
) -> list[DeviceResult]:
    """The device's standing under each of ``rules`` (``options.rule`` is not used): what
    :func:`evaluate_device` gives with each rule, in one pass over the states. What does not
    depend on the rule (scope, durations, reboot debt, coverage) is worked out once; a
    snapshot judges every preset this way (decision 0048, amended)."""
    scoped = in_scope(device, now, options.staleness_days)
    period_start = now - dt.timedelta(days=options.period_days)
    judged = [_Verdict(rule) for rule in rules]
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
        for verdict in judged:
            verdict.take(state, resolved, device.internet_facing, now, period_start)
    # In a fixed order (by severity, then value): the same device and states give the same
    # result whatever order the states came in, so a snapshot's unchanged row stays unchanged
    # (medians, and means summed exactly, do not depend on the order).
    to_patch = {s: sorted(days) for s, days in sorted(to_patch.items())}
    from_detection = {s: sorted(days) for s, days in sorted(from_detection.items())}
    debt_since = reboot_debt_since(device, installs)
    recently = device.last_seen_at is not None and now - device.last_seen_at <= dt.timedelta(
        days=options.coverage_days
    )
    in_debt = debt_since is not None and now - debt_since > dt.timedelta(
        days=options.reboot_debt_days
    )
    return [
        DeviceResult(
            device_id=device.device_id,
            name=device.name,
            site_id=device.site_id,
            site_name=device.site_name,
            party_id=device.party_id,
            party_name=device.party_name,
            in_scope=scoped,
            current=(sum(verdict.overdue.values()) == 0) if scoped else None,
            overdue=verdict.overdue,
            oldest_overdue_since=verdict.oldest,
            last_seen_at=device.last_seen_at,
            reboot_pending=device.reboot_pending,
            reboot_debt_since=debt_since,
            in_reboot_debt=in_debt,
            sla_met=verdict.met,
            sla_missed=verdict.missed,
            to_patch=to_patch,
            to_patch_from_detection=from_detection,
            reported_recently=recently,
            asset_group_id=device.asset_group_id,
        )
        for verdict in judged
    ]


class _Verdict:
    """What one rule makes of one device's states, taken one state at a time."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.overdue = {s: 0 for s in SEVERITIES}
        self.oldest: dt.datetime | None = None
        self.met = 0
        self.missed = 0

    def take(
        self,
        state: StateRow,
        resolved: dt.datetime | None,
        internet_facing: bool,
        now: dt.datetime,
        period_start: dt.datetime,
    ) -> None:
        severity = covered_severity(state, self.rule)
        deadline = self.rule.deadline(severity, internet_facing=internet_facing)
        if deadline is None:
            return
        due = state.clock_start + deadline
        if state.status == "missing" and due < now:
            self.overdue[severity] += 1
            start = state.clock_start
            self.oldest = start if self.oldest is None else min(self.oldest, start)
        if period_start <= state.clock_start <= now:
            if resolved is not None:
                if resolved <= due:
                    self.met += 1
                else:
                    self.missed += 1
            elif due < now:
                self.missed += 1


@dataclass
class Tally:
    """The additive part of a set of devices' figures (decision 0048): counts over the
    devices in scope and their durations. Tallies of disjoint sets add up to the tally of
    their union, so a snapshot's reader can sum rows (or SQL can) instead of devices."""

    devices: int = 0
    in_scope: int = 0
    current: int = 0
    reported_recently: int = 0
    sla_met: int = 0
    sla_missed: int = 0
    overdue_updates: int = 0
    reboot_debt: int = 0
    to_patch: dict[str, list[float]] = field(default_factory=dict)
    to_patch_from_detection: dict[str, list[float]] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        """Take ``other`` (the tally of a disjoint set of devices) in."""
        self.devices += other.devices
        self.in_scope += other.in_scope
        self.current += other.current
        self.reported_recently += other.reported_recently
        self.sla_met += other.sla_met
        self.sla_missed += other.sla_missed
        self.overdue_updates += other.overdue_updates
        self.reboot_debt += other.reboot_debt
        _merge(self.to_patch, other.to_patch)
        _merge(self.to_patch_from_detection, other.to_patch_from_detection)

    def add_durations(
        self, to_patch: Mapping[str, list[float]], from_detection: Mapping[str, list[float]]
    ) -> None:
        """Take one in-scope device's durations in."""
        _merge(self.to_patch, to_patch)
        _merge(self.to_patch_from_detection, from_detection)


def _merge(into: dict[str, list[float]], more: Mapping[str, list[float]]) -> None:
    for severity, days in more.items():
        into.setdefault(severity, []).extend(days)


def tally(results: Iterable[DeviceResult]) -> Tally:
    """The tally of a set of evaluated devices (durations and pairs of those in scope)."""
    found = Tally()
    for r in results:
        found.devices += 1
        if not r.in_scope:
            continue
        found.in_scope += 1
        found.current += 1 if r.current else 0
        found.reported_recently += 1 if r.reported_recently else 0
        found.sla_met += r.sla_met
        found.sla_missed += r.sla_missed
        found.overdue_updates += sum(r.overdue.values())
        found.reboot_debt += 1 if r.in_reboot_debt else 0
        found.add_durations(r.to_patch, r.to_patch_from_detection)
    return found


def figures_of(found: Tally) -> Figures:
    """The figures of a tally: shares, and medians and means of the durations (median and
    the exactly rounded mean do not depend on the durations' order)."""

    def durations(merged: Mapping[str, list[float]]) -> dict[str, Duration]:
        every: dict[str, list[float]] = {s: [] for s in SEVERITIES}
        _merge(every, merged)
        return {s: Duration.of(days) for s, days in every.items()}

    pairs = found.sla_met + found.sla_missed
    return Figures(
        devices=found.devices,
        in_scope=found.in_scope,
        current=found.current,
        percent_current=_percent(found.current, found.in_scope),
        reported_recently=found.reported_recently,
        coverage_percent=_percent(found.reported_recently, found.in_scope),
        sla_pairs=pairs,
        sla_met=found.sla_met,
        sla_percent=_percent(found.sla_met, pairs),
        overdue_updates=found.overdue_updates,
        reboot_debt=found.reboot_debt,
        time_to_patch=durations(found.to_patch),
        time_to_patch_from_detection=durations(found.to_patch_from_detection),
    )


@dataclass(frozen=True)
class Part:
    """The tally of the devices of one site and one party (a snapshot reader's SQL
    aggregate gives these)."""

    site_id: int | None
    site_name: str
    party_id: int | None
    party_name: str
    tally: Tally


def _sorted_groups(groups: list[Group]) -> list[Group]:
    # Worst first (lowest share current), then by name, then by id (two sites may share a
    # name); groups with nobody in scope last. A total order: the same groups come out in
    # the same order whatever order the devices or the parts came in.
    groups.sort(
        key=lambda g: (
            g.figures.percent_current is None,
            g.figures.percent_current or 0,
            g.label.lower(),
            g.key is not None,
            g.key or 0,
        )
    )
    return groups


def _part_groups(
    parts: Sequence[Part],
    key: Callable[[Part], int | None],
    label: Callable[[Part], str],
    none_label: str,
) -> list[Group]:
    totals: dict[int | None, Tally] = {}
    labels: dict[int | None, str] = {}
    for part in parts:
        totals.setdefault(key(part), Tally()).add(part.tally)
        labels.setdefault(key(part), label(part) or none_label)
    return _sorted_groups([Group(k, labels[k], figures_of(t)) for k, t in totals.items()])


def summarise_parts(parts: Sequence[Part], now: dt.datetime, options: Options) -> Evaluation:
    """What :func:`summarise` gives for the devices tallied in ``parts`` (one per site and
    party), without the devices themselves (``devices`` empty: the reader fetches the rows
    it shows)."""
    overall = Tally()
    for part in parts:
        overall.add(part.tally)
    return Evaluation(
        rule=options.rule,
        now=now,
        period_start=now - dt.timedelta(days=options.period_days),
        options=options,
        overall=figures_of(overall),
        by_site=_part_groups(parts, lambda p: p.site_id, lambda p: p.site_name, "No site"),
        by_party=_part_groups(parts, lambda p: p.party_id, lambda p: p.party_name, "No party"),
        devices=[],
    )


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


def evaluate_under(
    devices: Iterable[DeviceRow],
    states: Iterable[StateRow],
    now: dt.datetime,
    options: Options,
    rules: Sequence[Rule],
) -> list[Evaluation]:
    """What :func:`evaluate` gives under each of ``rules`` (the other options shared), the
    states read once: a snapshot stores every preset's figures (decision 0048, amended)."""
    by_device: dict[int, list[StateRow]] = {}
    for state in states:
        by_device.setdefault(state.device_id, []).append(state)
    results: list[list[DeviceResult]] = [[] for _ in rules]
    for d in devices:
        judged = evaluate_device_under(d, by_device.get(d.device_id, ()), now, options, rules)
        for found, result in zip(results, judged, strict=True):
            found.append(result)
    return [
        summarise(found, now, replace(options, rule=rule))
        for found, rule in zip(results, rules, strict=True)
    ]


def device_order(result: DeviceResult) -> tuple[bool, bool, str, int]:
    """Where a device stands in the list (the CSV's rows, the page's devices not current):
    in scope first, not current first, then by name (case aside), then by id. A total
    order that each device's own result decides: a snapshot's reader orders its rows the
    same way in SQL (``ComplianceStanding.ORDER``), and a device that changes moves only
    itself."""
    return (not result.in_scope, result.current is not False, result.name.lower(), result.device_id)


def summarise(results: Iterable[DeviceResult], now: dt.datetime, options: Options) -> Evaluation:
    """The figures of devices already evaluated at ``now``: what :func:`evaluate` does after
    judging each device, and all a snapshot's reader does (decision 0048). A device's result
    depends on that device alone, so any subset of a tenant's results (the devices a
    provider sees) summarises to what evaluating that subset gives."""
    results = sorted(results, key=device_order)
    # The same grouping a snapshot's reader does over its SQL tallies: one part per site
    # and party.
    members: dict[tuple[int | None, str, int | None, str], list[DeviceResult]] = {}
    for r in results:
        members.setdefault((r.site_id, r.site_name, r.party_id, r.party_name), []).append(r)
    parts = [Part(*key, tally(rows)) for key, rows in members.items()]
    return replace(summarise_parts(parts, now, options), devices=results)


# --- Snapshot rows (decision 0048) ------------------------------------------------------------
# The stored totals as JSON and back, exactly (JSON keeps a float's repr); a device's stored
# standing is a table row whose columns are named as DeviceResult's fields.

#: A DeviceResult's fields in order: the snapshot's columns of the same names.
RESULT_FIELDS = tuple(f.name for f in fields(DeviceResult))
#: The fields of a DeviceResult that depend on the rule; the others are the same under
#: every rule (:func:`evaluate_device_under` works them out once). A snapshot stores these
#: per device and preset, the others once per device.
RULE_FIELDS = ("current", "overdue", "oldest_overdue_since", "sla_met", "sla_missed")


#: The columns a snapshot stores a DeviceResult in: its fields, ``overdue`` as one column
#: per severity (``overdue_critical``...: five integers, not a JSON object on every row).
STORED_FIELDS = tuple(
    column
    for name in RESULT_FIELDS
    for column in ([f"overdue_{s}" for s in SEVERITIES] if name == "overdue" else [name])
)


def result_of(values: Sequence[object]) -> DeviceResult:
    """A device's result from its stored columns (in :data:`STORED_FIELDS` order)."""
    found: dict[str, Any] = dict(zip(STORED_FIELDS, values, strict=True))
    found["overdue"] = {s: found.pop(f"overdue_{s}") for s in SEVERITIES}
    return DeviceResult(**found)


def _figures_json(figures: Figures) -> dict[str, object]:
    return asdict(figures)


def _figures_from(data: Mapping[str, Any]) -> Figures:
    def durations(found: Mapping[str, Mapping[str, Any]]) -> dict[str, Duration]:
        return {s: Duration(**d) for s, d in found.items()}

    return Figures(
        **{
            **data,
            "time_to_patch": durations(data["time_to_patch"]),
            "time_to_patch_from_detection": durations(data["time_to_patch_from_detection"]),
        }
    )


def totals_json(evaluation: Evaluation) -> dict[str, object]:
    """The tenant-wide, per-site and per-party figures of an evaluation, as JSON values."""

    def groups(found: Sequence[Group]) -> list[list[object]]:
        return [[g.key, g.label, _figures_json(g.figures)] for g in found]

    return {
        "overall": _figures_json(evaluation.overall),
        "by_site": groups(evaluation.by_site),
        "by_party": groups(evaluation.by_party),
    }


def from_totals(totals: Mapping[str, Any], now: dt.datetime, options: Options) -> Evaluation:
    """The inverse of :func:`totals_json` (``devices`` empty: the reader fetches the rows
    it shows)."""

    def groups(found: Sequence[Sequence[Any]]) -> list[Group]:
        return [Group(key, label, _figures_from(data)) for key, label, data in found]

    return Evaluation(
        rule=options.rule,
        now=now,
        period_start=now - dt.timedelta(days=options.period_days),
        options=options,
        overall=_figures_from(totals["overall"]),
        by_site=groups(totals["by_site"]),
        by_party=groups(totals["by_party"]),
        devices=[],
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
