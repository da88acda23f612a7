from tandem.core.apps import TandemAppConfig


class ReportsConfig(TandemAppConfig):
    name = "tandem.reports"
    label = "reports"
    verbose_name = "Reports"
    tenant_sections = (
        ("dashboard", "Dashboard", "reports:dashboard", "reports.view_dashboard", 40),
    )

    api_routers = ("tandem.reports.api.router",)
    url_modules = ("tandem.reports.urls",)
    isolation_expectations = ("tests.isolation.expect_dashboards",)
