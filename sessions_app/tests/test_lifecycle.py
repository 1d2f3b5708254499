"""Lifecycle (SPEC §2): the 30-step limit, pause/resume, abandon by the periodic job and reopen,
resolve with documentation, rate, link a ticket."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from resolutionflow.accounts.models import AuditLog
from resolutionflow.ai.fake_api import Reply
from resolutionflow.errors import Conflict, InvalidInput, PermissionDenied
from resolutionflow.psa.services import internal_ticket_create
from sessions_app import tasks
from sessions_app.models import MAX_STEPS, AISession
from sessions_app.services import lifecycle
from sessions_app.tasks import ABANDON_LOCK, sessions_abandon_idle

from .factories import AISessionFactory, fenced, message_text, question_turn, session_with_steps

pytestmark = pytest.mark.django_db

LIMIT_MESSAGE = "This session has reached 30 steps"


def url(session, action=""):
    return f"/sessions/{session.pk}/{action + '/' if action else ''}"


# --- the 30-step limit -------------------------------------------------------------------


def test_thirty_answered_steps_stop_the_ai_with_a_clear_message(fake_anthropic, tenant_a, client):
    session = session_with_steps(owner=tenant_a.engineer, steps=MAX_STEPS, last_answered=True)
    client.force_login(tenant_a.engineer)

    page = client.get(url(session)).content.decode()
    assert "This session has reached 30 steps, the most one session may have." in page
    assert f'action="{url(session, "turn")}"' not in page, "no retry button past the limit"

    response = client.post(url(session, "turn"), follow=True)

    assert LIMIT_MESSAGE in response.content.decode()
    assert fake_anthropic.received == 0, "no 31st AI call"
    session.refresh_from_db()
    assert session.step_count == MAX_STEPS and session.steps.count() == MAX_STEPS


def test_answering_the_thirtieth_step_is_saved_but_asks_the_ai_nothing(fake_anthropic, tenant_a, client):
    session = session_with_steps(owner=tenant_a.engineer, steps=MAX_STEPS)
    last = session.steps.get(order=MAX_STEPS)
    client.force_login(tenant_a.engineer)

    response = client.post(
        f"/sessions/{session.pk}/steps/{last.pk}/answer/", {"kind": "free_text", "text": "Done"}, follow=True
    )

    last.refresh_from_db()
    assert last.response_text == "Done"
    assert LIMIT_MESSAGE in response.content.decode()
    assert fake_anthropic.received == 0


def test_the_twenty_ninth_answer_gets_the_thirtieth_step_and_the_ai_is_told_to_wrap_up(
    fake_anthropic, tenant_a, client
):
    session = session_with_steps(owner=tenant_a.engineer, steps=MAX_STEPS - 1)
    client.force_login(tenant_a.engineer)
    fake_anthropic.enqueue(Reply.json(question_turn("Last one?")))

    client.post(f"/sessions/{session.pk}/steps/{session.steps.get(order=29).pk}/answer/", {"value": "yes"})

    session.refresh_from_db()
    assert session.step_count == MAX_STEPS and fake_anthropic.received == 1
    assert "This is step 29 of at most 30" in message_text(fake_anthropic.requests[0])


def test_the_database_refuses_a_31st_step(tenant_a):
    session = session_with_steps(owner=tenant_a.engineer, steps=MAX_STEPS, last_answered=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        AISession.objects.filter(pk=session.pk).update(step_count=MAX_STEPS + 1)


# --- pause / resume ------------------------------------------------------------------------


def test_pause_then_resume(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    step = session.steps.get()

    client.post(url(session, "pause"))
    session.refresh_from_db()
    assert session.status == "paused" and session.paused_at is not None
    page = client.get(url(session)).content.decode()
    assert "Paused. Resume to continue" in page and f'action="{url(session, "resume")}"' in page

    response = client.post(f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"}, follow=True)
    assert "The session is paused. Resume it to continue." in response.content.decode()
    step.refresh_from_db()
    assert not step.answered

    client.post(url(session, "resume"))
    session.refresh_from_db()
    assert session.status == "active" and session.paused_at is None
    fake_anthropic.enqueue(Reply.json(question_turn("Second?")))
    client.post(f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"})
    assert session.steps.count() == 2
    assert list(
        AuditLog.objects.filter(object_id=str(session.pk), action__startswith="session.").values_list(
            "action", flat=True
        )
    ) == ["session.resume", "session.pause", "session.start"]


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("paused", "pause", "Only an active session can be paused."),
        ("active", "resume", "Only a paused session can be resumed."),
        ("resolved", "pause", "Only an active session can be paused."),
        ("active", "reopen", "Only an abandoned session can be reopened."),
    ],
)
def test_a_transition_from_the_wrong_state_is_refused(tenant_a, client, status, action, message):
    session = AISessionFactory(owner=tenant_a.engineer, status=status)
    client.force_login(tenant_a.engineer)

    response = client.post(url(session, action))

    assert response.status_code == 409 and message in response.content.decode()
    session.refresh_from_db()
    assert session.status == status


def test_a_paused_session_asks_the_ai_nothing(fake_anthropic, tenant_a, client):
    session = session_with_steps(owner=tenant_a.engineer, steps=2, last_answered=True, status="paused")
    client.force_login(tenant_a.engineer)

    response = client.post(url(session, "turn"), follow=True)

    assert "Resume it first." in response.content.decode()
    assert fake_anthropic.received == 0


# --- abandon (the periodic job) and reopen --------------------------------------------------


def idle(owner, hours, status="active"):
    session = AISessionFactory(owner=owner, status=status)
    AISession.objects.filter(pk=session.pk).update(last_activity_at=timezone.now() - timedelta(hours=hours))
    return session


def test_sessions_idle_past_the_setting_are_abandoned_by_the_periodic_job(tenant_a, tenant_b, settings):
    settings.SESSION_ABANDON_AFTER_HOURS = 6
    stale_active = idle(tenant_a.engineer, 7)
    stale_paused = idle(tenant_b.engineer, 7, status="paused")
    fresh = idle(tenant_a.engineer, 5)
    resolved = idle(tenant_a.engineer, 100, status="resolved")
    escalated = idle(tenant_a.engineer, 100, status="requesting_escalation")

    assert lifecycle.sessions_abandon_idle() == 2

    statuses = {s.pk: s.status for s in AISession.objects.all()}
    assert statuses == {
        stale_active.pk: "abandoned",
        stale_paused.pk: "abandoned",
        fresh.pk: "active",
        resolved.pk: "resolved",
        escalated.pk: "requesting_escalation",
    }
    stale_active.refresh_from_db()
    assert stale_active.abandoned_at is not None
    audit = AuditLog.objects.get(action="session.abandon", object_id=str(stale_active.pk))
    assert (audit.actor, audit.acting_as, audit.account) == (None, "system", tenant_a.account)
    assert lifecycle.sessions_abandon_idle() == 0, "idempotent"


def test_the_idle_time_comes_from_settings(tenant_a, settings):
    session = idle(tenant_a.engineer, 30)
    settings.SESSION_ABANDON_AFTER_HOURS = 48
    assert lifecycle.sessions_abandon_idle() == 0
    settings.SESSION_ABANDON_AFTER_HOURS = 24
    assert lifecycle.sessions_abandon_idle() == 1
    session.refresh_from_db()
    assert session.status == "abandoned"


def test_the_abandon_task_is_in_the_beat_schedule_and_runs_the_service(tenant_a, settings):
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.sessions_abandon_idle.name in scheduled
    assert tasks.sessions_abandon_idle.name == "sessions_app.tasks.sessions_abandon_idle"
    settings.SESSION_ABANDON_AFTER_HOURS = 1
    session = idle(tenant_a.engineer, 2)

    assert tasks.sessions_abandon_idle.apply().get() == 1

    session.refresh_from_db()
    assert session.status == "abandoned"


def test_the_owner_reopens_an_abandoned_session_and_it_is_not_abandoned_again_at_once(tenant_a, client, settings):
    settings.SESSION_ABANDON_AFTER_HOURS = 1
    session = idle(tenant_a.engineer, 2)
    lifecycle.sessions_abandon_idle()
    client.force_login(tenant_a.engineer)
    page = client.get(url(session)).content.decode()
    assert f'action="{url(session, "reopen")}"' in page

    client.post(url(session, "reopen"))

    session.refresh_from_db()
    assert (session.status, session.abandoned_at) == ("active", None)
    assert lifecycle.sessions_abandon_idle() == 0
    session.refresh_from_db()
    assert session.status == "active"


# --- resolve -----------------------------------------------------------------------------


def resolved_session(begin, fake_anthropic, tenant_a, client):
    session = begin(
        tenant_a.engineer,
        question_turn("Did the prompts start after a password change?", options=(("Yes", "yes"), ("No", "no"))),
        intake="Outlook keeps asking Jane for her password since Monday",
    )
    fake_anthropic.enqueue(Reply.json(question_turn("Does OWA work?")))
    client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"})
    AISession.objects.filter(pk=session.pk).update(created_at=timezone.now() - timedelta(minutes=42))
    response = client.post(
        url(session, "resolve"),
        {
            "code": "fixed",
            "summary": "Removed stale Office credentials",
            "action": "Cleared Credential Manager entries",
        },
    )
    assert response.status_code == 302
    session.refresh_from_db()
    return session


def test_resolve_writes_the_documentation_and_queues_analysis(begin, fake_anthropic, tenant_a, client):
    session = resolved_session(begin, fake_anthropic, tenant_a, client)

    assert session.status == "resolved" and session.resolved_at is not None
    assert session.analysis_status == "pending"
    assert (session.resolution_summary, session.resolution_action) == (
        "Removed stale Office credentials",
        "Cleared Credential Manager entries",
    )
    doc = session.documentation
    assert "## Problem\n\nOutlook prompts for a password" in doc
    assert "## Intake\n\nOutlook keeps asking Jane for her password since Monday" in doc
    assert "1. **Question** — Did the prompts start after a password change?\n   - Response: Yes" in doc
    assert "2. **Question** — Does OWA work?\n   - Response: (none)" in doc
    assert "## Resolution\n\nRemoved stale Office credentials" in doc
    assert "Action taken: Cleared Credential Manager entries" in doc
    assert "Duration: 42 min" in doc and "Resolved in 42 min over 2 steps." in doc
    assert AuditLog.objects.filter(action="session.resolve", object_id=str(session.pk)).count() == 1

    page = client.get(url(session)).content.decode()
    assert "Removed stale Office credentials" in page and "Download documentation (.md)" in page

    download = client.get(f"/sessions/{session.pk}/documentation.md")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/markdown")
    assert download["Content-Disposition"] == f'attachment; filename="session-{session.pk}.md"'
    assert download.content.decode() == doc


def test_resolving_twice_is_refused(begin, fake_anthropic, tenant_a, client):
    session = resolved_session(begin, fake_anthropic, tenant_a, client)

    response = client.post(url(session, "resolve"), {"code": "fixed", "summary": "Something else"})

    assert response.status_code == 409 and "This session is already resolved." in response.content.decode()
    again = AISession.objects.get(pk=session.pk)
    assert (again.resolution_summary, again.documentation, again.resolved_at) == (
        session.resolution_summary,
        session.documentation,
        session.resolved_at,
    )


def test_resolve_with_an_empty_summary_is_refused_with_a_message(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())

    response = client.post(url(session, "resolve"), {"summary": "   ", "action": "Cleared the vault"})

    # Back at the session's own address (issue #10.10), the reason said, what was typed kept.
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 400 and "Say how the problem was resolved." in body
    assert '<details class="resolve-box" open>' in body and "Cleared the vault" in body
    assert client.get(response["Location"]).status_code == 200, "once shown, the page is itself again"
    session.refresh_from_db()
    assert (session.status, session.analysis_status, session.documentation) == ("active", "not_ready", "")


def test_a_paused_session_can_be_resolved_but_an_abandoned_one_cannot(tenant_a):
    paused = AISessionFactory(owner=tenant_a.engineer, status="paused")
    lifecycle.session_resolve(session=paused, actor=tenant_a.engineer, code="fixed", summary="Fixed")
    assert paused.status == "resolved"

    abandoned = AISessionFactory(owner=tenant_a.engineer, status="abandoned")
    with pytest.raises(Conflict):
        lifecycle.session_resolve(session=abandoned, actor=tenant_a.engineer, code="fixed", summary="Fixed")


def test_the_documentation_of_an_unresolved_session_is_not_served(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())

    assert client.get(f"/sessions/{session.pk}/documentation.md").status_code == 409


# --- rate ----------------------------------------------------------------------------------


def test_rate_a_resolved_session(begin, fake_anthropic, tenant_a, client):
    session = resolved_session(begin, fake_anthropic, tenant_a, client)

    client.post(url(session, "rate"), {"rating": "4", "feedback": "  Quick to the point  "})

    session.refresh_from_db()
    assert (session.rating, session.rating_feedback) == (4, "Quick to the point")
    assert "You rated this session 4/5" in client.get(url(session)).content.decode()


@pytest.mark.parametrize("rating", ["0", "6", "", "five"])
def test_a_rating_outside_1_to_5_is_refused(begin, fake_anthropic, tenant_a, client, rating):
    session = resolved_session(begin, fake_anthropic, tenant_a, client)

    response = client.post(url(session, "rate"), {"rating": rating})

    assert response.status_code == 400 and "Pick a rating from 1 to 5." in response.content.decode()
    session.refresh_from_db()
    assert session.rating is None


def test_an_unresolved_session_cannot_be_rated(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())

    response = client.post(url(session, "rate"), {"rating": "5"})

    assert response.status_code == 409 and "A session can be rated once it is resolved." in response.content.decode()
    session.refresh_from_db()
    assert session.rating is None


def test_the_rate_service_checks_the_range_itself(tenant_a):
    session = AISessionFactory(owner=tenant_a.engineer, status="resolved")
    for bad in (0, 6):
        with pytest.raises(InvalidInput):
            lifecycle.session_rate(session=session, actor=tenant_a.engineer, rating=bad)
    with pytest.raises(PermissionDenied):
        lifecycle.session_rate(session=session, actor=tenant_a.admin, rating=5)
    session.refresh_from_db()
    assert session.rating is None


# --- link a ticket mid-session ---------------------------------------------------------------


def test_a_linked_internal_ticket_reaches_the_ai_with_the_next_answer(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    ticket = internal_ticket_create(
        account=tenant_a.account, title="Jane: Outlook prompts", description="VIP user", actor=tenant_a.engineer
    )

    client.post(url(session, "link-ticket"), {"internal_ticket": ticket.pk})

    session.refresh_from_db()
    assert session.internal_ticket == ticket and session.ticket_context_status == "fetched"
    fake_anthropic.enqueue(Reply.json(question_turn("Second?")))
    client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"})
    sent = message_text(fake_anthropic.requests[-1])
    assert "A ticket was linked to this session" in sent
    assert '"title": "Jane: Outlook prompts"' in fenced(sent, "ticket")
    session.refresh_from_db()
    assert session.pending_context == "", "sent once"


def test_linking_a_psa_ticket_without_a_psa_says_the_context_is_unavailable(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())

    response = client.post(url(session, "link-ticket"), {"psa_ticket_ref": "777"}, follow=True)

    assert "its context is unavailable: no PSA is connected to this account" in response.content.decode()
    session.refresh_from_db()
    assert (session.psa_ticket_ref, session.ticket_context_status) == ("777", "unavailable")


def test_the_periodic_abandon_task_runs_one_at_a_time(tenant_a, settings):

    idle = AISessionFactory(owner=tenant_a.engineer)
    AISession.objects.filter(pk=idle.pk).update(
        last_activity_at=timezone.now() - timedelta(hours=settings.SESSION_ABANDON_AFTER_HOURS + 1)
    )
    cache.add(ABANDON_LOCK, "1", timeout=60)  # another run holds the lock
    assert sessions_abandon_idle() is None
    assert AISession.objects.get(pk=idle.pk).status == "active"
    cache.delete(ABANDON_LOCK)
    assert sessions_abandon_idle() == 1
    assert AISession.objects.get(pk=idle.pk).status == "abandoned"
    assert cache.add(ABANDON_LOCK, "1", timeout=1)  # released after the run
    cache.delete(ABANDON_LOCK)


def test_a_ticket_is_linked_from_the_session_page(tenant_a, client):
    """Issue #10.6: the page offers linking a ticket mid-session (SPEC §2), and it links it."""

    ticket = internal_ticket_create(account=tenant_a.account, title="VPN drops", actor=tenant_a.engineer)
    session = session_with_steps(owner=tenant_a.engineer, steps=2)
    client.force_login(tenant_a.engineer)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'data-testid="link-ticket"' in page and f'action="/sessions/{session.pk}/link-ticket/"' in page
    assert f'<option value="{ticket.pk}">' in page

    client.post(f"/sessions/{session.pk}/link-ticket/", {"internal_ticket": ticket.pk})

    session.refresh_from_db()
    assert session.internal_ticket_id == ticket.pk
    assert f"Linked to {ticket.reference}" in client.get(f"/sessions/{session.pk}/").content.decode()
