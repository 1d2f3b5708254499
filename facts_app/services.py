"""Writes of What we know (SPEC §3). Each create, edit and delete bumps the session's state_version
in the same transaction."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from flywheel_app.analytics.base import analytics_invalidate
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.ai.client import Subject, ai_json
from resolutionflow.ai.models import AIUsage
from resolutionflow.ai.tiers import model_for, tier_for
from resolutionflow.errors import Conflict, InvalidInput, NotFound
from sessions_app.models import AISession, LaneItem, SessionStep, SuggestedFix, TicketPush
from sessions_app.services.guards import OPEN, session_bump_guarded, session_check
from sessions_app.services.state import session_page_changed

from . import prompts
from .models import MAX_FACT_CHARS, AIFeedback, Fact

logger = logging.getLogger(__name__)

_LANE_KIND = {Fact.SourceType.QUESTION: LaneItem.Kind.QUESTION, Fact.SourceType.DIAGNOSTIC_CHECK: LaneItem.Kind.CHECK}


class NothingSubstantive(InvalidInput):
    default_message = "No fact could be drawn from this answer."


def _clean_text(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("Write the fact: one short sentence.", field="text")
    if len(text) > MAX_FACT_CHARS:
        raise InvalidInput(f"Keep a fact to one short sentence (at most {MAX_FACT_CHARS} characters).", field="text")
    return text


def _clean_summary(summary: str) -> str:
    summary = " ".join((summary or "").split())
    return summary[:80]


def _guard_and_bump(session: AISession, actor: User | None) -> None:
    """sessions_app's one ownership rule (403 for a colleague who may only read, 409 once the
    session is no longer open), enforced by the state_version bump every fact write makes."""
    session_bump_guarded(session=session, actor=actor, states=OPEN, conflict=_closed)


_closed = {
    status: f"The session is {label.lower()}; its facts can no longer change."
    for status, label in AISession.Status.choices
    if status not in OPEN
}


def _check_source(session: AISession, source_type: str, source_ref: str) -> str:
    if source_type not in Fact.SourceType.values:
        raise InvalidInput("Unknown kind of fact.")
    source_ref = (source_ref or "").strip()
    if source_type in Fact.SOURCED:
        if not source_ref:
            raise InvalidInput("A fact from a question or a check must name the item it came from.")
        if not LaneItem.objects.filter(session=session, public_id=source_ref, kind=_LANE_KIND[source_type]).exists():
            raise InvalidInput(f"{source_ref} is not a {_LANE_KIND[source_type].label.lower()} of this session.")
    elif source_ref:
        raise InvalidInput("Notes and AI syntheses do not point at a lane item.")
    return source_ref


@transaction.atomic
def fact_create(
    *,
    session: AISession,
    actor: User | None,
    text: str,
    source_type: str = Fact.SourceType.USER_NOTE,
    source_ref: str = "",
    summary: str = "",
    ai_drafted: bool = False,
) -> Fact:
    _guard_and_bump(session, actor)
    fact = Fact(
        account_id=session.account_id,
        session=session,
        text=_clean_text(text),
        source_type=source_type,
        source_ref=_check_source(session, source_type, source_ref),
        summary=_clean_summary(summary),
        author=actor,
        ai_drafted=ai_drafted,
    )
    # The session is locked and loaded and the author is the request's user: only the fields
    # themselves need checking (full_clean would look every foreign key up again).
    fact.clean_fields(exclude=["account", "session", "author"])
    fact.save(force_insert=True)
    return fact


@transaction.atomic
def fact_update(*, fact: Fact, actor: User, text: str, summary: str | None = None) -> Fact:
    _guard_and_bump(fact.session, actor)
    locked = Fact.objects.select_for_update().select_related("session").get(pk=fact.pk)
    if locked.deleted_at is not None:
        raise Conflict("This fact was deleted.")
    if not locked.is_editable:
        raise Conflict(
            f"This fact comes from {locked.source_ref}; change it by changing the answer to {locked.source_ref}."
        )
    locked.text = _clean_text(text)
    fields = ["text", "updated_at"]
    if summary is not None:
        locked.summary = _clean_summary(summary)
        fields.append("summary")
    locked.save(update_fields=fields)
    return locked


@transaction.atomic
def fact_delete(*, fact: Fact, actor: User) -> Fact:
    """Soft delete: the fact leaves the panel and the previews but stays in the database."""
    _guard_and_bump(fact.session, actor)
    locked = Fact.objects.select_for_update().select_related("session").get(pk=fact.pk)
    if locked.deleted_at is not None:
        return locked
    locked.deleted_at = timezone.now()
    locked.save(update_fields=["deleted_at", "updated_at"])
    return locked


def facts_promote_from_ai(*, session: AISession, promotions: list[dict]) -> list[Fact]:
    """Facts an AI turn promoted itself. A promotion that rests on no lane item of this session is
    dropped and logged, never saved half-valid."""
    created = []
    for promotion in promotions or []:
        ref = str(promotion.get("source_ref") or "").strip()
        item = LaneItem.objects.filter(session=session, public_id=ref).first() if ref else None
        if item is None:
            logger.warning("session %s: AI promotion dropped, no lane item %r", session.pk, ref)
            continue
        if Fact.objects.live().filter(session=session, source_ref=ref).exists():
            continue  # the engineer already drew a fact from this item
        source_type = (
            Fact.SourceType.QUESTION if item.kind == LaneItem.Kind.QUESTION else Fact.SourceType.DIAGNOSTIC_CHECK
        )
        try:
            created.append(
                fact_create(
                    session=session,
                    actor=None,
                    text=promotion.get("text", ""),
                    source_type=source_type,
                    source_ref=ref,
                    summary=promotion.get("summary", ""),
                )
            )
        except (InvalidInput, Conflict) as exc:
            logger.warning("session %s: AI promotion dropped: %s", session.pk, exc.message)
    return created


def fact_draft(*, session: AISession, item: LaneItem, actor: User) -> dict:
    """Ask the fast tier to draft a fact from one answered lane item, using only that answer.
    Nothing is saved: the engineer confirms or edits the draft first. Raises NothingSubstantive."""
    session_check(session, actor=actor, states=OPEN, conflict=_closed)
    if item.session_id != session.pk:
        raise InvalidInput("That item is not part of this session.")
    if not item.answer.strip():
        raise InvalidInput(f"{item.public_id} has no answer to draw a fact from yet.")
    draft = ai_json(
        action="fact_draft",
        system=prompts.FACT_DRAFT_SYSTEM,
        messages=prompts.fact_draft_message(item),
        schema=prompts.FACT_DRAFT_SCHEMA,
        account=session.account,
        user=actor,
        subject=Subject("session", session.pk),
        max_tokens=300,
    )
    if not draft["substantive"] or not (draft.get("text") or "").strip():
        raise NothingSubstantive()
    return {
        "text": " ".join(draft["text"].split())[:MAX_FACT_CHARS],
        "summary": _clean_summary(draft.get("summary") or ""),
        "source_type": Fact.SourceType.QUESTION
        if item.kind == LaneItem.Kind.QUESTION
        else Fact.SourceType.DIAGNOSTIC_CHECK,
        "source_ref": item.public_id,
    }


# --- feedback on AI output (issue 16 §2) ------------------------------------------------------------

# The AI action that writes each kind of output (a fact an AI turn promoted was written by the turn).
_FEEDBACK_ACTION = {
    AIFeedback.Kind.TURN: "session_turn",
    AIFeedback.Kind.FIX: "session_turn",
    AIFeedback.Kind.RESOLUTION_NOTE: "resolution_note",
    AIFeedback.Kind.ESCALATION_PACKAGE: "escalation_package",
}


def feedback_target(*, session: AISession, kind: str, object_id: int) -> tuple[str, datetime]:
    """The AI action that wrote the output and when it existed by, for an output of `session`
    (which the caller has already found within the voter's account). Anything else — another
    session's output, a fact a person wrote, a document not drafted yet — is NotFound, the same
    as another account's."""
    found: Any = None
    if kind == AIFeedback.Kind.TURN:
        found = SessionStep.objects.filter(session=session, pk=object_id).first()
    elif kind == AIFeedback.Kind.FIX:
        found = SuggestedFix.objects.filter(session=session, pk=object_id).first()
    elif kind == AIFeedback.Kind.FACT:
        found = Fact.objects.live().filter(session=session, pk=object_id).first()
        if found is not None and not found.ai_written:
            found = None
    elif kind in (AIFeedback.Kind.RESOLUTION_NOTE, AIFeedback.Kind.ESCALATION_PACKAGE):
        found = TicketPush.objects.filter(session=session, kind=kind, pk=object_id).exclude(body="").first()
    if found is None:
        raise NotFound("No such AI output.")
    if kind == AIFeedback.Kind.FACT:
        return ("fact_draft" if found.ai_drafted else "session_turn"), found.created_at
    when = getattr(found, "last_attempt_at", None) or found.created_at
    return _FEEDBACK_ACTION[kind], when


def _model_of(*, session: AISession, action: str, by: datetime) -> tuple[str, str]:
    """The tier and model of the call that wrote the output: the session's last successful call of
    that action up to when the output existed (its usage row), else what the action runs on now."""
    usage = (
        AIUsage.objects.filter(
            account_id=session.account_id,
            subject_type="session",
            subject_id=session.pk,
            action=action,
            outcome=AIUsage.Outcome.OK,
            created_at__lte=by + timedelta(seconds=5),
        )  # fmt: skip
        .order_by("-created_at", "-id")
        .values_list("tier", "model")
        .first()
    )
    return usage or (str(tier_for(action)), model_for(action))


@transaction.atomic
def feedback_record(
    *, session: AISession, actor: User, kind: str, object_id: int, vote: str, reason: str = "", comment: str = ""
) -> AIFeedback:
    """Record (or change) `actor`'s vote on one AI output of `session`. A reason and a comment go
    with a down-vote only; an up-vote clears them. Anyone who may read the session may vote."""
    if kind not in AIFeedback.Kind.values:
        raise NotFound("No such AI output.")
    if vote not in AIFeedback.Vote.values:
        raise InvalidInput("Say whether it was helpful or not.", field="vote")
    if reason not in AIFeedback.Reason.values:
        raise InvalidInput("Choose one of the reasons.", field="reason")
    comment = " ".join((comment or "").split())
    if len(comment) > 1000:
        raise InvalidInput("Keep the comment under 1,000 characters.", field="comment")
    if vote == AIFeedback.Vote.UP:
        reason, comment = "", ""
    action, by = feedback_target(session=session, kind=kind, object_id=object_id)
    tier, model = _model_of(session=session, action=action, by=by)
    now = timezone.now()
    feedback, created = AIFeedback.objects.select_for_update().get_or_create(
        user=actor, kind=kind, object_id=object_id,
        defaults={"account_id": session.account_id, "session": session, "vote": vote, "reason": reason,
                  "comment": comment, "action": action, "tier": tier, "model": model, "created_at": now,
                  "updated_at": now},
    )  # fmt: skip
    if created:
        AISession.objects.filter(pk=session.pk).update(ai_feedback_count=F("ai_feedback_count") + 1)
    else:
        feedback.vote, feedback.reason, feedback.comment, feedback.updated_at = vote, reason, comment, now
        feedback.save(update_fields=["vote", "reason", "comment", "updated_at"])
    audit_record(
        account=session.account, actor=actor, action="ai_feedback.vote", obj=feedback,
        details={"kind": kind, "object_id": object_id, "vote": vote, "reason": reason},
    )  # fmt: skip
    session_page_changed(session_id=session.pk)  # the page marks a down-voted turn
    transaction.on_commit(lambda: analytics_invalidate(account_id=session.account_id))
    return feedback
