"""The analysis job (issue #12 §2, SPEC §8): resolved sessions become proposals (new flow,
enhancement) or reinforce the flow they followed; each session is analysed exactly once, even with
two workers; failures are recorded and retried with backoff, three times at most; proposals are
de-duplicated and capped per account per day; admins are told."""

import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, close_old_connections
from django.utils import timezone

from flywheel_app import analysis as analysis_module
from flywheel_app.analysis import analyse_batch, session_analyse, sessions_claim
from flywheel_app.models import Flow, FlowProposal
from flywheel_app.tasks import flywheel_analyse_batch
from flywheel_app.trees import validate_tree
from resolutionflow.accounts.models import Notification
from resolutionflow.ai.fake_api import Reply
from resolutionflow.ai.models import AIUsage
from resolutionflow.testing.services import wait_until
from sessions_app.models import AISession
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db
A = AISession.AnalysisStatus

SHARED_MAILBOX_FLOW = {
    "start": "owa",
    "nodes": [
        {"id": "owa", "type": "question", "text": "Does the shared mailbox open in Outlook on the web?",
         "options": [{"label": "It opens", "next": "when"}, {"label": "Access denied", "next": "grant"}]},
        {"id": "when", "type": "question", "text": "Was access granted in the last two hours?",
         "options": [{"label": "Yes", "next": "wait"}, {"label": "No", "next": "profile"}]},
        {"id": "grant", "type": "instruction", "text": "Grant Full Access in the Exchange admin center.",
         "next": "restart"},
        {"id": "restart", "type": "resolution", "text": "Restart Outlook after the permission syncs."},
        {"id": "wait", "type": "resolution", "text": "Wait two hours for the permission to sync."},
        {"id": "profile", "type": "resolution", "text": "Re-create the Outlook profile."},
    ],
}  # fmt: skip


# --- sessions worked in the demo, then resolved --------------------------------------------------


def _start(client, user, text) -> AISession:
    client.force_login(user)
    response = client.post("/sessions/new/", {"intake_type": "text", "intake_text": text})
    assert response.status_code == 302
    return AISession.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))


def _answer(client, session, data) -> None:
    step = session.steps.order_by("-order").first()
    assert client.post(f"/sessions/{session.pk}/steps/{step.pk}/answer/", data).status_code == 302


def _pick(client, session, label) -> None:
    step = session.steps.order_by("-order").first()
    options = {o["label"]: o["value"] for o in step.content["options"]}
    _answer(client, session, {"value": options[label]})


def _resolve(client, session, summary="Fixed as suggested") -> AISession:
    assert client.post(f"/sessions/{session.pk}/resolve/", {"code": "fixed", "summary": summary}).status_code == 302
    session.refresh_from_db()
    assert session.status == "resolved" and session.analysis_status == A.PENDING
    return session


def printer_session(client, user) -> AISession:
    """The port fix fails, the spooler fix works: a path no flow covers."""
    session = _start(client, user, "The printer in reception shows offline for Sam")
    _pick(client, session, "Only this user")
    _answer(client, session, {"worked": "yes"})
    _answer(client, session, {"worked": "no"})
    _answer(client, session, {"worked": "yes"})
    _answer(client, session, {"worked": "yes"})
    return _resolve(client, session, "Restarted the spooler and cleared the stuck jobs")


@pytest.fixture
def mailbox_flow(tenant_a):
    return Flow.objects.create(
        account=tenant_a.account, title="Shared mailbox missing in Outlook", domain="email",
        keywords=["shared mailbox missing", "shared mailbox outlook"], tree=SHARED_MAILBOX_FLOW, published=True,
    )  # fmt: skip


# --- the three decisions ----------------------------------------------------------------------------


