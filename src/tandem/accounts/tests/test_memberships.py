"""Inviting people (the invitation e-mail with a way in) and changing a member's role: only
by someone who manages members there, never above one's own role, never demoting the last
owner; on the people page and through the API."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from tests.personas import user_of

from tandem.accounts import services
from tandem.accounts.models import Membership, Role
from tandem.accounts.principals import resolve_principal
from tandem.accounts.tests.factories import RoleFactory
from tandem.audit.models import AuditEntry
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _membership(pk: int) -> Membership:
    with system_context("test"):
        return Membership.objects.select_related("role").get(pk=pk)


def _role_audits(pk: int) -> list[dict]:  # type: ignore[type-arg]
    with system_context("test"):
        return [
            e.changes
            for e in AuditEntry.objects.filter(
                action="accounts.change_membership_role", target_id=str(pk)
            )
        ]


# --- Invitations ---------------------------------------------------------------------------------


def test_an_invited_newcomer_gets_an_e_mail_to_choose_a_password_and_signs_in(  # type: ignore[no-untyped-def]
    world, as_persona, django_capture_on_commit_callbacks
) -> None:
    owner = as_persona("owner")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(
            reverse("accounts:people-invite", args=[world["tenant"]]),
            {"email": "dana@acme.test", "full_name": "Dana Scully", "role_key": "auditor"},
        )
    [invitation] = mail.outbox
    assert invitation.to == ["dana@acme.test"]
    assert invitation.subject == "You are invited to Acme Corp on Tandem"
    assert "gave you the role Auditor at Acme Corp" in invitation.body
    link = re.search(r"https?://\S+/password-reset/\S+/\S+/", invitation.body).group(0)  # type: ignore[union-attr]

    newcomer = Client()
    form_page = newcomer.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    password = "dana-chooses-a-long-passphrase"
    newcomer.post(
        form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )
    signed_in = newcomer.post(
        reverse("accounts:login"), {"email": "dana@acme.test", "password": password}
    )
    assert signed_in.status_code == 302
    assert newcomer.get(reverse("tenancy:tenant", args=[world["tenant"]])).status_code == 200


def test_someone_with_an_account_is_told_where_to_sign_in(  # type: ignore[no-untyped-def]
    world, as_persona, django_capture_on_commit_callbacks
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        as_persona("other_tenant_owner").post(
            reverse("accounts:people-invite", args=[world["other_tenant"]]),
            {"email": "tech@acme.test", "role_key": "requester"},
        )
    [invitation] = mail.outbox
    assert invitation.to == ["tech@acme.test"]
    assert "gave you the role Requester at Globex Industries" in invitation.body
    assert "/login/" in invitation.body and "password-reset" not in invitation.body


def test_a_refused_invitation_sends_nothing(  # type: ignore[no-untyped-def]
    world, as_persona, django_capture_on_commit_callbacks
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = as_persona("owner").post(
            reverse("accounts:people-invite", args=[world["tenant"]]),
            {"email": "tech@acme.test", "role_key": "internal-technician"},  # holds it already
        )
    assert again.status_code == 409
    assert mail.outbox == []


# --- Changing a role -----------------------------------------------------------------------------


def test_the_owner_changes_a_role_on_the_people_page(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    people = reverse("accounts:people", args=[world["tenant"]])
    page = owner.get(people).content.decode()
    action = reverse("accounts:membership-role", args=[world["membership:internal_tech"]])
    assert f'action="{action}"' in page and "Change role" in page

    changed = owner.post(action, {"role_key": "auditor"}, follow=True)
    assert "tech@acme.test is now Auditor." in changed.content.decode()
    membership = _membership(world["membership:internal_tech"])
    assert membership.role.key == "auditor" and membership.party_id == world["internal_party"]
    assert _role_audits(membership.pk) == [{"role": ["internal-technician", "auditor"]}]
    # The technician's next request runs with the new role: no more ticket changes.
    tech = resolve_principal(user_of(world, "internal_tech"))
    assert not tech.accesses_with("servicedesk.change_ticket", world["tenant"])

    # A requester made IT joins the internal party; IT made requester leaves it.
    owner.post(
        reverse("accounts:membership-role", args=[world["membership:requester"]]),
        {"role_key": "internal-technician"},
    )
    assert _membership(world["membership:requester"]).party_id == world["internal_party"]
    owner.post(action, {"role_key": "requester"})
    assert _membership(world["membership:internal_tech"]).party_id is None


def test_people_who_do_not_manage_members_see_no_role_form_and_cannot_post_one(  # type: ignore[no-untyped-def]
    world, as_persona
) -> None:
    tech = as_persona("internal_tech")  # reads the people page, manages nobody
    page = tech.get(reverse("accounts:people", args=[world["tenant"]])).content.decode()
    assert "Change role" not in page
    url = reverse("accounts:membership-role", args=[world["membership:owner"]])
    assert tech.post(url, {"role_key": "requester"}).status_code == 404
    assert _membership(world["membership:owner"]).role.key == "tenant-owner"


def test_the_last_owner_cannot_be_demoted_or_removed(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    mine = world["membership:owner"]
    refused = owner.post(
        reverse("accounts:membership-role", args=[mine]), {"role_key": "auditor"}, follow=True
    )
    assert "owner@acme.test is the last owner here" in refused.content.decode()
    api = owner.patch(
        f"{API}/memberships/{mine}", {"role_key": "auditor"}, content_type="application/json"
    )
    assert api.status_code == 409 and "last owner" in api.json()["detail"]
    removed = owner.post(reverse("accounts:membership-deactivate", args=[mine]), follow=True)
    assert "is the last owner here" in removed.content.decode()
    assert _membership(mine).role.key == "tenant-owner" and _membership(mine).is_active
    assert _role_audits(mine) == []

    # With a second owner, the first may step down.
    owner.post(
        reverse("accounts:membership-role", args=[world["membership:auditor"]]),
        {"role_key": "tenant-owner"},
    )
    stepped = owner.patch(
        f"{API}/memberships/{mine}", {"role_key": "auditor"}, content_type="application/json"
    )
    assert stepped.status_code == 200 and stepped.json()["role_key"] == "auditor"


def test_nobody_gives_a_role_above_their_own(world) -> None:  # type: ignore[no-untyped-def]
    """The built-in owner holds every tenant permission; a role with one more (no service
    makes custom roles yet, so the test writes it) is above the owner."""
    with system_context("test: a role above the owner"):
        above = RoleFactory(
            key="super-owner",
            name="Super owner",
            scope="tenant",
            permissions=[*Role.objects.get(key="tenant-owner").permissions, "audit.purge_all"],
        )
        tech = _membership(world["membership:internal_tech"])
    owner = resolve_principal(user_of(world, "owner"))
    with pytest.raises(InvalidInput) as refused:
        services.change_membership_role(actor=owner, membership=tech, role=above)
    assert "Super owner is above your own role here (it may also audit.purge_all)" in (
        refused.value.message
    )
    with pytest.raises(InvalidInput):
        services.invite_member(
            actor=owner,
            email="climber@acme.test",
            full_name="",
            role=above,
            tenant=tech.tenant,
        )
    assert _membership(tech.pk).role.key == "internal-technician"
    # The instance's own system work is not limited.
    services.change_membership_role(actor=system_principal("test"), membership=tech, role=above)


def test_the_api_changes_a_role_with_clear_refusals(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = f"{API}/memberships/{world['membership:internal_tech']}"

    def patch(body):  # type: ignore[no-untyped-def]
        return owner.patch(url, body, content_type="application/json")

    assert patch({"role_key": "no-such-role"}).status_code == 422
    wrong_scope = patch({"role_key": "provider-admin"})
    assert wrong_scope.status_code == 422
    assert "provider role" in str(wrong_scope.json()["detail"])
    same = patch({"role_key": "internal-technician"})
    assert same.status_code == 409
    changed = patch({"role_key": "requester"})
    assert changed.status_code == 200
    assert changed.json()["role_key"] == "requester" and changed.json()["party_id"] is None
    # Another tenant's owner does not find it; a provider admin manages only its own staff.
    other = as_persona("other_tenant_owner").patch(
        url, {"role_key": "auditor"}, content_type="application/json"
    )
    assert other.status_code == 404


def test_a_provider_admin_changes_their_staff(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    admin = as_persona("provider_admin")
    tech = world["membership:provider_tech"]
    changed = admin.patch(
        f"{API}/memberships/{tech}", {"role_key": "provider-admin"}, content_type="application/json"
    )
    assert changed.status_code == 200
    # The tech is an admin now; so the original admin may step down to technician.
    admin_membership = world["membership:provider_admin"]
    down = admin.patch(
        f"{API}/memberships/{admin_membership}",
        {"role_key": "provider-technician"},
        content_type="application/json",
    )
    assert down.status_code == 200
    # The last admin may not.
    promoted = resolve_principal(user_of(world, "provider_tech"))
    with pytest.raises(Conflict), system_context("test"):
        services.change_membership_role(
            actor=promoted,
            membership=_membership(tech),
            role=Role.objects.get(key="provider-technician"),
        )
