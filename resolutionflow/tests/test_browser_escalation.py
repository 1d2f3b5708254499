"""Previews, escalate, pick up and resolve in a real browser (demo AI), two engineers at once.

SPEC §6 (an open resolution-note preview refreshes about half a second after the last change: a
burst of fact edits costs one draft) and §2 Escalate / Pickup (an engineer escalates; a colleague
who already has the escalation queue open sees the card appear without a reload, reads the
handoff, clicks "Start here", finds the briefing in the conversation, continues, and resolves with
the four-section note, which is posted to the internal ticket the session was started from).

The handoff assessment is drafted by a Celery task. `make test` runs against Redis with no worker
in this process, so the tests here run tasks inline (as `make run`'s laptop demo does, without
Redis): the assessment is drafted by the demo responder during the escalate request and is ready
when the handoff screen opens. (The real worker and the "unavailable" path are the task tests'.)

Screenshots go to test-output/screenshots/ for a person to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from resolutionflow.accounts.models import Notification
from resolutionflow.psa.models import InternalTicket, InternalTicketNote
from resolutionflow.psa.services import internal_ticket_create
from resolutionflow.testing.browser import (
    DESKTOP,
    PHONE,
    SCREENSHOT_DIR,
    VIEWPORT_HEIGHT,
    assert_accessible,
    assert_no_sideways_scroll,
    close_lane,
    login_as,
    open_lane,
    screenshot,
    shoot_both,
)
from sessions_app.models import AISession, Escalation, SuggestedFix, TicketPush
from sessions_app.services import fixes, intake, turns

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TICKET = (
    "Since her password change on Monday, Outlook keeps asking Jane for her password every hour. "
    "She types it in, it works for a while, then the prompt comes back."
)
RESOLUTION_SECTIONS = ["Problem", "What we confirmed", "Root cause", "Resolution"]
PREVIEW_PATH = "/preview/resolution_note/"
DEBOUNCE_MS = 500


# --- helpers (as in the other browser tests) ------------------------------------------------------


def shoot_lane(page, name: str, locator) -> None:
    """Something in the lane, at both widths. At desk width the lane is a scroll box beside the
    conversation; at phone width it is a bottom drawer: open it, scroll to `locator` and shoot what
    the phone shows (a full-page shot would draw the fixed drawer mid-page), then close it."""
    locator.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name, DESKTOP)
    page.set_viewport_size({"width": PHONE, "height": VIEWPORT_HEIGHT})
    open_lane(page)
    locator.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}-{PHONE}.png"), animations="disabled")
    assert_no_sideways_scroll(page, f"{name} (drawer open)")
    assert_accessible(page, f"{name} (drawer open)")
    close_lane(page)
    page.set_viewport_size({"width": DESKTOP, "height": VIEWPORT_HEIGHT})


def add_note(page, text: str) -> None:
    wwk = page.locator("#facts_app-what-we-know")
    count = int(wwk.get_by_test_id("fact-count").text_content())
    wwk.get_by_label("Add a note").fill(text)
    wwk.get_by_role("button", name="Add", exact=True).click()
    expect(wwk.locator("li.fact .fact-text").filter(has_text=text)).to_be_visible()
    expect(wwk.get_by_test_id("fact-count")).to_have_text(str(count + 1))


def preview_requests(page, kind: str) -> list[str]:
    """Every GET of the `kind` preview the page makes from now on (a live list)."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url) if request.method == "GET" and f"/preview/{kind}/" in request.url else None
        ),
    )
    return seen


def section_headings(preview) -> list[str]:
    return [h.strip() for h in preview.get_by_test_id("preview-doc").locator("h1, h2, h3").all_text_contents()]


