"""The device principal inside the fail-closed scoping (decisions 0001, 0027, 0032).

A device credential's principal reaches its one device: the device's own rows (the device,
its agent state, reports, credentials, inventory, history, offline episodes) are narrowed
to it, and every other tenant-scoped model refuses to run, as a query without a scope does.
The ``/agent/v1/`` handlers, which run under that scope, keep working (``test_protocol``,
``test_hot_path``, ``test_real_agent``); the isolation matrix's personas never hold a
device credential, so this file is the matrix's row for it.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django_scopes.exceptions import ScopeError
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.agents.models import (
    AgentReport,
    AgentState,
    DeviceCredential,
    EnrolmentToken,
    InstalledSoftware,
    PendingUpdate,
    SoftwareChange,
)
from tandem.agents.tests.support import check_in, enrol, make_token
from tandem.assets.models import Device, OfflineAlertPolicy, OfflineEpisode
from tandem.core.principal import Principal, device_principal
from tandem.core.scoping import principal_scope, system_context, within_tenant
from tandem.jobs.models import Job, JobTransition
from tandem.servicedesk.tickets.models import Ticket, TicketDevice
from tandem.tenancy.models import Site, Tenant

pytestmark = pytest.mark.django_db

#: The models whose rows belong to one device: a device principal sees its own.
DEVICE_OWNED = {
    Device,
    Job,
    JobTransition,
    AgentState,
    AgentReport,
    DeviceCredential,
    InstalledSoftware,
    PendingUpdate,
    SoftwareChange,
    OfflineEpisode,
}


def _as_device(world, name: str = "device") -> Principal:  # type: ignore[no-untyped-def]
    return device_principal(device_id=world[name], tenant_id=world["tenant"], label=name)


def _scoped_models() -> list[type]:
    """Every Tandem model behind a tenant scope (the managers ``core.models`` builds)."""
    return [
        model
        for model in apps.get_models()
        if model.__module__.startswith("tandem.") and hasattr(model._default_manager, "with_scope")
    ]


def test_a_device_sees_only_itself_among_its_tenants_devices(world) -> None:  # type: ignore[no-untyped-def]
    with principal_scope(_as_device(world)):
        assert list(Device.objects.values_list("pk", flat=True)) == [world["device"]]
        # Another device of the same tenant reads as none, by id or by any filter.
        assert not Device.objects.filter(pk=world["device_out_of_scope"]).exists()
        assert not Device.objects.filter(hostname="acme-spare-laptop").exists()
        with pytest.raises(Device.DoesNotExist):
            Device.objects.get(pk=world["device_unplaced"])
        # Another tenant's device: none either.
        assert not Device.objects.filter(pk=world["other_device"]).exists()


def test_a_service_entering_its_tenant_stays_narrowed_to_the_device(world) -> None:  # type: ignore[no-untyped-def]
    """``within_tenant`` (every service's own reads) keeps the device dimension: a service
    called for a device cannot reach the device's neighbours; another tenant, nothing."""
    with principal_scope(_as_device(world)):
        with within_tenant(world["tenant"]):
            assert set(Device.objects.values_list("pk", flat=True)) == {world["device"]}
        with within_tenant(world["other_tenant"]):
            assert not Device.objects.exists()
        # A named system context is the one way around it, as for everyone.
        with system_context("test: the named escape hatch"):
            assert Device.objects.filter(pk=world["device_unplaced"]).exists()


def test_a_device_reads_only_its_own_agent_rows(client, world) -> None:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    mine = enrol(client, secret, hardware_id="hw-mine", hostname="mine").json()
    theirs = enrol(client, secret, hardware_id="hw-theirs", hostname="theirs").json()
    for body in (mine, theirs):
        assert check_in(client, body["credential"], body["device_id"], []).status_code == 200
    mine_id, theirs_id = int(mine["device_id"]), int(theirs["device_id"])
    me = device_principal(device_id=mine_id, tenant_id=world["tenant"], label="mine")
    with principal_scope(me):
        for model in (AgentState, DeviceCredential):
            assert set(model.objects.values_list("device_id", flat=True)) == {mine_id}
            assert not model.objects.filter(device_id=theirs_id).exists()
    # The neighbour still has its rows: the narrowing hid them, nothing removed them.
    with system_context("test: the neighbour's rows"):
        assert AgentState.objects.filter(device_id=theirs_id).exists()


@pytest.mark.parametrize(
    "model", [Ticket, TicketDevice, Site, Tenant, EnrolmentToken, OfflineAlertPolicy]
)
def test_everything_else_refuses_a_device(world, model) -> None:  # type: ignore[no-untyped-def]
    with principal_scope(_as_device(world)), pytest.raises(ScopeError, match="device principal"):
        list(model.objects.all())
    with principal_scope(_as_device(world)), pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()


def test_every_scoped_model_is_either_the_devices_own_or_refuses(world) -> None:  # type: ignore[no-untyped-def]
    """Fail closed for models added later: a new tenant-owned model refuses a device unless
    its manager says which device its rows belong to."""
    device_ids = {world["device"]}
    refused, narrowed = set(), set()
    with principal_scope(_as_device(world)):
        for model in _scoped_models():
            try:
                field = getattr(model, "device_scope_field", None) or "pk"
                owners = set(model.objects.values_list(field, flat=True)[:50])
            except ScopeError:
                refused.add(model)
                continue
            narrowed.add(model)
            assert owners <= device_ids, model
    assert narrowed == DEVICE_OWNED
    assert Ticket in refused and Tenant in refused and len(refused) > 20


def test_people_are_not_narrowed_and_a_device_does_not_leak_into_a_nested_scope(world) -> None:  # type: ignore[no-untyped-def]
    """The device dimension is only ever a device principal's: a person's scope entered
    inside it (a nested request in a test, a task) is tenant-wide again, and vice versa."""
    owner = resolve_principal(user_of(world, "owner"))
    with principal_scope(_as_device(world)), principal_scope(owner):
        assert Device.objects.filter(pk=world["device_unplaced"]).exists()
        assert Ticket.objects.exists()
    with principal_scope(owner), principal_scope(_as_device(world)):
        assert not Device.objects.filter(pk=world["device_unplaced"]).exists()


def test_a_system_context_inside_a_device_request_is_not_narrowed(world) -> None:  # type: ignore[no-untyped-def]
    """Work a device's request starts on purpose as the system (an event's subscribers run
    inline in the test suite; a service's named system read) reaches the tenant's other rows,
    also once it narrows to the tenant again: the device's narrowing does not come back."""
    with (
        principal_scope(_as_device(world)),
        system_context("test: a subscriber"),
        within_tenant(world["tenant"]),
    ):
        assert Device.objects.filter(pk=world["device_unplaced"]).exists()
        assert Ticket.objects.exists()
    with principal_scope(_as_device(world)), within_tenant(world["tenant"]):
        assert not Device.objects.filter(pk=world["device_unplaced"]).exists()
