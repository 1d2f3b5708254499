"""The suggested fix (SPEC §4): one active fix, decisions apart from outcomes, stamps, conflicts."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from facts_app.models import Fact
from resolutionflow.ai.fake_api import Reply
from resolutionflow.errors import Conflict, InvalidInput, PermissionDenied
from sessions_app import selectors
from sessions_app.models import AISession, SuggestedFix
from sessions_app.services import fixes, lifecycle, turns

from .factories import AISessionFactory, question_turn

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    return AISessionFactory(owner=tenant_a.engineer)


def _version(session) -> int:
    return AISession.objects.values_list("state_version", flat=True).get(pk=session.pk)


def _fix(session, **kw) -> SuggestedFix:
    return fixes.fix_propose(session=session, step=None, title=kw.pop("title", "Clear cached Office credentials"), **kw)


def test_a_new_fix_supersedes_the_active_one_and_history_is_kept(session):
    first = _fix(session, confidence=140)
    second = _fix(session, title="Recreate the Outlook profile", confidence=-5)
    first.refresh_from_db()
    assert first.superseded_at is not None and second.superseded_at is None
    assert (first.confidence, second.confidence) == (100, 0)  # clamped to 0-100
    assert SuggestedFix.objects.filter(session=session).count() == 2
    assert selectors.fix_active(session=session) == second
    assert _version(session) == 2


def test_the_database_keeps_one_active_fix_per_session(session):
    _fix(session)
    with pytest.raises(IntegrityError), transaction.atomic():
        SuggestedFix.objects.create(account=session.account, session=session, title="Second active")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_turns_leave_exactly_one_active_fix(tenant_a):
    assert connection.vendor == "postgresql"
    session = AISessionFactory(owner=tenant_a.engineer)
    barrier, errors = threading.Barrier(2), []

    def propose(n):
        try:
            barrier.wait()
            _fix(session, title=f"Fix {n}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=propose, args=(n,)) for n in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert not errors
    assert SuggestedFix.objects.filter(session=session).count() == 2
    assert SuggestedFix.objects.filter(session=session, superseded_at__isnull=True).count() == 1


def test_dismissing_supersedes_and_dismissing_again_is_a_conflict(session):
    fix = _fix(session)
    fixes.fix_decide(fix=fix, actor=session.owner, decision="dismissed")
    fix.refresh_from_db()
    assert fix.decision == "dismissed" and fix.superseded_at is not None and fix.applied_at is None
    with pytest.raises(Conflict) as err:
        fixes.fix_decide(fix=fix, actor=session.owner, decision="dismissed")
    assert "already replaced or dismissed" in err.value.message
    assert err.value.status_code == 409


def test_other_decisions_on_a_superseded_fix_are_kept_as_history(session):
    old = _fix(session)
    _fix(session, title="Newer")
    fixes.fix_decide(fix=old, actor=session.owner, decision="build_template")
    old.refresh_from_db()
    assert old.decision == "build_template" and old.superseded_at is not None


@pytest.mark.parametrize(
    ("decision", "stamps_applied"), [("one_off", True), ("draft_template", True), ("build_template", False)]
)
def test_only_decisions_that_run_the_fix_stamp_applied_at(session, decision, stamps_applied):
    """A fix without a script is applied by hand at once."""
    fix = fixes.fix_decide(fix=_fix(session), actor=session.owner, decision=decision)
    assert (fix.applied_at is not None) is stamps_applied
    assert fix.outcome == "proposed" and fix.verified_at is None


@pytest.mark.parametrize("decision", ["one_off", "draft_template", "build_template"])
def test_choosing_how_to_run_a_script_does_not_stamp_applied_at(session, decision):
    """A fix with a script is applied when its script is rendered to run (test_fix_choices), not
    when the engineer merely opens its parameter form or the template editor."""
    fix = _fix(session)
    SuggestedFix.objects.filter(pk=fix.pk).update(script_body="Restart-Service -Name Spooler")
    fix = fixes.fix_decide(fix=fix, actor=session.owner, decision=decision)
    assert fix.decision == decision and fix.applied_at is None


def test_i_ran_this_stamps_applied_at(session):
    fix = fixes.fix_mark_applied(fix=_fix(session), actor=session.owner)
    assert fix.applied_at is not None and fix.banner_mode == "verifying"


@pytest.mark.parametrize("outcome", ["applied_success", "applied_failed"])
def test_success_and_failure_stamp_verified_and_are_final(session, outcome):
    fix = fixes.fix_record_outcome(fix=_fix(session), actor=session.owner, outcome=outcome, note="token cleared")
    assert fix.applied_at is not None and fix.verified_at is not None
    if outcome == "applied_failed":
        assert fix.failure_reason == "token cleared"
    before = _version(session)
    for nxt in ("applied_success", "applied_pending", "applied_partial", "applied_failed"):
        with pytest.raises(Conflict):
            fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome=nxt, note="x")
    assert _version(session) == before


def test_a_fix_that_worked_cannot_be_dismissed(session):
    fix = fixes.fix_record_outcome(fix=_fix(session), actor=session.owner, outcome="applied_success")
    before = _version(session)
    with pytest.raises(Conflict) as err:
        fixes.fix_decide(fix=fix, actor=session.owner, decision="dismissed")
    assert "worked" in err.value.message
    fix.refresh_from_db()
    assert fix.superseded_at is None and _version(session) == before


@pytest.mark.parametrize(("outcome", "note", "kept"), [
    ("applied_failed", "Prompts came back after a minute", "failure_reason"),
    ("applied_partial", "2 of 3 users", "partial_notes"),
])  # fmt: skip
def test_a_failed_or_partial_fix_can_be_dismissed_and_keeps_its_history(session, outcome, note, kept):
    """Issue #10 (3): the engineer moves on from a fix that did not work; SPEC §4 had refused it."""
    fix = fixes.fix_record_outcome(fix=_fix(session), actor=session.owner, outcome=outcome, note=note)
    before = _version(session)
    fix = fixes.fix_decide(fix=fix, actor=session.owner, decision="dismissed")
    fix.refresh_from_db()
    assert fix.superseded_at is not None and fix.decision == "dismissed" and fix.banner_mode == ""
    assert (fix.outcome, getattr(fix, kept), fix.applied_at is not None) == (outcome, note, True)
    assert selectors.fix_active(session=session) is None
    assert _version(session) == before + 1
    with pytest.raises(Conflict):
        fixes.fix_decide(fix=fix, actor=session.owner, decision="dismissed")


