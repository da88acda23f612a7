"""Desk-configuration edits through the services: calendars, SLA policies, categories,
the priority matrix, the status workflow and the thresholds (coverage: the responsibility
app's tests). Every change is validated before anything is written, audited with a diff,
and refused to anyone but the tenant's owners."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from tests.desk.setup import OFFICE
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.audit.models import AuditEntry
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.principal import Principal
from tandem.core.scoping import principal_scope, system_context
from tandem.responsibility import services as matrix_services
from tandem.responsibility.models import Coverage
from tandem.servicedesk import desk_config
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.config import services as config_services
from tandem.servicedesk.config import sla_services as config_sla
from tandem.servicedesk.config.models import Category
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.sla.models import Calendar, SlaPolicy
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

ALWAYS = {str(d): [["00:00", "24:00"]] for d in range(7)}
STATUSES = [
    ["new", "New", "new"],
    ["assigned", "Assigned", "open"],
    ["in-progress", "In progress", "open"],
    ["waiting-requester", "Waiting on requester", "waiting"],
    ["waiting-third-party", "Waiting on third party", "waiting"],
    ["resolved", "Resolved", "resolved"],
    ["closed", "Closed", "closed"],
    ["reopened", "Reopened", "open"],
]


def _as(world: Any, persona: str) -> Principal:
    return resolve_principal(user_of(world, persona))


def _get(model: Any, pk: int) -> Any:
    with system_context("test: load a row"):
        return model.objects.select_related("tenant").get(pk=pk)


def _tenant(world: Any) -> Tenant:
    with system_context("test: the tenant"):
        return Tenant.objects.get(pk=world["tenant"])


def _settings(tenant_id: int) -> Any:
    with system_context("test: desk settings"):
        return desk_settings(tenant_id)


def _audit_count() -> int:
    with system_context("test: audit entries"):
        return AuditEntry.objects.count()


def _audits(action: str) -> list[AuditEntry]:
    with system_context("test: audit entries"):
        return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _statuses_without(*keys: str) -> list[list[str]]:
    return [s for s in STATUSES if s[0] not in keys]


def _set_ticket_status(world: Any, status: str) -> None:
    with system_context("test: IT moves the ticket"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        ticket_services.change_status(actor=_system(), ticket=ticket, status=status)


def _system() -> Principal:
    from tandem.core.principal import system_principal

    return system_principal("test")


# --- Calendars --------------------------------------------------------------------------------


def test_new_hours_are_saved_audited_and_move_open_due_dates(  # type: ignore[no-untyped-def]
    world, settings, django_capture_on_commit_callbacks
) -> None:
    _immediate_tasks(settings)
    owner = _as(world, "owner")
    office = _get(Calendar, world["office_calendar"])
    due_before = _get(Ticket, world["ticket"]).first_response_due
    with principal_scope(owner), django_capture_on_commit_callbacks(execute=True):
        config_sla.update_calendar(actor=owner, calendar=office, weekly=ALWAYS, holiday_country="")

    office = _get(Calendar, world["office_calendar"])
    assert office.weekly == ALWAYS
    assert (office.holiday_country, office.holiday_subdivision) == ("", "")  # no country, no BE
    [entry] = _audits("sla.change_calendar")
    assert entry.changes["holiday_country"] == ["DE", ""]
    assert entry.changes["weekly"][1] == ALWAYS
    # Acme IT's OLA runs on this calendar: its clock now runs around the clock, so the due
    # date is the clock's start plus the target in wall time. (Compared with the due date
    # before, it may or may not differ: a first response window that lies wholly inside
    # office hours, on a weekday morning, is the same under both calendars.)
    ticket = _get(Ticket, world["ticket"])
    first_response = ticket.sla_state[str(ticket.party_id)]["first_response"]
    expected = ticket.created_at + dt.timedelta(seconds=first_response["target"])
    assert ticket.first_response_due is not None
    assert abs(ticket.first_response_due - expected) < dt.timedelta(seconds=1)  # whole seconds
    assert due_before is not None and ticket.first_response_due <= due_before


def test_a_rejected_calendar_edit_changes_nothing_and_names_the_field(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    office = _get(Calendar, world["office_calendar"])
    cases = [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not an IANA time zone"),
        ({"weekly": {"0": [["09:00", "12:00"], ["11:00", "14:00"]]}}, "weekly", "Monday"),
        ({"weekly": {"0": [["17:00", "08:00"]]}}, "weekly", "ends before"),
        ({"weekly": {"7": [["09:00", "17:00"]]}}, "weekly", "Weekdays are"),
        ({"weekly": {}}, "weekly", "no open hours"),
        ({"holiday_subdivision": "XX"}, "holiday_subdivision", "not a subdivision of DE"),
        ({"holiday_country": "QQ"}, "holiday_country", "No public holidays"),
        ({"custom_holidays": ["2026-02-30"]}, "custom_holidays", "not a date"),
        ({"special_days": {"2026-12-24": [["12:00", "25:00"]]}}, "special_days", "2026-12-24"),
    ]
    for change, field, words in cases:
        with principal_scope(owner), pytest.raises(InvalidInput) as refused:
            config_sla.update_calendar(actor=owner, calendar=office, **change)
        assert field in refused.value.field_errors, (change, refused.value.field_errors)
        assert words in refused.value.message, (change, refused.value.message)
    assert _get(Calendar, world["office_calendar"]).weekly == OFFICE
    assert _audits("sla.change_calendar") == []


def test_subdivision_codes_are_matched_as_the_holidays_package_spells_them(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    office = _get(Calendar, world["office_calendar"])
    with principal_scope(owner):
        config_sla.update_calendar(actor=owner, calendar=office, holiday_subdivision="by")
    assert _get(Calendar, world["office_calendar"]).holiday_subdivision == "BY"


def test_calendar_names_stay_unique(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    with principal_scope(owner), pytest.raises(Conflict, match="already exists"):
        config_sla.update_calendar(
            actor=owner, calendar=_get(Calendar, world["spare_calendar"]), name="office HOURS"
        )


def test_a_calendar_in_use_cannot_be_deleted_and_the_answer_says_by_what(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    with principal_scope(owner), pytest.raises(Conflict) as refused:
        config_sla.delete_calendar(actor=owner, calendar=_get(Calendar, world["office_calendar"]))
    assert "coverage of Acme Corp IT" in str(refused.value)
    assert "the SLA policy “Internal OLA”" in str(refused.value)

    with principal_scope(owner):
        config_sla.delete_calendar(actor=owner, calendar=_get(Calendar, world["spare_calendar"]))
    with system_context("test"):
        assert not Calendar.objects.filter(pk=world["spare_calendar"]).exists()
    [entry] = _audits("sla.delete_calendar")
    assert entry.changes["name"] == ["Weekend on-call", None]


# --- SLA policies -----------------------------------------------------------------------------


def test_new_targets_recompute_the_open_tickets(  # type: ignore[no-untyped-def]
    world, settings, django_capture_on_commit_callbacks
) -> None:
    _immediate_tasks(settings)
    owner = _as(world, "owner")
    with system_context("test"):
        ola = SlaPolicy.objects.select_related("tenant").get(name="Internal OLA")
    internal = str(world["internal_party"])
    before = _get(Ticket, world["ticket"]).sla_state[internal]["first_response"]["target"]
    assert before == 240 * 60  # P3: four hours
    with principal_scope(owner), django_capture_on_commit_callbacks(execute=True):
        config_sla.update_sla_policy(
            actor=owner,
            policy=ola,
            targets={"3": {"first_response": 120, "resolution": 1440}, "02": {"resolution": 480}},
        )
    assert _get(SlaPolicy, ola.pk).targets == {
        "2": {"resolution": 480},
        "3": {"first_response": 120, "resolution": 1440},
    }
    after = _get(Ticket, world["ticket"]).sla_state[internal]["first_response"]["target"]
    assert after == 120 * 60
    [entry] = _audits("sla.change_policy")
    assert set(entry.changes) == {"targets"}


def test_bad_targets_and_pause_statuses_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    policy = _get(SlaPolicy, world["sla_policy"])
    cases = [
        ({"targets": {}}, "deactivate its policy instead"),
        ({"targets": {"10": {"resolution": 60}}}, "Priorities are"),
        ({"targets": {"1": {"resolution": 0}}}, "at least 1"),
        ({"targets": {"1": {"resolution": True}}}, "whole minutes"),
        ({"targets": {"1": {"fix": 60}}}, "metrics are"),
        ({"pause_statuses": {"resolution": ["on-hold"]}}, "unknown statuses on-hold"),
        ({"warn_at_percent": 100}, "Between 1 and 99"),
        ({"calendar_id": world["other_calendar"]}, "Not found in this tenant"),
    ]
    for change, words in cases:
        with principal_scope(owner), pytest.raises(InvalidInput, match=words):
            config_sla.update_sla_policy(actor=owner, policy=policy, **change)
    assert _get(SlaPolicy, world["sla_policy"]).warn_at_percent == 80
    assert _audits("sla.change_policy") == []


def test_a_party_has_one_policy_in_force_at_a_time(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    northwind_sla = _get(SlaPolicy, world["sla_policy"])
    with principal_scope(owner):
        config_sla.deactivate_sla_policy(actor=owner, policy=northwind_sla)
        replacement = config_sla.add_sla_policy(
            actor=owner,
            tenant=northwind_sla.tenant,
            name="Northwind SLA 2027",
            party_id=world["party"],
            calendar_id=world["nights_calendar"],
            targets={"1": {"resolution": 180}},
        )
        with pytest.raises(
            Conflict, match="already has an active SLA policy, “Northwind SLA 2027”"
        ):
            config_sla.activate_sla_policy(actor=owner, policy=_get(SlaPolicy, world["sla_policy"]))
        with pytest.raises(Conflict, match="is active already"):
            config_sla.activate_sla_policy(actor=owner, policy=replacement)
    assert not _get(SlaPolicy, world["sla_policy"]).is_active
    retired = [e for e in _audits("sla.deactivate_policy") if e.tenant_id == world["tenant"]]
    assert [e.changes for e in retired] == [{"is_active": [True, False]}]


# --- Categories -------------------------------------------------------------------------------


def test_a_category_keeps_its_optional_questions(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    with principal_scope(owner):
        category = config_services.add_category(
            actor=owner,
            tenant=tenant,
            name="Laptop",
            service_area_id=world["service_area"],
            form_fields=[
                {"name": "os", "label": "System", "type": "choice", "choices": ["Win", "Mac"]},
                {"name": "tag", "label": "Asset tag", "required": False},
            ],
        )
    assert _get(Category, category.pk).form_fields == [
        {
            "name": "os",
            "label": "System",
            "type": "choice",
            "choices": ["Win", "Mac"],
            "required": True,
        },
        {"name": "tag", "label": "Asset tag", "type": "text", "choices": [], "required": False},
    ]
    assert [e.target_id for e in _audits("servicedesk.create_category")][-1] == str(category.pk)


def test_bad_questions_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    category = _get(Category, world["category"])
    cases = [
        ([{"name": "os", "label": "A"}, {"name": "os", "label": "B"}], "used twice"),
        ([{"name": "os", "label": "A", "type": "choice"}], "needs choices"),
        ([{"name": "os", "label": "A", "choices": ["x"]}], "only choice questions"),
        ([{"name": "Asset Tag", "label": "A"}], "lower-case"),
        ([{"name": "os", "label": "A", "hint": "x"}], "unknown keys hint"),
        ([{"name": "os", "label": "A", "type": "date"}], "the type is"),
    ]
    for questions, words in cases:
        with principal_scope(owner), pytest.raises(InvalidInput, match=words):
            config_services.update_category(actor=owner, category=category, form_fields=questions)
    assert _get(Category, world["category"]).form_fields == []


def test_a_retired_category_is_no_longer_offered(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    requester = _as(world, "requester")
    with principal_scope(owner):
        config_services.retire_category(actor=owner, category=_get(Category, world["category"]))
        with pytest.raises(Conflict, match="retired already"):
            config_services.retire_category(actor=owner, category=_get(Category, world["category"]))
    with principal_scope(requester), pytest.raises(InvalidInput, match="retired"):
        ticket_services.create_ticket(
            actor=requester,
            tenant=_tenant(world),
            requester=user_of(world, "requester"),
            subject="Printer",
            category_id=world["category"],
        )
    with principal_scope(owner):
        config_services.reactivate_category(actor=owner, category=_get(Category, world["category"]))
    assert _get(Category, world["category"]).is_active


# --- Priority matrix --------------------------------------------------------------------------

FOUR = ["P1", "P2", "P3", "P4"]
FOUR_BY_FOUR = {
    "impacts": ["extensive", "significant", "moderate", "minor"],
    "urgencies": ["critical", "high", "medium", "low"],
    "priorities": FOUR,
    "grid": [[FOUR[min(u + i, 3)] for i in range(4)] for u in range(4)],
}


def test_a_four_by_four_matrix_prioritises_new_tickets(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    with principal_scope(owner):
        config_services.set_priority_matrix(actor=owner, tenant=tenant, **FOUR_BY_FOUR)
        ticket = ticket_services.create_ticket(
            actor=owner,
            tenant=tenant,
            requester=user_of(world, "owner"),
            subject="Minor and low",
            service_area_id=world["service_area"],
            impact=4,
            urgency=4,
        )
    assert ticket.priority == 4
    [entry] = _audits("servicedesk.change_priority_matrix")
    assert entry.changes["priority_matrix"][1]["impacts"][3] == "minor"


def test_a_matrix_that_lowers_priority_with_severity_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    inverted = {**FOUR_BY_FOUR, "grid": [list(reversed(row)) for row in FOUR_BY_FOUR["grid"]]}
    with principal_scope(owner), pytest.raises(InvalidInput) as refused:
        config_services.set_priority_matrix(actor=owner, tenant=tenant, **inverted)
    assert (
        "Higher impact 'extensive' gives a lower priority" in refused.value.field_errors["grid"][0]
    )
    with principal_scope(owner), pytest.raises(InvalidInput, match="Between 3 and 9"):
        config_services.set_priority_matrix(
            actor=owner,
            tenant=tenant,
            impacts=["high", "low"],
            urgencies=["high", "low"],
            priorities=["P1", "P2"],
            grid=[["P1", "P2"], ["P2", "P2"]],
        )
    assert _settings(tenant.pk).priority_matrix["impacts"] == ["high", "medium", "low"]


def test_a_smaller_matrix_must_still_hold_the_open_tickets(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    two = {
        "impacts": ["high", "medium", "low"],
        "urgencies": ["high", "medium", "low"],
        "priorities": ["P1", "P2"],
        "grid": [["P1", "P1", "P2"], ["P1", "P2", "P2"], ["P2", "P2", "P2"]],
    }
    # The file-server ticket is P3.
    with (
        principal_scope(owner),
        pytest.raises(Conflict, match="1 open ticket has a priority above 2"),
    ):
        config_services.set_priority_matrix(actor=owner, tenant=tenant, **two)
    one = {**two, "priorities": ["P1"], "grid": [["P1"] * 3] * 3}
    with principal_scope(owner), pytest.raises(InvalidInput, match="Urgent tickets are P1 to P2"):
        config_services.set_priority_matrix(actor=owner, tenant=tenant, **one)


# --- Status workflow --------------------------------------------------------------------------


def test_statuses_can_be_renamed_reordered_and_added(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    workflow = [*STATUSES[:2], ["on-hold", "On hold", "waiting"], *STATUSES[2:]]
    workflow[1] = ["assigned", "Picked up", "open"]
    with principal_scope(owner):
        config_services.set_statuses(actor=owner, tenant=tenant, statuses=workflow)
    assert _settings(tenant.pk).statuses[1:3] == [
        ["assigned", "Picked up", "open"],
        ["on-hold", "On hold", "waiting"],
    ]
    # The cached desk configuration follows at once (it listens to save()).
    with system_context("test"):
        config_now = desk_config.current(tenant.pk)
    assert config_now.statuses[2] == ("on-hold", "On hold", "waiting")
    _set_ticket_status(world, "on-hold")
    assert _get(Ticket, world["ticket"]).status == "on-hold"


def test_a_status_that_tickets_hold_or_held_stays(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    _set_ticket_status(world, "in-progress")
    with (
        principal_scope(owner),
        pytest.raises(Conflict, match=r"is the status of 1 ticket: move it"),
    ):
        config_services.set_statuses(
            actor=owner, tenant=tenant, statuses=_statuses_without("in-progress")
        )
    _set_ticket_status(world, "assigned")
    with principal_scope(owner), pytest.raises(Conflict, match="appears in tickets' history"):
        config_services.set_statuses(
            actor=owner, tenant=tenant, statuses=_statuses_without("in-progress")
        )
    with principal_scope(owner), pytest.raises(Conflict, match="“Internal OLA” pauses on"):
        config_services.set_statuses(
            actor=owner, tenant=tenant, statuses=_statuses_without("waiting-requester")
        )
    changed_kind = [
        s if s[0] != "assigned" else ["assigned", "Assigned", "waiting"] for s in STATUSES
    ]
    with principal_scope(owner), pytest.raises(Conflict, match="kind cannot change"):
        config_services.set_statuses(actor=owner, tenant=tenant, statuses=changed_kind)
    with principal_scope(owner):  # never used: it may go
        config_services.set_statuses(
            actor=owner, tenant=tenant, statuses=_statuses_without("waiting-third-party")
        )
    assert "waiting-third-party" not in config_queries.status_kinds(_settings(tenant.pk))
    assert len(_audits("servicedesk.change_statuses")) == 1


def test_a_workflow_needs_its_kinds_and_a_new_first_status(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    cases = [
        ([s for s in STATUSES if s[2] != "closed"], "none is closed"),
        ([STATUSES[1], STATUSES[0], *STATUSES[2:]], "must be of kind new"),
        ([*STATUSES, ["New-Thing", "Thing", "open"]], "lower-case letters"),
        ([*STATUSES, ["thing", "new", "open"]], "Names are repeated: new"),
        ([*STATUSES, ["thing", "Thing", "paused"]], "the kind is one of"),
    ]
    for statuses, words in cases:
        with principal_scope(owner), pytest.raises(InvalidInput, match=words):
            config_services.set_statuses(actor=owner, tenant=tenant, statuses=statuses)
    assert _settings(tenant.pk).statuses == STATUSES


# --- Thresholds and who may change anything ---------------------------------------------------


def test_thresholds_are_checked_against_the_matrix(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    tenant = _tenant(world)
    with principal_scope(owner), pytest.raises(InvalidInput, match="has 5 priorities"):
        config_services.set_desk_thresholds(actor=owner, tenant=tenant, urgent_priority_max=6)
    with principal_scope(owner), pytest.raises(InvalidInput, match="from 1 to 43200"):
        config_services.set_desk_thresholds(actor=owner, tenant=tenant, ping_pong_minutes=0)
    with principal_scope(owner):
        config_services.set_desk_thresholds(
            actor=owner, tenant=tenant, urgent_priority_max=1, ping_pong_minutes=120
        )
    settings = _settings(tenant.pk)
    assert (settings.urgent_priority_max, settings.ping_pong_minutes) == (1, 120)
    with system_context("test"):
        config_now = desk_config.current(tenant.pk)
    assert config_now.urgent_priority_max == 1
    [entry] = _audits("servicedesk.change_desk_thresholds")
    assert entry.changes == {"ping_pong_minutes": [1440, 120], "urgent_priority_max": [2, 1]}


@pytest.mark.parametrize("persona", ["internal_tech", "provider_admin", "other_tenant_owner"])
def test_only_the_tenants_owners_change_its_configuration(world, persona) -> None:  # type: ignore[no-untyped-def]
    actor = _as(world, persona)
    tenant = _tenant(world)
    before = _audit_count()
    writes = [
        lambda: config_sla.update_calendar(
            actor=actor, calendar=_get(Calendar, world["office_calendar"]), name="Mine"
        ),
        lambda: config_sla.delete_calendar(
            actor=actor, calendar=_get(Calendar, world["spare_calendar"])
        ),
        lambda: config_sla.deactivate_sla_policy(
            actor=actor, policy=_get(SlaPolicy, world["sla_policy"])
        ),
        lambda: matrix_services.remove_coverage(
            actor=actor, coverage=_get(Coverage, world["coverage"])
        ),
        lambda: config_services.retire_category(
            actor=actor, category=_get(Category, world["category"])
        ),
        lambda: config_services.set_statuses(actor=actor, tenant=tenant, statuses=STATUSES[::-1]),
        lambda: config_services.set_desk_thresholds(
            actor=actor, tenant=tenant, urgent_priority_max=1
        ),
        lambda: config_services.set_priority_matrix(actor=actor, tenant=tenant, **FOUR_BY_FOUR),
    ]
    for write in writes:
        with principal_scope(actor), pytest.raises(PermissionDenied):
            write()
    assert _audit_count() == before
    assert _get(Calendar, world["office_calendar"]).name == "Office hours"
    assert _get(SlaPolicy, world["sla_policy"]).is_active
