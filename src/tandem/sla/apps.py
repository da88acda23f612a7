from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "tandem.sla"
    label = "sla"
    verbose_name = "SLA"
