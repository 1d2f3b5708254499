"""Writes of the suggested fix (SPEC §4). Every write bumps the session's state_version in the same
transaction. Decisions (what the engineer does with the fix) and outcomes (how it turned out) are
kept apart; `applied_at` is stamped only by what says the fix really ran."""

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import account_settings_get, audit_record
from resolutionflow.ai.fences import fence
from resolutionflow.errors import Conflict, InvalidInput
from sessions_app.models import AISession, ScriptTemplate, SessionStep, SuggestedFix, TemplateDraft
from sessions_app.services.guards import OPEN, session_lock
from sessions_app.services.state import session_bump_state_version

Out = SuggestedFix.Outcome
D = SuggestedFix.Decision
OPEN_OUTCOMES = (Out.PROPOSED, Out.APPLIED_PENDING, Out.APPLIED_PARTIAL)  # success and failure are final
# Deciding these means the fix is being run now: by hand at once, or — when it has a script — once
# its parameters are filled in and the script is rendered (`scripts.fix_run_script`).
RUNS_NOW = (D.ONE_OFF, D.DRAFT_TEMPLATE)
# A team that turned "save the script you ran as a template?" off (account preferences).
TEMPLATIZE_OFF_KEY = "templatize_prompt_off_teams"


def _lock(fix: SuggestedFix, actor: User | None) -> SuggestedFix:
    """Lock the session (checking `actor` may act on it while it is open), then the fix."""
    session = session_lock(session_id=fix.session_id, actor=actor, states=OPEN, related=("account",))
    locked = SuggestedFix.objects.select_for_update().get(pk=fix.pk)
    locked.session = session
    return locked


def fix_lock_active(*, fix: SuggestedFix, actor: User) -> SuggestedFix:
    """Lock the session and the fix for a change to an active fix that has no outcome yet (its
    script, its template): the session's engineer, while the session is open."""
    locked = _lock(fix, actor)
    if locked.superseded_at is not None:
        raise Conflict("This fix is no longer the active one.")
    if locked.outcome in (Out.APPLIED_SUCCESS, Out.APPLIED_FAILED):
        raise Conflict(f"This fix is already recorded as “{locked.get_outcome_display()}”.")
    return locked


def _lock_open(fix: SuggestedFix, actor: User | None) -> SuggestedFix:
    """Lock the fix for an outcome change: the session's engineer, the active fix, not yet final."""
    locked = _lock(fix, actor)
    if locked.superseded_at is not None:
        raise Conflict("This fix is no longer the active one; its outcome cannot change.")
    if locked.outcome not in OPEN_OUTCOMES:
        raise Conflict(f"This fix is already recorded as “{locked.get_outcome_display()}”.")
    return locked


def _text(value: str, limit: int = 2000) -> str:
    return " ".join((value or "").split())[:limit]


@transaction.atomic
def fix_propose(
    *,
    session: AISession,
    step: SessionStep | None,
    title: str,
    description: str = "",
    confidence: float | int = 0,
    script_template_slug: str | None = None,
    script_parameters: dict | None = None,
) -> SuggestedFix:
    """Record the AI's fix; the active one (if any) is superseded. Two concurrent turns serialise on
    the session row, and the partial unique index keeps one active fix whatever happens."""
    title = SuggestedFix.clean_title(title)
    if not title:
        raise InvalidInput("A fix needs a title.")
    locked = session_lock(session_id=session.pk, actor=None, states=OPEN)
    now = timezone.now()
    SuggestedFix.objects.filter(session=locked, superseded_at__isnull=True).update(superseded_at=now)
    template = None
    if script_template_slug:
        template = ScriptTemplate.objects.filter(
            account_id=locked.account_id, slug=script_template_slug, is_active=True, deleted_at__isnull=True
        ).first()
    fix = SuggestedFix.objects.create(
        account_id=locked.account_id,
        session=locked,
        step=step,
        title=title,
        description=(description or "").strip()[:5000],
        confidence=max(0, min(100, round(float(confidence or 0)))),
        script_template=template,
        script_parameters=dict(script_parameters or {}) if template else {},
    )
    session_bump_state_version(session_id=locked.pk)
    return fix


