"""The alert page shows what the event archive holds on the alert's host around it
(decision 0045): for readers who search the tenant's events, from N minutes before the
first detection to N minutes after the latest, with a link to the event search."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import pytest

from tandem.alerts.models import Alert
from tandem.core.scoping import system_context
from tandem.logs import archive
from tandem.logs.archive.tests.support import linux_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive_dir(settings: Any, tmp_path: Path) -> Path:
    settings.LOG_ARCHIVE_DIR = tmp_path / "archive"
    return settings.LOG_ARCHIVE_DIR


def the_alert(world: Any) -> Alert:
    with system_context("test: the world's alert"):
        return Alert.objects.get(pk=world["alert"])


def test_events_on_the_host_around_the_alert(archive_dir, as_persona, world) -> None:
    alert = the_alert(world)
    seen = alert.first_seen
    archive.append(
        archive_dir,
        world["tenant"],
        [
            linux_event(seen - dt.timedelta(minutes=3), host=alert.host, message="before it"),
            linux_event(seen + dt.timedelta(minutes=4), host=alert.host, message="after it"),
            linux_event(seen - dt.timedelta(minutes=40), host=alert.host, message="long before"),
            linux_event(seen, host="another-host", message="elsewhere"),
        ],
    )
    page = as_persona("owner").get(f"/alerts/{alert.pk}/").content.decode()
    section = page.split('id="events-around"', 1)[1].split("</section>", 1)[0]
    assert section.index("after it") < section.index("before it")
    assert "long before" not in section and "elsewhere" not in section
    link = html.unescape(section).split('href="/tenants/', 1)[1].split('"', 1)[0]
    assert link.startswith(f"{world['tenant']}/events/?range=custom")
    assert f"host={alert.host}" in link

    # A wider window on request; Sentinel (Acme's security monitoring) sees it too.
    wider = as_persona("second_provider_tech").get(f"/alerts/{alert.pk}/?around=60")
    assert "long before" in wider.content.decode()


def test_no_archive_section_for_a_reader_who_does_not_search_events(
    archive_dir, as_persona, world, settings
) -> None:
    alert = the_alert(world)
    archive.append(
        archive_dir,
        world["tenant"],
        [linux_event(alert.first_seen, host=alert.host, message="archived line")],
    )
    # An auditor reads the alert but holds no event search.
    page = as_persona("auditor").get(f"/alerts/{alert.pk}/")
    assert page.status_code == 200
    assert "events-around" not in page.content.decode()
    assert "archived line" not in page.content.decode()
