"""Writes of What we know (SPEC §3). Each create, edit and delete bumps the session's state_version
in the same transaction."""

import logging

from django.db import transaction
from django.utils import timezone

from resolutionflow.accounts.models import User
from resolutionflow.ai.client import Subject, ai_json
from resolutionflow.errors import Conflict, InvalidInput
from sessions_app.models import AISession, LaneItem
from sessions_app.services.guards import OPEN, session_bump_guarded, session_check

from . import prompts
from .models import MAX_FACT_CHARS, Fact

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
