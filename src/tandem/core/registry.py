"""Reading the app registry: what the installed Tandem apps declare, in ``INSTALLED_APPS``
order. The central files (``config/urls.py``, ``config/api.py``, the scheduler, the
``tandem`` command, ``accounts/roles.py``, the test suite's isolation matrix and persona
world) call these instead of naming apps; see :class:`tandem.core.apps.TandemAppConfig`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import AppConfig, apps

from tandem.core.apps import NavLink, ScheduleEntry, TandemAppConfig


def tandem_apps() -> list[TandemAppConfig]:
    """The installed apps that declare themselves (third-party apps declare nothing)."""
    return [config for config in apps.get_app_configs() if isinstance(config, TandemAppConfig)]


def declared_before_setup(entries: Iterable[str]) -> list[TandemAppConfig]:
    """The Tandem apps among ``entries`` (``INSTALLED_APPS`` items), read without loading
    Django: for the ``tandem`` command, which builds its parser before it knows whether
    there is a database to load Django against. An ``AppConfig`` only imports the app's
    package and its ``apps`` module, which must stay free of models and settings."""
    found = [AppConfig.create(entry) for entry in entries]
    return [config for config in found if isinstance(config, TandemAppConfig)]


def api_routers() -> list[str]:
    return [path for config in tandem_apps() for path in config.api_routers]


def url_modules() -> list[str]:
    return [path for config in tandem_apps() for path in config.url_modules]


def schedule() -> list[ScheduleEntry]:
    """Every periodic job; a name declared twice is an error, since it is the claim's key."""
    entries = [entry for config in tandem_apps() for entry in config.schedule]
    names = [name for name, _every, _path in entries]
    if len(names) != len(set(names)):
        raise RuntimeError(f"a periodic job name is declared twice: {sorted(names)}")
    return entries


def declared_permissions() -> dict[str, str]:
    """Every permission an app defines, with the label of the app that defines it."""
    return {perm: config.label for config in tandem_apps() for perm in config.permissions}


def role_permissions(role_key: str) -> list[str]:
    """What the installed apps give the built-in role ``role_key``."""
    return [perm for config in tandem_apps() for perm in config.role_permissions.get(role_key, ())]


def cli_command_modules(configs: Iterable[TandemAppConfig] | None = None) -> list[str]:
    return [
        path
        for config in (tandem_apps() if configs is None else configs)
        for path in config.cli_commands
    ]


def isolation_expectations() -> list[str]:
    return [path for config in tandem_apps() for path in config.isolation_expectations]


def test_world_builders() -> list[str]:
    return [path for config in tandem_apps() for path in config.test_world]


def tenant_sections() -> list[NavLink]:
    """Every app's tenant navigation links, by position (then app order)."""
    return sorted(
        (link for config in tandem_apps() for link in config.tenant_sections), key=_position
    )


def workspace_links() -> list[NavLink]:
    """Every app's permission-only workspace links, by position (then app order)."""
    return sorted(
        (link for config in tandem_apps() for link in config.workspace_links), key=_position
    )


def _position(link: NavLink) -> int:
    return link[4]
