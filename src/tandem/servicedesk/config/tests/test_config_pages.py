"""Desk-configuration pages: the owner edits calendars, SLA policies, categories,
the priority matrix, the workflow and the thresholds with plain forms; everyone else reads
what they may, or gets 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.servicedesk.config.models import Category, DeskSettings
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.sla.models import Calendar, SlaPolicy

pytestmark = pytest.mark.django_db


def _url(name: str, *args: Any) -> str:
    return reverse(f"servicedesk_config:{name}", args=args)


def _text(response: Any) -> str:
    return response.content.decode()


def _get(model: Any, pk: int) -> Any:
    with system_context("test: load a row"):
        return model.objects.get(pk=pk)


def _calendar_post(**overrides: str) -> dict[str, str]:
    """The calendar form as a browser posts it: three intervals per weekday."""
    data = {
        "slots": "3",
        "name": "Weekend on-call",
        "time_zone": "Europe/Berlin",
        "holiday_country": "",
        "holiday_subdivision": "",
        "custom_holidays": "",
        "special_days": "",
    }
    for day in range(7):
        for slot in range(3):
            data[f"d{day}_{slot}_start"] = ""
            data[f"d{day}_{slot}_end"] = ""
    data.update(overrides)
    return data


def test_the_overview_shows_matrix_workflow_and_thresholds(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("owner").get(_url("desk-config", world["tenant"])))
    assert "<h1>Desk configuration</h1>" in page
    assert '<th scope="row">High</th><td>P1</td><td>P2</td><td>P3</td>' in page
    assert "Waiting on requester" in page and "P1 to P2" in page and "1440 minutes" in page
    assert page.count(">Edit</a>") == 4  # matrix, workflow, thresholds, mail senders
    assert "May open tickets by mail</dt><dd>Members only</dd>" in page
    # Technicians read it; they do not get the edit links.
    page = _text(as_persona("internal_tech").get(_url("desk-config", world["tenant"])))
    assert "Status workflow" in page and ">Edit</a>" not in page
    assert as_persona("requester").get(_url("desk-config", world["tenant"])).status_code == 404


def test_the_weekly_hours_editor_saves_a_schedule(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("calendar-edit", world["tenant"], world["spare_calendar"])
    form = _text(client.get(url))
    assert 'name="d5_0_start" value="09:00"' in form  # Saturday's stored interval
    assert 'name="d5_3_start"' not in form  # three intervals per day
    response = client.post(
        url,
        _calendar_post(
            d5_0_start="08:00",
            d5_0_end="12:00",
            d5_1_start="13:00",
            d5_1_end="18:00",
            d6_0_start="10:00",
            d6_0_end="24:00",
            holiday_country="de",
            holiday_subdivision="by",
            custom_holidays="2026-12-24\n2026-12-31",
            special_days="2026-12-27 10:00-12:00, 14:00-16:00\n2026-12-28 closed",
        ),
    )
    assert response.status_code == 302 and response["Location"] == _url(
        "calendars", world["tenant"]
    )
    calendar = _get(Calendar, world["spare_calendar"])
    assert calendar.weekly == {
        "5": [["08:00", "12:00"], ["13:00", "18:00"]],
        "6": [["10:00", "24:00"]],
    }
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BY")
    assert calendar.custom_holidays == ["2026-12-24", "2026-12-31"]
    assert calendar.special_days == {
        "2026-12-27": [["10:00", "12:00"], ["14:00", "16:00"]],
        "2026-12-28": [],
    }
    listing = _text(client.get(_url("calendars", world["tenant"])))
    assert "08:00–12:00, 13:00–18:00" in listing and "DE-BY" in listing


def test_the_weekly_hours_editor_explains_its_refusals(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("calendar-edit", world["tenant"], world["spare_calendar"])
    half = client.post(url, _calendar_post(d0_0_start="08:00"))
    assert half.status_code == 422
    assert "Monday: give both a start and an end, or neither." in _text(half)
    overlap = client.post(
        url,
        _calendar_post(d1_0_start="08:00", d1_0_end="12:00", d1_1_start="11:00", d1_1_end="13:00"),
    )
    assert overlap.status_code == 422
    assert "Tuesday: intervals 08:00-12:00 and 11:00-13:00 overlap." in _text(overlap)
    special = client.post(
        url, _calendar_post(d1_0_start="08:00", d1_0_end="12:00", special_days="2026-12-24")
    )
    assert special.status_code == 422
    assert "Line 1: a date, then its hours or “closed”." in _text(special)
    assert _get(Calendar, world["spare_calendar"]).weekly == {"5": [["09:00", "13:00"]]}


def test_a_calendar_in_use_is_not_deleted(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("calendar-delete", world["tenant"], world["office_calendar"])
    page = _text(client.get(url))
    assert "cannot be deleted while something uses it" in page
    assert "coverage of Acme Corp IT" in page and "Delete the calendar" not in page
    refused = client.post(url)
    assert refused.status_code == 409
    assert "is in use by coverage of Acme Corp IT" in _text(refused)

    spare = _url("calendar-delete", world["tenant"], world["spare_calendar"])
    assert "Delete the calendar" in _text(client.get(spare))
    done = client.post(spare, follow=True)
    assert "Calendar “Weekend on-call” is deleted." in _text(done)
    with system_context("test"):
        assert not Calendar.objects.filter(pk=world["spare_calendar"]).exists()


def test_an_sla_policy_is_created_edited_and_retired(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    created = client.post(
        _url("sla-policy-create", world["tenant"]),
        {
            "name": "Sentinel SLA",
            "party_id": world["second_party"],
            "calendar_id": world["nights_calendar"],
            "warn_at_percent": "75",
            "t1_first_response": "15",
            "t1_resolution": "240",
            "t2_first_response": "60",
            "pause_resolution": ["waiting-requester", "waiting-third-party"],
        },
        follow=True,
    )
    assert "SLA policy “Sentinel SLA” is in force." in _text(created)
    with system_context("test"):
        policy = SlaPolicy.objects.get(name="Sentinel SLA")
    assert policy.targets == {
        "1": {"first_response": 15, "resolution": 240},
        "2": {"first_response": 60},
    }
    assert policy.pause_statuses == {"resolution": ["waiting-requester", "waiting-third-party"]}

    edit = _url("sla-policy-edit", world["tenant"], policy.pk)
    form = _text(client.get(edit))
    assert 'name="t1_resolution" value="240"' in form and 'name="party_id"' not in form
    refused = client.post(
        edit,
        {"name": "Sentinel SLA", "calendar_id": world["nights_calendar"], "warn_at_percent": "75"},
    )
    assert refused.status_code == 422
    assert "Give at least one target." in _text(refused)

    retired = client.post(_url("sla-policy-deactivate", world["tenant"], policy.pk), follow=True)
    assert "is retired; its terms stay on record" in _text(retired)
    assert not _get(SlaPolicy, policy.pk).is_active
    again = client.post(_url("sla-policy-deactivate", world["tenant"], policy.pk), follow=True)
    assert "is inactive already" in _text(again)


def test_a_provider_sees_only_its_own_policy_page(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("provider_tech").get(_url("sla-policies", world["tenant"])))
    assert "Northwind SLA" in page and "Internal OLA" not in page
    assert "Retire" not in page and "New SLA policy" not in page
    page = _text(as_persona("second_provider_tech").get(_url("sla-policies", world["tenant"])))
    assert "No SLA policies you may see." in page
    calendars = _text(as_persona("provider_tech").get(_url("calendars", world["tenant"])))
    assert "SLA policy “Northwind SLA”" in calendars and "Internal OLA" not in calendars


def test_a_category_with_questions_is_created_and_retired(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    created = client.post(
        _url("category-create", world["tenant"]),
        {
            "rows": "2",
            "name": "Laptop problem",
            "service_area_id": world["service_area"],
            "description": "Hardware and operating system",
            "q0_name": "os",
            "q0_label": "Operating system",
            "q0_type": "choice",
            "q0_choices": "Windows\nmacOS\n",
            "q0_required": "on",
            "q1_name": "asset_tag",
            "q1_label": "Asset tag",
            "q1_type": "text",
        },
        follow=True,
    )
    assert "Category “Laptop problem” is offered in the portal." in _text(created)
    with system_context("test"):
        category = Category.objects.get(name="Laptop problem")
    assert category.form_fields == [
        {
            "name": "os",
            "label": "Operating system",
            "type": "choice",
            "choices": ["Windows", "macOS"],
            "required": True,
        },
        {
            "name": "asset_tag",
            "label": "Asset tag",
            "type": "text",
            "choices": [],
            "required": False,
        },
    ]
    form = _text(client.get(_url("category-edit", world["tenant"], category.pk)))
    assert 'name="q3_name"' in form  # two questions and two empty rows
    listing = _text(client.get(_url("categories", world["tenant"])))
    assert "Asset tag (optional)" in listing
    client.post(_url("category-retire", world["tenant"], category.pk))
    assert not _get(Category, category.pk).is_active
    portal = _text(
        as_persona("requester").get(reverse("servicedesk:portal-new", args=[world["tenant"]]))
    )
    assert "Server problem" in portal and "Laptop problem" not in portal


def test_the_priority_matrix_grid_is_redrawn_then_saved(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("priority-matrix-edit", world["tenant"])
    labels = {
        "impacts": "extensive\nsignificant\nmoderate\nminor",
        "urgencies": "critical\nhigh\nmedium\nlow",
        "priorities": "P1\nP2\nP3\nP4",
    }
    redrawn = client.post(url, {**labels, "action": "redraw"})
    assert redrawn.status_code == 200
    text = _text(redrawn)
    assert 'name="cell_3_3"' in text and '<th scope="col">Minor</th>' in text
    cells = dict(
        re.findall(r'name="(cell_\d_\d)"[^>]*>.*?<option value="(P\d)"[^>]*selected', text, re.S)
    )
    assert len(cells) == 16
    saved = client.post(url, {**labels, **cells, "action": "save"}, follow=True)
    assert "The priority matrix is saved." in _text(saved)
    with system_context("test"):
        matrix = DeskSettings.objects.get(tenant_id=world["tenant"]).priority_matrix
    assert matrix["impacts"][3] == "minor" and len(matrix["grid"]) == 4

    inverted = {**labels, **{k: ("P1" if k == "cell_3_3" else "P4") for k in cells}}
    refused = client.post(url, {**inverted, "action": "save"})
    assert refused.status_code == 422
    assert "gives a lower priority" in _text(refused)


def test_the_workflow_is_edited_in_rows(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("statuses-edit", world["tenant"])
    form = _text(client.get(url))
    assert 'name="s0_key" value="new" size="16" readonly' in form  # used by tickets
    with system_context("test"):
        statuses = DeskSettings.objects.get(tenant_id=world["tenant"]).statuses
    data: dict[str, str] = {}
    for row, (key, name, kind) in enumerate(statuses):
        data.update(
            {
                f"s{row}_order": str(row + 1),
                f"s{row}_key": key,
                f"s{row}_name": name,
                f"s{row}_kind": kind,
            }
        )
    data["s4_remove"] = "on"  # waiting on third party: never used
    data["s1_order"] = "9"  # assigned goes last
    data.update({"s8_order": "2", "s8_key": "on-hold", "s8_name": "On hold", "s8_kind": "waiting"})
    saved = client.post(url, data, follow=True)
    assert "The status workflow is saved." in _text(saved)
    with system_context("test"):
        keys = [s[0] for s in DeskSettings.objects.get(tenant_id=world["tenant"]).statuses]
    assert keys == [
        "new",
        "on-hold",
        "in-progress",
        "waiting-requester",
        "resolved",
        "closed",
        "reopened",
        "assigned",
    ]

    with system_context("test: IT works on the ticket"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        ticket_services.change_status(
            actor=system_principal("test"), ticket=ticket, status="on-hold"
        )
    form = _text(client.get(url))
    assert 'name="s1_key" value="on-hold" size="16" readonly' in form
    data = {
        "s0_order": "1",
        **{"s0_key": "new", "s0_name": "New", "s0_kind": "new"},
        **{"s1_key": "resolved", "s1_name": "Resolved", "s1_kind": "resolved"},
        **{"s2_key": "closed", "s2_name": "Closed", "s2_kind": "closed"},
    }
    refused = client.post(url, data)
    assert refused.status_code == 409
    assert "“On hold” (on-hold) is the status of 1 ticket" in _text(refused)


def test_the_thresholds_page(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("desk-thresholds-edit", world["tenant"])
    assert '<option value="2" selected>P1 to P2</option>' in _text(client.get(url))
    saved = client.post(
        url,
        {"urgent_priority_max": "1", "ping_pong_minutes": "90", "reopen_days": "7"},
        follow=True,
    )
    assert "P1 only" in _text(saved) and "90 minutes" in _text(saved)
    assert "<dt>Reopen window</dt><dd>7 days " in _text(saved)


def test_config_pages_carry_no_inline_script_or_style(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    tenant = world["tenant"]
    for url in (
        _url("desk-config", tenant),
        _url("calendars", tenant),
        _url("calendar-edit", tenant, world["office_calendar"]),
        _url("calendar-delete", tenant, world["office_calendar"]),
        _url("sla-policies", tenant),
        _url("sla-policy-edit", tenant, world["sla_policy"]),
        reverse("responsibility:coverage-edit", args=[tenant, world["coverage"]]),
        _url("categories", tenant),
        _url("category-edit", tenant, world["category"]),
        _url("priority-matrix-edit", tenant),
        _url("statuses-edit", tenant),
        _url("desk-thresholds-edit", tenant),
    ):
        page = _text(client.get(url))
        assert "<script>" not in page and "<style" not in page and " style=" not in page, url
        assert " on" + "click=" not in page, url


def test_config_lists_cost_a_fixed_number_of_queries(  # type: ignore[no-untyped-def]
    as_persona, world, django_assert_max_num_queries
) -> None:
    client = as_persona("owner")
    tenant = world["tenant"]
    for name in ("desk-config", "calendars", "sla-policies", "categories"):
        client.get(_url(name, tenant))  # warm the session
        with django_assert_max_num_queries(26):  # +1: the unread bell
            assert client.get(_url(name, tenant)).status_code == 200


def test_the_tenant_navigation_links_the_desk_configuration(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    link = f'href="{_url("desk-config", world["tenant"])}">Desk configuration<'
    assert link in _text(as_persona("internal_tech").get(_url("calendars", world["tenant"])))
    tickets = reverse("servicedesk:tickets", args=[world["tenant"]])
    assert "Desk configuration" not in _text(as_persona("requester").get(tickets))


def test_monday_hours_can_fill_the_working_week(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("calendar-create", world["tenant"])
    created = client.post(
        url,
        _calendar_post(
            name="Service desk hours",
            d0_0_start="07:30",
            d0_0_end="12:00",
            d0_1_start="12:30",
            d0_1_end="18:00",
            d2_0_start="10:00",
            d2_0_end="11:00",
            weekdays_like_monday="on",
        ),
    )
    assert created.status_code == 302
    with system_context("test"):
        calendar = Calendar.objects.get(name="Service desk hours")
    monday = [["07:30", "12:00"], ["12:30", "18:00"]]
    assert calendar.weekly == {str(day): monday for day in range(5)}


def test_saving_a_reshaped_matrix_redraws_the_grid_first(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("priority-matrix-edit", world["tenant"])
    stored = {"cell_0_0": "P1", "cell_0_1": "P2", "cell_0_2": "P3"}
    stored |= {"cell_1_0": "P2", "cell_1_1": "P3", "cell_1_2": "P4"}
    stored |= {"cell_2_0": "P3", "cell_2_1": "P4", "cell_2_2": "P5"}
    renamed = client.post(
        url,
        {
            "impacts": "high\nmedium\nlow\nnone",
            "urgencies": "high\nmedium\nlow",
            "priorities": "Critical\nHigh\nMedium\nLow\nPlanning",
            **stored,
            "action": "save",
        },
    )
    assert renamed.status_code == 422
    text = _text(renamed)
    assert "the grid was redrawn for them and nothing was saved yet" in text
    # Renamed priorities keep their cells; the new impact column gets a default.
    assert re.search(r'name="cell_0_0"[^>]*>.*?<option value="Critical" selected', text, re.S)
    assert 'name="cell_2_3"' in text
    with system_context("test"):
        matrix = DeskSettings.objects.get(tenant_id=world["tenant"]).priority_matrix
    assert matrix["priorities"][0] == "P1"
