"""Feedback on AI output (issue 16 §2): a thumbs up / down, with an optional reason and comment, on
every AI turn, suggested fix, drafted fact, resolution note and escalation package; stored with the
account, the action, its tier and the model; one vote per person per output, changeable; another
account can neither vote nor see; a down-voted turn is marked in the session's history."""

import pytest
from django.db import IntegrityError, transaction

from facts_app.models import AIFeedback, Fact
from facts_app.tests.factories import FactFactory
from resolutionflow.ai.models import AIUsage
from sessions_app.models import AISession, Escalation, SuggestedFix, TicketPush
from sessions_app.tests.factories import AISessionFactory, LaneItemFactory, SessionStepFactory, answer_step

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def outputs(tenant_a):
    """One session of account A with one output of each kind, and the usage rows of the calls."""
    session = AISessionFactory(owner=tenant_a.engineer)
    for action, tier, model in [
        ("session_turn", "strong", "claude-strong-1"),
        ("fact_draft", "fast", "claude-fast-1"),
        ("resolution_note", "strong", "claude-strong-1"),
        ("escalation_package", "strong", "claude-strong-1"),
    ]:
        AIUsage.objects.create(
            account=tenant_a.account, action=action, tier=tier, model=model, outcome="ok",
            subject_type="session", subject_id=session.pk,
        )  # fmt: skip
    step = answer_step(SessionStepFactory(session=session, order=1))
    fix = SuggestedFix.objects.create(account=tenant_a.account, session=session, title="Clear the credentials")
    LaneItemFactory(session=session, public_id="Q1")
    fact = FactFactory(session=session, author=tenant_a.engineer, source_type="question", source_ref="Q1",
                       ai_drafted=True)  # fmt: skip
    note = TicketPush.objects.create(
        account=tenant_a.account, session=session, kind="resolution_note", body="## Resolution\nR",
        created_by=tenant_a.engineer,
    )  # fmt: skip
    package = TicketPush.objects.create(
        account=tenant_a.account, session=session, kind="escalation_package", body="## Problem\nP",
        created_by=tenant_a.engineer,
    )  # fmt: skip
    return {
        "session": session, "turn": step, "fix": fix, "fact": fact, "resolution_note": note,
        "escalation_package": package,
    }  # fmt: skip


def _vote(client, session, kind, output_id, **data):
    return client.post(f"/sessions/{session.pk}/feedback/{kind}/{output_id}/", data, **HX)


