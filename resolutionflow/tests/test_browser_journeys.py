"""Two walks issue #10 asks for, in a real browser with the demo AI.

1. The engineer's journey, at desk width (lane beside the conversation) and at phone width (lane
   in the "Tasks" drawer, nothing scrolling sideways): from an internal ticket to a session, the
   first suggested fix fails and is recorded so, the next steps come from another hypothesis, its
   fix works, and Resolve posts the note — with the resolution typed into it — to the ticket, where
   it reads as a rendered document, once, and says what was tried before (SPEC §2, §4, §6, §9).
2. The claim race: two engineers have the same handoff screen open; the first "Start here" wins,
   the second reads who won, on a page that stays (not a toast that fades, never a bare 404), with
   the way back to the queue; the session is not theirs to act on (SPEC §2 Pickup).

The printer scenario of the demo (sessions_app/demo_scenarios.py) is steered by the answers: "Only
this user" puts the port hypothesis first, and once its fix fails the spooler is next.

Screenshots go to test-output/screenshots/ for a person to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from resolutionflow.accounts.models import Role
from resolutionflow.accounts.tests.factories import UserFactory
from resolutionflow.psa.models import InternalTicket, InternalTicketNote
from resolutionflow.psa.services import internal_ticket_create
from resolutionflow.testing.browser import (
    DESKTOP,
    PHONE,
    SCREENSHOT_DIR,
    VIEWPORT_HEIGHT,
    assert_no_sideways_scroll,
    close_lane,
    login_as,
    open_lane,
    screenshot,
)
from sessions_app.models import AISession, Escalation, SuggestedFix, TicketPush
from sessions_app.services import escalations, intake, turns

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TICKET_TITLE = "HR printer shows offline for Sam"
TICKET = (
    "Since this morning the HR printer shows offline on Sam's PC and his documents never come out. "
    "Nothing was changed on his PC as far as he knows."
)
PORT_FIX = "Update the printer port to the printer's current IP and reserve that IP in DHCP"
SPOOLER_FIX = "Restart the Print Spooler service on the print server and clear the stuck jobs"
PORT_DIDNT = "The port already pointed at the printer's current address; still offline."
QUEUE_SEEN = "A 40-page job from Sam stuck at 'Deleting' at the top of the queue."
RESOLUTION = "Restarted the Print Spooler on PRN-SRV01 and deleted Sam's stuck job; his test page printed."
NOTE_SECTIONS = ["Problem", "What we confirmed", "Root cause", "Resolution"]


def shoot_at(page, name: str, width: int) -> None:
    """A full-page screenshot at the walk's width; at phone width nothing may scroll sideways."""
    screenshot(page, name, width)
    if width == PHONE:
        assert_no_sideways_scroll(page, name)


def shoot_lane_at(page, name: str, width: int, locator) -> None:
    """What the engineer sees of the lane at `locator`: beside the conversation at desk width (a
    full-page shot), in the open drawer at phone width (what the screen shows; the caller opened it)."""
    locator.scroll_into_view_if_needed()
    if width == PHONE:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}-{width}.png"), animations="disabled")
        assert_no_sideways_scroll(page, f"{name} (drawer open)")
    else:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, name, width)


def suggested_fixes(page) -> list[str]:
    """The fixes the conversation has suggested, oldest first (answered and current steps)."""
    return [
        re.sub(r"^Suggested fix: ", "", t.strip()).rstrip(".")
        for t in page.locator(".turn-resolution_suggestion .turn-title").all_text_contents()
    ]


@pytest.fixture
def printer_ticket(tenant_a):
    return internal_ticket_create(account=tenant_a.account, title=TICKET_TITLE, description=TICKET,
                                  actor=tenant_a.owner)  # fmt: skip


