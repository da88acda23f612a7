"""Run by ``tests/test_app_registry.py`` with ``tests.registry_app.settings``: the test app,
installed by one line, is wired everywhere an app is, without any central file naming it."""

from __future__ import annotations

import datetime as dt

from tandem.accounts.models import Role
from tandem.accounts.roles import builtin_roles
from tandem.cli import build_parser, main
from tandem.core.registry import schedule
from tandem.core.scheduler import run_due_jobs
from tandem.core.scoping import system_context
from tests.isolation.expectations import OTHER_READS, PAGES
from tests.isolation.matrix import api_operations, check_operation, is_known

PROBE = "/tenants/{tenant_id}/registry-probe"


def test_its_router_answers(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").get(f"/api/v1/tenants/{world['tenant']}/registry-probe")
    assert response.status_code == 200
    assert response.json() == {"tenant": "Acme Corp"}


def test_its_page_renders(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("internal_tech").get(f"/tenants/{world['tenant']}/registry-probe/")
    assert response.status_code == 200
    assert b"Registry probe" in response.content and b"Acme Corp" in response.content


def test_its_periodic_job_is_scheduled_and_runs(world) -> None:  # type: ignore[no-untyped-def]
    entry = ("registry-probe", 3600, "tests.registry_app.tasks.count_tenants_task")
    assert entry in schedule()
    assert "registry-probe" in run_due_jobs(now=dt.datetime(2031, 1, 1, tzinfo=dt.UTC))


def test_its_permission_is_in_the_roles(world) -> None:  # type: ignore[no-untyped-def]
    roles = {role.key: role.permissions for role in builtin_roles()}
    assert "registry_app.view_probe" in roles["tenant-owner"]
    assert "registry_app.view_probe" not in roles["requester"]
    with system_context("test: the synced role"):
        assert "registry_app.view_probe" in Role.objects.get(key="tenant-owner").permissions


def test_its_command_runs(world, capsys) -> None:  # type: ignore[no-untyped-def]
    assert "registry-probe" in build_parser().format_help()
    assert main(["registry-probe"]) == 0
    assert capsys.readouterr().out.strip().endswith("tenants.")


def test_the_isolation_matrix_covers_its_endpoint(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    (op,) = [op for op in api_operations() if op.path == PROBE]
    assert op.action == "registry_app.view_probe" and is_known(op)
    assert ("GET", PROBE) in OTHER_READS and "registry-probe" in PAGES
    assert check_operation(op, world) == []
    url = f"/api/v1/tenants/{world['tenant']}/registry-probe"
    assert as_persona("owner").get(url).status_code == 200  # allowed
    assert as_persona("requester").get(url).status_code == 403  # denied
    assert as_persona("other_tenant_owner").get(url).status_code == 404  # other tenant