def test_a_path_no_flow_covers_becomes_a_new_flow_proposal_and_admins_are_told(tenant_a, client):
    session = printer_session(client, tenant_a.engineer)

    result = analyse_batch()

    assert (result.claimed, result.outcomes) == (1, {"new_flow": 1})
    session.refresh_from_db()
    assert session.analysis_status == A.ANALYSED and session.analysis_error == ""
    proposal = FlowProposal.objects.get()
    assert (proposal.type, proposal.source, proposal.session_id, proposal.status) == (
        "new_flow",
        "session_analysis",
        session.pk,
        "pending",
    )
    validate_tree(proposal.tree)
    texts = [n["text"] for n in proposal.tree["nodes"]]
    assert "Is the printer failing for everyone who prints to it, or only for this user?" in texts
    assert "Restart the Print Spooler service on the print server and clear the stuck jobs" in texts
    # The answers the session never gave are explicit stubs, never guessed fixes.
    assert proposal.unexplored_count == 2  # "Everyone" and "Don't know"
    assert proposal.validated_by_outcome is True and proposal.evidence_session_ids == [session.pk]
    assert 5 <= len(proposal.title.split()) <= 10, proposal.title
    told = set(Notification.objects.filter(kind="flywheel.proposal").values_list("recipient_id", flat=True))
    assert told == {tenant_a.owner.pk, tenant_a.admin.pk}


def test_a_session_that_followed_its_flow_reinforces_it_and_proposes_nothing(tenant_a, client, mailbox_flow):
    session = _start(client, tenant_a.engineer, "The shared mailbox is missing in Outlook for Jane")
    assert session.matched_flow_id == mailbox_flow.pk
    _pick(client, session, "It opens")
    _pick(client, session, "No")
    _answer(client, session, {"worked": "yes"})
    session = _resolve(client, session)

    assert analyse_batch().outcomes == {"reinforced": 1}
    mailbox_flow.refresh_from_db()
    assert (mailbox_flow.usage_count, mailbox_flow.success_count) == (1, 1)
    assert mailbox_flow.last_matched_at >= session.created_at
    assert not FlowProposal.objects.exists()


def test_a_session_that_left_its_flow_proposes_an_enhancement_saying_where(tenant_a, client, mailbox_flow):
    session = _start(client, tenant_a.engineer, "The shared mailbox is missing in Outlook for Jane")
    _answer(client, session, {"kind": "free_text", "text": "OWA says access denied for the Sales mailbox"})
    for _ in range(2):
        _answer(client, session, {"worked": "yes"})
    session = _resolve(client, session)

    assert analyse_batch().outcomes == {"enhancement": 1}
    proposal = FlowProposal.objects.get()
    assert (proposal.type, proposal.target_flow_id) == ("enhancement", mailbox_flow.pk)
    mailbox_flow.refresh_from_db()
    assert (mailbox_flow.usage_count, mailbox_flow.success_count) == (1, 0), "matched, but not followed"
    assert "OWA says access denied for the Sales mailbox" in proposal.changes
    validate_tree(proposal.tree)
    ids = {n["id"] for n in proposal.tree["nodes"]}
    assert {n["id"] for n in SHARED_MAILBOX_FLOW["nodes"]} <= ids, "the flow's own nodes are kept"
    first = next(n for n in proposal.tree["nodes"] if n["id"] == "owa")
    assert [o["label"] for o in first["options"]][-1] == "OWA says access denied for the Sales mailbox"


# --- exactly once -----------------------------------------------------------------------------------

NEW_FLOW_ANSWER = {
    "decision": "new_flow", "title": "Printer offline for one user after IP change",
    "description": "A network printer shows offline for one user.", "keywords": ["printer offline"],
    "domain": "printing", "changes": None,
    "tree": {"start": "q1", "nodes": [
        {"id": "q1", "type": "question", "text": "Offline for everyone?", "options": [
            {"label": "Only this user", "next": "r1"}, {"label": "Everyone", "next": ""}],
         "next": None, "needs_review": False},
        {"id": "r1", "type": "resolution", "text": "Update the port to the printer's IP.", "options": None,
         "next": None, "needs_review": False}]},
}  # fmt: skip


def _waiting_sessions(tenant, count):
    return [
        AISessionFactory(
            owner=tenant.engineer, status="resolved", resolved_at=timezone.now(), analysis_status=A.PENDING,
            problem_domain="printing",
        )
        for _ in range(count)
    ]  # fmt: skip


def _answered_by_the_fake(fake):
    fake.set_responder(lambda body: Reply.json(NEW_FLOW_ANSWER))


