"""Closing the loop (SPEC §2 Escalate, Pickup, Resolve; §9 posting): escalate with the intercept
question, the package posted and kept, the right people told, the live queue, claiming (exactly one
of two racing engineers wins), the briefing, and resolve posting the note with its push status."""

import html
import re
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone

from resolutionflow.accounts.models import Notification
from resolutionflow.ai.fake_api import Reply
from resolutionflow.errors import Conflict, InvalidInput, PermissionDenied
from resolutionflow.psa.models import InternalTicket, InternalTicketNote
from resolutionflow.psa.services import internal_ticket_create
from sessions_app import selectors
from sessions_app.models import AISession, Escalation, LaneItem, SuggestedFix, TicketPush
from sessions_app.services import escalations, fixes, lifecycle, ticket_pushes, turns

from .factories import AISessionFactory, SessionStepFactory, answer_step, message_text, question_turn

pytestmark = pytest.mark.django_db

PACKAGE = "## Problem\nP\n## What we've confirmed\n- F\n## What we've tried\n- T\n## Current hypothesis\nH\n## Suggested next steps\n1. S"  # noqa: E501
NOTE = "## Problem\nP\n## What we confirmed\n- F\n## Root cause\nC\n## Resolution\nR"
# What a note says once Resolve adds its resolution code (issue 16) to the Resolution section.
FIXED_NOTE = "## Problem\nP\n## What we confirmed\n- F\n## Root cause\nC\n## Resolution\n\n**Closed as:** Fixed\n\nR"


@pytest.fixture
def session(tenant_a):
    session = AISessionFactory(owner=tenant_a.engineer, team=tenant_a.team)
    step = SessionStepFactory(session=session, order=1, turn=question_turn("Does it happen on every device?"))
    answer_step(step, text="Only on her laptop.")
    SessionStepFactory(session=session, order=2, turn=question_turn("Is the laptop on the VPN?"))
    AISession.objects.filter(pk=session.pk).update(step_count=2)
    session.refresh_from_db()
    return session


def _applied_fix(session, title="Clear the cached Office credentials"):
    fix = fixes.fix_propose(session=session, step=None, title=title, confidence=80)
    return fixes.fix_mark_applied(fix=fix, actor=session.owner)


def _escalate(session, **kwargs):
    kwargs.setdefault("reason", "Credentials cleared twice; the prompt is back within the hour.")
    kwargs.setdefault("package", PACKAGE)
    return escalations.session_escalate(session=session, actor=session.owner, **kwargs)


# --- Escalate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intercept", "outcome", "field", "applied"),
    [
        ("worked", "applied_success", "verified_at", True),
        ("didnt", "applied_failed", "failure_reason", True),
        ("partly", "applied_partial", "partial_notes", True),
        ("never_applied", "proposed", None, False),
    ],
)
def test_the_intercept_answer_is_recorded_on_the_fix(session, intercept, outcome, field, applied):
    fix = _applied_fix(session)
    escalation = _escalate(session, intercept=intercept, intercept_note="Prompt came back after lunch")
    fix.refresh_from_db()
    assert escalation.intercept == intercept and fix.outcome == outcome
    assert (fix.applied_at is not None) is applied
    if field:
        assert getattr(fix, field)
    if intercept in ("didnt", "partly"):
        assert getattr(fix, field) == "Prompt came back after lunch"


def test_the_intercept_is_asked_for_a_verifying_partial_or_pending_fix_only(session):
    fix = _applied_fix(session)
    fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_pending", note="AD replication")
    with pytest.raises(InvalidInput) as err:
        _escalate(session)
    assert err.value.message == "Say how the fix went before you escalate."
    assert AISession.objects.get(pk=session.pk).status == "active" and not Escalation.objects.exists()
    proposed_only = AISessionFactory(owner=session.owner)
    fixes.fix_propose(session=proposed_only, step=None, title="Not applied yet")
    assert _escalate(proposed_only).intercept == ""  # a fix never applied needs no question


def test_escalation_is_never_to_oneself_and_only_to_an_engineer_of_the_account(session, tenant_a, tenant_b):
    for target, message in [
        (session.owner.pk, "You can't escalate to yourself; pause the session instead."),
        (tenant_b.engineer.pk, "Pick an engineer of your account, or leave the target empty."),
        (tenant_a.l1.pk, "Pick an engineer of your account, or leave the target empty."),
    ]:
        with pytest.raises(InvalidInput) as err:
            _escalate(session, target_id=target)
        assert err.value.message == message
    with pytest.raises(InvalidInput):
        _escalate(session, reason="   ")
    assert AISession.objects.get(pk=session.pk).status == "active" and not Escalation.objects.exists()


def test_only_an_active_or_paused_session_of_ones_own_is_escalated(session, tenant_a):
    with pytest.raises(PermissionDenied):
        escalations.session_escalate(session=session, actor=tenant_a.coverage_engineer, reason="not mine")
    lifecycle.session_pause(session=session, actor=session.owner)
    _escalate(session)
    with pytest.raises(Conflict):
        _escalate(session)


