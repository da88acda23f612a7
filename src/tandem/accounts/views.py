"""Pages about people and access: sign-in (with TOTP), password reset, second factor, API
tokens, a tenant's people, a provider's staff, and the roles.

Handlers are thin: parse the form, look objects up through the queries (another tenant's
object is a 404), call one service, render or redirect.
"""

from __future__ import annotations

import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import (
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
)
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts import queries, services
from tandem.accounts.choices import RoleScope
from tandem.accounts.forms import (
    InviteForm,
    InvitePasswordResetForm,
    LoginForm,
    ResetPasswordForm,
    SignInLinkForm,
    TokenForm,
    TotpCodeForm,
)
from tandem.accounts.models import Membership, TotpDevice, User
from tandem.accounts.principals import has_confirmed_totp, resolve_principal
from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.pages import CONFLICT, INVALID, add_service_errors, safe_next
from tandem.core.policies import PUBLIC, SIGNED_IN
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.tenancy.models import Provider

#: Session keys of a sign-in that passed the password and waits for its TOTP code.
MFA_USER = "tandem_mfa_user"
MFA_SINCE = "tandem_mfa_since"
MFA_FAILURES = "tandem_mfa_failures"
MFA_NEXT = "tandem_mfa_next"
#: Wrong codes before the password has to be entered again. Each wrong code also counts as
#: a failed sign-in for django-axes, so re-entering the password does not reset the budget.
MFA_MAX_FAILURES = 3
#: How long the code step stays open after the password was accepted.
MFA_STEP_SECONDS = 300

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _home() -> str:
    return reverse("tenancy:home")


def _home_for(user: Any) -> str:
    """Where a person lands after signing in without a ``next``: requesters (people whose
    only roles are Requester) go to the portal, everyone else home."""
    if services.is_requester_only(resolve_principal(user)):
        return reverse("servicedesk:portal")
    return _home()


# --- Sign-in ------------------------------------------------------------------------------


