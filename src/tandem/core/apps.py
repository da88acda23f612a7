from django.apps import AppConfig
from django.db.models import IntegerField
from django.urls import register_converter

from tandem.core.converters import IdConverter
from tandem.core.lookups import InRange


class CoreConfig(AppConfig):
    name = "tandem.core"
    label = "core"
    verbose_name = "Tandem core"

    def ready(self) -> None:
        # Page URLs name their ids with ``<id:...>`` (never Django's unbounded ``int``);
        # the URL configuration is read after the apps are ready.
        register_converter(IdConverter, "id")
        # ``__in`` on integer columns leaves out numbers the column cannot hold (a number
        # beyond 64 bits overflowed the driver instead of matching nothing).
        IntegerField.register_lookup(InRange)
        # Each app's policies module registers its actions on import; importing them here
        # means the registry is complete before the first request or test runs.
        from tandem.core import events, policies

        policies.load_all()
        # Likewise each app's ``events`` and ``subscribers`` modules (decision 0022).
        events.load_subscribers()
