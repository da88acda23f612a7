"""Tandem's endpoint agent: collects a device's inventory and sends it to a Tandem server.

A package of its own (``agent/`` in the repository), installable without the server: it
never imports Django or ``tandem``. The protocol it speaks is decision 0025
(``docs/decisions/0025-agent-protocol.md``).
"""

__version__ = "0.1.0"
