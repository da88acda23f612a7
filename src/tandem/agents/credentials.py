"""Secrets of enrolment tokens and device credentials: made, hashed, looked up.

Both are bearer secrets kept only as SHA-256 hashes (like API tokens, decision 0016):
``tde_<prefix>_<secret>`` for an enrolment token, ``tdd_<prefix>_<secret>`` for a device
credential. The tag tells them apart from API tokens (``tdm_``), so a device credential
sent to ``/api/v1/`` is never even looked up there (decision 0027).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from tandem.agents.models import DeviceCredential, EnrolmentToken
from tandem.assets.choices import DeviceStatus
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


def find_device_credential(raw: str) -> DeviceCredential | None:
    """The credential whose secret is ``raw``, revoked or not, with its device."""
    if not well_formed(raw, DEVICE_TAG):
        return None
    return (
        DeviceCredential.objects.select_related("device")
        .filter(secret_hash=hash_secret(raw))
        .first()
    )


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
