from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tandem.core"
    label = "core"
    verbose_name = "Tandem core"

    def ready(self) -> None:
        # Each app's policies module registers its actions on import; importing them here
        # means the registry is complete before the first request or test runs.
        from tandem.core import policies

        policies.load_all()
