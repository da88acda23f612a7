from tandem.core.apps import TandemAppConfig

VIEW_PROBE = "registry_app.view_probe"


class RegistryAppConfig(TandemAppConfig):
    name = "tests.registry_app"
    label = "registry_app"
    verbose_name = "Registry probe (tests only)"

    api_routers = ("tests.registry_app.api.router",)
    url_modules = ("tests.registry_app.urls",)
    schedule = (("registry-probe", 3600, "tests.registry_app.tasks.count_tenants_task"),)
    permissions = (VIEW_PROBE,)
    role_permissions = {"tenant-owner": (VIEW_PROBE,), "internal-technician": (VIEW_PROBE,)}
    cli_commands = ("tests.registry_app.cli",)
    isolation_expectations = ("tests.registry_app.isolation",)
