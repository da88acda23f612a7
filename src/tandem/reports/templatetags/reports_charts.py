"""Server-rendered charts: inline SVG bars, no script and no style attributes (the CSP allows
neither inline script nor inline style). Colours come from classes in tandem.css, with
``fill`` attributes as the fallback. Every chart has a table of the same numbers next to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

FILLS = {"ok": "#15803d", "danger": "#b42318", "info": "#1d4ed8", "warn": "#b45309"}
LABEL_WIDTH = 220
BAR_WIDTH = 320
ROW_HEIGHT = 26
BAR_HEIGHT = 16


@register.simple_tag
def bar_chart(bars: Iterable[Mapping[str, Any]], title: str, maximum: float | None = None) -> str:
    """Horizontal bars: each bar is ``{"label", "value", "text", "tone"}`` (``text`` is what
    is written after the bar, ``value`` its length against ``maximum``, default the largest
    value). An empty chart says so."""
    items = list(bars)
    if not items:
        return format_html('<p class="muted">{}: nothing to show yet.</p>', title)
    top = maximum if maximum else max((float(b["value"] or 0) for b in items), default=0) or 1
    height = ROW_HEIGHT * len(items)
    width = LABEL_WIDTH + BAR_WIDTH + 110
    rows = []
    for index, bar in enumerate(items):
        y = index * ROW_HEIGHT
        length = round(BAR_WIDTH * max(float(bar["value"] or 0), 0) / top)
        tone = bar.get("tone", "info")
        rows.append(
            (
                y + BAR_HEIGHT - 3,
                bar["label"],
                LABEL_WIDTH,
                y + 2,
                length,
                BAR_HEIGHT,
                tone,
                FILLS.get(tone, FILLS["info"]),
                LABEL_WIDTH + length + 6,
                y + BAR_HEIGHT - 3,
                bar.get("text", bar["value"]),
            )
        )
    body: SafeString = format_html_join(
        "",
        '<text x="0" y="{}" class="chart-label">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" rx="3" class="chart-bar chart-{}" '
        'fill="{}"></rect>'
        '<text x="{}" y="{}" class="chart-value">{}</text>',
        rows,
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{t}" preserveAspectRatio="xMinYMin meet"><title>{t}</title>{body}</svg>',
        w=width,
        h=height,
        t=title,
        body=body,
    )


@register.filter
def get_metric(labels: Mapping[str, str], metric: str) -> str:
    """The display name of an SLA metric."""
    return labels.get(metric, metric.replace("_", " ").capitalize())
