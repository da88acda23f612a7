"""WSGI entry point: ``gunicorn tandem.config.wsgi`` or ``tandem serve``.

``POST /agent/v1/check-in`` is answered by ``agents.fast_path`` in front of Django's
middleware stack (decision 0028) unless ``TANDEM_AGENT_FAST_PATH=0``; every other request
goes to Django as usual.
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tandem.config.settings")
django_application = get_wsgi_application()

from tandem.agents.fast_path import CheckInFastPath  # noqa: E402 - needs Django set up

application = (
    CheckInFastPath(django_application) if settings.AGENT_FAST_PATH else django_application
)
