"""QuickSelect writes the markup Django's own Select would: same options, same selection."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from tandem.core.widgets import QuickSelect

CHOICES = [("", "Anyone"), (3, "Ann <admin> & co"), (12, "Bo"), ("x", 'Quoted "x"')]


@pytest.mark.parametrize("value", [None, "", 3, "12", "x", "missing"])
def test_quick_select_renders_as_djangos_select(value) -> None:  # type: ignore[no-untyped-def]
    attrs = {"id": "id_assignee", "class": "wide"}
    ours = QuickSelect(choices=CHOICES).render("assignee", value, attrs=attrs)
    django = forms.Select(choices=CHOICES).render("assignee", value, attrs=attrs)
    assert parse_html(ours) == parse_html(django)


def test_labels_and_values_are_escaped() -> None:
    html = QuickSelect(choices=CHOICES).render("assignee", 3)
    assert "Ann &lt;admin&gt; &amp; co" in html
    assert '<option value="3" selected>' in html


def test_a_safe_label_is_not_escaped_twice() -> None:
    from django.utils.safestring import mark_safe

    choices = [(1, mark_safe("<b>Bold</b> &amp; co"))]
    ours = QuickSelect(choices=choices).render("x", None)
    assert parse_html(ours) == parse_html(forms.Select(choices=choices).render("x", None))


def test_grouped_options_render_as_djangos_optgroups() -> None:
    from tandem.core.widgets import grouped_options

    groups = [("Held by <Acme> IT", [(3, "Ann <admin> & co"), (12, "Bo")]), ("Held by NW", [])]
    ours = f"<select>{grouped_options(groups)}</select>"
    django = forms.Select(choices=[(g, list(o)) for g, o in groups]).render("a", None)
    assert parse_html(ours) == parse_html(django.replace(' name="a"', ""))