@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desk", "phone"])
def test_engineer_journey_a_failed_fix_then_the_next_hypothesis_to_a_resolved_ticket(
    page, live_server, tenant_a, password, printer_ticket, width
):
    page.set_viewport_size({"width": width, "height": VIEWPORT_HEIGHT})
    login_as(page, live_server, tenant_a.engineer, password)

    # --- From the ticket's page to a session on it --------------------------------------------------
    page.goto(f"{live_server.url}/tickets/")
    page.get_by_role("link", name=TICKET_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TICKET_TITLE)
    page.get_by_role("link", name="Start a session on this ticket").click()
    expect(page.get_by_role("combobox", name="Internal ticket")).to_have_value(str(printer_ticket.pk))
    shoot_at(page, "journey-new", width)
    page.get_by_role("button", name="Start session").click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    session_url = page.url
    session_id = int(re.search(r"/sessions/(\d+)/$", session_url).group(1))
    header = page.locator("#sessions_app-header")
    expect(header.get_by_role("heading", level=1)).to_have_text("Printer shows offline")
    expect(header).to_contain_text(printer_ticket.reference)

    step = page.get_by_test_id("current-step")
    card = page.locator("#sessions_app-fix-card")
    fix_status = card.get_by_test_id("fix-status")
    expect(step).to_contain_text("Is the printer failing for everyone who prints to it, or only for this user?")
    step.get_by_role("button", name="Only this user").click()

    # The port hypothesis first (one user): its check, then its fix.
    expect(step).to_contain_text("Print a configuration page from the printer's front panel")
    step.get_by_role("button", name="Done — as expected").click()
    expect(step).to_contain_text(f"Suggested fix: {PORT_FIX}")
    expect(card.locator(".fix-title")).to_contain_text(PORT_FIX)
    expect(fix_status).to_have_text("Proposed")
    shoot_at(page, "journey-first-fix", width)

    # --- It didn't fix it: recorded as failed, and the card says so ---------------------------------
    step.get_by_label("Your answer").fill(PORT_DIDNT)
    step.get_by_role("button", name="It didn't fix it").click()
    expect(page.locator("#step-3")).to_contain_text(f"Didn't work: {PORT_DIDNT}")
    expect(step).to_contain_text("Open the print queue on the print server")
    port = SuggestedFix.objects.get(session_id=session_id, title=PORT_FIX)
    assert (port.outcome, port.failure_reason) == (SuggestedFix.Outcome.APPLIED_FAILED, PORT_DIDNT)
    assert port.verified_at is not None
    open_lane(page)
    expect(fix_status).to_contain_text("Didn't work")
    expect(card).to_contain_text(f"It didn't work: “{PORT_DIDNT.rstrip('.')}”. Dismiss")
    expect(card).to_be_visible()
    expect(page.get_by_role("region", name="Fix status")).to_have_count(0)  # nothing left to verify
    shoot_lane_at(page, "journey-fix-failed", width, card)
    close_lane(page)

    # --- The next steps come from another hypothesis: the spooler -----------------------------------
    step.get_by_label("Your answer").fill(QUEUE_SEEN)
    step.get_by_role("button", name="Done — as expected").click()
    expect(step).to_contain_text(f"Suggested fix: {SPOOLER_FIX}")
    assert suggested_fixes(page) == [PORT_FIX, SPOOLER_FIX], "the failed fix was suggested again"
    open_lane(page)
    expect(card.locator(".fix-title")).to_contain_text(SPOOLER_FIX)
    expect(card.locator(".fix-title")).not_to_contain_text(PORT_FIX)
    expect(fix_status).to_have_text("Proposed")
    earlier = card.get_by_test_id("earlier-fixes")
    expect(earlier.locator("summary")).to_contain_text("Tried before 1")
    earlier.locator("summary").click()
    expect(earlier).to_contain_text(f"{PORT_FIX} — didn't work: {PORT_DIDNT.rstrip('.')} · replaced")
    shoot_lane_at(page, "journey-second-fix", width, card)
    close_lane(page)

    # --- That fixed it: recorded as worked ----------------------------------------------------------
    step.get_by_role("button", name="That fixed it").click()
    expect(page.locator("#step-5")).to_contain_text("Worked")
    expect(step).to_contain_text("Confirm with the user that the problem is gone")
    assert suggested_fixes(page) == [PORT_FIX, SPOOLER_FIX]
    expect(fix_status).to_contain_text("Worked")
    spooler = SuggestedFix.objects.get(session_id=session_id, superseded_at__isnull=True)
    assert (spooler.title, spooler.outcome) == (SPOOLER_FIX, SuggestedFix.Outcome.APPLIED_SUCCESS)
    assert list(SuggestedFix.objects.filter(session_id=session_id).order_by("id").values_list("title", flat=True)) == [
        PORT_FIX,
        SPOOLER_FIX,
    ]
    shoot_at(page, "journey-fix-worked", width)

    # --- Resolve: the preview carries the resolution as it is typed ---------------------------------
    open_lane(page)
    page.locator(".resolve-box > summary").click()
    preview = page.locator("#facts_app-preview-resolution_note")
    doc = preview.get_by_test_id("preview-doc")
    expect(preview).to_contain_text(f"Resolution note → {printer_ticket.reference}")
    expect(doc.locator("h2")).to_have_text(NOTE_SECTIONS)
    page.get_by_label("How was it resolved?").fill(RESOLUTION)
    resolution_section = doc.locator("xpath=.//h2[normalize-space()='Resolution']/following-sibling::*[1]")
    expect(resolution_section).to_have_text(RESOLUTION)
    shoot_lane_at(page, "journey-resolve-preview", width, preview)
    page.get_by_role("radio", name="Fixed", exact=True).check()
    page.get_by_role("button", name="Resolve and post the note").click()
    expect(page).to_have_url(session_url)
    expect(page.locator("#toasts")).to_contain_text("Resolved. The note is posted")
    expect(header.locator(".badge-status-resolved")).to_have_text("Resolved")
    expect(page.locator("#sessions_app-resolved")).to_contain_text(RESOLUTION)
    shoot_at(page, "journey-resolved", width)

    # --- The internal ticket: the note, rendered, once ------------------------------------------------
    page.goto(f"{live_server.url}/tickets/")
    page.get_by_role("link", name=TICKET_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TICKET_TITLE)
    expect(page.locator(".page-meta .badge")).to_have_text("Resolved")
    main = page.locator("main")
    expect(main.get_by_text(RESOLUTION)).to_have_count(1)
    shown = main.inner_text()
    assert shown.count(RESOLUTION) == 1, shown
    assert not re.search(r"^\s*#{1,6}\s", shown, re.MULTILINE), f"raw markdown headings on the ticket:\n{shown}"
    assert "**" not in shown, shown
    note = page.get_by_test_id("ticket-resolution")
    expect(note.locator("h2")).to_have_text(NOTE_SECTIONS)
    # The Resolution section opens with the resolve's code (issue 16), then the engineer's words.
    expect(note.locator("xpath=.//h2[normalize-space()='Resolution']/following-sibling::*[1]")).to_have_text(
        "Closed as: Fixed"
    )
    expect(note.locator("xpath=.//h2[normalize-space()='Resolution']/following-sibling::*[2]")).to_have_text(RESOLUTION)
    # The failed fix is in the note as a path tried (under What we confirmed), not as what resolved it.
    confirmed = note.locator("xpath=.//h2[normalize-space()='What we confirmed']/following-sibling::*[1]")
    expect(confirmed.locator("li")).to_contain_text([f"Applied “{PORT_FIX}”; it did not work: {PORT_DIDNT}"])
    shoot_at(page, "journey-ticket", width)

    printer_ticket.refresh_from_db()
    assert printer_ticket.status == InternalTicket.Status.RESOLVED
    posted = printer_ticket.notes.get(kind=InternalTicketNote.Kind.RESOLUTION)
    assert posted.body == printer_ticket.resolution_notes and posted.author_id == tenant_a.engineer.pk
    push = TicketPush.objects.get(session_id=session_id, kind=TicketPush.Kind.RESOLUTION_NOTE)
    assert push.status == TicketPush.Status.POSTED
    assert AISession.objects.get(pk=session_id).status == AISession.Status.RESOLVED


