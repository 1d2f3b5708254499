"""What we know, the suggested fix and its banner, and a script with a secret, in a real browser
(demo AI): an engineer works an account-lockout ticket from ticket text to a fix that worked.

SPEC §3 (notes, promoting an answer, inline edit, soft delete), §4 (apply from the card, the banner
over the conversation: verifying → pending with its reason → worked) and §5 (a password parameter
is shown once to its author and redacted everywhere after). Screenshots go to
test-output/screenshots/ for a person to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from facts_app.models import Fact
from resolutionflow.testing.browser import (
    DESKTOP,
    login_as,
    screenshot,
    shoot_both,
    shoot_drawer,
    show_in_lane,
)
from sessions_app.models import ScriptGeneration, SuggestedFix
from sessions_app.powershell import REDACTED, ps_quote
from sessions_app.tests.factories import ScriptTemplateFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Matches the demo's lockout scenario: its information-gathering step proposes nothing; its
# resolution proposes a fix with the `unlock-ad-account` template when the session offers it.
TICKET = (
    "Dana Whitfield's AD account has been locked out three times this morning, "
    "ever since she changed her password on Friday."
)
NOTE = "Locked out at 08:10, 09:25 and 10:40."
NOTE_EDITED = "Locked out at 08:10, 09:25 and 10:40, each time about 75 minutes apart."
STRAY_NOTE = "Jane's laptop was reimaged last week."
LANE_ANSWER = "Yes, an iPhone with company mail"
PROMOTED = "Dana's iPhone still has company mail set up."
PENDING_REASON = "AD replication to the branch DC"
SAM = "dwhitfield"
SECRET = "Harbor-7f3Q-lantern"  # the temporary password: shown once, then never again


@pytest.fixture
def unlock_template(tenant_a):
    """The seeded `unlock-ad-account` template (seed_demo), account-wide."""
    return ScriptTemplateFactory(
        owner=tenant_a.owner,
        slug="unlock-ad-account",
        name="Unlock an AD account and reset its password",
        category="Active Directory",
        description="Unlocks the account and sets a temporary password the user must change at next sign-in.",
        body=(
            "Unlock-ADAccount -Identity {{ sam_account_name }}\n"
            "Set-ADAccountPassword -Identity {{ sam_account_name }} -Reset "
            "-NewPassword (ConvertTo-SecureString {{ temporary_password }} -AsPlainText -Force)\n"
            "Set-ADUser -Identity {{ sam_account_name }} -ChangePasswordAtLogon $true"
        ),
        parameters=[
            {"key": "sam_account_name", "label": "Account (sAMAccountName)", "type": "text", "required": True},
            {"key": "temporary_password", "label": "Temporary password", "type": "password", "required": True},
        ],
    )


def test_facts_fix_banner_and_a_secret_shown_once(page, live_server, tenant_a, password, unlock_template):
    login_as(page, live_server, tenant_a.engineer, password)

    # --- 1. Start from ticket text -------------------------------------------------------
    page.goto(f"{live_server.url}/sessions/new/")
    page.get_by_label("What's wrong?").fill(TICKET)
    page.get_by_role("button", name="Start session").click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    session_id = int(re.search(r"/sessions/(\d+)/$", page.url).group(1))
    expect(page.locator("#sessions_app-header").get_by_role("heading", level=1)).to_have_text(
        "User account keeps locking out"
    )
    step = page.get_by_test_id("current-step")
    expect(step).to_contain_text("Has the user changed their password in the last few days?")

    lane = page.locator("#sessions_app-lane")
    wwk = page.locator("#facts_app-what-we-know")
    fact_count = wwk.get_by_test_id("fact-count")
    expect(fact_count).to_have_text("0")
    expect(wwk).to_contain_text("Facts you confirm collect here")

    def fact(text: str):
        return wwk.locator("li.fact").filter(has_text=text)

    # --- 2. What we know -------------------------------------------------------------------
    # A note of the engineer's own.
    wwk.get_by_label("Add a note").fill(NOTE)
    wwk.get_by_role("button", name="Add", exact=True).click()
    expect(fact(NOTE)).to_be_visible()
    expect(fact(NOTE)).to_contain_text("Note")
    expect(fact_count).to_have_text("1")
    expect(wwk.get_by_label("Add a note")).to_have_value("")

    # Answer Q1 in the lane, then promote that answer into a fact by typing it.
    expect(lane.locator("#lane-Q1")).to_contain_text("Does the user have a phone or tablet with company mail?")
    lane.get_by_label("Answer Q1").fill(LANE_ANSWER)
    lane.get_by_label("Answer Q1").press("Enter")
    expect(lane.locator(".lane-answered")).to_contain_text("Answered 1")
    promote = wwk.locator("details.promote")
    expect(promote.locator("summary")).to_contain_text("Promote an answer 1")
    promote.locator("summary").click()
    q1 = promote.locator(".promote-item").filter(has_text="Q1")
    expect(q1).to_contain_text(f"→ {LANE_ANSWER}")
    q1.get_by_label("Fact from Q1").fill(PROMOTED)
    q1.get_by_role("button", name="Save", exact=True).click()
    expect(fact(PROMOTED)).to_be_visible()
    expect(fact(PROMOTED).locator(".lane-id")).to_have_text("Q1")
    expect(fact_count).to_have_text("2")
    expect(promote).to_have_count(0)  # nothing left to promote
    # A fact from a question is changed through its question, not at the card; it can be deleted.
    expect(fact(PROMOTED).get_by_role("button", name="Edit")).to_have_count(0)
    expect(fact(PROMOTED).get_by_role("button", name="Delete")).to_be_visible()

    # Edit the note inline.
    fact(NOTE).get_by_role("button", name="Edit").click()
    editor = wwk.get_by_label("Fact", exact=True)
    expect(editor).to_have_value(NOTE)
    editor.fill(NOTE_EDITED)
    wwk.locator(".fact-form").get_by_role("button", name="Save").click()
    expect(fact(NOTE_EDITED)).to_be_visible()
    expect(wwk.get_by_label("Fact", exact=True)).to_have_count(0)
    expect(wwk).not_to_contain_text("10:40.")  # the old wording is gone
    expect(fact_count).to_have_text("2")

    # A note added by mistake is deleted (after the browser's confirm) and leaves the panel.
    wwk.get_by_label("Add a note").fill(STRAY_NOTE)
    wwk.get_by_label("Add a note").press("Enter")
    expect(fact_count).to_have_text("3")
    confirms = []

    def accept(dialog):
        confirms.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    fact(STRAY_NOTE).get_by_role("button", name="Delete").click()
    expect(fact(STRAY_NOTE)).to_have_count(0)
    expect(fact_count).to_have_text("2")
    assert confirms == ["Delete this fact? It leaves the panel and the previews."], confirms
    # Soft delete: the row stays, stamped.
    deleted = Fact.objects.get(session_id=session_id, text=STRAY_NOTE)
    assert deleted.deleted_at is not None
    live = list(Fact.objects.live().filter(session_id=session_id).order_by("created_at", "id"))
    assert [(f.text, f.source_type, f.source_ref) for f in live] == [
        (NOTE_EDITED, Fact.SourceType.USER_NOTE, ""),
        (PROMOTED, Fact.SourceType.QUESTION, "Q1"),
    ]
    assert wwk.locator("li.fact .fact-text").all_text_contents() == [NOTE_EDITED, PROMOTED]  # oldest first
    shoot_both(page, "facts-panel")
    shoot_drawer(page, "facts-drawer")

    # --- 3. The fix: proposed with the next turn, applied from the card ----------------------
    step.get_by_role("button", name="Yes", exact=True).click()
    expect(step).to_contain_text("filter the Security log for event 4740")
    card = page.locator("#sessions_app-fix-card")
    # Reading a log is not a fix: nothing asks "did it work?" about it.
    expect(card).to_contain_text("When the evidence points at a fix")
    step.get_by_role("button", name="Done — as expected").click()
    expect(step).to_contain_text("Remove the old password from the user's phone mail profile")
    expect(card).to_contain_text("Apply it: script template unlock-ad-account")
    expect(card.get_by_test_id("fix-status")).to_have_text("Proposed")
    # The AI's own promotion of Q1's answer does not duplicate the engineer's fact.
    expect(fact_count).to_have_text("2")
    banner = page.get_by_role("region", name="Fix status")
    expect(banner).to_have_count(0)  # nothing applied yet
    fix = SuggestedFix.objects.get(session_id=session_id, superseded_at__isnull=True)
    assert fix.script_template_id == unlock_template.pk

    # Run as one-off opens the script's parameter form: nothing is applied yet.
    card.get_by_role("button", name="Run as one-off").click()
    run_form = card.get_by_test_id("run-form")
    expect(run_form).to_contain_text("Run as one-off: fill in its parameters")
    account_box = run_form.get_by_label("Account (sAMAccountName)")
    expect(account_box).to_be_focused()  # the choice opened the form; the cursor is in it
    password_box = run_form.get_by_label("Temporary password")
    expect(password_box).to_have_attribute("type", "password")
    expect(banner).to_have_count(0)
    show_in_lane(page, run_form)
    shoot_both(page, "fix-one-off-form")

    # A value left out is told beside its field, and nothing changes.
    run_form.get_by_role("button", name="Get the script").click()
    expect(run_form.locator(".field-invalid").first).to_contain_text("Account (sAMAccountName) is required.")
    expect(banner).to_have_count(0)
    assert not ScriptGeneration.objects.filter(session_id=session_id).exists()

    # --- 4. The script, with a password in it: shown once, to its author ---------------------
    run_form.get_by_label("Account (sAMAccountName)").fill(SAM)
    run_form.get_by_label("Temporary password").fill(SECRET)
    run_form.get_by_role("button", name="Get the script").click()
    generated = page.get_by_test_id("generated-script")
    expect(generated).to_contain_text("shown once")
    expect(generated.locator("pre")).to_contain_text(
        f"-NewPassword (ConvertTo-SecureString {ps_quote(SECRET)} -AsPlainText -Force)"
    )
    expect(generated.locator("pre")).to_contain_text(f"Unlock-ADAccount -Identity {ps_quote(SAM)}")
    expect(generated.get_by_role("button", name="Copy")).to_be_visible()
    generation = ScriptGeneration.objects.get(session_id=session_id)
    assert REDACTED in generation.script and SECRET not in generation.script
    assert generation.parameters == {"sam_account_name": SAM, "temporary_password": REDACTED}
    assert generation.fix_id == fix.pk

    # Running it one-off says it ran: the banner asks whether it worked.
    expect(banner).to_have_attribute("data-banner-mode", "verifying")
    expect(banner).to_contain_text("Did it work?")
    expect(banner).to_contain_text(fix.title[:60])
    expect(card.get_by_test_id("fix-status")).to_contain_text("Verifying · Run as one-off · applied")
    expect(card).to_contain_text("Tell us how it went in the banner above the conversation.")
    banner_box = banner.bounding_box()
    conversation_box = page.locator("#sessions_app-conversation").bounding_box()
    assert banner_box["y"] + banner_box["height"] <= conversation_box["y"] + 1, (
        "the banner is not over the conversation"
    )
    show_in_lane(page, generated)
    screenshot(page, "script-generated", DESKTOP)
    shoot_both(page, "fix-one-off-script")

    page.reload()
    expect(generated).to_have_count(0)
    history = card.locator("details.history")
    expect(history.locator("summary")).to_contain_text("Scripts generated 1")
    history.locator("summary").click()
    entry = history.get_by_test_id("generation-history")
    expect(entry).to_contain_text(unlock_template.name)
    expect(entry.locator("pre")).to_contain_text(f"ConvertTo-SecureString {ps_quote(REDACTED)}")
    expect(entry.locator("pre")).to_contain_text(f"Unlock-ADAccount -Identity {ps_quote(SAM)}")
    assert SECRET not in page.content(), "the temporary password is still in the page after a reload"
    show_in_lane(page, entry)
    shoot_both(page, "script-history")
    show_in_lane(page, card)
    shoot_both(page, "fix-verifying")

    # Waiting to verify needs a reason; with one, the banner shows it.
    banner.get_by_role("button", name="Waiting to verify…").click()
    expect(page.locator("#sessions_app-fix-banner").get_by_role("alert")).to_contain_text("Say what we are waiting on")
    expect(banner).to_have_attribute("data-banner-mode", "verifying")
    banner.get_by_label("Details").fill(PENDING_REASON)
    banner.get_by_role("button", name="Waiting to verify…").click()
    expect(banner).to_have_attribute("data-banner-mode", "pending")
    expect(banner).to_contain_text(f"Awaiting verification: {PENDING_REASON}")
    expect(banner.get_by_role("button", name="Update reason")).to_be_visible()
    expect(banner.get_by_role("button", name="Dismiss")).to_be_visible()
    expect(card.get_by_test_id("fix-status")).to_contain_text("Waiting to verify · Run as one-off")
    fix.refresh_from_db()
    assert (fix.outcome, fix.pending_reason) == (SuggestedFix.Outcome.APPLIED_PENDING, PENDING_REASON)
    assert fix.applied_at is not None and fix.verified_at is None
    shoot_both(page, "fix-pending")

    banner.get_by_role("button", name="Worked").click()
    expect(card.get_by_test_id("fix-status")).to_contain_text("Worked · Run as one-off · applied")
    expect(banner).to_have_count(0)  # nothing left to verify
    expect(card.get_by_role("button", name="Run as one-off")).to_have_count(0)
    fix.refresh_from_db()
    assert fix.outcome == SuggestedFix.Outcome.APPLIED_SUCCESS
    assert fix.verified_at is not None
