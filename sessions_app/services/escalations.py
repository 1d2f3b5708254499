"""Escalate and pick up (SPEC §2): the intercept question about an applied fix, the escalation with
its package posted to the ticket, the engineers told, and the claim — one conditional update, so of
two engineers racing for a session exactly one wins — with the briefing the new engineer starts from."""

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from flywheel_app.analytics.base import analytics_invalidate
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record, notification_send
from resolutionflow.errors import Conflict, InvalidInput
from sessions_app import prompts
from sessions_app.models import AISession, Escalation, SessionStep, SuggestedFix
from sessions_app.selectors import (
    escalation_needs_intercept,
    escalation_queue_key,
    escalation_targets,
    fix_active,
    handoff_briefing,
)
from sessions_app.services import fixes
from sessions_app.services.guards import session_lock
from sessions_app.services.state import counter_bump
from sessions_app.services.ticket_pushes import ESCALATION_PACKAGE, push_attempt, push_create
from sessions_app.signals import session_escalated

Out = SuggestedFix.Outcome
I = Escalation.Intercept  # noqa: E741
MAX_REASON_CHARS = 2000
MAX_PACKAGE_CHARS = 20000
MAX_FRESH_CONTEXT_CHARS = 10000


def _record_intercept(fix: SuggestedFix, actor: User, intercept: str, note: str) -> None:
    outcome, note = I.recorded_as(intercept, note)
    if outcome == Out.PROPOSED:
        fixes.fix_record_never_applied(fix=fix, actor=actor)
    else:
        fixes.fix_record_outcome(fix=fix, actor=actor, outcome=outcome, note=note)


def intercept_drafted_from(intercept: str, note: str) -> str:
    """What a package previewed before the intercept is recorded was drafted from (compared on
    escalate: a package drafted from another answer is drafted again, never posted as it is)."""
    return f"{intercept}|{' '.join((note or '').split())}"


def session_escalate(
    *,
    session: AISession,
    actor: User,
    reason: str,
    target_id: int | None = None,
    intercept: str = "",
    intercept_note: str = "",
    package: str = "",
    package_drafted_from: str | None = None,
    package_edited: bool = False,
) -> Escalation:
    """Hand the session to a colleague. Saved first (status, reason, the fix's outcome), then the
    package is drafted (unless the engineer's previewed text is given) and posted; an AI or
    ticket failure is recorded on the push and can be retried — the escalation stands.
    When the fix's outcome is asked first, the previewed package (drafted assuming the answer) is
    posted only if it was drafted from the answer given (`package_drafted_from`); else it is drafted
    again once the answer is recorded."""
    reason = (reason or "").replace("\r\n", "\n").strip()
    package = (package or "").replace("\r\n", "\n")
    if not reason:
        raise InvalidInput("Say why you are escalating: what the next engineer should know first.", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"Keep the reason under {MAX_REASON_CHARS:,} characters.", field="reason")
    if len(package or "") > MAX_PACKAGE_CHARS:
        raise InvalidInput(f"The package is too long (at most {MAX_PACKAGE_CHARS:,} characters).", field="package")
    target = None
    if target_id:
        if int(target_id) == actor.pk:
            raise InvalidInput("You can't escalate to yourself; pause the session instead.", field="target")
        target = escalation_targets(session=session, actor=actor).filter(pk=target_id).first()
        if target is None:
            raise InvalidInput("Pick an engineer of your account, or leave the target empty.", field="target")
    with transaction.atomic():
        locked = session_lock(
            session_id=session.pk, actor=actor, conflict="Only an active or paused session can be escalated.",
            related=("account",),
        )  # fmt: skip
        fix = fix_active(session=locked)
        asked = escalation_needs_intercept(fix)
        stale_package = asked and package_drafted_from != intercept_drafted_from(intercept, intercept_note)
        if asked:
            if intercept not in (I.WORKED, I.DIDNT, I.PARTLY, I.NEVER_APPLIED):
                raise InvalidInput("Say how the fix went before you escalate.", field="intercept")
            if stale_package and package_edited and package.strip():
                # The engineer's own text was written for another answer: never post it silently,
                # never throw it away silently either.
                raise InvalidInput(
                    "You edited the package, then changed how the fix went: nothing was escalated. The "
                    "package is drafted again from your answer; check it (edit it again if you need to), "
                    "then escalate.",
                    field="package",
                )
            _record_intercept(fix, actor, intercept, (intercept_note or "").strip())
        escalation = Escalation.objects.create(
            account_id=locked.account_id,
            session=locked,
            escalated_by=actor,
            target=target,
            reason=reason,
            intercept=intercept if asked else "",
            # The conversation shows the escalation after the last answered step (the current
            # step, if any, is still waiting for whoever picks the session up).
            at_step=locked.steps.exclude(response_kind="").order_by("-order").values_list("order", flat=True).first()
            or 0,
            package="" if stale_package else (package or "").strip(),
        )
        locked.status = AISession.Status.REQUESTING_ESCALATION
        locked.last_activity_at = timezone.now()
        locked.paused_at = None
        locked.save(update_fields=["status", "last_activity_at", "paused_at"])
        push = push_create(
            session=locked, kind=ESCALATION_PACKAGE, body=escalation.package, actor=actor, escalation=escalation
        )
        audit_record(
            account=locked.account, actor=actor, action="session.escalate", obj=locked,
            details={"target": target.pk if target else None, "intercept": escalation.intercept},
        )  # fmt: skip
        _notify_escalated(locked, escalation, actor, target)
        transaction.on_commit(lambda: session_escalated.send(sender=AISession, session=locked, escalation=escalation))
        transaction.on_commit(lambda: escalation_queue_changed(account_id=locked.account_id))
        transaction.on_commit(lambda: analytics_invalidate(account_id=locked.account_id))
    push_attempt(push=push, actor=actor)  # drafts the package when needed; a failure is recorded, not raised
    escalation.refresh_from_db()
    session.refresh_from_db()
    return escalation


