"""Every write about people and access: users, memberships, API tokens, second factors."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tandem.accounts import access_cache
from tandem.accounts.choices import RoleScope, TokenScope
from tandem.accounts.models import ApiToken, Membership, Role, SignInLink, TotpDevice, User
from tandem.accounts.roles import builtin_roles
from tandem.accounts.tokens import hash_token, new_token_secret
from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, InvalidInput, Refused, require
from tandem.core.policies import allowed, authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.core.validation import clean_name
from tandem.tenancy import services as tenancy_services
from tandem.tenancy.choices import PartyKind
from tandem.tenancy.models import Party, Provider, Tenant

MAX_TOKENS_PER_USER = 50
TOKEN_MINTING_REFUSAL = (
    "An API token cannot issue tokens. Sign in to Tandem and issue one on your API tokens page."
)
logger = logging.getLogger(__name__)


def sync_builtin_roles() -> None:
    """Create or update the built-in roles (run after every migrate; not a user action)."""
    for spec in builtin_roles():
        Role.objects.update_or_create(
            key=spec.key,
            defaults={
                "name": spec.name,
                "scope": spec.scope,
                "permissions": sorted(spec.permissions),
                "description": spec.description,
                "is_builtin": True,
            },
        )


def sync_roles_after_migrate(**kwargs: object) -> None:
    """``post_migrate`` receiver (``AccountsConfig.ready``): the built-in roles follow the code."""
    sync_builtin_roles()


def clean_email(email: str) -> str:
    cleaned = (email or "").strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError as exc:
        raise InvalidInput({"email": ["Enter a valid e-mail address."]}) from exc
    require(len(cleaned) <= 254, "email", "At most 254 characters.")
    return cleaned


def create_user(
    *,
    actor: Principal,
    email: str,
    full_name: str,
    password: str | None = None,
    is_superuser: bool = False,
    provider_id: int | None = None,
) -> User:
    """Create a person. Without a password they sign in after a password reset by e-mail.

    The entry goes to the instance chain (a person belongs to no tenant); ``provider_id``
    tags it when a provider invited the person, so that the provider's admins read it too.
    """
    email = clean_email(email)
    full_name = clean_name(full_name, field="full_name", max_length=200)
    if is_superuser and not (actor.is_system or actor.is_superuser):
        raise InvalidInput({"is_superuser": ["Only an instance operator can create operators."]})
    candidate = User(email=email, full_name=full_name)
    if password is not None:
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            raise InvalidInput({"password": list(exc.messages)}) from exc
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise Conflict(f"A user with e-mail {email} already exists.")
        user = User.objects.create_user(
            email,
            password,
            full_name=full_name,
            is_superuser=is_superuser,
            is_staff=is_superuser,
        )
        record_audit(
            actor=actor,
            action="accounts.create_user",
            target=user,
            tenant_id=None,
            provider_id=provider_id,
            changes=diff(
                {}, {"email": email, "full_name": full_name, "is_superuser": is_superuser}
            ),
        )
    return user


def ensure_system_account(*, actor: Principal, key: str, full_name: str) -> User:
    """The system's own account ``key``, made once (audited): the requester of tickets
    Tandem opens by itself (decision 0037). Inactive, no usable password, a reserved
    domain: nobody signs in as it, resets its password or mails it."""
    email = clean_email(f"{key}@system.tandem.invalid")
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            email=email, defaults={"full_name": full_name[:200], "is_active": False}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            record_audit(
                actor=actor,
                action="accounts.ensure_system_account",
                target=user,
                tenant_id=None,
                changes=diff({}, {"email": email, "full_name": user.full_name}),
            )
    return user


def add_membership(
    *,
    actor: Principal,
    user: User,
    role: Role,
    tenant: Tenant | None = None,
    provider: Provider | None = None,
) -> Membership:
    """Give ``user`` a role in a tenant or at a provider.

    Tenant IT roles (owner, internal technician, auditor) join the tenant's internal party;
    requesters belong to the tenant without a party.
    """
    require(
        (tenant is None) != (provider is None),
        "tenant_id",
        "Give a tenant or a provider, not both.",
    )
    if tenant is not None:
        require(role.scope == RoleScope.TENANT, "role", f"{role.name} is a provider role.")
        authorize(actor, "accounts.add_membership", tenant)
    else:
        require(role.scope == RoleScope.PROVIDER, "role", f"{role.name} is a tenant role.")
        if not actor.is_system:
            require(
                bool(actor.provider_accesses_with("accounts.add_membership", provider.pk)),  # type: ignore[union-attr]
                "provider_id",
                "You do not administer this provider.",
            )
    require_role_within_own(
        actor,
        role,
        tenant_id=tenant.pk if tenant else None,
        provider_id=provider.pk if provider else None,
    )
    with transaction.atomic(), system_context("add a membership"):
        party = None
        if tenant is not None and role.key != "requester":
            party = Party.objects.get(tenant=tenant, kind=PartyKind.INTERNAL)
        duplicate = Membership.objects.filter(
            user=user, role=role, tenant=tenant, provider=provider, is_active=True
        )
        if duplicate.exists():
            raise Conflict(f"{user.email} already holds {role.name} there.")
        membership = Membership.objects.create(
            user=user, role=role, tenant=tenant, party=party, provider=provider
        )
        record_audit(
            actor=actor,
            action="accounts.add_membership",
            target=membership,
            tenant_id=tenant.pk if tenant else None,
            provider_id=provider.pk if provider else None,
            changes=diff(
                {},
                {
                    "user": user.email,
                    "role": role.key,
                    "provider_id": provider.pk if provider else None,
                },
            ),
        )
    return membership


def deactivate_membership(*, actor: Principal, membership: Membership) -> Membership:
    """Remove a membership's access at once; the row stays for history."""
    if membership.tenant_id is not None:
        authorize(actor, "accounts.change_membership", membership)
    elif not actor.is_system:
        require(
            bool(
                actor.provider_accesses_with("accounts.change_membership", membership.provider_id)
            ),
            "provider_id",
            "You do not administer this provider.",
        )
    if not membership.is_active:
        raise Conflict("This membership is already inactive.")
    with transaction.atomic(), system_context("deactivate a membership"):
        _keep_a_manager(membership, new_role=None)
        Membership.objects.filter(pk=membership.pk).update(is_active=False)
        access_cache.invalidate()  # update() sends no signal
        ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_audit(
            actor=actor,
            action="accounts.deactivate_membership",
            target=membership,
            tenant_id=membership.tenant_id,
            provider_id=membership.provider_id,
            changes={"is_active": [True, False]},
        )
    membership.is_active = False
    return membership


