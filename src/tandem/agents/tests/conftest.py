"""Every agents test that posts a check-in runs twice: through Django's full request (the
view) and through the WSGI fast path in front of it (decision 0028), so both are held to
the same protocol."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tandem.agents.tests.fast_path_support import FastPathClient


@pytest.fixture(params=["django", "fast_path"])
def client(request: Any) -> Client:
    return FastPathClient() if request.param == "fast_path" else Client()