@transaction.atomic
def fix_decide(*, fix: SuggestedFix, actor: User, decision: str) -> SuggestedFix:
    """What the engineer does with the fix. A fix without a script is applied by hand at once; one
    with a script is applied when its script is rendered to run (`scripts.fix_run_script`), and
    "build a template first" runs nothing. Dismissing takes the fix off the page — also one that
    failed or partly worked (issue #10: the engineer moves on), never one that worked — and keeps
    its outcome as history."""
    if decision not in (D.ONE_OFF, D.DRAFT_TEMPLATE, D.BUILD_TEMPLATE, D.DISMISSED):
        raise InvalidInput("Unknown decision.")
    locked = _lock(fix, actor)
    now = timezone.now()
    if decision == D.DISMISSED:
        if locked.superseded_at is not None:
            raise Conflict("This fix was already replaced or dismissed; there is nothing to dismiss.")
        if locked.outcome == Out.APPLIED_SUCCESS:
            raise Conflict("This fix worked; there is nothing to dismiss. Resolve the session instead.")
        locked.superseded_at = now
    elif decision in RUNS_NOW and locked.applied_at is None and not locked.has_script:
        locked.applied_at = now  # applied by hand, at once
    # Decisions on a superseded fix are kept as history; only dismissing it again is a conflict.
    locked.decision = decision
    locked.decided_at = now
    locked.save(update_fields=["decision", "decided_at", "superseded_at", "applied_at"])
    session_bump_state_version(session_id=locked.session_id)
    audit_record(account=locked.session.account, actor=actor, action=f"fix.{decision}", obj=locked)
    return locked


@transaction.atomic
def fix_mark_applied(*, fix: SuggestedFix, actor: User) -> SuggestedFix:
    """'I ran this': the fix really ran. Generating or copying a script does not call this."""
    locked = _lock(fix, actor)
    if locked.superseded_at is not None:
        raise Conflict("This fix is no longer the active one.")
    if locked.applied_at is None:
        locked.applied_at = timezone.now()
        locked.save(update_fields=["applied_at"])
    session_bump_state_version(session_id=locked.session_id)
    return locked


@transaction.atomic
def fix_record_outcome(
    *, fix: SuggestedFix, actor: User | None, outcome: str, note: str = "", tell_ai: bool = True
) -> SuggestedFix:
    """Record how the fix went. Pending needs a reason (what we are waiting on); failure a reason;
    partial notes. Success and failure are final; pending and partial can still move on, and
    re-recording pending updates its reason. The AI is told with the engineer's next message, so
    it never proposes a failed fix again (`tell_ai=False` when that message already says it)."""
    if outcome not in (Out.APPLIED_SUCCESS, Out.APPLIED_FAILED, Out.APPLIED_PARTIAL, Out.APPLIED_PENDING):
        raise InvalidInput("Unknown outcome.")
    note = (note or "").strip()[:2000]
    locked = _lock_open(fix, actor)
    if outcome == Out.APPLIED_PENDING and not note:
        raise InvalidInput("Say what we are waiting on (a power cycle, AD replication, a sync…).")
    now = timezone.now()
    locked.outcome = outcome
    locked.applied_at = locked.applied_at or now
    if outcome == Out.APPLIED_PENDING:
        locked.pending_reason = note
    elif outcome == Out.APPLIED_PARTIAL:
        locked.partial_notes = note or "Partly worked (no details given)."
    elif outcome == Out.APPLIED_FAILED:
        locked.failure_reason = note or "Did not work (no details given)."
        locked.verified_at = now
    else:
        locked.verified_at = now
    locked.ai_proposed_outcome = ""
    locked.ai_proposed_note = ""
    locked.messages_while_verifying = 0
    locked.save(
        update_fields=[
            "outcome", "applied_at", "verified_at", "pending_reason", "partial_notes", "failure_reason",
            "ai_proposed_outcome", "ai_proposed_note", "messages_while_verifying",
        ]
    )  # fmt: skip
    session_bump_state_version(session_id=locked.session_id)
    if tell_ai:
        _tell_ai(locked, note)
    audit_record(
        account=locked.session.account, actor=actor, action="fix.outcome", obj=locked,
        details={"outcome": outcome},
    )  # fmt: skip
    return locked


_TOLD = {
    Out.APPLIED_SUCCESS: "worked",
    Out.APPLIED_FAILED: "did not work",
    Out.APPLIED_PARTIAL: "partly worked",
    Out.APPLIED_PENDING: "waiting to verify",
}


def _tell_ai(fix: SuggestedFix, note: str) -> None:
    """The outcome goes to the AI with the engineer's next message (the session's waiting context)."""
    told = f"The engineer recorded the suggested fix “{fix.title}” as: {_TOLD[fix.outcome]}."
    if note:
        told += "\n" + fence(note, source="engineer")
    AISession.objects.filter(pk=fix.session_id).update(
        pending_context=Concat(F("pending_context"), Value("\n"), Value(told))
    )