#: The permission that makes a member an owner (tenant) or admin (provider): whoever holds it
#: manages the place's members. A place never loses its last one.
MANAGE_MEMBERS = "accounts.change_membership"


def _own_permissions(
    actor: Principal, *, tenant_id: int | None, provider_id: int | None
) -> set[str]:
    """Every permission the actor's own roles grant in the tenant or at the provider."""
    if tenant_id is not None:
        return {p for a in actor.accesses_in(tenant_id) for p in a.permissions}
    mine = [a for a in actor.provider_accesses if a.provider_id == provider_id]
    return {p for a in mine for p in a.permissions}


def require_role_within_own(
    actor: Principal, role: Role, *, tenant_id: int | None, provider_id: int | None
) -> None:
    """Nobody hands out a role above their own: every permission of ``role`` must be one the
    actor holds there. The instance operator and system work are not limited."""
    if actor.is_system or actor.is_superuser:
        return
    own = _own_permissions(actor, tenant_id=tenant_id, provider_id=provider_id)
    beyond = sorted(set(role.permissions) - own)
    require(
        not beyond,
        "role",
        f"{role.name} is above your own role here (it may also {', '.join(beyond)}); "
        "ask someone who holds it.",
    )


def _keep_a_manager(membership: Membership, *, new_role: Role | None) -> None:
    """Refuse a change that leaves the membership's tenant or provider without anyone who
    manages its members (its owners, its admins): ``new_role`` None is a removal. Runs in
    the caller's transaction; the place's managing memberships are locked, so two owners
    demoting each other at once cannot both succeed."""
    if MANAGE_MEMBERS not in membership.role.permissions:
        return
    if new_role is not None and MANAGE_MEMBERS in new_role.permissions:
        return
    place = (
        {"tenant_id": membership.tenant_id}
        if membership.tenant_id is not None
        else {"provider_id": membership.provider_id}
    )
    managers = [
        m
        for m in Membership.objects.select_for_update()
        .select_related("role")
        .filter(is_active=True, user__is_active=True, **place)
        if MANAGE_MEMBERS in m.role.permissions
    ]
    if not [m for m in managers if m.pk != membership.pk]:
        title = "owner" if membership.tenant_id is not None else "admin"
        raise Conflict(
            f"{membership.user.email} is the last {title} here: make someone else "
            f"{title} first, so that somebody can still manage the members."
        )


