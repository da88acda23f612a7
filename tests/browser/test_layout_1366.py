"""A laptop screen (1366x768) in real Chromium: the queue and audit tables show their last
column inside their card, and the dashboard's chart labels are readable (they were scaled
down with their SVG to about 5 pixels)."""

from __future__ import annotations

import pytest

from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: scrollWidth and clientWidth of each table's scrolling wrapper, and whether the table's
#: last header cell ends inside the card.
FITS = """() => [...document.querySelectorAll('.table-wrap')].map(wrap => {
  const card = wrap.closest('.card').getBoundingClientRect();
  const last = wrap.querySelector('thead th:last-child').getBoundingClientRect();
  return [wrap.scrollWidth, wrap.clientWidth, last.right <= card.right + 1];
})"""


def test_tables_fit_and_chart_labels_are_readable_at_1366(browser, live_server, world) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    owner = sign_in(browser, base, "owner@acme.test")
    owner.set_viewport_size({"width": 1366, "height": 768})
    for path in (
        f"/tenants/{world['tenant']}/tickets/",
        "/queue/",
        f"/tenants/{world['tenant']}/audit/",
    ):
        owner.goto(f"{base}{path}")
        wraps = owner.evaluate(FITS)
        assert wraps, path
        for scroll_width, client_width, last_inside in wraps:
            assert scroll_width <= client_width and last_inside, (path, wraps)

    owner.goto(f"{base}/tenants/{world['tenant']}/dashboard/")
    # The rendered height of the text, which a scaled-down SVG shrinks with it (its
    # computed font size stays 12px).
    sizes = owner.evaluate(
        """() => [...document.querySelectorAll('.chart-label, .chart-value')].map(
             e => e.getBoundingClientRect().height)"""
    )
    assert sizes and min(sizes) >= 13, sizes  # 12-pixel text on its line

    provider = sign_in(browser, base, "tech@northwind.test")
    provider.get_by_role("link", name="Northwind MSP dashboard").click()
    provider.wait_for_load_state()
    assert f"/providers/{world['provider']}/dashboard/" in provider.url