def lockout_response(
    request: TandemRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """django-axes calls this when a username+IP pair has failed too often (HTTP 429)."""
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    _clear_pending_mfa(request)
    return render(
        request,
        "accounts/user_lockout.html",
        {"cooloff_minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )


def _clear_pending_mfa(request: TandemRequest) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    for key in (MFA_USER, MFA_SINCE, MFA_FAILURES, MFA_NEXT):
        session.pop(key, None)


def _pending_mfa_user(request: TandemRequest) -> User | None:
    user_id = request.session.get(MFA_USER)
    since = request.session.get(MFA_SINCE, 0)
    if user_id is None or time.time() - since > MFA_STEP_SECONDS:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not has_confirmed_totp(user):
        return None
    return user


@page(PUBLIC)
@require_http_methods(["GET", "POST"])
def login_view(request: TandemRequest) -> HttpResponse:
    """E-mail and password; people with a confirmed authenticator continue to the code step."""
    if request.principal.is_authenticated:
        return redirect(safe_next(request, _home()))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        user = authenticate(request=request, email=email, password=form.cleaned_data["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request, {"email": email})
            form.add_error(None, "That e-mail and password do not match an account.")
        elif has_confirmed_totp(user):  # type: ignore[arg-type]
            request.session.cycle_key()
            request.session[MFA_USER] = user.pk
            request.session[MFA_SINCE] = time.time()
            request.session[MFA_FAILURES] = 0
            request.session[MFA_NEXT] = safe_next(request, _home_for(user))
            return redirect("accounts:login-mfa")
        else:
            login(request, user)
            return redirect(safe_next(request, _home_for(user)))  # type: ignore[arg-type]
    return render(
        request,
        "accounts/user_login.html",
        {"form": form, "next": safe_next(request, "")},
        status=INVALID if form.errors else 200,
    )


@page(PUBLIC)
@require_http_methods(["GET", "POST"])
def login_mfa(request: TandemRequest) -> HttpResponse:
    """The second step of sign-in: the current code of the person's authenticator app."""
    user = _pending_mfa_user(request)
    if user is None:
        _clear_pending_mfa(request)
        messages.info(request, "Sign in with your e-mail and password first.")
        return redirect("accounts:login")
    credentials = {"email": user.email}
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not AxesProxyHandler.is_allowed(request, credentials):
            return lockout_response(request, credentials)
        device = TotpDevice.objects.get(user=user)
        if services.check_totp(device=device, code=form.cleaned_data["code"]):
            target = request.session.get(MFA_NEXT) or _home()
            _clear_pending_mfa(request)
            login(request, user, backend=MODEL_BACKEND)
            return redirect(target)
        failures = int(request.session.get(MFA_FAILURES, 0)) + 1
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if failures >= MFA_MAX_FAILURES:
            _clear_pending_mfa(request)
            messages.error(request, "Too many wrong codes. Sign in again with your password.")
            return redirect("accounts:login")
        request.session[MFA_FAILURES] = failures
        form.add_error("code", "That code is not valid. Enter the code your app shows now.")
    return render(
        request,
        "accounts/user_login_mfa.html",
        {"form": form, "email": user.email},
        status=INVALID if form.errors else 200,
    )


@page(PUBLIC)
@require_POST
def logout_view(request: TandemRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")


# --- Password reset by e-mail (Django's views, our templates) -----------------------------

password_reset = page(PUBLIC)(
    PasswordResetView.as_view(
        template_name="accounts/user_password_reset.html",
        email_template_name="accounts/password_reset_email.txt",
        subject_template_name="accounts/password_reset_subject.txt",
        form_class=InvitePasswordResetForm,
        success_url=reverse_lazy("accounts:password-reset-done"),
        extra_email_context={"site_url": settings.SITE_URL},
    )
)
password_reset_done = page(PUBLIC)(
    PasswordResetDoneView.as_view(template_name="accounts/user_password_reset_done.html")
)
password_reset_confirm = page(PUBLIC)(
    PasswordResetConfirmView.as_view(
        template_name="accounts/user_password_reset_confirm.html",
        form_class=ResetPasswordForm,
        success_url=reverse_lazy("accounts:password-reset-complete"),
    )
)
password_reset_complete = page(PUBLIC)(
    PasswordResetCompleteView.as_view(template_name="accounts/user_password_reset_complete.html")
)


# --- Second factor --------------------------------------------------------------------------


@page(PUBLIC)  # people who must still enrol are not "signed in" yet: checked below
@require_http_methods(["GET", "POST"])
def mfa_setup(request: TandemRequest) -> HttpResponse:
    """Set up a TOTP authenticator: start (new secret), then confirm with a first code."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.path})}")
    principal = request.principal
    user: User = request.user  # type: ignore[assignment]
    form = TotpCodeForm(request.POST if request.POST.get("step") == "confirm" else None)
    status = 200
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "start":
                services.start_totp_setup(actor=principal, user=user)
                return redirect("accounts:mfa-setup")
            if step == "confirm" and form.is_valid():
                services.confirm_totp(actor=principal, user=user, code=form.cleaned_data["code"])
                messages.success(request, "Your second factor is on. Sign-in now asks for a code.")
                return redirect("tenancy:home")
        except InvalidInput as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("accounts:mfa-setup")
        status = INVALID
    device = TotpDevice.objects.filter(user=user).first()
    context: dict[str, Any] = {
        "form": form,
        "device": device,
        "confirmed": bool(device and device.confirmed_at),
        "mfa_pending": principal.mfa_pending,
        "section": "mfa",
    }
    if device is not None and device.confirmed_at is None:
        context["secret_groups"] = [
            device.secret[i : i + 4] for i in range(0, len(device.secret), 4)
        ]
        context["provisioning_uri"] = services.provisioning_uri(device)
    return render(request, "accounts/totpdevice_setup.html", context, status=status)


# --- API tokens -----------------------------------------------------------------------------


def _membership_label(membership: Membership) -> str:
    where = membership.tenant or membership.provider
    return f"{membership.role.name} at {where}"


@page(SIGNED_IN)
@require_http_methods(["GET", "POST"])
def tokens(request: TandemRequest) -> HttpResponse:
    """The person's own API tokens, and a form to issue one (its secret is shown once)."""
    principal = request.principal
    own = [(m.pk, _membership_label(m)) for m in queries.own_memberships(principal)]
    form = TokenForm(request.POST or None, memberships=own)
    created = raw_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            membership = queries.own_memberships(principal).filter(pk=data["membership_id"]).first()
            try:
                if membership is None:
                    raise InvalidInput({"membership_id": ["Choose one of your own memberships."]})
                created, raw_token = services.create_api_token(
                    actor=principal,
                    user=request.user,  # type: ignore[arg-type]
                    membership=membership,
                    name=data["name"],
                    scope=data["scope"],
                    expires_in_days=data["expires_in_days"],
                )
                form = TokenForm(memberships=own)
                status = 201
            except InvalidInput as exc:
                add_service_errors(form, exc)
                status = INVALID
            except Conflict as exc:
                form.add_error(None, str(exc))
                status = CONFLICT
        else:
            status = INVALID
    rows = list(
        queries.own_tokens(principal).select_related(
            "membership__role", "membership__tenant", "membership__provider"
        )
    )
    for row in rows:
        row.acts_as = _membership_label(row.membership)  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/apitoken_list.html",
        {
            "form": form,
            "tokens": rows,
            "created": created,
            "raw_token": raw_token,
            "section": "tokens",
            "now": timezone.now(),
        },
        status=status,
    )


@page(SIGNED_IN)
@require_POST
def token_revoke(request: TandemRequest, token_id: int) -> HttpResponse:
    principal = request.principal
    token = queries.own_tokens(principal).select_related("membership").filter(pk=token_id).first()
    if token is None:
        raise Http404("no such token")
    try:
        services.revoke_api_token(actor=principal, token=token)
        messages.success(request, f"Token “{token.name}” is revoked; it stops working at once.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("accounts:tokens")


# --- A tenant's people ----------------------------------------------------------------------


def _tenant_roles(principal: Any) -> list[tuple[str, str]]:
    return [(r.key, r.name) for r in queries.roles(principal).filter(scope=RoleScope.TENANT)]


def _provider_roles(principal: Any) -> list[tuple[str, str]]:
    return [(r.key, r.name) for r in queries.roles(principal).filter(scope=RoleScope.PROVIDER)]


#: People listed per page: a company of thousands is searched, not scrolled.
PEOPLE_PAGE_SIZE = 100


def _people_page(
    request: TandemRequest, principal: Any, rows: QuerySet[Membership]
) -> dict[str, Any]:
    """One page of ``rows`` (active people first, by e-mail), narrowed by ``?q=`` to names
    and e-mail addresses containing it, and which of the page's memberships the principal
    may deactivate."""
    search = request.GET.get("q", "").strip()[:100]
    if search:
        rows = rows.filter(Q(user__email__icontains=search) | Q(user__full_name__icontains=search))
    page_obj = Paginator(
        rows.order_by("-is_active", "user__email", "pk"), PEOPLE_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    shown = [m.pk for m in page_obj.object_list]
    changeable = set(
        queries.memberships(principal, "accounts.change_membership")
        .filter(pk__in=shown, is_active=True)
        .values_list("pk", flat=True)
    )
    return {
        "memberships": page_obj.object_list,
        "page_obj": page_obj,
        "changeable": changeable,
        "search": search,
        "query_prefix": urlencode({"q": search}) + "&" if search else "",
    }


@page("accounts.view_membership")
def people(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Everyone with a role in the tenant (its own people; providers' staff are theirs)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "accounts.view_membership")
    rows = queries.memberships(principal).filter(tenant_id=tenant.pk).select_related("party")
    may_invite = policies.allowed(principal, "accounts.add_membership", tenant)
    return render(
        request,
        "accounts/membership_list.html",
        {
            "tenant": tenant,
            **_people_page(request, principal, rows),
            "role_choices": _tenant_roles(principal),
            "form": InviteForm(roles=_tenant_roles(principal)) if may_invite else None,
            "invite_url": reverse("accounts:people-invite", args=[tenant.pk]),
            "section": "people",
        },
    )


@page("accounts.add_membership")
@require_http_methods(["GET", "POST"])
def people_invite(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "accounts.add_membership")
    form = InviteForm(request.POST or None, roles=_tenant_roles(principal))
    back = reverse("accounts:people", args=[tenant.pk])
    return _invite(
        request,
        form,
        back=back,
        context={"tenant": tenant, "section": "people"},
        where={"tenant": tenant},
        place=tenant.name,
    )


def _invite(
    request: TandemRequest,
    form: InviteForm,
    *,
    back: str,
    context: dict[str, Any],
    where: dict[str, Any],
    place: str,
) -> HttpResponse:
    principal = request.principal
    status = 200
    if request.method == "POST":
        status = INVALID
        if form.is_valid():
            data = form.cleaned_data
            role = queries.roles(principal).get(key=data["role_key"])
            try:
                membership = services.invite_member(
                    actor=principal,
                    email=data["email"],
                    full_name=data["full_name"],
                    role=role,
                    **where,
                )
            except InvalidInput as exc:
                add_service_errors(form, exc)
            except Conflict as exc:
                form.add_error(None, str(exc))
                status = CONFLICT
            else:
                note = (
                    " We e-mailed them the invitation with where to sign in."
                    if membership.user.has_usable_password()
                    else " We e-mailed them the invitation with a link to choose their password."
                )
                messages.success(
                    request, f"{membership.user.email} is now {role.name} at {place}.{note}"
                )
                return redirect(back)
    return render(
        request,
        "accounts/membership_invite.html",
        {**context, "form": form, "back": back, "place": place},
        status=status,
    )


@page("accounts.change_membership")
@require_http_methods(["GET", "POST"])
def membership_deactivate(request: TandemRequest, membership_id: int) -> HttpResponse:
    """Confirm, then remove a person's role at once (their tokens for it are revoked too)."""
    principal = request.principal
    membership = queries.membership(principal, membership_id)
    if membership.tenant_id is not None:
        back = reverse("accounts:people", args=[membership.tenant_id])
        tenant = tenant_in_reach(principal, membership.tenant_id)
    else:
        back = reverse("accounts:provider-staff", args=[membership.provider_id])
        tenant = None
    if request.method == "POST":
        try:
            services.deactivate_membership(actor=principal, membership=membership)
            messages.success(
                request, f"{membership.user.email} no longer holds {membership.role.name}."
            )
        except Conflict as exc:
            messages.error(request, str(exc))
        except InvalidInput as exc:
            messages.error(request, exc.message)
        return redirect(back)
    return render(
        request,
        "accounts/membership_deactivate.html",
        {
            "membership": membership,
            "tenant": tenant,
            "back": back,
            "is_self": membership.user_id == principal.user_id,
            "section": "people" if tenant else "staff",
            "provider_id_active": membership.provider_id,
        },
    )


@page("accounts.change_membership")
@require_POST
def membership_role(request: TandemRequest, membership_id: int) -> HttpResponse:
    """Give a member another role (the form beside each person on the people and staff
    pages); the outcome, or why not, is shown back on that page."""
    principal = request.principal
    membership = queries.membership(principal, membership_id)
    if membership.tenant_id is not None:
        back = reverse("accounts:people", args=[membership.tenant_id])
    else:
        back = reverse("accounts:provider-staff", args=[membership.provider_id])
    role = queries.roles(principal).filter(key=request.POST.get("role_key", "")).first()
    if role is None:
        messages.error(request, "Choose a role.")
        return redirect(back)
    try:
        services.change_membership_role(actor=principal, membership=membership, role=role)
    except Conflict as exc:
        messages.error(request, str(exc))
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email} is now {role.name}.")
    return redirect(back)


@page("accounts.view_role")
def roles(request: TandemRequest) -> HttpResponse:
    rows = queries.roles(request.principal).order_by("scope", "name")
    return render(request, "accounts/role_list.html", {"roles": rows, "section": "roles"})


# --- A provider's staff --------------------------------------------------------------------


def _staff_provider(principal: Any, provider_id: int, permission: str) -> Provider:
    """The provider, if the principal administers it there (else it is not found)."""
    if not principal.provider_accesses_with(permission, provider_id):
        raise Http404("no such provider")
    return policies.get_visible_or_404(
        principal, "tenancy.view_provider", Provider.objects.all(), pk=provider_id
    )


@page("accounts.view_membership")
def provider_staff(request: TandemRequest, provider_id: int) -> HttpResponse:
    principal = request.principal
    provider = _staff_provider(principal, provider_id, "accounts.view_membership")
    rows = queries.memberships(principal).filter(provider_id=provider.pk)
    may_invite = bool(principal.provider_accesses_with("accounts.add_membership", provider.pk))
    return render(
        request,
        "accounts/provider_staff.html",
        {
            "provider": provider,
            **_people_page(request, principal, rows),
            "role_choices": _provider_roles(principal),
            "form": InviteForm(roles=_provider_roles(principal)) if may_invite else None,
            "invite_url": reverse("accounts:provider-staff-invite", args=[provider.pk]),
            "section": "staff",
            "provider_id_active": provider.pk,
        },
    )


@page("accounts.add_membership")
@require_http_methods(["GET", "POST"])
def provider_staff_invite(request: TandemRequest, provider_id: int) -> HttpResponse:
    principal = request.principal
    provider = _staff_provider(principal, provider_id, "accounts.add_membership")
    form = InviteForm(request.POST or None, roles=_provider_roles(principal))
    back = reverse("accounts:provider-staff", args=[provider.pk])
    return _invite(
        request,
        form,
        back=back,
        context={"provider": provider, "section": "staff", "provider_id_active": provider.pk},
        where={"provider": provider},
        place=provider.name,
    )


# --- Sign-in links ("magic links") ------------------------------------------------------------


def _client_ip(request: TandemRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@page(PUBLIC)
@require_http_methods(["GET", "POST"])
def login_link(request: TandemRequest) -> HttpResponse:
    """Ask for a sign-in link by e-mail. The answer is the same whether or not the address
    belongs to an account (and whether or not the hourly limit was reached)."""
    if request.principal.is_authenticated:
        return redirect(_home())
    form = SignInLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.send_sign_in_link(
            actor=request.principal,
            email=form.cleaned_data["email"],
            ip=_client_ip(request),
        )
        return render(
            request,
            "accounts/user_login_link_sent.html",
            {"minutes": services.SIGN_IN_LINK_MINUTES},
        )
    return render(
        request,
        "accounts/user_login_link.html",
        {"form": form},
        status=INVALID if form.errors else 200,
    )


@page(PUBLIC)
@require_http_methods(["GET", "POST"])
def login_link_use(request: TandemRequest, token: str) -> HttpResponse:
    """Follow an e-mailed sign-in link: GET shows a button, POST spends the link and signs
    the person in (or continues to the code step for people with an authenticator).

    The link is spent by the POST only, because mail scanners open the links in e-mails
    (docs/decisions/0008-sign-in-links.md)."""
    try:
        if request.method == "GET":
            services.check_sign_in_link(token=token)
            return render(request, "accounts/user_login_link_use.html", {"token": token})
        user = services.use_sign_in_link(token=token)
    except services.SignInLinkRefused as exc:
        return render(
            request, "accounts/user_login_link_invalid.html", {"reason": str(exc)}, status=400
        )
    if request.user.is_authenticated and request.user.pk != user.pk:
        logout(request)
    if has_confirmed_totp(user):
        request.session.cycle_key()
        request.session[MFA_USER] = user.pk
        request.session[MFA_SINCE] = time.time()
        request.session[MFA_FAILURES] = 0
        request.session[MFA_NEXT] = _home_for(user)
        return redirect("accounts:login-mfa")
    login(request, user, backend=MODEL_BACKEND)
    return redirect(_home_for(user))