def _notify_escalated(session: AISession, escalation: Escalation, actor: User, target: User | None) -> None:
    url = reverse("sessions_app:handoff", kwargs={"session_id": session.pk})
    who = actor.get_full_name() or actor.email
    title = f"{who} escalated: {session.problem_summary or 'a session'}"[:200]
    others = escalation_targets(session=session, actor=actor)
    if target is not None:
        others = others.exclude(pk=target.pk)
        notification_send(
            account=session.account, recipients=[target], kind="escalation.targeted",
            title=f"{who} escalated a session to you: {session.problem_summary}"[:200], body=escalation.reason, url=url,
        )  # fmt: skip
    notification_send(
        account=session.account, recipients=list(others), kind="escalation", title=title, body=escalation.reason,
        url=url,
    )  # fmt: skip


def session_claim(*, session: AISession, actor: User, mode: str = "continue", fresh_context: str = "") -> AISession:
    """'Start here': one conditional update makes the session the actor's, so of two engineers
    racing for it exactly one wins; the other is told who did. Then the briefing is recorded and
    sent to the AI with the next message — with the fresh context, when the new engineer gives one."""
    if not actor.can_use_sessions or session.account_id != actor.account_id:
        raise Conflict("Only an engineer of this account can pick up this session.")
    if mode not in Escalation.StartMode.values:
        raise InvalidInput("Choose to continue where it was or to start from fresh context.", field="mode")
    fresh_context = (fresh_context or "").strip()
    if mode == Escalation.StartMode.FRESH and not fresh_context:
        raise InvalidInput("Write the fresh context the AI should start from.", field="fresh_context")
    if len(fresh_context) > MAX_FRESH_CONTEXT_CHARS:
        raise InvalidInput("The fresh context is too long (at most 10,000 characters).", field="fresh_context")
    now = timezone.now()
    with transaction.atomic():
        won = (
            AISession.objects.filter(
                pk=session.pk, account_id=actor.account_id, status=AISession.Status.REQUESTING_ESCALATION
            )
            .exclude(owner=actor)
            .update(owner=actor, status=AISession.Status.ACTIVE, last_activity_at=now)
        )
        escalation = (
            Escalation.objects.select_related("escalated_by")
            .filter(session_id=session.pk)
            .order_by("-created_at", "-id")
            .first()
        )
        if not won:
            raise Conflict(_why_not_claimed(session, actor, escalation))
        locked = AISession.objects.select_for_update().select_related("account").get(pk=session.pk)
        briefing = handoff_briefing(locked, escalation)
        Escalation.objects.filter(pk=escalation.pk, claimed_at__isnull=True).update(
            claimed_by=actor, claimed_at=now, start_mode=mode, fresh_context=fresh_context, briefing=briefing
        )
        handover = prompts.handover_message(
            engineer=actor.get_full_name() or actor.email, briefing=briefing, fresh_context=fresh_context
        )
        last = locked.steps.order_by("-order").first()
        if mode == Escalation.StartMode.FRESH and last is not None and not last.answered:
            _answer_with_fresh_context(locked, last, actor, handover)
        else:
            AISession.objects.filter(pk=locked.pk).update(
                pending_context=Concat(F("pending_context"), Value("\n" if locked.pending_context else ""),
                                       Value(handover))
            )  # fmt: skip
        audit_record(account=locked.account, actor=actor, action="session.claim", obj=locked, details={"mode": mode})
        transaction.on_commit(lambda: escalation_queue_changed(account_id=locked.account_id))
        notification_send(
            account=locked.account, recipients=[escalation.escalated_by], kind="escalation.claimed",
            title=f"{actor.get_full_name() or actor.email} picked up: {locked.problem_summary}"[:200],
            url=reverse("sessions_app:detail", kwargs={"session_id": locked.pk}),
        )  # fmt: skip
    session.refresh_from_db()
    return session


def _why_not_claimed(session: AISession, actor: User, escalation: Escalation | None) -> str:
    current = AISession.objects.filter(pk=session.pk).values_list("status", "owner_id").first()
    if escalation is not None and escalation.claimed_by_id:
        claimer = escalation.claimed_by
        if claimer.pk == actor.pk:
            return "You already picked this session up."
        return f"{claimer.get_full_name() or claimer.email} picked this session up first."
    if current and current[1] == actor.pk:
        return "You escalated this session; a colleague picks it up."
    return "This session is not waiting for pickup any more."


def _answer_with_fresh_context(session: AISession, step: SessionStep, actor: User, handover: str) -> None:
    """'Start from fresh context': the step the session stopped at is answered with the handover,
    so the AI's next turn starts from what the new engineer wrote."""
    step.response_kind = SessionStep.ResponseKind.FREE_TEXT
    step.response_text = "Picked up from an escalation; starting from fresh context."
    step.responded_at = timezone.now()
    step.responded_by = actor
    step.answer_message = prompts.answer_message(
        answer="(Not answered: the session was handed over to another engineer.)",
        lane_answers=[],
        extra_context="\n\n".join(filter(None, [session.pending_context, handover])),
    )
    step.save(update_fields=["response_kind", "response_text", "responded_at", "responded_by", "answer_message"])
    AISession.objects.filter(pk=session.pk).update(pending_context="")


def escalation_queue_changed(*, account_id: int) -> None:
    """Tell the account's queue pollers there is something new to fetch (see
    `selectors.escalation_queue_version`)."""
    counter_bump(escalation_queue_key(account_id))
