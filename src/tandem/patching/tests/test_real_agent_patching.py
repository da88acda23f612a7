"""Issue 11, "Done when": an approval by the accountable party turns into a job that the real
agent runs in its maintenance window and upgrades a real package from a local apt
repository, and the device's state and the compliance figures change accordingly; an
approval by a party that does not own the device is refused.

The package is built here (``dpkg-deb``): ``tandem-probe-<random>``, one file under
``/usr/share/doc/<name>/``, version 1.0 installed with ``dpkg -i``, version 1.1 offered by a
flat repository in the test's folder whose ``Release`` says ``Label: Debian-Security``
(what the agent's Debian backend takes for a security origin). apt reads only that
repository: the agent runs with ``APT_CONFIG`` naming a private configuration (its own
sources list, lists and cache folders), so the system's apt sources and lists are never
touched; the package is purged at the end whatever happened. A random name per run and
apt's lock timeout let the suite's two parallel runs (SQLite, PostgreSQL) share the
machine's dpkg.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone
from tests.machine_packages import machine_packages
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.agents.models import PendingUpdate
from tandem.agents.services import create_enrolment_token
from tandem.assets.models import Device
from tandem.assets.services import update_device
from tandem.core.errors import Refused
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.jobs.models import Job
from tandem.patching import install_services, queries, services
from tandem.patching.models import DeviceUpdateState
from tandem.patching.tests.support import northwind_patches_hq_servers
from tandem.patching.tests.test_install_jobs import open_window_now
from tandem.tenancy.models import AssetGroup, Site, Tenant

TOOLS = ("dpkg", "dpkg-deb", "dpkg-scanpackages", "apt-get")
SYSTEM = system_principal("test: real agent patching")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    # Installing a package needs root and Debian's tools. CI runs this suite as root on
    # Debian, and scripts/test installs dpkg-dev when it is missing, so there the test
    # always runs: a skip can only happen on a developer's machine without them (pytest
    # run by hand, not as root), never hide a CI failure.
    pytest.mark.skipif(os.geteuid() != 0, reason="installing a test package needs root"),
    pytest.mark.skipif(
        any(shutil.which(tool) is None for tool in TOOLS),
        reason=f"needs Debian's {', '.join(TOOLS)} (dpkg-dev for dpkg-scanpackages)",
    ),
]


def _build(folder: Path, name: str, version: str) -> Path:
    root = folder / f"build-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    doc = root / "usr/share/doc" / name
    doc.mkdir(parents=True)
    (doc / "README").write_text(f"Tandem's test package, version {version}.\n")
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: Tandem tests <tests@tandem.invalid>\n"
        "Description: a package Tandem's tests install and upgrade\n"
    )
    deb = folder / f"{name}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The test package at 1.0, 1.1 in a private repository; yields its name and the
    environment that points apt at that repository only."""
    name = f"tandem-probe-{uuid.uuid4().hex[:12]}"
    folder = tmp_path / "apt"
    repo = folder / "repo"
    for sub in ("repo", "lists/partial", "cache/archives/partial", "parts"):
        (folder / sub).mkdir(parents=True)
    old = _build(folder, name, "1.0")
    shutil.copy(_build(folder, name, "1.1"), repo)
    with open(repo / "Packages", "w") as packages:
        subprocess.run(
            ["dpkg-scanpackages", ".", "/dev/null"],
            cwd=repo,
            stdout=packages,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    (repo / "Release").write_text(
        "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\n"
        f"Codename: tandem-probe\nDate: {email.utils.formatdate(usegmt=True)}\n"
    )
    (folder / "sources.list").write_text(f"deb [trusted=yes] file:{repo} ./\n")
    (folder / "apt.conf").write_text(
        f'Dir::Etc::SourceList "{folder}/sources.list";\n'
        f'Dir::Etc::SourceParts "{folder}/parts";\n'
        f'Dir::State::Lists "{folder}/lists";\n'
        f'Dir::Cache "{folder}/cache";\n'
        'DPkg::Lock::Timeout "120";\n'
        'APT::Sandbox::User "root";\n'
    )
    env = {**os.environ, "APT_CONFIG": str(folder / "apt.conf"), "LC_ALL": "C"}
    # Alone on the machine's package database while the probe is installed: a run beside
    # this one comparing the real agent's report with dpkg would count it (tests/machine_packages).
    with machine_packages(changing=True):
        try:
            _dpkg(["-i", str(old)], env).check_returncode()
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, env=env)
            yield name, env
        finally:
            _dpkg(["--purge", name], env)


