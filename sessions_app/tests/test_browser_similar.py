""" "Solved before" in a real browser (demo AI): an intake about a problem the desk solved before shows
that session in the lane, at desk width and in the phone's Tasks drawer (axe-core clean at both);
dismissing it by keyboard keeps focus on what replaced it; the hint opens read-only for a colleague.

Screenshots go to test-output/screenshots/ for a person to look at.
"""

import pytest
from playwright.sync_api import expect

from resolutionflow.testing.browser import (
    DESKTOP,
    assert_accessible,
    close_lane,
    login_as,
    open_lane,
    screenshot,
    shoot_both,
    shoot_drawer,
)
from sessions_app.services.similar import sessions_search_index

from .test_similar import HISTORY, resolved

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INTAKE = "The printer at the front desk is offline again, nothing prints"


@pytest.fixture
def history(tenant_a):
    made = {
        key: resolved(tenant_a.admin, summary, domain=domain, symptoms=symptoms, resolution=resolution, days_ago=n)
        for n, (key, summary, domain, symptoms, resolution, _fact) in enumerate(HISTORY, start=1)
    }
    sessions_search_index(account_id=tenant_a.account.pk)
    return made


def start(page, live_server, text: str) -> None:
    page.goto(f"{live_server.url}/sessions/new/")
    page.get_by_label("What's wrong?").fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name="Start").first.click()


def test_solved_before_in_the_lane_dismissed_by_keyboard(page, live_server, tenant_a, password, history):
    login_as(page, live_server, tenant_a.engineer, password)
    start(page, live_server, INTAKE)

    region = page.locator("#sessions_app-similar")
    expect(region.get_by_role("heading", name="Solved before")).to_be_visible()
    first = region.locator("a.similar-link").first
    expect(first).to_have_text("Printer in reception shows offline")
    expect(first).to_have_attribute("href", f"/sessions/{history['printer_offline'].pk}/")
    expect(region).to_contain_text("Restarted the Print Spooler on the print server")
    expect(region).to_contain_text(f"By {tenant_a.admin.get_full_name()}")
    screenshot(page, "solved-before", DESKTOP)
    shoot_drawer(page, "solved-before-drawer")

    # Keyboard: Tab to the dismiss button and press Enter; focus lands on the line that replaced it.
    button = region.get_by_role("button", name="Dismiss these hints")
    button.focus()
    page.keyboard.press("Enter")
    dismissed = page.locator("#sessions_app-similar.similar-dismissed")
    expect(dismissed).to_contain_text("Hints dismissed")
    expect(dismissed).to_be_focused()
    assert_accessible(page, "solved-before-dismissed")

    page.reload()
    expect(page.locator("#sessions_app-similar")).to_have_count(0)


def test_the_hint_opens_read_only_for_a_colleague(page, live_server, tenant_a, password, history):
    login_as(page, live_server, tenant_a.engineer, password)
    start(page, live_server, INTAKE)
    open_lane(page)
    with page.expect_navigation():
        page.locator("#sessions_app-similar a.similar-link").first.click()
    close_lane(page)

    expect(page.get_by_test_id("read-only")).to_contain_text(f"resolved by {tenant_a.admin.get_full_name()}")
    expect(page.get_by_role("heading", name="Printer in reception shows offline")).to_be_visible()
    expect(page.get_by_role("button", name="Rate")).to_have_count(0)
    expect(page.get_by_text("Resolve and post the note")).to_have_count(0)
    expect(page.locator("form[action$='/answer/'], form[action$='/resolve/'], form[action$='/rate/']")).to_have_count(0)
    shoot_both(page, "solved-before-read-only")
