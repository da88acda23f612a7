"""Secrets of enrolment tokens and device credentials: made, hashed, looked up.

Both are bearer secrets kept only as SHA-256 hashes (like API tokens, decision 0016):
``tde_<prefix>_<secret>`` for an enrolment token, ``tdd_<prefix>_<secret>`` for a device
credential. The tag tells them apart from API tokens (``tdm_``), so a device credential
sent to ``/api/v1/`` is never even looked up there (decision 0027).
"""

from __future__ import annotations

import hashlib
import secrets

from tandem.agents.models import DeviceCredential, EnrolmentToken

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


def _well_formed(raw: str, tag: str) -> bool:
    return raw.startswith(f"{tag}_") and len(raw) <= MAX_SECRET_LENGTH


def find_enrolment_token(raw: str) -> EnrolmentToken | None:
    """The token whose secret is ``raw`` (live or not: the caller says why it is refused).
    Run in a system context: the enrolling agent has no tenant yet."""
    if not _well_formed(raw, ENROLMENT_TAG):
        return None
    return EnrolmentToken.objects.filter(secret_hash=hash_secret(raw)).first()


def find_device_credential(raw: str) -> DeviceCredential | None:
    """The credential whose secret is ``raw``, revoked or not, with its device."""
    if not _well_formed(raw, DEVICE_TAG):
        return None
    return (
        DeviceCredential.objects.select_related("device")
        .filter(secret_hash=hash_secret(raw))
        .first()
    )
