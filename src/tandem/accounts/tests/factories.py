"""Account data that no service makes (yet), for tests outside the shared personas.

People, memberships and tokens are made through the services in tests (they validate and
audit, as in production); these factories cover what has no service: custom roles, and
sign-in links whose raw token a test must know.
"""

from __future__ import annotations

import datetime as dt
import secrets

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from tandem.accounts.choices import RoleScope
from tandem.accounts.models import Role, SignInLink
from tandem.accounts.tokens import hash_token


class RoleFactory(DjangoModelFactory):
    """A custom role (no service makes one yet): a tenant role with no permission unless
    given ``permissions``."""

    class Meta:
        model = Role

    key = factory.Sequence(lambda n: f"custom-role-{n}")
    name = factory.Sequence(lambda n: f"Custom role {n}")
    scope = RoleScope.TENANT
    permissions = factory.LazyFunction(list)


class SignInLinkFactory(DjangoModelFactory):
    """A live sign-in link for ``user`` whose raw token is ``raw`` (pass your own to use it)."""

    class Meta:
        model = SignInLink
        exclude = ("raw",)

    raw = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    token_hash = factory.LazyAttribute(lambda link: hash_token(link.raw))
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=10))
