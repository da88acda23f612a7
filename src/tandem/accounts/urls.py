from django.urls import path

from tandem.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/mfa/", views.login_mfa, name="login-mfa"),
    path("login/link/", views.login_link, name="login-link"),
    path("login/link/<str:token>/", views.login_link_use, name="login-link-use"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_done, name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("password-reset/done/", views.password_reset_complete, name="password-reset-complete"),
    path("account/mfa/", views.mfa_setup, name="mfa-setup"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<id:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("tenants/<id:tenant_id>/people/", views.people, name="people"),
    path("tenants/<id:tenant_id>/people/invite/", views.people_invite, name="people-invite"),
    path(
        "memberships/<id:membership_id>/deactivate/",
        views.membership_deactivate,
        name="membership-deactivate",
    ),
    path(
        "memberships/<id:membership_id>/role/",
        views.membership_role,
        name="membership-role",
    ),
    path("roles/", views.roles, name="roles"),
    path("providers/<id:provider_id>/staff/", views.provider_staff, name="provider-staff"),
    path(
        "providers/<id:provider_id>/staff/invite/",
        views.provider_staff_invite,
        name="provider-staff-invite",
    ),
]