# In the browser: three fact changes through the panel's own forms, each sent as soon as htmx has
# swapped in (and wired up) the panel the previous one returned, with no round trip to the test in
# between: add, add, then Edit → Save. Returns the times (performance.now()) of the three
# state-changed events the responses fire.
BURST_JS = """
async ({adds, editFrom, editTo}) => {
  const panel = () => document.getElementById('facts_app-what-we-know');
  const until = async (what, cond) => {
    const start = performance.now();
    while (!cond()) {
      if (performance.now() - start > 5000) throw new Error('timed out waiting for ' + what);
      await new Promise(r => setTimeout(r, 5));
    }
  };
  // Swapped-in content is live (htmx handles its forms) once htmx has fired htmx:load on it: the
  // panel (an edit swaps it whole) or a new note (adding one appends it to the list).
  let loaded = 0;
  const onLoad = e => {
    const el = e.target;
    if (el.id === 'facts_app-what-we-know' || (el.classList && el.classList.contains('fact'))) loaded += 1;
  };
  const stamps = [];
  const onChange = () => stamps.push(performance.now());
  document.body.addEventListener('htmx:load', onLoad);
  document.body.addEventListener('state-changed', onChange);
  const send = async (form, what) => {
    const changes = stamps.length + 1, loads = loaded + 1;
    form.requestSubmit();
    await until(what, () => stamps.length >= changes && loaded >= loads);
  };
  try {
    for (const text of adds) {
      const input = panel().querySelector('#note-text');
      input.value = text;
      await send(input.form, 'the note ' + text);
    }
    const card = [...panel().querySelectorAll('li.fact')].find(
      li => li.querySelector('.fact-text') && li.querySelector('.fact-text').textContent.trim() === editFrom);
    const loads = loaded + 1;
    [...card.querySelectorAll('button')].find(b => b.textContent.trim() === 'Edit').click();
    await until('the edit form', () => loaded >= loads && panel().querySelector('.fact-form'));
    const form = panel().querySelector('.fact-form');
    form.querySelector('input[name=text]').value = editTo;
    await send(form, 'the edit');
  } finally {
    document.body.removeEventListener('state-changed', onChange);
    document.body.removeEventListener('htmx:load', onLoad);
  }
  return stamps;
}
"""


# --- Scenario A: an open preview refreshes once after a burst of changes ---------------------------

NOTE = "OWA signs in fine with the same password."
BURST_ADDS = [
    "Credential Manager holds three MicrosoftOffice16 entries.",
    "The prompts started on Monday after the password change.",
]
NOTE_EDITED = "OWA signs in fine with the new password, no prompt."


@pytest.fixture
def outlook_session(tenant_a):
    session = intake.session_start(user=tenant_a.engineer, intake_type="text", intake_text=TICKET)
    turns.session_take_turn(session=session, actor=tenant_a.engineer)
    return session


def test_open_preview_refreshes_once_after_a_burst_of_fact_changes(
    page, live_server, tenant_a, password, outlook_session
):
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/{outlook_session.pk}/")
    add_note(page, NOTE)

    note_requests = preview_requests(page, "resolution_note")
    package_requests = preview_requests(page, "escalation_package")
    preview = page.locator("#facts_app-preview-resolution_note")
    expect(preview).to_contain_text("The draft appears here when you open this box.")
    assert note_requests == [], "the preview was drafted before its box was opened"

    # Opening Resolve loads the note: four sections, built from the session's facts.
    page.locator(".resolve-box > summary").click()
    expect(preview.get_by_test_id("preview-source")).to_have_text("fresh draft")
    assert section_headings(preview) == RESOLUTION_SECTIONS
    expect(preview.get_by_test_id("preview-doc")).to_contain_text(NOTE)
    expect(preview).to_contain_text("Resolution note → no ticket (kept with the session)")
    assert len(note_requests) == 1, note_requests
    shoot_lane(page, "resolve-preview", page.locator(".resolve-box"))

    # Three quick changes of the facts (two notes added, one edited), each a state-changed event.
    before = len(note_requests)
    stamps = page.evaluate(BURST_JS, {"adds": BURST_ADDS, "editFrom": NOTE, "editTo": NOTE_EDITED})
    gaps = [round(b - a) for a, b in zip(stamps, stamps[1:], strict=False)]
    assert len(stamps) == 3, f"expected three state-changed events, saw {len(stamps)}"
    # The burst has to be a burst for the test to mean anything (this checks the test, not the app).
    assert max(gaps) < DEBOUNCE_MS - 100, f"the changes were not quick enough to test the debounce: gaps {gaps} ms"

    # The open preview refreshes by itself, once, with all three changes in it.
    doc = preview.get_by_test_id("preview-doc")
    for text in [*BURST_ADDS, NOTE_EDITED]:
        expect(doc).to_contain_text(text)
    expect(doc).not_to_contain_text(NOTE)  # the old wording of the edited note is gone
    expect(preview.get_by_test_id("preview-source")).to_have_text("fresh draft")
    page.wait_for_timeout(DEBOUNCE_MS + 400)  # time enough for a second, unwanted refresh to start
    assert len(note_requests) - before == 1, (
        f"a burst of three fact changes led to {len(note_requests) - before} preview requests, not one "
        f"(state-changed gaps: {gaps} ms)"
    )
    # ...and about half a second after the last change, not at the first one.
    started = page.evaluate(
        "path => performance.getEntriesByType('resource').filter(e => e.name.includes(path)).map(e => e.startTime)",
        PREVIEW_PATH,
    )
    waited = started[-1] - stamps[-1]
    assert waited >= DEBOUNCE_MS - 50, f"the refresh started {waited:.0f} ms after the last change, not ~500 ms"
    assert package_requests == [], "the escalation package (its box closed) was drafted too"

    # Closing and reopening the box asks again, and the unchanged session answers from the cache.
    page.locator(".resolve-box > summary").click()
    page.locator(".resolve-box > summary").click()
    expect(preview.get_by_test_id("preview-source")).to_have_text("from cache")
    assert len(note_requests) - before == 2
    for text in [*BURST_ADDS, NOTE_EDITED]:
        expect(doc).to_contain_text(text)


