"""Forwarding the device's own logs to the server (decision 0047).

Sources (:mod:`files`, :mod:`journald`, :mod:`windows`) read new records from where the
operating system keeps them, from a position the agent persisted; :mod:`queue` keeps the
records and each source's new position in one SQLite transaction, so a position moves only
once what was read before it is on disk; :mod:`forward` sends the queue to
``POST /ingest/v1/events`` as gzip NDJSON with the device credential.
"""
