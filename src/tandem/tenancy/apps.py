from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tandem.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
