"""The shell of the app in a real browser: login, the three homes, tickets, notifications.

Each test also writes screenshots at phone (360 px) and desktop (1280 px) width to
test-output/screenshots/, for a person to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from resolutionflow.accounts.tests.factories import NotificationFactory
from resolutionflow.psa import services as psa_services
from resolutionflow.testing.browser import DESKTOP, PHONE, login_as, screenshot, shoot_both

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_engineer_logs_in_through_the_form_and_lands_on_their_home(page, live_server, tenant_a, password, settings):
    settings.AI_MODE = "demo"
    page.goto(f"{live_server.url}/engineer/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/engineer/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shoot_both(page, "login")

    login_as(page, live_server, tenant_a.engineer, password)

    expect(page).to_have_url(f"{live_server.url}/engineer/")
    first_name = tenant_a.engineer.get_short_name()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good to see you, {first_name}")
    for title, empty in [
        ("Your open sessions", "No open sessions."),
        ("Escalation queue", "Nothing waiting for pickup."),
        ("L1 escalations", "No L1 escalations."),
    ]:
        card = page.locator("section.card").filter(has=page.get_by_role("heading", name=title, level=2))
        expect(card.locator(".empty")).to_contain_text(empty)
    expect(page.locator(".topbar").get_by_text("Demo AI")).to_be_visible()
    # Engineers see sessions and tickets; L1 walks and admin are not theirs.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Sessions", "Escalations", "Tickets"])
    expect(nav.get_by_role("link", name="Sessions")).to_have_attribute("aria-current", "page")
    shoot_both(page, "engineer-home")


def test_wrong_password_stays_on_the_form_with_an_error(page, live_server, tenant_a):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("E-mail").fill(tenant_a.engineer.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an active user")
    expect(page).to_have_url(re.compile(r"/login/$"))
    shoot_both(page, "login-error")


def test_l1_tech_home_and_no_engineer_pages(page, live_server, tenant_a, password):
    login_as(page, live_server, tenant_a.l1, password)
    expect(page).to_have_url(f"{live_server.url}/l1/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hi {tenant_a.l1.get_short_name()}")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(["L1 walks", "Tickets"])
    shoot_both(page, "l1-home")

    response = page.goto(f"{live_server.url}/engineer/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_text("does not give access to engineer sessions")).to_be_visible()
    shoot_both(page, "not-allowed")


def test_admin_home(page, live_server, tenant_a, password):
    login_as(page, live_server, tenant_a.admin, password)
    expect(page).to_have_url(f"{live_server.url}/manage/")
    expect(page.get_by_role("heading", level=1)).to_have_text(tenant_a.account.name)
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Sessions", "Escalations", "Tickets", "Admin"]
    )
    shoot_both(page, "admin-home")

    # The user menu opens inside a phone screen and closes again on Escape.
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.locator(".usermenu summary").click()
    panel = page.locator(".usermenu-panel")
    expect(panel).to_contain_text(tenant_a.admin.email)
    box = panel.bounding_box()
    assert box["x"] >= 0, f"the user menu leaves the screen on the left: {box}"
    assert box["x"] + box["width"] <= PHONE, f"the user menu leaves the screen on the right: {box}"
    screenshot(page, "usermenu", PHONE)
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


def test_ticket_list_stays_readable_and_the_form_shows_its_errors(page, live_server, tenant_a, tenant_b, password):
    for title in [
        "Outlook keeps asking for the password after the M365 tenant migration",
        "Printer on 2nd floor offline",
        "VPN drops every 20 minutes for remote staff in the Leeds office",
    ]:
        psa_services.internal_ticket_create(account=tenant_a.account, title=title, actor=tenant_a.engineer)
    psa_services.internal_ticket_create(account=tenant_b.account, title="Globex-only ticket", actor=tenant_b.engineer)

    login_as(page, live_server, tenant_a.engineer, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Internal tickets")
    rows = page.locator("table.table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("table.table tbody tr td:first-child")).to_contain_text(["INT-", "INT-", "INT-"])
    expect(page.get_by_text("Globex-only ticket")).to_have_count(0)
    shoot_both(page, "tickets")
    # At phone width the table keeps a readable title column instead of squeezing it.
    page.set_viewport_size({"width": PHONE, "height": 800})
    title_width = page.locator("table.table tbody tr").first.locator("td").nth(1).bounding_box()["width"]
    assert title_width >= 150, f"the ticket title column is only {title_width:.0f} px wide at {PHONE} px"
    page.set_viewport_size({"width": DESKTOP, "height": 800})

    page.get_by_role("link", name="New ticket").click()
    page.get_by_label("Description").fill("Two users affected.")
    page.get_by_role("button", name="Create ticket").click()
    expect(page.locator(".field-invalid .field-error")).to_have_text("Give the ticket a title.")
    expect(page.get_by_label("Description")).to_have_value("Two users affected.")
    shoot_both(page, "ticket-form-error")

    page.get_by_label("Title").fill("Shared mailbox not showing in Outlook")
    page.get_by_role("button", name="Create ticket").click()
    expect(page).to_have_url(f"{live_server.url}/tickets/INT-4/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shared mailbox not showing in Outlook")
    shoot_both(page, "ticket-detail")


def test_mark_read_updates_the_item_and_the_bell_without_a_reload(page, live_server, tenant_a, tenant_b, password):
    engineer = tenant_a.engineer
    older = NotificationFactory(
        recipient=engineer,
        account=tenant_a.account,
        title="INT-2 was escalated to you",
        body="Printer on 2nd floor offline: the L1 walk ran out of steps.",
    )
    newer = NotificationFactory(
        recipient=engineer,
        account=tenant_a.account,
        title="Dana picked up your session",
        body="VPN drops every 20 minutes: Dana has the handoff briefing.",
    )
    NotificationFactory(recipient=tenant_b.engineer, account=tenant_b.account, title="Globex-only notification")

    login_as(page, live_server, engineer, password)
    bell_count = page.locator("#notification-bell [data-testid=unread-count]")
    expect(bell_count).to_have_text("2")  # loaded by htmx after the page

    page.locator("#notification-bell").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator("#accounts-notifications li.notification")).to_have_count(2)
    expect(page.locator(f"#notification-{newer.pk}")).to_have_class(re.compile(r"\bunread\b"))
    expect(page.get_by_text("Globex-only notification")).to_have_count(0)
    shoot_both(page, "notifications")

    page.evaluate("window.__noReload = true")
    item = page.locator(f"#notification-{newer.pk}")
    item.get_by_role("button", name="Mark read").click()

    expect(item).not_to_have_class(re.compile(r"\bunread\b"))
    expect(item.get_by_role("button", name="Mark read")).to_have_count(0)
    expect(bell_count).to_have_text("1")
    expect(page.locator(f"#notification-{older.pk}")).to_have_class(re.compile(r"\bunread\b"))
    assert page.evaluate("window.__noReload") is True, "marking one notification read reloaded the page"
    screenshot(page, "notifications-after-read", PHONE)


def test_every_section_of_the_top_navigation_is_on_a_phone_screen(page, live_server, tenant_a, password):
    """Issue #10.10: at 360 px "Tickets" was cut off with no hint that the bar scrolled (an engineer
    who covers L1 has the most sections)."""
    page.set_viewport_size({"width": PHONE, "height": 800})
    login_as(page, live_server, tenant_a.coverage_engineer, password)
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    expect(links).to_have_text(["Sessions", "Escalations", "L1 walks", "Tickets"])
    for link in links.all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE, f"{link.inner_text()} is off screen: {box}"
        expect(link).to_be_in_viewport(ratio=1)