def test_the_package_is_kept_and_posted_to_the_internal_ticket_as_an_internal_note(session, tenant_a):
    ticket = internal_ticket_create(account=tenant_a.account, title="Outlook prompts", actor=session.owner)
    AISession.objects.filter(pk=session.pk).update(internal_ticket=ticket)
    session.refresh_from_db()
    escalation = _escalate(session)
    session.refresh_from_db()
    push = escalation.pushes.get()
    assert session.status == "requesting_escalation" and escalation.package == PACKAGE
    assert push.kind == "escalation_package" and push.status == "posted" and push.ticket_label == ticket.reference
    note = InternalTicketNote.objects.get(ticket=ticket)
    assert note.kind == "internal" and note.body == PACKAGE and push.external_id == f"note-{note.pk}"
    assert InternalTicket.objects.get(pk=ticket.pk).status == "escalated"


def test_the_package_is_drafted_from_the_bundle_when_the_engineer_gave_none(session, fake_anthropic):
    fix = _applied_fix(session)
    fake_anthropic.enqueue(Reply.text(PACKAGE))
    escalation = _escalate(session, package="", intercept="didnt", intercept_note="Prompt is back")
    sent = fake_anthropic.requests[-1]
    assert "escalation package" in sent["system"][0]["text"]
    assert '"outcome": "applied_failed"' in message_text(sent, 0) and "Prompt is back" in message_text(sent, 0)
    assert escalation.package == PACKAGE and escalation.pushes.get().status == "local"
    assert fix.title in message_text(sent, 0)


def test_a_failed_package_draft_leaves_the_escalation_standing_and_can_be_retried(session, fake_anthropic):
    fake_anthropic.enqueue(*[Reply.error(529)] * 3)
    escalation = _escalate(session, package="")
    push = escalation.pushes.get()
    assert AISession.objects.get(pk=session.pk).status == "requesting_escalation"
    assert push.status == "failed" and "could not be drafted" in push.error and push.body == ""
    fake_anthropic.enqueue(Reply.text(PACKAGE))
    push = ticket_pushes.push_retry(push=push, actor=session.owner)
    escalation.refresh_from_db()
    assert push.status == "local" and push.body == PACKAGE and escalation.package == PACKAGE


def test_engineers_of_the_account_are_told_and_nobody_else(session, tenant_a, tenant_b):
    _escalate(session, target_id=tenant_a.coverage_engineer.pk)
    notified = {n.recipient_id: n for n in Notification.objects.all()}
    engineers = {tenant_a.owner.pk, tenant_a.admin.pk, tenant_a.coverage_engineer.pk}
    assert set(notified) == engineers  # not the escalating engineer, not the L1 tech, not tenant_b
    assert "escalated a session to you" in notified[tenant_a.coverage_engineer.pk].title
    assert notified[tenant_a.admin.pk].url == f"/sessions/{session.pk}/handoff/"
    assert all(n.account_id == tenant_a.account.pk for n in notified.values())


# --- The queue and the handoff screen ----------------------------------------------------------