EXPECTED = {
    "turn": ("session_turn", "strong", "claude-strong-1", "AI turn"),
    "fix": ("session_turn", "strong", "claude-strong-1", "Suggested fix"),
    "fact": ("fact_draft", "fast", "claude-fast-1", "Drafted fact"),
    "resolution_note": ("resolution_note", "strong", "claude-strong-1", "Resolution note"),
    "escalation_package": ("escalation_package", "strong", "claude-strong-1", "Escalation package"),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_kind_of_output_can_be_voted_on_and_keeps_the_call_that_wrote_it(outputs, tenant_a, client, kind):
    session, output = outputs["session"], outputs[kind]
    client.force_login(tenant_a.engineer)

    response = _vote(client, session, kind, output.pk, vote="up")

    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert f'id="vote-{kind}-{output.pk}"' in body and response["Vary"].count("HX-Request")
    assert f'id="vote-{kind}-{output.pk}-up" class="vote-btn" aria-pressed="true" aria-label="Helpful"' in body
    assert f'id="vote-{kind}-{output.pk}-down" class="vote-btn" aria-pressed="false" aria-label="Not helpful"' in body
    assert f'aria-label="Rate this output: {EXPECTED[kind][3]}"' in body
    feedback = AIFeedback.objects.get()
    assert (feedback.account_id, feedback.session_id, feedback.user_id, feedback.kind, feedback.object_id) == (
        tenant_a.account.pk,
        session.pk,
        tenant_a.engineer.pk,
        kind,
        output.pk,
    )
    assert (feedback.action, feedback.tier, feedback.model) == EXPECTED[kind][:3]
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'id="vote-{kind}-{output.pk}-up"' in page, "the control is on the session page"


def test_one_vote_per_person_per_output_and_it_can_be_changed(outputs, tenant_a, client):
    session, step = outputs["session"], outputs["turn"]
    client.force_login(tenant_a.engineer)

    _vote(client, session, "turn", step.pk, vote="up")
    _vote(client, session, "turn", step.pk, vote="down")
    body = _vote(client, session, "turn", step.pk, vote="down", reason="wrong", comment="  It  asked twice ").content
    feedback = AIFeedback.objects.get()
    assert (feedback.vote, feedback.reason, feedback.comment) == ("down", "wrong", "It asked twice")
    assert (
        'aria-pressed="true" aria-label="Not helpful"' in body.decode() and "Why: Wrong or inaccurate" in body.decode()
    )

    _vote(client, session, "turn", step.pk, vote="up")
    feedback.refresh_from_db()
    assert (feedback.vote, feedback.reason, feedback.comment) == ("up", "", ""), "an up-vote needs no reason"
    assert AIFeedback.objects.count() == 1

    with pytest.raises(IntegrityError), transaction.atomic():
        AIFeedback.objects.create(
            account=tenant_a.account, session=session, kind="turn", object_id=step.pk, user=tenant_a.engineer,
            vote="down", action="session_turn", tier="strong", model="m",
        )  # fmt: skip


def test_another_account_can_neither_vote_nor_see(outputs, tenant_a, tenant_b, client):
    session = outputs["session"]
    _vote(client.__class__(), session, "turn", outputs["turn"].pk, vote="up")  # anonymous: nothing
    client.force_login(tenant_a.engineer)
    _vote(client, session, "turn", outputs["turn"].pk, vote="down", reason="unclear")
    client.force_login(tenant_b.engineer)

    for kind in EXPECTED:
        assert _vote(client, session, kind, outputs[kind].pk, vote="up").status_code == 404
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    theirs = AISessionFactory(owner=tenant_b.engineer)
    # Their own session's URL naming A's output is no way in either.
    assert _vote(client, theirs, "turn", outputs["turn"].pk, vote="up").status_code == 404
    assert list(AIFeedback.objects.values_list("user_id", "vote")) == [(tenant_a.engineer.pk, "down")]
    assert "Marked not helpful" not in client.get(f"/sessions/{theirs.pk}/").content.decode()


def test_only_ai_outputs_of_this_session_can_be_voted_on(outputs, tenant_a, client):
    session = outputs["session"]
    other = AISessionFactory(owner=tenant_a.engineer)
    typed = FactFactory(session=session, author=tenant_a.engineer)  # a note the engineer wrote
    promoted = FactFactory(session=session, author=None, source_type="question", source_ref="Q1")
    client.force_login(tenant_a.engineer)

    assert _vote(client, other, "turn", outputs["turn"].pk, vote="up").status_code == 404
    assert _vote(client, session, "fact", typed.pk, vote="up").status_code == 404
    assert _vote(client, session, "resolution_note", outputs["escalation_package"].pk, vote="up").status_code == 404
    assert client.post(f"/sessions/{session.pk}/feedback/script/1/", {"vote": "up"}, **HX).status_code == 404
    assert _vote(client, session, "fact", promoted.pk, vote="up").status_code == 200  # an AI turn's promotion
    assert AIFeedback.objects.get().action == "session_turn"
    TicketPush.objects.filter(pk=outputs["escalation_package"].pk).update(body="")  # not drafted yet
    assert _vote(client, session, "escalation_package", outputs["escalation_package"].pk, vote="up").status_code == 404


def test_bad_input_says_why_and_changes_nothing(outputs, tenant_a, client):
    session, fix = outputs["session"], outputs["fix"]
    client.force_login(tenant_a.engineer)

    response = _vote(client, session, "fix", fix.pk, vote="meh")
    assert response.status_code == 400 and "Helpful or not helpful." in response.content.decode()
    response = _vote(client, session, "fix", fix.pk, vote="down", reason="because")
    assert response.status_code == 400 and "Choose one of the reasons." in response.content.decode()
    assert not AIFeedback.objects.exists()


def test_without_javascript_the_vote_redirects_to_the_session(outputs, tenant_a, client):
    session, fix = outputs["session"], outputs["fix"]
    client.force_login(tenant_a.engineer)
    response = client.post(f"/sessions/{session.pk}/feedback/fix/{fix.pk}/", {"vote": "down"})
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    assert AIFeedback.objects.get().vote == "down"


def test_a_down_voted_turn_is_marked_in_the_history(outputs, tenant_a, client, django_capture_on_commit_callbacks):
    session, step = outputs["session"], outputs["turn"]
    client.force_login(tenant_a.engineer)
    before = client.get(f"/sessions/{session.pk}/").content.decode()  # drawn and cached
    assert "turn-flagged" not in before

    with django_capture_on_commit_callbacks(execute=True):  # the vote moves the cached page on
        _vote(client, session, "turn", step.pk, vote="down")

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'class="turn turn-question turn-done turn-flagged" id="step-1"' in page
    assert "Marked not helpful" in page


def test_a_fact_saved_from_the_ai_draft_is_an_ai_output(tenant_a, client):
    session = AISessionFactory(owner=tenant_a.engineer)
    item = LaneItemFactory(session=session, public_id="Q1", status="answered", answer="Only on the laptop")
    client.force_login(tenant_a.engineer)

    client.post(f"/sessions/{session.pk}/facts/promote/{item.pk}/", {"action": "save", "text": "Only the laptop",
                                                                    "drafted": "1"})  # fmt: skip

    fact = Fact.objects.get()
    assert fact.ai_drafted and fact.ai_written


def test_a_colleague_reading_a_session_awaiting_pickup_may_rate_its_escalation_package(outputs, tenant_a, client):
    session, package = outputs["session"], outputs["escalation_package"]
    AISession.objects.filter(pk=session.pk).update(status="requesting_escalation")
    client.force_login(tenant_a.coverage_engineer)  # an engineer of the account who may read it, not act

    response = _vote(client, session, "escalation_package", package.pk, vote="down", reason="incomplete")

    assert response.status_code == 200
    feedback = AIFeedback.objects.get()
    assert (feedback.user_id, feedback.vote, feedback.reason) == (tenant_a.coverage_engineer.pk, "down", "incomplete")
    assert AISession.objects.get(pk=session.pk).status == "requesting_escalation"  # the session is untouched


def test_the_handoff_page_offers_the_vote_on_the_escalation_package(outputs, tenant_a, client):
    session, package = outputs["session"], outputs["escalation_package"]
    escalation = Escalation.objects.create(
        account=tenant_a.account, session=session, escalated_by=tenant_a.engineer, reason="Stuck", package="## P"
    )
    TicketPush.objects.filter(pk=package.pk).update(escalation=escalation)
    AISession.objects.filter(pk=session.pk).update(status="requesting_escalation")
    client.force_login(tenant_a.coverage_engineer)

    page = client.get(f"/sessions/{session.pk}/handoff/").content.decode()

    assert f'id="vote-escalation_package-{package.pk}-down"' in page