def test_pending_needs_a_reason_stamps_applied_only_and_can_be_updated(session):
    fix = _fix(session)
    with pytest.raises(InvalidInput) as err:
        fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_pending", note="  ")
    assert "waiting on" in err.value.message
    fix = fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_pending", note="AD replication")
    assert (fix.applied_at is not None, fix.verified_at, fix.pending_reason) == (True, None, "AD replication")
    assert fix.banner_mode == "pending"
    fix = fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_pending", note="a reboot tonight")
    assert fix.pending_reason == "a reboot tonight"
    fix = fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_success")
    assert fix.outcome == "applied_success" and fix.verified_at is not None


@pytest.mark.parametrize("then", ["applied_success", "applied_failed", "dismissed"])
def test_partial_is_not_final(session, then):
    fix = fixes.fix_record_outcome(
        fix=_fix(session), actor=session.owner, outcome="applied_partial", note="2 of 3 users"
    )
    assert fix.banner_mode == "partial" and fix.partial_notes == "2 of 3 users" and fix.verified_at is None
    if then == "dismissed":
        fix = fixes.fix_decide(fix=fix, actor=session.owner, decision="dismissed")
        assert fix.superseded_at is not None
    else:
        fix = fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome=then, note="x")
        assert fix.outcome == then


def test_every_fix_write_bumps_state_version_by_one(session):
    steps = [
        lambda f: fixes.fix_decide(fix=f, actor=session.owner, decision="one_off"),
        lambda f: fixes.fix_record_outcome(fix=f, actor=session.owner, outcome="applied_pending", note="sync"),
        lambda f: fixes.fix_ai_propose_outcome(session=session, outcome="applied_success", note="user says fixed"),
        lambda f: fixes.fix_reject_ai_outcome(fix=f, actor=session.owner),
        lambda f: fixes.fix_record_outcome(fix=f, actor=session.owner, outcome="applied_success"),
    ]
    fix = _fix(session)
    for write in steps:
        before = _version(session)
        write(fix)
        assert _version(session) == before + 1


def test_an_ai_proposed_outcome_waits_for_one_click(session):
    fix = fixes.fix_mark_applied(fix=_fix(session), actor=session.owner)
    fixes.fix_ai_propose_outcome(session=session, outcome="applied_success", note="the engineer wrote: that fixed it")
    fix.refresh_from_db()
    assert (fix.outcome, fix.verified_at, fix.banner_mode) == ("proposed", None, "ai_confirming")
    fix = fixes.fix_confirm_ai_outcome(fix=fix, actor=session.owner)
    assert fix.outcome == "applied_success" and fix.verified_at is not None and fix.ai_proposed_outcome == ""


def test_the_ai_cannot_propose_an_outcome_for_a_fix_that_never_ran(session):
    fix = _fix(session)
    assert fixes.fix_ai_propose_outcome(session=session, outcome="applied_success") is None
    fix.refresh_from_db()
    assert fix.ai_proposed_outcome == "" and fix.outcome == "proposed"


