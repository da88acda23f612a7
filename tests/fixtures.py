"""Fixtures shared by every suite: the persona world, signed-in clients, fast hashing."""

from __future__ import annotations

import pytest

from tests.personas import World, build_world, login_client

_WORLD: World | None = None


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Create the test database once, then build the persona world in it once.

    Each test runs in a transaction rolled back at its end, so the world is pristine for
    every test without being rebuilt.
    """
    global _WORLD
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A test's transaction never commits, so domain events run their subscribers as soon as
    # they are recorded (core.events); tests of the outbox itself turn this off.
    settings.EVENTS_EAGER = True
    with django_db_blocker.unblock():
        _WORLD = build_world()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    # Argon2 is the production hasher (see settings); tests check behaviour, not cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    """The persona world. A transactional test (browser, live server) flushes the database
    at its end; tests after it get the world rebuilt inside their own transaction."""
    global _WORLD
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import Tenant

    with system_context("test: is the world still there"):
        present = _WORLD is not None and Tenant.objects.filter(pk=_WORLD["tenant"]).exists()
    if not present:
        _WORLD = build_world()
    return _WORLD


@pytest.fixture
def as_persona(client, world):  # type: ignore[no-untyped-def]
    """``as_persona("owner")`` returns the test client signed in as that persona."""

    def sign_in(persona: str):  # type: ignore[no-untyped-def]
        client.logout()
        return login_client(client, world, persona)

    return sign_in
