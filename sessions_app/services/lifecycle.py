"""The life of an engineer session after it starts (SPEC §2): pause, resume, reopen, the abandon
job, linking a ticket mid-session, rating, and Resolve — which saves the resolution first and
then posts the note, so a failed post never undoes it."""

import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flywheel_app.analytics.base import analytics_invalidate
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.ai.fences import fence
from resolutionflow.errors import InvalidInput
from resolutionflow.psa.models import InternalTicket
from sessions_app.models import AISession, ResolutionCode
from sessions_app.services.documentation import session_documentation
from sessions_app.services.fixes import fix_on_resolve
from sessions_app.services.guards import OPEN, session_check, session_lock
from sessions_app.services.intake import ticket_context_for
from sessions_app.services.similar import SIMILAR_FIELDS, session_similar_for_ticket, sessions_search_index
from sessions_app.services.state import session_bump_state_version
from sessions_app.services.ticket_pushes import RESOLUTION_NOTE, push_attempt, push_create

S = AISession.Status


def _transition(
    session: AISession,
    actor: User | None,
    *,
    allowed: tuple,
    to: str,
    action: str,
    extra: dict | None = None,
    message: str,
) -> AISession:
    with transaction.atomic():
        locked = session_lock(session_id=session.pk, actor=actor, states=allowed, conflict=message)
        locked.status = to
        fields = ["status", "last_activity_at"]
        locked.last_activity_at = timezone.now()
        for name, value in (extra or {}).items():
            setattr(locked, name, value)
            fields.append(name)
        locked.save(update_fields=fields)
        audit_record(
            account=locked.account, actor=actor, action=action, obj=locked, acting_as="" if actor else "system"
        )
    session.refresh_from_db()
    return session


def session_pause(*, session: AISession, actor: User) -> AISession:
    return _transition(
        session,
        actor,
        allowed=(AISession.Status.ACTIVE,),
        to=AISession.Status.PAUSED,
        action="session.pause",
        extra={"paused_at": timezone.now()},
        message="Only an active session can be paused.",
    )


def session_resume(*, session: AISession, actor: User) -> AISession:
    return _transition(
        session,
        actor,
        allowed=(AISession.Status.PAUSED,),
        to=AISession.Status.ACTIVE,
        action="session.resume",
        extra={"paused_at": None},
        message="Only a paused session can be resumed.",
    )


def session_reopen(*, session: AISession, actor: User) -> AISession:
    return _transition(
        session,
        actor,
        allowed=(AISession.Status.ABANDONED,),
        to=AISession.Status.ACTIVE,
        action="session.reopen",
        extra={"abandoned_at": None},
        message="Only an abandoned session can be reopened.",
    )


