"""The event search (decision 0045): a tenant's archived events by time range, host,
``field = value`` and free text, newest first, paged, counted; a bad query is a 422 with the
reason; only the tenant's own archive is read, whatever the parameters.

Events are written by the archive writer into real Parquet files (a fresh directory per
test) and searched with DuckDB; every time is relative to now.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEntry
from tandem.core.scoping import system_context
from tandem.logs import archive
from tandem.logs.archive.tests.support import linux_event, windows_event

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def archive_dir(settings: Any, tmp_path: Path) -> Path:
    settings.LOG_ARCHIVE_DIR = tmp_path / "archive"
    return settings.LOG_ARCHIVE_DIR


def ago(**delta: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def write(base: Path, tenant_id: int, *events: dict[str, Any]) -> None:
    archive.append(base, tenant_id, [{**event, "_tenant": tenant_id} for event in events])


def page_url(world: Any, tenant: str = "tenant") -> str:
    return reverse("logs:event-search", args=[world[tenant]])


def api(client: Any, world: Any, tenant: str = "tenant", **params: Any) -> Any:
    return client.get(f"{API}/tenants/{world[tenant]}/events", params)


def messages_of(response: Any) -> list[str]:
    return [item["event"]["message"] for item in response.json()["events"]]


def test_the_last_hour_newest_first_with_the_count_and_each_event_as_json(
    archive_dir, as_persona, world
):
    write(
        archive_dir,
        world["tenant"],
        linux_event(ago(minutes=50), message="ev oldest in the hour"),
        linux_event(ago(minutes=2), message="ev newest"),
        linux_event(ago(minutes=20), message="ev middle"),
        linux_event(ago(hours=3), message="ev three hours ago"),
    )
    owner = as_persona("owner")
    response = owner.get(page_url(world))
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("ev newest") < text.index("ev middle") < text.index("ev oldest in the hour")
    assert "ev three hours ago" not in text
    assert re.search(r'id="event-count">\s*3 events', text)
    assert "&quot;process&quot;: {" in text  # the JSON, escaped, behind each line

    answer = api(owner, world, range="24h")
    assert answer.status_code == 200
    assert messages_of(answer) == [
        "ev newest",
        "ev middle",
        "ev oldest in the hour",
        "ev three hours ago",
    ]
    assert answer.json()["count"] == 4 and answer.json()["count_exact"] is True


def test_host_fields_and_text_narrow_the_results_all_together(archive_dir, as_persona, world):
    write(
        archive_dir,
        world["tenant"],
        windows_event(ago(minutes=5), host="WS-01", user="alice", Image="C:\\Tools\\pwn.exe"),
        windows_event(ago(minutes=6), host="WS-02", user="alice", Image="C:\\Tools\\pwn.exe"),
        windows_event(ago(minutes=7), host="WS-01", user="bob", Image="C:\\Windows\\cmd.exe"),
        linux_event(ago(minutes=8), host="srv-01", message="Accepted publickey for root"),
    )
    owner = as_persona("owner")

    def hosts_users(**params: Any) -> list[tuple[str, str]]:
        answer = api(owner, world, **params)
        assert answer.status_code == 200, answer.content
        return [
            (
                item["host"],
                item["event"].get("Event", {}).get("EventData", {}).get("TargetUserName", "-"),
            )
            for item in answer.json()["events"]
        ]

    assert hosts_users(host="ws-01") == [("WS-01", "alice"), ("WS-01", "bob")]
    assert hosts_users(host="WS-0*", field=["Event.EventData.TargetUserName = ALICE"]) == [
        ("WS-01", "alice"),
        ("WS-02", "alice"),
    ]
    # Several fields: all must hold; a bare Windows name reads Event.EventData.
    assert hosts_users(field=["TargetUserName=alice", "Event.EventData.Image=*pwn.exe"]) == [
        ("WS-01", "alice"),
        ("WS-02", "alice"),
    ]
    assert hosts_users(host="ws-02", field=["TargetUserName=bob"]) == []
    # ECS-style dotted names, and text found anywhere (a Windows path as typed).
    assert hosts_users(field=["process.name=sshd"]) == [("srv-01", "-")]
    assert hosts_users(text="c:\\windows\\CMD.exe") == [("WS-01", "bob")]
    # The page reads the same filters from its form.
    page = owner.get(page_url(world), {"host": "ws-01", "field": ["TargetUserName = bob", ""]})
    assert page.status_code == 200
    assert re.search(r'id="event-count">\s*1 event ', page.content.decode())


def test_pages_follow_the_cursor_without_repeating_or_skipping(archive_dir, as_persona, world):
    write(
        archive_dir,
        world["tenant"],
        *[
            linux_event(ago(minutes=1, seconds=index * 7), message=f"line {index}")
            for index in range(120)
        ],
    )
    owner = as_persona("owner")
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 50}
    pages = 0
    while True:
        answer = api(owner, world, **params)
        assert answer.status_code == 200
        body = answer.json()
        assert body["count"] == 120 and body["count_exact"]
        seen += messages_of(answer)
        pages += 1
        if body["next_cursor"] is None:
            break
        # The same range as the first answer (a preset would slide with the clock).
        params = {
            "limit": 50,
            "from": body["start"],
            "to": body["end"],
            "cursor": body["next_cursor"],
        }
    assert pages == 3
    assert seen == [f"line {index}" for index in range(120)]

    # The API counts unless told not to (a count of many matches reads the whole range).
    assert api(owner, world, limit=50, count="false").json()["count"] is None

    # The page's "Older events" link carries the range, the filters and the cursor.
    first = owner.get(page_url(world), {"limit": 50, "host": "srv-01"})
    # The page does not wait for the count: it asks for it once shown.
    counting = re.search(r'hx-get="\?([^"]+)"', first.content.decode())
    assert counting is not None and "More than 50 events" in first.content.decode()
    counted = owner.get(page_url(world) + "?" + counting.group(1).replace("&amp;", "&"))
    assert re.match(r'<p class="muted" id="event-count">\s*120 events', counted.content.decode())
    link = re.search(r'href="\?([^"]+)" rel="next"', first.content.decode())
    assert link is not None
    second = owner.get(page_url(world) + "?" + link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert "line 50" in second.content.decode() and "line 49<" not in second.content.decode()


def test_absolute_times_are_read_in_the_analysts_zone(archive_dir, as_persona, world):
    moment = ago(hours=3).replace(microsecond=0)
    write(
        archive_dir,
        world["tenant"],
        linux_event(moment, message="inside"),
        linux_event(moment + dt.timedelta(minutes=30), message="outside"),
    )
    zone = ZoneInfo("Asia/Kolkata")  # +05:30 all year
    local = moment.astimezone(zone).replace(tzinfo=None)
    owner = as_persona("owner")
    params = {
        "range": "custom",
        "from": (local - dt.timedelta(minutes=10)).isoformat(timespec="seconds"),
        "to": (local + dt.timedelta(minutes=10)).isoformat(timespec="seconds"),
        "tz": "Asia/Kolkata",
    }
    assert messages_of(api(owner, world, **params)) == ["inside"]
    page = owner.get(page_url(world), params)
    text = page.content.decode()
    assert "inside" in text and "outside" not in text
    # Shown in the chosen zone.
    assert local.strftime("%Y-%m-%d %H:%M:%S") in text
    # The same local times read as UTC find nothing (5:30 away).
    assert messages_of(api(owner, world, **{**params, "tz": "UTC"})) == []


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"field": ["Event.EventData.Image"]}, "field", "field = value"),
        ({"field": ["bad name=x"]}, "field", "not a field name"),
        ({"field": ['a"b=x']}, "field", "not a field name"),
        ({"field": ["process.name="]}, "field", "give a value"),
        ({"range": "custom", "from": "2+2", "to": ""}, "from", "date and time"),
        ({"range": "5y"}, "range", "Choose one of"),
        ({"from": "0001-01-01T00:00", "tz": "Asia/Tokyo"}, "from", "out of range"),
        ({"tz": "Mars/Olympus"}, "tz", "Unknown time zone"),
        ({"cursor": "not-a-cursor!"}, "cursor", "page link"),
    ],
)
def test_a_bad_query_is_422_with_its_reason(archive_dir, as_persona, world, params, field, reason):
    owner = as_persona("owner")
    answer = api(owner, world, **params)
    assert answer.status_code == 422
    assert reason in str(answer.json()["detail"])
    page = owner.get(page_url(world), params)
    assert page.status_code == 422
    assert reason in page.content.decode()


def test_from_after_to_and_a_range_too_wide_are_refused(archive_dir, as_persona, world):
    owner = as_persona("owner")
    now = timezone.now()
    backwards = {"from": now.isoformat(), "to": (now - dt.timedelta(hours=1)).isoformat()}
    answer = api(owner, world, **backwards)
    assert answer.status_code == 422 and "before 'to'" in str(answer.json()["detail"])
    wide = {"from": (now - dt.timedelta(days=40)).isoformat(), "to": now.isoformat()}
    answer = api(owner, world, **wide)
    assert answer.status_code == 422 and "at most 31 days" in str(answer.json()["detail"])
    assert owner.get(page_url(world), {"range": "custom", **wide}).status_code == 422


def test_only_the_tenants_own_archive_is_read_whatever_the_parameters(
    archive_dir, as_persona, world
):
    write(archive_dir, world["tenant"], linux_event(ago(minutes=3), message="acme event"))
    write(
        archive_dir,
        world["other_tenant"],
        linux_event(ago(minutes=3), message="globex secret event"),
    )
    owner = as_persona("owner")
    # Globex's tenant id: no such page, no such resource.
    assert owner.get(page_url(world, "other_tenant")).status_code == 404
    assert api(owner, world, "other_tenant").status_code == 404
    # Crafted values are values, never paths or SQL.
    crafted = [
        {"host": f"../tenant={world['other_tenant']}/*"},
        {"host": "*' OR 1=1 --"},
        {"text": "globex"},
        {"field": [f"_tenant={world['other_tenant']}"]},
        {"field": ["message=*"], "text": "') UNION SELECT * FROM read_parquet('/'); --"},
    ]
    for params in crafted:
        answer = api(owner, world, **params)
        assert answer.status_code == 200, (params, answer.content)
        assert all("globex" not in m for m in messages_of(answer)), params
    assert messages_of(api(owner, world, field=["message=*"])) == ["acme event"]
    # Globex's owner sees Globex's, and nothing of Acme's.
    other = as_persona("other_tenant_owner")
    assert messages_of(api(other, world, "other_tenant")) == ["globex secret event"]
    assert api(other, world).status_code == 404


@pytest.mark.parametrize(
    ("persona", "reaches"),
    [
        ("owner", True),
        ("internal_tech", True),
        ("second_provider_tech", True),  # Sentinel: Acme's security monitoring
        ("provider_tech", False),  # Northwind: HQ, other areas
        ("provider_admin", False),
        ("out_of_scope_tech", False),  # Narrow IT: Branch only
        ("requester", False),
        ("suspended_provider_tech", False),
    ],
)
def test_who_searches_acmes_events(archive_dir, as_persona, world, persona, reaches):
    write(archive_dir, world["tenant"], linux_event(ago(minutes=3), message="acme event"))
    client = as_persona(persona)
    page = client.get(page_url(world))
    assert page.status_code == (200 if reaches else 404)
    answer = api(client, world)
    if reaches:
        assert messages_of(answer) == ["acme event"]
    else:
        assert answer.status_code in (403, 404)
        assert b"acme event" not in answer.content and b"acme event" not in page.content


def test_the_events_section_shows_in_the_menu_of_those_who_search(archive_dir, as_persona, world):
    tenant_page = reverse("assets:devices", args=[world["tenant"]])
    owner_page = as_persona("owner").get(tenant_page).content.decode()
    assert f'href="{page_url(world)}"' in owner_page
    northwind_page = as_persona("provider_tech").get(tenant_page).content.decode()
    assert page_url(world) not in northwind_page


def _retention_entries(tenant_id: int) -> int:
    with system_context("test: count retention changes"):
        return AuditEntry.objects.filter(
            tenant_id=tenant_id, action="logs.set_archive_settings"
        ).count()


def test_the_tenants_it_sets_the_retention_and_it_is_audited(archive_dir, as_persona, world):
    url = reverse("logs:event-retention", args=[world["tenant"]])
    owner = as_persona("owner")
    page = owner.get(url)
    assert page.status_code == 200 and 'value="90"' in page.content.decode()
    assert owner.post(url, {"retention_days": "30"}).status_code == 302
    assert 'value="30"' in owner.get(url).content.decode()
    assert _retention_entries(world["tenant"]) == 1
    for bad in ("0", "3651", "thirty"):
        refused = owner.post(url, {"retention_days": bad})
        assert refused.status_code == 422
        assert "from 1 to 3650" in refused.content.decode()
    assert _retention_entries(world["tenant"]) == 1

    answer = owner.put(
        f"{API}/tenants/{world['tenant']}/event-archive/settings",
        {"retention_days": 3651},
        content_type="application/json",
    )
    assert answer.status_code == 422
    answer = owner.put(
        f"{API}/tenants/{world['tenant']}/event-archive/settings",
        {"retention_days": 30},
        content_type="application/json",
    )
    assert answer.status_code == 409

    # Sentinel searches and reads the retention, but does not set it.
    sentinel = as_persona("second_provider_tech")
    assert sentinel.get(url).status_code == 200
    assert "Save" not in sentinel.get(url).content.decode()
    assert sentinel.post(url, {"retention_days": "7"}).status_code == 404
    answer = sentinel.get(f"{API}/tenants/{world['tenant']}/event-archive/settings")
    assert answer.json() == {"tenant_id": world["tenant"], "retention_days": 30}
    assert _retention_entries(world["tenant"]) == 1