def change_membership_role(*, actor: Principal, membership: Membership, role: Role) -> Membership:
    """Give a member another role in the same tenant or at the same provider.

    Only someone who may manage the members there; never a role above the actor's own; never
    so that the last owner (tenant) or admin (provider) is demoted. A tenant role of IT
    (owner, technician, auditor) acts for the tenant's internal party, a requester for none.
    The person's next request sees the new role; their API tokens act with it.
    """
    if membership.tenant_id is not None:
        authorize(actor, MANAGE_MEMBERS, membership)
        require(role.scope == RoleScope.TENANT, "role", f"{role.name} is a provider role.")
    else:
        if not actor.is_system:
            require(
                bool(actor.provider_accesses_with(MANAGE_MEMBERS, membership.provider_id)),
                "provider_id",
                "You do not administer this provider.",
            )
        require(role.scope == RoleScope.PROVIDER, "role", f"{role.name} is a tenant role.")
    require_role_within_own(
        actor, role, tenant_id=membership.tenant_id, provider_id=membership.provider_id
    )
    with transaction.atomic(), system_context("change a membership's role"):
        locked = (
            Membership.objects.select_for_update()
            .select_related("role", "user")
            .get(pk=membership.pk)
        )
        if not locked.is_active:
            raise Conflict("This membership is inactive; invite the person again instead.")
        if locked.role_id == role.pk:
            raise Conflict(f"{locked.user.email} already holds {role.name} here.")
        if Membership.objects.filter(
            user_id=locked.user_id,
            role=role,
            tenant=locked.tenant,
            provider=locked.provider,
            is_active=True,
        ).exists():
            raise Conflict(f"{locked.user.email} already holds {role.name} here.")
        _keep_a_manager(locked, new_role=role)
        before = locked.role.key
        party = None
        if locked.tenant_id is not None and role.key != "requester":
            party = Party.objects.get(tenant_id=locked.tenant_id, kind=PartyKind.INTERNAL)
        locked.role, locked.party = role, party
        # save() (not update()): the access cache hears of it through the model's signals.
        locked.save(update_fields=["role", "party", "updated_at"])
        record_audit(
            actor=actor,
            action="accounts.change_membership_role",
            target=locked,
            tenant_id=locked.tenant_id,
            provider_id=locked.provider_id,
            changes={"role": [before, role.key]},
        )
    return locked


def create_api_token(
    *,
    actor: Principal,
    user: User,
    membership: Membership,
    name: str,
    scope: str = TokenScope.READ,
    expires_in_days: int = 90,
) -> tuple[ApiToken, str]:
    """Issue a personal API token bound to one of the user's memberships.

    Returns the token row and the raw secret, which is shown once and never stored. Only a
    signed-in person issues tokens; a request made with a token is refused (decision 0016).
    """
    if not allowed(actor, "accounts.add_apitoken"):
        raise Refused(TOKEN_MINTING_REFUSAL)
    require(actor.user_id == user.pk, "user", "Tokens are personal: issue your own.")
    name = clean_name(name, max_length=100)
    require(scope in TokenScope.values, "scope", f"Use one of {list(TokenScope.values)}.")
    require(
        1 <= expires_in_days <= settings.API_TOKEN_MAX_DAYS,
        "expires_in_days",
        f"Between 1 and {settings.API_TOKEN_MAX_DAYS} days.",
    )
    require(
        membership.user_id == user.pk and membership.is_active,
        "membership_id",
        "Choose one of your own active memberships.",
    )
    raw, prefix, digest = new_token_secret()
    with transaction.atomic():
        if ApiToken.objects.filter(user=user, name=name).exists():
            raise Conflict(f"You already have a token named {name!r}.")
        live = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
        if live >= MAX_TOKENS_PER_USER:
            raise Conflict(f"At most {MAX_TOKENS_PER_USER} live tokens; revoke one first.")
        token = ApiToken.objects.create(
            user=user,
            membership=membership,
            name=name,
            prefix=prefix,
            secret_hash=digest,
            scope=scope,
            expires_at=timezone.now() + dt.timedelta(days=expires_in_days),
        )
        record_audit(
            actor=actor,
            action="accounts.create_apitoken",
            target=token,
            tenant_id=membership.tenant_id,
            provider_id=membership.provider_id,
            changes=diff({}, {"name": name, "scope": scope, "expires_at": token.expires_at}),
        )
    return token, raw