# --- Scenario B: escalate → live queue → handoff → Start here → resolve ---------------------------

ESCALATE_NOTE = "Still prompting an hour after clearing the entries"
REASON = "Cleared the Office entries in Credential Manager but the prompt came back. I'm out of ideas."
CLAIM_ANSWER = "Cleared the entries again and removed the Outlook profile's cached token; signed in once."
RESOLUTION = "Removed the stale Office tokens and the cached profile token; Outlook signed in once and stayed."


@pytest.fixture
def outlook_ticket(tenant_a):
    return internal_ticket_create(
        account=tenant_a.account, title="Outlook keeps asking for the password", description=TICKET,
        actor=tenant_a.engineer,
    )  # fmt: skip


def name_of(user) -> str:
    return user.get_full_name() or user.email


def test_escalate_claim_from_the_live_queue_and_resolve(
    page, colleague_page, live_server, tenant_a, password, outlook_ticket, tasks_inline
):
    first, second = tenant_a.engineer, tenant_a.coverage_engineer
    me, colleague = page, colleague_page
    problems: list[str] = []  # app bugs met on the way, worked around so the rest is still tested

    # The colleague has the escalation queue open before anything is escalated.
    login_as(colleague, live_server, second, password)
    colleague.goto(f"{live_server.url}/sessions/escalations/")
    queue = colleague.locator("#sessions_app-queue")
    expect(queue).to_contain_text("Nothing is waiting for pickup")
    colleague.evaluate("window.__sameDocument = true")

    # --- 1. The first engineer starts from the internal ticket and gets nowhere --------------------
    login_as(me, live_server, first, password)
    me.goto(f"{live_server.url}/sessions/new/")
    me.get_by_role("group", name="Start from").get_by_text("Internal ticket", exact=True).click()
    me.get_by_role("combobox", name="Internal ticket").select_option(str(outlook_ticket.pk))
    me.get_by_role("button", name="Start session").click()
    expect(me).to_have_url(re.compile(r"/sessions/\d+/$"))
    session_url = me.url
    session_id = int(re.search(r"/sessions/(\d+)/$", session_url).group(1))
    header = me.locator("#sessions_app-header")
    expect(header.get_by_role("heading", level=1)).to_have_text("Outlook keeps prompting for the password")
    step = me.get_by_test_id("current-step")
    step.get_by_role("button", name="Yes", exact=True).click()
    expect(step).to_contain_text("Does Outlook on the web (OWA) sign in without prompting?")
    add_note(me, NOTE)
    step.get_by_role("button", name="Works fine").click()
    expect(step).to_contain_text("Open Credential Manager")

    # The AI proposed a fix with that step; the engineer applies it by hand; it did not hold.
    card = me.locator("#sessions_app-fix-card")
    fix = SuggestedFix.objects.get(session_id=session_id, superseded_at__isnull=True)
    card.get_by_role("button", name="I'll apply it by hand").click()
    banner = me.get_by_role("region", name="Fix status")
    expect(banner).to_have_attribute("data-banner-mode", "verifying")

    # Escalate: the fix is verifying, so the box first asks how it went ("didn't work" preselected).
    me.locator(".escalate-box > summary").click()
    box = me.locator(".escalate-box")
    intercept = box.get_by_test_id("intercept")
    box.get_by_label("Why escalate?").fill(REASON)
    didnt = intercept.get_by_label("It didn't work")
    if intercept.is_visible():
        expect(didnt).to_be_checked()
    else:
        # App bug (recorded, asserted at the end): the box still holds the form from before the fix
        # was applied. Go on as an engineer would: send it, and the server asks.
        box.get_by_role("button", name="Escalate and post the package").click()
        expect(box.get_by_role("alert").first).to_contain_text("Say how the fix went before you escalate.")
        expect(intercept).to_be_visible()
        expect(box.get_by_label("Why escalate?")).to_have_value(REASON)
        problems.append(
            "After the fix was applied from its card (htmx, no reload), the Escalate box did not ask how the "
            "fix went: it still showed the form (and escalation package preview) from before the fix was "
            "applied; only sending it brought the question, as a 400 page saying 'Say how the fix went before "
            "you escalate.'" + ("" if didnt.is_checked() else ", with no answer preselected (default: didn't work).")
        )
        didnt.check()
    intercept.get_by_label("What happened?").fill(ESCALATE_NOTE)
    # The package is previewed before posting, as if the fix went as the engineer says (issue #10.5),
    # and redrafted as they type what happened.
    package = box.locator("#facts_app-preview-escalation_package")
    expect(package.get_by_test_id("preview-doc")).to_contain_text(f"it did not work: {ESCALATE_NOTE}")
    shoot_lane(me, "escalate-box", box)
    box.get_by_role("button", name="Escalate and post the package").click()
    expect(me).to_have_url(session_url)
    expect(me.locator("#toasts")).to_contain_text("Escalated. Your colleagues can see it in the escalation queue.")
    expect(me.get_by_test_id("awaiting-pickup")).to_contain_text("Awaiting pickup")
    expect(me.locator(".escalate-box")).to_have_count(0)
    pushes = me.get_by_test_id("pushes")
    expect(pushes).to_contain_text("INT-1")
    expect(pushes.get_by_test_id("push-status")).to_have_text(["Posted"])

    escalation = Escalation.objects.get(session_id=session_id)
    assert escalation.intercept == Escalation.Intercept.DIDNT
    fix.refresh_from_db()
    assert (fix.outcome, fix.failure_reason) == (SuggestedFix.Outcome.APPLIED_FAILED, ESCALATE_NOTE)
    assert escalation.assessment_status == Escalation.AssessmentStatus.READY, escalation.assessment_status
    outlook_ticket.refresh_from_db()
    assert outlook_ticket.status == InternalTicket.Status.ESCALATED
    assert outlook_ticket.notes.filter(kind=InternalTicketNote.Kind.INTERNAL).count() == 1

    # The escalating engineer's own queue does not list it.
    me.goto(f"{live_server.url}/sessions/escalations/")
    expect(me.locator("#sessions_app-queue")).to_contain_text("Nothing is waiting for pickup")

    # --- 2. The colleague's open queue shows the card without a reload -----------------------------
    queue_card = queue.get_by_test_id("queue-card")
    expect(queue_card).to_have_count(1, timeout=8_000)  # polled every 5 s
    assert colleague.evaluate("window.__sameDocument") is True, "the queue page reloaded"
    expect(queue_card).to_have_attribute("data-session", str(session_id))
    expect(queue_card).to_contain_text("Outlook keeps prompting for the password")
    expect(queue_card).to_contain_text(f"from {name_of(first)}")
    expect(queue_card).to_contain_text("3 steps")
    expect(queue_card).to_contain_text(REASON)
    shoot_both(colleague, "escalation-queue")

    # --- 3. The handoff screen ---------------------------------------------------------------------
    queue_card.get_by_role("link", name="Open the handoff").click()
    expect(colleague).to_have_url(f"{live_server.url}/sessions/{session_id}/handoff/")
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Outlook keeps prompting for the password")
    expect(colleague.get_by_test_id("waiting")).to_contain_text(f"by {name_of(first)}")
    expect(colleague.locator(".session-meta")).to_contain_text("E-mail")
    expect(colleague.locator(".session-meta")).to_contain_text("3 steps")
    expect(colleague.locator(".session-meta")).to_contain_text("INT-1")
    expect(colleague.locator(".handoff-main")).to_contain_text(REASON)
    expect(colleague.locator(".handoff-main")).to_contain_text("The suggested fix: it didn't work.")
    expect(colleague.locator(".handoff-main")).to_contain_text(NOTE)
    tried = colleague.get_by_test_id("tried").locator("li")
    expect(tried).to_have_count(2)
    expect(tried.nth(0)).to_contain_text("Did the prompts start after a password change or an MFA change? → Yes")
    expect(tried.nth(1)).to_contain_text("Does Outlook on the web (OWA) sign in without prompting? → Works fine")
    assessment = colleague.locator("#sessions_app-assessment")
    expect(assessment).to_contain_text("Likely cause:")
    expect(assessment).to_contain_text("Confidence")
    expect(assessment).to_contain_text(f"Start from the escalation reason: {REASON}")
    package = colleague.locator("details.card").filter(has_text="The escalation package")
    expect(package.locator("summary")).to_contain_text("Posted → INT-1")
    package.locator("summary").click()
    expect(package).to_contain_text(f"it did not work: {ESCALATE_NOTE}")
    start_here = colleague.locator(".start-here")
    expect(start_here.get_by_label("Continue where it was")).to_be_checked()
    shoot_both(colleague, "handoff")

    # --- 4. Start here: the session is the colleague's, with the briefing in the conversation -----
    start_here.get_by_role("button", name="Start here").click()
    expect(colleague).to_have_url(f"{live_server.url}/sessions/{session_id}/")
    expect(colleague.locator("#toasts")).to_contain_text("It's yours now. The briefing is in the conversation.")
    briefing = colleague.get_by_test_id("briefing")
    expect(briefing).to_contain_text(f"picked up by {name_of(second)}")
    expect(briefing).to_contain_text("continue where it was")
    expect(briefing).to_contain_text("Steps tried")
    expect(briefing).to_contain_text("Does Outlook on the web (OWA) sign in without prompting? → Works fine")
    expect(briefing).to_contain_text("Suggested next steps")
    expect(colleague.get_by_test_id("escalation-turn")).to_contain_text(f"Escalated by {name_of(first)}")
    expect(colleague.get_by_test_id("escalation-turn")).to_contain_text(REASON)
    expect(colleague.locator("#sessions_app-header")).not_to_contain_text("Read only")
    session = AISession.objects.get(pk=session_id)
    assert (session.owner_id, session.status) == (second.pk, AISession.Status.ACTIVE)
    escalation.refresh_from_db()
    assert escalation.claimed_by_id == second.pk and escalation.start_mode == "continue"
    # The colleague was told of the escalation (the bell), and the first engineer of the pickup.
    assert Notification.objects.filter(recipient=second, kind="escalation", url__endswith="/handoff/").exists()
    assert Notification.objects.filter(recipient=first, kind="escalation.claimed").exists()
    shoot_both(colleague, "session-after-claim")

    # The first engineer reads it, no longer acts on it, and sees who has it now (issue #10.4).
    response = me.goto(session_url)
    assert response.status == 200
    expect(me.get_by_test_id("read-only")).to_contain_text("now with")
    expect(me.locator("#resolve-form")).to_have_count(0)
    expect(me.locator(".answer-form")).to_have_count(0)

    # --- 5. The colleague continues from the step it stopped at, then resolves ---------------------
    step = colleague.get_by_test_id("current-step")
    expect(step).to_contain_text("Open Credential Manager")
    step.get_by_label("Your answer").fill(CLAIM_ANSWER)
    step.get_by_role("button", name="Done — as expected").click()
    # The fix failed before the escalation: the AI never proposes it again, it moves on to the
    # next hypothesis (issue #10.2).
    expect(step).to_contain_text("open File → Office Account")
    expect(step).not_to_contain_text("Clear stale Office credentials")
    expect(colleague.locator("#step-3")).to_contain_text(CLAIM_ANSWER)

    colleague.locator(".resolve-box > summary").click()
    preview = colleague.locator("#facts_app-preview-resolution_note")
    expect(preview.get_by_test_id("preview-source")).to_have_text("fresh draft")
    expect(preview).to_contain_text("Resolution note → INT-1")
    assert section_headings(preview) == RESOLUTION_SECTIONS
    expect(preview.get_by_test_id("preview-doc")).to_contain_text(NOTE)
    note_text = preview.locator("[data-preview-text]").input_value()
    resolution_section = note_text.split("## Resolution", 1)[-1]
    if f"Applied “{fix.title}”" in resolution_section:
        problems.append(
            "The resolution note's Resolution section gives the fix the session recorded as 'Didn't work' "
            f"as what was done to resolve it: {resolution_section.strip()!r}"
        )
    colleague.get_by_label("How was it resolved?").fill(RESOLUTION)
    colleague.get_by_role("radio", name="Fixed", exact=True).check()
    colleague.get_by_role("button", name="Resolve and post the note").click()
    expect(colleague).to_have_url(f"{live_server.url}/sessions/{session_id}/")
    expect(colleague.locator("#toasts")).to_contain_text("Resolved. The note is posted")
    expect(colleague.locator("#sessions_app-resolved")).to_contain_text(RESOLUTION)
    pushes = colleague.get_by_test_id("pushes")
    note_push = pushes.locator("details.push").filter(has_text="Resolution note")
    expect(note_push).to_contain_text("→ INT-1")
    expect(note_push.get_by_test_id("push-status")).to_have_text("Posted")
    expect(
        pushes.locator("details.push").filter(has_text="Escalation package").get_by_test_id("push-status")
    ).to_have_text("Posted")
    shoot_both(colleague, "session-resolved-after-pickup")

    # The note the colleague saw reached the ticket, with the resolution they typed after it was
    # drafted in its Resolution section (issue #10.1: never the draft's "not recorded yet").
    outlook_ticket.refresh_from_db()
    assert outlook_ticket.status == InternalTicket.Status.RESOLVED
    resolution_notes = list(outlook_ticket.notes.filter(kind=InternalTicketNote.Kind.RESOLUTION))
    assert len(resolution_notes) == 1
    posted = resolution_notes[0].body.replace("\r\n", "\n")  # a textarea submits CRLF line ends
    seen_before, _, _ = note_text.strip().partition("## Resolution")
    assert posted.startswith(seen_before) and RESOLUTION in posted.split("## Resolution", 1)[1]
    assert "not recorded" not in posted.lower()
    assert resolution_notes[0].author_id == second.pk
    push = TicketPush.objects.get(session_id=session_id, kind=TicketPush.Kind.RESOLUTION_NOTE)
    assert push.status == TicketPush.Status.POSTED

    assert not problems, "App bugs met on the way (worked around to test the rest):\n- " + "\n- ".join(problems)


