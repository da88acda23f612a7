"""Tandem's settings with the test app installed: the one line an app needs."""

from tandem.config.settings import *  # noqa: F403
from tandem.config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.registry_app"]