def test_the_nudge_comes_after_three_engineer_messages_while_verifying(session):
    fix = fixes.fix_mark_applied(fix=_fix(session), actor=session.owner)
    for expected in ("verifying", "verifying", "nudge"):
        fixes.fix_count_engineer_message(session_id=session.pk)
        fix.refresh_from_db()
        assert fix.banner_mode == expected
    fix = fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_pending", note="user reboots tonight")
    assert fix.banner_mode == "pending" and fix.messages_while_verifying == 0


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("verifying", "applied_success"),
        ("pending", "applied_success"),
        ("unapplied", "proposed"),
        ("partial", "applied_partial"),
    ],
)
def test_resolving_records_a_verifying_or_pending_fix_as_success(session, setup, expected):
    fix = _fix(session)
    if setup == "verifying":
        fixes.fix_mark_applied(fix=fix, actor=session.owner)
    elif setup == "pending":
        fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_pending", note="sync")
    elif setup == "partial":
        fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_partial", note="half")
    lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Cleared the tokens.")
    fix.refresh_from_db()
    assert fix.outcome == expected
    assert (fix.verified_at is not None) is (expected == "applied_success")


def test_only_the_owner_acts_on_the_fix(session, tenant_a):
    fix = _fix(session)
    with pytest.raises(PermissionDenied):
        fixes.fix_decide(fix=fix, actor=tenant_a.admin, decision="one_off")
    with pytest.raises(PermissionDenied):
        fixes.fix_record_outcome(fix=fix, actor=tenant_a.admin, outcome="applied_success")
    fix.refresh_from_db()
    assert fix.decision == "" and fix.outcome == "proposed"


# --- through an AI turn (the fake Messages API) -----------------------------------------------


def test_a_turn_can_propose_a_fix_promote_facts_and_read_an_outcome(begin, fake_anthropic, tenant_a):

    session = begin(tenant_a.engineer, question_turn("Does OWA work?", questions=["Does OWA sign in?"]))
    step = session.steps.get()
    turn = question_turn("Did the prompts stop?", questions=["Does OWA sign in?"])
    turn["fix"] = {
        "title": "Clear cached credentials",
        "description": "Remove MicrosoftOffice16 entries.",
        "confidence": 130,
        "script_template": None,
        "script_parameters": None,
    }
    turn["promote_facts"] = [
        {"text": "OWA signs in fine.", "summary": "rules out the account", "source_ref": "Q1"},
        {"text": "Invented fact.", "summary": "no item", "source_ref": "Q42"},
    ]
    fake_anthropic.enqueue(Reply.json(turn))
    turns.session_answer_step(session=session, step=step, actor=tenant_a.engineer, kind="option", value="yes")
    turns.session_take_turn(session=session, actor=tenant_a.engineer)
    fix = selectors.fix_active(session=session)
    assert (fix.title, fix.confidence, fix.outcome) == ("Clear cached credentials", 100, "proposed")
    assert list(Fact.objects.filter(session=session).values_list("source_ref", "author")) == [("Q1", None)]

    fixes.fix_mark_applied(fix=fix, actor=tenant_a.engineer)
    nxt = question_turn("Anything else?")
    nxt["proposed_outcome"] = {"status": "applied_success", "note": "The engineer wrote that it fixed it."}
    fake_anthropic.enqueue(Reply.json(nxt))
    step = session.steps.order_by("order").last()
    turns.session_answer_step(
        session=session, step=step, actor=tenant_a.engineer, kind="free_text", text="that fixed it"
    )
    turns.session_take_turn(session=session, actor=tenant_a.engineer)
    fix.refresh_from_db()
    assert (fix.ai_proposed_outcome, fix.outcome, fix.verified_at) == ("applied_success", "proposed", None)


@pytest.mark.parametrize(
    ("note", "reads"),
    [
        ("", "It didn't work. Dismiss it"),
        ("Prompt came back after lunch.", "It didn't work: “Prompt came back after lunch”. Dismiss it"),
    ],
)
def test_a_failed_fix_reads_once_and_without_doubled_punctuation(session, client, note, reads):
    """Issue #10.10: the card read “It didn't work (“Did not work (no details given).”).”"""
    fix = _fix(session, title="Clear cached Office credentials.")
    assert fix.title == "Clear cached Office credentials"  # a title never closes with a full stop
    fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_failed", note=note)
    client.force_login(session.owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    card = page[page.index('id="sessions_app-fix-card"') :]
    assert reads in card
    assert ".." not in card and ".”." not in card and ".”)" not in card