@pytest.mark.django_db(transaction=True)
def test_two_workers_over_the_same_batch_analyse_each_session_exactly_once(tenant_a, fake_anthropic):
    _answered_by_the_fake(fake_anthropic)
    sessions = _waiting_sessions(tenant_a, 6)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        close_old_connections()
        try:
            barrier.wait()
            results.append(analyse_batch(limit=6))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sum(r.claimed for r in results) == 6
    assert len(fake_anthropic.requests) == 6, "one AI call per session"
    assert set(AISession.objects.values_list("analysis_status", flat=True)) == {A.ANALYSED}
    proposal = FlowProposal.objects.get()  # the same path six times: one proposal, six sessions behind it
    assert sorted(proposal.evidence_session_ids) == sorted(s.pk for s in sessions) and proposal.evidence_count == 6


def test_a_session_left_processing_by_a_killed_worker_is_taken_back_once(tenant_a, fake_anthropic, settings):
    _answered_by_the_fake(fake_anthropic)
    stale, fresh = _waiting_sessions(tenant_a, 2)
    long_ago = timezone.now() - timedelta(seconds=settings.FLYWHEEL_CLAIM_TIMEOUT + 5)
    AISession.objects.filter(pk=stale.pk).update(analysis_status=A.PROCESSING, analysis_started_at=long_ago)
    AISession.objects.filter(pk=fresh.pk).update(analysis_status=A.PROCESSING, analysis_started_at=timezone.now())

    assert analyse_batch().claimed == 1  # the fresh claim belongs to a worker still at it
    assert len(fake_anthropic.requests) == 1
    assert AISession.objects.get(pk=stale.pk).analysis_status == A.ANALYSED
    assert AISession.objects.get(pk=fresh.pk).analysis_status == A.PROCESSING
    assert analyse_batch().claimed == 0 and len(fake_anthropic.requests) == 1


def test_a_finished_claim_taken_back_meanwhile_saves_nothing(tenant_a, fake_anthropic):
    """A slow worker whose claim was taken back finds out before saving: no second proposal."""
    _answered_by_the_fake(fake_anthropic)
    [session] = _waiting_sessions(tenant_a, 1)
    [(session_id, claimed_at)] = sessions_claim()
    AISession.objects.filter(pk=session_id).update(analysis_started_at=claimed_at + timedelta(seconds=1))
    assert session_analyse(session_id=session_id, claimed_at=claimed_at) == "lost"
    assert not FlowProposal.objects.exists()


# --- failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply.error(500), "The AI service"),
        (Reply.text("Sure! Here is a flow: first check the printer."), "could not read"),
        (
            Reply.json({**NEW_FLOW_ANSWER, "tree": {"start": "q1", "nodes": [
                {"id": "q1", "type": "question", "text": "Only one option?", "options": [
                    {"label": "Yes", "next": "q1"}], "next": None, "needs_review": False}]}}),
            "needs at least two options",
        ),
    ],
    ids=["ai-error", "garbage", "invalid-tree"],
)  # fmt: skip
def test_a_failed_analysis_is_recorded_retried_with_backoff_and_stops_after_three(
    tenant_a, fake_anthropic, settings, reply, error
):
    settings.AI_MAX_RETRIES = 0
    fake_anthropic.set_responder(lambda body: reply)
    [session] = _waiting_sessions(tenant_a, 1)

    for attempt in (1, 2, 3):
        assert analyse_batch().outcomes == {"failed": 1}
        session.refresh_from_db()
        assert (session.analysis_status, session.analysis_attempts) == (A.FAILED, attempt)
        assert error.lower() in session.analysis_error.lower(), session.analysis_error
        assert not FlowProposal.objects.exists(), "nothing half-saved"
        if attempt < 3:
            assert session.analysis_retry_at > timezone.now()  # backoff: not before its time
            assert analyse_batch().claimed == 0
            AISession.objects.filter(pk=session.pk).update(analysis_retry_at=timezone.now())
    assert session.analysis_retry_at is None
    assert analyse_batch().claimed == 0, "the third failure stops the retries"


