from __future__ import annotations

import argparse

from tandem.core.cli import Commands


def cmd_registry_probe(args: argparse.Namespace) -> int:
    from tests.registry_app.tasks import count_tenants_task

    print(f"{count_tenants_task.call()} tenants.")
    return 0


def register(commands: Commands) -> None:
    commands.add("registry-probe", cmd_registry_probe, "Count the tenants (the test app).")
