"""What the browser tests share (one module, rather than each other's privates)."""

from __future__ import annotations

from tests.personas import PASSWORD


def sign_in(browser, base_url: str, email: str):  # type: ignore[no-untyped-def]
    """A new browser context signed in as ``email`` (persona password); its page."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"{email} could not sign in"
    return page