def test_a_retry_after_a_failure_succeeds_once_the_ai_is_healthy(tenant_a, fake_anthropic, settings):
    settings.AI_MAX_RETRIES = 0
    fake_anthropic.enqueue(Reply.error(500))
    _answered_by_the_fake(fake_anthropic)
    [session] = _waiting_sessions(tenant_a, 1)
    assert analyse_batch().outcomes == {"failed": 1}
    AISession.objects.filter(pk=session.pk).update(analysis_retry_at=timezone.now())
    assert analyse_batch().outcomes == {"new_flow": 1}
    session.refresh_from_db()
    assert (session.analysis_status, session.analysis_error) == (A.ANALYSED, "")


# --- de-duplication and the daily cap ------------------------------------------------------------


def test_sessions_without_a_domain_are_de_duplicated_too(tenant_a, fake_anthropic):
    fake_anthropic.set_responder(lambda body: Reply.json({**NEW_FLOW_ANSWER, "domain": None}))
    sessions = _waiting_sessions(tenant_a, 2)
    AISession.objects.filter(pk__in=[s.pk for s in sessions]).update(problem_domain="")
    analyse_batch()
    proposal = FlowProposal.objects.get()
    assert proposal.domain == "" and proposal.evidence_count == 2


def test_different_paths_make_different_proposals_and_the_daily_cap_holds_the_rest(tenant_a, fake_anthropic, settings):
    settings.FLYWHEEL_PROPOSALS_PER_DAY = 2
    titles = iter(["Printer offline after an IP change", "Scanner emails never arrive at all",
                   "Laptop dock loses both external monitors"])  # fmt: skip
    fake_anthropic.set_responder(lambda body: Reply.json({**NEW_FLOW_ANSWER, "title": next(titles)}))
    first, second, third = _waiting_sessions(tenant_a, 3)

    assert analyse_batch().outcomes == {"new_flow": 2, "waiting": 1}
    assert FlowProposal.objects.count() == 2
    third.refresh_from_db()
    assert third.analysis_status == A.PENDING and third.analysis_attempts == 0, "waits, not failed"
    assert third.analysis_retry_at.date() == (timezone.localtime() + timedelta(days=1)).date()
    assert analyse_batch().claimed == 0  # not before tomorrow


# --- the beat task on a real worker ------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_on_a_real_worker_analyses_each_waiting_session_once(
    celery_worker_process, fake_anthropic, tenant_a
):
    _answered_by_the_fake(fake_anthropic)  # the worker's AI is the fake Messages API
    sessions = _waiting_sessions(tenant_a, 3)
    flywheel_analyse_batch.delay()
    flywheel_analyse_batch.delay()  # an overlapping beat: the lock, then skip_locked, keep it to once
    wait_until(
        lambda: not AISession.objects.exclude(analysis_status=A.ANALYSED).exists(),
        description="the worker to analyse the batch",
    )
    calls = AIUsage.objects.filter(action="flywheel_analysis", subject_id__in=[s.pk for s in sessions])
    assert calls.count() == 3 and len(fake_anthropic.requests) == 3


# --- the demo ---------------------------------------------------------------------------------------


def test_the_demo_seed_gives_the_first_analysis_one_proposal_of_each_kind():
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo_sessions", stdout=out)
    assert "Seeded 3 resolved demo sessions" in out.getvalue()
    call_command("seed_demo_sessions", stdout=out)  # idempotent
    assert AISession.objects.filter(status="resolved").count() == 3

    call_command("analyse_sessions", "--all", stdout=out)

    assert "Analysed 3 sessions: 1 enhancement, 1 new_flow, 1 reinforced." in out.getvalue()
    flow = Flow.objects.get(title="Shared mailbox missing in Outlook")
    assert (flow.usage_count, flow.success_count) == (2, 1)  # two sessions matched it; one followed it
    kinds = dict(FlowProposal.objects.values_list("type", "target_flow_id"))
    assert kinds == {"new_flow": None, "enhancement": flow.pk}


