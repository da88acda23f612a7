"""The app registry: an app is added by its folder and one ``INSTALLED_APPS`` line.

``tests/registry_app`` is such an app. It runs in a separate process with settings that add
it (``tests.registry_app.settings``), so this suite's own registry, URLs and roles stay as
shipped; there its router, page, job, permission and command must appear and the isolation
matrix must cover its endpoint and page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tandem.accounts.roles import builtin_roles
from tandem.core.registry import declared_permissions, schedule, tandem_apps

ROOT = Path(__file__).resolve().parent.parent


def test_every_role_permission_is_declared_by_the_app_it_names() -> None:
    declared = declared_permissions()
    for role in builtin_roles():
        for permission in role.permissions:
            assert permission in declared, f"{role.key}: {permission} is declared by no app"
    for permission, label in declared.items():
        assert permission.startswith(f"{label}."), f"{label} declares {permission}"


def test_job_names_are_unique_and_every_app_is_a_tandem_app() -> None:
    names = [name for name, _every, _path in schedule()]
    assert len(names) == len(set(names)) and "check-sla" in names
    assert "tandem.servicedesk" in {config.name for config in tandem_apps()}


def _database_url() -> str | None:
    """PostgreSQL: a database of its own (the outer run holds ``test_<name>``)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    base, _, name = url.rpartition("/")
    return f"{base}/{name.split('?')[0]}_registry_app"


@pytest.mark.slow
def test_an_app_is_a_folder_and_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env.update(
        TANDEM_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="tests.registry_app.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    if url := _database_url():
        env["DATABASE_URL"] = url
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ds=tests.registry_app.settings",
            "tests/registry_app/checks.py",
            "tests/isolation/test_page_matrix.py",
            "tests/isolation/test_api_matrix.py",
            "-k",
            "checks or registry or has_an_expectation or declares_a_registered_action",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "12 passed" in done.stdout, done.stdout[-2000:]
    # The installed command itself offers the app's sub-command under those settings.
    done = subprocess.run(
        [sys.executable, "-m", "tandem.cli", "registry-probe", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "Count the tenants (the test app)." in done.stdout, done
