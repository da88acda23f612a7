from tandem.core.apps import TandemAppConfig
from tandem.logs.permissions import CHANGE_ARCHIVE_SETTINGS, MANAGE_SOURCES, SEARCH_EVENTS


class LogsConfig(TandemAppConfig):
    """Log ingestion (issue 12, decision 0035): the event stream receivers append to and
    detection workers consume (embedded or NATS JetStream), ingest sources with their
    tokens, quotas and counters, and the HTTP batch endpoint ``/ingest/v1/events``; the
    event archive's search, retention and compaction (decisions 0040, 0045)."""

    name = "tandem.logs"
    label = "logs"
    verbose_name = "Logs"

    tenant_sections = (("events", "Events", "logs:event-search", SEARCH_EVENTS, 33),)
    api_routers = ("tandem.logs.api.router",)
    url_modules = ("tandem.logs.urls",)
    # ``tandem syslog-listen`` (decision 0041).
    cli_commands = ("tandem.logs.cli",)
    permissions = (MANAGE_SOURCES, SEARCH_EVENTS, CHANGE_ARCHIVE_SETTINGS)
    # The tenant's IT and its providers' admins (whole-tenant engagements only, see
    # policies) manage where logs come from. The tenant's IT and the providers engaged for
    # its security monitoring (whole tenant) search its events; its own IT sets how long
    # they are kept.
    role_permissions = {
        "tenant-owner": (MANAGE_SOURCES, SEARCH_EVENTS, CHANGE_ARCHIVE_SETTINGS),
        "internal-technician": (MANAGE_SOURCES, SEARCH_EVENTS, CHANGE_ARCHIVE_SETTINGS),
        "provider-admin": (MANAGE_SOURCES, SEARCH_EVENTS),
        "provider-technician": (SEARCH_EVENTS,),
    }
    schedule = (
        ("purge-ingest-windows", 3600, "tandem.logs.services.purge_ingest_windows_task"),
        (
            "purge-accepted-batches",
            3600,
            "tandem.logs.batch_services.purge_accepted_batches_task",
        ),
        ("compact-event-archive", 3600, "tandem.logs.tasks.compact_event_archive_task"),
        ("prune-event-archive", 24 * 3600, "tandem.logs.tasks.prune_event_archive_task"),
    )
    isolation_expectations = ("tests.isolation.expect_logs",)
    test_world = ("tandem.logs.tests.world.build_logs_world",)
