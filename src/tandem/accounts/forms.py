"""Forms of the people-and-access pages. They parse input; the services decide what is valid."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm

from tandem.accounts import services
from tandem.accounts.choices import TokenScope
from tandem.accounts.models import User


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="E-mail",
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )


class InvitePasswordResetForm(PasswordResetForm):
    """Django's reset form, also for invited people who never had a password.

    ``invite_member`` creates users without a usable password and tells them to choose one
    through this e-mail; Django's form would skip exactly those users.
    """

    def get_users(self, email: str) -> Any:
        return User.objects.filter(email__iexact=email, is_active=True)


class ResetPasswordForm(SetPasswordForm):
    """The new-password step of the e-mailed reset: Django's checks, then the service, which
    audits the reset and revokes the person's API tokens (decision 0016)."""

    def save(self, commit: bool = True) -> Any:
        services.complete_password_reset(
            user=self.user, password=self.cleaned_data["new_password1"]
        )
        return self.user


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “backup script”.")
    membership_id = forms.TypedChoiceField(label="Acts as", coerce=int)
    scope = forms.ChoiceField(
        choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect
    )
    expires_in_days = forms.IntegerField(
        label="Expires in (days)", initial=90, min_value=1, max_value=settings.API_TOKEN_MAX_DAYS
    )

    def __init__(self, *args: Any, memberships: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["membership_id"]).choices = memberships


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    full_name = forms.CharField(label="Full name", max_length=200, required=False)
    role_key = forms.ChoiceField(label="Role")

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role_key"]).choices = roles


class SignInLinkForm(forms.Form):
    """Ask for a sign-in link by e-mail (the answer never says whether the address exists)."""

    email = forms.EmailField(
        label="E-mail",
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
