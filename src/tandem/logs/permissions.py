"""The logs app's permissions, apart from ``apps`` so that modules the app's ``ready``
imports can name them without an import cycle."""

#: Create, rotate, disable and list a tenant's ingest sources (and read their counters).
MANAGE_SOURCES = "logs.manage_sources"
#: Search the tenant's archived events (the event search page and API, the events around an
#: alert) and read the archive's retention (decision 0045).
SEARCH_EVENTS = "logs.search_events"
#: Set how long the tenant's archived events are kept: the tenant's own IT.
CHANGE_ARCHIVE_SETTINGS = "logs.change_archivesettings"

#: The service area whose engagement lets a provider search the tenant's events (tenancy's
#: default areas; the alerts app reads alerts through the same area).
SECURITY_AREA_KEY = "security-monitoring"