def test_the_queue_lists_what_awaits_pickup_except_ones_own(session, tenant_a, tenant_b, client):
    _escalate(session)
    other = AISessionFactory(owner=tenant_a.coverage_engineer, urgency="critical")
    escalations.session_escalate(session=other, actor=tenant_a.coverage_engineer, reason="Need AD rights", package="x")
    foreign = AISessionFactory(owner=tenant_b.engineer)
    escalations.session_escalate(session=foreign, actor=tenant_b.engineer, reason="Theirs", package="x")
    client.force_login(tenant_a.admin)
    page = client.get("/sessions/escalations/").content.decode()
    assert page.count('data-testid="queue-card"') == 2 and "Theirs" not in page
    assert page.index("Need AD rights") < page.index("Credentials cleared twice")  # critical first
    client.force_login(tenant_a.engineer)
    partial = client.get("/sessions/escalations/", headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert [t.name for t in partial.templates][0] == "sessions_app/partials/_queue.html"
    assert 'id="sessions_app-queue"' in body and "<html" not in body
    assert "HX-Request" in partial["Vary"] and 'hx-trigger="every 5s"' in body
    assert body.count('data-testid="queue-card"') == 1 and "Credentials cleared twice" not in body


def test_the_queue_costs_a_fixed_number_of_queries(tenant_a, client, django_assert_max_num_queries):
    for n in range(12):
        s = AISessionFactory(owner=tenant_a.engineer)
        escalations.session_escalate(session=s, actor=tenant_a.engineer, reason=f"reason {n}", package="x")
    client.force_login(tenant_a.admin)
    with django_assert_max_num_queries(4):  # auth (2), the queue, the notification bell
        body = client.get("/sessions/escalations/", headers={"HX-Request": "true"}).content.decode()
    assert body.count('data-testid="queue-card"') == 12


def _waiting(tenant, count, urgency="medium"):
    sessions = AISessionFactory.create_batch(count, owner=tenant.engineer, urgency=urgency)
    for s in sessions:
        escalations.session_escalate(session=s, actor=tenant.engineer, reason="stuck", package="x")
    return sessions


def test_the_queue_shows_the_50_most_urgent_and_counts_the_rest(tenant_a, client, django_assert_max_num_queries):
    _waiting(tenant_a, 55, urgency="low")
    urgent = _waiting(tenant_a, 3, urgency="critical")
    client.force_login(tenant_a.admin)
    with django_assert_max_num_queries(5):  # auth (2), the 50, the count, the notification bell
        body = client.get("/sessions/escalations/", headers={"HX-Request": "true"}).content.decode()
    assert body.count('data-testid="queue-card"') == 50
    assert "And 8 more waiting" in body
    first_three = [int(n) for n in re.findall(r'data-session="(\d+)"', body)[:3]]
    assert sorted(first_three) == sorted(s.pk for s in urgent), "the critical ones come first"


def test_a_poll_that_finds_nothing_new_costs_at_most_two_queries_and_swaps_nothing(
    tenant_a, client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    _waiting(tenant_a, 3)
    client.force_login(tenant_a.admin)
    body = client.get("/sessions/escalations/", headers={"HX-Request": "true"}).content.decode()
    poll = re.search(r'hx-get="([^"]+\?v=[^"]+)"', body).group(1).replace("&amp;", "&")

    with django_assert_max_num_queries(2):
        response = client.get(poll, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Reswap"] == "none" and response.content == b""
    assert "HX-Request" in response["Vary"]

    # A new escalation changes the version once committed: the same poll now gets the queue with it.
    with django_capture_on_commit_callbacks(execute=True):
        newcomer = _waiting(tenant_a, 1)[0]
    response = client.get(poll, headers={"HX-Request": "true"})
    assert response.status_code == 200 and f'data-session="{newcomer.pk}"' in response.content.decode()


def test_the_queue_region_is_drawn_once_per_change(tenant_a, client, django_assert_max_num_queries):
    _waiting(tenant_a, 12)
    client.force_login(tenant_a.admin)
    first = client.get("/sessions/escalations/", headers={"HX-Request": "true"}).content.decode()
    # Another tab, or a poll that lost its version: the same region, from the cache, with no query
    # but the login's.
    with django_assert_max_num_queries(1):
        again = client.get("/sessions/escalations/?v=stale", headers={"HX-Request": "true"}).content.decode()
    assert again == first and again.count('data-testid="queue-card"') == 12


def test_a_claim_changes_the_queue_for_the_next_poll(tenant_a, client, django_capture_on_commit_callbacks):
    first, second = _waiting(tenant_a, 2)
    client.force_login(tenant_a.admin)
    body = client.get("/sessions/escalations/", headers={"HX-Request": "true"}).content.decode()
    poll = re.search(r'hx-get="([^"]+\?v=[^"]+)"', body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        escalations.session_claim(session=first, actor=tenant_a.coverage_engineer)
    body = client.get(poll, headers={"HX-Request": "true"}).content.decode()
    assert f'data-session="{first.pk}"' not in body and f'data-session="{second.pk}"' in body


def _told_who_won(response, winner) -> bool:
    """The handoff screen of a session a colleague picked up: who, and the way back to the queue."""
    body = response.content.decode()
    return (
        response.status_code == 200
        and "sessions_app/handoff_picked_up.html" in [t.name for t in response.templates]
        and f"<strong>{winner.get_full_name()}</strong> picked this session up first." in body
        and re.search(r"Picked up\s+<time [^>]+>just now</time>\. It is theirs now", body) is not None
        and '<a class="btn btn-primary" href="/sessions/escalations/">Back to the escalation queue</a>' in body
        and "Start here" not in body
    )


def test_the_claim_race_loser_is_told_who_won_with_the_way_back_to_the_queue(session, tenant_a, client):
    """Issue #10.4: the loser's claim finds the session gone from the queue; not a bare 404, and not
    a toast that fades: the handoff screen says who picked it up first, and links back to the queue."""
    _escalate(session)
    escalations.session_claim(session=session, actor=tenant_a.coverage_engineer)
    client.force_login(tenant_a.admin)

    response = client.post(f"/sessions/{session.pk}/claim/", {"mode": "continue"}, follow=True)

    assert response.redirect_chain == [(f"/sessions/{session.pk}/handoff/", 302)]
    assert _told_who_won(response, tenant_a.coverage_engineer)
    assert AISession.objects.get(pk=session.pk).owner_id == tenant_a.coverage_engineer.pk


def test_a_handoff_opened_after_a_colleague_picked_it_up_says_who_never_a_bare_404(session, tenant_a, tenant_b, client):
    """A stale handoff tab reloaded, or the bell's link to it, after the claim: every other engineer
    of the account is told who has it. The one who escalated it and the one who claimed it are not
    (they open the session); another account, and a session nobody claimed, still answer 404."""
    _escalate(session)
    escalations.session_claim(session=session, actor=tenant_a.coverage_engineer)
    url = f"/sessions/{session.pk}/handoff/"

    client.force_login(tenant_a.admin)
    assert _told_who_won(client.get(url), tenant_a.coverage_engineer)
    client.force_login(session.owner)
    assert client.get(url)["Location"] == "/sessions/escalations/"
    client.force_login(tenant_a.coverage_engineer)
    assert client.get(url)["Location"] == "/sessions/escalations/"
    client.force_login(tenant_b.engineer)
    assert client.get(url).status_code == 404
    never_escalated = AISessionFactory(owner=tenant_a.engineer)
    client.force_login(tenant_a.admin)
    assert client.get(f"/sessions/{never_escalated.pk}/handoff/").status_code == 404


def test_the_engineer_it_was_escalated_to_is_told_who_picked_it_up_first(session, tenant_a, client):
    """The target may still open the session, so their claim meets the service's refusal, not a
    404: they are told on the handoff screen all the same."""
    _escalate(session, target_id=tenant_a.admin.pk)
    escalations.session_claim(session=session, actor=tenant_a.coverage_engineer)
    client.force_login(tenant_a.admin)

    response = client.post(f"/sessions/{session.pk}/claim/", {"mode": "continue"}, follow=True)

    assert response.redirect_chain == [(f"/sessions/{session.pk}/handoff/", 302)]
    assert _told_who_won(response, tenant_a.coverage_engineer)


def test_the_engineer_who_escalated_keeps_reading_the_session_and_sees_who_has_it(session, tenant_a, client):
    """Issue #10.4: after pickup the escalating engineer reads it (read-only, with who has it now),
    and the 'picked up' notification links there."""
    escalating = session.owner
    _escalate(session)
    escalations.session_claim(session=session, actor=tenant_a.coverage_engineer)
    client.force_login(escalating)

    page = client.get(f"/sessions/{session.pk}/")

    assert page.status_code == 200
    body = page.content.decode()
    holder = tenant_a.coverage_engineer.get_full_name() or tenant_a.coverage_engineer.email
    assert f"Read only · now with {holder}" in body
    assert 'id="resolve-form"' not in body and "answer-form" not in body
    assert client.post(f"/sessions/{session.pk}/pause/").status_code == 403
    note = Notification.objects.get(recipient=escalating, kind="escalation.claimed")
    assert note.url == f"/sessions/{session.pk}/"


def test_fresh_context_gets_the_next_step_at_once(session, tenant_a, client):
    """Issue #10.4: starting from fresh context answers the waiting step with it; the AI's next step
    is there when the page opens, not after a manual retry (demo AI)."""
    _escalate(session)
    steps_before = session.steps.count()
    client.force_login(tenant_a.coverage_engineer)

    response = client.post(
        f"/sessions/{session.pk}/claim/",
        {"mode": "fresh", "fresh_context": "The user also cannot sign in to Teams on the web."},
        follow=True,
    )

    body = response.content.decode()
    assert session.steps.count() == steps_before + 1
    assert 'data-testid="current-step"' in body
    assert "The AI has not given its next step yet" not in body


def test_l1_techs_never_see_the_queue_or_a_handoff(session, tenant_a, client):
    _escalate(session)
    client.force_login(tenant_a.l1)
    assert client.get("/sessions/escalations/").status_code == 403
    assert client.get(f"/sessions/{session.pk}/handoff/").status_code == 403
    assert client.post(f"/sessions/{session.pk}/claim/", {"mode": "continue"}).status_code == 403


def test_another_account_gets_404_everywhere(session, tenant_b, client):
    escalation = _escalate(session)
    client.force_login(tenant_b.engineer)
    for url in ("/", "/handoff/", "/handoff/assessment/"):
        assert client.get(f"/sessions/{session.pk}{url}").status_code == 404
    for url in ("/claim/", "/escalate/", f"/pushes/{escalation.pushes.get().pk}/retry/"):
        assert client.post(f"/sessions/{session.pk}{url}", {"mode": "continue"}).status_code == 404
    assert AISession.objects.get(pk=session.pk).owner_id == session.owner_id


def test_while_awaiting_pickup_any_engineer_reads_it_and_nobody_acts(session, tenant_a, client):
    _escalate(session)
    client.force_login(tenant_a.coverage_engineer)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Read only" in page and "Open the handoff" in page and 'name="text"' not in page
    assert 'id="resolve-form"' not in page and 'id="escalate-form"' not in page
    handoff_page = client.get(f"/sessions/{session.pk}/handoff/").content.decode()
    assert "Credentials cleared twice" in handoff_page and "Only on her laptop." in handoff_page
    assert "Start here" in handoff_page and "2 steps" in handoff_page
    client.force_login(session.owner)
    own = client.get(f"/sessions/{session.pk}/handoff/").content.decode()
    assert "You escalated this session" in own and f'action="/sessions/{session.pk}/claim/"' not in own


# --- Claim -------------------------------------------------------------------------------------


def test_the_original_engineer_cannot_claim(session):
    _escalate(session)
    with pytest.raises(Conflict) as err:
        escalations.session_claim(session=session, actor=session.owner)
    assert err.value.message == "You escalated this session; a colleague picks it up."


def test_claiming_makes_the_session_the_new_engineers_with_a_briefing(session, tenant_a, client):
    fix = _applied_fix(session)
    fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_partial", note="Only on Wi-Fi")
    escalation = _escalate(session, intercept="partly", intercept_note="Still prompts on Wi-Fi")
    claimed = escalations.session_claim(session=session, actor=tenant_a.coverage_engineer)
    escalation.refresh_from_db()
    assert claimed.owner_id == tenant_a.coverage_engineer.pk and claimed.status == "active"
    assert escalation.claimed_by_id == tenant_a.coverage_engineer.pk and escalation.start_mode == "continue"
    briefing = escalation.briefing
    assert briefing["escalated_by"] == tenant_a.engineer.get_full_name()
    assert briefing["reason"] == "Credentials cleared twice; the prompt is back within the hour."
    assert briefing["tried"] == [
        {"order": 1, "step": "Does it happen on every device?", "answer": "Only on her laptop."}
    ]
    assert any("Clear the cached Office credentials" in h for h in briefing["hypotheses"])
    assert briefing["next_steps"]
    assert Notification.objects.filter(recipient=tenant_a.engineer, kind="escalation.claimed").exists()
    client.force_login(tenant_a.coverage_engineer)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'data-testid="briefing"' in page and "Read only" not in page and 'id="resolve-form"' in page
    client.force_login(tenant_a.engineer)
    # SPEC §2: no longer theirs; the engineer who escalated reads it only.
    theirs_before = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Read only · now with" in theirs_before and 'id="resolve-form"' not in theirs_before


def test_continuing_sends_the_briefing_with_the_next_answer(session, tenant_a, fake_anthropic):
    _escalate(session)
    escalations.session_claim(session=session, actor=tenant_a.coverage_engineer)
    session.refresh_from_db()
    step = session.steps.get(order=2)
    turns.session_answer_step(
        session=session, step=step, actor=tenant_a.coverage_engineer, kind="free_text", text="Yes, always on VPN."
    )
    fake_anthropic.enqueue(Reply.json(question_turn("Which VPN client?")))
    turns.session_take_turn(session=session, actor=tenant_a.coverage_engineer)
    last = message_text(fake_anthropic.requests[-1])
    assert "Yes, always on VPN." in last and '<data source="briefing">' in last
    assert "continue from where the session was" in last.lower() or "They continue" in last
    assert AISession.objects.get(pk=session.pk).pending_context == ""


def test_starting_from_fresh_context_answers_the_waiting_step_and_asks_the_ai(session, tenant_a, fake_anthropic):
    _escalate(session)
    with pytest.raises(InvalidInput):
        escalations.session_claim(session=session, actor=tenant_a.coverage_engineer, mode="fresh", fresh_context=" ")
    escalations.session_claim(
        session=session, actor=tenant_a.coverage_engineer, mode="fresh",
        fresh_context="The user has a second laptop that works fine on the same Wi-Fi.",
    )  # fmt: skip
    step = AISession.objects.get(pk=session.pk).steps.get(order=2)
    assert step.answered and step.responded_by_id == tenant_a.coverage_engineer.pk
    fake_anthropic.enqueue(Reply.json(question_turn("Compare the two laptops' Office builds?")))
    turns.session_take_turn(session=AISession.objects.get(pk=session.pk), actor=tenant_a.coverage_engineer)
    last = message_text(fake_anthropic.requests[-1])
    assert "second laptop that works fine" in last and '<data source="briefing">' in last


def test_the_loser_of_a_claim_is_told_who_won(session, tenant_a):
    _escalate(session)
    escalations.session_claim(session=session, actor=tenant_a.coverage_engineer)
    with pytest.raises(Conflict) as err:
        escalations.session_claim(session=session, actor=tenant_a.admin)
    assert err.value.message == f"{tenant_a.coverage_engineer.get_full_name()} picked this session up first."


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_on_postgresql_exactly_one_wins(tenant_a):
    session = AISessionFactory(owner=tenant_a.engineer)
    escalations.session_escalate(session=session, actor=tenant_a.engineer, reason="Stuck", package="x")
    barrier, results = threading.Barrier(2), {}

    def claim(user):
        try:
            barrier.wait()
            escalations.session_claim(session=session, actor=user)
            results[user.pk] = "won"
        except Conflict as exc:
            results[user.pk] = exc.message
        finally:
            close_old_connections()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (tenant_a.coverage_engineer, tenant_a.admin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(results.values(), key=lambda v: v != "won")[0] == "won"
    assert list(results.values()).count("won") == 1
    winner = AISession.objects.get(pk=session.pk).owner
    loser_message = next(v for v in results.values() if v != "won")
    assert loser_message == f"{winner.get_full_name()} picked this session up first."
    assert Escalation.objects.get(session=session).claimed_by_id == winner.pk


def test_claiming_through_the_page(session, tenant_a, client):
    _escalate(session)
    client.force_login(tenant_a.coverage_engineer)
    response = client.post(f"/sessions/{session.pk}/claim/", {"mode": "fresh", "fresh_context": ""})
    assert response.status_code == 302 and AISession.objects.get(pk=session.pk).owner_id == session.owner_id
    response = client.post(f"/sessions/{session.pk}/claim/", {"mode": "continue"})
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    client.force_login(tenant_a.admin)
    response = client.post(f"/sessions/{session.pk}/claim/", {"mode": "continue"}, follow=True)
    # Once claimed, the session is no longer open to every engineer: the admin is told who has it,
    # with the way back to the queue, and cannot open it.
    assert _told_who_won(response, tenant_a.coverage_engineer)
    assert client.get(f"/sessions/{session.pk}/").status_code == 404


# --- Resolve -----------------------------------------------------------------------------------


def test_resolve_posts_the_confirmed_note_to_the_internal_ticket(session, tenant_a, client):
    ticket = internal_ticket_create(account=tenant_a.account, title="Outlook prompts", actor=session.owner)
    AISession.objects.filter(pk=session.pk).update(internal_ticket=ticket)
    client.force_login(session.owner)
    response = client.post(
        f"/sessions/{session.pk}/resolve/",
        {"code": "fixed", "summary": "Cleared credentials", "note": NOTE + "\n(edited)"},
    )
    assert response.status_code == 302
    push = TicketPush.objects.get(session=session)
    note = InternalTicketNote.objects.get(ticket=ticket)
    assert push.status == "posted" and note.kind == "resolution" and note.body == FIXED_NOTE + "\n(edited)"
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolution_notes == note.body
    assert AISession.objects.get(pk=session.pk).analysis_status == "pending"


def test_a_note_drafted_before_the_resolution_was_typed_is_posted_with_the_engineers_resolution(
    session, tenant_a, client
):
    """Issue #10.1: open Resolve (the note is drafted with nothing typed yet), type how it was
    resolved, post at once: the ticket must carry what the engineer typed, never the draft's
    "not recorded yet"."""
    ticket = internal_ticket_create(account=tenant_a.account, title="Outlook prompts", actor=session.owner)
    AISession.objects.filter(pk=session.pk).update(internal_ticket=ticket)
    client.force_login(session.owner)
    preview = client.get(f"/sessions/{session.pk}/preview/resolution_note/", headers={"HX-Request": "true"})
    body = preview.content.decode()
    draft = re.search(r"data-preview-text>(.*?)</textarea>", body, re.DOTALL).group(1)
    draft = html.unescape(draft)
    drafted_from = re.search(r'name="note_summary" form="resolve-form" value="([^"]*)"', body).group(1)
    assert drafted_from == "" and "Resolution" in draft

    client.post(
        f"/sessions/{session.pk}/resolve/",
        {"code": "fixed", "summary": "Removed the stale Office credential from Credential Manager",
         "action": "Cleared the vault",
         "note": draft, "note_summary": drafted_from},
    )  # fmt: skip

    posted = InternalTicketNote.objects.get(ticket=ticket).body
    resolution = posted.split("Resolution", 1)[1]
    assert "Removed the stale Office credential from Credential Manager" in resolution
    assert "Cleared the vault" in resolution
    assert "not recorded" not in posted.lower()
    assert posted.count("Resolution") == draft.count("Resolution"), "the section is replaced, not added twice"


def test_a_note_drafted_from_the_same_resolution_is_posted_as_confirmed(session, tenant_a):
    lifecycle.session_resolve(
        session=session, actor=session.owner, code="fixed", summary="Cleared  credentials", note=NOTE + "\n(edited)",
        note_summary="Cleared credentials",
    )  # fmt: skip
    assert TicketPush.objects.get(session=session).body == FIXED_NOTE + "\n(edited)"


def test_resolve_with_no_ticket_keeps_the_note_local(session):
    lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Fixed", note=NOTE)
    push = TicketPush.objects.get(session=session)
    assert push.status == "local" and push.posted_at is not None and push.body == FIXED_NOTE


@pytest.mark.parametrize("outcome", ["proposed", "applied_pending"])
def test_resolving_marks_a_verifying_or_pending_fix_as_a_success(session, outcome):
    fix = _applied_fix(session)
    if outcome == "applied_pending":
        fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome=outcome, note="Waiting on a reboot")
    lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Fixed", note=NOTE)
    fix.refresh_from_db()
    assert fix.outcome == SuggestedFix.Outcome.APPLIED_SUCCESS and fix.verified_at is not None


def test_resolving_twice_is_refused(session):
    lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Fixed", note=NOTE)
    with pytest.raises(Conflict) as err:
        lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Again", note=NOTE)
    assert err.value.message == "This session is already resolved."
    assert TicketPush.objects.filter(session=session).count() == 1


def test_a_failed_push_never_blocks_the_resolve_and_is_retried_by_hand(session, client, connect, fake_connectwise):
    connect(session.account)
    fake_connectwise.fail_next("POST", "service/tickets/*/notes", 503, message="Down for maintenance")
    AISession.objects.filter(pk=session.pk).update(psa_ticket_ref="48213")
    client.force_login(session.owner)
    response = client.post(
        f"/sessions/{session.pk}/resolve/", {"code": "fixed", "summary": "Fixed", "note": NOTE}, follow=True
    )
    page = response.content.decode()
    push = TicketPush.objects.get(session=session)
    assert AISession.objects.get(pk=session.pk).status == "resolved"
    assert push.status == "failed" and push.attempts == 1
    assert push.error == (
        "ConnectWise failed on the notes of ticket #48213 (503). ConnectWise said: Down for maintenance"
    )
    assert "the note was not posted" in page and "Retry posting" in page
    response = client.post(f"/sessions/{session.pk}/pushes/{push.pk}/retry/")
    push.refresh_from_db()
    note = fake_connectwise.notes[48213][-1]
    assert push.status == "posted" and push.external_id == str(note["id"]) and push.attempts == 2
    assert (note["text"], note["resolutionFlag"]) == (FIXED_NOTE, True)
    assert "No resolved status is configured" in push.status_note
    with pytest.raises(Conflict):
        ticket_pushes.push_retry(push=push, actor=session.owner)


def test_without_a_psa_connection_the_push_fails_loudly(session):
    AISession.objects.filter(pk=session.pk).update(psa_ticket_ref="12345")
    lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Fixed", note=NOTE)
    push = TicketPush.objects.get(session=session)
    assert push.status == "failed" and push.error.startswith("PSA not connected")


def test_failed_pushes_are_retried_in_the_background_every_5_minutes_3_times(session, connect, fake_connectwise):
    connect(session.account)
    fake_connectwise.fail_next("POST", "service/tickets/*/notes", 500, times=100)
    AISession.objects.filter(pk=session.pk).update(psa_ticket_ref="48213")
    lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Fixed", note=NOTE)
    push = TicketPush.objects.get(session=session)
    now = timezone.now()
    assert ticket_pushes.pushes_retry_failed(now=now + timedelta(minutes=4)) == 0  # not yet due
    for n in range(1, 4):
        TicketPush.objects.filter(pk=push.pk).update(last_attempt_at=now - timedelta(minutes=6))
        assert ticket_pushes.pushes_retry_failed(now=now) == 1
        push.refresh_from_db()
        assert push.attempts == 1 + n and push.status == "failed"
    TicketPush.objects.filter(pk=push.pk).update(last_attempt_at=now - timedelta(minutes=6))
    assert ticket_pushes.pushes_retry_failed(now=now) == 0  # the first attempt and three retries, then by hand only
    assert len(fake_connectwise.calls("POST", "service/tickets/48213/notes")) == 4


def test_resolve_drafts_the_note_when_none_was_confirmed(session, fake_anthropic):
    fake_anthropic.enqueue(Reply.text(NOTE))
    lifecycle.session_resolve(
        session=session, actor=session.owner, code="fixed", summary="Cleared the cached credentials"
    )
    push = TicketPush.objects.get(session=session)
    assert push.body == FIXED_NOTE and push.status == "local"
    assert "resolution note" in fake_anthropic.requests[-1]["system"][0]["text"]
    assert "Cleared the cached credentials" in message_text(fake_anthropic.requests[-1], 0)


def test_bad_escalate_input_says_why_and_changes_nothing(session, client):
    _applied_fix(session)
    client.force_login(session.owner)
    response = client.post(f"/sessions/{session.pk}/escalate/", {"reason": "", "intercept": ""})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Say why you are escalating" in page and "Say how the fix went before you escalate." in page
    response = client.post(
        f"/sessions/{session.pk}/escalate/", {"reason": "Stuck", "intercept": "didnt", "target": session.owner.pk}
    )
    assert response.status_code == 400 and "not yourself: pause the session instead" in response.content.decode()
    session.refresh_from_db()
    assert session.status == "active" and not Escalation.objects.exists() and not TicketPush.objects.exists()
    assert SuggestedFix.objects.get(session=session).outcome == "proposed"  # the intercept was not recorded


def test_bad_resolve_input_says_why_and_changes_nothing(session, client):
    client.force_login(session.owner)
    response = client.post(
        f"/sessions/{session.pk}/resolve/", {"code": "fixed", "summary": "", "note": NOTE}, follow=True
    )
    assert response.status_code == 400 and "Say how the problem was resolved." in response.content.decode()
    response = client.post(
        f"/sessions/{session.pk}/resolve/", {"code": "fixed", "summary": "Fixed", "note": "x" * 20001}, follow=True
    )
    assert response.status_code == 400 and "at most 20000 characters" in response.content.decode()
    assert AISession.objects.get(pk=session.pk).status == "active" and not TicketPush.objects.exists()


def test_only_the_sessions_engineer_retries_a_failed_post(session, tenant_a, client):
    AISession.objects.filter(pk=session.pk).update(psa_ticket_ref="12345")
    escalation = _escalate(session)
    push = escalation.pushes.get()
    assert push.status == "failed"
    client.force_login(tenant_a.coverage_engineer)  # may read the session while it awaits pickup
    assert client.post(f"/sessions/{session.pk}/pushes/{push.pk}/retry/").status_code == 403
    with pytest.raises(PermissionDenied):
        ticket_pushes.push_retry(push=push, actor=tenant_a.coverage_engineer)
    push.refresh_from_db()
    assert push.status == "failed" and push.attempts == 1


def test_the_package_and_the_briefing_speak_in_the_questions_words_not_lane_ids(session, tenant_a):
    """Issue #10.5: previews and briefings said "Answer C2: …"; a ticket reader has no lane."""
    for public_id, text in (("Q1", "Does OWA sign in?"), ("C1", "Check the sign-in logs for the account")):
        LaneItem.objects.create(
            account=tenant_a.account, session=session, kind="question" if public_id[0] == "Q" else "check",
            public_id=public_id, text=text, normalized_text=text, first_step=2, last_step=2,
        )  # fmt: skip
    escalation = _escalate(session, package="")  # drafted by the demo AI from the bundle

    escalation.refresh_from_db()
    assert "Does OWA sign in?" in escalation.package
    assert "Q1" not in escalation.package and "C1" not in escalation.package
    briefing = selectors.handoff_briefing(session, escalation)
    assert any("Does OWA sign in?" in step for step in briefing["next_steps"]), briefing["next_steps"]
    assert not any("Q1" in step or "C1" in step for step in briefing["next_steps"])


# --- the package previewed while the fix's outcome is asked (issue #10, point 5) ---------------


def _preview(client, session, **told):
    return client.get(f"/sessions/{session.pk}/preview/escalation_package/", told, headers={"HX-Request": "true"})


def test_escalating_with_a_verifying_fix_previews_the_package_as_the_answer_says(session, fake_anthropic, client):
    fix = _applied_fix(session)
    client.force_login(session.owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'data-testid="intercept"' in page and 'id="facts_app-preview-escalation_package"' in page
    assert 'hx-include="#escalate-form .intercept"' in page
    version = AISession.objects.get(pk=session.pk).state_version

    fake_anthropic.enqueue(Reply.text(PACKAGE))
    response = _preview(client, session, intercept="didnt", intercept_note="Prompt is back after lunch")
    assert response.status_code == 200 and "Current hypothesis" in response.content.decode()
    sent = message_text(fake_anthropic.requests[-1], 0)
    assert '"outcome": "applied_failed"' in sent and "Prompt is back after lunch" in sent
    assert 'name="package_drafted_from" form="escalate-form" value="didnt|Prompt is back after lunch"' in (
        response.content.decode()
    )
    # Nothing is recorded by a preview: the fix is still verifying, the version unchanged.
    fix.refresh_from_db()
    assert fix.outcome == "proposed" and AISession.objects.get(pk=session.pk).state_version == version

    # Another answer is another draft; the same answer again comes from the cache.
    fake_anthropic.enqueue(Reply.text(PACKAGE.replace("H", "Never applied")))
    never = _preview(client, session, intercept="never_applied").content.decode()
    sent = message_text(fake_anthropic.requests[-1], 0)
    assert '"outcome": "proposed"' in sent and '"applied_at": null' in sent and "Never applied" in never
    calls = len(fake_anthropic.requests)
    again = _preview(client, session, intercept="didnt", intercept_note="Prompt is back after lunch").content.decode()
    assert len(fake_anthropic.requests) == calls and "from cache" in again


def test_the_previewed_package_is_posted_only_if_drafted_from_the_answer_given(session, fake_anthropic):
    _applied_fix(session)
    edited = PACKAGE.replace("H", "The token cache, as previewed")
    escalation = _escalate(
        session, package=edited, intercept="didnt", intercept_note="Prompt is back",
        package_drafted_from="didnt|Prompt is back",
    )  # fmt: skip
    assert escalation.package == edited and escalation.pushes.get().body == edited
    assert SuggestedFix.objects.get(session=session).outcome == "applied_failed"

    other = AISessionFactory(owner=session.owner, team=session.team)
    _applied_fix(other)
    fake_anthropic.enqueue(Reply.text(PACKAGE))
    escalation = escalations.session_escalate(
        session=other, actor=other.owner, reason="Stuck", package=edited, intercept="worked",
        package_drafted_from="didnt|Prompt is back",  # previewed as "didn't work", then changed
    )  # fmt: skip
    sent = message_text(fake_anthropic.requests[-1], 0)
    assert escalation.package == PACKAGE and '"outcome": "applied_success"' in sent


def test_an_intercept_answer_changes_nothing_when_no_fix_needs_it(session, fake_anthropic, client):
    client.force_login(session.owner)
    fake_anthropic.enqueue(Reply.text(PACKAGE))
    first = _preview(client, session).content.decode()
    assert "fresh draft" in first
    told = _preview(client, session, intercept="didnt", intercept_note="whatever").content.decode()
    assert "from cache" in told and len(fake_anthropic.requests) == 1


def test_an_edited_package_for_another_answer_is_refused_not_posted_or_dropped_silently(session, fake_anthropic):
    """From the review: the engineer edits the previewed package (it stops refreshing), then changes
    how the fix went. Their text was written for the other answer: refused, nothing saved."""
    fix = _applied_fix(session)
    edited = PACKAGE.replace("H", "The token cache, as I wrote it")
    with pytest.raises(InvalidInput) as refused:
        _escalate(session, package=edited, intercept="worked", package_drafted_from="didnt|",
                  package_edited=True)  # fmt: skip
    assert refused.value.field == "package" and "nothing was escalated" in refused.value.message
    session.refresh_from_db()
    fix.refresh_from_db()
    assert session.status == "active" and fix.outcome == "proposed" and not Escalation.objects.exists()
    # Not edited, only stale (the refresh had not come back): drafted again, silently, from the answer.
    fake_anthropic.enqueue(Reply.text(PACKAGE))
    escalation = _escalate(session, package=edited, intercept="worked", package_drafted_from="didnt|")
    assert escalation.package == PACKAGE
