"""WSGI entry point: ``gunicorn tandem.config.wsgi`` or ``tandem serve``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tandem.config.settings")
application = get_wsgi_application()
