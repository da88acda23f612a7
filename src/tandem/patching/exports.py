"""Patch compliance as CSV, JSON and chart bars (decision 0033): presentation of what
``queries.compliance_for_tenant`` found, shared by the pages and the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.http import StreamingHttpResponse

from tandem.core import csv_export
from tandem.patching import compliance
from tandem.patching.queries import TenantCompliance

CSV_COLUMNS = (
    "device_id",
    "device",
    "site",
    "responsible party",
    "in scope",
    "current",
    "overdue critical",
    "overdue high",
    "overdue unknown severity",
    "oldest overdue since",
    "reboot pending",
    "reboot debt since",
    "in reboot debt",
    "last seen",
)


def _value(value: Any) -> Any:
    """A cell in the export's words: yes/no, UTC times with a Z (the shared writer then
    guards the text against spreadsheet formulas)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def csv_lines(found: TenantCompliance) -> Iterator[str]:
    """One row per device (names are people's words: guarded against formulas), the
    header first; read a chunk at a time from the snapshot's standings."""
    rows = (
        [
            _value(v)
            for v in (
                d.device_id,
                d.name,
                d.site_name,
                d.party_name,
                d.in_scope,
                d.current,
                d.overdue["critical"],
                d.overdue["high"],
                d.overdue["unknown"],
                d.oldest_overdue_since,
                d.reboot_pending,
                d.reboot_debt_since,
                d.in_reboot_debt,
                d.last_seen_at,
            )
        ]
        for d in found.device_results()
    )
    return csv_export.csv_lines(CSV_COLUMNS, rows)


def csv_response(found: TenantCompliance, filename: str) -> StreamingHttpResponse:
    """The CSV, streamed (10,000 devices are never one string in memory)."""
    response = StreamingHttpResponse(csv_lines(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def figures_json(figures: compliance.Figures) -> dict[str, Any]:
    def durations(found: Mapping[str, compliance.Duration]) -> dict[str, Any]:
        return {
            s: {"count": d.count, "median_days": d.median_days, "mean_days": d.mean_days}
            for s, d in found.items()
        }

    return {
        "devices": figures.devices,
        "in_scope": figures.in_scope,
        "current": figures.current,
        "percent_current": figures.percent_current,
        "reported_recently": figures.reported_recently,
        "coverage_percent": figures.coverage_percent,
        "sla_pairs": figures.sla_pairs,
        "sla_met": figures.sla_met,
        "sla_percent": figures.sla_percent,
        "overdue_updates": figures.overdue_updates,
        "reboot_debt": figures.reboot_debt,
        "time_to_patch": durations(figures.time_to_patch),
        "time_to_patch_from_detection": durations(figures.time_to_patch_from_detection),
    }


def compliance_json(found: TenantCompliance) -> dict[str, Any]:
    """The API's answer: the rule, the thresholds, the figures and the breakdowns."""
    evaluation = found.evaluation
    options = evaluation.options
    return {
        "tenant_id": found.tenant_id,
        "preset": evaluation.rule.preset,
        "chosen_preset": found.settings.compliance_preset,
        "rule": evaluation.rule.summary,
        "staleness_days": options.staleness_days,
        "reboot_debt_days": options.reboot_debt_days,
        "period_start": evaluation.period_start,
        "now": evaluation.now,
        "from_snapshot": found.from_snapshot,
        "stale": found.stale,
        "overall": figures_json(evaluation.overall),
        "by_site": [
            {"site_id": g.key, "label": g.label, **figures_json(g.figures)}
            for g in evaluation.by_site
        ],
        "by_party": [
            {"party_id": g.key, "label": g.label, **figures_json(g.figures)}
            for g in evaluation.by_party
        ],
    }


def percent_text(value: float | None) -> str:
    return "no device in scope" if value is None else f"{value:g}%"


def tone(value: float | None) -> str:
    """The bar's colour: good from 95 %, warning from 80 %, else bad."""
    if value is None:
        return "info"
    return "ok" if value >= 95 else "warn" if value >= 80 else "danger"


def percent_bars(groups: Iterable[compliance.Group]) -> list[dict[str, Any]]:
    """Bars of "% current" for a breakdown (sites or parties)."""
    return [
        {
            "label": g.label,
            "value": g.figures.percent_current or 0,
            "text": f"{percent_text(g.figures.percent_current)} of {g.figures.in_scope}",
            "tone": tone(g.figures.percent_current),
        }
        for g in groups
    ]


def duration_bars(found: Mapping[str, compliance.Duration]) -> list[dict[str, Any]]:
    """Bars of median days to patch per severity (severities without installs left out)."""
    return [
        {
            "label": severity.capitalize(),
            "value": d.median_days or 0,
            "text": f"median {d.median_days:g} d, mean {d.mean_days:g} d ({d.count})",
        }
        for severity, d in found.items()
        if d.count and d.median_days is not None and d.mean_days is not None
    ]
