"""The app registry: every Tandem app's ``AppConfig`` subclasses :class:`TandemAppConfig` and
declares what it adds to the whole (API routers, pages, periodic jobs, role permissions,
``tandem`` sub-commands, isolation-matrix expectations). The central files read these
declarations through :mod:`tandem.core.registry` instead of listing apps, so adding an app is
its folder plus one ``INSTALLED_APPS`` line (decision 0021).

Declarations are dotted paths, not imported objects: this module is read before Django has
loaded the apps (the ``tandem`` command builds its parser from it), and a path costs nothing
until something mounts it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import ClassVar

from django.apps import AppConfig, apps
from django.db.models import IntegerField
from django.urls import register_converter

from tandem.core.converters import IdConverter
from tandem.core.lookups import InRange

#: One periodic job: (name, every so many seconds, dotted path of a django-tasks task or a
#: plain callable). The name is the claim's key (``ScheduledRun.name``): keep it stable.
ScheduleEntry = tuple[str, int, str]
#: One link of the side navigation: (key, label, URL name, the action the reader must hold,
#: position). A tenant section's URL takes the tenant's id and shows to whoever holds the
#: action in that tenant; a workspace link takes no argument and shows to whoever holds the
#: action anywhere. The key is what a page sets as ``section`` to mark its link current.
NavLink = tuple[str, str, str, str, int]


class TandemAppConfig(AppConfig):
    """What a Tandem app contributes. Every attribute is optional; the defaults add nothing."""

    #: The base is no app. Django picks the one ``AppConfig`` with ``default`` true in an
    #: app's ``apps`` module, where this base is imported too; subclasses are the default.
    default = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "default" not in cls.__dict__:
            cls.default = True

    #: Dotted paths of ninja ``Router`` objects, mounted at ``/api/v1/`` in this order.
    api_routers: ClassVar[Sequence[str]] = ()
    #: Dotted paths of URL modules (``urlpatterns``), included at the site root in order.
    url_modules: ClassVar[Sequence[str]] = ()
    #: Periodic jobs run by ``tandem worker`` (see ``tandem.core.scheduler``).
    schedule: ClassVar[Sequence[ScheduleEntry]] = ()
    #: The permissions this app defines (``<label>.<action>_<model>``); roles may hold them.
    permissions: ClassVar[Sequence[str]] = ()
    #: What this app gives each built-in role (``tandem.accounts.roles``): role key to
    #: permissions, each declared in some app's ``permissions``.
    role_permissions: ClassVar[Mapping[str, Sequence[str]]] = {}
    #: Dotted paths of modules whose ``register(add)`` adds ``tandem`` sub-commands.
    cli_commands: ClassVar[Sequence[str]] = ()
    #: Dotted paths of the test suite's isolation-matrix expectation modules for this app's
    #: endpoints and pages (``PAGES``, ``WRITES``, ``OTHER_READS``, ... as in
    #: ``tests/isolation/expectations.py``).
    isolation_expectations: ClassVar[Sequence[str]] = ()
    #: Links in a tenant's side navigation (``NavLink``), ordered by position across apps.
    tenant_sections: ClassVar[Sequence[NavLink]] = ()
    #: Links in the "Workspace" navigation that need only a permission held anywhere (the
    #: cross-tenant queues and lists); ordered by position across apps.
    workspace_links: ClassVar[Sequence[NavLink]] = ()
    #: Dotted paths of functions ``build(world)`` that add this app's objects to the test
    #: suite's persona world (``tests/personas.py``), run in ``INSTALLED_APPS`` order.
    test_world: ClassVar[Sequence[str]] = ()


class CoreConfig(TandemAppConfig):
    name = "tandem.core"
    label = "core"
    verbose_name = "Tandem core"

    schedule = (
        ("redispatch-events", 60, "tandem.core.events.redispatch_events_task"),
        ("purge-dispatched-events", 24 * 3600, "tandem.core.events.purge_dispatched_events_task"),
        (
            "refresh-query-statistics",
            24 * 3600,
            "tandem.core.maintenance.refresh_query_statistics_task",
        ),
    )

    def ready(self) -> None:
        # Page URLs name their ids with ``<id:...>`` (never Django's unbounded ``int``);
        # the URL configuration is read after the apps are ready.
        register_converter(IdConverter, "id")
        # ``__in`` on integer columns leaves out numbers the column cannot hold (a number
        # beyond 64 bits overflowed the driver instead of matching nothing).
        IntegerField.register_lookup(InRange)
        # Each app's policies module registers its actions on import; importing them here
        # means the registry is complete before the first request or test runs.
        from tandem.core import events

        load_policies()
        # Likewise each app's ``events`` and ``subscribers`` modules (decision 0022).
        events.load_subscribers()


def load_policies() -> None:
    """Import every installed Tandem app's ``policies`` module so its actions register (the
    registry is ``core.policies``; the apps are found here, where their configs are)."""
    for config in apps.get_app_configs():
        if isinstance(config, TandemAppConfig):
            try:
                importlib.import_module(f"{config.name}.policies")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.policies":
                    raise