def sessions_abandon_idle(*, now=None) -> int:
    """Mark active or paused sessions with no activity for SESSION_ABANDON_AFTER_HOURS as abandoned."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SESSION_ABANDON_AFTER_HOURS)
    count = 0
    idle = AISession.objects.filter(
        status__in=[AISession.Status.ACTIVE, AISession.Status.PAUSED], last_activity_at__lt=cutoff
    )
    for session in idle.only("pk"):
        with transaction.atomic():
            locked = (
                AISession.objects.select_for_update(skip_locked=True)
                .filter(
                    pk=session.pk,
                    status__in=[AISession.Status.ACTIVE, AISession.Status.PAUSED],
                    last_activity_at__lt=cutoff,
                )
                .first()
            )
            if locked is None:
                continue
            locked.status = AISession.Status.ABANDONED
            locked.abandoned_at = now
            locked.save(update_fields=["status", "abandoned_at"])
            audit_record(
                account=locked.account,
                actor=None,
                action="session.abandon",
                obj=locked,
                acting_as="system",
                details={"idle_since": locked.last_activity_at.isoformat()},
            )
            count += 1
    return count


def session_rate(*, session: AISession, actor: User, rating: int, feedback: str = "") -> AISession:
    if not 1 <= int(rating) <= 5:
        raise InvalidInput("Rate the session from 1 to 5.")
    with transaction.atomic():
        locked = session_lock(
            session_id=session.pk,
            actor=actor,
            states=(S.RESOLVED,),
            conflict="A session can be rated once it is resolved.",
        )
        locked.rating = int(rating)
        locked.rating_feedback = feedback.strip()[:5000]
        locked.save(update_fields=["rating", "rating_feedback"])
        audit_record(
            account=locked.account, actor=actor, action="session.rate", obj=locked, details={"rating": locked.rating}
        )
    session.refresh_from_db()
    return session


def session_link_ticket(
    *, session: AISession, actor: User, psa_ticket_ref: str = "", internal_ticket: InternalTicket | None = None
) -> AISession:
    """Link a ticket mid-session; its context reaches the AI with the next answer."""
    psa_ticket_ref = (psa_ticket_ref or "").strip()
    if not psa_ticket_ref and internal_ticket is None:
        raise InvalidInput("Give a PSA ticket number or pick an internal ticket.")
    if internal_ticket is not None and internal_ticket.account_id != session.account_id:
        raise InvalidInput("That ticket is not in your account.")
    session_check(session, actor=actor, states=OPEN)
    # The PSA is called before the lock is taken: a slow ConnectWise never holds the session's row.
    context, note = ticket_context_for(
        account=session.account, internal_ticket=internal_ticket, psa_ticket_ref=psa_ticket_ref, session_id=session.pk
    )
    with transaction.atomic():
        locked = session_lock(session_id=session.pk, actor=actor, states=OPEN)
        locked.psa_ticket_ref = psa_ticket_ref
        locked.internal_ticket = internal_ticket
        locked.ticket_context = context or {}
        locked.ticket_context_status = (
            AISession.TicketContextStatus.FETCHED if context else AISession.TicketContextStatus.UNAVAILABLE
        )
        locked.ticket_context_note = note
        if context:
            locked.pending_context = "A ticket was linked to this session. Its context:\n" + fence(
                json.dumps(context, ensure_ascii=False, sort_keys=True), source="ticket"
            )
        if hints := session_similar_for_ticket(session=locked, ticket_context=context):
            locked.pending_context = "\n\n".join(p for p in (locked.pending_context, hints) if p)
        locked.save(
            update_fields=[
                "psa_ticket_ref",
                "internal_ticket",
                "ticket_context",
                "ticket_context_status",
                "ticket_context_note",
                "pending_context",
                *SIMILAR_FIELDS,
            ]
        )
        # The linked ticket is part of what a preview is drafted from (SPEC §6).
        session_bump_state_version(session_id=locked.pk)
        audit_record(
            account=locked.account,
            actor=actor,
            action="session.link_ticket",
            obj=locked,
            details={"ticket": locked.psa_ticket_ref or (internal_ticket.reference if internal_ticket else "")},
        )
    session.refresh_from_db()
    return session


def session_resolve(
    *,
    session: AISession,
    actor: User,
    summary: str,
    code: str,
    duplicate_of: str = "",
    action: str = "",
    note: str = "",
    note_summary: str | None = None,
) -> AISession:
    """Resolve (SPEC §2, §9): record the resolution, mark a verifying or pending fix as a success,
    write the documentation, queue the session for the flywheel — all saved first — then post the
    resolution note (the engineer's confirmed text, or a fresh draft) to the ticket. A failed post
    is recorded on the push and retried; it never undoes the resolve."""
    summary, action = (summary or "").strip(), (action or "").strip()
    note = (note or "").replace("\r\n", "\n").strip()  # a textarea sends CRLF
    if note and note_summary is not None and _words(note_summary) != _words(summary):
        # The confirmed note was drafted from other words than the engineer's resolution (typed
        # after the draft): the ticket gets the engineer's resolution, as they wrote it.
        note = note_with_resolution(note, summary=summary, action=action)
    if not summary:
        raise InvalidInput("Say how the problem was resolved.", field="summary")
    if code not in ResolutionCode.values or code == ResolutionCode.NOT_RECORDED:
        raise InvalidInput("Choose a resolution code: how did it end?", field="code")
    original, original_ticket = (
        _duplicate_original(session, duplicate_of) if code == ResolutionCode.DUPLICATE else (None, "")
    )
    if len(note) > 20000:
        raise InvalidInput("The resolution note is too long (at most 20,000 characters).", field="note")
    with transaction.atomic():
        locked = session_lock(
            session_id=session.pk, actor=actor, states=OPEN, related=("owner", "internal_ticket", "account"),
            conflict={S.RESOLVED: "This session is already resolved.",
                      "": "Only an active or paused session can be resolved."},
        )  # fmt: skip
        now = timezone.now()
        locked.status = AISession.Status.RESOLVED
        locked.resolution_summary = summary[:5000]
        locked.resolution_action = action[:5000]
        locked.resolution_code = code
        locked.duplicate_of = original
        locked.duplicate_ticket = original_ticket
        locked.resolved_at = now
        locked.last_activity_at = now
        locked.analysis_status = AISession.AnalysisStatus.PENDING
        locked.documentation = session_documentation(locked, list(locked.steps.order_by("order")))
        locked.save(
            update_fields=[
                "status",
                "resolution_summary",
                "resolution_action",
                "resolution_code",
                "duplicate_of",
                "duplicate_ticket",
                "resolved_at",
                "last_activity_at",
                "analysis_status",
                "documentation",
            ]
        )
        fix_on_resolve(session=locked)
        sessions_search_index(session_ids=[locked.pk])  # "Solved before" finds it from now on
        if note:
            note = note_with_code(note, label=locked.resolution_code_label)
        push = push_create(session=locked, kind=RESOLUTION_NOTE, body=note, actor=actor)
        audit_record(account=locked.account, actor=actor, action="session.resolve", obj=locked)
        transaction.on_commit(lambda: analytics_invalidate(account_id=locked.account_id))
    push_attempt(push=push, actor=actor)
    session.refresh_from_db()
    return session


_SESSION_REFERENCE = re.compile(r"^(?:session\s*)?#?\s*(\d{1,12})$", re.IGNORECASE)
_INTERNAL_REFERENCE = re.compile(r"^INT-(\d{1,12})$", re.IGNORECASE)
_PSA_REFERENCE = re.compile(r"^PSA\s*#?\s*(\S{1,40})$", re.IGNORECASE)


def _duplicate_original(session: AISession, reference: str) -> tuple[AISession | None, str]:
    """What a duplicate repeats: another session of the account ("#123", "123"), an internal ticket
    of the account ("INT-7") or a PSA ticket another session of the account is linked to
    ("PSA #4410"). Anything else, or anything of another account, is refused alike."""
    reference = " ".join((reference or "").split())
    if not reference:
        raise InvalidInput("A duplicate names what it repeats: a session number or a ticket.", field="duplicate_of")
    unknown = InvalidInput(
        f"“{reference[:60]}” is no other session or ticket of this account. Give a session number "
        "(#123), an internal ticket (INT-7) or a PSA ticket (PSA #4410).",
        field="duplicate_of",
    )
    others = AISession.objects.filter(account_id=session.account_id).exclude(pk=session.pk)
    if match := _SESSION_REFERENCE.match(reference):
        original = others.filter(pk=int(match.group(1))).first()
        if original is None:
            raise unknown
        return original, ""
    if match := _INTERNAL_REFERENCE.match(reference):
        if not InternalTicket.objects.filter(account_id=session.account_id, number=int(match.group(1))).exists():
            raise unknown
        return None, f"INT-{int(match.group(1))}"
    if match := _PSA_REFERENCE.match(reference):
        if not others.filter(psa_ticket_ref=match.group(1)).exists():
            raise unknown
        return None, f"PSA #{match.group(1)}"
    raise unknown


_CODE_LABEL = re.compile(r"^\*\*Closed as:\*\*.*\n*", re.MULTILINE)


def note_with_code(note: str, *, label: str) -> str:
    """`note` with the resolution code as the first line of its Resolution section (the section is
    added when the note has none); a label already there is replaced, never doubled."""
    line = f"**Closed as:** {label}"
    heading = _RESOLUTION_HEADING.search(note)
    if heading is None:
        return f"{note.rstrip()}\n\n## Resolution\n\n{line}"
    following = _NEXT_HEADING.search(note, heading.end())
    end = following.start() if following else len(note)
    section = _CODE_LABEL.sub("", note[heading.end() : end].strip("\n")).strip("\n")
    rest = note[end:].lstrip()
    return f"{note[: heading.end()]}\n\n{line}\n\n{section}" + (f"\n\n{rest}" if rest else "")


_RESOLUTION_HEADING = re.compile(r"^#{1,6}\s*resolution\s*$", re.IGNORECASE | re.MULTILINE)
_NEXT_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def note_with_resolution(note: str, *, summary: str, action: str = "") -> str:
    """`note` with its Resolution section saying the engineer's own words (and what they changed),
    verbatim; the section is added when the note has none."""
    body = summary.strip() + (f"\n\nWhat was changed: {action.strip()}" if action.strip() else "")
    heading = _RESOLUTION_HEADING.search(note)
    if heading is None:
        return f"{note.rstrip()}\n\n## Resolution\n\n{body}"
    following = _NEXT_HEADING.search(note, heading.end())
    end = following.start() if following else len(note)
    return f"{note[: heading.end()]}\n\n{body}\n\n{note[end:].lstrip()}".rstrip()
