"""Issue 16 in a real browser (demo AI): a thumbs down on a turn and a thumbs up on the suggested
fix, by keyboard alone, with focus staying on the button pressed; then Resolve with a code (a
duplicate of another session). Screenshots at 1280 and 360 px, axe-core clean.

Screenshots go to test-output/screenshots/ for a person to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from resolutionflow.testing.browser import DESKTOP, PHONE, login_as, open_lane, shoot_both, shoot_drawer
from sessions_app.models import AISession, SuggestedFix
from sessions_app.services import intake, turns
from sessions_app.tests.factories import AISessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TICKET = "Since her password change on Monday, Outlook keeps asking Jane for her password every hour."


def _focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def _press(page, button, key: str) -> None:
    """Reach `button` by keyboard focus and press it with `key` (no click)."""
    button.focus()
    page.keyboard.press(key)


def test_vote_by_keyboard_on_a_turn_and_the_fix_then_resolve_with_a_code(page, live_server, tenant_a, password):
    engineer = tenant_a.engineer
    earlier = AISessionFactory(owner=engineer, status="resolved", resolution_code="fixed",
                               problem_summary="Outlook prompts after a password change")  # fmt: skip
    session = intake.session_start(user=engineer, intake_type="text", intake_text=TICKET)
    turns.session_take_turn(session=session, actor=engineer)
    SuggestedFix.objects.create(
        account=tenant_a.account, session=session, title="Clear the stale Office credentials", confidence=80
    )
    AISession.objects.filter(pk=session.pk).update(state_version=session.state_version + 1)
    step = session.steps.get()
    login_as(page, live_server, engineer, password)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")

    # A turn: Not helpful, by keyboard. The control swaps in place and focus stays on the button.
    vote = page.locator(f"#vote-turn-{step.pk}")
    down = vote.get_by_role("button", name="Not helpful")
    expect(down).to_have_attribute("aria-pressed", "false")
    _press(page, down, "Enter")
    expect(vote.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
    expect(vote.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "false")
    assert _focused_id(page) == f"vote-turn-{step.pk}-down"
    expect(vote.get_by_test_id("vote-flag")).to_have_text("Marked not helpful")
    # Why: a reason from the list and a word, saved by keyboard; focus stays on Save.
    vote.get_by_label("Reason").select_option(label="Not relevant to the problem")
    vote.get_by_label("What was wrong? (optional)").fill("It asked about the printer")
    _press(page, vote.get_by_role("button", name="Save"), "Enter")
    expect(vote.locator("summary")).to_have_text("Why: Not relevant to the problem")
    expect(vote.get_by_role("status")).to_have_text("Saved.")
    assert _focused_id(page) == f"vote-turn-{step.pk}-save"
    page.evaluate("window.__sameDocument = true")
    shoot_both(page, "feedback-turn")

    # The fix, in the lane: Helpful, by the space bar.
    fix = SuggestedFix.objects.get(session=session)
    page.set_viewport_size({"width": PHONE, "height": 800})
    open_lane(page)
    fix_vote = page.locator(f"#vote-fix-{fix.pk}")
    _press(page, fix_vote.get_by_role("button", name="Helpful", exact=True), "Space")
    expect(fix_vote.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
    assert _focused_id(page) == f"vote-fix-{fix.pk}-up"
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": DESKTOP, "height": 800})
    shoot_drawer(page, "feedback-fix")
    assert page.evaluate("window.__sameDocument") is True, "voting reloaded the page"

    # Resolve with a code: a duplicate asks which session it repeats.
    open_lane(page)
    page.locator(".resolve-box > summary").click()
    reference = page.get_by_label("Duplicate of")
    expect(reference).to_be_hidden()
    page.get_by_role("radio", name="Duplicate", exact=True).check()
    expect(reference).to_be_visible()
    reference.fill(f"#{earlier.pk}")
    page.get_by_label("How was it resolved?").fill("Same stale credentials as last week; cleared them again.")
    shoot_both(page, "feedback-resolve-code")
    page.get_by_role("button", name="Resolve and post the note").click()
    expect(page).to_have_url(re.compile(rf"/sessions/{session.pk}/$"))
    resolved = page.locator("#sessions_app-resolved")
    expect(resolved).to_contain_text(f"Duplicate of session #{earlier.pk}")
    shoot_both(page, "feedback-resolved-duplicate")
    # The turn is still marked in the history after the reload.
    expect(page.locator(f"#step-{step.order}")).to_have_class(re.compile(r"turn-flagged"))
    session.refresh_from_db()
    assert (session.resolution_code, session.duplicate_of_id) == ("duplicate", earlier.pk)