def revoke_api_token(*, actor: Principal, token: ApiToken) -> ApiToken:
    """Revoke a token at once. Its holder (or a system context) may revoke it; a request
    made with a token, only a token of that token's own membership (decision 0016)."""
    require(actor.is_system or actor.user_id == token.user_id, "token", "Not your token.")
    require(
        not actor.is_token or token.membership_id == actor.token_membership_id,
        "token",
        "A token revokes only tokens of its own membership.",
    )
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.")
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit(
            actor=actor,
            action="accounts.revoke_apitoken",
            target=token,
            tenant_id=token.membership.tenant_id,
            provider_id=token.membership.provider_id,
            changes={"revoked_at": [None, token.revoked_at.isoformat()]},
        )
    return token


def complete_password_reset(*, user: User, password: str) -> list[int]:
    """Set the password a person chose through the e-mailed reset link, and revoke every
    live API token of theirs (decision 0016). Returns the ids of the revoked tokens.

    The link proves control of the mailbox, which is how a person takes an account back
    from whoever knew the old password: their sessions end with it (Django ties a session
    to the password), and their tokens end here, so nothing an intruder issued survives.
    """
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput({"password": list(exc.messages)}) from exc
    actor = Principal(user_id=user.pk, label=user.email)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
        revoked = sorted(live.values_list("pk", flat=True))
        now = timezone.now()
        live.update(revoked_at=now, updated_at=now)
        record_audit(
            actor=actor,
            action="accounts.complete_password_reset",
            target=user,
            tenant_id=None,
            changes={"password_reset_at": [None, now], "revoked_api_tokens": [[], revoked]},
        )
    return revoked


# --- Second factor ----------------------------------------------------------------------------


def start_totp_setup(*, actor: Principal, user: User) -> TotpDevice:
    """Create (or restart) an unconfirmed TOTP device and return it with its new secret."""
    require(actor.user_id == user.pk, "user", "Set up your own second factor.")
    with transaction.atomic():
        device, created = TotpDevice.objects.get_or_create(user=user, defaults={"secret": ""})
        if device.confirmed_at is not None:
            raise Conflict("A second factor is already set up.")
        device.secret = pyotp.random_base32()
        device.save()
        # The secret itself never enters the log: whoever reads it could make codes.
        record_audit(
            actor=actor,
            action="accounts.start_totp_setup",
            target=user,
            tenant_id=None,
            changes={"mfa": ["none" if created else "unconfirmed", "unconfirmed"]},
        )
    return device


def provisioning_uri(device: TotpDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.email, issuer_name=settings.MFA_ISSUER
    )


