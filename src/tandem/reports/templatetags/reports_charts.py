"""Server-rendered charts: bars with no script and no style attributes (the CSP allows
neither inline script nor inline style). Colours come from classes in tandem.css, with
``fill`` attributes as the fallback. Every chart has a table of the same numbers next to it.

Labels and values are HTML text in a grid row, and only the bar is SVG (a 100-unit track
stretched to the row's width): one SVG holding the text as well was scaled down with the
card, to 5-pixel labels in a half-width card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()

FILLS = {"ok": "#15803d", "danger": "#b42318", "info": "#1d4ed8", "warn": "#b45309"}


@register.simple_tag
def bar_chart(bars: Iterable[Mapping[str, Any]], title: str, maximum: float | None = None) -> str:
    """Horizontal bars: each bar is ``{"label", "value", "text", "tone"}`` (``text`` is what
    is written after the bar, ``value`` its length against ``maximum``, default the largest
    value). An empty chart says so."""
    items = list(bars)
    if not items:
        return format_html('<p class="muted">{}: nothing to show yet.</p>', title)
    top = maximum if maximum else max((float(b["value"] or 0) for b in items), default=0) or 1
    rows = []
    for bar in items:
        share = min(max(float(bar["value"] or 0), 0) / top, 1)
        tone = bar.get("tone", "info")
        rows.append(
            (
                bar["label"],
                bar["label"],
                f"{100 * share:.1f}",
                tone,
                FILLS.get(tone, FILLS["info"]),
                bar.get("text", bar["value"]),
            )
        )
    body = format_html_join(
        "",
        '<div class="chart-row"><span class="chart-label" title="{}">{}</span>'
        '<svg class="chart-track" viewBox="0 0 100 10" preserveAspectRatio="none" '
        'aria-hidden="true" focusable="false"><rect x="0" y="0" width="{}" height="10" '
        'rx="1" class="chart-bar chart-{}" fill="{}"></rect></svg>'
        '<span class="chart-value">{}</span></div>',
        rows,
    )
    return format_html(
        '<div class="chart" role="img" aria-label="{t}">{body}</div>', t=title, body=body
    )


@register.filter
def get_metric(labels: Mapping[str, str], metric: str) -> str:
    """The display name of an SLA metric."""
    return labels.get(metric, metric.replace("_", " ").capitalize())
