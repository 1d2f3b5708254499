"""Engineer sessions in a real browser (demo AI): from ticket text to downloaded documentation,
and the session page at desk and phone width (lane beside / Tasks drawer, shortcuts, the guard
against leaving with an unsent answer).

Screenshots go to test-output/screenshots/ for a person to look at.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from resolutionflow.testing.browser import (
    DESKTOP,
    PHONE,
    SCREENSHOT_DIR,
    assert_accessible,
    assert_no_sideways_scroll,
    login_as,
    shoot_both,
)
from sessions_app.services import intake, turns

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TICKET = (
    "Since her password change on Monday, Outlook keeps asking Jane for her password every hour. "
    "She types it in, it works for a while, then the prompt comes back."
)
FREE_TEXT = "OWA signs in fine on her laptop, no prompt at all."
RESOLUTION = "Removed the stale MicrosoftOffice16 entries from Credential Manager; Outlook signed in once and stayed."


def lane_texts(page, heading: str) -> list[str]:
    section = page.locator("#sessions_app-lane .lane-section").filter(has=page.get_by_role("heading", name=heading))
    return section.locator(".lane-item").evaluate_all(
        "items => items.map(i => i.querySelector('.lane-id').textContent + ' '"
        " + i.querySelector('.lane-text').textContent)"
    )


def hold_posts(page, url: str) -> list:
    """Hold the POSTs to `url` until `release`, so the page's waiting state can be looked at."""
    held = []
    page.route(url, lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    return held


def release(page, held: list, url: str) -> None:
    for _ in range(50):  # the route handler runs when Playwright next hears from the browser
        if held:
            break
        page.wait_for_timeout(20)
    assert len(held) == 1, f"expected one held POST, got {len(held)}"
    held[0].continue_()
    page.unroute(url)


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__sameDocument") is True, "answering a step reloaded the whole page"


def test_engineer_is_led_from_ticket_text_to_downloaded_documentation(page, live_server, tenant_a, password):
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New troubleshooting session")

    # The intake kind chips show only the fields of the chosen kind (CSS :has).
    text_box = page.get_by_label("What's wrong?")
    expect(text_box).to_be_visible()
    expect(page.get_by_label("PSA ticket number")).to_be_hidden()
    kinds = page.get_by_role("group", name="Start from")
    kinds.get_by_text("PSA ticket", exact=True).click()
    expect(page.get_by_label("PSA ticket number")).to_be_visible()
    expect(text_box).to_be_hidden()
    kinds.get_by_text("Internal ticket", exact=True).click()
    expect(page.get_by_role("combobox", name="Internal ticket")).to_be_visible()
    expect(page.get_by_label("PSA ticket number")).to_be_hidden()
    kinds.get_by_text("Describe it", exact=True).click()
    expect(text_box).to_be_visible()
    text_box.fill(TICKET)
    shoot_both(page, "session-new")

    # While the server classifies and asks the AI, the page says so. (A listener added after the
    # page's own cancels the first submit, so the waiting page stays there to be looked at.)
    start = page.get_by_role("button", name="Start session")
    page.evaluate("window.__hold = e => e.preventDefault(); document.addEventListener('submit', window.__hold)")
    start.click()
    expect(page.get_by_role("status").filter(has_text="Classifying and preparing the first step")).to_be_visible()
    page.evaluate(
        "document.removeEventListener('submit', window.__hold);"
        "delete document.getElementById('session-new-form').dataset.submitting"
    )
    start.click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    session_url = page.url
    header = page.locator("#sessions_app-header")
    expect(header.get_by_role("heading", level=1)).to_have_text("Outlook keeps prompting for the password")
    expect(header).to_contain_text("E-mail")
    expect(page.get_by_test_id("session-cost")).to_contain_text("Step 1/30")

    step = page.get_by_test_id("current-step")
    lane_count = page.locator("#lane-count")
    expect(step).to_contain_text("Did the prompts start after a password change")
    # The lane: the leading hypothesis's open items and the next one's (stale tokens, then the build).
    expect(lane_count).to_have_text("3")
    assert lane_texts(page, "Questions") == ["Q1 Does Outlook on the web work with the same password?"]
    assert lane_texts(page, "Diagnostic checks") == [
        "C1 Check Credential Manager for old Office entries",
        "C2 Confirm the Office build is current",
    ]
    page.evaluate("window.__sameDocument = true")

    # 1. An option. While the AI thinks: the dots, a skeleton of the next step, no second click.
    held = hold_posts(page, "**/answer/")
    step.get_by_role("button", name="Yes", exact=True).click()
    expect(step.get_by_role("status").filter(has_text="The AI is thinking")).to_be_visible()
    expect(page.locator("#next-step-skeleton")).to_be_visible()
    expect(step.get_by_role("button", name="No", exact=True)).to_be_disabled()
    page.screenshot(path=str(SCREENSHOT_DIR / f"session-thinking-{DESKTOP}.png"), animations="disabled")
    assert_accessible(page, "session-thinking")
    release(page, held, "**/answer/")
    expect(step).to_contain_text("Does Outlook on the web (OWA) sign in without prompting?")
    expect(lane_count).to_have_text("2")  # Q1 is the step's own question now
    expect(page.get_by_test_id("session-cost")).to_contain_text("Step 2/30")
    assert lane_texts(page, "Diagnostic checks") == [
        "C1 Check Credential Manager for old Office entries",
        "C2 Confirm the Office build is current",
    ]
    expect(page.locator("#step-1")).to_contain_text("Yes")
    assert_not_reloaded(page)
    shoot_both(page, "session-midway")

    # At desk width the lane sits beside the conversation.
    conversation = page.locator("#sessions_app-conversation").bounding_box()
    lane = page.locator("#sessions_app-lane").bounding_box()
    assert lane["x"] >= conversation["x"] + conversation["width"], f"lane not beside the conversation: {lane}"
    assert abs(lane["y"] - conversation["y"]) < 80, "the lane does not start level with the conversation"

    # 2. Free text, sent with Ctrl+Enter.
    answer = step.get_by_label("Your answer")
    answer.fill(FREE_TEXT)
    answer.press("Control+Enter")
    expect(step).to_contain_text("Open Credential Manager")
    expect(lane_count).to_have_text("1")
    expect(page.locator("#sessions_app-lane")).to_contain_text("Open questions the AI wants answered will appear here")
    assert lane_texts(page, "Diagnostic checks") == ["C2 Confirm the Office build is current"]
    expect(page.locator("#step-2")).to_contain_text(FREE_TEXT)
    assert_not_reloaded(page)

    # 3. Skip: can't check now.
    step.get_by_role("button", name="Can't check now").click()
    expect(step).to_contain_text("Suggested fix: Clear stale Office credentials")
    expect(lane_count).to_have_text("0")
    expect(page.locator("#sessions_app-lane")).to_contain_text("Checks the AI wants run will appear here")
    expect(page.locator("#step-3")).to_contain_text("Skipped")
    expect(page.get_by_test_id("session-cost")).to_contain_text("Step 4/30")
    assert_not_reloaded(page)

    # Resolve from the lane.
    page.locator(".resolve-box > summary").click()
    page.get_by_label("How was it resolved?").fill(RESOLUTION)
    page.get_by_role("radio", name="Fixed", exact=True).check()
    page.get_by_role("button", name="Resolve and post the note").click()
    expect(page).to_have_url(session_url)
    resolved = page.locator("#sessions_app-resolved")
    expect(resolved).to_contain_text(RESOLUTION)
    expect(header.locator(".badge-status-resolved")).to_have_text("Resolved")
    shoot_both(page, "session-resolved")

    with page.expect_download() as download_info:
        resolved.get_by_role("link", name=re.compile("Download documentation")).click()
    download = download_info.value
    assert re.fullmatch(r"session-\d+\.md", download.suggested_filename)
    markdown = Path(download.path()).read_text(encoding="utf-8")
    for expected in [
        "# Outlook keeps prompting for the password",
        TICKET,
        "Did the prompts start after a password change or an MFA change?",
        "Response: Yes",
        "Does Outlook on the web (OWA) sign in without prompting?",
        f"Response: {FREE_TEXT}",
        "Open Credential Manager",
        "Response: Skipped",
        "## Resolution",
        RESOLUTION,
    ]:
        assert expected in markdown, f"{expected!r} missing from the documentation:\n{markdown}"

    # The session is listed as resolved under My sessions.
    header.get_by_role("link", name="Sessions", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My sessions")
    row = page.locator(".session-row").filter(has_text="Outlook keeps prompting for the password")
    expect(row.locator(".badge-status-resolved")).to_have_text("Resolved")
    expect(row.get_by_test_id("resolution-code")).to_have_text("Fixed")
    shoot_both(page, "session-list")


@pytest.fixture
def outlook_session(tenant_a):
    session = intake.session_start(user=tenant_a.engineer, intake_type="text", intake_text=TICKET)
    turns.session_take_turn(session=session, actor=tenant_a.engineer)
    return session


def test_phone_width_lane_is_a_tasks_drawer(page, live_server, tenant_a, password, outlook_session):
    login_as(page, live_server, tenant_a.engineer, password)
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto(f"{live_server.url}/sessions/{outlook_session.pk}/")
    assert_no_sideways_scroll(page, "session")

    handle = page.get_by_role("button", name=re.compile(r"^Tasks"))
    expect(handle).to_be_visible()
    expect(handle).to_contain_text("3")
    expect(handle).to_have_attribute("aria-expanded", "false")
    lane = page.locator("#sessions_app-lane")
    expect(lane.get_by_text("Check Credential Manager for old Office entries")).not_to_be_in_viewport()
    # The current step is what the phone shows; the drawer handle sits at the bottom of the screen.
    expect(page.get_by_test_id("current-step")).to_be_in_viewport()
    assert handle.bounding_box()["y"] + handle.bounding_box()["height"] <= 800

    handle.click()
    expect(handle).to_have_attribute("aria-expanded", "true")
    expect(lane.get_by_text("Check Credential Manager for old Office entries")).to_be_in_viewport()
    page.wait_for_timeout(250)  # the drawer's opening transition
    # What the phone shows (a full-page shot would draw the fixed drawer mid-page).
    page.screenshot(path=str(SCREENSHOT_DIR / f"session-drawer-open-{PHONE}.png"), animations="disabled")
    assert_no_sideways_scroll(page, "session with the drawer open")
    assert_accessible(page, "session with the drawer open")

    page.keyboard.press("Escape")
    expect(handle).to_have_attribute("aria-expanded", "false")
    expect(lane.get_by_text("Check Credential Manager for old Office entries")).not_to_be_visible()
    # A tap on the page above the open drawer closes it too.
    handle.click()
    expect(lane.get_by_text("Check Credential Manager for old Office entries")).to_be_visible()
    page.mouse.click(PHONE // 2, 110)  # the gap between the top bar and the page title
    expect(handle).to_have_attribute("aria-expanded", "false")

    # Answer Q1 from the drawer; the next turn makes it a fact, and the drawer opens by itself
    # once there are facts (new questions and checks alone leave it closed).
    handle.click()
    lane.get_by_label("Answer Q1").fill("Yes, OWA works with the same password")
    lane.get_by_label("Answer Q1").press("Enter")
    expect(lane.locator(".lane-answered")).to_contain_text("Answered 1")
    page.keyboard.press("Escape")
    expect(handle).to_have_attribute("aria-expanded", "false")
    page.get_by_test_id("current-step").get_by_role("button", name="Yes", exact=True).click()
    # The lane answer already said OWA works: the AI does not ask it again, it moves on.
    expect(page.get_by_test_id("current-step")).to_contain_text("Open Credential Manager")
    expect(handle).to_have_attribute("aria-expanded", "true")
    expect(lane.get_by_test_id("fact-count")).to_have_text("1")
    expect(lane.locator("li.fact").get_by_text("Yes, OWA works with the same password.")).to_be_in_viewport()
    page.wait_for_timeout(250)
    page.screenshot(path=str(SCREENSHOT_DIR / f"session-drawer-facts-{PHONE}.png"), animations="disabled")
    assert_accessible(page, "session-drawer-facts")


def test_shortcuts_dialog_and_the_unsent_answer_guard(page, live_server, tenant_a, password, outlook_session):
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/{outlook_session.pk}/")
    answer = page.get_by_test_id("current-step").get_by_label("Your answer")

    # `?` while typing is just a character; elsewhere it opens the shortcuts.
    answer.press("?")
    expect(answer).to_have_value("?")
    expect(page.get_by_role("dialog")).to_be_hidden()
    answer.fill("")
    page.locator("h1").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Send the answer you are typing")
    assert_accessible(page, "keyboard shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Leaving with nothing typed just leaves; with an unsent answer the browser asks first.
    dialogs = []

    def on_dialog(d):
        dialogs.append(d.type)
        d.dismiss()  # stay on the page

    page.on("dialog", on_dialog)
    answer.fill("Jane says OWA prompts too")
    page.locator("#sessions_app-header").get_by_role("link", name="Sessions", exact=True).click()
    for _ in range(50):
        if dialogs:
            break
        page.wait_for_timeout(20)
    assert dialogs == ["beforeunload"], dialogs
    expect(page).to_have_url(f"{live_server.url}/sessions/{outlook_session.pk}/")
    expect(answer).to_have_value("Jane says OWA prompts too")

    answer.fill("")
    page.locator("#sessions_app-header").get_by_role("link", name="Sessions", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/sessions/")
    assert dialogs == ["beforeunload"], dialogs
