from tandem.core.apps import TandemAppConfig


class LogsConfig(TandemAppConfig):
    """Log ingestion (issue 12, decision 0035): the event stream receivers append to and
    detection workers consume (embedded or NATS JetStream), ingest sources with their
    tokens, quotas and counters, and the HTTP batch endpoint ``/ingest/v1/events``."""

    name = "tandem.logs"
    label = "logs"
    verbose_name = "Logs"
