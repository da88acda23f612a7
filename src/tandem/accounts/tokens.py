"""API token format and lookup. Tokens look like ``tdm_<prefix>_<secret>``."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from tandem.accounts.models import ApiToken

TOKEN_TAG = "tdm"
#: Recording every use would turn each API read into a write; once a minute is enough to
#: answer "is this token still used?".
LAST_USE_RESOLUTION_SECONDS = 60


def new_token_secret() -> tuple[str, str, str]:
    """A fresh token: (raw token shown once, prefix kept for display, hash kept at rest)."""
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_TAG}_{prefix}_{secrets.token_urlsafe(32)}"
    return raw, prefix, hash_token(raw)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def find_live_token(raw: str, *, ip: str | None) -> ApiToken | None:
    """The unexpired, unrevoked token matching ``raw``, its last use recorded; else None."""
    if not raw.startswith(f"{TOKEN_TAG}_") or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "membership")
        .filter(secret_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or token.expires_at <= now or not token.user.is_active:
        return None
    if not token.membership.is_active:
        return None
    stale = (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() >= LAST_USE_RESOLUTION_SECONDS
    )
    if stale:
        # A bookkeeping column, not a domain write: no audit entry for it.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
    return token