def check_totp(*, device: TotpDevice, code: str) -> bool:
    """Accept a current code (±1 step for clock drift) once; reject replays."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(device.secret)
    now = timezone.now()
    for drift in (-1, 0, 1):
        at = now + dt.timedelta(seconds=30 * drift)
        step = totp.timecode(at)
        if step > device.last_used_step and totp.verify(code, for_time=at, valid_window=0):
            # Compare-and-set, so the same code cannot be used twice even concurrently.
            updated = TotpDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
                last_used_step=step
            )
            if updated:
                device.last_used_step = step
                return True
    return False


def confirm_totp(*, actor: Principal, user: User, code: str) -> TotpDevice:
    """Confirm a device with its first code; from then on sign-in asks for a code."""
    require(actor.user_id == user.pk, "user", "Confirm your own second factor.")
    device = TotpDevice.objects.filter(user=user).first()
    require(device is not None, "code", "Start the set-up first.")
    assert device is not None
    if device.confirmed_at is not None:
        raise Conflict("This second factor is already confirmed.")
    require(
        check_totp(device=device, code=code), "code", "That code is not valid; try the current one."
    )
    with transaction.atomic():
        device.confirmed_at = timezone.now()
        device.save(update_fields=["confirmed_at"])
        record_audit(
            actor=actor,
            action="accounts.confirm_totp",
            target=user,
            tenant_id=None,
            changes={"mfa": [False, True]},
        )
    return device


def create_tenant_with_owner(
    *,
    actor: Principal,
    name: str,
    slug: str,
    time_zone: str = "UTC",
    country: str = "",
    require_mfa: bool = False,
    owner_email: str | None = None,
) -> Tenant:
    """Create a tenant and, when ``owner_email`` is given, make that person its owner
    (``tenancy.services.create_tenant_with_owner``, which calls ``make_first_owner``)."""
    return tenancy_services.create_tenant_with_owner(
        actor=actor,
        name=name,
        slug=slug,
        time_zone=time_zone,
        country=country,
        require_mfa=require_mfa,
        owner_email=owner_email,
    )


def make_first_owner(*, actor: Principal, tenant: Tenant, email: str) -> None:
    """Make the person with ``email`` the new tenant's owner, creating the user without a
    password when there is none (they set one through the reset e-mail). Runs inside the
    tenant's creation transaction (registered with tenancy in ``AccountsConfig.ready``)."""
    email = clean_email(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = create_user(actor=actor, email=email, full_name=email.split("@")[0])
    owner_role = Role.objects.get(key="tenant-owner")
    add_membership(
        actor=system_or(actor, "make the first tenant owner"),
        user=user,
        role=owner_role,
        tenant=tenant,
    )


def system_or(actor: Principal, reason: str) -> Principal:
    """The instance operator creating a tenant holds no membership in it yet; the first
    owner membership is therefore added by the system on the operator's behalf."""
    if actor.is_system:
        return actor
    return Principal(user_id=actor.user_id, label=f"{actor.label} (operator)", system_reason=reason)


def invite_member(
    *,
    actor: Principal,
    email: str,
    full_name: str,
    role: Role,
    tenant: Tenant | None = None,
    provider: Provider | None = None,
) -> Membership:
    """Add a person to a tenant or provider by e-mail, creating their user if new, and
    e-mail them the invitation once it is committed (:func:`send_invitation`).

    A new user has no password: the invitation carries a link to choose one (the
    password-reset link, valid for ``PASSWORD_RESET_TIMEOUT``). Someone who has an account
    already is told where to sign in.
    """
    email = clean_email(email)
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = create_user(
                actor=actor,
                email=email,
                full_name=full_name or email.split("@")[0],
                provider_id=provider.pk if provider else None,
            )
        membership = add_membership(
            actor=actor, user=user, role=role, tenant=tenant, provider=provider
        )
        place = tenant.name if tenant is not None else provider.name  # type: ignore[union-attr]
        transaction.on_commit(
            functools.partial(
                send_invitation, user_id=user.pk, role_name=role.name, place=place, by=actor.label
            ),
            robust=True,
        )
        return membership


def send_invitation(*, user_id: int, role_name: str, place: str, by: str) -> bool:
    """E-mail an invited person: what they were given where, and how to get in: a link to
    choose their password (the password-reset mechanism) when they have none yet, else the
    sign-in page (which also offers a sign-in link by e-mail). Returns whether it went out;
    a failure is logged and the invitation stands (the person can still use "Forgot your
    password?")."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    context = {
        "user": user,
        "role_name": role_name,
        "place": place,
        "invited_by": by,
        "site_url": settings.SITE_URL,
        "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
        "set_password_url": "",
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    if not user.has_usable_password():
        context["set_password_url"] = settings.SITE_URL + reverse(
            "accounts:password-reset-confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    subject = render_to_string("accounts/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/invitation_email.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except OSError:
        logger.exception("could not send the invitation to user %s", user.pk)
        return False
    return True


# --- Sign-in links ("magic links") -----------------------------------------------------------

#: How long an e-mailed sign-in link works.
SIGN_IN_LINK_MINUTES = 15
#: Links sent to one address per hour; more requests are answered the same but send nothing.
SIGN_IN_LINKS_PER_HOUR = 5


class SignInLinkRefused(Exception):
    """A sign-in link that cannot be used; the message says why, in the person's words."""


def send_sign_in_link(
    *, actor: Principal, email: str, ip: str | None = None, now: dt.datetime | None = None
) -> SignInLink | None:
    """E-mail a single-use sign-in link to ``email`` if it belongs to an active person.

    Returns the link, or None when nothing was sent (unknown or inactive address, malformed
    address, or the hourly limit reached). Callers must answer the same in every case, so
    that the page does not tell who has an account.
    """
    now = now or timezone.now()
    try:
        email = clean_email(email)
    except InvalidInput:
        return None
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return None
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        # Lock the person's row so that parallel requests cannot pass the limit together.
        User.objects.select_for_update().filter(pk=user.pk).first()
        recent = SignInLink.objects.filter(
            user=user, created_at__gte=now - dt.timedelta(hours=1)
        ).count()
        if recent >= SIGN_IN_LINKS_PER_HOUR:
            logger.warning("sign-in link limit reached for user %s", user.pk)
            return None
        link = SignInLink.objects.create(
            user=user,
            token_hash=hash_token(raw),
            expires_at=now + dt.timedelta(minutes=SIGN_IN_LINK_MINUTES),
            requested_ip=ip,
        )
        record_audit(
            actor=actor,
            action="accounts.send_sign_in_link",
            target=link,
            tenant_id=None,
            changes=diff({}, {"user_id": user.pk, "expires_at": link.expires_at.isoformat()}),
        )
    context = {
        "user": user,
        "url": settings.SITE_URL + reverse("accounts:login-link-use", args=[raw]),
        "minutes": SIGN_IN_LINK_MINUTES,
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("accounts/sign_in_link_subject.txt", context).strip()
    body = render_to_string("accounts/sign_in_link_email.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except OSError:
        # The answer stays the same; the operator sees the failure in the log.
        logger.exception("could not send a sign-in link to user %s", user.pk)
    return link


def _live_link(token: str, now: dt.datetime) -> SignInLink:
    link = (
        SignInLink.objects.select_related("user").filter(token_hash=hash_token(token or "")).first()
    )
    if link is None or not link.user.is_active:
        raise SignInLinkRefused(
            "This sign-in link is not valid. Check that you copied the whole link, "
            "or ask for a new one."
        )
    if link.used_at is not None:
        raise SignInLinkRefused("This sign-in link was used already. Each link works once.")
    if link.expires_at <= now:
        raise SignInLinkRefused(
            f"This sign-in link has expired (links work for {SIGN_IN_LINK_MINUTES} minutes)."
        )
    return link


def check_sign_in_link(*, token: str, now: dt.datetime | None = None) -> SignInLink:
    """The link of ``token`` if it can still be used (a read: nothing is marked)."""
    return _live_link(token, now or timezone.now())


def use_sign_in_link(*, token: str, now: dt.datetime | None = None) -> User:
    """Spend a sign-in link and return its person; the caller signs them in (or continues to
    the second-factor step). Raises :class:`SignInLinkRefused` for an unknown, used or
    expired link. Two clicks racing for one link: only one wins."""
    now = now or timezone.now()
    with transaction.atomic():
        link = _live_link(token, now)
        spent = SignInLink.objects.filter(
            pk=link.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now, updated_at=now)
        if spent != 1:
            raise SignInLinkRefused("This sign-in link was used already. Each link works once.")
        user = link.user
        record_audit(
            actor=Principal(user_id=user.pk, label=user.email),
            action="accounts.use_sign_in_link",
            target=link,
            tenant_id=None,
            changes={"used_at": [None, now.isoformat()]},
        )
    return user


def is_requester_only(principal: Principal) -> bool:
    """True for people whose every role is Requester: they land on the portal."""
    keys = {a.role_key for a in principal.tenant_accesses if a.provider_id is None}
    return keys == {"requester"} and not principal.provider_accesses and not principal.is_superuser


def is_requester_somewhere(principal: Principal) -> bool:
    """True if the person holds the Requester role in at least one tenant."""
    return any(
        a.role_key == "requester" and a.provider_id is None for a in principal.tenant_accesses
    )