def test_an_edited_package_is_not_posted_for_another_answer(page, live_server, tenant_a, password, outlook_session):
    """From the review of issue #10.5: once the engineer edits the previewed package it stops
    refreshing; if they then change how the fix went, Escalate refuses rather than posting their
    text for the other answer (or dropping it silently)."""
    fix = fixes.fix_propose(session=outlook_session, step=None, title="Clear the cached Office credentials")
    fixes.fix_mark_applied(fix=fix, actor=tenant_a.engineer)
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/{outlook_session.pk}/")
    page.locator(".escalate-box > summary").click()
    box = page.locator(".escalate-box")
    box.get_by_label("Why escalate?").fill("Needs someone with Exchange admin")
    package = box.locator("#facts_app-preview-escalation_package")
    expect(package.get_by_test_id("preview-doc")).to_contain_text("it did not work")
    package.locator(".preview-edit > summary").click()
    package.get_by_label("Text to post").press("End")
    package.get_by_label("Text to post").type("\nA line of my own.")
    expect(package.locator("[data-edited-flag]")).to_have_value("1")
    box.get_by_test_id("intercept").get_by_label("It worked").check()
    box.get_by_role("button", name="Escalate and post the package").click()
    expect(
        page.get_by_role("alert").filter(has_text="You edited the package, then changed how the fix went")
    ).to_be_visible()
    outlook_session.refresh_from_db()
    fix.refresh_from_db()
    assert outlook_session.status == "active" and fix.outcome == "proposed"
