"""Tenancy data written past the services, for tests that must (a database constraint's
own test). Everything else is made through the services, which validate and audit."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from tandem.tenancy.models import Site


class SiteFactory(DjangoModelFactory):
    """A site of ``tenant`` written straight to the table, without the service's checks."""

    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Site {n}")