#: What dpkg prints when another dpkg or apt holds its lock ("dpkg frontend lock was
#: locked by another process with pid …", the same of its database lock; older dpkg: "dpkg
#: status database is locked …"), exiting with 2.
DPKG_LOCKED = ("was locked by another process", "status database is locked")


def _dpkg(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``dpkg`` with ``args``, waiting up to 120 s while another process holds dpkg's lock.
    Plain dpkg does not wait (apt's ``DPkg::Lock::Timeout`` is apt's): the suite's runs side
    by side (SQLite and PostgreSQL, the clock a year ahead and back) each install their own
    probe, and one that met the other's ``dpkg -i`` failed at once."""
    deadline = time.monotonic() + 120
    while True:
        done = subprocess.run(["dpkg", *args], capture_output=True, text=True, env=env)
        locked = done.returncode == 2 and any(text in done.stderr for text in DPKG_LOCKED)
        if not locked or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def _installed_version(name: str) -> str:
    found = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True, check=False
    )
    return found.stdout.strip()


def _agent(state: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tandem_agent", "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        timeout=600,
        # apt reads the private configuration; the agent refreshes the lists before
        # installing; never a real reboot from a test.
        env={**env, "TANDEM_AGENT_APT_UPDATE": "1", "TANDEM_AGENT_REBOOT_COMMAND": "true"},
    )


def _state(device_id: int, name: str) -> DeviceUpdateState:
    with system_context("test: the probe's update state"):
        return DeviceUpdateState.objects.select_related("entry").get(
            device_id=device_id, entry__package=name
        )


def _missing_critical(world: World) -> int:
    """The tenant's missing critical updates, as its owner's patching dashboard counts them."""
    owner = resolve_principal(user_of(world, "owner"))
    with principal_scope(owner):
        return queries.dashboard(owner, world["tenant"]).by_severity["critical"]


def _standing(world: World, device_id: int) -> tuple[bool | None, float | None]:
    """The device's standing in the owner's patch compliance figures (decision 0033), and
    the tenant's percentage of devices current."""
    owner = resolve_principal(user_of(world, "owner"))
    with principal_scope(owner):
        figures = queries.compliance_for_tenant(world["tenant"], principal=owner)
    (mine,) = [d for d in figures.evaluation.devices if d.device_id == device_id]
    return mine.current, figures.percent_current


