from django.db import models


class SourceKind(models.TextChoices):
    #: Batches over ``POST /ingest/v1/events`` with the source's ingest token.
    HTTP = "http", "HTTP batches"
    #: Syslog from the allowed sender networks (the listener, decision 0036).
    SYSLOG = "syslog", "Syslog"
    #: The tenant's agents forwarding local logs with their device credentials: one such
    #: source per tenant, made on first use, with no token of its own.
    AGENT = "agent", "Endpoint agents"
