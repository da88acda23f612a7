"""Secrets of enrolment tokens and device credentials: made, hashed, looked up.

Both are bearer secrets kept only as SHA-256 hashes (like API tokens, decision 0016):
``tde_<prefix>_<secret>`` for an enrolment token, ``tdd_<prefix>_<secret>`` for a device
credential. The tag tells them apart from API tokens (``tdm_``), so a device credential
sent to ``/api/v1/`` is never even looked up there (decision 0027).

A device credential is read on every full check-in, so that read is one plain statement
whose text is made once per process from the two models' metadata (decision 0049, fourth
round): through the ORM, compiling the queryset and building the instances was ~11 % of a
first inventory's web CPU.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from tandem.agents.models import DeviceCredential, EnrolmentToken
from tandem.assets.choices import DeviceStatus
from tandem.assets.models import Device
from tandem.core.principal import ANONYMOUS, Principal, device_principal
from tandem.core.scoping import system_context

ENROLMENT_TAG = "tde"
DEVICE_TAG = "tdd"
MAX_SECRET_LENGTH = 200


def new_secret(tag: str) -> tuple[str, str, str]:
    """A fresh secret: (raw value shown once, prefix kept for display, hash kept at rest)."""
    prefix = secrets.token_hex(4)
    raw = f"{tag}_{prefix}_{secrets.token_urlsafe(32)}"
    return raw, prefix, hash_secret(raw)


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def well_formed(raw: str, tag: str) -> bool:
    return raw.startswith(f"{tag}_") and len(raw) <= MAX_SECRET_LENGTH


def find_enrolment_token(raw: str) -> EnrolmentToken | None:
    """The token whose secret is ``raw`` (live or not: the caller says why it is refused).
    Run in a system context: the enrolling agent has no tenant yet."""
    if not well_formed(raw, ENROLMENT_TAG):
        return None
    return EnrolmentToken.objects.filter(secret_hash=hash_secret(raw)).first()


@cache
def _concrete(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    return tuple(cast("models.Field[Any, Any]", f) for f in model._meta.concrete_fields)


@cache
def _credential_sql(vendor: str) -> str:
    """``SELECT`` every concrete column of the credential, then of its device, by the
    secret's hash: what ``select_related("device").filter(secret_hash=…)`` selects, with
    the table and column names from the models (made once per process and database
    kind, so a new field is read without a change here). ``secret_hash`` is unique."""
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"{alias}.{quote(str(field.column))}"
        for alias, model in (("c", DeviceCredential), ("d", Device))
        for field in _concrete(model)
    )
    return (
        # Table and column names come from the models; the hash is a parameter.
        f"SELECT {columns} FROM {quote(DeviceCredential._meta.db_table)} c "  # noqa: S608
        f"INNER JOIN {quote(Device._meta.db_table)} d "
        f"ON d.{quote(str(Device._meta.pk.column))} = c.{quote(_device_column())} "
        "WHERE c.secret_hash = %s"
    )


def _device_column() -> str:
    return str(DeviceCredential._meta.get_field("device").column)


Converter = Callable[[Any, Any, Any], Any]


def _converters(model: type[models.Model]) -> list[tuple[Any, list[Converter]]]:
    """Each concrete field's column expression and the converters the ORM's compiler
    would apply to its value (the backend's, then the field's: SQLite's datetimes made
    aware, its booleans made ``bool``), so the instances hold exactly the ORM's values.
    Made once per database connection (they are its backend's bound methods)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    made: dict[type[models.Model], list[tuple[Any, list[Converter]]]] = wrapper.__dict__.setdefault(
        "tandem_credential_converters", {}
    )
    if model not in made:
        made[model] = []
        for field in _concrete(model):
            column = field.get_col(model._meta.db_table)
            made[model].append(
                (
                    column,
                    [
                        *wrapper.ops.get_db_converters(column),
                        *field.get_db_converters(wrapper),
                    ],
                )
            )
    return made[model]


@cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in _concrete(model)]


def _instance(model: type[models.Model], values: Sequence[Any]) -> Any:
    """A ``model`` instance from its row's values, as the ORM's compiler builds one."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    converted = []
    for (column, converters), value in zip(_converters(model), values, strict=True):
        for convert in converters:
            value = convert(value, column, wrapper)
        converted.append(value)
    return model.from_db(wrapper.alias, _attnames(model), converted)


def find_device_credential(raw: str) -> DeviceCredential | None:
    """The credential whose secret is ``raw``, revoked or not, with its device (set as
    ``credential.device``, as ``select_related`` would). One plain statement; the
    instances are built with ``Model.from_db`` from values converted as the ORM does.
    Like the query it replaces (run in a system context), it reads across tenants: the
    secret alone names the row, and the caller scopes everything after it to the
    credential's tenant and device."""
    if not well_formed(raw, DEVICE_TAG):
        return None
    with connection.cursor() as cursor:
        cursor.execute(_credential_sql(connection.vendor), [hash_secret(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_concrete(DeviceCredential))
    credential = _instance(DeviceCredential, row[:split])
    device = _instance(Device, row[split:])
    DeviceCredential._meta.get_field("device").set_cached_value(credential, device)
    return cast(DeviceCredential, credential)


@dataclass(frozen=True)
class DeviceAuthentication:
    """What an ``Authorization`` header on ``/agent/v1/`` comes to: the device's principal
    and credential, or ``ANONYMOUS`` with the reason a sent credential was refused
    (``refusal`` is None when none was sent)."""

    principal: Principal
    credential: DeviceCredential | None = None
    #: (code, detail) of decision 0025's error shape.
    refusal: tuple[str, str] | None = None


def authenticate_device(header: str) -> DeviceAuthentication:
    """Resolve ``Authorization: Bearer tdd_...`` (decision 0027): one query for the
    credential with its device. A revoked credential, or one of a device no longer
    active, is refused. The one rule for the middleware and the WSGI fast path (decision
    0028)."""
    if not header.startswith("Bearer "):
        return DeviceAuthentication(ANONYMOUS)
    with system_context("authenticate a device credential"):
        credential = find_device_credential(header[7:].strip())
    if credential is None:
        return DeviceAuthentication(
            ANONYMOUS, refusal=("unknown", "The device credential is not known here.")
        )
    if credential.revoked_at is not None or credential.device.status != DeviceStatus.ACTIVE:
        return DeviceAuthentication(
            ANONYMOUS, refusal=("revoked", "This device's credential was revoked.")
        )
    principal = device_principal(
        device_id=credential.device_id,
        tenant_id=credential.tenant_id,
        label=credential.device.name,
    )
    return DeviceAuthentication(principal, credential=credential)
