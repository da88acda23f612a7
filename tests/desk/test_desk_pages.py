"""Ticket pages that the isolation matrix does not open with a 200."""


def test_a_ticket_handed_off_by_the_system_shows_its_history(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    # The world's Sentinel ticket was handed off by a system principal (no acting person).
    page = as_persona("owner").get(f"/tickets/{world['sentinel_ticket']}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Security incident" in text and "system" in text
