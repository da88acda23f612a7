"""``python -m tandem_agent`` runs the ``tandem-agent`` command."""

import sys

from tandem_agent.cli import main

sys.exit(main())
