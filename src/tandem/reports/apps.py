from tandem.core.apps import TandemAppConfig


class ReportsConfig(TandemAppConfig):
    name = "tandem.reports"
    label = "reports"
    verbose_name = "Reports"

    api_routers = ("tandem.reports.api.router",)
    url_modules = ("tandem.reports.urls",)
    isolation_expectations = ("tests.isolation.expect_dashboards",)