def test_an_approval_by_the_accountable_party_upgrades_a_real_package_in_the_window(
    live_server, world, tmp_path, probe
) -> None:  # type: ignore[no-untyped-def]
    name, env = probe
    assert _installed_version(name) == "1.0"
    with system_context("test: the world's HQ placement"):
        acme = Tenant.objects.get(pk=world["tenant"])
        site = Site.objects.get(pk=world["site"])
        group = AssetGroup.objects.get(pk=world["asset_group"])
    # The MSP owns the HQ servers' patching (responsible and accountable in the matrix).
    northwind_patches_hq_servers(world, accountable="party")
    # A window open now (daily, computed from now) and manual approval of security updates.
    open_window_now(
        acme,
        timezone.now(),
        reboot_mode="if_required",
        security_critical="manual",
        security_unknown="manual",
    )

    # The real agent enrols into the HQ servers group and reports the pending update.
    _token, secret = create_enrolment_token(
        actor=SYSTEM, tenant=acme, name="Probe", site=site, asset_group=group
    )
    state = tmp_path / "agent"
    enrolled = _agent(state, env, "enrol", "--server", live_server.url, "--token", secret)
    assert enrolled.returncode == 0, enrolled.stderr
    device_id = int(json.loads((state / "config.json").read_text())["device_id"])
    with system_context("test: the enrolled device"):
        device = Device.objects.select_related("tenant").get(pk=device_id)
    device = update_device(
        actor=resolve_principal(user_of(world, "owner")), device=device, protected=True
    )
    first = _agent(state, env, "once")
    assert first.returncode == 0, first.stderr
    probe_state = _state(device_id, name)
    assert probe_state.status == "missing" and probe_state.current_version == "1.0"
    assert probe_state.entry.version == "1.1"
    assert probe_state.entry.classification == "security"
    assert probe_state.approval == "awaiting"
    # An advisory makes it critical, released 30 days ago: the tenant's figures count one
    # missing critical update, and under the default preset (Cyber Essentials: critical and
    # high within 14 days of release) the device is not current.
    before = _missing_critical(world)
    released = (timezone.now() - dt.timedelta(days=30)).date().isoformat()
    services.import_advisory_csv(
        actor=SYSTEM,
        text=(
            "os_family,package,version,severity,cve_ids,released_on\n"
            f"{device.os_family},{name},1.1,critical,CVE-2031-4242,{released}\n"
        ),
    )
    assert _missing_critical(world) == before + 1
    current_before, percent_before = _standing(world, device_id)
    assert current_before is False

    # Acme's own IT holds the permission, but the matrix gives these servers to Northwind:
    # refused, and nothing changes (no approval, no job).
    with pytest.raises(Refused, match="Northwind"):
        services.decide_updates(
            actor=resolve_principal(user_of(world, "internal_tech")),
            device=device,
            entry_ids=[probe_state.entry_id],
            approve=True,
        )
    assert _state(device_id, name).approval == "awaiting"
    assert install_services.schedule_installs().created == 0
    with system_context("test: jobs"):
        assert not Job.objects.filter(device_id=device_id).exists()

    # Northwind's technician approves; the periodic task makes the job in the open window.
    services.decide_updates(
        actor=resolve_principal(user_of(world, "provider_tech")),
        device=device,
        entry_ids=[probe_state.entry_id],
        approve=True,
        reason="Critical fix",
    )
    assert install_services.schedule_installs().created == 1
    with system_context("test: the job"):
        job = Job.objects.get(device_id=device_id)
    assert job.kind == "install_updates" and job.parameters == {"packages": [name]}
    assert job.state == "approved" and job.approval_required
    assert job.approved_by_id == user_of(world, "provider_tech").pk
    assert job.approved_by_party_id == world["party"]
    assert job.not_before <= timezone.now() < job.not_after

    # The agent's next check-in takes the job and upgrades the real package.
    ran = _agent(state, env, "once")
    assert ran.returncode == 0, ran.stderr
    assert _installed_version(name) == "1.1"
    with system_context("test: the job"):
        job = Job.objects.get(pk=job.pk)
    assert job.state == "succeeded", job.output
    assert "apt-get update" in job.output and f"Setting up {name} (1.1)" in job.output
    feedback = _state(device_id, name)
    assert feedback.last_job_outcome == "succeeded" and not feedback.reboot_required
    # No reboot was required, and the policy reboots only then: no reboot job.
    assert install_services.schedule_installs().reboots == 0

    # The next inventory confirms it: installed, no longer pending, figures down again.
    again = _agent(state, env, "once")
    assert again.returncode == 0, again.stderr
    done = _state(device_id, name)
    assert done.status == "installed" and done.installed_at is not None
    with system_context("test: pending updates"):
        assert not PendingUpdate.objects.filter(device_id=device_id, name=name).exists()
    assert _missing_critical(world) == before
    # ... and the compliance figures: the device is current now, the tenant's share of
    # current devices went up.
    current_after, percent_after = _standing(world, device_id)
    assert current_after is True
    assert percent_before is not None and percent_after is not None
    assert percent_after > percent_before
