from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "tandem.servicedesk"
    label = "servicedesk"
    verbose_name = "Service desk"
