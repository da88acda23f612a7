"""Factories of the vulnerabilities app's rows, for tests and the persona world."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from tandem.vulnerabilities.models import Advisory, Finding


class AdvisoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Advisory

    source = "osv"
    advisory_id = factory.Sequence(lambda n: f"DSA-{5700 + n}-1")
    origin = "DSA"
    severity = "high"
    cve_ids = factory.Sequence(lambda n: [f"CVE-2031-{1000 + n}"])


class FindingFactory(factory.django.DjangoModelFactory):
    """A finding on ``device`` (required: its tenant comes from it)."""

    class Meta:
        model = Finding

    tenant_id = factory.LazyAttribute(lambda o: o.device.tenant_id)
    advisory = factory.SubFactory(AdvisoryFactory)
    advisory_ref = factory.LazyAttribute(lambda o: o.advisory.advisory_id)
    source = "osv"
    cve_ids = factory.LazyAttribute(lambda o: list(o.advisory.cve_ids))
    package = "openssl"
    binaries = "libssl3, openssl"
    installed_version = "3.0.11-1~deb12u2"
    fixed_version = "3.0.14-1~deb12u1"
    severity = "high"
    first_seen = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    last_seen = factory.LazyFunction(timezone.now)
