from tandem.core.apps import TandemAppConfig
from tandem.logs.permissions import MANAGE_SOURCES


class LogsConfig(TandemAppConfig):
    """Log ingestion (issue 12, decision 0035): the event stream receivers append to and
    detection workers consume (embedded or NATS JetStream), ingest sources with their
    tokens, quotas and counters, and the HTTP batch endpoint ``/ingest/v1/events``."""

    name = "tandem.logs"
    label = "logs"
    verbose_name = "Logs"

    api_routers = ("tandem.logs.api.router",)
    url_modules = ("tandem.logs.urls",)
    # ``tandem syslog-listen`` (decision 0041).
    cli_commands = ("tandem.logs.cli",)
    permissions = (MANAGE_SOURCES,)
    # The tenant's IT and its providers' admins (whole-tenant engagements only, see
    # policies) manage where logs come from.
    role_permissions = {
        "tenant-owner": (MANAGE_SOURCES,),
        "internal-technician": (MANAGE_SOURCES,),
        "provider-admin": (MANAGE_SOURCES,),
    }
    schedule = (("purge-ingest-windows", 3600, "tandem.logs.services.purge_ingest_windows_task"),)
    isolation_expectations = ("tests.isolation.expect_logs",)
    test_world = ("tandem.logs.tests.world.build_logs_world",)