# --- 2. The claim race ----------------------------------------------------------------------------

REASON = "Port and spooler look fine from here; it needs someone with access to the print server."

# Posts from inside the page, as its own forms do (the CSRF token htmx sends): what the server
# answers a user who has no business acting on the session, whatever the page shows.
POST_JS = """
async ([url, fields]) => {
  const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  const response = await fetch(url, {method: 'POST', body, headers: {'X-CSRFToken': token}});
  return [response.status, new URL(response.url).pathname];
}
"""


def engineer(tenant, name: str):
    user = UserFactory(account=tenant.account, role=Role.ENGINEER, full_name=name,
                       email=f"{name.split()[0].lower()}@{tenant.account.slug}.test")  # fmt: skip
    user.teams.add(tenant.team)
    return user


@pytest.fixture
def escalated_session(tenant_a, tasks_inline):
    """A printer session its engineer escalated (the handoff assessment drafted inline)."""
    session = intake.session_start(user=tenant_a.engineer, intake_type="text", intake_text=TICKET)
    turns.session_take_turn(session=session, actor=tenant_a.engineer)
    escalations.session_escalate(session=session, actor=tenant_a.engineer, reason=REASON)
    return session


def test_claim_race_the_second_engineer_is_told_who_won_and_goes_back_to_the_queue(
    page, colleague_page, live_server, tenant_a, password, escalated_session
):
    winner, loser = engineer(tenant_a, "Priya Raman"), engineer(tenant_a, "Tom Becker")
    handoff_url = f"{live_server.url}/sessions/{escalated_session.pk}/handoff/"
    session_url = f"{live_server.url}/sessions/{escalated_session.pk}/"
    queue_url = f"{live_server.url}/sessions/escalations/"

    # Both have the handoff screen open, each with "Start here".
    for browser_page, user in ((page, winner), (colleague_page, loser)):
        login_as(browser_page, live_server, user, password)
        browser_page.goto(handoff_url)
        expect(browser_page.get_by_role("heading", level=1)).to_have_text("Printer shows offline")
        expect(browser_page.locator(".handoff-main")).to_contain_text(REASON)
        expect(browser_page.locator(".start-here").get_by_role("button", name="Start here")).to_be_enabled()

    # The first click wins: the session is Priya's.
    page.locator(".start-here").get_by_role("button", name="Start here").click()
    expect(page).to_have_url(session_url)
    expect(page.locator("#toasts")).to_contain_text("It's yours now.")
    session = AISession.objects.get(pk=escalated_session.pk)
    assert (session.owner_id, session.status) == (winner.pk, AISession.Status.ACTIVE)
    assert Escalation.objects.get(session=session).claimed_by_id == winner.pk

    # The second, from the screen still open: told who won, on a page that stays, with the way back.
    statuses = []
    colleague_page.on("response", lambda r: statuses.append((r.status, r.url)))
    colleague_page.locator(".start-here").get_by_role("button", name="Start here").click()
    told = colleague_page.get_by_test_id("picked-up")
    expect(told).to_contain_text("Priya Raman picked this session up first.")
    assert all(status < 400 for status, _ in statuses), f"the loser met an error answer: {statuses}"
    expect(colleague_page.get_by_role("button", name="Start here")).to_have_count(0)
    shoot_at(colleague_page, "claim-race-lost", DESKTOP)
    shoot_at(colleague_page, "claim-race-lost", PHONE)
    colleague_page.set_viewport_size({"width": DESKTOP, "height": VIEWPORT_HEIGHT})
    # A reload of that tab (or the bell's link to the handoff) tells the same, never a bare 404.
    response = colleague_page.reload()
    assert response.status == 200, response.status
    expect(told).to_contain_text("Priya Raman picked this session up first.")

    told.get_by_role("link", name="Back to the escalation queue").click()
    expect(colleague_page).to_have_url(queue_url)
    expect(colleague_page.get_by_role("heading", level=1)).to_have_text("Escalation queue")
    expect(colleague_page.locator("#sessions_app-queue")).to_contain_text("Nothing is waiting for pickup")

    # The loser cannot act on it: the session is not theirs to open, answer or resolve.
    response = colleague_page.goto(session_url)
    assert response.status == 404, response.status
    step = session.steps.order_by("-order").first()
    answer = f"/sessions/{session.pk}/steps/{step.pk}/answer/"
    resolve = f"/sessions/{session.pk}/resolve/"
    colleague_page.goto(queue_url)
    assert colleague_page.evaluate(POST_JS, [answer, {"kind": "skipped"}]) == [404, answer]
    assert colleague_page.evaluate(POST_JS, [resolve, {"code": "fixed", "summary": "Took it anyway"}]) == [404, resolve]
    claim_again = colleague_page.evaluate(POST_JS, [f"/sessions/{session.pk}/claim/", {"mode": "continue"}])
    assert claim_again == [200, f"/sessions/{session.pk}/handoff/"], claim_again  # told again who has it
    session.refresh_from_db()
    step.refresh_from_db()
    assert (session.owner_id, session.status) == (winner.pk, AISession.Status.ACTIVE)
    assert not step.answered

    # The winner works on.
    page.reload()
    expect(page.get_by_test_id("current-step").get_by_role("button", name="Only this user")).to_be_enabled()
