"""Periodic work of patching, run by ``tandem worker`` (decision 0009)."""

from __future__ import annotations

from dataclasses import asdict

from django_tasks import task

from tandem.patching.install_services import schedule_installs


@task()
def schedule_installs_task() -> dict[str, int]:
    """Approved updates into install (and reboot) jobs inside maintenance windows."""
    return asdict(schedule_installs())
