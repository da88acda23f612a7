"""The logs app's permissions, apart from ``apps`` so that modules the app's ``ready``
imports can name them without an import cycle."""

#: Create, rotate, disable and list a tenant's ingest sources (and read their counters).
MANAGE_SOURCES = "logs.manage_sources"
