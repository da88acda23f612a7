"""The enrolment-token page (secret shown once, revoke) and the device pages' inventory."""

from __future__ import annotations

import pytest

from tandem.agents.models import EnrolmentToken
from tandem.agents.tests.support import check_in, document, full
from tandem.core.scoping import system_context

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_can_be_revoked(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = f"/tenants/{world['tenant']}/enrolment-tokens/"
    page = client.post(url, {"name": "Roll-out 2027", "expires_in_days": 3, "max_uses": 10})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Roll-out 2027" in text and "tandem-agent enrol --server" in text
    with system_context("test"):
        token = EnrolmentToken.objects.get(name="Roll-out 2027")
    assert f"tde_{token.prefix}_" in text
    listed = client.get(url).content.decode()
    assert "Roll-out 2027" in listed and "Copy it now" not in listed
    client.post(f"/tenants/{world['tenant']}/enrolment-tokens/{token.pk}/revoke/")
    assert "Revoked" in client.get(url).content.decode()


def test_the_device_page_shows_what_the_agent_reported(client, as_persona, world) -> None:  # type: ignore[no-untyped-def]
    # The world's HQ device is enrolled; its agent reports one package with an update.
    inventory = document({"openssl": "3.0.14-1"}, {"openssl": ("3.0.14-1", "3.0.15-1", True)})
    answer = check_in(
        client, world.secrets["device_credential"], str(world["device"]), [full(1, inventory)]
    )
    assert answer.status_code == 200, answer.content
    reader = as_persona("provider_tech")
    device_page = reader.get(f"/devices/{world['device']}/").content.decode()
    assert "1 package installed" in device_page and "3.0.15-1" in device_page
    inventory_page = reader.get(
        f"/tenants/{world['tenant']}/devices/{world['device']}/inventory/"
    ).content.decode()
    assert "openssl" in inventory_page and "Debian-Security" in inventory_page
    # Narrow IT (Branch only) does not see the HQ device, nor its inventory.
    outsider = as_persona("out_of_scope_tech")
    assert (
        outsider.get(f"/tenants/{world['tenant']}/devices/{world['device']}/inventory/").status_code
        == 404
    )