def test_a_published_proposal_guides_the_next_matching_session(tenant_a, client):
    """Done-when of issue #12: resolve, analyse, publish as a flow, and the next matching session
    is guided by it (the demo AI asks the flow's first question)."""
    printer_session(client, tenant_a.engineer)
    analyse_batch()
    proposal = FlowProposal.objects.get()
    client.force_login(tenant_a.admin)
    response = client.post(
        f"/admin/flywheel_app/flowproposal/{proposal.pk}/publish/",
        {"tree": json.dumps(proposal.tree), "title": "Printer offline for one user",
         "description": "A printer shows offline for one user only.",
         "keywords": "printer offline\nprinter shows offline\nprinter offline one user", "domain": "printing"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:500]
    proposal.refresh_from_db()
    assert proposal.status == "published" and proposal.flow.published

    session = _start(client, tenant_a.engineer, "The printer upstairs shows offline for Priya")
    assert session.matched_flow_id == proposal.flow_id
    tree = proposal.flow.tree
    start = next(n for n in tree["nodes"] if n["id"] == tree["start"])
    assert session.steps.get().title == start["text"], "the demo AI asks the flow's first question"


# --- "Analyse waiting sessions now", from the review queue ---------------------------------------

ANALYSE_URL = "/admin/flywheel_app/flowproposal/analyse/"


def test_an_admin_analyses_their_accounts_waiting_sessions_now(tenant_a, tenant_b, client, tasks_inline):
    mine = printer_session(client, tenant_a.engineer)
    theirs = printer_session(client, tenant_b.engineer)
    client.force_login(tenant_a.admin)
    queue = client.get("/admin/flywheel_app/flowproposal/").content.decode()
    assert "Analyse 1 waiting session now" in queue

    response = client.post(ANALYSE_URL, follow=True)

    assert "Analysed 1 session(s): 1 new flow." in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.analysis_status, theirs.analysis_status) == (A.ANALYSED, A.PENDING), "only the admin's account"
    assert FlowProposal.objects.get().account_id == tenant_a.account.pk
    again = client.post(ANALYSE_URL, follow=True).content.decode()
    assert "No resolved session is waiting for analysis." in again
    assert "waiting session" not in again, "nothing waits: no button"


@pytest.mark.parametrize("role", ["engineer", "l1"])
def test_only_owners_and_admins_may_ask_for_the_analysis(tenant_a, client, role):
    printer_session(client, tenant_a.engineer)
    client.force_login(getattr(tenant_a, role))
    response = client.post(ANALYSE_URL)
    assert response.status_code in (302, 403) and "/admin/login/" in response.get("Location", "/admin/login/")
    assert AISession.objects.get().analysis_status == A.PENDING


# --- from the review: what else can stop a batch -------------------------------------------------


def test_an_unexpected_error_fails_that_session_and_the_batch_goes_on(tenant_a, fake_anthropic, monkeypatch):
    _answered_by_the_fake(fake_anthropic)
    first, second, third = _waiting_sessions(tenant_a, 3)
    real = analysis_module._decide

    def decide(session, answer):
        if session.pk == second.pk:
            raise OperationalError("deadlock detected")
        return real(session, answer)

    monkeypatch.setattr(analysis_module, "_decide", decide)
    result = analyse_batch()
    assert result.claimed == 3 and result.outcomes.get("failed") == 1
    statuses = dict(AISession.objects.values_list("pk", "analysis_status"))
    assert statuses[second.pk] == A.FAILED and statuses[first.pk] == statuses[third.pk] == A.ANALYSED
    second.refresh_from_db()
    assert "deadlock detected" in second.analysis_error and second.analysis_attempts == 1


def test_a_batch_out_of_time_hands_back_the_claims_it_did_not_start(tenant_a, fake_anthropic, settings):
    _answered_by_the_fake(fake_anthropic)
    _waiting_sessions(tenant_a, 3)
    result = analyse_batch(within=settings.AI_DEADLINE + 5)  # no time left for even one analysis
    assert result.claimed == 0 and len(fake_anthropic.requests) == 0
    assert set(AISession.objects.values_list("analysis_status", "analysis_started_at")) == {(A.PENDING, None)}
    assert analyse_batch().claimed == 3, "handed back at once, not after the claim timeout"


