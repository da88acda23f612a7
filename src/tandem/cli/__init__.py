"""The ``tandem`` command (``main``); ``python -m tandem.cli`` runs it too.

``main`` builds the parser from this package's commands and every installed app's
(``TandemAppConfig.cli_commands``); the shared pieces an app's commands use are in
``tandem.core.cli``.
"""

from tandem.cli.commands import openapi_document
from tandem.cli.main import build_parser, main

__all__ = ["build_parser", "main", "openapi_document"]