@transaction.atomic
def fix_record_never_applied(*, fix: SuggestedFix, actor: User) -> SuggestedFix:
    """The engineer says a fix marked applied never actually ran: it goes back to being a proposal."""
    locked = _lock_open(fix, actor)
    locked.outcome = Out.PROPOSED
    locked.applied_at = None
    locked.pending_reason = locked.partial_notes = locked.ai_proposed_outcome = locked.ai_proposed_note = ""
    locked.messages_while_verifying = 0
    locked.save(
        update_fields=[
            "outcome", "applied_at", "pending_reason", "partial_notes", "ai_proposed_outcome", "ai_proposed_note",
            "messages_while_verifying",
        ]
    )  # fmt: skip
    session_bump_state_version(session_id=locked.session_id)
    audit_record(account=locked.session.account, actor=actor, action="fix.never_applied", obj=locked)
    return locked


@transaction.atomic
def fix_ai_propose_outcome(*, session: AISession, outcome: str, note: str = "") -> SuggestedFix | None:
    """The AI read an outcome from what the engineer wrote. It waits for one click; nothing is
    recorded until the engineer confirms."""
    if outcome not in (Out.APPLIED_SUCCESS, Out.APPLIED_FAILED, Out.APPLIED_PARTIAL):
        return None
    fix = (
        SuggestedFix.objects.select_for_update()
        .filter(session=session, superseded_at__isnull=True, applied_at__isnull=False, outcome__in=OPEN_OUTCOMES)
        .first()
    )
    if fix is None:
        return None
    fix.ai_proposed_outcome = outcome
    fix.ai_proposed_note = (note or "").strip()[:2000]
    fix.save(update_fields=["ai_proposed_outcome", "ai_proposed_note"])
    session_bump_state_version(session_id=session.pk)
    return fix


def fix_confirm_ai_outcome(*, fix: SuggestedFix, actor: User) -> SuggestedFix:
    if not fix.ai_proposed_outcome:
        raise Conflict("There is no proposed outcome to confirm.")
    return fix_record_outcome(fix=fix, actor=actor, outcome=fix.ai_proposed_outcome, note=fix.ai_proposed_note)


@transaction.atomic
def fix_reject_ai_outcome(*, fix: SuggestedFix, actor: User) -> SuggestedFix:
    locked = _lock(fix, actor)
    locked.ai_proposed_outcome = ""
    locked.ai_proposed_note = ""
    locked.save(update_fields=["ai_proposed_outcome", "ai_proposed_note"])
    session_bump_state_version(session_id=locked.session_id)
    return locked


def fix_count_engineer_message(*, session_id: int) -> None:
    """Called with each engineer message, inside the answer's transaction (the session is locked):
    while the fix is verifying, count towards the nudge."""
    changed = SuggestedFix.objects.filter(
        session_id=session_id, superseded_at__isnull=True, applied_at__isnull=False,
        outcome=Out.PROPOSED, ai_proposed_outcome="",
    ).update(messages_while_verifying=F("messages_while_verifying") + 1)  # fmt: skip
    if changed:
        session_bump_state_version(session_id=session_id)


def fix_on_resolve(*, session: AISession) -> None:
    """Resolving while the fix is verifying or pending records it as a success."""
    now = timezone.now()
    changed = SuggestedFix.objects.filter(
        session=session, superseded_at__isnull=True, applied_at__isnull=False,
        outcome__in=[Out.PROPOSED, Out.APPLIED_PENDING],
    ).update(outcome=Out.APPLIED_SUCCESS, verified_at=now, ai_proposed_outcome="", ai_proposed_note="")  # fmt: skip
    if changed:
        session_bump_state_version(session_id=session.pk)


@transaction.atomic
def template_draft_queue(*, fix: SuggestedFix, actor: User) -> TemplateDraft | None:
    """'Run now, templatize after': queue a draft of a reusable template from the fix's script,
    to review after Resolve (`scripts.template_draft_accept`) — one per fix, however often its
    script is rendered. Skipped when the team turned the prompt off."""
    session = fix.session
    if session.team_id and session.team_id in account_settings_get(account=session.account).preferences.get(
        TEMPLATIZE_OFF_KEY, []
    ):
        return None
    body = fix.script_text
    if not body.strip():
        return None
    queued = TemplateDraft.objects.filter(fix=fix, status=TemplateDraft.Status.PENDING).first()
    if queued is not None:
        return queued
    return TemplateDraft.objects.create(
        account_id=session.account_id,
        session=session,
        fix=fix,
        author=actor,
        name=fix.title[:120],
        description=fix.description[:2000],
        body=body,
        parameters=fix.script_schema,
    )