def test_a_claim_lost_again_and_again_stops_as_failed(tenant_a, fake_anthropic, settings):
    _answered_by_the_fake(fake_anthropic)
    [session] = _waiting_sessions(tenant_a, 1)
    long_ago = timezone.now() - timedelta(seconds=settings.FLYWHEEL_CLAIM_TIMEOUT + 5)
    for attempts in (1, 2, 3):
        [(session_id, _)] = sessions_claim()
        session.refresh_from_db()
        assert session.analysis_attempts == attempts  # every claim is an attempt
        AISession.objects.filter(pk=session_id).update(analysis_started_at=long_ago)  # the worker dies
    assert sessions_claim() == []
    session.refresh_from_db()
    assert session.analysis_status == A.FAILED and "never finished" in session.analysis_error
    assert len(fake_anthropic.requests) == 0


def test_a_skipped_flow_question_is_not_a_departure_in_the_demo(tenant_a, client, mailbox_flow):
    session = _start(client, tenant_a.engineer, "The shared mailbox is missing in Outlook for Jane")
    _pick(client, session, "It opens")
    _answer(client, session, {"kind": "skipped"})
    _resolve(client, session)
    outcome = analyse_batch().outcomes
    assert "failed" not in outcome, AISession.objects.get().analysis_error


def test_two_divergences_from_one_flow_are_one_enhancement_whatever_their_domain(
    tenant_a, fake_anthropic, mailbox_flow
):
    answers = iter([("email", "At OWA the session answered A."), ("m365", "At the profile step it answered B.")])

    def reply(body):
        domain, changes = next(answers)
        tree = {
            "start": "q",
            "nodes": [
                {
                    "id": "q",
                    "type": "question",
                    "text": "Q?",
                    "options": [{"label": "A", "next": "r"}, {"label": "B", "next": ""}],
                    "next": None,
                    "needs_review": False,
                },
                {"id": "r", "type": "resolution", "text": "Fix.", "options": None, "next": None, "needs_review": False},
            ],
        }
        return Reply.json({**NEW_FLOW_ANSWER, "decision": "enhancement", "domain": domain, "changes": changes,
                           "tree": tree})  # fmt: skip

    fake_anthropic.set_responder(reply)
    sessions = _waiting_sessions(tenant_a, 2)
    AISession.objects.filter(pk__in=[s.pk for s in sessions]).update(matched_flow=mailbox_flow)
    analyse_batch()
    proposal = FlowProposal.objects.get()
    assert proposal.evidence_count == 2 and proposal.target_flow_id == mailbox_flow.pk
    assert "answered A" in proposal.changes and "answered B" in proposal.changes


# --- resolution codes (issue 16 §3): nothing to learn from a duplicate or a no-fault-found session ----


@pytest.mark.parametrize("code", ["duplicate", "no_fault_found"])
def test_a_duplicate_or_no_fault_session_proposes_no_new_flow_and_costs_no_ai_call(tenant_a, fake_anthropic, code):
    _answered_by_the_fake(fake_anthropic)
    skipped, learned = _waiting_sessions(tenant_a, 2)
    AISession.objects.filter(pk=skipped.pk).update(
        resolution_code=code, duplicate_ticket="INT-1" if code == "duplicate" else ""
    )
    AISession.objects.filter(pk=learned.pk).update(resolution_code="workaround")

    result = analyse_batch()

    assert (result.claimed, result.outcomes) == (2, {"skipped": 1, "new_flow": 1})
    assert len(fake_anthropic.requests) == 1, "the skipped session asks the AI nothing"
    assert FlowProposal.objects.get().evidence_session_ids == [learned.pk]
    assert AISession.objects.get(pk=skipped.pk).analysis_status == A.ANALYSED  # analysed once, never again
    assert analyse_batch().claimed == 0


def test_a_duplicate_that_matched_a_flow_still_counts_as_its_use_but_proposes_no_new_flow(
    tenant_a, fake_anthropic, mailbox_flow
):
    _answered_by_the_fake(fake_anthropic)  # the AI would propose a new flow
    (session,) = _waiting_sessions(tenant_a, 1)
    AISession.objects.filter(pk=session.pk).update(
        resolution_code="duplicate", duplicate_ticket="INT-1", matched_flow=mailbox_flow
    )

    result = analyse_batch()

    assert result.outcomes == {"skipped": 1} and not FlowProposal.objects.exists()
    mailbox_flow.refresh_from_db()
    assert (mailbox_flow.usage_count, mailbox_flow.success_count) == (1, 0)
