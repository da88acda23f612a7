"""Form widgets every app's pages share, and some written for pages that must render fast.

Django renders each ``<option>`` of a ``<select>`` through a template of its own: a queue's
assignee filter with 600 people took 12 ms of a 50 ms page. :class:`QuickSelect` writes the
same markup in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe


def _html(value: Any) -> str:
    """``conditional_escape`` without the lazy-string wrapper: safe strings as they are."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return escape(str(value))


def grouped_options(groups: Iterable[tuple[str, Iterable[tuple[Any, str]]]]) -> SafeString:
    """``<optgroup>`` of ``<option>`` markup for ``[(group label, [(value, label), ...])]``,
    written in Python: the bulk change's assignees of a provider's queue are a thousand
    options or more, and a template loop over them cost 20 ms of the page."""
    parts = []
    for group, options in groups:
        parts.append(f'<optgroup label="{_html(group)}">')
        parts.extend(
            f'<option value="{_html(value)}">{_html(label)}</option>' for value, label in options
        )
        parts.append("</optgroup>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


class QuickSelect(forms.Select):
    """A single-choice ``<select>`` with the markup of Django's own, without a template per
    option. Flat choices only (no option groups), as the queue filters use."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final_attrs = self.build_attrs(self.attrs, attrs)
        final_attrs["name"] = name
        wanted = self.format_value(value)
        chosen = wanted[0] if wanted else None
        options = []
        for option_value, label in self.choices:
            text = "" if option_value is None else str(option_value)
            selected = text == chosen
            if selected:
                chosen = None  # like Django's: only the first match is selected
            # html.escape, as Django's escape() does, without its lazy-string wrapper.
            options.append(
                f'<option value="{escape(text)}"{" selected" if selected else ""}>'
                f"{_html(label)}</option>"
            )
        return mark_safe(  # noqa: S308 - every value above is escaped
            f"<select{flatatt(final_attrs)}>{''.join(options)}</select>"
        )


class DateInput(forms.DateInput):
    """The browser's date picker (``<input type="date">``), which needs ISO dates."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
