"""AI faults in a real browser (issue 10, point 9): what the engineer sees when the AI fails, and that
the retry is a control the keyboard reaches and that nothing moves focus to it by itself.

The app runs against the fake Messages API (the SDK on the wire), made to fail, then healthy again.
Screenshots of each fault state, at 1280 and 360 px, go to test-output/screenshots/ for a person
to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from facts_app.tasks import handoff_assess
from resolutionflow.ai import budget
from resolutionflow.ai.fake_api import Reply
from resolutionflow.testing.browser import login_as, screenshot, shoot_both, shoot_drawer, show_in_lane
from sessions_app.models import AISession, Escalation, LaneItem
from sessions_app.services import escalations
from sessions_app.tests.factories import question_turn, session_with_steps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERLOADED = Reply.error(529, retry_after_ms=1)


@pytest.fixture
def sick(fake_anthropic):
    """The fake answers every call with a 529 until `healthy(*replies)` is called."""
    fake_anthropic.set_responder(lambda body: OVERLOADED)

    def healthy(*replies):
        fake_anthropic.reset()
        fake_anthropic.enqueue(*replies)

    return healthy


def press(page, button) -> None:
    """Reach `button` with the keyboard and press it (it must be focusable, and not be focused yet)."""
    expect(button).not_to_be_focused()  # nothing moved focus to it by itself
    assert button.evaluate("el => el.tabIndex") >= 0
    button.focus()
    page.keyboard.press("Enter")


def test_a_failed_start_keeps_the_intake_and_offers_the_first_step(page, live_server, tenant_a, password, sick):
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/new/")
    page.get_by_label("What's wrong?").fill("Outlook keeps asking Jane for her password since Monday.")
    with page.expect_navigation():
        page.get_by_role("button", name="Start session").click()

    retry = page.locator("#turn-retry")
    expect(retry).to_contain_text("Your intake is saved. The AI has not given its first step yet.")
    expect(page.locator("#toasts")).to_contain_text("The AI is busy right now. Nothing you entered was lost.")
    shoot_both(page, "fault-start")

    sick(Reply.json(question_turn("Which devices show the prompt?")))
    press(page, page.get_by_role("button", name="Get the first step"))
    expect(page.get_by_test_id("current-step")).to_contain_text("Which devices show the prompt?")
    expect(page.locator("#turn-retry")).to_have_count(0)
    assert AISession.objects.get().steps.count() == 1


def test_a_failed_fact_draft_shows_its_retry_beside_the_error(page, live_server, tenant_a, password, sick):
    session = session_with_steps(owner=tenant_a.engineer, steps=2)
    LaneItem.objects.filter(session=session, public_id="Q1").update(
        status=LaneItem.Status.ANSWERED, answer="OWA signs in without any prompt."
    )
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    panel = page.locator("#facts_app-what-we-know")
    panel.locator("details.promote > summary").click()
    panel.get_by_placeholder("Type the fact, or let the AI draft it").fill("OWA is fine")
    panel.get_by_role("button", name="Draft with AI").click()

    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("The AI is busy right now. Nothing you entered was lost.")
    retry = alert.get_by_role("button", name="Draft the fact from Q1 again")
    expect(panel.get_by_placeholder("Type the fact, or let the AI draft it")).to_have_value("OWA is fine")
    show_in_lane(page, alert)
    screenshot(page, "fault-fact-draft", 1280)
    shoot_drawer(page, "fault-fact-draft")

    sick(
        Reply.json({"substantive": True, "text": "OWA signs in without a prompt.", "summary": "rules out the account"})
    )
    press(page, retry)
    expect(panel.locator("#draft-text")).to_have_value("OWA signs in without a prompt.")
    expect(panel.get_by_role("alert")).to_have_count(0)


def test_an_unavailable_assessment_can_be_asked_for_again(page, live_server, tenant_a, password, sick, fake_anthropic):
    session = session_with_steps(owner=tenant_a.engineer, steps=2)
    escalation = escalations.session_escalate(
        session=session,
        actor=tenant_a.engineer,
        reason="Cleared Credential Manager twice; it comes back.",
        package="P.",
    )
    fake_anthropic.set_responder(lambda body: Reply.error(500))  # a 529 would retry the task later
    handoff_assess(escalation.pk)  # the background draft, failing
    assert Escalation.objects.get(pk=escalation.pk).assessment_status == "unavailable"
    login_as(page, live_server, tenant_a.coverage_engineer, password)
    page.goto(f"{live_server.url}/sessions/{session.pk}/handoff/")

    region = page.locator("#sessions_app-assessment")
    expect(region).to_contain_text("Assessment unavailable. The AI service returned an error.")
    shoot_both(page, "fault-assessment")

    sick(Reply.json({"likely_cause": "A stale Office token.", "suggested_steps": ["Clear WAM"], "confidence": 60}))
    press(page, region.get_by_role("button", name="Try the assessment again"))
    expect(region).to_contain_text("Likely cause: A stale Office token.")
    expect(page.get_by_role("button", name="Start here")).to_be_visible()


def test_a_busy_ai_keeps_the_answer_counts_down_and_retries_by_itself(
    page, live_server, tenant_a, password, fake_anthropic, settings
):
    """Issue 17: the provider answers 429 with a retry-after. The answer is saved, the turn says
    "The AI is busy — your answer is saved, retrying in N s" with a countdown that runs, and when
    it ends the page asks again by itself; the new step appears without focus being moved."""
    settings.AI_PROVIDER_MAX_INLINE_WAIT = 1  # a retry-after above a second ends the SDK's retries
    session = session_with_steps(owner=tenant_a.engineer, steps=1)
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    fake_anthropic.enqueue(Reply.error(429, retry_after=30))

    answer = page.get_by_test_id("current-step").get_by_label("Your answer")
    answer.fill("Only on the office Wi-Fi")
    answer.press("Control+Enter")

    status = page.locator("#turn-retry")
    expect(status).to_contain_text("The AI is busy — your answer is saved, retrying in")
    counter = status.locator("[data-countdown]")
    expect(counter).to_have_text("30")
    expect(counter).not_to_have_text("30", timeout=3000)  # it counts down
    expect(page.locator("#step-1")).to_contain_text("Only on the office Wi-Fi")
    shoot_both(page, "busy-countdown")

    # Asked again by hand: busy for 2 s more, then the page asks by itself once the countdown ends.
    budget.backend().clear()
    fake_anthropic.reset()
    fake_anthropic.enqueue(Reply.error(429, retry_after=2), Reply.json(question_turn("Which access point?")))
    press(page, page.get_by_role("button", name="Try the next step again"))
    expect(counter).to_have_text(re.compile(r"^[12]$"))
    step = page.get_by_test_id("current-step")
    expect(step).to_contain_text("Which access point?", timeout=8000)
    expect(page.locator("#turn-retry")).to_have_count(0)
    expect(step.locator(".turn-title")).not_to_be_focused()  # the automatic retry moved no focus
    assert fake_anthropic.received == 2
    assert AISession.objects.get(pk=session.pk).steps.get(order=1).response_text == "Only on the office Wi-Fi"
