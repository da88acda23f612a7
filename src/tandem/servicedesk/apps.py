from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "tandem.servicedesk"
    label = "servicedesk"
    verbose_name = "Service desk"

    def ready(self) -> None:
        from tandem.servicedesk import desk_config

        desk_config.connect_signals()
